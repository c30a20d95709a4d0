package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestAnalyzeOutputUntouchedOnFailure: -o names a file that must be written only when a report
// is. An input that turns out not to be a capture (exit 2) or not readable (exit 3) used to
// leave the output created empty, or an earlier report in its place truncated.
func TestAnalyzeOutputUntouchedOnFailure(t *testing.T) {
	dir := t.TempDir()
	notCapture := filepath.Join(dir, "notes.txt")
	os.WriteFile(notCapture, []byte("hello, this is not a capture\n"), 0o644)
	badHeader := filepath.Join(dir, "cut.pcapng")
	os.WriteFile(badHeader, []byte{0x0a, 0x0d, 0x0d, 0x0a, 0x1c, 0, 0, 0, 0x4d, 0x3c}, 0o644)
	cases := []struct {
		name  string
		input string
		code  int
	}{
		{"not a capture", notCapture, 2},
		{"unreadable header", badHeader, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fresh := filepath.Join(dir, c.name+"-new.json")
			if code, _, stderr := runCLI(t, nil, "analyze", c.input, "-o", fresh); code != c.code {
				t.Fatalf("exit %d, want %d; stderr %q", code, c.code, stderr)
			}
			if _, err := os.Stat(fresh); err == nil {
				t.Errorf("%s was created although no report was written", fresh)
			}
			old := filepath.Join(dir, c.name+"-old.json")
			os.WriteFile(old, []byte("{\"earlier\": \"report\"}\n"), 0o644)
			if code, _, stderr := runCLI(t, nil, "analyze", c.input, "-o", old); code != c.code {
				t.Fatalf("exit %d, want %d; stderr %q", code, c.code, stderr)
			}
			if b, _ := os.ReadFile(old); string(b) != "{\"earlier\": \"report\"}\n" {
				t.Errorf("an earlier report was overwritten with %q", b)
			}
		})
	}
	// A folder that does not exist is still an unusable argument, found before reading.
	if code, _, _ := runCLI(t, nil, "analyze", sample(t), "-o", filepath.Join(dir, "nope", "r.json")); code != 2 {
		t.Errorf("-o in a missing folder: exit %d, want 2", code)
	}
}
