package decode

import (
	"errors"
	"net"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// outerIPv4 returns Ethernet and IPv4 layers for a carrier packet of protocol proto.
func outerIPv4(src, dst string, proto layers.IPProtocol) (*layers.Ethernet, *layers.IPv4) {
	return &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 9, 9, 9, 9, 1}, DstMAC: net.HardwareAddr{2, 9, 9, 9, 9, 2}, EthernetType: layers.EthernetTypeIPv4},
		&layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: proto, SrcIP: net.ParseIP(src).To4(), DstIP: net.ParseIP(dst).To4()}
}

// udpWrap carries payload in Ethernet/IPv4/UDP with the given ports.
func udpWrap(t testing.TB, payload []byte, sport, dport uint16) []byte {
	eth, ip := outerIPv4("192.0.2.1", "192.0.2.2", layers.IPProtocolUDP)
	udp := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
	_ = udp.SetNetworkLayerForChecksum(ip)
	return serializeLayers(t, eth, ip, udp, gopacket.Payload(payload))
}

var innerTCP = tcpSpec{src: "10.1.1.1", dst: "10.1.1.2", sport: 40000, dport: 80, ttl: 64, id: 1, seq: 5, ack: 6, psh: true, payload: []byte("hello")}

// TestDecodeResetsAndKeepsPosition checks that Decode keeps the caller's position fields and
// clears everything a previous, richer packet left in a reused Packet.
func TestDecodeResetsAndKeepsPosition(t *testing.T) {
	d := NewDecoder(Options{})
	tunneled := vxlanWrap(t, innerTCP.frame(t), 7, "192.0.2.1", "192.0.2.2", 1000)
	var p Packet
	d.Decode(tunneled, LinkTypeEthernet, uint32(len(tunneled)), &p)
	if p.NTunnels != 1 || d.TCP() == nil {
		t.Fatalf("tunneled packet: %d tunnels, tcp %v", p.NTunnels, d.TCP())
	}
	p.Input, p.Point, p.Number, p.Offset, p.Time, p.CapLen, p.Len = 1, 2, 3, 4, 5, 6, 7
	p.Err = &Error{}
	plain := unhex(t, ip4UDP)
	d.Decode(plain, LinkTypeRaw, uint32(len(plain)), &p)
	if p.Input != 1 || p.Point != 2 || p.Number != 3 || p.Offset != 4 || p.Time != 5 || p.CapLen != 6 || p.Len != 7 {
		t.Errorf("position fields changed: %+v", p)
	}
	if p.NTunnels != 0 || p.Tunnels[0] != (Tunnel{}) || p.HasMAC || p.TCPSeq != 0 || p.Err != nil || p.Layers&HasVXLAN != 0 {
		t.Errorf("stale fields survived: %+v", p)
	}
	if d.TCP() != nil {
		t.Error("TCP() should be nil after a UDP packet")
	}
	if s := d.Stats(); s.Packets != 2 || s.Malformed+s.Truncated+s.Info != 0 {
		t.Errorf("stats %+v", s)
	}
}

