package bgp

import (
	"errors"
	"fmt"
	"net/netip"

	gobgp "github.com/osrg/gobgp/v4/pkg/packet/bgp"
)

// decodeUpdate reads an UPDATE. The codec parses the whole message with the session's
// context; when it rejects the message, each field is recovered on its own: prefixes by a
// strict walk (lengths within the address size, bytes present) and each attribute through
// the codec separately, so one bad attribute does not hide the others.
func decodeUpdate(raw []byte, ctx *decodeContext, errs []error) (*Update, []error) {
	u := &Update{}
	ru, werr := splitUpdate(raw[HeaderLen:])
	if werr != nil {
		errs = append(errs, werr)
	}
	switch w := detectASWidth(&ru); {
	case ctx.width != 0:
		u.ASWidth, u.ASWidthFrom = ctx.width, "open"
	case w != 0:
		u.ASWidth, u.ASWidthFrom = w, "detected"
		ctx.lastWidth = w
	case ctx.lastWidth != 0:
		u.ASWidth, u.ASWidthFrom = ctx.lastWidth, "previous"
	default:
		u.ASWidth, u.ASWidthFrom = 4, "assumed"
	}
	opt := &gobgp.MarshallingOption{Use2ByteAS: u.ASWidth == 2, AddPath: ctx.addPath}
	v4AddPath := addPathOn(ctx.addPath, 1, 1)

	msg, err := safeParse(raw, opt)
	var gu *gobgp.BGPUpdate
	if msg != nil {
		gu, _ = msg.Body.(*gobgp.BGPUpdate)
	}
	var d attrDecoder
	if err != nil {
		errs = append(errs, codecErr(err))
		var me *gobgp.MessageError
		if errors.As(err, &me) {
			u.ErrorHandling = errorHandlingNames[me.ErrorHandling]
		}
	}
	if err == nil && gu != nil {
		for _, n := range gu.WithdrawnRoutes {
			u.Withdrawn = append(u.Withdrawn, fromNLRI(n, v4AddPath))
		}
		for _, n := range gu.NLRI {
			u.NLRI = append(u.NLRI, fromNLRI(n, v4AddPath))
		}
		for _, a := range gu.PathAttributes {
			errs = d.add(u, a, ctx, errs)
		}
	} else {
		var e error
		if u.Withdrawn, e = walkPrefixes(ru.withdrawn, 4, v4AddPath); e != nil {
			errs = append(errs, fmt.Errorf("withdrawn routes: %w", e))
		}
		if u.NLRI, e = walkPrefixes(ru.nlri, 4, v4AddPath); e != nil {
			errs = append(errs, fmt.Errorf("nlri: %w", e))
		}
		for _, ra := range ru.attrs {
			a, e := decodeAttr(ra.raw, opt)
			if e != nil {
				errs = append(errs, fmt.Errorf("attribute %d at byte %d: %v", ra.typ, HeaderLen+ra.off, e))
				continue
			}
			errs = d.add(u, a, ctx, errs)
		}
	}
	if d.ext {
		if a := ru.attr(attrExtCommunities); a != nil {
			for v := a.value; len(v) >= 8; v = v[8:] {
				u.ExtCommunities = append(u.ExtCommunities, ExtendedCommunity(v[:8]))
			}
		}
	}
	// RFC 6793 section 4.2.3: a 2-octet session carries the real path in AS4_PATH and
	// AS4_AGGREGATOR; between 4-octet speakers both are ignored.
	u.ASPath = u.RawASPath
	if u.ASWidth == 2 {
		if len(u.AS4Path) > 0 {
			u.ASPath = mergeAS4(u.RawASPath, u.AS4Path)
		}
		if u.Aggregator != nil && u.Aggregator.AS == asTrans && d.as4Aggr != nil {
			u.Aggregator = d.as4Aggr
		}
	}
	return u, errs
}

const asTrans = 23456

// attrDecoder carries per-message state while attributes are converted.
type attrDecoder struct {
	seen    [256]bool
	ext     bool
	as4Aggr *Aggregator
}

