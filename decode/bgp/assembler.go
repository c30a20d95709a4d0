// Package bgp owns BGP over TCP: it reassembles TCP/179 streams per capture point (gopacket
// reassembly, also without the SYN), frames them into BGP messages (resynchronising on the
// 16-byte marker after gaps and damage), parses each message with gobgp given the session's
// context (4-octet AS and ADD-PATH from both OPENs, or the AS width detected from the data),
// and keeps the sessions: peers, OPEN parameters, state, counts and the points that saw
// them. A message counts once, at the time of the segment holding its last byte, however many
// retransmissions and capture points carried it.
//
// Rules worth knowing when reading the output:
//   - Streams are keyed by (capture point, TCP 4-tuple). The same session at several points
//     is one Session when the 4-tuples are equal and the sequence numbers of a direction seen
//     at both points lie within 16 MiB of each other (or, with no direction in common, when
//     the two were active within two minutes); its messages are matched by sender and TCP
//     sequence number and counted once, listing every point in Message.Points.
//   - A stream picked up without its SYN starts at the first segment seen; bytes before the
//     first plausible header are skipped ("bgp_midstream"). Segments older than that first
//     one are dropped as already seen.
//   - Out-of-order data waits Options.GapWait (capture time) for the missing bytes; then the
//     gap is reported ("bgp_gap") and framing resumes at the next plausible header: the
//     marker, a type 1..5 and a length that type can have (19..4096, 65535 with extended
//     messages).
//   - Feed returns how many messages the fed segment completed; messages completed outside
//     Feed (after a gap wait, or at Flush) are counted in Stats.LateEndPackets instead.
//
// Canonical text forms: prefixes as netip prints them, communities "65000:1", large
// communities "1:2:3", extended communities per ExtendedCommunity, route distinguishers per
// RouteDistinguisher, AS paths per ASPath.String and ASPath.JSON.
package bgp

import (
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/reassembly"

	"github.com/stackflow/stackflow/decode"
)

// Problem kinds.
const (
	ProblemGap       = "bgp_gap"        // bytes missing from a stream
	ProblemBadMarker = "bgp_bad_marker" // no marker where a message should start
	ProblemBadLength = "bgp_bad_length" // header length outside 19..limit
	ProblemResync    = "bgp_resync"     // bytes skipped to find the next header
	ProblemMidstream = "bgp_midstream"  // stream picked up mid-message (no SYN seen)
	ProblemMalformed = "bgp_malformed"  // a complete message that breaks the rules
	ProblemTruncated = "bgp_truncated"  // the stream ended inside a message
)

const (
	defaultGapWait     = time.Second
	maxKeptProblems    = 10000
	maxPagesPerConn    = 256 // out-of-order pages per connection before gopacket skips ahead
	sameSessionSeqSpan = 1 << 24
	sameSessionIdle    = 120 * time.Second
)

// Problem is damage found in a BGP stream.
type Problem struct {
	Kind         string
	Point        int
	Input        int
	Packet       uint64 // packet number within its input (0 when no packet applies)
	Offset       int64  // byte offset of that packet's record in its input
	StreamOffset int64  // position in the direction's byte stream
	Session      int    // session index, -1 when none was known yet
	Message      string // lowercase, quoting the offending values
}

// Error formats the problem with its kind and position.
func (p Problem) Error() string {
	return fmt.Sprintf("%s: point %d packet %d stream byte %d: %s", p.Kind, p.Point, p.Packet, p.StreamOffset, p.Message)
}

// Options configures an Assembler.
type Options struct {
	// OnProblem, when set, is called for every problem as it is found.
	OnProblem func(Problem)
	// GapWait is how long (in capture time) out-of-order data waits for a missing segment
	// before the gap is declared; 0 means one second.
	GapWait time.Duration
	// OnMessage, when set, sees every message once, as soon as it is complete (duplicates from
	// other capture points are not passed again). The Message is valid during the call only.
	OnMessage func(*Message)
	// DropKeepalives keeps KEEPALIVEs out of Messages (they are still counted, passed to
	// OnMessage and drive session state), so memory does not grow with a long session's
	// keepalives. Their Index is then -1.
	DropKeepalives bool
}

// seenRetention is how long (capture time) a message's identity is remembered for counting
// its copies at other capture points once. Copies arrive milliseconds apart; ten minutes keeps
// the memory of a long session bounded by its rate, not its length.
const seenRetention = int64(10 * time.Minute)

// Stats are counters about the work done.
type Stats struct {
	Segments       int // segments fed
	Messages       int // complete messages framed, duplicates included
	Duplicates     int // messages already counted at another capture point
	LateEndPackets int // packets whose messages completed outside Feed (gap wait, Flush)
	Gaps           int
}

// Assembler reassembles and decodes every BGP stream it is fed. It is not safe for
// concurrent use.
type Assembler struct {
	opts      Options
	points    map[int]*pointAsm
	pointList []*pointAsm
	sessions  []*session
	byTuple   map[tupleKey][]*session
	messages  []Message
	problems  []Problem
	counts    Counts
	stats     Stats
	cur       *PacketRef // the packet being fed, nil outside Feed
	lastLate  *PacketRef
}

