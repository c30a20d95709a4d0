package decode

import (
	"encoding/binary"
	"fmt"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Cisco HDLC framing (LINKTYPE_C_HDLC, 104), as Cisco routers put it on serial links. The
// capture holds the frame without flags and FCS:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|    Address    |    Control    |       Protocol (EtherType)    |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Address is 0x0f for unicast and 0x8f for broadcast; Control is 0. The protocol is an
// EtherType (0x0800 IPv4, 0x86dd IPv6), or 0x8035 for Cisco's SLARP keepalives.

// Cisco HDLC address values.
const (
	CiscoHDLCUnicast   = 0x0f
	CiscoHDLCBroadcast = 0x8f
)

// CiscoHDLC is a decoded Cisco HDLC header.
type CiscoHDLC struct {
	layers.BaseLayer
	Address  uint8
	Control  uint8
	Protocol layers.EthernetType
}

var _ gopacket.DecodingLayer = (*CiscoHDLC)(nil)

// LayerType returns LayerTypeCiscoHDLC.
func (c *CiscoHDLC) LayerType() gopacket.LayerType { return LayerTypeCiscoHDLC }

// CanDecode returns LayerTypeCiscoHDLC.
func (c *CiscoHDLC) CanDecode() gopacket.LayerClass { return LayerTypeCiscoHDLC }

// NextLayerType returns the layer named by the protocol field.
func (c *CiscoHDLC) NextLayerType() gopacket.LayerType { return c.Protocol.LayerType() }

// DecodeFromBytes decodes the 4-byte header. The address byte is not checked beyond being
// present: captures carry vendor values other than 0x0f/0x8f and the protocol is what matters.
func (c *CiscoHDLC) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) < 4 {
		df.SetTruncated()
		return fmt.Errorf("cisco hdlc header needs 4 bytes, have %d", len(data))
	}
	c.Address = data[0]
	c.Control = data[1]
	c.Protocol = layers.EthernetType(binary.BigEndian.Uint16(data[2:4]))
	c.BaseLayer = layers.BaseLayer{Contents: data[:4], Payload: data[4:]}
	return nil
}

// SerializeTo prepends the header; an unset address is written as unicast.
func (c *CiscoHDLC) SerializeTo(b gopacket.SerializeBuffer, _ gopacket.SerializeOptions) error {
	h, err := b.PrependBytes(4)
	if err != nil {
		return err
	}
	h[0] = c.Address
	if h[0] == 0 {
		h[0] = CiscoHDLCUnicast
	}
	h[1] = c.Control
	binary.BigEndian.PutUint16(h[2:], uint16(c.Protocol))
	return nil
}

func decodeCiscoHDLC(data []byte, p gopacket.PacketBuilder) error {
	c := &CiscoHDLC{}
	if err := c.DecodeFromBytes(data, p); err != nil {
		return err
	}
	p.AddLayer(c)
	p.SetLinkLayer(c)
	return p.NextDecoder(c.Protocol)
}

// LinkFlow returns an empty flow: HDLC on a point-to-point link has no addresses.
func (c *CiscoHDLC) LinkFlow() gopacket.Flow { return gopacket.Flow{} }
