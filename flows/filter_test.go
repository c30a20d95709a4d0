package flows

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func fltU16(v uint16) *uint16 { return &v }
func fltU32(v uint32) *uint32 { return &v }

// fltAzureReport is a small Azure-Stack-like report (DESIGN.md section 1): ClientVM -> NATVM (SNAT)
// -> BGPVM (router) -> MuxVM (VXLAN, VNI 4114) -> host (decap, VIP -> DIP) -> PortalVM, and the
// DSR return path host -> router -> NAT -> client that skips the Mux. Besides: the Mux's BGP
// session to the router, a second Mux's session that withdrew its VIP, a SYN to that VIP, a DNS
// flow from the client, a failing health probe, an NVGRE tunnel to another host with no flows.
func fltAzureReport() *Report {
	const (
		client = "192.168.200.10"
		natOut = "10.10.0.1"
		vip    = "192.168.102.4"
		mux    = "10.20.0.5"
		host   = "10.20.0.9"
		dip    = "10.30.0.4"
	)
	return &Report{
		Schema: Schema,
		Capture: Capture{Packets: 123, Bytes: 45678, Start: "2024-05-01T10:00:00.000000000Z", End: "2024-05-01T10:00:09.000000000Z",
			Inputs:   []Input{{File: "lab.pcapng", Format: "pcapng", Packets: 123, Bytes: 45678}},
			Points:   []Point{{ID: "client-nat", File: "lab.pcapng", LinkType: "ethernet", Packets: 40}},
			Problems: []Problem{}},
		Protocols: map[string]int{"ethernet": 123, "ipv4": 123, "tcp": 100, "udp": 23, "vxlan": 10},
		Tunnels: []Tunnel{
			{Type: "vxlan", VNI: fltU32(4114), OuterSrc: mux, OuterDst: host, Packets: 10},
			{Type: "nvgre", VNI: fltU32(4115), FlowID: func() *uint8 { v := uint8(7); return &v }(), OuterSrc: mux, OuterDst: "10.20.0.77", Packets: 3},
		},
		BGP: BGP{
			Messages: MessageCounts{Open: 3, Update: 3, Keepalive: 6, Notification: 1},
			Sessions: []BGPSession{
				{ID: "b1", Peers: [2]string{mux, "10.20.0.1"}, Ports: [2]uint16{40000, 179}, State: "established", Points: []string{"router-mux"}},
				{ID: "b2", Peers: [2]string{"10.20.0.6", "10.20.0.1"}, Ports: [2]uint16{40001, 179}, State: "idle", Points: []string{"router-mux"}},
			},
			Routes: []BGPRoute{
				{Session: "b1", Peer: mux, Prefix: vip + "/32", Event: "announce", NextHop: mux, ASPath: []any{uint32(64628)}},
				{Session: "b1", Peer: mux, Prefix: "192.168.102.6/32", Event: "announce", NextHop: mux, ASPath: []any{uint32(64628), []uint32{1, 2}}},
				{Session: "b2", Peer: "10.20.0.6", Prefix: "192.168.102.99/32", Event: "withdraw"},
			},
		},
		Flows: []Flow{
			{ID: "f1", Proto: "tcp", Src: client, Dst: vip, Sport: fltU16(50000), Dport: fltU16(443), Point: "client-nat", State: "SF", History: "ShADadFf"},
			{ID: "f2", Proto: "tcp", Src: natOut, Dst: vip, Sport: fltU16(61000), Dport: fltU16(443), Point: "nat-router", State: "SF", History: "ShADadFf"},
			{ID: "f3", Proto: "udp", Src: mux, Dst: host, Sport: fltU16(54321), Dport: fltU16(4789), Point: "mux-host", State: "S0", History: "D", TunnelFlows: []string{"f4"}},
			{ID: "f4", Proto: "tcp", Src: natOut, Dst: vip, Sport: fltU16(61000), Dport: fltU16(443), VNI: fltU32(4114), Point: "mux-host", State: "SH", History: "SADF", TunnelParent: "f3"},
			{ID: "f5", Proto: "tcp", Src: natOut, Dst: dip, Sport: fltU16(61000), Dport: fltU16(443), Point: "host-portal", State: "SF", History: "ShADadFf"},
			{ID: "f6", Proto: "tcp", Src: mux, Dst: "10.20.0.1", Sport: fltU16(40000), Dport: fltU16(179), Point: "router-mux", State: "S1", History: "ShADad"},
			{ID: "f7", Proto: "udp", Src: client, Dst: "192.168.200.1", Sport: fltU16(53000), Dport: fltU16(53), Point: "client-nat", State: "SF", History: "Dd"},
			{ID: "f8", Proto: "tcp", Src: "10.30.0.1", Dst: dip, Sport: fltU16(40001), Dport: fltU16(80), Point: "host-portal", State: "REJ", History: "Sr"},
			{ID: "f9", Proto: "tcp", Src: client, Dst: "192.168.102.99", Sport: fltU16(50002), Dport: fltU16(443), Point: "client-nat", State: "S0", History: "S"},
		},
		Nodes: []Node{
			{ID: "n1", Name: "ClientVM", Addresses: []string{client}, MACs: []string{}, Roles: []string{"client"}},
			{ID: "n2", Name: "NATVM", Addresses: []string{"192.168.200.1", natOut}, MACs: []string{}, Roles: []string{"nat"}},
			{ID: "n3", Name: "BGPVM", Addresses: []string{"10.10.0.2", "10.20.0.1"}, MACs: []string{}, Roles: []string{"router", "bgp_speaker"}},
			{ID: "n4", Name: "MuxVM", Addresses: []string{mux}, MACs: []string{}, Roles: []string{"bgp_speaker", "mux"}},
			{ID: "n5", Name: "host", Addresses: []string{host}, MACs: []string{}, Roles: []string{"host"}},
			{ID: "n6", Name: "PortalVM", Addresses: []string{dip}, MACs: []string{}, Roles: []string{"server", "dip"}},
			{ID: "n7", Name: "portal.local.azurestack.external", Addresses: []string{vip}, MACs: []string{}, Roles: []string{"vip"}},
			{ID: "n8", Name: "prober(10.30.0.1)", Addresses: []string{"10.30.0.1"}, MACs: []string{}, Roles: []string{"prober"}},
			{ID: "n9", Name: "mux2", Addresses: []string{"10.20.0.6"}, MACs: []string{}, Roles: []string{"bgp_speaker", "mux"}},
		},
		Paths: []Path{
			{ID: "p1", Direction: "forward", FlowIDs: []string{"f1", "f2", "f4", "f5"}, Packets: 10, Hops: []Hop{
				{Node: "n1", Point: "client-nat", Src: client, Dst: vip, Sport: fltU16(50000), Dport: fltU16(443), Transform: "none", Packets: 10},
				{Node: "n2", Point: "nat-router", Src: natOut, Dst: vip, Sport: fltU16(61000), Dport: fltU16(443), Transform: "snat", Packets: 10, LatencyUs: &Latency{Min: 10, Median: 12, P99: 30}},
				{Node: "n3", Point: "router-mux", Src: natOut, Dst: vip, Sport: fltU16(61000), Dport: fltU16(443), Transform: "route", Packets: 10},
				{Node: "n4", Point: "mux-host", Src: natOut, Dst: vip, Sport: fltU16(61000), Dport: fltU16(443), VNI: fltU32(4114), OuterSrc: mux, OuterDst: host, Tunnel: "vxlan", Transform: "encap", Packets: 10},
				{Node: "n5", Point: "host-portal", Src: natOut, Dst: dip, Sport: fltU16(61000), Dport: fltU16(443), Transform: "decap+dnat", Packets: 10},
			}},
			{ID: "p2", Direction: "return", FlowIDs: []string{"f5", "f2", "f1"}, DSR: true, Packets: 8, Hops: []Hop{
				{Node: "n6", Point: "host-portal", Src: dip, Dst: natOut, Sport: fltU16(443), Dport: fltU16(61000), Transform: "none", Packets: 8},
				{Node: "n5", Point: "host-router", Src: vip, Dst: natOut, Sport: fltU16(443), Dport: fltU16(61000), Transform: "snat", Packets: 8, Lost: 2},
				{Node: "n3", Point: "nat-router", Src: vip, Dst: natOut, Sport: fltU16(443), Dport: fltU16(61000), Transform: "route", Packets: 6},
				{Node: "n2", Point: "client-nat", Src: vip, Dst: client, Sport: fltU16(443), Dport: fltU16(50000), Transform: "dnat", Packets: 6},
			}},
		},
		NAT: []NATMapping{
			{Node: "n2", Kind: "snat", Proto: "tcp", Inside: client + ":50000", Outside: natOut + ":61000", Packets: 18},
			{Node: "n5", Kind: "vip_dip", Proto: "tcp", Inside: dip + ":443", Outside: vip + ":443", Packets: 18},
		},
		Findings: []Finding{
			{Kind: "hop_loss", Severity: "warning", Summary: "2 packets lost after host", Evidence: Evidence{PathIDs: []string{"p2"}}},
			{Kind: "probe_failing", Severity: "error", Summary: "probe to 10.30.0.4:80 refused", Evidence: Evidence{FlowIDs: []string{"f8"}, Addresses: []string{dip}}},
			{Kind: "bgp_notification", Severity: "error", Summary: "mux2 sent a NOTIFICATION", Evidence: Evidence{Addresses: []string{"10.20.0.6"}}},
			{Kind: "traffic_to_withdrawn_route", Severity: "error", Summary: "SYN to a withdrawn VIP", Evidence: Evidence{FlowIDs: []string{"f9"}}},
			{Kind: "retransmissions", Severity: "info", Summary: "no evidence at all"},
		},
	}
}

