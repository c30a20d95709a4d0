package conn

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stackflow/stackflow/decode"
)

func TestUDPAndICMPState(t *testing.T) {
	cases := []struct {
		name    string
		why     string
		pkts    []*decode.Packet
		state   string
		history string
		src     string
	}{
		{"udp-SF", "a DNS query and its answer",
			[]*decode.Packet{udp(0, "10.0.0.1:5353", "10.0.0.9:53", 30), udp(ms, "10.0.0.9:53", "10.0.0.1:5353", 90)},
			"SF", "Dd", "10.0.0.1"},
		{"udp-S0", "an unanswered query",
			[]*decode.Packet{udp(0, "10.0.0.1:40000", "10.0.0.9:53", 30)}, "S0", "D", "10.0.0.1"},
		{"udp-SHR", "only the answer was captured: the server port makes the client the originator",
			[]*decode.Packet{udp(0, "10.0.0.9:53", "10.0.0.1:40000", 90)}, "SHR", "^d", "10.0.0.1"},
		{"udp-both-server-ports", "two likely server ports: the sender stays the originator",
			[]*decode.Packet{udp(0, "10.0.0.9:123", "10.0.0.1:123", 48)}, "S0", "D", "10.0.0.9"},
		{"icmp-echo", "ping and pong: Zeek gives ICMP OTH and no history",
			[]*decode.Packet{icmp(0, false, "10.0.0.1:7", "10.0.0.2:7", 8, 0), icmp(ms, false, "10.0.0.2:7", "10.0.0.1:7", 0, 0)},
			"OTH", "", "10.0.0.1"},
		{"icmp-reply-first", "an echo reply seen first makes its receiver the originator",
			[]*decode.Packet{icmp(0, false, "10.0.0.2:7", "10.0.0.1:7", 0, 0)}, "OTH", "^", "10.0.0.1"},
		{"icmp6-reply-first", "the same for ICMPv6 echo reply (129)",
			[]*decode.Packet{icmp(0, true, "[fe80::2]:7", "[fe80::1]:7", 129, 0)}, "OTH", "^", "fe80::1"},
		{"gre", "another protocol: OTH, no history",
			[]*decode.Packet{pkt(0, 47, "10.0.0.1:0", "10.0.0.2:0")}, "OTH", "", "10.0.0.1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := one(t, c.pkts...)
			if r.StateCode() != c.state || r.History() != c.history {
				t.Errorf("state %s history %q, want %s %q (%s)", r.StateCode(), r.History(), c.state, c.history, c.why)
			}
			if r.Src() != netip.MustParseAddr(c.src) {
				t.Errorf("originator %v, want %s (%s)", r.Src(), c.src, c.why)
			}
		})
	}
}

func TestICMPCommunityIDIndependentOfFlip(t *testing.T) {
	// A flow's Community ID comes from its first packet; for an echo pair it must not matter
	// which one came first.
	req := one(t, icmp(0, false, "192.168.0.89:1", "192.168.0.1:1", 8, 0))
	rep := one(t, icmp(0, false, "192.168.0.1:1", "192.168.0.89:1", 0, 0))
	want := "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=" // spec baseline, see TestCommunityIDVectors
	if req.CommunityID() != want || rep.CommunityID() != want {
		t.Errorf("request %s reply %s, want both %s", req.CommunityID(), rep.CommunityID(), want)
	}
}

func TestFlowIDsFirstAppearance(t *testing.T) {
	// Ids follow first appearance across finished and active flows, and both directions of a
	// conversation meet in one flow.
	tb := NewTable(Config{})
	ids := []uint32{}
	for _, p := range []*decode.Packet{
		udp(0, "10.0.0.1:1000", "10.0.0.2:53", 10),
		udp(ms, "10.0.0.3:1000", "10.0.0.2:53", 10),
		udp(2*ms, "10.0.0.2:53", "10.0.0.1:1000", 10),
		udp(2*time.Minute, "10.0.0.4:1000", "10.0.0.2:53", 10), // the first two expire before this
	} {
		in, out := tb.Update(p)
		if out != 0 {
			t.Errorf("untunnelled packet got outer flow %d", out)
		}
		ids = append(ids, in)
	}
	if want := []uint32{1, 2, 1, 3}; !equal(ids, want) {
		t.Fatalf("ids %v, want %v", ids, want)
	}
	recs := tb.Records()
	if len(recs) != 3 || recs[0].ID != 1 || recs[1].ID != 2 || recs[2].ID != 3 {
		t.Fatalf("records %s not in id order", describe(recs))
	}
	if recs[0].Reason != IdleTimeout || recs[2].Reason != StillActive {
		t.Errorf("reasons %s, %s; want idle_timeout and active", recs[0].Reason, recs[2].Reason)
	}
	if recs[0].Orig.Packets != 1 || recs[0].Resp.Packets != 1 {
		t.Errorf("both directions should meet: %+v / %+v", recs[0].Orig, recs[0].Resp)
	}
}

