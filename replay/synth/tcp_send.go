package synth

import "time"

// queue appends an application message to the connection's send stream.
func (s *sim) queue(ci int32, m message) {
	c := &s.conns[ci]
	if c.finQ {
		return
	}
	m.off = c.total
	c.msgs = append(c.msgs, m)
	c.total += m.n
}

// closeSend queues a FIN after the data (or sends RST when abort).
func (s *sim) closeSend(ci int32, abort bool) {
	c := &s.conns[ci]
	if c.state == stClosed {
		return
	}
	if abort {
		s.sendReset(ci)
		s.closeConn(ci, true)
		return
	}
	c.finQ = true
	s.output(ci)
}

// output sends what the windows allow.
func (s *sim) output(ci int32) {
	for {
		c := &s.conns[ci]
		switch c.state {
		case stEstablished, stCloseWait, stFinWait1, stClosing, stLastAck:
		default:
			return
		}
		if c.sndNxt < c.total {
			inflight := c.sndNxt - c.sndUna
			wnd := min(c.cwnd, max(c.sndWnd, uint32(c.mss)))
			if inflight >= wnd {
				return
			}
			n := min(c.total-c.sndNxt, uint32(c.mss), wnd-inflight)
			off := c.sndNxt
			s.sendData(ci, off, n, false)
			c = &s.conns[ci]
			c.sndNxt = off + n
			if c.finQ && c.sndNxt == c.total {
				c.sndNxt++
			}
			if seqAfter(c.sndNxt, c.sndMax) {
				c.sndMax = c.sndNxt
			}
			continue
		}
		if c.finQ && !c.finSent {
			s.sendData(ci, c.total, 0, false)
			c = &s.conns[ci]
			c.sndNxt = c.total + 1
			c.sndMax = c.sndNxt
		}
		return
	}
}

// sendData sends stream bytes [off, off+n), with FIN when they end the stream and the app
// closed; retransmissions leave sndNxt alone.
func (s *sim) sendData(ci int32, off, n uint32, retrans bool) {
	c := &s.conns[ci]
	flags := uint8(flACK)
	fin := c.finQ && off+n == c.total
	if fin {
		flags |= flFIN
	}
	if n > 0 {
		for k := range c.msgs {
			if e := c.msgs[k].off + c.msgs[k].n; e > off && e <= off+n {
				flags |= flPSH
			}
		}
		if off+n == c.total {
			flags |= flPSH
		}
	}
	if !retrans && !c.timing {
		c.timing, c.timedOff, c.timedAt = true, off, s.now
	}
	if fin && !c.finSent {
		c.finSent = true
		switch c.state {
		case stEstablished:
			c.state = stFinWait1
		case stCloseWait:
			c.state = stLastAck
		}
	}
	c.unacked = 0
	c.delAt = 0
	s.send(s.segment(ci, c.iss+1+off, flags, off, int(n)))
	if s.conns[ci].rtoAt == 0 {
		s.armRTO(ci)
	}
}

// retransmit resends one segment from stream offset off.
func (s *sim) retransmit(ci int32, off uint32) {
	c := &s.conns[ci]
	if off >= c.total {
		if c.finSent {
			s.sendData(ci, c.total, 0, true)
		}
		return
	}
	n := min(c.total-off, uint32(c.mss))
	s.sendData(ci, off, n, true)
}

func (s *sim) rttSample(c *tcpConn, r int64) {
	if r <= 0 {
		r = 1
	}
	if c.srtt == 0 {
		c.srtt, c.rttvar = r, r/2
	} else {
		d := c.srtt - r
		if d < 0 {
			d = -d
		}
		c.rttvar = (3*c.rttvar + d) / 4
		c.srtt = (7*c.srtt + r) / 8
	}
	c.rto = min(max(c.srtt+max(4*c.rttvar, int64(time.Millisecond)), minRTO), maxRTO)
}

func (s *sim) armRTO(ci int32) {
	c := &s.conns[ci]
	c.rtoAt = s.now + c.rto
	if !c.rtoPending {
		c.rtoPending = true
		s.push(event{t: c.rtoAt, kind: evTCPTimer, a: ci})
	}
}

func (s *sim) armDelAck(ci int32) {
	c := &s.conns[ci]
	if c.delAt != 0 {
		return
	}
	c.delAt = s.now + delAckTime
	if !c.delPending {
		c.delPending = true
		s.push(event{t: c.delAt, kind: evDelAck, a: ci})
	}
}

func (s *sim) delAck(ci int32, _ uint32) {
	c := &s.conns[ci]
	c.delPending = false
	if c.delAt == 0 || c.state == stClosed {
		return
	}
	if s.now < c.delAt {
		c.delPending = true
		s.push(event{t: c.delAt, kind: evDelAck, a: ci})
		return
	}
	s.sendAck(ci)
}

// tcpTimer fires the retransmission timer.
func (s *sim) tcpTimer(ci int32, _ uint32) {
	c := &s.conns[ci]
	c.rtoPending = false
	if c.rtoAt == 0 || c.state == stClosed || c.state == stTimeWait {
		return
	}
	if s.now < c.rtoAt {
		c.rtoPending = true
		s.push(event{t: c.rtoAt, kind: evTCPTimer, a: ci})
		return
	}
	c.retries++
	if c.retries > maxRetries {
		s.closeConn(ci, true)
		return
	}
	c.rto = min(c.rto*2, maxRTO)
	c.timing = false
	switch c.state {
	case stSynSent:
		s.sendSyn(ci)
	case stSynRcvd:
		s.sendSynAck(ci)
	default:
		inflight := c.sndMax - c.sndUna
		c.ssthresh = max(inflight/2, 2*uint32(c.mss))
		c.cwnd = uint32(c.mss)
		c.sndNxt = c.sndUna
		s.retransmit(ci, c.sndUna)
		c = &s.conns[ci]
		if c.sndNxt < c.total {
			n := min(c.total-c.sndNxt, uint32(c.mss))
			c.sndNxt += n
		} else if c.finSent {
			c.sndNxt = c.total + 1
		}
	}
	s.armRTO(ci)
}

// closeConn ends the connection and tells the app once.
func (s *sim) closeConn(ci int32, reset bool) {
	c := &s.conns[ci]
	if c.app == nil {
		return
	}
	if c.state != stTimeWait || reset {
		c.state = stClosed
	}
	c.rtoAt, c.delAt = 0, 0
	app := c.app
	c.app = nil
	if app != nil {
		app.closed(s, ci, reset)
	}
}

// pmtu lowers the connection's segment size after ICMP fragmentation-needed and resends.
func (s *sim) pmtu(ci int32, mtu int) {
	c := &s.conns[ci]
	mss := mtu - 40
	if c.ts {
		mss -= tsOptLen
	}
	if mss < 64 || mss >= c.mss {
		return
	}
	c.mss = mss
	c.timing = false
	c.sndNxt = c.sndUna
	s.output(ci)
}
