package flows

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/stackflow/stackflow/decode"
	"github.com/stackflow/stackflow/decode/pcapio"
	"github.com/stackflow/stackflow/flows/conn"
	"github.com/stackflow/stackflow/flows/journey"
)

// Exporting writes the packets of one report path or flow back out, with where each came from.
// It reads the inputs twice and keeps no packet index: the first reading is the normal
// analysis (PlanExport), which names the path's hops; the second (ExportPlan.Write) decodes
// every packet again and keeps those that look exactly like one of the hops.
//
// Membership rules, chosen where the design leaves room:
//   - Path: a packet belongs when its journey header (capture point, outermost MAC pair,
//     innermost tuple, nearest network tunnel with its VNI and outer addresses) equals a hop's.
//     That includes duplicates seen on a hop, packets the correlator could not fingerprint, and,
//     where paths share a hop (ECMP before the split), the other paths' packets on that hop:
//     ExportStats.SharedWith names those paths.
//   - Flow: the flow table is run again over the same packets in the same order, so flow ids
//     come out exactly as in the report; a packet belongs when its innermost or outermost
//     flow is the selected one. The table names no flow for the middle levels of a tunnel
//     nested three deep: there a packet belongs when that level's key is the flow's and its
//     time lies within the flow's first and last packet (flows with one key never overlap).

// ErrUnknownSelection means the path or flow id is not in the analysis (exit code 2).
var ErrUnknownSelection = errors.New("not in the analysis")

// ErrEmptyExport means the second reading found no packet of the selection.
var ErrEmptyExport = errors.New("no packet of the selection was found")

// ErrInputsChanged means the second reading saw other packets than the analysis did.
var ErrInputsChanged = errors.New("the inputs changed between the analysis and the export")

// Selection names what to export: exactly one of a report path id ("p7") or flow id ("f12").
type Selection struct {
	Path string
	Flow string
}

// String names the selection as comments and messages do: "path p7" or "flow f12".
func (s Selection) String() string {
	if s.Path != "" {
		return "path " + s.Path
	}
	return "flow " + s.Flow
}

// Validate checks the selection's shape (exactly one id, spelled as the report spells ids)
// without reading anything.
func (s Selection) Validate() error {
	switch {
	case s.Path != "" && s.Flow != "":
		return fmt.Errorf("path %q and flow %q: select one of them, not both", s.Path, s.Flow)
	case s.Path == "" && s.Flow == "":
		return errors.New("nothing selected: give a path id (e.g. p7) or a flow id (e.g. f12)")
	case s.Path != "":
		_, err := parseReportID(s.Path, "p", "path")
		return err
	default:
		_, err := parseReportID(s.Flow, "f", "flow")
		return err
	}
}

// parseReportID reads an id such as "p7" (prefix "p") and returns its number.
func parseReportID(id, prefix, what string) (int, error) {
	digits, ok := strings.CutPrefix(id, prefix)
	n, err := strconv.Atoi(digits)
	if !ok || err != nil || n < 1 || strconv.Itoa(n) != digits {
		return 0, fmt.Errorf("%s id %q: want %s followed by a number from the report, e.g. %s7", what, id, prefix, prefix)
	}
	return n, nil
}

// ExportPoint is one capture point of an export: the output gets one interface per point.
type ExportPoint struct {
	ID          string // capture point id, to be written as if_name
	LinkType    uint16 // LINKTYPE_* of its packets
	Description string // where the point came from: input file and interface
}

// ExportPacket is one selected packet, as read from its input.
type ExportPacket struct {
	Point    string // capture point id
	LinkType uint16
	Time     int64  // original capture time, ns since the Unix epoch
	Data     []byte // captured bytes; valid only during the callback
	OrigLen  uint32
	Flags    uint32 // the original epb_flags (direction), 0 when absent
	// Comment says where the packet came from ("path p7 hop 3 (snat) at natvm-out0: nat.pcap
	// #412"), followed on further lines by the packet's own comments, if it had any.
	Comment string
	File    string // input file as given by the user
	Number  uint64 // 1-based packet number in File
	Hop     int    // 0-based hop index for a path export, -1 for a flow
}

// ExportStats describes what an export wrote.
type ExportStats struct {
	Packets int
	Bytes   int64 // wire lengths
	// HopPackets counts written packets per hop of a path (a header repeated later in the path
	// counts at its first hop); nil for a flow.
	HopPackets []int
	// Reported is what the report counts for the selection: the sum of the path's hop
	// packets, or the flow's packets.
	Reported int
	// Duplicates counts the correlator's duplicates on the path's hops (packets repeated at one
	// location with identical headers): written, but not among the hop packets.
	Duplicates int
	// SharedWith lists other paths through at least one of this path's hops; their packets on
	// the shared hops are written too.
	SharedWith []string
}

