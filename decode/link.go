package decode

import (
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Link types (LINKTYPE_* values of pcap and pcapng) the Decoder understands.
const (
	LinkTypeNull      uint16 = 0   // BSD loopback: 4-byte address family in host byte order
	LinkTypeEthernet  uint16 = 1   // Ethernet II / 802.3
	LinkTypePPP       uint16 = 9   // PPP, optionally with 0xff03 address/control
	LinkTypeRawDLT12  uint16 = 12  // raw IP as DLT_RAW is numbered on most systems
	LinkTypeRawDLT14  uint16 = 14  // raw IP as DLT_RAW is numbered on OpenBSD
	LinkTypePPPHDLC   uint16 = 50  // PPP in HDLC-like framing (0xff03 present)
	LinkTypeRaw       uint16 = 101 // raw IP, version from the first nibble
	LinkTypeCiscoHDLC uint16 = 104 // Cisco HDLC
	LinkTypeLoop      uint16 = 108 // OpenBSD loopback: address family in network byte order
	LinkTypeLinuxSLL  uint16 = 113 // Linux cooked capture v1
	LinkTypeIPv4      uint16 = 228 // raw IPv4
	LinkTypeIPv6      uint16 = 229 // raw IPv6
	LinkTypeLinuxSLL2 uint16 = 276 // Linux cooked capture v2
)

// linkStep is the first decode step for a link type; stepStop means unsupported.
func linkStep(linkType uint16) step {
	switch linkType {
	case LinkTypeNull, LinkTypeLoop:
		return stepLoopback
	case LinkTypeEthernet:
		return stepEthernet
	case LinkTypePPP, LinkTypePPPHDLC:
		return stepPPP
	case LinkTypeRawDLT12, LinkTypeRawDLT14, LinkTypeRaw:
		return stepRawIP
	case LinkTypeCiscoHDLC:
		return stepCHDLC
	case LinkTypeLinuxSLL:
		return stepSLL
	case LinkTypeIPv4:
		return stepIPv4
	case LinkTypeIPv6:
		return stepIPv6
	case LinkTypeLinuxSLL2:
		return stepSLL2
	}
	return stepStop
}

// LinkSupported reports whether Decode understands linkType.
func LinkSupported(linkType uint16) bool { return linkStep(linkType) != stepStop }

// LinkDecoder returns the gopacket decoder for the first layer of linkType, for callers that
// want a full gopacket.Packet (e.g. a detail view) of a frame the Decoder handled: it knows the
// Cisco HDLC and raw-IP link types that gopacket's own LinkType table lacks. It returns nil for
// unsupported link types.
func LinkDecoder(linkType uint16) gopacket.Decoder {
	switch linkStep(linkType) {
	case stepLoopback:
		return layers.LayerTypeLoopback
	case stepEthernet:
		return layers.LayerTypeEthernet
	case stepPPP:
		return layers.LayerTypePPP
	case stepRawIP:
		return layers.LinkTypeRaw
	case stepCHDLC:
		return LayerTypeCiscoHDLC
	case stepSLL:
		return layers.LayerTypeLinuxSLL
	case stepIPv4:
		return layers.LayerTypeIPv4
	case stepIPv6:
		return layers.LayerTypeIPv6
	case stepSLL2:
		return layers.LayerTypeLinuxSLL2
	}
	return nil
}

// etherStep maps an EtherType found in a link header to the next step.
func etherStep(t layers.EthernetType) step {
	switch t {
	case layers.EthernetTypeIPv4:
		return stepIPv4
	case layers.EthernetTypeIPv6:
		return stepIPv6
	case layers.EthernetTypeDot1Q, layers.EthernetTypeQinQ, 0x9100:
		return stepDot1Q
	case layers.EthernetTypeARP:
		return stepARP
	}
	return stepStop
}

// loopbackStep maps a BSD address family to the next step: AF_INET is 2 everywhere, AF_INET6
// is 24 (NetBSD, OpenBSD), 28 (FreeBSD) or 30 (macOS).
func loopbackStep(f layers.ProtocolFamily) step {
	switch f {
	case 2:
		return stepIPv4
	case 24, 28, 30:
		return stepIPv6
	}
	return stepStop
}

// pppStep maps a PPP protocol to the next step.
func pppStep(t layers.PPPType) step {
	switch t {
	case layers.PPPTypeIPv4:
		return stepIPv4
	case layers.PPPTypeIPv6:
		return stepIPv6
	}
	return stepStop
}
