package decode

import (
	"net"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// tcpSpec describes a TCP/IPv4 packet for the builders below.
type tcpSpec struct {
	src, dst     string
	sport, dport uint16
	ttl          uint8
	id           uint16
	seq, ack     uint32
	syn, psh     bool
	tos          uint8
	ts           [2]uint32 // TSval, TSecr; zero means no option
	payload      []byte
	srcMAC       byte
}

func (s tcpSpec) layers() (*layers.Ethernet, *layers.IPv4, *layers.TCP) {
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, s.srcMAC}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 0xee},
		EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, IHL: 5, TTL: s.ttl, Id: s.id, TOS: s.tos, Protocol: layers.IPProtocolTCP,
		SrcIP: net.ParseIP(s.src).To4(), DstIP: net.ParseIP(s.dst).To4()}
	tcp := &layers.TCP{SrcPort: layers.TCPPort(s.sport), DstPort: layers.TCPPort(s.dport), Seq: s.seq, Ack: s.ack,
		SYN: s.syn, PSH: s.psh, ACK: s.ack != 0, Window: 502}
	if s.ts != [2]uint32{} {
		o := make([]byte, 8)
		for i, v := range s.ts {
			o[i*4], o[i*4+1], o[i*4+2], o[i*4+3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
		}
		tcp.Options = []layers.TCPOption{{OptionType: layers.TCPOptionKindNop, OptionLength: 1},
			{OptionType: layers.TCPOptionKindNop, OptionLength: 1},
			{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: o}}
	}
	_ = tcp.SetNetworkLayerForChecksum(ip)
	return eth, ip, tcp
}

// frameOf serialises the spec as Ethernet/IPv4/TCP.
func (s tcpSpec) frame(t testing.TB) []byte {
	eth, ip, tcp := s.layers()
	return serializeLayers(t, eth, ip, tcp, gopacket.Payload(s.payload))
}

// vxlanWrap encapsulates an Ethernet frame in Ethernet/IPv4/UDP/VXLAN.
func vxlanWrap(t testing.TB, inner []byte, vni uint32, src, dst string, sport uint16) []byte {
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 1, 1, 1, 1, 1}, DstMAC: net.HardwareAddr{2, 2, 2, 2, 2, 2},
		EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Id: 999, Protocol: layers.IPProtocolUDP,
		SrcIP: net.ParseIP(src).To4(), DstIP: net.ParseIP(dst).To4()}
	udp := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: 4789}
	_ = udp.SetNetworkLayerForChecksum(ip)
	vx := &layers.VXLAN{ValidIDFlag: true, VNI: vni}
	return serializeLayers(t, eth, ip, udp, vx, gopacket.Payload(inner))
}

func decodeOne(t testing.TB, data []byte, link uint16) Packet {
	t.Helper()
	var p Packet
	NewDecoder(Options{}).Decode(data, link, uint32(len(data)), &p)
	if p.Err != nil {
		t.Fatalf("decode: %v", p.Err)
	}
	return p
}

