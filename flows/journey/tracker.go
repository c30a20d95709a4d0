package journey

import (
	"net/netip"
	"time"

	"github.com/stackflow/stackflow/decode"
)

// NoFlow is the flow index to pass when the caller has no flow table.
const NoFlow = ^uint32(0)

// maxJourneyObs bounds the observations chained into one journey; more are counted in
// Stats.Overflow and ignored. Real journeys have a handful of hops.
const maxJourneyObs = 16

// segCacheSize is the number of entries of the segment cache (a power of two).
const segCacheSize = 4096

// maxDupRefs bounds the duplicate packets kept as evidence.
const maxDupRefs = 1000

// Config tunes a Tracker. The zero value is usable.
type Config struct {
	// Window is how long after a packet's first observation further observations with the
	// same fingerprint still join its journey. Default 1 s. It must exceed the largest clock
	// skew plus path latency between capture points.
	Window time.Duration
	// ClockOffsets are user-given offsets per capture point (`--clock-offset POINT=+3ms`):
	// how far that point's clock runs ahead of the reference clock. They override estimates
	// and also break ordering ties while journeys are collected.
	ClockOffsets map[int]time.Duration
	// Points is the number of capture points, a sizing hint (more are accepted).
	Points int
	// MaxPending bounds the observations held in the window; when it is reached the oldest
	// journeys finish early (Stats.Forced). Default 1<<20 (64 MiB), at most 1<<28; rounded
	// down to a power of two.
	MaxPending int
	// OnJourney, when set, is called with every finished journey, its observations in causal
	// order (for packet-level views and tests). hops is valid only during the call.
	OnJourney func(hops []JourneyHop)
}

// JourneyHop is one observation of a finished journey.
type JourneyHop struct {
	Ref       PacketRef
	Time      int64 // raw capture time, ns
	Segment   int   // index into Result.Segments
	TTL       uint8
	Transform Transform // since the previous observation
}

// Stats counts what the tracker did.
type Stats struct {
	Observations uint64 // packets given to Observe
	Uncorrelated uint64 // without IP or fingerprint: not part of any journey
	Journeys     uint64 // finished journeys (one per distinct packet)
	Duplicates   uint64 // the same packet again at the same location with identical headers
	Forced       uint64 // journeys finished early because MaxPending was reached
	Overflow     uint64 // observations beyond maxJourneyObs in one journey, ignored
}

// segRec is an interned Header with per-segment counters.
type segRec struct {
	h           Header
	flow        uint32
	orig        bool // its source is the conversation's originator at this point
	icmpErr     bool // an ICMP error (unreachable, time exceeded, ...): it travels back
	packets     uint64
	dups        uint64
	first, last int64
	// lastPath is the path the last journey of several observations starting here went on
	// (-1: none yet); journeys of one conversation mostly repeat it, so it is checked before
	// the path index.
	lastPath int32
	// onePath is the path of the journeys seen here alone (-1: none yet). After the first,
	// which made the path, they are counted here (oneN, oneFirst, oneLast) and folded into
	// the path's hop at Finish, so the common case touches nothing but the segment.
	onePath           int32
	oneN              uint64
	oneFirst, oneLast int64
}

// originKey names a conversation at one capture point regardless of direction. It holds no
// pointers and no padding, so a map of them hashes each key as one block and is not scanned
// by the garbage collector (a flood of new 5-tuples makes one per packet).
type originKey struct {
	lo, hi         [16]byte // 16-byte forms of the lower and the higher (address, port)
	loPort, hiPort uint16
	point          uint32
	vni            uint32
	proto, depth   uint8
	v4             uint8 // bit 0: lo is IPv4, bit 1: hi is IPv4 (not IPv4-mapped IPv6)
	reserved       uint8 // always zero
}

// zonedOriginKey is originKey for addresses with an IPv6 zone, which the 16-byte form drops.
// Decoded packets never have one; a Tracker fed by other code might.
type zonedOriginKey struct {
	point  int
	depth  uint8
	vni    uint32
	proto  uint8
	lo, hi netip.AddrPort
}

