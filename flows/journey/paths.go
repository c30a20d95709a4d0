package journey

import (
	"slices"
	"sort"
)

// pathElem is one hop of a path's signature: where the packet was and how it got there.
type pathElem struct {
	seg uint32
	tr  Transform
}

// hopAgg accumulates one hop of one path.
type hopAgg struct {
	packets     uint64
	first, last int64
	lat         hist
	lost        uint64
	ref         PacketRef
	lostRef     PacketRef
	ttl         uint8 // inner TTL of the first journey seen here
}

// pathRec is one distinct hop sequence with its counters.
type pathRec struct {
	elems    []pathElem
	hops     []hopAgg
	journeys uint64
	created  int
	into     int // the path it was merged into at Finish, or -1
}

func mixSig(h, v uint64) uint64 {
	h ^= v
	h *= 0x100000001b3
	return h ^ h>>29
}

// aggregate orders one finished journey, classifies its transforms, feeds the clock
// estimator, and adds it to the path with the same hop sequence.
func (t *Tracker) aggregate(hs []hopObs) {
	orderJourney(hs, t.travelsBack(hs))
	el := t.elems[:0]
	sig := mixSig(0xcbf29ce484222325, uint64(len(hs)))
	for i := range hs {
		tr := TransformNone
		if i > 0 {
			a, b := &hs[i-1], &hs[i]
			tr = classify(view{a.h, a.ttl}, view{b.h, b.ttl})
			if a.h.Point != b.h.Point {
				t.clock.record(a.h.Point, b.h.Point, b.time-a.time, !timeOrdered(a, b))
			}
		}
		el = append(el, pathElem{seg: hs[i].seg, tr: tr})
		sig = mixSig(sig, uint64(hs[i].seg)<<8|uint64(tr))
	}
	t.elems = el
	if t.onJourney != nil {
		jh := t.jhops[:0]
		for i := range hs {
			o := &hs[i]
			jh = append(jh, JourneyHop{Ref: PacketRef{Input: int(o.input), Point: o.h.Point, Number: o.number},
				Time: o.time, Segment: int(o.seg), TTL: o.ttl, Transform: el[i].tr})
		}
		t.jhops = jh
		t.onJourney(jh)
	}
	first := t.segs.at(el[0].seg)
	pi := first.lastPath
	if pi < 0 || !equalElems(t.paths[pi].elems, el) {
		pi = t.lookupPath(sig, el)
		first.lastPath = pi
	}
	p := t.paths[pi]
	p.journeys++
	for i := range hs {
		o := &hs[i]
		hg := &p.hops[i]
		if hg.packets == 0 {
			hg.first, hg.ref = o.time, PacketRef{Input: int(o.input), Point: o.h.Point, Number: o.number}
			hg.ttl = o.ttl
		}
		hg.packets++
		hg.first = min(hg.first, o.time)
		hg.last = max(hg.last, o.time)
		if i > 0 {
			hg.lat.add(o.time - hs[i-1].time)
		}
	}
}

// aggregateOne is aggregate for a journey seen once, the common case wherever a packet
// crosses a single location: nothing to order, classify or time.
func (t *Tracker) aggregateOne(o *obs) {
	sr := t.segs.at(o.seg)
	if sr.onePath >= 0 {
		if sr.oneN == 0 {
			sr.oneFirst, sr.oneLast = o.time, o.time
		}
		sr.oneFirst = min(sr.oneFirst, o.time)
		sr.oneLast = max(sr.oneLast, o.time)
		sr.oneN++
		return
	}
	el := append(t.elems[:0], pathElem{seg: o.seg})
	t.elems = el
	sr.onePath = t.lookupPath(mixSig(mixSig(0xcbf29ce484222325, 1), uint64(o.seg)<<8), el)
	p := t.paths[sr.onePath]
	p.journeys++
	hg := &p.hops[0]
	if hg.packets == 0 {
		hg.first, hg.ref = o.time, PacketRef{Input: int(o.input), Point: sr.h.Point, Number: o.number}
		hg.ttl = o.ttl
	}
	hg.packets++
	hg.first = min(hg.first, o.time)
	hg.last = max(hg.last, o.time)
}

// foldOnePaths adds the journeys counted in segments by aggregateOne to their paths.
func (t *Tracker) foldOnePaths() {
	for i := range uint32(t.segs.len()) {
		sr := t.segs.at(i)
		if sr.onePath < 0 || sr.oneN == 0 {
			continue
		}
		p := t.paths[sr.onePath]
		p.journeys += sr.oneN
		hg := &p.hops[0]
		hg.packets += sr.oneN
		hg.first = min(hg.first, sr.oneFirst)
		hg.last = max(hg.last, sr.oneLast)
		sr.oneN = 0
	}
}

// travelsBack reports whether a journey goes towards its conversation's originator: an ICMP
// error, or most of its observations sent by the side that did not originate (the arrival-first
// observation breaks a tie), as Finish decides a path's direction.
func (t *Tracker) travelsBack(hs []hopObs) bool {
	fwd := 0
	for i := range hs {
		s := t.segs.at(hs[i].seg)
		if s.icmpErr {
			return true
		}
		if s.orig {
			fwd++
		} else {
			fwd--
		}
	}
	return fwd < 0 || (fwd == 0 && !t.segs.at(hs[0].seg).orig)
}

