package ui

import (
	"fmt"
	"slices"
	"testing"

	"github.com/stackflow/stackflow/flows"
)

func TestTopologyRows(t *testing.T) {
	r := fixtureReport()
	// VIP -> DIP mappings come first although the report lists the SNAT first.
	idx := sortedNAT(r)
	if r.NAT[idx[0]].Kind != "vip_dip" || r.NAT[idx[1]].Kind != "snat" {
		t.Fatalf("NAT order %v", idx)
	}
	names := nodeNames(r)
	cases := []struct {
		name string
		row  row
		want []string
	}{
		{"node", nodeRow(&r.Nodes[2]), []string{"n3", "mux(192.168.100.68)", "mux,bgp_speaker", "192.168.100.68", ""}},
		// The mapping names its node by name, not id.
		{"vip_dip", natRow(idx[0], &r.NAT[idx[0]], names), []string{"vip_dip", "host(192.168.100.70)", "tcp", "10.0.0.4:443", "192.168.102.4:443", "40", "", ""}},
		{"tunnel", tunnelRow(0, &r.Tunnels[0]), []string{"vxlan", "4114", "192.168.100.68 > 192.168.100.70", "0", "20", "2.3 KiB", "09:00:01.000000", "09:00:02.000000"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.row.texts(); !slices.Equal(got, c.want) {
				t.Errorf("got  %q\nwant %q", got, c.want)
			}
		})
	}
}

// TestTopologyFilters checks that the expressions Enter builds compile in the filter language
// and keep what they are about.
func TestTopologyFilters(t *testing.T) {
	r := fixtureReport()
	cases := []struct {
		name      string
		expr      string
		wantFlows []string
	}{
		{"node addresses", hostsFilter(r.Nodes[0].Addresses), []string{"f1"}},
		// Endpoints with ports: the SNAT's inside and outside sides.
		{"nat endpoints", endpointFilter("192.168.200.10:50001") + " or " + endpointFilter("192.168.201.2:40000"), []string{"f1", "f2", "f4"}},
		{"bare address", endpointFilter("192.168.100.68"), []string{"f3"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := flows.CompileFilter(c.expr)
			if err != nil {
				t.Fatalf("%q: %v", c.expr, err)
			}
			var got []string
			for _, fl := range f.Apply(r).Flows {
				got = append(got, fl.ID)
			}
			for _, w := range c.wantFlows {
				if !slices.Contains(got, w) {
					t.Errorf("%q kept %v, want %s among them", c.expr, got, w)
				}
			}
		})
	}
	if hostsFilter([]string{"not-an-address"}) != "" || endpointFilter("x:y") != "" {
		t.Error("unparsable addresses must give no filter")
	}
}

func TestPointRow(t *testing.T) {
	off := int64(-250)
	p := flows.Point{ID: "vNIC:Synthetic:Port1:4:0", File: "a.pcapng", Interface: "vNIC:Synthetic:Port1:4:0", LinkType: "ethernet", Packets: 3, Bytes: 2048, ClockOffsetUs: &off}
	want := []string{"vNIC:Synthetic:Port1:4:0", "vNIC:Synthetic:Port1:4:0", "ethernet", "3", "2.0 KiB", "-250us", "a.pcapng"}
	if got := pointRow(&p).texts(); !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	// The filter Enter builds for a point with colons in its id compiles.
	if _, err := flows.CompileFilter(fmt.Sprintf("point %q", p.ID)); err != nil {
		t.Errorf("point filter: %v", err)
	}
}
