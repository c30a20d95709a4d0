package journey

import (
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stackflow/stackflow/internal/testenv"
)

func epochNs(t *testing.T, s string) int64 {
	sec, frac, _ := strings.Cut(s, ".")
	a, err1 := strconv.ParseInt(sec, 10, 64)
	b, err2 := strconv.ParseInt((frac + "000000000")[:9], 10, 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("bad epoch %q", s)
	}
	return a*1e9 + b
}

// TestLabRecording runs the tracker over the recorded lab (Linux namespaces: client, SNAT,
// BIRD router, Mux with VXLAN, host with DNAT and DSR, portal; ten capture points on one
// kernel clock) and checks what it finds against the recording's own timeline.
func TestLabRecording(t *testing.T) {
	tl, dir := testenv.Lab(t)
	files := make([]string, len(tl.CapturePoints))
	point := map[string]int{}
	for i, cp := range tl.CapturePoints {
		files[i] = cp.File
		point[cp.ID] = i
	}
	pkts := readPointsIn(t, dir, files...)
	res := track(pkts, Config{})

	ip := func(s string) netip.Addr { return netip.MustParseAddr(s) }
	nodeOf := func(a string) *Node {
		n := nodeWithAddr(res, a)
		if n < 0 {
			t.Fatalf("no node holds %s", a)
		}
		return &res.Nodes[n]
	}

	t.Run("roles", func(t *testing.T) {
		// Why: every role the lab built must be recognised from behaviour alone.
		want := map[string]Roles{
			tl.Client:             RoleClient,
			tl.NAT.Public:         RoleNAT,
			tl.VXLAN.OuterSrc:     RoleMux | RoleBGPSpeaker,
			tl.VXLAN.OuterDst:     RoleHost,
			tl.DIP:                RoleDIP | RoleServer,
			tl.VIP:                RoleVIP,
			tl.Prober.Src:         RoleProber,
			speaker(tl, "router"): RoleRouter | RoleBGPSpeaker,
		}
		for addr, r := range want {
			if got := nodeOf(addr).Roles; got&r != r {
				t.Errorf("%s: roles %v, want at least %v", addr, got.Names(), r.Names())
			}
		}
		if nodeOf(tl.Prober.Src) != nodeOf(tl.VXLAN.OuterDst) {
			t.Errorf("the prober (%s on %s) and the host's PA are different nodes", tl.Prober.Src, tl.Prober.Node)
		}
		if nodeOf(tl.VIP).Roles != RoleVIP {
			t.Errorf("VIP node roles %v, want vip only", nodeOf(tl.VIP).Roles.Names())
		}
	})

	t.Run("node purity", func(t *testing.T) {
		// Why: a node must never merge MACs of two different lab machines.
		owner := map[[6]byte]string{}
		for _, n := range tl.Nodes {
			for _, ifc := range n.Interfaces {
				if hw, err := net.ParseMAC(ifc.MAC); err == nil && len(hw) == 6 {
					owner[[6]byte(hw)] = n.Name
				}
			}
		}
		for i, n := range res.Nodes {
			machines := map[string]bool{}
			for _, m := range n.MACs {
				if o, ok := owner[m]; ok {
					machines[o] = true
				}
			}
			if len(machines) > 1 {
				t.Errorf("node %d mixes machines %v", i, machines)
			}
		}
	})

	t.Run("one node per machine", func(t *testing.T) {
		// Why: every interface of one lab machine that the captures show belongs to one node
		// (the host's PA, VTEP and tenant arms; the NAT's two arms; the router's two arms).
		seen := map[[6]byte]bool{}
		for i := range pkts {
			if pkts[i].HasMAC {
				seen[pkts[i].SrcMAC], seen[pkts[i].DstMAC] = true, true
			}
		}
		for _, n := range tl.Nodes {
			nodes := map[int]bool{}
			for _, ifc := range n.Interfaces {
				if hw, err := net.ParseMAC(ifc.MAC); err == nil && len(hw) == 6 && seen[[6]byte(hw)] {
					nodes[nodeOfMAC(res, [6]byte(hw))] = true
				}
			}
			// A decapsulated frame's source MAC is whatever the encapsulator wrote (Linux: its
			// VXLAN device), and a bridge's own frames cross no hop: such MACs are on no node.
			delete(nodes, -1)
			if len(nodes) > 1 {
				t.Errorf("machine %s is on nodes %v", n.Name, nodes)
			}
		}
		// Why: one NAT entry per mapping, not per direction (DESIGN.md 6.1).
		type key struct {
			proto           uint8
			inside, outside netip.AddrPort
		}
		entries := map[key]int{}
		for _, e := range res.NAT {
			if entries[key{e.Proto, e.Inside, e.Outside}]++; entries[key{e.Proto, e.Inside, e.Outside}] > 1 {
				t.Errorf("%v %v -> %v listed more than once", e.Kind, e.Inside, e.Outside)
			}
		}
	})

	withdrawnFrom := epochNs(t, tl.Phases["withdrawn"].FromEpoch)
	withdrawnTo := epochNs(t, tl.Phases["withdrawn"].ToEpoch)
	vip := ip(tl.VIP)
	var lost uint64
	for pi := range res.Paths {
		p := &res.Paths[pi]
		first, last := &p.Hops[0], &p.Hops[len(p.Hops)-1]
		if first.Point != point["clientvm-eth0"] || first.Inner.Dst != vip || p.Direction != Forward {
			continue
		}
		for _, h := range p.Hops {
			lost += h.Lost
			if h.Lost > 0 && h.Point != point["bgpvm-tr0"] {
				t.Errorf("path %d loses %d at %s; only the router (no route while withdrawn) drops", pi, h.Lost, tl.CapturePoints[h.Point].ID)
			}
		}
		inWithdrawal := p.First >= withdrawnFrom && p.First < withdrawnTo
		if p.EndsEarly != inWithdrawal {
			t.Errorf("path %d starting at %v: ends early %v, in withdrawal %v", pi, time.Unix(0, p.First).UTC(), p.EndsEarly, inWithdrawal)
		}
		if inWithdrawal {
			continue
		}
		// Why: the forward data path of the design document, hop by hop.
		want := map[string]Transform{"natvm-out0": TransformSNAT, "bgpvm-sdn0": TransformRoute,
			"hostvm-vxlan4114": TransformDecap, "hostvm-tn0": TransformDNAT}
		seen := map[string]bool{}
		for _, h := range p.Hops {
			id := tl.CapturePoints[h.Point].ID
			if w, ok := want[id]; ok && h.Transform == w {
				seen[id] = true
			}
			if h.Transform == TransformEncap && (id != "muxvm-eth0" || h.Tunnel.VNI != tl.VXLAN.VNI ||
				h.Tunnel.Outer.Src != ip(tl.VXLAN.OuterSrc) || h.Tunnel.Outer.Dst != ip(tl.VXLAN.OuterDst)) {
				t.Errorf("path %d: encap at %s with %+v", pi, id, h.Tunnel)
			}
		}
		if len(seen) != len(want) || last.Point != point["portalvm-eth0"] || last.Inner.Dst != ip(tl.DIP) {
			t.Errorf("path %d %v: transforms seen %v, ends at %s", pi, pathSummary(p), seen, tl.CapturePoints[last.Point].ID)
		}
		// Why: replies are Direct Server Return and never cross the Mux.
		if p.Pair < 0 {
			t.Errorf("path %d has no return path", pi)
			continue
		}
		r := &res.Paths[p.Pair]
		if !r.DSR {
			t.Errorf("return path %d of %d not DSR: %v", p.Pair, pi, pathSummary(r))
		}
		for _, h := range r.Hops {
			if tl.CapturePoints[h.Point].ID == tl.DSR.NeverCrosses {
				t.Errorf("return path %d crosses %s", p.Pair, tl.DSR.NeverCrosses)
			}
		}
	}
	if lost < 3 {
		t.Errorf("%d packets lost; the three withdrawn-phase exchanges must each lose at least one", lost)
	}

	t.Run("nat", func(t *testing.T) {
		// Why: SNAT entries use the NAT's public address and port range; vip_dip entries follow
		// the host's DNAT rules.
		svc := map[string]string{}
		for _, s := range tl.Services {
			svc[s.VIP] = s.DIP
		}
		var snat, vipdip int
		for _, e := range res.NAT {
			switch e.Kind {
			case NATSource:
				snat++
				port := int(e.Outside.Port())
				if e.Inside.Addr() != ip(tl.Client) || e.Outside.Addr() != ip(tl.NAT.Public) ||
					(e.Proto != 1 && (port < tl.NAT.PortRange[0] || port > tl.NAT.PortRange[1])) {
					t.Errorf("snat entry %v -> %v", e.Inside, e.Outside)
				}
			case NATVIPDIP:
				vipdip++
				if e.Proto != 1 && svc[e.Outside.String()] != e.Inside.String() {
					t.Errorf("vip_dip %v -> %v, services say %v", e.Inside, e.Outside, svc[e.Outside.String()])
				}
				if e.Inside.Addr() != ip(tl.DIP) || e.Outside.Addr() != vip {
					t.Errorf("vip_dip %v -> %v", e.Inside, e.Outside)
				}
			default:
				t.Errorf("unexpected %v entry %v -> %v", e.Kind, e.Inside, e.Outside)
			}
		}
		if snat == 0 || vipdip == 0 {
			t.Errorf("%d snat and %d vip_dip entries", snat, vipdip)
		}
	})

	t.Run("clocks", func(t *testing.T) {
		// Why: all points share one kernel clock; estimates must stay within microseconds.
		for _, c := range res.Clocks {
			if c.Offset < -10*time.Microsecond || c.Offset > 10*time.Microsecond || c.Source == ClockUnknown {
				t.Errorf("%s: %+v", tl.CapturePoints[c.Point].ID, c)
			}
		}
	})
}

func speaker(tl testenv.LabTimeline, role string) string {
	for _, s := range tl.BGP.Speakers {
		if s.Role == role {
			return s.Address
		}
	}
	return ""
}
