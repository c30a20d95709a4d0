package bgp

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/stackflow/stackflow/decode"
	"github.com/stackflow/stackflow/internal/testenv"
)

// segment is one decoded TCP/179 packet, ready to feed.
type segment struct {
	pkt decode.Packet
	tcp *layers.TCP
}

// readSegments decodes every TCP packet on port 179 of a capture file with gopacket (the
// decode package's own decoder is another helper's work), or skips the test when the
// captures are absent.
func readSegments(t testing.TB, name string) []segment {
	t.Helper()
	segs, err := readSegmentsFile(testenv.Capture(t, name))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return segs
}

// readSegmentsFile reads one capture with pcapgo and keeps its TCP/179 segments, those read
// before any error included.
func readSegmentsFile(path string) ([]segment, error) {
	pkts, err := testenv.ReadPcap(path)
	var out []segment
	for i, p := range pkts {
		if s, ok := decodeSegment(p.Data, p.Info, p.LinkType, uint64(i+1)); ok {
			out = append(out, s)
		}
	}
	return out, err
}

// decodeSegment decodes one packet with gopacket. Cisco HDLC (link type 104) is unwrapped
// here: address 0x0f/0x8f, control 0, then an ethertype.
func decodeSegment(data []byte, ci gopacket.CaptureInfo, link layers.LinkType, n uint64) (segment, bool) {
	var p gopacket.Packet
	switch link {
	case 104: // Cisco HDLC
		if len(data) < 4 || (data[0] != 0x0f && data[0] != 0x8f) || data[1] != 0 {
			return segment{}, false
		}
		switch binary.BigEndian.Uint16(data[2:4]) {
		case 0x0800:
			p = gopacket.NewPacket(data[4:], layers.LayerTypeIPv4, gopacket.Default)
		case 0x86dd:
			p = gopacket.NewPacket(data[4:], layers.LayerTypeIPv6, gopacket.Default)
		default:
			return segment{}, false
		}
	default:
		p = gopacket.NewPacket(data, link, gopacket.Default)
	}
	tcp, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
	if tcp == nil || (tcp.SrcPort != 179 && tcp.DstPort != 179) {
		return segment{}, false
	}
	s := segment{tcp: tcp}
	s.pkt = decode.Packet{Number: n, Time: ci.Timestamp.UnixNano(), CapLen: uint32(ci.CaptureLength),
		Len: uint32(ci.Length), HasIP: true, Payload: tcp.Payload}
	switch ip := p.NetworkLayer().(type) {
	case *layers.IPv4:
		s.pkt.Inner.Src, _ = netip.AddrFromSlice(ip.SrcIP.To4())
		s.pkt.Inner.Dst, _ = netip.AddrFromSlice(ip.DstIP.To4())
		s.pkt.IPVersion = 4
	case *layers.IPv6:
		s.pkt.Inner.Src, _ = netip.AddrFromSlice(ip.SrcIP)
		s.pkt.Inner.Dst, _ = netip.AddrFromSlice(ip.DstIP)
		s.pkt.IPVersion = 6
	default:
		return segment{}, false
	}
	s.pkt.Inner.SrcPort, s.pkt.Inner.DstPort, s.pkt.Inner.Proto = uint16(tcp.SrcPort), uint16(tcp.DstPort), 6
	s.pkt.TCPSeq, s.pkt.TCPAck = tcp.Seq, tcp.Ack
	return s, true
}

// run feeds segs at one capture point and flushes; it returns the assembler and the packet
// numbers for which Feed reported message ends.
func run(segs []segment, point int, a *Assembler) (ends []uint64) {
	for i := range segs {
		segs[i].pkt.Point = point
		if a.Feed(point, &segs[i].pkt, segs[i].tcp) > 0 {
			ends = append(ends, segs[i].pkt.Number)
		}
	}
	return ends
}
