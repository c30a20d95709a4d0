package decode

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// PPP framing (RFC 1661) as captured with LINKTYPE_PPP (9) and LINKTYPE_PPP_HDLC (50). The
// HDLC-like address and control bytes (RFC 1662) are optional; the protocol field is one byte
// when its low bit is set (protocol field compression), else two:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	| Address 0xff  | Control 0x03  |        Protocol (1 or 2)      |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Protocol 0x0021 is IPv4, 0x0057 IPv6, 0x0281 MPLS. gopacket has a PPP layer but no
// DecodingLayer for it, so the hot path uses this one; it reuses layers.LayerTypePPP.

// PPP is a decoded PPP header.
type PPP struct {
	layers.BaseLayer
	HasAddressControl bool // the frame started with 0xff 0x03
	Protocol          layers.PPPType
}

var _ gopacket.DecodingLayer = (*PPP)(nil)

// LayerType returns layers.LayerTypePPP.
func (p *PPP) LayerType() gopacket.LayerType { return layers.LayerTypePPP }

// CanDecode returns layers.LayerTypePPP.
func (p *PPP) CanDecode() gopacket.LayerClass { return layers.LayerTypePPP }

// NextLayerType returns the layer named by the protocol field. (gopacket's PPPType table names
// no layer types, so the mapping is spelled out here.)
func (p *PPP) NextLayerType() gopacket.LayerType {
	switch p.Protocol {
	case layers.PPPTypeIPv4:
		return layers.LayerTypeIPv4
	case layers.PPPTypeIPv6:
		return layers.LayerTypeIPv6
	case layers.PPPTypeMPLSUnicast, layers.PPPTypeMPLSMulticast:
		return layers.LayerTypeMPLS
	}
	return gopacket.LayerTypePayload
}

var errPPPProtocol = errors.New("ppp protocol field must be odd in its last byte")

// DecodeFromBytes decodes the optional address/control bytes and the protocol field.
func (p *PPP) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	off := 0
	p.HasAddressControl = len(data) >= 2 && data[0] == 0xff && data[1] == 0x03
	if p.HasAddressControl {
		off = 2
	}
	if len(data) < off+1 {
		df.SetTruncated()
		return fmt.Errorf("ppp protocol field at byte %d: no bytes left", off)
	}
	if data[off]&1 == 1 { // compressed one-byte protocol
		p.Protocol = layers.PPPType(data[off])
		off++
	} else {
		if len(data) < off+2 {
			df.SetTruncated()
			return fmt.Errorf("ppp protocol field at byte %d: needs 2 bytes, have %d", off, len(data)-off)
		}
		if data[off+1]&1 == 0 {
			return fmt.Errorf("%w: 0x%02x%02x at byte %d", errPPPProtocol, data[off], data[off+1], off)
		}
		p.Protocol = layers.PPPType(binary.BigEndian.Uint16(data[off:]))
		off += 2
	}
	p.BaseLayer = layers.BaseLayer{Contents: data[:off], Payload: data[off:]}
	return nil
}

// SerializeTo prepends the protocol field (always two bytes) and, when HasAddressControl is
// set, the 0xff 0x03 address and control bytes.
func (p *PPP) SerializeTo(b gopacket.SerializeBuffer, _ gopacket.SerializeOptions) error {
	n := 2
	if p.HasAddressControl {
		n = 4
	}
	h, err := b.PrependBytes(n)
	if err != nil {
		return err
	}
	if p.HasAddressControl {
		h[0], h[1] = 0xff, 0x03
	}
	binary.BigEndian.PutUint16(h[n-2:], uint16(p.Protocol))
	return nil
}

// LinkFlow returns layers.PPPFlow: a point-to-point link has no addresses.
func (p *PPP) LinkFlow() gopacket.Flow { return layers.PPPFlow }
