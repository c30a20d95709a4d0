package journey

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stackflow/stackflow/decode"
	"github.com/stackflow/stackflow/decode/pcapio"
	"github.com/stackflow/stackflow/internal/testenv"
)

// sampleTruth is the part of samples/<name>.truth.json (the synthesizer's answer key) that
// scoring uses: every generated packet's observations in path order.
type sampleTruth struct {
	Points []struct {
		ID            string `json:"id"`
		ClockOffsetUs int64  `json:"clock_offset_us"`
	} `json:"points"`
	Journeys []struct {
		ID           int `json:"id"`
		Observations []struct {
			Point     string `json:"point"`
			Number    uint64 `json:"number"`
			Transform string `json:"transform"`
		} `json:"observations"`
	} `json:"journeys"`
}

// hopLink is one step of a journey: packet number to packet number in the sample file.
type hopLink struct{ from, to uint64 }

// readSample decodes a one-file multi-interface capture: each interface is a capture point.
func readSample(t *testing.T, path string) ([]decode.Packet, []string) {
	t.Helper()
	src, err := pcapio.Open(path, pcapio.Options{})
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer src.Close()
	d := decode.NewDecoder(decode.Options{})
	var out []decode.Packet
	var rec pcapio.Record
	for {
		if err := src.Next(&rec); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		p := decode.Packet{Point: rec.Interface, Number: rec.Number, Offset: rec.Offset, Time: rec.Time,
			CapLen: rec.CapLen, Len: rec.OrigLen}
		d.Decode(rec.Data, src.Interfaces()[rec.Interface].LinkType, rec.OrigLen, &p)
		p.Payload = nil
		out = append(out, p)
	}
	var names []string
	for _, ifc := range src.Interfaces() {
		names = append(names, ifc.Name)
	}
	return out, names
}

// TestSamplesHopLinks scores the tracker against the synthesizer's answer key: hop-link
// precision and recall (consecutive observations of one packet, by packet number), transform
// agreement on the links both found, and the clock offsets the scenario set.
func TestSamplesHopLinks(t *testing.T) {
	dir := testenv.Samples(t)
	for _, name := range []string{"azurestack-poc", "fault-vip-withdrawn", "fault-hop-drops",
		"fault-mtu-blackhole", "fault-mtu-fragneeded"} {
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(dir, name+".truth.json"))
			if err != nil {
				t.Skipf("sample not present: %v", err)
			}
			var truth sampleTruth
			if err := json.Unmarshal(raw, &truth); err != nil {
				t.Fatal(err)
			}
			if len(truth.Journeys) == 0 {
				t.Skip("answer key without journeys")
			}
			pkts, names := readSample(t, filepath.Join(dir, name+".pcapng"))
			want := map[hopLink]string{}
			for _, j := range truth.Journeys {
				for i := 1; i < len(j.Observations); i++ {
					a, b := j.Observations[i-1], j.Observations[i]
					want[hopLink{a.Number, b.Number}] = b.Transform
				}
			}
			got := map[hopLink]string{}
			cfg := Config{OnJourney: func(hs []JourneyHop) {
				for i := 1; i < len(hs); i++ {
					got[hopLink{hs[i-1].Ref.Number, hs[i].Ref.Number}] = hs[i].Transform.String()
				}
			}}
			res := track(pkts, cfg)
			var hit, sameTransform int
			for l, tr := range got {
				if wt, ok := want[l]; ok {
					hit++
					if wt == tr {
						sameTransform++
					} else if sameTransform-hit > -5 {
						t.Logf("link %d -> %d: transform %q, truth %q", l.from, l.to, tr, wt)
					}
				} else if len(got)-hit < 5 {
					t.Logf("extra link %d -> %d (%s)", l.from, l.to, tr)
				}
			}
			missed := 0
			for l := range want {
				if _, ok := got[l]; !ok {
					if missed++; missed <= 5 {
						t.Logf("missed link %d -> %d (%s)", l.from, l.to, want[l])
					}
				}
			}
			precision := float64(hit) / float64(max(len(got), 1))
			recall := float64(hit) / float64(max(len(want), 1))
			agree := float64(sameTransform) / float64(max(hit, 1))
			t.Logf("%s: %d truth links, %d found, precision %.4f recall %.4f, transform agreement %.4f; %d paths, %d nodes",
				name, len(want), len(got), precision, recall, agree, len(res.Paths), len(res.Nodes))
			if precision < 1 || recall < 1 || agree < 1 {
				t.Errorf("precision %.4f recall %.4f transform agreement %.4f, want 1", precision, recall, agree)
			}
			for i, c := range res.Clocks {
				if i >= len(names) {
					break
				}
				for _, p := range truth.Points {
					if p.ID == names[i] && c.Source != ClockUnknown {
						if d := c.Offset.Microseconds() - p.ClockOffsetUs; d < -50 || d > 50 {
							t.Errorf("point %s: offset %v, truth %d µs", p.ID, c.Offset, p.ClockOffsetUs)
						}
					}
				}
			}
		})
	}
}
