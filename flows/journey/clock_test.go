package journey

import (
	"testing"
	"time"
)

// twoPointExchange generates n packets from point 0 to point 1 (TTL 64 -> 63) and, when
// both, n packets back (TTL 64 -> 63), with a one-way delay of delay and point 1's clock
// running ahead by skew.
func twoPointExchange(n int, both bool, delay, skew int64) []*pb {
	var out []*pb
	fp := uint64(1)
	for i := 0; i < n; i++ {
		t0 := int64(i) * 1000 * us
		out = append(out,
			pk(0, t0, fp).tuple(client, vip, 17).ttl(64),
			pk(1, t0+delay+skew+int64(i%3)*us, fp).tuple(client, vip, 17).ttl(63))
		fp++
		if both {
			t1 := t0 + 500*us
			out = append(out,
				pk(1, t1+skew, fp).tuple(vip, client, 17).ttl(64),
				pk(0, t1+delay+int64(i%5)*us, fp).tuple(vip, client, 17).ttl(63))
			fp++
		}
	}
	return out
}

func TestClockEstimation(t *testing.T) {
	cases := []struct {
		name       string
		why        string
		both       bool
		skew       int64
		given      map[int]time.Duration
		wantOffset time.Duration
		wantSource ClockSource
		wantMinLat float64 // corrected minimum latency of the 0 -> 1 hop, µs
	}{
		{"both directions", "NTP-style: a symmetric 200 µs link cancels out, the skew is recovered exactly",
			true, 3_000 * us, nil, 3 * time.Millisecond, ClockEstimated, 200},
		{"both directions negative skew", "a point whose clock runs behind puts replies before requests",
			true, -7_000 * us, nil, -7 * time.Millisecond, ClockEstimated, 200},
		{"one direction behind", "only requests matched and they arrive before they left: the link's minimum delay is taken as 0",
			false, -3_000 * us, nil, -3*time.Millisecond + 200*time.Microsecond, ClockEstimated, 0},
		{"one direction ahead", "a receiver ahead on a one-way link looks like latency: clocks stay presumed synchronised",
			false, 3_000 * us, nil, 0, ClockEstimated, 3200},
		{"both directions within the delay", "a skew smaller than the link delay is consistent with synchronised clocks",
			true, 50 * us, nil, 0, ClockEstimated, 250},
		{"user given", "a user-given offset overrides the estimate",
			true, 3_000 * us, map[int]time.Duration{1: 2 * time.Millisecond}, 2 * time.Millisecond, ClockGiven, 1200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := stream(t, Config{ClockOffsets: c.given}, twoPointExchange(50, c.both, 200*us, c.skew))
			if len(res.Clocks) != 2 {
				t.Fatalf("%d clocks, want 2", len(res.Clocks))
			}
			if res.Clocks[0].Offset != 0 || res.Clocks[0].Source != ClockReference {
				t.Errorf("reference clock = %+v", res.Clocks[0])
			}
			got := res.Clocks[1]
			if got.Offset != c.wantOffset || got.Source != c.wantSource {
				t.Errorf("%s: clock = %+v, want %v (%v)", c.why, got, c.wantOffset, c.wantSource)
			}
			var fwd *Path
			for i := range res.Paths {
				if res.Paths[i].Hops[0].Point == 0 {
					fwd = &res.Paths[i]
				}
			}
			if fwd == nil || len(fwd.Hops) != 2 {
				t.Fatalf("no two-hop path from point 0")
			}
			if l := fwd.Hops[1].Latency; l.Min != c.wantMinLat {
				t.Errorf("corrected min latency = %v µs, want %v", l.Min, c.wantMinLat)
			}
		})
	}
}

func TestClockPropagation(t *testing.T) {
	// Why: point 2 never matches point 0 directly; its offset comes over the tree 0 -> 1 -> 2,
	// and a point that matched nothing stays unknown.
	var c clockStats
	// 0 <-> 1: point 1 is 1 ms ahead, 100 µs links each way.
	c.record(0, 1, 100*us+1000*us, true)
	c.record(1, 0, 100*us-1000*us, true)
	// 1 <-> 2: point 2 is 4 ms ahead of the reference (3 ms ahead of point 1).
	c.record(1, 2, 50*us+3000*us, true)
	c.record(2, 1, 50*us-3000*us, true)
	got := c.estimate(nil, 4)
	want := []time.Duration{0, time.Millisecond, 4 * time.Millisecond, 0}
	src := []ClockSource{ClockReference, ClockEstimated, ClockEstimated, ClockUnknown}
	for p := range want {
		if got[p].Offset != want[p] || got[p].Source != src[p] {
			t.Errorf("point %d = %+v, want %v %v", p, got[p], want[p], src[p])
		}
	}
	if got[2].From != 1 {
		t.Errorf("point 2 estimated from %d, want 1", got[2].From)
	}
}

func TestClockChainsBounds(t *testing.T) {
	// Why: a point seen one way in (from 1) and one way out (to 2) is bounded on both sides
	// only through chains of points; its skew must be recovered between the two bounds.
	var c clockStats
	// 0 <-> 1 and 0 <-> 2 synchronised, 100 µs links both ways.
	for _, p := range []int{1, 2} {
		c.record(0, p, 100*us, true)
		c.record(p, 0, 100*us, true)
	}
	// Point 3 runs 2 ms ahead: 1 -> 3 takes 60 µs, 3 -> 2 takes 40 µs.
	c.record(1, 3, 60*us+2000*us, true)
	c.record(3, 2, 40*us-2000*us, true)
	got := c.estimate(nil, 4)
	if got[1].Offset != 0 || got[2].Offset != 0 {
		t.Errorf("synchronised points moved: %+v %+v", got[1], got[2])
	}
	if o := got[3].Offset; o != 2010*time.Microsecond {
		t.Errorf("point 3 offset %v, want 2.01ms (between the bounds 1.96 and 2.06 ms)", o)
	}
}

func TestClockPrefersCausalPairs(t *testing.T) {
	// Why: pairs only the clock ordered are unreliable when skew exceeds the link delay; a pair
	// ordered by TTL must win.
	var c clockStats
	c.record(0, 1, -400*us, false)
	c.record(0, 1, -900*us, true)
	got := c.estimate(nil, 2)
	if got[1].Offset != -900*time.Microsecond {
		t.Errorf("offset %v, want -900µs from the causal pair", got[1].Offset)
	}
}
