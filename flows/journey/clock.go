package journey

import (
	"math"
	"sort"
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

// clockEdge is an estimate of offset(b) - offset(a) between two points.
type clockEdge struct {
	rel     int64
	quality int // 3 causal both ways, 2 causal one way, 1 clock-ordered both ways, 0 one way
	samples uint64
	ok      bool
}

// edge derives the relative offset of b against a. With matched packets both ways, the
// NTP-style estimate ((b-a) - (a-b))/2 over the minimum delay each way cancels the link delay
// if it is symmetric; with one direction only, the link's minimum delay is taken as 0. Pairs
// ordered by causality are used whenever the pair has any.
func (c *clockStats) edge(a, b int) clockEdge {
	ab, ba := &c.p[a*c.n+b], &c.p[b*c.n+a]
	nab, nba, mab, mba, q := ab.nCausal, ba.nCausal, ab.minCausal, ba.minCausal, 2
	if nab+nba == 0 {
		nab, nba, mab, mba, q = ab.nTime, ba.nTime, ab.minTime, ba.minTime, 0
	}
	e := clockEdge{samples: nab + nba, ok: nab+nba > 0}
	switch {
	case nab > 0 && nba > 0:
		e.rel, e.quality = mab/2-mba/2+(mab%2-mba%2)/2, q+1
	case nab > 0:
		e.rel, e.quality = mab, q
	case nba > 0:
		e.rel, e.quality = -mba, q
	}
	return e
}

func (e clockEdge) better(o clockEdge) bool {
	if e.quality != o.quality {
		return e.quality > o.quality
	}
	return e.samples > o.samples
}

// estimate computes every point's offset. The first point (offset 0 unless given) and
// user-given points are fixed; the others are reached over a spanning tree of the point graph
// grown greedily from the fixed points along the best estimates (both directions before one,
// causally ordered before clock-ordered, then more samples). Points the tree cannot reach start
// a new group whose lowest point is its reference; points that matched nothing are unknown.
func (c *clockStats) estimate(given map[int]time.Duration, points int) []Clock {
	n := max(points, c.n)
	for p := range given {
		n = max(n, p+1)
	}
	c.ensure(n)
	out := make([]Clock, n)
	done := make([]bool, n)
	for i := range out {
		out[i] = Clock{Point: i, From: i}
	}
	fixed := make([]int, 0, len(given))
	for p := range given {
		if p >= 0 {
			fixed = append(fixed, p)
		}
	}
	sort.Ints(fixed)
	for _, p := range fixed {
		out[p].Offset, out[p].Source, done[p] = given[p], ClockGiven, true
	}
	// User offsets are relative to the first point, so it is fixed too.
	if n > 0 && !done[0] {
		out[0].Source, done[0] = ClockReference, true
	}
	edges := make([]clockEdge, n*n)
	for a := 0; a < n; a++ {
		for b := 0; b < n; b++ {
			if a != b {
				edges[a*n+b] = c.edge(a, b)
			}
		}
	}
	grow := func() {
		for {
			best, ba, bb := clockEdge{quality: math.MinInt}, -1, -1
			for a := 0; a < n; a++ {
				if !done[a] {
					continue
				}
				for b := 0; b < n; b++ {
					if done[b] || !edges[a*n+b].ok {
						continue
					}
					if e := edges[a*n+b]; ba < 0 || e.better(best) {
						best, ba, bb = e, a, b
					}
				}
			}
			if ba < 0 {
				return
			}
			out[bb] = Clock{Point: bb, Offset: out[ba].Offset + time.Duration(best.rel),
				Source: ClockEstimated, From: ba, Samples: best.samples}
			done[bb] = true
		}
	}
	grow()
	for p := 0; p < n; p++ {
		if done[p] {
			continue
		}
		connected := false
		for q := 0; q < n; q++ {
			if q != p && edges[p*n+q].ok {
				connected = true
				break
			}
		}
		if !connected {
			continue // stays ClockUnknown
		}
		out[p].Source, done[p] = ClockReference, true
		grow()
	}
	return out
}
