package journey

import (
	"errors"
	"io"
	"net/netip"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/stackflow/stackflow/decode"
	"github.com/stackflow/stackflow/decode/pcapio"
	"github.com/stackflow/stackflow/internal/testenv"
)

// readPoints decodes each file as one capture point (its index in names) and returns every
// packet merged by timestamp, stable in file order (as the pipeline's k-way merge does).
func readPoints(t testing.TB, names ...string) []decode.Packet {
	t.Helper()
	return readPointsIn(t, testenv.CapturesOrSkip(t), names...)
}

func readPointsIn(t testing.TB, dir string, names ...string) []decode.Packet {
	t.Helper()
	var all []decode.Packet
	for pi, name := range names {
		src, err := pcapio.Open(filepath.Join(dir, name), pcapio.Options{})
		if err != nil {
			t.Fatalf("open %s: %v", name, err)
		}
		d := decode.NewDecoder(decode.Options{})
		var rec pcapio.Record
		for {
			if err := src.Next(&rec); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			p := decode.Packet{Input: pi, Point: pi, Number: rec.Number, Offset: rec.Offset, Time: rec.Time,
				CapLen: rec.CapLen, Len: rec.OrigLen}
			d.Decode(rec.Data, src.Interfaces()[rec.Interface].LinkType, rec.OrigLen, &p)
			p.Payload = nil // aliases the reader's buffer
			all = append(all, p)
		}
		src.Close()
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].Time < all[j].Time })
	return all
}

func track(pkts []decode.Packet, cfg Config) *Result {
	tr := NewTracker(cfg)
	for i := range pkts {
		tr.Observe(&pkts[i], NoFlow)
	}
	return tr.Finish()
}

func TestNS3MultiHop(t *testing.T) {
	// Why: real (simulated) captures at three points of a routed chain n0 -> n1 -> n2, PPP then
	// Ethernet: the UDP echo request must be one journey (TTL 64, 64, 63) and the reply its own
	// journey back, although request and reply share their invariant fields (IP ID 0).
	pkts := readPoints(t, "multihop-ns3-n0-p2p.pcap", "multihop-ns3-n1-p2p.pcap", "multihop-ns3-n2-csma.pcap")
	res := track(pkts, Config{})
	if res.Stats.Journeys != 2 || len(res.Paths) != 2 {
		t.Fatalf("journeys %d, paths %d; want 2 and 2", res.Stats.Journeys, len(res.Paths))
	}
	fwd, ret := &res.Paths[0], &res.Paths[1]
	if fwd.Direction != Forward || ret.Direction != Return {
		t.Fatalf("directions %v, %v", fwd.Direction, ret.Direction)
	}
	if got := pathSummary(fwd); !equalStrings(got, []string{"0:none", "1:none", "2:route"}) {
		t.Errorf("request path %v", got)
	}
	if got := pathSummary(ret); !equalStrings(got, []string{"2:none", "1:route", "0:none"}) {
		t.Errorf("reply path %v", got)
	}
	if fwd.Hops[0].Inner.Src != netip.MustParseAddr("10.1.1.1") {
		t.Errorf("request starts at %v", fwd.Hops[0].Inner)
	}
	for i, want := range []uint8{64, 64, 63} {
		if fwd.Hops[i].TTL != want {
			t.Errorf("request hop %d TTL %d, want %d", i, fwd.Hops[i].TTL, want)
		}
	}
	if fwd.Pair != 1 || ret.Pair != 0 || ret.DSR {
		t.Errorf("pairing %d/%d, dsr %v", fwd.Pair, ret.Pair, ret.DSR)
	}
	// The router is one node, found from its CSMA MAC in both directions.
	if fwd.Hops[2].Node != ret.Hops[1].Node {
		t.Errorf("router nodes differ: %d vs %d", fwd.Hops[2].Node, ret.Hops[1].Node)
	}
	rn := res.Nodes[fwd.Hops[2].Node]
	if rn.Roles != RoleRouter || len(rn.MACs) != 1 || rn.MACs[0] != [6]byte{0, 0, 0, 0, 0, 3} {
		t.Errorf("router node %+v roles %v", rn, rn.Roles.Names())
	}
	if n := nodeWithAddr(res, "10.1.1.1"); n < 0 || res.Nodes[n].Roles != RoleClient {
		t.Errorf("client node %d", n)
	}
	if n := nodeWithAddr(res, "10.1.2.6"); n < 0 || res.Nodes[n].Roles != RoleServer ||
		len(res.Nodes[n].MACs) != 1 || res.Nodes[n].MACs[0] != [6]byte{0, 0, 0, 0, 0, 8} {
		t.Errorf("server node %+v", res.Nodes[max(n, 0)])
	}
	// Simulated clocks are synchronised: estimates stay near zero (the reply met no ARP wait,
	// the request did, so the NTP-style estimate of n2 is off by half that asymmetry).
	for _, c := range res.Clocks {
		if c.Offset < -100_000 || c.Offset > 100_000 {
			t.Errorf("clock %+v, want within 100 µs of 0", c)
		}
	}
	given := track(pkts, Config{ClockOffsets: map[int]time.Duration{0: 0, 1: 0, 2: 0}})
	if l := given.Paths[0].Hops[1].Latency; l.Min != 3686 {
		t.Errorf("n0 -> n1 latency with synchronised clocks = %+v, want 3686 µs (tshark)", l)
	}
}

