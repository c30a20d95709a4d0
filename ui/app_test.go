package ui

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"

	"github.com/stackflow/stackflow/flows"
)

func mustNew(t *testing.T, m *Model, opts Options) *App {
	t.Helper()
	a, err := New(m, opts)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// harness runs an App on a simulation screen of 120x30 and reads what it drew.
type harness struct {
	t    *testing.T
	app  *App
	scr  tcell.SimulationScreen
	done chan error
}

func startApp(t *testing.T, m *Model) *harness {
	t.Helper()
	scr := tcell.NewSimulationScreen("UTF-8")
	a := mustNew(t, m, Options{Screen: scr, Title: "fixture.pcapng"})
	scr.SetSize(120, 30) // after SetScreen, which initialises the screen at 80x25
	h := &harness{t: t, app: a, scr: scr, done: make(chan error, 1)}
	go func() { h.done <- a.Run(context.Background()) }()
	t.Cleanup(func() {
		a.Stop()
		select {
		case <-h.done:
		case <-time.After(5 * time.Second):
			t.Error("Run did not return after Stop")
		}
	})
	return h
}

// lines returns the screen's text, read on the UI goroutine, with each cell's style.
func (h *harness) lines() ([]string, [][]tcell.Style) {
	var out []string
	var styles [][]tcell.Style
	h.app.tv.QueueUpdate(func() {
		cells, w, ht := h.scr.GetContents()
		for y := 0; y < ht; y++ {
			var b strings.Builder
			var st []tcell.Style
			for x := 0; x < w; x++ {
				c := cells[y*w+x]
				r := ' '
				if len(c.Runes) > 0 {
					r = c.Runes[0]
				}
				b.WriteRune(r)
				st = append(st, c.Style)
			}
			out = append(out, b.String())
			styles = append(styles, st)
		}
	})
	return out, styles
}

func (h *harness) text() string {
	l, _ := h.lines()
	return strings.Join(l, "\n")
}

// waitFor polls the screen until it contains all of want, failing after a deadline (key
// events and redraws are not ordered, so a single look would be flaky).
func (h *harness) waitFor(want ...string) string {
	h.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var s string
	for time.Now().Before(deadline) {
		s = h.text()
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(s, w)
		}
		if ok {
			return s
		}
		time.Sleep(10 * time.Millisecond)
	}
	h.t.Fatalf("screen never showed %q:\n%s", want, s)
	return ""
}

// waitGone polls until the screen no longer contains text.
func (h *harness) waitGone(text string) {
	h.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if !strings.Contains(h.text(), text) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	h.t.Fatalf("screen still shows %q:\n%s", text, h.text())
}

func (h *harness) key(k tcell.Key) { h.scr.InjectKey(k, 0, tcell.ModNone) }
func (h *harness) press(keys string) {
	for _, r := range keys {
		h.scr.InjectKey(tcell.KeyRune, r, tcell.ModNone)
	}
}

// selectedLine returns the first screen line below the heading lines whose cells are in
// reverse video in the given column range (a table's selected row), trimmed.
func (h *harness) selectedLine(fromRow int) string {
	lines, styles := h.lines()
	for y := fromRow; y < len(lines); y++ {
		_, _, attr := styles[y][2].Decompose()
		if attr&tcell.AttrReverse != 0 {
			return strings.TrimSpace(lines[y])
		}
	}
	return ""
}

func TestAppViews(t *testing.T) {
	h := startApp(t, NewModel(fixtureReport(), nil, nil))
	h.waitFor("1 Paths", "fixture.pcapng", "4 paths", "client(192.168.200.10) -> nat(192.168.200.1) -> mux(192.168.100.68)")
	steps := []struct {
		name string
		keys func()
		want []string
	}{
		{"2 shows flows", func() { h.press("2") }, []string{"COMMUNITY ID", "1:bbb=", "sorted by bytes, descending"}},
		{"p sorts by packets", func() { h.press("p") }, []string{"sorted by packets, descending", "PKTS▼"}},
		{"p again reverses", func() { h.press("p") }, []string{"sorted by packets, ascending", "PKTS▲"}},
		{"Tab goes on to packets", func() { h.key(tcell.KeyTab) }, []string{"No packets chosen"}},
		{"Tab again: BGP", func() { h.key(tcell.KeyTab) }, []string{"Session events (3)", "Route events (2: 1 announce, 1 withdraw)", "Cease / Administrative Reset"}},
		{"5 topology", func() { h.press("5") }, []string{"Address translations (2, 1 VIP -> DIP)", "Tunnels (1)", "mux,bgp_speaker"}},
		{"6 findings", func() { h.press("6") }, []string{"4 findings", "traffic_to_withdrawn_route", "Enter: show flow f2"}},
		{"Shift+Tab back to topology", func() { h.key(tcell.KeyBacktab) }, []string{"Nodes (5)"}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			h.t = t
			s.keys()
			h.waitFor(s.want...)
			if strings.HasPrefix(s.name, "p again") {
				// The selection follows its flow (f2, first by bytes) through the re-sorts.
				if sel := h.selectedLine(3); !strings.HasPrefix(sel, "f2 ") {
					t.Errorf("selection %q did not follow its flow through the sort", sel)
				}
			}
		})
	}
	// The shown view's tab is in reverse video.
	lines, styles := h.lines()
	x := strings.Index(lines[0], "5 Topology")
	if _, _, attr := styles[0][x].Decompose(); attr&tcell.AttrReverse == 0 {
		t.Errorf("tab of the shown view not highlighted: %q", lines[0])
	}
}

