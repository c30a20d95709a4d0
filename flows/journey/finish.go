package journey

import (
	"net/netip"
	"slices"
	"sort"
)

// Finish finishes every pending journey and returns the result. The tracker must not be used
// afterwards.
func (t *Tracker) Finish() *Result {
	for t.ring.len() > 0 {
		t.popHead()
	}
	t.foldOnePaths()
	res := &Result{Stats: t.stats, Duplicates: t.dupRefs}
	points := t.clock.n
	for i := range uint32(t.segs.len()) {
		points = max(points, t.segs.at(i).h.Point+1)
	}
	res.Clocks = t.clock.estimate(t.given, points)
	offset := func(p int) int64 {
		if p >= 0 && p < len(res.Clocks) {
			return int64(res.Clocks[p].Offset)
		}
		return 0
	}

	res.Segments = make([]Segment, t.segs.len())
	for i := range uint32(t.segs.len()) {
		s := t.segs.at(i)
		res.Segments[i] = Segment{Header: s.h, Flow: s.flow, Originator: s.orig, Packets: s.packets,
			Duplicates: s.dups, First: s.first, Last: s.last}
	}

	t.mergeSubpaths()
	recs := t.finalPaths()

	// VIPs: marked ones, and every destination that came out of a tunnel and was then
	// rewritten (VIP -> DIP), in the same hop or, when a capture point sits between the host's
	// decapsulation and its DNAT, in a later one.
	vips := map[netip.Addr]bool{}
	for a := range t.vips {
		vips[a] = true
	}
	var decapped []netip.Addr
	for _, p := range recs {
		decapped = decapped[:0]
		for i := 1; i < len(p.elems); i++ {
			tr, dst := p.elems[i].tr, t.segs.at(p.elems[i-1].seg).h.Inner.Dst.Unmap()
			if tr&TransformDecap != 0 {
				decapped = append(decapped, dst)
			}
			if tr&TransformDNAT != 0 && slices.Contains(decapped, dst) {
				vips[dst] = true
			}
		}
	}

	nb := &nodeBuilder{uf: unionFind{idx: map[ident]int{}}, vips: vips}
	elems := make([][]int, len(recs))
	var order []int
	for pi, p := range recs {
		hs := make([]hopElem, len(p.elems))
		for i, e := range p.elems {
			hs[i] = hopElem{h: &t.segs.at(e.seg).h, tr: e.tr, ttl: p.hops[i].ttl}
		}
		elems[pi] = nb.resolve(hs)
		order = append(order, elems[pi]...)
	}
	for _, a := range sortedAddrs(vips) {
		nb.uf.id(addrID(a))
	}
	for _, a := range sortedAddrs(t.bgp) {
		nb.uf.id(addrID(a))
	}
	index, nodes := nb.numbering(order)
	res.Nodes = nodes

	res.Paths = make([]Path, len(recs))
	for pi, p := range recs {
		out := &res.Paths[pi]
		out.Pair = -1
		out.Packets = p.journeys
		out.Hops = make([]Hop, len(p.elems))
		forward := 0
		for i, e := range p.elems {
			s := t.segs.at(e.seg)
			hg := &p.hops[i]
			h := Hop{Segment: int(e.seg), Header: s.h, Node: index(elems[pi][i]), Transform: e.tr,
				Packets: hg.packets, Lost: hg.lost, LostRef: hg.lostRef, Ref: hg.ref, Flow: s.flow, TTL: hg.ttl,
				Duplicates: s.dups, First: hg.first, Last: hg.last}
			if i > 0 {
				h.Latency = hg.lat.summary(offset(p.elems[i-1].segPoint(t)) - offset(s.h.Point))
			}
			out.Hops[i] = h
			if i == 0 || h.First < out.First {
				out.First = h.First
			}
			out.Last = max(out.Last, h.Last)
			if s.orig {
				forward++
			} else {
				forward--
			}
			if s.flow != NoFlow && !containsFlow(out.Flows, s.flow) {
				out.Flows = append(out.Flows, s.flow)
			}
		}
		// Majority of hops, the first hop breaking a tie: robust to a point that saw only
		// the replies of a conversation.
		out.ICMPError = t.segs.at(p.elems[0].seg).icmpErr
		if forward < 0 || (forward == 0 && !t.segs.at(p.elems[0].seg).orig) || out.ICMPError {
			out.Direction = Return
		}
		if out.Flows == nil {
			out.Flows = []uint32{}
		}
	}
	markEndsEarly(res.Paths)
	pairPaths(res.Paths)
	if nb.joinMappingSides(res.Paths, elems, vips) {
		index, res.Nodes = nb.numbering(order)
		for pi := range res.Paths {
			for i := range res.Paths[pi].Hops {
				res.Paths[pi].Hops[i].Node = index(elems[pi][i])
			}
		}
	}
	markDSR(res.Paths, vips)
	res.NAT = buildNAT(res.Paths, vips)
	t.assignRoles(res, nb, index)
	res.Links = buildLinks(res.Paths, recs, offset)
	return res
}

