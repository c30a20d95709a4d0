package flows

import (
	"net/netip"
	"testing"

	"github.com/stackflow/stackflow/decode"
	"github.com/stackflow/stackflow/decode/bgp"
)

// TestRIBWithdrawnTraffic drives the live RIB with hand-made UPDATEs and packets. Each step says
// why it exists.
func TestRIBWithdrawnTraffic(t *testing.T) {
	mux1 := netip.MustParseAddrPort("192.168.100.4:179")
	mux2 := netip.MustParseAddrPort("192.168.100.5:179")
	pfx := func(s string) bgp.Prefix {
		p := netip.MustParsePrefix(s)
		return bgp.Prefix{Prefix: p, Text: p.String()}
	}
	update := func(from netip.AddrPort, announce, withdraw []string) *bgp.Message {
		u := &bgp.Update{NextHop: from.Addr()}
		for _, s := range announce {
			u.NLRI = append(u.NLRI, pfx(s))
		}
		for _, s := range withdraw {
			u.Withdrawn = append(u.Withdrawn, pfx(s))
		}
		return &bgp.Message{Src: from, Type: bgp.TypeUpdate, Update: u}
	}
	var fp uint64
	send := func(r *rib, dst string) {
		fp++
		p := &decode.Packet{HasIP: true, Fingerprint: fp, Point: 0}
		p.Inner.Dst = netip.MustParseAddr(dst)
		r.check(p, 1)
	}
	count := func(r *rib) int {
		n := 0
		for _, h := range r.hits {
			n += h.packets
		}
		return n
	}

	r := newRIB(int64(1e9))
	send(r, "192.168.102.4") // never announced: not "withdrawn" traffic
	r.applyOne(update(mux1, []string{"192.168.102.4/32", "192.168.102.0/24"}, nil))
	r.applyOne(update(mux2, []string{"192.168.102.4/32"}, nil))
	send(r, "192.168.102.4")
	r.applyOne(update(mux1, nil, []string{"192.168.102.4/32"}))
	send(r, "192.168.102.4") // mux2 still announces the /32 (ECMP): routable
	if n := count(r); n != 0 {
		t.Fatalf("%d packets counted while a route existed", n)
	}
	r.applyOne(update(mux2, nil, []string{"192.168.102.4/32"}))
	send(r, "192.168.102.4") // the /32 is gone but the /24 still covers it: routable
	if n := count(r); n != 0 {
		t.Fatalf("%d packets counted while the /24 still covered the VIP", n)
	}
	r.applyOne(update(mux1, nil, []string{"192.168.102.0/24"}))
	send(r, "192.168.102.4") // nothing covers it: counted against the longest dark prefix
	send(r, "192.168.102.9") // counted against the /24
	if got := r.hits[ribHitKey{prefix: netip.MustParsePrefix("192.168.102.4/32")}]; got == nil || got.packets != 1 {
		t.Errorf("/32 hits %+v", got)
	}
	if got := r.hits[ribHitKey{prefix: netip.MustParsePrefix("192.168.102.0/24")}]; got == nil || got.packets != 1 {
		t.Errorf("/24 hits %+v", got)
	}
	r.applyOne(update(mux2, []string{"192.168.102.0/24"}, nil))
	send(r, "192.168.102.4") // announced again: routable
	if n := count(r); n != 2 {
		t.Errorf("%d packets counted, want 2", n)
	}
	// A NOTIFICATION takes every route of its session down.
	r.applyOne(&bgp.Message{Src: mux2, Dst: netip.MustParseAddrPort("192.168.100.1:50000"), Type: bgp.TypeNotification,
		Notification: &bgp.Notification{Code: 6, Subcode: 4}})
	send(r, "192.168.102.77")
	if n := count(r); n != 3 {
		t.Errorf("after the NOTIFICATION: %d packets counted, want 3", n)
	}
}