func equal(a, b []uint32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// vxlan wraps an inner packet in a VXLAN tunnel from outer src to outer dst ("ip:port").
func vxlan(inner *decode.Packet, vni uint32, osrc, odst string) *decode.Packet {
	sa, sp := ap(osrc)
	da, dp := ap(odst)
	p := *inner
	p.Tunnels[0] = decode.Tunnel{Type: decode.TunnelVXLAN, VNI: vni, HasVNI: true,
		Outer: decode.Tuple{Src: sa, Dst: da, SrcPort: sp, DstPort: dp, Proto: ProtoUDP}}
	p.NTunnels = 1
	p.Len += 50
	return &p
}

func TestTunnelLinks(t *testing.T) {
	// The Mux encapsulates client->VIP traffic toward the host; the host's reply goes back in
	// another outer flow (its UDP source port hashes differently). The inner flow links to both
	// carriers, each carrier lists it, and the same inner tuple outside the tunnel (or in
	// another VNI) is another flow.
	fwd := vxlan(seg(0, cli, srv, "S", 1000, 0, 0), 4114, "192.168.0.10:51000", "192.168.0.20:4789")
	rev := vxlan(seg(ms, srv, cli, "SA", 5000, 1001, 0), 4114, "192.168.0.20:61000", "192.168.0.10:4789")
	ack := vxlan(seg(2*ms, cli, srv, "A", 1001, 5001, 0), 4114, "192.168.0.10:51000", "192.168.0.20:4789")
	other := vxlan(seg(3*ms, cli, srv, "S", 1000, 0, 0), 4115, "192.168.0.10:51000", "192.168.0.20:4789")
	plain := seg(4*ms, cli, srv, "S", 1000, 0, 0)
	vni0 := vxlan(seg(5*ms, cli, srv, "S", 1000, 0, 0), 0, "192.168.0.10:51000", "192.168.0.20:4789")

	tb := NewTable(Config{})
	type ids struct{ in, out uint32 }
	var got []ids
	for _, p := range []*decode.Packet{fwd, rev, ack, other, plain, vni0} {
		in, out := tb.Update(p)
		got = append(got, ids{in, out})
	}
	want := []ids{{2, 1}, {2, 3}, {2, 1}, {4, 1}, {5, 0}, {6, 1}}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("packet %d: (inner, outer) = %v, want %v", i, got[i], want[i])
		}
	}
	recs := tb.Records()
	byID := map[uint32]*Record{}
	for i := range recs {
		byID[recs[i].ID] = &recs[i]
	}
	in := byID[2]
	if in.Parent != 1 || in.Parent2 != 3 || in.StateCode() != "S1" {
		t.Errorf("inner parents %d,%d state %s; want 1,3 S1", in.Parent, in.Parent2, in.StateCode())
	}
	if v, ok := in.VNI(); !ok || v != 4114 {
		t.Errorf("inner vni %d,%v", v, ok)
	}
	if o := byID[1]; o.NChildren != 3 || !equal(o.TunnelChildren(), []uint32{2, 4, 6}) || o.Packets() != 4 || o.History() != "D" {
		t.Errorf("outer 1: children %v (%d), packets %d, history %q; want [2 4 6], 4, D",
			o.TunnelChildren(), o.NChildren, o.Packets(), o.History())
	}
	if o := byID[3]; !equal(o.TunnelChildren(), []uint32{2}) {
		t.Errorf("outer 3 children %v, want [2]", o.TunnelChildren())
	}
	if _, ok := byID[1].VNI(); ok {
		t.Error("outer flow has a VNI")
	}
	if v, ok := byID[6].VNI(); !ok || v != 0 {
		t.Error("VNI 0 must be a real VNI, distinct from no tunnel")
	}
	if byID[5].Parent != 0 {
		t.Error("untunnelled flow has a parent")
	}
	if byID[1].Orig.IPBytes != 0 || byID[2].Orig.IPBytes == 0 {
		t.Errorf("IP bytes: outer %d (want 0: unknown), inner %d", byID[1].Orig.IPBytes, byID[2].Orig.IPBytes)
	}
}

