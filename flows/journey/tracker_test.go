package journey

import (
	"testing"
	"time"

	"github.com/stackflow/stackflow/decode"
)

func TestDuplicateVersusHop(t *testing.T) {
	cases := []struct {
		name      string
		why       string
		pkts      []*pb
		wantDups  uint64
		wantHops  []string // summary of the single multi-hop path, or nil
		wantPaths int
	}{
		{
			name: "same location identical headers",
			why:  "a SPAN port delivering one frame twice is a duplicate, not a hop",
			pkts: []*pb{
				pk(0, 0, 7).tuple(client, vip, 6).macs(mac(1), mac(2)),
				pk(0, 3*us, 7).tuple(client, vip, 6).macs(mac(1), mac(2)),
			},
			wantDups: 1, wantHops: []string{"0:none"}, wantPaths: 1,
		},
		{
			name: "same headers at another point",
			why:  "two capture points on one segment: a hop with transform none",
			pkts: []*pb{
				pk(0, 0, 7).tuple(client, vip, 6).macs(mac(1), mac(2)),
				pk(1, 3*us, 7).tuple(client, vip, 6).macs(mac(1), mac(2)),
			},
			wantDups: 0, wantHops: []string{"0:none", "1:none"}, wantPaths: 1,
		},
		{
			name: "same point another MAC pair",
			why:  "one merged capture sees the packet on both sides of a router: two locations",
			pkts: []*pb{
				pk(0, 0, 7).tuple(client, vip, 6).ttl(64).macs(mac(1), mac(2)),
				pk(0, 3*us, 7).tuple(client, vip, 6).ttl(63).macs(mac(3), mac(4)),
			},
			wantDups: 0, wantHops: []string{"0:none", "0:route"}, wantPaths: 1,
		},
		{
			name: "duplicate after the next hop",
			why:  "a late duplicate at the first location must not become a new journey (no loss)",
			pkts: []*pb{
				pk(0, 0, 7).tuple(client, vip, 6).ttl(64),
				pk(1, 5*us, 7).tuple(client, vip, 6).ttl(63),
				pk(0, 9*us, 7).tuple(client, vip, 6).ttl(64),
			},
			wantDups: 1, wantHops: []string{"0:none", "1:route"}, wantPaths: 1,
		},
		{
			name: "reply with equal fingerprint",
			why:  "a UDP echo reply with IP ID 0 has the request's invariant fields: reversed tuple, another journey",
			pkts: []*pb{
				pk(0, 0, 7).tuple("10.1.1.1:49153", "10.1.2.6:9", 17),
				pk(0, 20*us, 7).tuple("10.1.2.6:9", "10.1.1.1:49153", 17),
			},
			wantDups: 0, wantPaths: 2,
		},
		{
			name: "outside the window",
			why:  "the same fingerprint two windows later is another packet",
			pkts: []*pb{
				pk(0, 0, 7).tuple(client, vip, 6).ttl(64),
				pk(1, int64(3*time.Second), 7).tuple(client, vip, 6).ttl(63),
			},
			wantDups: 0, wantPaths: 2,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := stream(t, Config{}, c.pkts)
			if res.Stats.Duplicates != c.wantDups {
				t.Errorf("%s: duplicates = %d, want %d", c.why, res.Stats.Duplicates, c.wantDups)
			}
			if len(res.Paths) != c.wantPaths {
				t.Fatalf("%s: %d paths, want %d", c.why, len(res.Paths), c.wantPaths)
			}
			if c.wantHops != nil {
				if got := pathSummary(&res.Paths[0]); !equalStrings(got, c.wantHops) {
					t.Errorf("%s: path %v, want %v", c.why, got, c.wantHops)
				}
				for _, h := range res.Paths[0].Hops {
					if h.Lost != 0 {
						t.Errorf("%s: hop at point %d lost %d", c.why, h.Point, h.Lost)
					}
				}
			}
			if uint64(len(res.Duplicates)) != c.wantDups {
				t.Errorf("duplicate evidence %v, want %d refs", res.Duplicates, c.wantDups)
			}
		})
	}
}

