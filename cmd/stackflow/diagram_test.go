package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stackflow/stackflow/flows"
	"github.com/stackflow/stackflow/internal/testenv"
)

// TestDiagramMatchesLibrary checks that the command draws exactly what topo draws for the same
// report: its DOT equals the library's golden files (topology, and the longest forward path).
func TestDiagramMatchesLibrary(t *testing.T) {
	code, js, stderr := runCLI(t, nil, "analyze", "--format", "json", testenv.Sample(t, "azurestack-poc.pcapng"))
	if code != 0 {
		t.Fatalf("analyze exit %d: %s", code, stderr)
	}
	var r flows.Report
	if err := json.Unmarshal([]byte(js), &r); err != nil {
		t.Fatal(err)
	}
	longest, n := "", 0
	for _, p := range r.Paths {
		if p.Direction == "forward" && len(p.Hops) > n {
			longest, n = p.ID, len(p.Hops)
		}
	}
	cases := []struct {
		name   string
		args   []string
		golden string
	}{
		{"topology", nil, "azurestack-poc.topology.dot"},
		{"path", []string{"--path", longest}, "azurestack-poc.path.dot"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"diagram", "--format", "dot", "-o", "-", testenv.Sample(t, "azurestack-poc.pcapng")}, c.args...)
			code, out, stderr := runCLI(t, nil, args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			want, err := os.ReadFile(filepath.Join("..", "..", "topo", "testdata", c.golden))
			if err != nil {
				t.Fatal(err)
			}
			if out != string(want) {
				t.Errorf("diagram %v differs from topo/testdata/%s", c.args, c.golden)
			}
		})
	}
}

// TestDiagramOutputs covers the format choice (flag, else -o extension, else SVG) and the file.
func TestDiagramOutputs(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name, out, format, want string
	}{
		// Why: the extension picks DOT without a flag.
		{"dot by extension", "topo.dot", "", "digraph "},
		// Why: SVG is the default and is laid out by the built-in Graphviz.
		{"svg by default", "topo.svg", "", "</svg>"},
		{"flag beats extension", "topo.out", "dot", "digraph "},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := []string{"diagram", "-o", filepath.Join(dir, c.out), "--no-legend", testenv.Sample(t, "azurestack-poc.pcapng")}
			if c.format != "" {
				args = append(args, "--format", c.format)
			}
			code, stdout, stderr := runCLI(t, nil, args...)
			if code != 0 || stdout != "" {
				t.Fatalf("exit %d, stdout %d bytes: %s", code, len(stdout), stderr)
			}
			data, err := os.ReadFile(filepath.Join(dir, c.out))
			if err != nil || !bytes.Contains(data, []byte(c.want)) {
				t.Fatalf("%s: %v; want it to contain %q", c.out, err, c.want)
			}
			if bytes.Contains(data, []byte("Legend")) || bytes.Contains(data, []byte("forward (width")) {
				t.Error("--no-legend still drew the legend")
			}
		})
	}
	t.Run("filter reaches the diagram", func(t *testing.T) {
		code, out, stderr := runCLI(t, nil, "diagram", "-f", "dot", "--filter", "dsr", testenv.Sample(t, "azurestack-poc.pcapng"))
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		if !strings.Contains(out, "filter: dsr") || !strings.Contains(out, `class="dsr"`) || strings.Contains(out, `class="forward"`) {
			t.Errorf("filtered diagram should hold the DSR return paths only:\n%s", out)
		}
	})
}

// TestDiagramUsage checks the exit codes: 2 for unusable arguments, before reading or, for an
// unknown path, after it, without leaving an output file behind.
func TestDiagramUsage(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "x.svg")
	cases := []struct {
		name string
		args []string
	}{
		{"bad format", []string{"diagram", "--format", "png", "-o", out, testenv.Sample(t, "azurestack-poc.pcapng")}},
		{"unknown path", []string{"diagram", "--path", "p99999", "-o", out, testenv.Sample(t, "azurestack-poc.pcapng")}},
		{"missing input", []string{"diagram", "-o", out, filepath.Join(dir, "nope.pcap")}},
		{"missing output folder", []string{"diagram", "-o", filepath.Join(dir, "no", "x.svg"), testenv.Sample(t, "azurestack-poc.pcapng")}},
		{"bad window", []string{"diagram", "--window", "0s", "-o", out, testenv.Sample(t, "azurestack-poc.pcapng")}},
		{"bad filter", []string{"diagram", "--filter", "vni", "-o", out, testenv.Sample(t, "azurestack-poc.pcapng")}},
		{"output is input", []string{"diagram", "-o", testenv.Sample(t, "azurestack-poc.pcapng"), testenv.Sample(t, "azurestack-poc.pcapng")}},
		{"no input", []string{"diagram", "-o", out}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, nil, c.args...)
			if code != exitUsage || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
				t.Fatalf("exit %d, stderr %q; want 2 and one line", code, stderr)
			}
			if _, err := os.Stat(out); err == nil {
				t.Fatal("a failed diagram left an output file")
			}
		})
	}
	t.Run("unknown path message", func(t *testing.T) {
		_, _, stderr := runCLI(t, nil, "diagram", "--path", "p99999", "-f", "dot", testenv.Sample(t, "azurestack-poc.pcapng"))
		if !strings.Contains(stderr, `"p99999"`) || !strings.Contains(stderr, "p1 ..") {
			t.Errorf("stderr %q should name the id and the ids that exist", stderr)
		}
	})
}
