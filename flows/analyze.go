// Package flows owns analysis: it streams packets from every input in timestamp order through the
// decoder, the flow table (flows/conn), the hop correlator (flows/journey) and the BGP assembler
// (decode/bgp), and assembles the Report, the single contract every presentation reads
// (DESIGN.md sections 2 and 6). It also owns findings, filters and the text printer.
package flows

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/stackflow/stackflow/decode"
	"github.com/stackflow/stackflow/decode/bgp"
	"github.com/stackflow/stackflow/decode/pcapio"
	"github.com/stackflow/stackflow/flows/journey"
)

// ErrNoInput means that none of the inputs could be read at all (exit code 3).
var ErrNoInput = errors.New("no input was readable")

// Options configures one analysis.
type Options struct {
	// VXLANPorts adds UDP ports decoded as VXLAN besides 4789 and 8472.
	VXLANPorts []uint16
	// Window is the correlation window for matching one packet at several hops (default 1 s).
	Window time.Duration
	// ClockOffsets overrides estimated clock offsets, by capture-point id.
	ClockOffsets map[string]time.Duration
	// Names maps addresses or MACs to names and roles (--names).
	Names *NameTable
	// MaxProblems bounds the problem entries kept per kind; the rest are counted (default 200).
	MaxProblems int
	// Progress, when set, is called now and then with the bytes consumed so far.
	Progress func(packets int, bytes int64)
}

// InputSource is one opened input.
type InputSource struct {
	Name   string // as given by the user ("-" for stdin)
	Source pcapio.Source
}

// OpenInputs opens every named file (or "-" for stdin). It fails on the first unusable argument:
// a missing file, a file that is not a capture (the CLI's exit code 2). An input whose header
// cannot be read for another reason (an I/O error, a damaged gzip stream) is kept with a nil
// Source and an "unreadable" problem, so the others are still analysed.
func OpenInputs(names []string, stdin io.Reader, pc *ProblemCollector) ([]InputSource, error) {
	var out []InputSource
	for _, name := range names {
		opts := pcapio.Options{OnProblem: pc.addFraming}
		var (
			src pcapio.Source
			err error
		)
		if name == "-" {
			src, err = pcapio.NewReader(stdin, name, opts)
		} else {
			src, err = pcapio.Open(name, opts)
		}
		if err != nil && isUnusable(err) {
			for _, o := range out {
				if o.Source != nil {
					o.Source.Close()
				}
			}
			return nil, err
		}
		if err != nil {
			pc.add(Problem{Kind: "unreadable", File: name, Message: err.Error()})
			src = nil
		}
		out = append(out, InputSource{Name: name, Source: src})
	}
	return out, nil
}

// isUnusable reports whether an open error means the argument itself is wrong.
func isUnusable(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) ||
		errors.Is(err, pcapio.ErrNotCapture) || errors.Is(err, pcapio.ErrEmpty)
}

// ProblemCollector gathers problems from the framer and the decoders, keeping the first few of
// each kind with their positions and counting the rest.
type ProblemCollector struct {
	max     int
	kept    []Problem
	perKind map[string]int
	dropped map[droppedKey]*droppedProblems
	order   []droppedKey
}

type droppedKey struct{ kind, file string }

// droppedProblems summarises the problems of one kind in one file that were not listed: how
// many, and where the first of them was.
type droppedProblems struct {
	count  int
	packet uint64
	offset int64
}

// NewProblemCollector returns a collector keeping at most max entries per kind (0: 200).
func NewProblemCollector(max int) *ProblemCollector {
	if max <= 0 {
		max = 200
	}
	return &ProblemCollector{max: max, perKind: map[string]int{}, dropped: map[droppedKey]*droppedProblems{}}
}

func (c *ProblemCollector) add(p Problem) {
	// One line per problem: several causes of one damage are joined with "; ".
	p.Message = strings.ReplaceAll(p.Message, "\n", "; ")
	c.perKind[p.Kind]++
	if c.perKind[p.Kind] > c.max {
		k := droppedKey{p.Kind, p.File}
		d := c.dropped[k]
		if d == nil {
			d = &droppedProblems{packet: p.Packet, offset: p.Offset}
			c.dropped[k] = d
			c.order = append(c.order, k)
		}
		d.count++
		return
	}
	c.kept = append(c.kept, p)
}

func (c *ProblemCollector) addFraming(p pcapio.Problem) {
	c.add(Problem{Kind: p.Kind, File: p.File, Packet: p.Packet, Offset: p.Offset, Message: p.Message})
}

