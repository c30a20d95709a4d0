package ui

import (
	"fmt"
	"strings"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"

	"github.com/stackflow/stackflow/flows"
)

// The Paths view lists paths grouped by shape, as the text report prints them (direction, and
// per hop the node, capture point and transform), one heading row per shape; a group opens to
// list its paths. The selected path's hops are shown below it, and under them its paired path
// in the other direction (the one sharing a flow with it), so a DSR return sits beside its
// forward path.

// pathGroup is the paths of one shape.
type pathGroup struct {
	shape   string
	members []int // indexes into Report.Paths, in report order
	packets int
	lost    int
}

// pathShape is what makes two paths look alike: direction, and per hop node, point and transform.
func pathShape(p *flows.Path) string {
	var b strings.Builder
	b.WriteString(p.Direction)
	for _, h := range p.Hops {
		b.WriteString("|" + h.Node + "@" + h.Point + ":" + h.Transform)
	}
	return b.String()
}

// groupPaths groups the report's paths by shape, in order of each shape's first path.
func groupPaths(r *flows.Report) []pathGroup {
	var out []pathGroup
	idx := map[string]int{}
	for i := range r.Paths {
		p := &r.Paths[i]
		k := pathShape(p)
		g, ok := idx[k]
		if !ok {
			g = len(out)
			idx[k] = g
			out = append(out, pathGroup{shape: k})
		}
		out[g].members = append(out[g].members, i)
		out[g].packets += p.Packets
		out[g].lost += pathLost(p)
	}
	return out
}

func pathLost(p *flows.Path) int {
	n := 0
	for _, h := range p.Hops {
		n += h.Lost
	}
	return n
}

// nodeChain draws a path as its nodes in order, ending at the receiver (flows.PathChain):
// "client -> nat -> router -> server".
func nodeChain(r *flows.Report, p *flows.Path, names map[string]string) string {
	ids, reached := flows.PathChain(r, p)
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = nameOf(names, id)
	}
	if !reached && len(out) > 1 {
		out[len(out)-1] = "(never reached) " + out[len(out)-1]
	}
	return strings.Join(out, " -> ")
}

var pathListHeader = []string{"PATH", "DIRECTION", "PATHS", "PKTS", "LOST", "HOPS"}

// pathGroupRow is a shape's heading: its first path's id, direction (and DSR), how many paths,
// their packets and losses, and the node chain.
func pathGroupRow(r *flows.Report, g pathGroup, names map[string]string, open bool) row {
	p := &r.Paths[g.members[0]]
	mark := "+"
	if open {
		mark = "-"
	}
	if len(g.members) == 1 {
		mark = " "
	}
	dir := p.Direction
	if p.DSR {
		dir += " DSR"
	}
	lost := num(g.lost)
	if g.lost > 0 {
		lost.tone = toneBad
	}
	return row{id: p.ID, group: true, cells: []cell{
		toned(mark+" "+p.ID, toneInfo), plain(dir), num(len(g.members)), num(g.packets), lost, plain(nodeChain(r, p, names)),
	}}
}

// pathMemberRow is one path of an open group: its id, packets, losses and first hop's tuple.
func pathMemberRow(p *flows.Path) row {
	lost := pathLost(p)
	lc := num(lost)
	if lost > 0 {
		lc.tone = toneBad
	}
	first := ""
	if len(p.Hops) > 0 {
		h := p.Hops[0]
		first = endpoint(h.Src, h.Sport) + " > " + endpoint(h.Dst, h.Dport) + " at " + h.Point
	}
	return row{id: p.ID, cells: []cell{
		plain("    " + p.ID), toned(p.Direction, toneDim), plain(""), num(p.Packets), lc, toned(first, toneDim),
	}}
}

// pathListRows renders the grouped list; open says which shapes show their paths.
func pathListRows(r *flows.Report, groups []pathGroup, open map[string]bool) []row {
	names := nodeNames(r)
	var out []row
	for _, g := range groups {
		isOpen := open[g.shape] && len(g.members) > 1
		out = append(out, pathGroupRow(r, g, names, isOpen))
		if isOpen {
			for _, i := range g.members {
				out = append(out, pathMemberRow(&r.Paths[i]))
			}
		}
	}
	return out
}

var hopHeader = []string{"HOP", "NODE", "POINT", "TRANSFORM", "PKTS", "LOST", "TUPLE", "LATENCY min/med/p99", "OUTER"}