func TestCausalOrderUnderSkew(t *testing.T) {
	// Why: a later hop whose clock runs behind is captured with an earlier timestamp; TTL and
	// encapsulation, not time, must order the journey.
	cases := []struct {
		name string
		pkts []*pb
		want []string
	}{
		{"ttl beats time", []*pb{
			pk(0, 1000*us, 9).tuple(client, vip, 6).ttl(64),
			pk(1, 200*us, 9).tuple(client, vip, 6).ttl(63),
			pk(2, 100*us, 9).tuple(natPub, vip, 6).ttl(62),
		}, []string{"0:none", "1:route", "2:snat"}},
		{"encapsulated copy before decapsulated", []*pb{
			pk(0, 900*us, 9).tuple(natPub, vip, 6).ttl(62).macs(mac(1), mac(2)),
			pk(2, 100*us, 9).tuple(natPub, dip, 6).ttl(62).macs(mac(5), mac(6)),
			pk(1, 50*us, 9).tuple(natPub, vip, 6).ttl(62).macs(mac(2), mac(4)).vxlan(4114, "10.0.1.11:1", "10.0.1.21:4789"),
		}, []string{"0:none", "1:encap", "2:decap+dnat"}},
		{"plain overlay decided by MACs", []*pb{
			// No rewrite at the host: only MAC adjacency tells entry from exit.
			pk(2, 10*us, 9).tuple(natPub, vip, 6).ttl(62).macs(mac(7), mac(8)),
			pk(0, 900*us, 9).tuple(natPub, vip, 6).ttl(62).macs(mac(1), mac(2)),
			pk(1, 500*us, 9).tuple(natPub, vip, 6).ttl(62).macs(mac(2), mac(7)).vxlan(4114, "10.0.1.11:1", "10.0.1.21:4789"),
		}, []string{"0:none", "1:encap", "2:decap"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := stream(t, Config{}, c.pkts)
			if len(res.Paths) != 1 {
				t.Fatalf("%d paths, want 1", len(res.Paths))
			}
			if got := pathSummary(&res.Paths[0]); !equalStrings(got, c.want) {
				t.Errorf("order %v, want %v", got, c.want)
			}
		})
	}
}

func TestWindowEvictionBounded(t *testing.T) {
	// Why: per-packet state must be O(window), never O(file): a million packets with distinct
	// fingerprints, 10 µs apart with a 1 ms window, keep about 100 pending at any time.
	tr := NewTracker(Config{Window: time.Millisecond})
	b := pk(0, 0, 1).tuple(client, vip, 6).macs(mac(1), mac(2))
	maxPending, maxJourneys := 0, 0
	for i := 0; i < 1_000_000; i++ {
		b.p.Time = int64(i) * 10 * us
		b.p.Fingerprint = uint64(i) + 1
		b.p.Point = i % 3
		tr.Observe(&b.p, 0)
		maxPending = max(maxPending, tr.Pending())
		maxJourneys = max(maxJourneys, tr.PendingJourneys())
	}
	if maxPending > 102 || maxJourneys > 102 {
		t.Errorf("pending grew to %d observations / %d journeys, want <= 102", maxPending, maxJourneys)
	}
	if c := len(tr.ring.buf); c > 1024 {
		t.Errorf("ring capacity %d, want it to stay at its initial 1024", c)
	}
	if c := len(tr.fps.slots); c > 1024 {
		t.Errorf("fingerprint index capacity %d, want <= 1024", c)
	}
	res := tr.Finish()
	if res.Stats.Journeys != 1_000_000 || len(res.Paths) != 3 {
		t.Errorf("journeys %d, paths %d; want 1e6 single-hop journeys on 3 paths", res.Stats.Journeys, len(res.Paths))
	}
}

func TestMaxPendingForcesEarlyFinish(t *testing.T) {
	// Why: a burst beyond MaxPending must finish the oldest journeys early (counted), not grow.
	tr := NewTracker(Config{MaxPending: 2048})
	b := pk(0, 0, 1).tuple(client, vip, 6)
	for i := 0; i < 10_000; i++ {
		b.p.Fingerprint = uint64(i) + 1
		tr.Observe(&b.p, 0)
		if tr.Pending() > 2048 {
			t.Fatalf("pending %d > MaxPending", tr.Pending())
		}
	}
	res := tr.Finish()
	if res.Stats.Forced != 10_000-2048 || res.Stats.Journeys != 10_000 {
		t.Errorf("forced %d journeys %d, want %d and 10000", res.Stats.Forced, res.Stats.Journeys, 10_000-2048)
	}
}

func TestUncorrelatedPackets(t *testing.T) {
	// Why: packets without a fingerprint (ARP, undecodable) are counted, never matched.
	b := pk(0, 0, 0).tuple(client, vip, 6)
	res := stream(t, Config{}, []*pb{b, pk(1, 1, 0).tuple(client, vip, 6)})
	if res.Stats.Uncorrelated != 2 || len(res.Paths) != 0 {
		t.Errorf("uncorrelated %d, paths %d; want 2 and 0", res.Stats.Uncorrelated, len(res.Paths))
	}
}