func fltIDs[T any](xs []T, id func(T) string) []string {
	out := []string{}
	for _, x := range xs {
		out = append(out, id(x))
	}
	return out
}

func fltFlowIDs(r *Report) []string { return fltIDs(r.Flows, func(f Flow) string { return f.ID }) }
func fltPathIDs(r *Report) []string { return fltIDs(r.Paths, func(p Path) string { return p.ID }) }

func TestFilterSelectsFlowsAndPaths(t *testing.T) {
	// The flows of kept paths (p1: f1 f2 f4 f5; p2: f1 f2 f5) and the outer flow of a kept
	// tunnelled flow (f4 -> f3) are kept with them; "matched" lists only what the expression
	// itself selects, to show both steps.
	tests := []struct {
		name, expr   string
		matched      []string // flows the expression matches on their own
		flows, paths []string
	}{
		// The client's address is on both paths (first hop of p1, last of p2).
		{"host client", "host 192.168.200.10", []string{"f1", "f7", "f9"}, []string{"f1", "f2", "f3", "f4", "f5", "f7", "f9"}, []string{"p1", "p2"}},
		// The Mux is on the forward path only: DSR returns skip it. f4 matches through its
		// carrier f3, and the Mux's BGP connection f6 too.
		{"host mux", "host 10.20.0.5", []string{"f3", "f4", "f6"}, []string{"f1", "f2", "f3", "f4", "f5", "f6"}, []string{"p1"}},
		// src on a hop is the inner or outer source; the return path has 10.10.0.1 as dst only.
		{"src", "src 10.10.0.1", []string{"f2", "f4", "f5"}, []string{"f1", "f2", "f3", "f4", "f5"}, []string{"p1"}},
		// No flow has the NAT's outside address as responder, but the return path's hops do.
		{"dst", "dst 10.10.0.1", nil, []string{"f1", "f2", "f5"}, []string{"p2"}},
		// The VIP pool: flows to the VIP; both paths carry it.
		{"net vip pool", "net 192.168.102.0/24", []string{"f1", "f2", "f4", "f9"}, []string{"f1", "f2", "f3", "f4", "f5", "f9"}, []string{"p1", "p2"}},
		// A path matches on its hop node's addresses: the router's 10.20.0.1 is on both paths;
		// but p1 is VXLAN, and f3/f4 are tunnel flows.
		{"net minus tunnel", "net 10.20.0.0/24 and not tunnel vxlan", []string{"f6"}, []string{"f1", "f2", "f5", "f6"}, []string{"p2"}},
		// sport 443 is only on the return hops; flows keep the originator's ports.
		{"sport", "sport 443", nil, []string{"f1", "f2", "f5"}, []string{"p2"}},
		{"dport dns", "dport 53", []string{"f7"}, []string{"f7"}, nil},
		{"port https", "port 443", []string{"f1", "f2", "f4", "f5", "f9"}, []string{"f1", "f2", "f3", "f4", "f5", "f9"}, []string{"p1", "p2"}},
		// proto on a path is the proto of any flow it lists: both paths are TCP only.
		{"proto udp", "proto udp", []string{"f3", "f7"}, []string{"f3", "f7"}, nil},
		{"proto number", "proto 17", []string{"f3", "f7"}, []string{"f3", "f7"}, nil},
		{"proto tcp and dport", "proto tcp and dport 443", []string{"f1", "f2", "f4", "f5", "f9"}, []string{"f1", "f2", "f3", "f4", "f5", "f9"}, []string{"p1"}},
		{"vni", "vni 4114", []string{"f4"}, []string{"f1", "f2", "f3", "f4", "f5"}, []string{"p1"}},
		// The outer UDP flow is the tunnel and the inner flow is carried by it.
		{"tunnel vxlan", "tunnel vxlan", []string{"f3", "f4"}, []string{"f1", "f2", "f3", "f4", "f5"}, []string{"p1"}},
		// A tunnel with no traffic in the report selects nothing.
		{"tunnel nvgre", "tunnel nvgre", nil, nil, nil},
		{"point glob", "point mux-*", []string{"f3", "f4"}, []string{"f1", "f2", "f3", "f4", "f5"}, []string{"p1"}},
		{"point infix", "point *router*", []string{"f2", "f6"}, []string{"f1", "f2", "f3", "f4", "f5", "f6"}, []string{"p1", "p2"}},
		// Role: flows touching a Mux address (f4 through its carrier); only p1 crosses a Mux.
		{"role mux", "role mux", []string{"f3", "f4", "f6"}, []string{"f1", "f2", "f3", "f4", "f5", "f6"}, []string{"p1"}},
		// The portal is p1's last destination and p2's first hop node.
		{"role server", "role server", []string{"f5", "f8"}, []string{"f1", "f2", "f3", "f4", "f5", "f8"}, []string{"p1", "p2"}},
		{"role prober", "role prober", []string{"f8"}, []string{"f8"}, nil},
		{"roles or", "role client || role prober", []string{"f1", "f7", "f8", "f9"}, []string{"f1", "f2", "f3", "f4", "f5", "f7", "f8", "f9"}, []string{"p1", "p2"}},
		// Path facts select paths only; their flows come along.
		{"path", "path p2", nil, []string{"f1", "f2", "f5"}, []string{"p2"}},
		{"dsr", "dsr", nil, []string{"f1", "f2", "f5"}, []string{"p2"}},
		{"lost", "lost", nil, []string{"f1", "f2", "f5"}, []string{"p2"}},
		{"direction", "direction forward", nil, []string{"f1", "f2", "f3", "f4", "f5"}, []string{"p1"}},
		// A path fact is false on a flow, so its negation holds for every flow.
		{"not dsr", "not dsr", []string{"f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8", "f9"}, []string{"f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8", "f9"}, []string{"p1"}},
		// A flow id selects that flow and the paths listing it.
		{"flow", "flow f4", []string{"f4"}, []string{"f1", "f2", "f3", "f4", "f5"}, []string{"p1"}},
		{"state", "state REJ", []string{"f8"}, []string{"f8"}, nil},
		{"state lowercase", "state sf", []string{"f1", "f2", "f5", "f7"}, []string{"f1", "f2", "f3", "f4", "f5", "f7"}, []string{"p1", "p2"}},
		// The probe's history "Sr": a SYN answered by a RST.
		{"flags rst", "flags rst", []string{"f8"}, []string{"f8"}, nil},
		// Both paths list a flow that closed with FIN.
		{"flags syn not fin", "flags syn and not flags fin", []string{"f6", "f8", "f9"}, []string{"f6", "f8", "f9"}, nil},
		// d in a UDP history is any packet, not PSH: f7 and f3 never match.
		{"flags psh", "flags psh", []string{"f1", "f2", "f4", "f5", "f6"}, []string{"f1", "f2", "f3", "f4", "f5", "f6"}, []string{"p1", "p2"}},
		// SYN-ACK (h) implies ACK: f8 ("Sr") has none.
		{"flags ack", "flags ack", []string{"f1", "f2", "f4", "f5", "f6"}, []string{"f1", "f2", "f3", "f4", "f5", "f6"}, []string{"p1", "p2"}},
		// and needs both on the same object: p1 has the client but no port 53.
		{"and", "host 192.168.200.10 and port 53", []string{"f7"}, []string{"f7"}, nil},
		{"or", "port 53 or vni 4114", []string{"f4", "f7"}, []string{"f1", "f2", "f3", "f4", "f5", "f7"}, []string{"p1"}},
		{"not or", "not (port 443 or port 53)", []string{"f3", "f6", "f8"}, []string{"f3", "f6", "f8"}, nil},
		// Precedence: not > and > or.
		{"precedence", "port 53 or port 80 and state REJ", []string{"f7", "f8"}, []string{"f7", "f8"}, nil},
		{"grouped", "(port 53 or port 80) and state REJ", []string{"f8"}, []string{"f8"}, nil},
		// The only return path is DSR, and flows have no direction.
		{"nothing", "!dsr && direction return", nil, nil, nil},
		// An id the report lacks matches nothing.
		{"absent", "flow f99", nil, nil, nil},
	}
	r := fltAzureReport()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := CompileFilter(tt.expr)
			if err != nil {
				t.Fatal(err)
			}
			ix := buildFilterIndex(r)
			var matched []string
			for i := range ix.flows {
				if f.match(&fltView{flow: &ix.flows[i]}) {
					matched = append(matched, ix.flows[i].f.ID)
				}
			}
			if !slices.Equal(matched, tt.matched) {
				t.Errorf("matched flows %v, want %v", matched, tt.matched)
			}
			out := f.Apply(r)
			if got := fltFlowIDs(out); !slices.Equal(got, fltOrEmpty(tt.flows)) {
				t.Errorf("flows %v, want %v", got, tt.flows)
			}
			if got := fltPathIDs(out); !slices.Equal(got, fltOrEmpty(tt.paths)) {
				t.Errorf("paths %v, want %v", got, tt.paths)
			}
		})
	}
}

func fltOrEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func TestFilterKeepsRelated(t *testing.T) {
	type want struct {
		nodes, nat, tunnels, sessions, routes, findings []string
	}
	tests := []struct {
		name, expr string
		want       want
	}{
		// Only the client's DNS flow: the two endpoints' nodes; no NAT mapping has those
		// endpoints (the SNAT entry is for port 50000), no tunnel, no route covers them.
		{"dns only", "host 192.168.200.10 and port 53", want{nodes: []string{"n1", "n2"}}},
		// The whole forward path: every node on it and at its addresses (the VIP, the DIP), both
		// NAT mappings, the VXLAN tunnel but not the idle NVGRE one, the VIP's /32 and the
		// session that announced it; the failing probe names the DIP.
		{"forward path", "vni 4114", want{
			nodes:   []string{"n1", "n2", "n3", "n4", "n5", "n6", "n7"},
			nat:     []string{"n2/snat", "n5/vip_dip"},
			tunnels: []string{"vxlan"}, sessions: []string{"b1"}, routes: []string{"192.168.102.4/32"},
			findings: []string{"probe_failing"},
		}},
		// The BGP connection itself keeps its session and every route it carried.
		{"bgp", "port 179", want{
			nodes: []string{"n3", "n4"}, sessions: []string{"b1"},
			routes: []string{"192.168.102.4/32", "192.168.102.6/32"},
		}},
		// A finding naming a kept path.
		{"loss", "lost", want{
			nodes:    []string{"n1", "n2", "n3", "n4", "n5", "n6", "n7"},
			nat:      []string{"n2/snat", "n5/vip_dip"},
			sessions: []string{"b1"}, routes: []string{"192.168.102.4/32"},
			findings: []string{"hop_loss", "probe_failing"},
		}},
		// A finding naming a kept flow.
		{"probe", "state REJ", want{nodes: []string{"n6", "n8"}, findings: []string{"probe_failing"}}},
		// Traffic to a withdrawn VIP keeps the withdrawal, the session that sent it, its peers'
		// nodes and the finding that names a peer.
		{"withdrawn vip", "host 192.168.102.99", want{
			nodes: []string{"n1", "n3", "n9"}, sessions: []string{"b2"}, routes: []string{"192.168.102.99/32"},
			findings: []string{"bgp_notification", "traffic_to_withdrawn_route"},
		}},
		// Everything kept: only the finding without evidence is dropped.
		{"all", "not flow f99", want{
			nodes:    []string{"n1", "n2", "n3", "n4", "n5", "n6", "n7", "n8", "n9"},
			nat:      []string{"n2/snat", "n5/vip_dip"},
			tunnels:  []string{"vxlan"},
			sessions: []string{"b1", "b2"}, routes: []string{"192.168.102.4/32", "192.168.102.6/32", "192.168.102.99/32"},
			findings: []string{"hop_loss", "probe_failing", "bgp_notification", "traffic_to_withdrawn_route"},
		}},
	}
	r := fltAzureReport()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := CompileFilter(tt.expr)
			if err != nil {
				t.Fatal(err)
			}
			out := f.Apply(r)
			got := want{
				nodes:    fltIDs(out.Nodes, func(n Node) string { return n.ID }),
				nat:      fltIDs(out.NAT, func(m NATMapping) string { return m.Node + "/" + m.Kind }),
				tunnels:  fltIDs(out.Tunnels, func(t Tunnel) string { return t.Type }),
				sessions: fltIDs(out.BGP.Sessions, func(s BGPSession) string { return s.ID }),
				routes:   fltIDs(out.BGP.Routes, func(r BGPRoute) string { return r.Prefix }),
				findings: fltIDs(out.Findings, func(f Finding) string { return f.Kind }),
			}
			w := tt.want
			for _, p := range []*[]string{&w.nodes, &w.nat, &w.tunnels, &w.sessions, &w.routes, &w.findings} {
				*p = fltOrEmpty(*p)
			}
			if !reflect.DeepEqual(got, w) {
				t.Errorf("kept\n got %+v\nwant %+v", got, w)
			}
			// Totals describe the input and are never filtered.
			if !reflect.DeepEqual(out.Capture, r.Capture) || !reflect.DeepEqual(out.Protocols, r.Protocols) ||
				out.BGP.Messages != r.BGP.Messages || out.Schema != r.Schema {
				t.Errorf("totals changed")
			}
			if out.Filter != f.String() {
				t.Errorf("Filter = %q, want %q", out.Filter, f.String())
			}
		})
	}
}

