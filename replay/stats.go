package replay

import (
	"fmt"
	"math"
	"math/bits"
	"strings"
	"time"
)

// Stats summarises one Run.
type Stats struct {
	Packets  uint64 // frames written or sent
	Bytes    uint64 // captured bytes of those frames
	Skipped  uint64 // frames the sink skipped (too large for the MTU, wrong link type, dropped)
	Filtered uint64 // frames left out by Options.Points
	Loops    int    // passes over the input started (the last one may have been cut short)

	// Paced is true when frames went out on the wall clock (a live interface), false when
	// their timestamps were rewritten into a file.
	Paced bool
	// Elapsed is the wall-clock time of the run.
	Elapsed time.Duration
	// Duration is the time between the first and last frame: on the wall clock when Paced,
	// else between the first and last (rewritten) timestamps.
	Duration time.Duration

	// Lateness of each frame behind its deadline, when Paced and not at top speed. P50 and
	// P99 come from a bounded log-linear histogram (within 3.2%, rounded up); Max is exact.
	LateP50, LateP99, LateMax time.Duration
	// Resyncs counts stalls longer than Options.MaxLate after which the schedule was moved
	// instead of bursting the missed frames out.
	Resyncs uint64

	// Warnings are one-line messages about skipped frames, each kind reported once.
	Warnings []string
}

// PPS is the achieved packet rate over Duration: (Packets-1)/Duration, the rate at which the
// gaps between frames were crossed; 0 when undefined.
func (s Stats) PPS() float64 {
	if s.Packets < 2 || s.Duration <= 0 {
		return 0
	}
	return float64(s.Packets-1) / s.Duration.Seconds()
}

// BitsPerSecond is the achieved bit rate: PPS times the mean frame size in bits.
func (s Stats) BitsPerSecond() float64 {
	if s.Packets == 0 {
		return 0
	}
	return s.PPS() * 8 * float64(s.Bytes) / float64(s.Packets)
}

// String renders the stats as one line, e.g.
// "sent 2000 packets (1.2 MB) in 199.9ms: 10000 pps, 48.1 Mbit/s; late p50 4µs p99 61µs max 190µs".
func (s Stats) String() string {
	var b strings.Builder
	verb, over := "wrote", "spanning"
	if s.Paced {
		verb, over = "sent", "in"
	}
	fmt.Fprintf(&b, "%s %d packets (%s) %s %s: %s pps, %s", verb, s.Packets, humanBytes(s.Bytes), over,
		roundDuration(s.Duration), humanNumber(s.PPS()), humanBits(s.BitsPerSecond()))
	if s.Paced {
		if s.LateMax > 0 || s.LateP99 > 0 {
			fmt.Fprintf(&b, "; late p50 %s p99 %s max %s", roundDuration(s.LateP50), roundDuration(s.LateP99),
				roundDuration(s.LateMax))
		}
		if s.Resyncs > 0 {
			fmt.Fprintf(&b, ", %d resyncs", s.Resyncs)
		}
	} else {
		fmt.Fprintf(&b, " of capture time, in %s", roundDuration(s.Elapsed))
	}
	if s.Loops > 1 {
		fmt.Fprintf(&b, "; %d loops", s.Loops)
	}
	if s.Skipped > 0 {
		fmt.Fprintf(&b, "; %d skipped", s.Skipped)
	}
	if s.Filtered > 0 {
		fmt.Fprintf(&b, "; %d filtered out", s.Filtered)
	}
	return b.String()
}

func roundDuration(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(100 * time.Microsecond)
	case d >= time.Microsecond:
		return d.Round(time.Microsecond)
	}
	return d
}

func humanNumber(v float64) string {
	if v >= 100 || v == 0 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

func humanBytes(n uint64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.1f GB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	}
	return fmt.Sprintf("%d B", n)
}

func humanBits(v float64) string {
	switch {
	case v >= 1e9:
		return fmt.Sprintf("%.2f Gbit/s", v/1e9)
	case v >= 1e6:
		return fmt.Sprintf("%.1f Mbit/s", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1f kbit/s", v/1e3)
	}
	return fmt.Sprintf("%.0f bit/s", v)
}

// Log-linear histogram of non-negative durations: values below 64 ns have a bucket each; above,
// every power of two is split into 32 buckets, so a bucket is at most 1/32 of its values wide.
// 1920 counters cover the whole uint64 range in 15 KB, whatever the number of samples.
const (
	histSubBits = 5
	histSub     = 1 << histSubBits // 32
	histLinear  = 2 * histSub      // 64 exact buckets
	histBuckets = histLinear + (64-histSubBits-1)*histSub
)

type histogram struct {
	counts [histBuckets]uint64
	n      uint64
	max    uint64
}

func histIndex(v uint64) int {
	if v < histLinear {
		return int(v)
	}
	shift := bits.Len64(v) - histSubBits - 1 // v>>shift is in [32, 63]
	return histLinear + (shift-1)*histSub + int(v>>shift) - histSub
}

// histUpper is the largest value that falls into bucket i.
func histUpper(i int) uint64 {
	if i < histLinear {
		return uint64(i)
	}
	shift := (i-histLinear)/histSub + 1
	m := uint64((i-histLinear)%histSub + histSub)
	hi := (m+1)<<shift - 1
	if hi < m<<shift { // the top bucket wraps
		return math.MaxUint64
	}
	return hi
}

func (h *histogram) add(d time.Duration) {
	v := uint64(0)
	if d > 0 {
		v = uint64(d)
	}
	h.counts[histIndex(v)]++
	h.n++
	if v > h.max {
		h.max = v
	}
}

// quantile returns an upper bound for the q-quantile (0 < q <= 1), never above the maximum.
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	if rank < 1 {
		rank = 1
	}
	var cum uint64
	for i, c := range h.counts {
		cum += c
		if cum >= rank {
			return time.Duration(min(histUpper(i), h.max))
		}
	}
	return time.Duration(h.max)
}
