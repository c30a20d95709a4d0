package flows

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
)

// TextOptions shapes the human-readable report.
type TextOptions struct {
	Color     bool // ANSI colour (the CLI sets it only on a terminal)
	MaxFlows  int  // flows listed (0: 20); the JSON report always has all
	MaxRoutes int  // BGP route events listed (0: 40)
	MaxRows   int  // rows of other long tables: NAT, problems (0: 20)
}

type textWriter struct {
	w    io.Writer
	opts TextOptions
	err  error
}

func (t *textWriter) printf(format string, args ...any) {
	if t.err == nil {
		_, t.err = fmt.Fprintf(t.w, format, args...)
	}
}

func (t *textWriter) style(code, s string) string {
	if !t.opts.Color {
		return s
	}
	return "\033[" + code + "m" + s + "\033[0m"
}

func (t *textWriter) heading(s string) { t.printf("\n%s\n", t.style("1", s)) }

func (t *textWriter) table(fn func(tw *tabwriter.Writer)) {
	if t.err != nil {
		return
	}
	tw := tabwriter.NewWriter(t.w, 0, 0, 2, ' ', 0)
	fn(tw)
	t.err = tw.Flush()
}

// WriteText prints the report for people: the same content as the JSON, each path drawn hop by
// hop the way the source document draws it (ClientVM -> NATVM -> BGPVM -> MuxVM -> host -> PortalVM).
func WriteText(w io.Writer, r *Report, opts TextOptions) error {
	if opts.MaxFlows == 0 {
		opts.MaxFlows = 20
	}
	if opts.MaxRoutes == 0 {
		opts.MaxRoutes = 40
	}
	if opts.MaxRows == 0 {
		opts.MaxRows = 20
	}
	t := &textWriter{w: w, opts: opts}
	t.capture(r)
	t.protocols(r)
	t.paths(r)
	t.nat(r)
	t.nodes(r)
	t.tunnels(r)
	t.bgp(r)
	t.flows(r)
	t.findings(r)
	t.problems(r)
	return t.err
}

