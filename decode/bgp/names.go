package bgp

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"net/netip"
	"strconv"
)

// Names used in the report and in problem messages. Tables follow the IANA "BGP Parameters"
// registries (error codes and subcodes, capability codes, AFI/SAFI).

// notifyCodes names NOTIFICATION error codes (RFC 4271 section 4.5, RFC 7313).
var notifyCodes = map[uint8]string{
	1: "Message Header Error",
	2: "OPEN Message Error",
	3: "UPDATE Message Error",
	4: "Hold Timer Expired",
	5: "Finite State Machine Error",
	6: "Cease",
	7: "ROUTE-REFRESH Message Error",
}

// notifySubcodes names subcodes per error code (RFC 4271, RFC 4486, RFC 6608, RFC 8538,
// RFC 9234, RFC 7313).
var notifySubcodes = map[uint8]map[uint8]string{
	1: {1: "Connection Not Synchronized", 2: "Bad Message Length", 3: "Bad Message Type"},
	2: {
		1: "Unsupported Version Number", 2: "Bad Peer AS", 3: "Bad BGP Identifier",
		4: "Unsupported Optional Parameter", 5: "Authentication Failure (deprecated)",
		6: "Unacceptable Hold Time", 7: "Unsupported Capability", 11: "Role Mismatch",
	},
	3: {
		1: "Malformed Attribute List", 2: "Unrecognized Well-known Attribute",
		3: "Missing Well-known Attribute", 4: "Attribute Flags Error", 5: "Attribute Length Error",
		6: "Invalid ORIGIN Attribute", 7: "AS Routing Loop (deprecated)",
		8: "Invalid NEXT_HOP Attribute", 9: "Optional Attribute Error",
		10: "Invalid Network Field", 11: "Malformed AS_PATH",
	},
	5: {
		1: "Receive Unexpected Message in OpenSent State",
		2: "Receive Unexpected Message in OpenConfirm State",
		3: "Receive Unexpected Message in Established State",
	},
	6: {
		1: "Maximum Number of Prefixes Reached", 2: "Administrative Shutdown",
		3: "Peer De-configured", 4: "Administrative Reset", 5: "Connection Rejected",
		6: "Other Configuration Change", 7: "Connection Collision Resolution",
		8: "Out of Resources", 9: "Hard Reset", 10: "BFD Down",
	},
	7: {1: "Invalid Message Length"},
}

// NotificationName returns the RFC names of a NOTIFICATION's code and subcode, e.g.
// "Cease / Administrative Reset". Codes without subcodes (Hold Timer Expired) give the code
// name alone when the subcode is 0; subcode 0 elsewhere is "Unspecific"; numbers stand in
// for unregistered values.
func NotificationName(code, subcode uint8) string {
	name, ok := notifyCodes[code]
	if !ok {
		name = "Unknown Error " + strconv.Itoa(int(code))
	}
	subs, hasSubs := notifySubcodes[code]
	if subcode == 0 {
		if !hasSubs {
			return name
		}
		return name + " / Unspecific"
	}
	if s, ok := subs[subcode]; ok {
		return name + " / " + s
	}
	return name + " / Subcode " + strconv.Itoa(int(subcode))
}

// capabilityNames names OPEN capability codes (IANA "Capability Codes").
var capabilityNames = map[uint8]string{
	1:   "multiprotocol",
	2:   "route-refresh",
	3:   "outbound-route-filtering",
	5:   "extended-nexthop",
	6:   "extended-message",
	7:   "bgpsec",
	8:   "multiple-labels",
	9:   "bgp-role",
	64:  "graceful-restart",
	65:  "4-octet-as",
	67:  "dynamic-capability",
	68:  "multisession",
	69:  "add-path",
	70:  "enhanced-route-refresh",
	71:  "long-lived-graceful-restart",
	72:  "routing-policy-distribution",
	73:  "fqdn",
	74:  "bfd",
	75:  "software-version",
	76:  "paths-limit",
	128: "route-refresh-cisco",
	129: "outbound-route-filtering-cisco",
	131: "multisession-cisco",
}

// CapabilityName returns the name of a capability code, "capability-N" when unregistered.
func CapabilityName(code uint8) string {
	if n, ok := capabilityNames[code]; ok {
		return n
	}
	return "capability-" + strconv.Itoa(int(code))
}

var afiNames = map[uint16]string{1: "ipv4", 2: "ipv6", 25: "l2vpn", 16388: "ls"}

var safiNames = map[uint8]string{
	1: "unicast", 2: "multicast", 4: "labeled-unicast", 5: "mcast-vpn", 65: "vpls",
	70: "evpn", 71: "ls", 72: "ls-vpn", 73: "sr-policy", 128: "vpn", 129: "vpn-multicast",
	132: "rtc", 133: "flowspec", 134: "flowspec-vpn",
}

// FamilyName names an address family as "<afi>-<safi>" ("ipv4-unicast", "ipv6-vpn",
// "l2vpn-evpn"); unregistered numbers appear as "afi-N" / "safi-N".
func FamilyName(afi uint16, safi uint8) string {
	a, ok := afiNames[afi]
	if !ok {
		a = "afi-" + strconv.Itoa(int(afi))
	}
	s, ok := safiNames[safi]
	if !ok {
		s = "safi-" + strconv.Itoa(int(safi))
	}
	return a + "-" + s
}

// OriginName names an ORIGIN value as in the report: "igp", "egp", "incomplete", or
// "origin-N" for values RFC 4271 does not define.
func OriginName(v uint8) string {
	switch v {
	case 0:
		return "igp"
	case 1:
		return "egp"
	case 2:
		return "incomplete"
	}
	return "origin-" + strconv.Itoa(int(v))
}

