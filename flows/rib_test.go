package flows

import (
	"net/netip"
	"testing"

	"github.com/stackflow/stackflow/decode"
	"github.com/stackflow/stackflow/decode/bgp"
)

// TestRIBPeerDownDeterministic: a NOTIFICATION withdraws every prefix its session carried by
// walking a map; the order in which overlapping prefixes become dark (or withdrawn per Mux)
// decides which prefix a packet is counted against, so that order must not follow Go's random
// map iteration. Each case runs many times on fresh state and must always hit the same prefix.
func TestRIBPeerDownDeterministic(t *testing.T) {
	mux := netip.MustParseAddr("192.0.2.1")
	other := netip.MustParseAddr("192.0.2.2")
	announce := func(peer netip.Addr, prefixes ...string) *bgp.Message {
		u := &bgp.Update{}
		for _, s := range prefixes {
			u.NLRI = append(u.NLRI, bgp.Prefix{Prefix: netip.MustParsePrefix(s), Text: s})
		}
		return &bgp.Message{Src: netip.AddrPortFrom(peer, 179), Dst: netip.AddrPortFrom(other, 40000), Type: bgp.TypeUpdate, Update: u}
	}
	notify := &bgp.Message{Src: netip.AddrPortFrom(mux, 179), Dst: netip.AddrPortFrom(netip.MustParseAddr("192.0.2.9"), 40000),
		Notification: &bgp.Notification{Code: 6, Subcode: 2}}
	cases := []struct {
		name     string
		msgs     []*bgp.Message
		tunneled bool
		why      string
	}{
		{"dark prefixes with the same address", []*bgp.Message{announce(mux, "10.1.0.0/16", "10.1.0.0/24", "10.1.0.0/25", "10.1.0.0/20")}, false,
			"the dark list was sorted by address only, so equal addresses kept map order"},
		{"per-Mux withdrawals", []*bgp.Message{announce(mux, "10.2.0.0/24", "10.2.0.5/32", "10.2.0.0/16", "10.2.0.4/30"),
			announce(other, "10.2.0.0/24", "10.2.0.5/32", "10.2.0.0/16", "10.2.0.4/30")}, true,
			"the Mux's withdrawn list was appended in map order"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			seen := map[netip.Prefix]bool{}
			for range 200 {
				r := newRIB(1e9)
				for _, m := range c.msgs {
					r.applyOne(m)
				}
				r.applyOne(notify)
				p := &decode.Packet{HasIP: true, Fingerprint: 1}
				p.Inner.Dst = netip.MustParseAddr("10.1.0.5")
				if c.tunneled {
					p.Inner.Dst = netip.MustParseAddr("10.2.0.5")
					p.NTunnels = 1
					p.Tunnels[0].Outer.Src = mux
				}
				r.check(p, 0)
				if len(r.order) != 1 {
					t.Fatalf("%d hits, want 1", len(r.order))
				}
				seen[r.order[0].prefix] = true
			}
			if len(seen) != 1 {
				t.Errorf("the packet was counted against %v across runs, want one prefix (%s)", seen, c.why)
			}
		})
	}
}
