package conn

import (
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/stackflow/stackflow/decode"
)

// Config configures a Table. The zero Config is usable.
type Config struct {
	// Timeouts are the idle timeouts per class, in capture time; zero fields take DefaultTimeouts.
	Timeouts Timeouts
	// MaxActive bounds the active flows; when a new flow would exceed it, the flow idle the
	// longest is finished with reason Evicted. 0 means unbounded.
	MaxActive int
	// MaxFragments bounds the first fragments remembered for joining later fragments to their
	// flow (0: DefaultMaxFragments; negative: none, every later fragment goes to a portless flow).
	MaxFragments int
	// SweepInterval is the capture time between expiry sweeps (0: one second). It changes only
	// how soon idle flows leave memory, never which flows exist.
	SweepInterval time.Duration
	// CommunityIDSeed seeds Community ID (0 unless the deployment uses another).
	CommunityIDSeed uint16
	// ExpectedFlows presizes the table for this many concurrently active flows.
	ExpectedFlows int
	// OnFinish, when set, receives each finished flow; the Record is valid only during the
	// call (copy it to keep it) and the callback must not call back into the Table. When nil,
	// finished records are kept for Records and Drain.
	OnFinish func(*Record)
}

// Stats counts what the table did.
type Stats struct {
	Active       int    // flows active now
	PeakActive   int    // the most flows active at once
	Created      uint64 // flows created
	Finished     uint64 // flows finished, for any reason
	IdleTimeouts uint64 // finished because idle beyond their timeout
	Evictions    uint64 // finished because MaxActive was reached
	Reuses       uint64 // finished because a new SYN reused their 5-tuple
	Flushed      uint64 // finished by Flush
	// FragJoined counts non-first fragments that joined their first fragment's flow;
	// FragOrphaned those that went to a portless flow.
	FragJoined, FragOrphaned uint64
}

// flow is an active flow: its record plus bookkeeping dropped when it finishes.
type flow struct {
	// Ordered, with Record's fields, so that what every packet touches comes first.
	class uint8  // timeout class, classNone before the first packet is applied
	seen  uint16 // history letters already recorded, per direction
	epoch uint32 // bumps when the flow is queued anew; older queue entries are stale
	dir   [2]tcpDir
	rec   Record
	tcp   tcpTrack
}

// Table is the flow table. It is not safe for concurrent use.
type Table struct {
	cfg       Config
	timeout   [numClasses + 1]int64 // classNone never expires
	sweepEach int64

	index  flowIndex // active flows by key -> slot in flows
	flows  arena     // slots; a free slot has rec.ID 0
	free   []int32
	queues [numClasses]queue
	frags  fragTable

	finished  []Record // kept when cfg.OnFinish is nil
	nextID    uint32
	nextSweep int64
	started   bool
	stats     Stats
}

// NewTable returns an empty table.
func NewTable(cfg Config) *Table {
	t := &Table{cfg: cfg}
	to := cfg.Timeouts.withDefaults()
	t.timeout = [numClasses + 1]int64{
		classNone:           math.MaxInt64,
		classTCPOpening:     int64(to.TCPOpening),
		classTCPEstablished: int64(to.TCPEstablished),
		classTCPClosed:      int64(to.TCPClosed),
		classUDP:            int64(to.UDP),
		classICMP:           int64(to.ICMP),
		classOther:          int64(to.Other),
	}
	t.sweepEach = int64(cfg.SweepInterval)
	if t.sweepEach <= 0 {
		t.sweepEach = int64(time.Second)
	}
	t.frags.max = cfg.MaxFragments
	if t.frags.max == 0 {
		t.frags.max = DefaultMaxFragments
	}
	t.frags.timeout = int64(to.Fragment)
	t.index.seed = rand.Uint64()
	if n := cfg.ExpectedFlows; n > 0 {
		t.index.resize(max(1024, 1<<bits.Len(uint(2*n-1))))
	}
	return t
}

// Update applies one decoded packet and returns the ids of the flows it belongs to: inner, the
// flow of its innermost IP header (keyed with the VNI of the tunnel that carried it), and outer,
// the flow of its outermost tunnel header (keyed without VNI) when it was tunnelled. Each
// tunnel level is a flow of its own, linked to the level around it as its tunnel parent. An id
// is 0 when there is no such flow (no IP header, or an unusable address). Updating an existing
// flow does not allocate.
func (t *Table) Update(p *decode.Packet) (inner, outer uint32) {
	now := p.Time
	if !t.started || now >= t.nextSweep {
		t.started = true
		t.sweep(now)
		t.nextSweep = now + t.sweepEach
	}
	parentIdx, parentID := int32(-1), uint32(0)
	n := min(int(p.NTunnels), len(p.Tunnels))
	for i := range n {
		var vni uint32
		var hasVNI bool
		if i > 0 {
			vni, hasVNI = p.Tunnels[i-1].VNI, p.Tunnels[i-1].HasVNI
		}
		idx, id := t.updateLevel(p, &p.Tunnels[i].Outer, vni, hasVNI, false, parentIdx, parentID, now)
		if i == 0 {
			outer = id
		}
		parentIdx, parentID = idx, id
	}
	if p.HasIP {
		var vni uint32
		var hasVNI bool
		if n > 0 {
			vni, hasVNI = p.Tunnels[n-1].VNI, p.Tunnels[n-1].HasVNI
		}
		_, inner = t.updateLevel(p, &p.Inner, vni, hasVNI, true, parentIdx, parentID, now)
	}
	return inner, outer
}

