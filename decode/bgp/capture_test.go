package bgp

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// Expected numbers in this file are tshark 4.0.17's, read off the captures with
//
//	tshark -r F -Y bgp -T fields -e frame.number -e bgp.type
//	tshark -r F -Y bgp -T fields -e bgp.nlri_prefix -e bgp.withdrawn_prefix \
//	    -e bgp.mp_reach_nlri_ipv4_prefix -e bgp.mp_reach_nlri_ipv6_prefix ...
//	tshark -r F -V -Y frame.number==N   (AS paths, communities, OPEN fields)
//
// "frames" is the number of packets tshark dissects BGP in, i.e. packets where a message
// ends: what Feed must flag for the report's protocols.bgp. AS paths merged from AS_PATH
// and AS4_PATH apply RFC 6793 section 4.2.3 to the two attributes tshark shows.

type captureSummary struct {
	counts Counts
	frames []uint64
	routes map[string]int // "announce ipv4-unicast" -> count
}

func summarize(t *testing.T, name string) (*Assembler, captureSummary) {
	t.Helper()
	a := NewAssembler(Options{})
	s := captureSummary{routes: map[string]int{}}
	s.frames = run(readSegments(t, name), 0, a)
	a.Flush()
	s.counts = a.Counts()
	for _, m := range a.Messages() {
		for _, r := range m.Routes() {
			s.routes[r.Event+" "+FamilyName(r.AFI, r.SAFI)]++
		}
	}
	return a, s
}

// updateIn returns the i-th UPDATE whose last byte is in packet n.
func updateIn(t *testing.T, a *Assembler, n uint64, i int) *Message {
	t.Helper()
	for k := range a.Messages() {
		m := &a.Messages()[k]
		if m.Last.Number == n && m.Type == TypeUpdate {
			if i == 0 {
				return m
			}
			i--
		}
	}
	t.Fatalf("no update #%d ending in packet %d", i, n)
	return nil
}

