package journey

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

func TestBucketKeyMonotonic(t *testing.T) {
	// Why: quantiles walk keys in order, so keys must sort like the values they stand for,
	// across the sign boundary and up to the extremes.
	vals := []int64{math.MinInt64, -1 << 40, -123456, -17, -16, -15, -1, 0, 1, 15, 16, 17, 31, 32,
		33, 1000, 123456, 1 << 40, math.MaxInt64}
	for i := 1; i < len(vals); i++ {
		a, b := bucketKey(vals[i-1]), bucketKey(vals[i])
		if a > b {
			t.Errorf("key(%d)=%d > key(%d)=%d", vals[i-1], a, vals[i], b)
		}
	}
	for _, v := range vals {
		k := bucketKey(v)
		if k >= 2*magKeys {
			t.Errorf("key(%d)=%d out of range", v, k)
		}
		mid := bucketMid(k)
		if v != 0 && math.Abs(mid-float64(v))/math.Abs(float64(v)) > 1.0/subBuckets {
			t.Errorf("bucket of %d stands for %v: error above 1/%d", v, mid, subBuckets)
		}
	}
}

func TestHistQuantilesAgainstExact(t *testing.T) {
	// Why: the histogram is an approximation; compare it with exact quantiles of the same
	// samples (a slow reference oracle) on realistic and hostile distributions.
	cases := []struct {
		name string
		gen  func(r *rand.Rand) int64
	}{
		{"lognormal latency", func(r *rand.Rand) int64 { return int64(math.Exp(r.NormFloat64()*0.8 + 11)) }},
		{"signed skewed", func(r *rand.Rand) int64 { return r.Int64N(2_000_000) - 1_500_000 }},
		{"constant", func(*rand.Rand) int64 { return 42_000 }},
		{"bimodal", func(r *rand.Rand) int64 {
			if r.IntN(10) == 0 {
				return 5_000_000 + r.Int64N(1000)
			}
			return 30_000 + r.Int64N(100)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			var h hist
			var xs []int64
			for i := 0; i < 20000; i++ {
				v := c.gen(r)
				h.add(v)
				xs = append(xs, v)
			}
			sort.Slice(xs, func(i, j int) bool { return xs[i] < xs[j] })
			if h.min != xs[0] || h.max != xs[len(xs)-1] {
				t.Errorf("min/max %d/%d, want %d/%d", h.min, h.max, xs[0], xs[len(xs)-1])
			}
			for _, q := range []float64{0.5, 0.99} {
				exact := float64(xs[int(math.Ceil(q*float64(len(xs))))-1])
				got := h.quantile(q)
				if math.Abs(got-exact) > math.Abs(exact)/subBuckets+1 {
					t.Errorf("q%v = %v, exact %v", q, got, exact)
				}
			}
			if len(h.b) > 2*magKeys {
				t.Errorf("%d buckets", len(h.b))
			}
		})
	}
}

func TestHistMergeAndShift(t *testing.T) {
	// Why: links merge path histograms, and clock correction shifts a summary; both must agree
	// with a histogram built from the shifted samples directly.
	var a, b, all hist
	for i := int64(0); i < 1000; i++ {
		a.add(i * 1000)
		b.add(-i * 500)
		all.add(i * 1000)
		all.add(-i * 500)
	}
	a.merge(&b)
	if a.n != all.n || a.min != all.min || a.max != all.max || a.quantile(0.5) != all.quantile(0.5) {
		t.Errorf("merged %+v != direct %+v", a.summary(0), all.summary(0))
	}
	s := a.summary(-2_000_000)
	if s.Min != float64(all.min-2_000_000)/1e3 || s.Median != (all.quantile(0.5)-2_000_000)/1e3 {
		t.Errorf("shifted summary %+v", s)
	}
	var empty hist
	if empty.summary(5).Valid {
		t.Error("empty histogram gives a valid latency")
	}
}

func TestHistAllocationFree(t *testing.T) {
	// Why: the hot path adds to histograms per journey hop; once buckets exist it must not
	// allocate.
	var h hist
	for i := int64(0); i < 100; i++ {
		h.add(i * 37)
	}
	allocs := testing.AllocsPerRun(1000, func() { h.add(1234) })
	if allocs != 0 {
		t.Errorf("add allocates %v times", allocs)
	}
}
