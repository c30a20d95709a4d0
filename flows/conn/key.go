package conn

import (
	"bytes"
	"fmt"
	"net/netip"

	"github.com/stackflow/stackflow/decode"
)

// Key identifies one bidirectional flow at one capture point: the canonical IP 5-tuple (the lower
// address/port pair first), the VNI of the tunnel that carried it (or none: VNI 0 is a real VNI),
// and the capture point. It is a fixed-size, pointer-free, comparable value, so a map keyed by it
// is never scanned by the garbage collector; the zero Key is invalid.
type Key struct {
	lo, hi         [16]byte // addresses, IPv4 stored as IPv4-mapped IPv6
	loPort, hiPort uint16   // ports, ICMP echo identifier, or 0
	vni            uint32
	point          uint32
	proto          uint8
	flags          keyFlags
	reserved       uint16 // always zero: keeps the struct free of padding so it hashes as one block
}

type keyFlags uint8

const (
	keyValid    keyFlags = 1 << iota
	keyV4                // both addresses are IPv4
	keyVNI               // vni is meaningful
	keyPortless          // a non-first fragment whose first fragment was not seen
)

// MakeKey returns the canonical key of tuple t seen at capture point point, carried in a tunnel
// with the given VNI when hasVNI, and whether the packet went from the key's low side to its high
// side (forward). The low side is the lower (address, port) pair, compared as bytes, the same
// order Community ID uses. A tuple with an invalid address, or with one IPv4 and one IPv6
// address, gives the zero (invalid) Key.
func MakeKey(point int, t decode.Tuple, vni uint32, hasVNI bool) (k Key, forward bool) {
	return makeKey(point, t, vni, hasVNI, false)
}

func makeKey(point int, t decode.Tuple, vni uint32, hasVNI, portless bool) (k Key, forward bool) {
	if !t.Src.IsValid() || !t.Dst.IsValid() || t.Src.Is4() != t.Dst.Is4() {
		return Key{}, false
	}
	src, dst := t.Src.As16(), t.Dst.As16()
	sport, dport := t.SrcPort, t.DstPort
	if portless {
		sport, dport = 0, 0
	}
	c := bytes.Compare(src[:], dst[:])
	forward = c < 0 || (c == 0 && sport <= dport)
	if forward {
		k.lo, k.hi, k.loPort, k.hiPort = src, dst, sport, dport
	} else {
		k.lo, k.hi, k.loPort, k.hiPort = dst, src, dport, sport
	}
	k.proto = t.Proto
	k.point = uint32(point)
	k.flags = keyValid
	if t.Src.Is4() {
		k.flags |= keyV4
	}
	if hasVNI {
		k.flags |= keyVNI
		k.vni = vni
	}
	if portless {
		k.flags |= keyPortless
	}
	return k, forward
}

// Valid reports whether k was made from a usable tuple.
func (k Key) Valid() bool { return k.flags&keyValid != 0 }

// Lo returns the lower side's address and port (ICMP: echo identifier).
func (k Key) Lo() (netip.Addr, uint16) { return k.addr(&k.lo), k.loPort }

// Hi returns the higher side's address and port (ICMP: echo identifier).
func (k Key) Hi() (netip.Addr, uint16) { return k.addr(&k.hi), k.hiPort }

func (k *Key) addr(b *[16]byte) netip.Addr {
	if k.flags&keyValid == 0 {
		return netip.Addr{}
	}
	if k.flags&keyV4 != 0 {
		return netip.AddrFrom4([4]byte(b[12:16]))
	}
	return netip.AddrFrom16(*b)
}

// Proto returns the IP protocol number.
func (k Key) Proto() uint8 { return k.proto }

// Point returns the capture point index.
func (k Key) Point() int { return int(k.point) }

// VNI returns the VNI of the tunnel that carried the flow, and false when it was not carried in
// a tunnel with a VNI.
func (k Key) VNI() (uint32, bool) { return k.vni, k.flags&keyVNI != 0 }

// Portless reports whether the key was made for a non-first fragment whose first fragment (and
// so whose ports) was not seen.
func (k Key) Portless() bool { return k.flags&keyPortless != 0 }

// Is4 reports whether the flow's addresses are IPv4.
func (k Key) Is4() bool { return k.flags&keyV4 != 0 }

// String formats k for logs and test messages, e.g. "10.0.0.1:1234<->10.0.0.2:80 proto 6 point 0 vni 5".
func (k Key) String() string {
	if !k.Valid() {
		return "invalid"
	}
	la, lp := k.Lo()
	ha, hp := k.Hi()
	s := fmt.Sprintf("%s<->%s proto %d point %d",
		netip.AddrPortFrom(la, lp), netip.AddrPortFrom(ha, hp), k.proto, k.point)
	if v, ok := k.VNI(); ok {
		s += fmt.Sprintf(" vni %d", v)
	}
	if k.Portless() {
		s += " portless"
	}
	return s
}