func TestNestedTunnelAndNonIP(t *testing.T) {
	// Two levels: each level is a flow whose parent is the level around it; a non-IP inner
	// frame (ARP) still counts on its carriers.
	p := vxlan(udp(0, "10.1.0.1:1000", "10.1.0.2:53", 20), 1, "10.0.0.1:40000", "10.0.0.2:4789")
	p.Tunnels[1] = decode.Tunnel{Type: decode.TunnelVXLAN, VNI: 2, HasVNI: true,
		Outer: decode.Tuple{Src: netip.MustParseAddr("172.16.0.1"), Dst: netip.MustParseAddr("172.16.0.2"),
			SrcPort: 40001, DstPort: 4789, Proto: ProtoUDP}}
	p.NTunnels = 2
	arp := *p
	arp.HasIP, arp.Inner = false, decode.Tuple{}
	tb := NewTable(Config{})
	in, out := tb.Update(p)
	ain, aout := tb.Update(&arp)
	if in != 3 || out != 1 || ain != 0 || aout != 1 {
		t.Fatalf("ids (%d,%d) and (%d,%d), want (3,1) and (0,1)", in, out, ain, aout)
	}
	recs := tb.Records()
	if len(recs) != 3 {
		t.Fatalf("%d flows, want 3", len(recs))
	}
	mid, inner := recs[1], recs[2]
	if mid.Parent != 1 || inner.Parent != 2 {
		t.Errorf("parents %d, %d; want 1, 2", mid.Parent, inner.Parent)
	}
	if v, _ := mid.VNI(); v != 1 {
		t.Errorf("middle flow vni %d, want 1 (the tunnel carrying it)", v)
	}
	if v, _ := inner.VNI(); v != 2 {
		t.Errorf("inner flow vni %d, want 2", v)
	}
	if recs[0].Packets() != 2 || mid.Packets() != 2 || inner.Packets() != 1 {
		t.Errorf("packets %d %d %d, want 2 2 1", recs[0].Packets(), mid.Packets(), inner.Packets())
	}
}

func TestIdleTimeouts(t *testing.T) {
	// Expiry is in capture time and per class: closed TCP after 5 s, established TCP after an
	// hour, UDP after 60 s. A packet for an expired key starts a new flow.
	var done []Record
	tb := NewTable(Config{OnFinish: func(r *Record) { done = append(done, *r) }})
	closed := with(handshake(),
		seg(30*ms, cli, srv, "FA", 1001, 5001, 0),
		seg(40*ms, srv, cli, "FA", 5001, 1002, 0),
		seg(50*ms, cli, srv, "A", 1002, 5002, 0))
	for _, p := range closed {
		tb.Update(p)
	}
	for _, p := range handshake() { // the same handshake on another port stays established
		q := *p
		if q.Inner.SrcPort == 40000 {
			q.Inner.SrcPort = 40001
		} else {
			q.Inner.DstPort = 40001
		}
		tb.Update(&q)
	}
	tb.Update(udp(0, "10.0.0.1:5000", "10.0.0.9:53", 10))

	tb.Update(udp(6*time.Second, "10.0.0.7:5000", "10.0.0.9:53", 10))
	if len(done) != 1 || done[0].StateCode() != "SF" || done[0].Reason != IdleTimeout {
		t.Fatalf("after 6 s: finished %s, want the closed TCP flow only", describe(done))
	}
	tb.Update(udp(61*time.Second, "10.0.0.7:5000", "10.0.0.9:53", 10))
	if len(done) != 2 || done[1].Key.Proto() != ProtoUDP || done[1].Src() != netip.MustParseAddr("10.0.0.1") {
		t.Fatalf("after 61 s: finished %s, want the first UDP flow too", describe(done))
	}
	if tb.Len() != 2 {
		t.Errorf("%d active flows, want the established TCP and the second UDP flow", tb.Len())
	}
	// A packet on the first UDP key after its timeout: a new flow with a new id.
	in, _ := tb.Update(udp(62*time.Second, "10.0.0.1:5000", "10.0.0.9:53", 10))
	if in != 5 {
		t.Errorf("expired key got flow %d, want new flow 5", in)
	}
	tb.Update(udp(3700*time.Second, "10.0.0.8:5000", "10.0.0.9:53", 10))
	st := tb.Stats()
	if st.IdleTimeouts != 5 || st.Active != 1 || st.Created != 6 {
		t.Errorf("stats %+v, want 5 idle timeouts, 1 active, 6 created", st)
	}
}

