package synth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
)

// TestTruthMatchesFrames checks the answer key against the frames actually written: every
// frame is exactly one observation, and each observation's numbers, point, addresses, ports,
// TTL, outer header and VNI are what the frame carries.
func TestTruthMatchesFrames(t *testing.T) {
	for _, name := range []string{"azurestack-poc", "fault-hop-drops", "fault-mtu-fragneeded"} {
		t.Run(name, func(t *testing.T) {
			sc := loadSample(t, name+".yaml")
			sink, tr := generate(t, sc, Options{})
			if tr.Packets != len(sink.frames) {
				t.Fatalf("truth counts %d frames, sink got %d", tr.Packets, len(sink.frames))
			}
			perPoint := map[string]int{}
			pointNumber := make([]int, len(sink.frames))
			for i, f := range sink.frames {
				if i > 0 && f.time < sink.frames[i-1].time {
					t.Fatalf("frame %d goes back in time", i+1)
				}
				perPoint[f.point]++
				pointNumber[i] = perPoint[f.point]
			}
			for _, p := range tr.Points {
				if p.Packets != perPoint[p.ID] {
					t.Errorf("point %s: truth %d frames, sink %d", p.ID, p.Packets, perPoint[p.ID])
				}
			}
			seen := make([]bool, len(sink.frames))
			for _, j := range tr.Journeys {
				for _, o := range j.Observations {
					if o.Number < 1 || int(o.Number) > len(sink.frames) {
						t.Fatalf("journey %d: frame number %d out of range", j.ID, o.Number)
					}
					k := int(o.Number) - 1
					if seen[k] {
						t.Fatalf("frame %d observed twice", o.Number)
					}
					seen[k] = true
					f := sink.frames[k]
					where := fmt.Sprintf("journey %d frame %d", j.ID, o.Number)
					if f.point != o.Point || pointNumber[k] != int(o.PointNumber) {
						t.Errorf("%s: at %s #%d, truth says %s #%d", where, f.point, pointNumber[k], o.Point, o.PointNumber)
					}
					if got := fmtTime(f.time); got != o.Time {
						t.Errorf("%s: time %s, truth %s", where, got, o.Time)
					}
					checkObservation(t, where, decodeFrame(t, f.data), o)
				}
			}
			for k, ok := range seen {
				if !ok {
					t.Errorf("frame %d (%s) belongs to no journey", k+1, sink.frames[k].point)
				}
			}
		})
	}
}

func checkObservation(t *testing.T, where string, d decoded, o Observation) {
	t.Helper()
	if d.inner.SrcIP.String() != o.Src || d.inner.DstIP.String() != o.Dst || d.inner.TTL != o.TTL {
		t.Errorf("%s: frame %s->%s ttl %d, truth %s->%s ttl %d", where, d.inner.SrcIP, d.inner.DstIP, d.inner.TTL,
			o.Src, o.Dst, o.TTL)
	}
	var sport, dport uint16
	switch {
	case d.tcp != nil:
		sport, dport = uint16(d.tcp.SrcPort), uint16(d.tcp.DstPort)
	case d.udp != nil:
		sport, dport = uint16(d.udp.SrcPort), uint16(d.udp.DstPort)
	case d.icmp != nil && (d.icmp.TypeCode.Type() == 0 || d.icmp.TypeCode.Type() == 8):
		sport, dport = d.icmp.Id, d.icmp.Id
	}
	if o.Sport != nil && (*o.Sport != sport || *o.Dport != dport) {
		t.Errorf("%s: ports %d->%d, truth %d->%d", where, sport, dport, *o.Sport, *o.Dport)
	}
	eth := d.pkt.LinkLayer().LinkFlow()
	if eth.Src().String() != o.SrcMAC || eth.Dst().String() != o.DstMAC {
		t.Errorf("%s: MACs %v, truth %s->%s", where, eth, o.SrcMAC, o.DstMAC)
	}
	if (d.vxlan != nil) != (o.VNI != nil) {
		t.Fatalf("%s: vxlan %v but truth vni %v", where, d.vxlan != nil, o.VNI)
	}
	if d.vxlan != nil {
		if d.vxlan.VNI != *o.VNI || d.outer.SrcIP.String() != o.OuterSrc || d.outer.DstIP.String() != o.OuterDst {
			t.Errorf("%s: outer %s->%s vni %d, truth %s->%s vni %d", where, d.outer.SrcIP, d.outer.DstIP, d.vxlan.VNI,
				o.OuterSrc, o.OuterDst, *o.VNI)
		}
	}
}

// TestTruthJSONShape checks the documented top-level fields and spellings a script relies on.
func TestTruthJSONShape(t *testing.T) {
	sc := loadSample(t, "azurestack-poc.yaml")
	_, tr := generate(t, sc, Options{})
	var buf bytes.Buffer
	if err := tr.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"schema", "scenario", "seed", "start", "end", "packets", "points", "nodes",
		"conversations", "nat", "vips", "dsr", "bgp", "withdrawn_traffic", "probes", "drops", "journeys"} {
		if _, ok := m[k]; !ok {
			t.Errorf("truth has no %q", k)
		}
	}
	if m["schema"] != TruthSchema {
		t.Errorf("schema %v", m["schema"])
	}
	allowed := map[string]bool{"none": true, "route": true, "snat": true, "dnat": true, "snat+dnat": true,
		"encap": true, "decap": true, "decap+dnat": true}
	for _, j := range tr.Journeys {
		for _, o := range j.Observations {
			if !allowed[o.Transform] {
				t.Fatalf("journey %d: transform %q is not in DESIGN.md 6.1's spelling", j.ID, o.Transform)
			}
		}
		if len(j.Observations) > 0 && j.Observations[0].Transform != "none" {
			t.Errorf("journey %d starts with transform %q", j.ID, j.Observations[0].Transform)
		}
	}
}
