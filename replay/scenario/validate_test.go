package scenario

import (
	"errors"
	"strings"
	"testing"
)

// sdn is a compact but complete scenario: every section the validator cross-checks.
const sdn = `name: sdn
duration: 30s
links:
  - {name: ext}
  - {name: core}
  - {name: pa}
  - {name: vm}
nodes:
  - name: C
    role: client
    interfaces: [{name: e, link: ext, addresses: [192.168.200.10/24]}]
    routes: [{to: 0.0.0.0/0, via: 192.168.200.1}]
  - name: N
    role: nat
    interfaces:
      - {name: in, link: ext, addresses: [192.168.200.1/24]}
      - {name: out, link: core, addresses: [192.168.100.2/27]}
    routes: [{to: 0.0.0.0/0, via: 192.168.100.1}]
  - name: R
    role: router
    interfaces: [{name: e, link: core, addresses: [192.168.100.1/27]}]
  - name: M
    role: mux
    interfaces:
      - {name: f, link: core, addresses: [192.168.100.4/27]}
      - {name: p, link: pa, addresses: [192.168.100.68/27]}
  - name: H
    role: host
    interfaces:
      - {name: p, link: pa, addresses: [192.168.100.70/27]}
      - {name: v, link: vm, addresses: [10.0.0.1/24]}
  - name: P
    role: server
    interfaces: [{name: e, link: vm, addresses: [10.0.0.4/24]}]
nat:
  - {node: N, kind: snat, source: 192.168.200.0/24, out: out, ports: 40000-40999}
routers:
  - {node: R, asn: 64623}
muxes:
  - node: M
    asn: 64628
    pa: 192.168.100.68
    peers: [{router: R, address: 192.168.100.1}]
hosts:
  - node: H
    pa: 192.168.100.70
    vms: [{node: P, vni: 4114}]
vips:
  - address: 192.168.102.4
    ports: [{proto: tcp, port: 443}]
    backends: [10.0.0.4]
dns:
  server: N
  names: [{name: portal.local.azurestack.external, address: 192.168.102.4}]
traffic:
  - {name: web, client: C, to: "portal.local.azurestack.external:443", proto: tcp}
faults:
  - withdraw: {mux: M, prefix: 192.168.102.4/32, from: 10s, until: 20s}
`

func TestValidateSDNScenario(t *testing.T) {
	sc, err := Parse([]byte(sdn), "sdn.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// References resolved and defaulted for the synthesizer.
	if got := sc.Traffic[0].To.Addr.String(); got != "192.168.102.4" {
		t.Errorf("dns name resolved to %q", got)
	}
	if got := sc.Hosts[0].Agent.Value.String(); got != "10.0.0.1" {
		t.Errorf("host agent defaulted to %q, want the first address of the VM subnet", got)
	}
	if got := sc.Routers[0].RouterID.Value.String(); got != "192.168.100.1" {
		t.Errorf("router id defaulted to %q", got)
	}
	if !sc.Hosts[0].DSR.Value || sc.Muxes[0].Peers[0].HoldTime.Value.Seconds() != 90 {
		t.Error("dsr and hold time defaults missing")
	}
	if len(sc.Warnings) != 0 {
		t.Errorf("unexpected warnings: %v", sc.Warnings)
	}
}

func TestValidateReferences(t *testing.T) {
	cases := []struct {
		name      string
		old, new  string
		at        string // the diagnostic must be on the first line containing this
		want      string
		isWarning bool
	}{
		// Interfaces must name a defined link.
		{"unknown link", "{name: e, link: vm, addresses: [10.0.0.4/24]}", "{name: e, link: vn, addresses: [10.0.0.4/24]}",
			"link: vn", `unknown link "vn"`, false},
		// Conversations must name a defined client node.
		{"unknown node", "client: C,", "client: D,", "client: D", `unknown node "D"`, false},
		// All interfaces on a link share its subnet.
		{"address outside subnet", "[192.168.100.70/27]", "[192.168.101.70/27]", "192.168.101.70/27", "outside subnet 192.168.100.64/27", false},
		// A gateway must be reachable on a connected subnet.
		{"gateway not connected", "via: 192.168.200.1}", "via: 192.168.201.1}", "192.168.201.1", "outside every subnet", false},
		// Two SNAT pools on one address must not hand out the same port.
		{"overlapping nat", "ports: 40000-40999}", "ports: 40000-40999}\n  - {node: N, kind: snat, source: 10.9.0.0/16, out: out, ports: 40500-41000}",
			"40500-41000", "overlaps the range 40000-40999 at line 36", false},
		// VNIs outside the Windows range still load: the analyzer must be able to flag them.
		{"vni out of range warns", "vni: 4114", "vni: 100", "vni: 100", "vni 100 outside", true},
		// A VNI wider than 24 bits cannot be encoded at all.
		{"vni too wide", "vni: 4114", "vni: 16777216", "vni: 16777216", "does not fit in 24 bits", false},
		// The BGP peer address must belong to the router and be on a shared link.
		{"peer address foreign", "address: 192.168.100.1}]", "address: 192.168.100.4}]", "address: 192.168.100.4}]", "not an address of router", false},
		// Muxes announce VIPs as host routes only.
		{"withdraw not /32", "prefix: 192.168.102.4/32", "prefix: 192.168.102.0/24", "192.168.102.0/24", "/32", false},
		// Names a conversation resolves must exist in dns.
		{"unknown dns name", "to: \"portal.local", "to: \"portal2.local", "portal2", "unknown dns name", false},
		// A backend must be a VM on some host, else the host cannot reach it.
		{"backend not a vm", "backends: [10.0.0.4]", "backends: [10.0.0.9]", "10.0.0.9", "not an address of a vm", false},
		// A fault list item holds exactly one kind.
		{"fault with two kinds", "  - withdraw: {mux: M", "  - clock: {point: ext, offset: 1ms}\n    withdraw: {mux: M", "- clock",
			"exactly one of", false},
		// Roles gate what a node can be used for.
		{"router role", "{node: R, asn: 64623}", "{node: C, asn: 64623}", "node: C, asn", `has role "client"`, false},
		// A clock offset names a capture point (a link).
		{"unknown point", "faults:\n", "faults:\n  - clock: {point: nowhere, offset: 1ms}\n", "nowhere", `unknown capture point "nowhere"`, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(sdn, tc.old) {
				t.Fatalf("fixture lacks %q", tc.old)
			}
			doc := strings.Replace(sdn, tc.old, tc.new, 1)
			line := strings.Count(doc[:strings.Index(doc, tc.at)], "\n") + 1
			sc, err := Parse([]byte(doc), "sdn.yaml")
			var diags []*Diagnostic
			if tc.isWarning {
				if err != nil {
					t.Fatalf("want only a warning, got %v", err)
				}
				diags = sc.Warnings
			} else {
				var l ErrorList
				if !errors.As(err, &l) {
					t.Fatalf("want an ErrorList, got %v", err)
				}
				diags = l
			}
			for _, d := range diags {
				if d.Line == line && strings.Contains(d.Msg, tc.want) && d.Warning == tc.isWarning {
					return
				}
			}
			t.Errorf("no diagnostic at line %d containing %q in:\n%v", line, tc.want, ErrorList(diags))
		})
	}
}