// hopRows renders a path's hops: node, capture point, transform, packets, loss (what happened
// at each hop comes first, so that an 80-column terminal shows it), then the innermost tuple
// (with the tunnel and VNI a hop was carried in), the latency from the previous hop, and the
// tunnel's outer addresses.
func hopRows(r *flows.Report, p *flows.Path) []row {
	names := nodeNames(r)
	out := make([]row, 0, len(p.Hops))
	for i, h := range p.Hops {
		lat := "-"
		if h.LatencyUs != nil {
			lat = usText(h.LatencyUs.Min) + "/" + usText(h.LatencyUs.Median) + "/" + usText(h.LatencyUs.P99)
		}
		tuple := endpoint(h.Src, h.Sport) + " > " + endpoint(h.Dst, h.Dport)
		outer := ""
		if h.VNI != nil {
			kind := h.Tunnel
			if kind == "" {
				kind = "tunnel"
			}
			tuple += fmt.Sprintf(" in %s %d", kind, *h.VNI)
			outer = h.OuterSrc + " > " + h.OuterDst
		}
		tr := toned(h.Transform, toneInfo)
		if h.Transform == "none" {
			tr.tone = toneDim
		}
		lost := num(h.Lost)
		if h.Lost > 0 {
			lost.tone = toneBad
		}
		out = append(out, row{id: fmt.Sprint(i), cells: []cell{
			num(i + 1), plain(nameOf(names, h.Node)), plain(h.Point),
			tr, num(h.Packets), lost, plain(tuple), plain(lat), toned(outer, toneDim),
		}})
	}
	return out
}

// pairedPath returns the path in the other direction that shares the most flows with p (the
// return of a forward path, or the forward of a return), or nil.
func pairedPath(r *flows.Report, p *flows.Path) *flows.Path {
	mine := map[string]bool{}
	for _, f := range p.FlowIDs {
		mine[f] = true
	}
	var best *flows.Path
	bestN := 0
	for i := range r.Paths {
		q := &r.Paths[i]
		if q.Direction == p.Direction {
			continue
		}
		n := 0
		for _, f := range q.FlowIDs {
			if mine[f] {
				n++
			}
		}
		if n > bestN {
			best, bestN = q, n
		}
	}
	return best
}

// pathTitle is the heading over a path's hop table.
func pathTitle(p *flows.Path, prefix string) string {
	s := fmt.Sprintf("%s%s %s · %s · %s", prefix, p.ID, p.Direction, plural(len(p.Hops), "hop"), plural(p.Packets, "packet"))
	if p.DSR {
		s += " · DSR: the return bypasses the Mux"
	}
	if l := pathLost(p); l > 0 {
		s += fmt.Sprintf(" · %d lost", l)
	}
	return s
}

type pathsView struct {
	a       *App
	root    *tview.Flex
	list    *rowTable
	hopsT   *tview.TextView
	hops    *rowTable
	pairT   *tview.TextView
	pair    *rowTable
	report  *flows.Report
	groups  []pathGroup
	open    map[string]bool
	opened  bool // open[] initialised for this report
	keyList []binding
}

func newPathsView(a *App) view {
	v := &pathsView{a: a, list: newRowTable(&a.pal), hops: newRowTable(&a.pal), pair: newRowTable(&a.pal), open: map[string]bool{}}
	v.hopsT = tview.NewTextView().SetDynamicColors(true).SetWrap(false)
	v.pairT = tview.NewTextView().SetDynamicColors(true).SetWrap(false)
	v.root = tview.NewFlex().SetDirection(tview.FlexRow).
		AddItem(v.list, 0, 1, true).
		AddItem(v.hopsT, 1, 0, false).
		AddItem(v.hops, 2, 0, false).
		AddItem(v.pairT, 1, 0, false).
		AddItem(v.pair, 2, 0, false)
	v.list.onMove = func(string) { v.showSelected() }
	v.keyList = []binding{
		{keys: []keySpec{specialKey(tcell.KeyEnter)}, label: "Enter", help: "show the selected path's packets at every hop", hint: "Enter packets", do: v.enter},
		{keys: []keySpec{runeKey(' ')}, label: "Space", help: "open or close the selected shape's list of paths", hint: "Space open group", do: v.toggle},
		{keys: []keySpec{runeKey('e')}, label: "e", help: "open or close every shape", do: v.toggleAll},
		{keys: []keySpec{runeKey('r')}, label: "r", help: "select the paired path in the other direction", hint: "r paired", do: v.gotoPair},
	}
	return v
}

func (v *pathsView) title() string              { return "Paths" }
func (v *pathsView) primitive() tview.Primitive { return v.root }
func (v *pathsView) panes() []tview.Primitive   { return []tview.Primitive{v.list, v.hops, v.pair} }
func (v *pathsView) keys() []binding            { return v.keyList }

func (v *pathsView) refresh(m *Model, c Change) {
	if c&ReportChanged == 0 {
		return
	}
	v.report = m.Report()
	v.groups = groupPaths(v.report)
	if !v.opened {
		// Few paths: show them all; many: one line per shape until asked.
		all := len(v.report.Paths) <= 30
		for _, g := range v.groups {
			v.open[g.shape] = all
		}
		v.opened = true
	}
	v.rebuild()
}