// Tracker correlates observations into journeys and aggregates them. It is not safe for
// concurrent use: feed it from the single ordered stage of the pipeline.
type Tracker struct {
	window     int64
	maxPending int
	userOff    []int64 // ns per point; 0 when not given
	given      map[int]time.Duration

	now     int64 // latest capture time seen
	ring    obsRing
	fps     fpIndex // journeys by key
	classes fpIndex // journeys by key and payload class, once their key has two
	// everyCandidate makes candidates try every journey with the key, as though there were
	// no class index: the test oracle for it.
	everyCandidate bool
	pending        int // journeys in the ring
	stats          Stats

	segs     segStore
	segIdx   segIndex
	segCache [segCacheSize]uint64 // flow<<32 | segment; see intern
	origins  map[originKey]bool   // the conversation's originator is its lower side
	zoned    map[zonedOriginKey]netip.AddrPort
	dupRefs  []PacketRef

	scratch   []hopObs
	elems     []pathElem
	onJourney func([]JourneyHop)
	jhops     []JourneyHop
	paths     []*pathRec
	pathIdx   map[uint64]int32
	clock     clockStats

	vips map[netip.Addr]bool
	bgp  map[netip.Addr]bool
}

// NewTracker returns a Tracker configured by cfg.
func NewTracker(cfg Config) *Tracker {
	t := &Tracker{
		window:     int64(cfg.Window),
		maxPending: cfg.MaxPending,
		given:      cfg.ClockOffsets,
		onJourney:  cfg.OnJourney,
		origins:    make(map[originKey]bool, 1024),
		zoned:      map[zonedOriginKey]netip.AddrPort{},
		pathIdx:    make(map[uint64]int32, 1024),
		scratch:    make([]hopObs, 0, maxJourneyObs),
		elems:      make([]pathElem, 0, maxJourneyObs),
		vips:       map[netip.Addr]bool{},
		bgp:        map[netip.Addr]bool{},
	}
	t.classes.byClass = true
	if t.window <= 0 {
		t.window = int64(time.Second)
	}
	if t.maxPending <= 0 {
		t.maxPending = 1 << 20
	}
	t.maxPending = min(t.maxPending, maxPendingLimit)
	t.clock.ensure(cfg.Points)
	given := t.given
	t.given = map[int]time.Duration{}
	for p, off := range given {
		t.SetClockOffset(p, off)
	}
	return t
}

// SetClockOffset gives point's clock offset (`--clock-offset`), as Config.ClockOffsets does, for
// a point that became known only while reading (a capture point is named at its first packet).
// Call it before the point's first Observe.
func (t *Tracker) SetClockOffset(point int, off time.Duration) {
	if point < 0 {
		return
	}
	t.given[point] = off
	t.clock.ensure(point + 1)
	for len(t.userOff) <= point {
		t.userOff = append(t.userOff, 0)
	}
	t.userOff[point] = int64(off)
}

// MarkVIP records that a is a virtual IP (e.g. announced as a /32 by a Mux over BGP). VIPs are
// never counted as a middlebox's own address, and an encapsulation towards one makes a Mux.
func (t *Tracker) MarkVIP(a netip.Addr) { t.vips[a.Unmap()] = true }

// MarkBGP records that a speaks BGP (seen by the BGP stage); its node gets the bgp_speaker role.
func (t *Tracker) MarkBGP(a netip.Addr) { t.bgp[a.Unmap()] = true }

// Pending returns the number of observations held in the window.
func (t *Tracker) Pending() int { return t.ring.len() }

// PendingJourneys returns the number of journeys not yet finished.
func (t *Tracker) PendingJourneys() int { return t.pending }

// Prefetch starts loading the fingerprint index entry that Observe(p) will read first, so a
// caller with other work to do for p (the flow table, say) can hide most of that memory
// access behind it. Observe prefetches too; calling Prefetch earlier only makes it sooner.
func (t *Tracker) Prefetch(p *decode.Packet) {
	if p.Fingerprint != 0 {
		key, _ := journeyKey(p)
		t.fps.prefetch(key)
	}
}