// TestFilterApplyPure checks that Apply never modifies its input, shares no slice with it, and
// is idempotent: filtering the result again with the same filter changes nothing.
func TestFilterApplyPure(t *testing.T) {
	exprs := []string{
		"host 192.168.200.10", "not dsr", "dsr and not state SF", "tunnel vxlan and not proto udp",
		"role mux or lost", "point host-* and flags syn", "flow f4", "path p2 or port 53",
		"not (net 10.0.0.0/8)", "vni 4114 || state REJ", "port 179",
	}
	for _, expr := range exprs {
		t.Run(expr, func(t *testing.T) {
			f, err := CompileFilter(expr)
			if err != nil {
				t.Fatal(err)
			}
			r := fltAzureReport()
			before, _ := json.Marshal(r)
			once := f.Apply(r)
			after, _ := json.Marshal(r)
			if string(before) != string(after) {
				t.Fatalf("Apply modified its input")
			}
			twice := f.Apply(once)
			if !reflect.DeepEqual(once, twice) {
				a, _ := json.Marshal(once)
				b, _ := json.Marshal(twice)
				t.Fatalf("not idempotent:\nonce  %s\ntwice %s", a, b)
			}
			// Writing through the copy must not reach the input.
			for i := range once.Paths {
				if len(once.Paths[i].Hops) > 0 {
					once.Paths[i].Hops[0].Lost = 999
				}
				if len(once.Paths[i].FlowIDs) > 0 {
					once.Paths[i].FlowIDs[0] = "x"
				}
			}
			for i := range once.Nodes {
				once.Nodes[i].Roles = append(once.Nodes[i].Roles[:0], "x")
			}
			once.Capture.Points = append(once.Capture.Points[:0], Point{ID: "x"})
			once.Protocols["tcp"] = -1
			if after, _ := json.Marshal(r); string(before) != string(after) {
				t.Fatalf("the copy shares memory with the input")
			}
		})
	}
}

