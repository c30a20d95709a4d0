package decode

import (
	"encoding/binary"
	"math/bits"
)

// Fingerprints (DESIGN.md section 4). The hash is a fixed-seed multiply-fold mix in the style
// of wyhash over 64-bit words: allocation-free, a few nanoseconds per word, and the same in
// every process, so truth files and tests can compare values.

const (
	fpSeed   = 0x73746b666c6f7731 // "stkflow1": changing it changes every stored fingerprint
	fpK0     = 0xa0761d6478bd642f
	fpK1     = 0xe7037ed1a0b428db
	fpK2     = 0x8ebc6af09c88c6e3
	fpK3     = 0x589965cc75374cc3
	fpPSeed  = 0x7061796c6f616431 // "payload1"
	fpKindIP = 1                  // an IP packet with or without a transport we know
	fpKindFr = 2                  // a non-first fragment: no transport header
	fpKindEr = 3                  // an ICMP error, fingerprinted from what it quotes
)

// mum multiplies to 128 bits and folds the halves.
func mum(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// absorb mixes one word into the state; the xor with h keeps the state when the product
// degenerates to zero.
func absorb(h, w uint64) uint64 { return mum(h^fpK0, w^fpK1) ^ h }

// finish avalanches the state and keeps zero free for "no fingerprint".
func finish(h uint64) uint64 {
	h = mum(h^fpK2, h^fpK3)
	if h == 0 {
		return 1
	}
	return h
}

// HashPayload hashes up to the first 16 bytes of b with the length, as PayloadHash does. It
// is exported so that tools (e.g. a synthesizer writing truth files) compute the same value.
func HashPayload(b []byte) uint64 {
	var buf [maxPayloadHash]byte
	n := copy(buf[:], b)
	h := absorb(fpPSeed, uint64(n))
	h = absorb(h, binary.LittleEndian.Uint64(buf[:8]))
	h = absorb(h, binary.LittleEndian.Uint64(buf[8:]))
	return finish(h)
}

// fingerprint fills PayloadHash, PayloadHashLen, HeaderFingerprint and Fingerprint from the
// innermost IP packet of d.pkt. Packets without IP get none (all zero).
//
// The words hashed, in order (all from the innermost IP packet and its transport; never
// addresses, ports, ICMP echo identifiers, TTL/hop limit, checksums, MACs, DSCP/ECN, flow
// labels, or any outer header):
//
//  1. kind (IP packet, non-first fragment, ICMP error), IP protocol (after IPv6 extension
//     headers), and PayloadLen (L4 payload length from the headers), plus flag bits saying
//     which of the optional words below follow;
//  2. when the packet is a fragment or IPv4 with a non-zero ID: the IP ID (IPv4 ID or IPv6
//     fragment identification), the fragment offset and the more-fragments bit;
//  3. TCP: sequence and acknowledgement numbers; the flags byte; TSval and TSecr when the
//     timestamps option is present;
//     ICMP other than errors: type and code, and for echo request/reply the sequence number.
//     The echo identifier is left out on purpose: it is ICMP's port, which NAPT rewrites;
//     ICMP errors (v4 types 3, 11, 12; v6 types 1-4): type, code and the 4 header bytes after
//     the checksum (unused, MTU or pointer), then from the QUOTED packet: IP version,
//     protocol, total length (v4) or payload length (v6), IPv4 ID and fragment field or
//     IPv6 fragment identification, and the quoted transport's invariant: TCP sequence
//     number, UDP length, or ICMP echo type, code and sequence. The error's own payload
//     bytes are not hashed, since NAT rewrites the quoted addresses and ports in them;
//  4. only in Fingerprint, not HeaderFingerprint: PayloadHash, when taken.
//
// PayloadHash covers the first n = min(PayloadHashBytes option, 16, PayloadLen) captured
// payload bytes and is taken only when all n were captured, so observations cut by different
// snap lengths hash alike or not at all.
func (d *Decoder) fingerprint() {
	p := d.pkt
	if !p.HasIP {
		return
	}
	if n := min(d.hashBytes, int(p.PayloadLen)); n > 0 && len(p.Payload) >= n && !d.icmpErr {
		p.PayloadHash, p.PayloadHashLen = HashPayload(p.Payload[:n]), uint8(n)
	}

	kind := uint64(fpKindIP)
	switch {
	case d.icmpErr:
		kind = fpKindEr
	case p.FragOffset != 0:
		kind = fpKindFr
	}
	var flags uint64
	const (
		flagID = 1 << iota
		flagTS
	)
	hasID := p.IPID != 0 || p.FragOffset != 0 || p.MoreFrags
	if hasID {
		flags |= flagID
	}
	if d.l4 == l4TCP && p.HasTS {
		flags |= flagTS
	}
	h := absorb(fpSeed, kind|uint64(p.Inner.Proto)<<8|uint64(p.PayloadLen)<<16|flags<<32)
	if hasID {
		h = absorb(h, uint64(p.IPID)|uint64(p.FragOffset)<<32|b2u(p.MoreFrags)<<48)
	}
	switch d.l4 {
	case l4TCP:
		h = absorb(h, uint64(p.TCPSeq)<<32|uint64(p.TCPAck))
		h = absorb(h, uint64(p.TCPFlags))
		if p.HasTS {
			h = absorb(h, uint64(p.TSVal)<<32|uint64(p.TSEcr))
		}
	case l4ICMP:
		w := uint64(p.ICMPType) | uint64(p.ICMPCode)<<8
		switch {
		case d.icmpErr:
			h = absorb(h, w|uint64(d.icmpRest)<<16)
			h = d.absorbQuoted(h, d.quoted)
		case isEcho(p.ICMPType, d.ipVer):
			h = absorb(h, w|uint64(p.ICMPSeq)<<16|1<<32)
		default:
			h = absorb(h, w)
		}
	}
	p.HeaderFingerprint = finish(h)
	p.Fingerprint = p.HeaderFingerprint
	if p.PayloadHashLen > 0 {
		p.Fingerprint = finish(absorb(h, p.PayloadHash))
	}
}

// absorbQuoted mixes in the NAT-invariant fields of the packet an ICMP error quotes (see
// fingerprint). It reads only what was captured; a cut quote contributes what it has.
func (d *Decoder) absorbQuoted(h uint64, q []byte) uint64 {
	if len(q) == 0 {
		return absorb(h, 0)
	}
	var proto uint8
	var l4 []byte
	nonFirst := false
	switch q[0] >> 4 {
	case 4:
		ihl := int(q[0]&0x0f) * 4
		if len(q) < 20 || ihl < 20 {
			return absorb(h, 4)
		}
		proto = q[9]
		frag := binary.BigEndian.Uint16(q[6:8])
		nonFirst = frag&0x1fff != 0
		h = absorb(h, 4|uint64(proto)<<8|uint64(binary.BigEndian.Uint16(q[2:4]))<<16|
			uint64(binary.BigEndian.Uint16(q[4:6]))<<32|uint64(frag&0x3fff)<<48)
		if len(q) >= ihl {
			l4 = q[ihl:]
		}
	case 6:
		if len(q) < 40 {
			return absorb(h, 6)
		}
		proto = q[6]
		plen := uint64(binary.BigEndian.Uint16(q[4:6]))
		l4 = q[40:]
		// skip extension headers inside the quote, noting a fragment header
	ext:
		for i := 0; i < 8 && len(l4) >= 8; i++ {
			switch proto {
			case 0, 43, 60, 135, 139, 140:
				n := int(l4[1])*8 + 8
				proto = l4[0]
				if len(l4) < n {
					l4 = nil
					break ext
				}
				l4 = l4[n:]
			case 44:
				off := binary.BigEndian.Uint16(l4[2:4])
				nonFirst = off&0xfff8 != 0
				h = absorb(h, uint64(binary.BigEndian.Uint32(l4[4:8]))|uint64(off)<<32|1<<48)
				proto = l4[0]
				l4 = l4[8:]
			default:
				break ext
			}
		}
		h = absorb(h, 6|uint64(proto)<<8|plen<<16)
	default:
		return absorb(h, uint64(q[0]>>4))
	}
	if nonFirst {
		return h
	}
	switch proto {
	case 6:
		if len(l4) >= 8 {
			h = absorb(h, uint64(binary.BigEndian.Uint32(l4[4:8]))|1<<32)
		}
	case 17:
		if len(l4) >= 6 {
			h = absorb(h, uint64(binary.BigEndian.Uint16(l4[4:6]))|2<<32)
		}
	case 1, 58:
		ver := uint8(6)
		if proto == 1 {
			ver = 4
		}
		if len(l4) >= 8 && isEcho(l4[0], ver) {
			h = absorb(h, uint64(l4[0])|uint64(l4[1])<<8|uint64(binary.BigEndian.Uint16(l4[6:8]))<<16|3<<32)
		}
	}
	return h
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}
