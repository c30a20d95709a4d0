package flows

import (
	"strings"
	"testing"
)

func u16(v uint16) *uint16 { return &v }
func u32(v uint32) *uint32 { return &v }

// kinds lists the kinds of findings, in order.
func kinds(fs []Finding) string {
	var k []string
	for _, f := range fs {
		k = append(k, f.Severity+":"+f.Kind)
	}
	return strings.Join(k, ",")
}

// TestFindingRules runs each report-level rule on a small hand-built report. Each case says why
// it exists.
func TestFindingRules(t *testing.T) {
	a := &Analyzer{}
	fwd := Path{ID: "p1", Direction: "forward", FlowIDs: []string{"f1", "f2"}, Packets: 10, Hops: []Hop{
		{Node: "n1", Point: "client-nat", Transform: "none", Packets: 10},
		{Node: "n2", Point: "nat-bgp", Transform: "snat", Packets: 10, Lost: 4},
		{Node: "n3", Point: "bgp-mux", Transform: "encap", Packets: 6, Tunnel: "vxlan"},
	}}
	cases := []struct {
		name string
		why  string
		rule func(*Report) []Finding
		rep  Report
		want string
	}{
		{"hop loss", "loss at one hop is a warning; all lost is an error", findHopLoss,
			Report{Paths: []Path{fwd, {ID: "p2", Direction: "return", Hops: []Hop{{Point: "x", Packets: 3, Lost: 3}}}}},
			"warning:hop_loss,error:hop_loss"},
		{"encap mtu", "loss right before an encapsulating hop points at the underlay MTU", a.findEncapMTU,
			Report{Paths: []Path{fwd}}, "warning:encap_mtu"},
		{"unanswered syn", "an S0 flow on a path whose client side was answered (DSR: the Mux sees one way) is not unanswered",
			findUnansweredSYN,
			Report{Flows: []Flow{
				{ID: "f1", Proto: "tcp", State: "SF", Point: "client-nat", Dst: "192.168.102.4", Dport: u16(443)},
				{ID: "f2", Proto: "tcp", State: "S0", Point: "bgp-mux", Dst: "192.168.102.4", Dport: u16(443)},
				{ID: "f3", Proto: "tcp", State: "S0", Point: "client-nat", Dst: "192.168.102.4", Dport: u16(80)},
				{ID: "f4", Proto: "tcp", State: "S0", Point: "nat-bgp", Dst: "192.168.102.4", Dport: u16(80)},
			}, Paths: []Path{fwd}},
			"warning:unanswered_syn"},
		{"retransmissions", "one finding for all flows, worst first", findRetransmissions,
			Report{Flows: []Flow{{ID: "f1", Retransmits: 2, Packets: 10}, {ID: "f2", Retransmits: 5, Packets: 20}, {ID: "f3"}}},
			"warning:retransmissions"},
		{"vni range windows", "VNI 100 is outside Windows SDN's range on a capture with NVGRE", a.findVNIRange,
			Report{Tunnels: []Tunnel{{Type: "nvgre", VNI: u32(100), OuterSrc: "a", OuterDst: "b"}, {Type: "vxlan", VNI: u32(4114)}}},
			"warning:vni_out_of_range"},
		{"vni range linux", "small VNIs are normal outside Windows SDN", a.findVNIRange,
			Report{Tunnels: []Tunnel{{Type: "vxlan", VNI: u32(1)}}}, ""},
		{"probes", "refused and unanswered probes from the prober to a DIP fail; answered ones don't", findProbes,
			Report{Nodes: []Node{{ID: "n1", Roles: []string{"host", "prober"}, Addresses: []string{"10.0.0.1"}}, {ID: "n2", Roles: []string{"dip"}, Addresses: []string{"10.0.0.4"}}},
				Flows: []Flow{
					{ID: "f1", Proto: "tcp", Src: "10.0.0.1", Dst: "10.0.0.4", Dport: u16(80), State: "SF"},
					{ID: "f2", Proto: "tcp", Src: "10.0.0.1", Dst: "10.0.0.4", Dport: u16(80), State: "REJ"},
				}},
			"error:probe_failing"},
		{"nat reuse at once", "one outside endpoint for two insides at the same time is an error", findNATReuse,
			Report{NAT: []NATMapping{
				{Node: "n2", Kind: "snat", Proto: "tcp", Inside: "192.168.200.10:1000", Outside: "192.168.201.2:40000", First: "2024-01-01T00:00:01.000000000Z", Last: "2024-01-01T00:00:05.000000000Z"},
				{Node: "n2", Kind: "snat", Proto: "tcp", Inside: "192.168.200.11:1000", Outside: "192.168.201.2:40000", First: "2024-01-01T00:00:02.000000000Z", Last: "2024-01-01T00:00:03.000000000Z"},
			}},
			"error:nat_port_reuse"},
		{"nat reuse later", "reusing a port after the first mapping ended is only a warning", findNATReuse,
			Report{NAT: []NATMapping{
				{Node: "n2", Kind: "snat", Proto: "tcp", Inside: "192.168.200.10:1000", Outside: "192.168.201.2:40000", First: "2024-01-01T00:00:01.000000000Z", Last: "2024-01-01T00:00:02.000000000Z"},
				{Node: "n2", Kind: "snat", Proto: "tcp", Inside: "192.168.200.11:1000", Outside: "192.168.201.2:40000", First: "2024-01-01T00:00:09.000000000Z", Last: "2024-01-01T00:00:10.000000000Z"},
			}},
			"warning:nat_port_reuse"},
		{"asymmetric", "a return path through a router the forward path did not cross", findAsymmetric,
			Report{Nodes: []Node{{ID: "r1", Roles: []string{"router"}}, {ID: "r2", Roles: []string{"router"}}},
				Paths: []Path{
					{ID: "p1", Direction: "forward", FlowIDs: []string{"f1", "f2"}, Hops: []Hop{{Node: "c"}, {Node: "r1"}}},
					{ID: "p2", Direction: "return", FlowIDs: []string{"f3", "f1"}, Hops: []Hop{{Node: "s"}, {Node: "r2"}}},
				}},
			"info:asymmetric_route"},
		{"ecmp and silent mux", "two Muxes announce the VIP; only one of them encapsulates", a.findMuxes,
			Report{BGP: BGP{Routes: []BGPRoute{
				{Peer: "192.168.100.4", Prefix: "192.168.102.4/32", Event: "announce"},
				{Peer: "192.168.100.5", Prefix: "192.168.102.4/32", Event: "announce"},
			}},
				Nodes: []Node{{ID: "n1", Addresses: []string{"192.168.100.4", "192.168.100.68"}}, {ID: "n2", Addresses: []string{"192.168.100.5"}}},
				Flows: []Flow{
					{ID: "f1", Src: "192.168.100.68", Dst: "192.168.100.70", Proto: "udp"},
					{ID: "f2", Src: "192.168.201.2", Dst: "192.168.102.4", Proto: "tcp", TunnelParent: "f1", OrigPackets: 5},
				}},
			"info:ecmp,warning:mux_not_forwarding"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := c.rule(&c.rep)
			if k := kinds(got); k != c.want {
				t.Fatalf("%s: got %q, want %q (%s)", c.name, k, c.want, c.why)
			}
			for _, f := range got {
				if f.Summary == "" || strings.Contains(f.Summary, "\n") {
					t.Errorf("summary must be one non-empty line: %q", f.Summary)
				}
			}
		})
	}
}

