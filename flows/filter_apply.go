package flows

import (
	"maps"
	"net/netip"
	"slices"
)

// fltView is what a compiled predicate looks at: exactly one of flow and path is set.
type fltView struct {
	flow *fltFlow
	path *fltPath
}

// fltFlow is a flow with its fields parsed once per Apply, so predicates compare values.
type fltFlow struct {
	f            *Flow
	i            int // index in Report.Flows
	src, dst     netip.Addr
	sport, dport int   // -1 when absent
	vni          int64 // -1 when absent
	carriers     []netip.Addr
	tunnels      uint8      // filterTunnels bits: tunnels the flow is, or is carried by
	flags        uint8      // filterFlags bits, TCP only
	roles        uint16     // filterRoles bits of the nodes at its endpoints and its carriers'
	outer        []*fltFlow // flows that carried it: its tunnel_parent and flows listing it as a child
}

// fltHop is a hop with its fields parsed once per Apply.
type fltHop struct {
	h                    *Hop
	src, dst, osrc, odst netip.Addr
	sport, dport         int
	vni                  int64
	tunnels              uint8
	nodeAddrs            []netip.Addr // addresses of the node that made the hop
	roles                uint16       // roles of that node and of the nodes at the hop's addresses
}

// fltPath is a path with its hops and the flows it lists.
type fltPath struct {
	p     *Path
	hops  []fltHop
	flows []*fltFlow
	lost  bool
}

// filterIndex holds the parsed report a filter is applied to.
type filterIndex struct {
	r          *Report
	flows      []fltFlow
	paths      []fltPath
	flowByID   map[string]*fltFlow
	nodeByID   map[string]int
	nodeAddrs  [][]netip.Addr
	nodesAt    map[netip.Addr][]int
	roleAt     map[netip.Addr]uint16
	tunnelsFor map[fltPair][]fltTunnel
}

// fltPair is an unordered pair of addresses (a <= b).
type fltPair struct{ a, b netip.Addr }

func fltPairOf(x, y netip.Addr) fltPair {
	if y.Less(x) {
		x, y = y, x
	}
	return fltPair{x, y}
}

// fltTunnel is one report tunnel between a pair of outer addresses.
type fltTunnel struct {
	bit uint8
	vni int64 // -1 when the tunnel has none
}