// Problems returns the kept problems in input order, then, per kind and file whose entries were
// not all kept, one entry at the first unlisted problem's position that says how many more
// there were.
func (c *ProblemCollector) Problems() []Problem {
	out := slices.Clone(c.kept)
	for _, k := range c.order {
		d := c.dropped[k]
		out = append(out, Problem{Kind: k.kind, File: k.file, Packet: d.packet, Offset: d.offset,
			Message: fmt.Sprintf("%d more %s problems from this packet on, not listed", d.count, k.kind)})
	}
	if out == nil {
		out = []Problem{}
	}
	return out
}

// Count returns how many problems were found in all.
func (c *ProblemCollector) Count() int {
	n := 0
	for _, v := range c.perKind {
		n += v
	}
	return n
}

// pointState accumulates one capture point.
type pointState struct {
	Point
	linkType   uint16
	snapCut    int    // packets cut short by the snap length
	snapFirst  uint64 // the first of them
	snapOffset int64
}

// tunnelKey identifies a report tunnel entry (DESIGN.md 6.1).
type tunnelKey struct {
	typ      decode.TunnelType
	id       uint32 // VNI or GRE key
	hasID    bool
	src, dst netip.Addr
	level    uint8
}

// Analyzer is one streaming analysis. Feed it packets in timestamp order with Add, then call
// Finish. Analyze wires it to sources; tests may drive it directly.
type Analyzer struct {
	opts     Options
	problems *ProblemCollector
	dec      *decode.Decoder

	inputs   []Input
	points   []pointState
	pointIdx [][]int // [input][interface] -> point index + 1
	srcOf    []pcapio.Source
	namer    pointNamer

	capture   Capture
	protocols [32]int
	tunnels   map[tunnelKey]int
	tunnelRec []Tunnel
	tunnelEnd []int64 // last packet time per tunnel entry, formatted at the end
	start     int64
	end       int64
	pkt       decode.Packet

	stages []stage

	// tracker is the flow stage's hop tracker, told the user's clock offsets as points appear.
	tracker     *journey.Tracker
	journeys    *journey.Result
	rib         *rib
	bgpLife     *bgpTimeline
	mtu         mtuWatch
	bgpMessages []bgp.Message
	dnsNames    map[netip.Addr]string
	// tunnelEndpoints are the outer addresses of every tunnel, for naming Muxes and hosts.
	tunnelEndpoints map[netip.Addr]bool
}

// pointID returns the id of point index i ("" when out of range).
func (a *Analyzer) pointID(i int) string {
	if i < 0 || i >= len(a.points) {
		return ""
	}
	return a.points[i].ID
}

// stage is one consumer of decoded packets (BGP, flows, journeys); each contributes to the
// report at the end.
type stage interface {
	observe(a *Analyzer, p *decode.Packet)
	finish(a *Analyzer, r *Report)
}

// NewAnalyzer prepares an analysis of the given inputs.
func NewAnalyzer(opts Options, problems *ProblemCollector) *Analyzer {
	if opts.Window <= 0 {
		opts.Window = time.Second
	}
	if problems == nil {
		problems = NewProblemCollector(opts.MaxProblems)
	}
	ports := append([]uint16{4789, 8472}, opts.VXLANPorts...)
	a := &Analyzer{
		opts:     opts,
		problems: problems,
		dec:      decode.NewDecoder(decode.Options{VXLANPorts: ports}),
		tunnels:  map[tunnelKey]int{},
		rib:      newRIB(int64(opts.Window)),
		bgpLife:  newBGPTimeline(),
	}
	a.stages = newStages(a)
	return a
}

// Analyze reads every input to its end, merged in timestamp order, and returns the report.
func Analyze(ctx context.Context, inputs []InputSource, opts Options, problems *ProblemCollector) (*Report, error) {
	a := NewAnalyzer(opts, problems)
	var srcs []pcapio.Source
	var srcInput []int // merged source index -> input index
	for i, in := range inputs {
		format := "unreadable"
		if in.Source != nil {
			format = in.Source.Format()
			srcs = append(srcs, in.Source)
			srcInput = append(srcInput, i)
		}
		a.inputs = append(a.inputs, Input{File: in.Name, Format: format})
	}
	a.pointIdx = make([][]int, len(inputs))
	if len(srcs) == 0 {
		return a.Finish(), nil
	}
	a.srcOf = make([]pcapio.Source, len(inputs))
	for i, in := range inputs {
		a.srcOf[i] = in.Source
	}
	var rec pcapio.Record
	var src pcapio.Source
	if len(srcs) == 1 {
		src = srcs[0]
	} else {
		src = pcapio.Merge(srcs)
	}
	n := 0
	for {
		err := src.Next(&rec)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", inputs[srcInput[rec.Input]].Name, err)
		}
		rec.Input = srcInput[rec.Input]
		a.Add(&rec)
		n++
		if n&0xffff == 0 {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if opts.Progress != nil {
				opts.Progress(a.capture.Packets, a.capture.Bytes)
			}
		}
	}
	for _, s := range srcs {
		s.Close()
	}
	return a.Finish(), nil
}

