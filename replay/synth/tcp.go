package synth

import (
	"encoding/binary"
	"time"
)

// TCP states (RFC 9293 names).
const (
	stClosed uint8 = iota
	stSynSent
	stSynRcvd
	stEstablished
	stFinWait1
	stFinWait2
	stCloseWait
	stClosing
	stLastAck
	stTimeWait
)

// TCP tuning: Linux-like defaults, documented in samples/README.md.
const (
	rcvBuf      = 262144 // bytes each endpoint can buffer; advertised with window scale 8
	wscale      = 8
	initRTO     = int64(time.Second)
	minRTO      = int64(200 * time.Millisecond)
	maxRTO      = int64(60 * time.Second)
	maxRetries  = 6
	delAckTime  = int64(40 * time.Millisecond)
	initCwndSeg = 10
	tsOptLen    = 12 // NOP NOP TS
)

type connKey struct {
	l, r   ip4
	lp, rp uint16
}

// tcpApp is what runs on an endpoint: it reacts to the connection's life.
type tcpApp interface {
	established(s *sim, c int32)
	message(s *sim, c int32, m int) // the peer's message m has fully arrived
	peerFin(s *sim, c int32)
	closed(s *sim, c int32, reset bool)
}

// message kinds: how a message's bytes are produced.
const (
	msgRaw  uint8 = iota // seeded pattern bytes
	msgBlob              // exactly blob
	msgHead              // blob, then pattern bytes
	msgTLS               // TLS application-data records over pattern bytes
)

// message is one application write: a range of the connection's byte stream.
type message struct {
	off, n    uint32
	kind      uint8
	blob      []byte
	pat       uint32
	rec       uint32 // TLS record length, header included
	reply     int64  // for a request: bytes the server answers
	replyKind uint8
	replyBlob []byte // for a request: the exact answer (health probes)
	tag       int32  // protocol-specific (BGP: truth route group)
}

type seqRange struct{ lo, hi uint32 }

// tcpConn is one endpoint of a TCP connection. Stream offsets count data bytes from 0; the
// FIN takes offset total.
type tcpConn struct {
	node    int32
	key     connKey
	peer    int32
	state   uint8
	app     tcpApp
	label   int32
	forward bool // this side opened the connection

	iss, irs uint32
	sndUna   uint32
	sndNxt   uint32
	sndMax   uint32
	msgs     []message
	total    uint32
	finQ     bool
	finSent  bool

	rcvNxt  uint32
	finRcvd bool
	ooo     []seqRange
	peerMsg int

	mss      int // payload bytes per segment
	advMSS   uint16
	peerWS   uint8
	sack, ts bool
	sndWnd   uint32
	cwnd     uint32
	ssthresh uint32

	srtt, rttvar, rto int64
	timing            bool
	timedOff          uint32
	timedAt           int64
	rtoAt             int64
	rtoPending        bool
	retries           int
	dupAcks           int
	delAt             int64
	delPending        bool
	unacked           int
	tsRecent          uint32
	lastAck           uint32 // acknowledgment number of the last segment sent
	ackSent           bool

	rstOnSynAck bool // TCP health probe: answer SYN-ACK with RST
	closeRST    bool // the app aborts instead of closing
	conv        int32
	inst        int32
	synAt       int64
}

// ackValue is the acknowledgment number for what has arrived in order.
func (c *tcpConn) ackValue() uint32 {
	a := c.irs + 1 + c.rcvNxt
	if c.finRcvd {
		a++
	}
	return a
}

func seqAfter(a, b uint32) bool { return int32(a-b) > 0 }

// connect opens a connection from node n (key.l:key.lp) to key.r:key.rp; label, conv and
// inst name it in the truth.
func (s *sim) connect(n int32, key connKey, mss int, app tcpApp, label, conv, inst int32) int32 {
	ci := int32(len(s.conns))
	s.conns = append(s.conns, tcpConn{
		node: n, key: key, peer: -1, state: stSynSent,
		app: app, label: label, forward: true, iss: s.rng.Uint32(), advMSS: uint16(mss),
		rto: initRTO, ssthresh: ^uint32(0), conv: conv, inst: inst, synAt: s.now,
	})
	s.nodes[n].conns[s.conns[ci].key] = ci
	s.sendSyn(ci)
	s.armRTO(ci)
	return ci
}

