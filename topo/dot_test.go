package topo

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/goccy/go-graphviz"

	"github.com/stackflow/stackflow/flows"
	"github.com/stackflow/stackflow/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite the golden DOT files under testdata")

// analyzeSample runs the analysis on committed sample captures, as the CLI does.
func analyzeSample(t testing.TB, rel ...string) *flows.Report {
	t.Helper()
	root, err := testenv.Root()
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, r := range rel {
		matches, err := filepath.Glob(filepath.Join(root, r))
		if err != nil || len(matches) == 0 {
			t.Fatalf("sample %s missing (committed with the repository)", r)
		}
		files = append(files, matches...)
	}
	pc := flows.NewProblemCollector(0)
	in, err := flows.OpenInputs(files, nil, pc)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := flows.Analyze(context.Background(), in, flows.Options{}, pc)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// longestForward is the first forward path crossing the most hops: the sample's main chain.
func longestForward(r *flows.Report) string {
	best, n := "", 0
	for _, p := range r.Paths {
		if p.Direction == "forward" && len(p.Hops) > n {
			best, n = p.ID, len(p.Hops)
		}
	}
	return best
}

func dotOf(t testing.TB, g *Graph, opts DOTOptions) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := WriteDOT(&b, g, opts); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./topo -run %s -update to create it)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := 0; i < max(len(gl), len(wl)); i++ {
			g, w := "", ""
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("%s differs at line %d:\n got: %s\nwant: %s\n(if the change is intended, rerun with -update)", path, i+1, g, w)
			}
		}
	}
}

type goldenCase struct {
	name  string
	file  string
	graph func(t *testing.T, r *flows.Report) *Graph
}

func goldenCases() []goldenCase {
	return []goldenCase{
		{"topology", "azurestack-poc.topology.dot", func(t *testing.T, r *flows.Report) *Graph { return Build(r) }},
		{"forward path", "azurestack-poc.path.dot", func(t *testing.T, r *flows.Report) *Graph {
			g, err := BuildPath(r, longestForward(r))
			if err != nil {
				t.Fatal(err)
			}
			return g
		}},
	}
}

// TestGoldenDOT pins the DOT of the Azure Stack sample's topology and of its main forward path.
func TestGoldenDOT(t *testing.T) {
	r := analyzeSample(t, "samples/azurestack-poc.pcapng")
	for _, c := range goldenCases() {
		t.Run(c.name, func(t *testing.T) {
			g := c.graph(t, r)
			got := dotOf(t, g, DOTOptions{Legend: true})
			golden(t, c.file, got)
			if again := dotOf(t, c.graph(t, r), DOTOptions{Legend: true}); !bytes.Equal(again, got) {
				t.Error("two builds of one report gave different DOT")
			}
			checkHTMLLabels(t, got)
		})
	}
}

// TestDotCommand lays the golden files out with Debian's dot, when installed: an independent
// Graphviz (2.43) must read them without a single warning (bad HTML labels only warn).
func TestDotCommand(t *testing.T) {
	dot, err := exec.LookPath("dot")
	if err != nil {
		t.Skip("Graphviz's dot is not installed (apt-get install graphviz)")
	}
	for _, c := range goldenCases() {
		t.Run(c.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			cmd := exec.Command(dot, "-Tsvg", filepath.Join("testdata", c.file))
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil || stderr.Len() > 0 {
				t.Fatalf("dot: %v: %s", err, stderr.String())
			}
			if !strings.Contains(stdout.String(), "</svg>") {
				t.Fatal("dot wrote no SVG")
			}
		})
	}
}

// svgTitles parses SVG and returns the <title> of each node and edge group.
func svgTitles(t *testing.T, svg []byte) (nodes, edges []string) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(svg))
	dec.Strict = true
	var stack []string // class of each open <g>
	want := ""
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nodes, edges
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v", err)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			switch el.Name.Local {
			case "g":
				class := ""
				for _, a := range el.Attr {
					if a.Name.Local == "class" {
						class = a.Value
					}
				}
				stack = append(stack, class)
			case "title":
				if len(stack) > 0 {
					want = strings.Fields(stack[len(stack)-1] + " x")[0]
				}
			}
		case xml.EndElement:
			if el.Name.Local == "g" && len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
			if el.Name.Local == "title" {
				want = ""
			}
		case xml.CharData:
			switch want {
			case "node":
				nodes = append(nodes, string(el))
			case "edge":
				edges = append(edges, string(el))
			}
		}
	}
}

