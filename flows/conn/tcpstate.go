package conn

import "github.com/stackflow/stackflow/decode"

// TCP tracking follows Zeek's TCP analyzer semantics (endpoint states, history letters,
// retransmission and zero-window rules) without reassembly: per direction it keeps the initial
// sequence number and one past the highest sequence number seen.

// tooLargeSeqDelta is the jump beyond which a SYN's or RST's sequence number is not trusted to
// move the sequence space (Zeek's TOO_LARGE_SEQ_DELTA).
const tooLargeSeqDelta = 1 << 20

// tcpDir is one direction's sequence-space and history bookkeeping, kept only while the flow
// is active.
type tcpDir struct {
	start, last               uint32 // initial sequence number; one past the highest seen
	lastSYN, lastFIN, lastRST uint32 // relative sequence numbers, for repeating history letters
	prev                      EndpointState
}

// tcpTrack is the per-flow handshake bookkeeping that the finished Record does not need; the
// sequence tracking per direction is flow.dir (0: originator, 1: responder).
type tcpTrack struct {
	synTime, synAckTime int64
	synSeq, synAckSeq   uint32
	sawSYN, sawSYNACK   bool
}

func setState(e *Endpoint, d *tcpDir, s EndpointState) {
	d.prev = e.State
	e.State = s
}

// tcpPacket applies one TCP segment sent by the originator (orig) or the responder to f and
// reports whether an endpoint state changed.
func (f *flow) tcpPacket(orig bool, p *decode.Packet, now int64) (changed bool) {
	ep, peer := &f.rec.Orig, &f.rec.Resp
	d, pd := &f.dir[0], &f.dir[1]
	if !orig {
		ep, peer = peer, ep
		d, pd = pd, d
	}
	fl := p.TCPFlags
	syn, ack, fin, rst := fl&decode.TCPSyn != 0, fl&decode.TCPAck != 0, fl&decode.TCPFin != 0, fl&decode.TCPRst != 0
	seq := p.TCPSeq
	plen := uint32(p.PayloadLen)
	segLen := plen
	if syn {
		segLen++
	}
	if fin {
		segLen++
	}
	if rst {
		segLen -= plen // data on a RST is not part of the stream
	}
	segEnd := seq + segLen

	// Sequence space (Zeek's init_endpoint): a SYN (re)starts it; a first non-SYN segment
	// starts it as though a SYN had been seen just before.
	switch ep.State {
	case Inactive:
		if syn {
			d.start, d.last = seq, segEnd
		} else {
			d.start, d.last = seq-1, seq
		}
	case SynSent, SynAckSent:
		if syn && seq != d.start {
			d.start, d.last = seq, segEnd
		}
	case Established, Partial:
		if syn {
			d.start, d.last = seq, segEnd
		}
	case Reset:
		if syn && d.prev == Inactive {
			d.start, d.last = seq, segEnd
		}
	}
	rel := seq - d.start

	f.tcpHistory(orig, d, syn, ack, fin, rst, rel, plen)

	if p.TCPWindow == 0 && !rst && peer.State != Closed && ep.State != Reset {
		ep.ZeroWindows++
		f.rec.hist.scaled(orig, 'W', ep.ZeroWindows)
	}
	if rst {
		ep.Resets++
	}
	f.handshakeRTT(orig, syn, ack, fin, rst, seq, p.TCPAck, now)

	// Sequence progress (Zeek's update_last_seq): payload that does not advance the highest
	// sequence number seen is a retransmission.
	delta := int32(segEnd - d.last)
	rexmit := false
	switch {
	case (syn || rst) && (delta > tooLargeSeqDelta || delta < -tooLargeSeqDelta):
	case fin && d.last == d.start+1:
		d.last = segEnd
	case ep.State == Reset:
	case delta > 0:
		d.last = segEnd
	case plen > 0:
		rexmit = true
		ep.Retransmits++
		f.rec.hist.scaled(orig, 'T', ep.Retransmits)
	}
	if plen > 0 && !rst && !rexmit {
		ep.Payload += uint64(plen)
	}

	oldE, oldP := ep.State, peer.State
	tcpTransition(ep, peer, d, pd, orig, syn, ack, fin, rst, plen)
	return ep.State != oldE || peer.State != oldP
}

// tcpHistory records the segment's history letters (Zeek's update_history).
func (f *flow) tcpHistory(orig bool, d *tcpDir, syn, ack, fin, rst bool, rel, plen uint32) {
	h := &f.rec.hist
	n := 0
	for _, b := range [3]bool{syn, fin, rst} {
		if b {
			n++
		}
	}
	switch {
	case n > 1:
		if fin && rst {
			h.check(&f.seen, hbFINRST, orig, 'I')
		} else {
			h.check(&f.seen, hbMulti, orig, 'Q')
		}
	case syn:
		c := byte('S')
		if ack {
			c = 'H'
		}
		if h.check(&f.seen, hbSYN, orig, c) && rel != d.lastSYN {
			h.letter(orig, c)
		}
		d.lastSYN = rel
	case fin:
		// A FIN's sequence number is the one after its data.
		if h.check(&f.seen, hbFIN, orig, 'F') && rel+plen != d.lastFIN {
			h.letter(orig, 'F')
		}
		d.lastFIN = rel + plen
	case rst:
		if h.check(&f.seen, hbRST, orig, 'R') && rel != d.lastRST {
			h.letter(orig, 'R')
		}
		d.lastRST = rel
	case plen > 0:
		h.check(&f.seen, hbData, orig, 'D')
	case ack:
		h.check(&f.seen, hbACK, orig, 'A')
	}
}

