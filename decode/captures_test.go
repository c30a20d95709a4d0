package decode

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"
)

// TestCaptures checks, capture by capture, the facts the public captures are known for
// (MANIFEST.md in ../shared/captures). TestFieldsMatchTshark compares field values broadly;
// these cases pin the property each capture was chosen to exercise.
func TestCaptures(t *testing.T) {
	cases := []struct {
		file  string
		why   string
		check func(t *testing.T, d *Decoder, frames []frame, pkts []Packet)
	}{
		{"vxlan-http-vni1.pcap", "VXLAN on 4789 with inner Ethernet/IPv4/TCP", func(t *testing.T, _ *Decoder, _ []frame, pkts []Packet) {
			client, server := netip.MustParseAddr("172.16.11.201"), netip.MustParseAddr("54.86.237.188")
			for i, p := range pkts {
				tu := p.Tunnels[0]
				if p.NTunnels != 1 || tu.Type != TunnelVXLAN || !tu.HasVNI || tu.VNI != 1 {
					t.Fatalf("packet %d: tunnels %+v", i+1, p.Tunnels[:p.NTunnels])
				}
				if tu.Outer.Proto != 17 || (tu.Outer.DstPort != 4789 && tu.Outer.SrcPort != 4789) {
					t.Errorf("packet %d: outer %+v", i+1, tu.Outer)
				}
				in := p.Inner
				fwd := in.Src == client && in.Dst == server && in.DstPort == 80
				rev := in.Src == server && in.Dst == client && in.SrcPort == 80
				if in.Proto != 6 || !(fwd || rev) || in.SrcPort == 0 || in.DstPort == 0 {
					t.Errorf("packet %d: inner %+v", i+1, in)
				}
			}
		}},
		{"vxlan-udp8472-icmp-vni100.pcap", "VXLAN on the Linux port 8472 from the default table", func(t *testing.T, _ *Decoder, _ []frame, pkts []Packet) {
			echo := 0
			for i, p := range pkts {
				if p.NTunnels != 1 || p.Tunnels[0].VNI != 100 || p.Tunnels[0].Outer.DstPort != 8472 {
					t.Fatalf("packet %d: tunnels %+v", i+1, p.Tunnels[:p.NTunnels])
				}
				if p.Inner.Proto == 1 {
					echo++
					if p.Inner.SrcPort == 0 || p.Inner.SrcPort != p.Inner.DstPort {
						t.Errorf("packet %d: echo id should fill both ports: %+v", i+1, p.Inner)
					}
				}
			}
			if echo == 0 {
				t.Error("no inner ICMP echo found")
			}
		}},
		{"vxlan-triple-nested-dns.pcap", "three nested VXLAN tunnels, DNS at the bottom", func(t *testing.T, _ *Decoder, _ []frame, pkts []Packet) {
			p := pkts[0]
			if p.NTunnels != 3 {
				t.Fatalf("tunnels %d, want 3", p.NTunnels)
			}
			for i, want := range []struct {
				vni      uint32
				src, dst string
			}{{1, "1.1.1.1", "1.1.1.9"}, {2, "2.2.2.2", "2.2.2.9"}, {3, "3.3.3.3", "3.3.3.9"}} {
				tu := p.Tunnels[i]
				if tu.VNI != want.vni || tu.Outer.Src.String() != want.src || tu.Outer.Dst.String() != want.dst {
					t.Errorf("tunnel %d: %+v, want VNI %d %s -> %s", i, tu, want.vni, want.src, want.dst)
				}
			}
			if p.Layers&HasDNS == 0 || p.Inner.SrcPort != 53 || p.Err != nil {
				t.Errorf("inner %+v layers %s err %v", p.Inner, p.Layers, p.Err)
			}
		}},
		{"geneve-options-ssh.pcap", "Geneve with critical options skipped, two VNIs", func(t *testing.T, _ *Decoder, _ []frame, pkts []Packet) {
			vnis := map[uint32]int{}
			ssh := 0
			for _, p := range pkts {
				if p.NTunnels != 1 || p.Tunnels[0].Type != TunnelGeneve {
					t.Fatalf("packet %d: tunnels %+v", p.Number, p.Tunnels[:p.NTunnels])
				}
				vnis[p.Tunnels[0].VNI]++
				if p.Inner.SrcPort == 22 || p.Inner.DstPort == 22 {
					ssh++
				}
			}
			if len(vnis) != 2 || vnis[0xa] == 0 || vnis[0xb] == 0 || ssh == 0 {
				t.Errorf("VNIs %v, ssh packets %d", vnis, ssh)
			}
		}},
		{"nvgre-teb-tcp.pcap", "NVGRE: key split into VSID and FlowID", func(t *testing.T, _ *Decoder, _ []frame, pkts []Packet) {
			p := pkts[0]
			tu := p.Tunnels[0]
			if p.NTunnels != 1 || tu.Type != TunnelNVGRE || tu.VNI != 0x123456 || tu.FlowID != 2 ||
				!tu.HasKey || tu.Key != 0x12345602 || p.Layers&(HasNVGRE|HasGRE) != HasNVGRE|HasGRE {
				t.Fatalf("tunnel %+v layers %s", tu, p.Layers)
			}
			if p.Inner.Proto != 6 || p.Inner.SrcPort != 1001 || p.Inner.DstPort != 1002 || tu.Outer.Proto != 47 {
				t.Errorf("inner %+v outer %+v", p.Inner, tu.Outer)
			}
		}},
		{"gre-csum-key-seq-icmp.pcap", "GRE with checksum, key and sequence present", func(t *testing.T, _ *Decoder, _ []frame, pkts []Packet) {
			for _, p := range pkts {
				tu := p.Tunnels[0]
				if p.NTunnels != 1 || tu.Type != TunnelGRE || !tu.HasKey || tu.Key != 0x1d97c || tu.HasVNI {
					t.Fatalf("packet %d: tunnel %+v", p.Number, tu)
				}
				if p.Inner.Proto != 1 || p.Layers&HasICMP == 0 || (p.ICMPType != 0 && p.ICMPType != 8) {
					t.Errorf("packet %d: inner %+v type %d", p.Number, p.Inner, p.ICMPType)
				}
			}
		}},
		{"vlan-qinq-double-tag.pcap", "Q-in-Q: both tags kept, outermost first", func(t *testing.T, _ *Decoder, _ []frame, pkts []Packet) {
			for _, p := range pkts {
				if p.NVLAN != 2 || p.VLANs != [2]uint16{13, 10} {
					t.Errorf("packet %d: vlans %v (%d)", p.Number, p.VLANs, p.NVLAN)
				}
			}
		}},
		{"bgp-as4path-mixed-chdlc.pcap", "Cisco HDLC link type down to TCP/179, TCP layer exposed", func(t *testing.T, d *Decoder, frames []frame, pkts []Packet) {
			for i, p := range pkts {
				if p.Layers&(HasCHDLC|HasIPv4|HasTCP) != HasCHDLC|HasIPv4|HasTCP || p.HasMAC {
					t.Fatalf("packet %d: layers %s", i+1, p.Layers)
				}
				if p.Inner.SrcPort != 179 && p.Inner.DstPort != 179 {
					t.Errorf("packet %d: not BGP: %+v", i+1, p.Inner)
				}
				d.Decode(frames[i].data, frames[i].link, frames[i].origLen, &p)
				tcp := d.TCP()
				if tcp == nil || tcp.Seq != p.TCPSeq || !bytes.Equal(tcp.Payload, p.Payload) {
					t.Fatalf("packet %d: TCP() = %v", i+1, tcp)
				}
				if len(tcp.Payload) >= 16 && !bytes.Equal(tcp.Payload[:16], bytes.Repeat([]byte{0xff}, 16)) {
					t.Errorf("packet %d: payload does not start with the BGP marker", i+1)
				}
			}
		}},
		{"nanosecond-pcap-tcp-handshake.pcap", "Linux SLL v1 with a TCP handshake", func(t *testing.T, _ *Decoder, _ []frame, pkts []Packet) {
			want := []uint8{TCPSyn, TCPSyn | TCPAck, TCPAck}
			for i, p := range pkts {
				if p.Layers&HasSLL == 0 || p.TCPFlags != want[i] {
					t.Errorf("packet %d: layers %s flags %#x, want %#x", i+1, p.Layers, p.TCPFlags, want[i])
				}
			}
			if pkts[0].MSS == 0 || !pkts[0].HasWScale || !pkts[0].HasTS || pkts[2].MSS != 0 {
				t.Errorf("SYN options mss %d ws %v ts %v; ACK mss %d", pkts[0].MSS, pkts[0].HasWScale, pkts[0].HasTS, pkts[2].MSS)
			}
		}},
		{"multihop-ns3-n0-p2p.pcap", "PPP link type (ns-3, no address/control bytes)", func(t *testing.T, _ *Decoder, _ []frame, pkts []Packet) {
			for _, p := range pkts {
				if p.Layers&(HasPPP|HasIPv4|HasUDP) != HasPPP|HasIPv4|HasUDP || p.PayloadLen != 1024 {
					t.Errorf("packet %d: layers %s payload %d", p.Number, p.Layers, p.PayloadLen)
				}
			}
		}},
		{"erspan-vxlan4790-http.pcap", "ERSPAN II in GRE, then VXLAN-GPE on 4790 with next protocol Ethernet", func(t *testing.T, _ *Decoder, _ []frame, pkts []Packet) {
			for _, p := range pkts {
				if p.NTunnels != 2 || p.Tunnels[0].Type != TunnelERSPAN || p.Tunnels[1].Type != TunnelVXLAN ||
					p.Tunnels[1].VNI != 0 || !p.Tunnels[1].HasVNI || p.Tunnels[1].Outer.DstPort != 4790 {
					t.Fatalf("packet %d: tunnels %+v", p.Number, p.Tunnels[:p.NTunnels])
				}
				if p.Inner.SrcPort != 80 && p.Inner.DstPort != 80 {
					t.Errorf("packet %d: inner %+v", p.Number, p.Inner)
				}
			}
		}},
		{"geneve-vxlan-dns-snaplen-truncated.pcap", "snap length cuts nested tunnels: truncated, outer layers kept", func(t *testing.T, _ *Decoder, _ []frame, pkts []Packet) {
			for _, p := range pkts {
				if p.Err == nil || p.Err.Severity != SevTruncated || !errors.Is(p.Err, ErrTruncated) ||
					p.Err.Proto != "ipv4" || p.Err.Offset != 14 {
					t.Fatalf("packet %d: err %v", p.Number, p.Err)
				}
				if p.NTunnels != 2 || p.Tunnels[0].Type != TunnelGeneve || p.Tunnels[0].VNI != 4242 ||
					p.Tunnels[1].Type != TunnelVXLAN || p.Tunnels[1].VNI != 4242 || p.Layers&HasDNS == 0 {
					t.Errorf("packet %d: tunnels %+v layers %s", p.Number, p.Tunnels[:p.NTunnels], p.Layers)
				}
				if int(p.PayloadLen) <= len(p.Payload) {
					t.Errorf("packet %d: payload length %d should exceed the %d bytes captured", p.Number, p.PayloadLen, len(p.Payload))
				}
			}
		}},
		{"synthetic-etl2pcapng-layout.pcapng", "a Windows-SDN-like frame plain, in VXLAN 5001 and in NVGRE 6001", func(t *testing.T, _ *Decoder, _ []frame, pkts []Packet) {
			var vx, nv bool
			for _, p := range pkts {
				if p.NTunnels == 1 && p.Tunnels[0].Type == TunnelVXLAN && p.Tunnels[0].VNI == 5001 {
					vx = true
				}
				if p.NTunnels == 1 && p.Tunnels[0].Type == TunnelNVGRE && p.Tunnels[0].VNI == 6001 {
					nv = true
				}
			}
			if !vx || !nv {
				t.Errorf("VXLAN 5001 found %v, NVGRE 6001 found %v", vx, nv)
			}
		}},
		{"vxlan-ipv6-gso-tcp-vni5001.pcap", "IPv6 underlay and overlay, a frame longer than any MTU", func(t *testing.T, _ *Decoder, frames []frame, pkts []Packet) {
			p := pkts[0]
			if p.NTunnels != 1 || p.Tunnels[0].VNI != 5001 || !p.Tunnels[0].Outer.Src.Is6() || p.IPVersion != 6 ||
				int(p.PayloadLen) != len(p.Payload) || len(frames[0].data) < 4000 {
				t.Errorf("tunnels %+v version %d payload %d/%d", p.Tunnels[:1], p.IPVersion, p.PayloadLen, len(p.Payload))
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			t.Log(c.why)
			frames := readCapture(t, c.file)
			d := NewDecoder(Options{})
			pkts := make([]Packet, len(frames))
			for i, fr := range frames {
				pkts[i].Number = uint64(i + 1)
				d.Decode(fr.data, fr.link, fr.origLen, &pkts[i])
			}
			if len(pkts) == 0 {
				t.Fatal("no packets")
			}
			c.check(t, d, frames, pkts)
		})
	}
}
