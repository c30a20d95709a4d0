package conn

import (
	"encoding/binary"
	"math/bits"
)

// flowIndex maps the Key of every active flow to its arena slot. Go's map hashes the 48-byte
// Key with a general-purpose byte hash and probes control bytes and a wide entry, which cost a
// quarter of Update; this open-addressing table keeps 8-byte slots (32 bits of the key's hash,
// the tag, and the arena slot), hashes the key's six words with three independent multiplies,
// and confirms a tag match against the Key stored in the flow itself, which Update reads next
// anyway. Linear probing with backward-shift deletion leaves no tombstones; the table doubles
// when half full, so it costs 8 to 16 bytes per active flow. The hash seed is chosen per table
// at random, so crafted 5-tuples cannot force long probe runs; nothing observable depends on
// the slot order (Flush and Records sort by flow id).
type flowIndex struct {
	slots []uint64 // tag<<32 | arena slot + 1; 0 = empty
	shift uint8    // 64 - log2(len(slots))
	n     int
	seed  uint64
}

const (
	ixK0 = 0xa0761d6478bd642f
	ixK1 = 0xe7037ed1a0b428db
	ixK2 = 0x8ebc6af09c88c6e3
	ixK3 = 0x589965cc75374cc3
	ixK4 = 0x1d8e4e27c47d124f
)

func mix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// hashKey hashes every byte of k (it has no padding) with the table's seed.
func (x *flowIndex) hashKey(k *Key) uint64 {
	w0 := binary.LittleEndian.Uint64(k.lo[:8])
	w1 := binary.LittleEndian.Uint64(k.lo[8:])
	w2 := binary.LittleEndian.Uint64(k.hi[:8])
	w3 := binary.LittleEndian.Uint64(k.hi[8:])
	w4 := uint64(k.loPort) | uint64(k.hiPort)<<16 | uint64(k.vni)<<32
	w5 := uint64(k.point) | uint64(k.proto)<<32 | uint64(k.flags)<<40 | uint64(k.reserved)<<48
	h := mix(w0^x.seed^ixK0, w1^ixK1) ^ mix(w2^ixK2, w3^x.seed) ^ mix(w4^ixK3, w5^ixK4)
	return mix(h^ixK0, h^ixK4)
}

func ixTag(h uint64) uint32 {
	if t := uint32(h >> 32); t != 0 {
		return t
	}
	return 1
}

// home returns the first slot probed for tag.
func (x *flowIndex) home(tag uint32) uint64 {
	return (uint64(tag) * 0x9e3779b97f4a7c15) >> x.shift
}

// get returns the slot of the active flow with key k (hash h = hashKey(k)).
func (x *flowIndex) get(k *Key, h uint64, a *arena) (int32, bool) {
	if len(x.slots) == 0 {
		return 0, false
	}
	tag, mask := ixTag(h), uint64(len(x.slots)-1)
	for i := x.home(tag); ; i = (i + 1) & mask {
		s := x.slots[i]
		if s == 0 {
			return 0, false
		}
		if uint32(s>>32) == tag {
			if idx := int32(uint32(s)) - 1; a.at(idx).rec.Key == *k {
				return idx, true
			}
		}
	}
}

// put adds arena slot idx under hash h; the key must not be in the index.
func (x *flowIndex) put(h uint64, idx int32) {
	if (x.n+1)*2 > len(x.slots) {
		x.resize(max(1024, 2*len(x.slots)))
	}
	x.insert(uint64(ixTag(h))<<32 | uint64(uint32(idx+1)))
	x.n++
}

func (x *flowIndex) insert(s uint64) {
	mask := uint64(len(x.slots) - 1)
	i := x.home(uint32(s >> 32))
	for x.slots[i] != 0 {
		i = (i + 1) & mask
	}
	x.slots[i] = s
}

// del removes arena slot idx, indexed under hash h.
func (x *flowIndex) del(h uint64, idx int32) {
	if len(x.slots) == 0 {
		return
	}
	want := uint64(ixTag(h))<<32 | uint64(uint32(idx+1))
	mask := uint64(len(x.slots) - 1)
	i := x.home(uint32(want >> 32))
	for x.slots[i] != want {
		if x.slots[i] == 0 {
			return
		}
		i = (i + 1) & mask
	}
	// Shift later members of the probe run back so lookups never stop at a hole early.
	for j := (i + 1) & mask; x.slots[j] != 0; j = (j + 1) & mask {
		if home := x.home(uint32(x.slots[j] >> 32)); (j-home)&mask >= (j-i)&mask {
			x.slots[i] = x.slots[j]
			i = j
		}
	}
	x.slots[i] = 0
	x.n--
}

func (x *flowIndex) resize(n int) {
	old := x.slots
	x.slots = make([]uint64, n)
	x.shift = uint8(64 - bits.TrailingZeros(uint(n)))
	for _, s := range old {
		if s != 0 {
			x.insert(s)
		}
	}
}

// each calls fn with the arena slot of every active flow, in no particular order.
func (x *flowIndex) each(fn func(idx int32)) {
	for _, s := range x.slots {
		if s != 0 {
			fn(int32(uint32(s)) - 1)
		}
	}
}
