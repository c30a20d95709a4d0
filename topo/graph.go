package topo

import (
	"cmp"
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/stackflow/stackflow/flows"
)

// GraphKind says what a Graph draws.
type GraphKind int

// The kinds of graph.
const (
	KindTopology GraphKind = iota // every node and link of a report
	KindPath                      // one path's hops, its paired return path below
)

// NodeKind says what a Node stands for.
type NodeKind int

// The kinds of node.
const (
	NodeMachine  NodeKind = iota // a node of the report (an endpoint or a middlebox)
	NodeEndpoint                 // an address some path reached that no report node owns
	NodeHop                      // one hop of a path diagram
)

// EdgeKind says what an Edge stands for; each kind is drawn in its own style.
type EdgeKind int

// The kinds of edge, in drawing order.
const (
	EdgeForward  EdgeKind = iota // traffic of forward paths
	EdgeReturn                   // traffic of return paths
	EdgeDSR                      // the return link of a DSR path that skips the Mux
	EdgeBGP                      // a BGP session between two speakers
	EdgeAnnounce                 // a speaker announcing a node's /32 (/128): a VIP
)

var edgeKindNames = [...]string{"forward", "return", "dsr", "bgp", "announce"}

// String names the kind as DOT comments and tests do.
func (k EdgeKind) String() string {
	if int(k) < len(edgeKindNames) {
		return edgeKindNames[k]
	}
	return "edge" + strconv.Itoa(int(k))
}

// Graph is what a diagram shows, computed from a report alone: the DOT emitter only draws it.
type Graph struct {
	Kind     GraphKind
	Title    string
	Subtitle string // inputs, packets, time span, filter
	Nodes    []Node // ordered by Column, then report order
	Edges    []Edge // ordered by kind, then columns, then ids
}

// Node is one box of the diagram.
type Node struct {
	ID        string // unique in the graph: the report's node id ("n3"), "addr:IP", or "f2"/"r1" for hops
	Kind      NodeKind
	Name      string
	Roles     []string // the report's roles, in the report's order
	Addresses []string
	MACs      []string
	Notes     []string   // extra lines: VIP targets, announced prefixes, hop details
	Column    int        // left-to-right position from 0; -1 lets the layout choose
	Row       int        // path diagrams: 0 the forward path, 1 the return path
	Hop       *HopDetail // hop boxes of path diagrams
	Warn      bool       // drawn in the warning colour (loss, a session down)
}

// HopDetail is what a path diagram's hop box shows.
type HopDetail struct {
	Index     int    // 1-based position in its path
	PathID    string // the path it belongs to
	Point     string
	SrcMAC    string
	DstMAC    string
	Tuple     string // innermost "src:sport → dst:dport"
	Tunnel    string // "vxlan vni 4114 · outer src → outer dst", empty when not tunnelled
	Transform string
	Packets   int
	Latency   *flows.Latency // from the previous hop; nil for the first
	Lost      int
}

// MainRole is the role that colours and shapes the node: the most specific one it has.
func (n *Node) MainRole() string { return mainRole(n.Roles) }

// TransformCount is packets that a link carried after one transform.
type TransformCount struct {
	Transform string
	Packets   int
}

// Edge is one link of the diagram. For traffic edges (forward, return, DSR) the numbers describe
// the packets on the wire from From to To: the transform From applied, how many packets, the
// tunnel VNI, where they were captured, and the latency from the previous link to this one
// (through From), as the packet-weighted median of the contributing paths' medians.
type Edge struct {
	From, To   string
	Kind       EdgeKind
	Transforms []TransformCount // sorted by packets, descending, then name
	Packets    int
	Lost       int
	VNIs       []uint32 // sorted
	Points     []string // capture points, in path order of first appearance
	LatencyUs  *float64 // nil when no contributing hop was timed
	Paths      []string // contributing path ids, report order
	Label      []string // BGP and announce edges: what the relation is, one line each
	Warn       bool     // drawn in the warning colour (session down, route withdrawn)
}