func TestCaptures(t *testing.T) {
	cases := []struct {
		file   string
		why    string
		counts Counts
		frames int
		routes map[string]int
		check  func(t *testing.T, a *Assembler)
	}{
		{
			file: "bgp-2byte-as-communities.pcap", why: "2-octet session: AS_SET, communities, LOCAL_PREF, MED",
			counts: Counts{Open: 2, Update: 3, Keepalive: 4}, frames: 7,
			routes: map[string]int{"announce ipv4-unicast": 3},
			check: func(t *testing.T, a *Assembler) {
				u := updateIn(t, a, 16, 0).Update
				if got := u.ASPath.String(); got != "{500,500} 65211" || u.Origin != "incomplete" || *u.LocalPref != 100 {
					t.Errorf("frame 16 update: path %q origin %s", got, u.Origin)
				}
				if !slices.Equal(u.Communities, []string{"65215:1", "790:4", "340:250"}) {
					t.Errorf("frame 16 communities %v", u.Communities)
				}
				u = updateIn(t, a, 17, 0).Update
				if u.Origin != "egp" || u.MED == nil || *u.MED != 0 || !slices.Equal(u.Communities, []string{"65033:500", "65033:600"}) {
					t.Errorf("frame 17 update %+v", u)
				}
				s := a.Sessions()
				if len(s) != 1 || s[0].ASN != [2]uint32{65033, 65033} || s[0].FourOctetAS || s[0].State != StateEstablished {
					t.Errorf("sessions %+v", s)
				}
			},
		},
		{
			file: "bgp-4byte-asn-session.pcap", why: "OPENs decide 2- or 4-octet per session; AS4_PATH merges; NOTIFICATION",
			counts: Counts{Open: 8, Update: 10, Notification: 1, Keepalive: 16}, frames: 33,
			routes: map[string]int{"announce ipv4-unicast": 35, "withdraw ipv4-unicast": 15},
			check: func(t *testing.T, a *Assembler) {
				paths := []struct {
					frame uint64
					want  string
					width uint8
				}{
					{13, "200 1 222222 333333 4294967290", 2},            // AS_PATH 200 1 23456 23456 23456 + AS4_PATH
					{37, "2764334674 200 1 222222 333333 4294967290", 4}, // 4-octet session
					{52, "2764334674 200 1 222222 333333 4294967290", 2}, // AS_PATH of 6, AS4_PATH of 6
					{81, "2764334674 1", 2},                              // 23456 1 + AS4_PATH 2764334674 1
				}
				for _, p := range paths {
					u := updateIn(t, a, p.frame, 0).Update
					if got := u.ASPath.String(); got != p.want || u.ASWidth != p.width || u.ASWidthFrom != "open" {
						t.Errorf("frame %d: path %q width %d from %s, want %q width %d", p.frame, got, u.ASWidth, u.ASWidthFrom, p.want, p.width)
					}
				}
				ss := a.Sessions()
				want4 := []bool{false, true, false, true}
				if len(ss) != 4 {
					t.Fatalf("%d sessions, want 4 (two connection attempts were refused with RST)", len(ss))
				}
				for i, s := range ss {
					if s.FourOctetAS != want4[i] {
						t.Errorf("session %d four_octet_as %v", i, s.FourOctetAS)
					}
				}
				s := ss[3]
				if s.State != StateDown || s.Notification == nil || s.Notification.Name != "Cease / Other Configuration Change" ||
					s.ASN != [2]uint32{1, 2764334674} {
					t.Errorf("session 3 %+v", s)
				}
			},
		},
		{
			file: "bgp-5-updates-one-segment-large-community.pcap", why: "five messages in one segment; large communities; 4-octet AS detected without OPEN",
			counts: Counts{Update: 5}, frames: 1,
			routes: map[string]int{"announce ipv4-unicast": 5},
			check: func(t *testing.T, a *Assembler) {
				var large []string
				for _, m := range a.Messages() {
					large = append(large, strings.Join(m.Update.LargeCommunities, " "))
					if m.Update.ASPath.String() != "65536" || m.Update.ASWidthFrom != "detected" {
						t.Errorf("path %q from %s", m.Update.ASPath, m.Update.ASWidthFrom)
					}
				}
				want := []string{"65535:1:1 4294967295:4294967295:4294967295", "65536:1:1 65536:1:2", "65536:1:1",
					"65536:0:1 65536:1:0", "65536:1:1 65536:1:2 65536:1:3"}
				if !slices.Equal(large, want) {
					t.Errorf("large communities %q", large)
				}
			},
		},
		{
			file: "bgp-as4path-mixed-chdlc.pcap", why: "Cisco HDLC; AS_TRANS in AS_PATH merged with AS4_PATH, widths detected",
			counts: Counts{Update: 2, Keepalive: 2}, frames: 4,
			routes: map[string]int{"announce ipv4-unicast": 2},
			check: func(t *testing.T, a *Assembler) {
				for i, want := range []string{"655361 2621441", "2 2621441"} {
					u := updateIn(t, a, uint64(i+2), 0).Update
					if got := u.ASPath.String(); got != want || u.ASWidth != 2 || u.ASWidthFrom != "detected" {
						t.Errorf("update %d: path %q (raw %q) width %d from %s, want %q", i, got, u.RawASPath, u.ASWidth, u.ASWidthFrom, want)
					}
				}
			},
		},
		{
			file: "bgp-frr-3peers-communities.pcapng", why: "pcapng; FRR capabilities; ADD-PATH advertised receive-only is not negotiated",
			counts: Counts{Open: 4, Update: 24, Keepalive: 60}, frames: 73,
			routes: map[string]int{"announce ipv4-unicast": 24},
			check: func(t *testing.T, a *Assembler) {
				u := updateIn(t, a, 24, 0).Update
				if u.ASPath.String() != "65100" || u.NextHop.String() != "192.168.51.2" || *u.MED != 0 ||
					!slices.Equal(u.Communities, []string{"321:654"}) || u.NLRI[0].Text != "10.30.0.0/16" {
					t.Errorf("frame 24 update %+v", u)
				}
				for _, s := range a.Sessions() {
					if s.AddPath || !s.FourOctetAS || !s.ExtendedMessage || s.State != StateEstablished {
						t.Errorf("session %d: add_path %v four_octet %v extended %v state %s", s.Index, s.AddPath, s.FourOctetAS, s.ExtendedMessage, s.State)
					}
					if !slices.ContainsFunc(s.Capabilities[0], func(c Capability) bool { return c.String() == "fqdn ubuntu01" }) {
						t.Errorf("session %d capabilities %v", s.Index, s.Capabilities[0])
					}
				}
			},
		},
		{
			file: "bgp-mp-reach-ipv6-unicast.pcap", why: "MP_REACH IPv6 with a link-local next hop, over IPv6 transport",
			counts: Counts{Open: 4, Update: 4, Keepalive: 16}, frames: 24,
			routes: map[string]int{"announce ipv4-unicast": 6, "announce ipv6-unicast": 6},
			check: func(t *testing.T, a *Assembler) {
				r := updateIn(t, a, 14, 0).Update.Reach
				if len(r) != 1 || r[0].NextHop.String() != "2001:db8::2" || r[0].LinkLocal.String() != "fe80::c002:bff:fe7e:0" ||
					prefixTexts(r[0].NLRI) != "2001:db8:2:2::/64 2001:db8:2:1::/64 2001:db8:2::/64" {
					t.Errorf("frame 14 mp_reach %+v", r)
				}
			},
		},
		{
			file: "bgp-multisession-v4v6-mp-unreach.pcap", why: "23 connections over v4 and v6; End-of-RIB as empty MP_UNREACH",
			counts: Counts{Open: 20, Update: 100, Keepalive: 171}, frames: 217,
			routes: map[string]int{"announce ipv4-unicast": 68, "announce ipv6-unicast": 60},
			check: func(t *testing.T, a *Assembler) {
				eor := 0
				for _, m := range a.Messages() {
					if m.Update != nil {
						for _, u := range m.Update.Unreach {
							if u.Family == (Family{2, 1}) && len(u.NLRI) == 0 {
								eor++
							}
						}
					}
				}
				if eor != 10 { // tshark: 10 bgp.update.path_attribute.mp_unreach_nlri.afi, no prefixes
					t.Errorf("%d IPv6 End-of-RIB markers, want 10", eor)
				}
			},
		},
		{
			file: "bgp-route-refresh-soft-reset.pcap", why: "ROUTE-REFRESH and the UPDATE burst it triggers, several per segment",
			counts: Counts{Update: 12, Keepalive: 8, RouteRefresh: 1}, frames: 11,
			routes: map[string]int{"announce ipv4-unicast": 26},
			check: func(t *testing.T, a *Assembler) {
				for _, m := range a.Messages() {
					if m.RouteRefresh != nil && m.RouteRefresh.Family != (Family{1, 1}) {
						t.Errorf("route refresh for %v", m.RouteRefresh.Family)
					}
				}
			},
		},
		{
			file: "bgp-vpn-updates-split-across-segments.pcap", why: "VPNv4 with RDs and labels, messages crossing segments, no handshake",
			counts: Counts{Open: 1, Update: 26, Keepalive: 1}, frames: 5,
			routes: map[string]int{"announce ipv4-vpn": 43},
			check: func(t *testing.T, a *Assembler) {
				u := updateIn(t, a, 3, 0).Update
				p := u.Reach[0].NLRI[0]
				if p.Text != "10.138.187.10/32" || p.RD != "65511:1581019" || !slices.Equal(p.Labels, []uint32{24163}) ||
					u.Reach[0].NextHop.String() != "10.10.0.33" || !slices.Equal(u.ExtCommunities, []string{"rt:65511:1581", "rt:65511:881581"}) {
					t.Errorf("first vpn route %+v in %+v", p, u)
				}
				var rds []string
				for _, m := range a.Messages() {
					for _, r := range m.Routes() {
						rds = append(rds, r.RD)
					}
				}
				if !slices.Contains(rds, "4200073286:11009") || slices.Contains(rds, "") {
					t.Errorf("route distinguishers %v", rds)
				}
				// Two UPDATEs cross segment boundaries (frames 3->4 and 4->5, as tshark shows).
				var crossing []string
				for _, m := range a.Messages() {
					if m.First.Number != m.Last.Number {
						crossing = append(crossing, fmt.Sprintf("%d->%d", m.First.Number, m.Last.Number))
					}
				}
				if !slices.Equal(crossing, []string{"3->4", "4->5"}) {
					t.Errorf("messages crossing segments %v", crossing)
				}
				// The capture stops 23 bytes before the end of a 142-byte UPDATE.
				if k := problemKinds(a); k[ProblemTruncated] != 1 || len(k) != 1 {
					t.Errorf("problems %v, want the one truncated message", a.Problems())
				}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			t.Log(tc.why)
			a, s := summarize(t, tc.file)
			if s.counts != tc.counts {
				t.Errorf("counts %+v, want %+v", s.counts, tc.counts)
			}
			if len(s.frames) != tc.frames {
				t.Errorf("%d packets with message ends, want %d", len(s.frames), tc.frames)
			}
			if fmt.Sprint(s.routes) != fmt.Sprint(tc.routes) {
				t.Errorf("routes %v, want %v", s.routes, tc.routes)
			}
			if tc.file != "bgp-vpn-updates-split-across-segments.pcap" {
				mustNoProblems(t, a)
			}
			for _, m := range a.Messages() {
				if m.Err != nil {
					t.Errorf("message %d (%s, packet %d): %v", m.Index, m.TypeName(), m.Last.Number, m.Err)
				}
			}
			tc.check(t, a)
		})
	}
}

