package flows_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stackflow/stackflow/decode"
	"github.com/stackflow/stackflow/decode/pcapio"
	"github.com/stackflow/stackflow/flows"
	"github.com/stackflow/stackflow/internal/testenv"
)

// The oracle in these tests is independent of the exporter: it reads every input packet
// itself and decides membership from the report's strings (point id, addresses, ports, MACs,
// tunnel), so a disagreement between the report and the export shows up as a failure.

func openAll(t *testing.T, files []string) []flows.InputSource {
	t.Helper()
	in, err := flows.OpenInputs(files, nil, flows.NewProblemCollector(0))
	if err != nil {
		t.Fatalf("open %v: %v", files, err)
	}
	return in
}

// exported is a copy of one packet handed to emit.
type exported struct {
	flows.ExportPacket
}

// runExport plans and writes an export, keeping copies of the packets.
func runExport(t *testing.T, files []string, sel flows.Selection) (*flows.ExportPlan, flows.ExportStats, []exported) {
	t.Helper()
	plan, err := flows.PlanExport(context.Background(), openAll(t, files), flows.Options{}, nil, sel)
	if err != nil {
		t.Fatalf("plan %s: %v", sel, err)
	}
	var got []exported
	st, err := plan.Write(context.Background(), openAll(t, files), func(p *flows.ExportPacket) error {
		cp := *p
		cp.Data = slices.Clone(p.Data)
		got = append(got, exported{cp})
		return nil
	})
	if err != nil {
		t.Fatalf("write %s: %v", sel, err)
	}
	return plan, st, got
}

// oraclePacket is one input packet as the oracle reads it.
type oraclePacket struct {
	file   string
	number uint64
	point  string
	link   uint16
	time   int64
	data   []byte
	pkt    decode.Packet
}

// readOracle reads every packet of files, merged in time order, naming points as analysis does.
func readOracle(t *testing.T, files []string) []oraclePacket {
	t.Helper()
	var srcs []pcapio.Source
	for _, f := range files {
		s, err := pcapio.Open(f, pcapio.Options{})
		if err != nil {
			t.Fatal(err)
		}
		srcs = append(srcs, s)
	}
	defer func() {
		for _, s := range srcs {
			s.Close()
		}
	}()
	m := pcapio.Merge(srcs)
	namer := flows.NewPointNamer(files)
	dec := decode.NewDecoder(decode.Options{})
	var out []oraclePacket
	var rec pcapio.Record
	for {
		if err := m.Next(&rec); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		ifaces := m.InputInterfaces(rec.Input)
		o := oraclePacket{file: files[rec.Input], number: rec.Number, time: rec.Time, data: slices.Clone(rec.Data),
			point: namer.Name(rec.Input, rec.Interface, ifaces), link: ifaces[rec.Interface].LinkType}
		dec.Decode(rec.Data, o.link, rec.OrigLen, &o.pkt)
		o.pkt.Payload = nil
		out = append(out, o)
	}
	return out
}

var protoNumbers = map[string]uint8{"tcp": 6, "udp": 17, "icmp": 1, "icmpv6": 58}

func macOf(m [6]byte) string { return net.HardwareAddr(m[:]).String() }

// hopMatches decides from the report's strings whether o was seen at hop h.
func hopMatches(h flows.Hop, proto uint8, o *oraclePacket) bool {
	p := &o.pkt
	if o.point != h.Point || !p.HasIP || p.Inner.Proto != proto ||
		p.Inner.Src.String() != h.Src || p.Inner.Dst.String() != h.Dst {
		return false
	}
	if h.Sport != nil && (p.Inner.SrcPort != *h.Sport || p.Inner.DstPort != *h.Dport) {
		return false
	}
	if (h.SrcMAC != "") != p.HasMAC || (p.HasMAC && (macOf(p.SrcMAC) != h.SrcMAC || macOf(p.DstMAC) != h.DstMAC)) {
		return false
	}
	if h.Tunnel == "" {
		return p.NTunnels == 0
	}
	if p.NTunnels == 0 {
		return false
	}
	tu := p.Tunnels[p.NTunnels-1] // these captures carry no ERSPAN: the last tunnel is the SDN one
	if tu.Type.String() != h.Tunnel || tu.Outer.Src.String() != h.OuterSrc || tu.Outer.Dst.String() != h.OuterDst {
		return false
	}
	return h.VNI == nil || (tu.HasVNI && tu.VNI == *h.VNI)
}

