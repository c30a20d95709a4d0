package bgp

import (
	"encoding/binary"
	"fmt"
)

// AS_PATH segment types (RFC 4271, RFC 5065).
const (
	SegSet            uint8 = 1
	SegSequence       uint8 = 2
	SegConfedSequence uint8 = 3
	SegConfedSet      uint8 = 4
)

// Path attribute type codes this package reads directly.
const (
	attrOrigin          = 1
	attrASPath          = 2
	attrNextHop         = 3
	attrMED             = 4
	attrLocalPref       = 5
	attrAtomicAggregate = 6
	attrAggregator      = 7
	attrCommunities     = 8
	attrOriginatorID    = 9
	attrClusterList     = 10
	attrMPReach         = 14
	attrMPUnreach       = 15
	attrExtCommunities  = 16
	attrAS4Path         = 17
	attrAS4Aggregator   = 18
	attrLargeCommunity  = 32
)

// rawAttr is one path attribute as found on the wire.
type rawAttr struct {
	flags, typ uint8
	raw        []byte // header and value
	value      []byte
	off        int // offset of the attribute within the UPDATE body
}

// rawUpdate is an UPDATE body split into its three fields, without interpreting them.
type rawUpdate struct {
	withdrawn []byte
	attrs     []rawAttr
	nlri      []byte
}

func (u *rawUpdate) attr(typ uint8) *rawAttr {
	for i := range u.attrs {
		if u.attrs[i].typ == typ {
			return &u.attrs[i]
		}
	}
	return nil
}

// splitUpdate walks an UPDATE body (the bytes after the 19-byte header). On a length that
// does not fit it returns what it found before, and an error naming the field and offset
// (offsets count from the start of the message, header included).
func splitUpdate(body []byte) (u rawUpdate, err error) {
	const h = HeaderLen
	if len(body) < 2 {
		return u, fmt.Errorf("update body of %d bytes has no withdrawn routes length", len(body))
	}
	wl := int(binary.BigEndian.Uint16(body))
	if 2+wl+2 > len(body) {
		return u, fmt.Errorf("withdrawn routes length %d at byte %d exceeds the %d bytes left", wl, h, len(body)-2)
	}
	u.withdrawn = body[2 : 2+wl]
	p := 2 + wl
	al := int(binary.BigEndian.Uint16(body[p:]))
	p += 2
	if p+al > len(body) {
		return u, fmt.Errorf("total path attribute length %d at byte %d exceeds the %d bytes left", al, h+p-2, len(body)-p)
	}
	attrs := body[p : p+al]
	u.nlri = body[p+al:]
	for i := 0; i < len(attrs); {
		if len(attrs)-i < 3 {
			return u, fmt.Errorf("path attribute header at byte %d cut short (%d bytes left)", h+p+i, len(attrs)-i)
		}
		flags, typ := attrs[i], attrs[i+1]
		hl, vl := 3, int(attrs[i+2])
		if flags&0x10 != 0 {
			if len(attrs)-i < 4 {
				return u, fmt.Errorf("extended-length attribute %d at byte %d cut short", typ, h+p+i)
			}
			hl, vl = 4, int(binary.BigEndian.Uint16(attrs[i+2:]))
		}
		if i+hl+vl > len(attrs) {
			return u, fmt.Errorf("attribute %d at byte %d declares %d bytes, %d left", typ, h+p+i, vl, len(attrs)-i-hl)
		}
		u.attrs = append(u.attrs, rawAttr{flags: flags, typ: typ, raw: attrs[i : i+hl+vl],
			value: attrs[i+hl : i+hl+vl], off: p + i})
		i += hl + vl
	}
	return u, nil
}

// asPathFits reports whether v parses as AS_PATH segments of width-byte ASNs that exactly
// fill it, each of a known type with at least one ASN and none equal to 0. The zero check is
// Wireshark's: a 4-byte path of ASNs below 65536 read 2 bytes at a time shows AS 0 in every
// other position, and AS 0 is never valid in a path (RFC 7607).
func asPathFits(v []byte, width int) bool {
	for i := 0; i < len(v); {
		if len(v)-i < 2 {
			return false
		}
		t, n := v[i], int(v[i+1])
		if t < SegSet || t > SegConfedSet || n == 0 {
			return false
		}
		i += 2
		if i+n*width > len(v) {
			return false
		}
		for k := 0; k < n; k++ {
			var as uint32
			if width == 2 {
				as = uint32(binary.BigEndian.Uint16(v[i:]))
			} else {
				as = binary.BigEndian.Uint32(v[i:])
			}
			if as == 0 {
				return false
			}
			i += width
		}
	}
	return true
}

