package decode

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Options configures a Decoder. The zero value gives the defaults.
type Options struct {
	// VXLANPorts are the UDP ports carrying VXLAN; nil means the defaults 4789 (IANA) and 8472 (Linux),
	// an empty non-nil slice means none.
	VXLANPorts []uint16
	// VXLANGPEPorts are the UDP ports carrying VXLAN-GPE; nil means 4790 (IANA).
	// Added beside the VXLAN list because 4790's header has a next-protocol field of its own.
	VXLANGPEPorts []uint16
	// GenevePorts are the UDP ports carrying Geneve; nil means 6081 (IANA).
	GenevePorts []uint16
	// MaxTunnels bounds the encapsulations decoded per packet; 0 or out of range means
	// the package limit MaxTunnels.
	MaxTunnels int
	// PayloadHashBytes is how many leading L4 payload bytes feed Packet.PayloadHash and the
	// fingerprint; 0 means 16, the most; negative switches payload hashing off.
	PayloadHashBytes int
}

// maxPayloadHash is the largest number of payload bytes ever hashed (DESIGN.md section 4).
const maxPayloadHash = 16

// Stats counts what a Decoder has seen since it was made.
type Stats struct {
	Packets     uint64
	Truncated   uint64 // packets whose most severe problem is SevTruncated
	Malformed   uint64 // ... SevMalformed (unsupported link types included)
	Info        uint64 // ... SevInfo (tunnels nested too deep included)
	Unsupported uint64 // packets of a link type Decode does not know
	TooDeep     uint64 // packets with more tunnels than the limit
	Panics      uint64 // decoder panics turned into errors (each one is a bug)
}

// step names the next header to decode. The decode loop is a switch over steps rather than
// gopacket's DecodingLayerParser: the loop needs each header's byte offset (for errors), must
// copy fields out of a layer before a tunnel's inner frame reuses it, and demuxes UDP through
// our own port table instead of gopacket's global one. The layers themselves are gopacket
// DecodingLayers, preallocated once per Decoder.
type step uint8

const (
	stepStop step = iota
	stepEthernet
	stepDot1Q
	stepARP
	stepLoopback
	stepPPP
	stepCHDLC
	stepSLL
	stepSLL2
	stepRawIP
	stepIPv4
	stepIPv6
	stepIPv6Ext
	stepIPv6Frag
	stepTCP
	stepUDP
	stepICMPv4
	stepICMPv6
	stepGRE
	stepVXLAN
	stepVXLANGPE
	stepGeneve
	stepERSPANII
	stepERSPANIII
)

// l4Kind is the innermost transport decoded.
type l4Kind uint8

const (
	l4None l4Kind = iota
	l4TCP
	l4UDP
	l4ICMP
)

// maxSteps bounds the headers decoded per packet; every step consumes bytes, so this only
// guards against a future step that does not.
const maxSteps = 64

// feedback records gopacket's SetTruncated calls.
type feedback struct{ truncated bool }

func (f *feedback) SetTruncated() { f.truncated = true }

