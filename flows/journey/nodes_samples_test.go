package journey

import (
	"encoding/json"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/stackflow/stackflow/internal/testenv"
)

// truthNodes is the part of samples/<name>.truth.json that names the machines and the NAT
// mappings the synthesizer made.
type truthNodes struct {
	Nodes []struct {
		Name      string   `json:"name"`
		Addresses []string `json:"addresses"`
		MACs      []string `json:"macs"`
	} `json:"nodes"`
	Journeys []struct {
		ID           int  `json:"id"`
		Cause        *int `json:"cause"`
		Observations []struct {
			Node      string `json:"node"`
			Transform string `json:"transform"`
			Src       string `json:"src"`
			Dst       string `json:"dst"`
			Sport     uint16 `json:"sport"`
			Dport     uint16 `json:"dport"`
		} `json:"observations"`
	} `json:"journeys"`
	NAT []struct {
		Node    string `json:"node"`
		Kind    string `json:"kind"`
		Proto   string `json:"proto"`
		Inside  string `json:"inside"`
		Outside string `json:"outside"`
		Packets uint64 `json:"packets"`
	} `json:"nat"`
}

var protoNames = map[string]uint8{"icmp": 1, "tcp": 6, "udp": 17, "icmpv6": 58}

// TestSamplesNodesAgainstTruth checks node identity and the NAT table against the synthesizer's
// answer key: one node per machine, owning exactly the machine's addresses and MACs that the
// capture shows, and one NAT entry per mapping, at the machine that made it, counting both
// directions.
func TestSamplesNodesAgainstTruth(t *testing.T) {
	dir := testenv.Samples(t)
	for _, name := range []string{"azurestack-poc", "fault-vip-withdrawn", "fault-hop-drops",
		"fault-mtu-blackhole", "fault-mtu-fragneeded"} {
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(dir, name+".truth.json"))
			if err != nil {
				t.Skipf("sample not present: %v", err)
			}
			var truth truthNodes
			if err := json.Unmarshal(raw, &truth); err != nil {
				t.Fatal(err)
			}
			pkts, _ := readSample(t, filepath.Join(dir, name+".pcapng"))
			res := track(pkts, Config{})

			// What the capture shows: every IP address in a header, every unicast MAC.
			seenAddr := map[netip.Addr]bool{}
			seenMAC := map[[6]byte]bool{}
			for i := range pkts {
				p := &pkts[i]
				if !p.HasIP {
					continue
				}
				seenAddr[p.Inner.Src.Unmap()], seenAddr[p.Inner.Dst.Unmap()] = true, true
				for j := 0; j < int(p.NTunnels) && j < len(p.Tunnels); j++ {
					o := &p.Tunnels[j].Outer
					seenAddr[o.Src.Unmap()], seenAddr[o.Dst.Unmap()] = true, true
				}
				if p.HasMAC {
					for _, m := range [][6]byte{p.SrcMAC, p.DstMAC} {
						if unicastMAC(m) {
							seenMAC[m] = true
						}
					}
				}
			}

			// Why: each machine is exactly one node, and that node holds what the capture
			// shows of the machine and nothing of any other.
			nodeOfName := map[string]int{}
			for _, tn := range truth.Nodes {
				wantAddr, wantMAC := map[netip.Addr]bool{}, map[[6]byte]bool{}
				found := map[int]bool{}
				for _, s := range tn.Addresses {
					a := netip.MustParseAddr(s)
					if seenAddr[a] {
						wantAddr[a] = true
						if n := nodeWithAddr(res, s); n >= 0 {
							found[n] = true
						}
					}
				}
				for _, s := range tn.MACs {
					hw, err := net.ParseMAC(s)
					if err != nil || len(hw) != 6 {
						t.Fatalf("truth MAC %q", s)
					}
					m := [6]byte(hw)
					if seenMAC[m] {
						wantMAC[m] = true
						if n := nodeOfMAC(res, m); n >= 0 {
							found[n] = true
						}
					}
				}
				if len(wantAddr)+len(wantMAC) == 0 {
					continue
				}
				if len(found) != 1 {
					t.Errorf("%s is spread over nodes %v", tn.Name, found)
					continue
				}
				for n := range found {
					nodeOfName[tn.Name] = n
					got := &res.Nodes[n]
					gotAddr, gotMAC := map[netip.Addr]bool{}, map[[6]byte]bool{}
					for _, a := range got.Addresses {
						gotAddr[a] = true
					}
					for _, m := range got.MACs {
						gotMAC[m] = true
					}
					if !sameSet(gotAddr, wantAddr) || !sameSet(gotMAC, wantMAC) {
						t.Errorf("%s: node %d has addresses %v MACs %x; the capture shows %v and %x of it",
							tn.Name, n, got.Addresses, got.MACs, keys(wantAddr), keys(wantMAC))
					}
				}
			}
			if len(res.Nodes) != len(truth.Nodes) {
				t.Errorf("%d nodes, truth has %d machines", len(res.Nodes), len(truth.Nodes))
			}

			// Why: one entry per mapping, not per direction (DESIGN.md 6.1), at the machine
			// that made it, with the packets of both directions.
			type natKey struct {
				kind            string
				proto           uint8
				inside, outside netip.AddrPort
			}
			got := map[natKey]*NATEntry{}
			for i := range res.NAT {
				e := &res.NAT[i]
				k := natKey{e.Kind.String(), e.Proto, e.Inside, e.Outside}
				if got[k] != nil {
					t.Errorf("%s %v -> %v listed twice (nodes %d and %d)", k.kind, e.Inside, e.Outside, got[k].Node, e.Node)
				}
				got[k] = e
			}
			for _, w := range truth.NAT {
				k := natKey{w.Kind, protoNames[w.Proto], netip.MustParseAddrPort(w.Inside), netip.MustParseAddrPort(w.Outside)}
				e := got[k]
				if e == nil {
					t.Errorf("missing %s %s %s -> %s", w.Kind, w.Proto, w.Inside, w.Outside)
					continue
				}
				delete(got, k)
				if n, ok := nodeOfName[w.Node]; !ok || e.Node != n {
					t.Errorf("%s %s -> %s at node %d, truth %s (node %d)", w.Kind, w.Inside, w.Outside, e.Node, w.Node, n)
				}
				// ICMP errors the NAT translated back count in the answer key on the mapping
				// they quote; the tracker leaves them out (it does not see the quoted ports).
				if errs := truth.quotedErrors(w.Node, k.inside, k.outside); e.Packets != w.Packets-errs {
					t.Errorf("%s %s %s -> %s: %d packets, truth %d of which %d ICMP errors", w.Kind, w.Proto, w.Inside, w.Outside, e.Packets, w.Packets, errs)
				}
			}
			for k := range got {
				t.Errorf("extra mapping %s %v -> %v", k.kind, k.inside, k.outside)
			}
		})
	}
}

