package ui

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"

	"github.com/stackflow/stackflow/flows"
)

// The Findings view lists findings most severe first, the selected one's evidence below;
// Enter jumps to the evidence: its path, else its flow, else its packets, else (BGP findings)
// the BGP view, else a filter on its addresses. Damage found in the inputs (the report's
// capture problems) is listed under them, when there is any.

var (
	findingHeader = []string{"SEVERITY", "KIND", "SUMMARY"}
	problemHeader = []string{"KIND", "FILE", "PACKET", "OFFSET", "MESSAGE"}
)

// problemRow renders damage found in the input; a summary entry has no position.
func problemRow(i int, p *flows.Problem) row {
	pkt, off := "-", "-"
	if p.File != "" {
		pkt, off = fmt.Sprint(p.Packet), fmt.Sprint(p.Offset)
	}
	return row{id: fmt.Sprint(i), cells: []cell{
		toned(p.Kind, toneWarn), plain(p.File), plain(pkt), plain(off), plain(p.Message),
	}}
}

var severityRank = map[string]int{"error": 0, "warning": 1, "info": 2}

func severityTone(s string) tone {
	switch s {
	case "error":
		return toneBad
	case "warning":
		return toneWarn
	case "info":
		return toneGood
	}
	return toneNormal
}

// sortedFindings returns the indexes of r.Findings, errors first, then warnings, then info;
// report order (time) within a severity.
func sortedFindings(r *flows.Report) []int {
	idx := make([]int, len(r.Findings))
	for i := range idx {
		idx[i] = i
	}
	rank := func(s string) int {
		if v, ok := severityRank[s]; ok {
			return v
		}
		return 3
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		return cmp.Compare(rank(r.Findings[a].Severity), rank(r.Findings[b].Severity))
	})
	return idx
}

// findingRow renders one finding.
func findingRow(i int, f *flows.Finding) row {
	return row{id: fmt.Sprint(i), cells: []cell{
		toned(f.Severity, severityTone(f.Severity)), toned(f.Kind, toneInfo), plain(f.Summary),
	}}
}

// evidenceAction says where Enter goes for a finding: "path", "flow", "packets", "bgp",
// "addresses" or "" when the evidence names nothing to go to.
func evidenceAction(f *flows.Finding) string {
	e := f.Evidence
	switch {
	case len(e.PathIDs) > 0:
		return "path"
	case len(e.FlowIDs) > 0:
		return "flow"
	case len(e.Packets) > 0:
		return "packets"
	case strings.HasPrefix(f.Kind, "bgp_"):
		return "bgp"
	case len(e.Addresses) > 0:
		return "addresses"
	}
	return ""
}

// findingDetail is the text under the list: the whole summary and every kind of evidence, and
// what Enter does.
func findingDetail(f *flows.Finding) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %s\n", f.Severity, f.Kind, f.Summary)
	e := f.Evidence
	list := func(label string, ids []string) {
		if len(ids) == 0 {
			return
		}
		const most = 12
		s := strings.Join(ids[:min(len(ids), most)], " ")
		if len(ids) > most {
			s += fmt.Sprintf(" … %d more", len(ids)-most)
		}
		fmt.Fprintf(&b, "  %s: %s\n", label, s)
	}
	list("paths", e.PathIDs)
	list("flows", e.FlowIDs)
	var pk []string
	for _, p := range e.Packets {
		pk = append(pk, fmt.Sprintf("%s#%d", p.Point, p.Number))
	}
	list("packets", pk)
	list("addresses", e.Addresses)
	switch evidenceAction(f) {
	case "path":
		fmt.Fprintf(&b, "Enter: show path %s", e.PathIDs[0])
	case "flow":
		fmt.Fprintf(&b, "Enter: show flow %s", e.FlowIDs[0])
	case "packets":
		fmt.Fprintf(&b, "Enter: list the %s", plural(len(e.Packets), "packet"))
	case "bgp":
		b.WriteString("Enter: show the BGP sessions")
	case "addresses":
		b.WriteString("Enter: filter the report to its addresses")
	}
	if len(e.Packets) > 0 && evidenceAction(f) != "packets" {
		fmt.Fprintf(&b, " · p: list its %s", plural(len(e.Packets), "packet"))
	}
	return b.String()
}

type findingsView struct {
	a       *App
	root    *tview.Flex
	head    *tview.TextView
	list    *rowTable
	detail  *tview.TextView
	probT   *tview.TextView
	probs   *rowTable
	report  *flows.Report
	keyList []binding
}