func TestLookupExpiryIndependentOfSweep(t *testing.T) {
	// With sweeps far apart, a late packet must still start a new flow: expiry is checked on
	// lookup too, so results do not depend on SweepInterval.
	tb := NewTable(Config{SweepInterval: time.Hour})
	a, _ := tb.Update(udp(0, "10.0.0.1:5000", "10.0.0.9:53", 10))
	b, _ := tb.Update(udp(61*time.Second, "10.0.0.1:5000", "10.0.0.9:53", 10))
	c, _ := tb.Update(udp(62*time.Second, "10.0.0.1:5000", "10.0.0.9:53", 10))
	if a == b || b != c {
		t.Errorf("ids %d %d %d, want a new flow after 61 s then the same", a, b, c)
	}
}

func TestMaxActiveEviction(t *testing.T) {
	// The table never holds more than MaxActive flows; the one idle longest goes first, not
	// the one created first.
	tb := NewTable(Config{MaxActive: 2})
	tb.Update(udp(0, "10.0.0.1:1", "10.0.0.9:53", 10))
	tb.Update(udp(ms, "10.0.0.2:1", "10.0.0.9:53", 10))
	tb.Update(udp(2*ms, "10.0.0.1:1", "10.0.0.9:53", 10)) // flow 1 is now the fresher one
	tb.Update(udp(3*ms, "10.0.0.3:1", "10.0.0.9:53", 10))
	if tb.Len() != 2 {
		t.Fatalf("%d active, want 2", tb.Len())
	}
	recs := tb.Records()
	if recs[1].ID != 2 || recs[1].Reason != Evicted {
		t.Errorf("records %s: want flow 2 evicted", describe(recs))
	}
	if st := tb.Stats(); st.Evictions != 1 || st.PeakActive != 2 {
		t.Errorf("stats %+v", st)
	}
}

func TestMaxActiveOneWithTunnel(t *testing.T) {
	// Pathological bound: the inner flow's creation evicts its own carrier. Nothing may break:
	// the link is recorded on the inner flow, and the table holds one flow.
	tb := NewTable(Config{MaxActive: 1})
	in, out := tb.Update(vxlan(udp(0, "10.1.0.1:1000", "10.1.0.2:53", 20), 1, "10.0.0.1:40000", "10.0.0.2:4789"))
	if in != 2 || out != 1 || tb.Len() != 1 {
		t.Fatalf("ids %d,%d active %d", in, out, tb.Len())
	}
	recs := tb.Records()
	if recs[1].Parent != 1 || recs[0].Reason != Evicted {
		t.Errorf("records %+v", recs)
	}
}

func frag(p *decode.Packet, id uint32, off uint16, more bool) *decode.Packet {
	p.IPID, p.FragOffset, p.MoreFrags = id, off, more
	p.Layers |= decode.HasFragment
	if off > 0 {
		p.Inner.SrcPort, p.Inner.DstPort, p.PayloadLen = 0, 0, 0
	}
	return p
}

