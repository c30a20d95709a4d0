package topo

import (
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// DOTOptions shapes the DOT text. The zero value draws no legend and no MACs.
type DOTOptions struct {
	Legend       bool // add a legend of the roles and link styles the graph uses
	MACs         bool // list nodes' MAC addresses and hops' MAC pairs
	MaxAddresses int  // addresses listed per node before "+N more" (0: 4)
	MaxPoints    int  // capture points listed per link before "+N more" (0: 3)
}

// WriteDOT writes g as a Graphviz digraph. Every string from the report (names, points,
// addresses, the filter) is escaped for the place it lands in: HTML-like labels are well-formed
// XML of valid characters, quoted strings escape quotes and backslashes. The same graph and
// options always give the same bytes.
func WriteDOT(w io.Writer, g *Graph, opts DOTOptions) error {
	if g == nil {
		return fmt.Errorf("write dot: nil graph")
	}
	if opts.MaxAddresses <= 0 {
		opts.MaxAddresses = 4
	}
	if opts.MaxPoints <= 0 {
		opts.MaxPoints = 3
	}
	d := &dotWriter{w: w, opts: opts, g: g, col: map[string]int{}, row: map[string]int{}, ids: map[string]string{}}
	used := map[string]bool{}
	for i, n := range g.Nodes {
		d.col[n.ID] = n.Column
		d.row[n.ID] = n.Row
		// Cleaning may map two ids to one string; the second gets a suffix, so every node of
		// the graph stays one node of the drawing.
		base := clean(n.ID)
		if strings.TrimSpace(base) == "" {
			base = "node~" // Graphviz has no node without a name
		}
		id := base
		for k := i; used[id]; k++ {
			id = base + "~" + strconv.Itoa(k)
		}
		used[id] = true
		if _, dup := d.ids[n.ID]; !dup {
			d.ids[n.ID] = id
		}
	}
	d.header()
	d.nodes()
	d.ranks()
	d.edges()
	d.printf("}\n")
	return d.err
}

type dotWriter struct {
	w    io.Writer
	opts DOTOptions
	g    *Graph
	col  map[string]int
	row  map[string]int
	ids  map[string]string // graph node id -> DOT node id
	err  error
}

// id is the quoted DOT id of a graph node.
func (d *dotWriter) id(graphID string) string {
	if id, ok := d.ids[graphID]; ok {
		return quote(id)
	}
	return quote(graphID)
}

func (d *dotWriter) printf(format string, args ...any) {
	if d.err == nil {
		_, d.err = fmt.Fprintf(d.w, format, args...)
	}
}

func (d *dotWriter) header() {
	kind := "topology"
	if d.g.Kind == KindPath {
		kind = "path"
	}
	d.printf("// stackflow %s diagram; render with: dot -Tsvg\n", kind)
	d.printf("digraph %s {\n", quote("stackflow "+kind))
	title := d.titleLabel()
	ranksep := "1.0"
	if d.g.Kind == KindPath {
		ranksep = "0.45"
	}
	if title != "" {
		title = ", label=<" + title + ">"
	}
	d.printf("\tgraph [rankdir=LR, newrank=true, fontname=\"Helvetica\", fontsize=10, fontcolor=%q, labelloc=t, labeljust=l, nodesep=0.5, ranksep=%s, pad=0.3, bgcolor=\"white\"%s];\n",
		colorTitle, ranksep, title)
	d.printf("\tnode [fontname=\"Helvetica\", fontsize=10, shape=box, style=\"rounded,filled\", penwidth=1.3, margin=\"0.14,0.07\"];\n")
	d.printf("\tedge [fontname=\"Helvetica\", fontsize=9, arrowsize=0.7];\n")
}

func (d *dotWriter) nodes() {
	for i := range d.g.Nodes {
		n := &d.g.Nodes[i]
		st := styleOf(n.MainRole())
		attrs := []string{}
		switch n.Kind {
		case NodeEndpoint:
			attrs = append(attrs, `shape=box`, `style="rounded,dashed,filled"`, `fillcolor="`+colorEndpoint+`"`, `color="`+colorFaint+`"`)
		case NodeHop:
			attrs = append(attrs, `shape=box`, `style="rounded,filled"`, `fillcolor="`+st.fill+`"`, `color="`+st.border+`"`)
		default:
			style := "rounded,filled"
			if st.shape != "box" {
				style = "filled"
			}
			if st.role == "vip" {
				style = "dashed,filled"
			}
			attrs = append(attrs, "shape="+st.shape, `style="`+style+`"`, `fillcolor="`+st.fill+`"`, `color="`+st.border+`"`)
		}
		if n.Warn {
			attrs = append(attrs, `color="`+colorWarn+`"`, "penwidth=2")
		}
		attrs = append(attrs, "label=<"+d.nodeLabel(n)+">", "tooltip="+quote(d.nodeTooltip(n)))
		d.printf("\t%s [%s];\n", d.id(n.ID), strings.Join(attrs, ", "))
	}
}

func (d *dotWriter) nodeLabel(n *Node) string {
	var b strings.Builder
	b.WriteString(`<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">`)
	row := func(s string) {
		if s != "" {
			b.WriteString("<TR><TD>" + s + "</TD></TR>")
		}
	}
	name := html(n.Name)
	if strings.TrimSpace(name) == "" {
		name = html(n.ID)
	}
	if h := n.Hop; h != nil {
		row(font(0, "", true, html(strconv.Itoa(h.Index)+" · ")+name))
		row(font(9, colorFaint, false, html("at "+h.Point)))
		if d.opts.MACs && h.SrcMAC != "" {
			row(font(9, colorFaint, false, html(h.SrcMAC+" → "+h.DstMAC)))
		}
		row(font(9, "", false, html(h.Tuple)))
		if h.Tunnel != "" {
			row(font(9, transformColor("encap"), false, html(h.Tunnel)))
		}
		tr := orDefault(h.Transform, "none")
		row(font(0, transformColor(tr), true, html(tr)))
		facts := plural(h.Packets, "pkt")
		if h.Latency != nil {
			facts += " · +" + usText(h.Latency.Median)
		}
		row(font(9, "", false, html(facts)))
		if h.Latency != nil {
			row(font(9, colorFaint, false, html("latency min/med/p99 "+usText(h.Latency.Min)+" / "+usText(h.Latency.Median)+" / "+usText(h.Latency.P99))))
		}
		if h.Lost > 0 {
			row(font(9, colorWarn, true, html(strconv.Itoa(h.Lost)+" lost after this hop")))
		}
		b.WriteString("</TABLE>")
		return b.String()
	}
	if strings.TrimSpace(name) == "" {
		name = "?"
	}
	row(font(0, "", true, name))
	row(font(9, colorFaint, false, html(strings.Join(n.Roles, " · "))))
	if len(n.Addresses) != 1 || !strings.Contains(n.Name, n.Addresses[0]) {
		row(font(9, "", false, htmlLines(limitList(n.Addresses, d.opts.MaxAddresses))))
	}
	if d.opts.MACs {
		row(font(9, colorFaint, false, htmlLines(limitList(n.MACs, d.opts.MaxAddresses))))
	}
	for _, note := range n.Notes {
		row(font(9, styleOf(n.MainRole()).border, false, html(note)))
	}
	b.WriteString("</TABLE>")
	return b.String()
}

// font wraps escaped text in a font run; empty text gives nothing at all, so that no label cell
// is ever empty (see labelTable).
func font(size int, color string, bold bool, text string) string {
	if strings.TrimSpace(text) == "" {
		return ""
	}
	if bold {
		text = "<B>" + text + "</B>"
	}
	attrs := ""
	if size > 0 {
		attrs += ` POINT-SIZE="` + strconv.Itoa(size) + `"`
	}
	if color != "" {
		attrs += ` COLOR="` + color + `"`
	}
	if attrs == "" {
		return text
	}
	return "<FONT" + attrs + ">" + text + "</FONT>"
}

func (d *dotWriter) nodeTooltip(n *Node) string {
	parts := []string{n.Name}
	if len(n.Roles) > 0 {
		parts = append(parts, "roles: "+strings.Join(n.Roles, ", "))
	}
	if len(n.Addresses) > 0 {
		parts = append(parts, "addresses: "+strings.Join(n.Addresses, ", "))
	}
	if len(n.MACs) > 0 {
		parts = append(parts, "MACs: "+strings.Join(n.MACs, ", "))
	}
	if n.Hop != nil {
		parts = append(parts, "path "+n.Hop.PathID+" hop "+strconv.Itoa(n.Hop.Index))
	}
	return strings.Join(parts, "; ")
}

// ranks pins each column's nodes to one rank, so the chain reads left to right, and in path
// diagrams keeps the forward row above the return row.
func (d *dotWriter) ranks() {
	var cols []int
	byCol := map[int][]string{}
	for _, n := range d.g.Nodes {
		if n.Column < 0 {
			continue
		}
		if _, ok := byCol[n.Column]; !ok {
			cols = append(cols, n.Column)
		}
		byCol[n.Column] = append(byCol[n.Column], n.ID)
	}
	slices.Sort(cols)
	for _, c := range cols {
		ids := byCol[c]
		q := make([]string, len(ids))
		for i, id := range ids {
			q[i] = d.id(id)
		}
		d.printf("\t{ rank=same; %s; }\n", strings.Join(q, "; "))
		if d.g.Kind != KindPath {
			continue
		}
		// Flat invisible edges order a rank top to bottom: forward row, then return row.
		slices.SortStableFunc(ids, func(a, b string) int { return d.row[a] - d.row[b] })
		for i := 1; i < len(ids); i++ {
			if d.row[ids[i-1]] != d.row[ids[i]] {
				d.printf("\t%s -> %s [style=invis];\n", d.id(ids[i-1]), d.id(ids[i]))
			}
		}
	}
}

func (d *dotWriter) edges() {
	for i := range d.g.Edges {
		e := &d.g.Edges[i]
		tail, head := e.From, e.To
		attrs := []string{`class="` + e.Kind.String() + `"`}
		cf, okF := d.col[e.From]
		ct, okT := d.col[e.To]
		if okF && okT && cf >= 0 && ct >= 0 {
			switch {
			case cf > ct:
				tail, head = head, tail
				attrs = append(attrs, "dir=back")
			case cf == ct:
				attrs = append(attrs, "constraint=false")
			}
		}
		attrs = append(attrs, d.edgeStyle(e)...)
		if lbl := d.edgeLabel(e); lbl != "" {
			attrs = append(attrs, "label=<"+lbl+">")
		}
		if tt := edgeTooltip(e); tt != "" {
			attrs = append(attrs, "tooltip="+quote(tt), "labeltooltip="+quote(tt))
		}
		d.printf("\t%s -> %s [%s];\n", d.id(tail), d.id(head), strings.Join(attrs, ", "))
	}
}

func (d *dotWriter) edgeStyle(e *Edge) []string {
	pen := "1.2"
	if e.Packets > 0 {
		pen = strconv.FormatFloat(1+min(3, math.Log10(float64(e.Packets)+1)), 'f', 1, 64)
	}
	var a []string
	switch e.Kind {
	case EdgeForward:
		a = []string{`color="` + colorForward + `"`, "penwidth=" + pen}
	case EdgeReturn:
		a = []string{`color="` + colorReturn + `"`, "penwidth=" + pen}
	case EdgeDSR:
		a = []string{`color="` + colorDSR + `"`, `fontcolor="` + colorDSR + `"`, `style="dashed"`, "penwidth=" + pen}
	case EdgeBGP:
		c := colorBGP
		if e.Warn {
			c = colorWarn
		}
		a = []string{`color="` + c + `"`, `fontcolor="` + c + `"`, `style="dashed"`, "dir=none", "penwidth=1.6"}
	case EdgeAnnounce:
		c := colorBGP
		if e.Warn {
			c = colorWarn
		}
		a = []string{`color="` + c + `"`, `fontcolor="` + c + `"`, `style="dotted"`, "arrowhead=empty", "arrowtail=empty", "penwidth=1.4"}
	}
	return a
}

func (d *dotWriter) edgeLabel(e *Edge) string {
	if d.g.Kind == KindPath {
		if len(e.Label) == 0 {
			return ""
		}
		lines := make([]string, len(e.Label))
		for i, l := range e.Label {
			lines[i] = font(0, "", true, html(l))
		}
		return labelTable(lines)
	}
	switch e.Kind {
	case EdgeBGP, EdgeAnnounce:
		lines := make([]string, len(e.Label))
		for i, l := range e.Label {
			lines[i] = html(l)
		}
		return labelTable(lines)
	}
	var lines []string
	if e.Kind == EdgeDSR {
		lines = append(lines, "<B>"+html("DSR return (skips the Mux)")+"</B>")
	}
	if t := transformText(e.Transforms); t != "" {
		lines = append(lines, t)
	}
	facts := []string{plural(e.Packets, "pkt")}
	for _, v := range e.VNIs {
		facts = append(facts, "VNI "+strconv.FormatUint(uint64(v), 10))
	}
	if e.LatencyUs != nil {
		facts = append(facts, usText(*e.LatencyUs))
	}
	lines = append(lines, html(strings.Join(facts, " · ")))
	if e.Lost > 0 {
		lines = append(lines, font(0, colorWarn, true, html(strconv.Itoa(e.Lost)+" lost")))
	}
	lines = append(lines, font(8, colorFaint, false, html(strings.Join(limitList(e.Points, d.opts.MaxPoints), " › "))))
	return labelTable(lines)
}

// labelTable stacks label lines in a borderless table with an empty bottom row: with rankdir=LR
// dot places an edge's label so that the edge crosses the label's lowest few points, which would
// strike through the last line. No cell is ever empty: Graphviz 12 (as go-graphviz embeds it)
// fails to render some graphs with an empty, unsized cell in an edge label.
func labelTable(lines []string) string {
	var b strings.Builder
	b.WriteString(`<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="0">`)
	for _, l := range lines {
		if l != "" {
			b.WriteString("<TR><TD>" + l + "</TD></TR>")
		}
	}
	b.WriteString(`<TR><TD HEIGHT="10"> </TD></TR></TABLE>`)
	return b.String()
}

// transformText lists what the sender did, with packet counts when it did several things, in one
// font run: mixed runs on one line drift apart in renderers whose font is wider than measured.
func transformText(ts []TransformCount) string {
	if len(ts) == 0 || (len(ts) == 1 && ts[0].Transform == "none") {
		return ""
	}
	var parts []string
	for _, t := range ts {
		if len(ts) == 1 {
			parts = append(parts, t.Transform)
		} else {
			parts = append(parts, t.Transform+" "+strconv.Itoa(t.Packets))
		}
	}
	return font(0, transformColor(ts[0].Transform), true, html(strings.Join(parts, " · ")))
}

func edgeTooltip(e *Edge) string {
	var parts []string
	switch e.Kind {
	case EdgeBGP, EdgeAnnounce:
		parts = append(parts, strings.Join(e.Label, ", "))
	default:
		parts = append(parts, e.Kind.String()+" traffic")
	}
	if len(e.Points) > 0 {
		parts = append(parts, "captured at "+strings.Join(e.Points, ", "))
	}
	if len(e.Paths) > 0 {
		parts = append(parts, "paths "+strings.Join(limitList(e.Paths, 12), ", "))
	}
	return strings.Join(parts, "; ")
}

// titleLabel is the graph's label: title, subtitle and, when asked, the legend as two strips
// (the roles present, the link styles used). Kept out of the layout, it never pushes boxes apart.
func (d *dotWriter) titleLabel() string {
	rows := []string{font(14, "", true, html(d.g.Title)), font(10, colorFaint, false, html(d.g.Subtitle))}
	var b strings.Builder
	for _, r := range rows {
		if r != "" {
			b.WriteString(`<TR><TD ALIGN="LEFT">` + r + `</TD></TR>`)
		}
	}
	if d.opts.Legend {
		b.WriteString(d.legendRows())
	}
	if b.Len() == 0 {
		return ""
	}
	return `<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="2">` + b.String() + "</TABLE>"
}

// legendRows shows the roles present in the graph and the link styles it uses.
func (d *dotWriter) legendRows() string {
	present := map[string]bool{} // main roles of the nodes drawn
	warn := false
	for _, n := range d.g.Nodes {
		if n.Kind != NodeEndpoint {
			present[n.MainRole()] = true
		}
		warn = warn || n.Warn
	}
	roleSeen := maps.Clone(present)
	kinds := map[EdgeKind]bool{}
	for _, e := range d.g.Edges {
		kinds[e.Kind] = true
		warn = warn || e.Warn
	}
	// Each strip is one cell of text runs: a nested table would be stretched to the title's
	// width, scattering its entries. Separators are no-break spaces, which SVG keeps at the edge
	// of a run.
	item := func(b *strings.Builder, color, mark, text string) {
		fmt.Fprintf(b, `<FONT POINT-SIZE="12" COLOR="%s">%s</FONT><FONT POINT-SIZE="9">%s</FONT>`, color, html(mark+nbsp), html(text+nbsp+nbsp+nbsp+nbsp))
	}
	var roles strings.Builder
	shown := append(slices.Clone(roleStyles), unknownRole)
	for _, s := range roleStyles {
		delete(present, s.role)
	}
	for _, s := range shown {
		if s.role == "" && len(present) == 0 {
			continue // every role present has its own entry
		}
		if s.role != "" && !roleSeen[s.role] {
			continue
		}
		item(&roles, s.border, "■", s.legend)
	}
	type line struct {
		kind         EdgeKind
		color, glyph string
		text         string
	}
	lines := []line{
		{EdgeForward, colorForward, "━━▶", "forward (width: packets)"},
		{EdgeReturn, colorReturn, "━━▶", "return"},
		{EdgeDSR, colorDSR, "╍╍▶", "DSR return, skipping the Mux"},
		{EdgeBGP, colorBGP, "╍╍╍", "BGP session"},
		{EdgeAnnounce, colorBGP, "┈┈▷", "announces a VIP /32"},
	}
	if d.g.Kind == KindPath {
		lines[0].text = "forward path, hop by hop"
		lines[1].text = "return path, right to left"
	}
	var links strings.Builder
	for _, l := range lines {
		if kinds[l.kind] {
			item(&links, l.color, l.glyph, l.text)
		}
	}
	if warn {
		item(&links, colorWarn, "red:", "lost packets, session down, route withdrawn")
	}
	var b strings.Builder
	strip := func(inner string) {
		if inner != "" {
			b.WriteString(`<TR><TD ALIGN="LEFT">` + inner + `</TD></TR>`)
		}
	}
	strip(roles.String())
	strip(links.String())
	if d.g.Kind == KindTopology && (kinds[EdgeForward] || kinds[EdgeReturn] || kinds[EdgeDSR]) {
		b.WriteString(`<TR><TD ALIGN="LEFT"><FONT POINT-SIZE="8" COLOR="` + colorFaint + `">` +
			html("link labels: what the sender did · packets · VNI · median latency since the previous link · capture points") + `</FONT></TD></TR>`)
	}
	return b.String()
}

// nbsp is a no-break space.
const nbsp = "\u00a0"

// usText prints microseconds the way the text report does: µs below a millisecond, else ms or s.
func usText(v float64) string {
	switch {
	case v < 0:
		return "-" + usText(-v)
	case v < 1000:
		return strconv.FormatFloat(v, 'f', 0, 64) + " µs"
	case v < 1e6:
		return strconv.FormatFloat(v/1000, 'f', 1, 64) + " ms"
	default:
		return strconv.FormatFloat(v/1e6, 'f', 2, 64) + " s"
	}
}

// limitList keeps the first max items and says how many it left out.
func limitList(items []string, max int) []string {
	if len(items) <= max {
		return items
	}
	out := slices.Clone(items[:max])
	return append(out, "+"+strconv.Itoa(len(items)-max)+" more")
}

// htmlLines escapes items onto lines of their own, leaving out the blank ones.
func htmlLines(items []string) string {
	var esc []string
	for _, s := range items {
		if e := html(s); strings.TrimSpace(e) != "" {
			esc = append(esc, e)
		}
	}
	return strings.Join(esc, "<BR/>")
}

// zwsp (zero-width space) is put between characters that Graphviz would otherwise read as
// markup in text it has already unescaped: a backslash and the letter after it (\N, \G, \E,
// \L... expand to object names even inside HTML-like labels), and an ampersand starting what looks
// like an entity (Graphviz copies "&#0;" into the SVG unescaped, which makes it invalid XML).
const zwsp = "\u200b"

// clean makes a string safe to carry into any DOT or SVG text: valid UTF-8 (invalid bytes become
// U+FFFD), only characters XML 1.0 allows (others become U+FFFD), no line breaks or tabs
// (spaces: every label line is laid out by the emitter), and no backslash or entity sequences
// Graphviz would interpret (see zwsp). What it shows is what the report said.
func clean(s string) string {
	ok := true
	for _, r := range s {
		if !xmlChar(r) || r == '\n' || r == '\r' || r == '\t' || r == utf8.RuneError || r == '\\' || r == '&' {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			b.WriteByte(' ')
		case r == utf8.RuneError || !xmlChar(r):
			b.WriteRune('\uFFFD')
		case r == '\\':
			b.WriteString(`\` + zwsp)
		case r == '&' && entityLike(s[i:]):
			b.WriteString("&" + zwsp)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// entityLike reports whether s (what follows an ampersand) reads as an entity body: a name or
// #number, then a semicolon.
func entityLike(s string) bool {
	n := 0
	for n < len(s) && n < 32 {
		c := s[n]
		if c == ';' {
			return n > 0
		}
		if !(c == '#' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
		n++
	}
	return false
}

// xmlChar is XML 1.0's Char production, which Graphviz's HTML-label parser (expat) and every SVG
// reader enforce.
func xmlChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		(r >= 0x20 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF)
}

// html escapes text for an HTML-like label.
func html(s string) string {
	s = clean(s)
	if !strings.ContainsAny(s, `&<>"'`) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '"':
			b.WriteString("&quot;")
		case '\'':
			b.WriteString("&#39;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// quote makes a DOT double-quoted string. Backslashes are doubled because Graphviz reads
// escapes such as \N and \l in labels and tooltips.
func quote(s string) string {
	s = clean(s)
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