// TestTunnelPorts checks the port table: configured ports, source-port fallback,
// destination precedence and switching a tunnel off.
func TestTunnelPorts(t *testing.T) {
	inner := innerTCP.frame(t)
	vx := unhex(t, "08 00 00 00 00 00 2a 00")
	gen := unhex(t, "00 00 65 58 00 00 2b 00")
	cases := []struct {
		name         string
		opts         Options
		hdr          []byte
		sport, dport uint16
		want         TunnelType
		vni          uint32
		why          string
	}{
		{"vxlan-4789", Options{}, vx, 1000, 4789, TunnelVXLAN, 42, "IANA VXLAN port, on by default"},
		{"vxlan-8472", Options{}, vx, 1000, 8472, TunnelVXLAN, 42, "Linux's VXLAN port, on by default"},
		{"vxlan-by-source", Options{}, vx, 4789, 33333, TunnelVXLAN, 42, "a reply from a VTEP: only the source port is known"},
		{"geneve-dst-wins", Options{}, gen, 4789, 6081, TunnelGeneve, 43, "the destination port decides before the source port"},
		{"custom-port", Options{VXLANPorts: []uint16{9999}}, vx, 1000, 9999, TunnelVXLAN, 42, "a configured port"},
		{"custom-replaces-default", Options{VXLANPorts: []uint16{9999}}, vx, 1000, 4789, TunnelNone, 0, "configuring ports replaces the defaults"},
		{"off", Options{VXLANPorts: []uint16{}}, vx, 1000, 8472, TunnelNone, 0, "an empty list switches VXLAN off"},
		{"geneve-custom", Options{GenevePorts: []uint16{7000}}, gen, 1000, 7000, TunnelGeneve, 43, "Geneve on a configured port"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Log(c.why)
			data := udpWrap(t, append(append([]byte(nil), c.hdr...), inner...), c.sport, c.dport)
			var p Packet
			NewDecoder(c.opts).Decode(data, LinkTypeEthernet, uint32(len(data)), &p)
			if p.Err != nil {
				t.Fatal(p.Err)
			}
			if c.want == TunnelNone {
				if p.NTunnels != 0 || p.Inner.Proto != 17 {
					t.Errorf("decoded a tunnel: %+v", p.Tunnels[0])
				}
				return
			}
			if p.NTunnels != 1 || p.Tunnels[0].Type != c.want || p.Tunnels[0].VNI != c.vni || p.Inner.DstPort != 80 {
				t.Errorf("tunnel %+v inner %+v", p.Tunnels[0], p.Inner)
			}
		})
	}
}

// TestGREVariants decodes GRE payload kinds built from gopacket layers and hex headers.
func TestGREVariants(t *testing.T) {
	inner := innerTCP.frame(t)
	innerIP := inner[14:]
	cases := []struct {
		name    string
		gre     *layers.GRE
		extra   string // bytes between GRE and the payload (ERSPAN headers)
		payload []byte
		want    TunnelType
		hasVNI  bool
		layers  LayerSet
		why     string
	}{
		{"ip-in-gre", &layers.GRE{Protocol: layers.EthernetTypeIPv4}, "", innerIP, TunnelGRE, false, HasGRE, "plain GRE, RFC 2784"},
		{"teb-no-key", &layers.GRE{Protocol: 0x6558}, "", inner, TunnelGRE, false, HasGRE, "bridged Ethernet without a key is plain GRE"},
		{"nvgre", &layers.GRE{Protocol: 0x6558, KeyPresent: true, Key: 0x00101002}, "", inner, TunnelNVGRE, true, HasGRE | HasNVGRE, "NVGRE: VSID 4112, FlowID 2"},
		{"erspan-i", &layers.GRE{Protocol: 0x88be}, "", inner, TunnelERSPAN, false, HasGRE | HasERSPAN, "ERSPAN type I: no sequence, no ERSPAN header"},
		{"erspan-ii", &layers.GRE{Protocol: 0x88be, SeqPresent: true, Seq: 9}, "10 00 00 14 00 00 00 01", inner, TunnelERSPAN, false, HasGRE | HasERSPAN, "ERSPAN type II header"},
		{"erspan-iii-ip", &layers.GRE{Protocol: 0x22eb, SeqPresent: true, Seq: 9}, "20 00 00 05 00 00 00 00 00 00 08 00", innerIP, TunnelERSPAN, false, HasGRE | HasERSPAN, "ERSPAN type III mirroring an IP packet"},
		{"erspan-iii-eth", &layers.GRE{Protocol: 0x22eb, SeqPresent: true, Seq: 9}, "20 00 00 05 00 00 00 00 00 00 00 01 00 00 00 00 00 00 00 00", inner, TunnelERSPAN, false, HasGRE | HasERSPAN, "type III with a platform subheader"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Log(c.why)
			eth, ip := outerIPv4("198.51.100.1", "198.51.100.2", layers.IPProtocolGRE)
			payload := append(unhex(t, c.extra), c.payload...)
			data := serializeLayers(t, eth, ip, c.gre, gopacket.Payload(payload))
			var p Packet
			NewDecoder(Options{}).Decode(data, LinkTypeEthernet, uint32(len(data)), &p)
			if p.Err != nil {
				t.Fatal(p.Err)
			}
			tu := p.Tunnels[0]
			if p.NTunnels != 1 || tu.Type != c.want || tu.HasVNI != c.hasVNI || tu.Outer.Proto != 47 ||
				tu.Outer.Src != netip.MustParseAddr("198.51.100.1") {
				t.Fatalf("tunnel %+v", tu)
			}
			if c.want == TunnelNVGRE && (tu.VNI != 4112 || tu.FlowID != 2) {
				t.Errorf("vsid %d flow %d", tu.VNI, tu.FlowID)
			}
			if p.Layers&c.layers != c.layers || p.Inner.DstPort != 80 || string(p.Payload) != "hello" {
				t.Errorf("layers %s inner %+v payload %q", p.Layers, p.Inner, p.Payload)
			}
		})
	}
	t.Run("pptp-not-followed", func(t *testing.T) {
		// enhanced GRE (version 1) carries PPP: recorded as GRE, not followed
		eth, ip := outerIPv4("198.51.100.1", "198.51.100.2", layers.IPProtocolGRE)
		data := serializeLayers(t, eth, ip, gopacket.Payload(unhex(t, "30 81 88 0b 00 05 00 01 00 00 00 01 ff 03 00 21")))
		var p Packet
		NewDecoder(Options{}).Decode(data, LinkTypeEthernet, uint32(len(data)), &p)
		if p.Err != nil || p.NTunnels != 0 || p.Layers&HasGRE == 0 || p.Inner.Proto != 47 {
			t.Errorf("tunnels %d layers %s err %v", p.NTunnels, p.Layers, p.Err)
		}
	})
}

