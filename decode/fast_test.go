package decode

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/stackflow/stackflow/internal/testenv"
)

// FuzzFastPath decodes each input twice, with the hand-written fast paths (fast.go) and with
// gopacket's decoders alone, and requires the same Packet and the same TCP layer: the fast
// paths must be invisible. Seeds are every frame of the public captures, the benchmark mix and
// headers at the fast paths' edges (options, zero and short lengths, an 802.3 frame, MPTCP).
func FuzzFastPath(f *testing.F) {
	if dir, err := testenv.Captures(); err == nil {
		names, _ := filepath.Glob(filepath.Join(dir, "*.pcap*"))
		for _, n := range names {
			if strings.HasPrefix(filepath.Base(n), "bad-truncated") {
				continue
			}
			for _, fr := range readCapture(f, filepath.Base(n)) {
				f.Add(fr.data, fr.link)
			}
		}
	}
	for _, fr := range benchMix(f, 64) {
		f.Add(fr, LinkTypeEthernet)
	}
	tcp := tcpSpec{src: "10.0.0.1", dst: "10.0.0.2", sport: 1234, dport: 179, ttl: 64, id: 7, seq: 9, ack: 1,
		psh: true, ts: [2]uint32{5, 6}, payload: []byte("0123456789abcdefghij")}
	frame := tcp.frame(f)
	f.Add(frame, LinkTypeEthernet)
	for _, edit := range []func(b []byte){
		func(b []byte) { b[14+2], b[14+3] = 0, 0 },                           // IPv4 total length 0 (TSO)
		func(b []byte) { b[14+3] += 40 },                                     // total length beyond the capture
		func(b []byte) { b[14] = 0x46 },                                      // IHL 6: an option word
		func(b []byte) { b[14+20+12] = 0xf0 },                                // data offset beyond the segment
		func(b []byte) { b[14+20+20] = 30 },                                  // MPTCP option kind
		func(b []byte) { b[14+20+20], b[14+20+21] = 8, 1 },                   // option length below 2
		func(b []byte) { b[14+20+20], b[14+20+21] = 2, 4 },                   // MSS in place of the first option
		func(b []byte) { b[12], b[13] = 0x00, 0x40 },                         // 802.3 length field
		func(b []byte) { b[14+9] = 17; b[14+20+4], b[14+20+5] = 0, 3 },       // UDP length 3
		func(b []byte) { b[14+9] = 17; b[14+20+4], b[14+20+5] = 0, 0 },       // UDP length 0
		func(b []byte) { b[14+9] = 17; b[14+20+2], b[14+20+3] = 0x12, 0xb5 }, // UDP to VXLAN port 4789
	} {
		b := append([]byte(nil), frame...)
		edit(b)
		f.Add(b, LinkTypeEthernet)
	}
	f.Fuzz(func(t *testing.T, data []byte, link uint16) {
		fast, slow := NewDecoder(Options{}), NewDecoder(Options{})
		slow.slow = true
		var pf, ps Packet
		fast.Decode(data, link, uint32(len(data))+uint32(link&1)*64, &pf)
		slow.Decode(data, link, uint32(len(data))+uint32(link&1)*64, &ps)
		if !reflect.DeepEqual(pf, ps) {
			t.Fatalf("fast path decoded\n%+v\ngopacket alone\n%+v", pf, ps)
		}
		if tf, ts := fast.TCP(), slow.TCP(); !reflect.DeepEqual(tf, ts) {
			t.Fatalf("TCP layer differs: fast %+v, gopacket %+v", tf, ts)
		}
		if fast.Stats() != slow.Stats() {
			t.Fatalf("stats differ: fast %+v, gopacket %+v", fast.Stats(), slow.Stats())
		}
	})
}
