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

// TestReplayArgumentsBeforeOutput: replay checked that its captures open, and that an endless
// --loop goes to an interface, only after creating -o, so an unusable argument (exit 2) or an
// unreadable input (exit 3) still created the output, or truncated an earlier one; the endless
// loop into a file, an unusable argument, was also exit 1.
func TestReplayArgumentsBeforeOutput(t *testing.T) {
	dir := t.TempDir()
	notCapture := filepath.Join(dir, "notes.txt")
	os.WriteFile(notCapture, []byte("hello, this is not a capture\n"), 0o644)
	badHeader := filepath.Join(dir, "cut.pcapng")
	os.WriteFile(badHeader, []byte{0x0a, 0x0d, 0x0d, 0x0a, 0x1c, 0, 0, 0, 0x4d, 0x3c}, 0o644)
	cases := []struct {
		name string
		args []string
		code int
	}{
		{"not a capture", []string{notCapture}, 2},
		{"second input not a capture", []string{sample(t), notCapture}, 2},
		{"unreadable header", []string{badHeader}, 3},
		{"endless loop into a file", []string{sample(t), "--loop", "-1"}, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(dir, "out.pcapng")
			os.WriteFile(out, []byte("earlier"), 0o644)
			code, _, stderr := runCLI(t, nil, append([]string{"replay", "-o", out}, c.args...)...)
			if code != c.code {
				t.Errorf("exit %d, want %d; stderr %q", code, c.code, stderr)
			}
			if got, _ := os.ReadFile(out); string(got) != "earlier" {
				t.Errorf("-o was overwritten (%d bytes)", len(got))
			}
		})
	}
}