// TestTooDeep checks the tunnel depth limit: decoding stops at the limit with ErrTooDeep and
// keeps everything outside it.
func TestTooDeep(t *testing.T) {
	frame := innerTCP.frame(t)
	for i := range 5 {
		frame = vxlanWrap(t, frame, uint32(i+1), "192.0.2.1", "192.0.2.2", uint16(1000+i))
	}
	cases := []struct {
		name string
		max  int
		want int
		why  string
	}{
		{"default", 0, MaxTunnels, "five levels against the package limit of four"},
		{"configured", 2, 2, "a tighter configured limit"},
		{"above-package-limit", 9, MaxTunnels, "a limit above MaxTunnels is clamped"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Log(c.why)
			d := NewDecoder(Options{MaxTunnels: c.max})
			var p Packet
			d.Decode(frame, LinkTypeEthernet, uint32(len(frame)), &p)
			if int(p.NTunnels) != c.want || p.Err == nil || !errors.Is(p.Err, ErrTooDeep) || p.Err.Severity != SevInfo {
				t.Fatalf("%d tunnels, err %v", p.NTunnels, p.Err)
			}
			// the outermost tunnel has VNI 5; the innermost decoded packet is the carrier of
			// the first tunnel not followed
			if p.Tunnels[0].VNI != 5 || p.Inner.Proto != 17 || p.Inner.DstPort != 4789 || d.Stats().TooDeep != 1 {
				t.Errorf("tunnels %+v inner %+v", p.Tunnels[:p.NTunnels], p.Inner)
			}
		})
	}
}