// Observe adds one packet observation. Packets must arrive in timestamp order across all
// capture points (small disorder is tolerated). flow is the packet's flow-table index, kept as
// evidence; pass NoFlow without a flow table. p is not retained.
func (t *Tracker) Observe(p *decode.Packet, flow uint32) {
	t.stats.Observations++
	if p.Time > t.now {
		t.now = p.Time
	}
	t.Prefetch(p)
	t.expire()
	if p.Fingerprint == 0 || !p.HasIP {
		t.stats.Uncorrelated++
		return
	}
	var h Header
	headerOf(p, &h)
	seg := t.intern(&h, p, flow)
	sr := t.segs.at(seg)
	sr.packets++
	if p.Time < sr.first {
		sr.first = p.Time
	}
	if p.Time > sr.last {
		sr.last = p.Time
	}

	key, pfp := journeyKey(p)
	newest, hasNewest := t.fps.get(key, key, 0, &t.ring)
	if hasNewest {
		ji, r := t.candidates(newest, key, pfp, seg, p.TTL, &h.Inner)
		switch r {
		case matchDup:
			t.stats.Duplicates++
			sr.dups++
			if len(t.dupRefs) < maxDupRefs {
				t.dupRefs = append(t.dupRefs, PacketRef{Input: p.Input, Point: p.Point, Number: p.Number})
			}
			return
		case matchJoin:
			t.join(ji, p, seg, flow)
			return
		}
	}
	t.start(p, seg, flow, newest, hasNewest)
}

// candidates tries the pending journeys with key, newest (the newest of them) first, and
// returns the first that the observation joins or duplicates, or matchNo. Every journey is a
// candidate for an observation whose payload was not hashed (pfp 0); otherwise only those whose
// first observation's payload fingerprint is pfp or 0, since match rejects the others at their
// first observation. Those come from the class index, so that many pending packets sharing a
// header fingerprint (UDP datagrams of one size with IPv4 ID 0, say) cost only their own
// class's journeys rather than all of them.
func (t *Tracker) candidates(newest, key, pfp uint64, seg uint32, ttl uint8, tup *decode.Tuple) (uint64, matchResult) {
	if _, more := t.older(newest); pfp == 0 || !more || t.everyCandidate {
		for ji, ok := newest, true; ok; ji, ok = t.older(ji) {
			if r := t.match(ji, seg, ttl, pfp, tup); r != matchNo {
				return ji, r
			}
		}
		return 0, matchNo
	}
	// More than one journey with this key: all of them are in the class index (start). Walk
	// the two class chains together, newest first.
	same, sok := t.classes.get(classKey(key, pfp), key, pfp, &t.ring)
	cut, cok := t.classes.get(classKey(key, 0), key, 0, &t.ring)
	for sok || cok {
		var ji uint64
		if sok && (!cok || same > cut) {
			ji = same
			same, sok = t.olderInClass(same)
		} else {
			ji = cut
			cut, cok = t.olderInClass(cut)
		}
		if r := t.match(ji, seg, ttl, pfp, tup); r != matchNo {
			return ji, r
		}
	}
	return 0, matchNo
}

// classKey is the class index key of journeys with key and first payload fingerprint pfp: pfp
// itself when the payload was hashed (it covers key too), else a value derived from key.
func classKey(key, pfp uint64) uint64 {
	if pfp != 0 {
		return pfp
	}
	return (key ^ 0x5bd1e9955bd1e995) * 0x9e3779b97f4a7c15
}

// olderInClass returns the pending journey of the same payload class that entered the class
// index before journey ji.
func (t *Tracker) olderInClass(ji uint64) (uint64, bool) {
	d := t.ring.at(ji).olderClass
	if d == 0 || ji-uint64(d) < t.ring.head {
		return 0, false
	}
	return ji - uint64(d), true
}