// TestSVGStructure renders both golden graphs with the built-in Graphviz and checks that every
// node and every visible edge is drawn once, named as in the DOT.
func TestSVGStructure(t *testing.T) {
	r := analyzeSample(t, "samples/azurestack-poc.pcapng")
	for _, c := range goldenCases() {
		t.Run(c.name, func(t *testing.T) {
			g := c.graph(t, r)
			dot := dotOf(t, g, DOTOptions{Legend: true})
			svg, err := RenderSVG(context.Background(), dot)
			if err != nil {
				t.Fatal(err)
			}
			nodes, edges := svgTitles(t, svg)
			var wantNodes []string
			for _, n := range g.Nodes {
				wantNodes = append(wantNodes, n.ID)
			}
			slices.Sort(nodes)
			slices.Sort(wantNodes)
			if !slices.Equal(nodes, wantNodes) {
				t.Errorf("SVG nodes %v, want %v", nodes, wantNodes)
			}
			if len(edges) != len(g.Edges) {
				t.Errorf("SVG has %d edges, the graph %d", len(edges), len(g.Edges))
			}
			if !bytes.Contains(svg, []byte(`font-family="Helvetica,Arial,sans-serif"`)) {
				t.Error("font family not rewritten for librsvg")
			}
			t.Run("deterministic", func(t *testing.T) {
				// Why: the same report must give the same picture, byte for byte, in one process.
				again, err := RenderSVG(context.Background(), dot)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(again, svg) {
					t.Error("rendering the same DOT twice gave different SVG")
				}
			})
		})
	}
}

// TestRenderSVGErrors covers what RenderSVG refuses.
func TestRenderSVGErrors(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := RenderSVG(ctx, []byte("digraph { a -> b }")); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: err = %v", err)
	}
	if _, err := RenderSVG(context.Background(), []byte("digraph { a -> }")); err == nil || !strings.Contains(err.Error(), "parse dot") {
		t.Errorf("bad DOT: err = %v", err)
	}
}