// TestMalformed covers headers that contradict themselves or their container.
func TestMalformed(t *testing.T) {
	cases := []struct {
		name   string
		hex    string
		short  bool
		sev    Severity
		proto  string
		offset int
		why    string
	}{
		{"ihl-below-5", "44 00 00 20 00 00 00 00 40 11 00 00 0a 00 00 01 0a 00 00 02 00 00 00 00 00 00 00 00", false, SevMalformed, "ipv4", 0, "IHL 4 cannot hold the fixed header"},
		{"total-length-below-ihl", "45 00 00 10 00 00 00 00 40 11 00 00 0a 00 00 01 0a 00 00 02", false, SevMalformed, "ipv4", 0, "total length 16 < 20"},
		{"ip-length-beyond-wire", "45 00 00 40 00 00 00 00 40 11 00 00 0a 00 00 01 0a 00 00 02 30 39 00 35 00 0c 00 00", false, SevMalformed, "ipv4", 0, "64 bytes promised, 28 on the wire (not a snap length)"},
		{"ip-length-beyond-snap", "45 00 00 40 00 00 00 00 40 11 00 00 0a 00 00 01 0a 00 00 02 30 39 00 35 00 0c 00 00", true, SevTruncated, "ipv4", 0, "the same bytes cut by a snap length"},
		{"udp-length-below-8", "45 00 00 1c 00 00 00 00 40 11 00 00 0a 00 00 01 0a 00 00 02 30 39 00 35 00 04 00 00", false, SevMalformed, "udp", 20, "UDP length 4"},
		{"udp-length-beyond-ip", "45 00 00 20 00 00 00 00 40 11 00 00 0a 00 00 01 0a 00 00 02 30 39 00 35 00 40 00 00 61 62 63 64", false, SevMalformed, "udp", 20, "UDP length 64 in a 12-byte IP payload"},
		{"tcp-offset-below-5", "45 00 00 28 00 00 00 00 40 06 00 00 0a 00 00 01 0a 00 00 02 00 50 00 51 00 00 00 01 00 00 00 00 40 02 10 00 00 00 00 00", false, SevMalformed, "tcp", 20, "data offset 4"},
		{"tcp-beyond-ip", "45 00 00 1c 00 00 00 00 40 06 00 00 0a 00 00 01 0a 00 00 02 00 50 00 51 00 00 00 01", false, SevMalformed, "tcp", 20, "IP payload of 8 bytes cannot hold a TCP header"},
		{"tcp-snapped", "45 00 00 28 00 00 00 00 40 06 00 00 0a 00 00 01 0a 00 00 02 00 50 00 51 00 00 00 01", true, SevTruncated, "ipv4", 0, "a snap length inside TCP: the IP length is the first promise broken"},
		{"icmp-short", "45 00 00 18 00 00 00 00 40 01 00 00 0a 00 00 01 0a 00 00 02 08 00 00 00", false, SevMalformed, "icmp", 20, "4 bytes of ICMP"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Log(c.why)
			data := unhex(t, c.hex)
			orig := uint32(len(data))
			if c.short {
				orig = 1500
			}
			var p Packet
			NewDecoder(Options{}).Decode(data, LinkTypeRaw, orig, &p)
			if p.Err == nil || p.Err.Severity != c.sev || p.Err.Proto != c.proto || p.Err.Offset != c.offset {
				t.Fatalf("err %v (severity %v), want %s %s at %d", p.Err, errSev(p.Err), c.sev, c.proto, c.offset)
			}
			kind := ErrMalformed
			if c.sev == SevTruncated {
				kind = ErrTruncated
			}
			if !errors.Is(p.Err, kind) {
				t.Errorf("errors.Is(%v, %v) = false", p.Err, kind)
			}
		})
	}
	t.Run("most-severe-kept", func(t *testing.T) {
		// snapped (truncated at the IP layer) and then a malformed UDP length: malformed wins
		data := unhex(t, "45 00 00 40 00 00 00 00 40 11 00 00 0a 00 00 01 0a 00 00 02 30 39 00 35 00 04 00 00")
		var p Packet
		NewDecoder(Options{}).Decode(data, LinkTypeRaw, 64, &p)
		if p.Err == nil || p.Err.Severity != SevMalformed || p.Err.Proto != "udp" {
			t.Errorf("err %v", p.Err)
		}
	})
}