// ExportPlan is the result of the analysis reading: the report and how to recognise the
// selection's packets on the second reading.
type ExportPlan struct {
	sel      Selection
	report   *Report
	points   []ExportPoint
	files    []string
	readable []bool
	pointIdx [][]int // [input][interface] -> analysis point index + 1
	pointIDs []string
	linkType []uint16
	decOpts  decode.Options
	total    int // packets the analysis read

	hopOf      map[journey.Header]int // path: header -> first hop with it
	hops       []Hop
	flow       uint32 // flow: table id
	flowKey    conn.Key
	flowFirst  int64 // the flow's first and last packet, for tunnel middle levels
	flowLast   int64
	reported   int
	duplicates int
	shared     []string
}

// PlanExport runs the analysis (the same as Analyze with the same options) and finds the
// selection in it. An id the analysis did not produce gives an error wrapping
// ErrUnknownSelection that says how many paths or flows there are. The inputs are read to
// their end and closed.
func PlanExport(ctx context.Context, inputs []InputSource, opts Options, problems *ProblemCollector, sel Selection) (*ExportPlan, error) {
	if err := sel.Validate(); err != nil {
		return nil, err
	}
	a := NewAnalyzer(opts, problems)
	a.prepareInputs(inputs)
	n := 0
	err := readMerged(ctx, inputs, func(rec *pcapio.Record) {
		a.Add(rec)
		n++
		if n&0xffff == 0 && opts.Progress != nil {
			opts.Progress(a.capture.Packets, a.capture.Bytes)
		}
	})
	if err != nil {
		return nil, err
	}
	r := a.Finish()
	p := &ExportPlan{
		sel:      sel,
		report:   r,
		pointIdx: a.pointIdx,
		decOpts:  decode.Options{VXLANPorts: append([]uint16{4789, 8472}, opts.VXLANPorts...)},
		total:    r.Capture.Packets,
	}
	for _, in := range inputs {
		p.files = append(p.files, in.Name)
		p.readable = append(p.readable, in.Source != nil)
	}
	for _, ps := range a.points {
		p.pointIDs = append(p.pointIDs, ps.ID)
		p.linkType = append(p.linkType, ps.linkType)
	}
	if sel.Path != "" {
		err = p.planPath(a, r)
	} else {
		err = p.planFlow(a, r)
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}

// prepareInputs registers the inputs with the analyzer as Analyze does.
func (a *Analyzer) prepareInputs(inputs []InputSource) {
	a.inputs = a.inputs[:0]
	for _, in := range inputs {
		format := "unreadable"
		if in.Source != nil {
			format = in.Source.Format()
		}
		a.inputs = append(a.inputs, Input{File: in.Name, Format: format})
	}
	a.pointIdx = make([][]int, len(inputs))
	a.srcOf = make([]pcapio.Source, len(inputs))
	for i, in := range inputs {
		a.srcOf[i] = in.Source
	}
}

// readMerged reads every readable input to its end, merged in timestamp order as Analyze
// merges them, and calls fn with each record (rec.Input set to its index in inputs). It
// closes the sources and checks ctx every 65536 packets.
func readMerged(ctx context.Context, inputs []InputSource, fn func(rec *pcapio.Record)) error {
	var srcs []pcapio.Source
	var srcInput []int
	for i, in := range inputs {
		if in.Source != nil {
			srcs = append(srcs, in.Source)
			srcInput = append(srcInput, i)
		}
	}
	defer func() {
		for _, s := range srcs {
			s.Close()
		}
	}()
	if len(srcs) == 0 {
		return nil
	}
	src := srcs[0]
	if len(srcs) > 1 {
		src = pcapio.Merge(srcs)
	}
	var rec pcapio.Record
	for n := 1; ; n++ {
		err := src.Next(&rec)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading %s: %w", inputs[srcInput[rec.Input]].Name, err)
		}
		rec.Input = srcInput[rec.Input]
		fn(&rec)
		if n&0xffff == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

func (p *ExportPlan) planPath(a *Analyzer, r *Report) error {
	n, _ := parseReportID(p.sel.Path, "p", "path")
	res := a.journeys
	if res == nil || n > len(r.Paths) || n > len(res.Paths) {
		return fmt.Errorf("path %q: %w, which found %s", p.sel.Path, ErrUnknownSelection, countIDs(len(r.Paths), "path", "p"))
	}
	jp := res.Paths[n-1]
	p.hops = r.Paths[n-1].Hops
	p.hopOf = make(map[journey.Header]int, len(jp.Hops))
	segs := map[int]bool{}
	seen := map[int]bool{}
	for i, h := range jp.Hops {
		if _, ok := p.hopOf[h.Header]; !ok {
			p.hopOf[h.Header] = i
		}
		p.reported += int(h.Packets)
		if !segs[h.Segment] && h.Segment >= 0 && h.Segment < len(res.Segments) {
			p.duplicates += int(res.Segments[h.Segment].Duplicates)
		}
		segs[h.Segment] = true
		if !seen[h.Point] {
			seen[h.Point] = true
			p.points = append(p.points, a.exportPoint(h.Point))
		}
	}
	for j, q := range res.Paths {
		if j == n-1 {
			continue
		}
		for _, h := range q.Hops {
			if segs[h.Segment] {
				p.shared = append(p.shared, fmt.Sprintf("p%d", j+1))
				break
			}
		}
	}
	return nil
}

func (p *ExportPlan) planFlow(a *Analyzer, r *Report) error {
	n, _ := parseReportID(p.sel.Flow, "f", "flow")
	var f *Flow
	for i := range r.Flows {
		if r.Flows[i].ID == p.sel.Flow {
			f = &r.Flows[i]
			break
		}
	}
	if f == nil {
		return fmt.Errorf("flow %q: %w, which found %s", p.sel.Flow, ErrUnknownSelection, flowIDRange(r.Flows))
	}
	p.flow = uint32(n)
	p.reported = f.Packets
	for _, s := range a.stages {
		if fs, ok := s.(*flowStage); ok {
			for _, rec := range fs.records {
				if rec.ID == p.flow {
					p.flowKey, p.flowFirst, p.flowLast = rec.Key, rec.First, rec.Last
				}
			}
		}
	}
	for i := range a.points {
		if a.points[i].ID == f.Point {
			p.points = append(p.points, a.exportPoint(i))
			break
		}
	}
	return nil
}

// flowIDRange says how many flows there are and their id range.
func flowIDRange(fs []Flow) string {
	lo, hi := 0, 0
	for _, f := range fs {
		if n, err := parseReportID(f.ID, "f", "flow"); err == nil {
			if lo == 0 || n < lo {
				lo = n
			}
			hi = max(hi, n)
		}
	}
	if lo == 1 && hi == len(fs) {
		return countIDs(len(fs), "flow", "f")
	}
	return fmt.Sprintf("%d flows (ids from f%d to f%d)", len(fs), lo, hi)
}

// countIDs says how many ids there are: "no paths", "1 path (p1)", "96 paths (p1..p96)".
func countIDs(n int, what, prefix string) string {
	switch n {
	case 0:
		return "no " + what + "s"
	case 1:
		return "1 " + what + " (" + prefix + "1)"
	}
	return fmt.Sprintf("%d %ss (%s1..%s%d)", n, what, prefix, prefix, n)
}

func (a *Analyzer) exportPoint(i int) ExportPoint {
	ps := &a.points[i]
	desc := ps.File
	if ps.Interface != "" {
		desc += " interface " + ps.Interface
	}
	return ExportPoint{ID: ps.ID, LinkType: ps.linkType, Description: desc}
}

// Report returns the analysis's report (unfiltered).
func (p *ExportPlan) Report() *Report { return p.report }

// Selection returns what the plan exports.
func (p *ExportPlan) Selection() Selection { return p.sel }

// Points returns the capture points of the selection, in hop order for a path: declare them
// as the output's interfaces before the first packet.
func (p *ExportPlan) Points() []ExportPoint { return append([]ExportPoint(nil), p.points...) }

// Write reads the inputs a second time (reopened by the caller, the same files in the same
// order) and calls emit with every packet of the selection, in the analysis's merged
// timestamp order. It fails with ErrInputsChanged when the inputs no longer match what the
// analysis read, with ErrEmptyExport when nothing was selected, and with emit's first error.
func (p *ExportPlan) Write(ctx context.Context, inputs []InputSource, emit func(*ExportPacket) error) (ExportStats, error) {
	st := ExportStats{Reported: p.reported, Duplicates: p.duplicates, SharedWith: p.shared}
	if p.hopOf != nil {
		st.HopPackets = make([]int, len(p.hops))
	}
	if len(inputs) != len(p.files) {
		return st, fmt.Errorf("%d inputs, the analysis read %d: %w", len(inputs), len(p.files), ErrInputsChanged)
	}
	for i, in := range inputs {
		if in.Name != p.files[i] || (in.Source != nil) != p.readable[i] {
			return st, fmt.Errorf("input %d %q (readable %v), the analysis read %q (readable %v): %w",
				i+1, in.Name, in.Source != nil, p.files[i], p.readable[i], ErrInputsChanged)
		}
	}
	dec := decode.NewDecoder(p.decOpts)
	var table *conn.Table
	if p.hopOf == nil {
		// The same table configuration as the analysis's flow stage, fed the same packets in the
		// same order, numbers flows identically.
		table = conn.NewTable(conn.Config{})
	}
	var (
		pkt   decode.Packet
		out   ExportPacket
		total int
		err   error
	)
	rerr := readMerged(ctx, inputs, func(rec *pcapio.Record) {
		total++
		if err != nil {
			return
		}
		pi, ok := p.pointOf(rec)
		if !ok {
			err = fmt.Errorf("%s #%d: interface %d was not in the analysis: %w", inputs[rec.Input].Name, rec.Number, rec.Interface, ErrInputsChanged)
			return
		}
		dec.Decode(rec.Data, p.linkType[pi], rec.OrigLen, &pkt)
		pkt.Input, pkt.Point, pkt.Number, pkt.Offset, pkt.Time = rec.Input, pi, rec.Number, rec.Offset, rec.Time
		pkt.CapLen, pkt.Len = rec.CapLen, rec.OrigLen
		hop := -1
		if table != nil {
			inner, outer := table.Update(&pkt)
			if inner != p.flow && outer != p.flow && !p.middleLevel(&pkt) {
				return
			}
		} else {
			if !pkt.HasIP {
				return
			}
			i, ok := p.hopOf[journey.HeaderOf(&pkt)]
			if !ok {
				return
			}
			hop = i
			st.HopPackets[i]++
		}
		out = ExportPacket{
			Point:    p.pointIDs[pi],
			LinkType: p.linkType[pi],
			Time:     rec.Time,
			Data:     rec.Data,
			OrigLen:  rec.OrigLen,
			Flags:    rec.Flags,
			Comment:  p.comment(hop, p.pointIDs[pi], inputs[rec.Input].Name, rec),
			File:     inputs[rec.Input].Name,
			Number:   rec.Number,
			Hop:      hop,
		}
		st.Packets++
		st.Bytes += int64(rec.OrigLen)
		err = emit(&out)
	})
	if err == nil {
		err = rerr
	}
	if err != nil {
		return st, err
	}
	if total != p.total {
		return st, fmt.Errorf("the second reading found %d packets, the analysis %d: %w", total, p.total, ErrInputsChanged)
	}
	if st.Packets == 0 {
		return st, fmt.Errorf("%s: %w (the report counts %d packets for it)", p.sel, ErrEmptyExport, p.reported)
	}
	return st, nil
}

// pointOf returns the analysis's point index of a record.
func (p *ExportPlan) pointOf(rec *pcapio.Record) (int, bool) {
	if rec.Input < 0 || rec.Input >= len(p.pointIdx) {
		return 0, false
	}
	row := p.pointIdx[rec.Input]
	if rec.Interface < 0 || rec.Interface >= len(row) || row[rec.Interface] == 0 {
		return 0, false
	}
	return row[rec.Interface] - 1, true
}

// comment says where a packet came from, then repeats the packet's own comments.
func (p *ExportPlan) comment(hop int, point, file string, rec *pcapio.Record) string {
	var b strings.Builder
	if hop >= 0 {
		fmt.Fprintf(&b, "path %s hop %d (%s) at %s: %s #%d", p.sel.Path, hop+1, p.hops[hop].Transform, point, file, rec.Number)
	} else {
		fmt.Fprintf(&b, "flow %s at %s: %s #%d", p.sel.Flow, point, file, rec.Number)
	}
	if len(rec.Options) > 0 {
		for _, c := range pcapio.Comments(rec) {
			b.WriteByte('\n')
			b.WriteString(c)
		}
	}
	return b.String()
}

// middleLevel reports whether the selected flow is one of the middle tunnel levels of pkt
// (neither the outermost nor the innermost), which the flow table does not return.
func (p *ExportPlan) middleLevel(pkt *decode.Packet) bool {
	n := min(int(pkt.NTunnels), len(pkt.Tunnels))
	if n < 2 || !p.flowKey.Valid() || pkt.Time < p.flowFirst || pkt.Time > p.flowLast {
		return false
	}
	for i := 1; i < n; i++ {
		up := &pkt.Tunnels[i-1]
		if k, _ := conn.MakeKey(pkt.Point, pkt.Tunnels[i].Outer, up.VNI, up.HasVNI); k == p.flowKey {
			return true
		}
	}
	return false
}
