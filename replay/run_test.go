package replay

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stackflow/stackflow/decode/pcapio"
	"github.com/stackflow/stackflow/internal/testenv"
)

// fakeClock runs time only when slept on (or jumped), so schedules run instantly and exactly.
type fakeClock struct {
	now    time.Time
	sleeps int
	slept  time.Duration
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time { return c.now }
func (c *fakeClock) Sleep(d time.Duration) {
	c.sleeps++
	if d > 0 {
		c.now = c.now.Add(d)
		c.slept += d
	}
}

// recordSink keeps each frame with the fake clock's reading when it was written. hook, when
// set, runs before a frame is recorded (to jump the clock or cancel).
type recordSink struct {
	clock  *fakeClock
	frames []Frame
	at     []time.Duration // write time relative to the first write
	first  time.Time
	hook   func(n int) error // runs before frame n is recorded
	after  func(n int)       // runs after frame n is recorded
	wall   bool
}

func (s *recordSink) WriteFrame(f *Frame) error {
	if s.hook != nil {
		if err := s.hook(len(s.frames) + 1); err != nil {
			return err
		}
	}
	c := *f
	c.Data = slices.Clone(f.Data)
	s.frames = append(s.frames, c)
	if s.clock != nil {
		if len(s.at) == 0 {
			s.first = s.clock.Now()
		}
		s.at = append(s.at, s.clock.Now().Sub(s.first))
	}
	if s.after != nil {
		s.after(len(s.frames))
	}
	return nil
}
func (s *recordSink) Close() error    { return nil }
func (s *recordSink) WallClock() bool { return s.wall }

// frameAt builds a frame at base + off.
const testBase = int64(1_600_000_000_000_000_000)

func framesAt(point string, offs ...time.Duration) []Frame {
	var fs []Frame
	for i, o := range offs {
		fs = append(fs, Frame{Point: point, LinkType: 1, Time: testBase + int64(o), Data: []byte{byte(i), 0xEE}})
	}
	return fs
}

func sliceSource(fs []Frame) Source {
	return SourceFunc(func(emit func(*Frame) error) error {
		for i := range fs {
			f := fs[i] // emit may change the frame; the input must stay as it was for the next pass
			if err := emit(&f); err != nil {
				return err
			}
		}
		return nil
	})
}

func ms(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }

func TestRunWallClockDeadlines(t *testing.T) {
	in := framesAt("a", 0, ms(1), ms(3), ms(3), ms(10_000), ms(10_000.5))
	cases := []struct {
		name  string
		opts  Options
		input []Frame
		want  []time.Duration // write times after the first frame
	}{
		// The original timing reproduces the capture's gaps, equal timestamps included.
		{"original", Options{}, in, []time.Duration{0, ms(1), ms(3), ms(3), ms(10_000), ms(10_000.5)}},
		// Speed 2 halves every distance from the first frame.
		{"speed 2", Options{Speed: 2}, in, []time.Duration{0, ms(0.5), ms(1.5), ms(1.5), ms(5_000), ms(5_000.25)}},
		// Speed 0.25 stretches them.
		{"speed 0.25", Options{Speed: 0.25}, in, []time.Duration{0, ms(4), ms(12), ms(12), ms(40_000), ms(40_002)}},
		// A fixed rate ignores the timestamps entirely.
		{"pps 1000", Options{PPS: 1000}, in, []time.Duration{0, ms(1), ms(2), ms(3), ms(4), ms(5)}},
		// Top speed never waits.
		{"top speed", Options{TopSpeed: true}, in, []time.Duration{0, 0, 0, 0, 0, 0}},
		// Out-of-order timestamps must not send a frame before its predecessor.
		{"backwards time", Options{}, framesAt("a", 0, ms(5), ms(2), ms(7)), []time.Duration{0, ms(5), ms(5), ms(7)}},
		// Two loops: the second pass starts span + mean gap (4 + 2 ms) after the first.
		{"loop 2", Options{Loop: 2}, framesAt("a", 0, ms(1), ms(4)),
			[]time.Duration{0, ms(1), ms(4), ms(6), ms(7), ms(10)}},
		// With pps, a loop simply continues the packet index.
		{"loop pps", Options{Loop: 2, PPS: 100}, framesAt("a", 0, ms(1), ms(4)),
			[]time.Duration{0, ms(10), ms(20), ms(30), ms(40), ms(50)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clock := newFakeClock()
			sink := &recordSink{clock: clock, wall: true}
			c.opts.Clock = clock
			st, err := Run(context.Background(), sliceSource(c.input), sink, c.opts)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(sink.at, c.want) {
				t.Errorf("write times %v, want %v", sink.at, c.want)
			}
			if !st.Paced || st.LateMax != 0 {
				t.Errorf("stats %+v: want paced with no lateness", st)
			}
			if c.opts.TopSpeed && clock.sleeps != 0 {
				t.Errorf("top speed slept %d times", clock.sleeps)
			}
		})
	}
}

// TestRunNoDrift schedules a million frames at a rate whose gap is not a whole number of
// nanoseconds: any scheme that adds gaps would drift by a nanosecond every few packets.
func TestRunNoDrift(t *testing.T) {
	if testing.Short() {
		t.Skip("a million frames")
	}
	const n = 1_000_000
	cases := []struct {
		name string
		opts Options
		want func(i int64) time.Duration
	}{
		// deadline_i = round(i * 1e9 / 7) ns, exactly.
		{"pps 7", Options{PPS: 7}, func(i int64) time.Duration { return time.Duration((2*i*1e9 + 7) / 14) }},
		// Original gaps of 1 ms at speed 3: deadline_i = round(i * 1e6 / 3) ns.
		{"speed 3", Options{Speed: 3}, func(i int64) time.Duration { return time.Duration((2*i*1e6 + 3) / 6) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clock := newFakeClock()
			var i int64
			var start time.Time
			bad := 0
			sink := &funcSink{write: func(f *Frame) error {
				if i == 0 {
					start = clock.Now()
				}
				if got := clock.Now().Sub(start); got != c.want(i) && bad < 5 {
					bad++
					t.Errorf("frame %d written at %v, want %v", i, got, c.want(i))
				}
				i++
				return nil
			}}
			src := SourceFunc(func(emit func(*Frame) error) error {
				f := Frame{Point: "a", LinkType: 1, Data: []byte{1}}
				for k := int64(0); k < n; k++ {
					f.Time = testBase + k*int64(time.Millisecond)
					if err := emit(&f); err != nil {
						return err
					}
				}
				return nil
			})
			c.opts.Clock, c.opts.Pace = clock, PaceWallClock
			st, err := Run(context.Background(), src, sink, c.opts)
			if err != nil {
				t.Fatal(err)
			}
			if st.Packets != n || i != n {
				t.Fatalf("%d packets, want %d", st.Packets, n)
			}
			if last := c.want(n - 1); st.Duration != last {
				t.Errorf("duration %v, want %v", st.Duration, last)
			}
		})
	}
}

type funcSink struct {
	write func(*Frame) error
}

func (s *funcSink) WriteFrame(f *Frame) error { return s.write(f) }
func (s *funcSink) Close() error              { return nil }

func TestRunLateness(t *testing.T) {
	cases := []struct {
		name     string
		jumpAt   int           // the write of this frame (1-based) stalls for jump
		jump     time.Duration // how long the stall lasts
		maxLate  time.Duration
		want     []time.Duration // write times of frames 1..8 (gaps are 1 ms)
		lateMax  time.Duration
		resyncs  uint64
		latePast int // frames recorded as late
	}{
		// A short stall: frames 4-6 leave 2.5, 1.5 and 0.5 ms late, and the schedule is kept
		// (frames 7 and 8 exactly on time): lateness is absorbed, not accumulated.
		{name: "short stall kept on schedule", jumpAt: 3, jump: ms(3.5), maxLate: 0,
			want:    []time.Duration{0, ms(1), ms(2), ms(5.5), ms(5.5), ms(5.5), ms(6), ms(7)},
			lateMax: ms(2.5), latePast: 3},
		// A long stall (past MaxLate): the late frame goes at once, then the schedule moves
		// back so the rest keep their 1 ms spacing instead of bursting out.
		{name: "long stall resyncs", jumpAt: 3, jump: ms(50), maxLate: ms(10),
			want:    []time.Duration{0, ms(1), ms(2), ms(52), ms(53), ms(54), ms(55), ms(56)},
			lateMax: ms(49), resyncs: 1, latePast: 1},
		// With resync disabled the missed frames are sent back to back, on their deadlines.
		{name: "resync disabled bursts", jumpAt: 3, jump: ms(50), maxLate: -1,
			want:    []time.Duration{0, ms(1), ms(2), ms(52), ms(52), ms(52), ms(52), ms(52)},
			lateMax: ms(49), latePast: 5},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clock := newFakeClock()
			sink := &recordSink{clock: clock, wall: true}
			sink.after = func(n int) {
				if n == c.jumpAt { // the write of frame jumpAt stalls after the frame left
					clock.now = clock.now.Add(c.jump)
				}
			}
			in := framesAt("a", 0, ms(1), ms(2), ms(3), ms(4), ms(5), ms(6), ms(7))
			st, err := Run(context.Background(), sliceSource(in), sink, Options{Clock: clock, MaxLate: c.maxLate})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(sink.at, c.want) {
				t.Errorf("write times %v, want %v", sink.at, c.want)
			}
			if st.LateMax != c.lateMax || st.Resyncs != c.resyncs {
				t.Errorf("late max %v resyncs %d, want %v %d", st.LateMax, st.Resyncs, c.lateMax, c.resyncs)
			}
			late := 0
			for i, at := range sink.at {
				if sched := ms(float64(i)); at > sched && (c.resyncs == 0 || i == c.jumpAt) {
					late++
				}
			}
			if late != c.latePast {
				t.Errorf("%d late frames, want %d", late, c.latePast)
			}
			if c.latePast == 5 && st.LateP99 < ms(45) {
				t.Errorf("p99 %v does not show the burst", st.LateP99)
			}
		})
	}
}

