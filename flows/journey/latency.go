package journey

import (
	"math"
	"math/bits"
	"sort"
)

// Latency summarises one hop's delays from the previous hop, in microseconds, after clock
// correction. Valid is false for a first hop (nothing to measure from).
type Latency struct {
	Valid   bool
	Min     float64 // exact
	Median  float64 // from the histogram: within about 3% of the true value
	P99     float64 // from the histogram: within about 3% of the true value
	Samples int
}

// hist is a bounded, sparse, signed log-linear histogram of nanosecond deltas. Raw deltas can
// be negative before clock correction, so both signs are kept. Magnitudes below subBuckets are
// exact; above, each power of two is split into subBuckets linear buckets (relative error at
// most 1/subBuckets). Keys are ordered like the values they stand for, so quantiles walk the
// sorted key list. A delta distribution occupies few buckets, so the sparse form costs a few
// dozen bytes per hop rather than a dense array of ~2000 counters; the key space is bounded
// (2048 keys), so the histogram never grows past 16 KB whatever the input.
type hist struct {
	n        uint64
	min, max int64
	b        []bucket // sorted by key
}

type bucket struct {
	key uint16
	n   uint32
}

const (
	subBits    = 4
	subBuckets = 1 << subBits // 16 linear buckets per power of two
	magKeys    = 1024         // keys per sign; covers magnitudes up to 2^63
)

// magKey maps a non-negative magnitude to its bucket (0..magKeys-1), monotonic in m.
func magKey(m uint64) uint16 {
	if m < subBuckets {
		return uint16(m)
	}
	e := bits.Len64(m) - subBits - 1 // m >> e is in [subBuckets, 2*subBuckets)
	return uint16(subBuckets + e*subBuckets + int(m>>uint(e)) - subBuckets)
}

// magRange returns the smallest and largest magnitudes of a bucket.
func magRange(k uint16) (lo, hi uint64) {
	if k < subBuckets {
		return uint64(k), uint64(k)
	}
	e := uint((int(k) - subBuckets) / subBuckets)
	mant := uint64(subBuckets + (int(k)-subBuckets)%subBuckets)
	lo = mant << e
	return lo, lo + (uint64(1) << e) - 1
}

// bucketKey maps a signed delta to its key; negative values sort below non-negative ones.
func bucketKey(v int64) uint16 {
	if v >= 0 {
		return magKeys + magKey(uint64(v))
	}
	m := uint64(-(v + 1)) + 1 // |v| without overflowing on MinInt64
	return magKeys - 1 - magKey(m)
}

// bucketMid is the value a bucket stands for: the midpoint of its range.
func bucketMid(k uint16) float64 {
	if k >= magKeys {
		lo, hi := magRange(k - magKeys)
		return (float64(lo) + float64(hi)) / 2
	}
	lo, hi := magRange(magKeys - 1 - k)
	return -(float64(lo) + float64(hi)) / 2
}

// add records one delta in nanoseconds. It allocates only when a bucket is used for the first
// time.
func (h *hist) add(v int64) {
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if h.n == 0 || v > h.max {
		h.max = v
	}
	h.n++
	h.addKey(bucketKey(v), 1)
}

func (h *hist) addKey(k uint16, n uint32) {
	// Deltas of one hop cluster in a few buckets: check the common case, then search.
	i := sort.Search(len(h.b), func(i int) bool { return h.b[i].key >= k })
	if i < len(h.b) && h.b[i].key == k {
		if h.b[i].n > math.MaxUint32-n {
			h.b[i].n = math.MaxUint32
		} else {
			h.b[i].n += n
		}
		return
	}
	h.b = append(h.b, bucket{})
	copy(h.b[i+1:], h.b[i:])
	h.b[i] = bucket{key: k, n: n}
}

// merge adds o's samples to h.
func (h *hist) merge(o *hist) {
	if o.n == 0 {
		return
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	if h.n == 0 || o.max > h.max {
		h.max = o.max
	}
	h.n += o.n
	for _, b := range o.b {
		h.addKey(b.key, b.n)
	}
}

// quantile returns the q-quantile (0..1) in nanoseconds: the midpoint of the bucket holding the
// sample of rank ceil(q*n), clamped to the exact min and max so that small sample sets and
// single-valued ones come out exact.
func (h *hist) quantile(q float64) float64 {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	if rank < 1 {
		rank = 1
	}
	var seen uint64
	v := float64(h.max)
	for _, b := range h.b {
		seen += uint64(b.n)
		if seen >= rank {
			v = bucketMid(b.key)
			break
		}
	}
	return math.Min(math.Max(v, float64(h.min)), float64(h.max))
}

// summary converts h into a Latency in microseconds after adding shift nanoseconds to every
// sample (the clock correction between the two points; quantiles commute with a shift).
func (h *hist) summary(shift int64) Latency {
	if h.n == 0 {
		return Latency{}
	}
	const us = 1e3
	return Latency{
		Valid:   true,
		Min:     float64(h.min+shift) / us,
		Median:  (h.quantile(0.5) + float64(shift)) / us,
		P99:     (h.quantile(0.99) + float64(shift)) / us,
		Samples: int(min(h.n, math.MaxInt32)),
	}
}