// TestFingerprintInvariance checks that the fingerprint ignores exactly what hops change and
// keeps what they do not.
func TestFingerprintInvariance(t *testing.T) {
	base := tcpSpec{src: "10.0.0.4", dst: "192.168.102.6", sport: 50000, dport: 443, ttl: 64, id: 0x1234,
		seq: 1000, ack: 2000, psh: true, ts: [2]uint32{111, 222}, payload: []byte("GET / HTTP/1.1\r\nHost: portal\r\n\r\n"), srcMAC: 1}
	want := decodeOne(t, base.frame(t), LinkTypeEthernet)
	if want.Fingerprint == 0 || want.PayloadHashLen != 16 || !want.HasTS {
		t.Fatalf("base packet: fingerprint %x hash len %d ts %v", want.Fingerprint, want.PayloadHashLen, want.HasTS)
	}
	same := []struct {
		name string
		why  string
		mod  func(s *tcpSpec)
		wrap func(t testing.TB, inner []byte) []byte
	}{
		{"snat", "a NAT hop rewrites source address and port (checksums follow)", func(s *tcpSpec) { s.src, s.sport = "192.168.200.5", 61000 }, nil},
		{"dnat", "VIP to DIP rewrites the destination", func(s *tcpSpec) { s.dst, s.dport = "10.10.0.7", 8443 }, nil},
		{"routed", "a router decrements TTL and changes MACs", func(s *tcpSpec) { s.ttl, s.srcMAC = 63, 9 }, nil},
		{"dscp", "DSCP/ECN may be re-marked on the way", func(s *tcpSpec) { s.tos = 0x2e << 2 }, nil},
		{"vxlan", "the Mux encapsulates: only outer headers are added", nil, func(t testing.TB, inner []byte) []byte {
			return vxlanWrap(t, inner, 4114, "10.0.1.5", "10.0.2.9", 51234)
		}},
		{"vxlan-nat", "encapsulated after NAT, with another flow-hash source port", func(s *tcpSpec) { s.src, s.sport, s.ttl = "192.168.200.5", 61000, 62 },
			func(t testing.TB, inner []byte) []byte {
				return vxlanWrap(t, inner, 4115, "10.0.1.6", "10.0.2.9", 40000)
			}},
	}
	for _, c := range same {
		t.Run("same/"+c.name, func(t *testing.T) {
			t.Log(c.why)
			s := base
			if c.mod != nil {
				c.mod(&s)
			}
			data := s.frame(t)
			if c.wrap != nil {
				data = c.wrap(t, data)
			}
			got := decodeOne(t, data, LinkTypeEthernet)
			if got.Fingerprint != want.Fingerprint || got.HeaderFingerprint != want.HeaderFingerprint {
				t.Errorf("fingerprint %x/%x, want %x/%x", got.Fingerprint, got.HeaderFingerprint, want.Fingerprint, want.HeaderFingerprint)
			}
		})
	}
	differ := []struct {
		name string
		why  string
		mod  func(s *tcpSpec)
	}{
		{"next-segment", "the next segment of the flow has another sequence number", func(s *tcpSpec) { s.seq += uint32(len(s.payload)) }},
		{"ack", "a later ack of the same data is a different packet", func(s *tcpSpec) { s.ack += 100 }},
		{"flags", "a FIN/RST differs from data", func(s *tcpSpec) { s.psh = false }},
		{"ip-id", "a retransmission from the same host carries a new IPv4 ID", func(s *tcpSpec) { s.id++ }},
		{"tsval", "a retransmission with timestamps carries a new TSval", func(s *tcpSpec) { s.ts[0]++ }},
		{"payload", "same headers, different bytes in the first 16", func(s *tcpSpec) { s.payload = []byte("GET /x HTTP/1.1\r\nHost: portal\r\n\r\n") }},
	}
	for _, c := range differ {
		t.Run("differ/"+c.name, func(t *testing.T) {
			t.Log(c.why)
			s := base
			c.mod(&s)
			got := decodeOne(t, s.frame(t), LinkTypeEthernet)
			if got.Fingerprint == want.Fingerprint {
				t.Errorf("fingerprint %x should differ", got.Fingerprint)
			}
		})
	}
}

// TestFingerprintSnapLength checks the payload-hash rule: a copy cut before 16 payload bytes
// has no payload hash, the same HeaderFingerprint, and a Fingerprint equal to it.
func TestFingerprintSnapLength(t *testing.T) {
	s := tcpSpec{src: "10.0.0.4", dst: "10.0.0.5", sport: 1, dport: 2, ttl: 64, id: 7, seq: 1, ack: 1, psh: true,
		payload: []byte("0123456789abcdefghijklmnop")}
	full := s.frame(t)
	whole := decodeOne(t, full, LinkTypeEthernet)
	var cut Packet
	NewDecoder(Options{}).Decode(full[:len(full)-len(s.payload)+10], LinkTypeEthernet, uint32(len(full)), &cut)
	if cut.Err == nil || cut.Err.Severity != SevTruncated {
		t.Errorf("cut packet error %v, want truncated", cut.Err)
	}
	if cut.PayloadHashLen != 0 || cut.PayloadLen != whole.PayloadLen {
		t.Errorf("cut: hash len %d payload len %d, want 0 and %d", cut.PayloadHashLen, cut.PayloadLen, whole.PayloadLen)
	}
	if cut.HeaderFingerprint != whole.HeaderFingerprint || cut.Fingerprint != cut.HeaderFingerprint || whole.Fingerprint == whole.HeaderFingerprint {
		t.Errorf("cut %x/%x whole %x/%x", cut.Fingerprint, cut.HeaderFingerprint, whole.Fingerprint, whole.HeaderFingerprint)
	}
	// a short payload that was captured completely is hashed whole
	s.payload = []byte("hi")
	short := decodeOne(t, s.frame(t), LinkTypeEthernet)
	if short.PayloadHashLen != 2 || short.PayloadHash != HashPayload([]byte("hi")) {
		t.Errorf("short payload: hash len %d", short.PayloadHashLen)
	}
	// PayloadHashBytes limits the bytes hashed; negative switches hashing off
	for _, c := range []struct {
		n, want int
	}{{4, 4}, {100, 16}, {-1, 0}} {
		var p Packet
		NewDecoder(Options{PayloadHashBytes: c.n}).Decode(full, LinkTypeEthernet, uint32(len(full)), &p)
		if int(p.PayloadHashLen) != c.want {
			t.Errorf("PayloadHashBytes %d: hashed %d bytes, want %d", c.n, p.PayloadHashLen, c.want)
		}
	}
}

