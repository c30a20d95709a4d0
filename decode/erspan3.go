package decode

import (
	"encoding/binary"
	"fmt"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// ERSPAN type III (draft-foschiano-erspan), carried in GRE with protocol 0x22eb:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Ver  |          VLAN         | COS |BSO|T|     Session ID    |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                          Timestamp                            |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|             SGT               |P|    FT   |   Hw ID   |D|Gra|O|
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|        Platform Specific SubHeader (8 octets, when O is set)  |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Ver is 2. FT says what follows: 0 an Ethernet frame, 2 an IP packet. gopacket decodes type II
// (layers.ERSPANII) but not type III.

// ERSPAN type III frame types.
const (
	ERSPANFrameEthernet = 0
	ERSPANFrameIP       = 2
)

// ERSPANIII is a decoded ERSPAN type III header.
type ERSPANIII struct {
	layers.BaseLayer
	Version   uint8
	VLAN      uint16
	SessionID uint16
	Timestamp uint32
	SGT       uint16
	FrameType uint8 // ERSPANFrameEthernet or ERSPANFrameIP
	HwID      uint8
	Direction bool // D: egress
	Subheader bool // O: an 8-byte platform specific subheader follows
}

var _ gopacket.DecodingLayer = (*ERSPANIII)(nil)

// LayerType returns LayerTypeERSPANIII.
func (e *ERSPANIII) LayerType() gopacket.LayerType { return LayerTypeERSPANIII }

// CanDecode returns LayerTypeERSPANIII.
func (e *ERSPANIII) CanDecode() gopacket.LayerClass { return LayerTypeERSPANIII }

// NextLayerType returns Ethernet for mirrored frames; for FT = IP the version nibble of the
// payload decides.
func (e *ERSPANIII) NextLayerType() gopacket.LayerType {
	switch e.FrameType {
	case ERSPANFrameEthernet:
		return layers.LayerTypeEthernet
	case ERSPANFrameIP:
		if len(e.Payload) > 0 && e.Payload[0]>>4 == 6 {
			return layers.LayerTypeIPv6
		}
		return layers.LayerTypeIPv4
	}
	return gopacket.LayerTypePayload
}

// DecodeFromBytes decodes the 12-byte header and skips the optional subheader.
func (e *ERSPANIII) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) < 12 {
		df.SetTruncated()
		return fmt.Errorf("erspan iii header needs 12 bytes, have %d", len(data))
	}
	e.Version = data[0] >> 4
	if e.Version != 2 {
		return fmt.Errorf("erspan iii version %d at byte 0, want 2", e.Version)
	}
	e.VLAN = binary.BigEndian.Uint16(data[0:2]) & 0x0fff
	e.SessionID = binary.BigEndian.Uint16(data[2:4]) & 0x03ff
	e.Timestamp = binary.BigEndian.Uint32(data[4:8])
	e.SGT = binary.BigEndian.Uint16(data[8:10])
	e.FrameType = data[10] >> 2 & 0x1f
	e.HwID = (data[10]&0x03)<<4 | data[11]>>4
	e.Direction = data[11]&0x08 != 0
	e.Subheader = data[11]&0x01 != 0
	n := 12
	if e.Subheader {
		n += 8
		if len(data) < n {
			df.SetTruncated()
			return fmt.Errorf("erspan iii subheader needs 8 bytes, have %d", len(data)-12)
		}
	}
	e.BaseLayer = layers.BaseLayer{Contents: data[:n], Payload: data[n:]}
	return nil
}

func decodeERSPANIII(data []byte, p gopacket.PacketBuilder) error {
	e := &ERSPANIII{}
	if err := e.DecodeFromBytes(data, p); err != nil {
		return err
	}
	p.AddLayer(e)
	return p.NextDecoder(e.NextLayerType())
}
