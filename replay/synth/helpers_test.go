package synth

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/stackflow/stackflow/internal/testenv"
	"github.com/stackflow/stackflow/replay"
	"github.com/stackflow/stackflow/replay/scenario"
)

// memFrame is a copied frame.
type memFrame struct {
	point string
	time  int64
	data  []byte
}

// memSink keeps copies of every frame, for tests.
type memSink struct {
	frames []memFrame
	closed bool
}

func (m *memSink) WriteFrame(f *replay.Frame) error {
	m.frames = append(m.frames, memFrame{point: f.Point, time: f.Time, data: append([]byte(nil), f.Data...)})
	return nil
}

func (m *memSink) Close() error { m.closed = true; return nil }

// discardSink drops frames: the benchmark's sink.
type discardSink struct{ n int }

func (d *discardSink) WriteFrame(*replay.Frame) error { d.n++; return nil }
func (d *discardSink) Close() error                   { return nil }

func loadSample(t testing.TB, name string) *scenario.Scenario {
	t.Helper()
	sc, err := scenario.Load(testenv.Sample(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func parseScenario(t testing.TB, doc string) *scenario.Scenario {
	t.Helper()
	sc, err := scenario.Parse([]byte(doc), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func generate(t testing.TB, sc *scenario.Scenario, opts Options) (*memSink, *Truth) {
	t.Helper()
	sink := &memSink{}
	tr, err := Generate(sc, opts, sink)
	if err != nil {
		t.Fatal(err)
	}
	return sink, tr
}

// pcapngBytes renders frames the way the CLI does: replay's pcapng sink, one interface per point.
func pcapngBytes(t testing.TB, sc *scenario.Scenario, opts Options) ([]byte, *Truth) {
	t.Helper()
	var buf bytes.Buffer
	sink := replay.NewPcapngSink(&buf, replay.SinkOptions{Points: PointDecls(sc)})
	tr, err := Generate(sc, opts, sink)
	if err != nil {
		t.Fatal(err)
	}
	if err := sink.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), tr
}

// decoded is a frame decoded by gopacket, with the innermost IPv4 and transport layers.
type decoded struct {
	pkt     gopacket.Packet
	outer   *layers.IPv4
	inner   *layers.IPv4
	tcp     *layers.TCP
	udp     *layers.UDP
	icmp    *layers.ICMPv4
	vxlan   *layers.VXLAN
	payload []byte
}

func decodeFrame(t testing.TB, data []byte) decoded {
	t.Helper()
	p := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.Default)
	if f := p.ErrorLayer(); f != nil {
		t.Fatalf("decode failure: %v\n%s", f.Error(), p.Dump())
	}
	var d decoded
	d.pkt = p
	for _, l := range p.Layers() {
		switch x := l.(type) {
		case *layers.IPv4:
			if d.inner != nil {
				d.outer = d.inner
			}
			d.inner = x
		case *layers.TCP:
			d.tcp = x
		case *layers.UDP:
			if x.DstPort != 4789 {
				d.udp = x
			}
		case *layers.ICMPv4:
			d.icmp = x
		case *layers.VXLAN:
			d.vxlan = x
			d.udp = nil
		}
	}
	if d.inner != nil {
		d.payload = d.inner.Payload
	}
	return d
}

// onesSum is a slow, obviously right RFC 1071 sum: the oracle for the fast checksums.
func onesSum(b []byte) uint32 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return s
}

// checkIPv4 verifies the header checksum and the transport checksum of one IPv4 packet
// (ip is the whole packet from its header on).
func checkIPv4(t testing.TB, ip []byte, where string) {
	t.Helper()
	hl := int(ip[0]&0x0f) * 4
	if onesSum(ip[:hl]) != 0xffff {
		t.Errorf("%s: bad IPv4 header checksum", where)
	}
	total := int(binary.BigEndian.Uint16(ip[2:]))
	if total != len(ip) {
		t.Errorf("%s: IPv4 total length %d, have %d bytes", where, total, len(ip))
		return
	}
	l4 := ip[hl:total]
	pseudo := make([]byte, 12)
	copy(pseudo[0:8], ip[12:20])
	pseudo[9] = ip[9]
	binary.BigEndian.PutUint16(pseudo[10:], uint16(len(l4)))
	switch ip[9] {
	case 6:
		if onesSum(append(pseudo, l4...)) != 0xffff {
			t.Errorf("%s: bad TCP checksum", where)
		}
	case 17:
		if binary.BigEndian.Uint16(l4[6:]) != 0 && onesSum(append(pseudo, l4...)) != 0xffff {
			t.Errorf("%s: bad UDP checksum", where)
		}
	case 1:
		if onesSum(l4) != 0xffff {
			t.Errorf("%s: bad ICMP checksum", where)
		}
	}
}
