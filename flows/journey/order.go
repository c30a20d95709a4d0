package journey

// hopObs is one observation of a finished journey, with what ordering needs.
type hopObs struct {
	seq    uint64 // arrival order, the last tie-breaker
	time   int64  // raw capture time
	ctime  int64  // capture time corrected by the user-given clock offset of its point
	number uint64
	seg    uint32
	flow   uint32
	input  int32
	ttl    uint8
	phase  uint8
	h      *Header
}

// Encapsulation phases within one TTL: the plain copy that entered the encapsulating node,
// then the encapsulated copies, then the decapsulated copy that left the decapsulating node.
const (
	phaseBeforeTunnel uint8 = iota
	phaseInTunnel
	phaseAfterTunnel
)

// setPhases assigns each observation its encapsulation phase. Encapsulation does not change
// the inner TTL, so among observations of equal TTL tunnelled copies are "in" the tunnel, and
// a plain copy is decided by the strongest evidence available, in this order:
//  1. MAC adjacency: its destination MAC is a tunnelled copy's source MAC (the frame was
//     delivered to the encapsulating node: before), or its source MAC is a tunnelled copy's
//     destination MAC (sent by the decapsulating node: after);
//  2. its tuple differs from every tunnelled copy's inner tuple (rewritten VIP->DIP: after);
//  3. another plain copy of equal TTL has a different tuple (that one is the rewritten copy,
//     so this one is before);
//  4. the clock: captured no later than the first tunnelled copy is before, else after.
//
// Clocks come last because capture points may be skewed by more than the hop latency.
// A journey without tunnels is all "before".
func setPhases(hs []hopObs) {
	for i := range hs {
		a := &hs[i]
		if a.h.Depth > 0 {
			a.phase = phaseInTunnel
			continue
		}
		a.phase = phaseBeforeTunnel
		tunnelled, sameTuple, into, outOf, rewrittenSibling := false, false, false, false, false
		var firstTunnel int64
		for j := range hs {
			b := &hs[j]
			if b.ttl != a.ttl || j == i {
				continue
			}
			if b.h.Depth == 0 {
				if b.h.Inner != a.h.Inner {
					rewrittenSibling = true
				}
				continue
			}
			if !tunnelled || b.ctime < firstTunnel {
				firstTunnel = b.ctime
			}
			tunnelled = true
			sameTuple = sameTuple || b.h.Inner == a.h.Inner
			if a.h.HasMAC && b.h.HasMAC {
				into = into || a.h.DstMAC == b.h.SrcMAC
				outOf = outOf || a.h.SrcMAC == b.h.DstMAC
			}
		}
		switch {
		case !tunnelled, into:
		case outOf, !sameTuple:
			a.phase = phaseAfterTunnel
		case rewrittenSibling:
		case a.ctime > firstTunnel:
			a.phase = phaseAfterTunnel
		}
	}
}

// causalRank orders by causality alone: a higher inner TTL is earlier (every router, NAT and
// host on the way decrements it), then the encapsulation phase.
func causalRank(h *hopObs) int {
	return int(255-h.ttl)<<2 | int(h.phase)
}

// before reports whether a precedes b in the journey: causality first, then the clock
// (corrected by user-given offsets), then the capture point, then arrival order. The capture
// point decides only what nothing observable does (identical timestamps at two points, e.g. a
// capture and its rewritten copy): a forward journey crosses points in the order they were
// given, a return journey (back) in the reverse order, so both directions of a conversation
// mirror each other and a rewrite and its undoing show as one mapping.
func before(a, b *hopObs, back bool) bool {
	if ra, rb := causalRank(a), causalRank(b); ra != rb {
		return ra < rb
	}
	if a.ctime != b.ctime {
		return a.ctime < b.ctime
	}
	if a.h.Point != b.h.Point {
		return (a.h.Point < b.h.Point) != back
	}
	return a.seq < b.seq
}

// orderJourney sorts a journey's observations into causal order in place; back says the
// journey travels towards its conversation's originator. Journeys are short, so insertion
// sort is the fastest and allocates nothing.
func orderJourney(hs []hopObs, back bool) {
	setPhases(hs)
	for i := 1; i < len(hs); i++ {
		for j := i; j > 0 && before(&hs[j], &hs[j-1], back); j-- {
			hs[j], hs[j-1] = hs[j-1], hs[j]
		}
	}
}

// timeOrdered reports whether only the clock decided that a comes before b: such pairs say
// nothing reliable about clock offsets when a better-ordered pair exists.
func timeOrdered(a, b *hopObs) bool { return causalRank(a) == causalRank(b) }
