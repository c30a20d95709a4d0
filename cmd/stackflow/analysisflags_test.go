package main

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestAnalysisFlags checks the flags and arguments every analysing command shares, before
// anything is read: each bad one is a usage error (exit 2).
func TestAnalysisFlags(t *testing.T) {
	cases := []struct {
		name string
		f    analysisFlags
		args []string
		ok   bool
	}{
		{"defaults", analysisFlags{window: time.Second}, []string{sample(t)}, true},
		{"bad filter", analysisFlags{window: time.Second, filter: "host"}, []string{sample(t)}, false},
		{"zero window", analysisFlags{}, []string{sample(t)}, false},
		{"port 0", analysisFlags{window: time.Second, vxlanPorts: []uint{0}}, []string{sample(t)}, false},
		{"missing file", analysisFlags{window: time.Second}, []string{"nope.pcap"}, false},
		{"stdin twice", analysisFlags{window: time.Second}, []string{"-", "-"}, false},
		{"names file missing", analysisFlags{window: time.Second, names: "/nonexistent/names"}, []string{sample(t)}, false},
		{"bad clock offset", analysisFlags{window: time.Second, clockOffsets: []string{"x"}}, []string{sample(t)}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := c.f.options()
			if err == nil {
				err = checkInputs(c.args, "", false)
			}
			var ee *exitError
			if c.ok != (err == nil) || (err != nil && (!errors.As(err, &ee) || ee.code != exitUsage)) {
				t.Errorf("err %v, want ok=%v (or a usage error)", err, c.ok)
			}
		})
	}
}

// TestCheckOutputDir: an output in a folder that does not exist is a usage error found before
// anything is read; stdout and a real folder are fine.
func TestCheckOutputDir(t *testing.T) {
	dir := t.TempDir()
	for out, ok := range map[string]bool{"-": true, "": true, dir + "/x.json": true, dir + "/nope/x.json": false} {
		err := checkOutputDir("-o", out)
		var ee *exitError
		if ok != (err == nil) || (err != nil && (!errors.As(err, &ee) || ee.code != exitUsage)) {
			t.Errorf("checkOutputDir(%q) = %v, want ok=%v", out, err, ok)
		}
	}
	code, _, stderr := runCLI(t, nil, "export", "--path", "p1", "-o", dir+"/nope/p1.pcapng", sample(t))
	if code != exitUsage || !strings.Contains(stderr, "does not exist") {
		t.Errorf("export into a missing folder: exit %d, %q", code, stderr)
	}
}