// NewAssembler returns an empty Assembler.
func NewAssembler(opts Options) *Assembler {
	if opts.GapWait <= 0 {
		opts.GapWait = defaultGapWait
	}
	return &Assembler{opts: opts, points: make(map[int]*pointAsm), byTuple: make(map[tupleKey][]*session)}
}

// pointAsm is the gopacket assembler of one capture point: its pool keys connections by
// 4-tuple only, so each point needs its own.
type pointAsm struct {
	a       *Assembler
	point   int
	asm     *reassembly.Assembler
	conns   []*tcpConn
	pending int // halves holding out-of-order data

	// The segment being fed: its endpoints (for StreamFactory.New) and how many messages
	// ended in it.
	curSrc, curDst netip.AddrPort
	curEnded       int
}

func (a *Assembler) pointAsm(point int) *pointAsm {
	if pa := a.points[point]; pa != nil {
		return pa
	}
	pa := &pointAsm{a: a, point: point}
	pa.asm = reassembly.NewAssembler(reassembly.NewStreamPool(pa))
	pa.asm.MaxBufferedPagesPerConnection = maxPagesPerConn
	a.points[point] = pa
	a.pointList = append(a.pointList, pa)
	return pa
}

// segCtx carries a packet's identity through gopacket's reassembly, so every byte can be
// traced to the packet that carried it.
type segCtx struct{ ci gopacket.CaptureInfo }

// GetCaptureInfo implements reassembly.AssemblerContext.
func (s *segCtx) GetCaptureInfo() gopacket.CaptureInfo { return s.ci }

// Feed reassembles one TCP segment of a BGP connection seen at capture point point. pkt
// gives the time, position and innermost addresses; tcp is its decoded TCP layer with the
// payload. It returns how many BGP messages this segment completed, copies already counted
// at other points included, as a per-packet protocol count wants: in order, the messages
// whose last byte it holds; a segment that fills a hole also completes the messages queued
// behind it (their Time stays that of their own last byte).
func (a *Assembler) Feed(point int, pkt *decode.Packet, tcp *layers.TCP) (ended int) {
	if pkt == nil || tcp == nil || !pkt.Inner.Src.IsValid() || !pkt.Inner.Dst.IsValid() {
		return 0
	}
	a.stats.Segments++
	pa := a.pointAsm(point)
	for _, q := range a.pointList {
		a.flushGaps(q, pkt.Time)
	}

	src, dst := pkt.Inner.Src.Unmap(), pkt.Inner.Dst.Unmap()
	if src.Is4() != dst.Is4() {
		return 0
	}
	var flow gopacket.Flow
	if src.Is4() {
		s, d := src.As4(), dst.As4()
		flow = gopacket.NewFlow(layers.EndpointIPv4, s[:], d[:])
	} else {
		s, d := src.As16(), dst.As16()
		flow = gopacket.NewFlow(layers.EndpointIPv6, s[:], d[:])
	}
	ref := &PacketRef{Point: point, Input: pkt.Input, Number: pkt.Number, Offset: pkt.Offset, Time: pkt.Time}
	ctx := &segCtx{ci: gopacket.CaptureInfo{Timestamp: time.Unix(0, pkt.Time), CaptureLength: int(pkt.CapLen),
		Length: int(pkt.Len), AncillaryData: []any{ref}}}
	a.cur, pa.curSrc, pa.curDst, pa.curEnded = ref, netip.AddrPortFrom(src, uint16(tcp.SrcPort)), netip.AddrPortFrom(dst, uint16(tcp.DstPort)), 0
	pa.asm.AssembleWithContext(flow, tcp, ctx)
	ended = pa.curEnded
	a.cur = nil
	return ended
}

// flushGaps declares gaps for out-of-order data at one point that has waited GapWait
// without the missing bytes arriving. Feed runs it for every point, so a point that went
// quiet still has its gaps declared as capture time moves on elsewhere.
func (a *Assembler) flushGaps(pa *pointAsm, now int64) {
	if pa.pending == 0 {
		return
	}
	wait := int64(a.opts.GapWait)
	oldest := int64(0)
	for _, c := range pa.conns {
		for i := range c.half {
			if q := c.half[i].queuedSince; q != 0 && (oldest == 0 || q < oldest) {
				oldest = q
			}
		}
	}
	if oldest == 0 || now-oldest < wait {
		return
	}
	pa.asm.FlushWithOptions(reassembly.FlushOptions{T: time.Unix(0, now-wait)})
	// What is still queued is younger than the cut-off; look at it again a wait later.
	for _, c := range pa.conns {
		for i := range c.half {
			if q := c.half[i].queuedSince; q != 0 && q < now-wait {
				c.half[i].queuedSince = now - wait + 1
			}
		}
	}
}