// updateLevel applies p to the flow of one of its IP headers and returns that flow's slot and id.
func (t *Table) updateLevel(p *decode.Packet, tu *decode.Tuple, vni uint32, hasVNI, innermost bool,
	parentIdx int32, parentID uint32, now int64) (int32, uint32) {
	laterFrag := innermost && p.FragOffset > 0
	var k Key
	var fwd bool
	if laterFrag {
		fk := makeFragKey(p, vni, hasVNI)
		var ok bool
		if k, fwd, ok = t.frags.lookup(fk, now); ok {
			t.stats.FragJoined++
		} else {
			k, fwd = makeKey(p.Point, tu, vni, hasVNI, true)
			t.stats.FragOrphaned++
		}
	} else {
		k, fwd = makeKey(p.Point, tu, vni, hasVNI, false)
	}
	if !k.Valid() {
		return -1, 0
	}
	l4 := innermost && !laterFrag // the transport header is this level's and was seen

	h := t.index.hashKey(&k)
	idx, ok := t.index.get(&k, h, &t.flows)
	if ok {
		f := t.flows.at(idx)
		switch {
		case now-f.rec.Last > t.timeout[f.class]:
			t.finish(idx, IdleTimeout)
			ok = false
		case l4 && k.proto == ProtoTCP && f.tcpReuse(fwd == f.rec.origLo, p):
			t.finish(idx, Reused)
			t.stats.Reuses++
			ok = false
		}
	}
	if !ok {
		idx = t.create(k, h, fwd, p, l4, now)
	}
	f := t.flows.at(idx)
	orig := fwd == f.rec.origLo
	ep := &f.rec.Resp
	if orig {
		ep = &f.rec.Orig
	}
	ep.Packets++
	ep.Bytes += uint64(p.Len)
	if innermost {
		ep.IPBytes += uint64(p.IPLen)
	}
	if now > f.rec.Last {
		f.rec.Last = now
	}
	if now < f.rec.First {
		f.rec.First = now
	}
	if l4 {
		switch k.proto {
		case ProtoTCP:
			f.tcpPacket(orig, p, now)
		case ProtoUDP:
			f.rec.hist.check(&f.seen, hbData, orig, 'D')
			ep.Payload += uint64(p.PayloadLen)
		default:
			ep.Payload += uint64(p.PayloadLen)
		}
		if p.MoreFrags && p.FragOffset == 0 {
			t.frags.remember(makeFragKey(p, vni, hasVNI), k, fwd, now)
		}
	} else if !innermost && k.proto == ProtoUDP {
		f.rec.hist.check(&f.seen, hbData, orig, 'D')
	}
	if c := f.classOf(); c != f.class {
		t.setClass(idx, c)
	}
	if parentID != 0 {
		t.link(idx, parentIdx, parentID)
	}
	return idx, t.flows.at(idx).rec.ID
}

// create starts a flow for key k from packet p and returns its slot.
func (t *Table) create(k Key, h uint64, fwd bool, p *decode.Packet, l4 bool, now int64) int32 {
	if t.cfg.MaxActive > 0 {
		for t.index.n >= t.cfg.MaxActive && t.evictOldest() {
		}
	}
	var idx int32
	if n := len(t.free); n > 0 {
		idx = t.free[n-1]
		t.free = t.free[:n-1]
	} else {
		idx = t.flows.grow()
	}
	t.nextID++
	if t.nextID == 0 { // 2^32 flows: ids wrap, skipping 0
		t.nextID = 1
	}
	f := t.flows.at(idx)
	*f = flow{class: classNone}
	r := &f.rec
	r.ID, r.Key, r.First, r.Last, r.origLo = t.nextID, k, now, now, fwd
	if l4 && chooseFlip(p, k.proto) {
		r.origLo = !fwd
		r.Flipped = true
		r.hist.add('^')
	}
	// Community ID from the first packet's own direction, type and code.
	src, dst, sport, dport := &k.lo, &k.hi, k.loPort, k.hiPort
	if !fwd {
		src, dst, sport, dport = &k.hi, &k.lo, k.hiPort, k.loPort
	}
	var typ, code uint8
	if l4 {
		typ, code = p.ICMPType, p.ICMPCode
		switch k.proto {
		case ProtoICMP:
			r.echo = typ == 0 || typ == 8
		case ProtoICMPv6:
			r.echo = typ == 128 || typ == 129
		}
	}
	r.cid = communityDigest(t.cfg.CommunityIDSeed, k.Is4(), src, dst, k.proto, sport, dport, typ, code, !k.Portless())
	t.index.put(h, idx)
	t.stats.Created++
	t.stats.PeakActive = max(t.stats.PeakActive, t.index.n)
	return idx
}

