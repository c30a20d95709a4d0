package decode

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// tsharkBits maps tshark protocol names to the layer bits the Decoder sets for them.
var tsharkBits = map[string]LayerSet{
	"eth": HasEthernet, "vlan": HasVLAN, "ip": HasIPv4, "ipv6": HasIPv6, "tcp": HasTCP,
	"udp": HasUDP, "icmp": HasICMP, "icmpv6": HasICMP, "vxlan": HasVXLAN, "geneve": HasGeneve,
	"gre": HasGRE, "erspan": HasERSPAN, "arp": HasARP, "sll": HasSLL, "ppp": HasPPP,
	"chdlc": HasCHDLC, "dns": HasDNS,
}

// tsharkStop lists protocols the Decoder deliberately does not look inside; tshark's
// protocols after them are not compared. ICMP errors quote a packet, which is fingerprinted
// but not counted as present; MPLS and the rest are outside stackflow's scope.
var tsharkStop = map[string]bool{"icmp": true, "icmpv6": true, "mpls": true, "llc": true, "loop": true}

// comparableBits are the bits tshark can confirm (NVGRE shows as plain "gre" in tshark 4.0,
// fragments are not a protocol, BGP is the BGP stage's).
const comparableBits = HasEthernet | HasVLAN | HasIPv4 | HasIPv6 | HasTCP | HasUDP | HasICMP |
	HasVXLAN | HasGeneve | HasGRE | HasERSPAN | HasARP | HasSLL | HasPPP | HasCHDLC | HasDNS

// expectedBits turns a frame.protocols string into the layer bits the Decoder should set.
func expectedBits(protocols string) LayerSet {
	var want LayerSet
	for _, p := range strings.Split(protocols, ":") {
		want |= tsharkBits[p]
		if tsharkStop[p] {
			break
		}
	}
	return want
}

// TestProtocolsMatchTshark compares, packet by packet, the protocols the Decoder finds in
// every public capture with tshark's dissection recorded in testdata/tshark-protocols.txt.
// It is the broadest check of link types, tunnels and demux tables against an independent
// implementation.
func TestProtocolsMatchTshark(t *testing.T) {
	capturesDir(t)
	f, err := os.Open(filepath.Join("testdata", "tshark-protocols.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := map[string]map[int]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) != 3 {
			continue
		}
		n, _ := strconv.Atoi(fs[1])
		if want[fs[0]] == nil {
			want[fs[0]] = map[int]string{}
		}
		want[fs[0]][n] = fs[2]
	}
	if len(want) < 30 {
		t.Fatalf("oracle covers %d captures, expected the whole public set", len(want))
	}
	for name, frames := range want {
		t.Run(name, func(t *testing.T) {
			_, pkts := decodeCapture(t, name, Options{})
			if len(pkts) != len(frames) {
				t.Fatalf("decoded %d packets, tshark saw %d", len(pkts), len(frames))
			}
			bad := 0
			for i, p := range pkts {
				protos := frames[i+1]
				exp, got := expectedBits(protos), p.Layers&comparableBits
				if exp != got {
					bad++
					if bad <= 5 {
						t.Errorf("packet %d: tshark %q -> %s, decoder %s (err %v)",
							i+1, protos, exp, got, p.Err)
					}
				}
			}
			if bad > 5 {
				t.Errorf("%d packets differ in all", bad)
			}
		})
	}
}
