package ui

import (
	"io"
	"net"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/stackflow/stackflow/decode/pcapio"
	"github.com/stackflow/stackflow/internal/testenv"
)

// vxlanFrame builds Ethernet/IPv4/UDP(dport)/VXLAN(vni)/Ethernet/IPv4/TCP(SYN) with gopacket.
func vxlanFrame(t testing.TB, dport uint16, vni uint32) []byte {
	t.Helper()
	mac1, _ := net.ParseMAC("00:15:5d:64:40:44")
	mac2, _ := net.ParseMAC("00:15:5d:64:40:46")
	outerEth := &layers.Ethernet{SrcMAC: mac1, DstMAC: mac2, EthernetType: layers.EthernetTypeIPv4}
	outerIP := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.IP{192, 168, 100, 68}, DstIP: net.IP{192, 168, 100, 70}}
	udp := &layers.UDP{SrcPort: 50000, DstPort: layers.UDPPort(dport)}
	udp.SetNetworkLayerForChecksum(outerIP)
	vx := &layers.VXLAN{ValidIDFlag: true, VNI: vni}
	innerEth := &layers.Ethernet{SrcMAC: mac1, DstMAC: mac2, EthernetType: layers.EthernetTypeIPv4}
	innerIP := &layers.IPv4{Version: 4, TTL: 63, Protocol: layers.IPProtocolTCP, SrcIP: net.IP{192, 168, 201, 2}, DstIP: net.IP{192, 168, 102, 4}}
	tcp := &layers.TCP{SrcPort: 40000, DstPort: 443, Seq: 1000, SYN: true, Window: 64240}
	tcp.SetNetworkLayerForChecksum(innerIP)
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, outerEth, outerIP, udp, vx, innerEth, innerIP, tcp); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func layerNames(d packetDetail) string {
	var n []string
	for _, l := range d.Layers {
		n = append(n, l.Name)
	}
	return strings.Join(n, " ")
}

func TestDescribePacket(t *testing.T) {
	cases := []struct {
		name   string
		data   []byte
		ports  []uint16
		layers string
	}{
		// gopacket knows 4789 itself.
		{"vxlan on 4789", vxlanFrame(t, 4789, 4114), nil, "Ethernet IPv4 UDP VXLAN Ethernet IPv4 TCP Padding"},
		// 8472 is decoded only when configured, without touching gopacket's global port table.
		{"8472 configured", vxlanFrame(t, 8472, 4114), []uint16{8472}, "Ethernet IPv4 UDP VXLAN Ethernet IPv4 TCP Padding"},
		{"8472 not configured", vxlanFrame(t, 8472, 4114), nil, "Ethernet IPv4 UDP Payload"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := describePacket(c.data, 1, c.ports)
			if got := layerNames(d); got != c.layers {
				t.Fatalf("layers %q, want %q (err %q)", got, c.layers, d.Err)
			}
			// Layers tile the frame: each starts where the previous ended, the last ends at
			// the frame's end (the inner frame's Ethernet padding is a pseudo-layer).
			end := 0
			for _, l := range d.Layers {
				if l.Start != end || l.End < l.Start {
					t.Errorf("%s covers [%d,%d), previous ended at %d", l.Name, l.Start, l.End, end)
				}
				end = l.End
			}
			if end != len(c.data) {
				t.Errorf("layers end at %d of %d bytes", end, len(c.data))
			}
		})
	}
	d := describePacket(vxlanFrame(t, 8472, 4114), 1, []uint16{8472})
	var vx, tcp layerInfo
	for _, l := range d.Layers {
		switch l.Name {
		case "VXLAN":
			vx = l
		case "TCP":
			tcp = l
		}
	}
	if s := layerSummary(vx); !strings.Contains(s, "vni 4114") {
		t.Errorf("VXLAN summary %q lacks the VNI", s)
	}
	if s := layerSummary(tcp); !strings.Contains(s, "40000(safetynetp) > 443(https)") || !strings.Contains(s, "[SYN] seq 1000") {
		t.Errorf("TCP summary %q", s)
	}
	// BaseLayer's Contents and Payload are the hex dump's business, not fields.
	for _, f := range tcp.Fields {
		if f.Name == "Contents" || f.Name == "Payload" || f.Name == "BaseLayer" {
			t.Errorf("field %s listed", f.Name)
		}
	}
}

