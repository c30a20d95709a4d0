package ui

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"

	"github.com/stackflow/stackflow/flows"
)

// The Topology view lists the capture points (where the captures were taken, with the clock
// offset applied to each), the nodes with their roles and addresses, the address translations
// (VIP -> DIP mappings first, since they are what an SLB deployment is about), and the
// tunnels. Enter narrows the report to the selected point, node, mapping or tunnel.

var (
	pointHeader  = []string{"POINT", "INTERFACE", "LINK", "PKTS", "BYTES", "CLOCK OFFSET", "FILE"}
	nodeHeader   = []string{"NODE", "NAME", "ROLES", "ADDRESSES", "MACS"}
	natHeader    = []string{"KIND", "NODE", "PROTO", "INSIDE", "OUTSIDE", "PKTS", "FIRST", "LAST"}
	tunnelHeader = []string{"TYPE", "VNI/KEY", "OUTER", "LEVEL", "PKTS", "BYTES", "FIRST", "LAST"}
)

// pointRow renders a capture point; the clock offset is the one applied (estimated or given).
func pointRow(p *flows.Point) row {
	off := "-"
	if p.ClockOffsetUs != nil {
		off = fmt.Sprintf("%+dus", *p.ClockOffsetUs)
	}
	iface := p.Interface
	if iface == "" {
		iface = fmt.Sprintf("#%d", p.InterfaceIdx)
	}
	return row{id: p.ID, cells: []cell{
		toned(p.ID, toneInfo), toned(iface, toneDim), plain(p.LinkType), num(p.Packets), plain(bytesText(p.Bytes)), plain(off), plain(p.File),
	}}
}

// nodeRow renders a node.
func nodeRow(n *flows.Node) row {
	return row{id: n.ID, cells: []cell{
		toned(n.ID, toneInfo), plain(n.Name), toned(strings.Join(n.Roles, ","), toneWarn),
		plain(strings.Join(n.Addresses, " ")), toned(strings.Join(n.MACs, " "), toneDim),
	}}
}

// natKindOrder puts vip_dip first, then dnat, then snat.
var natKindOrder = map[string]int{"vip_dip": 0, "dnat": 1, "snat": 2}

// sortedNAT returns the indexes of r.NAT with VIP -> DIP mappings first, keeping report order
// (time, then id) within a kind.
func sortedNAT(r *flows.Report) []int {
	idx := make([]int, len(r.NAT))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		ka, oka := natKindOrder[r.NAT[a].Kind]
		kb, okb := natKindOrder[r.NAT[b].Kind]
		if !oka {
			ka = 3
		}
		if !okb {
			kb = 3
		}
		return cmp.Compare(ka, kb)
	})
	return idx
}

// natRow renders an address translation.
func natRow(i int, m *flows.NATMapping, names map[string]string) row {
	kind := toned(m.Kind, toneInfo)
	if m.Kind == "vip_dip" {
		kind.tone = toneGood
	}
	return row{id: fmt.Sprint(i), cells: []cell{
		kind, plain(nameOf(names, m.Node)), plain(m.Proto), plain(m.Inside), plain(m.Outside),
		num(m.Packets), plain(clock(m.First)), plain(clock(m.Last)),
	}}
}

// tunnelRow renders a tunnel.
func tunnelRow(i int, t *flows.Tunnel) row {
	id := "-"
	switch {
	case t.VNI != nil && t.FlowID != nil:
		id = fmt.Sprintf("vsid %d flow %d", *t.VNI, *t.FlowID)
	case t.VNI != nil:
		id = fmt.Sprint(*t.VNI)
	case t.Key != nil:
		id = fmt.Sprintf("key %#x", *t.Key)
	}
	return row{id: fmt.Sprint(i), cells: []cell{
		toned(t.Type, toneInfo), plain(id), plain(t.OuterSrc + " > " + t.OuterDst), num(t.Level),
		num(t.Packets), plain(bytesText(t.Bytes)), plain(clock(t.First)), plain(clock(t.Last)),
	}}
}

// hostsFilter is a filter expression matching any of the addresses ("" when none parses).
func hostsFilter(addrs []string) string {
	var parts []string
	for _, s := range addrs {
		if a, err := netip.ParseAddr(s); err == nil {
			parts = append(parts, "host "+a.String())
		}
	}
	return strings.Join(parts, " or ")
}

// endpointFilter matches traffic of one "ip:port" endpoint ("" when it does not parse).
func endpointFilter(ep string) string {
	ap, err := netip.ParseAddrPort(ep)
	if err != nil {
		if a, err := netip.ParseAddr(ep); err == nil {
			return "host " + a.String()
		}
		return ""
	}
	return fmt.Sprintf("(host %s and port %d)", ap.Addr(), ap.Port())
}

type topologyView struct {
	a       *App
	root    *tview.Flex
	pointsT *tview.TextView
	points  *rowTable
	nodesT  *tview.TextView
	nodes   *rowTable
	natT    *tview.TextView
	nat     *rowTable
	tunT    *tview.TextView
	tunnels *rowTable
	report  *flows.Report
	natIdx  []int
	keyList []binding
}

