package journey

import (
	"bytes"
	"net/netip"
	"sort"
	"testing"
)

// Capture points of the host scenarios below.
const (
	ptUnder  = 0 // Mux -> host provider address (VXLAN)
	ptVMA    = 1 // host A's vSwitch port <-> its DIP
	ptUplink = 2 // host uplinks -> router (DSR replies)
	ptVMB    = 3 // host B's vSwitch port <-> its DIP
	ptToMux  = 4 // router -> Mux (before encapsulation)
)

// vfpHost is a Hyper-V host whose provider NIC, vSwitch port and uplink NIC have three MACs,
// as on samples/azurestack-poc: nothing but the rewrites tie them together.
type vfpHost struct {
	pa                 string
	mPA, mVSw, mUp     [6]byte
	vm                 int    // capture point of its vSwitch port
	vip, dip           string // VIP:port -> DIP:port
	client             string // the client (after SNAT) of its conversation
	mDIP               [6]byte
	returnThroughBoxes bool // a router sits between the host and the uplink capture (TTL -2)
}

// exchanges generates n DSR exchanges for h, fingerprints from fp on.
func (h vfpHost) exchanges(n int, t0 int64, fp uint64) []*pb {
	var out []*pb
	mux, mRtr, mInner, mRtr2 := "10.0.1.11:61000", mac(0x90), mac(0x91), mac(0x92)
	for i := 0; i < n; i++ {
		t := t0 + int64(i)*1000*us
		fp++
		out = append(out,
			pk(ptToMux, t-30*us, fp).tuple(h.client, h.vip, 6).ttl(62).macs(mRtr, mac(0x41)),
			pk(ptUnder, t, fp).tuple(h.client, h.vip, 6).ttl(62).macs(mac(0x41), h.mPA).vxlan(4114, mux, h.pa+":4789"),
			pk(h.vm, t+40*us, fp).tuple(h.client, h.dip, 6).ttl(62).macs(mInner, h.mDIP))
		fp++
		out = append(out, pk(h.vm, t+500*us, fp).tuple(h.dip, h.client, 6).ttl(128).macs(h.mDIP, h.mVSw))
		if h.returnThroughBoxes {
			out = append(out, pk(ptUplink, t+520*us, fp).tuple(h.vip, h.client, 6).ttl(126).macs(mRtr2, mRtr))
		} else {
			out = append(out, pk(ptUplink, t+520*us, fp).tuple(h.vip, h.client, 6).ttl(128).macs(h.mUp, mRtr))
		}
	}
	return out
}

var (
	hostA = vfpHost{pa: "10.0.1.21", mPA: mac(0x50), mVSw: mac(0x51), mUp: mac(0x52), vm: ptVMA,
		vip: "192.168.102.4:443", dip: "10.0.0.4:443", client: "192.168.201.2:40000", mDIP: mac(0x60)}
	// hostB serves the same VIP:port from another DIP (an SLB pool of two).
	hostB = vfpHost{pa: "10.0.1.22", mPA: mac(0x53), mVSw: mac(0x54), mUp: mac(0x55), vm: ptVMB,
		vip: "192.168.102.4:443", dip: "10.0.0.5:443", client: "192.168.201.2:40001", mDIP: mac(0x61)}
)

// nodeOfMAC returns the node holding m, or -1.
func nodeOfMAC(r *Result, m [6]byte) int {
	for i, n := range r.Nodes {
		for _, x := range n.MACs {
			if x == m {
				return i
			}
		}
	}
	return -1
}