// TestFingerprintICMPError checks that an ICMP error fingerprints from what it quotes: the
// same error seen before and after a NAT that rewrote both its own header and the quoted one
// matches, and an error about another packet does not.
func TestFingerprintICMPError(t *testing.T) {
	type spec struct {
		errSrc, errDst     string // the router sending the error, the original sender
		qSrc, qDst         string // quoted packet addresses
		qSport, qDport     uint16
		qID                uint16
		ttl                uint8
		mtu                uint16
		qPayload, qTrailer []byte
	}
	build := func(s spec) []byte {
		qip := &layers.IPv4{Version: 4, IHL: 5, TTL: 1, Id: s.qID, Protocol: layers.IPProtocolUDP, Flags: layers.IPv4DontFragment,
			SrcIP: net.ParseIP(s.qSrc).To4(), DstIP: net.ParseIP(s.qDst).To4()}
		qudp := &layers.UDP{SrcPort: layers.UDPPort(s.qSport), DstPort: layers.UDPPort(s.qDport)}
		_ = qudp.SetNetworkLayerForChecksum(qip)
		quoted := serializeLayers(t, qip, qudp, gopacket.Payload(s.qPayload))
		quoted = quoted[:28] // routers quote the IP header and 8 bytes
		eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
		ip := &layers.IPv4{Version: 4, IHL: 5, TTL: s.ttl, Id: 77, Protocol: layers.IPProtocolICMPv4,
			SrcIP: net.ParseIP(s.errSrc).To4(), DstIP: net.ParseIP(s.errDst).To4()}
		icmp := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(3, 4), Seq: s.mtu}
		return serializeLayers(t, eth, ip, icmp, gopacket.Payload(quoted))
	}
	base := spec{"10.0.9.1", "10.0.0.4", "10.0.0.4", "192.168.102.6", 5353, 53, 4242, 64, 1400, make([]byte, 1400), nil}
	want := decodeOne(t, build(base), LinkTypeEthernet)
	if want.ICMPType != 3 || want.Fingerprint == 0 || want.PayloadHashLen != 0 {
		t.Fatalf("base error: type %d fp %x hash len %d", want.ICMPType, want.Fingerprint, want.PayloadHashLen)
	}
	natted := base
	natted.errDst, natted.qSrc, natted.qSport, natted.ttl = "192.168.200.5", "192.168.200.5", 61000, 63
	if got := decodeOne(t, build(natted), LinkTypeEthernet); got.Fingerprint != want.Fingerprint {
		t.Errorf("NAT-rewritten error: fingerprint %x, want %x", got.Fingerprint, want.Fingerprint)
	}
	for name, mod := range map[string]func(*spec){
		"other quoted packet": func(s *spec) { s.qID++ },
		"other quoted length": func(s *spec) { s.qPayload = make([]byte, 1300) },
		"other mtu":           func(s *spec) { s.mtu = 1300 },
	} {
		s := base
		mod(&s)
		if got := decodeOne(t, build(s), LinkTypeEthernet); got.Fingerprint == want.Fingerprint {
			t.Errorf("%s: fingerprint should differ", name)
		}
	}
}

