package ui

import (
	"slices"
	"testing"
)

func TestBGPRows(t *testing.T) {
	r := fixtureReport()
	b := r.BGP
	cases := []struct {
		name string
		row  row
		want []string
		tone tone // of the cell at col
		col  int
	}{
		// A session that went down says so in the bad tone and names the NOTIFICATION.
		{"session", sessionRow(&b.Sessions[0]), []string{"b1", "192.168.100.4 <-> 192.168.100.1", "64628/64623", "30s", "down", "2/2/1/5/0", "bgp-mux", "Cease / Administrative Reset from 192.168.100.4 at 09:00:45.000002"}, toneBad, 4},
		{"established event is good", bgpEventRow(1, &b.Events[1]), []string{"09:00:00.000068", "b1", "192.168.100.1", "established", ""}, toneGood, 3},
		{"down event is bad", bgpEventRow(2, &b.Events[2]), []string{"09:00:45.000002", "b1", "192.168.100.4", "down", "closed by NOTIFICATION"}, toneBad, 3},
		// An announcement shows its attributes, an AS_SET in braces.
		{"announce", routeRow(0, &b.Routes[0]), []string{"09:00:00.000090", "b1", "192.168.100.4", "announce", "192.168.102.4/32", "192.168.100.4", "64628 {65001,65002}", "64628:100"}, toneGood, 3},
		// A withdrawal carries no attributes and is coloured as bad news.
		{"withdraw", routeRow(1, &b.Routes[1]), []string{"09:00:20.000002", "b1", "192.168.100.4", "withdraw", "192.168.102.4/32", "", "", ""}, toneBad, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.row.texts(); !slices.Equal(got, c.want) {
				t.Errorf("got  %q\nwant %q", got, c.want)
			}
			if c.row.cells[c.col].tone != c.tone {
				t.Errorf("tone %d, want %d", c.row.cells[c.col].tone, c.tone)
			}
		})
	}
}
