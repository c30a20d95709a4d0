package journey

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
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
				x.put(k, k, 0, seq, &ring)
				ref[k] = seq
			case op < 5 && ring.len() > 0:
				if k := ring.at(ring.head).fp; ref[k] == ring.head {
					delete(ref, k)
				}
				ring.head++
			default:
				k := key()
				v, ok := x.get(k, k, 0, &ring)
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

func TestClassIndexAgainstEveryCandidate(t *testing.T) {
	// Why: candidates skips, through the class index, the journeys that match would reject at
	// their first observation; trying every journey with the key is its oracle. Few header
	// keys, few payload fingerprints (0 among them: cut payloads), several locations and TTLs,
	// repeats (duplicates), reversed tuples and a window short enough that chains expire
	// mid-stream must give the same journeys, hop by hop, and the same counters.
	type hop struct {
		ref PacketRef
		seg int
		tr  Transform
	}
	run := func(every bool, seed uint64) ([][]hop, Stats) {
		r := rand.New(rand.NewPCG(seed, 9))
		var got [][]hop
		tr := NewTracker(Config{Window: 200 * time.Microsecond, OnJourney: func(hs []JourneyHop) {
			j := make([]hop, len(hs))
			for i, h := range hs {
				j[i] = hop{h.Ref, h.Segment, h.Transform}
			}
			got = append(got, j)
		}})
		tr.everyCandidate = every
		tuples := [][2]string{{client, vip}, {vip, client}, {natPub, vip}}
		for i := 0; i < 20_000; i++ {
			tu := tuples[r.IntN(len(tuples))]
			b := pk(r.IntN(3), int64(i)*2*us/3, 0).tuple(tu[0], tu[1], 17).ttl(uint8(60+r.IntN(4))).
				macs(mac(byte(r.IntN(3))), mac(byte(3+r.IntN(2))))
			b.p.HeaderFingerprint = uint64(1 + r.IntN(4))
			b.p.Fingerprint = b.p.HeaderFingerprint
			if r.IntN(5) > 0 {
				b.p.Fingerprint = uint64(100 + r.IntN(6))
				b.p.PayloadHashLen = 16
			}
			b.p.Number = uint64(i + 1)
			tr.Observe(&b.p, NoFlow)
		}
		res := tr.Finish()
		return got, res.Stats
	}
	for seed := uint64(1); seed <= 3; seed++ {
		want, wantStats := run(true, seed)
		got, gotStats := run(false, seed)
		if gotStats != wantStats {
			t.Fatalf("seed %d: stats %+v, every candidate gives %+v", seed, gotStats, wantStats)
		}
		if len(got) != len(want) {
			t.Fatalf("seed %d: %d journeys, every candidate gives %d", seed, len(got), len(want))
		}
		for i := range want {
			if !slices.Equal(got[i], want[i]) {
				t.Fatalf("seed %d journey %d: %v, every candidate gives %v", seed, i, got[i], want[i])
			}
		}
		if wantStats.Journeys == wantStats.Observations-wantStats.Duplicates {
			t.Fatalf("seed %d: no observation joined a journey; the stream tests nothing", seed)
		}
	}
}

func TestFPIndexIdleAcrossSequenceWrap(t *testing.T) {
	// Why: slots keep 32 bits of a sequence number. An index left without insertions for
	// 2^32 observations (the class index, when keys stop colliding) must not take an entry
	// from before for a journey now in the ring at the same 32-bit position.
	var x fpIndex
	x.byClass = true
	var ring obsRing
	seq := ring.push(obs{fp: 7, pfp: 9, first: true, n: 1})
	x.put(9, 7, 9, seq, &ring)
	// 2^32 observations later the ring holds a journey with the same key and payload at the
	// same low 32 bits; it was never filed in this index.
	ring.head, ring.tail = 1<<32, 1<<32
	ring.push(obs{fp: 7, pfp: 9, first: true, n: 1})
	if got, ok := x.get(9, 7, 9, &ring); ok {
		t.Errorf("get found journey %d, filed 2^32 observations ago", got)
	}
}