// Flush ends the input: out-of-order data still waiting is delivered with its gaps,
// streams still inside a message report it, and every stream is closed.
func (a *Assembler) Flush() {
	pts := slices.Clone(a.pointList)
	slices.SortFunc(pts, func(x, y *pointAsm) int { return x.point - y.point })
	for _, pa := range pts {
		pa.asm.FlushAll()
		for _, c := range pa.conns {
			for i := range c.half {
				c.finishHalf(i)
			}
		}
	}
}

// Messages returns every message in order of completion. The slice is the Assembler's own:
// read it, don't modify it.
func (a *Assembler) Messages() []Message { return a.messages }

// Counts returns the message counts over all sessions, each message once.
func (a *Assembler) Counts() Counts { return a.counts }

// Sessions returns every session in order of first message.
func (a *Assembler) Sessions() []Session {
	out := make([]Session, len(a.sessions))
	for i, s := range a.sessions {
		out[i] = s.export()
	}
	return out
}

// Problems returns the problems found so far (the first 10000; OnProblem sees all).
func (a *Assembler) Problems() []Problem { return a.problems }

// Stats returns the counters.
func (a *Assembler) Stats() Stats { return a.stats }

func (a *Assembler) problem(p Problem) {
	if len(a.problems) < maxKeptProblems {
		a.problems = append(a.problems, p)
	}
	if a.opts.OnProblem != nil {
		a.opts.OnProblem(p)
	}
}

// session finds the session c belongs to, creating it on first use (see the package doc
// for the rule joining the same connection seen at several points).
func (a *Assembler) session(c *tcpConn) *session {
	if c.sess != nil {
		return c.sess
	}
	cands := a.byTuple[c.key]
	for i := len(cands) - 1; i >= 0 && c.sess == nil; i-- {
		if sameSession(cands[i], c) {
			c.sess = cands[i]
		}
	}
	if c.sess == nil {
		c.sess = newSession(len(a.sessions), c.key)
		a.sessions = append(a.sessions, c.sess)
		a.byTuple[c.key] = append(a.byTuple[c.key], c.sess)
	}
	c.sess.conns = append(c.sess.conns, c)
	c.sess.addPoint(c.pa.point)
	return c.sess
}

func sameSession(s *session, c *tcpConn) bool {
	shared := false
	for _, o := range s.conns {
		if o.pa == c.pa {
			return false // another connection on the same 4-tuple at this point
		}
		for d := range c.half {
			ch, oh := &c.half[d], &o.half[d]
			if !ch.started || !oh.started {
				continue
			}
			shared = true
			// Within [first seq - span, last seq + span] of the other point, mod 2^32.
			lo, hi := oh.startSeq-sameSessionSeqSpan, oh.next+sameSessionSeqSpan
			if int32(ch.startSeq-lo) >= 0 && int32(hi-ch.startSeq) >= 0 {
				return true
			}
		}
	}
	if shared {
		return false
	}
	for _, o := range s.conns {
		if d := c.first - o.last; d < int64(sameSessionIdle) && d > -int64(sameSessionIdle) {
			return true
		}
	}
	return false
}

// message records one framed message sent by canonical endpoint from of c.
func (a *Assembler) message(c *tcpConn, from int, raw []byte, pos int64, first, last *PacketRef) {
	a.stats.Messages++
	if a.cur != nil {
		c.pa.curEnded++
	} else if last != a.lastLate {
		a.stats.LateEndPackets++
		a.lastLate = last
	}
	s := a.session(c)
	key := msgKey{from: uint8(from), seq: c.seqAt(from, pos)}
	if idx, dup := s.seen[key]; dup {
		a.stats.Duplicates++
		if idx >= 0 {
			m := &a.messages[idx]
			if !slices.Contains(m.Points, c.pa.point) {
				m.Points = append(m.Points, c.pa.point)
			}
		}
		return
	}
	s.forgetBefore(last.Time - seenRetention)
	m := Message{Index: len(a.messages), Session: s.index, Src: c.endpoint(from), Dst: c.endpoint(1 - from),
		Point: c.pa.point, Points: []int{c.pa.point}, Time: last.Time, First: *first, Last: *last,
		Seq: key.seq, Offset: pos}
	decodeMessage(&m, raw, &s.ctx[from])
	if m.Err != nil {
		a.problem(Problem{Kind: ProblemMalformed, Point: last.Point, Input: last.Input, Packet: last.Number,
			Offset: last.Offset, StreamOffset: pos, Session: s.index,
			Message: fmt.Sprintf("%s of %d bytes from %s at stream byte %d: %v", m.TypeName(), m.Length, m.Src, pos, m.Err)})
	}
	s.apply(&m, from)
	a.counts.add(m.Type)
	if a.opts.DropKeepalives && m.Type == TypeKeepalive && m.Err == nil {
		m.Index = -1
	}
	s.remember(key, m.Index, m.Time)
	if a.opts.OnMessage != nil {
		a.opts.OnMessage(&m)
	}
	if m.Index >= 0 {
		a.messages = append(a.messages, m)
	}
}
