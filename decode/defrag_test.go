package decode

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// onesSum is the Internet checksum's one's-complement sum; a message whose checksum field is
// right sums to 0xffff.
func onesSum(sum uint32, b []byte) uint32 {
	for len(b) >= 2 {
		sum += uint32(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return sum
}

// TestDefragmenterIPv4 reassembles the five fragmented ICMP echoes of the Wireshark sample.
// The ICMP checksum, computed by the sender over the whole datagram, verifies only if the
// bytes were put back in the right order; tshark reports 2056 reassembled bytes each.
func TestDefragmenterIPv4(t *testing.T) {
	frames, pkts := decodeCapture(t, "ipv4-fragments-large-icmp.pcap", Options{})
	f := NewDefragmenter()
	d := NewDecoder(Options{})
	whole := 0
	for i := range pkts {
		b, ok, err := f.Add(&pkts[i], frames[i].data)
		if err != nil {
			t.Fatalf("packet %d: %v", i+1, err)
		}
		if ok != (i%2 == 1) {
			t.Fatalf("packet %d: complete %v", i+1, ok)
		}
		if !ok {
			continue
		}
		whole++
		var p Packet
		d.Decode(b, LinkTypeRaw, uint32(len(b)), &p)
		if p.Err != nil || p.IPLen != 2076 || p.PayloadLen != 2056-8 || p.ICMPType != 8 || p.MoreFrags || p.FragOffset != 0 {
			t.Errorf("packet %d: reassembled %+v err %v", i+1, p, p.Err)
		}
		if p.Inner.Src != pkts[i].Inner.Src || p.IPID != pkts[i].IPID || p.Inner.SrcPort != pkts[i-1].Inner.SrcPort {
			t.Errorf("packet %d: reassembled header %+v", i+1, p.Inner)
		}
		if s := onesSum(0, b[20:]); s != 0xffff {
			t.Errorf("packet %d: ICMP checksum over the reassembled datagram sums to %#x", i+1, s)
		}
		if s := onesSum(0, b[:20]); s != 0xffff {
			t.Errorf("packet %d: IPv4 header checksum not recomputed (%#x)", i+1, s)
		}
	}
	if whole != 5 {
		t.Errorf("%d datagrams, want 5", whole)
	}
}

// TestDefragmenterIPv6 reassembles the three-fragment DNS response of the Zeek sample (3238
// UDP bytes per tshark) and leaves the lone final fragment pending until discarded.
func TestDefragmenterIPv6(t *testing.T) {
	frames, pkts := decodeCapture(t, "ipv6-fragmented-dns.pcap", Options{})
	f := NewDefragmenter()
	var got []byte
	for i := range pkts {
		b, ok, err := f.Add(&pkts[i], frames[i].data)
		if err != nil {
			t.Fatalf("packet %d: %v", i+1, err)
		}
		if ok {
			if got != nil || i+1 != 8 {
				t.Fatalf("packet %d completed a datagram; only packet 8 should", i+1)
			}
			got = b
		}
	}
	if got == nil {
		t.Fatal("the three-fragment response was not reassembled")
	}
	var p Packet
	NewDecoder(Options{}).Decode(got, LinkTypeRaw, uint32(len(got)), &p)
	if p.Err != nil || p.Inner.SrcPort != 53 || p.PayloadLen != 3238-8 || p.Layers&HasFragment != 0 {
		t.Fatalf("reassembled: inner %+v payload %d err %v", p.Inner, p.PayloadLen, p.Err)
	}
	// the sender's UDP checksum covers the pseudo-header and the whole datagram
	pseudo := make([]byte, 40)
	copy(pseudo, got[8:40])
	binary.BigEndian.PutUint32(pseudo[32:], uint32(len(got)-40))
	pseudo[39] = 17
	if s := onesSum(onesSum(0, pseudo), got[40:]); s != 0xffff {
		t.Errorf("UDP checksum over the reassembled datagram sums to %#x", s)
	}
	dns := gopacket.NewPacket(got, layers.LayerTypeIPv6, gopacket.Default).Layer(layers.LayerTypeDNS)
	if dns == nil || len(dns.(*layers.DNS).Answers) == 0 {
		t.Errorf("no DNS answers in the reassembled response")
	}
	if n := f.DiscardOlderThan(time.Unix(0, pkts[len(pkts)-1].Time).Add(time.Hour)); n != 1 {
		t.Errorf("discarded %d pending datagrams, want the lone final fragment", n)
	}
}

// TestDefragmenterRejects checks inputs the Defragmenter must not reassemble.
func TestDefragmenterRejects(t *testing.T) {
	f := NewDefragmenter()
	plain := innerTCP.frame(t)
	p := decodeOne(t, plain, LinkTypeEthernet)
	if b, ok, err := f.Add(&p, plain); ok || b != nil || err != nil {
		t.Errorf("a whole packet: %v %v %v", b, ok, err)
	}
	// overlapping fragments that disagree: gopacket drops the datagram and says why
	eth, ip := outerIPv4("10.0.0.1", "10.0.0.2", layers.IPProtocolUDP)
	ip.Id, ip.Flags = 77, layers.IPv4MoreFragments
	first := serializeLayers(t, eth, ip, gopacket.Payload(make([]byte, 64)))
	ip.Flags, ip.FragOffset = 0, 2 // overlaps bytes 16-63 of the first
	second := serializeLayers(t, eth, ip, gopacket.Payload(make([]byte, 64)))
	d := NewDecoder(Options{})
	var errs int
	for _, fr := range [][]byte{first, second} {
		var q Packet
		d.Decode(fr, LinkTypeEthernet, uint32(len(fr)), &q)
		if _, ok, err := f.Add(&q, fr); ok {
			t.Error("overlapping fragments were reassembled")
		} else if err != nil {
			errs++
		}
	}
	if errs == 0 {
		t.Error("overlap not reported")
	}
}
