package journey

import (
	"net/netip"
	"runtime"
	"testing"

	"github.com/stackflow/stackflow/decode"
)

// benchStream generates a multi-point stream: each packet of 256 flows is seen at 3 points
// (client side, after a router, after a SNAT), 1 µs apart, one packet every 3 µs, so a 1 ms
// window holds about 1000 observations.
func benchStream(n int) []decode.Packet {
	const flows = 256
	out := make([]decode.Packet, 0, n)
	nat := netip.MustParseAddr("172.16.0.5")
	srv := netip.MustParseAddr("192.168.102.4")
	for i := 0; len(out) < n; i++ {
		f := i % flows
		cl := netip.AddrFrom4([4]byte{10, 0, byte(f >> 8), byte(f)})
		t0 := int64(i) * 3 * us
		fp := uint64(i)*0x9e3779b97f4a7c15 | 1
		base := decode.Packet{Fingerprint: fp, HasIP: true, HasMAC: true, IPVersion: 4}
		a := base
		a.Point, a.Time, a.TTL, a.SrcMAC, a.DstMAC = 0, t0, 64, mac(1), mac(2)
		a.Inner = decode.Tuple{Src: cl, Dst: srv, SrcPort: uint16(40000 + f), DstPort: 443, Proto: 6}
		b := a
		b.Point, b.Time, b.TTL, b.SrcMAC, b.DstMAC = 1, t0+1*us, 63, mac(3), mac(4)
		c := b
		c.Point, c.Time, c.TTL, c.SrcMAC, c.DstMAC = 2, t0+2*us, 62, mac(5), mac(6)
		c.Inner.Src, c.Inner.SrcPort = nat, uint16(1024+f)
		out = append(out, a, b, c)
	}
	return out[:n]
}

// BenchmarkObserve measures one observation in steady state: window bookkeeping, segment
// interning, journey matching and, amortised, the journey's ordering, transform
// classification and path aggregation when it leaves the window.
func BenchmarkObserve(b *testing.B) {
	pkts := benchStream(1 << 16)
	span := pkts[len(pkts)-1].Time - pkts[0].Time + 3*us
	tr := NewTracker(Config{Window: 1e6}) // 1 ms
	// Warm up: segments, paths, histogram buckets and window storage exist afterwards.
	for i := range pkts {
		tr.Observe(&pkts[i], uint32(i%256))
	}
	var shift int64
	runtime.GC() // setup garbage must not be collected while timing
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := i % len(pkts)
		if k == 0 {
			shift += span
		}
		p := &pkts[k]
		p.Time += shift
		p.Fingerprint += uint64(shift) // a new packet every lap
		tr.Observe(p, uint32(k%256))
		p.Time -= shift
		p.Fingerprint -= uint64(shift)
	}
	b.StopTimer()
	if res := tr.Finish(); len(res.Paths) != 256 {
		b.Fatalf("%d paths, want 256", len(res.Paths))
	}
}

// BenchmarkObserveSameKey measures observations that all share one header fingerprint with
// distinct payloads, as same-sized UDP datagrams with IPv4 ID 0 do (QUIC, RTP): 100k per
// second of capture time, so the 1 s window holds 100k journeys with that key. The class
// index keeps this linear; walking every journey with the key cost ~40 µs per observation.
func BenchmarkObserveSameKey(b *testing.B) {
	tr := NewTracker(Config{})
	p := pk(0, 0, 1).tuple(client, vip, 17).macs(mac(1), mac(2)).p
	p.HeaderFingerprint, p.PayloadHashLen = 12345, 16
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		p.Time = int64(i) * 10 * us
		p.Fingerprint = uint64(i)*0x9e3779b97f4a7c15 | 1
		tr.Observe(&p, 0)
	}
}
