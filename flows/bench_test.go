package flows

import (
	"bytes"
	"context"
	"io"
	"runtime"
	"sync"
	"testing"

	"github.com/stackflow/stackflow/bench/mix"
	"github.com/stackflow/stackflow/decode"
	"github.com/stackflow/stackflow/decode/pcapio"
)

var (
	mixOnce sync.Map // mix.Options -> []byte
)

func mixCapture(b *testing.B, o mix.Options) []byte {
	if v, ok := mixOnce.Load(o); ok {
		return v.([]byte)
	}
	var buf bytes.Buffer
	if err := mix.Write(&buf, o); err != nil {
		b.Fatal(err)
	}
	mixOnce.Store(o, buf.Bytes())
	return buf.Bytes()
}

// BenchmarkReadDecode reads and decodes a 1M-packet mix (TCP, UDP, VXLAN with inner TCP, BGP)
// from memory: the spine's hot path. Target: <= 400 ns and 0 allocs per packet on one core.
func BenchmarkReadDecode(b *testing.B) {
	data := mixCapture(b, mix.Options{Packets: 1_000_000, Points: 1})
	dec := decode.NewDecoder(decode.Options{})
	var rec pcapio.Record
	var pkt decode.Packet
	b.ReportAllocs()
	b.SetBytes(int64(len(data)) / 1_000_000)
	b.ResetTimer()
	n := 0
	for n < b.N {
		src, err := pcapio.NewReader(bytes.NewReader(data), "mix", pcapio.Options{})
		if err != nil {
			b.Fatal(err)
		}
		for n < b.N {
			if err := src.Next(&rec); err == io.EOF {
				break
			} else if err != nil {
				b.Fatal(err)
			}
			dec.Decode(rec.Data, 1, rec.OrigLen, &pkt)
			n++
		}
	}
}

// BenchmarkAnalyzeMultiPoint runs the whole analysis over a 3-point capture (each TCP packet
// seen at the client, behind the NAT and VXLAN-encapsulated), reporting packets per second.
// Target: >= 1.5 M packets/s on one core (DESIGN.md, issue 4).
func BenchmarkAnalyzeMultiPoint(b *testing.B) {
	o := mix.Options{Packets: 1_000_000, Points: 3}
	data := mixCapture(b, o)
	b.ReportAllocs()
	b.ResetTimer()
	packets := 0
	for i := 0; i < b.N; i++ {
		rep := analyzeBytes(b, data)
		packets += rep.Capture.Packets
	}
	b.ReportMetric(float64(packets)/b.Elapsed().Seconds(), "packets/s")
	b.ReportMetric(b.Elapsed().Seconds()*1e9/float64(packets), "ns/packet")
}

// BenchmarkFlood gives every packet a new 5-tuple (1M distinct flows) and reports the heap in
// use at the end per flow: the memory bound documented in docs/performance.md.
func BenchmarkFlood(b *testing.B) {
	data := mixCapture(b, mix.Options{Packets: 1_000_000, Points: 1, Flood: true})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		rep := analyzeBytes(b, data)
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapInuse-before.HeapInuse)/float64(len(rep.Flows)), "heapB/flow")
		b.ReportMetric(float64(len(rep.Flows)), "flows")
		runtime.KeepAlive(rep)
	}
}

func analyzeBytes(b *testing.B, data []byte) *Report {
	pc := NewProblemCollector(0)
	src, err := pcapio.NewReader(bytes.NewReader(data), "mix", pcapio.Options{})
	if err != nil {
		b.Fatal(err)
	}
	rep, err := Analyze(context.Background(), []InputSource{{Name: "mix", Source: src}}, Options{}, pc)
	if err != nil {
		b.Fatal(err)
	}
	return rep
}
