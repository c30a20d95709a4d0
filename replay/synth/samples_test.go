package synth

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stackflow/stackflow/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite samples/*.pcapng and samples/*.truth.json")

// generatedSamples are the scenarios whose captures and answer keys are committed.
var generatedSamples = []string{
	"azurestack-poc",
	"fault-vip-withdrawn",
	"fault-mtu-blackhole",
	"fault-mtu-fragneeded",
	"fault-hop-drops",
}

// TestSamplesRegenerate proves the committed captures and truth files are exactly what the
// scenarios produce: it regenerates each in memory and compares bytes (-update rewrites them).
func TestSamplesRegenerate(t *testing.T) {
	dir := testenv.Samples(t)
	for _, name := range generatedSamples {
		t.Run(name, func(t *testing.T) {
			if _, err := os.Stat(filepath.Join(dir, name+".yaml")); err != nil {
				t.Skipf("scenario not present: %v", err)
			}
			sc := loadSample(t, name+".yaml")
			capture, tr := pcapngBytes(t, sc, Options{})
			var truth bytes.Buffer
			if err := tr.WriteJSON(&truth); err != nil {
				t.Fatal(err)
			}
			for _, f := range []struct {
				path string
				data []byte
			}{
				{filepath.Join(dir, name+".pcapng"), capture},
				{filepath.Join(dir, name+".truth.json"), truth.Bytes()},
			} {
				if *update {
					if err := os.WriteFile(f.path, f.data, 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				old, err := os.ReadFile(f.path)
				if err != nil {
					t.Fatalf("%v (run go test ./replay/synth -run TestSamplesRegenerate -update)", err)
				}
				if !bytes.Equal(old, f.data) {
					t.Errorf("%s differs from what %s.yaml generates (%d bytes vs %d); regenerate with -update",
						strings.TrimPrefix(f.path, dir+"/"), name, len(old), len(f.data))
				}
			}
		})
	}
}
