package scenario

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stackflow/stackflow/internal/testenv"
)

// FuzzParse: no input makes the loader panic, and every rejection is an ErrorList of
// diagnostics with positions inside the input.
func FuzzParse(f *testing.F) {
	f.Add([]byte(minimal))
	f.Add([]byte(sdn))
	if files, err := filepath.Glob(filepath.Join(testenv.Samples(f), "*.yaml")); err == nil {
		for _, name := range files {
			if b, err := os.ReadFile(name); err == nil {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sc, err := Parse(data, "fuzz.yaml")
		if err == nil {
			if sc == nil {
				t.Fatal("nil scenario without error")
			}
			return
		}
		var l ErrorList
		if !errors.As(err, &l) || len(l) == 0 {
			t.Fatalf("error %T %v is not a non-empty ErrorList", err, err)
		}
		lines := 1
		for _, c := range data {
			if c == '\n' {
				lines++
			}
		}
		for _, d := range l {
			if d.Line < 0 || d.Line > lines+1 {
				t.Fatalf("diagnostic line %d outside the %d-line input: %v", d.Line, lines, d)
			}
		}
	})
}