func (e pathElem) segPoint(t *Tracker) int { return t.segs.at(e.seg).h.Point }

func containsFlow(fs []uint32, f uint32) bool {
	for _, x := range fs {
		if x == f {
			return true
		}
	}
	return false
}

func sortedAddrs(m map[netip.Addr]bool) []netip.Addr {
	out := make([]netip.Addr, 0, len(m))
	for a := range m {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Less(out[j]) })
	return out
}

// convKey names a conversation at one capture point regardless of direction.
type convKey struct {
	point  int
	depth  uint8
	proto  uint8
	lo, hi netip.AddrPort
}

func convOf(h *Header) convKey {
	s := netip.AddrPortFrom(h.Inner.Src.Unmap(), h.Inner.SrcPort)
	d := netip.AddrPortFrom(h.Inner.Dst.Unmap(), h.Inner.DstPort)
	if d.Compare(s) < 0 {
		s, d = d, s
	}
	return convKey{point: h.Point, depth: h.Depth, proto: h.Inner.Proto, lo: s, hi: d}
}

// pairPaths links each return path to the forward path of the same conversation: the one
// sharing the most (point, tuple) pairs with it, then the busiest, then the first.
func pairPaths(paths []Path) {
	byConv := map[convKey][]int{}
	for pi := range paths {
		if paths[pi].Direction != Forward {
			continue
		}
		for hi := range paths[pi].Hops {
			k := convOf(&paths[pi].Hops[hi].Header)
			if l := byConv[k]; len(l) == 0 || l[len(l)-1] != pi {
				byConv[k] = append(l, pi)
			}
		}
	}
	shared := make([]int, len(paths)) // per return path; reset through touched
	var touched []int
	for ri := range paths {
		r := &paths[ri]
		if r.Direction != Return {
			continue
		}
		for _, pi := range touched {
			shared[pi] = 0
		}
		touched = touched[:0]
		for hi := range r.Hops {
			for _, pi := range byConv[convOf(&r.Hops[hi].Header)] {
				if shared[pi] == 0 {
					touched = append(touched, pi)
				}
				shared[pi]++
			}
		}
		best := -1
		for _, pi := range touched {
			n := shared[pi]
			if best < 0 || n > shared[best] ||
				(n == shared[best] && (paths[pi].Packets > paths[best].Packets ||
					paths[pi].Packets == paths[best].Packets && pi < best)) {
				best = pi
			}
		}
		if best < 0 {
			continue
		}
		r.Pair = best
		if paths[best].Pair < 0 {
			paths[best].Pair = ri
		}
	}
}

// markDSR marks the return paths that are Direct Server Return: their forward path was
// encapsulated by a node the return path never crosses, and the return path's source becomes
// the VIP the forward path was sent to. Call it once the hop nodes are final.
func markDSR(paths []Path, vips map[netip.Addr]bool) {
	for ri := range paths {
		if r := &paths[ri]; r.Direction == Return && r.Pair >= 0 {
			r.DSR = isDSR(&paths[r.Pair], r, vips)
		}
	}
}

func isDSR(fwd, ret *Path, vips map[netip.Addr]bool) bool {
	crossed := map[int]bool{}
	for hi := range ret.Hops {
		crossed[ret.Hops[hi].Node] = true
	}
	for hi := 1; hi < len(fwd.Hops); hi++ {
		h := &fwd.Hops[hi]
		if h.Transform&TransformEncap == 0 || crossed[h.Node] {
			continue
		}
		vip := h.Inner.Dst.Unmap()
		if !vips[vip] {
			continue
		}
		for ri := range ret.Hops {
			if ret.Hops[ri].Inner.Src.Unmap() == vip {
				return true
			}
		}
	}
	return false
}

type linkKey struct {
	from, to  int
	transform Transform
}

