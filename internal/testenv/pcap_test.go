package testenv

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// wantPacket is what a fixture wrote for one packet.
type wantPacket struct {
	data  []byte
	iface int
	link  layers.LinkType
	name  string
}

var t0 = time.Unix(1_700_000_000, 123_456_000)

// pcapFixture writes a classic pcap (µs, Ethernet) with pcapgo's writer.
func pcapFixture(t *testing.T, pkts ...[]byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w := pcapgo.NewWriter(&b)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	for i, p := range pkts {
		ci := gopacket.CaptureInfo{Timestamp: t0.Add(time.Duration(i) * time.Millisecond), CaptureLength: len(p), Length: len(p)}
		if err := w.WritePacket(ci, p); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

// pcapngFixture writes a pcapng with two named interfaces of different link types.
func pcapngFixture(t *testing.T, pkts []wantPacket) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := pcapgo.NewNgWriterInterface(&b, pcapgo.NgInterface{Name: "eth0", LinkType: layers.LinkTypeEthernet, SnapLength: 65535},
		pcapgo.DefaultNgWriterOptions)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.AddInterface(pcapgo.NgInterface{Name: "tun0", LinkType: layers.LinkTypeRaw, SnapLength: 65535}); err != nil {
		t.Fatal(err)
	}
	for i, p := range pkts {
		ci := gopacket.CaptureInfo{Timestamp: t0.Add(time.Duration(i) * time.Millisecond), CaptureLength: len(p.data),
			Length: len(p.data), InterfaceIndex: p.iface}
		if err := w.WritePacket(ci, p.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func writeFile(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestReadPcap checks the reader choice, the per-packet link type and interface name, and how
// each way of ending is reported.
func TestReadPcap(t *testing.T) {
	eth := []wantPacket{
		{data: []byte{1, 2, 3}, link: layers.LinkTypeEthernet},
		{data: bytes.Repeat([]byte{0xAB}, 100), link: layers.LinkTypeEthernet},
		{data: []byte{}, link: layers.LinkTypeEthernet},
	}
	classic := pcapFixture(t, eth[0].data, eth[1].data, eth[2].data)
	mixed := []wantPacket{
		{data: []byte{0xde, 0xad}, iface: 0, link: layers.LinkTypeEthernet, name: "eth0"},
		{data: []byte{0x45, 0, 0, 20}, iface: 1, link: layers.LinkTypeRaw, name: "tun0"},
		{data: []byte{0xbe, 0xef, 0x01}, iface: 0, link: layers.LinkTypeEthernet, name: "eth0"},
	}
	ng := pcapngFixture(t, mixed)
	tests := []struct {
		name    string
		file    string
		content []byte
		want    []wantPacket
		wantErr error // nil for a clean end
	}{
		// Classic pcap: the file's link type on every packet, no interface names.
		{name: "pcap", file: "a.pcap", content: classic, want: eth},
		// pcapng: each packet carries its own interface's link type and name.
		{name: "pcapng mixed links", file: "b.pcapng", content: ng, want: mixed},
		// The reader follows the bytes, not a misleading extension.
		{name: "pcapng named .pcap", file: "c.pcap", content: ng, want: mixed},
		// Cut inside the last record: the whole packets before it, and io.ErrUnexpectedEOF.
		{name: "cut short", file: "d.pcap", content: classic[:len(classic)-5], want: eth[:2], wantErr: io.ErrUnexpectedEOF},
		// Not a capture at all: a refusal, which tests tell apart from a cut-short file.
		{name: "garbage", file: "e.pcap", content: []byte("not a capture file"), wantErr: ErrRefused},
		// Shorter than any magic number: still a refusal, not a crash in the peek.
		{name: "two bytes", file: "f.pcapng", content: []byte{0x0a, 0x0d}, wantErr: ErrRefused},
		// A pcapng whose first block is cut: NgReader refuses it.
		{name: "pcapng header cut", file: "g.pcapng", content: ng[:10], wantErr: ErrRefused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, tt.file, tt.content)
			got, err := ReadPcap(path)
			if tt.wantErr == nil && err != nil {
				t.Fatalf("ReadPcap: %v", err)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("ReadPcap error %v, want %v", err, tt.wantErr)
			}
			if err != nil && !bytes.Contains([]byte(err.Error()), []byte(path)) {
				t.Errorf("error %q does not name the file", err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("%d packets, want %d", len(got), len(tt.want))
			}
			for i, w := range tt.want {
				g := got[i]
				if !bytes.Equal(g.Data, w.data) || g.LinkType != w.link || g.Interface != w.name || g.Info.InterfaceIndex != w.iface {
					t.Errorf("packet %d = %x link %d if %d %q; want %x link %d if %d %q", i+1,
						g.Data, g.LinkType, g.Info.InterfaceIndex, g.Interface, w.data, w.link, w.iface, w.name)
				}
				if want := t0.Add(time.Duration(i) * time.Millisecond); !g.Info.Timestamp.Equal(want) {
					t.Errorf("packet %d time %v, want %v", i+1, g.Info.Timestamp, want)
				}
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		// An unopenable path is the caller's mistake, not pcapgo refusing the bytes.
		_, err := ReadPcap(filepath.Join(t.TempDir(), "absent.pcap"))
		if !errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrRefused) {
			t.Errorf("ReadPcap(absent) error %v, want fs.ErrNotExist and no refusal", err)
		}
	})
}

// TestReadPcapRealTwoInterfaces reads the public two-interface pcapng; MANIFEST.md (from
// capinfos and tshark) says 6 DNS frames on interfaces of which if0 is "eth0".
func TestReadPcapRealTwoInterfaces(t *testing.T) {
	pkts, err := ReadPcap(Capture(t, "pcapng-two-interfaces-ns-us.pcapng"))
	if err != nil {
		t.Fatal(err)
	}
	if len(pkts) != 6 {
		t.Fatalf("%d packets, want 6", len(pkts))
	}
	names := map[int]string{}
	for i, p := range pkts {
		names[p.Info.InterfaceIndex] = p.Interface
		if p.LinkType != layers.LinkTypeEthernet || len(p.Data) != p.Info.CaptureLength {
			t.Errorf("packet %d: link %d, %d bytes of caplen %d", i+1, p.LinkType, len(p.Data), p.Info.CaptureLength)
		}
	}
	if len(names) != 2 || names[0] != "eth0" || names[1] == "" {
		t.Errorf("interfaces seen %v, want eth0 and a named second one", names)
	}
}
