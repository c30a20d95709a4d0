package synth

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stackflow/stackflow/internal/testenv"
	"github.com/stackflow/stackflow/replay/scenario"
)

// FuzzGenerate: any scenario the loader accepts is synthesized without a panic, frames come
// out in time order and decode. Seeds are the committed samples.
func FuzzGenerate(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(testenv.Samples(f), "*.yaml"))
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sc, err := scenario.Parse(data, "fuzz.yaml")
		if err != nil {
			return
		}
		sink := &memSink{}
		tr, err := Generate(sc, Options{MaxFrames: 3000}, sink)
		if err != nil {
			return
		}
		last := int64(-1 << 63)
		for i, fr := range sink.frames {
			if fr.time < last {
				t.Fatalf("frame %d goes back in time", i+1)
			}
			last = fr.time
		}
		if tr.Packets != len(sink.frames) {
			t.Fatalf("truth %d frames, sink %d", tr.Packets, len(sink.frames))
		}
	})
}
