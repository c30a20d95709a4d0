package topo

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stackflow/stackflow/internal/testenv"
)

// TestLabTopology draws the real recording made in network namespaces and checks the picture
// against the lab's record: the chain left to right, the DSR return from the host straight to
// the router, the session the Mux shut down, the VIP withdrawn and announced again.
func TestLabTopology(t *testing.T) {
	tl, _ := testenv.Lab(t)
	g := Build(analyzeSample(t, "samples/lab/captures/*.pcap.gz"))
	owner := func(addr string) string {
		for _, n := range g.Nodes {
			if slices.Contains(n.Addresses, addr) {
				return n.ID
			}
		}
		t.Fatalf("no node has %s", addr)
		return ""
	}
	speaker := map[string]string{}
	for _, s := range tl.BGP.Speakers {
		speaker[s.Role] = owner(s.Address)
	}
	client, nat, router, mux := owner(tl.Client), owner(tl.NAT.Public), speaker["router"], speaker["mux"]
	host, dip, vip := owner(tl.VXLAN.OuterDst), owner(tl.DIP), owner(tl.VIP)

	t.Run("chain left to right", func(t *testing.T) {
		chain := []string{client, nat, router, mux, host, dip}
		for i := 1; i < len(chain); i++ {
			if a, b := column(g, chain[i-1]), column(g, chain[i]); a < 0 || b <= a {
				t.Errorf("%s (column %d) is not left of %s (column %d)", chain[i-1], a, chain[i], b)
			}
		}
	})
	t.Run("DSR", func(t *testing.T) {
		// "hostvm pa0 -> bgpvm sdn0" names the two capture points of the return link.
		var want []string
		for _, p := range strings.Split(tl.DSR.ReturnVia, "->") {
			want = append(want, strings.Join(strings.Fields(p), "-"))
		}
		e := findEdge(t, g, host, router, EdgeDSR)
		if !slices.Equal(e.Points, want) {
			t.Errorf("DSR link seen at %v, the lab says %v", e.Points, want)
		}
		for _, e := range g.Edges {
			if (e.Kind == EdgeReturn || e.Kind == EdgeDSR) && slices.Contains(e.Points, tl.DSR.NeverCrosses) {
				t.Errorf("return link %s -> %s seen at %s, which the return never crosses", e.From, e.To, tl.DSR.NeverCrosses)
			}
		}
	})
	count := map[string]int{}
	for _, ev := range tl.Events {
		count[ev.Name]++
	}
	t.Run("BGP session shut down", func(t *testing.T) {
		var b Edge
		for _, e := range g.Edges {
			if e.Kind == EdgeBGP && ((e.From == router && e.To == mux) || (e.From == mux && e.To == router)) {
				b = e
			}
		}
		if count["bgp_shutdown_command"] > 0 && (!b.Warn || !strings.Contains(strings.Join(b.Label, " "), "NOTIFICATION")) {
			t.Errorf("the Mux shut the session down; the edge says %q (warn %v)", b.Label, b.Warn)
		}
	})
	t.Run("VIP withdrawn and announced again", func(t *testing.T) {
		a := findEdge(t, g, mux, vip, EdgeAnnounce)
		want := fmt.Sprintf("announced %d×, withdrawn %d×", 1+count["vip_announce_command"], count["vip_withdraw_command"])
		if !strings.Contains(a.Label[0], want) {
			t.Errorf("announce label %q, want it to say %q", a.Label, want)
		}
		if count["vip_route_removed_session_down"] > 0 && (!a.Warn || !strings.Contains(a.Label[1], "session down")) {
			t.Errorf("the route went with the session; the label says %q", a.Label[1])
		}
	})
	t.Run("traffic to the withdrawn VIP lost before the router", func(t *testing.T) {
		if e := findEdge(t, g, nat, router, EdgeForward); e.Lost == 0 || !e.Warn {
			t.Errorf("nat -> router lost %d: packets sent while the VIP was withdrawn died at the router", e.Lost)
		}
	})
}