func (a *Analyzer) point(rec *pcapio.Record) int {
	row := a.pointIdx[rec.Input]
	if rec.Interface < len(row) && row[rec.Interface] > 0 {
		return row[rec.Interface] - 1
	}
	var list []pcapio.Interface
	if src := a.srcOf[rec.Input]; src != nil {
		list = src.Interfaces()
	}
	for len(row) <= rec.Interface {
		row = append(row, 0)
	}
	var iface pcapio.Interface
	if rec.Interface < len(list) {
		iface = list[rec.Interface]
	}
	file := a.inputs[rec.Input].File
	ps := pointState{
		Point: Point{
			ID:           a.namer.name(file, list, rec.Interface),
			File:         file,
			Interface:    iface.Name,
			InterfaceIdx: rec.Interface,
			Description:  iface.Description,
			LinkType:     LinkTypeName(iface.LinkType),
		},
		linkType: iface.LinkType,
	}
	if d, ok := a.opts.ClockOffsets[ps.ID]; ok {
		a.tracker.SetClockOffset(len(a.points), d)
	}
	a.points = append(a.points, ps)
	row[rec.Interface] = len(a.points)
	a.pointIdx[rec.Input] = row
	return len(a.points) - 1
}

// Add analyses one record of input rec.Input. Records must come in timestamp order.
func (a *Analyzer) Add(rec *pcapio.Record) {
	pi := a.point(rec)
	ps := &a.points[pi]
	p := &a.pkt
	a.dec.Decode(rec.Data, ps.linkType, rec.OrigLen, p)
	p.Input, p.Point, p.Number, p.Offset, p.Time = rec.Input, pi, rec.Number, rec.Offset, rec.Time
	p.CapLen, p.Len = rec.CapLen, rec.OrigLen

	if a.capture.Packets == 0 || p.Time < a.start {
		a.start = p.Time
	}
	if p.Time > a.end {
		a.end = p.Time
	}
	a.capture.Packets++
	a.capture.Bytes += int64(rec.OrigLen)
	in := &a.inputs[rec.Input]
	in.Packets++
	in.Bytes += int64(rec.OrigLen)
	ps.Packets++
	ps.Bytes += int64(rec.OrigLen)

	if p.Err != nil && p.Err.Severity == decode.SevTruncated && p.CapLen < p.Len {
		// Cut by the capture's snap length: normal for pktmon (128 B) or tcpdump -s captures.
		// Counted per point, not listed packet by packet.
		ps.snapCut++
		if ps.snapFirst == 0 {
			ps.snapFirst, ps.snapOffset = p.Number, p.Offset
		}
	} else if p.Err != nil {
		a.problems.add(Problem{
			Kind:    "decode_" + p.Err.Severity.String(),
			File:    in.File,
			Packet:  p.Number,
			Offset:  p.Offset,
			Message: fmt.Sprintf("point %s: %v", ps.ID, p.Err),
		})
	}
	for i := 0; i < int(p.NTunnels); i++ {
		a.countTunnel(p, i)
	}
	for _, s := range a.stages {
		s.observe(a, p)
	}
	for bits, i := p.Layers, 0; bits != 0; bits, i = bits>>1, i+1 {
		if bits&1 != 0 {
			a.protocols[i]++
		}
	}
}