// link records that the flow in slot idx was carried by the flow parentID (slot parentIdx).
func (t *Table) link(idx, parentIdx int32, parentID uint32) {
	r := &t.flows.at(idx).rec
	switch {
	case r.Parent == parentID || r.Parent2 == parentID:
		return
	case r.Parent == 0:
		r.Parent = parentID
	case r.Parent2 == 0:
		r.Parent2 = parentID
	default:
		return
	}
	if parentIdx < 0 || parentIdx >= t.flows.n {
		return
	}
	pr := &t.flows.at(parentIdx).rec
	if pr.ID != parentID { // the parent was evicted while this packet was applied
		return
	}
	if pr.NChildren < MaxChildren {
		pr.Children[pr.NChildren] = r.ID
	}
	pr.NChildren++
}

// finish ends the flow in slot idx.
func (t *Table) finish(idx int32, why FinishReason) {
	f := t.flows.at(idx)
	f.rec.Reason = why
	t.index.del(t.index.hashKey(&f.rec.Key), idx)
	t.stats.Finished++
	switch why {
	case IdleTimeout:
		t.stats.IdleTimeouts++
	case Evicted:
		t.stats.Evictions++
	case Flushed:
		t.stats.Flushed++
	}
	if t.cfg.OnFinish != nil {
		t.cfg.OnFinish(&f.rec)
	} else {
		t.finished = append(t.finished, f.rec)
	}
	*f = flow{}
	t.free = append(t.free, idx)
}

// Flush finishes every active flow (reason Flushed), in id order, as at the end of the input.
// The table stays usable.
func (t *Table) Flush() {
	idxs := make([]int32, 0, t.index.n)
	t.index.each(func(idx int32) { idxs = append(idxs, idx) })
	slices.SortFunc(idxs, func(a, b int32) int { return cmpID(t.flows.at(a).rec.ID, t.flows.at(b).rec.ID) })
	if t.cfg.OnFinish == nil {
		t.finished = slices.Grow(t.finished, len(idxs)) // one allocation, not a doubling per flow
	}
	for _, idx := range idxs {
		t.finish(idx, Flushed)
	}
	for c := range t.queues {
		t.queues[c] = queue{}
	}
	// No flow is active any more: give back the slots and the index, which a burst of flows
	// may have made large, rather than hold them beside the finished records.
	t.flows, t.free = arena{}, nil
	t.index = flowIndex{seed: t.index.seed}
}

func cmpID(a, b uint32) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Records returns copies of the kept finished records and snapshots of the active flows
// (Reason StillActive), in id order: the order of first appearance. With Config.OnFinish set,
// finished records are not kept, so only active flows are returned.
func (t *Table) Records() []Record {
	out := make([]Record, 0, len(t.finished)+t.index.n)
	out = append(out, t.finished...)
	t.index.each(func(idx int32) { out = append(out, t.flows.at(idx).rec) })
	slices.SortFunc(out, func(a, b Record) int { return cmpID(a.ID, b.ID) })
	return out
}

// Drain returns the finished records kept so far, in the order they finished, and forgets them.
func (t *Table) Drain() []Record {
	out := t.finished
	t.finished = nil
	return out
}

// Len returns the number of active flows.
func (t *Table) Len() int { return t.index.n }

// Stats returns the table's counters.
func (t *Table) Stats() Stats {
	s := t.stats
	s.Active = t.index.n
	return s
}

// chunkBits sizes the arena's chunks: 1024 flows (360 KiB) each.
const chunkBits = 10

// arena holds flow slots in fixed-size chunks, so growing never copies the flows (a plain
// slice of a million 352-byte flows would copy ~1.7 GB over its growth and briefly hold two
// copies). The chunks hold no pointers, so the garbage collector does not scan them.
type arena struct {
	chunks []*[1 << chunkBits]flow
	n      int32
}

func (a *arena) at(i int32) *flow { return &a.chunks[i>>chunkBits][i&(1<<chunkBits-1)] }

// grow adds a zero slot and returns its index.
func (a *arena) grow() int32 {
	if int(a.n)>>chunkBits == len(a.chunks) {
		a.chunks = append(a.chunks, new([1 << chunkBits]flow))
	}
	a.n++
	return a.n - 1
}
