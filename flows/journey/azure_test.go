package journey

import (
	"net/netip"
	"strconv"
	"testing"
	"time"
)

// An Azure-Stack-like topology (DESIGN.md section 1) with five capture points:
//
//	P0 ext:      ClientVM <-> NATVM inside arm
//	P1 transit:  NATVM outside arm <-> BGPVM (router)
//	P2 sdn:      BGPVM SDN arm <-> Muxes, and the hosts' uplinks (DSR returns)
//	P3 underlay: Muxes -> host (VXLAN VNI 4114)
//	P4 vm:       host vSwitch <-> PortalVM (DIP)
const (
	ptExt, ptTransit, ptSDN, ptUnderlay, ptVM = 0, 1, 2, 3, 4

	azClient = "192.168.200.10:50000"
	azNAT    = "10.10.0.5:40000"
	azVIP    = "192.168.102.4:443"
	azDIP    = "192.168.103.5:443"
	azMux1   = "10.0.1.11"
	azMux2   = "10.0.1.12"
	azHostPA = "10.0.1.21"
	azRouter = "10.0.1.1"
	azProbe  = "192.168.103.1"
)

var (
	mClient  = mac(0x10)
	mNATIn   = mac(0x20)
	mNATOut  = mac(0x21)
	mRtrIn   = mac(0x30)
	mRtrOut  = mac(0x31)
	mMux1    = mac(0x41)
	mMux2    = mac(0x42)
	mHostPA  = mac(0x50)
	mHostVSw = mac(0x51)
	mPortal  = mac(0x60)
)

// azureScenario generates n request/response exchanges; request i goes through Mux 1 or, when
// ecmp and i is odd, Mux 2. Requests listed in dropAtRouter are dropped by the router (seen at
// P0 and P1 only). skew shifts every timestamp of the given point (its clock runs ahead).
type azureScenario struct {
	n            int
	ecmp         bool
	dropAtRouter map[int]bool
	skew         map[int]int64
	probes       int
}

func (s azureScenario) packets() []*pb {
	var out []*pb
	add := func(b *pb) {
		b.p.Time += s.skew[b.p.Point]
		out = append(out, b)
	}
	fp := uint64(1000)
	for i := 0; i < s.n; i++ {
		t0 := int64(i) * 10_000 * us
		mux, mMux := azMux1, mMux1
		if s.ecmp && i%2 == 1 {
			mux, mMux = azMux2, mMux2
		}
		fp++
		add(pk(ptExt, t0, fp).tuple(azClient, azVIP, 6).ttl(128).macs(mClient, mNATIn))
		add(pk(ptTransit, t0+100*us, fp).tuple(azNAT, azVIP, 6).ttl(127).macs(mNATOut, mRtrIn))
		if s.dropAtRouter[i] {
			continue
		}
		add(pk(ptSDN, t0+150*us, fp).tuple(azNAT, azVIP, 6).ttl(126).macs(mRtrOut, mMux))
		add(pk(ptUnderlay, t0+180*us, fp).tuple(azNAT, azVIP, 6).ttl(126).macs(mMux, mHostPA).
			vxlan(4114, mux+":61000", azHostPA+":4789"))
		add(pk(ptVM, t0+220*us, fp).tuple(azNAT, azDIP, 6).ttl(126).macs(mHostVSw, mPortal))
		// Direct Server Return: the host rewrites DIP -> VIP and sends straight to the router.
		fp++
		add(pk(ptVM, t0+700*us, fp).tuple(azDIP, azNAT, 6).ttl(128).macs(mPortal, mHostVSw))
		add(pk(ptSDN, t0+720*us, fp).tuple(azVIP, azNAT, 6).ttl(128).macs(mHostPA, mRtrOut))
		add(pk(ptTransit, t0+770*us, fp).tuple(azVIP, azNAT, 6).ttl(127).macs(mRtrIn, mNATOut))
		add(pk(ptExt, t0+870*us, fp).tuple(azVIP, azClient, 6).ttl(126).macs(mNATIn, mClient))
	}
	for i := 0; i < s.probes; i++ {
		t0 := int64(i)*5_000*us + 3_000*us
		fp++
		add(pk(ptVM, t0, fp).tuple(azProbe+":"+strconv.Itoa(30000+i), azDIP, 6).ttl(128).flags(2).macs(mHostVSw, mPortal))
		fp++
		add(pk(ptVM, t0+50*us, fp).tuple(azDIP, azProbe+":"+strconv.Itoa(30000+i), 6).ttl(128).flags(0x12).macs(mPortal, mHostVSw))
	}
	// BGP between the Mux and the router, on the SDN segment.
	fp++
	add(pk(ptSDN, 1_000*us, fp).tuple(azMux1+":179", azRouter+":33000", 6).ttl(64).macs(mMux1, mRtrOut))
	fp++
	add(pk(ptSDN, 1_010*us, fp).tuple(azRouter+":33000", azMux1+":179", 6).ttl(64).macs(mRtrOut, mMux1))
	return out
}