func TestFilterRecordsExpression(t *testing.T) {
	// Why: a report filtered twice must say so, in a form that compiles to the combination.
	a, _ := CompileFilter("port  443")
	b, _ := CompileFilter("dsr")
	out := b.Apply(a.Apply(fltAzureReport()))
	if out.Filter != "(port 443) and (dsr)" {
		t.Fatalf("Filter = %q", out.Filter)
	}
	c, err := CompileFilter(out.Filter)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Apply(fltAzureReport()); !slices.Equal(fltPathIDs(got), fltPathIDs(out)) || !slices.Equal(fltFlowIDs(got), fltFlowIDs(out)) {
		t.Fatalf("recorded filter selects %v %v, chained filters %v %v", fltPathIDs(got), fltFlowIDs(got), fltPathIDs(out), fltFlowIDs(out))
	}
	if a.Apply(nil) != nil {
		t.Fatalf("Apply(nil) != nil")
	}
}

func TestHistoryFlags(t *testing.T) {
	tests := []struct {
		name, hist string
		want       []string
	}{
		// A clean connection shows every derivable flag.
		{"clean", "ShADadFf", []string{"syn", "fin", "ack", "psh"}},
		// The responder's SYN-ACK carries ACK.
		{"synack", "Sh", []string{"syn", "ack"}},
		// FIN and RST together.
		{"i", "ShI", []string{"syn", "fin", "rst", "ack"}},
		// The heuristic marker and retransmission letters add nothing.
		{"markers", "^dtTwW", []string{"psh"}},
		{"empty", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := fltHistoryFlags(tt.hist)
			var got []string
			for i, n := range filterFlags {
				if m&(1<<i) != 0 {
					got = append(got, n)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("fltHistoryFlags(%q) = %v, want %v", tt.hist, got, tt.want)
			}
		})
	}
}

