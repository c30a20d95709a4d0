package ui

import (
	"strings"
	"testing"

	"github.com/gdamore/tcell/v2"
)

func TestLookup(t *testing.T) {
	hit := ""
	view := []binding{
		{keys: []keySpec{specialKey(tcell.KeyEnter)}, label: "Enter", do: func() bool { hit = "view enter"; return true }},
		{keys: []keySpec{runeKey('x')}, label: "x"}, // documented only: the widget handles it
	}
	global := []binding{
		{keys: []keySpec{runeKey('q'), runeKey('Q')}, label: "q", do: func() bool { hit = "quit"; return true }},
		{keys: []keySpec{specialKey(tcell.KeyEnter)}, label: "Enter", do: func() bool { hit = "global enter"; return true }},
	}
	cases := []struct {
		name string
		ev   *tcell.EventKey
		want string
	}{
		{"view table first", tcell.NewEventKey(tcell.KeyEnter, 0, tcell.ModNone), "view enter"},
		{"second key of a binding", tcell.NewEventKey(tcell.KeyRune, 'Q', tcell.ModShift), "quit"},
		// A binding without an action is not taken: the key goes on to the widget.
		{"documented only", tcell.NewEventKey(tcell.KeyRune, 'x', tcell.ModNone), ""},
		{"unbound", tcell.NewEventKey(tcell.KeyRune, 'z', tcell.ModNone), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hit = ""
			if b := lookup(c.ev, view, global); b != nil {
				b.do()
			}
			if hit != c.want {
				t.Errorf("hit %q, want %q", hit, c.want)
			}
		})
	}
}

func TestHelpText(t *testing.T) {
	secs := []helpSection{
		{title: "Everywhere", bindings: []binding{{label: "q", help: "quit"}, {label: "Shift+Tab", help: "previous view"}}},
		{title: "Empty", bindings: nil},
		{title: "Paths", bindings: []binding{{label: "Enter", help: "packets"}}},
	}
	got := helpText(secs)
	// Keys are padded to the widest label so the descriptions line up; empty sections vanish.
	want := "Everywhere\n  q          quit\n  Shift+Tab  previous view\n\nPaths\n  Enter      packets\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	// A long description wraps under itself, not under the keys.
	long := helpText([]helpSection{{title: "T", bindings: []binding{{label: "Enter", help: strings.Repeat("word ", 30)}}}})
	for i, line := range strings.Split(strings.TrimSuffix(long, "\n"), "\n") {
		if len(line) > helpWidth {
			t.Errorf("line %d is %d wide", i, len(line))
		}
		if i > 1 && !strings.HasPrefix(line, "         word") {
			t.Errorf("continuation %q not under the description", line)
		}
	}
	if f := footerHints([]binding{{hint: "Enter packets"}, {label: "x"}}, []binding{{hint: "q quit"}}); f != "Enter packets  q quit" {
		t.Errorf("footer %q", f)
	}
}

// TestKeyTables checks every view's key table against the global one: every binding is
// documented, and no key means two things in one view (a view key shadowing a global key
// would silently disable it there).
func TestKeyTables(t *testing.T) {
	a := mustNew(t, NewModel(fixtureReport(), nil, nil), Options{Screen: tcell.NewSimulationScreen("UTF-8")})
	for i, v := range a.views {
		t.Run(v.title(), func(t *testing.T) {
			seen := map[keySpec]string{}
			for _, tbl := range [][]binding{v.keys(), a.globals} {
				for _, b := range tbl {
					if b.label == "" || b.help == "" {
						t.Errorf("binding %+v lacks a label or help", b.keys)
					}
					if b.hint != "" && !strings.HasPrefix(b.hint, strings.Split(b.label, "/")[0]) {
						t.Errorf("hint %q does not start with its key %q", b.hint, b.label)
					}
					if b.do == nil {
						continue // documentation only: the key goes elsewhere
					}
					for _, k := range b.keys {
						if prev, dup := seen[k]; dup {
							t.Errorf("key %v bound to %q and %q", k, prev, b.help)
						}
						seen[k] = b.help
					}
				}
			}
			// The view's number key shows it.
			if b := lookup(tcell.NewEventKey(tcell.KeyRune, rune('1'+i), tcell.ModNone), a.globals); b == nil || !strings.Contains(b.help, v.title()) {
				t.Errorf("key %d does not show %s", i+1, v.title())
			}
		})
	}
}