func prefixTexts(ps []Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.Text
	}
	return strings.Join(s, " ")
}

func TestCaptureMalformed(t *testing.T) {
	// Why: a fuzzer-made stream (bad markers, impossible lengths, truncated 64 KB frame,
	// overlapping segments) must not panic; damage is reported and what frames cleanly
	// parses. tshark 4.0.17 decodes 6 UPDATEs in frame 1 and flags frames 1, 2 and 4 as
	// malformed; after frame 1 our resynchronisation finds more messages than tshark does.
	a, s := summarize(t, "bgp-malformed-aspath-fuzzed.pcap")
	if len(s.frames) == 0 || s.frames[0] != 1 {
		t.Fatalf("packets with ends %v", s.frames)
	}
	first := 0
	for _, m := range a.Messages() {
		if m.Last.Number == 1 && m.Offset < 827 {
			first++
		}
	}
	if first != 6 {
		t.Errorf("%d messages in the first 827 bytes of frame 1, want tshark's 6", first)
	}
	k := problemKinds(a)
	for _, kind := range []string{ProblemMalformed, ProblemBadMarker, ProblemResync, ProblemTruncated} {
		if k[kind] == 0 {
			t.Errorf("no %s problem in %v", kind, k)
		}
	}
	for _, p := range a.Problems() {
		if p.Packet == 0 {
			t.Errorf("problem without a packet: %v", p)
		}
	}
	if s.counts.Total() != len(a.Messages()) {
		t.Errorf("counts %+v disagree with %d messages", s.counts, len(a.Messages()))
	}
}

