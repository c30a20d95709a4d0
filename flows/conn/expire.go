package conn

import "time"

// Expiry runs on capture time (packet timestamps), never the wall clock, so a file gives the
// same flows however fast it is read.
//
// Every active flow belongs to one timeout class (by protocol and TCP state) and has one entry
// in that class's FIFO queue, stamped with the flow's last-packet time when it was queued. A
// packet for an existing flow touches no queue: it only updates the flow's Last. Every
// SweepInterval of capture time the table pops queue heads whose stamp is older than the class
// timeout: a flow that really is idle that long is finished; one that saw packets since is
// queued again with its current Last (a second-chance queue). A class change (a TCP flow
// closing, say) queues a fresh entry and makes the old one stale, so a closed connection
// leaves after TCPClosed rather than after the established timeout. A lookup also checks the
// flow's own timeout, so a packet arriving after the timeout starts a new flow however the
// sweep is timed: results do not depend on SweepInterval, only memory does.

// Timeouts are the idle timeouts per flow class, in capture time. Zero fields take the
// defaults in DefaultTimeouts.
type Timeouts struct {
	TCPOpening     time.Duration // handshake not complete (SYN only, SYN + SYN-ACK without ACK counts as established)
	TCPEstablished time.Duration // established, half-closed or mid-stream
	TCPClosed      time.Duration // both sides closed, or a side reset, or a lone FIN
	UDP            time.Duration
	ICMP           time.Duration // ICMP and ICMPv6
	Other          time.Duration // any other IP protocol (GRE, ESP, ...)
	Fragment       time.Duration // how long a first fragment's flow waits for its later fragments
}

// DefaultTimeouts are Zeek-like: tcp_close_delay-style 5 s for closed TCP, an hour for
// established TCP (Zeek's tcp_inactivity_timeout is 5 min; captures of long-lived idle sessions
// such as BGP keep one flow this way), 60 s UDP, 30 s ICMP, and 30 s for fragment reassembly
// (Linux's ipfrag_time).
var DefaultTimeouts = Timeouts{
	TCPOpening:     30 * time.Second,
	TCPEstablished: time.Hour,
	TCPClosed:      5 * time.Second,
	UDP:            60 * time.Second,
	ICMP:           30 * time.Second,
	Other:          60 * time.Second,
	Fragment:       30 * time.Second,
}

func (t Timeouts) withDefaults() Timeouts {
	d := DefaultTimeouts
	for _, f := range []struct {
		v   *time.Duration
		def time.Duration
	}{
		{&t.TCPOpening, d.TCPOpening}, {&t.TCPEstablished, d.TCPEstablished}, {&t.TCPClosed, d.TCPClosed},
		{&t.UDP, d.UDP}, {&t.ICMP, d.ICMP}, {&t.Other, d.Other}, {&t.Fragment, d.Fragment},
	} {
		if *f.v <= 0 {
			*f.v = f.def
		}
	}
	return t
}

// Timeout classes.
const (
	classTCPOpening uint8 = iota
	classTCPEstablished
	classTCPClosed
	classUDP
	classICMP
	classOther
	numClasses
	classNone = numClasses // a flow not yet queued
)

// classOf returns the timeout class a flow is in now.
func (f *flow) classOf() uint8 {
	switch f.rec.Key.proto {
	case ProtoTCP:
		o, r := f.rec.Orig.State, f.rec.Resp.State
		if o == Reset || r == Reset || (o == Closed && (r == Closed || r == Inactive)) || (r == Closed && o == Inactive) {
			return classTCPClosed
		}
		if o <= SynAckSent && r <= SynAckSent {
			return classTCPOpening
		}
		return classTCPEstablished
	case ProtoUDP:
		return classUDP
	case ProtoICMP, ProtoICMPv6:
		return classICMP
	}
	return classOther
}

// qent is one queue entry; it is stale when the slot's flow id or queue epoch differs.
type qent struct {
	last  int64
	idx   int32
	id    uint32
	epoch uint32
}

// queue is a FIFO of entries backed by one slice that is compacted as its head advances.
type queue struct {
	buf  []qent
	head int
}

func (q *queue) len() int { return len(q.buf) - q.head }

func (q *queue) front() *qent { return &q.buf[q.head] }

func (q *queue) push(e qent) {
	if q.head > 0 && q.head >= len(q.buf)/2 && len(q.buf) == cap(q.buf) {
		n := copy(q.buf, q.buf[q.head:])
		q.buf = q.buf[:n]
		q.head = 0
	}
	q.buf = append(q.buf, e)
}

func (q *queue) pop() qent {
	e := q.buf[q.head]
	q.head++
	if q.head == len(q.buf) {
		q.buf = q.buf[:0]
		q.head = 0
	}
	return e
}

// setClass moves flow idx to class c, queueing a fresh entry stamped with its Last.
func (t *Table) setClass(idx int32, c uint8) {
	f := t.flows.at(idx)
	f.class = c
	f.epoch++
	t.queues[c].push(qent{last: f.rec.Last, idx: idx, id: f.rec.ID, epoch: f.epoch})
}

// live returns the flow an entry refers to, or nil when the entry is stale.
func (t *Table) live(e *qent) *flow {
	f := t.flows.at(e.idx)
	if f.rec.ID != e.id || f.epoch != e.epoch {
		return nil
	}
	return f
}

// sweep finishes every flow idle longer than its class timeout at capture time now.
func (t *Table) sweep(now int64) {
	for c := range numClasses {
		q := &t.queues[c]
		to := t.timeout[c]
		for q.len() > 0 && now-q.front().last > to {
			e := q.pop()
			f := t.live(&e)
			if f == nil {
				continue
			}
			if now-f.rec.Last > to {
				t.finish(e.idx, IdleTimeout)
				continue
			}
			e.last = f.rec.Last
			q.push(e)
		}
	}
	t.frags.expire(now)
}

// evictOldest finishes the active flow idle the longest (approximately: the queue heads hold
// the oldest stamps, and a stamp is refreshed before its flow is chosen). It reports false
// when no flow could be evicted.
func (t *Table) evictOldest() bool {
	for {
		best := -1
		for c := range numClasses {
			q := &t.queues[c]
			if q.len() == 0 {
				continue
			}
			if best < 0 || q.front().last < t.queues[best].front().last {
				best = int(c)
			}
		}
		if best < 0 {
			return false
		}
		q := &t.queues[best]
		e := q.pop()
		f := t.live(&e)
		if f == nil {
			continue
		}
		if f.rec.Last > e.last {
			e.last = f.rec.Last
			q.push(e)
			continue
		}
		t.finish(e.idx, Evicted)
		return true
	}
}
