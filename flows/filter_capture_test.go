package flows

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/stackflow/stackflow/internal/testenv"
)

// TestFilterTunnelsOnCaptures checks `tunnel T` on real single-tunnel-type captures against an
// oracle built from other report fields: tunnelled flows have a tunnel_parent or are some
// flow's tunnel child; tunnel flows are parents, have children, or are UDP to a tunnel port or
// GRE. The filter decides from the tunnel list's outer address pairs instead, so the two must
// agree; every other tunnel type must select nothing.
func TestFilterTunnelsOnCaptures(t *testing.T) {
	caps := testenv.CapturesOrSkip(t)
	tests := []struct {
		file, tunnel string
	}{
		{"vxlan-http-vni1.pcap", "vxlan"},
		{"vxlan-vlan-tls-vni1111.pcap", "vxlan"},
		// Linux's port: the tunnel list, not the port, decides.
		{"vxlan-udp8472-icmp-vni100.pcap", "vxlan"},
		{"vxlan-ipv6-gso-tcp-vni5001.pcap", "vxlan"},
		{"geneve-options-ssh.pcap", "geneve"},
		{"geneve-tls-vni4242.pcap", "geneve"},
		{"nvgre-teb-tcp.pcap", "nvgre"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			r := analyzeFiles(t, filepath.Join(caps, tt.file))
			var want []string
			linked := map[string]bool{} // parents and children named by any flow
			for _, f := range r.Flows {
				linked[f.TunnelParent] = true
				for _, c := range f.TunnelFlows {
					linked[c] = true
				}
			}
			for _, f := range r.Flows {
				tunnelPort := f.Proto == "udp" && f.Dport != nil && slices.Contains([]uint16{4789, 8472, 6081}, *f.Dport)
				if f.TunnelParent != "" || linked[f.ID] || len(f.TunnelFlows) > 0 || tunnelPort || f.Proto == "gre" {
					want = append(want, f.ID)
				}
			}
			if len(want) == 0 {
				t.Fatalf("no tunnelled flows in the report: the oracle has nothing to check")
			}
			for _, typ := range filterTunnels {
				f, err := CompileFilter("tunnel " + typ)
				if err != nil {
					t.Fatal(err)
				}
				ix := buildFilterIndex(r)
				var got []string
				for i := range ix.flows {
					if f.match(&fltView{flow: &ix.flows[i]}) {
						got = append(got, ix.flows[i].f.ID)
					}
				}
				exp := want
				if typ != tt.tunnel {
					exp = nil
				}
				if !slices.Equal(got, exp) {
					t.Errorf("tunnel %s: flows %v, want %v", typ, got, exp)
				}
			}
		})
	}
}

// TestFilterInvariantsOnCaptures applies filters to reports of real multi-point, tunnel and BGP
// captures and checks what must hold whatever the traffic: kept paths match; kept flows match,
// or are listed by a kept path, or carried a kept flow; every matching flow and path is kept;
// Apply leaves its input alone and is idempotent.
func TestFilterInvariantsOnCaptures(t *testing.T) {
	caps := testenv.CapturesOrSkip(t)
	inputs := [][]string{
		{"multihop-ns3-n0-p2p.pcap", "multihop-ns3-n1-p2p.pcap", "multihop-ns3-n2-csma.pcap"},
		{"nat-pnat-pair-original.pcap", "nat-pnat-pair-rewritten.pcap"},
		{"vxlan-triple-nested-dns.pcap"},
		{"erspan-vxlan4790-http.pcap"},
		{"bgp-frr-3peers-communities.pcapng"},
		{"synthetic-etl2pcapng-layout.pcapng"},
	}
	exprs := []string{
		"proto tcp", "not proto tcp", "tunnel vxlan", "port 179 or role bgp_speaker", "flags syn and not flags fin",
		"role router or role nat", "not dsr", "lost or dsr", "direction return", "path p1", "flow f1",
		"net 10.0.0.0/8", "point *", "state SF", "vni 0 or vni 1 or vni 2",
	}
	for _, files := range inputs {
		t.Run(files[0], func(t *testing.T) {
			var paths []string
			for _, f := range files {
				paths = append(paths, filepath.Join(caps, f))
			}
			r := analyzeFiles(t, paths...)
			before, _ := json.Marshal(r)
			for _, expr := range exprs {
				f, err := CompileFilter(expr)
				if err != nil {
					t.Fatal(err)
				}
				out := f.Apply(r)
				checkFilterInvariants(t, expr, f, r, out)
				if twice := f.Apply(out); !reflect.DeepEqual(out, twice) {
					t.Errorf("%s: not idempotent", expr)
				}
			}
			if after, _ := json.Marshal(r); string(after) != string(before) {
				t.Fatalf("Apply modified its input")
			}
		})
	}
}

func checkFilterInvariants(t *testing.T, expr string, f *Filter, in, out *Report) {
	t.Helper()
	ix := buildFilterIndex(in)
	keptFlow := map[string]bool{}
	for _, fl := range out.Flows {
		keptFlow[fl.ID] = true
	}
	keptPath := map[string]bool{}
	for _, p := range out.Paths {
		keptPath[p.ID] = true
	}
	listed := map[string]bool{}
	for i := range ix.paths {
		pv := &ix.paths[i]
		m := f.match(&fltView{path: pv})
		if m != keptPath[pv.p.ID] {
			t.Errorf("%s: path %s matches=%v kept=%v", expr, pv.p.ID, m, keptPath[pv.p.ID])
		}
		if m {
			for _, id := range pv.p.FlowIDs {
				listed[id] = true
			}
		}
	}
	carried := map[string]bool{}
	for i := range ix.flows {
		fv := &ix.flows[i]
		if !keptFlow[fv.f.ID] {
			continue
		}
		queue := []*fltFlow{fv}
		for len(queue) > 0 {
			x := queue[0]
			queue = queue[1:]
			for _, c := range x.outer {
				if !carried[c.f.ID] {
					carried[c.f.ID] = true
					queue = append(queue, c)
				}
			}
		}
	}
	for i := range ix.flows {
		fv := &ix.flows[i]
		m := f.match(&fltView{flow: fv})
		if m && !keptFlow[fv.f.ID] {
			t.Errorf("%s: flow %s matches but was dropped", expr, fv.f.ID)
		}
		if keptFlow[fv.f.ID] && !m && !listed[fv.f.ID] && !carried[fv.f.ID] {
			t.Errorf("%s: flow %s kept without a reason", expr, fv.f.ID)
		}
	}
	if len(out.Nodes) > len(in.Nodes) || len(out.Findings) > len(in.Findings) || len(out.Tunnels) > len(in.Tunnels) {
		t.Errorf("%s: the filtered report grew", expr)
	}
}
