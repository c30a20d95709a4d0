// Package replay owns the engine that regenerates traffic: the sinks that write frames (pcapng,
// classic pcap, one file per capture point, a live Ethernet interface), the pacer that places
// frames on a timeline, and Run, which ties a source of frames to a sink. The scenario model
// and the synthesizer live in the subpackages scenario and synth.
//
// # Sinks
//
// A Sink takes Frames in time order. NewPcapngSink writes one pcapng section with one
// interface per capture point (if_name = point id, nanosecond timestamps), packet comments and
// epb_flags; SinkOptions.Points fixes the interface order. NewPcapSink writes classic pcap of
// one link type. NewSplitSink writes <dir>/<PointFileStem(point)>.pcapng (or .pcap) per
// point. OpenLive sends onto a named, up, Ethernet interface through AF_PACKET (CAP_NET_RAW).
// The file sinks buffer; call Close to flush (they never close the io.Writer they were given).
//
// # Running a replay
//
//	src := replay.CaptureSource{
//		Open:  func() (pcapio.Source, error) { return pcapio.Open(path, pcapio.Options{}) },
//		Point: nil, // or a PointFunc giving each record the CLI's capture-point id
//		Name:  "lab", // point id for unnamed interfaces (the file stem)
//	}
//	sink, err := replay.OpenLive("veth0") // or replay.NewPcapngSink(w, replay.SinkOptions{})
//	...
//	stats, err := replay.Run(ctx, src, sink, replay.Options{PPS: 10000, Loop: 3})
//	fmt.Println(stats) // also after Ctrl-C: Run returns the stats so far with ctx's error
//	sink.Close()
//
// Several inputs: open them in Open and return pcapio.Merge(srcs). stdin: Open: Once(src, "-")
// (a second loop then fails clearly). Synthesized traffic: Frames(seq) for an iter.Seq[*Frame],
// or any Source.
//
// # Timing
//
// Options picks one timing: original (default), Speed, PPS or TopSpeed, plus Loop, TimeShift
// or StartAt, and a Points filter. Every frame's place on the timeline is computed from its
// own original time or index (offset_i = (t_i - t_0 + k*period)/speed, or i/pps), never by
// adding gaps, so a long replay does not drift. Loop k is shifted by k*(span + mean gap) of the
// first pass (1 s when the span is 0); with PPS the index simply continues.
//
// Into a file nothing waits: the timing options rewrite the timestamps (TopSpeed keeps them).
// Onto an interface (a WallClockSink, or Options.Pace = PaceWallClock) the Pacer decorator
// releases frame i at start + offset_i on the Clock: it sleeps until DefaultSpinWindow (2 ms,
// because Go timers wake up to ~1 ms late) before the deadline and RealClock busy-waits the
// rest. A late frame goes out at once and its lateness is recorded (p50/p99 from a bounded
// histogram, exact max); a frame later than MaxLate (default 10 ms: the process was stalled)
// moves the rest of the schedule back instead of bursting the missed frames out. A frame the
// sink skips keeps its slot on the timeline, like a gap in the capture.
//
// Tests inject a fake Clock and run schedules of a million frames instantly.
package replay