// fltAddr parses a report address; an unparsable one is the zero Addr, which no filter
// address equals and no prefix contains.
func fltAddr(s string) netip.Addr {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

func fltPort(p *uint16) int {
	if p == nil {
		return -1
	}
	return int(*p)
}

func fltVNI(v *uint32) int64 {
	if v == nil {
		return -1
	}
	return int64(*v)
}

func fltRoles(names []string) uint16 {
	var m uint16
	for _, n := range names {
		if i := slices.Index(filterRoles, n); i >= 0 {
			m |= 1 << i
		}
	}
	return m
}

func fltTunnelBit(name string) uint8 {
	if i := slices.Index(filterTunnels, name); i >= 0 {
		return 1 << i
	}
	return 0
}

// fltTunnelProtoOK reports whether a flow of this protocol can be the outer flow of that tunnel type.
func fltTunnelProtoOK(bit uint8, proto string) bool {
	if bit&(fltTunnelBit("vxlan")|fltTunnelBit("geneve")) != 0 {
		return proto == "udp"
	}
	return proto == "gre"
}

// fltTunnelByPort guesses a tunnel type from an outer flow's ports or protocol, for reports whose
// tunnel list does not name the pair.
func fltTunnelByPort(c *fltFlow, childHasVNI bool) uint8 {
	switch c.f.Proto {
	case "udp":
		for _, p := range [...]int{c.dport, c.sport} {
			switch p {
			case 4789, 8472:
				return fltTunnelBit("vxlan")
			case 6081:
				return fltTunnelBit("geneve")
			}
		}
	case "gre":
		if childHasVNI {
			return fltTunnelBit("nvgre")
		}
		return fltTunnelBit("gre")
	}
	return 0
}

// fltMaxNesting bounds how many tunnel levels a flow's carriers are looked for across.
const fltMaxNesting = 8

func buildFilterIndex(r *Report) *filterIndex {
	ix := &filterIndex{
		r:          r,
		flows:      make([]fltFlow, len(r.Flows)),
		paths:      make([]fltPath, len(r.Paths)),
		flowByID:   make(map[string]*fltFlow, len(r.Flows)),
		nodeByID:   make(map[string]int, len(r.Nodes)),
		nodeAddrs:  make([][]netip.Addr, len(r.Nodes)),
		nodesAt:    map[netip.Addr][]int{},
		roleAt:     map[netip.Addr]uint16{},
		tunnelsFor: map[fltPair][]fltTunnel{},
	}
	for i := range r.Nodes {
		n := &r.Nodes[i]
		ix.nodeByID[n.ID] = i
		m := fltRoles(n.Roles)
		for _, s := range n.Addresses {
			a := fltAddr(s)
			if !a.IsValid() {
				continue
			}
			ix.nodeAddrs[i] = append(ix.nodeAddrs[i], a)
			ix.nodesAt[a] = append(ix.nodesAt[a], i)
			ix.roleAt[a] |= m
		}
	}
	for i := range r.Tunnels {
		t := &r.Tunnels[i]
		k := fltPairOf(fltAddr(t.OuterSrc), fltAddr(t.OuterDst))
		ix.tunnelsFor[k] = append(ix.tunnelsFor[k], fltTunnel{bit: fltTunnelBit(t.Type), vni: fltVNI(t.VNI)})
	}
	for i := range r.Flows {
		f := &r.Flows[i]
		fv := &ix.flows[i]
		*fv = fltFlow{f: f, i: i, src: fltAddr(f.Src), dst: fltAddr(f.Dst), sport: fltPort(f.Sport),
			dport: fltPort(f.Dport), vni: fltVNI(f.VNI)}
		if f.Proto == "tcp" {
			fv.flags = fltHistoryFlags(f.History)
		}
		if _, dup := ix.flowByID[f.ID]; !dup {
			ix.flowByID[f.ID] = fv
		}
	}
	for i := range ix.flows {
		fv := &ix.flows[i]
		if c, ok := ix.flowByID[fv.f.TunnelParent]; ok && c != fv {
			fv.outer = append(fv.outer, c)
		}
		for _, id := range fv.f.TunnelFlows {
			if x, ok := ix.flowByID[id]; ok && x != fv && !slices.Contains(x.outer, fv) {
				x.outer = append(x.outer, fv)
			}
		}
	}
	for i := range ix.flows {
		ix.linkFlow(&ix.flows[i])
	}
	for i := range r.Paths {
		ix.buildPath(&ix.paths[i], &r.Paths[i])
	}
	return ix
}

// linkFlow fills a flow's tunnel types, carriers and roles. A flow is a tunnel of type T when
// the report lists a T tunnel between its endpoints (and its protocol fits); it is carried by T
// when a flow that carried it (tunnel_parent, or a flow listing it in tunnel_children), or one
// that carried that one, up to fltMaxNesting levels, is the outer flow of a T tunnel with its VNI.
func (ix *filterIndex) linkFlow(fv *fltFlow) {
	for _, t := range ix.tunnelsFor[fltPairOf(fv.src, fv.dst)] {
		if fltTunnelProtoOK(t.bit, fv.f.Proto) {
			fv.tunnels |= t.bit
		}
	}
	if fv.tunnels == 0 && len(fv.f.TunnelFlows) > 0 {
		fv.tunnels = fltTunnelByPort(fv, false)
	}
	seen := []*fltFlow{fv}
	level := []*fltFlow{fv}
	for depth := 0; len(level) > 0 && depth < fltMaxNesting; depth++ {
		var next []*fltFlow
		for _, child := range level {
			for _, c := range child.outer {
				if slices.Contains(seen, c) {
					continue
				}
				seen = append(seen, c)
				next = append(next, c)
				fv.carriers = append(fv.carriers, c.src, c.dst)
				var bits uint8
				for _, t := range ix.tunnelsFor[fltPairOf(c.src, c.dst)] {
					if fltTunnelProtoOK(t.bit, c.f.Proto) && (t.vni < 0 || child.vni < 0 || t.vni == child.vni) {
						bits |= t.bit
					}
				}
				if bits == 0 {
					bits = fltTunnelByPort(c, child.vni >= 0)
				}
				fv.tunnels |= bits
			}
		}
		level = next
	}
	fv.roles = ix.roleAt[fv.src] | ix.roleAt[fv.dst]
	for _, a := range fv.carriers {
		fv.roles |= ix.roleAt[a]
	}
}

func (ix *filterIndex) buildPath(pv *fltPath, p *Path) {
	pv.p = p
	pv.hops = make([]fltHop, len(p.Hops))
	for i := range p.Hops {
		h := &p.Hops[i]
		hv := fltHop{h: h, src: fltAddr(h.Src), dst: fltAddr(h.Dst), osrc: fltAddr(h.OuterSrc),
			odst: fltAddr(h.OuterDst), sport: fltPort(h.Sport), dport: fltPort(h.Dport),
			vni: fltVNI(h.VNI), tunnels: fltTunnelBit(h.Tunnel)}
		if n, ok := ix.nodeByID[h.Node]; ok {
			hv.nodeAddrs = ix.nodeAddrs[n]
			hv.roles = fltRoles(ix.r.Nodes[n].Roles)
		}
		for _, a := range [...]netip.Addr{hv.src, hv.dst, hv.osrc, hv.odst} {
			hv.roles |= ix.roleAt[a]
		}
		if h.Lost > 0 {
			pv.lost = true
		}
		pv.hops[i] = hv
	}
	for _, id := range p.FlowIDs {
		if fv, ok := ix.flowByID[id]; ok {
			pv.flows = append(pv.flows, fv)
		}
	}
}

// Apply returns a copy of r narrowed to what the filter selects; r is never modified, and the
// copy shares no slice or map with r (pointer-valued numbers, such as ports, are shared and must
// be treated as read-only). Paths are kept when the expression matches them; flows when it
// matches them, when a kept path lists them, or when they carried a kept flow (its
// tunnel_parent, the flows listing it in tunnel_children, and so on outwards). Those additions keep the report self-contained and make filtering
// idempotent: every object kept is judged on the same context again. Then:
//   - nodes: those that made a hop of a kept path, or own an address of a kept flow or of a
//     kept path's hop (inner and outer), a kept NAT mapping's node and the nodes of kept BGP
//     sessions' peers;
//   - nat: mappings whose inside or outside ip:port is an endpoint of a kept flow or hop;
//   - tunnels: those with the outer addresses and VNI of a kept hop, and those between the
//     endpoints of a kept flow that is a tunnel (the outer flow of tunnelled traffic);
//   - bgp.sessions: those whose TCP connection is a kept flow, or that sent a kept route;
//     bgp.routes: those of a session kept by its flow, and those whose prefix contains an
//     address of a kept flow or hop (a VIP's /32 for traffic to it);
//   - findings: those whose evidence names a kept flow or path, or an address kept above or of
//     a kept BGP session; a finding with no such evidence is dropped, since nothing ties it to
//     the selection (the unfiltered report still has it).
//
// Ids in findings may name flows the filter dropped. capture, protocols and bgp.messages
// describe the input and are copied unchanged. The copy's Filter field records the expression;
// applying a second filter records both, joined with and.
func (f *Filter) Apply(r *Report) *Report {
	if r == nil {
		return nil
	}
	ix := buildFilterIndex(r)
	keepFlow := make([]bool, len(ix.flows))
	for i := range ix.flows {
		keepFlow[i] = f.match(&fltView{flow: &ix.flows[i]})
	}
	keepPath := make([]bool, len(ix.paths))
	for i := range ix.paths {
		if keepPath[i] = f.match(&fltView{path: &ix.paths[i]}); keepPath[i] {
			for _, fv := range ix.paths[i].flows {
				keepFlow[fv.i] = true
			}
		}
	}
	// Every flow that carried a kept flow is kept too, transitively: marking before queueing
	// visits each flow once, so a loop in a damaged report ends.
	var queue []*fltFlow
	for i := range ix.flows {
		if keepFlow[i] {
			queue = append(queue, &ix.flows[i])
		}
	}
	for len(queue) > 0 {
		fv := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		for _, c := range fv.outer {
			if !keepFlow[c.i] {
				keepFlow[c.i] = true
				queue = append(queue, c)
			}
		}
	}
	k := ix.related(keepFlow, keepPath)

	out := &Report{
		Schema:    r.Schema,
		Filter:    f.combine(r.Filter),
		Capture:   fltCloneCapture(r.Capture),
		Protocols: maps.Clone(r.Protocols),
		Tunnels:   fltKeepClone(r.Tunnels, k.tunnels, func(t Tunnel) Tunnel { return t }),
		BGP: BGP{
			Messages: r.BGP.Messages,
			Sessions: fltKeepClone(r.BGP.Sessions, k.sessions, fltCloneSession),
			Routes:   fltKeepClone(r.BGP.Routes, k.routes, fltCloneRoute),
		},
		Flows:    fltKeepClone(r.Flows, keepFlow, fltCloneFlow),
		Nodes:    fltKeepClone(r.Nodes, k.nodes, fltCloneNode),
		Paths:    fltKeepClone(r.Paths, keepPath, fltClonePath),
		NAT:      fltKeepClone(r.NAT, k.nat, func(m NATMapping) NATMapping { return m }),
		Findings: fltKeepClone(r.Findings, k.findings, fltCloneFinding),
	}
	return out
}

// combine records this filter after one already applied to the input.
func (f *Filter) combine(prev string) string {
	s := f.String()
	if prev == "" || prev == s {
		return s
	}
	return "(" + prev + ") and (" + s + ")"
}

// fltKept says which entries of each derived list survive.
type fltKept struct {
	nodes, nat, tunnels, sessions, routes, findings []bool
}

// related derives the kept nodes, NAT mappings, tunnels, BGP sessions and routes, and findings
// from the kept flows and paths (see Apply).
func (ix *filterIndex) related(keepFlow, keepPath []bool) fltKept {
	r := ix.r
	n := 0
	for _, k := range keepFlow {
		if k {
			n++
		}
	}
	addrs := make(map[netip.Addr]bool, 2*n)
	ends := make(map[netip.AddrPort]bool, 2*n)
	outer := map[fltPair][]int64{} // VNIs of kept tunnelled traffic per outer pair; -1 any
	conns := map[[2]netip.AddrPort]bool{}
	k := fltKept{
		nodes: make([]bool, len(r.Nodes)), nat: make([]bool, len(r.NAT)),
		tunnels: make([]bool, len(r.Tunnels)), sessions: make([]bool, len(r.BGP.Sessions)),
		routes: make([]bool, len(r.BGP.Routes)), findings: make([]bool, len(r.Findings)),
	}
	addEnd := func(a netip.Addr, port int) {
		if a.IsValid() && port >= 0 {
			ends[netip.AddrPortFrom(a, uint16(port))] = true
		}
	}
	for i := range ix.flows {
		if !keepFlow[i] {
			continue
		}
		fv := &ix.flows[i]
		addrs[fv.src], addrs[fv.dst] = true, true
		for _, a := range fv.carriers {
			addrs[a] = true
		}
		addEnd(fv.src, fv.sport)
		addEnd(fv.dst, fv.dport)
		if fv.tunnels != 0 {
			p := fltPairOf(fv.src, fv.dst)
			outer[p] = append(outer[p], -1)
		}
		if fv.f.Proto == "tcp" && fv.sport >= 0 && fv.dport >= 0 {
			conns[fltConnKey(netip.AddrPortFrom(fv.src, uint16(fv.sport)), netip.AddrPortFrom(fv.dst, uint16(fv.dport)))] = true
		}
	}
	keptPathIDs := map[string]bool{}
	for i := range ix.paths {
		if !keepPath[i] {
			continue
		}
		pv := &ix.paths[i]
		keptPathIDs[pv.p.ID] = true
		for j := range pv.hops {
			hv := &pv.hops[j]
			for _, a := range [...]netip.Addr{hv.src, hv.dst, hv.osrc, hv.odst} {
				if a.IsValid() {
					addrs[a] = true
				}
			}
			addEnd(hv.src, hv.sport)
			addEnd(hv.dst, hv.dport)
			if hv.osrc.IsValid() || hv.odst.IsValid() {
				p := fltPairOf(hv.osrc, hv.odst)
				outer[p] = append(outer[p], hv.vni)
			}
			if n, ok := ix.nodeByID[hv.h.Node]; ok {
				k.nodes[n] = true
			}
		}
	}
	delete(addrs, netip.Addr{})

	for i, m := range r.NAT {
		if fltEndpointKept(m.Inside, ends, addrs) || fltEndpointKept(m.Outside, ends, addrs) {
			k.nat[i] = true
			if n, ok := ix.nodeByID[m.Node]; ok {
				k.nodes[n] = true
			}
		}
	}
	for i, t := range r.Tunnels {
		vni := fltVNI(t.VNI)
		for _, w := range outer[fltPairOf(fltAddr(t.OuterSrc), fltAddr(t.OuterDst))] {
			if w < 0 || vni < 0 || w == vni {
				k.tunnels[i] = true
				break
			}
		}
	}

	byFlow := make(map[string]bool)
	for _, s := range r.BGP.Sessions {
		a := netip.AddrPortFrom(fltAddr(s.Peers[0]), s.Ports[0])
		b := netip.AddrPortFrom(fltAddr(s.Peers[1]), s.Ports[1])
		if conns[fltConnKey(a, b)] {
			byFlow[s.ID] = true
		}
	}
	sorted := slices.SortedFunc(maps.Keys(addrs), netip.Addr.Compare)
	routeSessions := map[string]bool{}
	for i, rt := range r.BGP.Routes {
		if byFlow[rt.Session] || fltPrefixHolds(rt.Prefix, sorted) {
			k.routes[i] = true
			routeSessions[rt.Session] = true
		}
	}
	peers := map[netip.Addr]bool{}
	for i, s := range r.BGP.Sessions {
		if byFlow[s.ID] || routeSessions[s.ID] {
			k.sessions[i] = true
			for _, p := range s.Peers {
				if a := fltAddr(p); a.IsValid() {
					peers[a] = true
				}
			}
		}
	}

	for a := range addrs {
		for _, n := range ix.nodesAt[a] {
			k.nodes[n] = true
		}
	}
	for a := range peers {
		for _, n := range ix.nodesAt[a] {
			k.nodes[n] = true
		}
	}
	for i, fd := range r.Findings {
		ev := fd.Evidence
		k.findings[i] = slices.ContainsFunc(ev.FlowIDs, func(id string) bool {
			fv, ok := ix.flowByID[id]
			return ok && keepFlow[fv.i]
		}) ||
			slices.ContainsFunc(ev.PathIDs, func(id string) bool { return keptPathIDs[id] }) ||
			slices.ContainsFunc(ev.Addresses, func(s string) bool {
				a := fltAddr(s)
				return addrs[a] || peers[a]
			})
	}
	return k
}

// fltConnKey is a TCP connection's endpoints in a canonical order.
func fltConnKey(a, b netip.AddrPort) [2]netip.AddrPort {
	if b.Compare(a) < 0 {
		a, b = b, a
	}
	return [2]netip.AddrPort{a, b}
}

// fltEndpointKept reports whether a NAT endpoint ("ip:port", or a bare address) was kept.
func fltEndpointKept(s string, ends map[netip.AddrPort]bool, addrs map[netip.Addr]bool) bool {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ends[netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())]
	}
	a := fltAddr(s)
	return a.IsValid() && addrs[a]
}

