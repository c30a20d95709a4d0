package bgp

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/reassembly"
)

// tcpConn is one TCP connection at one capture point: gopacket's Stream for it, and the
// framing state of both directions. Per-direction arrays are indexed by the canonical
// endpoint order of key (0 = key.a sends).
type tcpConn struct {
	pa        *pointAsm
	key       tupleKey
	byDir     [2]int8 // gopacket direction (client->server first) -> sending endpoint
	half      [2]halfState
	sess      *session
	synFrom   int8 // endpoint that sent the SYN, -1 when none was seen
	firstFrom int8 // endpoint that sent the first segment seen
	fin, rst  bool
	first     int64
	last      int64
	gaps      int
}

// halfState is one direction of a connection.
type halfState struct {
	started     bool
	startSeq    uint32 // sequence number of stream byte 0
	next        uint32 // sequence number of the byte after the framer's buffer
	fr          framer
	headRef     *PacketRef // packet of the framer's first pending byte
	queuedSince int64      // capture time out-of-order data started waiting, 0 if none
	queuedEnd   uint32     // sequence number after the furthest queued byte
	finished    bool
}

// New implements reassembly.StreamFactory. gopacket calls it from inside Feed, for the
// first segment of a connection, whose endpoints are in curSrc/curDst.
func (pa *pointAsm) New(_, _ gopacket.Flow, _ *layers.TCP, _ reassembly.AssemblerContext) reassembly.Stream {
	c := &tcpConn{pa: pa, key: makeTupleKey(pa.curSrc, pa.curDst), synFrom: -1, firstFrom: -1}
	c.byDir = [2]int8{0, 1}
	if pa.curSrc != c.key.a {
		c.byDir = [2]int8{1, 0}
	}
	pa.conns = append(pa.conns, c)
	return c
}

func dirIndex(d reassembly.TCPFlowDirection) int {
	if d == reassembly.TCPDirClientToServer {
		return 0
	}
	return 1
}

func (c *tcpConn) endpoint(i int) netip.AddrPort {
	if i == 0 {
		return c.key.a
	}
	return c.key.b
}

// seqAt returns the TCP sequence number of stream position pos sent by endpoint from.
func (c *tcpConn) seqAt(from int, pos int64) uint32 {
	h := &c.half[from]
	return h.next - uint32(h.fr.end()-pos)
}

// Accept implements reassembly.Stream: it notes flags and times, starts a direction at its
// first segment when the SYN was not captured, and notices out-of-order data.
func (c *tcpConn) Accept(tcp *layers.TCP, ci gopacket.CaptureInfo, dir reassembly.TCPFlowDirection,
	nextSeq reassembly.Sequence, start *bool, _ reassembly.AssemblerContext) bool {
	from := int(c.byDir[dirIndex(dir)])
	now := ci.Timestamp.UnixNano()
	if c.firstFrom < 0 {
		c.firstFrom, c.first = int8(from), now
	}
	c.last = max(c.last, now)
	if tcp.SYN && c.synFrom < 0 {
		c.synFrom = int8(from)
		if tcp.ACK {
			c.synFrom = int8(1 - from)
		}
	}
	c.fin = c.fin || tcp.FIN
	c.rst = c.rst || tcp.RST
	h := &c.half[from]
	if nextSeq < 0 { // gopacket's "no start yet"
		if !h.started {
			h.started = true
			if tcp.SYN {
				h.startSeq = tcp.Seq + 1
			} else {
				h.startSeq = tcp.Seq
				h.fr.unsync(syncStart)
				*start = true
			}
			h.next = h.startSeq
		}
		return true
	}
	if len(tcp.Payload) > 0 && nextSeq.Difference(reassembly.Sequence(tcp.Seq)) > 0 {
		end := tcp.Seq + uint32(len(tcp.Payload))
		if h.queuedSince == 0 {
			h.queuedSince, h.queuedEnd = now, end
			c.pa.pending++
		} else if int32(end-h.queuedEnd) > 0 {
			h.queuedEnd = end
		}
	}
	return true
}

// ReassembledSG implements reassembly.Stream: in-order bytes of one direction.
func (c *tcpConn) ReassembledSG(sg reassembly.ScatterGather, _ reassembly.AssemblerContext) {
	dir, _, end, skip := sg.Info()
	from := int(c.byDir[dirIndex(dir)])
	h := &c.half[from]
	avail, _ := sg.Lengths()
	if skip > 0 {
		c.gap(from, skip, c.refAt(sg, 0))
	}
	if avail > 0 {
		if len(h.fr.pending()) == 0 {
			h.headRef = c.refAt(sg, 0)
		}
		newStart := h.fr.end()
		h.fr.push(sg.Fetch(avail))
		h.next += uint32(avail)
		c.frame(from, sg, newStart)
	}
	if h.queuedSince != 0 && int32(h.next-h.queuedEnd) >= 0 {
		h.queuedSince = 0
		c.pa.pending--
	}
	if end {
		c.finishHalf(from)
	}
}

