package bgp

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	gobgp "github.com/osrg/gobgp/v4/pkg/packet/bgp"

	"github.com/stackflow/stackflow/decode"
)

// Hand-built BGP messages for synthetic tests, written from RFC 4271's layouts rather than
// through gobgp's serialiser, so the codec is checked against an independent encoder.

func msg(typ uint8, body []byte) []byte {
	b := make([]byte, HeaderLen, HeaderLen+len(body))
	for i := range markerLen {
		b[i] = 0xff
	}
	binary.BigEndian.PutUint16(b[lenOffset:], uint16(HeaderLen+len(body)))
	b[typeOffset] = typ
	return append(b, body...)
}

func keepalive() []byte { return msg(TypeKeepalive, nil) }

// capability is one OPEN capability TLV.
func capability(code uint8, value ...byte) []byte {
	return append([]byte{code, byte(len(value))}, value...)
}

func capAS4(as uint32) []byte {
	return capability(65, byte(as>>24), byte(as>>16), byte(as>>8), byte(as))
}

func capMP(afi uint16, safi uint8) []byte {
	return capability(1, byte(afi>>8), byte(afi), 0, safi)
}

func capAddPath(afi uint16, safi, mode uint8) []byte {
	return capability(69, byte(afi>>8), byte(afi), safi, mode)
}

func open(as uint16, hold uint16, id string, caps ...[]byte) []byte {
	var params []byte
	for _, c := range caps {
		params = append(params, c...)
	}
	body := []byte{4, byte(as >> 8), byte(as), byte(hold >> 8), byte(hold)}
	rid := netip.MustParseAddr(id).As4()
	body = append(body, rid[:]...)
	if len(params) > 0 {
		body = append(body, byte(len(params)+2), 2, byte(len(params)))
		body = append(body, params...)
	} else {
		body = append(body, 0)
	}
	return msg(TypeOpen, body)
}

func attr(flags, typ uint8, value []byte) []byte {
	if len(value) > 255 {
		b := []byte{flags | 0x10, typ, byte(len(value) >> 8), byte(len(value))}
		return append(b, value...)
	}
	return append([]byte{flags, typ, byte(len(value))}, value...)
}

// asPath encodes segments with width-byte ASNs.
func asPath(width int, segs ...Segment) []byte {
	var b []byte
	for _, s := range segs {
		b = append(b, s.Type, byte(len(s.ASNs)))
		for _, a := range s.ASNs {
			if width == 2 {
				b = binary.BigEndian.AppendUint16(b, uint16(a))
			} else {
				b = binary.BigEndian.AppendUint32(b, a)
			}
		}
	}
	return b
}

func seq(asns ...uint32) Segment { return Segment{Type: SegSequence, ASNs: asns} }
func set(asns ...uint32) Segment { return Segment{Type: SegSet, ASNs: asns} }

// prefixes encodes NLRI; a non-nil pathIDs gives each prefix an ADD-PATH id.
func prefixes(pathIDs []uint32, ps ...string) []byte {
	var b []byte
	for i, s := range ps {
		p := netip.MustParsePrefix(s)
		if pathIDs != nil {
			b = binary.BigEndian.AppendUint32(b, pathIDs[i])
		}
		b = append(b, byte(p.Bits()))
		b = append(b, p.Addr().AsSlice()[:(p.Bits()+7)/8]...)
	}
	return b
}

func update(withdrawn []byte, attrs [][]byte, nlri []byte) []byte {
	var a []byte
	for _, x := range attrs {
		a = append(a, x...)
	}
	body := binary.BigEndian.AppendUint16(nil, uint16(len(withdrawn)))
	body = append(body, withdrawn...)
	body = binary.BigEndian.AppendUint16(body, uint16(len(a)))
	body = append(body, a...)
	return msg(TypeUpdate, append(body, nlri...))
}

func v4(s string) []byte { a := netip.MustParseAddr(s).As4(); return a[:] }

// basicAttrs is ORIGIN IGP, the given AS_PATH bytes and NEXT_HOP nh.
func basicAttrs(path []byte, nh string) [][]byte {
	return [][]byte{attr(0x40, attrOrigin, []byte{0}), attr(0x40, attrASPath, path), attr(0x40, attrNextHop, v4(nh))}
}

// conv drives one synthetic TCP connection into an Assembler, building decode.Packet and
// layers.TCP values the way the pipeline will.
type conv struct {
	a     *Assembler
	point int
	ep    [2]netip.AddrPort // 0 = client (sends the SYN)
	next  [2]uint32         // next sequence number per direction
	n     uint64
	now   int64
}

func newConv(a *Assembler, point int, isn0, isn1 uint32) *conv {
	return &conv{a: a, point: point,
		ep:   [2]netip.AddrPort{netip.MustParseAddrPort("10.0.0.1:40000"), netip.MustParseAddrPort("10.0.0.2:179")},
		next: [2]uint32{isn0, isn1}, now: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano()}
}

// seg feeds one segment from side dir with the given sequence number and flags and returns
// what Feed returned. Time advances 1 ms per segment unless advance says otherwise.
func (c *conv) seg(dir int, seqNum uint32, data []byte, syn, ack, fin bool) int {
	c.n++
	c.now += int64(time.Millisecond)
	src, dst := c.ep[dir], c.ep[1-dir]
	tcp := &layers.TCP{SrcPort: layers.TCPPort(src.Port()), DstPort: layers.TCPPort(dst.Port()),
		Seq: seqNum, Ack: c.next[1-dir], SYN: syn, ACK: ack, FIN: fin, Window: 65535}
	tcp.Payload = data
	pkt := &decode.Packet{Point: c.point, Number: c.n, Offset: int64(c.n) * 100, Time: c.now,
		CapLen: uint32(54 + len(data)), Len: uint32(54 + len(data)), HasIP: true, IPVersion: 4,
		Inner:  decode.Tuple{Src: src.Addr(), Dst: dst.Addr(), SrcPort: src.Port(), DstPort: dst.Port(), Proto: 6},
		TCPSeq: seqNum, TCPAck: tcp.Ack, Payload: data}
	return c.a.Feed(c.point, pkt, tcp)
}

// handshake sends SYN, SYN-ACK, ACK.
func (c *conv) handshake() {
	c.seg(0, c.next[0], nil, true, false, false)
	c.next[0]++
	c.seg(1, c.next[1], nil, true, true, false)
	c.next[1]++
	c.seg(0, c.next[0], nil, false, true, false)
}

// send sends data in order from side dir as one segment.
func (c *conv) send(dir int, data []byte) int {
	r := c.seg(dir, c.next[dir], data, false, true, false)
	c.next[dir] += uint32(len(data))
	return r
}

func concat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func problemKinds(a *Assembler) map[string]int {
	k := map[string]int{}
	for _, p := range a.Problems() {
		k[p.Kind]++
	}
	return k
}

func mustNoProblems(t *testing.T, a *Assembler) {
	t.Helper()
	for _, p := range a.Problems() {
		t.Errorf("unexpected problem: %v", p)
	}
}

// addPathAll turns ADD-PATH receive on for the families the tests use.
func addPathAll() map[gobgp.Family]gobgp.BGPAddPathMode {
	m := map[gobgp.Family]gobgp.BGPAddPathMode{}
	for _, f := range []gobgp.Family{gobgp.RF_IPv4_UC, gobgp.RF_IPv6_UC, gobgp.RF_IPv4_VPN, gobgp.RF_IPv6_VPN} {
		m[f] = gobgp.BGP_ADD_PATH_RECEIVE
	}
	return m
}