func TestAppPathsKeys(t *testing.T) {
	h := startApp(t, NewModel(fixtureReport(), nil, nil))
	// Few paths: the groups start open, the first heading selected with its hops and pair.
	h.waitFor("- p1", "    p3", "p1 forward · 3 hops · 30 packets", "paired: p2 return", "in vxlan 4114")
	h.press("r") // the paired path
	h.waitFor("p2 return · 2 hops · 20 packets · DSR", "paired: p1 forward")
	h.press(" ") // close p2's group
	h.waitGone("    p4")
	h.press("e") // open every group again
	h.waitFor("    p4")
	h.key(tcell.KeyDown)
	h.key(tcell.KeyDown)
	h.waitFor("p4 return · 2 hops · 20 packets · DSR: the return bypasses the Mux · 2 lost", "paired: p3 forward")
	// w gives the hop table the keys (the list's selection stays), Esc gives them back.
	h.press("w")
	h.key(tcell.KeyUp)
	time.Sleep(50 * time.Millisecond)
	h.waitFor("p4 return · 2 hops")
	h.key(tcell.KeyEscape)
	h.key(tcell.KeyUp)
	h.waitFor("p2 return · 2 hops", "paired: p1 forward")
}

// TestAppPacketsOfPath walks from the Paths view into the packets of the sample's long path,
// opens a packet's detail pane, and closes panes with Esc.
func TestAppPacketsOfPath(t *testing.T) {
	r, src := analyzeSample(t, "azurestack-poc.pcapng")
	h := startApp(t, NewModel(r, src, nil))
	h.waitFor("96 paths")
	// Move to the first forward path with five hops (the client's conversation through NAT,
	// router, Mux and host), as a user would: down the list until its hops show.
	var p *flows.Path
	for i := range groupPaths(r) {
		g := groupPaths(r)[i]
		if q := &r.Paths[g.members[0]]; len(q.Hops) == 5 && p == nil {
			p = q
			for j := 0; j < i; j++ {
				h.key(tcell.KeyDown)
			}
		}
	}
	if p == nil {
		t.Fatal("no five-hop path in the sample")
	}
	h.waitFor(p.ID + " forward · 5 hops")
	h.key(tcell.KeyEnter)
	reported := 0
	for _, hp := range p.Hops {
		reported += hp.Packets
	}
	s := h.waitFor("path "+p.ID+" forward", fmt.Sprintf("the report counts %d hop packets", reported), "decap+dnat")
	for _, hp := range p.Hops {
		if !strings.Contains(s, hp.Point) {
			t.Errorf("no packet at %s listed:\n%s", hp.Point, s)
		}
	}
	h.key(tcell.KeyEnter)
	h.waitFor("packet 1/", "Ethernet  ", "IPv4  192.168.200.10 > ", "0000  ")
	// Moving in the list updates the pane, and the selected row stays visible in the list
	// the pane shrank.
	h.key(tcell.KeyDown)
	h.key(tcell.KeyDown)
	s = h.waitFor("packet 3/")
	m := regexp.MustCompile(`packet 3/\d+ · \S+ (#\d+)`).FindStringSubmatch(s)
	if sel := h.selectedLine(4); m == nil || !strings.HasPrefix(sel, m[1]+" ") {
		t.Fatalf("selected row %q is not the packet the pane shows (%v):\n%s", sel, m, s)
	}
	h.key(tcell.KeyUp)
	h.key(tcell.KeyUp)
	h.waitFor("packet 1/")
	h.press("w") // focus the layer tree and open the first layer
	h.key(tcell.KeyEnter)
	h.waitFor("SrcMAC: ", "EthernetType: IPv4")
	h.key(tcell.KeyEscape)
	h.waitGone("0000  ")
	h.key(tcell.KeyEscape)
	h.waitFor("paired: ", "PATH ")
}

