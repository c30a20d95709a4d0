package replay

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"
)

// BenchmarkPcapngSink measures the writer alone: one 700-byte frame with a comment per op.
func BenchmarkPcapngSink(b *testing.B) {
	s := NewPcapngSink(io.Discard, SinkOptions{})
	f := Frame{Point: "vNIC:VmNic:Port1:12:0", LinkType: 1, Time: testBase, Data: make([]byte, 700), Comment: "PID=4 TID=8"}
	b.SetBytes(int64(len(f.Data)))
	b.ReportAllocs()
	for b.Loop() {
		f.Time++
		if err := s.WriteFrame(&f); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPcapSink is the classic pcap writer, for comparison.
func BenchmarkPcapSink(b *testing.B) {
	s := NewPcapSink(io.Discard, 1, true)
	f := Frame{Point: "a", LinkType: 1, Time: testBase, Data: make([]byte, 700)}
	b.SetBytes(int64(len(f.Data)))
	b.ReportAllocs()
	for b.Loop() {
		f.Time++
		if err := s.WriteFrame(&f); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRunRewrite is Run's cost per frame into a file sink: filter, retime (speed 2), write.
func BenchmarkRunRewrite(b *testing.B) {
	sink := NewPcapngSink(io.Discard, SinkOptions{})
	data := make([]byte, 700)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	src := SourceFunc(func(emit func(*Frame) error) error {
		f := Frame{Point: "a", LinkType: 1, Data: data}
		for i := 0; i < b.N; i++ {
			f.Time = testBase + int64(i)*1000
			if err := emit(&f); err != nil {
				return err
			}
		}
		return nil
	})
	b.ResetTimer()
	if _, err := Run(context.Background(), src, sink, Options{Speed: 2, Points: []string{"a"}}); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkPacing10kpps replays b.N frames at 10,000 pps on the real clock and reports the
// pacer's lateness p50/p99/max in µs, the achieved rate and the resyncs after stalls: "null"
// into a sink that does nothing, "veth" onto a veth pair (root only). Target: p99 <= 200 µs.
func BenchmarkPacing10kpps(b *testing.B) {
	b.Run("null", func(b *testing.B) {
		benchPacing(b, &funcSink{write: func(*Frame) error { return nil }})
	})
	b.Run("veth", func(b *testing.B) {
		l, ok := liveBenchSink(b)
		if !ok {
			b.Skip("needs root and iproute2 for a veth pair")
		}
		defer l.Close()
		benchPacing(b, l)
	})
}

func benchPacing(b *testing.B, sink Sink) {
	const pps = 10_000
	frames := testTraffic(256, nil)
	src := SourceFunc(func(emit func(*Frame) error) error {
		for i := 0; i < b.N; i++ {
			f := frames[i%len(frames)]
			if err := emit(&f); err != nil {
				return err
			}
		}
		return nil
	})
	b.ResetTimer()
	st, err := Run(context.Background(), src, sink, Options{PPS: pps, Pace: PaceWallClock})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(st.LateP50)/float64(time.Microsecond), "p50-late-µs")
	b.ReportMetric(float64(st.LateP99)/float64(time.Microsecond), "p99-late-µs")
	b.ReportMetric(float64(st.LateMax)/float64(time.Microsecond), "max-late-µs")
	b.ReportMetric(st.PPS(), "pps")
	b.ReportMetric(float64(st.Resyncs), "resyncs")
}

// testTraffic builds n Ethernet frames to dst of the local experimental EtherType 0x88B5, each
// numbered, of varied sizes from the minimum to the full MTU.
func testTraffic(n int, dst net.HardwareAddr) []Frame {
	src := net.HardwareAddr{0x02, 0x53, 0x46, 0x00, 0x00, 0x01}
	frames := make([]Frame, n)
	for i := range frames {
		size := 60 + (i*137)%(1514-60+1)
		d := make([]byte, size)
		copy(d[0:], dst)
		copy(d[6:], src)
		binary.BigEndian.PutUint16(d[12:], 0x88B5)
		binary.BigEndian.PutUint32(d[14:], uint32(i))
		for k := 18; k < size; k++ {
			d[k] = byte(i + k)
		}
		frames[i] = Frame{Point: "gen", LinkType: 1, Time: testBase + int64(i)*int64(time.Millisecond), Data: d}
	}
	return frames
}