func sameMACs(a, b [][6]byte) bool {
	a, b = append([][6]byte(nil), a...), append([][6]byte(nil), b...)
	less := func(s [][6]byte) func(i, j int) bool {
		return func(i, j int) bool { return bytes.Compare(s[i][:], s[j][:]) < 0 }
	}
	sort.Slice(a, less(a))
	sort.Slice(b, less(b))
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

func TestMappingSidesJoinNodes(t *testing.T) {
	aBehindRouter := hostA
	aBehindRouter.returnThroughBoxes = true
	// hostC is another tenant's host using the same DIP:port as host A behind its own VIP.
	hostC := hostB
	hostC.vip, hostC.dip = "192.168.102.9:443", hostA.dip
	cases := []struct {
		name  string
		why   string
		hosts []vfpHost
		// wantHost: each host is exactly one node with exactly these MACs and its PA.
		wantHost [][][6]byte
		// wantApart: MAC pairs that must be on different nodes.
		wantApart [][2][6]byte
		wantVIP   int // vip_dip entries
	}{
		{
			name:     "one host, three NICs",
			why:      "the node that rewrites VIP:port->DIP:port in rewrites DIP:port->VIP:port out (DSR)",
			hosts:    []vfpHost{hostA},
			wantHost: [][][6]byte{{hostA.mPA, hostA.mVSw, hostA.mUp}},
			wantVIP:  1,
		},
		{
			name:  "two hosts behind one VIP",
			why:   "an SLB pool of two DIPs: the same VIP:port, different DIPs, must stay two hosts",
			hosts: []vfpHost{hostA, hostB},
			wantHost: [][][6]byte{{hostA.mPA, hostA.mVSw, hostA.mUp},
				{hostB.mPA, hostB.mVSw, hostB.mUp}},
			wantApart: [][2][6]byte{{hostA.mPA, hostB.mPA}, {hostA.mUp, hostB.mUp}},
			wantVIP:   2,
		},
		{
			name:  "one DIP address in two tenants",
			why:   "overlapping tenant address spaces: the same DIP:port behind two VIPs is two mappings on two hosts",
			hosts: []vfpHost{hostA, hostC},
			wantHost: [][][6]byte{{hostA.mPA, hostA.mVSw, hostA.mUp},
				{hostC.mPA, hostC.mVSw, hostC.mUp}},
			wantApart: [][2][6]byte{{hostA.mPA, hostC.mPA}},
			wantVIP:   2,
		},
		{
			name:      "return rewrite not pinned to one box",
			why:       "TTL fell by two between the vSwitch and the uplink capture: the rewrite may be any box on the way, so nothing joins the host to the router that sent the frame",
			hosts:     []vfpHost{aBehindRouter},
			wantApart: [][2][6]byte{{hostA.mPA, mac(0x92)}},
			wantVIP:   2,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var pkts []*pb
			for i, h := range c.hosts {
				pkts = append(pkts, h.exchanges(5, int64(i)*100*us, uint64(1000*(i+1)))...)
			}
			res := stream(t, Config{}, pkts)
			for i, want := range c.wantHost {
				n := nodeOfMAC(res, want[0])
				if n < 0 || !sameMACs(res.Nodes[n].MACs, want) {
					t.Errorf("%s: host %d node %d = %+v, want MACs %v", c.why, i, n, res.Nodes[max(n, 0)], want)
					continue
				}
				if nodeWithAddr(res, c.hosts[i].pa) != n {
					t.Errorf("host %d: its PA %s is on node %d, not %d", i, c.hosts[i].pa, nodeWithAddr(res, c.hosts[i].pa), n)
				}
				if r := res.Nodes[n].Roles; r&RoleHost == 0 || r&(RoleNAT|RoleRouter) != 0 {
					t.Errorf("host %d roles %v", i, r.Names())
				}
			}
			for _, p := range c.wantApart {
				if a, b := nodeOfMAC(res, p[0]), nodeOfMAC(res, p[1]); a < 0 || a == b {
					t.Errorf("%s: %x and %x on node %d and %d, want two nodes", c.why, p[0], p[1], a, b)
				}
			}
			var vipdip int
			for _, e := range res.NAT {
				if e.Kind == NATVIPDIP {
					vipdip++
				}
			}
			if vipdip != c.wantVIP {
				t.Errorf("%d vip_dip entries, want %d: %+v", vipdip, c.wantVIP, res.NAT)
			}
			if c.wantHost == nil {
				return
			}
			// Why: one entry per mapping (DESIGN.md 6.1), counting both directions, and both
			// directions' paths name the same host node.
			for _, e := range res.NAT {
				if e.Kind == NATVIPDIP && e.Packets != 10 {
					t.Errorf("vip_dip %v -> %v: %d packets, want 10 (5 in, 5 out)", e.Inside, e.Outside, e.Packets)
				}
			}
			for i := range res.Paths {
				r := &res.Paths[i]
				if r.Direction != Return || r.Pair < 0 {
					continue
				}
				f := &res.Paths[r.Pair]
				if got, want := r.Hops[len(r.Hops)-1].Node, f.Hops[len(f.Hops)-1].Node; got != want {
					t.Errorf("return path %v rewritten by node %d, forward %v by %d", pathSummary(r), got, pathSummary(f), want)
				}
				if !r.DSR {
					t.Errorf("return path %v not DSR", pathSummary(r))
				}
			}
		})
	}
}

func TestNATAsymmetricArms(t *testing.T) {
	// Why: a NAT whose replies come in and leave on other arms than the requests (two MAC
	// pairs) is still one node: its public address ties both directions, and the mapping is
	// one entry.
	var pkts []*pb
	for i := 0; i < 4; i++ {
		t0, fp := int64(i)*1000*us, uint64(100+2*i)
		pkts = append(pkts,
			pk(0, t0, fp).tuple("192.168.200.10:50000", "203.0.113.5:443", 6).ttl(64).macs(mac(1), mac(2)),
			pk(1, t0+50*us, fp).tuple("198.51.100.2:40000", "203.0.113.5:443", 6).ttl(63).macs(mac(3), mac(9)),
			pk(1, t0+400*us, fp+1).tuple("203.0.113.5:443", "198.51.100.2:40000", 6).ttl(60).macs(mac(9), mac(4)),
			pk(0, t0+450*us, fp+1).tuple("203.0.113.5:443", "192.168.200.10:50000", 6).ttl(59).macs(mac(5), mac(1)))
	}
	res := stream(t, Config{}, pkts)
	n := nodeOfMAC(res, mac(2))
	if n < 0 || !sameMACs(res.Nodes[n].MACs, [][6]byte{mac(2), mac(3), mac(4), mac(5)}) || res.Nodes[n].Roles != RoleNAT {
		t.Fatalf("NAT node %+v roles %v, want MACs 2..5 and nat only", res.Nodes[max(n, 0)], res.Nodes[max(n, 0)].Roles.Names())
	}
	if len(res.NAT) != 1 || res.NAT[0].Packets != 8 || res.NAT[0].Node != n {
		t.Errorf("NAT table %+v, want one snat entry of 8 packets at node %d", res.NAT, n)
	}
}