func TestCaptureAtTwoPoints(t *testing.T) {
	// Why: the same capture fed as two capture points (the second 200 µs later, segments
	// interleaved) must give the same counts and sessions, each listing both points, while
	// both points' packets report their message ends.
	segs := readSegments(t, "bgp-4byte-asn-session.pcap")
	a := NewAssembler(Options{})
	frames := map[int]int{}
	for i := range segs {
		for point := range 2 {
			s := segs[i]
			s.pkt.Point = point
			s.pkt.Time += int64(point) * 200_000
			if a.Feed(point, &s.pkt, s.tcp) > 0 {
				frames[point]++
			}
		}
	}
	a.Flush()
	mustNoProblems(t, a)
	if want := (Counts{Open: 8, Update: 10, Notification: 1, Keepalive: 16}); a.Counts() != want {
		t.Errorf("counts %+v, want %+v", a.Counts(), want)
	}
	if frames[0] != 33 || frames[1] != 33 {
		t.Errorf("packets with ends per point %v, want 33 each", frames)
	}
	ss := a.Sessions()
	if len(ss) != 4 {
		t.Fatalf("%d sessions, want 4", len(ss))
	}
	for _, s := range ss {
		if !slices.Equal(s.Points, []int{0, 1}) {
			t.Errorf("session %d points %v", s.Index, s.Points)
		}
	}
}
