package ui

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/stackflow/stackflow/decode"
	"github.com/stackflow/stackflow/flows"
)

func TestFileSourcePath(t *testing.T) {
	r, src := analyzeSample(t, "azurestack-poc.pcapng")
	// The longest path of the sample crosses NAT, router, Mux (VXLAN) and host.
	var p *flows.Path
	for i := range r.Paths {
		if p == nil || len(r.Paths[i].Hops) > len(p.Hops) {
			p = &r.Paths[i]
		}
	}
	l, err := src.Packets(context.Background(), Target{Sel: flows.Selection{Path: p.ID}})
	if err != nil {
		t.Fatal(err)
	}
	perHop := make([]int, len(p.Hops))
	for _, row := range l.Rows {
		if row.Hop < 0 || row.Hop >= len(p.Hops) {
			t.Fatalf("row %+v names hop %d of %d", row, row.Hop, len(p.Hops))
		}
		h := p.Hops[row.Hop]
		perHop[row.Hop]++
		// Each packet was read at its hop's point, kept its bytes, and its summary shows the
		// hop's innermost addresses.
		if row.Point != h.Point || len(row.Data) == 0 || row.LinkType != 1 {
			t.Errorf("#%d: point %s (hop says %s), %d bytes, link type %d", row.Number, row.Point, h.Point, len(row.Data), row.LinkType)
		}
		if !strings.Contains(row.Info, h.Src) || !strings.Contains(row.Info, h.Dst) {
			t.Errorf("#%d at hop %d: info %q lacks %s > %s", row.Number, row.Hop+1, row.Info, h.Src, h.Dst)
		}
		if h.VNI != nil && !strings.HasPrefix(row.Info, "vxlan ") {
			t.Errorf("#%d on a VXLAN hop: info %q", row.Number, row.Info)
		}
	}
	for i, h := range p.Hops {
		if perHop[i] < h.Packets {
			t.Errorf("hop %d: %d packets listed, the report counts %d", i+1, perHop[i], h.Packets)
		}
	}
	if l.Stats == nil || l.Total != len(l.Rows) || !slices.IsSortedFunc(l.Rows, func(a, b PacketRow) int { return int(a.Time - b.Time) }) {
		t.Errorf("stats %+v, total %d rows %d, or not in time order", l.Stats, l.Total, len(l.Rows))
	}
}

