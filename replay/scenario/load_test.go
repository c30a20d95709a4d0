package scenario

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stackflow/stackflow/internal/testenv"
)

// minimal is a small valid scenario the error cases below modify.
const minimal = `name: t
links:
  - name: a
nodes:
  - name: C
    role: client
    interfaces:
      - {name: eth0, link: a, addresses: [10.1.0.2/24]}
  - name: S
    role: server
    interfaces:
      - {name: eth0, link: a, addresses: [10.1.0.3/24]}
traffic:
  - {name: x, client: C, to: "10.1.0.3:80", proto: tcp}
`

func TestParseMinimalDefaults(t *testing.T) {
	sc, err := Parse([]byte(minimal), "min.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c := sc.Traffic[0]
	// Defaults the synthesizer relies on must be filled by validation.
	if c.App.Value != "http" || c.Count.Value != 1 || c.MSS.Value != 1460 || c.Interval.Value != time.Second {
		t.Errorf("conversation defaults: app %q count %d mss %d interval %v", c.App.Value, c.Count.Value,
			c.MSS.Value, c.Interval.Value)
	}
	if sc.Links[0].Subnet.Value.String() != "10.1.0.0/24" || sc.Links[0].MTU.Value != 1500 {
		t.Errorf("link defaults: subnet %v mtu %d", sc.Links[0].Subnet.Value, sc.Links[0].MTU.Value)
	}
	if sc.Seed.Value != 1 || !sc.Start.Value.Equal(DefaultStart) || sc.Duration.Value != time.Minute {
		t.Errorf("scenario defaults: seed %d start %v duration %v", sc.Seed.Value, sc.Start.Value, sc.Duration.Value)
	}
	if sc.Nodes[0].Interfaces[0].MAC.Value == sc.Nodes[1].Interfaces[0].MAC.Value {
		t.Error("generated MACs collide")
	}
}

func TestParseErrorsNameTheLine(t *testing.T) {
	cases := []struct {
		name string
		doc  string
		line int
		want string
	}{
		// YAML syntax errors keep the parser's line.
		{"syntax", "name: t\nlinks: [\n", 2, "did not find"},
		// A misspelt key must be reported where it is, not silently ignored.
		{"unknown field", strings.Replace(minimal, "    role: server", "    rol: server", 1), 10, `unknown field "rol"`},
		// Scalars are parsed by our types: the address error must carry its own line.
		{"bad address", strings.Replace(minimal, "10.1.0.3/24", "10.1.0.300/24", 1), 12, `invalid prefix "10.1.0.300/24"`},
		{"bad mac", strings.Replace(minimal, "{name: eth0, link: a, addresses: [10.1.0.2/24]}",
			"{name: eth0, link: a, mac: zz, addresses: [10.1.0.2/24]}", 1), 8, `invalid MAC address "zz"`},
		{"bad duration", minimal + "duration: 5\n", 15, `invalid duration "5"`},
		{"bad port", strings.Replace(minimal, "10.1.0.3:80", "10.1.0.3:99999", 1), 14, "invalid port"},
		{"list expected", strings.Replace(minimal, "links:\n  - name: a", "links: {name: a}", 1), 2, "expected a list"},
		{"wrong type", minimal + "seed: abc\n", 15, `invalid integer "abc"`},
		{"duplicate key", minimal + "name: again\n", 15, "already defined"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.doc), "s.yaml")
			if err == nil {
				t.Fatal("no error")
			}
			var d *Diagnostic
			if !errors.As(err, &d) {
				t.Fatalf("error %v is not a Diagnostic", err)
			}
			if d.Line != tc.line || !strings.Contains(d.Msg, tc.want) {
				t.Errorf("got %v, want line %d containing %q", err, tc.line, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "s.yaml:") {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

func TestParseSamples(t *testing.T) {
	dir := testenv.Samples(t)
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Skipf("no scenario samples in %s", dir)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			sc, err := Load(f)
			if err != nil {
				t.Fatal(err)
			}
			if len(sc.Nodes) == 0 || len(sc.Links) == 0 || len(sc.Traffic) == 0 {
				t.Errorf("sample has %d nodes, %d links, %d conversations", len(sc.Nodes), len(sc.Links), len(sc.Traffic))
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "absent.yaml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("got %v, want a wrapped ErrNotExist", err)
	}
}

func TestSizeUnits(t *testing.T) {
	cases := []struct {
		in   string
		want int64
	}{
		{"1200", 1200},     // plain bytes
		{"12KB", 12000},    // decimal unit
		{"64KiB", 65536},   // binary unit
		{"1.5MB", 1500000}, // fractions
		{"1Gbps", 1e9},     // bandwidth spelling
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			doc := strings.Replace(minimal, "proto: tcp}", "proto: tcp, response: \""+tc.in+"\"}", 1)
			sc, err := Parse([]byte(doc), "s.yaml")
			if err != nil {
				t.Fatal(err)
			}
			if got := sc.Traffic[0].Response.Value; got != tc.want {
				t.Errorf("got %d, want %d", got, tc.want)
			}
		})
	}
}
