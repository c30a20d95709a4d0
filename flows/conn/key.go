package conn

import (
	"encoding/binary"
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
	return makeKey(point, &t, vni, hasVNI, false)
}

// addrWords returns a's 16-byte form (IPv4-mapped for IPv4) as two big-endian words, so that
// comparing the words compares the bytes.
func addrWords(a netip.Addr, v4 bool) (hi, lo uint64) {
	if v4 {
		b := a.As4()
		return 0, 0xffff<<32 | uint64(binary.BigEndian.Uint32(b[:]))
	}
	b := a.As16()
	return binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
}

func makeKey(point int, t *decode.Tuple, vni uint32, hasVNI, portless bool) (k Key, forward bool) {
	v4 := t.Src.Is4()
	if !t.Src.IsValid() || !t.Dst.IsValid() || v4 != t.Dst.Is4() {
		return Key{}, false
	}
	s0, s1 := addrWords(t.Src, v4)
	d0, d1 := addrWords(t.Dst, v4)
	sport, dport := t.SrcPort, t.DstPort
	if portless {
		sport, dport = 0, 0
	}
	// The lower (address, port) pair first, addresses compared as bytes.
	forward = s0 < d0 || s0 == d0 && (s1 < d1 || s1 == d1 && sport <= dport)
	if !forward {
		s0, s1, d0, d1, sport, dport = d0, d1, s0, s1, dport, sport
	}
	binary.BigEndian.PutUint64(k.lo[:8], s0)
	binary.BigEndian.PutUint64(k.lo[8:], s1)
	binary.BigEndian.PutUint64(k.hi[:8], d0)
	binary.BigEndian.PutUint64(k.hi[8:], d1)
	k.loPort, k.hiPort = sport, dport
	k.proto = t.Proto
	k.point = uint32(point)
	k.flags = keyValid
	if v4 {
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
