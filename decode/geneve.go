package decode

import (
	"encoding/binary"
	"fmt"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Geneve (RFC 8926), UDP port 6081:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|Ver|  Opt Len  |O|C|    Rsvd.  |          Protocol Type        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|        Virtual Network Identifier (VNI)       |    Reserved   |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                    Variable Length Options                    |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Opt Len counts 4-byte words. Protocol Type is an EtherType (0x6558 Ethernet, 0x0800 IPv4,
// 0x86dd IPv6). gopacket's Geneve allocates two objects per option; this one keeps the options
// as one sub-slice and does not parse them, which is all the flow analysis needs.

// Geneve is a decoded Geneve header with its options left raw.
type Geneve struct {
	layers.BaseLayer
	Version  uint8
	OAM      bool // O: control message
	Critical bool // C: critical options present
	Protocol layers.EthernetType
	VNI      uint32
	Options  []byte // raw option TLVs (a sub-slice of the packet)
}

var _ gopacket.DecodingLayer = (*Geneve)(nil)

// LayerType returns layers.LayerTypeGeneve: this is a faster decoder of the same protocol.
func (g *Geneve) LayerType() gopacket.LayerType { return layers.LayerTypeGeneve }

// CanDecode returns layers.LayerTypeGeneve.
func (g *Geneve) CanDecode() gopacket.LayerClass { return layers.LayerTypeGeneve }

// NextLayerType returns the layer named by the protocol type.
func (g *Geneve) NextLayerType() gopacket.LayerType { return g.Protocol.LayerType() }

// DecodeFromBytes decodes the fixed header and skips the options.
func (g *Geneve) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) < 8 {
		df.SetTruncated()
		return fmt.Errorf("geneve header needs 8 bytes, have %d", len(data))
	}
	g.Version = data[0] >> 6
	optLen := int(data[0]&0x3f) * 4
	g.OAM = data[1]&0x80 != 0
	g.Critical = data[1]&0x40 != 0
	g.Protocol = layers.EthernetType(binary.BigEndian.Uint16(data[2:4]))
	g.VNI = uint32(data[4])<<16 | uint32(data[5])<<8 | uint32(data[6])
	if len(data) < 8+optLen {
		df.SetTruncated()
		return fmt.Errorf("geneve options need %d bytes, have %d", optLen, len(data)-8)
	}
	g.Options = data[8 : 8+optLen]
	g.BaseLayer = layers.BaseLayer{Contents: data[:8+optLen], Payload: data[8+optLen:]}
	return nil
}

// SerializeTo prepends the header and the raw options, whose length must be a multiple of 4.
func (g *Geneve) SerializeTo(b gopacket.SerializeBuffer, _ gopacket.SerializeOptions) error {
	if len(g.Options)%4 != 0 || len(g.Options) > 63*4 {
		return fmt.Errorf("geneve options length %d is not a multiple of 4 up to 252", len(g.Options))
	}
	h, err := b.PrependBytes(8 + len(g.Options))
	if err != nil {
		return err
	}
	h[0] = g.Version<<6 | uint8(len(g.Options)/4)
	h[1] = 0
	if g.OAM {
		h[1] |= 0x80
	}
	if g.Critical {
		h[1] |= 0x40
	}
	binary.BigEndian.PutUint16(h[2:], uint16(g.Protocol))
	h[4], h[5], h[6], h[7] = byte(g.VNI>>16), byte(g.VNI>>8), byte(g.VNI), 0
	copy(h[8:], g.Options)
	return nil
}
