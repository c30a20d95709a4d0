package decode

import "github.com/gopacket/gopacket/layers"

// Tunnel recognition. UDP tunnels are found by port through one table built from Options
// when the Decoder is made: the destination port decides, else the source port (DESIGN.md
// 6.1), so a reply from a VTEP's well-known port is recognised too. GRE tunnels are found by
// the GRE protocol field. Adding a tunnel kind means adding a row here, never a branch in the
// decode loop.

// udpTunnel is what a UDP port carries.
type udpTunnel uint8

const (
	udpNone udpTunnel = iota
	udpVXLAN
	udpVXLANGPE
	udpGeneve
)

// Default tunnel ports: VXLAN on the IANA port and the Linux kernel default, VXLAN-GPE and
// Geneve on their IANA ports.
var (
	defaultVXLANPorts    = []uint16{4789, 8472}
	defaultVXLANGPEPorts = []uint16{4790}
	defaultGenevePorts   = []uint16{6081}
)

// portTable maps every UDP port to the tunnel it carries: 64 KiB, one load per lookup.
type portTable [1 << 16]udpTunnel

// newPortTable fills the table from opts; nil lists take the defaults and an empty non-nil
// list switches that tunnel off. A port named twice keeps the later kind in the order VXLAN,
// VXLAN-GPE, Geneve.
func newPortTable(opts *Options) *portTable {
	t := new(portTable)
	for _, row := range [...]struct {
		ports, defaults []uint16
		kind            udpTunnel
	}{
		{opts.VXLANPorts, defaultVXLANPorts, udpVXLAN},
		{opts.VXLANGPEPorts, defaultVXLANGPEPorts, udpVXLANGPE},
		{opts.GenevePorts, defaultGenevePorts, udpGeneve},
	} {
		ports := row.ports
		if ports == nil {
			ports = row.defaults
		}
		for _, p := range ports {
			t[p] = row.kind
		}
	}
	return t
}

// lookup returns the tunnel on dst, else on src.
func (t *portTable) lookup(src, dst uint16) udpTunnel {
	if k := t[dst]; k != udpNone {
		return k
	}
	return t[src]
}

// udpTunnelStep is the decode step for each UDP tunnel kind.
var udpTunnelStep = [...]step{
	udpNone:     stepStop,
	udpVXLAN:    stepVXLAN,
	udpVXLANGPE: stepVXLANGPE,
	udpGeneve:   stepGeneve,
}

// GRE protocol values with a meaning of their own here.
const (
	greTEB       = 0x6558 // transparent Ethernet bridging: NVGRE when a key is present
	greERSPAN    = 0x88be // ERSPAN type I (no sequence number) or II
	greERSPANIII = 0x22eb
)

// greNext decides what follows a GRE header: the tunnel it opens and the next step.
// TunnelNone means GRE carries something we do not follow (PPTP's PPP, MPLS, ...).
func greNext(g *layers.GRE) (TunnelType, step) {
	switch g.Protocol {
	case greTEB:
		if g.KeyPresent {
			return TunnelNVGRE, stepEthernet
		}
		return TunnelGRE, stepEthernet
	case layers.EthernetTypeIPv4:
		return TunnelGRE, stepIPv4
	case layers.EthernetTypeIPv6:
		return TunnelGRE, stepIPv6
	case greERSPAN:
		if !g.SeqPresent { // type I: the mirrored frame follows the bare GRE header
			return TunnelERSPAN, stepEthernet
		}
		return TunnelERSPAN, stepERSPANII
	case greERSPANIII:
		return TunnelERSPAN, stepERSPANIII
	}
	return TunnelNone, stepStop
}

// payloadStep maps the EtherType-style protocol field of a tunnel header (Geneve, GRE) to the
// next step.
func payloadStep(t layers.EthernetType) step {
	switch t {
	case greTEB:
		return stepEthernet
	case layers.EthernetTypeIPv4:
		return stepIPv4
	case layers.EthernetTypeIPv6:
		return stepIPv6
	}
	return stepStop
}

// gpeStep maps a VXLAN-GPE next protocol to the next step.
func gpeStep(v *VXLANGPE) step {
	if !v.HasNext {
		return stepEthernet
	}
	switch v.NextProtocol {
	case GPENextIPv4:
		return stepIPv4
	case GPENextIPv6:
		return stepIPv6
	case GPENextEthernet:
		return stepEthernet
	}
	return stepStop
}
