package journey

import (
	"math/rand/v2"
	"testing"
)

func TestFPIndexAgainstMap(t *testing.T) {
	// Why: the open-addressing index with backward-shift deletion is hand-written; a Go map is
	// its oracle over a long random mix of puts, gets and deletes, including colliding keys
	// (few distinct keys force long probe runs).
	for _, keys := range []uint64{50, 5000} {
		r := rand.New(rand.NewPCG(3, uint64(keys)))
		var x fpIndex
		ref := map[uint64]int32{}
		for i := 0; i < 200_000; i++ {
			k := r.Uint64N(keys) + 1
			switch r.IntN(3) {
			case 0:
				v := int32(r.IntN(1 << 20))
				x.put(k, v)
				ref[k] = v
			case 1:
				x.del(k)
				delete(ref, k)
			default:
				v, ok := x.get(k)
				rv, rok := ref[k]
				if ok != rok || v != rv {
					t.Fatalf("keys %d step %d: get(%d) = %d,%v; map says %d,%v", keys, i, k, v, ok, rv, rok)
				}
			}
			if x.n != len(ref) {
				t.Fatalf("size %d, map %d", x.n, len(ref))
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
