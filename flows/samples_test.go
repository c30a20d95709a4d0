package flows

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stackflow/stackflow/internal/testenv"
)

// truthFile is the part of a synthesized sample's answer key (samples/*.truth.json, schema
// stackflow.truth/v1, documented in samples/README.md) that the report is scored against.
type truthFile struct {
	Nodes []struct {
		Name      string   `json:"name"`
		Roles     []string `json:"roles"`
		Addresses []string `json:"addresses"`
		MACs      []string `json:"macs"`
	} `json:"nodes"`
	NAT []struct {
		Node    string `json:"node"`
		Kind    string `json:"kind"`
		Proto   string `json:"proto"`
		Inside  string `json:"inside"`
		Outside string `json:"outside"`
	} `json:"nat"`
	DSR []struct {
		VIP    string   `json:"vip"`
		DIP    string   `json:"dip"`
		Points []string `json:"points"`
	} `json:"dsr"`
	WithdrawnTraffic []struct {
		VIP string `json:"vip"`
	} `json:"withdrawn_traffic"`
	VIPs []struct {
		VIP string `json:"vip"`
	} `json:"vips"`
	Points []struct {
		ID            string `json:"id"`
		ClockOffsetUs int64  `json:"clock_offset_us"`
	} `json:"points"`
	BGP struct {
		Routes []struct {
			Peer    string `json:"peer"`
			Prefix  string `json:"prefix"`
			Event   string `json:"event"`
			Time    string `json:"time"`
			NextHop string `json:"next_hop"`
		} `json:"routes"`
	} `json:"bgp"`
}

func loadTruth(t *testing.T, name string) truthFile {
	t.Helper()
	data, err := os.ReadFile(testenv.Sample(t, name+".truth.json"))
	if err != nil {
		t.Fatal(err)
	}
	var tr truthFile
	if err := json.Unmarshal(data, &tr); err != nil {
		t.Fatal(err)
	}
	return tr
}

