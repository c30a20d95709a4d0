package ui

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"

	"github.com/stackflow/stackflow/flows"
)

// The Packets view lists the packets of the path, flow or finding chosen in another view,
// re-read from the capture files in the background ("loading…" meanwhile). Enter opens the
// detail pane: gopacket's layer tree of the packet, and a hex dump highlighting the layer
// selected in the tree. Esc closes the pane, then returns to the view the packets came from.

var packetHeader = []string{"FRAME", "TIME", "POINT", "HOP", "LEN", "INFO"}

// packetRows renders a packet list; hopName names hop i of the path (nil: numbers only). The
// frame is the packet's number in its file ("#18"), prefixed with the file's name when the
// list comes from several files.
func packetRows(l *PacketList, hopName func(i int) string) []row {
	if l == nil {
		return nil
	}
	several := false
	for _, p := range l.Rows {
		several = several || p.File != l.Rows[0].File
	}
	out := make([]row, len(l.Rows))
	for i, p := range l.Rows {
		frame := fmt.Sprintf("#%d", p.Number)
		if several {
			frame = filepath.Base(p.File) + " " + frame
		}
		hop := "-"
		if p.Hop >= 0 {
			hop = fmt.Sprint(p.Hop + 1)
			if hopName != nil {
				if n := hopName(p.Hop); n != "" {
					hop += " " + n
				}
			}
		}
		out[i] = row{id: fmt.Sprint(i), cells: []cell{
			toned(frame, toneDim),
			plain(clockNS(p.Time)), plain(p.Point), toned(hop, toneInfo), num(p.Len), plain(p.Info),
		}}
	}
	return out
}

// packetSummary is the line under the packet view's title: how many packets, and what the
// export machinery says about them relative to the report.
func packetSummary(l *PacketList) string {
	if l == nil {
		return ""
	}
	var parts []string
	shown := plural(l.Total, "packet")
	if len(l.Rows) < l.Total {
		shown = fmt.Sprintf("%d packets (the first %d listed)", l.Total, len(l.Rows))
	}
	files := map[string]bool{}
	for _, r := range l.Rows {
		files[filepath.Base(r.File)] = true
	}
	if len(files) == 1 {
		for f := range files {
			shown += " from " + f
		}
	}
	parts = append(parts, shown)
	if st := l.Stats; st != nil {
		if st.HopPackets != nil {
			parts = append(parts, fmt.Sprintf("at %s; the report counts %d hop packets", plural(len(st.HopPackets), "hop"), st.Reported))
			if st.Duplicates > 0 {
				parts = append(parts, fmt.Sprintf("%d duplicates on its hops", st.Duplicates))
			}
			if len(st.SharedWith) > 0 {
				parts = append(parts, "hops shared with "+strings.Join(st.SharedWith, ", ")+" (their packets there are listed too)")
			}
		} else {
			parts = append(parts, fmt.Sprintf("the report counts %d", st.Reported))
		}
	}
	if len(l.Missing) > 0 {
		var m []string
		for _, r := range l.Missing {
			m = append(m, fmt.Sprintf("%s #%d", r.Point, r.Number))
		}
		parts = append(parts, "not found: "+strings.Join(m, ", "))
	}
	return strings.Join(parts, " · ")
}

// layerSummary is the one-line description of a layer in the tree: its name, the first of its
// well-known field pairs, and its byte range.
func layerSummary(l layerInfo) string {
	get := func(name string) string {
		for _, f := range l.Fields {
			if f.Name == name {
				return f.Value
			}
		}
		return ""
	}
	s := l.Name
	if tc := get("TypeCode"); tc != "" {
		s += "  " + tc
	}
	for _, pair := range [][2]string{{"SrcIP", "DstIP"}, {"SrcMAC", "DstMAC"}, {"SrcPort", "DstPort"}} {
		if a, b := get(pair[0]), get(pair[1]); a != "" && b != "" {
			s += "  " + a + " > " + b
			break
		}
	}
	if v := get("VNI"); v != "" {
		s += "  vni " + v
	}
	var flags []string
	for _, f := range []string{"SYN", "ACK", "FIN", "RST", "PSH"} {
		if get(f) == "true" {
			flags = append(flags, f)
		}
	}
	if len(flags) > 0 {
		s += "  [" + strings.Join(flags, " ") + "] seq " + get("Seq")
	}
	return fmt.Sprintf("%s  [%d-%d]", s, l.Start, l.End)
}