func errSev(e *Error) any {
	if e == nil {
		return nil
	}
	return e.Severity
}

// TestFragments checks fragment fields and that fragments stop decoding where a receiver
// could not go on.
func TestFragments(t *testing.T) {
	t.Run("ipv4-capture", func(t *testing.T) {
		_, pkts := decodeCapture(t, "ipv4-fragments-large-icmp.pcap", Options{})
		for i, p := range pkts {
			first := i%2 == 0
			if p.Layers&HasFragment == 0 || p.MoreFrags != first || (p.FragOffset == 0) != first {
				t.Fatalf("packet %d: frag offset %d more %v", i+1, p.FragOffset, p.MoreFrags)
			}
			if first != (p.Layers&HasICMP != 0) || (!first && (p.Inner.SrcPort != 0 || p.ICMPType != 0)) {
				t.Errorf("packet %d: first %v but layers %s inner %+v", i+1, first, p.Layers, p.Inner)
			}
			if !first && (p.FragOffset != 1480 || p.IPID != pkts[i-1].IPID || p.Fingerprint == pkts[i-1].Fingerprint) {
				t.Errorf("packet %d: offset %d id %d fp %x", i+1, p.FragOffset, p.IPID, p.Fingerprint)
			}
		}
	})
	t.Run("ipv6-capture", func(t *testing.T) {
		_, pkts := decodeCapture(t, "ipv6-fragmented-dns.pcap", Options{})
		frags := 0
		for _, p := range pkts {
			if p.Layers&HasFragment == 0 {
				continue
			}
			frags++
			if p.IPID == 0 || p.Inner.Proto != 17 || (p.FragOffset != 0) == (p.Layers&HasUDP != 0) {
				t.Errorf("packet %d: id %d proto %d offset %d layers %s", p.Number, p.IPID, p.Inner.Proto, p.FragOffset, p.Layers)
			}
		}
		if frags != 4 {
			t.Errorf("%d fragments, want 4", frags)
		}
	})
	t.Run("tunnel-in-first-fragment", func(t *testing.T) {
		// an underlay fragment of a VXLAN packet: the carrier is the packet until reassembly
		frame := vxlanWrap(t, innerTCP.frame(t), 7, "192.0.2.1", "192.0.2.2", 1000)
		frame[14+6] |= 0x20 // more fragments
		var p Packet
		NewDecoder(Options{}).Decode(frame[:60], LinkTypeEthernet, 60, &p)
		if p.NTunnels != 0 || !p.MoreFrags || p.Inner.DstPort != 4789 || p.Layers&HasVXLAN != 0 {
			t.Errorf("tunnels %d more %v inner %+v err %v", p.NTunnels, p.MoreFrags, p.Inner, p.Err)
		}
	})
}

// TestICMPEcho checks that echo identifiers fill the ports and sequence numbers are kept, for
// both ICMP versions.
func TestICMPEcho(t *testing.T) {
	eth, ip := outerIPv4("10.0.0.1", "10.0.0.2", layers.IPProtocolICMPv4)
	v4 := serializeLayers(t, eth, ip, &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0), Id: 0x4242, Seq: 7}, gopacket.Payload("ping"))
	ip6 := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolICMPv6,
		SrcIP: net.ParseIP("2001:db8::1"), DstIP: net.ParseIP("2001:db8::2")}
	icmp6 := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(129, 0)}
	_ = icmp6.SetNetworkLayerForChecksum(ip6)
	v6 := serializeLayers(t, ip6, icmp6, &layers.ICMPv6Echo{Identifier: 0x4343, SeqNumber: 8}, gopacket.Payload("pong"))
	for _, c := range []struct {
		name     string
		data     []byte
		link     uint16
		id, seq  uint16
		typ      uint8
		proto    uint8
		payloadN uint16
	}{
		{"v4-request", v4, LinkTypeEthernet, 0x4242, 7, 8, 1, 4},
		{"v6-reply", v6, LinkTypeIPv6, 0x4343, 8, 129, 58, 4},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := decodeOne(t, c.data, c.link)
			if p.Inner.SrcPort != c.id || p.Inner.DstPort != c.id || p.ICMPSeq != c.seq || p.ICMPType != c.typ ||
				p.Inner.Proto != c.proto || p.PayloadLen != c.payloadN || p.Fingerprint == 0 {
				t.Errorf("inner %+v seq %d type %d payload %d", p.Inner, p.ICMPSeq, p.ICMPType, p.PayloadLen)
			}
		})
	}
}

