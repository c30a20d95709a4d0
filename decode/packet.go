// Package decode turns captured bytes into compact packet records: it decodes link, network,
// transport and tunnel layers (VXLAN, Geneve, NVGRE, GRE, ERSPAN) through gopacket's
// DecodingLayerParser without allocating, and computes the NAT- and encapsulation-invariant
// fingerprint that joins one packet's observations at several hops (DESIGN.md section 4).
// File framing lives in decode/pcapio, BGP stream reassembly in decode/bgp.
package decode

import "net/netip"

// MaxTunnels bounds how many encapsulations one packet may carry; deeper nesting is decoded to
// this depth and flagged (Packet.Err).
const MaxTunnels = 4

// Tuple is an IP 5-tuple. For ICMP echo the ports hold the echo identifier (both sides).
type Tuple struct {
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16
	Proto            uint8 // IP protocol number (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6, 47 GRE, ...)
}

// TunnelType names an encapsulation.
type TunnelType uint8

// Tunnel types, in the report's spelling.
const (
	TunnelNone TunnelType = iota
	TunnelVXLAN
	TunnelGeneve
	TunnelNVGRE
	TunnelGRE
	TunnelERSPAN
)

var tunnelNames = [...]string{"", "vxlan", "geneve", "nvgre", "gre", "erspan"}

func (t TunnelType) String() string {
	if int(t) < len(tunnelNames) {
		return tunnelNames[t]
	}
	return "unknown"
}

// Tunnel is one encapsulation layer: the outer IP tuple that carries it and its identifiers.
type Tunnel struct {
	Type   TunnelType
	VNI    uint32 // VXLAN/Geneve VNI, NVGRE VSID (key >> 8); valid when HasVNI
	HasVNI bool
	Key    uint32 // GRE key when HasKey (NVGRE: the whole key)
	HasKey bool
	FlowID uint8 // NVGRE FlowID (key & 0xff)
	Outer  Tuple // the IP/UDP (or IP/GRE) header that carries the tunnel
}

// Layer bits record which protocols a packet contains, for the report's protocol counts.
type LayerSet uint32

// Layer bits; a packet counts once per protocol however often it nests.
const (
	HasEthernet LayerSet = 1 << iota
	HasVLAN
	HasIPv4
	HasIPv6
	HasTCP
	HasUDP
	HasICMP // ICMPv4 or ICMPv6
	HasVXLAN
	HasGeneve
	HasGRE
	HasNVGRE
	HasERSPAN
	HasBGP // set by the BGP stage when a message ends in this packet
	HasARP
	HasSLL
	HasPPP
	HasCHDLC
	HasDNS // UDP/TCP port 53
	HasFragment
)

// TCP flag bits as in the TCP header's flags byte.
const (
	TCPFin uint8 = 1 << iota
	TCPSyn
	TCPRst
	TCPPsh
	TCPAck
	TCPUrg
	TCPEce
	TCPCwr
)

// Packet is the compact record of one captured packet. It holds no references into the capture
// buffer except Payload, which is valid only until the next packet is decoded. A Packet is
// reused across calls; Reset clears it.
type Packet struct {
	// Position, filled by the caller from the framer.
	Input  int    // input file index
	Point  int    // capture point index
	Number uint64 // 1-based packet number within its file
	Offset int64  // byte offset of the record in its file
	Time   int64  // ns since the Unix epoch, UTC
	CapLen uint32
	Len    uint32 // original length on the wire

	Layers LayerSet

	// Outermost link layer.
	SrcMAC, DstMAC [6]byte
	HasMAC         bool
	VLANs          [2]uint16 // outermost tags first
	NVLAN          uint8

	// Encapsulations, outermost first.
	Tunnels  [MaxTunnels]Tunnel
	NTunnels uint8

	// Innermost IP packet.
	Inner      Tuple
	HasIP      bool
	IPVersion  uint8
	TTL        uint8  // innermost TTL / hop limit
	IPID       uint32 // IPv4 identification, or the IPv6 fragment identification
	IPLen      uint16 // innermost IP total length as stated in the header
	FragOffset uint16 // in bytes
	MoreFrags  bool
	IPOffset   uint32 // byte offset of the innermost IP header in the captured frame

	// Innermost transport.
	TCPSeq, TCPAck uint32
	TCPFlags       uint8
	TCPWindow      uint16
	TSVal, TSEcr   uint32
	HasTS          bool
	MSS            uint16 // TCP MSS option, 0 when absent
	WScale         uint8  // TCP window scale shift, valid when HasWScale
	HasWScale      bool
	ICMPType       uint8
	ICMPCode       uint8
	ICMPSeq        uint16 // echo sequence number (the echo id is in Inner's ports)
	PayloadLen     uint16 // L4 payload length from the headers (not what was captured)

	// Payload is the captured innermost L4 payload (a slice of the capture buffer).
	Payload []byte

	// PayloadHash hashes the first PayloadHashLen captured payload bytes (at most 16); 0 bytes
	// means no hash was taken because fewer were captured than the header promised.
	PayloadHash    uint64
	PayloadHashLen uint8

	// Fingerprint hashes only fields that survive NAT, routing and encapsulation
	// (DESIGN.md section 4). Zero means "no fingerprint" (e.g. no IP layer).
	Fingerprint uint64
	// HeaderFingerprint is Fingerprint without the payload hash: equal to it when
	// PayloadHashLen is 0. It lets a matcher pair an observation whose payload was cut by a
	// short snap length with a complete one, then confirm with PayloadHash where both have it.
	HeaderFingerprint uint64

	// Err is the most severe decoding problem, nil when the packet decoded cleanly. It is
	// allocated for the bad packet alone and stays valid after the Packet is reused.
	Err *Error
}

// Reset clears p for reuse without releasing anything.
func (p *Packet) Reset() { *p = Packet{} }

// Tunneled reports whether the packet was carried in at least one encapsulation.
func (p *Packet) Tunneled() bool { return p.NTunnels > 0 }
