package flows

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/stackflow/stackflow/decode/bgp"
)

// TestBGPTimeline feeds a session's messages by hand: both OPENs (hold times 9 and 30: 9 is
// negotiated), the KEEPALIVE that establishes it, a 20 s silence from the router (its peer's hold
// timer expired at 9.2 s), and a silence of the Mux from 6 s that lasts to the end of the capture
// (expired at 15 s).
func TestBGPTimeline(t *testing.T) {
	mux := netip.MustParseAddrPort("192.168.100.4:50041")
	rtr := netip.MustParseAddrPort("192.168.100.1:179")
	at := func(s float64) int64 { return int64(1_700_000_000e9) + int64(s*1e9) }
	msg := func(s float64, from, to netip.AddrPort, typ uint8) *bgp.Message {
		m := &bgp.Message{Session: 0, Src: from, Dst: to, Time: at(s), Type: typ, Last: bgp.PacketRef{Number: uint64(s * 10)}}
		if typ == bgp.TypeOpen {
			hold := uint16(9)
			if from == rtr {
				hold = 30
			}
			m.Open = &bgp.Open{HoldTime: hold, MyAS: 64628}
		}
		return m
	}
	a := &Analyzer{}
	tl := newBGPTimeline()
	for _, m := range []*bgp.Message{
		msg(0, mux, rtr, bgp.TypeOpen),
		msg(0.1, rtr, mux, bgp.TypeOpen),
		msg(0.2, rtr, mux, bgp.TypeKeepalive),
		msg(0.3, mux, rtr, bgp.TypeKeepalive),
		msg(3, mux, rtr, bgp.TypeKeepalive),
		msg(6, mux, rtr, bgp.TypeKeepalive),
		msg(20.2, rtr, mux, bgp.TypeKeepalive), // 20 s after its last: hold timer (9 s) expired
	} {
		tl.observe(a, m)
	}
	tl.closeAt(at(30)) // the Mux said nothing after 6 s
	var got []string
	for _, ev := range tl.sorted() {
		got = append(got, ev.Event+" "+ev.Peer)
	}
	want := "open 192.168.100.4,open 192.168.100.1,established 192.168.100.1,hold_expired 192.168.100.1,hold_expired 192.168.100.4"
	if strings.Join(got, ",") != want {
		t.Fatalf("events:\n got %s\nwant %s", strings.Join(got, ","), want)
	}
	a.bgpLife = tl
	fs := a.holdFindings()
	if len(fs) != 2 || !strings.Contains(fs[0].Summary, "for 20s") || !strings.Contains(fs[1].Summary, "9s hold time") {
		t.Errorf("findings: %+v", fs)
	}
}