// Decoder turns captured frames into Packets. It holds one preallocated instance of every
// layer and reuses them, so decoding allocates nothing for a well-formed packet. It is not
// safe for concurrent use: make one Decoder per goroutine.
type Decoder struct {
	ports      *portTable
	maxTunnels int
	hashBytes  int
	stats      Stats
	slow       bool // tests: gopacket's decoders only, never the fast paths (fast.go)

	fb feedback
	df gopacket.DecodeFeedback

	eth     layers.Ethernet
	dot1q   layers.Dot1Q
	loop    layers.Loopback
	ppp     PPP
	chdlc   CiscoHDLC
	sll     layers.LinuxSLL
	sll2    layers.LinuxSLL2
	ip4     layers.IPv4
	ip6     layers.IPv6
	ip6ext  layers.IPv6ExtensionSkipper
	ip6frag layers.IPv6Fragment
	tcp     layers.TCP
	udp     layers.UDP
	icmp4   layers.ICMPv4
	icmp6   layers.ICMPv6
	gre     layers.GRE
	vxlan   layers.VXLAN
	gpe     VXLANGPE
	geneve  Geneve
	erspan2 layers.ERSPANII
	erspan3 ERSPANIII

	// State of the packet being decoded.
	pkt      *Packet
	capShort bool   // the capture holds fewer bytes than were on the wire
	lastTCP  bool   // d.tcp holds the innermost transport of the last Decode
	tcpLazy  []byte // when set, d.tcp is still to be decoded from these bytes
	l4Len    int    // bytes after the innermost IP's headers, as its headers state
	ipVer    uint8
	frag     bool // the innermost IP packet is a fragment
	l4       l4Kind
	icmpErr  bool // the innermost transport is an ICMP error; quoted holds what it quotes
	icmpRest uint32
	quoted   []byte
}

// NewDecoder returns a Decoder configured by opts.
func NewDecoder(opts Options) *Decoder {
	d := &Decoder{ports: newPortTable(&opts), maxTunnels: opts.MaxTunnels, hashBytes: opts.PayloadHashBytes}
	if d.maxTunnels <= 0 || d.maxTunnels > MaxTunnels {
		d.maxTunnels = MaxTunnels
	}
	switch {
	case d.hashBytes == 0 || d.hashBytes > maxPayloadHash:
		d.hashBytes = maxPayloadHash
	case d.hashBytes < 0:
		d.hashBytes = 0
	}
	d.df = &d.fb
	return d
}

// Stats returns the counters since the Decoder was made.
func (d *Decoder) Stats() Stats { return d.stats }

// TCP returns the innermost TCP layer of the last Decode, nil when it had none. The layer and
// the bytes it points to are valid until the next Decode; it is what gopacket's reassembly
// wants for the BGP stage.
func (d *Decoder) TCP() *layers.TCP {
	if !d.lastTCP {
		return nil
	}
	if d.tcpLazy != nil {
		// fastTCP accepted these bytes, so gopacket decodes them without an error.
		_ = d.tcp.DecodeFromBytes(d.tcpLazy, gopacket.NilDecodeFeedback)
		d.tcpLazy = nil
	}
	return &d.tcp
}

// Decode decodes one captured frame of the given link type into pkt. origLen is the length on
// the wire (it tells snap-length truncation from malformed headers). Decode fills every field
// derived from the bytes and resets the others, but keeps the position fields the caller owns
// (Input, Point, Number, Offset, Time, CapLen, Len). pkt.Payload points into data. A problem is
// reported in pkt.Err with everything decoded before it kept; Decode never panics.
func (d *Decoder) Decode(data []byte, linkType uint16, origLen uint32, pkt *Packet) {
	// Cleared in place: building the new value in a temporary and copying it costs twice.
	in, pt, num, at, tm, capLen, wire := pkt.Input, pkt.Point, pkt.Number, pkt.Offset, pkt.Time, pkt.CapLen, pkt.Len
	*pkt = Packet{}
	pkt.Input, pkt.Point, pkt.Number, pkt.Offset, pkt.Time, pkt.CapLen, pkt.Len = in, pt, num, at, tm, capLen, wire
	d.pkt = pkt
	d.capShort = uint64(len(data)) < uint64(origLen)
	d.lastTCP, d.l4Len, d.ipVer, d.frag, d.l4, d.icmpErr, d.quoted = false, 0, 0, false, l4None, false, nil
	d.tcpLazy = nil
	d.stats.Packets++
	defer d.recoverPanic()

	first := linkStep(linkType)
	if first == stepStop {
		d.stats.Unsupported++
		d.problem("link", 0, SevMalformed, ErrUnsupported, fmt.Sprintf("link type %d", linkType), 0, 0, nil)
	} else {
		d.walk(data, first)
		d.fingerprint()
	}
	if e := pkt.Err; e != nil {
		switch e.Severity {
		case SevTruncated:
			d.stats.Truncated++
		case SevMalformed:
			d.stats.Malformed++
		default:
			d.stats.Info++
		}
	}
}