// TestRunRewritesFileTimestamps checks that into a file the timing options change only the
// timestamps, and nothing sleeps.
func TestRunRewritesFileTimestamps(t *testing.T) {
	in := append(framesAt("a", 0, ms(2), ms(6)), framesAt("b", ms(7))...)
	start := time.Date(2024, 5, 6, 7, 8, 9, 123, time.UTC)
	cases := []struct {
		name string
		opts Options
		want []time.Duration // new timestamps relative to testBase
	}{
		// Original timing keeps the timestamps.
		{"original", Options{}, []time.Duration{0, ms(2), ms(6), ms(7)}},
		// Speed rewrites the distances from the first frame.
		{"speed 4", Options{Speed: 4}, []time.Duration{0, ms(0.5), ms(1.5), ms(1.75)}},
		// A fixed rate places frame i at i/pps.
		{"pps 10", Options{PPS: 10}, []time.Duration{0, ms(100), ms(200), ms(300)}},
		// A time shift moves everything.
		{"shift", Options{TimeShift: -time.Hour}, []time.Duration{-time.Hour, -time.Hour + ms(2), -time.Hour + ms(6), -time.Hour + ms(7)}},
		// StartAt puts the first frame at that instant.
		{"start at", Options{StartAt: start, Speed: 2}, []time.Duration{
			time.Duration(start.UnixNano() - testBase), time.Duration(start.UnixNano()-testBase) + ms(1),
			time.Duration(start.UnixNano()-testBase) + ms(3), time.Duration(start.UnixNano()-testBase) + ms(3.5)}},
		// Loops continue the timeline: span 7 ms + mean gap 7/3 ms.
		{"loop 2", Options{Loop: 2}, []time.Duration{0, ms(2), ms(6), ms(7),
			time.Duration(9_333_333), time.Duration(11_333_333), time.Duration(15_333_333), time.Duration(16_333_333)}},
		// Only point b: its frame becomes the origin.
		{"points", Options{Points: []string{"b"}, Speed: 2}, []time.Duration{ms(7)}},
		// Top speed into a file has no wall clock to beat: the timestamps stay.
		{"top speed", Options{TopSpeed: true}, []time.Duration{0, ms(2), ms(6), ms(7)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clock := newFakeClock()
			var buf bytes.Buffer
			sink := NewPcapngSink(&buf, SinkOptions{})
			c.opts.Clock = clock
			st, err := Run(context.Background(), sliceSource(in), sink, c.opts)
			if err != nil {
				t.Fatal(err)
			}
			if err := sink.Close(); err != nil {
				t.Fatal(err)
			}
			if clock.sleeps != 0 || st.Paced {
				t.Errorf("writing a file slept %d times (paced=%v)", clock.sleeps, st.Paced)
			}
			ifs, pkts, _ := readPcapng(t, buf.Bytes())
			var got []time.Duration
			for _, p := range pkts {
				got = append(got, time.Duration(p.time-testBase))
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("timestamps %v, want %v", got, c.want)
			}
			if c.opts.Points != nil && (len(ifs) != 1 || ifs[0].Name != "b" || st.Filtered != 3) {
				t.Errorf("interfaces %+v filtered %d, want only b and 3 filtered", ifs, st.Filtered)
			}
			if wantSpan := c.want[len(c.want)-1] - c.want[0]; st.Duration != wantSpan {
				t.Errorf("duration %v, want %v", st.Duration, wantSpan)
			}
		})
	}
}

