package ui

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stackflow/stackflow/flows"
)

// fakeSource answers packet requests from a function, counting calls.
type fakeSource struct {
	mu    sync.Mutex
	calls int
	fn    func(ctx context.Context, t Target) (*PacketList, error)
}

func (f *fakeSource) Packets(ctx context.Context, t Target) (*PacketList, error) {
	f.mu.Lock()
	f.calls++
	f.mu.Unlock()
	return f.fn(ctx, t)
}

// changes collects notifications.
type changes struct {
	mu  sync.Mutex
	got []Change
	ch  chan Change
}

func listen(m *Model) *changes {
	c := &changes{ch: make(chan Change, 64)}
	m.Listen(func(x Change) {
		c.mu.Lock()
		c.got = append(c.got, x)
		c.mu.Unlock()
		c.ch <- x
	})
	return c
}

// waitPackets waits until the model's packet state satisfies ok.
func waitPackets(t *testing.T, m *Model, ok func(PacketsState) bool) PacketsState {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if st := m.Packets(); ok(st) {
			return st
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("packet state never settled: %+v", m.Packets())
	return PacketsState{}
}

func TestModelFilter(t *testing.T) {
	m := NewModel(fixtureReport(), nil, nil)
	c := listen(m)
	// A bad expression changes nothing and returns the column-carrying error.
	err := m.SetFilter("host 10.0.0.4 and")
	var fe *flows.FilterError
	if !errors.As(err, &fe) || fe.Column == 0 {
		t.Fatalf("error %v, want a *flows.FilterError with a column", err)
	}
	if m.Report() != m.FullReport() || len(c.got) != 0 {
		t.Fatalf("a rejected filter changed the model")
	}
	// A good one narrows the report shown, keeps the full one, and notifies.
	if err := m.SetFilter("DSR"); err != nil {
		t.Fatal(err)
	}
	if got := len(m.Report().Paths); got != 2 || len(m.FullReport().Paths) != 4 {
		t.Errorf("dsr kept %d paths of %d, want 2 of 4", got, len(m.FullReport().Paths))
	}
	if m.Filter() != "dsr" || c.got[0] != ReportChanged {
		t.Errorf("filter %q, changes %v", m.Filter(), c.got)
	}
	// Blank clears.
	if err := m.SetFilter("  "); err != nil || m.Report() != m.FullReport() || m.Filter() != "" {
		t.Errorf("clearing: err %v filter %q", err, m.Filter())
	}
}

func TestModelPackets(t *testing.T) {
	release := make(chan struct{})
	src := &fakeSource{fn: func(ctx context.Context, t Target) (*PacketList, error) {
		switch t.Sel.Path {
		case "p1":
			<-release
			return &PacketList{Target: t, Total: 1, Rows: []PacketRow{{Number: 1}}}, nil
		case "p2":
			return &PacketList{Target: t, Total: 2, Rows: []PacketRow{{Number: 1}, {Number: 2}}}, nil
		case "p3":
			panic("reader bug")
		}
		return nil, errors.New("no such path")
	}}
	m := NewModel(fixtureReport(), src, nil)
	p1 := Target{Sel: flows.Selection{Path: "p1"}, Title: "path p1"}
	p2 := Target{Sel: flows.Selection{Path: "p2"}, Title: "path p2"}

	t.Run("loading then done", func(t *testing.T) {
		m.OpenPackets(p1)
		if st := m.Packets(); !st.Loading || st.Target.Title != "path p1" {
			t.Fatalf("state %+v, want loading p1", st)
		}
		close(release)
		st := waitPackets(t, m, func(s PacketsState) bool { return !s.Loading })
		if st.Err != nil || st.List.Total != 1 {
			t.Fatalf("state %+v", st)
		}
	})
	t.Run("cached", func(t *testing.T) {
		m.OpenPackets(p2)
		waitPackets(t, m, func(s PacketsState) bool { return !s.Loading })
		calls := src.calls
		// Going back to p1 is served from the cache, without reading.
		m.OpenPackets(p1)
		if st := m.Packets(); st.Loading || st.List == nil || st.List.Total != 1 || src.calls != calls {
			t.Fatalf("p1 again: %+v after %d calls (was %d)", st, src.calls, calls)
		}
	})
	t.Run("superseded load is dropped", func(t *testing.T) {
		slow := make(chan struct{})
		src2 := &fakeSource{fn: func(ctx context.Context, t Target) (*PacketList, error) {
			if t.Sel.Flow == "f1" {
				<-slow
			}
			return &PacketList{Target: t, Total: len(t.Sel.Flow)}, nil
		}}
		m2 := NewModel(fixtureReport(), src2, nil)
		m2.OpenPackets(Target{Sel: flows.Selection{Flow: "f1"}})
		m2.OpenPackets(Target{Sel: flows.Selection{Flow: "f22"}})
		waitPackets(t, m2, func(s PacketsState) bool { return !s.Loading })
		close(slow)
		time.Sleep(50 * time.Millisecond)
		// The late answer for f1 must not replace what the user asked for last.
		if st := m2.Packets(); st.Target.Sel.Flow != "f22" {
			t.Errorf("shown %+v, want f22", st.Target)
		}
	})
	t.Run("a panicking reader becomes an error", func(t *testing.T) {
		m.OpenPackets(Target{Sel: flows.Selection{Path: "p3"}})
		st := waitPackets(t, m, func(s PacketsState) bool { return !s.Loading })
		if st.Err == nil || !strings.Contains(st.Err.Error(), "reader bug") {
			t.Errorf("err %v", st.Err)
		}
	})
	t.Run("no source", func(t *testing.T) {
		m3 := NewModel(fixtureReport(), nil, nil)
		m3.OpenPackets(p1)
		if st := m3.Packets(); st.Loading || !errors.Is(st.Err, errNoSource) {
			t.Errorf("state %+v", st)
		}
	})
}

func TestCacheBound(t *testing.T) {
	src := &fakeSource{fn: func(ctx context.Context, t Target) (*PacketList, error) { return &PacketList{Target: t}, nil }}
	m := NewModel(fixtureReport(), src, nil)
	for i := 0; i < cacheSize+3; i++ {
		m.OpenPackets(Target{Sel: flows.Selection{Flow: "f" + string(rune('a'+i))}})
		waitPackets(t, m, func(s PacketsState) bool { return !s.Loading })
	}
	m.mu.Lock()
	n := len(m.cache)
	m.mu.Unlock()
	if n != cacheSize {
		t.Errorf("%d lists cached, want %d", n, cacheSize)
	}
}
