package journey

import (
	"bytes"
	"net/netip"
	"sort"
)

// Roles is the set of roles a node plays, inferred from behaviour (DESIGN.md section 4).
type Roles uint16

// Roles, in the report's order.
const (
	RoleClient     Roles = 1 << iota // originates forward paths (not BGP, not probes)
	RoleServer                       // receives forward paths (not BGP, not probes)
	RoleNAT                          // rewrites addresses (not a host's VIP<->DIP)
	RoleRouter                       // decrements TTL / moves packets to a new MAC pair only
	RoleBGPSpeaker                   // an endpoint of TCP/179, or marked by the BGP stage
	RoleMux                          // encapsulates traffic addressed to a VIP
	RoleHost                         // decapsulates (and rewrites VIP->DIP), or a VTEP
	RoleVIP                          // a virtual IP: rewritten to DIPs by hosts, or marked
	RoleDIP                          // a VIP's backend address
	RoleProber                       // the first address of a DIP's subnet, probing DIPs
)

var roleNames = [...]string{"client", "server", "nat", "router", "bgp_speaker", "mux", "host",
	"vip", "dip", "prober"}

// Names lists the roles in the report's spelling and order.
func (r Roles) Names() []string {
	out := []string{}
	for i, n := range roleNames {
		if r&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return out
}

// Node identity: a node is the union of the identifiers it was seen with. The rules (applied
// by nodeBuilder) are:
//   - the sender of a journey is its first hop's inner source address; the receiver its last
//     hop's inner destination address;
//   - a first hop with an initial TTL (32, 64, 128, 255; or 1, which no router forwards, as
//     eBGP sends), no tunnel and a unicast source MAC was captured before any router: that MAC
//     belongs to the sender;
//   - the node that made a transform between hops a and b is, by MAC, a's destination MAC
//     joined with b's source MAC (one box: the ingress and the egress arm) when the TTL dropped
//     by at most one, else b's source MAC alone (the last of several boxes); after a
//     decapsulation b's source MAC is the inner frame's, written by the encapsulator, so a's
//     destination MAC alone names the decapsulating box; when a and b carry the same MAC
//     pair the frame crossed no box at layer 2 and its MACs are ignored; without MACs, by
//     the address that changed (encap: the new outer source; decap: the old outer
//     destination; SNAT: the new source; DNAT: the old destination); else the link between
//     the two capture points;
//   - addresses a box uses join it: an encapsulator's outer source, a decapsulator's outer
//     destination, a NAT's rewritten source or original destination, unless that address
//     is a VIP (VIPs are shared by Muxes and hosts and own no box);
//   - every tunnel endpoint address is a node (a VTEP), even when no transform was seen there;
//   - the node that undoes a mapping on a conversation's return path is the node that made it
//     on the forward path: the same (kind, protocol, inside, outside) rewritten both ways
//     within one pair of paths joins the two hop nodes (VFP rewrites VIP:port -> DIP:port in
//     on the provider NIC and DIP:port -> VIP:port out on the uplink NIC; a NAT keeps its
//     mapping), provided each side is pinned to one box (its TTL dropped by at most one). The
//     key holds the exact DIP:port and VIP:port and the pairing holds the conversation, so two
//     hosts behind one VIP (several DIPs, ECMP) stay apart.
type identKind uint8

const (
	identMAC identKind = iota
	identAddr
	identLink
)

type ident struct {
	kind identKind
	mac  [6]byte
	addr netip.Addr
	a, b int
}

// unionFind groups identifiers into nodes.
type unionFind struct {
	parent []int
	ids    []ident
	idx    map[ident]int
}

func (u *unionFind) id(k ident) int {
	if i, ok := u.idx[k]; ok {
		return i
	}
	i := len(u.parent)
	u.parent = append(u.parent, i)
	u.ids = append(u.ids, k)
	u.idx[k] = i
	return i
}

func (u *unionFind) find(i int) int {
	for u.parent[i] != i {
		u.parent[i] = u.parent[u.parent[i]]
		i = u.parent[i]
	}
	return i
}

// union joins the sets of a and b; the lower root (first seen) stays the root.
func (u *unionFind) union(a, b int) int {
	ra, rb := u.find(a), u.find(b)
	if ra == rb {
		return ra
	}
	if rb < ra {
		ra, rb = rb, ra
	}
	u.parent[rb] = ra
	return ra
}

func macID(m [6]byte) ident     { return ident{kind: identMAC, mac: m} }
func addrID(a netip.Addr) ident { return ident{kind: identAddr, addr: a.Unmap()} }
func linkID(a, b int) ident     { return ident{kind: identLink, a: min(a, b), b: max(a, b)} }
func unicastMAC(m [6]byte) bool { return m[0]&1 == 0 && m != [6]byte{} }
func initialTTL(ttl uint8) bool {
	return ttl == 64 || ttl == 128 || ttl == 255 || ttl == 32 || ttl == 1
}
func hasTunnelChange(t Transform) bool { return t&(TransformEncap|TransformDecap) != 0 }

// nodeBuilder resolves hop nodes over the final paths.
type nodeBuilder struct {
	uf   unionFind
	vips map[netip.Addr]bool
}

// hopElem is what node resolution needs of one hop.
type hopElem struct {
	h   *Header
	tr  Transform
	ttl uint8
}

// resolve returns the union-find element of each hop's node; call it for every path before
// reading any node (later unions can merge earlier sets).
func (nb *nodeBuilder) resolve(hs []hopElem) []int {
	out := make([]int, len(hs))
	for i := range hs {
		b := &hs[i]
		if b.h.Depth > 0 {
			nb.uf.id(addrID(b.h.Tunnel.Outer.Src))
			nb.uf.id(addrID(b.h.Tunnel.Outer.Dst))
		}
		if i == 0 {
			out[0] = nb.uf.id(addrID(b.h.Inner.Src))
			if b.h.HasMAC && b.h.Depth == 0 && initialTTL(b.ttl) && unicastMAC(b.h.SrcMAC) {
				nb.uf.union(out[0], nb.uf.id(macID(b.h.SrcMAC)))
			}
			continue
		}
		a := &hs[i-1]
		if b.tr == TransformNone {
			out[i] = out[i-1]
			continue
		}
		out[i] = nb.box(a, b)
		nb.ownAddresses(out[i], a, b)
	}
	nb.uf.id(addrID(hs[len(hs)-1].h.Inner.Dst))
	return out
}

func (nb *nodeBuilder) box(a, b *hopElem) int {
	aMAC := a.h.HasMAC && unicastMAC(a.h.DstMAC)
	bMAC := b.h.HasMAC && unicastMAC(b.h.SrcMAC)
	if a.h.HasMAC && b.h.HasMAC && a.h.SrcMAC == b.h.SrcMAC && a.h.DstMAC == b.h.DstMAC {
		// The frame crossed no box at layer 2 (a bump in the wire, or a capture rewritten by
		// a tool): its MACs are the two ends' and name nothing that rewrote it.
		aMAC, bMAC = false, false
	}
	if b.tr&TransformDecap != 0 && b.tr&TransformEncap == 0 {
		// A decapsulated frame keeps the inner source MAC the encapsulator wrote: only the
		// outer frame's destination tells the decapsulating box.
		bMAC = false
	}
	switch {
	case aMAC && bMAC:
		bid := nb.uf.id(macID(b.h.SrcMAC))
		if int(a.ttl)-int(b.ttl) > 1 {
			return bid
		}
		return nb.uf.union(nb.uf.id(macID(a.h.DstMAC)), bid)
	case bMAC:
		return nb.uf.id(macID(b.h.SrcMAC))
	case aMAC:
		return nb.uf.id(macID(a.h.DstMAC))
	case b.tr&TransformEncap != 0:
		return nb.uf.id(addrID(b.h.Tunnel.Outer.Src))
	case b.tr&TransformDecap != 0:
		return nb.uf.id(addrID(a.h.Tunnel.Outer.Dst))
	case b.tr&TransformSNAT != 0 && !nb.vips[b.h.Inner.Src.Unmap()]:
		return nb.uf.id(addrID(b.h.Inner.Src))
	case b.tr&TransformDNAT != 0 && !nb.vips[a.h.Inner.Dst.Unmap()]:
		return nb.uf.id(addrID(a.h.Inner.Dst))
	}
	return nb.uf.id(linkID(a.h.Point, b.h.Point))
}

func (nb *nodeBuilder) ownAddresses(node int, a, b *hopElem) {
	join := func(x netip.Addr) {
		if x.IsValid() && !nb.vips[x.Unmap()] {
			nb.uf.union(node, nb.uf.id(addrID(x)))
		}
	}
	if b.tr&TransformEncap != 0 {
		join(b.h.Tunnel.Outer.Src)
	}
	if b.tr&TransformDecap != 0 {
		join(a.h.Tunnel.Outer.Dst)
	}
	if hasTunnelChange(b.tr) {
		return // a host's VIP<->DIP rewrite: neither address is the host's
	}
	if b.tr&TransformSNAT != 0 {
		join(b.h.Inner.Src)
	}
	if b.tr&TransformDNAT != 0 {
		join(a.h.Inner.Dst)
	}
}

// numbering assigns final node indices in order of first appearance of the elements given,
// then of every remaining set, and builds the Node list.
func (nb *nodeBuilder) numbering(order []int) (index func(elem int) int, nodes []Node) {
	num := map[int]int{}
	add := func(e int) {
		r := nb.uf.find(e)
		if _, ok := num[r]; !ok {
			num[r] = len(num)
		}
	}
	for _, e := range order {
		add(e)
	}
	for e := range nb.uf.parent {
		add(e)
	}
	nodes = make([]Node, len(num))
	for e, k := range nb.uf.ids {
		n := &nodes[num[nb.uf.find(e)]]
		switch k.kind {
		case identMAC:
			n.MACs = append(n.MACs, k.mac)
		case identAddr:
			n.Addresses = append(n.Addresses, k.addr)
		}
	}
	for i := range nodes {
		n := &nodes[i]
		sort.Slice(n.Addresses, func(a, b int) bool { return n.Addresses[a].Less(n.Addresses[b]) })
		sort.Slice(n.MACs, func(a, b int) bool { return bytes.Compare(n.MACs[a][:], n.MACs[b][:]) < 0 })
		if n.Addresses == nil {
			n.Addresses = []netip.Addr{}
		}
		if n.MACs == nil {
			n.MACs = [][6]byte{}
		}
	}
	return func(e int) int { return num[nb.uf.find(e)] }, nodes
}

// nodeOfAddr returns the node index holding address a, or -1.
func (nb *nodeBuilder) nodeOfAddr(index func(int) int, a netip.Addr) int {
	if e, ok := nb.uf.idx[addrID(a)]; ok {
		return index(e)
	}
	return -1
}

// assignRoles sets every node's roles from the final paths and the NAT table.
func (t *Tracker) assignRoles(res *Result, nb *nodeBuilder, index func(int) int) {
	role := func(a netip.Addr, r Roles) {
		if n := nb.nodeOfAddr(index, a); n >= 0 {
			res.Nodes[n].Roles |= r
		}
	}
	dips := map[netip.Addr]bool{}
	for _, e := range res.NAT {
		if e.Kind == NATVIPDIP {
			dips[e.Inside.Addr()] = true
			role(e.Inside.Addr(), RoleDIP)
			role(e.Outside.Addr(), RoleVIP)
		}
	}
	for a := range nb.vips {
		role(a, RoleVIP)
	}
	for a := range t.bgp {
		role(a, RoleBGPSpeaker)
	}
	probes := map[int]int{} // sender node -> forward journeys to DIPs from a first address
	for pi := range res.Paths {
		p := &res.Paths[pi]
		first, last := &p.Hops[0], &p.Hops[len(p.Hops)-1]
		if p.ICMPError {
			continue // an error report is neither a conversation nor a rewrite of its own
		}
		bgp := first.Inner.Proto == 6 && (first.Inner.SrcPort == 179 || first.Inner.DstPort == 179)
		probe := dips[last.Inner.Dst.Unmap()] && firstAddressOf(first.Inner.Src, last.Inner.Dst)
		switch {
		case p.Direction != Forward:
		case probe:
			probes[first.Node] += int(p.Packets)
		case !bgp:
			// BGP sessions make speakers, not clients and servers.
			res.Nodes[first.Node].Roles |= RoleClient
			if !p.EndsEarly {
				role(last.Inner.Dst, RoleServer)
			}
		}
		for hi := range p.Hops {
			h := &p.Hops[hi]
			if h.Inner.Proto == 6 && (h.Inner.SrcPort == 179 || h.Inner.DstPort == 179) {
				role(h.Inner.Src, RoleBGPSpeaker)
				role(h.Inner.Dst, RoleBGPSpeaker)
			}
			if h.Depth > 0 {
				role(h.Tunnel.Outer.Dst, RoleHost)
			}
			if hi == 0 {
				continue
			}
			n := &res.Nodes[h.Node]
			tr := h.Transform
			switch {
			case tr&TransformEncap != 0 && nb.vips[h.Inner.Dst.Unmap()]:
				n.Roles |= RoleMux
			case tr&(TransformEncap|TransformDecap) != 0:
				n.Roles |= RoleHost
			case tr&TransformSNAT != 0 && nb.vips[h.Inner.Src.Unmap()]:
				n.Roles |= RoleHost // Direct Server Return: DIP -> VIP on the way out
			case tr&TransformDNAT != 0 && nb.vips[p.Hops[hi-1].Inner.Dst.Unmap()]:
				n.Roles |= RoleHost // VIP -> DIP after decapsulating
			case tr&(TransformSNAT|TransformDNAT) != 0:
				n.Roles |= RoleNAT
			case tr&TransformRoute != 0:
				n.Roles |= RoleRouter
			}
		}
	}
	for n, count := range probes {
		if count >= 2 {
			res.Nodes[n].Roles |= RoleProber
		}
	}
}

// firstAddressOf reports whether src is the first host address of a subnet that holds dst:
// x.y.z.1 for dst in x.y.z.0/24, or ...::1 for dst in the same IPv6 /64.
func firstAddressOf(src, dst netip.Addr) bool {
	src, dst = src.Unmap(), dst.Unmap()
	bitsLen := 24
	if src.Is6() {
		bitsLen = 64
	}
	if src.BitLen() != dst.BitLen() || src == dst {
		return false
	}
	ps, err1 := src.Prefix(bitsLen)
	pd, err2 := dst.Prefix(bitsLen)
	if err1 != nil || err2 != nil || ps != pd {
		return false
	}
	return src == ps.Addr().Next()
}