// buildLinks sums the final paths' consecutive hop pairs into flow-level links.
func buildLinks(paths []Path, recs []*pathRec, offset func(int) int64) []Link {
	idx := map[linkKey]int{}
	var out []Link
	var hists []hist
	var shifts []int64
	var firsts []int64
	for pi := range paths {
		p := &paths[pi]
		for hi := 1; hi < len(p.Hops); hi++ {
			h := &p.Hops[hi]
			k := linkKey{from: p.Hops[hi-1].Segment, to: h.Segment, transform: h.Transform}
			i, ok := idx[k]
			if !ok {
				i = len(out)
				idx[k] = i
				out = append(out, Link{From: k.from, To: k.to, Transform: k.transform, Node: h.Node})
				hists = append(hists, hist{})
				firsts = append(firsts, h.First)
				// The correction is the same for every path using this link (same two points).
				shifts = append(shifts, offset(p.Hops[hi-1].Point)-offset(h.Point))
			}
			out[i].Packets += h.Packets
			firsts[i] = min(firsts[i], h.First)
			hists[i].merge(&recs[pi].hops[hi].lat)
		}
	}
	for i := range out {
		out[i].Latency = hists[i].summary(shifts[i])
	}
	order := make([]int, len(out))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return firsts[order[a]] < firsts[order[b]] })
	sorted := make([]Link, len(out))
	for i, o := range order {
		sorted[i] = out[o]
	}
	return sorted
}

// routeStep is where a hop was and what happened there, without the tuple: conversations to
// one destination share their route.
type routeStep struct {
	point          int
	hasMAC         bool
	srcMAC, dstMAC [6]byte
	depth          uint8
	transform      Transform
}

type destKey struct {
	dst   netip.AddrPort
	proto uint8
}

// markEndsEarly finds paths whose route is a strict prefix of another path's route to the same
// destination (first hop's destination address, port and protocol): their journeys all stopped
// where others went on, so they are lost at the last hop. mergeSubpaths already counted loss
// within a conversation; this catches conversations that never got further at all. Every
// proper route prefix of every path is indexed once, so the cost is linear in hops.
func markEndsEarly(paths []Path) {
	type prefixKey struct {
		dest destKey
		n    int
		hash uint64
	}
	step := func(h *Hop, first bool) routeStep {
		s := routeStep{point: h.Point, hasMAC: h.HasMAC, srcMAC: h.SrcMAC, dstMAC: h.DstMAC,
			depth: h.Depth, transform: h.Transform}
		if first {
			s.transform = TransformNone
		}
		return s
	}
	hashStep := func(x uint64, s routeStep) uint64 {
		x = mixSig(x, uint64(s.point)<<16|uint64(s.depth)<<8|uint64(s.transform))
		x = mixSig(x, macWord(s.srcMAC)<<1|b2u(s.hasMAC))
		return mixSig(x, macWord(s.dstMAC))
	}
	dest := func(p *Path) destKey {
		h := &p.Hops[0]
		port := h.Inner.DstPort
		if echoID(&h.Inner) {
			port = 0 // the echo identifier names the conversation, not the destination
		}
		return destKey{netip.AddrPortFrom(h.Inner.Dst.Unmap(), port), h.Inner.Proto}
	}
	prefixes := map[prefixKey]int{} // -> a path having this proper prefix
	for qi := range paths {
		q := &paths[qi]
		if q.ICMPError {
			continue
		}
		d, x := dest(q), uint64(0)
		for i := 0; i < len(q.Hops)-1; i++ {
			x = hashStep(x, step(&q.Hops[i], i == 0))
			prefixes[prefixKey{d, i + 1, x}] = qi
		}
	}
	for pi := range paths {
		p := &paths[pi]
		if p.ICMPError {
			continue
		}
		x := uint64(0)
		for i := range p.Hops {
			x = hashStep(x, step(&p.Hops[i], i == 0))
		}
		qi, ok := prefixes[prefixKey{dest(p), len(p.Hops), x}]
		if !ok || qi == pi {
			continue
		}
		q := &paths[qi]
		same := true
		for i := range p.Hops {
			if step(&p.Hops[i], i == 0) != step(&q.Hops[i], i == 0) {
				same = false // a hash collision
				break
			}
		}
		if !same {
			continue
		}
		p.EndsEarly = true
		last := &p.Hops[len(p.Hops)-1]
		if last.Lost == 0 {
			last.LostRef = last.Ref
		}
		last.Lost = last.Packets
	}
}