// TestFingerprintNATPair decodes the tcpreplay capture before and after tcprewrite's
// pseudo-NAT (96.17.211.0/24 -> 172.16.0.0/24, checksums fixed) and requires equal
// fingerprints frame by frame, while the rewritten frames really differ in address.
func TestFingerprintNATPair(t *testing.T) {
	_, orig := decodeCapture(t, "nat-pnat-pair-original.pcap", Options{})
	_, rewr := decodeCapture(t, "nat-pnat-pair-rewritten.pcap", Options{})
	if len(orig) != len(rewr) || len(orig) != 179 {
		t.Fatalf("%d and %d packets, want 179 each", len(orig), len(rewr))
	}
	rewritten, distinct := 0, map[uint64]bool{}
	for i := range orig {
		o, r := &orig[i], &rewr[i]
		if o.Inner != r.Inner {
			rewritten++
		}
		if o.Fingerprint != r.Fingerprint {
			t.Errorf("packet %d: fingerprint %x before, %x after rewrite (%v -> %v)", i+1, o.Fingerprint, r.Fingerprint, o.Inner, r.Inner)
		}
		if o.HasIP {
			distinct[o.Fingerprint] = true
		}
	}
	if rewritten < 40 {
		t.Errorf("only %d frames differ in their tuple; the fixture should have 43 rewritten", rewritten)
	}
	if len(distinct) < 100 {
		t.Errorf("only %d distinct fingerprints: the hash ignores too much", len(distinct))
	}
}

// TestFingerprintAcrossHops follows one packet through public multi-point captures: the ns-3
// request on the PPP link before router n1 and on the Ethernet LAN behind it (TTL 64 -> 63,
// another link type), and the synthetic Windows capture's frame plain, in VXLAN and in NVGRE.
func TestFingerprintAcrossHops(t *testing.T) {
	t.Run("ns3-ppp-to-csma", func(t *testing.T) {
		_, n0 := decodeCapture(t, "multihop-ns3-n0-p2p.pcap", Options{})
		_, n2 := decodeCapture(t, "multihop-ns3-n2-csma.pcap", Options{})
		req := n0[0]
		found := false
		for _, p := range n2 {
			if p.HasIP && p.Inner.Src == req.Inner.Src && p.Inner.DstPort == req.Inner.DstPort {
				found = true
				if p.TTL != req.TTL-1 || p.Fingerprint != req.Fingerprint {
					t.Errorf("request at n2: ttl %d fp %x; at n0: ttl %d fp %x", p.TTL, p.Fingerprint, req.TTL, req.Fingerprint)
				}
			}
		}
		if !found {
			t.Error("request not found at n2")
		}
	})
	t.Run("etl2pcapng-encapsulations", func(t *testing.T) {
		_, pkts := decodeCapture(t, "synthetic-etl2pcapng-layout.pcapng", Options{})
		byType := map[TunnelType]uint64{}
		for _, p := range pkts {
			if p.HasIP && p.Inner.DstPort == 1433 {
				tt := TunnelNone
				if p.NTunnels > 0 {
					tt = p.Tunnels[0].Type
				}
				byType[tt] = p.Fingerprint
			}
		}
		if len(byType) != 3 || byType[TunnelNone] != byType[TunnelVXLAN] || byType[TunnelNone] != byType[TunnelNVGRE] {
			t.Errorf("fingerprints by encapsulation: %x", byType)
		}
	})
	t.Run("segments-differ", func(t *testing.T) {
		// every distinct segment of a real TCP session has its own fingerprint
		_, pkts := decodeCapture(t, "vxlan-vlan-tls-vni1111.pcap", Options{})
		type seg struct {
			seq, ack uint32
			flags    uint8
			n        uint16
			src      uint16
		}
		fps := map[uint64]seg{}
		for _, p := range pkts {
			if p.Inner.Proto != 6 {
				continue
			}
			s := seg{p.TCPSeq, p.TCPAck, p.TCPFlags, p.PayloadLen, p.Inner.SrcPort}
			if prev, ok := fps[p.Fingerprint]; ok && prev != s {
				t.Errorf("segments %+v and %+v share fingerprint %x", prev, s, p.Fingerprint)
			}
			fps[p.Fingerprint] = s
		}
		if len(fps) < 100 {
			t.Errorf("%d TCP fingerprints, expected over 100", len(fps))
		}
	})
}
