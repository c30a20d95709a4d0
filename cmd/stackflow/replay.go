package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/stackflow/stackflow/decode/pcapio"
	"github.com/stackflow/stackflow/flows"
	"github.com/stackflow/stackflow/replay"
	"github.com/stackflow/stackflow/replay/scenario"
	"github.com/stackflow/stackflow/replay/synth"
)

type replayFlags struct {
	scenario  string
	output    string
	iface     string
	split     bool
	seed      uint64
	truth     string
	speed     float64
	pps       float64
	topSpeed  bool
	loop      int
	timeShift time.Duration
	startAt   string
	points    []string
}

const replayExamples = `  # Synthesize the Azure Stack PoC network's traffic into one pcapng (a named interface per
  # capture point) and write the answer key
  stackflow replay --scenario samples/azurestack-poc.yaml -o poc.pcapng --truth poc.truth.json

  # The same as one pcap file per capture point in a directory
  stackflow replay --scenario samples/azurestack-poc.yaml --split -o poc/

  # Rewrite a capture's timing into a new file: twice as fast, shifted to a new start, 3 loops
  stackflow replay capture.pcapng -o fast.pcapng --speed 2 --start-at 2025-01-01T00:00:00Z --loop 3

  # Keep only two capture points of a multi-point file
  stackflow replay samples/azurestack-poc.pcapng --point client-nat --point mux-host -o two.pcapng

  # Send a capture onto an interface with its original timing (needs CAP_NET_RAW)
  sudo stackflow replay capture.pcap --iface veth0`

func newReplayCmd(e env) *cobra.Command {
	var f replayFlags
	cmd := &cobra.Command{
		Use:   "replay [CAPTURE...] (-o OUT | --iface IFACE)",
		Short: "Synthesize a scenario's traffic, or replay captures into a file or onto an interface",
		Long: `Replay regenerates traffic. With --scenario it synthesizes the traffic of a described topology
(samples/*.yaml): every packet written at every capture point it crosses, with real TCP, NAT, VXLAN,
DSR and BGP; the same scenario and seed give byte-identical output. Otherwise it replays captures
(merged in time order when several are given).

Into a file (-o) the timing flags rewrite timestamps and nothing waits. Onto an interface (--iface)
packets are paced on absolute deadlines from the first packet, so there is no drift over long runs;
totals (packets, bytes, rate, worst lateness) are printed at the end. Live replay needs CAP_NET_RAW
and an interface that exists and is up.`,
		Example:           replayExamples,
		ValidArgsFunction: captureFileCompletion,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runReplay(cmd, e, f, args)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.scenario, "scenario", "", "synthesize this scenario file (YAML) instead of reading captures")
	fl.StringVarP(&f.output, "output", "o", "", "write to this file (pcapng; a directory with --split)")
	fl.StringVar(&f.iface, "iface", "", "send onto this network interface instead of a file")
	fl.BoolVar(&f.split, "split", false, "write one pcap file per capture point into the -o directory")
	fl.Uint64Var(&f.seed, "seed", 0, "random seed for --scenario (0: the scenario's own)")
	fl.StringVar(&f.truth, "truth", "", "with --scenario, also write the answer key (JSON) to this file")
	fl.Float64Var(&f.speed, "speed", 0, "speed factor (2 = twice as fast)")
	fl.Float64Var(&f.pps, "pps", 0, "fixed rate in packets per second")
	fl.BoolVar(&f.topSpeed, "topspeed", false, "as fast as possible (into a file: timestamps kept)")
	fl.IntVar(&f.loop, "loop", 1, "number of passes; each continues the timeline of the previous")
	fl.DurationVar(&f.timeShift, "time-shift", 0, "add this to every timestamp (e.g. 1h, -30s)")
	fl.StringVar(&f.startAt, "start-at", "", "move the first packet to this time (RFC 3339)")
	fl.StringArrayVar(&f.points, "point", nil, "keep only this capture point (repeatable)")
	_ = cmd.MarkFlagFilename("scenario", "yaml", "yml")
	return cmd
}

