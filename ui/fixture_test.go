package ui

import (
	"context"
	"strings"
	"testing"

	"github.com/stackflow/stackflow/flows"
	"github.com/stackflow/stackflow/internal/testenv"
)

func u16(v uint16) *uint16 { return &v }
func u32(v uint32) *uint32 { return &v }

// fixtureReport is a small hand-written report with every kind of object the views show: two
// path shapes with two paths each (a forward path through NAT, Mux and host, and its DSR
// return, one of which lost packets), flows, a BGP session that went down with a withdrawal,
// NAT mappings (the VIP -> DIP one listed last), a tunnel, and findings of each severity.
func fixtureReport() *flows.Report {
	hop := func(node, point, src string, sp uint16, dst string, dp uint16, tr string, pk, lost int) flows.Hop {
		return flows.Hop{Node: node, Point: point, Src: src, Sport: u16(sp), Dst: dst, Dport: u16(dp), Transform: tr, Packets: pk, Lost: lost}
	}
	encap := hop("n3", "mux-host", "192.168.201.2", 40000, "192.168.102.4", 443, "encap", 10, 0)
	encap.VNI, encap.Tunnel, encap.OuterSrc, encap.OuterDst = u32(4114), "vxlan", "192.168.100.68", "192.168.100.70"
	encap.LatencyUs = &flows.Latency{Min: 61, Median: 62, P99: 1500}
	fwd := func(id string, sport uint16, flowIDs ...string) flows.Path {
		return flows.Path{ID: id, Direction: "forward", FlowIDs: flowIDs, Packets: 30, Hops: []flows.Hop{
			hop("n1", "client-nat", "192.168.200.10", sport, "192.168.102.4", 443, "none", 10, 0),
			hop("n2", "nat-bgp", "192.168.201.2", 40000, "192.168.102.4", 443, "snat", 10, 0),
			encap,
		}}
	}
	ret := func(id string, sport uint16, lost int, flowIDs ...string) flows.Path {
		return flows.Path{ID: id, Direction: "return", DSR: true, FlowIDs: flowIDs, Packets: 20, Hops: []flows.Hop{
			hop("n5", "host-portal", "10.0.0.4", 443, "192.168.201.2", 40000, "none", 10, lost),
			hop("n2", "client-nat", "192.168.102.4", 443, "192.168.200.10", sport, "dnat", 10-lost, 0),
		}}
	}
	return &flows.Report{
		Schema:    flows.Schema,
		Capture:   flows.Capture{Packets: 120, Bytes: 9000},
		Protocols: map[string]int{"ipv4": 120},
		Tunnels: []flows.Tunnel{{Type: "vxlan", VNI: u32(4114), OuterSrc: "192.168.100.68", OuterDst: "192.168.100.70",
			Packets: 20, Bytes: 2400, First: "2024-05-14T09:00:01.000000000Z", Last: "2024-05-14T09:00:02.000000000Z"}},
		BGP: flows.BGP{
			Messages: flows.MessageCounts{Open: 2, Update: 2, Notification: 1, Keepalive: 5},
			Sessions: []flows.BGPSession{{ID: "b1", Peers: [2]string{"192.168.100.4", "192.168.100.1"},
				ASNs: [2]*uint32{u32(64628), u32(64623)}, HoldTime: u16(30), State: "down", Points: []string{"bgp-mux"},
				Messages:     flows.MessageCounts{Open: 2, Update: 2, Notification: 1, Keepalive: 5},
				Notification: &flows.BGPNotify{From: "192.168.100.4", Time: "2024-05-14T09:00:45.000002000Z", Code: 6, Subcode: 4, Name: "Cease / Administrative Reset"}}},
			Events: []flows.BGPEvent{
				{Session: "b1", Peer: "192.168.100.4", Event: "open", Time: "2024-05-14T09:00:00.000046000Z", Detail: "AS 64628"},
				{Session: "b1", Peer: "192.168.100.1", Event: "established", Time: "2024-05-14T09:00:00.000068000Z"},
				{Session: "b1", Peer: "192.168.100.4", Event: "down", Time: "2024-05-14T09:00:45.000002000Z", Detail: "closed by NOTIFICATION"},
			},
			Routes: []flows.BGPRoute{
				{Session: "b1", Peer: "192.168.100.4", Prefix: "192.168.102.4/32", Event: "announce", Time: "2024-05-14T09:00:00.000090000Z",
					NextHop: "192.168.100.4", ASPath: []any{uint32(64628), []uint32{65001, 65002}}, Communities: []string{"64628:100"}},
				{Session: "b1", Peer: "192.168.100.4", Prefix: "192.168.102.4/32", Event: "withdraw", Time: "2024-05-14T09:00:20.000002000Z"},
			},
		},
		Flows: []flows.Flow{
			{ID: "f1", CommunityID: "1:aaa=", Proto: "tcp", Src: "192.168.200.10", Sport: u16(50001), Dst: "192.168.102.4", Dport: u16(443),
				Point: "client-nat", Packets: 20, Bytes: 3000, First: "2024-05-14T09:00:03.000000000Z", State: "SF"},
			{ID: "f2", CommunityID: "1:bbb=", Proto: "tcp", Src: "192.168.201.2", Sport: u16(40000), Dst: "192.168.102.4", Dport: u16(443),
				Point: "nat-bgp", Packets: 20, Bytes: 9000, First: "2024-05-14T09:00:01.000000000Z", State: "S0"},
			{ID: "f3", CommunityID: "1:ccc=", Proto: "udp", Src: "192.168.100.68", Sport: u16(59000), Dst: "192.168.100.70", Dport: u16(4789),
				Point: "mux-host", Packets: 40, Bytes: 500, First: "2024-05-14T09:00:02.000000000Z", State: "SF"},
			{ID: "f4", CommunityID: "1:ddd=", Proto: "tcp", Src: "192.168.201.2", Sport: u16(40000), Dst: "192.168.102.4", Dport: u16(443),
				VNI: u32(4114), Point: "mux-host", Packets: 5, Bytes: 700, First: "2024-05-14T09:00:04.000000000Z", State: "REJ", TunnelParent: "f3"},
		},
		Nodes: []flows.Node{
			{ID: "n1", Name: "client(192.168.200.10)", Addresses: []string{"192.168.200.10"}, Roles: []string{"client"}},
			{ID: "n2", Name: "nat(192.168.200.1)", Addresses: []string{"192.168.200.1", "192.168.201.2"}, Roles: []string{"nat"}},
			{ID: "n3", Name: "mux(192.168.100.68)", Addresses: []string{"192.168.100.68"}, Roles: []string{"mux", "bgp_speaker"}},
			{ID: "n4", Name: "host(192.168.100.70)", Addresses: []string{"192.168.100.70"}, Roles: []string{"host"}},
			{ID: "n5", Name: "dip(10.0.0.4)", Addresses: []string{"10.0.0.4"}, Roles: []string{"dip"}},
		},
		Paths: []flows.Path{
			fwd("p1", 50001, "f1", "f2"),
			ret("p2", 50001, 0, "f1", "f2"),
			fwd("p3", 50002, "f4"),
			ret("p4", 50002, 2, "f4"),
		},
		NAT: []flows.NATMapping{
			{Node: "n2", Kind: "snat", Proto: "tcp", Inside: "192.168.200.10:50001", Outside: "192.168.201.2:40000", Packets: 20},
			{Node: "n4", Kind: "vip_dip", Proto: "tcp", Inside: "10.0.0.4:443", Outside: "192.168.102.4:443", Packets: 40},
		},
		Findings: []flows.Finding{
			{Kind: "hop_loss", Severity: "warning", Summary: "path p4 (return): 2 of 10 packets seen at host-portal never reached client-nat",
				Evidence: flows.Evidence{PathIDs: []string{"p4"}, FlowIDs: []string{"f4"}}},
			{Kind: "traffic_to_withdrawn_route", Severity: "error", Summary: "traffic to 192.168.102.4/32 while withdrawn",
				Evidence: flows.Evidence{FlowIDs: []string{"f2"}, Packets: []flows.PacketRef{{Point: "nat-bgp", Number: 7}}}},
			{Kind: "probe_note", Severity: "info", Summary: "health probes answered",
				Evidence: flows.Evidence{Packets: []flows.PacketRef{{Point: "host-portal", Number: 3}, {Point: "host-portal", Number: 4}}}},
			{Kind: "bgp_session_down", Severity: "error", Summary: "BGP session b1 went down",
				Evidence: flows.Evidence{Addresses: []string{"192.168.100.4", "192.168.100.1"}}},
		},
	}
}

// analyzeSample runs the real analysis on a sample, returning the report and a FileSource over it.
func analyzeSample(t *testing.T, name string) (*flows.Report, *FileSource) {
	t.Helper()
	file := testenv.Sample(t, name)
	pc := flows.NewProblemCollector(0)
	inputs, err := flows.OpenInputs([]string{file}, nil, pc)
	if err != nil {
		t.Fatal(err)
	}
	r, err := flows.Analyze(context.Background(), inputs, flows.Options{}, pc)
	if err != nil {
		t.Fatal(err)
	}
	return r, &FileSource{Files: []string{file}, Points: r.Capture.Points}
}

// rowsText joins rows' cells for substring checks.
func rowsText(rows []row) string {
	var b strings.Builder
	for _, r := range rows {
		b.WriteString(strings.Join(r.texts(), " | "))
		b.WriteByte('\n')
	}
	return b.String()
}