func (t *textWriter) capture(r *Report) {
	c := r.Capture
	t.printf("%s %d packets, %s", t.style("1", "stackflow report:"), c.Packets, FormatBytes(c.Bytes))
	if c.Start != "" {
		t.printf(", %s .. %s", c.Start, c.End)
	}
	t.printf("\n")
	if r.Filter != "" {
		t.printf("filter: %s (flows, paths, nodes, NAT, tunnels, BGP sessions and findings narrowed; totals are the whole input)\n", r.Filter)
	}
	t.heading("Capture points")
	t.table(func(tw *tabwriter.Writer) {
		fmt.Fprintln(tw, "  POINT\tFILE\tLINK\tPACKETS\tBYTES\tCLOCK OFFSET")
		for _, p := range c.Points {
			off := "-"
			if p.ClockOffsetUs != nil {
				off = fmt.Sprintf("%+dus", *p.ClockOffsetUs)
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%s\t%s\n", p.ID, p.File, p.LinkType, p.Packets, FormatBytes(p.Bytes), off)
		}
	})
	for _, in := range c.Inputs {
		if in.Format == "unreadable" {
			t.printf("  %s: unreadable\n", in.File)
		}
	}
}

func (t *textWriter) protocols(r *Report) {
	type kv struct {
		k string
		v int
	}
	var list []kv
	for k, v := range r.Protocols {
		if v > 0 {
			list = append(list, kv{k, v})
		}
	}
	if len(list) == 0 {
		return
	}
	slices.SortFunc(list, func(a, b kv) int {
		if a.v != b.v {
			return b.v - a.v
		}
		return strings.Compare(a.k, b.k)
	})
	parts := make([]string, len(list))
	for i, e := range list {
		parts[i] = fmt.Sprintf("%s %d", e.k, e.v)
	}
	t.heading("Protocols (packets containing each)")
	t.printf("  %s\n", strings.Join(parts, ", "))
}

func (t *textWriter) nodeName(r *Report, id string) string {
	for _, n := range r.Nodes {
		if n.ID == id {
			if n.Name != "" {
				return n.Name
			}
			break
		}
	}
	if id == "" {
		return "?"
	}
	return id
}

// pathShape is what makes two paths look the same to a reader: direction, and per hop the
// node, capture point and transform (not the ports, which differ per conversation).
func pathShape(p Path) string {
	var b strings.Builder
	b.WriteString(p.Direction)
	for _, h := range p.Hops {
		b.WriteString("|" + h.Node + "@" + h.Point + ":" + h.Transform)
	}
	return b.String()
}

// paths prints each distinct path shape once, with the first path of that shape as the example
// and how many conversations took it; the JSON report lists every path.
func (t *textWriter) paths(r *Report) {
	if len(r.Paths) == 0 {
		return
	}
	type group struct {
		first   Path
		count   int
		packets int
		lost    int
	}
	groups := map[string]*group{}
	var order []string
	for _, p := range r.Paths {
		k := pathShape(p)
		g := groups[k]
		if g == nil {
			g = &group{first: p}
			groups[k] = g
			order = append(order, k)
		}
		g.count++
		g.packets += p.Packets
		if p.Packets > g.first.Packets {
			g.first = p // the busiest path of the shape is its example
		}
		for _, h := range p.Hops {
			g.lost += h.Lost
		}
	}
	t.heading(fmt.Sprintf("Paths (%d, in %d shapes; each shape shown once, with its busiest path)", len(r.Paths), len(order)))
	for _, k := range order {
		g := groups[k]
		p := g.first
		ids, reached := PathChain(r, &p)
		names := make([]string, len(ids))
		for i, id := range ids {
			names[i] = t.nodeName(r, id)
		}
		if !reached && len(names) > 1 {
			names[len(names)-1] = t.style("31", "(never reached) ") + names[len(names)-1]
		}
		extra := ""
		if p.DSR {
			extra += t.style("36", "  [DSR: return bypasses the Mux]")
		}
		if g.count > 1 {
			extra += fmt.Sprintf("  (x%d paths, %d packets", g.count, g.packets)
			if g.lost > 0 {
				extra += fmt.Sprintf(", %s lost", t.style("31", fmt.Sprint(g.lost)))
			}
			extra += ")"
		}
		t.printf("  %s %-7s %s%s\n", t.style("1", p.ID), p.Direction, strings.Join(names, " -> "), extra)
		t.table(func(tw *tabwriter.Writer) {
			fmt.Fprintln(tw, "      HOP\tNODE\tPOINT\tTUPLE\tTRANSFORM\tPKTS\tLATENCY min/med/p99\tLOST")
			for i, h := range p.Hops {
				lat := "-"
				if h.LatencyUs != nil {
					lat = fmt.Sprintf("%s/%s/%s", FormatMicros(h.LatencyUs.Min), FormatMicros(h.LatencyUs.Median), FormatMicros(h.LatencyUs.P99))
				}
				tuple := endpoint(h.Src, h.Sport) + " > " + endpoint(h.Dst, h.Dport)
				if h.VNI != nil {
					tuple += fmt.Sprintf(" in %s vni %d %s>%s", orDefault(h.Tunnel, "tunnel"), *h.VNI, h.OuterSrc, h.OuterDst)
				}
				lost := fmt.Sprint(h.Lost)
				if h.Lost > 0 {
					lost = t.style("31", lost)
				}
				fmt.Fprintf(tw, "      %d\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", i+1, t.nodeName(r, h.Node), h.Point, tuple, h.Transform, h.Packets, lat, lost)
			}
		})
	}
}

func (t *textWriter) nat(r *Report) {
	if len(r.NAT) == 0 {
		return
	}
	t.heading(fmt.Sprintf("Address translations (%d)", len(r.NAT)))
	list := slices.Clone(r.NAT)
	// Host VIP<->DIP mappings first (few, and the point of an SDN capture), then NAT by node.
	slices.SortStableFunc(list, func(a, b NATMapping) int {
		if (a.Kind == "vip_dip") != (b.Kind == "vip_dip") {
			if a.Kind == "vip_dip" {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Node, b.Node)
	})
	t.table(func(tw *tabwriter.Writer) {
		fmt.Fprintln(tw, "  NODE\tKIND\tPROTO\tINSIDE\tOUTSIDE\tPACKETS\tFIRST\tLAST")
		for i, m := range list {
			if i == t.opts.MaxRows {
				fmt.Fprintf(tw, "  ... %d more (see --format json)\n", len(list)-i)
				break
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", t.nodeName(r, m.Node), m.Kind, m.Proto, m.Inside, m.Outside, m.Packets, ClockTime(m.First), ClockTime(m.Last))
		}
	})
}

func (t *textWriter) nodes(r *Report) {
	if len(r.Nodes) == 0 {
		return
	}
	t.heading("Nodes")
	t.table(func(tw *tabwriter.Writer) {
		fmt.Fprintln(tw, "  NODE\tNAME\tROLES\tADDRESSES\tMACS")
		for _, n := range r.Nodes {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", n.ID, n.Name, strings.Join(n.Roles, ","), strings.Join(n.Addresses, " "), strings.Join(n.MACs, " "))
		}
	})
}

func (t *textWriter) tunnels(r *Report) {
	if len(r.Tunnels) == 0 {
		return
	}
	t.heading("Tunnels")
	t.table(func(tw *tabwriter.Writer) {
		fmt.Fprintln(tw, "  TYPE\tVNI/KEY\tOUTER\tLEVEL\tPACKETS\tBYTES")
		for _, tu := range r.Tunnels {
			id := "-"
			switch {
			case tu.VNI != nil && tu.FlowID != nil:
				id = fmt.Sprintf("vsid %d flow %d", *tu.VNI, *tu.FlowID)
			case tu.VNI != nil:
				id = fmt.Sprint(*tu.VNI)
			case tu.Key != nil:
				id = fmt.Sprintf("key %#x", *tu.Key)
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s > %s\t%d\t%d\t%s\n", tu.Type, id, tu.OuterSrc, tu.OuterDst, tu.Level, tu.Packets, FormatBytes(tu.Bytes))
		}
	})
}

func (t *textWriter) bgp(r *Report) {
	b := r.BGP
	m := b.Messages
	if m == (MessageCounts{}) && len(b.Sessions) == 0 {
		return
	}
	t.heading("BGP")
	t.printf("  messages: open %d, update %d, notification %d, keepalive %d, route-refresh %d\n",
		m.Open, m.Update, m.Notification, m.Keepalive, m.RouteRefresh)
	t.table(func(tw *tabwriter.Writer) {
		fmt.Fprintln(tw, "  SESSION\tPEERS\tASNS\tHOLD\tSTATE\tMSGS o/u/n/k/r\tPOINTS")
		for _, s := range b.Sessions {
			asn := func(p *uint32) string {
				if p == nil {
					return "?"
				}
				return fmt.Sprint(*p)
			}
			hold := "-"
			if s.HoldTime != nil {
				hold = fmt.Sprintf("%ds", *s.HoldTime)
			}
			mm := s.Messages
			fmt.Fprintf(tw, "  %s\t%s <-> %s\t%s/%s\t%s\t%s\t%d/%d/%d/%d/%d\t%s\n", s.ID, s.Peers[0], s.Peers[1],
				asn(s.ASNs[0]), asn(s.ASNs[1]), hold, s.State, mm.Open, mm.Update, mm.Notification, mm.Keepalive, mm.RouteRefresh,
				strings.Join(s.Points, ","))
		}
	})
	if len(b.Events) > 0 {
		t.printf("  session events (%d):\n", len(b.Events))
		t.table(func(tw *tabwriter.Writer) {
			for i, ev := range b.Events {
				if i == t.opts.MaxRoutes {
					fmt.Fprintf(tw, "    ... %d more (see --format json)\n", len(b.Events)-i)
					break
				}
				name := ev.Event
				if name == "down" || name == "hold_expired" || name == "notification" {
					name = t.style("33", name)
				}
				fmt.Fprintf(tw, "    %s\t%s\t%s\t%s\t%s\n", ClockTime(ev.Time), ev.Session, ev.Peer, name, ev.Detail)
			}
		})
	}
	if len(b.Routes) == 0 {
		return
	}
	t.printf("  route events (%d):\n", len(b.Routes))
	t.table(func(tw *tabwriter.Writer) {
		for i, rt := range b.Routes {
			if i == t.opts.MaxRoutes {
				fmt.Fprintf(tw, "    ... %d more (see --format json)\n", len(b.Routes)-i)
				break
			}
			attrs := ""
			if rt.Event == "announce" {
				attrs = fmt.Sprintf("next-hop %s as-path %s", rt.NextHop, formatASPath(rt.ASPath))
				if len(rt.Communities) > 0 {
					attrs += " communities " + strings.Join(rt.Communities, " ")
				}
			}
			ev := rt.Event
			if ev == "withdraw" {
				ev = t.style("33", ev)
			}
			fmt.Fprintf(tw, "    %s\t%s\t%s\t%s\t%s\n", ClockTime(rt.Time), rt.Peer, ev, rt.Prefix, attrs)
		}
	})
}

// nodeByAddress returns the id of the node that owns addr ("" when none does).
func nodeByAddress(r *Report, addr string) string {
	for _, n := range r.Nodes {
		for _, a := range n.Addresses {
			if a == addr {
				return n.ID
			}
		}
	}
	return ""
}

func formatASPath(p []any) string {
	if len(p) == 0 {
		return "(empty)"
	}
	parts := make([]string, 0, len(p))
	for _, e := range p {
		switch v := e.(type) {
		case []uint32:
			s := make([]string, len(v))
			for i, a := range v {
				s[i] = fmt.Sprint(a)
			}
			parts = append(parts, "{"+strings.Join(s, ",")+"}")
		default:
			parts = append(parts, fmt.Sprint(v))
		}
	}
	return strings.Join(parts, " ")
}

func (t *textWriter) flows(r *Report) {
	if len(r.Flows) == 0 {
		return
	}
	list := slices.Clone(r.Flows)
	slices.SortStableFunc(list, func(a, b Flow) int {
		if a.Bytes != b.Bytes {
			if a.Bytes > b.Bytes {
				return -1
			}
			return 1
		}
		return 0
	})
	t.heading(fmt.Sprintf("Flows (%d; largest first)", len(list)))
	t.table(func(tw *tabwriter.Writer) {
		fmt.Fprintln(tw, "  ID\tPOINT\tPROTO\tFROM\tTO\tVNI\tPKTS\tBYTES\tSTATE\tHISTORY")
		for i, f := range list {
			if i == t.opts.MaxFlows {
				fmt.Fprintf(tw, "  ... %d more (see --format json)\n", len(list)-i)
				break
			}
			vni := "-"
			if f.VNI != nil {
				vni = fmt.Sprint(*f.VNI)
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", f.ID, f.Point, f.Proto,
				endpoint(f.Src, f.Sport), endpoint(f.Dst, f.Dport), vni, f.Packets, FormatBytes(f.Bytes), f.State, f.History)
		}
	})
}

func (t *textWriter) findings(r *Report) {
	t.heading("Findings")
	if len(r.Findings) == 0 {
		t.printf("  none: no loss, no unanswered connections, no BGP trouble, nothing else worth a look\n")
		return
	}
	for _, f := range r.Findings {
		sev := f.Severity
		switch sev {
		case "error":
			sev = t.style("31;1", sev)
		case "warning":
			sev = t.style("33", sev)
		}
		t.printf("  %-7s %s: %s\n", sev, f.Kind, f.Summary)
	}
}

func (t *textWriter) problems(r *Report) {
	ps := r.Capture.Problems
	if len(ps) == 0 {
		return
	}
	t.heading(fmt.Sprintf("Problems in the input (%d)", len(ps)))
	for i, p := range ps {
		if i == t.opts.MaxRows {
			t.printf("  ... %d more (see --format json)\n", len(ps)-i)
			break
		}
		if p.File == "" {
			t.printf("  %s: %s\n", p.Kind, p.Message)
			continue
		}
		t.printf("  %s: packet %d at byte %d: %s: %s\n", p.File, p.Packet, p.Offset, p.Kind, p.Message)
	}
}

func endpoint(addr string, port *uint16) string {
	if port == nil {
		return addr
	}
	if strings.Contains(addr, ":") {
		return fmt.Sprintf("[%s]:%d", addr, *port)
	}
	return fmt.Sprintf("%s:%d", addr, *port)
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// FormatMicros renders microseconds compactly for people: 62us, 1.25ms, 2.00s.
func FormatMicros(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fs", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.2fms", v/1e3)
	default:
		return fmt.Sprintf("%.0fus", v)
	}
}

// ClockTime keeps the clock part of a report timestamp, to the microsecond: 09:00:01.000213.
func ClockTime(s string) string {
	if i := strings.IndexByte(s, 'T'); i >= 0 && len(s) >= i+16 {
		return s[i+1 : i+16]
	}
	return s
}

// FormatBytes renders a byte count for people: 512 B, 5.6 KiB, 1.2 MiB.
func FormatBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	default:
		return fmt.Sprintf("%d B", n)
	}
}