// TestSamplesAgainstTruth analyses every synthesized Azure Stack sample and scores the report
// against the scenario's answer key: every NAT mapping (and nothing else), the VIP->DIP rewrite at
// the host, the DSR return path hop by hop, the forward path hop by hop, and the traffic sent
// while the VIP was withdrawn.
func TestSamplesAgainstTruth(t *testing.T) {
	for _, name := range []string{"azurestack-poc", "fault-vip-withdrawn", "fault-mtu-blackhole", "fault-mtu-fragneeded", "fault-hop-drops"} {
		t.Run(name, func(t *testing.T) {
			tr := loadTruth(t, name)
			rep := analyzeFiles(t, testenv.Sample(t, name+".pcapng"))
			nodeAddrs := map[string][]string{}
			for _, n := range rep.Nodes {
				nodeAddrs[n.ID] = n.Addresses
			}
			truthAddrs := map[string][]string{}
			for _, n := range tr.Nodes {
				truthAddrs[n.Name] = n.Addresses
			}

			// NAT: precision and recall of (kind, proto, inside, outside), one entry per mapping,
			// made by the node that owns the truth node's addresses.
			type nk struct{ kind, proto, inside, outside string }
			got := map[nk]string{}
			for _, m := range rep.NAT {
				k := nk{m.Kind, m.Proto, m.Inside, m.Outside}
				if _, dup := got[k]; dup {
					t.Errorf("mapping %+v listed twice (one entry per mapping)", k)
				}
				got[k] = m.Node
			}
			want := map[nk]string{}
			for _, m := range tr.NAT {
				want[nk{m.Kind, m.Proto, m.Inside, m.Outside}] = m.Node
			}
			for k, node := range want {
				rn, ok := got[k]
				if !ok {
					t.Errorf("missing NAT mapping %+v (%s)", k, node)
					continue
				}
				if !overlaps(nodeAddrs[rn], truthAddrs[node]) {
					t.Errorf("mapping %+v made by %s %v, truth says %s %v", k, rn, nodeAddrs[rn], node, truthAddrs[node])
				}
			}
			for k := range got {
				if _, ok := want[k]; !ok {
					t.Errorf("NAT mapping %+v is not in the scenario", k)
				}
			}

			// DSR: each truth return path appears as a return path flagged dsr over those points
			// (a journey dropped part-way is counted as loss on the full path it started on).
			for _, d := range tr.DSR {
				found := false
				for _, p := range rep.Paths {
					if pts := hopPoints(p); p.Direction == "return" && len(pts) >= len(d.Points) && slices.Equal(pts[:len(d.Points)], d.Points) {
						if !p.DSR && len(d.Points) > 2 {
							t.Errorf("return path %s over %v not flagged dsr", p.ID, d.Points)
						}
						found = true
					}
				}
				if !found {
					t.Errorf("no return path over %v (DSR %s -> %s)", d.Points, d.DIP, d.VIP)
				}
				for _, p := range rep.Paths {
					if p.Direction == "return" && slices.Contains(hopPoints(p), "mux-host") {
						t.Errorf("return path %s crosses the Mux: %v", p.ID, hopPoints(p))
					}
				}
			}

			// The client -> VIP forward path, as the source document draws it.
			wantFwd := []string{"client-nat/none", "nat-bgp/snat", "bgp-mux/route", "mux-host/encap", "host-portal/decap+dnat"}
			fwd := 0
			for _, p := range rep.Paths {
				if p.Direction == "forward" && slices.Equal(hopShape(p), wantFwd) {
					fwd++
					if h := p.Hops[3]; h.VNI == nil || *h.VNI != 4114 || h.Tunnel != "vxlan" {
						t.Errorf("path %s: encapsulated hop %+v, want VXLAN VNI 4114", p.ID, h)
					}
				}
			}
			if fwd == 0 {
				t.Errorf("no forward path %v", wantFwd)
			}

			// BGP: every announcement and withdrawal the scenario made, in order, with its time
			// and next hop, and nothing else.
			var gotRoutes, wantRoutes []string
			for _, rt := range rep.BGP.Routes {
				gotRoutes = append(gotRoutes, strings.Join([]string{rt.Time, rt.Peer, rt.Event, rt.Prefix, rt.NextHop}, " "))
			}
			for _, rt := range tr.BGP.Routes {
				wantRoutes = append(wantRoutes, strings.Join([]string{rt.Time, rt.Peer, rt.Event, rt.Prefix, rt.NextHop}, " "))
			}
			if !slices.Equal(gotRoutes, wantRoutes) {
				t.Errorf("BGP route events:\n got %q\nwant %q", gotRoutes, wantRoutes)
			}
			// Clock offsets: estimated from the packets, within 50 µs of the scenario's (one point of
			// fault-hop-drops writes its timestamps 2 ms late).
			for _, tp := range tr.Points {
				for _, p := range rep.Capture.Points {
					if p.ID != tp.ID {
						continue
					}
					got := int64(0)
					if p.ClockOffsetUs != nil {
						got = *p.ClockOffsetUs
					}
					if d := got - tp.ClockOffsetUs; d < -50 || d > 50 {
						t.Errorf("point %s: clock offset %d us, scenario %d us", p.ID, got, tp.ClockOffsetUs)
					}
				}
			}
			// Every VIP is a node with the vip role.
			for _, v := range tr.VIPs {
				found := false
				for _, n := range rep.Nodes {
					if slices.Contains(n.Addresses, v.VIP) && slices.Contains(n.Roles, "vip") {
						found = true
					}
				}
				if !found {
					t.Errorf("VIP %s is not a node with the vip role", v.VIP)
				}
			}

			// Traffic to the withdrawn VIP: exactly the packets the router dropped for want of a route.
			n := findingPackets(rep, FindTrafficToWithdrawn)
			if n != len(tr.WithdrawnTraffic) {
				t.Errorf("traffic to withdrawn route: %d packets reported, scenario sent %d", n, len(tr.WithdrawnTraffic))
			}
		})
	}
}

