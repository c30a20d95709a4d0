// Package mix generates large synthetic captures for benchmarks: a steady mix of TCP, UDP,
// VXLAN-encapsulated TCP and BGP, optionally observed at three capture points (client side,
// behind a NAT, and VXLAN-encapsulated towards a host) so that the hop correlator has work to
// do, or a flood of distinct 5-tuples. Frames are built once from templates and patched per
// packet, so generating millions of packets takes seconds.
package mix

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"net"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Options shapes a generated capture.
type Options struct {
	Packets int    // logical packets (each written once per point)
	Points  int    // 1: classic pcap; 3: pcapng with three named interfaces (client, nat-out, mux-host)
	Flows   int    // concurrent 5-tuples cycled through (0: 1000); ignored with Flood
	Flood   bool   // every packet a new 5-tuple
	Seed    uint64 // for the flow choice
	Rate    int    // logical packets per second of capture time (0: 500,000)
}

// kinds of logical packet, in the mix's proportions (out of 16).
const (
	kindTCP   = iota // 8/16
	kindUDP          // 4/16
	kindVXLAN        // 3/16: VXLAN with inner TCP
	kindBGP          // 1/16: a BGP KEEPALIVE on TCP/179
)

func kindOf(i int) int {
	switch r := i & 15; {
	case r < 8:
		return kindTCP
	case r < 12:
		return kindUDP
	case r < 15:
		return kindVXLAN
	default:
		return kindBGP
	}
}

var (
	macA = net.HardwareAddr{0x02, 0, 0, 0, 0, 1}
	macB = net.HardwareAddr{0x02, 0, 0, 0, 0, 2}
	macC = net.HardwareAddr{0x02, 0, 0, 0, 0, 3}
)

type frame struct {
	data []byte
	// offsets of fields patched per packet, relative to data (0 = absent)
	ipSrc, sport, seq, ipID, vxSport int
}

func build(ls ...gopacket.SerializableLayer) []byte {
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		panic(err) // templates are fixed: a failure is a bug in this file
	}
	return append([]byte(nil), buf.Bytes()...)
}

func tcpFrame(src, dst net.IP, sport, dport uint16, payload int, srcMAC, dstMAC net.HardwareAddr, ttl uint8) []byte {
	eth := &layers.Ethernet{SrcMAC: srcMAC, DstMAC: dstMAC, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: ttl, Protocol: layers.IPProtocolTCP, SrcIP: src, DstIP: dst, Id: 1}
	tcp := &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: layers.TCPPort(dport), Seq: 1000, Ack: 1, ACK: true, PSH: true, Window: 502}
	tcp.SetNetworkLayerForChecksum(ip)
	return build(eth, ip, tcp, gopacket.Payload(make([]byte, payload)))
}

func udpFrame(src, dst net.IP, sport, dport uint16, payload int) []byte {
	eth := &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: src, DstIP: dst, Id: 1}
	udp := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
	udp.SetNetworkLayerForChecksum(ip)
	return build(eth, ip, udp, gopacket.Payload(make([]byte, payload)))
}

func vxlan(inner []byte, vni uint32) []byte {
	eth := &layers.Ethernet{SrcMAC: macB, DstMAC: macC, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.IP{192, 168, 100, 5}, DstIP: net.IP{192, 168, 100, 20}, Id: 7}
	udp := &layers.UDP{SrcPort: 49152, DstPort: 4789}
	udp.SetNetworkLayerForChecksum(ip)
	vx := &layers.VXLAN{ValidIDFlag: true, VNI: vni}
	return build(eth, ip, udp, vx, gopacket.Payload(inner))
}

// Write writes the capture to w.
func Write(w io.Writer, o Options) error {
	if o.Flows <= 0 {
		o.Flows = 1000
	}
	if o.Points != 3 {
		o.Points = 1
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	client, vip, natOut := net.IP{192, 168, 200, 10}, net.IP{192, 168, 102, 4}, net.IP{192, 168, 201, 2}
	tmpl := [4][]byte{
		tcpFrame(client, vip, 40000, 443, 200, macA, macB, 64),
		udpFrame(client, vip, 40000, 53, 60),
		vxlan(tcpFrame(client, vip, 40000, 80, 120, macB, macC, 63), 4114),
		tcpFrame(net.IP{192, 168, 100, 5}, net.IP{192, 168, 100, 1}, 179, 40001, 19, macA, macB, 1),
	}
	for i := range tmpl[kindBGP][len(tmpl[kindBGP])-19:] {
		tmpl[kindBGP][len(tmpl[kindBGP])-19+i] = 0xff
	}
	bgp := tmpl[kindBGP]
	bgp[len(bgp)-3], bgp[len(bgp)-2], bgp[len(bgp)-1] = 0, 19, 4 // length 19, KEEPALIVE
	natT := tcpFrame(natOut, vip, 40000, 443, 200, macB, macC, 63)
	encT := vxlan(tcpFrame(natOut, vip, 40000, 443, 200, macB, macC, 62), 4114)

	// payload lengths of the templates, for stamping the packet index into the payload
	payloadLen := [4]int{200, 60, 120, 19}
	if err := writeHeader(bw, o.Points); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0x5eed))
	scratch := make([]byte, 0, 2048)
	ts := int64(1_700_000_000) * 1e9
	gap := int64(2000)
	if o.Rate > 0 {
		gap = 1e9 / int64(o.Rate)
	}
	// Each flow starts at its own random sequence number and each payload begins with the
	// packet's index, as real traffic would: otherwise equal fingerprints across flows would
	// make the correlator see the same packet everywhere.
	seqs := make([]uint32, o.Flows)
	for i := range seqs {
		seqs[i] = rng.Uint32()
	}
	bgpSeq := uint32(1)
	for i := 0; i < o.Packets; i++ {
		ts += gap
		k := kindOf(i)
		flow := rng.IntN(o.Flows)
		if o.Flood {
			flow = i
		}
		sport := uint16(1024 + flow%60000)
		addrLo := byte(flow / 60000)
		var seq uint32
		if o.Flood {
			seq = uint32(i) * 2654435761
		} else {
			seqs[flow] += 200
			seq = seqs[flow]
		}
		if k == kindBGP {
			bgpSeq += 19
			seq = bgpSeq
		}
		emit := func(t []byte, point int, ipOff int, delay int64) error {
			scratch = append(scratch[:0], t...)
			patch(scratch, ipOff, k, sport, addrLo, seq, uint16(i))
			if k != kindBGP {
				binary.BigEndian.PutUint64(scratch[len(scratch)-payloadLen[k]:], uint64(i))
			}
			return writeRecord(bw, o.Points, point, ts+delay, scratch)
		}
		if err := emit(tmpl[k], 0, 14, 0); err != nil {
			return err
		}
		if o.Points == 3 && k == kindTCP {
			if err := emit(natT, 1, 14, 40_000); err != nil {
				return err
			}
			if err := emit(encT, 2, 14+20+8+8+14, 90_000); err != nil {
				return err
			}
		}
	}
	return bw.Flush()
}

