package bgp

import "testing"

// BenchmarkFeed measures in-order reassembly, framing and parsing of a long stream of
// UPDATEs and KEEPALIVEs cut into 1400-byte segments (BGP is rare; this guards against
// super-linear behaviour on long sessions).
func BenchmarkFeed(b *testing.B) {
	var stream []byte
	for len(stream) < 1<<20 {
		stream = append(stream, sampleUpdate()...)
		stream = append(stream, keepalive()...)
	}
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	for b.Loop() {
		a := NewAssembler(Options{})
		c := newConv(a, 0, 1, 1)
		c.handshake()
		for i := 0; i < len(stream); i += 1400 {
			c.send(0, stream[i:min(i+1400, len(stream))])
		}
		a.Flush()
		if a.Counts().Update == 0 {
			b.Fatal("no updates")
		}
	}
}
