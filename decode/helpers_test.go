package decode

import (
	"encoding/hex"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"

	"github.com/stackflow/stackflow/internal/testenv"
)

// frame is one captured packet read with gopacket's pcapgo (the test oracle framer).
type frame struct {
	data    []byte
	link    uint16
	origLen uint32
}

// readCapture reads every packet of a capture in ../shared/captures with pcapgo, skipping the
// test when the captures are absent. A classic pcap cut short inside a record gives its whole
// packets; any other read error fails the test.
func readCapture(tb testing.TB, name string) []frame {
	tb.Helper()
	pkts, err := testenv.ReadPcap(testenv.Capture(tb, name))
	if err != nil && !(errors.Is(err, io.ErrUnexpectedEOF) && filepath.Ext(name) != ".pcapng") {
		tb.Fatal(err)
	}
	out := make([]frame, len(pkts))
	for i, p := range pkts {
		out[i] = frame{p.Data, uint16(p.LinkType), uint32(p.Info.Length)}
	}
	return out
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