func TestFragments(t *testing.T) {
	// Later fragments have no ports: they join their first fragment's flow, else a portless
	// flow of the address pair.
	first := frag(udp(0, "10.0.0.1:5000", "10.0.0.9:53", 1472), 77, 0, true)
	second := frag(udp(ms, "10.0.0.1:5000", "10.0.0.9:53", 0), 77, 1480, false)
	orphan := frag(udp(2*ms, "10.0.0.1:5000", "10.0.0.9:53", 0), 78, 1480, false)
	late := frag(udp(40*time.Second, "10.0.0.1:5000", "10.0.0.9:53", 0), 77, 2960, false)
	tb := NewTable(Config{})
	var got []uint32
	for _, p := range []*decode.Packet{first, second, orphan, late} {
		in, _ := tb.Update(p)
		got = append(got, in)
	}
	// The late fragment is beyond the 30 s fragment window: the portless flow expired (60 s
	// UDP timeout not yet), so it joins the portless flow again.
	if !equal(got, []uint32{1, 1, 2, 2}) {
		t.Fatalf("flows %v, want [1 1 2 2]", got)
	}
	recs := tb.Records()
	if recs[0].Orig.Packets != 2 || recs[0].History() != "D" || !recs[1].Key.Portless() || recs[1].HasPorts() {
		t.Errorf("records %s", describe(recs))
	}
	if st := tb.Stats(); st.FragJoined != 1 || st.FragOrphaned != 2 {
		t.Errorf("stats %+v, want 1 joined, 2 orphaned", st)
	}
}

func TestFragmentMemoryBounded(t *testing.T) {
	// The first-fragment memory is a ring: beyond MaxFragments the oldest is forgotten.
	tb := NewTable(Config{MaxFragments: 4})
	for i := range 10 {
		tb.Update(frag(udp(time.Duration(i)*ms, "10.0.0.1:5000", "10.0.0.9:53", 1472), uint32(i), 0, true))
	}
	if n := tb.frags.len(); n != 4 {
		t.Errorf("remembered %d first fragments, want 4", n)
	}
	in, _ := tb.Update(frag(udp(20*ms, "10.0.0.1:5000", "10.0.0.9:53", 0), 0, 1480, false))
	in9, _ := tb.Update(frag(udp(21*ms, "10.0.0.1:5000", "10.0.0.9:53", 0), 9, 1480, false))
	if in == 1 || in9 != 1 {
		t.Errorf("forgotten fragment joined flow %d, remembered one flow %d; want portless and 1", in, in9)
	}
}

func TestKeys(t *testing.T) {
	a := decode.Tuple{Src: netip.MustParseAddr("10.0.0.2"), Dst: netip.MustParseAddr("10.0.0.1"), SrcPort: 80, DstPort: 4000, Proto: 6}
	b := decode.Tuple{Src: a.Dst, Dst: a.Src, SrcPort: a.DstPort, DstPort: a.SrcPort, Proto: 6}
	cases := []struct {
		name string
		why  string
		ok   func() bool
	}{
		{"directions-meet", "A->B and B->A give one key with opposite directions", func() bool {
			ka, fa := MakeKey(0, a, 0, false)
			kb, fb := MakeKey(0, b, 0, false)
			return ka == kb && fa != fb && !fa
		}},
		{"point-separates", "the same tuple at two points is two flows", func() bool {
			k0, _ := MakeKey(0, a, 0, false)
			k1, _ := MakeKey(1, a, 0, false)
			return k0 != k1 && k1.Point() == 1
		}},
		{"vni0-is-real", "VNI 0 differs from no VNI", func() bool {
			k0, _ := MakeKey(0, a, 0, true)
			kn, _ := MakeKey(0, a, 0, false)
			return k0 != kn
		}},
		{"zero-invalid", "the zero key is invalid, and so is a tuple without addresses", func() bool {
			k, _ := MakeKey(0, decode.Tuple{Proto: 6}, 0, false)
			return !Key{}.Valid() && !k.Valid() && k == Key{}
		}},
		{"mixed-family-invalid", "an IPv4 and an IPv6 address cannot form a flow", func() bool {
			k, _ := MakeKey(0, decode.Tuple{Src: a.Src, Dst: netip.MustParseAddr("::1")}, 0, false)
			return !k.Valid()
		}},
		{"v4-mapped-differs", "10.0.0.1 and ::ffff:10.0.0.1 are different flows", func() bool {
			m := a
			m.Src, m.Dst = netip.AddrFrom16(a.Src.As16()), netip.AddrFrom16(a.Dst.As16())
			k4, _ := MakeKey(0, a, 0, false)
			k6, _ := MakeKey(0, m, 0, false)
			return k4 != k6 && k4.Is4() && !k6.Is4()
		}},
		{"accessors-round-trip", "Lo/Hi give back the addresses, low first", func() bool {
			k, _ := MakeKey(3, a, 9, true)
			la, lp := k.Lo()
			ha, hp := k.Hi()
			v, ok := k.VNI()
			return la == a.Dst && lp == 4000 && ha == a.Src && hp == 80 && v == 9 && ok && k.Proto() == 6 &&
				k.String() == "10.0.0.1:4000<->10.0.0.2:80 proto 6 point 3 vni 9"
		}},
		{"same-endpoint", "a packet to itself is forward both ways", func() bool {
			s := decode.Tuple{Src: a.Src, Dst: a.Src, SrcPort: 1, DstPort: 1, Proto: 17}
			_, f := MakeKey(0, s, 0, false)
			return f
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !c.ok() {
				t.Error(c.why)
			}
		})
	}
}