func flowByID(r *flows.Report, id string) *flows.Flow {
	for i := range r.Flows {
		if r.Flows[i].ID == id {
			return &r.Flows[i]
		}
	}
	return nil
}

// checkPathExport exports path and compares it packet by packet with the oracle.
func checkPathExport(t *testing.T, files []string, r *flows.Report, path *flows.Path) {
	t.Helper()
	f := flowByID(r, path.FlowIDs[0])
	proto, ok := protoNumbers[f.Proto]
	if !ok {
		t.Fatalf("path %s: flow %s has protocol %q", path.ID, f.ID, f.Proto)
	}
	plan, st, got := runExport(t, files, flows.Selection{Path: path.ID})

	// Interfaces: the hops' points, each once, in hop order.
	var wantPoints []string
	for _, h := range path.Hops {
		if !slices.Contains(wantPoints, h.Point) {
			wantPoints = append(wantPoints, h.Point)
		}
	}
	var gotPoints []string
	for _, p := range plan.Points() {
		gotPoints = append(gotPoints, p.ID)
	}
	if !slices.Equal(gotPoints, wantPoints) {
		t.Errorf("points %v, want the hops' points in hop order %v", gotPoints, wantPoints)
	}

	// Membership: exactly the packets the oracle finds, each at its first matching hop.
	type ref struct {
		file   string
		number uint64
	}
	want := map[ref]int{}
	byRef := map[ref]*oraclePacket{}
	oracle := readOracle(t, files)
	for i := range oracle {
		o := &oracle[i]
		byRef[ref{o.file, o.number}] = o
		for hi, h := range path.Hops {
			if hopMatches(h, proto, o) {
				want[ref{o.file, o.number}] = hi
				break
			}
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d packets exported, the oracle finds %d", len(got), len(want))
	}
	var last int64
	for i, g := range got {
		k := ref{g.File, g.Number}
		hi, ok := want[k]
		if !ok {
			t.Errorf("packet %d (%s #%d) exported but matches no hop of %s", i, g.File, g.Number, path.ID)
			continue
		}
		if g.Hop != hi {
			t.Errorf("%s #%d exported as hop %d, the oracle says hop %d", g.File, g.Number, g.Hop+1, hi+1)
		}
		h := path.Hops[hi]
		wantComment := fmt.Sprintf("path %s hop %d (%s) at %s: %s #%d", path.ID, hi+1, h.Transform, h.Point, g.File, g.Number)
		if g.Comment != wantComment {
			t.Errorf("comment %q, want %q", g.Comment, wantComment)
		}
		o := byRef[k]
		if g.Point != h.Point || g.Time != o.time || !slices.Equal(g.Data, o.data) || g.LinkType != o.link {
			t.Errorf("%s #%d: exported at %s t=%d link %d with %d bytes, input has %s t=%d link %d with %d bytes",
				g.File, g.Number, g.Point, g.Time, g.LinkType, len(g.Data), o.point, o.time, o.link, len(o.data))
		}
		if g.Time < last {
			t.Errorf("packet %d goes back in time (%d < %d)", i, g.Time, last)
		}
		last = g.Time
	}

	// Counts: the report's hop packets, plus the duplicates on those hops.
	reported, hopSum := 0, 0
	for i, h := range path.Hops {
		reported += h.Packets
		hopSum += st.HopPackets[i]
	}
	if st.Reported != reported || hopSum != st.Packets || st.Packets != len(got) {
		t.Errorf("stats %+v: want reported %d, per-hop sum %d == packets == %d written", st, reported, hopSum, len(got))
	}
	if len(st.SharedWith) == 0 && st.Packets != st.Reported+st.Duplicates {
		t.Errorf("%d packets written, the report counts %d hop packets + %d duplicates", st.Packets, st.Reported, st.Duplicates)
	}
}

// TestExportPathPoC exports paths of the synthesized Azure Stack PoC capture: a TCP
// conversation client -> VIP through NAT, router, Mux (VXLAN) and host, its DSR return that
// skips the Mux, and an ICMP echo (the echo id stands in for ports).
func TestExportPathPoC(t *testing.T) {
	file := testenv.Sample(t, "azurestack-poc.pcapng")
	files := []string{file}
	r, err := flows.Analyze(context.Background(), openAll(t, files), flows.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	protoOf := func(p *flows.Path) string { return flowByID(r, p.FlowIDs[0]).Proto }
	cases := []struct {
		name string
		why  string
		pick func(p *flows.Path) bool
	}{
		{"tcp forward through the mux", "every hop kind: none, snat, route, encap, decap+dnat", func(p *flows.Path) bool {
			return p.Direction == "forward" && len(p.Hops) == 5 && protoOf(p) == "tcp" && p.Hops[3].Tunnel == "vxlan"
		}},
		{"tcp dsr return", "the return skips the Mux: its interfaces differ from the forward path's", func(p *flows.Path) bool {
			return p.DSR && protoOf(p) == "tcp"
		}},
		{"icmp echo forward", "ICMP has no ports: the echo id takes their place in the tuple", func(p *flows.Path) bool {
			return p.Direction == "forward" && len(p.Hops) == 5 && protoOf(p) == "icmp"
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var path *flows.Path
			for i := range r.Paths {
				if len(r.Paths[i].FlowIDs) > 0 && c.pick(&r.Paths[i]) {
					path = &r.Paths[i]
					break
				}
			}
			if path == nil {
				t.Fatalf("no such path in the sample's report (%s)", c.why)
			}
			checkPathExport(t, files, r, path)
		})
	}
}

// TestExportPathNS3 exports both paths of the ns-3 UDP echo captured in three files (two PPP,
// one Ethernet): interfaces keep their own link types.
func TestExportPathNS3(t *testing.T) {
	caps := testenv.CapturesOrSkip(t)
	files := []string{
		filepath.Join(caps, "multihop-ns3-n0-p2p.pcap"),
		filepath.Join(caps, "multihop-ns3-n1-p2p.pcap"),
		filepath.Join(caps, "multihop-ns3-n2-csma.pcap"),
	}
	r, err := flows.Analyze(context.Background(), openAll(t, files), flows.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Paths) == 0 {
		t.Fatal("no paths in the ns-3 captures")
	}
	for i := range r.Paths {
		p := &r.Paths[i]
		t.Run(p.ID+" "+p.Direction, func(t *testing.T) {
			checkPathExport(t, files, r, p)
			plan, _, _ := runExport(t, files, flows.Selection{Path: p.ID})
			for _, pt := range plan.Points() {
				want := uint16(1) // Ethernet on n2's LAN
				if strings.Contains(pt.ID, "p2p") {
					want = 9 // PPP on the point-to-point link
				}
				if pt.LinkType != want {
					t.Errorf("point %s: link type %d, want %d", pt.ID, pt.LinkType, want)
				}
			}
		})
	}
}

// TestExportFlow exports single flows: plain TCP at one point, and each level of a VXLAN
// tunnel nested three deep (the flow table names only the outermost and innermost levels per
// packet; the middle ones are found by key).
func TestExportFlow(t *testing.T) {
	t.Run("tcp at client-nat", func(t *testing.T) {
		files := []string{testenv.Sample(t, "azurestack-poc.pcapng")}
		r, err := flows.Analyze(context.Background(), openAll(t, files), flows.Options{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		var f *flows.Flow
		for i := range r.Flows {
			if r.Flows[i].Proto == "tcp" && r.Flows[i].Point == "client-nat" && r.Flows[i].Packets > 5 {
				f = &r.Flows[i]
				break
			}
		}
		if f == nil {
			t.Fatal("no TCP flow at client-nat")
		}
		plan, st, got := runExport(t, files, flows.Selection{Flow: f.ID})
		if pts := plan.Points(); len(pts) != 1 || pts[0].ID != f.Point {
			t.Errorf("points %+v, want only %s", pts, f.Point)
		}
		want := 0
		for _, o := range readOracle(t, files) {
			p := &o.pkt
			fwd := p.Inner.Src.String() == f.Src && p.Inner.Dst.String() == f.Dst && p.Inner.SrcPort == *f.Sport && p.Inner.DstPort == *f.Dport
			rev := p.Inner.Src.String() == f.Dst && p.Inner.Dst.String() == f.Src && p.Inner.SrcPort == *f.Dport && p.Inner.DstPort == *f.Sport
			if o.point == f.Point && p.Inner.Proto == 6 && (fwd || rev) {
				want++
			}
		}
		if len(got) != want || want != f.Packets || st.Reported != f.Packets {
			t.Errorf("exported %d, oracle %d, report %d (stats %+v)", len(got), want, f.Packets, st)
		}
		for _, g := range got {
			if g.Hop != -1 || g.Comment != fmt.Sprintf("flow %s at %s: %s #%d", f.ID, f.Point, g.File, g.Number) {
				t.Errorf("hop %d comment %q", g.Hop, g.Comment)
			}
		}
	})
	t.Run("nested tunnel levels", func(t *testing.T) {
		files := []string{testenv.Capture(t, "vxlan-triple-nested-dns.pcap")}
		r, err := flows.Analyze(context.Background(), openAll(t, files), flows.Options{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Flows) != 4 {
			t.Fatalf("%d flows, want 4 (three VXLAN levels and the DNS inside)", len(r.Flows))
		}
		for _, f := range r.Flows {
			_, st, got := runExport(t, files, flows.Selection{Flow: f.ID})
			if len(got) != 1 || got[0].Number != 1 || st.Reported != 1 {
				t.Errorf("flow %s (%s > %s): exported %d packets, want the file's one packet", f.ID, f.Src, f.Dst, len(got))
			}
		}
	})
}

// TestSelectionValidate pins the id syntax checked before anything is read.
func TestSelectionValidate(t *testing.T) {
	cases := []struct {
		name string
		sel  flows.Selection
		ok   bool
		why  string
	}{
		{"path", flows.Selection{Path: "p7"}, true, "the report's spelling"},
		{"flow", flows.Selection{Flow: "f12"}, true, "the report's spelling"},
		{"both", flows.Selection{Path: "p1", Flow: "f1"}, false, "exactly one selection"},
		{"none", flows.Selection{}, false, "something must be selected"},
		{"bare number", flows.Selection{Path: "7"}, false, "the prefix tells paths from flows"},
		{"wrong prefix", flows.Selection{Path: "f7"}, false, "a flow id given as a path"},
		{"zero", flows.Selection{Flow: "f0"}, false, "ids start at 1"},
		{"leading zero", flows.Selection{Path: "p07"}, false, "the report never writes p07: a typo, not p7"},
		{"sign", flows.Selection{Path: "p+7"}, false, "Atoi accepts a sign, ids do not have one"},
		{"suffix", flows.Selection{Flow: "f12x"}, false, "trailing garbage"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.sel.Validate()
			if (err == nil) != c.ok {
				t.Errorf("Validate(%+v) = %v, want ok=%v (%s)", c.sel, err, c.ok, c.why)
			}
			if err != nil && !strings.Contains(err.Error(), "e.g.") && c.name != "both" {
				t.Errorf("error %q does not show an example id", err)
			}
		})
	}
}

// TestExportErrors covers ids the analysis did not produce, inputs that changed between the
// two readings, and an emit error.
func TestExportErrors(t *testing.T) {
	file := testenv.Sample(t, "azurestack-poc.pcapng")
	files := []string{file}
	r, err := flows.Analyze(context.Background(), openAll(t, files), flows.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("unknown ids", func(t *testing.T) {
		cases := []struct {
			sel  flows.Selection
			want string // the count named in the message
		}{
			{flows.Selection{Path: fmt.Sprintf("p%d", len(r.Paths)+1)}, fmt.Sprintf("%d paths", len(r.Paths))},
			{flows.Selection{Flow: fmt.Sprintf("f%d", len(r.Flows)+1)}, fmt.Sprintf("%d flows", len(r.Flows))},
		}
		for _, c := range cases {
			_, err := flows.PlanExport(context.Background(), openAll(t, files), flows.Options{}, nil, c.sel)
			if !errors.Is(err, flows.ErrUnknownSelection) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s: error %v, want ErrUnknownSelection naming %q", c.sel, err, c.want)
			}
		}
	})
	t.Run("inputs changed", func(t *testing.T) {
		// A capture file that grew (or was replaced) between the readings must not be exported
		// as if it were the analysed one.
		dir := t.TempDir()
		copyPath := filepath.Join(dir, "poc.pcapng")
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(copyPath, data, 0o644); err != nil {
			t.Fatal(err)
		}
		plan, err := flows.PlanExport(context.Background(), openAll(t, []string{copyPath}), flows.Options{}, nil, flows.Selection{Path: "p1"})
		if err != nil {
			t.Fatal(err)
		}
		other, err := os.ReadFile(testenv.Sample(t, "fault-hop-drops.pcapng"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(copyPath, other, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err = plan.Write(context.Background(), openAll(t, []string{copyPath}), func(*flows.ExportPacket) error { return nil })
		if !errors.Is(err, flows.ErrInputsChanged) {
			t.Errorf("replaced input: %v, want ErrInputsChanged", err)
		}
		_, err = plan.Write(context.Background(), openAll(t, []string{file}), func(*flows.ExportPacket) error { return nil })
		if !errors.Is(err, flows.ErrInputsChanged) {
			t.Errorf("another file name: %v, want ErrInputsChanged", err)
		}
	})
	t.Run("emit error", func(t *testing.T) {
		plan, err := flows.PlanExport(context.Background(), openAll(t, files), flows.Options{}, nil, flows.Selection{Path: "p5"})
		if err != nil {
			t.Fatal(err)
		}
		stop := errors.New("disk full")
		calls := 0
		_, err = plan.Write(context.Background(), openAll(t, files), func(*flows.ExportPacket) error {
			calls++
			if calls == 3 {
				return stop
			}
			return nil
		})
		if !errors.Is(err, stop) || calls != 3 {
			t.Errorf("error %v after %d calls, want the emit error after 3", err, calls)
		}
	})
}

// TestExportPlanReport checks that the export's analysis is analyze's: the same report, so the
// ids a user read in `stackflow analyze` name the same paths and flows here.
func TestExportPlanReport(t *testing.T) {
	files := []string{testenv.Sample(t, "azurestack-poc.pcapng")}
	opts := flows.Options{VXLANPorts: []uint16{4790}}
	want, err := flows.Analyze(context.Background(), openAll(t, files), opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := flows.PlanExport(context.Background(), openAll(t, files), opts, nil, flows.Selection{Path: "p1"})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(want)
	b, _ := json.Marshal(plan.Report())
	if !bytes.Equal(a, b) {
		t.Errorf("the export's report differs from Analyze's (%d vs %d bytes of JSON)", len(b), len(a))
	}
}

// TestExportEverySelection exports every path and every flow of committed samples (the
// synthesized PoC and the namespace lab recording, there every eighth flow) and checks the counts against the report:
// a flow's packets exactly; a path's hop packets plus the duplicates on its hops, unless it
// shares hops with other paths (then at least that many).
func TestExportEverySelection(t *testing.T) {
	if testing.Short() {
		t.Skip("exports every path and flow of two samples")
	}
	lab, _ := filepath.Glob(filepath.Join(testenv.Samples(t), "lab", "captures", "*.pcap.gz"))
	sets := map[string][]string{
		"poc": {testenv.Sample(t, "azurestack-poc.pcapng")},
		"lab": lab,
	}
	for name, files := range sets {
		t.Run(name, func(t *testing.T) {
			if len(files) == 0 {
				t.Fatal("sample missing")
			}
			r, err := flows.Analyze(context.Background(), openAll(t, files), flows.Options{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range r.Paths {
				_, st, got := runExport(t, files, flows.Selection{Path: p.ID})
				for i, h := range p.Hops {
					if st.HopPackets[i] < h.Packets {
						t.Errorf("%s hop %d: %d written, the report counts %d", p.ID, i+1, st.HopPackets[i], h.Packets)
					}
				}
				exact := len(st.SharedWith) == 0
				if want := st.Reported + st.Duplicates; (exact && len(got) != want) || len(got) < st.Reported {
					t.Errorf("%s: %d written, report %d + %d duplicates, shared with %v", p.ID, len(got), st.Reported, st.Duplicates, st.SharedWith)
				}
			}
			for i, f := range r.Flows {
				if name == "lab" && i%8 != 0 {
					continue // gzip-compressed inputs read twice per export: every eighth flow will do
				}
				_, _, got := runExport(t, files, flows.Selection{Flow: f.ID})
				if len(got) != f.Packets {
					t.Errorf("%s at %s: %d written, the report counts %d", f.ID, f.Point, len(got), f.Packets)
				}
			}
		})
	}
}