// add converts one decoded attribute into u. A repeated attribute is ignored after its
// first occurrence (RFC 7606 section 3 g), except MP_(UN)REACH which it reports.
func (d *attrDecoder) add(u *Update, a gobgp.PathAttributeInterface, ctx *decodeContext, errs []error) []error {
	t := uint8(a.GetType())
	if d.seen[t] {
		if t == attrMPReach || t == attrMPUnreach {
			errs = append(errs, fmt.Errorf("attribute %d appears more than once", t))
		}
		return errs
	}
	d.seen[t] = true
	switch v := a.(type) {
	case *gobgp.PathAttributeOrigin:
		u.Origin = OriginName(v.Value)
		if v.Value > 2 {
			errs = append(errs, fmt.Errorf("origin value %d is not 0..2", v.Value))
		}
	case *gobgp.PathAttributeAsPath:
		u.HasASPath = true
		u.RawASPath = fromASParams(v.Value)
	case *gobgp.PathAttributeAs4Path:
		for _, s := range v.Value {
			u.AS4Path = append(u.AS4Path, Segment{Type: s.Type, ASNs: append([]uint32(nil), s.AS...)})
		}
	case *gobgp.PathAttributeNextHop:
		u.NextHop = v.Value
	case *gobgp.PathAttributeMultiExitDisc:
		med := v.Value
		u.MED = &med
	case *gobgp.PathAttributeLocalPref:
		lp := v.Value
		u.LocalPref = &lp
	case *gobgp.PathAttributeAtomicAggregate:
		u.AtomicAggregate = true
	case *gobgp.PathAttributeAggregator:
		u.Aggregator = &Aggregator{AS: v.Value.AS, Addr: v.Value.Address}
	case *gobgp.PathAttributeAs4Aggregator:
		d.as4Aggr = &Aggregator{AS: v.Value.AS, Addr: v.Value.Address}
	case *gobgp.PathAttributeCommunities:
		for _, c := range v.Value {
			u.Communities = append(u.Communities, StandardCommunity(c))
		}
	case *gobgp.PathAttributeOriginatorId:
		u.OriginatorID = v.Value
	case *gobgp.PathAttributeClusterList:
		u.ClusterList = append([]netip.Addr(nil), v.Value...)
	case *gobgp.PathAttributeExtendedCommunities:
		d.ext = true
	case *gobgp.PathAttributeLargeCommunities:
		for _, c := range v.Values {
			if c != nil {
				u.LargeCommunities = append(u.LargeCommunities, LargeCommunity(c.ASN, c.LocalData1, c.LocalData2))
			}
		}
	case *gobgp.PathAttributeMpReachNLRI:
		r := MPReach{Family: Family{v.AFI, v.SAFI}, NextHop: v.Nexthop, LinkLocal: v.LinkLocalNexthop}
		ap := addPathOn(ctx.addPath, v.AFI, v.SAFI)
		for _, n := range v.Value {
			r.NLRI = append(r.NLRI, fromNLRI(n, ap))
		}
		u.Reach = append(u.Reach, r)
	case *gobgp.PathAttributeMpUnreachNLRI:
		r := MPUnreach{Family: Family{v.AFI, v.SAFI}}
		ap := addPathOn(ctx.addPath, v.AFI, v.SAFI)
		for _, n := range v.Value {
			r.NLRI = append(r.NLRI, fromNLRI(n, ap))
		}
		u.Unreach = append(u.Unreach, r)
	default:
		u.OtherAttrs = append(u.OtherAttrs, t)
	}
	return errs
}

func addPathOn(m map[gobgp.Family]gobgp.BGPAddPathMode, afi uint16, safi uint8) bool {
	return m[gobgp.NewFamily(afi, safi)]&gobgp.BGP_ADD_PATH_RECEIVE != 0
}

// decodeAttr runs the codec on one attribute (header included).
func decodeAttr(raw []byte, opt *gobgp.MarshallingOption) (a gobgp.PathAttributeInterface, err error) {
	defer func() {
		if r := recover(); r != nil {
			a, err = nil, fmt.Errorf("codec panic: %v", r)
		}
	}()
	a, err = gobgp.GetPathAttribute(raw)
	if err != nil {
		return nil, err
	}
	if err = a.DecodeFromBytes(raw, opt); err != nil {
		return nil, err
	}
	return a, nil
}

func fromASParams(ps []gobgp.AsPathParamInterface) ASPath {
	p := make(ASPath, 0, len(ps))
	for _, s := range ps {
		if s == nil {
			continue
		}
		p = append(p, Segment{Type: s.GetType(), ASNs: append([]uint32(nil), s.GetAS()...)})
	}
	return p
}

// fromNLRI converts a codec NLRI. IP families keep their netip.Prefix; VPN families add the
// RD; other families keep the codec's text.
func fromNLRI(n gobgp.PathNLRI, addPath bool) Prefix {
	p := Prefix{PathID: n.ID, HasPathID: addPath}
	switch v := n.NLRI.(type) {
	case *gobgp.IPAddrPrefix:
		p.Prefix = v.Prefix
	case *gobgp.LabeledVPNIPAddrPrefix:
		p.Prefix = v.Prefix
		if v.RD != nil {
			if b, err := v.RD.Serialize(); err == nil {
				p.RD = RouteDistinguisher(b)
			}
		}
		p.Labels = append([]uint32(nil), v.Labels.Labels...)
	case *gobgp.LabeledIPAddrPrefix:
		p.Prefix = v.Prefix
		p.Labels = append([]uint32(nil), v.Labels.Labels...)
	default:
		if n.NLRI != nil {
			p.Text = n.NLRI.String()
		}
	}
	if p.Prefix.IsValid() {
		p.Prefix = p.Prefix.Masked()
		p.Text = p.Prefix.String()
	}
	return p
}