// addClass files journey ji in the class index.
func (t *Tracker) addClass(ji uint64) {
	o := t.ring.at(ji)
	k := classKey(o.fp, o.pfp)
	if prev, ok := t.classes.get(k, o.fp, o.pfp, &t.ring); ok {
		o.olderClass = uint32(ji - prev)
	}
	t.classes.put(k, o.fp, o.pfp, ji, &t.ring)
}

type matchResult uint8

const (
	matchNo   matchResult = iota // another packet that happens to share the fingerprint
	matchJoin                    // a further hop of this journey
	matchDup                     // this journey seen again at the same location, same headers
)

// match decides whether an observation at seg with ttl, payload fingerprint pfp and tuple
// belongs to journey ji. Observations whose payloads were both hashed must agree on them. A
// tuple that is the exact reverse of one already in the journey is a reply with the same
// invariant fields (a UDP echo with IP ID 0), not the same packet.
func (t *Tracker) match(ji uint64, seg uint32, ttl uint8, pfp uint64, tup *decode.Tuple) matchResult {
	for s := ji; ; {
		o := t.ring.at(s)
		if pfp != 0 && o.pfp != 0 && pfp != o.pfp {
			return matchNo // same headers, different payload
		}
		if o.seg == seg && o.ttl == ttl {
			return matchDup
		}
		if reversed(&t.segs.at(o.seg).h.Inner, tup) {
			return matchNo
		}
		if o.next == 0 {
			return matchJoin
		}
		s += uint64(o.next)
	}
}

// older returns the pending journey with the same key that started before journey ji.
func (t *Tracker) older(ji uint64) (uint64, bool) {
	d := t.ring.at(ji).older
	if d == 0 || ji-uint64(d) < t.ring.head {
		return 0, false
	}
	return ji - uint64(d), true
}

func reversed(a, b *decode.Tuple) bool {
	return a.Proto == b.Proto && a.Src == b.Dst && a.Dst == b.Src &&
		a.SrcPort == b.DstPort && a.DstPort == b.SrcPort && a.Src != a.Dst
}

func (t *Tracker) makeRoom() {
	for t.ring.full(t.maxPending) {
		if t.ring.at(t.ring.head).first {
			t.stats.Forced++
		}
		t.popHead()
	}
}

func (t *Tracker) join(ji uint64, p *decode.Packet, seg, flow uint32) {
	if t.ring.at(ji).n >= maxJourneyObs {
		t.stats.Overflow++
		return
	}
	t.makeRoom()
	if ji < t.ring.head {
		// makeRoom finished this very journey: the observation starts afresh, chained to
		// whatever journey with its fingerprint is still pending.
		t.start(p, seg, flow, 0, true)
		return
	}
	_, pfp := journeyKey(p)
	seq := t.ring.push(obs{time: p.Time, number: p.Number, seg: seg, flow: flow,
		input: int32(p.Input), ttl: p.TTL, pfp: pfp})
	j := t.ring.at(ji)
	last := ji + uint64(j.tail)
	j.tail = uint32(seq - ji)
	j.n++
	t.ring.at(last).next = uint32(seq - last)
}

// start begins a journey with p. newest is the newest pending journey with p's key when
// hasNewest; makeRoom may finish it, so it is looked up again.
func (t *Tracker) start(p *decode.Packet, seg, flow uint32, newest uint64, hasNewest bool) {
	key, pfp := journeyKey(p)
	t.makeRoom()
	if hasNewest {
		newest, hasNewest = t.fps.get(key, key, 0, &t.ring)
	}
	seq := t.ring.push(obs{time: p.Time, number: p.Number, seg: seg, flow: flow, fp: key,
		input: int32(p.Input), ttl: p.TTL, first: true, n: 1, pfp: pfp})
	if hasNewest {
		t.ring.at(seq).older = uint32(seq - newest)
		// Two or more journeys share the key from now on: file them by payload class too. The
		// key's first journey (without an older one) joins when the second one starts; every
		// later one has an older one and joins at its own start.
		if t.ring.at(newest).older == 0 {
			t.addClass(newest)
		}
		t.addClass(seq)
	}
	t.fps.put(key, key, 0, seq, &t.ring)
	t.pending++
}