// patch rewrites the per-packet fields of an IPv4 packet at ipOff: source port, the low byte of
// the source address (flood), the TCP sequence number and the IP ID; checksums are left as
// they are (analysis does not verify them).
func patch(b []byte, ipOff, kind int, sport uint16, addrLo byte, seq uint32, id uint16) {
	if kind == kindBGP {
		binary.BigEndian.PutUint32(b[ipOff+20+4:], seq)
		return
	}
	binary.BigEndian.PutUint16(b[ipOff+4:], id)
	b[ipOff+13] = 10 + addrLo
	l4 := ipOff + 20
	if kind == kindVXLAN { // patch the inner packet
		l4 = ipOff + 20 + 8 + 8 + 14 + 20
		binary.BigEndian.PutUint16(b[l4-20+4:], id)
	}
	binary.BigEndian.PutUint16(b[l4:], sport)
	if kind != kindUDP {
		binary.BigEndian.PutUint32(b[l4+4:], seq)
	}
}

func writeHeader(w io.Writer, points int) error {
	if points == 1 {
		var h [24]byte
		binary.LittleEndian.PutUint32(h[0:], 0xa1b23c4d) // nanosecond pcap
		binary.LittleEndian.PutUint16(h[4:], 2)
		binary.LittleEndian.PutUint16(h[6:], 4)
		binary.LittleEndian.PutUint32(h[16:], 65535)
		binary.LittleEndian.PutUint32(h[20:], 1)
		_, err := w.Write(h[:])
		return err
	}
	shb := []byte{0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 28, 0, 0, 0}
	if _, err := w.Write(shb); err != nil {
		return err
	}
	for _, name := range []string{"client-nat", "nat-bgp", "mux-host"} {
		opts := option(2, []byte(name))
		opts = append(opts, option(9, []byte{9})...)
		opts = append(opts, 0, 0, 0, 0)
		n := 20 + len(opts)
		b := make([]byte, 0, n)
		b = binary.LittleEndian.AppendUint32(b, 1)
		b = binary.LittleEndian.AppendUint32(b, uint32(n))
		b = binary.LittleEndian.AppendUint16(b, 1) // Ethernet
		b = binary.LittleEndian.AppendUint16(b, 0)
		b = binary.LittleEndian.AppendUint32(b, 65535)
		b = append(b, opts...)
		b = binary.LittleEndian.AppendUint32(b, uint32(n))
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

func option(code uint16, v []byte) []byte {
	b := binary.LittleEndian.AppendUint16(nil, code)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(v)))
	b = append(b, v...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func writeRecord(w *bufio.Writer, points, iface int, ts int64, data []byte) error {
	var h [28]byte
	if points == 1 {
		binary.LittleEndian.PutUint32(h[0:], uint32(ts/1e9))
		binary.LittleEndian.PutUint32(h[4:], uint32(ts%1e9))
		binary.LittleEndian.PutUint32(h[8:], uint32(len(data)))
		binary.LittleEndian.PutUint32(h[12:], uint32(len(data)))
		w.Write(h[:16])
		_, err := w.Write(data)
		return err
	}
	pad := (4 - len(data)%4) % 4
	n := 32 + len(data) + pad
	binary.LittleEndian.PutUint32(h[0:], 6)
	binary.LittleEndian.PutUint32(h[4:], uint32(n))
	binary.LittleEndian.PutUint32(h[8:], uint32(iface))
	binary.LittleEndian.PutUint32(h[12:], uint32(uint64(ts)>>32))
	binary.LittleEndian.PutUint32(h[16:], uint32(ts))
	binary.LittleEndian.PutUint32(h[20:], uint32(len(data)))
	binary.LittleEndian.PutUint32(h[24:], uint32(len(data)))
	w.Write(h[:28])
	w.Write(data)
	var z [4]byte
	w.Write(z[:pad])
	binary.LittleEndian.PutUint32(z[:], uint32(n))
	_, err := w.Write(z[:])
	return err
}

// String describes the options, for benchmark names.
func (o Options) String() string {
	return fmt.Sprintf("packets=%d points=%d flows=%d flood=%v", o.Packets, o.Points, o.Flows, o.Flood)
}
