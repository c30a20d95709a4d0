package ui

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gdamore/tcell/v2"
)

// drawTable draws t at the given height on a fresh simulation screen and returns its lines.
func drawTable(t *rowTable, height int) []string {
	scr := tcell.NewSimulationScreen("UTF-8")
	scr.Init()
	scr.SetSize(40, height)
	t.SetRect(0, 0, 40, height)
	t.Draw(scr)
	scr.Show()
	cells, w, h := scr.GetContents()
	var out []string
	for y := 0; y < h; y++ {
		var b strings.Builder
		for x := 0; x < w; x++ {
			if r := cells[y*w+x].Runes; len(r) > 0 {
				b.WriteRune(r[0])
			}
		}
		out = append(out, b.String())
	}
	return out
}

// TestRowTableReveal: a table that once showed all its rows, then shrank (a pane opened under
// it), must still show the selected row.
func TestRowTableReveal(t *testing.T) {
	tb := newRowTable(&palette{})
	var rows []row
	for i := 0; i < 8; i++ {
		rows = append(rows, row{id: fmt.Sprint(i), cells: []cell{plain(fmt.Sprintf("row%d", i))}})
	}
	tb.setList([]string{"NAME"}, rows)
	tb.selectID("1")
	drawTable(tb, 20) // everything fits
	tb.reveal()
	got := strings.Join(drawTable(tb, 4), "\n")
	if !strings.Contains(got, "row1") {
		t.Errorf("selected row1 not shown after shrinking:\n%s", got)
	}
}

func TestRowTableKeepsSelection(t *testing.T) {
	tb := newRowTable(&palette{})
	mk := func(ids ...string) []row {
		var out []row
		for _, id := range ids {
			out = append(out, row{id: id, cells: []cell{plain(id)}})
		}
		return out
	}
	tb.setList([]string{"ID"}, mk("a", "b", "c"))
	tb.selectID("c")
	// New content that still has the selected id keeps it selected, wherever it moved.
	tb.setList([]string{"ID"}, mk("c", "a"))
	if got := tb.selectedID(); got != "c" {
		t.Errorf("selected %q, want c", got)
	}
	// Without it, the selection stays at the same position, clamped to the rows there are.
	tb.setList([]string{"ID"}, mk("x"))
	if got := tb.selectedID(); got != "x" {
		t.Errorf("selected %q, want x", got)
	}
}

// TestPalette: without colours, no tone may carry a foreground colour (tcell would turn a dark
// one into reverse video, which looks like a selection); meaning moves to attributes.
func TestPalette(t *testing.T) {
	tones := []tone{toneNormal, toneHead, toneDim, toneGood, toneWarn, toneBad, toneInfo}
	mono, colour := palette{mono: true}, palette{}
	for _, tn := range tones {
		fg, _, _ := mono.style(tn).Decompose()
		if fg != tcell.ColorDefault {
			t.Errorf("tone %d has foreground %v without colours", tn, fg)
		}
		// Attribute-only tags set no colour: "[::b]", or the reset "[-:-:-]".
		if tag := mono.tag(tn); !strings.HasPrefix(tag, "[::") && tag != "[-:-:-]" {
			t.Errorf("tone %d: monochrome tag %q names a colour", tn, tag)
		}
	}
	cases := []struct {
		name string
		p    palette
		t    tone
		bold bool
		fg   tcell.Color
	}{
		{"colour: bad is red and bold", colour, toneBad, true, tcell.ColorRed},
		{"colour: good is green", colour, toneGood, false, tcell.ColorGreen},
		{"mono: bad stays visible as bold", mono, toneBad, true, tcell.ColorDefault},
		{"mono: warn is bold", mono, toneWarn, true, tcell.ColorDefault},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fg, _, attr := c.p.style(c.t).Decompose()
			if fg != c.fg || (attr&tcell.AttrBold != 0) != c.bold {
				t.Errorf("fg %v attr %v", fg, attr)
			}
		})
	}
	scr := tcell.NewSimulationScreen("UTF-8")
	scr.Init()
	if paletteFor(scr).mono {
		t.Errorf("the simulation screen has %d colours and got the monochrome palette", scr.Colors())
	}
}
