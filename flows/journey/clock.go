package journey

import (
	"math"
	"time"
)

// ClockSource says where a capture point's clock offset came from.
type ClockSource uint8

// Clock sources.
const (
	ClockUnknown   ClockSource = iota // no packet matched another point's: offset 0 assumed
	ClockReference                    // the reference of its group of points: offset 0 by definition
	ClockEstimated                    // estimated from matched packets
	ClockGiven                        // given by the user
)

func (s ClockSource) String() string {
	switch s {
	case ClockReference:
		return "reference"
	case ClockEstimated:
		return "estimated"
	case ClockGiven:
		return "given"
	}
	return "unknown"
}

// Clock is one capture point's clock offset: how far its clock runs ahead of the reference
// clock (the first point, or a user-given one). A timestamp t from this point corrects to
// t - Offset; a hop's latency is raw delta + (Offset of the previous point - Offset of this one).
type Clock struct {
	Point   int
	Offset  time.Duration
	Source  ClockSource
	From    int    // the point the estimate was taken relative to (itself when not estimated)
	Samples uint64 // matched packet pairs behind the estimate
}

// pairStat holds the smallest raw delta (b minus a) seen from point a to point b, separately
// for pairs ordered by causality and pairs only the clock ordered.
type pairStat struct {
	minCausal, minTime int64
	nCausal, nTime     uint64
}

// clockStats is a dense matrix of pairStat indexed [a*n+b]; capture points are few.
type clockStats struct {
	n int
	p []pairStat
}

func (c *clockStats) ensure(points int) {
	if points <= c.n {
		return
	}
	n := max(points, 2*c.n)
	np := make([]pairStat, n*n)
	for a := 0; a < c.n; a++ {
		copy(np[a*n:a*n+c.n], c.p[a*c.n:(a+1)*c.n])
	}
	c.n, c.p = n, np
}

// record notes one matched pair: the packet was at point a, then at point b, delta ns later
// by the two raw clocks.
func (c *clockStats) record(a, b int, delta int64, causal bool) {
	if a == b || a < 0 || b < 0 {
		return
	}
	c.ensure(max(a, b) + 1)
	s := &c.p[a*c.n+b]
	if causal {
		if s.nCausal == 0 || delta < s.minCausal {
			s.minCausal = delta
		}
		s.nCausal++
	} else {
		if s.nTime == 0 || delta < s.minTime {
			s.minTime = delta
		}
		s.nTime++
	}
}

// noPath marks an absent constraint in the distance matrix.
const noPath = int64(math.MaxInt64 / 4)

// constraints returns the matrix d[a*n+b] of the tightest known bound on offset(b) -
// offset(a): every packet that went from a to b arrived no earlier than it left, so that
// difference is at most the minimum raw delta a->b. Each pair uses its causally ordered
// matches whenever it has any, else those only the clock ordered. When closure is set the
// bounds are chained through intermediate points (Floyd-Warshall), unless that finds a
// contradiction (a negative cycle: clock-ordered pairs misordered by skew), in which case the
// direct bounds are returned.
func (c *clockStats) constraints(n int, closure bool) []int64 {
	d := make([]int64, n*n)
	for a := 0; a < n; a++ {
		for b := 0; b < n; b++ {
			d[a*n+b] = noPath
			if a == b {
				d[a*n+b] = 0
				continue
			}
			ab, ba := &c.p[a*c.n+b], &c.p[b*c.n+a]
			switch {
			case ab.nCausal > 0:
				d[a*n+b] = ab.minCausal
			case ab.nTime > 0 && ba.nCausal == 0:
				d[a*n+b] = ab.minTime
			}
		}
	}
	if !closure {
		return d
	}
	cl := append([]int64(nil), d...)
	for k := 0; k < n; k++ {
		for a := 0; a < n; a++ {
			if cl[a*n+k] == noPath {
				continue
			}
			for b := 0; b < n; b++ {
				if cl[k*n+b] != noPath && cl[a*n+k]+cl[k*n+b] < cl[a*n+b] {
					cl[a*n+b] = cl[a*n+k] + cl[k*n+b]
				}
			}
		}
	}
	for a := 0; a < n; a++ {
		if cl[a*n+a] < 0 {
			return d
		}
	}
	return cl
}

// bound is the interval a free point's offset must lie in, given the fixed points.
type bound struct {
	lo, hi       int64
	hasLo, hasHi bool
	from         int // the fixed point giving the tightest bound
}