// detectASWidth guesses the AS number width of an UPDATE from its content when the OPENs
// that negotiated it were not captured. Evidence, strongest first:
//  1. AS4_PATH or AS4_AGGREGATOR present: only a 4-octet speaker talking to a 2-octet one
//     sends them, so the AS_PATH is 2-octet (RFC 6793 section 4.2.2).
//  2. The AS_PATH walks cleanly with exactly one width (asPathFits). When both fit, 2 wins,
//     as in Wireshark's packet-bgp.c heuristic (with its zero-ASN rule both rarely fit).
//  3. AGGREGATOR length: 6 bytes is 2-octet, 8 bytes is 4-octet.
//
// It returns 0 when nothing in the message decides.
func detectASWidth(u *rawUpdate) uint8 {
	if u.attr(attrAS4Path) != nil || u.attr(attrAS4Aggregator) != nil {
		return 2
	}
	if a := u.attr(attrASPath); a != nil && len(a.value) > 0 {
		f2, f4 := asPathFits(a.value, 2), asPathFits(a.value, 4)
		switch {
		case f2:
			return 2
		case f4:
			return 4
		}
	}
	if a := u.attr(attrAggregator); a != nil {
		switch len(a.value) {
		case 6:
			return 2
		case 8:
			return 4
		}
	}
	return 0
}

// decodeASPath reads AS_PATH segments of width-byte ASNs. It stops at the first segment
// that does not fit and returns what came before with an error.
func decodeASPath(v []byte, width int) (ASPath, error) {
	var p ASPath
	for i := 0; i < len(v); {
		if len(v)-i < 2 {
			return p, fmt.Errorf("as path segment header at byte %d cut short", i)
		}
		t, n := v[i], int(v[i+1])
		if t < SegSet || t > SegConfedSet {
			return p, fmt.Errorf("as path segment type %d at byte %d is not 1..4", t, i)
		}
		if i+2+n*width > len(v) {
			return p, fmt.Errorf("as path segment of %d %d-byte asns at byte %d exceeds the %d bytes left", n, width, i, len(v)-i-2)
		}
		i += 2
		s := Segment{Type: t, ASNs: make([]uint32, n)}
		for k := range s.ASNs {
			if width == 2 {
				s.ASNs[k] = uint32(binary.BigEndian.Uint16(v[i:]))
			} else {
				s.ASNs[k] = binary.BigEndian.Uint32(v[i:])
			}
			i += width
		}
		p = append(p, s)
	}
	return p, nil
}

// asCount counts ASNs as RFC 6793 section 4.2.3 does: each AS_SEQUENCE member counts one,
// an AS_SET counts one, confederation segments count zero.
func asCount(p ASPath) int {
	n := 0
	for _, s := range p {
		switch s.Type {
		case SegSequence:
			n += len(s.ASNs)
		case SegSet:
			n++
		}
	}
	return n
}

// mergeAS4 reconstructs the path a 2-octet AS_PATH stands for, from the AS4_PATH a 4-octet
// speaker attached (RFC 6793 section 4.2.3): when AS_PATH holds fewer ASNs than AS4_PATH the
// AS4_PATH is ignored; otherwise the leading ASNs of AS_PATH that AS4_PATH does not cover
// are kept (confederation segments among them too) and AS4_PATH follows. Confederation
// segments inside AS4_PATH are dropped, as the RFC requires.
func mergeAS4(asPath, as4 ASPath) ASPath {
	var clean ASPath
	for _, s := range as4 {
		if s.Type == SegSequence || s.Type == SegSet {
			clean = append(clean, s)
		}
	}
	n2, n4 := asCount(asPath), asCount(clean)
	if len(clean) == 0 || n2 < n4 {
		return asPath
	}
	keep := n2 - n4
	var out ASPath
	for _, s := range asPath {
		if keep == 0 {
			break
		}
		switch s.Type {
		case SegSequence:
			k := min(keep, len(s.ASNs))
			out = append(out, Segment{Type: SegSequence, ASNs: append([]uint32(nil), s.ASNs[:k]...)})
			keep -= k
		case SegSet:
			out = append(out, Segment{Type: SegSet, ASNs: append([]uint32(nil), s.ASNs...)})
			keep--
		default:
			out = append(out, Segment{Type: s.Type, ASNs: append([]uint32(nil), s.ASNs...)})
		}
	}
	for _, s := range clean {
		// Join adjacent sequences so the result reads as one path.
		if l := len(out); l > 0 && s.Type == SegSequence && out[l-1].Type == SegSequence {
			out[l-1].ASNs = append(out[l-1].ASNs, s.ASNs...)
			continue
		}
		out = append(out, Segment{Type: s.Type, ASNs: append([]uint32(nil), s.ASNs...)})
	}
	return out
}
