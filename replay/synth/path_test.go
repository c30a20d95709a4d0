package synth

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stackflow/stackflow/internal/testenv"
)

// pathOf renders a journey as "point:transform:ttl" steps.
func pathOf(j Journey) string {
	var parts []string
	for _, o := range j.Observations {
		parts = append(parts, fmt.Sprintf("%s:%s:%d", o.Point, o.Transform, o.TTL))
	}
	return strings.Join(parts, " ")
}

// TestPathsAndTTL pins the hop-by-hop shape of the reference network: which points a
// client packet and its DSR reply cross, the transform at each, and TTL decremented only by
// routing hops (NAT, router), never by the Mux or the host.
func TestPathsAndTTL(t *testing.T) {
	sc := loadSample(t, "azurestack-poc.yaml")
	_, tr := generate(t, sc, Options{})
	cases := []struct {
		name string
		conv string
		dir  string
		want string
	}{
		// client -> VIP: SNAT at NATVM, routed by BGPVM, encapsulated by the Mux, decap+VIP->DIP at the host
		{"forward https", "portal-https", "forward",
			"client-nat:none:128 nat-bgp:snat:127 bgp-mux:route:126 mux-host:encap:126 host-portal:decap+dnat:126"},
		// DIP -> client: DSR rewrite at the host (DIP->VIP), routed by BGPVM, reverse NAT at NATVM
		{"return https", "portal-https", "return",
			"host-portal:none:128 host-bgp:snat:128 nat-bgp:route:127 client-nat:dnat:126"},
		{"forward ping", "ping", "forward",
			"client-nat:none:128 nat-bgp:snat:127 bgp-mux:route:126 mux-host:encap:126 host-portal:decap+dnat:126"},
		{"return udp", "udp-exchange", "return",
			"host-portal:none:128 host-bgp:snat:128 nat-bgp:route:127 client-nat:dnat:126"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := 0
			for _, j := range tr.Journeys {
				if j.Conversation != tc.conv || j.Direction != tc.dir {
					continue
				}
				n++
				if got := pathOf(j); got != tc.want {
					t.Fatalf("journey %d (%s):\n got %s\nwant %s", j.ID, j.Summary, got, tc.want)
				}
			}
			if n == 0 {
				t.Fatal("no journeys")
			}
		})
	}
}

// TestDSRNeverCrossesMux: replies rewritten DIP->VIP by the host go straight to the router;
// no return packet is ever observed on the Mux's links.
func TestDSRNeverCrossesMux(t *testing.T) {
	sc := loadSample(t, "azurestack-poc.yaml")
	sink, tr := generate(t, sc, Options{})
	returns := 0
	for _, j := range tr.Journeys {
		if j.Direction != "return" || strings.HasPrefix(j.Conversation, "bgp") || strings.HasPrefix(j.Conversation, "probe") ||
			j.Conversation == "dns" {
			continue
		}
		returns++
		for _, o := range j.Observations {
			if o.Point == "mux-host" || o.Point == "bgp-mux" {
				t.Fatalf("return journey %d seen at %s", j.ID, o.Point)
			}
		}
	}
	if returns == 0 {
		t.Fatal("no return journeys")
	}
	if len(tr.DSR) != 1 || strings.Join(tr.DSR[0].Points, ",") != "host-portal,host-bgp,nat-bgp,client-nat" {
		t.Errorf("dsr paths %+v", tr.DSR)
	}
	// And from the bytes: every packet on mux-host is encapsulated client->VIP traffic.
	for i, f := range sink.frames {
		if f.point != "mux-host" {
			continue
		}
		d := decodeFrame(t, f.data)
		if d.vxlan == nil || d.inner.DstIP.String() != "192.168.102.4" {
			t.Fatalf("frame %d on mux-host is not VXLAN to the VIP: %v -> %v", i+1, d.inner.SrcIP, d.inner.DstIP)
		}
	}
}