func overlaps(a, b []string) bool {
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}

func hopPoints(p Path) []string {
	out := make([]string, len(p.Hops))
	for i, h := range p.Hops {
		out[i] = h.Point
	}
	return out
}

func hopShape(p Path) []string {
	out := make([]string, len(p.Hops))
	for i, h := range p.Hops {
		out[i] = h.Point + "/" + h.Transform
	}
	return out
}

// findingPackets sums the packet counts in the summaries of findings of one kind.
func findingPackets(r *Report, kind string) int {
	total := 0
	for _, f := range r.Findings {
		if f.Kind != kind {
			continue
		}
		var n int
		if _, err := fmt.Sscanf(f.Summary, "%d packets", &n); err == nil {
			total += n
		}
	}
	return total
}

// TestLabRecording analyses the real traffic recorded in network namespaces (samples/lab) and
// checks it against the run's own record: SNAT into the NAT's port range, the host's VIP->DIP
// rewrite, DSR returns that never cross the Mux, and the withdrawal window.
func TestLabRecording(t *testing.T) {
	tl, dir := testenv.Lab(t)
	files, _ := filepath.Glob(filepath.Join(dir, "*.pcap.gz"))
	if len(files) < 8 {
		t.Fatalf("lab captures missing: %v", files)
	}
	rep := analyzeFiles(t, files...)

	snat, vipdip := 0, map[string]bool{}
	for _, m := range rep.NAT {
		switch m.Kind {
		case "snat":
			snat++
			host, port, _ := strings.Cut(m.Outside, ":")
			var p int
			fmt.Sscan(port, &p)
			// Linux keeps an ICMP echo id that does not clash; the port range is for TCP and UDP.
			inRange := p >= tl.NAT.PortRange[0] && p <= tl.NAT.PortRange[1] || m.Proto == "icmp"
			if host != tl.NAT.Public || !inRange {
				t.Errorf("snat outside %s not in %s:%d-%d", m.Outside, tl.NAT.Public, tl.NAT.PortRange[0], tl.NAT.PortRange[1])
			}
			if !strings.HasPrefix(m.Inside, tl.Client+":") {
				t.Errorf("snat inside %s is not the client", m.Inside)
			}
		case "vip_dip":
			vipdip[m.Proto+" "+m.Inside+" "+m.Outside] = true
		}
	}
	if snat == 0 {
		t.Error("no SNAT mapping found at the NAT")
	}
	for _, s := range tl.Services {
		if s.Proto == "icmp" {
			continue
		}
		if !vipdip[s.Proto+" "+s.DIP+" "+s.VIP] {
			t.Errorf("VIP->DIP %s %s -> %s not found; have %v", s.Proto, s.VIP, s.DIP, vipdip)
		}
	}
	dsr := 0
	for _, p := range rep.Paths {
		if p.Direction == "return" && slices.Contains(hopPoints(p), "muxvm-eth0") && p.Hops[0].Src == tl.DIP {
			t.Errorf("return path %s from the DIP crosses the Mux: %v", p.ID, hopPoints(p))
		}
		if p.DSR {
			dsr++
		}
	}
	if dsr == 0 {
		t.Error("no DSR return path found")
	}
	// During the withdrawal the client sent one SYN (curl gave up on the ICMP unreachable), two
	// pings and one UDP datagram, all dropped at bgpvm (checked with tshark on bgpvm-tr0).
	if n := findingPackets(rep, FindTrafficToWithdrawn); n != 4 {
		t.Errorf("traffic to the withdrawn VIP: %d packets, want 4 (1 SYN, 2 pings, 1 UDP)", n)
	}
	if w := tl.Phases["withdrawn"]; w.From == "" || w.To == "" {
		t.Errorf("timeline has no withdrawn phase: %+v", tl.Phases)
	}
}