// ephemeral returns node n's next client port (Windows: 49152-65535, sequential).
func (s *sim) ephemeral(n int32) uint16 {
	nd := &s.nodes[n]
	nd.ephem++
	if nd.ephem < 49152 {
		nd.ephem = 49152
	}
	return nd.ephem
}

func (s *sim) tsNow(n int32) uint32 {
	return s.nodes[n].tsBase + uint32(s.now/int64(time.Millisecond))
}

// segment builds a TCP packet of connection ci; data comes from stream offset off.
func (s *sim) segment(ci int32, seq uint32, flags uint8, off uint32, n int) int32 {
	c := &s.conns[ci]
	i := s.newPacket(c.node, c.key.l, c.key.r, protoTCP)
	c = &s.conns[ci]
	p := &s.pkts[i]
	p.sport, p.dport = c.key.lp, c.key.rp
	p.seq = seq
	p.flags = flags
	p.conn = ci
	p.conv = c.conv
	if flags&flACK != 0 {
		p.ack = c.ackValue()
		c.lastAck, c.ackSent = p.ack, true
	}
	if flags&flSYN != 0 {
		p.win = 64240
		if flags&flACK != 0 {
			p.win = 65535
		}
		p.optLen = uint8(s.synOptions(p.opts[:], c, flags&flACK != 0))
	} else if flags&flRST == 0 {
		p.win = uint16(rcvBuf >> wscale)
		o := 0
		if c.ts {
			o = putTS(p.opts[:], s.tsNow(c.node), c.tsRecent)
		}
		if c.sack && len(c.ooo) > 0 && flags&flRST == 0 {
			o += putSACK(p.opts[o:], c, 40-o)
		}
		p.optLen = uint8(o)
	}
	if flags&flRST != 0 && flags&flACK == 0 {
		p.win = 0
	}
	if n > 0 {
		buf := p.growPayload(n)
		s.fill(c, buf, off)
		p.sumPayload()
		lo, hi := -1, -1
		for k := range c.msgs {
			e := c.msgs[k].off + c.msgs[k].n
			if e > off && e <= off+uint32(n) {
				if lo < 0 {
					lo = k
				}
				hi = k
			}
		}
		p.msgLo, p.msgHi = int32(lo), int32(hi)
	}
	s.truth.begin(s, i, c.label, c.inst, c.forward)
	return i
}

// synOptions writes MSS, SACK-permitted, timestamps, NOP, window scale (Linux's order).
func (s *sim) synOptions(b []byte, c *tcpConn, synack bool) int {
	b[0], b[1] = 2, 4
	binary.BigEndian.PutUint16(b[2:], c.advMSS)
	o := 4
	if !synack || c.sack {
		b[o], b[o+1] = 4, 2
		o += 2
	}
	if !synack || c.ts {
		b[o], b[o+1] = 8, 10
		binary.BigEndian.PutUint32(b[o+2:], s.tsNow(c.node))
		binary.BigEndian.PutUint32(b[o+6:], c.tsRecent)
		o += 10
	}
	if !synack || c.peerWS != 0xff {
		b[o], b[o+1], b[o+2], b[o+3] = 1, 3, 3, wscale
		o += 4
	}
	for o%4 != 0 {
		b[o] = 1
		o++
	}
	return o
}

func putTS(b []byte, val, ecr uint32) int {
	b[0], b[1], b[2], b[3] = 1, 1, 8, 10
	binary.BigEndian.PutUint32(b[4:], val)
	binary.BigEndian.PutUint32(b[8:], ecr)
	return tsOptLen
}

// putSACK writes NOP NOP SACK with as many out-of-order ranges as fit.
func putSACK(b []byte, c *tcpConn, room int) int {
	k := min(len(c.ooo), (room-4)/8)
	if k <= 0 {
		return 0
	}
	b[0], b[1], b[2], b[3] = 1, 1, 5, byte(2+8*k)
	base := c.irs + 1
	for j := 0; j < k; j++ {
		r := c.ooo[j]
		binary.BigEndian.PutUint32(b[4+8*j:], base+r.lo)
		binary.BigEndian.PutUint32(b[8+8*j:], base+r.hi)
	}
	return 4 + 8*k
}

