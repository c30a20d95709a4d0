package replay

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// PaceMode says whether Run waits on the wall clock or rewrites timestamps.
type PaceMode int

// Pace modes.
const (
	// PaceAuto paces on the wall clock when the sink says it needs to (WallClockSink: a live
	// interface) and rewrites timestamps otherwise (files).
	PaceAuto PaceMode = iota
	// PaceWallClock always waits for each frame's deadline.
	PaceWallClock
	// PaceRewrite never waits: the timing options rewrite the frames' timestamps.
	PaceRewrite
)

// WallClockSink is implemented by sinks whose frames must leave at their time (LiveSink).
type WallClockSink interface {
	Sink
	WallClock() bool
}

// Options controls Run. The zero value replays once with the original timing.
type Options struct {
	// Timing, at most one of: Speed multiplies the rate (2 = twice as fast, 0 = original);
	// PPS sends at a fixed packet rate; TopSpeed sends without waiting (into a file it keeps
	// the timestamps, as there is no wall clock to beat).
	Speed    float64
	PPS      float64
	TopSpeed bool
	// Loop is the number of passes over the input: 0 and 1 mean once, a negative value repeats
	// until ctx is cancelled (wall-clock pacing only). Pass k continues the timeline of the
	// previous ones: its timestamps are shifted by k*(span + mean gap) of the first pass
	// (1 s when the span is 0), and with PPS the packet index simply continues.
	Loop int
	// TimeShift is added to every timestamp; StartAt (when not zero) instead moves the first
	// frame to that time. Only one of them may be set.
	TimeShift time.Duration
	StartAt   time.Time
	// Points keeps only frames of these capture points (all when empty).
	Points []string
	// Pace chooses wall-clock pacing or timestamp rewriting; PaceAuto asks the sink.
	Pace PaceMode
	// Clock is used for wall-clock pacing; nil means RealClock{}.
	Clock Clock
	// MaxLate bounds catching up: a frame later than this moves the rest of the schedule back
	// by its lateness (counted in Stats.Resyncs) instead of sending the missed frames in a
	// burst. 0 means DefaultMaxLate; a negative value never moves the schedule.
	MaxLate time.Duration
}

// DefaultMaxLate is the stall after which the pacer resynchronises instead of bursting.
const DefaultMaxLate = 10 * time.Millisecond

// Validate checks the options before anything is read.
func (o Options) Validate() error {
	bad := func(v float64) bool { return v < 0 || math.IsNaN(v) || math.IsInf(v, 0) }
	switch {
	case bad(o.Speed):
		return fmt.Errorf("replay: speed %v is not a positive finite number", o.Speed)
	case bad(o.PPS):
		return fmt.Errorf("replay: pps %v is not a positive finite number", o.PPS)
	case o.Speed > 0 && o.PPS > 0:
		return fmt.Errorf("replay: speed %v and pps %v both set; choose one timing", o.Speed, o.PPS)
	case o.TopSpeed && (o.Speed > 0 || o.PPS > 0):
		return errors.New("replay: top speed cannot be combined with speed or pps")
	case o.TimeShift != 0 && !o.StartAt.IsZero():
		return errors.New("replay: time shift and start time both set; choose one")
	case !o.StartAt.IsZero() && o.StartAt.UnixNano() < 0:
		return fmt.Errorf("replay: start time %s is before 1970", o.StartAt.Format(time.RFC3339))
	case o.Pace < PaceAuto || o.Pace > PaceRewrite:
		return fmt.Errorf("replay: unknown pace mode %d", int(o.Pace))
	}
	if slices.Contains(o.Points, "") {
		return errors.New("replay: empty capture point id in the point filter")
	}
	return nil
}

// Run replays src into sink: it filters points, computes each frame's place on the requested
// timeline and either waits for it on the wall clock (a live interface) or writes it as the
// frame's new timestamp (a file). It does not close sink. On ctx cancellation it returns the
// stats so far with ctx's error. Frames a sink skips (errors wrapping ErrSkipped) are counted
// and reported once per kind in Stats.Warnings; any other sink error ends the run.
func Run(ctx context.Context, src Source, sink Sink, opts Options) (Stats, error) {
	if err := opts.Validate(); err != nil {
		return Stats{}, err
	}
	paced := opts.Pace == PaceWallClock
	if opts.Pace == PaceAuto {
		if w, ok := sink.(WallClockSink); ok && w.WallClock() {
			paced = true
		}
	}
	if opts.Loop < 0 && !paced {
		return Stats{}, errors.New("replay: endless loop into a file; give a loop count")
	}
	r := newRunner(ctx, sink, opts, paced)
	started := r.clock.Now()
	var err error
	for pass := 0; opts.Loop < 0 || pass < max(opts.Loop, 1); pass++ {
		if err = ctx.Err(); err != nil {
			break
		}
		r.pass = pass
		r.stats.Loops = pass + 1
		if err = src.Pass(r.emit); err != nil {
			break
		}
		if pass == 0 {
			if err = r.endFirstPass(); err != nil || r.n == 0 {
				break
			}
		}
	}
	r.stats.Elapsed = r.clock.Now().Sub(started)
	r.finish()
	return r.stats, err
}

