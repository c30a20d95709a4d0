package testenv

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// LabTimeline is the part of samples/lab/captures/timeline.json, the lab's own record of its run
// (written by samples/lab/record.sh beside the recording), that tests check analysis against.
type LabTimeline struct {
	VIP    string `json:"vip"`
	DIP    string `json:"dip"`
	Client string `json:"client"`
	NAT    struct {
		Public    string `json:"public"`
		PortRange [2]int `json:"port_range"`
	} `json:"nat"`
	Services []struct {
		Proto string `json:"proto"`
		VIP   string `json:"vip"`
		DIP   string `json:"dip"`
	} `json:"services"`
	VXLAN struct {
		VNI      uint32 `json:"vni"`
		OuterSrc string `json:"outer_src"`
		OuterDst string `json:"outer_dst"`
	} `json:"vxlan"`
	BGP struct {
		Speakers []struct {
			Role    string `json:"role"`
			Address string `json:"address"`
		} `json:"speakers"`
	} `json:"bgp"`
	DSR struct {
		ReturnVia    string `json:"return_via"`
		NeverCrosses string `json:"never_crosses"`
	} `json:"dsr"`
	Prober struct {
		Node string `json:"node"`
		Src  string `json:"src"`
	} `json:"prober"`
	// Phases: announced, withdrawn, reannounced; times as RFC 3339 and as epoch seconds.
	Phases map[string]struct {
		From      string `json:"from"`
		To        string `json:"to"`
		FromEpoch string `json:"from_epoch"`
		ToEpoch   string `json:"to_epoch"`
	} `json:"phases"`
	Events []struct {
		Name string `json:"name"`
	} `json:"events"`
	CapturePoints []struct {
		ID   string `json:"id"`
		File string `json:"file"`
	} `json:"capture_points"`
	Nodes []struct {
		Name       string `json:"name"`
		Interfaces []struct {
			MAC string `json:"mac"`
		} `json:"interfaces"`
	} `json:"nodes"`
}

// Lab loads the lab's timeline and returns it with the folder of its captures; it fails the
// test when the committed recording is missing.
func Lab(tb testing.TB) (LabTimeline, string) {
	tb.Helper()
	dir := filepath.Join(Samples(tb), "lab", "captures")
	raw, err := os.ReadFile(filepath.Join(dir, "timeline.json"))
	if err != nil {
		tb.Fatalf("lab recording missing (committed with the repository): %v", err)
	}
	var tl LabTimeline
	if err := json.Unmarshal(raw, &tl); err != nil {
		tb.Fatalf("timeline.json: %v", err)
	}
	return tl, dir
}