// parseSynOptions reads the peer's MSS, window scale, SACK-permitted and timestamps.
func parseSynOptions(c *tcpConn, p *pkt) (peerMSS int) {
	peerMSS = 536
	c.peerWS = 0xff
	c.sack, c.ts = false, false
	o := p.opts[:p.optLen]
	for len(o) > 0 {
		switch o[0] {
		case 0:
			return peerMSS
		case 1:
			o = o[1:]
			continue
		}
		if len(o) < 2 || int(o[1]) < 2 || int(o[1]) > len(o) {
			return peerMSS
		}
		switch o[0] {
		case 2:
			peerMSS = int(binary.BigEndian.Uint16(o[2:]))
		case 3:
			c.peerWS = o[2]
		case 4:
			c.sack = true
		case 8:
			c.ts = true
			c.tsRecent = binary.BigEndian.Uint32(o[2:])
		}
		o = o[o[1]:]
	}
	return peerMSS
}

// peerTS remembers the peer's TSval for our TSecr.
func peerTS(c *tcpConn, p *pkt) {
	if !c.ts || p.optLen < tsOptLen {
		return
	}
	o := p.opts[:p.optLen]
	for len(o) >= 2 {
		if o[0] == 1 {
			o = o[1:]
			continue
		}
		if o[0] == 8 && len(o) >= 10 {
			c.tsRecent = binary.BigEndian.Uint32(o[2:])
			return
		}
		if o[1] < 2 || int(o[1]) > len(o) {
			return
		}
		o = o[o[1]:]
	}
}

func (s *sim) setMSS(c *tcpConn, peerMSS int) {
	mine := s.links[s.ifaces[s.owner[c.key.l]].link].mtu - 40
	c.mss = min(peerMSS, mine)
	if c.ts {
		c.mss -= tsOptLen
	}
	if c.peerWS == 0xff {
		c.peerWS = 0
	}
	c.cwnd = uint32(initCwndSeg * c.mss)
}

func (s *sim) sendSyn(ci int32) {
	c := &s.conns[ci]
	s.send(s.segment(ci, c.iss, flSYN, 0, 0))
}

func (s *sim) sendSynAck(ci int32) {
	c := &s.conns[ci]
	s.send(s.segment(ci, c.iss, flSYN|flACK, 0, 0))
}

func (s *sim) sendAck(ci int32) {
	c := &s.conns[ci]
	c.unacked = 0
	c.delAt = 0
	s.send(s.segment(ci, c.iss+1+c.sndNxt, flACK, 0, 0))
}

func (s *sim) sendReset(ci int32) {
	c := &s.conns[ci]
	flags := uint8(flRST)
	if c.state != stSynSent {
		flags |= flACK
	}
	s.send(s.segment(ci, c.iss+1+c.sndNxt, flags, 0, 0))
}

// accept creates the passive side for a SYN to a listening port.
func (s *sim) accept(n int32, q int32) int32 {
	p := &s.pkts[q]
	ci := int32(len(s.conns))
	c := tcpConn{
		node: n, key: connKey{l: p.dst, r: p.src, lp: p.dport, rp: p.sport}, peer: p.conn,
		state: stSynRcvd, irs: p.seq, iss: s.rng.Uint32(), rto: initRTO, ssthresh: ^uint32(0),
		conv: p.conv, synAt: s.now, label: -1,
	}
	peerMSS := parseSynOptions(&c, p)
	c.advMSS = uint16(s.links[s.ifaces[s.owner[p.dst]].link].mtu - 40)
	if p.conn >= 0 {
		c.label, c.inst = s.conns[p.conn].label, s.conns[p.conn].inst
	}
	c.app = s.appFor(n, p)
	s.conns = append(s.conns, c)
	s.setMSS(&s.conns[ci], peerMSS)
	s.nodes[n].conns[c.key] = ci
	if p.conn >= 0 {
		s.conns[p.conn].peer = ci
	}
	s.sendSynAck(ci)
	s.armRTO(ci)
	return ci
}

// tcpInput delivers a TCP segment to node n.
func (s *sim) tcpInput(i int32, n int32) {
	p := &s.pkts[i]
	key := connKey{l: p.dst, r: p.src, lp: p.dport, rp: p.sport}
	var ci int32
	ok := false
	// the sender's peer is usually the receiving endpoint: skip the map when its key matches
	if p.conn >= 0 {
		if pc := s.conns[p.conn].peer; pc >= 0 && s.conns[pc].key == key && s.conns[pc].node == n {
			ci, ok = pc, true
		}
	}
	if !ok {
		ci, ok = s.nodes[n].conns[key]
	}
	if !ok || s.conns[ci].state == stClosed && p.flags&flSYN != 0 {
		switch {
		case p.flags&flRST != 0:
		case p.flags&(flSYN|flACK) == flSYN && s.nodes[n].listen[p.dport]:
			s.accept(n, i)
		default:
			s.rstReply(n, i)
		}
		s.release(i)
		return
	}
	s.segmentIn(ci, i)
	s.release(i)
}

