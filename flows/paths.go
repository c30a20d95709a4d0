package flows

import (
	"fmt"
	"net"
	"net/netip"
	"slices"

	"github.com/stackflow/stackflow/flows/journey"
)

// addJourneys converts the hop tracker's result into the report's nodes, paths, NAT table and
// per-point clock offsets, numbering ids in the tracker's order (first appearance).
func (a *Analyzer) addJourneys(r *Report) {
	res := a.journeys
	if res == nil {
		return
	}
	for _, c := range res.Clocks {
		if c.Point < 0 || c.Point >= len(a.points) || c.Source == journey.ClockUnknown {
			continue
		}
		us := c.Offset.Microseconds()
		a.points[c.Point].ClockOffsetUs = &us
	}
	a.tunnelEndpoints = map[netip.Addr]bool{}
	for k := range a.tunnels {
		a.tunnelEndpoints[k.src] = true
		a.tunnelEndpoints[k.dst] = true
	}
	r.Nodes = slices.Grow(r.Nodes, len(res.Nodes))
	for i, n := range res.Nodes {
		r.Nodes = append(r.Nodes, a.nodeOf(i, n))
	}
	r.Paths = slices.Grow(r.Paths, len(res.Paths))
	r.NAT = slices.Grow(r.NAT, len(res.NAT))
	for i, p := range res.Paths {
		r.Paths = append(r.Paths, a.pathOf(i, p))
	}
	for _, m := range res.NAT {
		r.NAT = append(r.NAT, NATMapping{
			Node:    nodeID(m.Node),
			Kind:    natKind(m.Kind),
			Proto:   protoName(m.Proto),
			Inside:  m.Inside.String(),
			Outside: m.Outside.String(),
			First:   FormatTime(m.First),
			Last:    FormatTime(m.Last),
			Packets: int(m.Packets),
		})
	}
}

func natKind(k journey.NATKind) string {
	switch k {
	case journey.NATSource:
		return "snat"
	case journey.NATDest:
		return "dnat"
	default:
		return "vip_dip"
	}
}

func nodeID(i int) string {
	if i < 0 {
		return ""
	}
	return fmt.Sprintf("n%d", i+1)
}

func macString(m [6]byte) string { return net.HardwareAddr(m[:]).String() }

// nodeOf names a node: the user's names file first (address, then MAC), then a DNS answer seen
// in the capture, then its main role plus its first address.
func (a *Analyzer) nodeOf(i int, n journey.Node) Node {
	out := Node{ID: nodeID(i), Addresses: []string{}, MACs: []string{}, Roles: n.Roles.Names()}
	if out.Roles == nil {
		out.Roles = []string{}
	}
	for _, addr := range n.Addresses {
		out.Addresses = append(out.Addresses, addr.String())
	}
	for _, m := range n.MACs {
		out.MACs = append(out.MACs, macString(m))
	}
	if nt := a.opts.Names; nt != nil {
		for _, addr := range n.Addresses {
			if e, ok := nt.Addrs[addr]; ok {
				out.Name = e.Name
				out.Roles = mergeRoles(out.Roles, e.Roles)
				break
			}
		}
		if out.Name == "" {
			for _, m := range n.MACs {
				if e, ok := nt.MACs[m]; ok {
					out.Name = e.Name
					out.Roles = mergeRoles(out.Roles, e.Roles)
					break
				}
			}
		}
	}
	// A DNS name names an endpoint; a middlebox's addresses include the ones it translates
	// to, whose names are not its own.
	const middlebox = journey.RoleNAT | journey.RoleRouter | journey.RoleMux | journey.RoleHost
	if out.Name == "" && n.Roles&middlebox == 0 {
		for _, addr := range n.Addresses {
			if name, ok := a.dnsNames[addr]; ok {
				out.Name = name
				break
			}
		}
	}
	if out.Name == "" {
		role := mainRole(out.Roles)
		switch {
		case len(n.Addresses) > 0:
			addr := n.Addresses[0]
			// A Mux or host is best known by its provider address, the tunnel endpoint.
			if role == "mux" || role == "host" {
				for _, cand := range n.Addresses {
					if a.tunnelEndpoints[cand] {
						addr = cand
						break
					}
				}
			}
			out.Name = role + "(" + addr.String() + ")"
		case len(n.MACs) > 0:
			out.Name = role + "(" + macString(n.MACs[0]) + ")"
		default:
			out.Name = role
		}
	}
	return out
}

func mergeRoles(have, add []string) []string {
	for _, r := range add {
		found := false
		for _, h := range have {
			if h == r {
				found = true
			}
		}
		if !found {
			have = append(have, r)
		}
	}
	return have
}

func (a *Analyzer) pathOf(i int, p journey.Path) Path {
	out := Path{
		ID:        fmt.Sprintf("p%d", i+1),
		Direction: p.Direction.String(),
		FlowIDs:   []string{},
		DSR:       p.DSR,
		Packets:   int(p.Packets),
	}
	if p.Pair >= 0 {
		out.Pair = fmt.Sprintf("p%d", p.Pair+1)
	}
	for _, f := range p.Flows {
		if f != journey.NoFlow && f != 0 {
			out.FlowIDs = append(out.FlowIDs, flowID(f))
		}
	}
	for _, h := range p.Hops {
		hop := Hop{
			Node:      nodeID(h.Node),
			Point:     a.pointID(h.Point),
			Src:       h.Inner.Src.String(),
			Dst:       h.Inner.Dst.String(),
			Transform: h.Transform.String(),
			Packets:   int(h.Packets),
			Lost:      int(h.Lost),
		}
		if h.HasMAC {
			hop.SrcMAC, hop.DstMAC = macString(h.SrcMAC), macString(h.DstMAC)
		}
		if hasPorts(h.Inner.Proto) {
			sp, dp := h.Inner.SrcPort, h.Inner.DstPort
			hop.Sport, hop.Dport = &sp, &dp
		}
		if h.Depth > 0 {
			hop.Tunnel = h.Tunnel.Type.String()
			hop.OuterSrc = h.Tunnel.Outer.Src.String()
			hop.OuterDst = h.Tunnel.Outer.Dst.String()
			if h.Tunnel.HasVNI {
				v := h.Tunnel.VNI
				hop.VNI = &v
			}
		}
		if h.Latency.Valid {
			hop.LatencyUs = &Latency{Min: h.Latency.Min, Median: h.Latency.Median, P99: h.Latency.P99}
		}
		out.Hops = append(out.Hops, hop)
	}
	return out
}

// hasPorts reports whether a protocol's tuple carries ports (ICMP: the echo id, DESIGN.md 6.1).
func hasPorts(proto uint8) bool {
	switch proto {
	case 6, 17, 132, 1, 58:
		return true
	}
	return false
}

// namingRoles orders roles by how well each names a node: a Mux also speaks BGP, a host also
// probes, a router may speak BGP; the more specific role names it.
var namingRoles = []string{"mux", "host", "nat", "router", "prober", "dip", "vip", "server", "client", "bgp_speaker"}

func mainRole(roles []string) string {
	for _, r := range namingRoles {
		for _, have := range roles {
			if have == r {
				return r
			}
		}
	}
	return "node"
}
