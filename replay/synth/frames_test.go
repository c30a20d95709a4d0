package synth

import (
	"encoding/binary"
	"math/rand/v2"
	"sort"
	"testing"
)

// TestSum16MatchesOracle: the 32-bit-word checksum loop equals RFC 1071's 16-bit sum for
// every length and alignment of tail.
func TestSum16MatchesOracle(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 200; n++ {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		got := finish(sum16(0, b))
		want := ^uint16(onesSum(b))
		if got != want && !(got == 0xffff && want == 0 || got == 0 && want == 0xffff) {
			t.Fatalf("len %d: got %04x want %04x", n, got, want)
		}
	}
}

// TestCsumReplace: the RFC 1624 incremental update equals recomputing from scratch.
func TestCsumReplace(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for k := 0; k < 1000; k++ {
		b := make([]byte, 20)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		old := finish(sum16(0, b))
		at := 2 * r.IntN(9)
		prev := append([]byte(nil), b[at:at+2]...)
		binary.BigEndian.PutUint16(b[at:], uint16(r.Uint32()))
		if got, want := csumReplace(old, prev, b[at:at+2]), finish(sum16(0, b)); got != want && got^want != 0xffff {
			t.Fatalf("case %d: incremental %04x, full %04x", k, got, want)
		}
	}
}

// TestEventHeapOrder: events come out sorted by time, then by insertion order.
func TestEventHeapOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	var h evHeap
	var in []event
	for i := 0; i < 5000; i++ {
		e := event{t: r.Int64N(100), seq: uint64(i)}
		in = append(in, e)
		h.push(e)
		if i%7 == 0 { // interleave pops, as the simulation does
			in = in[:0:0]
			_ = h.pop()
		}
	}
	var out []event
	for len(h) > 0 {
		out = append(out, h.pop())
	}
	if !sort.SliceIsSorted(out, func(i, j int) bool { return before(&out[i], &out[j]) }) {
		t.Fatal("heap output out of order")
	}
}

// TestHTTPRequestSize: requests are exactly the size the scenario asks for (GET padded,
// POST with a body), and parse as HTTP header blocks.
func TestHTTPRequestSize(t *testing.T) {
	cases := []struct {
		name string
		size int64
		verb string
	}{
		{"small get", 220, "GET "},          // padded with X-Pad
		{"large get", 1000, "GET "},         // still a GET below 1 KB
		{"post", 6000, "POST "},             // header part of a 6 KB upload
		{"post at boundary", 1025, "POST "}, // smallest POST
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := httpRequest("portal.local.azurestack.external", 1, tc.size)
			if string(b[:len(tc.verb)]) != tc.verb || string(b[len(b)-4:]) != "\r\n\r\n" {
				t.Fatalf("%q", b)
			}
			total := int64(len(b))
			if tc.verb == "POST " {
				var cl int64
				i := indexOf(b, "Content-Length: ")
				for _, c := range b[i+16:] {
					if c == ' ' {
						continue
					}
					if c < '0' || c > '9' {
						break
					}
					cl = cl*10 + int64(c-'0')
				}
				total += cl
			}
			if total != tc.size {
				t.Errorf("request is %d bytes, want %d", total, tc.size)
			}
		})
	}
}

func indexOf(b []byte, s string) int {
	for i := 0; i+len(s) <= len(b); i++ {
		if string(b[i:i+len(s)]) == s {
			return i
		}
	}
	return -1
}

// TestTLSRecordsTile: a TLS message is a sequence of well-formed records that exactly fill it,
// and filling it piecewise (as segments do) gives the same bytes as filling it whole.
func TestTLSRecordsTile(t *testing.T) {
	s := &sim{pattern: make([]byte, 1<<16)}
	for i := range s.pattern {
		s.pattern[i] = byte(i * 7)
	}
	for _, n := range []int64{6, 1000, 1448, 1449, 6000, 40000} {
		rec := tlsRecordLen(1448)
		m := message{kind: msgTLS, rec: rec, n: uint32(tlsSize(n, rec)), pat: 99}
		whole := make([]byte, m.n)
		s.fillMessage(&m, whole, 0)
		pieces := make([]byte, m.n)
		for off := uint32(0); off < m.n; off += 700 {
			end := min(off+700, m.n)
			s.fillMessage(&m, pieces[off:end], off)
		}
		if string(whole) != string(pieces) {
			t.Fatalf("size %d: piecewise fill differs", n)
		}
		for off := 0; off < len(whole); {
			if whole[off] != 0x17 || whole[off+1] != 3 || whole[off+2] != 3 {
				t.Fatalf("size %d: no record header at %d", n, off)
			}
			off += 5 + int(binary.BigEndian.Uint16(whole[off+3:]))
			if off > len(whole) {
				t.Fatalf("size %d: record overruns the message", n)
			}
		}
	}
}