// TestUnansweredGroupsPoints checks that one attempt seen at three points counts once.
func TestUnansweredGroupsPoints(t *testing.T) {
	r := &Report{Flows: []Flow{
		{ID: "f1", Proto: "tcp", State: "S0", Point: "a", Dst: "10.0.0.4", Dport: u16(80)},
		{ID: "f2", Proto: "tcp", State: "S0", Point: "b", Dst: "10.0.0.4", Dport: u16(80)},
		{ID: "f3", Proto: "tcp", State: "S0", Point: "c", Dst: "10.0.0.4", Dport: u16(80)},
	}}
	fs := findUnansweredSYN(r)
	if len(fs) != 1 || !strings.HasPrefix(fs[0].Summary, "1 connection attempts to 10.0.0.4:80") || len(fs[0].Evidence.FlowIDs) != 3 {
		t.Fatalf("got %+v", fs)
	}
}

// TestUnansweredSYNAddresses: evidence addresses are bare (DESIGN.md 6.1). The destination
// was cut out of its "ip:port" endpoint at the first colon, which for IPv6 ("[2001:db8::1]:443")
// gave "[2001".
func TestUnansweredSYNAddresses(t *testing.T) {
	port := uint16(443)
	cases := []struct {
		dst, want string
	}{
		{"10.0.0.4", "10.0.0.4"},
		{"2001:db8::1", "2001:db8::1"},
	}
	for _, c := range cases {
		r := &Report{Flows: []Flow{{ID: "f1", Proto: "tcp", State: "S0", Src: "10.0.0.1", Dst: c.dst, Dport: &port, Point: "a"}}}
		fs := findUnansweredSYN(r)
		if len(fs) != 1 {
			t.Fatalf("%s: %d findings, want 1", c.dst, len(fs))
		}
		if got := fs[0].Evidence.Addresses; len(got) != 1 || got[0] != c.want {
			t.Errorf("%s: evidence addresses %q, want [%q]", c.dst, got, c.want)
		}
	}
}

// TestEvidenceAddressesAreBare: evidence lists addresses, never ip:port (DESIGN.md 6.1).
func TestEvidenceAddressesAreBare(t *testing.T) {
	got := bareAddresses("10.0.0.1", "10.0.0.4:80", "[2001:db8::1]:443", "10.0.0.4:8080")
	want := []string{"10.0.0.1", "10.0.0.4", "2001:db8::1"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("bareAddresses = %v, want %v", got, want)
	}
	r := Report{NAT: []NATMapping{
		{Node: "n2", Kind: "snat", Proto: "tcp", Inside: "192.168.200.10:1000", Outside: "192.168.201.2:40000", First: "a", Last: "b"},
		{Node: "n2", Kind: "snat", Proto: "tcp", Inside: "192.168.200.11:1000", Outside: "192.168.201.2:40000", First: "c", Last: "d"},
	}}
	for _, f := range findNATReuse(&r) {
		for _, a := range f.Evidence.Addresses {
			if strings.Contains(a, ":") {
				t.Errorf("evidence address %q is an endpoint", a)
			}
		}
	}
}