// ReassemblyComplete implements reassembly.Stream. The connection stays in gopacket's pool
// so stray segments after the close do not open a new one; a new SYN replaces it.
func (c *tcpConn) ReassemblyComplete(reassembly.AssemblerContext) bool { return false }

// refAt returns the packet that carried byte off of sg.
func (c *tcpConn) refAt(sg reassembly.ScatterGather, off int) *PacketRef {
	ci := sg.CaptureInfo(off)
	if len(ci.AncillaryData) > 0 {
		if r, ok := ci.AncillaryData[0].(*PacketRef); ok {
			return r
		}
	}
	if cur := c.pa.a.cur; cur != nil {
		return cur
	}
	return &PacketRef{Point: c.pa.point}
}

func (c *tcpConn) report(kind string, pos int64, ref *PacketRef, msg string) {
	if ref == nil {
		ref = &PacketRef{Point: c.pa.point}
	}
	sess := -1
	if c.sess != nil {
		sess = c.sess.index
	}
	c.pa.a.problem(Problem{Kind: kind, Point: c.pa.point, Input: ref.Input, Packet: ref.Number,
		Offset: ref.Offset, StreamOffset: pos, Session: sess, Message: msg})
}

// gap handles skip missing bytes before the data now delivered.
func (c *tcpConn) gap(from, skip int, ref *PacketRef) {
	h := &c.half[from]
	pos, seq := h.fr.end(), h.next
	dropped := h.fr.lose(int64(skip))
	h.next += uint32(skip)
	c.gaps++
	c.pa.a.stats.Gaps++
	msg := fmt.Sprintf("%d bytes from %s missing at stream byte %d (seq %d)", skip, c.endpoint(from), pos, seq)
	if dropped > 0 {
		msg += fmt.Sprintf("; the %d bytes of the message in progress were discarded", dropped)
	}
	c.report(ProblemGap, pos, ref, msg)
}

// frame runs the framer over the bytes just pushed (stream positions from newStart on are
// in sg) and records what it finds.
func (c *tcpConn) frame(from int, sg reassembly.ScatterGather, newStart int64) {
	h := &c.half[from]
	refOf := func(pos int64) *PacketRef {
		if pos >= newStart {
			return c.refAt(sg, int(pos-newStart))
		}
		return h.headRef
	}
	sender := c.endpoint(from)
	for {
		h.fr.maxLen, h.fr.resyncTo = c.sess.limits(from)
		ev, b, ok := h.fr.next()
		if !ok {
			break
		}
		switch ev.kind {
		case frameMessage:
			c.pa.a.message(c, from, b, ev.pos, refOf(ev.pos), refOf(ev.pos+int64(ev.n)-1))
		case frameBadMarker:
			c.report(ProblemBadMarker, ev.pos, refOf(ev.pos), fmt.Sprintf(
				"expected the all-ones marker at stream byte %d from %s, found %x", ev.pos, sender, b[:markerLen]))
		case frameBadLength:
			c.report(ProblemBadLength, ev.pos, refOf(ev.pos), fmt.Sprintf(
				"header at stream byte %d from %s gives length %d (type %d), outside 19..%d",
				ev.pos, sender, ev.n, b[typeOffset], h.fr.maxLen))
		case frameResync:
			at := ev.pos + int64(ev.n)
			switch ev.reason {
			case syncStart:
				c.report(ProblemMidstream, ev.pos, refOf(at), fmt.Sprintf(
					"stream from %s picked up without its syn: skipped %d bytes before the first header at stream byte %d",
					sender, ev.n, at))
			default:
				c.report(ProblemResync, ev.pos, refOf(at), fmt.Sprintf(
					"skipped %d bytes from %s between stream bytes %d and %d to the next header", ev.n, sender, ev.pos, at))
			}
		}
	}
	if p := h.fr.pending(); len(p) > 0 {
		if pos := h.fr.end() - int64(len(p)); pos >= newStart {
			h.headRef = c.refAt(sg, int(pos-newStart))
		}
	}
}

// finishHalf ends a direction (FIN, RST or end of input) and reports what was left over.
func (c *tcpConn) finishHalf(from int) {
	h := &c.half[from]
	if h.finished || !h.started {
		return
	}
	h.finished = true
	if h.queuedSince != 0 {
		h.queuedSince = 0
		c.pa.pending--
	}
	p := h.fr.pending()
	pos := h.fr.end() - int64(len(p))
	switch {
	case h.fr.state == inSync && len(p) > 0:
		msg := fmt.Sprintf("stream from %s ended %d bytes into a message at stream byte %d", c.endpoint(from), len(p), pos)
		if len(p) >= HeaderLen {
			msg += fmt.Sprintf(" that declares %d bytes", binary.BigEndian.Uint16(p[lenOffset:]))
		}
		c.report(ProblemTruncated, pos, h.headRef, msg)
	case h.fr.state != inSync && h.fr.unsynced() > 0:
		c.report(ProblemResync, h.fr.skipPos, h.headRef, fmt.Sprintf(
			"stream from %s ended after %d bytes without another plausible header", c.endpoint(from), h.fr.unsynced()))
	}
}
