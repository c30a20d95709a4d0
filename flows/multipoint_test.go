package flows

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stackflow/stackflow/internal/testenv"
)

// TestNS3ThreePoints analyses the ns-3 tutorial's UDP echo captured at n0 (PPP), n1 (PPP) and
// n2's LAN (Ethernet) as three capture points: one routed hop chain each way.
func TestNS3ThreePoints(t *testing.T) {
	caps := testenv.CapturesOrSkip(t)
	rep := analyzeFiles(t,
		filepath.Join(caps, "multihop-ns3-n0-p2p.pcap"),
		filepath.Join(caps, "multihop-ns3-n1-p2p.pcap"),
		filepath.Join(caps, "multihop-ns3-n2-csma.pcap"))
	if len(rep.Capture.Points) != 3 {
		t.Fatalf("points = %d, want 3", len(rep.Capture.Points))
	}
	var fwd, ret *Path
	for i := range rep.Paths {
		p := &rep.Paths[i]
		if len(p.Hops) == 3 && p.Hops[0].Src == "10.1.1.1" && p.Direction == "forward" {
			fwd = p
		}
		if len(p.Hops) == 3 && p.Hops[0].Src == "10.1.2.6" && p.Direction == "return" {
			ret = p
		}
	}
	if fwd == nil || ret == nil {
		t.Fatalf("want a 3-hop forward path from 10.1.1.1 and a 3-hop return path from 10.1.2.6, got %+v", rep.Paths)
	}
	wantPoints := []string{"multihop-ns3-n0-p2p", "multihop-ns3-n1-p2p", "multihop-ns3-n2-csma"}
	for i, h := range fwd.Hops {
		if h.Point != wantPoints[i] {
			t.Errorf("forward hop %d at %s, want %s", i+1, h.Point, wantPoints[i])
		}
		if h.Lost != 0 {
			t.Errorf("forward hop %d lost %d", i+1, h.Lost)
		}
	}
	// n1 routes onto the LAN: the hop into n2's LAN is a route (TTL 64 -> 63), nothing rewritten.
	if got := fwd.Hops[2].Transform; got != "route" {
		t.Errorf("hop into the CSMA LAN: transform %q, want route", got)
	}
	for _, h := range append(fwd.Hops, ret.Hops...) {
		if strings.Contains(h.Transform, "nat") || strings.Contains(h.Transform, "cap") {
			t.Errorf("unexpected transform %q at %s", h.Transform, h.Point)
		}
	}
	// The request takes ~3.69 ms over the point-to-point link (MANIFEST.md).
	if l := fwd.Hops[1].LatencyUs; l == nil || l.Min < 3600 || l.Min > 3800 {
		t.Errorf("n0 -> n1 latency %+v, want about 3686 us", l)
	}
	if len(rep.NAT) != 0 {
		t.Errorf("NAT mappings on a routed-only network: %+v", rep.NAT)
	}
}

// TestPseudoNATPair analyses tcpreplay's reference capture and its tcprewrite'd copy
// (96.17.211.0/24 rewritten to 172.16.0.0/24) as two capture points of one NAT.
func TestPseudoNATPair(t *testing.T) {
	caps := testenv.CapturesOrSkip(t)
	rep := analyzeFiles(t,
		filepath.Join(caps, "nat-pnat-pair-original.pcap"),
		filepath.Join(caps, "nat-pnat-pair-rewritten.pcap"))
	found := false
	for _, m := range rep.NAT {
		in, out := m.Inside, m.Outside
		if strings.HasPrefix(out, "96.17.211.172:") && strings.HasPrefix(in, "172.16.0.172:") ||
			strings.HasPrefix(in, "96.17.211.172:") && strings.HasPrefix(out, "172.16.0.172:") {
			found = true
		}
		for _, ep := range []string{in, out} {
			if !strings.HasPrefix(ep, "96.17.211.") && !strings.HasPrefix(ep, "172.16.0.") {
				t.Errorf("mapping outside the rewritten range: %+v", m)
			}
		}
	}
	if !found {
		t.Fatalf("96.17.211.172 <-> 172.16.0.172 mapping not found; nat = %+v", rep.NAT)
	}
	// The other 136 frames are the same at both points: no transform at all.
	for _, p := range rep.Paths {
		for _, h := range p.Hops {
			if strings.Contains(h.Transform, "nat") && !strings.Contains(h.Src+h.Dst, "96.17.211.") && !strings.Contains(h.Src+h.Dst, "172.16.0.") {
				t.Errorf("path %s: %s at %s between unrelated addresses %s -> %s", p.ID, h.Transform, h.Point, h.Src, h.Dst)
			}
		}
	}
}
