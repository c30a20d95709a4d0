package conn

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"

	"github.com/stackflow/stackflow/decode"
)

// Community ID v1 (https://github.com/corelight/community-id-spec): SHA-1 over
//
//	seed (2 bytes, big endian) | src addr (4 or 16) | dst addr | proto (1) | 0 (1) | sport (2) | dport (2)
//
// with the endpoints ordered so that (src addr, src port) < (dst addr, dst port); ports are
// included only for TCP, UDP, SCTP, ICMP and ICMPv6. ICMP has no ports: the type takes the source
// port's place and, for request/reply pairs, the counterpart type the destination's, so both
// directions hash alike; any other message is "one-way", keeps its code as the destination
// port and is never reordered. The digest is base64-encoded (standard alphabet, padded) and
// prefixed with "1:".

// Protocol numbers the flow table treats specially.
const (
	ProtoICMP   = 1
	ProtoTCP    = 6
	ProtoUDP    = 17
	ProtoICMPv6 = 58
	ProtoSCTP   = 132
)

// icmpCounterpart maps ICMPv4 request/reply types to each other (Community ID spec, after Zeek's
// ICMP4_counterpart): echo, timestamp, information, router solicitation -> advertisement,
// address mask. Router advertisement (9) is deliberately absent: the spec treats it as one-way.
var icmpCounterpart = map[uint8]uint8{
	8: 0, 0: 8, 13: 14, 14: 13, 15: 16, 16: 15, 10: 9, 17: 18, 18: 17,
}

// icmp6Counterpart is the ICMPv6 equivalent: echo, router and neighbor discovery, MLD query and
// report, node information (who-are-you), home agent address discovery.
var icmp6Counterpart = map[uint8]uint8{
	128: 129, 129: 128, 133: 134, 134: 133, 135: 136, 136: 135,
	130: 131, 131: 130, 139: 140, 140: 139, 144: 145, 145: 144,
}

// icmpPorts returns the port equivalents of an ICMP message and whether it is one-way.
func icmpPorts(v6 bool, typ, code uint8) (sport, dport uint16, oneWay bool) {
	m := icmpCounterpart
	if v6 {
		m = icmp6Counterpart
	}
	if c, ok := m[typ]; ok {
		return uint16(typ), uint16(c), false
	}
	return uint16(typ), uint16(code), true
}

// hasPortsForCommunityID reports whether the protocol's ports (or ICMP equivalents) are hashed.
func hasPortsForCommunityID(proto uint8) bool {
	switch proto {
	case ProtoTCP, ProtoUDP, ProtoSCTP, ProtoICMP, ProtoICMPv6:
		return true
	}
	return false
}

// communityDigest computes the SHA-1 digest of Community ID v1 for one packet's orientation.
// src and dst are 16-byte addresses (IPv4-mapped when v4). For ICMP the ports are ignored and
// derived from typ and code. withPorts false leaves ports out (protocols without ports, and
// flows of fragments whose ports were never seen). It does not allocate.
func communityDigest(seed uint16, v4 bool, src, dst *[16]byte, proto uint8, sport, dport uint16,
	typ, code uint8, withPorts bool) [sha1.Size]byte {
	oneWay := false
	if proto == ProtoICMP || proto == ProtoICMPv6 {
		sport, dport, oneWay = icmpPorts(proto == ProtoICMPv6, typ, code)
	}
	a, b := src[:], dst[:]
	if v4 {
		a, b = src[12:], dst[12:]
	}
	c := bytes.Compare(a, b)
	if !oneWay && (c > 0 || (c == 0 && sport > dport)) {
		a, b = b, a
		sport, dport = dport, sport
	}
	var buf [2 + 16 + 16 + 2 + 4]byte
	buf[0], buf[1] = byte(seed>>8), byte(seed)
	n := 2
	n += copy(buf[n:], a)
	n += copy(buf[n:], b)
	buf[n], buf[n+1] = proto, 0
	n += 2
	if withPorts && hasPortsForCommunityID(proto) {
		buf[n], buf[n+1], buf[n+2], buf[n+3] = byte(sport>>8), byte(sport), byte(dport>>8), byte(dport)
		n += 4
	}
	return sha1.Sum(buf[:n])
}

// FormatCommunityID renders a Community ID v1 digest as "1:<base64>".
func FormatCommunityID(d [sha1.Size]byte) string {
	var out [2 + 28]byte
	out[0], out[1] = '1', ':'
	base64.StdEncoding.Encode(out[2:], d[:])
	return string(out[:])
}

// CommunityID returns the Community ID v1 string of one packet: tuple t (ports ignored for
// ICMP/ICMPv6), the ICMP type and code when t.Proto is ICMP or ICMPv6, and the seed (0 unless
// the deployment chose another). It returns "" when t's addresses are unusable.
func CommunityID(seed uint16, t decode.Tuple, icmpType, icmpCode uint8) string {
	if !t.Src.IsValid() || !t.Dst.IsValid() || t.Src.Is4() != t.Dst.Is4() {
		return ""
	}
	s, d := t.Src.As16(), t.Dst.As16()
	return FormatCommunityID(communityDigest(seed, t.Src.Is4(), &s, &d, t.Proto, t.SrcPort, t.DstPort,
		icmpType, icmpCode, true))
}