type packetsView struct {
	a        *App
	root     *tview.Flex
	head     *tview.TextView
	list     *rowTable
	detailT  *tview.TextView
	tree     *tview.TreeView
	hex      *tview.TextView
	state    PacketsState
	report   *flows.Report
	detail   *packetDetail
	open     bool
	keyList  []binding
	vxlan    []uint16
	detailOf int // row index the detail shows
}

func newPacketsView(a *App) view {
	v := &packetsView{a: a, list: newRowTable(&a.pal), vxlan: a.opts.VXLANPorts, detailOf: -1}
	v.head = tview.NewTextView().SetDynamicColors(true).SetWrap(false)
	v.detailT = tview.NewTextView().SetDynamicColors(true).SetWrap(false)
	v.tree = tview.NewTreeView().SetGraphics(true)
	v.tree.SetSelectedFunc(func(n *tview.TreeNode) { n.SetExpanded(!n.IsExpanded()) })
	v.tree.SetChangedFunc(func(n *tview.TreeNode) { v.highlight(n) })
	v.hex = tview.NewTextView().SetDynamicColors(true).SetWrap(false).SetScrollable(true)
	v.root = tview.NewFlex().SetDirection(tview.FlexRow).
		AddItem(v.head, 2, 0, false).
		AddItem(v.list, 0, 1, true).
		AddItem(v.detailT, 0, 0, false).
		AddItem(v.tree, 0, 0, false).
		AddItem(v.hex, 0, 0, false)
	v.list.onMove = func(string) {
		if v.open {
			v.showDetail()
		}
	}
	v.keyList = []binding{
		{keys: []keySpec{specialKey(tcell.KeyEnter)}, label: "Enter", help: "open the detail pane of the selected packet (in the layer tree: open or close a layer)", hint: "Enter detail", do: v.enter},
		// Esc is the app's binding (it calls escape); listed here for the footer and help.
		{keys: []keySpec{specialKey(tcell.KeyEscape)}, label: "Esc", help: "close the detail pane; again: back to the view the packets came from", hint: "Esc back"},
	}
	return v
}

func (v *packetsView) title() string              { return "Packets" }
func (v *packetsView) primitive() tview.Primitive { return v.root }
func (v *packetsView) keys() []binding            { return v.keyList }

func (v *packetsView) panes() []tview.Primitive {
	if v.open {
		return []tview.Primitive{v.list, v.tree, v.hex}
	}
	return []tview.Primitive{v.list}
}

func (v *packetsView) refresh(m *Model, c Change) {
	if c&ReportChanged != 0 {
		v.report = m.FullReport()
	}
	if c&PacketsChanged == 0 {
		return
	}
	st := m.Packets()
	fresh := st.Target.key() != v.state.Target.key() || st.List != v.state.List
	if fresh {
		v.closeDetail()
	}
	v.state = st
	var head string
	switch {
	case st.Target.Empty():
		head = "[::b]No packets chosen[::-]\n[::d]Choose a path (1) or a flow (2), or a finding (6) with packet evidence, and press Enter.[-:-:-]"
	case st.Loading:
		head = "[::b]" + tview.Escape(st.Target.Title) + "[::-]\n" + v.a.pal.tag(toneWarn) + "loading… reading the captures again[-:-:-]"
	case st.Err != nil:
		head = "[::b]" + tview.Escape(st.Target.Title) + "[::-]\n" + v.a.pal.tag(toneBad) + tview.Escape(st.Err.Error()) + "[-:-:-]"
	default:
		head = "[::b]" + tview.Escape(st.Target.Title) + "[::-]\n[::d]" + tview.Escape(packetSummary(st.List)) + "[-:-:-]"
	}
	v.head.SetText(head)
	var rows []row
	if !st.Loading && st.Err == nil {
		rows = packetRows(st.List, v.hopName)
	}
	v.list.setList(packetHeader, rows)
	if fresh {
		v.list.Select(1, 0).ScrollToBeginning()
	}
}

// hopName names hop i of the shown path by its transform ("snat", "encap").
func (v *packetsView) hopName(i int) string {
	p := findPath(v.report, v.state.Target.Sel.Path)
	if p == nil || i < 0 || i >= len(p.Hops) {
		return ""
	}
	return p.Hops[i].Transform
}