// recoverPanic turns a panic inside a layer decoder into a malformed-packet error. It is the
// last line of defence: the layers used here are not known to panic, and FuzzDecode checks.
func (d *Decoder) recoverPanic() {
	if r := recover(); r != nil {
		d.stats.Panics++
		d.lastTCP = false
		d.problem("decode", 0, SevMalformed, ErrMalformed, fmt.Sprintf("decoder panic: %v", r), 0, 0, nil)
		if d.pkt.Err.Severity == SevMalformed {
			d.stats.Malformed++
		}
	}
}

// walk decodes headers from data, starting with first, until nothing we follow remains.
func (d *Decoder) walk(data []byte, next step) {
	pkt := d.pkt
	off := 0 // offset of data within the frame
	for range maxSteps {
		d.fb.truncated = false
		var err error
		var hdr int // header bytes consumed by this step
		switch next {
		case stepEthernet:
			typ, ok := d.fastEthernet(data)
			if !ok {
				if err = d.eth.DecodeFromBytes(data, d.df); err != nil {
					d.fail("ethernet", off, err, len(data) < 14)
					return
				}
				typ = d.eth.EthernetType
			}
			pkt.Layers |= HasEthernet
			if !pkt.HasMAC && pkt.NTunnels == 0 {
				copy(pkt.DstMAC[:], data[0:6])
				copy(pkt.SrcMAC[:], data[6:12])
				pkt.HasMAC = true
			}
			if ok {
				data = data[14:]
			} else {
				data = d.eth.Payload
			}
			next, hdr = etherStep(typ), 14

		case stepDot1Q:
			if err = d.dot1q.DecodeFromBytes(data, d.df); err != nil {
				d.fail("vlan", off, err, len(data) < 4)
				return
			}
			pkt.Layers |= HasVLAN
			if pkt.NTunnels == 0 && int(pkt.NVLAN) < len(pkt.VLANs) {
				pkt.VLANs[pkt.NVLAN] = d.dot1q.VLANIdentifier
				pkt.NVLAN++
			}
			next, hdr, data = etherStep(d.dot1q.Type), 4, d.dot1q.Payload

		case stepARP:
			pkt.Layers |= HasARP
			return

		case stepLoopback:
			if err = d.loop.DecodeFromBytes(data, d.df); err != nil {
				d.fail("null", off, err, len(data) < 4)
				return
			}
			next, hdr, data = loopbackStep(d.loop.Family), 4, d.loop.Payload

		case stepPPP:
			if err = d.ppp.DecodeFromBytes(data, d.df); err != nil {
				d.fail("ppp", off, err, d.fb.truncated)
				return
			}
			pkt.Layers |= HasPPP
			next, hdr, data = pppStep(d.ppp.Protocol), len(d.ppp.Contents), d.ppp.Payload

		case stepCHDLC:
			if err = d.chdlc.DecodeFromBytes(data, d.df); err != nil {
				d.fail("chdlc", off, err, true)
				return
			}
			pkt.Layers |= HasCHDLC
			next, hdr, data = etherStep(d.chdlc.Protocol), 4, d.chdlc.Payload

		case stepSLL:
			if err = d.sll.DecodeFromBytes(data, d.df); err != nil {
				d.fail("sll", off, err, len(data) < 16)
				return
			}
			pkt.Layers |= HasSLL
			next, hdr, data = etherStep(d.sll.EthernetType), 16, d.sll.Payload

		case stepSLL2:
			if err = d.sll2.DecodeFromBytes(data, d.df); err != nil {
				d.fail("sll2", off, err, len(data) < 20)
				return
			}
			pkt.Layers |= HasSLL
			next, hdr, data = etherStep(d.sll2.ProtocolType), 20, d.sll2.Payload

		case stepRawIP:
			if len(data) == 0 {
				d.fail("raw", off, fmt.Errorf("no ip version nibble"), true)
				return
			}
			switch data[0] >> 4 {
			case 4:
				next = stepIPv4
			case 6:
				next = stepIPv6
			default:
				d.problem("raw", off, SevMalformed, ErrMalformed,
					fmt.Sprintf("ip version nibble %d", data[0]>>4), 0, 0, nil)
				return
			}
			continue

		case stepIPv4:
			n := len(data)
			if length, ok := d.fastIPv4(data); ok {
				next, hdr = d.ipv4(off, n, data, length, data[20:length]), 20
				data = data[20:length]
				break
			}
			if err = d.ip4.DecodeFromBytes(data, d.df); err != nil {
				d.fail("ipv4", off, err, len(data) < 20 || int(data[0]&0x0f)*4 > len(data))
				return
			}
			ip := &d.ip4
			next, hdr = d.ipv4(off, n, data, ip.Length, ip.Payload), int(ip.IHL)*4
			data = ip.Payload

		case stepIPv6:
			if err = d.ip6.DecodeFromBytes(data, d.df); err != nil {
				d.fail("ipv6", off, err, d.fb.truncated)
				return
			}
			next, hdr = d.ipv6(off, len(data))
			data = d.ip6.Payload

		case stepIPv6Ext:
			if err = d.ip6ext.DecodeFromBytes(data, d.df); err != nil {
				d.fail("ipv6-ext", off, err, true)
				return
			}
			hdr = len(d.ip6ext.Contents)
			d.l4Len -= hdr
			pkt.Inner.Proto = uint8(d.ip6ext.NextHeader)
			pkt.PayloadLen, pkt.Payload = clampLen(d.l4Len), d.ip6ext.Payload
			next, data = ipStep(d.ip6ext.NextHeader, 6), d.ip6ext.Payload

		case stepIPv6Frag:
			if err = d.ip6frag.DecodeFromBytes(data, d.df); err != nil {
				d.fail("ipv6-frag", off, err, true)
				return
			}
			next, hdr, data = d.ipv6Fragment(), 8, d.ip6frag.Payload

		case stepTCP:
			if hl, ok := d.fastTCP(data, pkt); ok {
				d.tcpLazy = data // d.tcp is decoded from it only if TCP is called
				d.transportTCP(off, data[:hl], data[hl:])
				return
			}
			if err = d.tcp.DecodeFromBytes(data, d.df); err != nil {
				d.fail("tcp", off, err, d.fb.truncated)
				pkt.Payload = nil // holds a broken header, ports included: not for hashing
				return
			}
			d.tcpOptions()
			d.transportTCP(off, d.tcp.Contents, d.tcp.Payload)
			return

		case stepUDP:
			payload, ok := d.fastUDP(data)
			if !ok {
				if err = d.udp.DecodeFromBytes(data, d.df); err != nil {
					d.fail("udp", off, err, len(data) < 8)
					pkt.Payload = nil
					return
				}
				payload = d.udp.Payload
			}
			if next = d.transportUDP(off, data, payload); next == stepStop {
				return
			}
			hdr, data = 8, payload

		case stepICMPv4:
			if err = d.icmp4.DecodeFromBytes(data, d.df); err != nil {
				d.fail("icmp", off, err, true)
				pkt.Payload = nil
				return
			}
			t := d.icmp4.TypeCode
			d.transportICMP(off, data, t.Type(), t.Code(), 4)
			return

		case stepICMPv6:
			if err = d.icmp6.DecodeFromBytes(data, d.df); err != nil {
				d.fail("icmpv6", off, err, true)
				pkt.Payload = nil
				return
			}
			t := d.icmp6.TypeCode
			d.transportICMP(off, data, t.Type(), t.Code(), 6)
			return

		case stepGRE:
			if err = d.gre.DecodeFromBytes(data, d.df); err != nil {
				d.fail("gre", off, err, d.fb.truncated)
				return
			}
			pkt.Layers |= HasGRE
			hdr = len(d.gre.Contents)
			kind, after := greNext(&d.gre)
			if kind == TunnelNone || d.frag { // a fragment's inner frame is cut short by design
				return
			}
			if kind == TunnelERSPAN {
				pkt.Layers |= HasERSPAN
			}
			if after == stepERSPANII || after == stepERSPANIII {
				// the tunnel is recorded once its own header has decoded
				next, data = after, d.gre.Payload
				break
			}
			t := Tunnel{Type: kind, Key: d.gre.Key, HasKey: d.gre.KeyPresent}
			if kind == TunnelNVGRE {
				pkt.Layers |= HasNVGRE
				t.VNI, t.HasVNI, t.FlowID = d.gre.Key>>8, true, uint8(d.gre.Key)
			}
			if !d.enterTunnel(t, off) {
				return
			}
			next, data = after, d.gre.Payload

		case stepERSPANII:
			if err = d.erspan2.DecodeFromBytes(data, d.df); err != nil {
				d.fail("erspan", off, err, len(data) < 8)
				return
			}
			if !d.enterTunnel(Tunnel{Type: TunnelERSPAN, Key: d.gre.Key, HasKey: d.gre.KeyPresent}, off) {
				return
			}
			next, hdr, data = stepEthernet, 8, d.erspan2.Payload

		case stepERSPANIII:
			if err = d.erspan3.DecodeFromBytes(data, d.df); err != nil {
				d.fail("erspan", off, err, d.fb.truncated)
				return
			}
			if !d.enterTunnel(Tunnel{Type: TunnelERSPAN, Key: d.gre.Key, HasKey: d.gre.KeyPresent}, off) {
				return
			}
			hdr, data = len(d.erspan3.Contents), d.erspan3.Payload
			switch d.erspan3.FrameType {
			case ERSPANFrameEthernet:
				next = stepEthernet
			case ERSPANFrameIP:
				next = stepRawIP
			default:
				return
			}

		case stepVXLAN:
			if len(data) < 8 { // what gopacket's VXLAN decoder rejects; its fields are read here
				err = d.vxlan.DecodeFromBytes(data, d.df)
				d.fail("vxlan", off, err, true)
				return
			}
			pkt.Layers |= HasVXLAN
			vni := uint32(data[4])<<16 | uint32(data[5])<<8 | uint32(data[6])
			if !d.enterTunnel(Tunnel{Type: TunnelVXLAN, VNI: vni, HasVNI: data[0]&0x08 != 0}, off) {
				return
			}
			next, hdr, data = stepEthernet, 8, data[8:]

		case stepVXLANGPE:
			if err = d.gpe.DecodeFromBytes(data, d.df); err != nil {
				d.fail("vxlan", off, err, true)
				return
			}
			pkt.Layers |= HasVXLAN
			if !d.enterTunnel(Tunnel{Type: TunnelVXLAN, VNI: d.gpe.VNI, HasVNI: d.gpe.ValidVNI}, off) {
				return
			}
			next, hdr, data = gpeStep(&d.gpe), 8, d.gpe.Payload

		case stepGeneve:
			if err = d.geneve.DecodeFromBytes(data, d.df); err != nil {
				d.fail("geneve", off, err, true)
				return
			}
			pkt.Layers |= HasGeneve
			if !d.enterTunnel(Tunnel{Type: TunnelGeneve, VNI: d.geneve.VNI, HasVNI: true}, off) {
				return
			}
			next, hdr, data = payloadStep(d.geneve.Protocol), len(d.geneve.Contents), d.geneve.Payload

		default:
			return
		}
		off += hdr
		if next == stepStop {
			return
		}
	}
}