// TestNATMappingsReverse: each SNAT mapping is applied one way on the way out and exactly
// reversed on the way back, and no two inside endpoints share an outside endpoint.
func TestNATMappingsReverse(t *testing.T) {
	sc := loadSample(t, "azurestack-poc.yaml")
	_, tr := generate(t, sc, Options{})
	outside := map[string]string{}
	inside := map[string]string{}
	for _, m := range tr.NAT {
		if m.Kind != "snat" {
			continue
		}
		if prev, dup := outside[m.Proto+m.Outside]; dup && prev != m.Inside {
			t.Errorf("outside %s maps to %s and %s", m.Outside, prev, m.Inside)
		}
		outside[m.Proto+m.Outside] = m.Inside
		inside[m.Proto+m.Inside] = m.Outside
		if port := m.Outside[strings.LastIndexByte(m.Outside, ':')+1:]; port < "40000" || port > "40999" || len(port) != 5 {
			t.Errorf("outside port %s outside the pool 40000-40999", m.Outside)
		}
	}
	if len(inside) < 20 {
		t.Fatalf("only %d snat mappings", len(inside))
	}
	ep := func(addr string, port *uint16) string { return fmt.Sprintf("%s:%d", addr, *port) }
	checked := 0
	for _, j := range tr.Journeys {
		for k := 1; k < len(j.Observations); k++ {
			prev, cur := j.Observations[k-1], j.Observations[k]
			if cur.Node != "NATVM" || cur.Sport == nil {
				continue
			}
			switch cur.Transform {
			case "snat":
				if got := inside[j.Proto+ep(prev.Src, prev.Sport)]; got != ep(cur.Src, cur.Sport) {
					t.Errorf("journey %d: snat %s -> %s, mapping says %s", j.ID, ep(prev.Src, prev.Sport), ep(cur.Src, cur.Sport), got)
				}
			case "dnat":
				if got := outside[j.Proto+ep(prev.Dst, prev.Dport)]; got != ep(cur.Dst, cur.Dport) {
					t.Errorf("journey %d: reverse %s -> %s, mapping says %s", j.ID, ep(prev.Dst, prev.Dport), ep(cur.Dst, cur.Dport), got)
				}
			}
			checked++
		}
	}
	if checked < 100 {
		t.Errorf("only %d NAT steps checked", checked)
	}
}

// TestVXLANSourcePort: the outer UDP source port is a pure function of the inner flow, inside
// the RFC 7348 range, and differs between flows.
func TestVXLANSourcePort(t *testing.T) {
	sc := loadSample(t, "azurestack-poc.yaml")
	sink, _ := generate(t, sc, Options{})
	byFlow := map[string]uint16{}
	ports := map[uint16]bool{}
	for i, f := range sink.frames {
		d := decodeFrame(t, f.data)
		if d.vxlan == nil {
			continue
		}
		outerUDP := f.data[14+20:]
		sport := uint16(outerUDP[0])<<8 | uint16(outerUDP[1])
		if sport < 49152 {
			t.Fatalf("frame %d: source port %d below 49152", i+1, sport)
		}
		var key string
		switch {
		case d.tcp != nil:
			key = fmt.Sprintf("tcp %v:%d %v:%d", d.inner.SrcIP, d.tcp.SrcPort, d.inner.DstIP, d.tcp.DstPort)
		case d.udp != nil:
			key = fmt.Sprintf("udp %v:%d %v:%d", d.inner.SrcIP, d.udp.SrcPort, d.inner.DstIP, d.udp.DstPort)
		default:
			key = fmt.Sprintf("icmp %v %v %d", d.inner.SrcIP, d.inner.DstIP, d.icmp.Id)
		}
		if prev, ok := byFlow[key]; ok && prev != sport {
			t.Fatalf("flow %s: source port %d, earlier %d", key, sport, prev)
		}
		byFlow[key] = sport
		ports[sport] = true
		sp, dp := flowPorts(d)
		if want := vxlanSourcePort(flowHash(ip4(d.inner.SrcIP.To4()), ip4(d.inner.DstIP.To4()), uint8(d.inner.Protocol),
			sp, dp)); want != sport {
			t.Fatalf("frame %d: source port %d, hash gives %d", i+1, sport, want)
		}
	}
	if len(byFlow) < 20 || len(ports) < len(byFlow)*9/10 {
		t.Errorf("%d flows share %d source ports", len(byFlow), len(ports))
	}
}

func flowPorts(d decoded) (uint16, uint16) {
	switch {
	case d.tcp != nil:
		return uint16(d.tcp.SrcPort), uint16(d.tcp.DstPort)
	case d.udp != nil:
		return uint16(d.udp.SrcPort), uint16(d.udp.DstPort)
	}
	return d.icmp.Id, d.icmp.Id
}

// TestNoDSRReturnsThroughMux: with dsr: false the host sends replies back to the Mux in VXLAN
// and the Mux decapsulates and routes them; the return path then does cross mux-host.
func TestNoDSRReturnsThroughMux(t *testing.T) {
	src, err := os.ReadFile(testenv.Sample(t, "azurestack-poc.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.Replace(string(src), "dsr: true", "dsr: false", 1)
	// full-size replies are now encapsulated: give the provider network room for the overhead
	doc = strings.Replace(doc, "subnet: 192.168.100.64/27\n", "subnet: 192.168.100.64/27\n    mtu: 1600\n", 1)
	_, tr := generate(t, parseScenario(t, doc), Options{})
	want := "host-portal:none:128 mux-host:snat+encap:128 bgp-mux:decap:128 nat-bgp:route:127 client-nat:dnat:126"
	n := 0
	for _, j := range tr.Journeys {
		if j.Conversation == "portal-https" && j.Direction == "return" && len(j.Observations) == 5 {
			n++
			if got := pathOf(j); got != want {
				t.Fatalf("journey %d:\n got %s\nwant %s", j.ID, got, want)
			}
		}
	}
	if n == 0 {
		t.Fatal("no complete return journeys")
	}
	if c := conversation(t, tr, "portal-https"); c.Completed != c.Instances {
		t.Errorf("no conversation completed without DSR: %+v", c)
	}
}
