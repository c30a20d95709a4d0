package topo

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stackflow/stackflow/flows"
)

func u16(v uint16) *uint16 { return &v }
func u32(v uint32) *uint32 { return &v }

// hop is a compact hop literal for the synthetic reports below.
func hop(node, point, src, dst, transform string, packets, lost int, lat float64) flows.Hop {
	h := flows.Hop{Node: node, Point: point, Src: src, Dst: dst, Sport: u16(40000), Dport: u16(80),
		Transform: transform, Packets: packets, Lost: lost}
	if lat > 0 {
		h.LatencyUs = &flows.Latency{Min: lat / 2, Median: lat, P99: lat * 2}
	}
	return h
}

// pocReport is the PoC chain in miniature: client -> nat -> router -> mux -> host -> dip, its DSR
// return, the BGP session between router and Mux with its own TCP path, and the VIP announcement.
func pocReport() *flows.Report {
	enc := hop("n4", "mux-host", "192.168.201.2", "192.168.102.4", "encap", 10, 0, 60)
	enc.VNI, enc.OuterSrc, enc.OuterDst, enc.Tunnel = u32(4114), "192.168.100.68", "192.168.100.70", "vxlan"
	last := hop("n5", "host-portal", "192.168.201.2", "10.0.0.4", "decap+dnat", 10, 0, 35)
	last.DstMAC = "00:1d:d8:b7:1c:04"
	bgp := flows.Hop{Node: "n4", Point: "bgp-mux", Src: "192.168.100.4", Dst: "192.168.100.1", Sport: u16(50041), Dport: u16(179), Transform: "none", Packets: 18}
	return &flows.Report{
		Schema:  flows.Schema,
		Capture: flows.Capture{Packets: 100, Inputs: []flows.Input{{File: "/x/poc.pcapng"}}},
		Nodes: []flows.Node{
			{ID: "n1", Name: "client(192.168.200.10)", Addresses: []string{"192.168.200.10"}, Roles: []string{"client"}},
			{ID: "n2", Name: "nat(192.168.200.1)", Addresses: []string{"192.168.200.1", "192.168.201.2"}, Roles: []string{"nat"}},
			{ID: "n3", Name: "router(192.168.100.1)", Addresses: []string{"192.168.100.1"}, Roles: []string{"router", "bgp_speaker"}},
			{ID: "n4", Name: "mux(192.168.100.68)", Addresses: []string{"192.168.100.4", "192.168.100.68"}, Roles: []string{"bgp_speaker", "mux"}},
			{ID: "n5", Name: "host(192.168.100.70)", Addresses: []string{"10.0.0.1", "192.168.100.70"}, Roles: []string{"host", "prober"}},
			{ID: "n6", Name: "dip(10.0.0.4)", Addresses: []string{"10.0.0.4"}, MACs: []string{"00:1d:d8:b7:1c:04"}, Roles: []string{"server", "dip"}},
			{ID: "n7", Name: "portal", Addresses: []string{"192.168.102.4"}, Roles: []string{"vip"}},
		},
		Paths: []flows.Path{
			{ID: "p1", Direction: "forward", FlowIDs: []string{"f1"}, Hops: []flows.Hop{bgp}},
			{ID: "p2", Direction: "forward", FlowIDs: []string{"f2", "f3"}, Packets: 10, Hops: []flows.Hop{
				hop("n1", "client-nat", "192.168.200.10", "192.168.102.4", "none", 10, 0, 0),
				hop("n2", "nat-bgp", "192.168.201.2", "192.168.102.4", "snat", 10, 0, 200),
				hop("n3", "bgp-mux", "192.168.201.2", "192.168.102.4", "route", 10, 0, 70),
				enc, last,
			}},
			{ID: "p3", Direction: "return", FlowIDs: []string{"f3", "f2"}, DSR: true, Packets: 8, Hops: []flows.Hop{
				hop("n6", "host-portal", "10.0.0.4", "192.168.201.2", "none", 8, 0, 0),
				hop("n5", "host-bgp", "192.168.102.4", "192.168.201.2", "snat", 8, 0, 20),
				hop("n3", "nat-bgp", "192.168.102.4", "192.168.201.2", "route", 8, 0, 50),
				hop("n2", "client-nat", "192.168.102.4", "192.168.200.10", "dnat", 8, 0, 100),
			}},
		},
		NAT: []flows.NATMapping{{Node: "n5", Kind: "vip_dip", Proto: "tcp", Inside: "10.0.0.4:80", Outside: "192.168.102.4:80"}},
		BGP: flows.BGP{
			Sessions: []flows.BGPSession{{ID: "b1", Peers: [2]string{"192.168.100.4", "192.168.100.1"}, ASNs: [2]*uint32{u32(64628), u32(64623)},
				State: "established", Messages: flows.MessageCounts{Open: 2, Update: 1, Keepalive: 15}, Points: []string{"bgp-mux"}}},
			Routes: []flows.BGPRoute{{Session: "b1", Peer: "192.168.100.4", Prefix: "192.168.102.4/32", Event: "announce"}},
		},
	}
}

