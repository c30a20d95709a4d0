package main

import (
	"errors"
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
