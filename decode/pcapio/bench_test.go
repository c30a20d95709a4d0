package pcapio

import (
	"bytes"
	"io"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/pcapgo"
)

// genPcap builds an in-memory classic pcap of n records of about size bytes (sizes vary a
// little, as real traffic does, so the buffer-reuse path is exercised).
func genPcap(n, size int) []byte {
	recs := make([]pcapRec, n)
	data := payload(0, size+32)
	for i := range recs {
		recs[i] = pcapRec{sec: uint32(1_700_000_000 + i/1000), frac: uint32(i % 1000 * 1000), data: data[:size-16+i%32]}
	}
	return buildPcap(false, false, 1, 65535, recs...)
}

// genPcapng builds the pcapng equivalent: one interface, EPBs with an epb_flags option.
func genPcapng(n, size int) []byte {
	w := &ngWriter{}
	w.shb(false)
	w.idb(1, 65535, w.opt(optIfName, []byte("eth0")), w.opt(optIfTSResol, []byte{9}))
	data := payload(0, size+32)
	flags := w.opt(OptFlags, []byte{1, 0, 0, 0})
	for i := range n {
		w.epb(0, uint64(1_700_000_000_000_000_000+i*1000), data[:size-16+i%32], flags)
	}
	return w.b
}

// TestNextAllocs: Next on a warmed reader allocates nothing, for each format, gzipped too, and
// through Merge.
func TestNextAllocs(t *testing.T) {
	const n = 3000
	pcap, ng := genPcap(n, 200), genPcapng(n, 200)
	open := func(b []byte) Source {
		s, err := NewReader(bytes.NewReader(b), "alloc", Options{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	for _, tc := range []struct {
		name string
		src  func() Source
	}{
		{name: "pcap", src: func() Source { return open(pcap) }},
		{name: "pcapng", src: func() Source { return open(ng) }},
		{name: "pcap.gz", src: func() Source { return open(gz(t, pcap)) }},
		{name: "merge-3", src: func() Source { return Merge([]Source{open(pcap), open(ng), open(pcap)}) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := tc.src()
			var r Record
			for range 100 { // warm: buffers reach their size
				if err := src.Next(&r); err != nil {
					t.Fatal(err)
				}
			}
			var err error
			allocs := testing.AllocsPerRun(2000, func() { err = src.Next(&r) })
			if err != nil {
				t.Fatal(err)
			}
			if allocs != 0 {
				t.Errorf("%v allocations per Next", allocs)
			}
		})
	}
}

// benchRead reads file one record per op, reopening (untimed) at the end of the file.
func benchRead(b *testing.B, file []byte, records int) {
	b.SetBytes(int64(len(file) / records))
	b.ReportAllocs()
	var src Source
	reopen := func() {
		var err error
		if src, err = NewReader(bytes.NewReader(file), "bench", Options{}); err != nil {
			b.Fatal(err)
		}
	}
	reopen()
	var r Record
	b.ResetTimer()
	for range b.N {
		err := src.Next(&r)
		if err == io.EOF {
			b.StopTimer()
			reopen()
			b.StartTimer()
			err = src.Next(&r)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadPcap: ns/op is per record (100k records of ~200 B, in memory).
func BenchmarkReadPcap(b *testing.B) {
	benchRead(b, genPcap(100_000, 200), 100_000)
}

// BenchmarkReadPcapng: ns/op is per record (100k EPBs of ~200 B with one option, in memory).
func BenchmarkReadPcapng(b *testing.B) {
	benchRead(b, genPcapng(100_000, 200), 100_000)
}

// BenchmarkMerge3: ns/op per record through a 3-way merge of the pcap file.
func BenchmarkMerge3(b *testing.B) {
	file := genPcap(100_000, 200)
	b.ReportAllocs()
	var m *Merged
	reopen := func() {
		var srcs []Source
		for range 3 {
			s, err := NewReader(bytes.NewReader(file), "bench", Options{})
			if err != nil {
				b.Fatal(err)
			}
			srcs = append(srcs, s)
		}
		m = Merge(srcs)
	}
	reopen()
	var r Record
	b.ResetTimer()
	for range b.N {
		err := m.Next(&r)
		if err == io.EOF {
			b.StopTimer()
			reopen()
			b.StartTimer()
			err = m.Next(&r)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPcapgoReadPcap and BenchmarkPcapgoReadPcapng time the oracle on the same files, for
// comparison (ns/op per record, zero-copy reads).
func BenchmarkPcapgoReadPcap(b *testing.B) {
	file := genPcap(100_000, 200)
	benchPcapgo(b, func() zeroCopyReader {
		r, err := pcapgo.NewReader(bytes.NewReader(file))
		if err != nil {
			b.Fatal(err)
		}
		return r
	})
}

func BenchmarkPcapgoReadPcapng(b *testing.B) {
	file := genPcapng(100_000, 200)
	benchPcapgo(b, func() zeroCopyReader {
		r, err := pcapgo.NewNgReader(bytes.NewReader(file), pcapgo.NgReaderOptions{WantMixedLinkType: true})
		if err != nil {
			b.Fatal(err)
		}
		return r
	})
}

type zeroCopyReader interface {
	ZeroCopyReadPacketData() ([]byte, gopacket.CaptureInfo, error)
}

func benchPcapgo(b *testing.B, open func() zeroCopyReader) {
	b.ReportAllocs()
	r := open()
	b.ResetTimer()
	for range b.N {
		_, _, err := r.ZeroCopyReadPacketData()
		if err == io.EOF {
			b.StopTimer()
			r = open()
			b.StartTimer()
			_, _, err = r.ZeroCopyReadPacketData()
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}
