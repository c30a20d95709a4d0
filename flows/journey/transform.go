package journey

import (
	"strings"

	"github.com/stackflow/stackflow/decode"
)

// Header is what one observation of a packet looked like at its location: the capture point,
// the outermost MAC pair, the innermost IP tuple and the tunnel nearest to it. Two
// observations with equal Headers (and equal TTL) are the same packet seen twice at one
// location; any difference between consecutive observations is a transform.
type Header struct {
	Point          int
	HasMAC         bool
	SrcMAC, DstMAC [6]byte
	Inner          decode.Tuple
	// Depth counts network encapsulations (VXLAN, Geneve, NVGRE, GRE). Capture transport such
	// as ERSPAN mirroring (and the GRE that carries it) is not counted: it is how the packet
	// reached the capture, not something the network did to it.
	Depth uint8
	// Tunnel is the encapsulation nearest the inner packet (the SDN one: VXLAN VNI, outer
	// src/dst); zero when Depth is 0. Its outer source port is always 0.
	Tunnel decode.Tunnel
}

// headerOf fills h from a decoded packet.
func headerOf(p *decode.Packet, h *Header) {
	*h = Header{Point: p.Point, HasMAC: p.HasMAC, Inner: p.Inner}
	if p.HasMAC {
		h.SrcMAC, h.DstMAC = p.SrcMAC, p.DstMAC
	}
	n := int(p.NTunnels)
	if n > len(p.Tunnels) {
		n = len(p.Tunnels)
	}
	for i := 0; i < n; i++ {
		tu := &p.Tunnels[i]
		if tu.Type == decode.TunnelERSPAN {
			continue
		}
		if tu.Type == decode.TunnelGRE && i+1 < n && p.Tunnels[i+1].Type == decode.TunnelERSPAN {
			continue // the GRE that carries a mirror session
		}
		h.Depth++
		h.Tunnel = *tu
	}
	// The outer UDP source port is entropy (a hash of the inner flow, per packet on some
	// stacks), not identity: keeping it would split one flow's segment per packet.
	h.Tunnel.Outer.SrcPort = 0
}

// Transform is the change between two consecutive observations of one packet, as a set of
// changes. The zero value is "none".
type Transform uint8

// Transform bits. Route is cleared whenever a NAT or tunnel change is present: a NAT or
// encapsulation hop is named by what it did, though it also decrements TTL (DESIGN.md 6.1).
const (
	TransformRoute Transform = 1 << iota // TTL decreased and/or new MAC pair, same tuple
	TransformDecap                       // a tunnel header was removed (or replaced)
	TransformEncap                       // a tunnel header appeared (or was replaced)
	TransformSNAT                        // innermost source address or port changed
	TransformDNAT                        // innermost destination address or port changed
)

// TransformNone is the first hop's transform and that of a packet seen twice on one segment.
const TransformNone Transform = 0

var transformNames = [...]struct {
	bit  Transform
	name string
}{
	{TransformDecap, "decap"},
	{TransformEncap, "encap"},
	{TransformSNAT, "snat"},
	{TransformDNAT, "dnat"},
	{TransformRoute, "route"},
}

// String spells the transform as the report does: "none", "route", "snat", "dnat",
// "snat+dnat", "encap", "decap", "decap+dnat", "decap+encap", ...
func (t Transform) String() string {
	if t == TransformNone {
		return "none"
	}
	var b strings.Builder
	for _, n := range transformNames {
		if t&n.bit == 0 {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('+')
		}
		b.WriteString(n.name)
	}
	return b.String()
}

// Has reports whether every bit of x is set in t.
func (t Transform) Has(x Transform) bool { return t&x == x && x != 0 }

// view is one observation as the transform rules see it.
type view struct {
	h   *Header
	ttl uint8
}

// transformRule recognises one kind of change between an earlier observation a and a later
// observation b of the same packet. Each rule is independent; classify combines them.
type transformRule interface {
	apply(a, b view) Transform
}

// tunnelRule: a tunnel header appeared (encap), disappeared (decap) or, at equal depth, was
// replaced by a different one (decap+encap: another VNI or outer endpoints).
type tunnelRule struct{}

func (tunnelRule) apply(a, b view) Transform {
	switch {
	case b.h.Depth > a.h.Depth:
		return TransformEncap
	case b.h.Depth < a.h.Depth:
		return TransformDecap
	case a.h.Depth == 0:
		return TransformNone
	}
	ta, tb := &a.h.Tunnel, &b.h.Tunnel
	if ta.Type != tb.Type || ta.VNI != tb.VNI || ta.HasVNI != tb.HasVNI ||
		ta.Outer.Src != tb.Outer.Src || ta.Outer.Dst != tb.Outer.Dst {
		return TransformDecap | TransformEncap
	}
	return TransformNone
}

// echoID reports whether a tuple's ports are an ICMP echo identifier, held in both ports: a
// NAT rewrites it with the address it translates, so it must not count for the other side.
func echoID(t *decode.Tuple) bool { return t.Proto == 1 || t.Proto == 58 }

// snatRule: the innermost source address or port changed. For ICMP echo, the source address
// changed, or only the identifier did (a query id is the source port's analogue).
type snatRule struct{}

func (snatRule) apply(a, b view) Transform {
	x, y := &a.h.Inner, &b.h.Inner
	if x.Src != y.Src {
		return TransformSNAT
	}
	if echoID(x) {
		if x.Dst == y.Dst && x.SrcPort != y.SrcPort {
			return TransformSNAT
		}
		return TransformNone
	}
	if x.SrcPort != y.SrcPort {
		return TransformSNAT
	}
	return TransformNone
}

// dnatRule: the innermost destination address or port changed. For ICMP echo, only the
// destination address counts (the identifier belongs to the source side).
type dnatRule struct{}

func (dnatRule) apply(a, b view) Transform {
	x, y := &a.h.Inner, &b.h.Inner
	if x.Dst != y.Dst || (!echoID(x) && x.DstPort != y.DstPort) {
		return TransformDNAT
	}
	return TransformNone
}

// routeRule: the inner TTL dropped, or the packet moved to another MAC pair (a router, or a
// virtual switch that rewrites MACs without touching TTL). Capture points without MACs (PPP)
// compare only TTL.
type routeRule struct{}

func (routeRule) apply(a, b view) Transform {
	if b.ttl < a.ttl {
		return TransformRoute
	}
	if a.h.HasMAC && b.h.HasMAC && (a.h.SrcMAC != b.h.SrcMAC || a.h.DstMAC != b.h.DstMAC) {
		return TransformRoute
	}
	return TransformNone
}

// The rules classify applies, each independent of the others. They are called directly
// rather than through a slice of the interface so the hot path stays free of dynamic calls.
var (
	_ transformRule = tunnelRule{}
	_ transformRule = snatRule{}
	_ transformRule = dnatRule{}
	_ transformRule = routeRule{}
)

// classify returns the transform from observation a to the later observation b.
func classify(a, b view) Transform {
	t := tunnelRule{}.apply(a, b) | snatRule{}.apply(a, b) | dnatRule{}.apply(a, b) | routeRule{}.apply(a, b)
	if t&^TransformRoute != 0 {
		t &^= TransformRoute
	}
	return t
}
