package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stackflow/stackflow/flows"
	"github.com/stackflow/stackflow/internal/testenv"
)

func runCLI(t *testing.T, stdin []byte, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, env{stdin: bytes.NewReader(stdin), stdout: &out, stderr: &errb})
	return code, out.String(), errb.String()
}

func sample(t *testing.T) string {
	t.Helper()
	p := filepath.Join(testenv.Samples(t), "public", "vxlan-http-vni1.pcap")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("committed sample missing: %v", err)
	}
	return p
}

// TestExitCodes pins the documented exit codes (README "Exit codes", DESIGN.md 6.1).
func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	notCapture := filepath.Join(dir, "notes.txt")
	os.WriteFile(notCapture, []byte("hello, this is not a capture\n"), 0o644)
	empty := filepath.Join(dir, "empty.pcap")
	os.WriteFile(empty, nil, 0o644)
	headerOnly := filepath.Join(dir, "header.pcap")
	os.WriteFile(headerOnly, []byte{0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0}, 0o644)

	cases := []struct {
		name string
		args []string
		code int
		why  string
	}{
		{"sample", []string{"analyze", sample(t)}, 0, "a report was written"},
		{"header only", []string{"analyze", headerOnly}, 0, "an empty capture still gives a report"},
		{"missing", []string{"analyze", filepath.Join(dir, "nope.pcap")}, 2, "missing file is an unusable argument"},
		{"directory", []string{"analyze", dir}, 2, "a directory is not a capture"},
		{"not a capture", []string{"analyze", notCapture}, 2, "wrong magic is an unusable argument"},
		{"zero bytes", []string{"analyze", empty}, 2, "a zero-byte file is not a capture"},
		{"bad format", []string{"analyze", "--format", "xml", sample(t)}, 2, "flag values are checked first"},
		{"bad flag", []string{"analyze", "--bogus", sample(t)}, 2, "unknown flags are usage errors"},
		{"no args", []string{"analyze"}, 2, "analyze needs a file"},
		{"bad clock offset", []string{"analyze", "--clock-offset", "x=3 parsecs", sample(t)}, 2, "durations are validated before reading"},
		{"version", []string{"version"}, 0, "version always works"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, nil, c.args...)
			if code != c.code {
				t.Fatalf("%s: exit %d, want %d (%s); stderr %q", c.name, code, c.code, c.why, stderr)
			}
			if code == 2 && strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
				t.Errorf("usage errors are one line, got %q", stderr)
			}
		})
	}
}

// TestStdin reads a capture from "-" and gets the same report as from the file.
func TestStdin(t *testing.T) {
	data, err := os.ReadFile(sample(t))
	if err != nil {
		t.Fatal(err)
	}
	code, fromStdin, stderr := runCLI(t, data, "analyze", "--format", "json", "-")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var r flows.Report
	if err := json.Unmarshal([]byte(fromStdin), &r); err != nil {
		t.Fatal(err)
	}
	if r.Schema != flows.Schema || r.Capture.Packets != 12 || r.Capture.Points[0].ID != "stdin" {
		t.Errorf("stdin report: schema %q, %d packets, points %+v", r.Schema, r.Capture.Packets, r.Capture.Points)
	}
}

// TestReplayScenarioByteIdentical regenerates the committed Azure Stack sample through the CLI
// and compares bytes: same scenario and seed, same capture and answer key.
func TestReplayScenarioByteIdentical(t *testing.T) {
	dir := t.TempDir()
	out, truth := filepath.Join(dir, "poc.pcapng"), filepath.Join(dir, "poc.truth.json")
	code, _, stderr := runCLI(t, nil, "replay", "--scenario", testenv.Sample(t, "azurestack-poc.yaml"), "-o", out, "--truth", truth)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for got, want := range map[string]string{out: "azurestack-poc.pcapng", truth: "azurestack-poc.truth.json"} {
		a, _ := os.ReadFile(got)
		b, err := os.ReadFile(testenv.Sample(t, want))
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("%s differs from samples/%s (%d vs %d bytes, %v)", got, want, len(a), len(b), err)
		}
	}
	if !strings.Contains(stderr, "wrote 2020 packets") {
		t.Errorf("totals line missing: %q", stderr)
	}
}

// TestReplayRetime replays a capture into a file twice as fast with a new start and two loops,
// keeping two points, and checks the result by analysing it.
func TestReplayRetime(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "two.pcapng")
	code, _, stderr := runCLI(t, nil, "replay", testenv.Sample(t, "azurestack-poc.pcapng"),
		"--point", "client-nat", "--point", "mux-host", "--speed", "2", "--loop", "2", "--start-at", "2025-01-01T00:00:00Z", "-o", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	code, js, stderr := runCLI(t, nil, "analyze", "--format", "json", out)
	if code != 0 {
		t.Fatalf("analyze exit %d: %s", code, stderr)
	}
	var r flows.Report
	if err := json.Unmarshal([]byte(js), &r); err != nil {
		t.Fatal(err)
	}
	// 418 + 212 packets at the two points, twice.
	if r.Capture.Packets != 2*(418+212) || len(r.Capture.Points) != 2 || r.Capture.Points[0].ID != "client-nat" {
		t.Errorf("replayed capture: %d packets, points %+v", r.Capture.Packets, r.Capture.Points)
	}
	if !strings.HasPrefix(r.Capture.Start, "2025-01-01T00:00:00") {
		t.Errorf("start %s, want 2025-01-01T00:00:00", r.Capture.Start)
	}
}

// TestReplayUsage checks replay's argument errors: one line, exit 2, before anything is written.
func TestReplayUsage(t *testing.T) {
	cases := [][]string{
		{"replay"},
		{"replay", "--scenario", "x.yaml", "a.pcap", "-o", "o.pcapng"},
		{"replay", sample(t)},
		{"replay", sample(t), "-o", "x.pcapng", "--iface", "eth0"},
		{"replay", sample(t), "-o", "x.pcapng", "--speed", "2", "--pps", "10"},
		{"replay", "--scenario", "/nonexistent.yaml", "-o", "x.pcapng"},
		{"replay", sample(t), "--iface", "sfnope0"},
		{"replay", "--scenario", filepath.Join("..", "..", "samples", "azurestack-poc.yaml"), "--point", "nope", "-o", filepath.Join(t.TempDir(), "x.pcapng")},
	}
	for _, args := range cases {
		code, _, stderr := runCLI(t, nil, args...)
		if code != 2 || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and one line", args, code, stderr)
		}
	}
}

// TestClockOffsetFlag: a given offset is reported as given, and the other points' estimates
// stay consistent with it (fault-hop-drops writes mux-host's timestamps 2 ms late).
func TestClockOffsetFlag(t *testing.T) {
	code, js, stderr := runCLI(t, nil, "analyze", "--format", "json", "--clock-offset", "mux-host=+2ms",
		filepath.Join("..", "..", "samples", "fault-hop-drops.pcapng"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var r flows.Report
	if err := json.Unmarshal([]byte(js), &r); err != nil {
		t.Fatal(err)
	}
	for _, p := range r.Capture.Points {
		want := int64(0)
		if p.ID == "mux-host" {
			want = 2000
		}
		if p.ClockOffsetUs == nil || *p.ClockOffsetUs != want {
			t.Errorf("point %s: clock offset %v, want %d us", p.ID, p.ClockOffsetUs, want)
		}
	}
}