// Build turns a report into its topology: every report node, one edge per (from, to, kind) summed
// over the paths' consecutive nodes, BGP sessions between speakers, and the /32 announcements that
// make a node a VIP. Columns follow the forward direction, so the ClientVM -> NATVM -> BGPVM ->
// MuxVM -> host -> PortalVM chain reads left to right.
func Build(r *flows.Report) *Graph {
	if r == nil {
		r = &flows.Report{}
	}
	b := newBuilder(r)
	g := &Graph{Kind: KindTopology, Title: "stackflow topology", Subtitle: subtitle(r)}
	if len(r.Nodes) == 0 {
		g.Subtitle = joinNonEmpty(" · ", g.Subtitle, "nothing to draw: the report has no nodes")
	}
	for _, n := range r.Nodes {
		g.Nodes = append(g.Nodes, b.machine(n))
	}
	bgpPeers := b.bgpPairs()
	edges := map[edgeKey]*edgeAcc{}
	var order []edgeKey
	add := func(k edgeKey) *edgeAcc {
		if e, ok := edges[k]; ok {
			return e
		}
		e := &edgeAcc{}
		edges[k] = e
		order = append(order, k)
		return e
	}
	for pi := range r.Paths {
		p := &r.Paths[pi]
		if isBGPPath(p, bgpPeers) {
			continue // drawn once, as its session
		}
		for _, s := range b.segments(p) {
			if s.to == "" {
				continue
			}
			kind := EdgeForward
			if p.Direction == "return" {
				kind = EdgeReturn
				if s.dsr {
					kind = EdgeDSR
				}
			}
			add(edgeKey{s.from, s.to, kind}).addSegment(p.ID, s)
		}
	}
	g.Nodes = append(g.Nodes, b.extra...)
	for _, k := range order {
		g.Edges = append(g.Edges, edges[k].edge(k))
	}
	g.Edges = append(g.Edges, b.bgpEdges()...)
	announces := b.announceEdges()
	g.Edges = append(g.Edges, announces...)
	b.noteVIPs(g)
	placeColumns(g, announces)
	sortGraph(g)
	return g
}

// builder holds the report's lookup tables.
type builder struct {
	r      *flows.Report
	byID   map[string]int // report node id -> index in r.Nodes
	byAddr map[string]string
	byMAC  map[string]string
	extra  []Node // endpoint nodes for addresses no report node owns
	seen   map[string]bool
}

func newBuilder(r *flows.Report) *builder {
	b := &builder{r: r, byID: map[string]int{}, byAddr: map[string]string{}, byMAC: map[string]string{}, seen: map[string]bool{}}
	for i, n := range r.Nodes {
		b.byID[n.ID] = i
		for _, a := range n.Addresses {
			if _, dup := b.byAddr[canonAddr(a)]; !dup {
				b.byAddr[canonAddr(a)] = n.ID
			}
		}
		for _, m := range n.MACs {
			if _, dup := b.byMAC[strings.ToLower(m)]; !dup {
				b.byMAC[strings.ToLower(m)] = n.ID
			}
		}
	}
	return b
}

// canonAddr spells an address the way netip does, so "::ffff:10.0.0.1" and "10.0.0.1" meet.
func canonAddr(s string) string {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().String()
	}
	return s
}

func (b *builder) machine(n flows.Node) Node {
	return Node{
		ID:        n.ID,
		Kind:      NodeMachine,
		Name:      orDefault(n.Name, n.ID),
		Roles:     slices.Clone(n.Roles),
		Addresses: slices.Clone(n.Addresses),
		MACs:      slices.Clone(n.MACs),
		Column:    -1,
	}
}

// nodeName is a node's display name, or the id itself when the report does not know it.
func (b *builder) nodeName(id string) string {
	if i, ok := b.byID[id]; ok {
		return orDefault(b.r.Nodes[i].Name, id)
	}
	return strings.TrimPrefix(id, "addr:")
}

func (b *builder) hasRole(id, role string) bool {
	i, ok := b.byID[id]
	return ok && slices.Contains(b.r.Nodes[i].Roles, role)
}