// fltPrefixHolds reports whether a route prefix contains any of the sorted addresses. The
// addresses a prefix contains are contiguous in sorted order and start at or after its first
// address, so one binary search decides.
func fltPrefixHolds(prefix string, sorted []netip.Addr) bool {
	p, err := netip.ParsePrefix(prefix)
	if err != nil {
		return false
	}
	p = p.Masked()
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	i, _ := slices.BinarySearchFunc(sorted, p.Addr(), netip.Addr.Compare)
	return i < len(sorted) && p.Contains(sorted[i])
}

// fltKeepClone returns the kept entries of in, each cloned; never nil, so JSON shows [].
func fltKeepClone[T any](in []T, keep []bool, clone func(T) T) []T {
	out := make([]T, 0, len(in))
	for i := range in {
		if keep[i] {
			out = append(out, clone(in[i]))
		}
	}
	return out
}

func fltCloneCapture(c Capture) Capture {
	c.Inputs = slices.Clone(c.Inputs)
	c.Points = slices.Clone(c.Points)
	c.Problems = slices.Clone(c.Problems)
	return c
}

func fltCloneFlow(f Flow) Flow {
	f.TunnelFlows = slices.Clone(f.TunnelFlows)
	return f
}

func fltCloneNode(n Node) Node {
	n.Addresses = slices.Clone(n.Addresses)
	n.MACs = slices.Clone(n.MACs)
	n.Roles = slices.Clone(n.Roles)
	return n
}

func fltClonePath(p Path) Path {
	p.FlowIDs = slices.Clone(p.FlowIDs)
	p.Hops = slices.Clone(p.Hops)
	return p
}

func fltCloneSession(s BGPSession) BGPSession {
	s.Points = slices.Clone(s.Points)
	s.Capabilities = [2][]string{slices.Clone(s.Capabilities[0]), slices.Clone(s.Capabilities[1])}
	return s
}

func fltCloneRoute(r BGPRoute) BGPRoute {
	if r.ASPath != nil {
		as := make([]any, len(r.ASPath))
		for i, x := range r.ASPath {
			if set, ok := x.([]uint32); ok {
				x = slices.Clone(set)
			}
			as[i] = x
		}
		r.ASPath = as
	}
	r.Communities = slices.Clone(r.Communities)
	return r
}

func fltCloneFinding(f Finding) Finding {
	f.Evidence = Evidence{
		FlowIDs:   slices.Clone(f.Evidence.FlowIDs),
		PathIDs:   slices.Clone(f.Evidence.PathIDs),
		Packets:   slices.Clone(f.Evidence.Packets),
		Addresses: slices.Clone(f.Evidence.Addresses),
	}
	return f
}