// ipStep maps an IP protocol (or IPv6 next header) to the next step; IPv6 extension headers
// are followed only after IPv6.
func ipStep(p layers.IPProtocol, ver uint8) step {
	switch p {
	case layers.IPProtocolTCP:
		return stepTCP
	case layers.IPProtocolUDP:
		return stepUDP
	case layers.IPProtocolICMPv4:
		return stepICMPv4
	case layers.IPProtocolICMPv6:
		return stepICMPv6
	case layers.IPProtocolGRE:
		return stepGRE
	}
	if ver == 6 {
		switch p {
		case layers.IPProtocolIPv6HopByHop, layers.IPProtocolIPv6Routing, layers.IPProtocolIPv6Destination,
			135, 139, 140: // Mobility, HIP, Shim6: all in the generic 8-octet-unit format
			return stepIPv6Ext
		case layers.IPProtocolIPv6Fragment:
			return stepIPv6Frag
		}
	}
	return stepStop
}

// enterIP starts a new innermost IP packet: the transport fields of any outer packet go.
func (d *Decoder) enterIP(ver uint8, off int) {
	p := d.pkt
	p.Inner = Tuple{}
	p.HasIP, p.IPVersion, p.IPOffset = true, ver, uint32(off)
	p.IPID, p.FragOffset, p.MoreFrags = 0, 0, false
	p.TCPSeq, p.TCPAck, p.TCPFlags, p.TCPWindow = 0, 0, 0, 0
	p.TSVal, p.TSEcr, p.HasTS, p.MSS, p.WScale, p.HasWScale = 0, 0, false, 0, 0, false
	p.ICMPType, p.ICMPCode, p.ICMPSeq = 0, 0, 0
	p.PayloadLen, p.Payload = 0, nil
	d.ipVer, d.frag, d.l4, d.icmpErr, d.quoted, d.lastTCP = ver, false, l4None, false, nil, false
}

