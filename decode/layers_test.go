package decode

import (
	"bytes"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Hex fixtures shared by the layer and link tests: a 32-byte IPv4/UDP datagram
// 10.0.0.1:12345 -> 10.0.0.2:53 with payload "abcd", and the same as IPv6.
const (
	ip4UDP = `45 00 00 20  12 34 40 00  40 11 00 00  0a 00 00 01  0a 00 00 02 | IPv4, total length 32, ID 0x1234
	          30 39 00 35  00 0c 00 00                                    | UDP 12345 -> 53, length 12
	          61 62 63 64                                                 | "abcd"`
	ip6UDP = `60 00 00 00  00 0c 11 40                                      | IPv6, payload 12, UDP, hop limit 64
	          20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01             | 2001:db8::1
	          20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02             | 2001:db8::2
	          30 39 00 35  00 0c 00 00  61 62 63 64                       | UDP 12345 -> 53, "abcd"`
	ethHdr = "02 00 00 00 00 02  02 00 00 00 00 01  08 00  | Ethernet to IPv4\n"
)

// TestCiscoHDLC decodes Cisco HDLC headers from hex and round-trips them.
func TestCiscoHDLC(t *testing.T) {
	cases := []struct {
		name, hex  string
		addr       uint8
		proto      layers.EthernetType
		next       gopacket.LayerType
		wantErr    bool
		why        string
		payloadLen int
	}{
		{"unicast-ipv4", "0f 00 08 00" + ip4UDP, 0x0f, layers.EthernetTypeIPv4, layers.LayerTypeIPv4, false, "the common case, as in the BGP capture", 32},
		{"broadcast-ipv6", "8f 00 86 dd", 0x8f, layers.EthernetTypeIPv6, layers.LayerTypeIPv6, false, "broadcast address, IPv6, empty payload", 0},
		{"slarp", "8f 00 80 35 00 00 00 02", 0x8f, 0x8035, gopacket.LayerTypeZero, false, "Cisco keepalives are not IP: decoding stops", 4},
		{"short", "0f 00 08", 0, 0, 0, true, "3 bytes cannot hold the header", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Log(c.why)
			var h CiscoHDLC
			var fb feedback
			err := h.DecodeFromBytes(unhex(t, c.hex), &fb)
			if (err != nil) != c.wantErr {
				t.Fatalf("err %v, want error %v", err, c.wantErr)
			}
			if c.wantErr {
				if !fb.truncated {
					t.Error("short header should set truncated")
				}
				return
			}
			if h.Address != c.addr || h.Protocol != c.proto || len(h.Payload) != c.payloadLen {
				t.Errorf("got %+v", h)
			}
			if c.next != gopacket.LayerTypeZero && h.NextLayerType() != c.next {
				t.Errorf("next %v, want %v", h.NextLayerType(), c.next)
			}
			buf := gopacket.NewSerializeBuffer()
			if err := h.SerializeTo(buf, gopacket.SerializeOptions{}); err != nil || !bytes.Equal(buf.Bytes(), h.Contents) {
				t.Errorf("round trip %x, want %x (%v)", buf.Bytes(), h.Contents, err)
			}
		})
	}
}

// TestPPP decodes the PPP header variants of link types 9 and 50.
func TestPPP(t *testing.T) {
	cases := []struct {
		name, hex string
		ac        bool
		proto     layers.PPPType
		hdr       int
		wantErr   bool
		why       string
	}{
		{"plain", "00 21" + ip4UDP, false, layers.PPPTypeIPv4, 2, false, "ns-3 and most LINKTYPE_PPP captures"},
		{"hdlc", "ff 03 00 57" + ip6UDP, true, layers.PPPTypeIPv6, 4, false, "LINKTYPE_PPP_HDLC keeps address and control"},
		{"compressed", "21" + ip4UDP, false, layers.PPPTypeIPv4, 1, false, "protocol field compression: one odd byte"},
		{"hdlc-compressed", "ff 03 21" + ip4UDP, true, layers.PPPTypeIPv4, 3, false, "both options at once"},
		{"even-protocol", "00 20 00 00", false, 0, 0, true, "a two-byte protocol must end in an odd byte"},
		{"only-ac", "ff 03", true, 0, 0, true, "address/control and nothing more"},
		{"half-protocol", "00", false, 0, 0, true, "one even byte announces a second"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Log(c.why)
			var p PPP
			var fb feedback
			err := p.DecodeFromBytes(unhex(t, c.hex), &fb)
			if (err != nil) != c.wantErr {
				t.Fatalf("err %v, want error %v", err, c.wantErr)
			}
			if c.wantErr {
				return
			}
			if p.HasAddressControl != c.ac || p.Protocol != c.proto || len(p.Contents) != c.hdr {
				t.Errorf("got ac=%v proto=%#x hdr=%d", p.HasAddressControl, p.Protocol, len(p.Contents))
			}
			// SerializeTo always writes the two-byte protocol; decoding it again agrees
			buf := gopacket.NewSerializeBuffer()
			if err := p.SerializeTo(buf, gopacket.SerializeOptions{}); err != nil {
				t.Fatal(err)
			}
			var q PPP
			if err := q.DecodeFromBytes(buf.Bytes(), &fb); err != nil || q.Protocol != p.Protocol || q.HasAddressControl != p.HasAddressControl {
				t.Errorf("round trip %x: %+v %v", buf.Bytes(), q, err)
			}
		})
	}
}

