package decode

import (
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// capturesDir returns ../shared/captures next to the repository root (found by walking up to
// go.mod), skipping the test when the folder is absent.
func capturesDir(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Skip("no go.mod above the test directory, so no ../shared/captures")
		}
		dir = parent
	}
	caps := filepath.Join(dir, "..", "shared", "captures")
	if _, err := os.Stat(caps); err != nil {
		tb.Skipf("public captures not available: %v", err)
	}
	return caps
}

// frame is one captured packet read with gopacket's pcapgo (the test oracle framer).
type frame struct {
	data    []byte
	link    uint16
	origLen uint32
}

// readCapture reads every packet of a capture in ../shared/captures.
func readCapture(tb testing.TB, name string) []frame {
	tb.Helper()
	f, err := os.Open(filepath.Join(capturesDir(tb), name))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var out []frame
	if strings.HasSuffix(name, ".pcapng") {
		r, err := pcapgo.NewNgReader(f, pcapgo.NgReaderOptions{WantMixedLinkType: true})
		if err != nil {
			tb.Fatalf("%s: %v", name, err)
		}
		for {
			data, ci, err := r.ReadPacketData()
			if errors.Is(err, io.EOF) {
				return out
			}
			if err != nil {
				tb.Fatalf("%s: %v", name, err)
			}
			link := r.LinkType()
			if len(ci.AncillaryData) > 0 {
				if lt, ok := ci.AncillaryData[0].(layers.LinkType); ok {
					link = lt
				}
			}
			out = append(out, frame{data, uint16(link), uint32(ci.Length)})
		}
	}
	r, err := pcapgo.NewReader(f)
	if err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	for {
		data, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return out
		}
		if err != nil {
			tb.Fatalf("%s: %v", name, err)
		}
		out = append(out, frame{data, uint16(r.LinkType()), uint32(ci.Length)})
	}
}

// decodeCapture decodes every packet of a capture with a fresh Decoder.
func decodeCapture(tb testing.TB, name string, opts Options) ([]frame, []Packet) {
	tb.Helper()
	frames := readCapture(tb, name)
	d := NewDecoder(opts)
	pkts := make([]Packet, len(frames))
	for i, fr := range frames {
		pkts[i].Number = uint64(i + 1)
		d.Decode(fr.data, fr.link, fr.origLen, &pkts[i])
	}
	return frames, pkts
}

// unhex turns a hex dump fixture (whitespace and "|"-comments ignored) into bytes.
func unhex(tb testing.TB, s string) []byte {
	tb.Helper()
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if i := strings.Index(line, "|"); i >= 0 {
			line = line[:i]
		}
		b.WriteString(strings.Join(strings.Fields(line), ""))
	}
	out, err := hex.DecodeString(b.String())
	if err != nil {
		tb.Fatalf("bad hex fixture: %v", err)
	}
	return out
}

// serialize builds a frame from gopacket layers, fixing lengths and checksums.
func serializeLayers(tb testing.TB, ls ...gopacket.SerializableLayer) []byte {
	tb.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		tb.Fatal(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}
