package synth

import (
	"encoding/binary"
	"fmt"
	"math/bits"

	"github.com/stackflow/stackflow/replay"
)

// Protocol numbers and well-known ports the synthesizer writes.
const (
	protoICMP = 1
	protoTCP  = 6
	protoUDP  = 17

	portVXLAN = 4789
	portBGP   = 179
	portDNS   = 53

	linkTypeEthernet = 1

	ethHdr   = 14
	ipHdr    = 20
	udpHdr   = 8
	icmpHdr  = 8
	vxlanHdr = 8
	// encapOverhead is what VXLAN over IPv4 adds in front of the inner IP packet.
	encapOverhead = ipHdr + udpHdr + vxlanHdr + ethHdr
)

// TCP flag bits.
const (
	flFIN = 0x01
	flSYN = 0x02
	flRST = 0x04
	flPSH = 0x08
	flACK = 0x10
)

// transform bits record what nodes changed since the packet's previous observation.
const (
	tfRoute uint8 = 1 << iota
	tfSNAT
	tfDNAT
	tfEncap
	tfDecap
)

type ip4 [4]byte
type mac [6]byte

func (a ip4) u32() uint32 { return binary.BigEndian.Uint32(a[:]) }

// pkt is one packet in flight: the headers as the current hop sees them. Forwarding nodes
// rewrite it in place; the bytes are produced only when a frame is written.
type pkt struct {
	journey int32 // index into the truth journeys (-1 when journeys are off)
	conn    int32 // sending TCP connection, or -1
	conv    int32 // conversation runtime index, or -1
	node    int32 // node holding it (sender or forwarder)
	firstTx bool  // not yet written at any point
	txIf    int32 // interface sending it on the current link
	rxIf    int32 // interface receiving it

	ethSrc, ethDst mac

	// inner (or only) IPv4 header
	src, dst ip4
	ttl      uint8
	proto    uint8
	df       bool
	ipID     uint16

	// TCP/UDP ports; ICMP echo id in sport (and dport) for flow keys
	sport, dport uint16
	seq, ack     uint32
	flags        uint8
	win          uint16
	opts         [40]byte
	optLen       uint8

	icmpType, icmpCode uint8
	icmpID, icmpSeq    uint16
	icmpRest           uint32 // bytes 4..7 of an ICMP error (frag-needed: next-hop MTU)

	payload []byte // owned buffer, reused through the pool
	paySum  uint32 // one's-complement partial sum of payload

	// VXLAN encapsulation (when encap)
	encap              bool
	outerSrc, outerDst ip4
	outerTTL           uint8
	outerID            uint16
	outerSport         uint16
	vni                uint32
	innerSrc, innerDst mac

	transform uint8 // tf* bits since the previous observation
	tfNode    int32 // node that made the transform (or sent the packet)
	tag       int32 // protocol-specific: DNS query index, ICMP error cause, ...
	msgLo     int32 // TCP: first stream message ending in this segment (BGP truth)
	msgHi     int32
}

// l4Len is the transport header plus payload length of the inner packet.
func (p *pkt) l4Len() int {
	switch p.proto {
	case protoTCP:
		return 20 + int(p.optLen) + len(p.payload)
	case protoUDP:
		return udpHdr + len(p.payload)
	default:
		return icmpHdr + len(p.payload)
	}
}

// ipLen is the inner IP total length.
func (p *pkt) ipLen() int { return ipHdr + p.l4Len() }

// wireIPLen is the IP length on the wire at the current hop (outer when encapsulated).
func (p *pkt) wireIPLen() int {
	if p.encap {
		return ipHdr + udpHdr + vxlanHdr + ethHdr + p.ipLen()
	}
	return p.ipLen()
}

// frameLen is the Ethernet frame length at the current hop.
func (p *pkt) frameLen() int { return ethHdr + p.wireIPLen() }

// setPayload copies b into the packet's buffer and sums it.
func (p *pkt) setPayload(b []byte) {
	p.payload = append(p.payload[:0], b...)
	p.paySum = sum16(0, p.payload)
}