// TestGeneve decodes Geneve headers with and without options.
func TestGeneve(t *testing.T) {
	cases := []struct {
		name, hex string
		vni       uint32
		proto     layers.EthernetType
		opts      int
		critical  bool
		wantErr   bool
		why       string
	}{
		{"no-options", "00 00 65 58  00 10 92 00" + ethHdr, 4242, 0x6558, 0, false, false, "Zeek's sample: VNI 4242, Ethernet inside"},
		{"critical-option", "02 40 65 58  00 00 0a 00  01 02 80 01  de ad be ef" + ethHdr, 10, 0x6558, 8, true, false, "an 8-byte option with the C bit, as in tcpdump's sample"},
		{"ip-inside", "00 00 08 00  00 00 01 00" + ip4UDP, 1, layers.EthernetTypeIPv4, 0, false, false, "protocol 0x0800 carries IPv4 directly"},
		{"options-cut", "03 00 65 58  00 00 01 00  00 00 00 00", 0, 0, 0, false, true, "12 option bytes announced, 4 present"},
		{"short", "00 00 65 58", 0, 0, 0, false, true, "half a header"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Log(c.why)
			var g Geneve
			var fb feedback
			data := unhex(t, c.hex)
			err := g.DecodeFromBytes(data, &fb)
			if (err != nil) != c.wantErr {
				t.Fatalf("err %v, want error %v", err, c.wantErr)
			}
			if c.wantErr {
				return
			}
			if g.VNI != c.vni || g.Protocol != c.proto || len(g.Options) != c.opts || g.Critical != c.critical {
				t.Errorf("got %+v", g)
			}
			// gopacket's own Geneve decoder agrees on the header fields
			var ref layers.Geneve
			if err := ref.DecodeFromBytes(data, gopacket.NilDecodeFeedback); err != nil ||
				ref.VNI != g.VNI || ref.Protocol != g.Protocol || !bytes.Equal(ref.Payload, g.Payload) {
				t.Errorf("gopacket's Geneve: %+v %v", ref, err)
			}
			buf := gopacket.NewSerializeBuffer()
			if err := g.SerializeTo(buf, gopacket.SerializeOptions{}); err != nil || !bytes.Equal(buf.Bytes(), g.Contents) {
				t.Errorf("round trip %x, want %x (%v)", buf.Bytes(), g.Contents, err)
			}
		})
	}
}

// TestERSPANIII decodes ERSPAN type III headers.
func TestERSPANIII(t *testing.T) {
	cases := []struct {
		name, hex string
		session   uint16
		vlan      uint16
		ft        uint8
		hw        uint8
		sub, dir  bool
		hdr       int
		wantErr   bool
		why       string
	}{
		{"ethernet-subheader", "20 0a 00 64  00 00 00 01  00 00 00 19  00 00 00 00 00 00 00 00" + ethHdr, 100, 10, 0, 1, true, true, 20, false, "mirrored Ethernet frame after an 8-byte platform subheader"},
		{"ip", "20 00 03 ff  00 00 00 02  00 05 08 00" + ip4UDP, 0x3ff, 0, 2, 0, false, false, 12, false, "FT = 2: an IP packet without Ethernet"},
		{"version-1", "10 0a 00 64  00 00 00 01  00 00 00 00", 0, 0, 0, 0, false, false, 0, true, "type II bytes under the type III protocol"},
		{"subheader-cut", "20 0a 00 64  00 00 00 01  00 00 00 01  00 00", 0, 0, 0, 0, false, false, 0, true, "O set but the subheader is cut"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Log(c.why)
			var e ERSPANIII
			var fb feedback
			err := e.DecodeFromBytes(unhex(t, c.hex), &fb)
			if (err != nil) != c.wantErr {
				t.Fatalf("err %v, want error %v", err, c.wantErr)
			}
			if c.wantErr {
				return
			}
			if e.SessionID != c.session || e.VLAN != c.vlan || e.FrameType != c.ft || e.HwID != c.hw ||
				e.Subheader != c.sub || e.Direction != c.dir || len(e.Contents) != c.hdr {
				t.Errorf("got %+v", e)
			}
		})
	}
}