// findPath returns the path whose first hop is at point with the given source.
func findPath(r *Result, point int, src string, dir Direction) *Path {
	for i := range r.Paths {
		p := &r.Paths[i]
		h := &p.Hops[0]
		if h.Point == point && netip.AddrPortFrom(h.Inner.Src, h.Inner.SrcPort).String() == src && p.Direction == dir {
			return p
		}
	}
	return nil
}

func nodeWithAddr(r *Result, a string) int {
	want := netip.MustParseAddr(a)
	for i, n := range r.Nodes {
		for _, x := range n.Addresses {
			if x == want {
				return i
			}
		}
	}
	return -1
}

func TestAzureJourney(t *testing.T) {
	// Clocks given as synchronised, so latencies are the generated delays exactly.
	sync := map[int]time.Duration{0: 0, 1: 0, 2: 0, 3: 0, 4: 0}
	res := stream(t, Config{ClockOffsets: sync}, azureScenario{n: 20, probes: 3}.packets())

	// Why: the forward path must be the five hops in causal order with the transform each box
	// made, and the return path must skip the Mux (Direct Server Return).
	fwd := findPath(res, ptExt, azClient, Forward)
	if fwd == nil {
		t.Fatalf("no forward path from the client; paths: %d", len(res.Paths))
	}
	want := []string{"0:none", "1:snat", "2:route", "3:encap", "4:decap+dnat"}
	if got := pathSummary(fwd); !equalStrings(got, want) {
		t.Fatalf("forward path = %v, want %v", got, want)
	}
	if fwd.Packets != 20 || fwd.Hops[4].Packets != 20 {
		t.Errorf("forward packets = %d (last hop %d), want 20", fwd.Packets, fwd.Hops[4].Packets)
	}
	if h := fwd.Hops[3]; h.Tunnel.VNI != 4114 || h.Tunnel.Outer.Src.String() != azMux1 {
		t.Errorf("encap hop tunnel = %+v, want VNI 4114 from %s", h.Tunnel, azMux1)
	}
	ret := findPath(res, ptVM, azDIP, Return)
	if ret == nil {
		t.Fatal("no return path from the DIP")
	}
	wantRet := []string{"4:none", "2:snat", "1:route", "0:dnat"}
	if got := pathSummary(ret); !equalStrings(got, wantRet) {
		t.Fatalf("return path = %v, want %v", got, wantRet)
	}
	if !ret.DSR {
		t.Error("return path not marked DSR though it skips the Mux and leaves from the VIP")
	}
	if fwd.DSR {
		t.Error("forward path marked DSR")
	}
	if ret.Pair < 0 || &res.Paths[ret.Pair] != fwd {
		t.Errorf("return path paired with %d, want the forward path", ret.Pair)
	}

	// Why: latencies are the generated per-hop delays.
	wantLat := []float64{0, 100, 50, 30, 40}
	for i := 1; i < len(fwd.Hops); i++ {
		l := fwd.Hops[i].Latency
		if !l.Valid || l.Min != wantLat[i] || l.Median != wantLat[i] || l.P99 != wantLat[i] {
			t.Errorf("hop %d latency = %+v, want %v µs", i, l, wantLat[i])
		}
	}
	if fwd.Hops[0].Latency.Valid {
		t.Error("first hop has a latency")
	}

	// Why: each middlebox is one node, found from its MACs and addresses, with its role.
	roles := map[string][]string{
		"192.168.200.10": {"client"},
		"10.10.0.5":      {"nat"},
		azRouter:         {"router", "bgp_speaker"},
		azMux1:           {"bgp_speaker", "mux"},
		azHostPA:         {"host", "prober"},
		"192.168.103.5":  {"server", "dip"},
		"192.168.102.4":  {"vip"},
	}
	for addr, want := range roles {
		n := nodeWithAddr(res, addr)
		if n < 0 {
			t.Errorf("no node has %s", addr)
			continue
		}
		if got := res.Nodes[n].Roles.Names(); !equalStrings(got, want) {
			t.Errorf("node of %s roles = %v, want %v (node %+v)", addr, got, want, res.Nodes[n])
		}
	}
	if a, b := nodeWithAddr(res, azRouter), fwd.Hops[2].Node; a != b {
		t.Errorf("router hop node %d, want the node holding %s (%d)", b, azRouter, a)
	}
	if a, b := nodeWithAddr(res, azHostPA), ret.Hops[1].Node; a != b {
		t.Errorf("DSR snat hop node %d, want the host (%d)", b, a)
	}
	if a, b := nodeWithAddr(res, "192.168.200.10"), fwd.Hops[0].Node; a != b {
		t.Errorf("first hop node %d, want the client (%d)", b, a)
	}
	if len(res.Nodes) != 7 {
		t.Errorf("%d nodes, want 7: %+v", len(res.Nodes), res.Nodes)
	}

	// Why: one NAT entry per mapping, confirmed by both directions.
	type natWant struct{ kind, inside, outside string }
	wantNAT := map[natWant]uint64{
		{"snat", azClient, azNAT}: 40,
		{"vip_dip", azDIP, azVIP}: 40,
	}
	if len(res.NAT) != len(wantNAT) {
		t.Fatalf("NAT entries = %+v, want %d", res.NAT, len(wantNAT))
	}
	for _, e := range res.NAT {
		k := natWant{e.Kind.String(), e.Inside.String(), e.Outside.String()}
		if n, ok := wantNAT[k]; !ok || n != e.Packets {
			t.Errorf("unexpected NAT entry %+v (%v)", e, k)
		}
	}
	if n := res.NAT[0].Node; n != nodeWithAddr(res, "10.10.0.5") {
		t.Errorf("snat entry at node %d, want the NAT", n)
	}
}