func (c *clockStats) bounds(x, n int, d []int64, fixed []bool, off []int64) bound {
	b := bound{from: -1}
	for a := 0; a < n; a++ {
		if !fixed[a] || a == x {
			continue
		}
		if d[a*n+x] != noPath {
			if hi := off[a] + d[a*n+x]; !b.hasHi || hi < b.hi {
				b.hi, b.hasHi, b.from = hi, true, a
			}
		}
		if d[x*n+a] != noPath {
			if lo := off[a] - d[x*n+a]; !b.hasLo || lo > b.lo {
				b.lo, b.hasLo = lo, true
				if !b.hasHi {
					b.from = a
				}
			}
		}
	}
	return b
}

func (b bound) any() bool        { return b.hasLo || b.hasHi }
func (b bound) allowsZero() bool { return (!b.hasLo || b.lo <= 0) && (!b.hasHi || b.hi >= 0) }

// width orders points whose interval excludes 0: two-sided intervals (the narrowest first)
// before one-sided ones.
func (b bound) width() int64 {
	if b.hasLo && b.hasHi {
		return max(b.hi-b.lo, 0)
	}
	return noPath
}

// value picks the offset when 0 is outside the interval, i.e. the raw timestamps contradict
// synchronised clocks: with both bounds the midpoint (NTP-style: for a single pair seen both
// ways, ((a->x) - (x->a))/2 over the minimum delays); with one bound (one direction only) the
// bound itself, the link's minimum delay taken as 0.
func (b bound) value() int64 {
	switch {
	case b.hasLo && b.hasHi:
		return b.lo/2 + b.hi/2 + (b.lo%2+b.hi%2)/2
	case b.hasHi:
		return b.hi
	default:
		return b.lo
	}
}

// estimate computes every point's offset. The first point (offset 0 unless given) and the
// user-given points are fixed. Matched packets bound every other point's offset (directly and
// through chains of points). Clocks are presumed synchronised while the packets allow it: a
// point whose interval holds 0 gets 0, one at a time, since each fix narrows the others;
// correcting such a point would only move link delay asymmetry (or, with one direction, the
// whole link delay) into the latencies. Then the point with the narrowest interval that
// excludes 0 is fixed at its value (see bound.value), and so on. Points no fixed point bounds
// start a new group whose lowest point is its reference; points that matched nothing are
// unknown (offset 0). Clocks are few, so the O(n^3) closure is cheap; above 64 points only
// direct pairs bound each other.
func (c *clockStats) estimate(given map[int]time.Duration, points int) []Clock {
	n := max(points, c.n)
	for p := range given {
		n = max(n, p+1)
	}
	c.ensure(n)
	out := make([]Clock, n)
	fixed := make([]bool, n)
	off := make([]int64, n)
	for i := range out {
		out[i] = Clock{Point: i, From: i}
	}
	for p, o := range given {
		if p >= 0 {
			out[p].Offset, out[p].Source, fixed[p], off[p] = o, ClockGiven, true, int64(o)
		}
	}
	// User offsets are relative to the first point, so it is fixed too.
	if n > 0 && !fixed[0] {
		out[0].Source, fixed[0] = ClockReference, true
	}
	d := c.constraints(n, n <= 64)
	connected := func(p int) bool {
		for q := 0; q < n; q++ {
			if q != p && (d[p*n+q] != noPath || d[q*n+p] != noPath) {
				return true
			}
		}
		return false
	}
	for {
		zero, best, bx := -1, bound{}, -1
		for x := 0; x < n; x++ {
			if fixed[x] {
				continue
			}
			b := c.bounds(x, n, d, fixed, off)
			if !b.any() {
				continue
			}
			if b.allowsZero() {
				zero, best = x, b
				break
			}
			if bx < 0 || b.width() < best.width() {
				best, bx = b, x
			}
		}
		switch {
		case zero >= 0:
			fixed[zero] = true
			out[zero] = Clock{Point: zero, Source: ClockEstimated, From: best.from, Samples: c.samples(zero, best.from)}
			continue
		case bx >= 0:
			off[bx], fixed[bx] = best.value(), true
			out[bx] = Clock{Point: bx, Offset: time.Duration(off[bx]), Source: ClockEstimated,
				From: best.from, Samples: c.samples(bx, best.from)}
			continue
		}
		// Nothing fixed reaches the rest: the lowest connected free point starts a group.
		next := -1
		for x := 0; x < n && next < 0; x++ {
			if !fixed[x] && connected(x) {
				next = x
			}
		}
		if next < 0 {
			return out
		}
		out[next].Source, fixed[next] = ClockReference, true
	}
}

// samples counts the matched pairs between two points, both directions, both orderings.
func (c *clockStats) samples(a, b int) uint64 {
	if a < 0 || b < 0 || a >= c.n || b >= c.n {
		return 0
	}
	ab, ba := &c.p[a*c.n+b], &c.p[b*c.n+a]
	return ab.nCausal + ab.nTime + ba.nCausal + ba.nTime
}