// runner holds the state of one Run.
type runner struct {
	ctx    context.Context
	sink   Sink
	opts   Options
	paced  bool
	clock  Clock
	pacer  *Pacer
	points map[string]bool // nil: keep all
	seen   map[string]bool // every point seen in pass 0, when filtering

	pass   int
	n      uint64 // frames kept in pass 0
	index  uint64 // frames kept so far over all passes
	t0     int64  // original time of the first kept frame
	tMax   int64  // latest original time in pass 0
	base   int64  // new time of the first kept frame
	period int64  // timeline shift per pass, known after pass 0

	out           Frame
	firstT, lastT int64 // new timestamps written, for Duration when not paced
	firstW, lastW time.Time
	stats         Stats
}

func newRunner(ctx context.Context, sink Sink, opts Options, paced bool) *runner {
	r := &runner{ctx: ctx, sink: sink, opts: opts, paced: paced, clock: opts.Clock}
	if r.clock == nil {
		r.clock = RealClock{}
	}
	r.stats.Paced = paced
	if paced && !opts.TopSpeed {
		r.pacer = NewPacer(sink, PacerOptions{Clock: r.clock, MaxLate: opts.MaxLate})
	}
	if len(opts.Points) > 0 {
		r.points = make(map[string]bool, len(opts.Points))
		for _, p := range opts.Points {
			r.points[p] = true
		}
		r.seen = map[string]bool{}
	}
	return r
}

// emit handles one frame of the input.
func (r *runner) emit(f *Frame) error {
	select {
	case <-r.ctx.Done():
		return r.ctx.Err()
	default:
	}
	if r.pass == 0 && r.seen != nil && !r.seen[f.Point] {
		r.seen[f.Point] = true
	}
	if r.points != nil && !r.points[f.Point] {
		r.stats.Filtered++
		return nil
	}
	if r.pass == 0 {
		if r.n == 0 {
			r.t0, r.tMax = f.Time, f.Time
			r.base = f.Time + int64(r.opts.TimeShift)
			if !r.opts.StartAt.IsZero() {
				r.base = r.opts.StartAt.UnixNano()
			}
		}
		r.tMax = max(r.tMax, f.Time)
		r.n++
	}
	r.out = *f
	r.out.Time = r.base + r.offset(f.Time)
	r.index++

	var err error
	if r.pacer != nil {
		err = r.pacer.WriteFrameContext(r.ctx, &r.out)
	} else {
		err = r.sink.WriteFrame(&r.out)
	}
	if err != nil {
		if errors.Is(err, ErrSkipped) {
			r.stats.Skipped++
			if err != ErrSkipped && len(r.stats.Warnings) < maxWarnings {
				r.stats.Warnings = append(r.stats.Warnings, err.Error())
			}
			return nil
		}
		return err
	}
	r.stats.Packets++
	r.stats.Bytes += uint64(len(f.Data))
	if r.paced {
		now := r.clock.Now()
		if r.stats.Packets == 1 {
			r.firstW = now
		}
		r.lastW = now
	} else {
		if r.stats.Packets == 1 {
			r.firstT, r.lastT = r.out.Time, r.out.Time
		}
		r.firstT, r.lastT = min(r.firstT, r.out.Time), max(r.lastT, r.out.Time)
	}
	return nil
}

// maxWarnings bounds Stats.Warnings.
const maxWarnings = 32

// offset is the frame's distance from the timeline origin (the first kept frame), in ns.
// It is computed from the frame's own index or time, never by adding gaps, so it cannot drift.
func (r *runner) offset(t int64) int64 {
	if r.opts.PPS > 0 {
		return int64(math.Round(float64(r.index) * 1e9 / r.opts.PPS))
	}
	orig := t - r.t0 + int64(r.pass)*r.period
	if r.opts.Speed > 0 && r.opts.Speed != 1 {
		return int64(math.Round(float64(orig) / r.opts.Speed))
	}
	return orig
}

// endFirstPass fixes the loop period and checks the point filter.
func (r *runner) endFirstPass() error {
	span := r.tMax - r.t0
	switch {
	case span <= 0:
		r.period = int64(time.Second)
	default:
		r.period = span + span/int64(r.n-1)
	}
	if r.points == nil {
		return nil
	}
	var missing []string
	for _, p := range r.opts.Points {
		if !r.seen[p] {
			missing = append(missing, fmt.Sprintf("%q", p))
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if r.n == 0 {
		seen := make([]string, 0, len(r.seen))
		for p := range r.seen {
			seen = append(seen, fmt.Sprintf("%q", p))
		}
		slices.Sort(seen)
		return fmt.Errorf("replay: no frames at capture point %s; the input has %s",
			strings.Join(missing, ", "), orNone(strings.Join(seen, ", ")))
	}
	r.stats.Warnings = append(r.stats.Warnings, fmt.Sprintf("replay: no frames at capture point %s",
		strings.Join(missing, ", ")))
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "no frames"
	}
	return s
}

// finish fills the time fields of the stats.
func (r *runner) finish() {
	if r.paced {
		if r.stats.Packets > 0 {
			r.stats.Duration = r.lastW.Sub(r.firstW)
		}
	} else if r.stats.Packets > 0 {
		r.stats.Duration = time.Duration(r.lastT - r.firstT)
	}
	if r.pacer != nil {
		l := r.pacer.Lateness()
		r.stats.LateP50, r.stats.LateP99, r.stats.LateMax, r.stats.Resyncs = l.P50, l.P99, l.Max, l.Resyncs
	}
}

// ErrSkipped is wrapped by sink errors about a frame the sink left out and can continue after
// (too large for the interface MTU, a link type the interface cannot carry). A sink returns
// a descriptive error the first time per kind and point, and ErrSkipped itself afterwards, so
// that Run reports each kind once and counts the rest without allocating.
var ErrSkipped = errors.New("skipped (later frames like it are only counted)")
