package flows

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stackflow/stackflow/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite the golden reports under testdata/golden")

// TestGoldenReports pins the text and JSON reports of committed samples byte for byte: the
// JSON is a contract scripts rely on (field names, order, formatting of times and endpoints),
// the text is what people read. Run with -update after an intended change and review the diff.
func TestGoldenReports(t *testing.T) {
	names, err := LoadNames(testenv.Sample(t, "azurestack-poc.names"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		golden string
		input  string
		opts   Options
		json   bool
	}{
		{"azurestack-poc.txt", "azurestack-poc.pcapng", Options{Names: names}, false},
		{"fault-vip-withdrawn.txt", "fault-vip-withdrawn.pcapng", Options{}, false},
		{"vxlan-http-vni1.json", "public/vxlan-http-vni1.pcap", Options{}, true},
	}
	for _, c := range cases {
		t.Run(c.golden, func(t *testing.T) {
			path := testenv.Sample(t, c.input)
			pc := NewProblemCollector(0)
			inputs, err := OpenInputs([]string{path}, nil, pc)
			if err != nil {
				t.Fatal(err)
			}
			rep, err := Analyze(t.Context(), inputs, c.opts, pc)
			if err != nil {
				t.Fatal(err)
			}
			// The file name as given differs by working directory; pin the sample's own.
			for i := range rep.Capture.Inputs {
				rep.Capture.Inputs[i].File = c.input
			}
			for i := range rep.Capture.Points {
				rep.Capture.Points[i].File = c.input
			}
			var got bytes.Buffer
			if c.json {
				enc := json.NewEncoder(&got)
				enc.SetIndent("", " ")
				err = enc.Encode(rep)
			} else {
				err = WriteText(&got, rep, TextOptions{})
			}
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "golden", c.golden)
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./flows -run GoldenReports -update)", err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Errorf("report differs from %s; run with -update and review the diff:\n%s", golden, firstDiff(got.String(), string(want)))
			}
		})
	}
}

// firstDiff shows the first differing line of two texts.
func firstDiff(got, want string) string {
	g, w := bytes.Split([]byte(got), []byte("\n")), bytes.Split([]byte(want), []byte("\n"))
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl []byte
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if !bytes.Equal(gl, wl) {
			return "line " + strconv.Itoa(i+1) + ":\n got: " + string(gl) + "\nwant: " + string(wl)
		}
	}
	return ""
}