// ipv4 records the decoded IPv4 header h found at off in n captured bytes, with the total
// length as decoded (gopacket takes the captured length for a zero field) and the payload
// within it, and returns the next step.
func (d *Decoder) ipv4(off, n int, h []byte, length uint16, payload []byte) step {
	p := d.pkt
	d.enterIP(4, off)
	p.Layers |= HasIPv4
	p.Inner.Src = netip.AddrFrom4([4]byte(h[12:16]))
	p.Inner.Dst = netip.AddrFrom4([4]byte(h[16:20]))
	proto := layers.IPProtocol(h[9])
	p.Inner.Proto = uint8(proto)
	p.TTL, p.IPID, p.IPLen = h[8], uint32(binary.BigEndian.Uint16(h[4:6])), length
	ff := binary.BigEndian.Uint16(h[6:8])
	p.FragOffset, p.MoreFrags = ff&0x1fff*8, layers.IPv4Flag(ff>>13)&layers.IPv4MoreFragments != 0
	d.l4Len = int(length) - int(h[0]&0x0f)*4
	p.PayloadLen, p.Payload = clampLen(d.l4Len), payload // until a transport says otherwise
	if int(length) > n {
		d.short("ipv4", off, "total length", int(length), n)
	}
	if p.FragOffset != 0 || p.MoreFrags {
		p.Layers |= HasFragment
		d.frag = true
		if p.FragOffset != 0 { // no transport header in here
			return stepStop
		}
	}
	return ipStep(proto, 4)
}

