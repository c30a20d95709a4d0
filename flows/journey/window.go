package journey

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
	"unsafe"

	"github.com/stackflow/stackflow/decode"
)

// The correlation window: every observation younger than the window waits in a ring in arrival
// order; observations of one packet (equal fingerprint) are chained into a journey, which lives
// in the ring entry of its first observation and is named by that entry's sequence number; an
// index maps a fingerprint to its newest pending journey, and a second one, used only for
// fingerprints that several pending journeys share, maps (fingerprint, payload class) the same
// way (Tracker.candidates). A journey is finished when its first observation leaves the ring,
// i.e. once the stream has moved a whole window past it. These structures are sized by what
// the window holds, never by the file, hold no pointers, and reuse their storage: the steady
// state allocates nothing.
//
// Journeys leave the ring in the order they started, so a sequence number below the ring's head
// names a finished journey: index entries and links to older journeys are never taken out when
// a journey finishes (which would cost a random memory access per packet), they just go stale,
// and the index sweeps stale entries out in sequential passes.

// maxPendingLimit caps Config.MaxPending so that distances within the ring fit in 32 bits with
// room to tell stale index entries from live ones (see fpIndex).
const maxPendingLimit = 1 << 28

// obs is one pending observation. The first observation of a journey also holds the journey:
// the fields marked "journey" are valid only there.
type obs struct {
	time   int64 // raw capture time, ns since the epoch
	number uint64
	pfp    uint64 // full fingerprint when the payload was hashed, else 0
	fp     uint64 // journey: the key the index finds it by
	next   uint32 // distance in the ring to the journey's next observation, 0 at its end
	tail   uint32 // journey: distance to its last observation
	older  uint32 // journey: distance back to the previous journey with the same key, 0 when none
	// journey: distance back to the previous journey of its payload class (see classKey) once
	// it is in the class index, 0 when none
	olderClass uint32
	seg        uint32 // interned Header
	flow       uint32
	input      int32
	n          uint8 // journey: observations chained (duplicates are not)
	ttl        uint8
	first      bool // the journey's first observation: leaving the ring finishes the journey
}

// obsRing is a growable power-of-two ring addressed by ever-increasing sequence numbers.
type obsRing struct {
	buf        []obs
	head, tail uint64 // sequence numbers of the oldest and the next observation
}

func (r *obsRing) len() int { return int(r.tail - r.head) }

func (r *obsRing) at(seq uint64) *obs { return &r.buf[seq&uint64(len(r.buf)-1)] }

// full reports whether the ring cannot take another observation without growing past limit.
func (r *obsRing) full(limit int) bool {
	return r.len() >= len(r.buf) && len(r.buf)*2 > limit
}

// push appends o and returns its sequence number; the caller checked full first. Pointers
// from at are invalid afterwards (the ring may have grown).
func (r *obsRing) push(o obs) uint64 {
	if r.len() == len(r.buf) {
		r.grow()
	}
	seq := r.tail
	*r.at(seq) = o
	r.tail++
	return seq
}

func (r *obsRing) grow() {
	n := len(r.buf) * 2
	if n == 0 {
		n = 1024
	}
	nb := make([]obs, n)
	for s := r.head; s != r.tail; s++ {
		nb[s&uint64(n-1)] = *r.at(s)
	}
	r.buf = nb
}

// fpIndex maps a fingerprint (never 0) to the ring sequence number of the newest pending
// journey carrying it. It is an open-addressing table with linear probing whose 8-byte slots
// hold 32 bits of the fingerprint (the tag; the full value is confirmed in the journey's ring
// entry) and the low 32 bits of the sequence number. An entry whose journey has left the ring
// is stale: lookups skip it, an insertion of the same key reuses it, and purge removes every
// stale entry in one sequential pass (backward-shift deletion, so no tombstones) once live
// and stale entries fill three quarters of the table. Sequence numbers are compared modulo
// 2^32 against the ring's head, which is exact while no entry is older than 2^32 minus the
// ring's length: keepFresh sees to it.
//
// The tracker keeps two: one by journey key, and one by payload class (byClass), whose
// entries are confirmed against both the journey's key and its first observation's payload
// fingerprint.
type fpIndex struct {
	slots    []uint64 // tag<<32 | uint32(seq); 0 = empty
	shift    uint8    // 64 - log2(len(slots))
	used     int      // occupied slots, stale ones included
	purgedAt uint64   // ring tail at the last purge
	byClass  bool
}

// purgeEvery bounds the observations between purges of an index in use (see keepFresh).
const purgeEvery = 1 << 30