func runReplay(cmd *cobra.Command, e env, f replayFlags, args []string) error {
	// Arguments first, before reading anything.
	switch {
	case f.scenario == "" && len(args) == 0:
		return usageErr("replay needs --scenario FILE or capture files")
	case f.scenario != "" && len(args) > 0:
		return usageErr("give either --scenario or capture files, not both")
	case (f.output == "") == (f.iface == ""):
		return usageErr("give exactly one of -o FILE and --iface IFACE")
	case f.split && f.output == "":
		return usageErr("--split needs -o DIRECTORY")
	case f.truth != "" && f.scenario == "":
		return usageErr("--truth needs --scenario")
	}
	opts := replay.Options{Speed: f.speed, PPS: f.pps, TopSpeed: f.topSpeed, Loop: f.loop, TimeShift: f.timeShift, Points: f.points}
	if f.startAt != "" {
		t, err := time.Parse(time.RFC3339Nano, f.startAt)
		if err != nil {
			return usageErr("--start-at %q: want an RFC 3339 time such as 2025-01-01T00:00:00Z", f.startAt)
		}
		opts.StartAt = t
	}
	if err := opts.Validate(); err != nil {
		return usageErr("%v", err)
	}
	for _, a := range args {
		if a == "-" {
			continue
		}
		if st, err := os.Stat(a); err != nil {
			return usageErr("%v", err)
		} else if st.IsDir() {
			return usageErr("%s: is a directory, not a capture file", a)
		}
		if f.output != "" && !f.split && sameFile(a, f.output) {
			return usageErr("-o %s: is also an input; choose another output file", f.output)
		}
	}

	if f.loop < 0 && f.iface == "" {
		return usageErr("--loop %d: an endless loop needs --iface; into a file give a loop count", f.loop)
	}
	// Check every file opens before anything is written; stdin is read once, lazily.
	for _, a := range args {
		if a == "-" {
			continue
		}
		s, err := pcapio.Open(a, pcapio.Options{})
		if err != nil {
			return classifyOpenError(err)
		}
		s.Close()
	}

	var sc *scenario.Scenario
	if f.scenario != "" {
		var err error
		if sc, err = scenario.Load(f.scenario); err != nil {
			return usageErr("%v", oneLine(err))
		}
		for _, w := range sc.Warnings {
			fmt.Fprintf(e.stderr, "stackflow: warning: %v\n", w)
		}
		// A scenario names its capture points up front: check --point against them now.
		var known []string
		for _, d := range synth.PointDecls(sc) {
			known = append(known, d.Name)
		}
		for _, p := range f.points {
			if !slices.Contains(known, p) {
				return usageErr("--point %q: the scenario has no such capture point (it has %s)", p, strings.Join(known, ", "))
			}
		}
	}

	// The sink.
	var (
		sink  replay.Sink
		flush func() error
	)
	switch {
	case f.iface != "":
		live, err := replay.OpenLive(f.iface)
		if err != nil {
			return usageErr("%v", err)
		}
		sink, flush = live, live.Close
	case f.split:
		decls := pointDecls(sc, f.points)
		split, err := replay.NewSplitSink(f.output, replay.SplitOptions{SinkOptions: replay.SinkOptions{Points: decls}, Format: replay.FormatPcapNanos})
		if err != nil {
			return usageErr("-o %s: %v", f.output, err)
		}
		sink, flush = split, split.Close
	default:
		fh, err := os.Create(f.output)
		if err != nil {
			return usageErr("-o: %v", err)
		}
		bw := bufio.NewWriterSize(fh, 1<<20)
		decls := pointDecls(sc, f.points)
		ng := replay.NewPcapngSink(bw, replay.SinkOptions{Points: decls})
		sink = ng
		flush = func() error {
			err := ng.Close()
			if ferr := bw.Flush(); err == nil {
				err = ferr
			}
			if cerr := fh.Close(); err == nil {
				err = cerr
			}
			return err
		}
	}

	var (
		stats replay.Stats
		err   error
	)
	if sc != nil {
		stats, err = replayScenario(cmd, e, f, sc, sink, opts)
	} else {
		stats, err = replayCaptures(cmd, e, args, sink, opts)
	}
	if ferr := flush(); err == nil {
		err = ferr
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stderr, "stackflow: "+stats.String())
	return nil
}

// replayScenario synthesizes the scenario. Into a file with no timing flags it writes straight
// to the sink (byte-identical to samples/); otherwise the frames are collected and paced.
func replayScenario(cmd *cobra.Command, e env, f replayFlags, sc *scenario.Scenario, sink replay.Sink, opts replay.Options) (replay.Stats, error) {
	so := synth.Options{Seed: f.seed, NoJourneys: f.truth == ""}
	plain := f.iface == "" && opts.Speed == 0 && opts.PPS == 0 && !opts.TopSpeed && opts.Loop <= 1 &&
		opts.TimeShift == 0 && opts.StartAt.IsZero() && len(opts.Points) == 0
	var (
		truth *synth.Truth
		stats replay.Stats
		err   error
	)
	if plain {
		counter := &countingSink{Sink: sink}
		truth, err = synth.Generate(sc, so, counter)
		stats = counter.stats()
	} else {
		var frames []*replay.Frame
		truth, err = synth.Generate(sc, so, &collectSink{frames: &frames})
		if err == nil {
			stats, err = replay.Run(cmd.Context(), replay.Frames(func(yield func(*replay.Frame) bool) {
				for _, fr := range frames {
					if !yield(fr) {
						return
					}
				}
			}), sink, opts)
		}
	}
	if err != nil {
		return stats, err
	}
	if f.truth != "" {
		fh, err := os.Create(f.truth)
		if err != nil {
			return stats, err
		}
		bw := bufio.NewWriter(fh)
		if err := truth.WriteJSON(bw); err != nil {
			fh.Close()
			return stats, err
		}
		if err := bw.Flush(); err != nil {
			fh.Close()
			return stats, err
		}
		return stats, fh.Close()
	}
	return stats, nil
}