// ipv6 records the decoded IPv6 header (and hop-by-hop options, which gopacket decodes with
// it) and returns the next step and the header bytes consumed.
func (d *Decoder) ipv6(off, n int) (step, int) {
	ip, p := &d.ip6, d.pkt
	d.enterIP(6, off)
	p.Layers |= HasIPv6
	p.Inner.Src = netip.AddrFrom16([16]byte(ip.SrcIP))
	p.Inner.Dst = netip.AddrFrom16([16]byte(ip.DstIP))
	p.TTL = ip.HopLimit
	p.IPLen = uint16(min(40+int(ip.Length), 0xffff))
	hdr, nh := 40, ip.NextHeader
	if ip.HopByHop != nil {
		hdr += ip.HopByHop.ActualLength
		nh = ip.HopByHop.NextHeader
	}
	p.Inner.Proto = uint8(nh)
	if ip.Length == 0 { // jumbogram: gopacket bounded the payload by the jumbo length
		d.l4Len = len(ip.Payload)
	} else {
		d.l4Len = int(ip.Length) + 40 - hdr
		if 40+int(ip.Length) > n {
			d.short("ipv6", off, "payload length", 40+int(ip.Length), n)
		}
	}
	p.PayloadLen, p.Payload = clampLen(d.l4Len), ip.Payload // until a transport says otherwise
	return ipStep(nh, 6), hdr
}