func TestAppFilter(t *testing.T) {
	h := startApp(t, NewModel(fixtureReport(), nil, nil))
	h.waitFor("4 paths")
	h.press("/")
	h.waitFor("filter: ")
	bad := "host 10.0.0.4 and"
	h.press(bad)
	h.key(tcell.KeyEnter)
	_, err := flows.CompileFilter(bad)
	var fe *flows.FilterError
	if !errors.As(err, &fe) {
		t.Fatalf("%q compiles?", bad)
	}
	s := h.waitFor(fmt.Sprintf("^ column %d: %s", fe.Column, fe.Msg))
	// The caret stands under the column the error names.
	for _, line := range strings.Split(s, "\n") {
		if i := strings.Index(line, "^ column"); i >= 0 {
			if want := len("filter: ") + fe.Column - 1; i != want {
				t.Errorf("caret at x=%d, want %d:\n%s", i, want, s)
			}
		}
	}
	// While the field has focus, '/', '?' and 'q' are text, not commands.
	h.press(" q?/")
	h.waitFor("filter: " + bad + " q?/")
	if strings.Contains(h.text(), "Everywhere") {
		t.Fatal("'?' opened the help while typing a filter")
	}
	select {
	case <-h.done:
		t.Fatal("'q' quit while typing a filter")
	default:
	}
	h.key(tcell.KeyEscape)
	h.waitGone("filter: ")
	if strings.Contains(h.text(), "filter: host") {
		t.Error("Esc applied the filter")
	}
	h.press("/")
	h.key(tcell.KeyCtrlU)
	h.press("dsr")
	h.key(tcell.KeyEnter)
	h.waitFor("2/4 paths", "filter: dsr")
	h.press("/")
	h.key(tcell.KeyCtrlU)
	h.key(tcell.KeyEnter)
	h.waitFor("filter cleared", "4 paths")
}

func TestAppHelp(t *testing.T) {
	h := startApp(t, NewModel(fixtureReport(), nil, nil))
	h.waitFor("4 paths")
	h.press("?")
	// The help is generated from the key tables: every global binding is listed (its first
	// words; long descriptions wrap).
	var want []string
	for _, b := range h.app.globals {
		words := strings.Fields(b.help)
		want = append(want, strings.Join(words[:min(4, len(words))], " "))
	}
	h.waitFor(append(want, "Everywhere")...)
	h.key(tcell.KeyEnd)
	h.waitFor("Tables and panes", "scroll the columns of a wide table")
	h.key(tcell.KeyEscape)
	h.waitGone("Everywhere")
}

func TestAppFindingsJump(t *testing.T) {
	h := startApp(t, NewModel(fixtureReport(), nil, nil))
	h.press("6")
	h.waitFor("Enter: show flow f2")
	h.key(tcell.KeyEnter)
	h.waitFor("COMMUNITY ID")
	if sel := h.selectedLine(3); !strings.HasPrefix(sel, "f2 ") {
		t.Errorf("selected flow row %q, want f2", sel)
	}
	h.press("6")
	h.key(tcell.KeyDown)
	h.key(tcell.KeyDown)
	h.waitFor("Enter: show path p4")
	h.key(tcell.KeyEnter)
	h.waitFor("p4 return · 2 hops")
	// A finding with packets only opens them in the packet view.
	h.press("6")
	h.key(tcell.KeyDown)
	h.waitFor("Enter: list the 2 packets")
	h.key(tcell.KeyEnter)
	h.waitFor("packets of finding probe_note", "packets are not available")
}

func TestAppQuit(t *testing.T) {
	h := startApp(t, NewModel(fixtureReport(), nil, nil))
	h.waitFor("4 paths")
	h.press("q")
	select {
	case err := <-h.done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
		h.done <- err // for the cleanup
	case <-time.After(10 * time.Second):
		t.Fatal("q did not quit")
	}
}

// finiScreen records whether the screen was finalised (the terminal restored).
type finiScreen struct {
	tcell.SimulationScreen
	fini atomic.Bool
}

func (s *finiScreen) Fini() { s.fini.Store(true); s.SimulationScreen.Fini() }

// TestAppPanicRestoresScreen: a panic on the UI goroutine finalises the screen before it
// reaches the caller, who can then print it on a working terminal.
func TestAppPanicRestoresScreen(t *testing.T) {
	scr := &finiScreen{SimulationScreen: tcell.NewSimulationScreen("UTF-8")}
	a := mustNew(t, NewModel(fixtureReport(), nil, nil), Options{Screen: scr})
	got := make(chan any, 1)
	go func() {
		defer func() { got <- recover() }()
		a.Run(context.Background())
	}()
	a.tv.QueueUpdate(func() {}) // the loop is running
	go a.tv.QueueUpdate(func() { panic("boom") })
	select {
	case p := <-got:
		if fmt.Sprint(p) != "boom" || !scr.fini.Load() {
			t.Errorf("recovered %v, screen finalised %v", p, scr.fini.Load())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the panic never reached Run's caller")
	}
}
