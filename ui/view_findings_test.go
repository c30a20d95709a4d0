package ui

import (
	"slices"
	"strings"
	"testing"

	"github.com/stackflow/stackflow/flows"
)

func TestSortedFindings(t *testing.T) {
	r := fixtureReport()
	var got []string
	for _, i := range sortedFindings(r) {
		got = append(got, r.Findings[i].Kind)
	}
	// Errors first (in report order), then warnings, then info.
	want := []string{"traffic_to_withdrawn_route", "bgp_session_down", "hop_loss", "probe_note"}
	if !slices.Equal(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}
	if rw := findingRow(1, &r.Findings[1]); rw.cells[0].tone != toneBad || rw.cells[0].text != "error" {
		t.Errorf("error row %q tone %d", rw.texts(), rw.cells[0].tone)
	}
}

func TestEvidence(t *testing.T) {
	r := fixtureReport()
	cases := []struct {
		name   string
		f      int
		action string
		detail []string
	}{
		// A path wins over the flows also named.
		{"path", 0, "path", []string{"paths: p4", "flows: f4", "Enter: show path p4"}},
		// Flows win over packets, and p still offers the packets.
		{"flow", 1, "flow", []string{"flows: f2", "packets: nat-bgp#7", "Enter: show flow f2", "p: list its 1 packet"}},
		{"packets only", 2, "packets", []string{"packets: host-portal#3 host-portal#4", "Enter: list the 2 packets"}},
		// A BGP finding with addresses only goes to the BGP view.
		{"bgp", 3, "bgp", []string{"addresses: 192.168.100.4 192.168.100.1", "Enter: show the BGP sessions"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := &r.Findings[c.f]
			if got := evidenceAction(f); got != c.action {
				t.Errorf("action %q, want %q", got, c.action)
			}
			d := findingDetail(f)
			for _, w := range c.detail {
				if !strings.Contains(d, w) {
					t.Errorf("detail %q lacks %q", d, w)
				}
			}
		})
	}
}

func TestProblemRow(t *testing.T) {
	cases := []struct {
		name string
		p    flows.Problem
		want []string
	}{
		{"positioned", flows.Problem{Kind: "truncated_record", File: "a.pcap", Packet: 3, Offset: 1234, Message: "record cut"},
			[]string{"truncated_record", "a.pcap", "3", "1234", "record cut"}},
		// A summary entry ("N more ... not listed") has no file and so no position.
		{"summary", flows.Problem{Kind: "bad_timestamp", Message: "12 more bad_timestamp problems not listed"},
			[]string{"bad_timestamp", "", "-", "-", "12 more bad_timestamp problems not listed"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := problemRow(0, &c.p).texts(); !slices.Equal(got, c.want) {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}
