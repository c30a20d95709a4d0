package pcapio

import (
	"errors"
	"fmt"
	"io"
)

// Merged interleaves several sources by record time. Each source's pending record aliases that
// source's buffer, so a source is refilled only on the Next call after its record was returned:
// the record handed out stays intact until the following Next, like a single source's.
type Merged struct {
	srcs    []Source
	pending []Record // one look-ahead record per source
	heap    []int    // indices of sources with a pending record, a binary min-heap
	last    int      // source whose record Next returned last; -1 when none is owed a refill
	started bool
}

// Merge returns a source yielding the records of srcs in time order. Ties go to the lower input
// index, then to file order. Record.Input is set to the source's index in srcs. Problems keep
// flowing through each source's own callback. Closing the merged source closes every input.
func Merge(srcs []Source) *Merged {
	return &Merged{
		srcs:    srcs,
		pending: make([]Record, len(srcs)),
		heap:    make([]int, 0, len(srcs)),
		last:    -1,
	}
}

// Next implements Source. A source failing with an error other than io.EOF is dropped from the
// merge and its error returned (wrapped, naming the input); the next call carries on with the
// other inputs.
func (m *Merged) Next(rec *Record) error {
	if !m.started {
		m.started = true
		var errs []error
		for i := range m.srcs {
			if err := m.fill(i); err != nil {
				errs = append(errs, err)
			}
		}
		if len(errs) > 0 {
			return errors.Join(errs...)
		}
	} else if i := m.last; i >= 0 {
		m.last = -1
		if err := m.fill(i); err != nil {
			return err
		}
	}
	if len(m.heap) == 0 {
		return io.EOF
	}
	i := m.heap[0]
	*rec = m.pending[i]
	rec.Input = i
	m.last = i
	return nil
}

// fill reads the next record of source i into its pending slot and restores the heap. Before
// the first Next the heap is built by pushes; afterwards source i is always at the root.
func (m *Merged) fill(i int) error {
	err := m.srcs[i].Next(&m.pending[i])
	atRoot := len(m.heap) > 0 && m.heap[0] == i
	if err != nil {
		if atRoot {
			m.popRoot()
		}
		if err == io.EOF {
			return nil
		}
		return fmt.Errorf("input %d: %w", i, err)
	}
	if atRoot {
		m.down(0)
		return nil
	}
	m.heap = append(m.heap, i)
	m.up(len(m.heap) - 1)
	return nil
}

// less orders sources by pending time, then by input index.
func (m *Merged) less(a, b int) bool {
	ta, tb := m.pending[a].Time, m.pending[b].Time
	if ta != tb {
		return ta < tb
	}
	return a < b
}

func (m *Merged) popRoot() {
	n := len(m.heap) - 1
	m.heap[0] = m.heap[n]
	m.heap = m.heap[:n]
	if n > 0 {
		m.down(0)
	}
}

func (m *Merged) up(j int) {
	h := m.heap
	for j > 0 {
		p := (j - 1) / 2
		if !m.less(h[j], h[p]) {
			return
		}
		h[j], h[p] = h[p], h[j]
		j = p
	}
}

func (m *Merged) down(j int) {
	h := m.heap
	for {
		c := 2*j + 1
		if c >= len(h) {
			return
		}
		if r := c + 1; r < len(h) && m.less(h[r], h[c]) {
			c = r
		}
		if !m.less(h[c], h[j]) {
			return
		}
		h[j], h[c] = h[c], h[j]
		j = c
	}
}

// Interfaces implements Source but means nothing for a merge, whose inputs number their
// interfaces independently: it returns nil. Use InputInterfaces.
func (m *Merged) Interfaces() []Interface { return nil }

// InputInterfaces returns the interfaces of input i (Record.Input), nil when i is out of range.
func (m *Merged) InputInterfaces(i int) []Interface {
	if i < 0 || i >= len(m.srcs) {
		return nil
	}
	return m.srcs[i].Interfaces()
}

// Inputs returns the merged sources, in input order.
func (m *Merged) Inputs() []Source { return m.srcs }

// Format implements Source: "merged".
func (m *Merged) Format() string { return "merged" }

// Close closes every input and joins their errors.
func (m *Merged) Close() error {
	var errs []error
	for i, s := range m.srcs {
		if err := s.Close(); err != nil {
			errs = append(errs, fmt.Errorf("input %d: %w", i, err))
		}
	}
	m.heap = m.heap[:0]
	return errors.Join(errs...)
}
