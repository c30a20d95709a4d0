package topo

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stackflow/stackflow/flows"
	"github.com/stackflow/stackflow/internal/testenv"
)

// ifaceName finds etl2pcapng interface names (DESIGN.md section 1) in a capture's bytes.
var ifaceName = regexp.MustCompile(`(vNIC|eth):[ -~]{1,80}`)

// FuzzDOTLabel puts one string everywhere report text lands in a diagram (ids, names, roles,
// addresses, points, notes, labels, the title) and checks the DOT: valid UTF-8, every HTML-like
// label well-formed XML that still reads the string, and Graphviz itself (the built-in one)
// parsing exactly the nodes and edges of the graph: nothing broke out of its quotes or label.
func FuzzDOTLabel(f *testing.F) {
	// Real strings first: the names, points and addresses the Azure Stack sample's report holds,
	// and the capture-point names of a Windows etl2pcapng capture when the shared captures exist.
	r := analyzeSample(f, "samples/azurestack-poc.pcapng")
	for _, n := range r.Nodes {
		f.Add(n.Name)
		f.Add(n.ID)
	}
	for _, p := range r.Capture.Points {
		f.Add(p.ID)
	}
	if dir, err := testenv.Captures(); err == nil {
		data, _ := os.ReadFile(filepath.Join(dir, "synthetic-etl2pcapng-layout.pcapng")) // absent: no seeds
		for _, s := range ifaceName.FindAll(data, -1) {
			f.Add(string(s))
		}
	}
	for _, s := range []string{`"]; x -> y [label="`, "<B>", "&#0;", `\N\G\E\L\`, "a\x00b\xff", "}", "\u2028\uFFFE", " "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		g := hostileGraph(s)
		dot := dotOf(t, g, DOTOptions{Legend: true, MACs: true})
		if !utf8.Valid(dot) {
			t.Fatal("DOT is not valid UTF-8")
		}
		if again := dotOf(t, hostileGraph(s), DOTOptions{Legend: true, MACs: true}); !bytes.Equal(again, dot) {
			t.Fatal("WriteDOT is not deterministic")
		}
		texts := checkHTMLLabels(t, dot)
		if want := clean(s); strings.TrimSpace(want) != "" {
			found := false
			for _, tx := range texts {
				found = found || strings.Contains(tx, want)
			}
			if !found {
				t.Fatalf("no label reads %q", want)
			}
		}
		nodes, edges, err := parseDOT(dot)
		if err != nil {
			t.Fatalf("Graphviz cannot parse the DOT: %v\n%s", err, dot)
		}
		if nodes != len(g.Nodes) || edges != len(g.Edges) {
			t.Fatalf("Graphviz read %d nodes and %d edges, the graph has %d and %d\n%s", nodes, edges, len(g.Nodes), len(g.Edges), dot)
		}
	})
}

// FuzzBuild feeds arbitrary reports (JSON, as scripts may hand-edit them) to Build, BuildPath and
// WriteDOT: no panic, every path id drawable or an ErrUnknownPath, every label well-formed.
// Inputs are JSON documents of a few kB, slow to minimise: run it with -fuzzminimizetime=3s.
func FuzzBuild(f *testing.F) {
	small, err := json.Marshal(pocReport())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(small)
	// The real report trimmed to its main path and that path's pair: large seeds make every new
	// input slow to minimise.
	real := analyzeSample(f, "samples/azurestack-poc.pcapng")
	if i := slices.IndexFunc(real.Paths, func(p flows.Path) bool { return p.ID == longestForward(real) }); i >= 0 {
		keep := []flows.Path{real.Paths[i]}
		if j := pairOf(real, i); j >= 0 {
			keep = append(keep, real.Paths[j])
		}
		real.Paths = keep
	}
	real.Flows, real.NAT, real.Capture.Points = nil, real.NAT[:min(len(real.NAT), 2)], nil
	real.BGP.Events, real.Findings, real.Protocols, real.Tunnels = nil, nil, nil, nil
	if b, err := json.Marshal(real); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`{"paths":[{"id":"p1","hops":[]}],"nodes":[{"id":""}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var r flows.Report
		if json.Unmarshal(data, &r) != nil {
			return
		}
		checkHTMLLabels(t, dotOf(t, Build(&r), DOTOptions{Legend: true, MACs: true}))
		for i, p := range r.Paths {
			if i == 3 {
				break
			}
			g, err := BuildPath(&r, p.ID)
			if err != nil {
				t.Fatalf("path %q of the report: %v", p.ID, err)
			}
			checkHTMLLabels(t, dotOf(t, g, DOTOptions{Legend: true}))
		}
		if _, err := BuildPath(&r, "\x00no such path"); !errors.Is(err, ErrUnknownPath) {
			t.Fatalf("unknown path: %v", err)
		}
	})
}
