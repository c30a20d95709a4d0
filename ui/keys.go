package ui

import (
	"fmt"
	"strings"

	"github.com/gdamore/tcell/v2"
)

// Key bindings are data (STYLE.md practice 11): each view and the app list theirs, the input
// handler looks keys up in those lists, and the help screen and the footer are generated from
// them, so what is documented is what works.

// keySpec is one key: a special key, or a printable rune (key == tcell.KeyRune).
type keySpec struct {
	key tcell.Key
	ch  rune
}

func runeKey(r rune) keySpec         { return keySpec{key: tcell.KeyRune, ch: r} }
func specialKey(k tcell.Key) keySpec { return keySpec{key: k} }

// matches reports whether ev is this key (modifiers other than those in the key are ignored
// for runes, so Shift+letter arrives as the capital).
func (k keySpec) matches(ev *tcell.EventKey) bool {
	if k.key == tcell.KeyRune {
		return ev.Key() == tcell.KeyRune && ev.Rune() == k.ch
	}
	return ev.Key() == k.key
}

// binding is one entry of a key table.
type binding struct {
	keys  []keySpec
	label string // how help spells the keys: "Enter", "1", "↑/↓"
	help  string // what it does, for the help screen
	hint  string // footer text with its key ("Enter packets"); "" keeps it out of the footer
	// do performs the action and reports whether the key was used; nil means the focused
	// widget handles the key itself (listed for help only).
	do func() bool
}

// lookup finds the binding for ev among the tables, in order.
func lookup(ev *tcell.EventKey, tables ...[]binding) *binding {
	for _, t := range tables {
		for i := range t {
			if t[i].do == nil {
				continue
			}
			for _, k := range t[i].keys {
				if k.matches(ev) {
					return &t[i]
				}
			}
		}
	}
	return nil
}

// helpSection is one titled key table on the help screen.
type helpSection struct {
	title    string
	bindings []binding
}

// helpWidth is the width the help text is laid out for: it fits an 80-column terminal inside
// the help screen's border.
const helpWidth = 76

// helpText renders the help screen from the key tables: one section per table, one entry per
// binding, keys aligned in a column and descriptions wrapped under themselves.
func helpText(sections []helpSection) string {
	width := 0
	for _, s := range sections {
		for _, b := range s.bindings {
			width = max(width, len([]rune(b.label)))
		}
	}
	var out strings.Builder
	for i, s := range sections {
		if len(s.bindings) == 0 {
			continue
		}
		if i > 0 {
			out.WriteByte('\n')
		}
		out.WriteString(s.title + "\n")
		for _, b := range s.bindings {
			pad := width - len([]rune(b.label))
			indent := strings.Repeat(" ", 2+width+2)
			for i, line := range wrapWords(b.help, helpWidth-len(indent)) {
				if i == 0 {
					fmt.Fprintf(&out, "  %s%s  %s\n", b.label, strings.Repeat(" ", pad), line)
				} else {
					out.WriteString(indent + line + "\n")
				}
			}
		}
	}
	return out.String()
}

// wrapWords breaks text into lines of at most width characters at spaces (a longer word
// gets a line of its own).
func wrapWords(text string, width int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(text) {
		switch {
		case line == "":
			line = w
		case len([]rune(line))+1+len([]rune(w)) <= width:
			line += " " + w
		default:
			lines = append(lines, line)
			line = w
		}
	}
	if line != "" || len(lines) == 0 {
		lines = append(lines, line)
	}
	return lines
}

// footerHints renders the footer from the bindings' hints: "Enter packets  / filter".
func footerHints(tables ...[]binding) string {
	var parts []string
	for _, t := range tables {
		for _, b := range t {
			if b.hint != "" {
				parts = append(parts, b.hint)
			}
		}
	}
	return strings.Join(parts, "  ")
}

// moveBindings documents the keys every table handles itself.
var moveBindings = []binding{
	{label: "↑/↓ j/k", help: "move the selection"},
	{label: "PgUp/PgDn", help: "move a page"},
	{label: "Home/End g/G", help: "first / last row"},
	{label: "←/→ h/l", help: "scroll the columns of a wide table"},
}
