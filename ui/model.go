package ui

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/stackflow/stackflow/flows"
)

// Change says what part of the Model changed; listeners receive a bit set.
type Change uint8

// Change bits.
const (
	ReportChanged  Change = 1 << iota // the filter (and so the report shown) changed
	PacketsChanged                    // the packet target, its loading state or its list changed
)

// Target names a set of packets to re-read from the inputs: a report path or flow
// (Selection), or individual packets a finding points at (Refs). Title says it for people.
type Target struct {
	Sel   flows.Selection
	Refs  []flows.PacketRef
	Title string
}

// key identifies the target for caching.
func (t Target) key() string {
	if len(t.Refs) == 0 {
		return t.Sel.String()
	}
	var b strings.Builder
	b.WriteString("refs")
	for _, r := range t.Refs {
		fmt.Fprintf(&b, " %s#%d", r.Point, r.Number)
	}
	return b.String()
}

// Empty reports whether the target names nothing.
func (t Target) Empty() bool { return t.Sel.Path == "" && t.Sel.Flow == "" && len(t.Refs) == 0 }

// PacketsState is the packet view's state: what is shown, whether it is still loading, and the
// result or the error.
type PacketsState struct {
	Target  Target
	Loading bool
	List    *PacketList
	Err     error
	Elapsed time.Duration // how long the last load took
}

// Model is the state every view renders: the full report, the filter narrowing it, and the
// packets of the current target. It is safe for concurrent use. Listeners are called after each
// change from the goroutine that made it (the UI goroutine or a loader goroutine), so they must
// neither block nor call back into tview synchronously.
type Model struct {
	mu        sync.Mutex
	full      *flows.Report
	shown     *flows.Report
	filter    *flows.Filter
	source    PacketSource
	log       *slog.Logger
	packets   PacketsState
	cancel    context.CancelFunc
	gen       uint64 // load generation: a finished load applies only if still current
	cache     map[string]*PacketList
	order     []string // cache keys, oldest first
	listeners []func(Change)
}

// cacheSize is how many packet lists are kept: going back and forth between a few paths is
// instant, while memory stays bounded by a few lists.
const cacheSize = 8

// NewModel returns a model over r (the unfiltered report) reading packets from src (nil: packet
// lists are unavailable) and logging to log (nil: discarded).
func NewModel(r *flows.Report, src PacketSource, log *slog.Logger) *Model {
	if r == nil {
		r = &flows.Report{Schema: flows.Schema}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Model{full: r, shown: r, source: src, log: log, cache: map[string]*PacketList{}}
}

// Listen registers fn to be called after every change.
func (m *Model) Listen(fn func(Change)) {
	m.mu.Lock()
	m.listeners = append(m.listeners, fn)
	m.mu.Unlock()
}

func (m *Model) notify(c Change) {
	m.mu.Lock()
	ls := slices.Clone(m.listeners)
	m.mu.Unlock()
	for _, fn := range ls {
		fn(c)
	}
}

// Report returns the report as filtered now. It must be treated as read-only.
func (m *Model) Report() *flows.Report {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.shown
}

// FullReport returns the unfiltered report.
func (m *Model) FullReport() *flows.Report {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.full
}

// Filter returns the filter expression in force, in canonical form ("" for none).
func (m *Model) Filter() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.filter.String()
}

// SetFilter compiles expr and shows the report narrowed by it; an empty expr shows the whole
// report. A bad expression changes nothing and returns the *flows.FilterError.
func (m *Model) SetFilter(expr string) error {
	var f *flows.Filter
	if strings.TrimSpace(expr) != "" {
		var err error
		if f, err = flows.CompileFilter(expr); err != nil {
			return err
		}
	}
	start := time.Now()
	m.mu.Lock()
	full := m.full
	m.mu.Unlock()
	shown := full
	if f != nil {
		shown = f.Apply(full)
	}
	m.mu.Lock()
	m.filter, m.shown = f, shown
	m.mu.Unlock()
	m.log.Info("filter", "expr", f.String(), "paths", len(shown.Paths), "flows", len(shown.Flows), "took", time.Since(start))
	m.notify(ReportChanged)
	return nil
}

// Packets returns the packet view's state.
func (m *Model) Packets() PacketsState {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.packets
}

// OpenPackets makes t the packet view's target and re-reads its packets in a goroutine unless
// they are cached; listeners hear PacketsChanged when loading starts and when it ends. A load
// still running for an earlier target is cancelled.
func (m *Model) OpenPackets(t Target) {
	m.mu.Lock()
	if m.cancel != nil {
		m.cancel()
		m.cancel = nil
	}
	m.gen++
	gen := m.gen
	if l, ok := m.cache[t.key()]; ok {
		m.packets = PacketsState{Target: t, List: l}
		m.mu.Unlock()
		m.notify(PacketsChanged)
		return
	}
	src := m.source
	if src == nil {
		m.packets = PacketsState{Target: t, Err: errNoSource}
		m.mu.Unlock()
		m.notify(PacketsChanged)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	m.packets = PacketsState{Target: t, Loading: true}
	m.mu.Unlock()
	m.notify(PacketsChanged)
	go m.load(ctx, gen, src, t)
}

// errNoSource explains an empty packet view when the UI was started without capture files.
var errNoSource = fmt.Errorf("packets are not available: no capture files to read them from")

// load runs one re-read. A panic in the reader becomes an error in the view (and a stack in
// the log) instead of killing the program with the terminal in raw mode.
func (m *Model) load(ctx context.Context, gen uint64, src PacketSource, t Target) {
	start := time.Now()
	var (
		list *PacketList
		err  error
	)
	func() {
		defer func() {
			if p := recover(); p != nil {
				m.log.Error("panic while reading packets", "target", t.key(), "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				err = fmt.Errorf("internal error while reading packets: %v", p)
			}
		}()
		list, err = src.Packets(ctx, t)
	}()
	took := time.Since(start)
	m.mu.Lock()
	if gen != m.gen {
		m.mu.Unlock()
		return // superseded or cancelled
	}
	m.cancel = nil
	m.packets = PacketsState{Target: t, List: list, Err: err, Elapsed: took}
	if err == nil && list != nil {
		m.remember(t.key(), list)
	}
	m.mu.Unlock()
	if err != nil {
		m.log.Warn("packets", "target", t.key(), "err", err, "took", took)
	} else {
		m.log.Info("packets", "target", t.key(), "rows", len(list.Rows), "total", list.Total, "took", took)
	}
	m.notify(PacketsChanged)
}

// remember caches a list, dropping the oldest beyond cacheSize. Called with m.mu held.
func (m *Model) remember(k string, l *PacketList) {
	if _, ok := m.cache[k]; !ok {
		m.order = append(m.order, k)
	}
	m.cache[k] = l
	for len(m.order) > cacheSize {
		delete(m.cache, m.order[0])
		m.order = m.order[1:]
	}
}

// Close cancels a running load.
func (m *Model) Close() {
	m.mu.Lock()
	if m.cancel != nil {
		m.cancel()
		m.cancel = nil
	}
	m.gen++
	m.mu.Unlock()
}