// TestVXLANGPE decodes VXLAN-GPE headers, including Arkime's 4790 sample header.
func TestVXLANGPE(t *testing.T) {
	cases := []struct {
		name, hex string
		vni       uint32
		hasNext   bool
		next      gopacket.LayerType
		why       string
	}{
		{"arkime-ethernet", "0c 00 00 03  00 00 00 00" + ethHdr, 0, true, layers.LayerTypeEthernet, "the erspan-vxlan4790 capture: I and P set, next protocol Ethernet"},
		{"ipv4", "0c 00 00 01  00 00 64 00" + ip4UDP, 100, true, layers.LayerTypeIPv4, "GPE carrying IPv4 without Ethernet"},
		{"ipv6", "0c 00 00 02  00 00 65 00" + ip6UDP, 101, true, layers.LayerTypeIPv6, "GPE carrying IPv6"},
		{"plain-vxlan", "08 00 00 00  00 01 00 00" + ethHdr, 256, false, layers.LayerTypeEthernet, "without P the header is plain VXLAN"},
		{"nsh", "0c 00 00 04  00 00 01 00", 1, true, gopacket.LayerTypePayload, "NSH is not followed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Log(c.why)
			var v VXLANGPE
			var fb feedback
			if err := v.DecodeFromBytes(unhex(t, c.hex), &fb); err != nil {
				t.Fatal(err)
			}
			if v.VNI != c.vni || v.HasNext != c.hasNext || v.NextLayerType() != c.next || !v.ValidVNI {
				t.Errorf("got %+v next %v", v, v.NextLayerType())
			}
			buf := gopacket.NewSerializeBuffer()
			if err := v.SerializeTo(buf, gopacket.SerializeOptions{}); err != nil || !bytes.Equal(buf.Bytes(), v.Contents) {
				t.Errorf("round trip %x, want %x (%v)", buf.Bytes(), v.Contents, err)
			}
		})
	}
	var v VXLANGPE
	if err := v.DecodeFromBytes(unhex(t, "0c 00 00 03"), gopacket.NilDecodeFeedback); err == nil {
		t.Error("a 4-byte header should not decode")
	}
}

// TestLayersInGopacket checks that our layers plug into gopacket itself: NewPacket through
// the registered layer types, and a DecodingLayerParser.
func TestLayersInGopacket(t *testing.T) {
	t.Run("newpacket-chdlc", func(t *testing.T) {
		p := gopacket.NewPacket(unhex(t, "0f 00 08 00"+ip4UDP), LayerTypeCiscoHDLC, gopacket.Default)
		// (the DNS layer gopacket then tries on port 53 fails on "abcd"; that is not ours)
		if p.Layer(LayerTypeCiscoHDLC) == nil || p.Layer(layers.LayerTypeUDP) == nil {
			t.Errorf("layers %v, error %v", p.Layers(), p.ErrorLayer())
		}
	})
	t.Run("newpacket-link-decoder", func(t *testing.T) {
		for _, lt := range []uint16{LinkTypeCiscoHDLC, LinkTypeRaw, LinkTypeIPv4} {
			data := unhex(t, ip4UDP)
			if lt == LinkTypeCiscoHDLC {
				data = unhex(t, "0f 00 08 00"+ip4UDP)
			}
			p := gopacket.NewPacket(data, LinkDecoder(lt), gopacket.Default)
			if p.Layer(layers.LayerTypeUDP) == nil {
				t.Errorf("link type %d: layers %v", lt, p.Layers())
			}
		}
		if LinkDecoder(147) != nil {
			t.Error("an unsupported link type should have no decoder")
		}
	})
	t.Run("parser-ppp-geneve", func(t *testing.T) {
		var (
			ppp  PPP
			ip4  layers.IPv4
			udp  layers.UDP
			gen  Geneve
			eth  layers.Ethernet
			gpe  VXLANGPE
			ers3 ERSPANIII
		)
		parser := gopacket.NewDecodingLayerParser(layers.LayerTypePPP, &ppp, &ip4, &udp, &gen, &eth, &gpe, &ers3)
		var decoded []gopacket.LayerType
		err := parser.DecodeLayers(unhex(t, "ff 03 00 21"+ip4UDP), &decoded)
		if len(decoded) != 3 || decoded[0] != layers.LayerTypePPP || decoded[2] != layers.LayerTypeUDP {
			t.Errorf("decoded %v, err %v", decoded, err)
		}
	})
}
