package journey

import (
	"net/netip"
	"sort"
)

// natKey identifies one mapping at one node.
type natKey struct {
	node            int
	kind            NATKind
	proto           uint8
	inside, outside netip.AddrPort
}

// natRule turns one rewriting hop of a path into the mapping it shows, if any. Each rule
// looks at one kind of rewrite; a hop with SNAT and DNAT yields two mappings.
type natRule interface {
	mapping(dir Direction, a, b *Hop, vips map[netip.Addr]bool) (natKey, bool)
}

func src(h *Hop) netip.AddrPort { return netip.AddrPortFrom(h.Inner.Src.Unmap(), h.Inner.SrcPort) }
func dst(h *Hop) netip.AddrPort { return netip.AddrPortFrom(h.Inner.Dst.Unmap(), h.Inner.DstPort) }

// vipDIPRule: a host decapsulates and rewrites VIP -> DIP (forward), or rewrites the source
// DIP -> VIP on the way out (Direct Server Return). Inside is DIP:port, outside VIP:port.
type vipDIPRule struct{}

func (vipDIPRule) mapping(_ Direction, a, b *Hop, vips map[netip.Addr]bool) (natKey, bool) {
	tr := b.Transform
	switch {
	case tr&TransformDNAT != 0 && (tr&TransformDecap != 0 || vips[a.Inner.Dst.Unmap()]):
		return natKey{kind: NATVIPDIP, inside: dst(b), outside: dst(a)}, true
	case tr&TransformSNAT != 0 && vips[b.Inner.Src.Unmap()]:
		return natKey{kind: NATVIPDIP, inside: src(a), outside: src(b)}, true
	}
	return natKey{}, false
}

// sourceRule: the source was rewritten. Going forward that is SNAT (inside = the original
// source); on a return path it is the reply of a DNAT (inside = the server's private address).
type sourceRule struct{}

func (sourceRule) mapping(dir Direction, a, b *Hop, vips map[netip.Addr]bool) (natKey, bool) {
	if b.Transform&TransformSNAT == 0 || hasTunnelChange(b.Transform) || vips[b.Inner.Src.Unmap()] {
		return natKey{}, false
	}
	k := natKey{kind: NATSource, inside: src(a), outside: src(b)}
	if dir == Return {
		k.kind = NATDest
	}
	return k, true
}

// destRule: the destination was rewritten. Going forward that is DNAT (inside = the new,
// private destination); on a return path it is the reply of an SNAT (inside = the original
// client, restored).
type destRule struct{}

func (destRule) mapping(dir Direction, a, b *Hop, vips map[netip.Addr]bool) (natKey, bool) {
	if b.Transform&TransformDNAT == 0 || hasTunnelChange(b.Transform) || vips[a.Inner.Dst.Unmap()] {
		return natKey{}, false
	}
	k := natKey{kind: NATDest, inside: dst(b), outside: dst(a)}
	if dir == Return {
		k.kind = NATSource
	}
	return k, true
}

var natRules = [...]natRule{vipDIPRule{}, sourceRule{}, destRule{}}

// eachMapping calls fn with every mapping path p shows (node left 0) and the index of the hop
// that made it. ICMP error paths show none: they confirm the mapping of the packet they quote,
// whose ports they hide.
func eachMapping(p *Path, vips map[netip.Addr]bool, fn func(k natKey, hop int)) {
	if p.ICMPError {
		return
	}
	for hi := 1; hi < len(p.Hops); hi++ {
		a, b := &p.Hops[hi-1], &p.Hops[hi]
		for _, r := range natRules {
			if k, ok := r.mapping(p.Direction, a, b, vips); ok {
				k.proto = b.Inner.Proto
				fn(k, hi)
			}
		}
	}
}

// joinMappingSides applies the node rule "whoever undoes a mapping on the way back made it on
// the way in" (see identKind): for every return path paired with a forward path, a mapping both
// show joins the nodes of the two hops that made it, when each hop's TTL dropped by at most one
// (one box, not the last of several). elems[pi][hi] is the union-find element of hop hi of
// path pi. It reports whether any two nodes were joined.
func (nb *nodeBuilder) joinMappingSides(paths []Path, elems [][]int, vips map[netip.Addr]bool) bool {
	oneBox := func(p *Path, hi int) bool { return int(p.Hops[hi-1].TTL)-int(p.Hops[hi].TTL) <= 1 }
	joined := false
	made := map[natKey]int{}
	for ri := range paths {
		r := &paths[ri]
		if r.Direction != Return || r.Pair < 0 || paths[r.Pair].Direction != Forward {
			continue
		}
		f := &paths[r.Pair]
		clear(made)
		eachMapping(f, vips, func(k natKey, hi int) {
			if oneBox(f, hi) {
				made[k] = elems[r.Pair][hi]
			}
		})
		if len(made) == 0 {
			continue
		}
		eachMapping(r, vips, func(k natKey, hi int) {
			e, ok := made[k]
			if !ok || !oneBox(r, hi) {
				return
			}
			if x := elems[ri][hi]; nb.uf.find(x) != nb.uf.find(e) {
				nb.uf.union(x, e)
				joined = true
			}
		})
	}
	return joined
}

// buildNAT derives the NAT table from the final paths: one entry per (node, kind, protocol,
// inside, outside), confirmed by both directions.
func buildNAT(paths []Path, vips map[netip.Addr]bool) []NATEntry {
	idx := map[natKey]int{}
	var out []NATEntry
	for pi := range paths {
		p := &paths[pi]
		eachMapping(p, vips, func(k natKey, hi int) {
			b := &p.Hops[hi]
			k.node = b.Node
			i, seen := idx[k]
			if !seen {
				i = len(out)
				idx[k] = i
				out = append(out, NATEntry{Node: k.node, Kind: k.kind, Proto: k.proto,
					Inside: k.inside, Outside: k.outside, First: b.First, Last: b.Last})
			}
			e := &out[i]
			e.First, e.Last = min(e.First, b.First), max(e.Last, b.Last)
			e.Packets += b.Packets
		})
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := &out[i], &out[j]
		if a.First != b.First {
			return a.First < b.First
		}
		if a.Node != b.Node {
			return a.Node < b.Node
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		if c := a.Inside.Compare(b.Inside); c != 0 {
			return c < 0
		}
		return a.Outside.Compare(b.Outside) < 0
	})
	return out
}