func TestAzureLossAtRouter(t *testing.T) {
	// Why: a request dropped by the router is seen at P0 and P1 only; that journey ends at hop
	// 1 of the forward path, which must count it as lost there and nowhere else.
	drop := map[int]bool{3: true, 7: true}
	res := stream(t, Config{}, azureScenario{n: 10, dropAtRouter: drop}.packets())
	fwd := findPath(res, ptExt, azClient, Forward)
	if fwd == nil {
		t.Fatal("no forward path")
	}
	lost := make([]uint64, len(fwd.Hops))
	for i, h := range fwd.Hops {
		lost[i] = h.Lost
	}
	if lost[1] != 2 || lost[0]+lost[2]+lost[3]+lost[4] != 0 {
		t.Errorf("lost per hop = %v, want 2 at hop 1 only", lost)
	}
	if fwd.Hops[1].Packets != 10 || fwd.Hops[2].Packets != 8 {
		t.Errorf("packets at hops 1,2 = %d,%d, want 10,8", fwd.Hops[1].Packets, fwd.Hops[2].Packets)
	}
	if fwd.Hops[1].LostRef.Point != ptTransit {
		t.Errorf("lost evidence at point %d, want %d", fwd.Hops[1].LostRef.Point, ptTransit)
	}
	for i := range res.Paths {
		if p := &res.Paths[i]; len(p.Hops) == 2 && p.Hops[0].Point == ptExt {
			t.Errorf("the dropped journeys formed their own path %v", pathSummary(p))
		}
	}
}