func TestFileSourceFlowAndLimits(t *testing.T) {
	r, src := analyzeSample(t, "azurestack-poc.pcapng")
	f := r.Flows[0]
	l, err := src.Packets(context.Background(), Target{Sel: flows.Selection{Flow: f.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if l.Total != f.Packets || len(l.Rows) != f.Packets {
		t.Errorf("flow %s: %d packets listed, the report counts %d", f.ID, l.Total, f.Packets)
	}
	for _, row := range l.Rows {
		if row.Point != f.Point || row.Hop != -1 {
			t.Errorf("#%d at %s hop %d, flow is at %s", row.Number, row.Point, row.Hop, f.Point)
		}
	}
	// Limits: rows beyond MaxRows are counted, not kept; bytes beyond MaxBytes are dropped.
	small := *src
	small.MaxRows, small.MaxBytes = 3, 100
	l2, err := small.Packets(context.Background(), Target{Sel: flows.Selection{Flow: f.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if len(l2.Rows) != 3 || l2.Total != f.Packets || l2.Rows[0].Data == nil || l2.Rows[2].Data != nil {
		t.Errorf("limited: %d rows of %d, first data %d bytes, third %d", len(l2.Rows), l2.Total, len(l2.Rows[0].Data), len(l2.Rows[2].Data))
	}
	if s := packetSummary(l2); !strings.Contains(s, "(the first 3 listed)") {
		t.Errorf("summary %q does not say the list was cut", s)
	}
	// An id the analysis did not produce is an error, not an empty list.
	if _, err := src.Packets(context.Background(), Target{Sel: flows.Selection{Flow: "f999999"}}); !errors.Is(err, flows.ErrUnknownSelection) {
		t.Errorf("unknown flow: %v", err)
	}
}

func TestFileSourceRefs(t *testing.T) {
	r, src := analyzeSample(t, "fault-mtu-fragneeded.pcapng")
	var refs []flows.PacketRef
	for _, f := range r.Findings {
		if len(f.Evidence.Packets) > 0 && len(f.Evidence.PathIDs) == 0 {
			refs = f.Evidence.Packets
			break
		}
	}
	if len(refs) == 0 {
		t.Fatal("the sample has no finding with packet evidence")
	}
	want := slices.Clone(refs)
	refs = append(refs, flows.PacketRef{Point: refs[0].Point, Number: 1 << 40}, flows.PacketRef{Point: "nowhere", Number: 1})
	l, err := src.Packets(context.Background(), Target{Refs: refs})
	if err != nil {
		t.Fatal(err)
	}
	var got []flows.PacketRef
	for _, row := range l.Rows {
		got = append(got, flows.PacketRef{Point: row.Point, Number: row.Number})
		// These findings are about ICMP errors a too-small MTU provokes.
		if !strings.Contains(row.Info, "fragmentation needed") {
			t.Errorf("#%d: %q", row.Number, row.Info)
		}
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("referenced packet %v not listed", w)
		}
	}
	// A number past the file's end and an unknown point are reported missing.
	if len(l.Missing) != 2 {
		t.Errorf("missing %v, want 2 entries", l.Missing)
	}
}

func TestFileSourceStdin(t *testing.T) {
	src := &FileSource{Files: []string{"-"}}
	if _, err := src.Packets(context.Background(), Target{Sel: flows.Selection{Path: "p1"}}); !errors.Is(err, errStdin) {
		t.Errorf("stdin: %v", err)
	}
}

func TestPacketInfo(t *testing.T) {
	dec := decode.NewDecoder(decode.Options{VXLANPorts: []uint16{4789, 8472}})
	var p decode.Packet
	cases := []struct {
		name string
		data []byte
		want string
	}{
		// The tunnel comes first, then the innermost packet with its TCP flags as tcpdump
		// letters.
		{"vxlan syn", vxlanFrame(t, 8472, 4114), "vxlan 4114 | TCP 192.168.201.2:40000 > 192.168.102.4:443 [S] seq 1000 len 0 ttl 63"},
		{"not ip", []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x88, 0xcc, 0}, "non-IP frame 06:07:08:09:0a:0b > 00:01:02:03:04:05"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dec.Decode(c.data, 1, uint32(len(c.data)), &p)
			if got := packetInfo(&p); got != c.want {
				t.Errorf("got  %q\nwant %q", got, c.want)
			}
		})
	}
	if got := icmpName(1, 3, 4); got != "unreachable: fragmentation needed" {
		t.Errorf("frag needed: %q", got)
	}
}

func TestPacketRows(t *testing.T) {
	l := &PacketList{Total: 2, Rows: []PacketRow{
		{File: "/x/a.pcap", Number: 7, Time: 1715677201000381000, Point: "nat", Hop: 1, Len: 74, Info: "ICMP"},
		{File: "/x/a.pcap", Number: 9, Time: 1715677201000500000, Point: "mux", Hop: -1, Len: 124, Info: "vxlan"},
	}}
	hop := func(i int) string { return []string{"none", "snat"}[i] }
	rows := packetRows(l, hop)
	// One file: the frame is its number alone; a path hop is named by its transform.
	want := []string{"#7", "09:00:01.000381", "nat", "2 snat", "74", "ICMP"}
	if got := rows[0].texts(); !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := rows[1].cells[3].text; got != "-" {
		t.Errorf("no hop: %q", got)
	}
	// Several files: the frame names its file.
	l.Rows[1].File = "/y/b.pcap"
	if got := packetRows(l, hop)[1].cells[0].text; got != "b.pcap #9" {
		t.Errorf("frame %q", got)
	}
	if s := packetSummary(&PacketList{Total: 1, Rows: l.Rows[:1]}); s != "1 packet from a.pcap" {
		t.Errorf("summary %q", s)
	}
}