// fpTag returns the 32 bits of key k that slots keep. Decoded fingerprints are well mixed
// already, but keys made elsewhere (tests, tools) need not be: the odd multiplier moves every
// bit of k into the high half, and being a bijection it keeps distinct keys distinct.
func fpTag(k uint64) uint32 {
	if t := uint32((k * 0xff51afd7ed558ccd) >> 32); t != 0 {
		return t
	}
	return 1
}

// home returns the first slot probed for tag.
func (x *fpIndex) home(tag uint32) uint64 {
	// Fingerprints are hashes already; the multiply spreads any structure left in the tag.
	return (uint64(tag) * 0x9e3779b97f4a7c15) >> x.shift
}

// liveSeq returns the sequence number slot s names when that journey is still in ring r.
func liveSeq(s uint64, r *obsRing) (uint64, bool) {
	d := uint32(s) - uint32(r.head)
	if uint64(d) >= uint64(r.len()) {
		return 0, false
	}
	return r.head + uint64(d), true
}

// prefetch starts loading the first slot get(fp) will probe.
func (x *fpIndex) prefetch(fp uint64) {
	if len(x.slots) > 0 {
		prefetch(unsafe.Pointer(&x.slots[x.home(fpTag(fp))]))
	}
}

// is reports whether journey o is one this index files under a key for journey key fp and
// payload fingerprint pfp.
func (x *fpIndex) is(o *obs, fp, pfp uint64) bool {
	return o.fp == fp && (!x.byClass || o.pfp == pfp)
}

// get returns the newest pending journey filed under key k, for journey key fp and payload
// fingerprint pfp (the latter only matters byClass).
func (x *fpIndex) get(k, fp, pfp uint64, r *obsRing) (uint64, bool) {
	if len(x.slots) == 0 {
		return 0, false
	}
	x.keepFresh(r)
	tag, mask := fpTag(k), uint64(len(x.slots)-1)
	for i := x.home(tag); ; i = (i + 1) & mask {
		s := x.slots[i]
		if s == 0 {
			return 0, false
		}
		if uint32(s>>32) != tag {
			continue
		}
		if seq, ok := liveSeq(s, r); ok && x.is(r.at(seq), fp, pfp) {
			return seq, true
		}
	}
}

// put files seq, a journey in r with journey key fp and payload fingerprint pfp, under key k
// as the newest journey there.
func (x *fpIndex) put(k, fp, pfp, seq uint64, r *obsRing) {
	if len(x.slots) == 0 {
		x.resize(1024, r)
	}
	x.keepFresh(r)
	tag, mask := fpTag(k), uint64(len(x.slots)-1)
	entry := uint64(tag)<<32 | uint64(uint32(seq))
	reuse := -1
	for i := x.home(tag); ; i = (i + 1) & mask {
		s := x.slots[i]
		if s == 0 {
			if reuse < 0 {
				x.slots[i] = entry
				x.used++
			} else {
				x.slots[reuse] = entry
			}
			break
		}
		old, live := liveSeq(s, r)
		if !live {
			if reuse < 0 {
				reuse = int(i)
			}
			continue
		}
		if uint32(s>>32) == tag && x.is(r.at(old), fp, pfp) {
			x.slots[i] = entry
			break
		}
	}
	if x.used*4 >= len(x.slots)*3 {
		x.purge(r)
	}
}

// keepFresh keeps 32-bit sequence numbers unambiguous. Every entry was live at the last purge
// or filed since, and filing purges first once purgeEvery observations have passed, so no
// entry is older than purgedAt minus the ring's length (at most maxPendingLimit) or newer
// than purgedAt plus purgeEvery. Past that, purge still tells stale from live; further still
// (an index left alone, as the class index is while keys do not collide), every entry is
// stale and the table is simply cleared.
func (x *fpIndex) keepFresh(r *obsRing) {
	switch gap := r.tail - x.purgedAt; {
	case gap >= purgeEvery+maxPendingLimit:
		clear(x.slots)
		x.used, x.purgedAt = 0, r.tail
	case gap >= purgeEvery:
		x.purge(r)
	}
}

// purge removes every stale entry, then doubles the table if live entries still fill half.
func (x *fpIndex) purge(r *obsRing) {
	x.purgedAt = r.tail
	mask := uint64(len(x.slots) - 1)
	e := uint64(0) // start after an empty slot, so that no probe run is cut in two
	for x.slots[e] != 0 {
		e++
	}
	for k := uint64(1); k <= mask+1; k++ {
		i := (e + k) & mask
		for x.slots[i] != 0 {
			if _, live := liveSeq(x.slots[i], r); live {
				break
			}
			x.deleteAt(i)
		}
	}
	if x.used*2 > len(x.slots) {
		x.resize(2*len(x.slots), r)
	}
}