// ipv6Fragment records the fragment header and returns the next step.
func (d *Decoder) ipv6Fragment() step {
	f, p := &d.ip6frag, d.pkt
	d.l4Len -= 8
	p.PayloadLen, p.Payload = clampLen(d.l4Len), f.Payload
	p.Inner.Proto = uint8(f.NextHeader)
	p.IPID, p.FragOffset, p.MoreFrags = f.Identification, f.FragmentOffset*8, f.MoreFragments
	if p.FragOffset == 0 && !p.MoreFrags { // atomic fragment (RFC 6946): a whole packet
		return ipStep(f.NextHeader, 6)
	}
	p.Layers |= HasFragment
	d.frag = true
	if p.FragOffset != 0 {
		return stepStop
	}
	return ipStep(f.NextHeader, 6)
}

// transportTCP records the decoded TCP header h (options included, which the caller has
// recorded) found at off, and the payload after it.
func (d *Decoder) transportTCP(off int, h, payload []byte) {
	p := d.pkt
	p.Layers |= HasTCP
	sport, dport := binary.BigEndian.Uint16(h[0:2]), binary.BigEndian.Uint16(h[2:4])
	p.Inner.SrcPort, p.Inner.DstPort = sport, dport
	if sport == 53 || dport == 53 {
		p.Layers |= HasDNS
	}
	p.TCPSeq, p.TCPAck = binary.BigEndian.Uint32(h[4:8]), binary.BigEndian.Uint32(h[8:12])
	p.TCPWindow = binary.BigEndian.Uint16(h[14:16])
	p.TCPFlags = h[13]
	hl := len(h)
	if hl > d.l4Len {
		d.problem("tcp", off, SevMalformed, ErrMalformed, "header longer than the ip payload", hl, d.l4Len, nil)
	}
	p.PayloadLen, p.Payload = clampLen(d.l4Len-hl), payload
	d.lastTCP, d.l4 = true, l4TCP
}

// tcpOptions records the MSS, window scale and timestamps options of the decoded d.tcp.
func (d *Decoder) tcpOptions() {
	t, p := &d.tcp, d.pkt
	for i := range t.Options {
		o := &t.Options[i]
		switch {
		case o.OptionType == layers.TCPOptionKindMSS && len(o.OptionData) == 2:
			p.MSS = binary.BigEndian.Uint16(o.OptionData)
		case o.OptionType == layers.TCPOptionKindWindowScale && len(o.OptionData) == 1:
			p.WScale, p.HasWScale = o.OptionData[0], true
		case o.OptionType == layers.TCPOptionKindTimestamps && len(o.OptionData) == 8:
			p.TSVal = binary.BigEndian.Uint32(o.OptionData)
			p.TSEcr = binary.BigEndian.Uint32(o.OptionData[4:])
			p.HasTS = true
		}
	}
}