func TestDescribeTruncated(t *testing.T) {
	full := vxlanFrame(t, 4789, 1)
	// A frame cut inside the inner IPv4 header decodes as far as it goes and says why it stopped.
	d := describePacket(full[:14+20+8+8+14+10], 1, nil)
	if d.Err == "" || !strings.HasPrefix(layerNames(d), "Ethernet IPv4 UDP VXLAN Ethernet") {
		t.Errorf("layers %q err %q", layerNames(d), d.Err)
	}
}

func TestHexDump(t *testing.T) {
	data := []byte("\x45\x00\x00\x3cABCDEFGHIJKL[]mnopqr")
	plain := hexDump(data, 0, 0, false)
	want := "0000  45 00 00 3c 41 42 43 44  45 46 47 48 49 4a 4b 4c  E..<ABCDEFGHIJKL\n" +
		"0010  5b 5d 6d 6e 6f 70 71 72                           []mnopqr\n"
	if plain != want {
		t.Fatalf("plain dump\n%q\nwant\n%q", plain, want)
	}
	cases := []struct {
		name       string
		start, end int
		want       string
	}{
		// Bytes 2..5 marked as one block (the gaps between them too), in hex and ASCII.
		{"inside a line", 2, 6, "0000  45 00 [::r]00 3c 41 42[::-] 43 44  45 46 47 48 49 4a 4b 4c  E.[::r].<AB[::-]CDEFGHIJKL\n"},
		// A block across the middle gap and a line end; brackets turn into dots so that
		// they cannot open a tag.
		{"across lines", 7, 18, "0000  45 00 00 3c 41 42 43 [::r]44  45 46 47 48 49 4a 4b 4c[::-]  E..<ABC[::r]DEFGHIJKL[::-]\n0010  [::r]5b 5d[::-] 6d 6e 6f 70 71 72                           [::r]..[::-]mnopqr\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := hexDump(data, c.start, c.end, true); !strings.HasPrefix(got, c.want) {
				t.Errorf("got\n%q\nwant prefix\n%q", got, c.want)
			}
		})
	}
}

// samplePackets reads the first n packets of a committed sample, for fuzz seeds.
func samplePackets(t testing.TB, name string, n int) [][]byte {
	t.Helper()
	src, err := pcapio.Open(testenv.Sample(t, name), pcapio.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var out [][]byte
	var rec pcapio.Record
	for len(out) < n {
		if err := src.Next(&rec); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		out = append(out, append([]byte(nil), rec.Data...))
	}
	return out
}

// FuzzDescribePacket feeds the detail pane arbitrary frames: it must never panic, its layers
// must stay inside the frame, and the hex dump must cover every byte.
func FuzzDescribePacket(f *testing.F) {
	for _, p := range samplePackets(f, "azurestack-poc.pcapng", 40) {
		f.Add(p, uint16(1))
	}
	f.Add(vxlanFrame(f, 8472, 7), uint16(1))
	f.Fuzz(func(t *testing.T, data []byte, lt uint16) {
		d := describePacket(data, lt%300, []uint16{8472})
		for _, l := range d.Layers {
			if l.Start < 0 || l.End > len(data) || l.Start > l.End {
				t.Fatalf("%s [%d,%d) outside %d bytes", l.Name, l.Start, l.End, len(data))
			}
			_ = layerSummary(l)
		}
		dump := hexDump(data, len(data)/3, len(data)/2, true)
		if lines := strings.Count(dump, "\n"); lines != (len(data)+15)/16 {
			t.Fatalf("%d lines for %d bytes", lines, len(data))
		}
	})
}
