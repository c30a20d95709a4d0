package ui

import (
	"slices"
	"strings"
	"testing"
)

func TestGroupPaths(t *testing.T) {
	r := fixtureReport()
	groups := groupPaths(r)
	// Two shapes: p1/p3 share direction, nodes, points and transforms though their ports
	// differ; p2/p4 likewise (loss does not change a shape).
	if len(groups) != 2 {
		t.Fatalf("%d groups, want 2", len(groups))
	}
	cases := []struct {
		name    string
		g       pathGroup
		members []int
		packets int
		lost    int
	}{
		{"forward shape", groups[0], []int{0, 2}, 60, 0},
		{"return shape sums the loss of its paths", groups[1], []int{1, 3}, 40, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !slices.Equal(c.g.members, c.members) || c.g.packets != c.packets || c.g.lost != c.lost {
				t.Errorf("members %v packets %d lost %d, want %v %d %d", c.g.members, c.g.packets, c.g.lost, c.members, c.packets, c.lost)
			}
		})
	}
}

func TestPathListRows(t *testing.T) {
	r := fixtureReport()
	groups := groupPaths(r)
	cases := []struct {
		name string
		open map[string]bool
		want []string // first cell of each row
	}{
		// Closed groups: one heading per shape, marked "+" (can open).
		{"closed", map[string]bool{}, []string{"+ p1", "+ p2"}},
		// An open group lists its paths under the heading, marked "-".
		{"first open", map[string]bool{groups[0].shape: true}, []string{"- p1", "    p1", "    p3", "+ p2"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rows := pathListRows(r, groups, c.open)
			var got []string
			for _, rw := range rows {
				got = append(got, rw.cells[0].text)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("rows %q, want %q", got, c.want)
			}
		})
	}
	heading := pathListRows(r, groups, nil)[1]
	// The return shape's heading says DSR, counts both paths and their loss (in the bad tone),
	// and draws the node chain by name, ending at the receiver.
	want := []string{"+ p2", "return DSR", "2", "40", "2", "dip(10.0.0.4) -> nat(192.168.200.1) -> client(192.168.200.10)"}
	if got := heading.texts(); !slices.Equal(got, want) {
		t.Errorf("heading %q, want %q", got, want)
	}
	if heading.cells[4].tone != toneBad {
		t.Errorf("loss not marked bad")
	}
}

func TestHopRows(t *testing.T) {
	r := fixtureReport()
	rows := hopRows(r, &r.Paths[0])
	if len(rows) != 3 {
		t.Fatalf("%d rows", len(rows))
	}
	cases := []struct {
		name string
		row  int
		want []string
	}{
		// The first hop has no latency and names the sender.
		{"first hop", 0, []string{"1", "client(192.168.200.10)", "client-nat", "none", "10", "0", "192.168.200.10:50001 > 192.168.102.4:443", "-", ""}},
		// A tunnelled hop shows the latency in readable units and the tunnel it rides.
		{"encap hop", 2, []string{"3", "mux(192.168.100.68)", "mux-host", "encap", "10", "0", "192.168.201.2:40000 > 192.168.102.4:443 in vxlan 4114", "61us/62us/1.50ms", "192.168.100.68 > 192.168.100.70"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := rows[c.row].texts(); !slices.Equal(got, c.want) {
				t.Errorf("got  %q\nwant %q", got, c.want)
			}
		})
	}
}

func TestPairedPath(t *testing.T) {
	r := fixtureReport()
	cases := []struct {
		name string
		path int
		want string
	}{
		{"forward finds its DSR return through shared flows", 0, "p2"},
		{"return finds its forward", 3, "p3"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q := pairedPath(r, &r.Paths[c.path])
			if q == nil || q.ID != c.want {
				t.Errorf("paired %v, want %s", q, c.want)
			}
		})
	}
	// A path whose flows no path in the other direction shares has no pair.
	lone := r.Paths[0]
	lone.FlowIDs = []string{"f99"}
	if q := pairedPath(r, &lone); q != nil {
		t.Errorf("paired %s, want none", q.ID)
	}
}

func TestPathTitle(t *testing.T) {
	r := fixtureReport()
	got := pathTitle(&r.Paths[3], "")
	// The title names the direction, sizes, DSR and loss.
	for _, want := range []string{"p4 return", "2 hops", "20 packets", "DSR", "2 lost"} {
		if !strings.Contains(got, want) {
			t.Errorf("title %q lacks %q", got, want)
		}
	}
}
