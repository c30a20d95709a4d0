package ui

import (
	"slices"
	"testing"
)

func TestSortedFlows(t *testing.T) {
	r := fixtureReport()
	ids := func(idx []int) []string {
		var out []string
		for _, i := range idx {
			out = append(out, r.Flows[i].ID)
		}
		return out
	}
	cases := []struct {
		name string
		by   flowSort
		desc bool
		want []string
	}{
		{"largest first", sortBytes, true, []string{"f2", "f1", "f4", "f3"}},
		// Equal packet counts (f1, f2) keep id order in both directions.
		{"packets descending", sortPackets, true, []string{"f3", "f1", "f2", "f4"}},
		{"packets ascending", sortPackets, false, []string{"f4", "f1", "f2", "f3"}},
		{"first packet time", sortFirst, false, []string{"f2", "f3", "f1", "f4"}},
		{"state", sortState, false, []string{"f4", "f2", "f1", "f3"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := ids(sortedFlows(r, c.by, c.desc)); !slices.Equal(got, c.want) {
				t.Errorf("order %v, want %v", got, c.want)
			}
		})
	}
}

func TestFlowRow(t *testing.T) {
	r := fixtureReport()
	cases := []struct {
		name  string
		flow  int
		want  []string
		state tone
	}{
		// A plain flow: no VNI, a complete connection in the good tone.
		{"plain", 0, []string{"f1", "client-nat", "tcp", "192.168.200.10:50001", "192.168.102.4:443", "-", "20", "2.9 KiB", "09:00:03.000000", "SF", "1:aaa="}, toneGood},
		// A tunnelled flow shows its VNI; a rejected connection is a warning.
		{"tunnelled", 3, []string{"f4", "mux-host", "tcp", "192.168.201.2:40000", "192.168.102.4:443", "4114", "5", "700 B", "09:00:04.000000", "REJ", "1:ddd="}, toneWarn},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rw := flowRow(&r.Flows[c.flow])
			if got := rw.texts(); !slices.Equal(got, c.want) {
				t.Errorf("got  %q\nwant %q", got, c.want)
			}
			if rw.cells[9].tone != c.state {
				t.Errorf("state tone %d, want %d", rw.cells[9].tone, c.state)
			}
		})
	}
}

func TestIDNumber(t *testing.T) {
	cases := map[string]int{"f12": 12, "p7": 7, "3": 3, "": 0, "x": 0}
	for in, want := range cases {
		if got := idNumber(in); got != want {
			t.Errorf("idNumber(%q) = %d, want %d", in, got, want)
		}
	}
}