// expire finishes every journey whose first observation is older than the window.
func (t *Tracker) expire() {
	for t.ring.len() > 0 && t.ring.at(t.ring.head).time+t.window < t.now {
		t.popHead()
	}
}

func (t *Tracker) popHead() {
	if t.ring.at(t.ring.head).first {
		t.finish(t.ring.head)
	}
	t.ring.head++
}

// finish aggregates journey ji, the ring's head. Nothing else needs undoing: once the head
// moves past ji, index entries and links naming it are stale.
func (t *Tracker) finish(ji uint64) {
	t.pending--
	t.stats.Journeys++
	if o := t.ring.at(ji); o.next == 0 && t.onJourney == nil {
		t.aggregateOne(o)
		return
	}
	hs := t.scratch[:0]
	for s := ji; ; {
		o := t.ring.at(s)
		sr := t.segs.at(o.seg)
		hs = append(hs, hopObs{seq: s, time: o.time, ctime: o.time - t.userOffset(sr.h.Point),
			number: o.number, seg: o.seg, flow: o.flow, input: o.input, ttl: o.ttl, h: &sr.h})
		if o.next == 0 {
			break
		}
		s += uint64(o.next)
	}
	t.scratch = hs
	t.aggregate(hs)
}

func (t *Tracker) userOffset(point int) int64 {
	if point >= 0 && point < len(t.userOff) {
		return t.userOff[point]
	}
	return 0
}

// intern returns the index of h's segment, creating it (and deciding whether its source is
// the conversation's originator at this point) on first sight.
func (t *Tracker) intern(h *Header, p *decode.Packet, flow uint32) uint32 {
	// Most packets repeat the segment of the flow's previous packet in their direction: a
	// small direct-mapped cache by flow and ports answers them with one comparison.
	c := &t.segCache[(flow*0x9e3779b1^uint32(h.Inner.SrcPort)<<16^uint32(h.Inner.DstPort))&(segCacheSize-1)]
	if flow != NoFlow && uint32(*c>>32) == flow {
		if i := uint32(*c); int(i) < t.segs.len() && t.segs.at(i).h == *h {
			return i
		}
	}
	hash := hashHeader(h)
	i, ok := t.segIdx.get(hash, h, &t.segs)
	if !ok {
		i = t.newSegment(h, p, flow, hash)
	}
	*c = uint64(flow)<<32 | uint64(i)
	return i
}

// newSegment interns h, seen first in p.
func (t *Tracker) newSegment(h *Header, p *decode.Packet, flow uint32, hash uint64) uint32 {
	i := t.segs.add()
	t.segIdx.put(hash, i)
	sr := t.segs.at(i)
	*sr = segRec{h: *h, flow: flow, icmpErr: icmpError(p), first: p.Time, last: p.Time, lastPath: -1, onePath: -1}
	sr.orig = !sr.icmpErr && t.originates(h, p)
	return i
}

// segChunkBits sizes the segment store's chunks: 1024 segments (about 250 KiB).
const segChunkBits = 10

// segStore holds the segments in fixed-size chunks, so that adding one never moves the
// others: a flood of new 5-tuples makes a segment per packet, and a plain slice of them
// (which hold netip.Addr handles, so copying them runs write barriers) was copied over and
// over as it grew, and held twice while it did.
type segStore struct {
	chunks []*[1 << segChunkBits]segRec
	n      int
}

func (s *segStore) len() int { return s.n }

func (s *segStore) at(i uint32) *segRec {
	return &s.chunks[i>>segChunkBits][i&(1<<segChunkBits-1)]
}

// add appends a zero segment and returns its index.
func (s *segStore) add() uint32 {
	if s.n>>segChunkBits == len(s.chunks) {
		s.chunks = append(s.chunks, new([1 << segChunkBits]segRec))
	}
	s.n++
	return uint32(s.n - 1)
}