// selectedRow returns the selected packet, or nil.
func (v *packetsView) selectedRow() (int, *PacketRow) {
	id := v.list.selectedID()
	if id == "" || v.state.List == nil {
		return -1, nil
	}
	i := idNumber(id)
	if i < 0 || i >= len(v.state.List.Rows) {
		return -1, nil
	}
	return i, &v.state.List.Rows[i]
}

func (v *packetsView) enter() bool {
	if v.open && v.a.tv.GetFocus() == v.tree {
		return false // the tree opens and closes layers itself
	}
	if _, r := v.selectedRow(); r == nil {
		return false
	}
	v.open = true
	v.root.ResizeItem(v.list, 8, 0)
	v.root.ResizeItem(v.detailT, 1, 0)
	v.root.ResizeItem(v.tree, 0, 1)
	v.root.ResizeItem(v.hex, 0, 1)
	v.list.reveal()
	v.showDetail()
	return true
}

// escape closes the detail pane, else goes back to the view the packets came from (the app's
// Esc binding calls it).
func (v *packetsView) escape() bool {
	if v.open {
		v.closeDetail()
		v.a.setPane(0)
		return true
	}
	v.a.goBack()
	return true
}

func (v *packetsView) closeDetail() {
	v.open = false
	v.detail = nil
	v.detailOf = -1
	v.root.ResizeItem(v.list, 0, 1)
	v.root.ResizeItem(v.detailT, 0, 0)
	v.root.ResizeItem(v.tree, 0, 0)
	v.root.ResizeItem(v.hex, 0, 0)
	v.list.reveal()
}

// showDetail decodes the selected packet into the tree and the hex dump.
func (v *packetsView) showDetail() {
	i, r := v.selectedRow()
	if r == nil || i == v.detailOf {
		return
	}
	v.detailOf = i
	head := fmt.Sprintf("packet %d/%d · %s #%d · %s · %s · %d bytes", i+1, len(v.state.List.Rows), filepath.Base(r.File), r.Number, r.Point, clockNS(r.Time), r.Len)
	if r.Hop >= 0 {
		head += fmt.Sprintf(" · hop %d", r.Hop+1)
		if n := v.hopName(r.Hop); n != "" {
			head += " " + n
		}
	}
	v.detailT.SetText("[::b]" + tview.Escape(head) + "[-:-:-]")
	if r.Data == nil {
		v.detail = nil
		v.tree.SetRoot(tview.NewTreeNode("bytes not kept: the list keeps the bytes of its first packets only"))
		v.hex.SetText("")
		return
	}
	d := describePacket(r.Data, r.LinkType, v.vxlan)
	v.detail = &d
	// The dump gets the lines it needs (up to 16), the layer tree the rest.
	v.root.ResizeItem(v.hex, min((len(r.Data)+15)/16, 16), 0)
	root := tview.NewTreeNode(fmt.Sprintf("%d bytes captured", len(r.Data))).SetSelectable(false)
	for li, l := range d.Layers {
		n := tview.NewTreeNode(tview.Escape(layerSummary(l))).SetReference(li).SetExpanded(false).
			SetTextStyle(tcell.StyleDefault.Bold(true)).SetSelectedTextStyle(tcell.StyleDefault.Bold(true).Reverse(true))
		for _, f := range l.Fields {
			n.AddChild(tview.NewTreeNode(tview.Escape(f.Name + ": " + f.Value)).SetReference(li).
				SetSelectedTextStyle(tcell.StyleDefault.Reverse(true)))
		}
		root.AddChild(n)
	}
	if d.Err != "" {
		root.AddChild(tview.NewTreeNode(tview.Escape("decoding stopped: " + d.Err)).SetTextStyle(v.a.pal.style(toneBad)))
	}
	v.tree.SetRoot(root).SetTopLevel(1)
	if kids := root.GetChildren(); len(kids) > 0 {
		v.tree.SetCurrentNode(kids[0])
		v.highlight(kids[0])
	} else {
		v.hex.SetText(hexDump(r.Data, 0, 0, true))
	}
}

// highlight marks the bytes of the tree's current layer in the hex dump.
func (v *packetsView) highlight(n *tview.TreeNode) {
	if v.detail == nil || n == nil {
		return
	}
	li, ok := n.GetReference().(int)
	start, end := 0, 0
	if ok && li >= 0 && li < len(v.detail.Layers) {
		start, end = v.detail.Layers[li].Start, v.detail.Layers[li].End
	}
	v.hex.SetText(hexDump(v.detail.Data, start, end, true))
	v.hex.ScrollTo(max(start/16-1, 0), 0)
}
