package conn

import (
	"net/netip"
	"runtime"
	"testing"
	"time"
	"unsafe"

	"github.com/stackflow/stackflow/decode"
)

// sizes documented in the package comment; a change must update it.
const (
	docRecordSize = 264
	docFlowSize   = 352
)

func TestDocumentedSizes(t *testing.T) {
	// The package comment states the memory per finished record and per active flow.
	if s := unsafe.Sizeof(Record{}); s != docRecordSize {
		t.Errorf("Record is %d bytes, the package comment says %d", s, docRecordSize)
	}
	if s := unsafe.Sizeof(flow{}); s != docFlowSize {
		t.Errorf("an active flow slot is %d bytes, the package comment says %d", s, docFlowSize)
	}
	if s := unsafe.Sizeof(Key{}); s != 48 {
		t.Errorf("Key is %d bytes, want 48 (no padding)", s)
	}
}

// BenchmarkUpdateExisting measures the hot path: packets of 1024 established TCP flows.
func BenchmarkUpdateExisting(b *testing.B) {
	const n = 1024
	tb := NewTable(Config{ExpectedFlows: n})
	ps := make([]decode.Packet, n)
	for i := range ps {
		src := netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)})
		for _, p := range handshake() {
			if p.Inner.Src == netip.MustParseAddr("10.0.0.1") {
				p.Inner.Src = src
			} else {
				p.Inner.Dst = src
			}
			tb.Update(p)
		}
		ps[i] = *seg(30*ms, cli, srv, "PA", 1001, 5001, 100)
		ps[i].Inner.Src = src
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		p := &ps[i%n]
		p.TCPSeq += 100
		p.Time += int64(time.Microsecond)
		tb.Update(p)
	}
}

// BenchmarkUpdateNewFlows creates a new UDP flow per packet (run with -benchtime=1000000x for
// 1M distinct 5-tuples), none expiring: ns per new flow, heap bytes per active flow, peak heap.
func BenchmarkUpdateNewFlows(b *testing.B) {
	benchNewFlows(b, 0, 0)
}

// BenchmarkUpdateNewFlowsExpiring is the same traffic at 100k new flows per capture second
// with a 1 s UDP timeout (run with -benchtime=2000000x: 20 s of capture): the active set stays
// at one to two seconds' worth of flows (timeout plus sweep interval) however many packets
// pass, so memory follows active flows, not the file; finished records go to a callback.
func BenchmarkUpdateNewFlowsExpiring(b *testing.B) {
	benchNewFlows(b, 10*time.Microsecond, time.Second)
}

func benchNewFlows(b *testing.B, step, udpTimeout time.Duration) {
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var finished int
	tb := NewTable(Config{Timeouts: Timeouts{UDP: udpTimeout}, OnFinish: func(*Record) { finished++ }})
	p := udp(0, "10.0.0.1:1000", "192.168.0.1:53", 40)
	var peak uint64
	var ms runtime.MemStats
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		p.Inner.Src = netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		p.Inner.SrcPort = uint16(1024 + i>>24)
		p.Time += int64(step)
		tb.Update(p)
		if i&(1<<18-1) == 0 {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
	}
	b.StopTimer()
	runtime.ReadMemStats(&ms)
	peak = max(peak, ms.HeapAlloc)
	active := tb.Len()
	b.ReportMetric(float64(peak-before.HeapAlloc)/(1<<20), "peakMiB")
	b.ReportMetric(float64(active), "active")
	if active > 0 {
		b.ReportMetric(float64(ms.HeapAlloc-before.HeapAlloc)/float64(active), "B/active-flow")
	}
	b.ReportMetric(float64(finished), "finished")
}