// originates decides once per segment whether its source side started the conversation at
// this point: a TCP SYN's sender did, a SYN-ACK's receiver did; otherwise a lone well-known
// port (<1024) marks the server; otherwise the first packet seen decides.
func (t *Tracker) originates(h *Header, p *decode.Packet) bool {
	src := netip.AddrPortFrom(h.Inner.Src, h.Inner.SrcPort)
	dst := netip.AddrPortFrom(h.Inner.Dst, h.Inner.DstPort)
	if h.Inner.Src.Zone() != "" || h.Inner.Dst.Zone() != "" {
		return t.originatesZoned(h, p, src, dst)
	}
	if src == dst {
		return true // either side is the originator
	}
	srcLo := dst.Compare(src) >= 0
	lo, hi := src, dst
	if !srcLo {
		lo, hi = dst, src
	}
	k := originKey{lo: lo.Addr().As16(), hi: hi.Addr().As16(), loPort: lo.Port(), hiPort: hi.Port(),
		point: uint32(h.Point), vni: h.Tunnel.VNI, proto: h.Inner.Proto, depth: h.Depth}
	if lo.Addr().Is4() {
		k.v4 |= 1
	}
	if hi.Addr().Is4() {
		k.v4 |= 2
	}
	if loOrig, ok := t.origins[k]; ok {
		return loOrig == srcLo
	}
	srcOrig := !firstSeenServer(h, p)
	t.origins[k] = srcOrig == srcLo
	return srcOrig
}

// firstSeenServer reports whether p, the first packet of its conversation seen at this point,
// was sent by the side that did not start the conversation: a SYN-ACK, or a packet from a
// lone well-known port. A SYN's sender, or else the first packet's, is the originator.
func firstSeenServer(h *Header, p *decode.Packet) bool {
	const synAck = decode.TCPSyn | decode.TCPAck
	switch {
	case h.Inner.Proto == 6 && p.TCPFlags&synAck == decode.TCPSyn:
	case h.Inner.Proto == 6 && p.TCPFlags&synAck == synAck:
		return true
	case h.Inner.SrcPort < 1024 && h.Inner.DstPort >= 1024 && h.Inner.Proto != 1 && h.Inner.Proto != 58:
		return true
	}
	return false
}

// originatesZoned is originates for addresses with a zone.
func (t *Tracker) originatesZoned(h *Header, p *decode.Packet, src, dst netip.AddrPort) bool {
	k := zonedOriginKey{point: h.Point, depth: h.Depth, vni: h.Tunnel.VNI, proto: h.Inner.Proto, lo: src, hi: dst}
	if dst.Compare(src) < 0 {
		k.lo, k.hi = dst, src
	}
	if o, ok := t.zoned[k]; ok {
		return o == src
	}
	o := src
	if firstSeenServer(h, p) {
		o = dst
	}
	t.zoned[k] = o
	return o == src
}

// icmpError reports whether p is an ICMP or ICMPv6 error message: it reports on another
// packet and travels back towards that packet's sender.
func icmpError(p *decode.Packet) bool {
	switch p.Inner.Proto {
	case 1:
		switch p.ICMPType {
		case 3, 4, 5, 11, 12:
			return true
		}
	case 58:
		return p.ICMPType >= 1 && p.ICMPType <= 4
	}
	return false
}

// journeyKey returns the fingerprint that indexes p's journey and the payload fingerprint
// that must agree within it. The index uses the header fingerprint, so an observation whose
// payload a short snap length cut (pktmon's 128 bytes minus a VXLAN header) still meets the
// complete ones; pfp is the full fingerprint when p's payload was hashed, else 0.
func journeyKey(p *decode.Packet) (key, pfp uint64) {
	if p.HeaderFingerprint == 0 {
		return p.Fingerprint, 0
	}
	if p.PayloadHashLen > 0 {
		pfp = p.Fingerprint
	}
	return p.HeaderFingerprint, pfp
}
