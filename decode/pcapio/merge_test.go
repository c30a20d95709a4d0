package pcapio

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"testing"

	"github.com/stackflow/stackflow/internal/testenv"
)

// mergeInput builds a pcap source whose records have the given times (in seconds) and data
// derived from (input, number), so any overwritten buffer shows.
func mergeInput(t testing.TB, input int, secs ...uint32) Source {
	t.Helper()
	var recs []pcapRec
	for n, s := range secs {
		recs = append(recs, pcapRec{sec: s, data: recordBytes(input, n+1)})
	}
	src, err := NewReader(bytes.NewReader(buildPcap(false, false, 1, 0, recs...)), "in", Options{})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// recordBytes is the payload of record number n of input i: same length for every record (so
// the reader reuses its buffer in place), distinct content.
func recordBytes(input, n int) []byte {
	return payload(byte(input*50+n), 48)
}

// TestMergeOrder merges three inputs with equal times inside and across inputs and compares
// with a slow reference: a stable sort by (time, input) of all records in file order.
func TestMergeOrder(t *testing.T) {
	times := [][]uint32{{1, 3, 3, 5}, {2, 3, 6}, {0, 3, 5}}
	type key struct {
		time   int64
		input  int
		number uint64
	}
	var want []key
	for i, ts := range times {
		for n, s := range ts {
			want = append(want, key{int64(s) * 1e9, i, uint64(n + 1)})
		}
	}
	slices.SortStableFunc(want, func(a, b key) int {
		if a.time != b.time {
			return int(a.time - b.time)
		}
		return a.input - b.input
	})
	var srcs []Source
	for i, ts := range times {
		srcs = append(srcs, mergeInput(t, i, ts...))
	}
	m := Merge(srcs)
	var got []key
	for {
		var r Record
		err := m.Next(&r)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		// Aliasing rule: the record just returned is intact now; the source it came from has
		// not been read ahead (its buffer is shared with the next record).
		if !bytes.Equal(r.Data, recordBytes(r.Input, int(r.Number))) {
			t.Fatalf("record %d of input %d overwritten before the next call", r.Number, r.Input)
		}
		got = append(got, key{r.Time, r.Input, r.Number})
	}
	if !slices.Equal(got, want) {
		t.Errorf("order\n got  %v\n want %v", got, want)
	}
	if m.Format() != "merged" || m.Interfaces() != nil || len(m.InputInterfaces(2)) != 1 || m.InputInterfaces(3) != nil {
		t.Errorf("format %q, interfaces %v / %v", m.Format(), m.Interfaces(), m.InputInterfaces(2))
	}
	var r Record
	if err := m.Next(&r); err != io.EOF {
		t.Errorf("after the end: %v", err)
	}
}

// TestMergeEdges covers no inputs, empty inputs and a single input.
func TestMergeEdges(t *testing.T) {
	for _, tc := range []struct {
		name string
		srcs func() []Source
		want int
	}{
		// Nothing to merge: EOF at once.
		{name: "none", srcs: func() []Source { return nil }, want: 0},
		// Inputs with a header and no records.
		{name: "all-empty", srcs: func() []Source { return []Source{mergeInput(t, 0), mergeInput(t, 1)} }, want: 0},
		// One input passes through unchanged.
		{name: "single", srcs: func() []Source { return []Source{mergeInput(t, 0, 5, 4, 3)} }, want: 3},
		// An empty input among others.
		{name: "one-empty", srcs: func() []Source { return []Source{mergeInput(t, 0), mergeInput(t, 1, 1, 2)} }, want: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recs, err := drain(Merge(tc.srcs()))
			if err != nil || len(recs) != tc.want {
				t.Fatalf("records %d err %v, want %d", len(recs), err, tc.want)
			}
			// A single out-of-order file keeps its order: merging never reorders one input.
			for i := 1; i < len(recs); i++ {
				if recs[i].Input == recs[i-1].Input && recs[i].Number < recs[i-1].Number {
					t.Errorf("input %d reordered", recs[i].Input)
				}
			}
		})
	}
}

// failing is a source that yields one record and then fails with a non-EOF error.
type failing struct {
	n      int
	closed bool
}

var errDisk = errors.New("disk on fire")

func (f *failing) Next(r *Record) error {
	f.n++
	if f.n == 1 {
		*r = Record{Time: 15e8, Number: 1, Data: []byte{1}}
		return nil
	}
	return errDisk
}
func (f *failing) Interfaces() []Interface { return nil }
func (f *failing) Format() string          { return "test" }
func (f *failing) Close() error            { f.closed = true; return nil }

// TestMergeSourceError: a failing input is dropped with its error (naming the input); the
// others carry on and Close reaches every input.
func TestMergeSourceError(t *testing.T) {
	f := &failing{}
	m := Merge([]Source{mergeInput(t, 0, 1, 2, 3), f})
	var got []int
	var errs []error
	for range 10 {
		var r Record
		err := m.Next(&r)
		if err == io.EOF {
			break
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		got = append(got, r.Input)
	}
	if !slices.Equal(got, []int{0, 1, 0, 0}) || len(errs) != 1 || !errors.Is(errs[0], errDisk) {
		t.Fatalf("inputs %v errors %v", got, errs)
	}
	if err := m.Close(); err != nil || !f.closed {
		t.Errorf("close %v closed %v", err, f.closed)
	}
}

// TestMergeRealCaptures merges the three ns-3 captures of one flow (same simulated clock): the
// merged stream must be non-decreasing in time and hold every record of every input.
func TestMergeRealCaptures(t *testing.T) {
	dir := testenv.CapturesOrSkip(t)
	var srcs []Source
	var total int
	for _, name := range []string{"multihop-ns3-n0-p2p.pcap", "multihop-ns3-n1-p2p.pcap", "multihop-ns3-n2-csma.pcap"} {
		s, err := Open(dir+"/"+name, Options{})
		if err != nil {
			t.Skip(err)
		}
		recs, _ := drain(s)
		total += len(recs)
		s.Close()
		if s, err = Open(dir+"/"+name, Options{}); err != nil {
			t.Fatal(err)
		}
		srcs = append(srcs, s)
	}
	m := Merge(srcs)
	defer m.Close()
	recs, err := drain(m)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != total {
		t.Errorf("%d merged records, inputs hold %d", len(recs), total)
	}
	for i := 1; i < len(recs); i++ {
		if recs[i].Time < recs[i-1].Time {
			t.Errorf("record %d goes back in time", i)
		}
	}
	if m.InputInterfaces(1)[0].LinkType != 9 || m.InputInterfaces(2)[0].LinkType != 1 {
		t.Errorf("link types %v %v", m.InputInterfaces(1), m.InputInterfaces(2))
	}
}