// handshakeRTT times SYN -> SYN-ACK -> ACK. A repeated SYN (or SYN-ACK) restarts its leg, so a
// retransmitted SYN does not add its retry delay to the RTT.
func (f *flow) handshakeRTT(orig, syn, ack, fin, rst bool, seq, ackNum uint32, now int64) {
	tr := &f.tcp
	if fin || rst || f.rec.HasRTT {
		return
	}
	switch {
	case syn && !ack && orig:
		tr.synTime, tr.synSeq, tr.sawSYN, tr.sawSYNACK = now, seq, true, false
	case syn && ack && !orig && tr.sawSYN && ackNum == tr.synSeq+1:
		tr.synAckTime, tr.synAckSeq, tr.sawSYNACK = now, seq, true
	case !syn && ack && orig && tr.sawSYNACK && ackNum == tr.synAckSeq+1:
		f.rec.RTT = now - tr.synTime
		f.rec.RTTResp = tr.synAckTime - tr.synTime
		f.rec.HasRTT = true
	}
}

// tcpTransition moves the endpoint states (Zeek's UpdateStateMachine) for a segment sent by ep.
func tcpTransition(ep, peer *Endpoint, d, pd *tcpDir, orig, syn, ack, fin, rst bool, plen uint32) {
	switch ep.State {
	case Inactive:
		if syn {
			switch {
			case orig && ack:
				setState(ep, d, SynAckSent)
			case orig:
				setState(ep, d, SynSent)
			default:
				// The responder's SYN-ACK (or simultaneous-open SYN) establishes both sides.
				if peer.State == SynSent {
					setState(peer, pd, Established)
				}
				setState(ep, d, Established)
			}
		}
		if fin {
			setState(ep, d, Closed)
		}
		if rst {
			setState(ep, d, Reset)
		}
		if ep.State == Inactive {
			switch {
			case !orig && plen == 0 && peer.State == SynSent:
				// Some stacks ACK a SYN before answering it: not a partial connection yet.
			case ack && peer.State == Established:
				// The SYN was missed but the SYN-ACK was not: treat as established.
				setState(ep, d, Established)
			default:
				setState(ep, d, Partial)
			}
		}
	case SynSent, SynAckSent:
		if fin {
			setState(ep, d, Closed)
		}
		if rst {
			setState(ep, d, Reset)
		}
	case Established, Partial:
		if syn && ep.State == Partial && peer.State == Inactive && !ack {
			setState(ep, d, SynSent)
		}
		if fin && !rst {
			setState(ep, d, Closed)
			if peer.State == Reset && pd.prev == Closed {
				// The peer's FIN then RST was a normal close after all.
				setState(peer, pd, Closed)
			}
		}
		if rst {
			setState(ep, d, Reset)
		}
	case Closed:
		if rst && peer.State != Closed {
			setState(ep, d, Reset)
		}
	}
}

// tcpReuse reports whether a pure SYN starts a new connection on f's 5-tuple: one side has
// already closed or reset and the SYN's sequence number is not the one that opened this flow.
func (f *flow) tcpReuse(orig bool, p *decode.Packet) bool {
	if p.TCPFlags&(decode.TCPSyn|decode.TCPAck|decode.TCPFin|decode.TCPRst) != decode.TCPSyn {
		return false
	}
	o, r := f.rec.Orig.State, f.rec.Resp.State
	if o != Closed && o != Reset && r != Closed && r != Reset {
		return false
	}
	d := &f.dir[0]
	if !orig {
		d = &f.dir[1]
	}
	return p.TCPSeq != d.start
}

// likelyServerPort guesses whether port is a server's, for choosing the originator of a flow
// whose start was not seen (Zeek's likely_server_ports, approximated: the well-known range plus
// common registered service ports).
func likelyServerPort(port uint16) bool {
	if port == 0 {
		return false
	}
	if port < 1024 {
		return true
	}
	switch port {
	case 1433, 1521, 1812, 1813, 2049, 2379, 2380, 3260, 3268, 3306, 3389, 4500, 4789, 5060, 5061,
		5353, 5432, 5671, 5672, 5985, 5986, 6081, 6379, 6443, 8080, 8443, 8472, 9092, 9200, 11211, 27017:
		return true
	}
	return false
}

// chooseFlip decides, from a new flow's first packet, whether its receiver rather than its
// sender is the originator: a TCP SYN-ACK; a TCP segment or UDP datagram from a likely server
// port (for TCP without a SYN, both likely: the lower port is the server); an ICMP reply.
func chooseFlip(p *decode.Packet, proto uint8) bool {
	sport, dport := p.Inner.SrcPort, p.Inner.DstPort
	switch proto {
	case ProtoTCP:
		syn, ack := p.TCPFlags&decode.TCPSyn != 0, p.TCPFlags&decode.TCPAck != 0
		if syn {
			return ack
		}
		if !likelyServerPort(sport) {
			return false
		}
		return !likelyServerPort(dport) || sport < dport
	case ProtoUDP:
		return likelyServerPort(sport) && !likelyServerPort(dport)
	case ProtoICMP:
		switch p.ICMPType {
		case 0, 14, 16, 18: // echo, timestamp, information, address-mask replies
			return true
		}
	case ProtoICMPv6:
		return p.ICMPType == 129 // echo reply
	}
	return false
}