func TestPNATPair(t *testing.T) {
	// Why: the same 179 frames before and after tcprewrite's pseudo-NAT
	// 96.17.211.0/24 -> 172.16.0.0/24, timestamps identical: every rewritten address must come
	// out as one NAT mapping at one node, host part and port kept.
	pkts := readPoints(t, "nat-pnat-pair-original.pcap", "nat-pnat-pair-rewritten.pcap")
	res := track(pkts, Config{})
	if len(res.NAT) == 0 {
		t.Fatal("no NAT mapping found")
	}
	inPfx := netip.MustParsePrefix("96.17.211.0/24")
	outPfx := netip.MustParsePrefix("172.16.0.0/24")
	node := res.NAT[0].Node
	var packets uint64
	for _, e := range res.NAT {
		a, b := e.Inside, e.Outside
		if !inPfx.Contains(a.Addr()) {
			a, b = b, a
		}
		if !inPfx.Contains(a.Addr()) || !outPfx.Contains(b.Addr()) || a.Port() != b.Port() ||
			a.Addr().As4()[3] != b.Addr().As4()[3] {
			t.Errorf("mapping %v -> %v is not the /24 rewrite", e.Inside, e.Outside)
		}
		if e.Node != node {
			t.Errorf("mapping at node %d, want all at %d", e.Node, node)
		}
		packets += e.Packets
	}
	// Every rewritten frame's journey is a NAT hop; count them independently from the paths.
	var rewritten uint64
	for _, p := range res.Paths {
		for _, h := range p.Hops[1:] {
			if h.Transform&(TransformSNAT|TransformDNAT) != 0 {
				rewritten += h.Packets
			}
			if h.Transform&^(TransformSNAT|TransformDNAT) != 0 {
				t.Errorf("unexpected transform %v at point %d", h.Transform, h.Point)
			}
		}
	}
	if packets != rewritten || rewritten == 0 {
		t.Errorf("NAT entries count %d packets, NAT hops %d", packets, rewritten)
	}
	// Oracle: the original file's packets carrying a 96.17.211.0/24 address (tshark: 43).
	var want uint64
	for i := range pkts {
		p := &pkts[i]
		if p.Point == 0 && p.Fingerprint != 0 && (inPfx.Contains(p.Inner.Src) || inPfx.Contains(p.Inner.Dst)) {
			want++
		}
	}
	if rewritten != want {
		t.Errorf("%d rewritten journeys, want %d (packets with a 96.17.211.0/24 address)", rewritten, want)
	}
	// Why: a rewrite and its undoing are one mapping (DESIGN.md 6.1). Nothing observable orders
	// the two copies (same timestamps, same MACs), so the points' order does: the rewritten file,
	// given second, is downstream, and its private addresses are the inside.
	seen := map[[2]netip.AddrPort]bool{}
	for _, e := range res.NAT {
		k := [2]netip.AddrPort{e.Inside, e.Outside}
		if seen[[2]netip.AddrPort{e.Outside, e.Inside}] || seen[k] {
			t.Errorf("mapping %v <-> %v listed twice", e.Inside, e.Outside)
		}
		seen[k] = true
		if e.Kind != NATDest || !outPfx.Contains(e.Inside.Addr()) {
			t.Errorf("%v %v -> %v: want dnat with the rewritten (172.16.0.0/24) side inside", e.Kind, e.Inside, e.Outside)
		}
	}
	// Why: the frames' MACs are the client's and its gateway's on both copies; they name no
	// box, so the NAT node is not also the client or the server.
	nat := &res.Nodes[node]
	if nat.Roles != RoleNAT {
		t.Errorf("NAT node %+v has roles %v, want nat only", nat, nat.Roles.Names())
	}
	for _, a := range nat.Addresses {
		if !inPfx.Contains(a) {
			t.Errorf("NAT node holds %v, not a translated public address", a)
		}
	}
	for _, c := range res.Clocks {
		if c.Offset != 0 {
			t.Errorf("clock %+v: identical timestamps must give offset 0", c)
		}
	}
	t.Logf("%d mappings, %d rewritten journeys, %d journeys, %d duplicates", len(res.NAT), rewritten,
		res.Stats.Journeys, res.Stats.Duplicates)
}