func newTopologyView(a *App) view {
	v := &topologyView{a: a, points: newRowTable(&a.pal), nodes: newRowTable(&a.pal), nat: newRowTable(&a.pal), tunnels: newRowTable(&a.pal)}
	v.pointsT = tview.NewTextView().SetDynamicColors(true).SetWrap(false)
	v.nodesT = tview.NewTextView().SetDynamicColors(true).SetWrap(false)
	v.natT = tview.NewTextView().SetDynamicColors(true).SetWrap(false)
	v.tunT = tview.NewTextView().SetDynamicColors(true).SetWrap(false)
	v.root = tview.NewFlex().SetDirection(tview.FlexRow).
		AddItem(v.pointsT, 1, 0, false).
		AddItem(v.points, 2, 0, false).
		AddItem(v.nodesT, 1, 0, false).
		AddItem(v.nodes, 0, 1, true).
		AddItem(v.natT, 1, 0, false).
		AddItem(v.nat, 0, 1, false).
		AddItem(v.tunT, 1, 0, false).
		AddItem(v.tunnels, 2, 0, false)
	v.keyList = []binding{
		{keys: []keySpec{specialKey(tcell.KeyEnter)}, label: "Enter", help: "filter the report to the selected node's addresses, mapping's endpoints, tunnel's VNI or capture point", hint: "Enter filter to it", do: v.enter},
	}
	return v
}

func (v *topologyView) title() string              { return "Topology" }
func (v *topologyView) primitive() tview.Primitive { return v.root }
func (v *topologyView) keys() []binding            { return v.keyList }
func (v *topologyView) panes() []tview.Primitive {
	return []tview.Primitive{v.nodes, v.nat, v.tunnels, v.points}
}

func (v *topologyView) refresh(m *Model, c Change) {
	if c&ReportChanged == 0 {
		return
	}
	r := m.Report()
	v.report = r
	pts := make([]row, len(r.Capture.Points))
	for i := range r.Capture.Points {
		pts[i] = pointRow(&r.Capture.Points[i])
	}
	v.pointsT.SetText(fmt.Sprintf("[::b]Capture points[::-] (%d)", len(pts)))
	v.points.setList(pointHeader, pts)
	v.root.ResizeItem(v.points, min(len(pts)+1, 7), 0)
	nodes := make([]row, len(r.Nodes))
	for i := range r.Nodes {
		nodes[i] = nodeRow(&r.Nodes[i])
	}
	v.nodesT.SetText(fmt.Sprintf("[::b]Nodes[::-] (%d)", len(r.Nodes)))
	v.nodes.setList(nodeHeader, nodes)
	names := nodeNames(r)
	v.natIdx = sortedNAT(r)
	idx := v.natIdx
	vd := 0
	for _, m := range r.NAT {
		if m.Kind == "vip_dip" {
			vd++
		}
	}
	v.natT.SetText(fmt.Sprintf("[::b]Address translations[::-] (%d, %d VIP -> DIP)", len(r.NAT), vd))
	v.nat.setRows(natHeader, len(idx), func(i int) row { return natRow(idx[i], &r.NAT[idx[i]], names) })
	v.tunT.SetText(fmt.Sprintf("[::b]Tunnels[::-] (%d)", len(r.Tunnels)))
	v.tunnels.setRows(tunnelHeader, len(r.Tunnels), func(i int) row { return tunnelRow(i, &r.Tunnels[i]) })
	v.root.ResizeItem(v.tunnels, min(len(r.Tunnels)+1, 5), 0)
}

func (v *topologyView) enter() bool {
	var expr string
	switch v.a.tv.GetFocus() {
	case v.points:
		if id := v.points.selectedID(); id != "" {
			expr = fmt.Sprintf("point %q", id) // quoted: point ids may hold ":" (etl2pcapng names)
		}
	case v.nodes:
		for _, n := range v.report.Nodes {
			if n.ID == v.nodes.selectedID() {
				expr = hostsFilter(n.Addresses)
			}
		}
	case v.nat:
		id := v.nat.selectedID()
		if id == "" {
			return false
		}
		m := v.report.NAT[idNumber(id)]
		var parts []string
		for _, ep := range []string{m.Inside, m.Outside} {
			if f := endpointFilter(ep); f != "" {
				parts = append(parts, f)
			}
		}
		expr = strings.Join(parts, " or ")
	case v.tunnels:
		id := v.tunnels.selectedID()
		if id == "" {
			return false
		}
		t := v.report.Tunnels[idNumber(id)]
		if t.VNI != nil {
			expr = fmt.Sprintf("vni %d", *t.VNI)
		} else {
			expr = hostsFilter([]string{t.OuterSrc, t.OuterDst})
		}
	default:
		return false
	}
	if expr == "" {
		return false
	}
	if err := v.a.model.SetFilter(expr); err != nil {
		v.a.flash(fmt.Sprintf("cannot filter: %v", err), toneBad)
		return true
	}
	v.a.show(viewPaths)
	r := v.a.model.Report()
	v.a.flash(fmt.Sprintf("filter %s: %s, %s (/ to change)", v.a.model.Filter(), plural(len(r.Paths), "path"), plural(len(r.Flows), "flow")), toneInfo)
	return true
}
