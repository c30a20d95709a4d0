package journey

import (
	"testing"

	"github.com/stackflow/stackflow/decode"
)

// hv builds a view from a hand-built packet.
func hv(b *pb) view {
	var h Header
	headerOf(&b.p, &h)
	return view{h: &h, ttl: b.p.TTL}
}

const (
	client = "10.0.0.10:50000"
	natPub = "172.16.0.5:40000"
	vip    = "192.168.102.4:443"
	dip    = "192.168.103.5:443"
)

func TestTunnelRule(t *testing.T) {
	plain := func() *pb { return pk(0, 0, 1).tuple(natPub, vip, 6) }
	cases := []struct {
		name string
		why  string
		a, b *pb
		want Transform
	}{
		{"plain to plain", "no tunnel on either side is no tunnel change",
			plain(), plain(), TransformNone},
		{"encap", "a Mux adds VXLAN: depth grows",
			plain(), plain().vxlan(4114, "10.0.1.11:5555", "10.0.1.21:4789"), TransformEncap},
		{"decap", "a host removes VXLAN: depth shrinks",
			plain().vxlan(4114, "10.0.1.11:5555", "10.0.1.21:4789"), plain(), TransformDecap},
		{"same tunnel routed", "the underlay routes a tunnelled packet: the tunnel is unchanged",
			plain().vxlan(4114, "10.0.1.11:5555", "10.0.1.21:4789"),
			plain().vxlan(4114, "10.0.1.11:5555", "10.0.1.21:4789"), TransformNone},
		{"new VNI", "a gateway re-encapsulates into another virtual network",
			plain().vxlan(4114, "10.0.1.11:5555", "10.0.1.21:4789"),
			plain().vxlan(4115, "10.0.1.11:5555", "10.0.1.21:4789"), TransformDecap | TransformEncap},
		{"new outer destination", "re-encapsulation towards another VTEP",
			plain().vxlan(4114, "10.0.1.11:5555", "10.0.1.21:4789"),
			plain().vxlan(4114, "10.0.1.11:5555", "10.0.1.22:4789"), TransformDecap | TransformEncap},
		{"erspan mirror ignored", "a mirrored copy is capture transport, not an encapsulation",
			plain(), plain().tunnel(decode.Tunnel{Type: decode.TunnelGRE}).tunnel(decode.Tunnel{Type: decode.TunnelERSPAN}),
			TransformNone},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := (tunnelRule{}).apply(hv(c.a), hv(c.b)); got != c.want {
				t.Errorf("%s: got %v, want %v", c.why, got, c.want)
			}
		})
	}
}

func TestSNATRule(t *testing.T) {
	cases := []struct {
		name string
		why  string
		a, b *pb
		want Transform
	}{
		{"address and port", "RRAS rewrites the client's address and port",
			pk(0, 0, 1).tuple(client, vip, 6), pk(1, 0, 1).tuple(natPub, vip, 6), TransformSNAT},
		{"port only", "a PAT that keeps the address still rewrote the source",
			pk(0, 0, 1).tuple("10.0.0.10:1", vip, 6), pk(1, 0, 1).tuple("10.0.0.10:2", vip, 6), TransformSNAT},
		{"destination only", "a destination rewrite is not SNAT",
			pk(0, 0, 1).tuple(natPub, vip, 6), pk(1, 0, 1).tuple(natPub, dip, 6), TransformNone},
		{"unchanged", "the same tuple is not SNAT",
			pk(0, 0, 1).tuple(client, vip, 6), pk(1, 0, 1).tuple(client, vip, 6), TransformNone},
		{"icmp echo id follows the source", "a NAT rewrites the echo id (held in both ports) with the source address",
			pk(0, 0, 1).tuple("10.0.0.10:77", "192.168.102.4:77", 1), pk(1, 0, 1).tuple("172.16.0.5:900", "192.168.102.4:900", 1), TransformSNAT},
		{"icmp reply restored", "the reply's destination and id restored: not SNAT",
			pk(0, 0, 1).tuple("192.168.102.4:900", "172.16.0.5:900", 1), pk(1, 0, 1).tuple("192.168.102.4:77", "10.0.0.10:77", 1), TransformNone},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := (snatRule{}).apply(hv(c.a), hv(c.b)); got != c.want {
				t.Errorf("%s: got %v, want %v", c.why, got, c.want)
			}
		})
	}
}

