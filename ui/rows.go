package ui

import (
	"fmt"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"

	"github.com/stackflow/stackflow/flows"
)

// Views render the report through pure row functions (report in, rows of text out), which the
// tests check on fixture reports; a rowTable then shows rows in a tview.Table, building cells
// only for the rows on screen.

// tone is a cell's meaning; a palette turns it into colour or, on a terminal without colour,
// into attributes (the words carry the meaning either way).
type tone uint8

const (
	toneNormal tone = iota
	toneHead        // column headings and group rows
	toneDim         // secondary information
	toneGood        // healthy: established, announce, info findings
	toneWarn        // worth a look: warnings, DSR notes
	toneBad         // errors, loss, withdrawals
	toneInfo        // identifiers and neutral highlights
)

// palette renders tones for the terminal at hand. With colours (8 or more), tones are basic
// ANSI colours, which tcell maps to what the terminal has. Without (NO_COLOR, vt100), only
// attributes are used: tcell would draw a dark foreground colour as reverse video there, which
// reads as a selection.
type palette struct {
	mono bool
}

// paletteFor chooses the palette for a screen.
func paletteFor(s tcell.Screen) palette { return palette{mono: s.Colors() < 8} }

// style returns the tcell style of a tone.
func (p palette) style(t tone) tcell.Style {
	s := tcell.StyleDefault
	switch t {
	case toneHead:
		return s.Bold(true)
	case toneDim:
		return s.Dim(true)
	}
	if p.mono {
		switch t {
		case toneWarn:
			return s.Bold(true)
		case toneBad:
			return s.Bold(true).Underline(true)
		}
		return s
	}
	switch t {
	case toneGood:
		return s.Foreground(tcell.ColorGreen)
	case toneWarn:
		return s.Foreground(tcell.ColorYellow)
	case toneBad:
		return s.Foreground(tcell.ColorRed).Bold(true)
	case toneInfo:
		return s.Foreground(tcell.ColorTeal)
	}
	return s
}

// tag returns the tview tag that starts text in a tone; "[-:-:-]" ends it.
func (p palette) tag(t tone) string {
	switch t {
	case toneHead:
		return "[::b]"
	case toneDim:
		return "[::d]"
	}
	if p.mono {
		switch t {
		case toneWarn:
			return "[::b]"
		case toneBad:
			return "[::bu]"
		}
		return "[-:-:-]"
	}
	switch t {
	case toneGood:
		return "[green]"
	case toneWarn:
		return "[yellow]"
	case toneBad:
		return "[red::b]"
	case toneInfo:
		return "[teal]"
	}
	return "[-:-:-]"
}

// cell is one table cell.
type cell struct {
	text string
	tone tone
}

// Cells are all left-aligned: tview cuts the last, partly visible column of a wide table to
// the width left, and a right-aligned number would lose its leading digits there.

// row is one table row; id names what it shows (a path, flow, finding ...) for selection.
type row struct {
	id    string
	cells []cell
	group bool // a group heading (bold)
}

// plain, toned and num build cells.
func plain(text string) cell         { return cell{text: text} }
func toned(text string, t tone) cell { return cell{text: text, tone: t} }
func num[T ~int | ~int64 | ~uint32 | ~uint64](v T) cell {
	return cell{text: fmt.Sprint(v)}
}

// texts returns the row's cell texts, for tests and searches.
func (r row) texts() []string {
	out := make([]string, len(r.cells))
	for i, c := range r.cells {
		out[i] = c.text
	}
	return out
}

// rowContent is a read-only tview.TableContent over rows produced on demand.
type rowContent struct {
	tview.TableContentReadOnly
	header []string
	n      int
	at     func(i int) row
	cache  map[int]row
	pal    *palette
}

func (rc *rowContent) GetRowCount() int    { return rc.n + 1 }
func (rc *rowContent) GetColumnCount() int { return len(rc.header) }

func (rc *rowContent) GetCell(r, col int) *tview.TableCell {
	if col < 0 || col >= len(rc.header) {
		return nil
	}
	if r == 0 {
		return tview.NewTableCell(tview.Escape(rc.header[col])).SetSelectable(false).
			SetStyle(rc.pal.style(toneHead).Underline(true))
	}
	if r < 0 || r > rc.n {
		return nil
	}
	rw, ok := rc.cache[r-1]
	if !ok {
		rw = rc.at(r - 1)
		rc.cache[r-1] = rw
	}
	if col >= len(rw.cells) {
		return tview.NewTableCell("")
	}
	cl := rw.cells[col]
	st := rc.pal.style(cl.tone)
	if rw.group {
		st = st.Bold(true)
	}
	tc := tview.NewTableCell(tview.Escape(cl.text)).SetStyle(st).
		SetSelectedStyle(st.Reverse(true))
	return tc
}