func newFindingsView(a *App) view {
	v := &findingsView{a: a, list: newRowTable(&a.pal), probs: newRowTable(&a.pal)}
	v.probT = tview.NewTextView().SetDynamicColors(true).SetWrap(false)
	v.head = tview.NewTextView().SetDynamicColors(true).SetWrap(false)
	v.detail = tview.NewTextView().SetDynamicColors(true).SetWrap(true)
	v.root = tview.NewFlex().SetDirection(tview.FlexRow).
		AddItem(v.head, 1, 0, false).
		AddItem(v.list, 0, 2, true).
		AddItem(v.detail, 0, 1, false).
		AddItem(v.probT, 0, 0, false).
		AddItem(v.probs, 0, 0, false)
	v.list.onMove = func(string) { v.showSelected() }
	v.keyList = []binding{
		{keys: []keySpec{specialKey(tcell.KeyEnter)}, label: "Enter", help: "go to the evidence: its path, flow, packets, BGP session or addresses", hint: "Enter evidence", do: v.enter},
		{keys: []keySpec{runeKey('p')}, label: "p", help: "list the packets the finding names", hint: "p packets", do: v.packets},
	}
	return v
}

func (v *findingsView) title() string              { return "Findings" }
func (v *findingsView) primitive() tview.Primitive { return v.root }
func (v *findingsView) panes() []tview.Primitive {
	return []tview.Primitive{v.list, v.detail, v.probs}
}
func (v *findingsView) keys() []binding { return v.keyList }

func (v *findingsView) refresh(m *Model, c Change) {
	if c&ReportChanged == 0 {
		return
	}
	r := m.Report()
	v.report = r
	count := map[string]int{}
	for _, f := range r.Findings {
		count[f.Severity]++
	}
	p := v.a.pal
	v.head.SetText(fmt.Sprintf("[::b]%s[::-] · %s%d error[-:-:-] · %s%d warning[-:-:-] · %s%d info[-:-:-]",
		plural(len(r.Findings), "finding"), p.tag(toneBad), count["error"], p.tag(toneWarn), count["warning"], p.tag(toneGood), count["info"]))
	idx := sortedFindings(r)
	v.list.setRows(findingHeader, len(idx), func(i int) row { return findingRow(idx[i], &r.Findings[idx[i]]) })
	v.showSelected()
	probs := r.Capture.Problems
	v.probs.setRows(problemHeader, len(probs), func(i int) row { return problemRow(i, &probs[i]) })
	if len(probs) == 0 {
		v.root.ResizeItem(v.probT, 0, 0)
		v.root.ResizeItem(v.probs, 0, 0)
		return
	}
	v.probT.SetText(fmt.Sprintf(v.a.pal.tag(toneWarn)+"[::b]Input problems[-:-:-] (%d: the inputs are damaged there; analysis went on past them)", len(probs)))
	v.root.ResizeItem(v.probT, 1, 0)
	v.root.ResizeItem(v.probs, min(len(probs)+1, 6), 0)
}

func (v *findingsView) selected() *flows.Finding {
	id := v.list.selectedID()
	if id == "" || v.report == nil {
		return nil
	}
	i := idNumber(id)
	if i < 0 || i >= len(v.report.Findings) {
		return nil
	}
	return &v.report.Findings[i]
}

func (v *findingsView) showSelected() {
	f := v.selected()
	if f == nil {
		msg := "No findings: nothing in the capture looked wrong."
		if v.report != nil && v.report.Filter != "" {
			msg = "No findings relate to what the filter keeps."
		}
		v.detail.SetText("[::d]" + msg + "[-:-:-]")
		return
	}
	v.detail.SetText(v.a.pal.tag(severityTone(f.Severity)) + tview.Escape(findingDetail(f)) + "[-:-:-]")
}

func (v *findingsView) enter() bool {
	f := v.selected()
	if f == nil {
		return false
	}
	e := f.Evidence
	switch evidenceAction(f) {
	case "path":
		pv := v.a.views[viewPaths].(*pathsView)
		v.a.jump(viewPaths, e.PathIDs[0], pv.selectPath)
	case "flow":
		fv := v.a.views[viewFlows].(*flowsView)
		v.a.jump(viewFlows, e.FlowIDs[0], fv.selectFlow)
	case "packets":
		return v.packets()
	case "bgp":
		v.a.show(viewBGP)
	case "addresses":
		expr := hostsFilter(e.Addresses)
		if err := v.a.model.SetFilter(expr); err != nil {
			v.a.flash(fmt.Sprintf("cannot filter: %v", err), toneBad)
			return true
		}
		v.a.show(viewPaths)
		v.a.flash("filter "+v.a.model.Filter()+" (/ to change)", toneInfo)
	default:
		v.a.flash("this finding names no path, flow, packet or address", toneDim)
	}
	return true
}

func (v *findingsView) packets() bool {
	f := v.selected()
	if f == nil || len(f.Evidence.Packets) == 0 {
		return false
	}
	v.a.openPackets(Target{Refs: f.Evidence.Packets, Title: fmt.Sprintf("packets of finding %s: %s", f.Kind, f.Summary)})
	return true
}
