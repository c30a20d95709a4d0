package journey

import (
	"math/rand/v2"
	"testing"
)

func TestFPIndexAgainstMap(t *testing.T) {
	// Why: the open-addressing index with stale entries, purges and backward-shift deletion is
	// hand-written; a Go map of each key's newest journey still in the ring is its oracle over
	// a long random mix of journey starts, journeys leaving the ring and lookups, including
	// colliding keys (few distinct keys force long probe runs; keys differing only in their
	// low half share a tag) and a ring that both fills and drains.
	for _, keys := range []uint64{50, 5000} {
		r := rand.New(rand.NewPCG(3, uint64(keys)))
		var x fpIndex
		var ring obsRing
		ref := map[uint64]uint64{}
		key := func() uint64 {
			k := r.Uint64N(keys) + 1
			if k%2 == 0 {
				k |= 7 << 32 // same tag as every other such key
			}
			return k
		}
		for i := 0; i < 200_000; i++ {
			switch op := r.IntN(8); {
			case op < 3 && ring.len() < 3000:
				k := key()
				seq := ring.push(obs{fp: k, first: true})
				x.put(k, seq, &ring)
				ref[k] = seq
			case op < 5 && ring.len() > 0:
				if k := ring.at(ring.head).fp; ref[k] == ring.head {
					delete(ref, k)
				}
				ring.head++
			default:
				k := key()
				v, ok := x.get(k, &ring)
				rv, rok := ref[k]
				if ok != rok || v != rv {
					t.Fatalf("keys %d step %d: get(%d) = %d,%v; map says %d,%v", keys, i, k, v, ok, rv, rok)
				}
			}
			if x.used < len(ref) || x.used*4 > len(x.slots)*3 {
				t.Fatalf("keys %d step %d: %d slots used of %d, %d live", keys, i, x.used, len(x.slots), len(ref))
			}
		}
	}
}

func TestRingKeepsOrderAcrossGrowth(t *testing.T) {
	// Why: growth re-places entries by sequence number; a wrapped ring must survive it.
	var r obsRing
	for i := 0; i < 700; i++ {
		r.push(obs{number: uint64(i)})
	}
	r.head = 600 // the ring has wrapped past its start
	for i := 700; i < 2000; i++ {
		r.push(obs{number: uint64(i)})
	}
	for s := r.head; s != r.tail; s++ {
		if r.at(s).number != s {
			t.Fatalf("seq %d holds %d", s, r.at(s).number)
		}
	}
	if r.full(1 << 20) {
		t.Error("ring reports full below its limit")
	}
}