func TestDrainAndFlush(t *testing.T) {
	// Drain hands over finished records once; Flush finishes the rest in id order.
	tb := NewTable(Config{})
	tb.Update(udp(0, "10.0.0.1:1", "10.0.0.9:53", 10))
	tb.Update(udp(ms, "10.0.0.2:1", "10.0.0.9:53", 10))
	tb.Update(udp(2*time.Minute, "10.0.0.3:1", "10.0.0.9:53", 10))
	if d := tb.Drain(); len(d) != 2 || len(tb.Drain()) != 0 {
		t.Fatalf("drained %d then more", len(d))
	}
	tb.Flush()
	d := tb.Drain()
	if len(d) != 1 || d[0].ID != 3 || d[0].Reason != Flushed || tb.Len() != 0 {
		t.Errorf("after flush: %s", describe(d))
	}
	// The table is reusable after Flush and keeps numbering.
	if in, _ := tb.Update(udp(3*time.Minute, "10.0.0.4:1", "10.0.0.9:53", 10)); in != 4 {
		t.Errorf("next id %d, want 4", in)
	}
	// Flush gave back the flow slots and the index: they must work as new (the reply joins
	// flow 4, a flushed 5-tuple starts flow 5).
	if in, _ := tb.Update(udp(3*time.Minute+ms, "10.0.0.9:53", "10.0.0.4:1", 10)); in != 4 {
		t.Errorf("reply went to flow %d, want 4", in)
	}
	if in, _ := tb.Update(udp(3*time.Minute+2*ms, "10.0.0.3:1", "10.0.0.9:53", 10)); in != 5 || tb.Len() != 2 {
		t.Errorf("flushed 5-tuple went to flow %d with %d active, want 5 and 2", in, tb.Len())
	}
}

func TestUpdateExistingNoAllocs(t *testing.T) {
	// The hot path: a packet for an existing flow allocates nothing.
	tb := NewTable(Config{})
	ps := with(handshake(), seg(30*ms, cli, srv, "PA", 1001, 5001, 100))
	tunnelled := vxlan(seg(40*ms, cli, srv, "PA", 1101, 5001, 100), 7, "192.168.0.1:50000", "192.168.0.2:4789")
	for _, p := range ps {
		tb.Update(p)
	}
	tb.Update(tunnelled)
	p := ps[3]
	n := testing.AllocsPerRun(1000, func() {
		p.TCPSeq += 100
		p.Time += int64(ms)
		tb.Update(p)
		tunnelled.Time = p.Time
		tb.Update(tunnelled)
	})
	if n != 0 {
		t.Errorf("Update of existing flows allocates %v times per call", n)
	}
}

func TestHasPorts(t *testing.T) {
	// The report omits sport/dport where they do not apply: ICMP messages other than echo,
	// protocols without ports, fragments whose ports were never seen.
	cases := []struct {
		name string
		p    *decode.Packet
		want bool
	}{
		{"tcp", seg(0, cli, srv, "S", 1, 0, 0), true},
		{"udp", udp(0, "10.0.0.1:1", "10.0.0.2:2", 1), true},
		{"icmp-echo", icmp(0, false, "10.0.0.1:9", "10.0.0.2:9", 8, 0), true},
		{"icmp6-echo-reply", icmp(0, true, "[fe80::1]:9", "[fe80::2]:9", 129, 0), true},
		{"icmp-unreachable", icmp(0, false, "10.0.0.1:0", "10.0.0.2:0", 3, 3), false},
		{"gre", pkt(0, 47, "10.0.0.1:0", "10.0.0.2:0"), false},
		{"portless-fragment", frag(udp(0, "10.0.0.1:0", "10.0.0.2:0", 0), 1, 1480, false), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := one(t, c.p)
			if r.HasPorts() != c.want {
				t.Errorf("HasPorts %v, want %v", r.HasPorts(), c.want)
			}
		})
	}
}