// lookupPath returns the path with hop sequence el, creating it on first sight. Signatures
// that collide probe the next value.
func (t *Tracker) lookupPath(sig uint64, el []pathElem) int32 {
	for h := sig; ; h++ {
		pi, ok := t.pathIdx[h]
		if !ok {
			pi = int32(len(t.paths))
			t.paths = append(t.paths, &pathRec{
				elems:   append([]pathElem(nil), el...),
				hops:    make([]hopAgg, len(el)),
				created: len(t.paths),
				into:    -1,
			})
			t.pathIdx[h] = pi
			return pi
		}
		if equalElems(t.paths[pi].elems, el) {
			return pi
		}
	}
}

func equalElems(a, b []pathElem) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// containsAt reports whether q holds p contiguously from offset o. p's first transform is
// not compared: it is "none" only because p's journeys were first seen there.
func containsAt(q, p []pathElem, o int) bool {
	if o < 0 || o+len(p) > len(q) || len(p) == 0 || q[o].seg != p[0].seg {
		return false
	}
	for i := 1; i < len(p); i++ {
		if q[o+i] != p[i] {
			return false
		}
	}
	return true
}

type occurrence struct {
	path, offset int
}

// mergeSubpaths folds every path that is a contiguous part of a longer one into the longest
// such path with the most journeys (lowest creation order on ties). Its journeys count on the
// matching hops; where they ended before the longer path did is that hop's loss.
func (t *Tracker) mergeSubpaths() {
	// Every path's hops by segment, in path order then hop order: one array sliced per
	// segment (start[seg]:start[seg+1]) rather than a map of small slices, which a flood of
	// one-hop paths made the bulk of Finish.
	start := make([]int32, t.segs.len()+1)
	for _, p := range t.paths {
		for _, e := range p.elems {
			start[e.seg+1]++
		}
	}
	for i := 1; i < len(start); i++ {
		start[i] += start[i-1]
	}
	occs := make([]occurrence, start[len(start)-1])
	fill := slices.Clone(start[:len(start)-1])
	for pi, p := range t.paths {
		for o, e := range p.elems {
			occs[fill[e.seg]] = occurrence{pi, o}
			fill[e.seg]++
		}
	}
	supersets := func(pi int, fn func(occurrence)) {
		p := t.paths[pi]
		seg := p.elems[0].seg
		for _, oc := range occs[start[seg]:start[seg+1]] {
			q := t.paths[oc.path]
			if oc.path != pi && len(q.elems) > len(p.elems) && containsAt(q.elems, p.elems, oc.offset) {
				fn(oc)
			}
		}
	}
	maximal := make([]bool, len(t.paths))
	for pi := range t.paths {
		maximal[pi] = true
		supersets(pi, func(occurrence) { maximal[pi] = false })
	}
	for pi, p := range t.paths {
		if maximal[pi] {
			continue
		}
		best := occurrence{path: -1}
		supersets(pi, func(oc occurrence) {
			if !maximal[oc.path] {
				return
			}
			if best.path < 0 || betterHost(t.paths[oc.path], t.paths[best.path]) {
				best = oc
			}
		})
		if best.path < 0 {
			continue // cannot happen: containment is transitive up to a maximal path
		}
		q := t.paths[best.path]
		for i := range p.hops {
			src, dst := &p.hops[i], &q.hops[best.offset+i]
			if src.packets == 0 {
				continue
			}
			if dst.packets == 0 || src.first < dst.first {
				dst.first, dst.ref = src.first, src.ref
			}
			dst.packets += src.packets
			dst.last = max(dst.last, src.last)
			if best.offset+i > 0 && i > 0 {
				dst.lat.merge(&src.lat)
			}
		}
		if end := best.offset + len(p.hops); end < len(q.hops) {
			last := &q.hops[end-1]
			if last.lost == 0 {
				last.lostRef = p.hops[len(p.hops)-1].ref
			}
			last.lost += p.journeys
		}
		q.journeys += p.journeys
		p.into = best.path
	}
}

func betterHost(a, b *pathRec) bool {
	if a.journeys != b.journeys {
		return a.journeys > b.journeys
	}
	return a.created < b.created
}

// finalPaths returns the paths left after merging, sorted by first observation, then creation.
func (t *Tracker) finalPaths() []*pathRec {
	out := make([]*pathRec, 0, len(t.paths))
	for _, p := range t.paths {
		if p.into < 0 {
			out = append(out, p)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		fi, fj := pathFirst(out[i]), pathFirst(out[j])
		if fi != fj {
			return fi < fj
		}
		return out[i].created < out[j].created
	})
	return out
}

func pathFirst(p *pathRec) int64 {
	f := p.hops[0].first
	for i := range p.hops {
		if p.hops[i].packets > 0 {
			f = min(f, p.hops[i].first)
		}
	}
	return f
}
