package journey

import (
	"net/netip"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/stackflow/stackflow/decode"
)

// pb builds a decode.Packet by hand, the way the decoder would fill it.
type pb struct{ p decode.Packet }

const us = int64(time.Microsecond)

func pk(point int, at int64, fp uint64) *pb {
	return &pb{p: decode.Packet{Point: point, Time: at, Fingerprint: fp, HasIP: true, IPVersion: 4,
		TTL: 64, Number: uint64(at / us)}}
}

func mustAP(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func (b *pb) tuple(src, dst string, proto uint8) *pb {
	s, d := mustAP(src), mustAP(dst)
	b.p.Inner = decode.Tuple{Src: s.Addr(), Dst: d.Addr(), SrcPort: s.Port(), DstPort: d.Port(), Proto: proto}
	return b
}

func (b *pb) ttl(v uint8) *pb { b.p.TTL = v; return b }

func (b *pb) flags(f uint8) *pb { b.p.TCPFlags = f; return b }

func (b *pb) macs(src, dst [6]byte) *pb {
	b.p.HasMAC, b.p.SrcMAC, b.p.DstMAC = true, src, dst
	return b
}

func (b *pb) vxlan(vni uint32, outerSrc, outerDst string) *pb {
	s, d := mustAP(outerSrc), mustAP(outerDst)
	b.p.Tunnels[b.p.NTunnels] = decode.Tunnel{Type: decode.TunnelVXLAN, VNI: vni, HasVNI: true,
		Outer: decode.Tuple{Src: s.Addr(), Dst: d.Addr(), SrcPort: s.Port(), DstPort: d.Port(), Proto: 17}}
	b.p.NTunnels++
	return b
}

func (b *pb) tunnel(tu decode.Tunnel) *pb {
	b.p.Tunnels[b.p.NTunnels] = tu
	b.p.NTunnels++
	return b
}

func mac(last byte) [6]byte { return [6]byte{0x02, 0, 0, 0, 0, last} }

// stream feeds packets to a tracker in timestamp order (stable, like a k-way merge) and
// returns the result.
func stream(t testing.TB, cfg Config, pkts []*pb) *Result {
	t.Helper()
	sort.SliceStable(pkts, func(i, j int) bool { return pkts[i].p.Time < pkts[j].p.Time })
	tr := NewTracker(cfg)
	for i, b := range pkts {
		b.p.Number = uint64(i + 1)
		tr.Observe(&b.p, uint32(i))
	}
	return tr.Finish()
}

// pathSummary renders a path as "point:transform" hops for compact assertions.
func pathSummary(p *Path) []string {
	out := make([]string, len(p.Hops))
	for i := range p.Hops {
		out[i] = strconv.Itoa(p.Hops[i].Point) + ":" + p.Hops[i].Transform.String()
	}
	return out
}

func equalStrings(a, b []string) bool {
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