// rstReply answers an unexpected segment with RST (and ACK when it had no ACK).
func (s *sim) rstReply(n int32, q int32) {
	in := s.pkts[q]
	i := s.newPacket(n, in.dst, in.src, protoTCP)
	p := &s.pkts[i]
	p.sport, p.dport = in.dport, in.sport
	p.win = 0
	if in.flags&flACK != 0 {
		p.seq = in.ack
		p.flags = flRST
	} else {
		p.seq = 0
		seglen := uint32(len(in.payload))
		if in.flags&flSYN != 0 {
			seglen++
		}
		if in.flags&flFIN != 0 {
			seglen++
		}
		p.ack = in.seq + seglen
		p.flags = flRST | flACK
	}
	p.conv = in.conv
	label, inst := int32(-1), int32(0)
	if in.conn >= 0 {
		label, inst = s.conns[in.conn].label, s.conns[in.conn].inst
	}
	s.truth.begin(s, i, label, inst, false)
	s.send(i)
}

func (s *sim) segmentIn(ci int32, i int32) {
	p := &s.pkts[i]
	c := &s.conns[ci]
	if p.flags&flRST != 0 {
		if c.state != stClosed {
			s.closeConn(ci, true)
		}
		return
	}
	switch c.state {
	case stClosed, stTimeWait:
		if p.flags&flFIN != 0 && c.state == stTimeWait {
			s.sendAck(ci)
		}
		return
	case stSynSent:
		if p.flags&(flSYN|flACK) != flSYN|flACK || p.ack != c.iss+1 {
			return
		}
		c.irs = p.seq
		peerMSS := parseSynOptions(c, p)
		s.setMSS(c, peerMSS)
		c.sndWnd = uint32(p.win)
		s.rttSample(c, s.now-c.synAt)
		c.rtoAt = 0
		c.retries = 0
		if c.rstOnSynAck {
			c.state = stClosed
			s.send(s.segment(ci, c.iss+1, flRST, 0, 0))
			s.closeConn(ci, false)
			return
		}
		c.state = stEstablished
		s.sendAck(ci)
		s.conns[ci].app.established(s, ci)
		s.output(ci)
		return
	case stSynRcvd:
		if p.flags&flSYN != 0 && p.flags&flACK == 0 {
			s.sendSynAck(ci) // our SYN-ACK was lost
			return
		}
		if p.flags&flACK == 0 || p.ack != c.iss+1 {
			return
		}
		c.state = stEstablished
		c.sndWnd = uint32(p.win) << c.peerWS
		if c.retries == 0 {
			s.rttSample(c, s.now-c.synAt)
		}
		c.rtoAt = 0
		c.retries = 0
		c.app.established(s, ci)
		c = &s.conns[ci]
	}
	if c.ts {
		peerTS(c, p)
	}
	if p.flags&flACK != 0 {
		s.ackIn(ci, p)
		c = &s.conns[ci]
	}
	if len(p.payload) > 0 || p.flags&flFIN != 0 {
		s.dataIn(ci, p)
	}
}

// ackIn processes the acknowledgment field.
func (s *sim) ackIn(ci int32, p *pkt) {
	c := &s.conns[ci]
	c.sndWnd = uint32(p.win) << c.peerWS
	acked := p.ack - (c.iss + 1)
	switch {
	case seqAfter(acked, c.sndUna) && !seqAfter(acked, c.sndMax):
		n := acked - c.sndUna
		c.sndUna = acked
		if seqAfter(c.sndUna, c.sndNxt) {
			c.sndNxt = c.sndUna
		}
		if c.timing && seqAfter(acked, c.timedOff) {
			s.rttSample(c, s.now-c.timedAt)
			c.timing = false
		}
		mss := uint32(c.mss)
		if c.cwnd < c.ssthresh {
			c.cwnd += min(n, mss)
		} else {
			c.cwnd += max(1, mss*mss/c.cwnd)
		}
		c.retries = 0
		c.dupAcks = 0
		if c.sndUna == c.sndMax {
			c.rtoAt = 0
		} else {
			s.armRTO(ci)
		}
		if c.finSent && c.sndUna == c.total+1 {
			switch c.state {
			case stFinWait1:
				c.state = stFinWait2
			case stClosing:
				c.state = stTimeWait
				s.closeConn(ci, false)
				return
			case stLastAck:
				s.closeConn(ci, false)
				return
			}
		}
		s.output(ci)
	case acked == c.sndUna && len(p.payload) == 0 && p.flags&(flFIN|flSYN) == 0 && c.sndMax != c.sndUna:
		c.dupAcks++
		if c.dupAcks == 3 {
			inflight := c.sndMax - c.sndUna
			c.ssthresh = max(inflight/2, 2*uint32(c.mss))
			c.cwnd = c.ssthresh
			c.timing = false
			s.retransmit(ci, c.sndUna)
		}
	}
}

