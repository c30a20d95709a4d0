package replay

import (
	"context"
	"time"
)

// PacerOptions configures NewPacer.
type PacerOptions struct {
	Clock Clock // nil means RealClock{}
	// MaxLate: a frame later than this moves the rest of the schedule back by its lateness
	// rather than letting the frames behind it go out in a burst. 0 means DefaultMaxLate; a
	// negative value never moves the schedule.
	MaxLate time.Duration
	// SpinWindow is how long before a deadline the pacer stops sleeping and asks the clock
	// for the exact remainder; 0 means DefaultSpinWindow.
	SpinWindow time.Duration
}

// maxSleepChunk bounds one sleep so that cancellation is noticed within it.
const maxSleepChunk = 50 * time.Millisecond

// Pacer is a Sink decorator that releases each frame to the sink at its deadline on the
// wall clock: deadline_i = start + (t_i - t_0), where start is the clock reading at the first
// frame and t_i the frame's timestamp (already placed on the requested timeline by Run, which
// computes it from the frame's index or original time). Deadlines are absolute, so sleeping
// late or a slow write never accumulates into drift; a late frame is sent at once and its
// lateness recorded. It sleeps until SpinWindow before the deadline, then lets the clock wait
// out the rest (RealClock busy-waits it). Frames whose timestamps go backwards keep the
// previous frame's deadline.
type Pacer struct {
	sink    Sink
	clock   Clock
	maxLate time.Duration
	spin    time.Duration

	started bool
	start   time.Time
	origin  int64         // timestamp of the first frame
	prev    time.Duration // previous deadline, as an offset from start
	shift   time.Duration // total schedule moves after stalls
	hist    histogram
	resyncs uint64
}

// NewPacer returns a pacer in front of sink.
func NewPacer(sink Sink, opts PacerOptions) *Pacer {
	p := &Pacer{sink: sink, clock: opts.Clock, maxLate: opts.MaxLate, spin: opts.SpinWindow}
	if p.clock == nil {
		p.clock = RealClock{}
	}
	if p.maxLate == 0 {
		p.maxLate = DefaultMaxLate
	}
	if p.spin <= 0 {
		p.spin = DefaultSpinWindow
	}
	return p
}

// WriteFrame waits for the frame's deadline and writes it to the sink.
func (p *Pacer) WriteFrame(f *Frame) error {
	return p.WriteFrameContext(context.Background(), f)
}

// WriteFrameContext is WriteFrame that stops waiting when ctx is cancelled (the frame is then
// not written and ctx's error is returned).
func (p *Pacer) WriteFrameContext(ctx context.Context, f *Frame) error {
	if !p.started {
		p.started = true
		p.start = p.clock.Now()
		p.origin = f.Time
	}
	off := time.Duration(f.Time-p.origin) + p.shift
	if off < p.prev {
		off = p.prev
	}
	p.prev = off
	deadline := p.start.Add(off)
	if err := p.waitUntil(ctx, deadline); err != nil {
		return err
	}
	late := max(p.clock.Now().Sub(deadline), 0)
	p.hist.add(late)
	if p.maxLate > 0 && late > p.maxLate {
		p.shift += late
		p.prev += late
		p.resyncs++
	}
	return p.sink.WriteFrame(f)
}

// waitUntil sleeps in chunks until the spin window, then lets the clock wait the remainder.
func (p *Pacer) waitUntil(ctx context.Context, deadline time.Time) error {
	for {
		rem := deadline.Sub(p.clock.Now())
		if rem <= 0 {
			return nil
		}
		if rem > p.spin {
			p.clock.Sleep(min(rem-p.spin, maxSleepChunk))
			if err := ctx.Err(); err != nil {
				return err
			}
			continue
		}
		p.clock.Sleep(rem)
	}
}

// Lateness summarises how late frames left behind their deadlines.
type Lateness struct {
	Frames        uint64 // frames measured
	P50, P99, Max time.Duration
	Resyncs       uint64 // schedule moves after a frame was later than MaxLate
}

// Lateness returns the lateness so far. P50 and P99 are upper bounds within 3.2%.
func (p *Pacer) Lateness() Lateness {
	return Lateness{Frames: p.hist.n, P50: p.hist.quantile(0.5), P99: p.hist.quantile(0.99),
		Max: time.Duration(p.hist.max), Resyncs: p.resyncs}
}

// Close closes the sink.
func (p *Pacer) Close() error { return p.sink.Close() }