// owner finds the node with an address, or makes an endpoint node for it.
func (b *builder) owner(addr string) string {
	if addr == "" {
		return ""
	}
	if id, ok := b.byAddr[canonAddr(addr)]; ok {
		return id
	}
	id := "addr:" + canonAddr(addr)
	if !b.seen[id] {
		b.seen[id] = true
		b.extra = append(b.extra, Node{ID: id, Kind: NodeEndpoint, Name: canonAddr(addr), Addresses: []string{canonAddr(addr)}, Column: -1})
	}
	return id
}

// segment is a run of consecutive hops made by one node: the packet leaving that node, seen at
// one or more capture points on its way to the next node.
type segment struct {
	from, to  string
	first     int // index of the segment's first hop
	hops      []flows.Hop
	transform string
	dsr       bool
}

// segments cuts a path into its nodes' runs and finds where each run went: the next run's node,
// or, for the last run, the node owning the destination MAC, else the destination address.
func (b *builder) segments(p *flows.Path) []segment {
	var out []segment
	for i, h := range p.Hops {
		if len(out) > 0 && out[len(out)-1].from == h.Node {
			out[len(out)-1].hops = append(out[len(out)-1].hops, h)
			continue
		}
		out = append(out, segment{from: h.Node, first: i, hops: []flows.Hop{h}, transform: h.Transform})
	}
	for i := range out {
		if i+1 < len(out) {
			out[i].to = out[i+1].from
			continue
		}
		out[i].to = b.receiver(out[i].from, out[i].hops[len(out[i].hops)-1])
	}
	if p.DSR {
		// The DSR link leaves the node that rewrote the source back to the VIP (the host): the
		// first run after the sender whose transform includes snat.
		for i := 1; i < len(out); i++ {
			if strings.Contains(out[i].transform, "snat") {
				out[i].dsr = true
				break
			}
		}
	}
	return out
}

// receiver is the node a path's last hop was addressed to, never the sender itself.
func (b *builder) receiver(from string, h flows.Hop) string {
	if id, ok := b.byMAC[strings.ToLower(h.DstMAC)]; ok && h.DstMAC != "" && id != from {
		return id
	}
	dst := h.Dst
	if h.OuterDst != "" {
		dst = h.OuterDst
	}
	if id := b.owner(dst); id != from {
		return id
	}
	return ""
}

type edgeKey struct {
	from, to string
	kind     EdgeKind
}

// edgeAcc sums the segments of one edge.
type edgeAcc struct {
	transforms map[string]int
	packets    int
	lost       int
	vnis       map[uint32]bool
	points     []string
	paths      []string
	lat        []weighted
}

type weighted struct {
	v float64
	w int
}

func (e *edgeAcc) addSegment(pathID string, s segment) {
	if e.transforms == nil {
		e.transforms, e.vnis = map[string]int{}, map[uint32]bool{}
	}
	pk := s.hops[0].Packets
	e.transforms[orDefault(s.transform, "none")] += pk
	e.packets += pk
	var lat float64
	timed := false
	for _, h := range s.hops {
		e.lost += h.Lost
		if h.VNI != nil {
			e.vnis[*h.VNI] = true
		}
		if h.Point != "" && !slices.Contains(e.points, h.Point) {
			e.points = append(e.points, h.Point)
		}
		if h.LatencyUs != nil {
			lat += h.LatencyUs.Median
			timed = true
		}
	}
	if timed {
		e.lat = append(e.lat, weighted{lat, max(pk, 1)})
	}
	if !slices.Contains(e.paths, pathID) {
		e.paths = append(e.paths, pathID)
	}
}

func (e *edgeAcc) edge(k edgeKey) Edge {
	out := Edge{From: k.from, To: k.to, Kind: k.kind, Packets: e.packets, Lost: e.lost, Points: e.points, Paths: e.paths}
	for t, n := range e.transforms {
		out.Transforms = append(out.Transforms, TransformCount{t, n})
	}
	slices.SortFunc(out.Transforms, func(a, b TransformCount) int {
		return cmp.Or(cmp.Compare(b.Packets, a.Packets), cmp.Compare(a.Transform, b.Transform))
	})
	for v := range e.vnis {
		out.VNIs = append(out.VNIs, v)
	}
	slices.Sort(out.VNIs)
	if m, ok := weightedMedian(e.lat); ok {
		out.LatencyUs = &m
	}
	out.Warn = e.lost > 0
	return out
}