// transportUDP records the decoded UDP header at the start of data, found at off, with its
// payload as decoded, and returns the tunnel step its ports name, or stepStop.
func (d *Decoder) transportUDP(off int, data, payload []byte) step {
	p := d.pkt
	p.Layers |= HasUDP
	src, dst := binary.BigEndian.Uint16(data[0:2]), binary.BigEndian.Uint16(data[2:4])
	length := binary.BigEndian.Uint16(data[4:6])
	p.Inner.SrcPort, p.Inner.DstPort = src, dst
	if src == 53 || dst == 53 {
		p.Layers |= HasDNS
	}
	switch {
	case d.l4Len < 8:
		d.problem("udp", off, SevMalformed, ErrMalformed, "header longer than the ip payload", 8, d.l4Len, nil)
	case int(length) > d.l4Len && !d.frag:
		d.problem("udp", off, SevMalformed, ErrMalformed, "length field beyond the ip payload", int(length), d.l4Len, nil)
	}
	p.PayloadLen, p.Payload = clampLen(d.l4Len-8), payload
	d.l4 = l4UDP
	if d.frag {
		// a first fragment: the tunnel's inner frame is cut short by design, so the
		// carrier is the innermost packet until the Defragmenter rebuilds it
		return stepStop
	}
	return udpTunnelStep[d.ports.lookup(src, dst)]
}

// transportICMP records an ICMP message (ICMPv4 or ICMPv6 as ver says) found at off. Both
// have type, code, checksum and 4 more header bytes (echo id and sequence, an unused word, an
// MTU or a pointer) before the payload.
func (d *Decoder) transportICMP(off int, data []byte, typ, code uint8, ver uint8) {
	p := d.pkt
	p.Layers |= HasICMP
	p.ICMPType, p.ICMPCode = typ, code
	d.l4 = l4ICMP
	proto := "icmp"
	if ver == 6 {
		proto = "icmpv6"
	}
	if len(data) < 8 {
		d.short(proto, off, "header", 8, len(data))
		p.Payload = nil
		return
	}
	d.icmpRest = binary.BigEndian.Uint32(data[4:8])
	payload := data[8:]
	if d.l4Len < 8 {
		d.problem(proto, off, SevMalformed, ErrMalformed, "header longer than the ip payload", 8, d.l4Len, nil)
	}
	p.PayloadLen, p.Payload = clampLen(d.l4Len-8), payload
	if isEcho(typ, ver) {
		id := uint16(d.icmpRest >> 16)
		p.Inner.SrcPort, p.Inner.DstPort, p.ICMPSeq = id, id, uint16(d.icmpRest)
	} else if isICMPError(typ, ver) {
		d.icmpErr, d.quoted = true, payload
	}
}

// isEcho reports whether an ICMP type is an echo request or reply.
func isEcho(typ, ver uint8) bool {
	if ver == 4 {
		return typ == 0 || typ == 8
	}
	return typ == 128 || typ == 129
}

// isICMPError reports whether an ICMP type quotes the packet that caused it: destination
// unreachable (incl. fragmentation needed), time exceeded and parameter problem for ICMPv4;
// the same plus packet too big for ICMPv6.
func isICMPError(typ, ver uint8) bool {
	if ver == 4 {
		return typ == 3 || typ == 11 || typ == 12
	}
	return typ >= 1 && typ <= 4
}

// enterTunnel records tunnel t, carried by the current innermost packet whose tunnel header
// starts at off, and reports whether its inner frame may be decoded.
func (d *Decoder) enterTunnel(t Tunnel, off int) bool {
	p := d.pkt
	if int(p.NTunnels) >= d.maxTunnels {
		d.stats.TooDeep++
		d.problem(t.Type.String(), off, SevInfo, ErrTooDeep, fmt.Sprintf("tunnel %d of at most %d", p.NTunnels+1, d.maxTunnels), 0, 0, nil)
		return false
	}
	t.Outer = p.Inner
	p.Tunnels[p.NTunnels] = t
	p.NTunnels++
	return true
}

// clampLen converts a computed length to the uint16 of the Packet, negative as 0.
func clampLen(n int) uint16 {
	return uint16(max(0, min(n, 0xffff)))
}