func sameSet[K comparable](a, b map[K]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

func keys[K comparable](m map[K]bool) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// quotedErrors counts the ICMP error journeys that node rewrote and that quote a packet node
// translated between inside and outside (either way).
func (tr *truthNodes) quotedErrors(node string, inside, outside netip.AddrPort) uint64 {
	byID := map[int]int{}
	for i, j := range tr.Journeys {
		byID[j.ID] = i
	}
	var n uint64
	for _, j := range tr.Journeys {
		if j.Cause == nil {
			continue
		}
		rewrote := false
		for _, o := range j.Observations {
			rewrote = rewrote || (o.Node == node && o.Transform != "none")
		}
		ci, ok := byID[*j.Cause]
		if !rewrote || !ok {
			continue
		}
		obs := tr.Journeys[ci].Observations
		for i := 1; i < len(obs); i++ {
			a, b := obs[i-1], obs[i]
			if b.Node != node {
				continue
			}
			ep := func(addr string, port uint16) netip.AddrPort {
				x, _ := netip.ParseAddr(addr)
				return netip.AddrPortFrom(x, port)
			}
			for _, pair := range [][2]netip.AddrPort{{ep(a.Src, a.Sport), ep(b.Src, b.Sport)}, {ep(a.Dst, a.Dport), ep(b.Dst, b.Dport)}} {
				if pair[0] != pair[1] && (pair == [2]netip.AddrPort{inside, outside} || pair == [2]netip.AddrPort{outside, inside}) {
					n++
				}
			}
		}
	}
	return n
}
