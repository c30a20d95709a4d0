package ui

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"

	"github.com/stackflow/stackflow/flows"
)

// The Flows view is the flow table: one row per flow (inner 5-tuple, VNI, capture point),
// sortable by bytes, packets, first packet or state, with its Community ID; Enter lists its
// packets.

// flowSort is a sort order of the flow table.
type flowSort uint8

const (
	sortBytes flowSort = iota
	sortPackets
	sortFirst
	sortState
)

// sortColumn is the heading each order marks, sortName how the info line says it.
var (
	sortColumn = [...]string{sortBytes: "BYTES", sortPackets: "PKTS", sortFirst: "FIRST", sortState: "STATE"}
	sortName   = [...]string{sortBytes: "bytes", sortPackets: "packets", sortFirst: "first packet", sortState: "state"}
)

var flowHeader = []string{"FLOW", "POINT", "PROTO", "FROM", "TO", "VNI", "PKTS", "BYTES", "FIRST", "STATE", "COMMUNITY ID"}

// sortedFlows returns the indexes of r.Flows in the given order; ties keep id order (the
// report's order of first appearance), so the table is stable.
func sortedFlows(r *flows.Report, by flowSort, desc bool) []int {
	idx := make([]int, len(r.Flows))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(x, y int) int {
		a, b := &r.Flows[x], &r.Flows[y]
		var c int
		switch by {
		case sortBytes:
			c = cmp.Compare(a.Bytes, b.Bytes)
		case sortPackets:
			c = cmp.Compare(a.Packets, b.Packets)
		case sortFirst:
			c = strings.Compare(a.First, b.First) // RFC 3339 with fixed digits sorts as text
		case sortState:
			c = strings.Compare(a.State, b.State)
		}
		if desc {
			c = -c
		}
		if c == 0 {
			c = cmp.Compare(idNumber(a.ID), idNumber(b.ID))
		}
		return c
	})
	return idx
}

// idNumber reads the number of an id such as "f12" (0 when there is none).
func idNumber(id string) int {
	n, _ := strconv.Atoi(strings.TrimLeft(id, "abcdefghijklmnopqrstuvwxyz"))
	return n
}

// flowRow renders one flow.
func flowRow(f *flows.Flow) row {
	vni := "-"
	if f.VNI != nil {
		vni = fmt.Sprint(*f.VNI)
	}
	st := toned(f.State, toneNormal)
	switch f.State {
	case "SF", "S1":
		st.tone = toneGood
	case "S0", "REJ", "RSTO", "RSTR", "RSTOS0", "RSTRH", "SH", "SHR", "OTH":
		st.tone = toneWarn
	}
	if f.State == "" {
		st.text = "-"
	}
	return row{id: f.ID, cells: []cell{
		toned(f.ID, toneInfo), plain(f.Point), plain(f.Proto),
		plain(endpoint(f.Src, f.Sport)), plain(endpoint(f.Dst, f.Dport)), plain(vni),
		num(f.Packets), plain(bytesText(f.Bytes)), plain(clock(f.First)), st, toned(f.CommunityID, toneDim),
	}}
}

// flowTitle describes a flow in a line, for the packet view's heading.
func flowTitle(f *flows.Flow) string {
	s := fmt.Sprintf("flow %s %s %s > %s at %s", f.ID, f.Proto, endpoint(f.Src, f.Sport), endpoint(f.Dst, f.Dport), f.Point)
	if f.VNI != nil {
		s += fmt.Sprintf(" vni %d", *f.VNI)
	}
	return s + " · " + plural(f.Packets, "packet")
}

type flowsView struct {
	a       *App
	root    *tview.Flex
	info    *tview.TextView
	table   *rowTable
	report  *flows.Report
	order   []int
	by      flowSort
	desc    bool
	keyList []binding
}

func newFlowsView(a *App) view {
	v := &flowsView{a: a, table: newRowTable(&a.pal), desc: true}
	v.info = tview.NewTextView().SetDynamicColors(true).SetWrap(false)
	v.table.SetFixed(1, 1)
	v.root = tview.NewFlex().SetDirection(tview.FlexRow).
		AddItem(v.info, 1, 0, false).
		AddItem(v.table, 0, 1, true)
	sortKey := func(r rune, by flowSort, what string) binding {
		return binding{keys: []keySpec{runeKey(r)}, label: string(r), help: "sort by " + what + " (again: reverse)",
			do: func() bool { v.sortBy(by); return true }}
	}
	v.keyList = []binding{
		{keys: []keySpec{specialKey(tcell.KeyEnter)}, label: "Enter", help: "show the selected flow's packets", hint: "Enter packets", do: v.enter},
		sortKey('b', sortBytes, "bytes"),
		sortKey('p', sortPackets, "packets"),
		sortKey('f', sortFirst, "first packet time"),
		sortKey('s', sortState, "connection state"),
	}
	v.keyList[1].hint = "b/p/f/s sort"
	return v
}

func (v *flowsView) title() string              { return "Flows" }
func (v *flowsView) primitive() tview.Primitive { return v.root }
func (v *flowsView) panes() []tview.Primitive   { return []tview.Primitive{v.table} }
func (v *flowsView) keys() []binding            { return v.keyList }

func (v *flowsView) refresh(m *Model, c Change) {
	if c&ReportChanged == 0 {
		return
	}
	v.report = m.Report()
	v.fill()
}

func (v *flowsView) fill() {
	v.order = sortedFlows(v.report, v.by, v.desc)
	hdr := slices.Clone(flowHeader)
	arrow := "▲"
	if v.desc {
		arrow = "▼"
	}
	for i, h := range hdr {
		if h == sortColumn[v.by] {
			hdr[i] = h + arrow
		}
	}
	r, order := v.report, v.order
	v.table.setRows(hdr, len(order), func(i int) row { return flowRow(&r.Flows[order[i]]) })
	dir := "ascending"
	if v.desc {
		dir = "descending"
	}
	v.info.SetText(fmt.Sprintf("[::b]%s[::-] · sorted by %s, %s", plural(len(r.Flows), "flow"), sortName[v.by], dir))
}

// sortBy sorts by a column; the same column again reverses the order. Numbers start largest
// first, times and states in ascending order.
func (v *flowsView) sortBy(by flowSort) {
	if by == v.by {
		v.desc = !v.desc
	} else {
		v.by, v.desc = by, by == sortBytes || by == sortPackets
	}
	v.fill()
}

func (v *flowsView) enter() bool {
	id := v.table.selectedID()
	f := findFlow(v.report, id)
	if f == nil {
		return false
	}
	v.a.openPackets(Target{Sel: flows.Selection{Flow: id}, Title: flowTitle(f)})
	return true
}

func findFlow(r *flows.Report, id string) *flows.Flow {
	if r == nil || id == "" {
		return nil
	}
	for i := range r.Flows {
		if r.Flows[i].ID == id {
			return &r.Flows[i]
		}
	}
	return nil
}

// selectFlow selects flow id; false when the report shown has no such flow.
func (v *flowsView) selectFlow(id string) bool { return v.table.selectID(id) }