type edgeSig struct {
	from, to string
	kind     EdgeKind
}

func sigs(g *Graph) []edgeSig {
	var out []edgeSig
	for _, e := range g.Edges {
		out = append(out, edgeSig{e.From, e.To, e.Kind})
	}
	return out
}

func findEdge(t *testing.T, g *Graph, from, to string, kind EdgeKind) Edge {
	t.Helper()
	for _, e := range g.Edges {
		if e.From == from && e.To == to && e.Kind == kind {
			return e
		}
	}
	t.Fatalf("no %s edge %s -> %s in %v", kind, from, to, sigs(g))
	return Edge{}
}

func column(g *Graph, id string) int {
	for _, n := range g.Nodes {
		if n.ID == id {
			return n.Column
		}
	}
	return -2
}

// TestBuildChain checks the PoC chain's edges, their numbers, and that the chain reads left to right.
func TestBuildChain(t *testing.T) {
	g := Build(pocReport())
	want := []edgeSig{
		{"n1", "n2", EdgeForward}, {"n2", "n3", EdgeForward}, {"n3", "n4", EdgeForward}, {"n4", "n5", EdgeForward}, {"n5", "n6", EdgeForward},
		{"n6", "n5", EdgeReturn}, {"n3", "n2", EdgeReturn}, {"n2", "n1", EdgeReturn},
		{"n5", "n3", EdgeDSR},
		{"n4", "n3", EdgeBGP},
		{"n4", "n7", EdgeAnnounce},
	}
	got := sigs(g)
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("missing edge %v in %v", w, got)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d edges %v, want %d (the BGP TCP path must not become a traffic edge)", len(got), got, len(want))
	}
	t.Run("columns", func(t *testing.T) {
		// Why: the whole point of the layout is the left-to-right chain of DESIGN.md section 1.
		chain := []string{"n1", "n2", "n3", "n4", "n5", "n6"}
		for i := 1; i < len(chain); i++ {
			if a, b := column(g, chain[i-1]), column(g, chain[i]); a < 0 || b <= a {
				t.Errorf("%s column %d is not left of %s column %d", chain[i-1], a, chain[i], b)
			}
		}
		if column(g, "n7") != column(g, "n4") {
			t.Errorf("the VIP (column %d) should stand by the Mux announcing it (column %d)", column(g, "n7"), column(g, "n4"))
		}
	})
	t.Run("encap edge", func(t *testing.T) {
		// Why: the encapsulated link is the one that carries the VNI.
		e := findEdge(t, g, "n4", "n5", EdgeForward)
		if !slices.Equal(e.VNIs, []uint32{4114}) || e.Packets != 10 || e.Transforms[0].Transform != "encap" {
			t.Errorf("mux -> host = %+v", e)
		}
		if e.LatencyUs == nil || *e.LatencyUs != 60 {
			t.Errorf("latency = %v, want the hop's median 60", e.LatencyUs)
		}
		if !slices.Equal(e.Points, []string{"mux-host"}) {
			t.Errorf("points = %v", e.Points)
		}
	})
	t.Run("last hop receiver by MAC", func(t *testing.T) {
		// Why: the path's last hop names no next node; the destination MAC does.
		findEdge(t, g, "n5", "n6", EdgeForward)
	})
	t.Run("vip notes", func(t *testing.T) {
		for _, n := range g.Nodes {
			if n.ID == "n7" && !slices.Contains(n.Notes, "VIP → DIP 10.0.0.4 at host(192.168.100.70)") {
				t.Errorf("VIP notes = %v", n.Notes)
			}
			if n.ID == "n6" && !slices.Contains(n.Notes, "DIP of VIP 192.168.102.4") {
				t.Errorf("DIP notes = %v", n.Notes)
			}
		}
	})
}