// growPayload sizes the payload buffer to n bytes for the caller to fill, then sumPayload.
func (p *pkt) growPayload(n int) []byte {
	if cap(p.payload) < n {
		p.payload = make([]byte, n, max(n, 1600))
	}
	p.payload = p.payload[:n]
	return p.payload
}

func (p *pkt) sumPayload() { p.paySum = sum16(0, p.payload) }

// sum16 adds b to a one's-complement partial sum as big-endian 16-bit words (b starting at an
// even offset). It adds 32-bit words into a 64-bit accumulator, which folds to the same sum.
func sum16(acc uint32, b []byte) uint32 {
	s := uint64(acc)
	for len(b) >= 32 {
		s += uint64(binary.BigEndian.Uint32(b[0:])) + uint64(binary.BigEndian.Uint32(b[4:])) +
			uint64(binary.BigEndian.Uint32(b[8:])) + uint64(binary.BigEndian.Uint32(b[12:])) +
			uint64(binary.BigEndian.Uint32(b[16:])) + uint64(binary.BigEndian.Uint32(b[20:])) +
			uint64(binary.BigEndian.Uint32(b[24:])) + uint64(binary.BigEndian.Uint32(b[28:]))
		b = b[32:]
	}
	for len(b) >= 4 {
		s += uint64(binary.BigEndian.Uint32(b))
		b = b[4:]
	}
	if len(b) >= 2 {
		s += uint64(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint64(b[0]) << 8
	}
	return fold64(s)
}

func fold64(s uint64) uint32 {
	s = (s >> 32) + (s & 0xffffffff)
	s = (s >> 32) + (s & 0xffffffff)
	x := uint32(s>>16) + uint32(s&0xffff)
	x = (x >> 16) + (x & 0xffff)
	return (x >> 16) + (x & 0xffff)
}

// finish folds a partial sum and complements it into a header checksum.
func finish(s uint32) uint16 {
	for s > 0xffff {
		s = (s >> 16) + (s & 0xffff)
	}
	return ^uint16(s)
}

// pseudoSum is the IPv4 pseudo-header sum for TCP/UDP.
func pseudoSum(src, dst ip4, proto uint8, length int) uint32 {
	s := uint32(binary.BigEndian.Uint16(src[0:])) + uint32(binary.BigEndian.Uint16(src[2:])) +
		uint32(binary.BigEndian.Uint16(dst[0:])) + uint32(binary.BigEndian.Uint16(dst[2:])) +
		uint32(proto) + uint32(length)
	return s
}

// putIPv4 writes a 20-byte IPv4 header with its checksum.
func putIPv4(b []byte, src, dst ip4, proto, ttl uint8, id uint16, df bool, total int) {
	b[0] = 0x45
	b[1] = 0
	binary.BigEndian.PutUint16(b[2:], uint16(total))
	binary.BigEndian.PutUint16(b[4:], id)
	if df {
		b[6], b[7] = 0x40, 0
	} else {
		b[6], b[7] = 0, 0
	}
	b[8] = ttl
	b[9] = proto
	b[10], b[11] = 0, 0
	copy(b[12:16], src[:])
	copy(b[16:20], dst[:])
	s := uint64(binary.BigEndian.Uint32(b[0:])) + uint64(binary.BigEndian.Uint32(b[4:])) +
		uint64(binary.BigEndian.Uint32(b[8:])) + uint64(binary.BigEndian.Uint32(b[12:])) +
		uint64(binary.BigEndian.Uint32(b[16:]))
	binary.BigEndian.PutUint16(b[10:], finish(fold64(s)))
}

// putInner writes the inner IPv4 packet (header, transport header, payload) at b and returns
// its length. b must hold p.ipLen() bytes.
func putInner(b []byte, p *pkt) int {
	total := p.ipLen()
	putIPv4(b, p.src, p.dst, p.proto, p.ttl, p.ipID, p.df, total)
	l4 := b[ipHdr:total]
	switch p.proto {
	case protoTCP:
		hl := 20 + int(p.optLen)
		binary.BigEndian.PutUint16(l4[0:], p.sport)
		binary.BigEndian.PutUint16(l4[2:], p.dport)
		binary.BigEndian.PutUint32(l4[4:], p.seq)
		binary.BigEndian.PutUint32(l4[8:], p.ack)
		l4[12] = byte(hl/4) << 4
		l4[13] = p.flags
		binary.BigEndian.PutUint16(l4[14:], p.win)
		l4[16], l4[17], l4[18], l4[19] = 0, 0, 0, 0
		copy(l4[20:hl], p.opts[:p.optLen])
		copy(l4[hl:], p.payload)
		s := pseudoSum(p.src, p.dst, protoTCP, len(l4)) + sum16(0, l4[:hl]) + p.paySum
		binary.BigEndian.PutUint16(l4[16:], finish(s))
	case protoUDP:
		binary.BigEndian.PutUint16(l4[0:], p.sport)
		binary.BigEndian.PutUint16(l4[2:], p.dport)
		binary.BigEndian.PutUint16(l4[4:], uint16(len(l4)))
		l4[6], l4[7] = 0, 0
		copy(l4[8:], p.payload)
		s := pseudoSum(p.src, p.dst, protoUDP, len(l4)) + sum16(0, l4[:8]) + p.paySum
		c := finish(s)
		if c == 0 {
			c = 0xffff // RFC 768: a computed zero is sent as all ones
		}
		binary.BigEndian.PutUint16(l4[6:], c)
	default:
		l4[0] = p.icmpType
		l4[1] = p.icmpCode
		l4[2], l4[3] = 0, 0
		if p.icmpType == 0 || p.icmpType == 8 {
			binary.BigEndian.PutUint16(l4[4:], p.icmpID)
			binary.BigEndian.PutUint16(l4[6:], p.icmpSeq)
		} else {
			binary.BigEndian.PutUint32(l4[4:], p.icmpRest)
		}
		copy(l4[8:], p.payload)
		binary.BigEndian.PutUint16(l4[2:], finish(sum16(0, l4[:8])+p.paySum))
	}
	return total
}

// putFrame writes the packet as an Ethernet frame at its current hop; b must hold
// p.frameLen() bytes.
func putFrame(b []byte, p *pkt) int {
	copy(b[0:6], p.ethDst[:])
	copy(b[6:12], p.ethSrc[:])
	b[12], b[13] = 0x08, 0x00
	if !p.encap {
		return ethHdr + putInner(b[ethHdr:], p)
	}
	o := b[ethHdr:]
	inner := p.ipLen()
	outer := ipHdr + udpHdr + vxlanHdr + ethHdr + inner
	putIPv4(o, p.outerSrc, p.outerDst, protoUDP, p.outerTTL, p.outerID, true, outer)
	u := o[ipHdr:]
	binary.BigEndian.PutUint16(u[0:], p.outerSport)
	binary.BigEndian.PutUint16(u[2:], portVXLAN)
	binary.BigEndian.PutUint16(u[4:], uint16(outer-ipHdr))
	u[6], u[7] = 0, 0 // RFC 7348: the outer UDP checksum SHOULD be zero over IPv4
	v := u[udpHdr:]
	v[0], v[1], v[2], v[3] = 0x08, 0, 0, 0
	binary.BigEndian.PutUint32(v[4:], p.vni<<8)
	e := v[vxlanHdr:]
	copy(e[0:6], p.innerDst[:])
	copy(e[6:12], p.innerSrc[:])
	e[12], e[13] = 0x08, 0x00
	putInner(e[ethHdr:], p)
	return ethHdr + outer
}

// flowHash mixes an inner 5-tuple into 32 bits (FNV-1a over the fields, then a finalizer);
// the Mux uses it for backend choice and the VXLAN source port.
func flowHash(src, dst ip4, proto uint8, sport, dport uint16) uint32 {
	h := uint32(2166136261)
	mix := func(b byte) { h = (h ^ uint32(b)) * 16777619 }
	for _, b := range src {
		mix(b)
	}
	for _, b := range dst {
		mix(b)
	}
	mix(proto)
	mix(byte(sport >> 8))
	mix(byte(sport))
	mix(byte(dport >> 8))
	mix(byte(dport))
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	return bits.RotateLeft32(h, 7)
}

// vxlanSourcePort maps a flow hash into the RFC 7348 range 49152-65535.
func vxlanSourcePort(h uint32) uint16 { return 49152 + uint16(h%16384) }

// written is what the truth needs about a frame once it has its number.
type written struct {
	link  int32
	obs   int32
	conn  int32
	msgLo int32
	msgHi int32
	first bool
}

type pending struct {
	stamp int64
	seq   uint64
	buf   []byte
	w     written
}

// output numbers frames and hands them to the sink in timestamp order. Without clock offsets
// frames go straight through; with them, frames wait in a heap until no later-simulated frame
// can carry an earlier timestamp.
type output struct {
	sink     replay.Sink
	frame    replay.Frame
	buf      []byte
	reorder  bool
	minOff   int64
	pend     []pending
	free     [][]byte
	seq      uint64
	number   uint64
	perPoint []uint64
	names    []string
}

func (o *output) init(sink replay.Sink) {
	o.sink = sink
	o.buf = make([]byte, 1<<16)
	o.frame.LinkType = linkTypeEthernet
}

func (o *output) setOffsets(links []link) {
	o.perPoint = make([]uint64, len(links))
	o.names = make([]string, len(links))
	for i, l := range links {
		o.names[i] = l.name
		if l.clockOff != 0 {
			o.reorder = true
		}
		o.minOff = min(o.minOff, l.clockOff)
	}
}

// write serializes packet i as seen on link l now.
func (o *output) write(s *sim, i int32, l int32) {
	p := &s.pkts[i]
	n := p.frameLen()
	if n > len(o.buf) {
		o.buf = make([]byte, n)
	}
	b := o.buf[:n]
	putFrame(b, p)
	stamp := s.start + s.now + s.links[l].clockOff
	w := written{link: l, obs: s.truth.observe(s, p, l, stamp), conn: p.conn, msgLo: p.msgLo, msgHi: p.msgHi,
		first: p.firstTx}
	p.transform = 0
	if !o.reorder {
		o.emit(s, stamp, b, w)
		return
	}
	var c []byte
	if k := len(o.free); k > 0 {
		c = o.free[k-1]
		o.free = o.free[:k-1]
	}
	c = append(c[:0], b...)
	o.seq++
	o.push(pending{stamp: stamp, seq: o.seq, buf: c, w: w})
}

func (o *output) emit(s *sim, stamp int64, data []byte, w written) {
	if s.err != nil {
		return
	}
	o.frame.Point = o.names[w.link]
	o.frame.Time = stamp
	o.frame.Data = data
	if err := o.sink.WriteFrame(&o.frame); err != nil {
		s.err = fmt.Errorf("synth: writing frame %d: %w", o.number+1, err)
		return
	}
	o.number++
	o.perPoint[w.link]++
	s.truth.numbered(s, w, o.number, o.perPoint[w.link], stamp, len(data))
}

// release writes every pending frame no future frame can precede.
func (o *output) release(s *sim, now int64) {
	for len(o.pend) > 0 && o.pend[0].stamp <= s.start+now+o.minOff {
		o.popEmit(s)
	}
}

func (o *output) flushAll(s *sim) {
	for len(o.pend) > 0 {
		o.popEmit(s)
	}
}

func (o *output) popEmit(s *sim) {
	top := o.pend[0]
	n := len(o.pend) - 1
	o.pend[0] = o.pend[n]
	o.pend = o.pend[:n]
	for i := 0; ; {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && o.before(r, l) {
			m = r
		}
		if !o.before(m, i) {
			break
		}
		o.pend[i], o.pend[m] = o.pend[m], o.pend[i]
		i = m
	}
	o.emit(s, top.stamp, top.buf, top.w)
	o.free = append(o.free, top.buf)
}

func (o *output) before(i, j int) bool {
	a, b := &o.pend[i], &o.pend[j]
	return a.stamp < b.stamp || a.stamp == b.stamp && a.seq < b.seq
}

func (o *output) push(e pending) {
	o.pend = append(o.pend, e)
	for i := len(o.pend) - 1; i > 0; {
		p := (i - 1) / 2
		if !o.before(i, p) {
			break
		}
		o.pend[i], o.pend[p] = o.pend[p], o.pend[i]
		i = p
	}
}