func TestTiedOrderMirrorsDirections(t *testing.T) {
	// A capture and a tool-rewritten copy of it (tcprewrite's pseudo-NAT): identical
	// timestamps, identical MACs, only the server's address differs. Nothing observable orders
	// the two copies, so the capture points' order does: forward in the order given, return
	// in the reverse order.
	const (
		cli  = "172.16.11.12:64582"
		pub  = "96.17.211.172:80"
		priv = "172.16.0.172:80"
	)
	mCli, mGw := mac(0x0a), mac(0x01)
	gen := func(origPoint, rewPoint int, rewFirst bool) []*pb {
		var out []*pb
		for i := 0; i < 3; i++ {
			t0, fp := int64(i)*1000*us, uint64(10+2*i)
			req := []*pb{pk(origPoint, t0, fp).tuple(cli, pub, 6).ttl(64).macs(mCli, mGw),
				pk(rewPoint, t0, fp).tuple(cli, priv, 6).ttl(64).macs(mCli, mGw)}
			rep := []*pb{pk(origPoint, t0+300*us, fp+1).tuple(pub, cli, 6).ttl(52).macs(mGw, mCli),
				pk(rewPoint, t0+300*us, fp+1).tuple(priv, cli, 6).ttl(52).macs(mGw, mCli)}
			if rewFirst {
				req[0], req[1], rep[0], rep[1] = req[1], req[0], rep[1], rep[0]
			}
			out = append(out, append(req, rep...)...)
		}
		return out
	}
	cases := []struct {
		name                  string
		why                   string
		pkts                  []*pb
		wantFwd, wantRet      []string
		wantInside, wantOuter string
	}{
		{"original first", "the rewritten copy is downstream: public -> private is a DNAT",
			gen(0, 1, false), []string{"0:none", "1:dnat"}, []string{"1:none", "0:snat"}, priv, pub},
		{"arrival order does not decide", "the reader's merge order of equal timestamps is no evidence",
			gen(0, 1, true), []string{"0:none", "1:dnat"}, []string{"1:none", "0:snat"}, priv, pub},
		{"rewritten first", "points given the other way round state the other path order",
			gen(1, 0, false), []string{"0:none", "1:dnat"}, []string{"1:none", "0:snat"}, pub, priv},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := stream(t, Config{}, c.pkts)
			if len(res.Paths) != 2 {
				t.Fatalf("%d paths, want 2", len(res.Paths))
			}
			fwd, ret := &res.Paths[0], &res.Paths[1]
			if fwd.Direction != Forward {
				fwd, ret = ret, fwd
			}
			if got := pathSummary(fwd); !equalStrings(got, c.wantFwd) {
				t.Errorf("%s: forward %v, want %v", c.why, got, c.wantFwd)
			}
			if got := pathSummary(ret); !equalStrings(got, c.wantRet) {
				t.Errorf("return %v, want %v (the mirror of the forward path)", got, c.wantRet)
			}
			// Why: a rewrite and its undoing are one mapping (DESIGN.md 6.1), whichever way.
			if len(res.NAT) != 1 {
				t.Fatalf("NAT table %+v, want one entry", res.NAT)
			}
			e := res.NAT[0]
			if e.Kind != NATDest || e.Inside != mustAP(c.wantInside) || e.Outside != mustAP(c.wantOuter) || e.Packets != 6 {
				t.Errorf("mapping %v %v -> %v (%d packets), want dnat %s -> %s (6)", e.Kind, e.Inside, e.Outside, e.Packets, c.wantInside, c.wantOuter)
			}
			// Why: the MACs are the client's and the gateway's on both copies: they name no
			// box, so the NAT node holds neither and is neither client nor server.
			nat := &res.Nodes[e.Node]
			if nat.Roles != RoleNAT || len(nat.MACs) != 0 {
				t.Errorf("NAT node %+v roles %v, want nat only and no MACs", nat, nat.Roles.Names())
			}
			if c := nodeWithAddr(res, netip.MustParseAddrPort(cli).Addr().String()); c == e.Node || res.Nodes[c].Roles != RoleClient {
				t.Errorf("client node %d (NAT %d) roles %v", c, e.Node, res.Nodes[max(c, 0)].Roles.Names())
			}
		})
	}
}
