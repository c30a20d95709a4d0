package topo

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
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
	if data, err := os.ReadFile(filepath.Join(repoRoot(f), "..", "shared", "captures", "synthetic-etl2pcapng-layout.pcapng")); err == nil {
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