func (a *Analyzer) countTunnel(p *decode.Packet, level int) {
	t := &p.Tunnels[level]
	k := tunnelKey{typ: t.Type, src: t.Outer.Src, dst: t.Outer.Dst, level: uint8(level)}
	switch {
	case t.HasVNI:
		k.id, k.hasID = t.VNI, true
	case t.HasKey:
		k.id, k.hasID = t.Key, true
	}
	idx, ok := a.tunnels[k]
	if !ok {
		rec := Tunnel{
			Type:     t.Type.String(),
			OuterSrc: t.Outer.Src.String(),
			OuterDst: t.Outer.Dst.String(),
			Level:    level,
			First:    FormatTime(p.Time),
		}
		if t.HasVNI {
			v := t.VNI
			rec.VNI = &v
		}
		if t.Type == decode.TunnelNVGRE {
			f := t.FlowID
			rec.FlowID = &f
		} else if t.HasKey {
			v := t.Key
			rec.Key = &v
		}
		idx = len(a.tunnelRec)
		a.tunnelRec = append(a.tunnelRec, rec)
		a.tunnelEnd = append(a.tunnelEnd, p.Time)
		a.tunnels[k] = idx
	}
	tr := &a.tunnelRec[idx]
	tr.Packets++
	tr.Bytes += int64(p.Len)
	a.tunnelEnd[idx] = p.Time
}

// protocolNames maps decode.LayerSet bit positions to report keys.
var protocolNames = map[decode.LayerSet]string{
	decode.HasEthernet: "ethernet",
	decode.HasVLAN:     "vlan",
	decode.HasIPv4:     "ipv4",
	decode.HasIPv6:     "ipv6",
	decode.HasTCP:      "tcp",
	decode.HasUDP:      "udp",
	decode.HasICMP:     "icmp",
	decode.HasVXLAN:    "vxlan",
	decode.HasGeneve:   "geneve",
	decode.HasGRE:      "gre",
	decode.HasNVGRE:    "nvgre",
	decode.HasERSPAN:   "erspan",
	decode.HasBGP:      "bgp",
	decode.HasARP:      "arp",
	decode.HasSLL:      "sll",
	decode.HasPPP:      "ppp",
	decode.HasCHDLC:    "chdlc",
	decode.HasDNS:      "dns",
	decode.HasFragment: "ip_fragment",
}

// bitIndex returns the position of a single-bit LayerSet.
func bitIndex(bit decode.LayerSet) int {
	i := 0
	for b := bit; b > 1; b >>= 1 {
		i++
	}
	return i
}

// Finish completes the analysis and returns the report.
func (a *Analyzer) Finish() *Report {
	r := &Report{
		Schema:    Schema,
		Protocols: map[string]int{},
		Tunnels:   a.tunnelRec,
		BGP:       BGP{Sessions: []BGPSession{}, Routes: []BGPRoute{}},
		Flows:     []Flow{},
		Nodes:     []Node{},
		Paths:     []Path{},
		NAT:       []NATMapping{},
		Findings:  []Finding{},
	}
	for _, s := range a.stages {
		s.finish(a, r)
	}
	for bit, name := range protocolNames {
		r.Protocols[name] = a.protocols[bitIndex(bit)]
	}
	a.addJourneys(r)
	a.bgpLife.closeAt(a.end) // silences that lasted to the end, before the findings read them
	a.addFindings(r)
	r.BGP.Events = a.bgpLife.sorted()
	c := a.capture
	c.Inputs = a.inputs
	if c.Inputs == nil {
		c.Inputs = []Input{}
	}
	c.Points = make([]Point, len(a.points))
	for i := range a.points {
		c.Points[i] = a.points[i].Point
	}
	if c.Packets > 0 {
		c.Start, c.End = FormatTime(a.start), FormatTime(a.end)
	}
	for _, ps := range a.points {
		if ps.snapCut > 0 {
			a.problems.add(Problem{Kind: "snaplen", File: ps.File, Packet: ps.snapFirst, Offset: ps.snapOffset,
				Message: fmt.Sprintf("point %s: %d packets were cut short by the capture's snap length (first: packet %d); each decoded up to the cut", ps.ID, ps.snapCut, ps.snapFirst)})
		}
	}
	c.Problems = a.problems.Problems()
	r.Capture = c
	for i := range r.Tunnels {
		r.Tunnels[i].Last = FormatTime(a.tunnelEnd[i])
	}
	if r.Tunnels == nil {
		r.Tunnels = []Tunnel{}
	}
	sortTunnels(r.Tunnels)
	sortFindings(r.Findings)
	return r
}

// sortTunnels orders tunnels by first appearance time, then by type, VNI and endpoints.
func sortTunnels(ts []Tunnel) {
	slices.SortStableFunc(ts, func(x, y Tunnel) int {
		if x.First != y.First {
			if x.First < y.First {
				return -1
			}
			return 1
		}
		return 0
	})
}