func TestClassTimeouts(t *testing.T) {
	// Each class expires after its own idle time: a probe packet on the same key just before
	// the timeout joins the flow, just after it starts a new one.
	closed := with(handshake(), seg(30*ms, cli, srv, "FA", 1001, 5001, 0), seg(40*ms, srv, cli, "FA", 5001, 1002, 0))
	cases := []struct {
		name  string
		why   string
		pkts  []*decode.Packet
		probe func(at time.Duration) *decode.Packet
		to    time.Duration
	}{
		{"tcp-opening", "an unanswered SYN waits TCPOpening (30 s) for retries",
			[]*decode.Packet{seg(0, cli, srv, "S", 1000, 0, 0)},
			func(at time.Duration) *decode.Packet { return seg(at, cli, srv, "A", 1001, 1, 0) }, 30 * time.Second},
		{"tcp-established", "an established connection may idle an hour",
			handshake(), func(at time.Duration) *decode.Packet { return seg(at, cli, srv, "A", 1001, 5001, 0) }, time.Hour},
		{"tcp-closed", "after both FINs only 5 s",
			closed, func(at time.Duration) *decode.Packet { return seg(at, cli, srv, "A", 1002, 5002, 0) }, 5 * time.Second},
		{"tcp-reset", "after a RST only 5 s",
			with(handshake(), seg(30*ms, cli, srv, "R", 1001, 0, 0)),
			func(at time.Duration) *decode.Packet { return seg(at, srv, cli, "A", 5001, 1001, 0) }, 5 * time.Second},
		{"tcp-lone-fin", "a FIN nobody answered (SH) is closed too",
			[]*decode.Packet{seg(0, cli, srv, "S", 1000, 0, 0), seg(ms, cli, srv, "F", 1001, 0, 0)},
			func(at time.Duration) *decode.Packet { return seg(at, cli, srv, "A", 1002, 0, 0) }, 5 * time.Second},
		{"udp", "UDP 60 s", []*decode.Packet{udp(0, "10.0.0.1:1", "10.0.0.2:2", 1)},
			func(at time.Duration) *decode.Packet { return udp(at, "10.0.0.2:2", "10.0.0.1:1", 1) }, time.Minute},
		{"icmp", "ICMP 30 s", []*decode.Packet{icmp(0, false, "10.0.0.1:7", "10.0.0.2:7", 8, 0)},
			func(at time.Duration) *decode.Packet { return icmp(at, false, "10.0.0.1:7", "10.0.0.2:7", 8, 0) }, 30 * time.Second},
		{"other", "other protocols 60 s", []*decode.Packet{pkt(0, 47, "10.0.0.1:0", "10.0.0.2:0")},
			func(at time.Duration) *decode.Packet { return pkt(at, 47, "10.0.0.1:0", "10.0.0.2:0") }, time.Minute},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, gap := range []time.Duration{c.to - time.Second, c.to + time.Second} {
				tb := NewTable(Config{})
				var last time.Duration
				var id uint32
				for _, p := range c.pkts {
					id, _ = tb.Update(p)
					last = time.Duration(p.Time - base)
				}
				got, _ := tb.Update(c.probe(last + gap))
				if expired := got != id; expired != (gap > c.to) {
					t.Errorf("probe %v after the last packet: expired=%v (%s)", gap, expired, c.why)
				}
			}
		})
	}
	// Configured timeouts replace the defaults.
	tb := NewTable(Config{Timeouts: Timeouts{UDP: 2 * time.Second}})
	a, _ := tb.Update(udp(0, "10.0.0.1:1", "10.0.0.2:2", 1))
	b, _ := tb.Update(udp(3*time.Second, "10.0.0.1:1", "10.0.0.2:2", 1))
	if a == b {
		t.Error("a 2 s UDP timeout did not expire a flow idle 3 s")
	}
}