func TestEndsEarly(t *testing.T) {
	// Why: a conversation whose every packet dies at the router (route withdrawn) has no longer
	// path of its own; it is lost where other conversations to the same destination went on.
	// A conversation to another destination that ends at the same place is not.
	var pkts []*pb
	fp := uint64(100)
	send := func(at int64, src, dst string, hops int) {
		fp++
		b := []*pb{
			pk(0, at, fp).tuple(src, dst, 6).ttl(64).macs(mac(1), mac(2)),
			pk(1, at+10*us, fp).tuple(src, dst, 6).ttl(63).macs(mac(3), mac(4)),
			pk(2, at+20*us, fp).tuple(src, dst, 6).ttl(62).macs(mac(5), mac(6)),
		}
		pkts = append(pkts, b[:hops]...)
	}
	for i := int64(0); i < 3; i++ {
		send(i*1000*us, "10.0.0.10:1000", vip, 3)        // gets through
		send(i*1000*us+300*us, "10.0.0.10:1001", vip, 2) // withdrawn: dies after point 1
		send(i*1000*us+600*us, "10.0.0.10:1002", "192.168.102.9:443", 2)
	}
	res := stream(t, Config{}, pkts)
	var early, full, other *Path
	for i := range res.Paths {
		p := &res.Paths[i]
		switch p.Hops[0].Inner.SrcPort {
		case 1000:
			full = p
		case 1001:
			early = p
		case 1002:
			other = p
		}
	}
	if full == nil || early == nil || other == nil {
		t.Fatalf("paths missing: %d paths", len(res.Paths))
	}
	if !early.EndsEarly || early.Hops[1].Lost != 3 || early.Hops[1].LostRef.Point != 1 {
		t.Errorf("withdrawn conversation: ends early %v, lost %d (ref %+v), want true, 3", early.EndsEarly, early.Hops[1].Lost, early.Hops[1].LostRef)
	}
	if full.EndsEarly || other.EndsEarly || other.Hops[1].Lost != 0 {
		t.Errorf("full ends early %v, other ends early %v lost %d; want false, false, 0", full.EndsEarly, other.EndsEarly, other.Hops[1].Lost)
	}
}

func TestSnapLengthCutPayload(t *testing.T) {
	// Why: pktmon's 128-byte snaps leave an encapsulated copy without the payload bytes the
	// plain copy was hashed with; the header fingerprint must still join them, and two packets
	// with equal headers but different hashed payloads must not be joined.
	withHash := func(b *pb, header, full uint64) *pb {
		b.p.HeaderFingerprint, b.p.Fingerprint, b.p.PayloadHashLen = header, full, 16
		return b
	}
	cut := func(b *pb, header uint64) *pb {
		b.p.HeaderFingerprint, b.p.Fingerprint, b.p.PayloadHashLen = header, header, 0
		return b
	}
	pkts := []*pb{
		withHash(pk(0, 0, 0).tuple(natPub, vip, 17).ttl(62).macs(mac(1), mac(2)), 50, 51),
		cut(pk(1, 10*us, 0).tuple(natPub, vip, 17).ttl(62).macs(mac(2), mac(3)).vxlan(4114, "10.0.1.11:1", "10.0.1.21:4789"), 50),
		// Same headers, another payload, at the first point again: another packet.
		withHash(pk(0, 20*us, 0).tuple(natPub, vip, 17).ttl(62).macs(mac(1), mac(2)), 50, 52),
	}
	res := stream(t, Config{}, pkts)
	if res.Stats.Journeys != 2 || res.Stats.Duplicates != 0 {
		t.Fatalf("journeys %d duplicates %d, want 2 and 0", res.Stats.Journeys, res.Stats.Duplicates)
	}
	var two int
	for _, p := range res.Paths {
		if len(p.Hops) == 2 && p.Hops[1].Transform == TransformEncap {
			two++
		}
	}
	if two != 1 {
		t.Errorf("%d two-hop encap paths, want 1: the cut copy joins the first packet", two)
	}
}

func TestOriginatorKeys(t *testing.T) {
	// Why: the originator table keys conversations by 16-byte address forms; an IPv4 address
	// and its IPv4-mapped IPv6 form are different conversations, zoned addresses take their
	// own table, and a packet to itself is always from the originator. Each case feeds a
	// server's packet first, then the client's, and checks who originated.
	cases := []struct {
		name              string
		client, server    string
		clientIsOrig, rev bool
	}{
		{"ipv4", "10.0.0.1:40000", "10.0.0.2:80", true, false},
		{"mapped ipv6 is another conversation", "[::ffff:10.0.0.1]:40000", "10.0.0.2:80", true, false},
		{"zoned ipv6", "[fe80::1%eth0]:40000", "[fe80::2%eth0]:80", true, false},
		{"to itself", "10.0.0.1:80", "10.0.0.1:80", true, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr := NewTracker(Config{})
			srv := pk(0, 0, 1).tuple(c.server, c.client, 6)
			cli := pk(0, 1, 2).tuple(c.client, c.server, 6)
			if got := tr.originates(headerPtr(&srv.p), &srv.p); got != c.rev {
				t.Errorf("server's packet first: originator %v, want %v", got, c.rev)
			}
			if got := tr.originates(headerPtr(&cli.p), &cli.p); got != c.clientIsOrig {
				t.Errorf("client's packet: originator %v, want %v", got, c.clientIsOrig)
			}
		})
	}
	// An IPv4 conversation and the same one spelled IPv4-mapped stay apart: the first decides
	// its own originator only.
	tr := NewTracker(Config{})
	a := pk(0, 0, 1).tuple("10.0.0.2:80", "10.0.0.1:40000", 6)
	b := pk(0, 1, 2).tuple("[::ffff:10.0.0.1]:40000", "10.0.0.2:80", 6)
	tr.originates(headerPtr(&a.p), &a.p)
	if !tr.originates(headerPtr(&b.p), &b.p) {
		t.Error("the mapped conversation took the IPv4 one's originator")
	}
}

func headerPtr(p *decode.Packet) *Header {
	h := HeaderOf(p)
	return &h
}