func TestDNATRule(t *testing.T) {
	cases := []struct {
		name string
		why  string
		a, b *pb
		want Transform
	}{
		{"vip to dip", "a host rewrites VIP:443 to DIP:443",
			pk(0, 0, 1).tuple(natPub, vip, 6), pk(1, 0, 1).tuple(natPub, dip, 6), TransformDNAT},
		{"port forward", "a port change alone is DNAT",
			pk(0, 0, 1).tuple(natPub, "192.168.102.4:80", 6), pk(1, 0, 1).tuple(natPub, "192.168.102.4:8080", 6), TransformDNAT},
		{"source only", "a source rewrite is not DNAT",
			pk(0, 0, 1).tuple(client, vip, 6), pk(1, 0, 1).tuple(natPub, vip, 6), TransformNone},
		{"icmp echo snat", "the echo id rewritten with the source is not a destination change",
			pk(0, 0, 1).tuple("10.0.0.10:77", "192.168.102.4:77", 1), pk(1, 0, 1).tuple("172.16.0.5:900", "192.168.102.4:900", 1), TransformNone},
		{"icmp reply restored", "the reply's destination restored is DNAT",
			pk(0, 0, 1).tuple("192.168.102.4:900", "172.16.0.5:900", 1), pk(1, 0, 1).tuple("192.168.102.4:77", "10.0.0.10:77", 1), TransformDNAT},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := (dnatRule{}).apply(hv(c.a), hv(c.b)); got != c.want {
				t.Errorf("%s: got %v, want %v", c.why, got, c.want)
			}
		})
	}
}

func TestRouteRule(t *testing.T) {
	cases := []struct {
		name string
		why  string
		a, b *pb
		want Transform
	}{
		{"ttl and macs", "a router decrements TTL and moves the frame to its other arm",
			pk(0, 0, 1).tuple(natPub, vip, 6).ttl(127).macs(mac(1), mac(2)),
			pk(1, 0, 1).tuple(natPub, vip, 6).ttl(126).macs(mac(3), mac(4)), TransformRoute},
		{"ttl only without macs", "PPP links have no MACs: the TTL alone shows the router",
			pk(0, 0, 1).tuple(natPub, vip, 17).ttl(64), pk(1, 0, 1).tuple(natPub, vip, 17).ttl(63), TransformRoute},
		{"macs only", "a virtual switch that rewrites MACs without touching TTL still forwarded it",
			pk(0, 0, 1).tuple(natPub, vip, 6).macs(mac(1), mac(2)),
			pk(1, 0, 1).tuple(natPub, vip, 6).macs(mac(2), mac(3)), TransformRoute},
		{"same segment twice", "two capture points on one L2 segment see identical frames",
			pk(0, 0, 1).tuple(natPub, vip, 6).macs(mac(1), mac(2)),
			pk(1, 0, 1).tuple(natPub, vip, 6).macs(mac(1), mac(2)), TransformNone},
		{"two ends of a p2p link", "both ends of a PPP link: no MACs, same TTL",
			pk(0, 0, 1).tuple(natPub, vip, 17), pk(1, 0, 1).tuple(natPub, vip, 17), TransformNone},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := (routeRule{}).apply(hv(c.a), hv(c.b)); got != c.want {
				t.Errorf("%s: got %v, want %v", c.why, got, c.want)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	cases := []struct {
		name string
		why  string
		a, b *pb
		want string
	}{
		{"route", "TTL-1 and new MACs with the same tuple is a routed hop",
			pk(0, 0, 1).tuple(natPub, vip, 6).ttl(127).macs(mac(1), mac(2)),
			pk(1, 0, 1).tuple(natPub, vip, 6).ttl(126).macs(mac(3), mac(4)), "route"},
		{"snat names the hop", "a NAT also decrements TTL, but the hop is named snat",
			pk(0, 0, 1).tuple(client, vip, 6).ttl(128).macs(mac(1), mac(2)),
			pk(1, 0, 1).tuple(natPub, vip, 6).ttl(127).macs(mac(3), mac(4)), "snat"},
		{"snat+dnat", "both addresses rewritten by one box",
			pk(0, 0, 1).tuple(client, vip, 6).ttl(128), pk(1, 0, 1).tuple(natPub, dip, 6).ttl(127), "snat+dnat"},
		{"encap", "the Mux adds VXLAN VNI 4114; the inner packet is unchanged",
			pk(0, 0, 1).tuple(natPub, vip, 6).ttl(126).macs(mac(5), mac(6)),
			pk(1, 0, 1).tuple(natPub, vip, 6).ttl(126).macs(mac(6), mac(7)).vxlan(4114, "10.0.1.11:5555", "10.0.1.21:4789"), "encap"},
		{"decap+dnat", "the host removes VXLAN and rewrites VIP->DIP",
			pk(0, 0, 1).tuple(natPub, vip, 6).ttl(126).macs(mac(6), mac(7)).vxlan(4114, "10.0.1.11:5555", "10.0.1.21:4789"),
			pk(1, 0, 1).tuple(natPub, dip, 6).ttl(126).macs(mac(8), mac(9)), "decap+dnat"},
		{"none", "the same frame at two points on one segment",
			pk(0, 0, 1).tuple(natPub, vip, 6).macs(mac(1), mac(2)),
			pk(1, 0, 1).tuple(natPub, vip, 6).macs(mac(1), mac(2)), "none"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := classify(hv(c.a), hv(c.b)).String(); got != c.want {
				t.Errorf("%s: got %q, want %q", c.why, got, c.want)
			}
		})
	}
}