// walkPrefixes reads RFC 4271 prefixes (length byte, then the significant bytes) of an
// addrLen-byte family, each preceded by a 4-byte path id when addPath. It stops at the
// first prefix that is longer than the address or runs past the data.
func walkPrefixes(b []byte, addrLen int, addPath bool) ([]Prefix, error) {
	var out []Prefix
	for i := 0; i < len(b); {
		var id uint32
		if addPath {
			if len(b)-i < 4 {
				return out, fmt.Errorf("path id at byte %d cut short", i)
			}
			id = uint32(b[i])<<24 | uint32(b[i+1])<<16 | uint32(b[i+2])<<8 | uint32(b[i+3])
			i += 4
			if i >= len(b) {
				return out, fmt.Errorf("prefix length missing at byte %d", i)
			}
		}
		bits := int(b[i])
		if bits > addrLen*8 {
			return out, fmt.Errorf("prefix length %d at byte %d exceeds %d", bits, i, addrLen*8)
		}
		n := (bits + 7) / 8
		if i+1+n > len(b) {
			return out, fmt.Errorf("prefix /%d at byte %d needs %d bytes, %d left", bits, i, n, len(b)-i-1)
		}
		var a [16]byte
		copy(a[:], b[i+1:i+1+n])
		var addr netip.Addr
		if addrLen == 4 {
			addr = netip.AddrFrom4([4]byte(a[:4]))
		} else {
			addr = netip.AddrFrom16(a)
		}
		pfx := netip.PrefixFrom(addr, bits).Masked()
		out = append(out, Prefix{Prefix: pfx, Text: pfx.String(), PathID: id, HasPathID: addPath})
		i += 1 + n
	}
	return out, nil
}

// Route is one prefix of one UPDATE, in the shape of the report's bgp.routes entries.
type Route struct {
	Session   int
	Peer      netip.AddrPort // the sender of the UPDATE
	Time      int64          // ns since the Unix epoch
	Point     int
	Input     int
	Packet    uint64 // packet holding the UPDATE's last byte
	Event     string // "announce" or "withdraw"
	Prefix    string // canonical (Prefix.Text)
	Net       netip.Prefix
	AFI       uint16
	SAFI      uint8
	RD        string
	PathID    uint32
	HasPathID bool
	// Attributes, on announcements only.
	NextHop     netip.Addr
	ASPath      ASPath
	Origin      string
	MED         *uint32
	LocalPref   *uint32
	Communities []string // standard, then extended, then large
}

// Routes returns one entry per prefix of an UPDATE (nil for other messages), in the order
// a receiver applies them: withdrawn routes and MP_UNREACH first, then NLRI and MP_REACH.
// Announcements take NEXT_HOP, or the MP_REACH next hop for its own prefixes. A malformed
// UPDATE still yields what was read; Update.ErrorHandling says what a router would do.
func (m *Message) Routes() []Route {
	u := m.Update
	if u == nil {
		return nil
	}
	base := Route{Session: m.Session, Peer: m.Src, Time: m.Time, Point: m.Point, Input: m.Last.Input, Packet: m.Last.Number}
	var comms []string
	if n := len(u.Communities) + len(u.ExtCommunities) + len(u.LargeCommunities); n > 0 {
		comms = make([]string, 0, n)
		comms = append(append(append(comms, u.Communities...), u.ExtCommunities...), u.LargeCommunities...)
	}
	out := make([]Route, 0, routeCount(u))
	add := func(p Prefix, f Family, event string, nh netip.Addr) {
		r := base
		r.Event, r.Prefix, r.Net, r.AFI, r.SAFI = event, p.Text, p.Prefix, f.AFI, f.SAFI
		r.RD, r.PathID, r.HasPathID = p.RD, p.PathID, p.HasPathID
		if event == "announce" {
			r.NextHop, r.ASPath, r.Origin, r.MED, r.LocalPref, r.Communities = nh, u.ASPath, u.Origin, u.MED, u.LocalPref, comms
		}
		out = append(out, r)
	}
	v4 := Family{1, 1}
	for _, p := range u.Withdrawn {
		add(p, v4, "withdraw", netip.Addr{})
	}
	for _, un := range u.Unreach {
		for _, p := range un.NLRI {
			add(p, un.Family, "withdraw", netip.Addr{})
		}
	}
	for _, p := range u.NLRI {
		add(p, v4, "announce", u.NextHop)
	}
	for _, re := range u.Reach {
		for _, p := range re.NLRI {
			add(p, re.Family, "announce", re.NextHop)
		}
	}
	return out
}

func routeCount(u *Update) int {
	n := len(u.Withdrawn) + len(u.NLRI)
	for _, r := range u.Reach {
		n += len(r.NLRI)
	}
	for _, r := range u.Unreach {
		n += len(r.NLRI)
	}
	return n
}