func TestRunErrors(t *testing.T) {
	in := framesAt("a", 0, ms(1))
	cases := []struct {
		name string
		opts Options
		sink Sink
		want string
	}{
		// Options are checked before anything is read.
		{"negative speed", Options{Speed: -1}, &recordSink{}, "speed -1 is not a positive finite number"},
		{"speed and pps", Options{Speed: 2, PPS: 5}, &recordSink{}, "choose one timing"},
		{"top speed and pps", Options{TopSpeed: true, PPS: 5}, &recordSink{}, "top speed cannot be combined"},
		{"shift and start", Options{TimeShift: 1, StartAt: time.Unix(5, 0)}, &recordSink{}, "choose one"},
		{"empty point", Options{Points: []string{""}}, &recordSink{}, "empty capture point id"},
		// An endless loop into a file would fill the disk.
		{"endless file loop", Options{Loop: -1}, &recordSink{}, "endless loop into a file"},
		// A point filter that matches nothing is an unusable argument, named with the choices.
		{"unknown point", Options{Points: []string{"zz"}}, &recordSink{}, `no frames at capture point "zz"; the input has "a"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Run(context.Background(), sliceSource(in), c.sink, c.opts)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestRunCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	clock := newFakeClock()
	sink := &recordSink{clock: clock, wall: true, hook: func(n int) error {
		if n == 5 {
			cancel() // Ctrl-C during the fifth write
		}
		return nil
	}}
	in := framesAt("a", 0, ms(1), ms(2), ms(3), ms(4), ms(5), ms(6))
	st, err := Run(ctx, sliceSource(in), sink, Options{Clock: clock, Loop: -1})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	// The stats so far are returned for printing.
	if st.Packets != 5 || len(sink.frames) != 5 {
		t.Errorf("stats %d packets, sink %d frames; want 5", st.Packets, len(sink.frames))
	}
}

// skipSink skips odd frames like a live interface skips oversize ones.
type skipSink struct{ recordSink }

func (s *skipSink) WriteFrame(f *Frame) error {
	if f.Data[0]%2 == 1 {
		if f.Data[0] == 1 {
			return fmt.Errorf("replay: frame too big for %q: %w", "veth0", ErrSkipped)
		}
		return ErrSkipped
	}
	return s.recordSink.WriteFrame(f)
}

func TestRunCountsSkipped(t *testing.T) {
	in := framesAt("a", 0, ms(1), ms(2), ms(3), ms(4))
	st, err := Run(context.Background(), sliceSource(in), &skipSink{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Packets != 3 || st.Skipped != 2 || len(st.Warnings) != 1 || !strings.Contains(st.Warnings[0], "too big") {
		t.Errorf("stats %+v: want 3 packets, 2 skipped, one warning", st)
	}
}

// TestRunCapture replays a real capture read by decode/pcapio and compares the result with
// what gopacket reads from the original.
func TestRunCapture(t *testing.T) {
	dir := testenv.CapturesOrSkip(t)
	for _, name := range []string{"vxlan-http-vni1.pcap", "pcapng-two-interfaces-ns-us.pcapng", "multihop-ns3-n0-p2p.pcap"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name)
			want := readAnyCapture(t, path)
			src := CaptureSource{Open: func() (pcapio.Source, error) { return pcapio.Open(path, pcapio.Options{}) },
				Name: strings.TrimSuffix(name, filepath.Ext(name))}
			var buf bytes.Buffer
			sink := NewPcapngSink(&buf, SinkOptions{})
			st, err := Run(context.Background(), src, sink, Options{Loop: 2})
			if err != nil {
				t.Fatal(err)
			}
			if err := sink.Close(); err != nil {
				t.Fatal(err)
			}
			ifs, got, _ := readPcapng(t, buf.Bytes())
			if st.Packets != uint64(2*len(want)) || len(got) != 2*len(want) {
				t.Fatalf("%d packets written, %d read back, want %d", st.Packets, len(got), 2*len(want))
			}
			for i, g := range got {
				w := want[i%len(want)]
				if !bytes.Equal(g.data, w.data) || g.linkType != w.linkType || ifs[g.iface].Name != w.point {
					t.Errorf("packet %d: point %q lt %d len %d, want %q %d %d", i+1, ifs[g.iface].Name, g.linkType,
						len(g.data), w.point, w.linkType, len(w.data))
				}
				if i < len(want) && g.time != w.time {
					t.Errorf("packet %d time %d, want the original %d", i+1, g.time, w.time)
				}
				if i > 0 && g.time < got[i-1].time && i == len(want) {
					t.Errorf("the second loop starts at %d, before the first ends at %d", g.time, got[i-1].time)
				}
			}
		})
	}
}

type capPacket struct {
	point    string
	linkType uint16
	time     int64
	data     []byte
}

// readAnyCapture reads a capture with gopacket's pcapgo, naming each packet's point after its
// pcapng interface, or after the file when the interface has no name (and in classic pcap).
func readAnyCapture(t *testing.T, path string) []capPacket {
	t.Helper()
	pkts, err := testenv.ReadPcap(path)
	if err != nil {
		t.Fatal(err)
	}
	stem := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	out := make([]capPacket, 0, len(pkts))
	for _, p := range pkts {
		name := p.Interface
		if name == "" {
			name = stem
		}
		out = append(out, capPacket{name, uint16(p.LinkType), p.Info.Timestamp.UnixNano(), p.Data})
	}
	return out
}

func TestOnceCannotLoop(t *testing.T) {
	path := testenv.Capture(t, "vxlan-http-vni1.pcap")
	s, err := pcapio.Open(path, pcapio.Options{})
	if err != nil {
		t.Fatal(err)
	}
	src := CaptureSource{Open: Once(s, "-")}
	st, err := Run(context.Background(), src, &recordSink{}, Options{Loop: 2})
	if err == nil || !strings.Contains(err.Error(), `input "-" can be read only once`) {
		t.Errorf("error %v, want a read-once error", err)
	}
	if st.Packets != 12 {
		t.Errorf("first pass wrote %d packets, want 12", st.Packets)
	}
}

func TestFramesSeq(t *testing.T) {
	in := framesAt("a", 0, ms(1), ms(3))
	seq := func(yield func(*Frame) bool) {
		for i := range in {
			f := in[i]
			if !yield(&f) {
				return
			}
		}
	}
	sink := &recordSink{}
	st, err := Run(context.Background(), Frames(seq), sink, Options{Loop: 3})
	if err != nil {
		t.Fatal(err)
	}
	// 3 loops of 3 frames with a period of 3 ms + 1.5 ms.
	var got []time.Duration
	for _, f := range sink.frames {
		got = append(got, time.Duration(f.Time-testBase))
	}
	want := []time.Duration{0, ms(1), ms(3), ms(4.5), ms(5.5), ms(7.5), ms(9), ms(10), ms(12)}
	if st.Loops != 3 || !slices.Equal(got, want) {
		t.Errorf("loops %d times %v, want 3 and %v", st.Loops, got, want)
	}
}

func TestHistogram(t *testing.T) {
	// Every bucket boundary must be consistent: v fits the bucket it is put in, and not the one before.
	rng := rand.New(rand.NewPCG(1, 2))
	for k := 0; k < 100_000; k++ {
		v := rng.Uint64() >> rng.IntN(64)
		i := histIndex(v)
		if i < 0 || i >= histBuckets || v > histUpper(i) || (i > 0 && v <= histUpper(i-1)) {
			t.Fatalf("value %d in bucket %d [%d, %d]", v, i, histUpper(i-1)+1, histUpper(i))
		}
	}
	// Quantiles against the exact answer from sorting: never below, at most 1/32 above.
	var h histogram
	var vals []time.Duration
	for k := 0; k < 50_000; k++ {
		d := time.Duration(rng.ExpFloat64() * 30_000)
		if k%1000 == 0 {
			d = 5 * time.Millisecond // a tail
		}
		h.add(d)
		vals = append(vals, d)
	}
	slices.Sort(vals)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999, 1} {
		exact := vals[int(q*float64(len(vals)))-1]
		got := h.quantile(q)
		if got < exact || float64(got) > float64(exact)*(1+1.0/32)+1 {
			t.Errorf("q%.3f = %v, exact %v", q, got, exact)
		}
	}
	if time.Duration(h.max) != vals[len(vals)-1] {
		t.Errorf("max %v, want %v", time.Duration(h.max), vals[len(vals)-1])
	}
}

func TestStatsString(t *testing.T) {
	cases := []struct {
		name string
		s    Stats
		want string
	}{
		// A live run shows the rate on the wall clock and the lateness.
		{"paced", Stats{Packets: 2001, Bytes: 1_500_000, Paced: true, Duration: 200 * time.Millisecond,
			LateP50: 4 * time.Microsecond, LateP99: 61 * time.Microsecond, LateMax: 190 * time.Microsecond, Skipped: 1},
			"sent 2001 packets (1.5 MB) in 200ms: 10000 pps, 60.0 Mbit/s; late p50 4µs p99 61µs max 190µs; 1 skipped"},
		// A file run shows the rate of the new timeline and the time it took to write.
		{"file", Stats{Packets: 11, Bytes: 1100, Duration: time.Second, Elapsed: 3 * time.Millisecond, Loops: 2},
			"wrote 11 packets (1.1 kB) spanning 1s: 10.0 pps, 8.0 kbit/s of capture time, in 3ms; 2 loops"},
		// Nothing written: no division by zero.
		{"empty", Stats{}, "wrote 0 packets (0 B) spanning 0s: 0 pps, 0 bit/s of capture time, in 0s"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.s.String(); got != c.want {
				t.Errorf("got  %q\nwant %q", got, c.want)
			}
		})
	}
}

func TestRealClockSleep(t *testing.T) {
	var c RealClock
	for _, d := range []time.Duration{300 * time.Microsecond, 3 * time.Millisecond} {
		start := time.Now()
		c.Sleep(d)
		got := time.Since(start)
		if got < d {
			t.Errorf("Sleep(%v) returned after %v", d, got)
		}
		t.Logf("Sleep(%v) took %v", d, got)
	}
}
