package conn

import (
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/stackflow/stackflow/decode"
)

func TestFlowIndexAgainstMap(t *testing.T) {
	// Why: the open-addressing index with backward-shift deletion is hand-written; a Go map is
	// its oracle over a long random mix of inserts, lookups and deletes. A fixed seed with few
	// distinct tags (a tiny shift range) forces long probe runs and tag collisions, which the
	// key comparison against the arena must resolve.
	for _, keys := range []int{40, 4000} {
		r := rand.New(rand.NewPCG(5, uint64(keys)))
		var a arena
		var x flowIndex
		x.seed = 1
		ref := map[Key]int32{}
		keyOf := func(i int) Key {
			k, _ := MakeKey(i%3, decode.Tuple{Src: netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}),
				Dst: netip.MustParseAddr("192.168.0.1"), SrcPort: uint16(i), DstPort: 80, Proto: 6}, 0, false)
			return k
		}
		var free []int32
		for step := 0; step < 200_000; step++ {
			k := keyOf(r.IntN(keys))
			h := x.hashKey(&k)
			if keys == 40 {
				h &= 0x0000_0003_ffff_ffff // four tags only
			}
			idx, ok := x.get(&k, h, &a)
			ridx, rok := ref[k]
			if ok != rok || (ok && idx != ridx) {
				t.Fatalf("keys %d step %d: get = %d,%v; map says %d,%v", keys, step, idx, ok, ridx, rok)
			}
			switch {
			case !ok && r.IntN(2) == 0:
				var slot int32
				if n := len(free); n > 0 {
					slot, free = free[n-1], free[:n-1]
				} else {
					slot = a.grow()
				}
				a.at(slot).rec.Key = k
				x.put(h, slot)
				ref[k] = slot
			case ok && r.IntN(2) == 0:
				x.del(h, idx)
				a.at(idx).rec.Key = Key{}
				free = append(free, idx)
				delete(ref, k)
			}
			if x.n != len(ref) || x.n*2 > len(x.slots) {
				t.Fatalf("keys %d step %d: %d entries in %d slots, map has %d", keys, step, x.n, len(x.slots), len(ref))
			}
		}
		seen := 0
		x.each(func(idx int32) {
			if ref[a.at(idx).rec.Key] != idx {
				t.Fatalf("each gave slot %d, which the map does not hold", idx)
			}
			seen++
		})
		if seen != len(ref) {
			t.Errorf("each visited %d slots, want %d", seen, len(ref))
		}
	}
}