// weightedMedian is the smallest value at or above half the total weight.
func weightedMedian(vs []weighted) (float64, bool) {
	if len(vs) == 0 {
		return 0, false
	}
	vs = slices.Clone(vs)
	slices.SortStableFunc(vs, func(a, b weighted) int { return cmp.Compare(a.v, b.v) })
	total := 0
	for _, v := range vs {
		total += v.w
	}
	acc := 0
	for _, v := range vs {
		acc += v.w
		if 2*acc >= total {
			return v.v, true
		}
	}
	return vs[len(vs)-1].v, true
}

// bgpPairs lists each session's two peer addresses, both orders, to recognise BGP's own paths.
func (b *builder) bgpPairs() map[[2]string]bool {
	out := map[[2]string]bool{}
	for _, s := range b.r.BGP.Sessions {
		a, c := canonAddr(s.Peers[0]), canonAddr(s.Peers[1])
		out[[2]string{a, c}] = true
		out[[2]string{c, a}] = true
	}
	return out
}

// isBGPPath reports whether a path is a BGP session's TCP connection: every hop TCP port 179
// between the two peers of a session. The session edge stands for it.
func isBGPPath(p *flows.Path, peers map[[2]string]bool) bool {
	if len(p.Hops) == 0 || len(peers) == 0 {
		return false
	}
	for _, h := range p.Hops {
		if h.Sport == nil || h.Dport == nil || (*h.Sport != 179 && *h.Dport != 179) {
			return false
		}
		if !peers[[2]string{canonAddr(h.Src), canonAddr(h.Dst)}] {
			return false
		}
	}
	return true
}

// bgpEdges draws one edge per session between the nodes owning its peers.
func (b *builder) bgpEdges() []Edge {
	var out []Edge
	for _, s := range b.r.BGP.Sessions {
		from, to := b.owner(s.Peers[0]), b.owner(s.Peers[1])
		if from == "" || to == "" || from == to {
			continue
		}
		asn := func(i int) string {
			if s.ASNs[i] == nil {
				return "AS?"
			}
			return "AS" + strconv.FormatUint(uint64(*s.ASNs[i]), 10)
		}
		m := s.Messages
		msgs := m.Open + m.Update + m.Notification + m.Keepalive + m.RouteRefresh
		label := []string{"BGP " + s.ID + " · " + orDefault(s.State, "state unknown"), asn(0) + " ⇄ " + asn(1) + " · " + plural(msgs, "message")}
		if s.Notification != nil {
			label = append(label, "NOTIFICATION "+s.Notification.Name)
		}
		out = append(out, Edge{
			From: from, To: to, Kind: EdgeBGP, Label: label, Points: slices.Clone(s.Points),
			Warn: s.State != "" && s.State != "established",
		})
	}
	return out
}

// announceEdges links each BGP speaker to the nodes whose single address it announced (a VIP),
// labelled with the announcements, withdrawals and the final state.
func (b *builder) announceEdges() []Edge {
	type key struct{ from, to, prefix string }
	type acc struct {
		announce, withdraw int
		last, session      string
	}
	state := map[string]string{}
	for _, s := range b.r.BGP.Sessions {
		state[s.ID] = s.State
	}
	m := map[key]*acc{}
	var order []key
	for _, rt := range b.r.BGP.Routes {
		pfx, err := netip.ParsePrefix(rt.Prefix)
		if err != nil || !pfx.IsSingleIP() {
			continue
		}
		to, ok := b.byAddr[pfx.Addr().Unmap().String()]
		if !ok {
			continue
		}
		from := b.owner(rt.Peer)
		if from == "" || from == to {
			continue
		}
		k := key{from, to, pfx.String()}
		a, ok := m[k]
		if !ok {
			a = &acc{}
			m[k] = a
			order = append(order, k)
		}
		switch rt.Event {
		case "announce":
			a.announce++
		case "withdraw":
			a.withdraw++
		}
		a.last, a.session = rt.Event, rt.Session
	}
	var out []Edge
	for _, k := range order {
		a := m[k]
		// A route dies with its session: an announcement whose session ended is gone too.
		now, gone := "announced", false
		switch st := state[a.session]; {
		case a.last == "withdraw":
			now, gone = "withdrawn", true
		case st != "" && st != "established":
			now, gone = "gone: session "+st, true
		}
		label := []string{"announces " + k.prefix}
		if a.withdraw > 0 || gone {
			label = []string{k.prefix + " announced " + strconv.Itoa(a.announce) + "×, withdrawn " + strconv.Itoa(a.withdraw) + "×", "now " + now}
		}
		out = append(out, Edge{From: k.from, To: k.to, Kind: EdgeAnnounce, Label: label, Warn: gone})
	}
	return out
}

