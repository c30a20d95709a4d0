package decode

import (
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"
)

// benchMix builds n frames in memory: 40% TCP (handshakes with options, pure ACKs, data
// segments up to a full MSS), 30% UDP (DNS-sized), 30% VXLAN carrying TCP, with varied
// addresses and ports so the decoder sees a realistic spread.
func benchMix(b testing.TB, n int) [][]byte {
	r := rand.New(rand.NewPCG(1, 2))
	payload := make([]byte, 1448)
	for i := range payload {
		payload[i] = byte(r.IntN(256))
	}
	frames := make([][]byte, n)
	for i := range frames {
		s := tcpSpec{
			src: fmt.Sprintf("10.%d.%d.%d", r.IntN(4), r.IntN(256), 1+r.IntN(250)), dst: fmt.Sprintf("192.168.102.%d", 1+r.IntN(250)),
			sport: uint16(1024 + r.IntN(60000)), dport: 443, ttl: 64, id: uint16(r.Uint32()),
			seq: r.Uint32(), ack: r.Uint32(), psh: true, srcMAC: byte(i),
		}
		switch k := r.IntN(10); {
		case k < 1:
			s.syn, s.ack, s.ts = true, 0, [2]uint32{r.Uint32(), 0}
		case k < 2:
			s.ts = [2]uint32{r.Uint32(), r.Uint32()}
		case k < 4:
			s.payload = payload[:r.IntN(len(payload))]
		}
		switch k := r.IntN(10); {
		case k < 4:
			frames[i] = s.frame(b)
		case k < 7:
			frames[i] = udpWrap(b, payload[:20+r.IntN(100)], uint16(1024+r.IntN(60000)), 53)
		default:
			frames[i] = vxlanWrap(b, s.frame(b), uint32(4096+r.IntN(1000)), "10.0.1.5", fmt.Sprintf("10.0.2.%d", 1+r.IntN(50)), uint16(49152+r.IntN(16384)))
		}
	}
	return frames
}

// BenchmarkDecode decodes the mix packet by packet on one core; one op is one packet. "hot"
// cycles through 256 frames that stay in cache, as in the pipeline where the framer has just
// read the bytes; "cold" cycles through 65536 frames (~40 MB), so most frames come from DRAM.
// Besides wall time it reports the process's CPU time per packet, which stays meaningful
// when other work shares the cores.
func BenchmarkDecode(b *testing.B) {
	all := benchMix(b, 1<<16)
	for _, c := range []struct {
		name string
		n    int
	}{{"hot", 256}, {"cold", 1 << 16}} {
		b.Run(c.name, func(b *testing.B) {
			frames := all[:c.n]
			var bytes int
			for _, f := range frames {
				bytes += len(f)
			}
			d := NewDecoder(Options{})
			var p Packet
			for _, f := range frames { // let TCP option slices reach their size
				d.Decode(f, LinkTypeEthernet, uint32(len(f)), &p)
			}
			b.ReportAllocs()
			b.SetBytes(int64(bytes / len(frames)))
			cpu0 := cpuTime()
			for i := 0; b.Loop(); i++ {
				f := frames[i&(len(frames)-1)]
				d.Decode(f, LinkTypeEthernet, uint32(len(f)), &p)
			}
			b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/packet")
		})
	}
}

// cpuTime returns the user and system CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