// deleteAt empties slot i and shifts later members of its probe run back, so that lookups
// never stop at a hole early.
func (x *fpIndex) deleteAt(i uint64) {
	mask := uint64(len(x.slots) - 1)
	for j := (i + 1) & mask; x.slots[j] != 0; j = (j + 1) & mask {
		home := x.home(uint32(x.slots[j] >> 32))
		if (j-home)&mask >= (j-i)&mask {
			x.slots[i] = x.slots[j]
			i = j
		}
	}
	x.slots[i] = 0
	x.used--
}

// resize moves the live entries into a table of n (a power of two) slots.
func (x *fpIndex) resize(n int, r *obsRing) {
	old := x.slots
	x.slots, x.used, x.purgedAt = make([]uint64, n), 0, r.tail
	x.shift = uint8(64 - bits.TrailingZeros(uint(n)))
	mask := uint64(n - 1)
	for _, s := range old {
		if _, live := liveSeq(s, r); s == 0 || !live {
			continue
		}
		i := x.home(uint32(s >> 32))
		for x.slots[i] != 0 {
			i = (i + 1) & mask
		}
		x.slots[i] = s
		x.used++
	}
}

// segIndex maps a Header to its segment index. Go's generic map hashes a Header field by field
// (it holds padding and netip.Addr handles), which cost a third of Observe; this table hashes
// the header's words with a multiply-fold and confirms a hit with ==.
type segIndex struct {
	hashes []uint64 // 0 = empty slot
	vals   []uint32
	n      int
}

func foldMul(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a^0xa0761d6478bd642f, b^0xe7037ed1a0b428db)
	return hi ^ lo
}

func addrWords(a netip.Addr) (uint64, uint64) {
	if a.Is4() {
		b := a.As4()
		return uint64(binary.LittleEndian.Uint32(b[:])), 4
	}
	b := a.As16()
	return binary.LittleEndian.Uint64(b[:8]), binary.LittleEndian.Uint64(b[8:]) ^ uint64(a.BitLen())
}

func macWord(m [6]byte) uint64 {
	return uint64(m[0]) | uint64(m[1])<<8 | uint64(m[2])<<16 | uint64(m[3])<<24 | uint64(m[4])<<32 | uint64(m[5])<<40
}

func tupleHash(h uint64, t *decode.Tuple) uint64 {
	s1, s2 := addrWords(t.Src)
	d1, d2 := addrWords(t.Dst)
	h = foldMul(h^s1, s2)
	h = foldMul(h^d1, d2)
	return foldMul(h, uint64(t.SrcPort)|uint64(t.DstPort)<<16|uint64(t.Proto)<<32)
}

// hashHeader never returns 0 (the empty-slot marker).
func hashHeader(h *Header) uint64 {
	x := foldMul(uint64(h.Point), uint64(h.Depth)<<1|b2u(h.HasMAC))
	if h.HasMAC {
		x = foldMul(x^macWord(h.SrcMAC), macWord(h.DstMAC))
	}
	x = tupleHash(x, &h.Inner)
	if h.Depth > 0 {
		x = foldMul(x^uint64(h.Tunnel.Type), uint64(h.Tunnel.VNI)|uint64(h.Tunnel.Key)<<32)
		x = tupleHash(x, &h.Tunnel.Outer)
	}
	return x | 1
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// get returns the segment of h; segs resolves a candidate index to its Header.
func (x *segIndex) get(hash uint64, h *Header, segs *segStore) (uint32, bool) {
	if len(x.hashes) == 0 {
		return 0, false
	}
	mask := uint64(len(x.hashes) - 1)
	for i := hash & mask; ; i = (i + 1) & mask {
		switch x.hashes[i] {
		case 0:
			return 0, false
		case hash:
			if segs.at(x.vals[i]).h == *h {
				return x.vals[i], true
			}
		}
	}
}

func (x *segIndex) put(hash uint64, v uint32) {
	if (x.n+1)*2 > len(x.hashes) {
		old, oldv := x.hashes, x.vals
		n := max(1024, 2*len(old))
		x.hashes, x.vals, x.n = make([]uint64, n), make([]uint32, n), 0
		for i, k := range old {
			if k != 0 {
				x.put(k, oldv[i])
			}
		}
	}
	mask := uint64(len(x.hashes) - 1)
	i := hash & mask
	for x.hashes[i] != 0 {
		i = (i + 1) & mask
	}
	x.hashes[i], x.vals[i] = hash, v
	x.n++
}
