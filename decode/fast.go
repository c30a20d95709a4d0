package decode

import (
	"encoding/binary"

	"github.com/gopacket/gopacket/layers"
)

// Hand-written decoding of the common headers. Ethernet II, IPv4 without options, TCP and UDP
// carry nearly every packet of a datacenter capture, and gopacket's general decoders (option
// slices, interface calls, fields nothing here reads) cost about half of Decode. Each function
// accepts only input that the gopacket layer decodes without error or truncation, and gives
// exactly what the walk would read from that layer; anything else reports false and the walk
// runs the gopacket decoder, so odd and broken headers keep a single code path.

// fastEthernet returns the EtherType of an Ethernet II header at the start of data.
func (d *Decoder) fastEthernet(data []byte) (layers.EthernetType, bool) {
	if d.slow || len(data) < 14 {
		return 0, false
	}
	t := layers.EthernetType(binary.BigEndian.Uint16(data[12:14]))
	return t, t >= 0x0600 // below: an 802.3 length, which gopacket turns into LLC
}

// fastIPv4 returns the total length of an IPv4 header without options at the start of data
// whose packet was captured whole.
func (d *Decoder) fastIPv4(data []byte) (uint16, bool) {
	if d.slow || len(data) < 20 || data[0]&0x0f != 5 {
		return 0, false
	}
	n := binary.BigEndian.Uint16(data[2:4])
	return n, n >= 20 && int(n) <= len(data)
}

// fastUDP returns the payload of a UDP header at the start of data whose length field is
// usable and within data (zero, as gopacket reads it, means "the rest": a jumbogram).
func (d *Decoder) fastUDP(data []byte) ([]byte, bool) {
	if d.slow || len(data) < 8 {
		return nil, false
	}
	switch n := int(binary.BigEndian.Uint16(data[4:6])); {
	case n == 0:
		return data[8:], true
	case n >= 8 && n <= len(data):
		return data[8:n], true
	}
	return nil, false
}

// fastTCP returns the header length of a TCP header at the start of data and records its
// MSS, window scale and timestamps options in p, as tcpOptions does from gopacket's option
// list. It declines headers cut short and MPTCP options (whose validity gopacket judges by
// subtype), clearing what it recorded.
func (d *Decoder) fastTCP(data []byte, p *Packet) (int, bool) {
	if d.slow || len(data) < 20 {
		return 0, false
	}
	hl := int(data[12]>>4) * 4
	if hl < 20 || hl > len(data) {
		return 0, false
	}
	for o := data[20:hl]; len(o) > 0; {
		switch layers.TCPOptionKind(o[0]) {
		case layers.TCPOptionKindEndList:
			return hl, true
		case layers.TCPOptionKindNop:
			o = o[1:]
			continue
		case layers.TCPOptionKindMultipathTCP:
			p.MSS, p.WScale, p.HasWScale, p.TSVal, p.TSEcr, p.HasTS = 0, 0, false, 0, 0, false
			return 0, false
		}
		if len(o) < 2 || o[1] < 2 || int(o[1]) > len(o) {
			return hl, true // gopacket stops at a malformed option, keeping those before it
		}
		v := o[2:o[1]]
		switch {
		case layers.TCPOptionKind(o[0]) == layers.TCPOptionKindMSS && len(v) == 2:
			p.MSS = binary.BigEndian.Uint16(v)
		case layers.TCPOptionKind(o[0]) == layers.TCPOptionKindWindowScale && len(v) == 1:
			p.WScale, p.HasWScale = v[0], true
		case layers.TCPOptionKind(o[0]) == layers.TCPOptionKindTimestamps && len(v) == 8:
			p.TSVal = binary.BigEndian.Uint32(v)
			p.TSEcr = binary.BigEndian.Uint32(v[4:])
			p.HasTS = true
		}
		o = o[o[1]:]
	}
	return hl, true
}