// TestBuildSegments covers paths whose consecutive hops share a node (one capture at each end of
// a wire, as in the lab) and how a path's last run finds its receiver.
func TestBuildSegments(t *testing.T) {
	base := func() *flows.Report {
		return &flows.Report{Nodes: []flows.Node{
			{ID: "a", Name: "A", Addresses: []string{"10.0.0.1"}, MACs: []string{"02:00:00:00:00:01"}, Roles: []string{"client"}},
			{ID: "b", Name: "B", Addresses: []string{"10.0.0.2"}, MACs: []string{"02:00:00:00:00:02"}, Roles: []string{"nat"}},
			{ID: "c", Name: "C", Addresses: []string{"10.0.0.3"}, MACs: []string{"02:00:00:00:00:03"}, Roles: []string{"router"}},
		}}
	}
	cases := []struct {
		name  string
		hops  []flows.Hop
		want  []edgeSig
		check func(t *testing.T, g *Graph)
	}{
		{
			// Why: two captures of one wire are one link, listing both points in order.
			name: "two points per wire",
			hops: []flows.Hop{
				hop("a", "a-eth0", "10.0.0.1", "10.0.0.9", "none", 5, 0, 0),
				hop("a", "b-in0", "10.0.0.1", "10.0.0.9", "none", 5, 0, 2),
				hop("b", "b-out0", "10.0.0.2", "10.0.0.9", "snat", 5, 0, 4),
				hop("b", "c-in0", "10.0.0.2", "10.0.0.9", "none", 5, 1, 1),
			},
			want: []edgeSig{{"a", "b", EdgeForward}, {"b", "addr:10.0.0.9", EdgeForward}},
			check: func(t *testing.T, g *Graph) {
				e := findEdge(t, g, "a", "b", EdgeForward)
				if !slices.Equal(e.Points, []string{"a-eth0", "b-in0"}) || e.Packets != 5 {
					t.Errorf("a -> b = %+v", e)
				}
				e = findEdge(t, g, "b", "addr:10.0.0.9", EdgeForward)
				if e.Lost != 1 || !e.Warn || *e.LatencyUs != 5 {
					t.Errorf("b -> end: lost %d warn %v latency %v, want 1, true, 4+1", e.Lost, e.Warn, *e.LatencyUs)
				}
			},
		},
		{
			// Why: packets lost on the last wire still went to the node whose MAC they were sent
			// to (the router), not to their far destination.
			name: "lost at the last hop, receiver by MAC",
			hops: func() []flows.Hop {
				h := hop("b", "b-out0", "10.0.0.2", "10.0.0.9", "snat", 3, 3, 0)
				h.DstMAC = "02:00:00:00:00:03"
				return []flows.Hop{h}
			}(),
			want: []edgeSig{{"b", "c", EdgeForward}},
		},
		{
			// Why: a destination address owned by the sender itself is no link.
			name: "no receiver",
			hops: []flows.Hop{hop("a", "a-eth0", "10.0.0.2", "10.0.0.1", "none", 1, 0, 0)},
			want: nil,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := base()
			r.Paths = []flows.Path{{ID: "p1", Direction: "forward", Hops: c.hops}}
			g := Build(r)
			if got := sigs(g); !slices.Equal(got, c.want) {
				t.Fatalf("edges %v, want %v", got, c.want)
			}
			if c.check != nil {
				c.check(t, g)
			}
		})
	}
}

