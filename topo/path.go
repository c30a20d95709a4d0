package topo

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/stackflow/stackflow/flows"
)

// ErrUnknownPath is returned by BuildPath for a path id the report does not have.
var ErrUnknownPath = errors.New("no such path in the report")

// BuildPath draws one path hop by hop: its forward path left to right, one box per hop (capture
// point, innermost tuple, tunnel, transform, latency, loss), and the paired return path below it,
// right to left, each return hop under the forward hop seen at the same capture point. The
// conversation's two ends close the loop on either side. pathID may name either direction; the
// pair is the opposite-direction path sharing the most flows.
func BuildPath(r *flows.Report, pathID string) (*Graph, error) {
	if r == nil {
		r = &flows.Report{}
	}
	idx := slices.IndexFunc(r.Paths, func(p flows.Path) bool { return p.ID == pathID })
	if idx < 0 {
		return nil, fmt.Errorf("path %q: %w (%s)", pathID, ErrUnknownPath, pathRange(r))
	}
	fwd, ret := idx, pairOf(r, idx)
	if r.Paths[idx].Direction == "return" {
		fwd, ret = ret, idx
	}
	// A path without hops has nothing to draw; the title still names it.
	if fwd >= 0 && len(r.Paths[fwd].Hops) == 0 {
		fwd = -1
	}
	if ret >= 0 && len(r.Paths[ret].Hops) == 0 {
		ret = -1
	}
	b := newBuilder(r)
	g := &Graph{Kind: KindPath}
	ids := []string{}
	if fwd >= 0 {
		ids = append(ids, r.Paths[fwd].ID)
	}
	if ret >= 0 {
		ids = append(ids, r.Paths[ret].ID)
	}
	g.Title = "stackflow path " + strings.Join(ids, " + ")
	if len(ids) == 0 {
		g.Title = "stackflow path " + pathID + ": no hops to draw"
	}
	g.Subtitle = joinNonEmpty(" · ", pathSummary(r, fwd, ret), subtitle(r))

	endNodes := map[string]int{} // machine id -> index in g.Nodes
	endpoint := func(id string, col int) {
		if id == "" {
			return
		}
		if _, ok := endNodes[id]; ok {
			return // one machine at both ends of the loop keeps its first place
		}
		var n Node
		if i, ok := b.byID[id]; ok {
			n = b.machine(r.Nodes[i])
		} else {
			n = Node{ID: id, Kind: NodeEndpoint, Name: b.nodeName(id)}
		}
		n.ID = "end:" + id
		n.Column = col
		n.Row = 0
		endNodes[id] = len(g.Nodes)
		g.Nodes = append(g.Nodes, n)
	}
	pointCol := map[string]int{}
	nf := 0
	var fwdSender, fwdReceiver string
	if fwd >= 0 {
		p := &r.Paths[fwd]
		nf = len(p.Hops)
		for i, h := range p.Hops {
			g.Nodes = append(g.Nodes, b.hopNode(p, i, "f", i, 0))
			if _, ok := pointCol[h.Point]; !ok {
				pointCol[h.Point] = i
			}
		}
		fwdSender = p.Hops[0].Node
		fwdReceiver = b.receiver(p.Hops[nf-1].Node, p.Hops[nf-1])
		for i := 1; i < nf; i++ {
			g.Edges = append(g.Edges, Edge{From: hopID("f", i-1), To: hopID("f", i), Kind: EdgeForward, Packets: p.Hops[i].Packets})
		}
	}
	minCol := 0
	var retSender, retReceiver string
	if ret >= 0 {
		p := &r.Paths[ret]
		segs := b.segments(p)
		// The DSR link runs from the host's first hop (where it rewrote DIP to VIP) to the next
		// node's first hop: one edge with one capture per wire, more with captures at both ends.
		dsrFrom, dsrTo := -1, -1
		for _, s := range segs {
			if s.dsr {
				dsrFrom, dsrTo = s.first, s.first+len(s.hops)-1
			}
		}
		prev := nf
		if fwd < 0 {
			prev = len(p.Hops) // drawn alone: still right to left
		}
		for i, h := range p.Hops {
			c, ok := pointCol[h.Point]
			if !ok || c >= prev {
				c = prev - 1
			}
			prev = c
			minCol = min(minCol, c)
			g.Nodes = append(g.Nodes, b.hopNode(p, i, "r", c, 1))
			if i > 0 {
				e := Edge{From: hopID("r", i-1), To: hopID("r", i), Kind: EdgeReturn, Packets: h.Packets}
				if i-1 >= dsrFrom && i-1 <= dsrTo {
					e.Kind = EdgeDSR
					if i-1 == dsrFrom {
						e.Label = []string{"DSR (skips the Mux)"}
					}
				}
				g.Edges = append(g.Edges, e)
			}
		}
		retSender = p.Hops[0].Node
		last := p.Hops[len(p.Hops)-1]
		retReceiver = b.receiver(last.Node, last)
	}
	// The conversation's ends: the forward sender on the left, its receiver on the right; the
	// return path starts at its sender and ends at its receiver, usually the same two machines.
	left := min(-1, minCol-1)
	right := nf
	if fwd < 0 && ret >= 0 {
		right = len(r.Paths[ret].Hops)
	}
	if fwd >= 0 {
		endpoint(fwdSender, left)
		g.Edges = append(g.Edges, Edge{From: "end:" + fwdSender, To: hopID("f", 0), Kind: EdgeForward})
		if fwdReceiver != "" {
			endpoint(fwdReceiver, right)
			g.Edges = append(g.Edges, Edge{From: hopID("f", nf-1), To: "end:" + fwdReceiver, Kind: EdgeForward})
		}
	}
	if ret >= 0 {
		n := len(r.Paths[ret].Hops)
		endpoint(retSender, right)
		g.Edges = append(g.Edges, Edge{From: "end:" + retSender, To: hopID("r", 0), Kind: EdgeReturn})
		if retReceiver != "" {
			endpoint(retReceiver, left)
			g.Edges = append(g.Edges, Edge{From: hopID("r", n-1), To: "end:" + retReceiver, Kind: EdgeReturn})
		}
	}
	for i := range g.Nodes {
		g.Nodes[i].Column -= left
	}
	sortPathGraph(g)
	return g, nil
}

