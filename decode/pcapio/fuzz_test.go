package pcapio

import (
	"bytes"
	"io"
	"os"
	"testing"

	"github.com/stackflow/stackflow/internal/testenv"
)

// FuzzReader feeds any bytes to NewReader and drains the source. It must never panic or
// loop, Next must only ever return a record or io.EOF for in-memory input, and the records
// must be self-consistent. Seeds: every public capture under 100 KB, plus built-in fixtures.
func FuzzReader(f *testing.F) {
	if dir, err := testenv.Captures(); err == nil {
		for _, p := range captureFiles(f, dir) {
			if fi, err := os.Stat(p); err == nil && fi.Size() < 100<<10 {
				if b, err := os.ReadFile(p); err == nil {
					f.Add(b)
				}
			}
		}
	}
	w := &ngWriter{}
	w.shb(true)
	w.idb(1, 64, w.opt(optIfName, []byte("if0")), w.opt(optIfTSResol, []byte{0x80 | 10}))
	w.epb(0, 12345, payload(0, 30), w.opt(OptComment, []byte("c")), w.opt(OptFlags, []byte{0, 0, 0, 2}))
	w.spb(100, payload(1, 40))
	w.shb(false)
	w.idb(105, 0)
	w.packet(blockPB, 0, 9, payload(2, 7), 7)
	pcap := buildPcap(false, true, 1, 0, pcapRec{sec: 1, frac: 2e9, data: payload(0, 20)}, pcapRec{sec: 2, data: payload(1, 5)})
	f.Add(w.b)
	f.Add(pcap)
	f.Add(gz(f, pcap))
	f.Add(gz(f, w.b))
	f.Fuzz(func(t *testing.T, b []byte) {
		var problems int
		src, err := NewReader(bytes.NewReader(b), "fuzz", Options{
			OnProblem: func(p Problem) {
				problems++
				if p.Kind == "" || p.Message == "" || p.File != "fuzz" {
					t.Errorf("incomplete problem %+v", p)
				}
			},
		})
		if err != nil {
			return
		}
		defer src.Close()
		var prev Record
		// Bound the work: gzip can inflate a small input a thousandfold.
		for i := 0; i < 1<<16; i++ {
			var r Record
			err := src.Next(&r)
			if err == io.EOF {
				if err := src.Next(&r); err != io.EOF {
					t.Fatalf("Next after EOF: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Next returned %v for in-memory input", err)
			}
			if len(r.Data) != int(r.CapLen) {
				t.Fatalf("record %d: len(Data) %d != CapLen %d", r.Number, len(r.Data), r.CapLen)
			}
			if r.Interface < 0 || r.Interface >= len(src.Interfaces()) {
				t.Fatalf("record %d: interface %d of %d", r.Number, r.Interface, len(src.Interfaces()))
			}
			if r.Number != prev.Number+1 || (i > 0 && r.Offset <= prev.Offset) {
				t.Fatalf("record %d at %d after record %d at %d", r.Number, r.Offset, prev.Number, prev.Offset)
			}
			_ = Comments(&r)
			prev = r
		}
	})
}