// rowTable is a table of rows with a fixed heading line, selectable by row, that remembers
// the selected row's id across refreshes.
type rowTable struct {
	*tview.Table
	content *rowContent
	onMove  func(id string)
	quiet   bool // selection set by reveal: no onMove
}

func newRowTable(pal *palette) *rowTable {
	t := &rowTable{Table: tview.NewTable()}
	t.content = &rowContent{cache: map[int]row{}, at: func(int) row { return row{} }, pal: pal}
	t.SetContent(t.content)
	t.SetFixed(1, 0)
	t.SetSelectable(true, false)
	t.SetSelectedStyle(tcell.StyleDefault.Reverse(true))
	t.SetSelectionChangedFunc(func(r, _ int) {
		if t.onMove != nil && !t.quiet {
			t.onMove(t.selectedID())
		}
	})
	return t
}

// setRows replaces the rows, keeping the selection on the row with the same id when there is
// one, else on the same position.
func (t *rowTable) setRows(header []string, n int, at func(i int) row) {
	keep := t.selectedID()
	pos, _ := t.GetSelection()
	t.content.header, t.content.n, t.content.at = header, n, at
	t.content.cache = map[int]row{}
	if keep == "" || !t.selectID(keep) {
		t.Select(min(max(pos, 1), max(n, 1)), 0)
	}
	t.reveal()
}

// reveal scrolls the selected row into view. Needed after the content or the table's height
// changed: a tview table that once showed all its rows keeps showing its end, which can push
// the selection off screen when the table shrinks.
func (t *rowTable) reveal() {
	r, _ := t.GetSelection()
	_, col := t.GetOffset()
	t.SetOffset(0, col)
	t.quiet = true
	t.Select(r, 0)
	t.quiet = false
}

// setList is setRows over a materialised slice.
func (t *rowTable) setList(header []string, rows []row) {
	t.setRows(header, len(rows), func(i int) row { return rows[i] })
}

// selectedID returns the id of the selected row ("" when none).
func (t *rowTable) selectedID() string {
	r, _ := t.GetSelection()
	if r < 1 || r > t.content.n {
		return ""
	}
	return t.rowAt(r - 1).id
}

func (t *rowTable) rowAt(i int) row {
	rw, ok := t.content.cache[i]
	if !ok {
		rw = t.content.at(i)
		t.content.cache[i] = rw
	}
	return rw
}

// selectID selects the first row with the given id; it reports whether there was one.
func (t *rowTable) selectID(id string) bool {
	for i := 0; i < t.content.n; i++ {
		if t.rowAt(i).id == id {
			t.Select(i+1, 0)
			return true
		}
	}
	return false
}

// Shared text helpers for the views.

// endpoint spells addr:port as the report does ("[v6]:port"); no port: the address alone.
func endpoint(addr string, port *uint16) string {
	if port == nil {
		return addr
	}
	return ap(addr, *port)
}

// clock keeps the clock part of a report timestamp (flows.ClockTime).
func clock(s string) string { return flows.ClockTime(s) }

// clockNS formats a capture time (ns) like clock.
func clockNS(ns int64) string { return clock(flows.FormatTime(ns)) }

// usText and bytesText are the report's own renderings (flows.FormatMicros, flows.FormatBytes).
func usText(v float64) string { return flows.FormatMicros(v) }

func bytesText(n int64) string { return flows.FormatBytes(n) }

// plural says "1 path" or "3 paths".
func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// nodeNames maps node ids to their names.
func nodeNames(r *flows.Report) map[string]string {
	m := make(map[string]string, len(r.Nodes))
	for _, n := range r.Nodes {
		if n.Name != "" {
			m[n.ID] = n.Name
		} else {
			m[n.ID] = n.ID
		}
	}
	return m
}

// nameOf returns a node's name, its id when it has none, "?" for no id.
func nameOf(names map[string]string, id string) string {
	if n, ok := names[id]; ok {
		return n
	}
	if id == "" {
		return "?"
	}
	return id
}