func hopID(prefix string, i int) string { return prefix + strconv.Itoa(i+1) }

// hopNode is hop i of path p as a box in column col, row row.
func (b *builder) hopNode(p *flows.Path, i int, prefix string, col, row int) Node {
	h := p.Hops[i]
	n := Node{ID: hopID(prefix, i), Kind: NodeHop, Name: b.nodeName(h.Node), Column: col, Row: row}
	if j, ok := b.byID[h.Node]; ok {
		n.Roles = slices.Clone(b.r.Nodes[j].Roles)
	}
	d := &HopDetail{
		Index: i + 1, PathID: p.ID, Point: h.Point, SrcMAC: h.SrcMAC, DstMAC: h.DstMAC,
		Tuple:     endpointText(h.Src, h.Sport) + " → " + endpointText(h.Dst, h.Dport),
		Transform: orDefault(h.Transform, "none"), Packets: h.Packets, Latency: h.LatencyUs, Lost: h.Lost,
	}
	if h.OuterSrc != "" || h.OuterDst != "" || h.VNI != nil {
		t := orDefault(h.Tunnel, "tunnel")
		if h.VNI != nil {
			t += " VNI " + strconv.FormatUint(uint64(*h.VNI), 10)
		}
		if h.OuterSrc != "" || h.OuterDst != "" {
			t += " · " + h.OuterSrc + " → " + h.OuterDst
		}
		d.Tunnel = t
	}
	n.Hop = d
	n.Warn = h.Lost > 0
	return n
}

// endpointText spells "ip:port" or "[ipv6]:port", or the bare address without a port.
func endpointText(addr string, port *uint16) string {
	if port == nil {
		return addr
	}
	if a, err := netip.ParseAddr(addr); err == nil {
		return netip.AddrPortFrom(a, *port).String()
	}
	return addr + ":" + strconv.Itoa(int(*port))
}

// pairOf finds the path of the other direction of path i's conversation: the report's pair when
// it names one, else the opposite-direction path that shares the most flow ids with it, the
// nearest in report order on a tie; -1 when none shares any.
func pairOf(r *flows.Report, i int) int {
	p := &r.Paths[i]
	if p.Pair != "" {
		for j := range r.Paths {
			if r.Paths[j].ID == p.Pair {
				return j
			}
		}
	}
	mine := map[string]bool{}
	for _, f := range p.FlowIDs {
		mine[f] = true
	}
	best, bestN, bestDist := -1, 0, 0
	for j := range r.Paths {
		q := &r.Paths[j]
		if j == i || q.Direction == p.Direction {
			continue
		}
		n := 0
		for _, f := range q.FlowIDs {
			if mine[f] {
				n++
			}
		}
		dist := j - i
		if dist < 0 {
			dist = -dist
		}
		if n > bestN || (n == bestN && n > 0 && dist < bestDist) {
			best, bestN, bestDist = j, n, dist
		}
	}
	return best
}

// pathSummary says what the two paths carried.
func pathSummary(r *flows.Report, fwd, ret int) string {
	var parts []string
	for _, i := range []int{fwd, ret} {
		if i < 0 {
			continue
		}
		p := &r.Paths[i]
		s := p.ID + " " + p.Direction
		if p.DSR {
			s += " (DSR)"
		}
		lost := 0
		for _, h := range p.Hops {
			lost += h.Lost
		}
		s += ": " + plural(len(p.Hops), "hop") + ", " + plural(p.Packets, "packet")
		if lost > 0 {
			s += ", " + strconv.Itoa(lost) + " lost"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " · ")
}

// pathRange says which path ids exist, for the error message.
func pathRange(r *flows.Report) string {
	switch len(r.Paths) {
	case 0:
		return "the report has no paths"
	case 1:
		return "the report has only " + r.Paths[0].ID
	default:
		return "the report has " + r.Paths[0].ID + " .. " + r.Paths[len(r.Paths)-1].ID
	}
}

// sortPathGraph orders boxes by row, then column, so the DOT reads in path order.
func sortPathGraph(g *Graph) {
	slices.SortStableFunc(g.Nodes, func(a, b Node) int {
		if a.Row != b.Row {
			return a.Row - b.Row
		}
		return a.Column - b.Column
	})
}