func TestAzureECMP(t *testing.T) {
	// Why: one VIP reached through two Muxes gives two forward paths (distinct hop sequences)
	// with one return path; both Muxes are nodes with the mux role.
	res := stream(t, Config{}, azureScenario{n: 10, ecmp: true}.packets())
	var fwds []*Path
	for i := range res.Paths {
		p := &res.Paths[i]
		if p.Direction == Forward && p.Hops[0].Point == ptExt {
			fwds = append(fwds, p)
		}
	}
	if len(fwds) != 2 {
		t.Fatalf("%d forward paths from the client, want 2", len(fwds))
	}
	muxes := map[string]uint64{}
	for _, p := range fwds {
		if got := pathSummary(p); !equalStrings(got, []string{"0:none", "1:snat", "2:route", "3:encap", "4:decap+dnat"}) {
			t.Errorf("ECMP path = %v", got)
		}
		muxes[p.Hops[3].Tunnel.Outer.Src.String()] += p.Packets
	}
	if muxes[azMux1] != 5 || muxes[azMux2] != 5 {
		t.Errorf("packets per Mux = %v, want 5 each", muxes)
	}
	for _, m := range []string{azMux1, azMux2} {
		n := nodeWithAddr(res, m)
		if n < 0 || res.Nodes[n].Roles&RoleMux == 0 {
			t.Errorf("%s: node %d is not a mux", m, n)
		}
	}
	ret := findPath(res, ptVM, azDIP, Return)
	if ret == nil || !ret.DSR || ret.Packets != 10 {
		t.Fatalf("return path = %+v, want one DSR path of 10 packets", ret)
	}
}

func TestAzureSkewedClocks(t *testing.T) {
	// Why: the transit point's clock runs 5 ms ahead and the underlay's 3 ms behind: raw
	// timestamps put hops out of order, yet causality (TTL, encapsulation) must order them,
	// the estimator must recover both offsets, and corrected latencies must match the truth.
	skew := map[int]int64{ptTransit: 5_000 * us, ptUnderlay: -3_000 * us}
	res := stream(t, Config{}, azureScenario{n: 20, skew: skew}.packets())
	fwd := findPath(res, ptExt, azClient, Forward)
	if fwd == nil {
		t.Fatal("no forward path")
	}
	if got := pathSummary(fwd); !equalStrings(got, []string{"0:none", "1:snat", "2:route", "3:encap", "4:decap+dnat"}) {
		t.Fatalf("forward path = %v", got)
	}
	for p, want := range map[int]int64{ptExt: 0, ptTransit: 5_000 * us, ptUnderlay: -3_000 * us} {
		got := int64(res.Clocks[p].Offset)
		// Links seen both ways are exact here (symmetric generated delays are not, so allow
		// the smallest one-way delay on the path).
		if d := got - want; d < -100*us || d > 100*us {
			t.Errorf("point %d offset = %v, want %v ±100µs (%+v)", p, res.Clocks[p].Offset, want, res.Clocks[p])
		}
	}
	if got := res.Clocks[ptTransit]; got.Offset != 5*time.Millisecond || got.Source != ClockEstimated {
		t.Errorf("transit clock = %+v, want exactly 5ms estimated (symmetric link seen both ways)", got)
	}
	// Links seen both ways come out exact. The underlay point is seen one way on each side
	// (in from the Mux, out to the host), so its offset sits between the two bounds and the
	// two one-way hops share their delays' difference: within 30 µs of the truth.
	for i, want := range []float64{0, 100, 50, 30, 40} {
		l := fwd.Hops[i].Latency
		tol := 0.0
		if i >= 3 {
			tol = 30
		}
		if i > 0 && (l.Min < want-tol || l.Min > want+tol || l.P99 != l.Min) {
			t.Errorf("hop %d corrected latency = %+v, want %v ±%v µs", i, l, want, tol)
		}
	}
}