// TestIPv6Extensions checks that extension headers are skipped to the transport.
func TestIPv6Extensions(t *testing.T) {
	udp := "30 39 00 35 00 0c 00 00 61 62 63 64"
	addrs := "20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02"
	cases := []struct {
		name, hex string
		why       string
	}{
		{"hop-by-hop", "60 00 00 00 00 14 00 40 " + addrs + " 11 00 01 04 00 00 00 00 " + udp, "hop-by-hop (decoded by gopacket with IPv6)"},
		{"dest-opts-routing", "60 00 00 00 00 1c 3c 40 " + addrs + " 2b 00 01 04 00 00 00 00  11 00 00 00 00 00 00 00 " + udp, "destination options then routing header"},
		{"atomic-fragment", "60 00 00 00 00 14 2c 40 " + addrs + " 11 00 00 00 00 00 00 2a " + udp, "fragment header with offset 0 and M clear (RFC 6946): a whole packet"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Log(c.why)
			p := decodeOne(t, unhex(t, c.hex), LinkTypeRaw)
			if p.Inner.Proto != 17 || p.Inner.DstPort != 53 || p.PayloadLen != 4 || string(p.Payload) != "abcd" || p.Layers&HasFragment != 0 {
				t.Errorf("inner %+v payload %d %q layers %s", p.Inner, p.PayloadLen, p.Payload, p.Layers)
			}
		})
	}
}

// TestDecodeAllocations requires zero allocations per packet on the hot path, including TCP
// options, VLAN tags, VXLAN and Geneve with options.
func TestDecodeAllocations(t *testing.T) {
	syn := innerTCP
	syn.syn, syn.ts = true, [2]uint32{1, 2}
	frames := [][]byte{
		innerTCP.frame(t),
		syn.frame(t),
		vxlanWrap(t, syn.frame(t), 5001, "10.0.0.1", "10.0.0.2", 1234),
		udpWrap(t, append(unhex(t, "02 40 65 58 00 00 0a 00 01 02 80 01 de ad be ef"), innerTCP.frame(t)...), 1000, 6081),
		unhex(t, "02 00 00 00 00 02 02 00 00 00 00 01 81 00 00 0d 81 00 00 0a 08 00"+ip4UDP),
	}
	d := NewDecoder(Options{})
	var p Packet
	for _, f := range frames {
		d.Decode(f, LinkTypeEthernet, uint32(len(f)), &p) // warm up option slices
	}
	allocs := testing.AllocsPerRun(200, func() {
		for _, f := range frames {
			d.Decode(f, LinkTypeEthernet, uint32(len(f)), &p)
		}
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per %d packets, want 0", allocs, len(frames))
	}
}

// TestRecoverPanic checks the last line of defence: a panic inside decoding becomes a
// malformed-packet error and is counted (FuzzDecode fails on any such count).
func TestRecoverPanic(t *testing.T) {
	d := NewDecoder(Options{})
	var p Packet
	d.pkt = &p
	func() {
		defer d.recoverPanic()
		panic("index out of range in a layer")
	}()
	if p.Err == nil || p.Err.Severity != SevMalformed || !errors.Is(p.Err, ErrMalformed) || d.Stats().Panics != 1 {
		t.Errorf("err %v stats %+v", p.Err, d.Stats())
	}
}