// noteVIPs adds to each node the VIP -> DIP mappings it takes part in, from the NAT table.
func (b *builder) noteVIPs(g *Graph) {
	idx := map[string]int{}
	for i := range g.Nodes {
		idx[g.Nodes[i].ID] = i
	}
	seen := map[string]bool{}
	note := func(id, s string) {
		if i, ok := idx[id]; ok && !seen[id+"\x00"+s] {
			seen[id+"\x00"+s] = true
			g.Nodes[i].Notes = append(g.Nodes[i].Notes, s)
		}
	}
	for _, m := range b.r.NAT {
		if m.Kind != "vip_dip" {
			continue
		}
		vip, dip := hostOf(m.Outside), hostOf(m.Inside)
		at := b.nodeName(m.Node)
		if id, ok := b.byAddr[canonAddr(vip)]; ok {
			note(id, "VIP → DIP "+dip+" at "+at)
		}
		if id, ok := b.byAddr[canonAddr(dip)]; ok {
			note(id, "DIP of VIP "+vip)
		}
	}
}

// hostOf strips the port from "ip:port" or "[ipv6]:port".
func hostOf(ep string) string {
	if ap, err := netip.ParseAddrPort(ep); err == nil {
		return ap.Addr().Unmap().String()
	}
	return ep
}

// subtitle names the inputs, the packets and the time span, and the filter if any.
func subtitle(r *flows.Report) string {
	var files []string
	for _, in := range r.Capture.Inputs {
		files = append(files, filepath.Base(in.File))
	}
	s := ""
	switch {
	case len(files) == 0:
	case len(files) <= 3:
		s = strings.Join(files, ", ")
	default:
		s = fmt.Sprintf("%s and %d more files", strings.Join(files[:2], ", "), len(files)-2)
	}
	s = joinNonEmpty(" · ", s, plural(r.Capture.Packets, "packet"))
	if r.Capture.Start != "" {
		s = joinNonEmpty(" · ", s, spanText(r.Capture.Start, r.Capture.End))
	}
	if r.Filter != "" {
		s = joinNonEmpty(" · ", s, "filter: "+r.Filter)
	}
	return s
}

// spanText shortens two RFC 3339 times of one day to "2024-05-14 09:00:00–09:00:58 UTC".
func spanText(start, end string) string {
	d1, t1, ok1 := strings.Cut(start, "T")
	d2, t2, ok2 := strings.Cut(end, "T")
	if !ok1 || !ok2 || len(t1) < 8 || len(t2) < 8 {
		return start + " – " + end
	}
	if d1 == d2 {
		return d1 + " " + t1[:8] + "–" + t2[:8] + " UTC"
	}
	return d1 + " " + t1[:8] + " – " + d2 + " " + t2[:8] + " UTC"
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

func joinNonEmpty(sep string, parts ...string) string {
	var keep []string
	for _, p := range parts {
		if p != "" {
			keep = append(keep, p)
		}
	}
	return strings.Join(keep, sep)
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// roleOrder ranks roles by how well each says what a node is: a Mux also speaks BGP, a host also
// probes, a router may speak BGP; the more specific role wins.
var roleOrder = []string{"mux", "host", "nat", "router", "dip", "vip", "server", "client", "prober", "bgp_speaker"}

func mainRole(roles []string) string {
	for _, r := range roleOrder {
		if slices.Contains(roles, r) {
			return r
		}
	}
	if len(roles) > 0 {
		return roles[0]
	}
	return ""
}