func TestGlobMatch(t *testing.T) {
	tests := []struct {
		name, pat, s string
		want         bool
	}{
		{"exact", "mux-host", "mux-host", true},
		{"exact differs", "mux-host", "mux-host2", false},
		{"prefix", "mux-*", "mux-host", true},
		{"suffix", "*-host", "mux-host", true},
		{"infix", "*:Port*:*", "vNIC:Synthetic:Port1:3:0", true},
		// Prefix and suffix must not overlap.
		{"overlap", "ab*ba", "aba", false},
		{"star only", "*", "", true},
		{"middle order", "a*c*b", "abcb", true},
		{"middle missing", "a*c*b", "abb", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fltGlob(strings.Split(tt.pat, "*"), tt.s); got != tt.want {
				t.Fatalf("fltGlob(%q, %q) = %v", tt.pat, tt.s, got)
			}
		})
	}
}

// BenchmarkFilterApply measures Apply on a report of 100,000 flows and 10,000 five-hop paths.
func BenchmarkFilterApply(b *testing.B) {
	r := &Report{Schema: Schema}
	addr := func(i int) string { return fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255) }
	for i := range 100000 {
		r.Flows = append(r.Flows, Flow{ID: fmt.Sprintf("f%d", i+1), Proto: "tcp", Src: addr(i), Dst: addr(i + 1),
			Sport: fltU16(uint16(i)), Dport: fltU16(443), Point: fmt.Sprintf("pt%d", i%8), State: "SF", History: "ShADadFf"})
	}
	for i := range 1000 {
		r.Nodes = append(r.Nodes, Node{ID: fmt.Sprintf("n%d", i+1), Addresses: []string{addr(i * 100)}, Roles: []string{"host"}})
	}
	for i := range 10000 {
		p := Path{ID: fmt.Sprintf("p%d", i+1), Direction: "forward", FlowIDs: []string{fmt.Sprintf("f%d", i*10+1)}}
		for h := range 5 {
			p.Hops = append(p.Hops, Hop{Node: fmt.Sprintf("n%d", (i+h)%1000+1), Point: fmt.Sprintf("pt%d", h),
				Src: addr(i * 10), Dst: addr(i*10 + 1), Sport: fltU16(uint16(i)), Dport: fltU16(443)})
		}
		r.Paths = append(r.Paths, p)
	}
	f, err := CompileFilter("net 10.0.0.0/16 and port 443 and not point pt3")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		f.Apply(r)
	}
}