// replayCaptures replays capture files, naming points as analysis does.
func replayCaptures(cmd *cobra.Command, e env, args []string, sink replay.Sink, opts replay.Options) (replay.Stats, error) {
	namer := flows.NewPointNamer(args)
	stdinUsed := false
	open := func() (pcapio.Source, error) {
		var srcs []pcapio.Source
		for _, a := range args {
			var (
				s   pcapio.Source
				err error
			)
			if a == "-" {
				if stdinUsed {
					err = errors.New("stdin cannot be read a second time (--loop)")
				} else {
					stdinUsed = true
					s, err = pcapio.NewReader(e.stdin, a, pcapio.Options{OnProblem: warnProblem(e)})
				}
			} else {
				s, err = pcapio.Open(a, pcapio.Options{OnProblem: warnProblem(e)})
			}
			if err != nil {
				for _, o := range srcs {
					o.Close()
				}
				return nil, err
			}
			srcs = append(srcs, s)
		}
		if len(srcs) == 1 {
			return srcs[0], nil
		}
		return pcapio.Merge(srcs), nil
	}
	point := func(src pcapio.Source, rec *pcapio.Record) (string, uint16) {
		var ifaces []pcapio.Interface
		if m, ok := src.(*pcapio.Merged); ok {
			ifaces = m.InputInterfaces(rec.Input)
		} else {
			ifaces = src.Interfaces()
		}
		var lt uint16
		if rec.Interface < len(ifaces) {
			lt = ifaces[rec.Interface].LinkType
		}
		return namer.Name(rec.Input, rec.Interface, ifaces), lt
	}
	return replay.Run(cmd.Context(), replay.CaptureSource{Open: open, Point: point, Name: flows.FileStem(args[0])}, sink, opts)
}

// pointDecls fixes the output's interfaces up front: the scenario's links, or the points the
// user kept, so that every interface is declared before the first packet and a reader knows
// from the start that the file has several (DESIGN.md section 2 names points by interface only
// in files with several interfaces).
func pointDecls(sc *scenario.Scenario, points []string) []replay.PointDecl {
	if sc != nil {
		decls := synth.PointDecls(sc)
		if len(points) == 0 {
			return decls
		}
		var kept []replay.PointDecl
		for _, d := range decls {
			for _, p := range points {
				if d.Name == p {
					kept = append(kept, d)
				}
			}
		}
		return kept
	}
	if len(points) < 2 {
		return nil
	}
	decls := make([]replay.PointDecl, len(points))
	for i, p := range points {
		decls[i] = replay.PointDecl{Name: p, LinkType: 1}
	}
	return decls
}

func warnProblem(e env) func(pcapio.Problem) {
	return func(p pcapio.Problem) { fmt.Fprintf(e.stderr, "stackflow: warning: %v\n", p) }
}

// oneLine keeps the first line of a multi-line error (scenario diagnostics list every error;
// the first names its line).
func oneLine(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + fmt.Sprintf(" (and %d more)", strings.Count(s[i:], "\n"))
	}
	return s
}

// countingSink counts what passes to the sink, for the totals line of a plain synthesis.
type countingSink struct {
	replay.Sink
	packets     int
	bytes       int64
	first, last int64
}

func (c *countingSink) WriteFrame(f *replay.Frame) error {
	if c.packets == 0 {
		c.first = f.Time
	}
	c.last = f.Time
	c.packets++
	c.bytes += int64(len(f.Data))
	return c.Sink.WriteFrame(f)
}

func (c *countingSink) stats() replay.Stats {
	return replay.Stats{Packets: uint64(c.packets), Bytes: uint64(c.bytes), Duration: time.Duration(c.last - c.first)}
}

// collectSink keeps copies of the synthesized frames for pacing.
type collectSink struct{ frames *[]*replay.Frame }

func (c *collectSink) WriteFrame(f *replay.Frame) error {
	cp := *f
	cp.Data = append([]byte(nil), f.Data...)
	*c.frames = append(*c.frames, &cp)
	return nil
}

func (c *collectSink) Close() error { return nil }