// TestBuildMerges checks that paths over the same link add up, transforms counted apart.
func TestBuildMerges(t *testing.T) {
	r := pocReport()
	probe := hop("n5", "host-portal", "10.0.0.1", "10.0.0.4", "none", 6, 0, 0)
	r.Paths = append(r.Paths, flows.Path{ID: "p4", Direction: "forward", Hops: []flows.Hop{probe}})
	g := Build(r)
	e := findEdge(t, g, "n5", "n6", EdgeForward)
	want := []TransformCount{{"decap+dnat", 10}, {"none", 6}}
	if !slices.Equal(e.Transforms, want) || e.Packets != 16 || !slices.Equal(e.Paths, []string{"p2", "p4"}) {
		t.Errorf("host -> dip = %+v, want transforms %v, 16 packets, paths p2 p4", e, want)
	}
	if *e.LatencyUs != 35 {
		t.Errorf("latency %v: only timed hops count", *e.LatencyUs)
	}
}

// TestBuildBGP covers the session edge's label and the announcement's state.
func TestBuildBGP(t *testing.T) {
	r := pocReport()
	r.BGP.Sessions[0].State = "down"
	r.BGP.Sessions[0].Notification = &flows.BGPNotify{Name: "Cease / Administrative Shutdown"}
	r.BGP.Routes = append(r.BGP.Routes,
		flows.BGPRoute{Peer: "192.168.100.4", Prefix: "192.168.102.4/32", Event: "withdraw"},
		flows.BGPRoute{Peer: "192.168.100.4", Prefix: "10.9.0.0/16", Event: "announce"}, // not a node: no edge
	)
	g := Build(r)
	b := findEdge(t, g, "n4", "n3", EdgeBGP)
	if !b.Warn || !strings.Contains(strings.Join(b.Label, "|"), "AS64628 ⇄ AS64623") || !strings.Contains(strings.Join(b.Label, "|"), "Administrative Shutdown") {
		t.Errorf("bgp edge = %+v", b)
	}
	a := findEdge(t, g, "n4", "n7", EdgeAnnounce)
	if !a.Warn || a.Label[1] != "now withdrawn" {
		t.Errorf("announce edge = %+v", a)
	}
	n := 0
	for _, e := range g.Edges {
		if e.Kind == EdgeAnnounce {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d announce edges, want 1", n)
	}
}

// TestBuildEmpty: an empty report (an empty capture, a filter matching nothing) still gives a
// diagram, which says why it is empty.
func TestBuildEmpty(t *testing.T) {
	g := Build(&flows.Report{Capture: flows.Capture{Inputs: []flows.Input{{File: "e.pcap"}}}})
	if len(g.Nodes) != 0 || len(g.Edges) != 0 || !strings.Contains(g.Subtitle, "nothing to draw") {
		t.Errorf("empty graph: %d nodes, %d edges, subtitle %q", len(g.Nodes), len(g.Edges), g.Subtitle)
	}
}

// TestBuildCycle makes sure contradictory directions neither loop nor leave nodes unplaced.
func TestBuildCycle(t *testing.T) {
	r := &flows.Report{Nodes: []flows.Node{
		{ID: "a", Addresses: []string{"10.0.0.1"}}, {ID: "b", Addresses: []string{"10.0.0.2"}},
	}, Paths: []flows.Path{
		{ID: "p1", Direction: "forward", Hops: []flows.Hop{hop("a", "x", "10.0.0.1", "10.0.0.2", "none", 5, 0, 0)}},
		{ID: "p2", Direction: "forward", Hops: []flows.Hop{hop("b", "x", "10.0.0.2", "10.0.0.1", "none", 3, 0, 0)}},
	}}
	g := Build(r)
	if column(g, "a") != 0 || column(g, "b") != 1 {
		t.Errorf("columns a=%d b=%d: the heavier direction (a -> b, 5 packets) should decide", column(g, "a"), column(g, "b"))
	}
	if len(g.Edges) != 2 {
		t.Errorf("edges %v", sigs(g))
	}
}

func TestWeightedMedian(t *testing.T) {
	cases := []struct {
		name string
		in   []weighted
		want float64
		ok   bool
	}{
		{"empty", nil, 0, false},
		// Why: one heavy path outweighs several light ones, as the packets themselves would.
		{"heavy wins", []weighted{{2, 7}, {4, 7}, {117, 491}}, 117, true},
		{"even split takes the lower", []weighted{{1, 1}, {9, 1}}, 1, true},
		{"unsorted input", []weighted{{9, 1}, {5, 1}, {1, 1}}, 5, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := weightedMedian(c.in)
			if got != c.want || ok != c.ok {
				t.Errorf("weightedMedian(%v) = %v, %v; want %v, %v", c.in, got, ok, c.want, c.ok)
			}
		})
	}
}

