package journey

import (
	"net/netip"
	"testing"

	"github.com/stackflow/stackflow/decode"
	"github.com/stackflow/stackflow/internal/testenv"
)

// fuzzRecord is the size of one packet in FuzzTracker's input.
const fuzzRecord = 12

// fuzzPackets turns bytes into a packet stream drawn from small value sets, so fingerprints,
// tuples, locations and tunnels collide often: every field comes from one byte.
func fuzzPackets(data []byte) []decode.Packet {
	addrs := []netip.Addr{netip.MustParseAddr("10.0.0.10"), netip.MustParseAddr("172.16.0.5"),
		netip.MustParseAddr("192.168.102.4"), netip.MustParseAddr("192.168.103.5"),
		netip.MustParseAddr("192.168.103.1"), netip.MustParseAddr("fd00::1")}
	protos := []uint8{6, 17, 1, 58}
	var out []decode.Packet
	var now int64
	for len(data) >= fuzzRecord {
		b := data[:fuzzRecord]
		data = data[fuzzRecord:]
		now += int64(b[1]) * int64(b[1]) * 1000 // up to 65 ms steps: some leave the window
		p := decode.Packet{Point: int(b[0] % 5), Time: now, Number: uint64(len(out) + 1),
			Fingerprint: uint64(b[2] % 16), HasIP: b[2] != 255, TTL: b[7]}
		p.Inner = decode.Tuple{Src: addrs[int(b[3])%len(addrs)], Dst: addrs[int(b[4])%len(addrs)],
			SrcPort: uint16(b[5] % 4), DstPort: uint16(b[5] / 64), Proto: protos[b[6]%4]}
		if b[8]&1 == 1 {
			p.HasMAC, p.SrcMAC, p.DstMAC = true, mac(b[8]>>1&7), mac(b[8]>>4)
		}
		for i := 0; i < int(b[9]%3); i++ {
			p.Tunnels[i] = decode.Tunnel{Type: decode.TunnelType(b[10] % 6), VNI: uint32(b[10] >> 4), HasVNI: true,
				Outer: decode.Tuple{Src: addrs[int(b[10])%len(addrs)], Dst: addrs[int(b[11])%len(addrs)], Proto: 17}}
			p.NTunnels++
		}
		p.ICMPType, p.TCPFlags = b[11]%16, b[11]
		if b[9]&0x80 != 0 && p.Fingerprint != 0 {
			// A decoder's split fingerprints: header part, and payload hash when taken.
			p.HeaderFingerprint = p.Fingerprint%4 + 1
			if b[9]&0x40 != 0 {
				p.PayloadHashLen = 16
			} else {
				p.Fingerprint = p.HeaderFingerprint
			}
		}
		out = append(out, p)
	}
	return out
}

// FuzzTracker feeds arbitrary packet streams through the tracker: it must never panic, and
// its accounting must add up (every observation is uncorrelated, a duplicate, an overflow, or
// a hop of exactly one journey; every journey is on exactly one path).
func FuzzTracker(f *testing.F) {
	// Seeds: the real ns-3 three-point echo (when the public captures are present) and a
	// hand-made Azure-like exchange, both in the fuzz encoding.
	f.Add([]byte{0, 1, 3, 0, 2, 70, 0, 64, 0x23, 0, 0, 0, 1, 2, 3, 0, 2, 70, 0, 63, 0x45, 0, 0, 0,
		2, 2, 3, 1, 2, 70, 0, 62, 0x67, 0, 0, 0, 3, 1, 3, 1, 2, 70, 0, 62, 0x79, 1, 0x21, 1,
		4, 1, 3, 1, 3, 70, 0, 62, 0x1b, 0, 0, 0, 4, 20, 4, 3, 1, 6, 0, 128, 0x31, 0, 0, 0x12})
	if data := ns3Seed(f); data != nil {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		pkts := fuzzPackets(data)
		var hops uint64
		cfg := Config{Window: 20e6, MaxPending: 1024, OnJourney: func(hs []JourneyHop) { hops += uint64(len(hs)) }}
		tr := NewTracker(cfg)
		for i := range pkts {
			tr.Observe(&pkts[i], uint32(i))
			if tr.Pending() > 1024 {
				t.Fatalf("pending %d above MaxPending", tr.Pending())
			}
		}
		res := tr.Finish()
		st := res.Stats
		if st.Observations != uint64(len(pkts)) || st.Uncorrelated+st.Duplicates+st.Overflow+hops != st.Observations {
			t.Fatalf("accounting: %+v, %d journey hops", st, hops)
		}
		var onPaths uint64
		for pi, p := range res.Paths {
			onPaths += p.Packets
			if len(p.Hops) == 0 || p.Pair >= len(res.Paths) || p.Hops[0].Transform != TransformNone {
				t.Fatalf("path %d malformed: %+v", pi, p)
			}
			for _, h := range p.Hops {
				if h.Node < 0 || h.Node >= len(res.Nodes) || h.Segment < 0 || h.Segment >= len(res.Segments) || h.Packets > p.Packets {
					t.Fatalf("path %d hop %+v out of range", pi, h)
				}
			}
		}
		if onPaths != st.Journeys {
			t.Fatalf("%d journeys on paths, %d finished", onPaths, st.Journeys)
		}
		for _, e := range res.NAT {
			if e.Node < 0 || e.Node >= len(res.Nodes) {
				t.Fatalf("NAT entry at node %d of %d", e.Node, len(res.Nodes))
			}
		}
	})
}

// ns3Seed encodes the real ns-3 captures' packets in the fuzz encoding, or returns nil.
func ns3Seed(f *testing.F) []byte {
	if _, err := testenv.Captures(); err != nil {
		return nil
	}
	pkts := readPoints(f, "multihop-ns3-n0-p2p.pcap", "multihop-ns3-n1-p2p.pcap", "multihop-ns3-n2-csma.pcap")
	var out []byte
	var last int64
	for _, p := range pkts {
		gap := byte(0)
		if d := (p.Time - last) / 1000; d > 0 {
			gap = byte(min(255, isqrt(d)))
		}
		last = p.Time
		out = append(out, byte(p.Point), gap, byte(p.Fingerprint%16), byte(p.Inner.Src.As16()[15]),
			byte(p.Inner.Dst.As16()[15]), byte(p.Inner.SrcPort%4), 1, p.TTL, byte(p.DstMAC[5]<<1|1), 0, 0, 0)
	}
	return out
}

func isqrt(v int64) int64 {
	r := int64(0)
	for (r+1)*(r+1) <= v {
		r++
	}
	return r
}
