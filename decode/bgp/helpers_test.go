package bgp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/stackflow/stackflow/decode"
)

// capturesPath finds ../shared/captures next to the repository root (the directory holding
// go.mod, searched upwards from the test's directory).
func capturesPath() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the test directory")
		}
		dir = parent
	}
	caps := filepath.Join(dir, "..", "shared", "captures")
	if _, err := os.Stat(caps); err != nil {
		return "", err
	}
	return caps, nil
}

// capturesDir returns the captures folder or skips the test, logging why.
func capturesDir(t testing.TB) string {
	t.Helper()
	caps, err := capturesPath()
	if err != nil {
		t.Skipf("real captures unavailable (../shared/captures): %v", err)
	}
	return caps
}

// segment is one decoded TCP/179 packet, ready to feed.
type segment struct {
	pkt decode.Packet
	tcp *layers.TCP
}

type packetSource interface {
	ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
}

// readSegments decodes every TCP packet on port 179 of a capture file with gopacket (the
// decode package's own decoder is another helper's work), or skips the test when the
// captures are absent.
func readSegments(t testing.TB, name string) []segment {
	t.Helper()
	segs, err := readSegmentsFile(filepath.Join(capturesDir(t), name))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return segs
}

// readSegmentsFile reads one capture. Cisco HDLC (link type 104) is unwrapped here:
// address 0x0f/0x8f, control 0, then an ethertype.
func readSegmentsFile(path string) ([]segment, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var src packetSource
	var link layers.LinkType
	if filepath.Ext(path) == ".pcapng" {
		r, err := pcapgo.NewNgReader(f, pcapgo.NgReaderOptions{WantMixedLinkType: true})
		if err != nil {
			return nil, err
		}
		src, link = r, r.LinkType()
	} else {
		r, err := pcapgo.NewReader(f)
		if err != nil {
			return nil, err
		}
		src, link = r, r.LinkType()
	}
	var out []segment
	for n := uint64(1); ; n++ {
		data, ci, err := src.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, fmt.Errorf("packet %d: %w", n, err)
		}
		l := link
		if len(ci.AncillaryData) > 0 { // pcapng with WantMixedLinkType
			if lt, ok := ci.AncillaryData[0].(layers.LinkType); ok {
				l = lt
			}
		}
		if s, ok := decodeSegment(data, ci, l, n); ok {
			out = append(out, s)
		}
	}
}

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