// AddPathModeName names an ADD-PATH send/receive field (RFC 7911).
func AddPathModeName(mode uint8) string {
	switch mode {
	case 1:
		return "receive"
	case 2:
		return "send"
	case 3:
		return "send/receive"
	}
	return "mode-" + strconv.Itoa(int(mode))
}

// StandardCommunity formats an RFC 1997 community numerically as "AS:value" ("65000:1");
// well-known ones (NO_EXPORT is "65535:65281") stay numeric here.
func StandardCommunity(v uint32) string {
	return strconv.FormatUint(uint64(v>>16), 10) + ":" + strconv.FormatUint(uint64(v&0xffff), 10)
}

// LargeCommunity formats an RFC 8092 large community as "global:local1:local2".
func LargeCommunity(global, l1, l2 uint32) string {
	return strconv.FormatUint(uint64(global), 10) + ":" + strconv.FormatUint(uint64(l1), 10) +
		":" + strconv.FormatUint(uint64(l2), 10)
}

// extSubtypeNames names the sub-types shared by the two-octet-AS, IPv4 and four-octet-AS
// specific extended communities (RFC 4360, RFC 5668, RFC 7153).
var extSubtypeNames = map[uint8]string{
	0x02: "rt",
	0x03: "soo",
	0x05: "ospf-domain",
	0x07: "ospf-router-id",
	0x08: "bgp-data-collection",
	0x09: "source-as",
	0x0a: "l2vpn-id",
	0x0b: "vrf-import",
	0x10: "cisco-vpn-id",
}

// ExtendedCommunity formats one 8-byte RFC 4360 extended community in a canonical form:
//
//	rt:65000:1, soo:65000:1          two-octet AS specific (type 0x00/0x40)
//	rt:192.0.2.1:7                   IPv4 address specific (type 0x01/0x41)
//	rt:4200000000:7                  four-octet AS specific (type 0x02/0x42), AS in asplain
//	lb:65000:125000000               link bandwidth (0x40/0x04), bytes per second
//	color:100, encap:8               opaque color (0x03/0x0b) and encapsulation (0x03/0x0c)
//	ext:0x0123456789abcdef           anything else: the 8 bytes in hex
//
// Non-transitive variants of the AS/IPv4 types (0x40-0x42) print like the transitive ones
// (the sub-type decides the name); unnamed sub-types print as "sub-0xNN:admin:value".
func ExtendedCommunity(b []byte) string {
	if len(b) != 8 {
		return "ext:0x" + hex.EncodeToString(b)
	}
	typ, sub := b[0], b[1]
	name := func() string {
		if n, ok := extSubtypeNames[sub]; ok {
			return n
		}
		return fmt.Sprintf("sub-0x%02x", sub)
	}
	switch typ {
	case 0x00, 0x40:
		as := binary.BigEndian.Uint16(b[2:4])
		v := binary.BigEndian.Uint32(b[4:8])
		if typ == 0x40 && sub == 0x04 {
			bw := math.Float32frombits(v)
			return "lb:" + strconv.Itoa(int(as)) + ":" + strconv.FormatFloat(float64(bw), 'f', -1, 32)
		}
		return name() + ":" + strconv.Itoa(int(as)) + ":" + strconv.FormatUint(uint64(v), 10)
	case 0x01, 0x41:
		ip := netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]})
		return name() + ":" + ip.String() + ":" + strconv.Itoa(int(binary.BigEndian.Uint16(b[6:8])))
	case 0x02, 0x42:
		as := binary.BigEndian.Uint32(b[2:6])
		return name() + ":" + strconv.FormatUint(uint64(as), 10) + ":" +
			strconv.Itoa(int(binary.BigEndian.Uint16(b[6:8])))
	case 0x03:
		switch sub {
		case 0x0b:
			return "color:" + strconv.FormatUint(uint64(binary.BigEndian.Uint32(b[4:8])), 10)
		case 0x0c:
			return "encap:" + strconv.Itoa(int(binary.BigEndian.Uint16(b[6:8])))
		}
	}
	return "ext:0x" + hex.EncodeToString(b)
}

// RouteDistinguisher formats an 8-byte RFC 4364 route distinguisher: type 0 "AS:N", type 1
// "IPv4:N", type 2 "AS4:N" (asplain, as tshark prints it), other types "rd-type-T:0xHEX".
func RouteDistinguisher(b []byte) string {
	if len(b) != 8 {
		return "rd:0x" + hex.EncodeToString(b)
	}
	switch binary.BigEndian.Uint16(b[:2]) {
	case 0:
		return strconv.Itoa(int(binary.BigEndian.Uint16(b[2:4]))) + ":" +
			strconv.FormatUint(uint64(binary.BigEndian.Uint32(b[4:8])), 10)
	case 1:
		ip := netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]})
		return ip.String() + ":" + strconv.Itoa(int(binary.BigEndian.Uint16(b[6:8])))
	case 2:
		return strconv.FormatUint(uint64(binary.BigEndian.Uint32(b[2:6])), 10) + ":" +
			strconv.Itoa(int(binary.BigEndian.Uint16(b[6:8])))
	}
	return fmt.Sprintf("rd-type-%d:0x%s", binary.BigEndian.Uint16(b[:2]), hex.EncodeToString(b[2:]))
}

// TypeName names a message type as the report spells it ("open", "update", "notification",
// "keepalive", "route_refresh"), "type-N" for others.
func TypeName(t uint8) string {
	switch t {
	case TypeOpen:
		return "open"
	case TypeUpdate:
		return "update"
	case TypeNotification:
		return "notification"
	case TypeKeepalive:
		return "keepalive"
	case TypeRouteRefresh:
		return "route_refresh"
	}
	return "type-" + strconv.Itoa(int(t))
}