// TestEscaping pins the escaping of the two string forms DOT output uses.
func TestEscaping(t *testing.T) {
	cases := []struct {
		name, in, html, quoted string
	}{
		{"plain", "nat(192.168.200.1)", "nat(192.168.200.1)", `"nat(192.168.200.1)"`},
		// Why: HTML labels are XML: markup characters must become entities.
		{"markup", `<b>&"x'`, "&lt;b&gt;&amp;&quot;x&#39;", `"<b>&\"x'"`},
		// Why: Graphviz reads \N, \l, \" in quoted strings; a trailing backslash must not eat the quote.
		// Graphviz expands \N, \G, \E in HTML labels too: a zero-width space breaks the sequence.
		{"backslashes", `a\Nb\`, "a\\\u200bNb\\\u200b", "\"a\\\\\u200bNb\\\\\u200b\""},
		// Why: Graphviz copies entity-like text into SVG as is ("&#0;" would make it invalid XML).
		{"entity-like", "&#0; & &amp x&lt;", "&amp;\u200b#0; &amp; &amp;amp x&amp;\u200blt;", "\"&\u200b#0; & &amp x&\u200blt;\""},
		// Why: XML forbids control characters; invalid UTF-8 cannot be carried either.
		{"control and invalid", "a\x01b\xffc", "a\uFFFDb\uFFFDc", "\"a\uFFFDb\uFFFDc\""},
		{"line breaks", "a\nb\tc\rd", "a b c d", `"a b c d"`},
		{"unicode kept", "VIP → DIP ⇄ ×", "VIP → DIP ⇄ ×", `"VIP → DIP ⇄ ×"`},
		{"non-characters", "a\uFFFEb", "a\uFFFDb", "\"a\uFFFDb\""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := html(c.in); got != c.html {
				t.Errorf("html(%q) = %q, want %q", c.in, got, c.html)
			}
			if got := quote(c.in); got != c.quoted {
				t.Errorf("quote(%q) = %q, want %q", c.in, got, c.quoted)
			}
		})
	}
}

// htmlLabels returns the bodies of the HTML-like labels (label=<...>) in DOT text.
func htmlLabels(t testing.TB, dot string) []string {
	t.Helper()
	var out []string
	for i := 0; ; {
		j := strings.Index(dot[i:], "label=<")
		if j < 0 {
			return out
		}
		start := i + j + len("label=<")
		depth := 1
		k := start
		for ; k < len(dot) && depth > 0; k++ {
			switch dot[k] {
			case '<':
				depth++
			case '>':
				depth--
			}
		}
		if depth != 0 {
			t.Fatalf("unbalanced HTML label at byte %d", start)
		}
		out = append(out, dot[start:k-1])
		i = k
	}
}

// checkHTMLLabels parses every HTML-like label the way Graphviz does (as XML) and returns their
// text content.
func checkHTMLLabels(t testing.TB, dot []byte) []string {
	t.Helper()
	var texts []string
	for _, l := range htmlLabels(t, string(dot)) {
		dec := xml.NewDecoder(strings.NewReader("<x>" + l + "</x>"))
		dec.Strict = true
		var text strings.Builder
		for {
			tok, err := dec.Token()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("HTML label is not well-formed XML: %v\n%s", err, l)
			}
			if cd, ok := tok.(xml.CharData); ok {
				text.Write(cd)
			}
		}
		texts = append(texts, text.String())
	}
	return texts
}

// TestHostileNames renders names that try to break out of labels and quotes, through the built-in
// Graphviz, and checks that the SVG is well-formed and shows each name as written.
func TestHostileNames(t *testing.T) {
	names := []string{
		`"]; evil -> node [label="x`,
		`<TABLE><TR><TD>x</TD></TR></TABLE>`,
		`back\slash\`,
		`\N\G\L\E`,
		"&amp; &lt; &#0; ]]>",
		"}} digraph { a }",
		"",
		" ",
	}
	for i, name := range names {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			g := hostileGraph(name)
			dot := dotOf(t, g, DOTOptions{Legend: true, MACs: true})
			checkHTMLLabels(t, dot)
			svg, err := RenderSVG(context.Background(), dot)
			if err != nil {
				t.Fatalf("%q: %v\n%s", name, err, dot)
			}
			nodes, edges := svgTitles(t, svg)
			if len(nodes) != len(g.Nodes) || len(edges) != len(g.Edges) {
				t.Fatalf("%q: SVG has %d nodes %d edges, want %d and %d", name, len(nodes), len(edges), len(g.Nodes), len(g.Edges))
			}
			if strings.TrimSpace(name) != "" && !svgHasText(t, svg, clean(name)) {
				t.Errorf("%q: the name is not in the SVG's text", name)
			}
		})
	}
}

// svgHasText reports whether one <text> element of the SVG reads s.
func svgHasText(t *testing.T, svg []byte, s string) bool {
	dec := xml.NewDecoder(bytes.NewReader(svg))
	in := false
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		switch el := tok.(type) {
		case xml.StartElement:
			in = el.Name.Local == "text"
		case xml.EndElement:
			in = false
		case xml.CharData:
			if in && strings.Contains(string(el), s) {
				return true
			}
		}
	}
}

// hostileGraph puts one string everywhere a report string can land: ids, names, roles, addresses,
// notes, points, labels, title, hop details.
func hostileGraph(s string) *Graph {
	lat := 12.5
	return &Graph{
		Kind: KindTopology, Title: s, Subtitle: s,
		Nodes: []Node{
			{ID: s, Name: s, Roles: []string{s}, Addresses: []string{s, "10.0.0.1"}, MACs: []string{s}, Notes: []string{s}, Column: 0},
			{ID: "other", Name: "B", Roles: []string{"mux"}, Column: 1},
			{ID: "hop", Kind: NodeHop, Name: s, Column: 2, Hop: &HopDetail{Index: 1, PathID: s, Point: s, SrcMAC: s, DstMAC: s, Tuple: s, Tunnel: s, Transform: s, Packets: 1, Lost: 1,
				Latency: &flows.Latency{Min: 1, Median: 2, P99: 3}}},
		},
		Edges: []Edge{
			{From: s, To: "other", Kind: EdgeForward, Transforms: []TransformCount{{s, 1}, {"none", 1}}, Packets: 2, Lost: 1, Points: []string{s, s}, LatencyUs: &lat, Paths: []string{s}, Warn: true},
			{From: "other", To: s, Kind: EdgeBGP, Label: []string{s, s}},
			{From: "other", To: "hop", Kind: EdgeDSR, Packets: 1, Points: []string{s}},
		},
	}
}

// parseDOT reads DOT with the built-in Graphviz and counts what it holds.
func parseDOT(dot []byte) (nodes, edges int, err error) {
	renderMu.Lock()
	defer renderMu.Unlock()
	g, err := graphviz.ParseBytes(dot)
	if err != nil {
		return 0, 0, err
	}
	defer g.Close()
	n, err := g.FirstNode()
	for err == nil && n != nil {
		nodes++
		e, eerr := g.FirstOut(n)
		for eerr == nil && e != nil {
			edges++
			e, eerr = g.NextOut(e)
		}
		n, err = g.NextNode(n)
	}
	return nodes, edges, err
}
