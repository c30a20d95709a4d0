package journey

import (
	"encoding/binary"
	"math/bits"
	"net/netip"

	"github.com/stackflow/stackflow/decode"
)

// The correlation window: every observation younger than the window waits in a ring in arrival
// order; observations of one packet (equal fingerprint) are chained into a journey; an index
// maps a fingerprint to its newest pending journey. A journey is finished when its first
// observation leaves the ring, i.e. once the stream has moved a whole window past it. All three
// structures are sized by what the window holds, never by the file, and reuse their storage:
// the steady state allocates nothing.

// noObs marks the end of a journey's observation chain.
const noObs = ^uint64(0)

// obs is one pending observation.
type obs struct {
	time    int64 // raw capture time, ns since the epoch
	number  uint64
	pfp     uint64 // full fingerprint when the payload was hashed, else 0
	next    uint64 // ring sequence number of the journey's next observation, or noObs
	seg     uint32 // interned Header
	flow    uint32
	journey int32
	input   int32
	ttl     uint8
	first   bool // the journey's first observation: leaving the ring finishes the journey
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

// push appends o and returns its sequence number; the caller checked full first.
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

// journeyRec is one packet's pending journey.
type journeyRec struct {
	fp           uint64
	head, tail   uint64 // sequence numbers of its first and last observation
	n            uint16 // observations chained (duplicates are not chained)
	dups         uint16
	older, newer int32 // pending journeys with the same fingerprint, -1 when none
}

// journeyPool hands out journey slots and takes them back.
type journeyPool struct {
	j    []journeyRec
	free []int32
}

func (p *journeyPool) get() int32 {
	if n := len(p.free); n > 0 {
		i := p.free[n-1]
		p.free = p.free[:n-1]
		return i
	}
	p.j = append(p.j, journeyRec{})
	return int32(len(p.j) - 1)
}

func (p *journeyPool) put(i int32) { p.free = append(p.free, i) }

// pending counts journeys in use.
func (p *journeyPool) pending() int { return len(p.j) - len(p.free) }

// fpIndex maps a fingerprint (never 0) to the newest pending journey carrying it. It is an
// open-addressing table with linear probing and backward-shift deletion, so a long run of
// inserts and deletes leaves no tombstones and never reallocates at a steady size.
type fpIndex struct {
	keys []uint64 // 0 = empty slot
	vals []int32
	n    int
}

func fpSlot(fp uint64, mask uint64) uint64 {
	// Fingerprints are hashes already; the multiply spreads any structure left in the low bits.
	return (fp * 0x9e3779b97f4a7c15) >> 17 & mask
}

func (x *fpIndex) get(fp uint64) (int32, bool) {
	if len(x.keys) == 0 {
		return 0, false
	}
	mask := uint64(len(x.keys) - 1)
	for i := fpSlot(fp, mask); ; i = (i + 1) & mask {
		switch x.keys[i] {
		case fp:
			return x.vals[i], true
		case 0:
			return 0, false
		}
	}
}

func (x *fpIndex) put(fp uint64, v int32) {
	if (x.n+1)*2 > len(x.keys) {
		x.resize()
	}
	mask := uint64(len(x.keys) - 1)
	for i := fpSlot(fp, mask); ; i = (i + 1) & mask {
		switch x.keys[i] {
		case fp:
			x.vals[i] = v
			return
		case 0:
			x.keys[i], x.vals[i] = fp, v
			x.n++
			return
		}
	}
}

func (x *fpIndex) del(fp uint64) {
	if len(x.keys) == 0 {
		return
	}
	mask := uint64(len(x.keys) - 1)
	i := fpSlot(fp, mask)
	for x.keys[i] != fp {
		if x.keys[i] == 0 {
			return
		}
		i = (i + 1) & mask
	}
	// Shift later members of the probe run back so lookups never stop at a hole early.
	for j := (i + 1) & mask; x.keys[j] != 0; j = (j + 1) & mask {
		home := fpSlot(x.keys[j], mask)
		if (j-home)&mask >= (j-i)&mask {
			x.keys[i], x.vals[i] = x.keys[j], x.vals[j]
			i = j
		}
	}
	x.keys[i] = 0
	x.n--
}

func (x *fpIndex) resize() {
	n := len(x.keys) * 2
	if n == 0 {
		n = 1024
	}
	old, oldv := x.keys, x.vals
	x.keys, x.vals, x.n = make([]uint64, n), make([]int32, n), 0
	for i, k := range old {
		if k != 0 {
			x.put(k, oldv[i])
		}
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
func (x *segIndex) get(hash uint64, h *Header, segs []segRec) (uint32, bool) {
	if len(x.hashes) == 0 {
		return 0, false
	}
	mask := uint64(len(x.hashes) - 1)
	for i := hash & mask; ; i = (i + 1) & mask {
		switch x.hashes[i] {
		case 0:
			return 0, false
		case hash:
			if segs[x.vals[i]].h == *h {
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