func (v *pathsView) rebuild() {
	v.list.setList(pathListHeader, pathListRows(v.report, v.groups, v.open))
	v.showSelected()
}

// selected returns the selected path, or nil.
func (v *pathsView) selected() *flows.Path {
	return findPath(v.report, v.list.selectedID())
}

func findPath(r *flows.Report, id string) *flows.Path {
	if r == nil || id == "" {
		return nil
	}
	for i := range r.Paths {
		if r.Paths[i].ID == id {
			return &r.Paths[i]
		}
	}
	return nil
}

// showSelected fills the hop tables for the selected path and its pair, sizing them to fit.
func (v *pathsView) showSelected() {
	p := v.selected()
	if p == nil {
		msg := "no paths"
		if v.report != nil && v.report.Filter != "" {
			msg = "no paths match the filter"
		}
		v.hopsT.SetText("[::d]" + msg + "[-:-:-]")
		v.hops.setList(hopHeader, nil)
		v.pairT.SetText("")
		v.pair.setList(hopHeader, nil)
		v.size(0, 0)
		return
	}
	v.hopsT.SetText("[::b]" + tview.Escape(pathTitle(p, "")) + "[-:-:-]")
	v.hops.setList(hopHeader, hopRows(v.report, p))
	// The pair comes from the whole report: a filter that keeps only one direction (say
	// "lost") should not hide where the replies went.
	full := v.a.model.FullReport()
	q := pairedPath(full, p)
	if q == nil {
		v.pairT.SetText("[::d]no path in the other direction shares a flow with " + p.ID + "[-:-:-]")
		v.pair.setList(hopHeader, nil)
		v.size(len(p.Hops), 0)
		return
	}
	prefix := "paired: "
	if findPath(v.report, q.ID) == nil {
		prefix = "paired (hidden by the filter): "
	}
	v.pairT.SetText("[::b]" + tview.Escape(pathTitle(q, prefix)) + "[-:-:-]")
	v.pair.setList(hopHeader, hopRows(full, q))
	v.size(len(p.Hops), len(q.Hops))
}

// size gives each hop table its rows plus the heading, at most 9 lines, keeping the list at
// least a third of the view.
func (v *pathsView) size(a, b int) {
	h := func(n int) int {
		if n == 0 {
			return 0
		}
		return min(n+1, 9)
	}
	v.root.ResizeItem(v.hops, h(a), 0)
	v.root.ResizeItem(v.pair, h(b), 0)
	v.list.reveal()
}

func (v *pathsView) enter() bool {
	p := v.selected()
	if p == nil {
		return false
	}
	v.a.openPackets(Target{Sel: flows.Selection{Path: p.ID}, Title: pathTitle(p, "path ")})
	return true
}

// groupOf returns the group holding path id.
func (v *pathsView) groupOf(id string) *pathGroup {
	for gi := range v.groups {
		for _, i := range v.groups[gi].members {
			if v.report.Paths[i].ID == id {
				return &v.groups[gi]
			}
		}
	}
	return nil
}

func (v *pathsView) toggle() bool {
	g := v.groupOf(v.list.selectedID())
	if g == nil || len(g.members) < 2 {
		return false
	}
	v.open[g.shape] = !v.open[g.shape]
	first := v.report.Paths[g.members[0]].ID
	v.rebuild()
	v.list.selectID(first)
	return true
}

func (v *pathsView) toggleAll() bool {
	anyClosed := false
	for _, g := range v.groups {
		if len(g.members) > 1 && !v.open[g.shape] {
			anyClosed = true
		}
	}
	for _, g := range v.groups {
		v.open[g.shape] = anyClosed
	}
	v.rebuild()
	return true
}

// selectPath selects path id in the list, opening its group; false when the report shown has
// no such path.
func (v *pathsView) selectPath(id string) bool {
	g := v.groupOf(id)
	if g == nil {
		return false
	}
	if v.report.Paths[g.members[0]].ID != id && !v.open[g.shape] {
		v.open[g.shape] = true
		v.list.setList(pathListHeader, pathListRows(v.report, v.groups, v.open))
	}
	v.a.setPane(0)
	ok := v.list.selectID(id)
	v.showSelected()
	return ok
}

func (v *pathsView) gotoPair() bool {
	p := v.selected()
	if p == nil {
		return false
	}
	q := pairedPath(v.a.model.FullReport(), p)
	if q == nil {
		v.a.flash("no path in the other direction shares a flow with "+p.ID, toneWarn)
		return true
	}
	if !v.selectPath(q.ID) {
		v.a.flash(fmt.Sprintf("%s, paired with %s, is hidden by the filter %s", q.ID, p.ID, v.a.model.Filter()), toneWarn)
	}
	return true
}
