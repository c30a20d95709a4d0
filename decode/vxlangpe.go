package decode

import (
	"fmt"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// VXLAN Generic Protocol Extension (draft-ietf-nvo3-vxlan-gpe), IANA UDP port 4790:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|R|R|Ver|I|P|B|O|       Reserved                |Next Protocol  |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                VXLAN Network Identifier (VNI) |   Reserved    |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// With P set, Next Protocol names the payload: 1 IPv4, 2 IPv6, 3 Ethernet, 4 NSH, 5 MPLS.
// Without P the header is plain VXLAN and an Ethernet frame follows. Arkime's
// gre-erspan-vxlan sample (flags 0x0c, next protocol 3) is of this kind; tshark shows it
// as "vxlan", and stackflow reports it as a VXLAN tunnel too.

// VXLAN-GPE next protocol values.
const (
	GPENextIPv4     = 1
	GPENextIPv6     = 2
	GPENextEthernet = 3
	GPENextNSH      = 4
	GPENextMPLS     = 5
)

// VXLANGPE is a decoded VXLAN-GPE header.
type VXLANGPE struct {
	layers.BaseLayer
	Version      uint8
	ValidVNI     bool // I
	NextProtocol uint8
	HasNext      bool // P: NextProtocol is meaningful
	BUM          bool // B
	OAM          bool // O
	VNI          uint32
}

var _ gopacket.DecodingLayer = (*VXLANGPE)(nil)

// LayerType returns LayerTypeVXLANGPE.
func (v *VXLANGPE) LayerType() gopacket.LayerType { return LayerTypeVXLANGPE }

// CanDecode returns LayerTypeVXLANGPE.
func (v *VXLANGPE) CanDecode() gopacket.LayerClass { return LayerTypeVXLANGPE }

// NextLayerType maps the next protocol to a gopacket layer; without P it is Ethernet.
func (v *VXLANGPE) NextLayerType() gopacket.LayerType {
	if !v.HasNext {
		return layers.LayerTypeEthernet
	}
	switch v.NextProtocol {
	case GPENextIPv4:
		return layers.LayerTypeIPv4
	case GPENextIPv6:
		return layers.LayerTypeIPv6
	case GPENextEthernet:
		return layers.LayerTypeEthernet
	case GPENextMPLS:
		return layers.LayerTypeMPLS
	}
	return gopacket.LayerTypePayload
}

// DecodeFromBytes decodes the 8-byte header.
func (v *VXLANGPE) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) < 8 {
		df.SetTruncated()
		return fmt.Errorf("vxlan-gpe header needs 8 bytes, have %d", len(data))
	}
	f := data[0]
	v.Version = f >> 4 & 0x03
	v.ValidVNI = f&0x08 != 0
	v.HasNext = f&0x04 != 0
	v.BUM = f&0x02 != 0
	v.OAM = f&0x01 != 0
	v.NextProtocol = data[3]
	v.VNI = uint32(data[4])<<16 | uint32(data[5])<<8 | uint32(data[6])
	v.BaseLayer = layers.BaseLayer{Contents: data[:8], Payload: data[8:]}
	return nil
}

// SerializeTo prepends the header.
func (v *VXLANGPE) SerializeTo(b gopacket.SerializeBuffer, _ gopacket.SerializeOptions) error {
	h, err := b.PrependBytes(8)
	if err != nil {
		return err
	}
	h[0] = (v.Version & 0x03) << 4
	for _, bit := range [...]struct {
		on   bool
		mask byte
	}{{v.ValidVNI, 0x08}, {v.HasNext, 0x04}, {v.BUM, 0x02}, {v.OAM, 0x01}} {
		if bit.on {
			h[0] |= bit.mask
		}
	}
	h[1], h[2], h[3] = 0, 0, v.NextProtocol
	h[4], h[5], h[6], h[7] = byte(v.VNI>>16), byte(v.VNI>>8), byte(v.VNI), 0
	return nil
}

func decodeVXLANGPE(data []byte, p gopacket.PacketBuilder) error {
	v := &VXLANGPE{}
	if err := v.DecodeFromBytes(data, p); err != nil {
		return err
	}
	p.AddLayer(v)
	return p.NextDecoder(v.NextLayerType())
}
