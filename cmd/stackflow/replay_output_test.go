package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestReplayOutputIsInput: "replay X -o X" truncated X before reading it, destroying the
// capture (and then reported it as an empty input). An output that is also an input is an
// unusable argument, as for analyze and export.
func TestReplayOutputIsInput(t *testing.T) {
	dir := t.TempDir()
	data, err := os.ReadFile(sample(t))
	if err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(dir, "in.pcap")
	os.WriteFile(in, data, 0o644)
	cases := []struct {
		name string
		args []string
	}{
		{"same name", []string{"replay", in, "-o", in}},
		{"second input", []string{"replay", sample(t), in, "-o", in}},
		{"other spelling", []string{"replay", in, "-o", filepath.Join(dir, ".", "in.pcap")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, nil, c.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2; stderr %q", code, stderr)
			}
			if got, _ := os.ReadFile(in); !bytes.Equal(got, data) {
				t.Fatalf("the input was overwritten (%d bytes, was %d)", len(got), len(data))
			}
		})
	}
}