// dataIn takes payload and FIN, acknowledges and hands complete messages to the app.
func (s *sim) dataIn(ci int32, p *pkt) {
	c := &s.conns[ci]
	off := p.seq - (c.irs + 1)
	n := uint32(len(p.payload))
	fin := p.flags&flFIN != 0
	immediate := false
	switch {
	case n == 0:
	case off == c.rcvNxt:
		c.rcvNxt += n
		if len(c.ooo) > 0 {
			immediate = true
			s.mergeOOO(c)
		}
	case seqAfter(off, c.rcvNxt):
		s.addOOO(c, off, off+n)
		s.sendAck(ci)
		return
	case seqAfter(off+n, c.rcvNxt):
		c.rcvNxt = off + n
		s.mergeOOO(c)
	default:
		s.sendAck(ci) // a duplicate: tell the sender where we are
		return
	}
	if fin && off+n == c.rcvNxt && !c.finRcvd {
		c.finRcvd = true
		immediate = true
		switch c.state {
		case stEstablished:
			c.state = stCloseWait
		case stFinWait1:
			c.state = stClosing
		case stFinWait2:
			c.state = stTimeWait
		}
	}
	if n > 0 {
		c.unacked++
	}
	s.deliverMessages(ci)
	c = &s.conns[ci]
	switch {
	case c.ackSent && c.lastAck == c.ackValue():
		// a segment the application just sent already acknowledged everything
	case immediate || c.unacked >= 2:
		s.sendAck(ci)
	case n > 0:
		s.armDelAck(ci)
	}
	c = &s.conns[ci]
	if fin && c.finRcvd {
		if c.state == stTimeWait {
			s.closeConn(ci, false)
			return
		}
		if c.state == stCloseWait {
			c.app.peerFin(s, ci)
		}
	}
}

func (s *sim) addOOO(c *tcpConn, lo, hi uint32) {
	c.ooo = append(c.ooo, seqRange{lo, hi})
	// most recent first, as SACK wants; merge overlaps
	r := c.ooo[len(c.ooo)-1]
	copy(c.ooo[1:], c.ooo[:len(c.ooo)-1])
	c.ooo[0] = r
	for j := 1; j < len(c.ooo); {
		o := c.ooo[j]
		if !seqAfter(o.lo, c.ooo[0].hi) && !seqAfter(c.ooo[0].lo, o.hi) {
			c.ooo[0].lo = min(c.ooo[0].lo, o.lo)
			c.ooo[0].hi = max(c.ooo[0].hi, o.hi)
			c.ooo = append(c.ooo[:j], c.ooo[j+1:]...)
			continue
		}
		j++
	}
}

// mergeOOO advances rcvNxt over buffered ranges it now reaches.
func (s *sim) mergeOOO(c *tcpConn) {
	for changed := true; changed; {
		changed = false
		for j := 0; j < len(c.ooo); j++ {
			o := c.ooo[j]
			if !seqAfter(o.lo, c.rcvNxt) {
				if seqAfter(o.hi, c.rcvNxt) {
					c.rcvNxt = o.hi
				}
				c.ooo = append(c.ooo[:j], c.ooo[j+1:]...)
				changed = true
				break
			}
		}
	}
}

// deliverMessages hands the app every peer message now complete.
func (s *sim) deliverMessages(ci int32) {
	for {
		c := &s.conns[ci]
		if c.peer < 0 {
			return
		}
		peer := &s.conns[c.peer]
		if c.peerMsg >= len(peer.msgs) {
			return
		}
		m := &peer.msgs[c.peerMsg]
		if seqAfter(m.off+m.n, c.rcvNxt) {
			return
		}
		k := c.peerMsg
		c.peerMsg++
		c.app.message(s, ci, k)
	}
}