// TestBuildPath checks the hop boxes, the return row under the forward row, and the pairing.
func TestBuildPath(t *testing.T) {
	r := pocReport()
	g, err := BuildPath(r, "p2")
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	row := map[string]int{}
	for _, n := range g.Nodes {
		col[n.ID], row[n.ID] = n.Column, n.Row
	}
	for i := 1; i <= 5; i++ {
		id := fmt.Sprintf("f%d", i)
		if row[id] != 0 || (i > 1 && col[id] != col[fmt.Sprintf("f%d", i-1)]+1) {
			t.Errorf("forward hop %s at row %d column %d", id, row[id], col[id])
		}
	}
	// Why: a return hop sits under the forward hop seen at the same capture point.
	for _, c := range [][2]string{{"r1", "f5"}, {"r3", "f2"}, {"r4", "f1"}} {
		if col[c[0]] != col[c[1]] || row[c[0]] != 1 {
			t.Errorf("%s (column %d row %d) should be under %s (column %d)", c[0], col[c[0]], row[c[0]], c[1], col[c[1]])
		}
	}
	// Why: the DSR hop has no forward twin; it lands between its neighbours.
	if !(col["r2"] < col["r1"] && col["r2"] > col["r3"]) {
		t.Errorf("r2 column %d not between r3 %d and r1 %d", col["r2"], col["r3"], col["r1"])
	}
	if col["end:n1"] >= col["f1"] || col["end:n6"] <= col["f5"] {
		t.Errorf("the conversation's ends should close the loop: client %d, dip %d", col["end:n1"], col["end:n6"])
	}
	findEdge(t, g, "r2", "r3", EdgeDSR)
	findEdge(t, g, "r4", "end:n1", EdgeReturn)
	findEdge(t, g, "end:n6", "r1", EdgeReturn)

	t.Run("return id gives the same diagram", func(t *testing.T) {
		g2, err := BuildPath(r, "p3")
		if err != nil {
			t.Fatal(err)
		}
		var a, b strings.Builder
		if err := WriteDOT(&a, g, DOTOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := WriteDOT(&b, g2, DOTOptions{}); err != nil {
			t.Fatal(err)
		}
		if a.String() != b.String() {
			t.Errorf("BuildPath(p3) differs from BuildPath(p2):\n%s\n%s", a.String(), b.String())
		}
	})
	t.Run("alone", func(t *testing.T) {
		// Why: a path without a partner (the BGP connection here) is drawn on its own.
		g, err := BuildPath(r, "p1")
		if err != nil {
			t.Fatal(err)
		}
		if len(g.Nodes) != 3 || !slices.Equal(sigs(g), []edgeSig{{"end:n4", "f1", EdgeForward}, {"f1", "end:n3", EdgeForward}}) {
			t.Errorf("nodes %d, edges %v", len(g.Nodes), sigs(g))
		}
	})
	t.Run("no hops", func(t *testing.T) {
		// Why: a hand-edited report may hold a path without hops; it draws as an empty diagram.
		r := &flows.Report{Paths: []flows.Path{{ID: "p1", Direction: "forward"}}}
		g, err := BuildPath(r, "p1")
		if err != nil || len(g.Nodes) != 0 || !strings.Contains(g.Title, "no hops") {
			t.Errorf("graph %+v, err %v", g, err)
		}
	})
	t.Run("unknown id", func(t *testing.T) {
		_, err := BuildPath(r, "p99")
		if !errors.Is(err, ErrUnknownPath) || !strings.Contains(err.Error(), `"p99"`) || !strings.Contains(err.Error(), "p1 .. p3") {
			t.Errorf("err = %v", err)
		}
		_, err = BuildPath(&flows.Report{}, "p1")
		if !errors.Is(err, ErrUnknownPath) || !strings.Contains(err.Error(), "no paths") {
			t.Errorf("err = %v", err)
		}
	})
}
