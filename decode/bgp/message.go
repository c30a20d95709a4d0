package bgp

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	gobgp "github.com/osrg/gobgp/v4/pkg/packet/bgp"
)

// PacketRef locates a captured packet: capture point, input file, 1-based packet number in
// that file, byte offset of its record, and its time (ns since the Unix epoch).
type PacketRef struct {
	Point  int
	Input  int
	Number uint64
	Offset int64
	Time   int64
}

// Message is one complete BGP message, counted once however many capture points and
// retransmissions carried it.
type Message struct {
	Index   int            // position in Assembler.Messages
	Session int            // index into Assembler.Sessions
	Src     netip.AddrPort // sender
	Dst     netip.AddrPort // receiver
	Point   int            // capture point where it was first complete
	Points  []int          // every capture point that carried it, first one first
	Time    int64          // ns since the Unix epoch: the segment holding its last byte
	First   PacketRef      // packet holding its first byte
	Last    PacketRef      // packet holding its last byte
	Seq     uint32         // TCP sequence number of its first byte
	Offset  int64          // position of its first byte in the direction's byte stream
	Type    uint8          // TypeOpen ... TypeRouteRefresh, or the raw number of an unknown type
	Length  int            // as in the header, header included

	Open         *Open
	Update       *Update
	Notification *Notification
	RouteRefresh *RouteRefresh

	// Err is non-nil when the message broke a rule (the codec rejected it or a check here
	// failed); everything that could still be read is filled in.
	Err error
}

// TypeName names the message type as the report does ("update", ...).
func (m *Message) TypeName() string { return TypeName(m.Type) }

// Family is an AFI/SAFI pair.
type Family struct {
	AFI  uint16
	SAFI uint8
}

// String returns FamilyName of the pair.
func (f Family) String() string { return FamilyName(f.AFI, f.SAFI) }

// Capability is one OPEN capability: its code, IANA name and a short rendering of its value
// ("ipv4-unicast", "65550", "ipv6-unicast send/receive", "restart-time=120 ipv4-unicast").
type Capability struct {
	Code  uint8
	Name  string
	Value string
}

// String renders "name value", or the name alone for capabilities without a value.
func (c Capability) String() string {
	if c.Value == "" {
		return c.Name
	}
	return c.Name + " " + c.Value
}

// AddPathFamily is one ADD-PATH capability entry (RFC 7911): mode 1 receive, 2 send, 3 both.
type AddPathFamily struct {
	Family
	Mode uint8
}

// Open is an OPEN message.
type Open struct {
	Version         uint8
	MyAS            uint32 // the 4-octet AS from capability 65 when present, else the 2-octet field
	MyAS2           uint16 // the 2-octet field as sent (23456, AS_TRANS, for large ASNs)
	HoldTime        uint16
	RouterID        netip.Addr
	Capabilities    []Capability
	FourOctetAS     bool // capability 65 present
	Families        []Family
	AddPath         []AddPathFamily
	ExtendedMessage bool // capability 6 (RFC 8654)
}

// Segment is one AS_PATH segment; Type is SegSet, SegSequence, SegConfedSequence or
// SegConfedSet.
type Segment struct {
	Type uint8
	ASNs []uint32
}

// ASPath is a sequence of segments.
type ASPath []Segment

// JSON returns the path in the report's shape: AS_SEQUENCE members as uint32 values, each
// AS_SET as a []uint32. Confederation segments are left out: they are local to the
// confederation (RFC 5065 removes them at its border) and the report has no place for them.
func (p ASPath) JSON() []any {
	out := make([]any, 0, asCount(p))
	for _, s := range p {
		switch s.Type {
		case SegSequence:
			for _, a := range s.ASNs {
				out = append(out, a)
			}
		case SegSet:
			out = append(out, append([]uint32(nil), s.ASNs...))
		}
	}
	return out
}

// String renders the path as routers do: "65000 65001 {1,2} (65010 65011) [65012,65013]".
func (p ASPath) String() string {
	var b strings.Builder
	for i, s := range p {
		if i > 0 {
			b.WriteByte(' ')
		}
		open, sep, close := "", " ", ""
		switch s.Type {
		case SegSet:
			open, sep, close = "{", ",", "}"
		case SegConfedSequence:
			open, close = "(", ")"
		case SegConfedSet:
			open, sep, close = "[", ",", "]"
		}
		b.WriteString(open)
		for k, a := range s.ASNs {
			if k > 0 {
				b.WriteString(sep)
			}
			b.WriteString(strconv.FormatUint(uint64(a), 10))
		}
		b.WriteString(close)
	}
	return b.String()
}

// Prefix is one NLRI entry.
type Prefix struct {
	Prefix    netip.Prefix // invalid for families that are not IP prefixes
	Text      string       // canonical text: the prefix, or the codec's rendering otherwise
	RD        string       // route distinguisher of VPN families (RouteDistinguisher's form)
	Labels    []uint32     // MPLS labels of labeled families
	PathID    uint32       // ADD-PATH path identifier, when HasPathID
	HasPathID bool
}

// MPReach is an MP_REACH_NLRI attribute (RFC 4760).
type MPReach struct {
	Family
	NextHop   netip.Addr
	LinkLocal netip.Addr // IPv6 link-local next hop when a 32-byte next hop was sent
	NLRI      []Prefix
}

// MPUnreach is an MP_UNREACH_NLRI attribute; no NLRI means End-of-RIB for the family.
type MPUnreach struct {
	Family
	NLRI []Prefix
}

// Aggregator is the AGGREGATOR attribute.
type Aggregator struct {
	AS   uint32
	Addr netip.Addr
}

// Update is an UPDATE message. Withdrawn and NLRI are the IPv4 unicast fields of RFC 4271;
// other families travel in Reach and Unreach.
type Update struct {
	Withdrawn []Prefix
	NLRI      []Prefix
	Reach     []MPReach
	Unreach   []MPUnreach

	Origin    string // OriginName of ORIGIN, "" when absent
	HasASPath bool
	ASPath    ASPath // effective path: AS_PATH, merged with AS4_PATH on 2-octet sessions
	RawASPath ASPath // AS_PATH as sent
	AS4Path   ASPath // AS4_PATH as sent
	// ASWidth is the AS number size AS_PATH was read with (2 or 4); ASWidthFrom says how it
	// was chosen: "open" (both OPENs seen), "detected" (from this message's content),
	// "previous" (an earlier message in this direction), or "assumed" (4, nothing decided).
	ASWidth     uint8
	ASWidthFrom string

	NextHop          netip.Addr
	MED              *uint32
	LocalPref        *uint32
	AtomicAggregate  bool
	Aggregator       *Aggregator
	OriginatorID     netip.Addr
	ClusterList      []netip.Addr
	Communities      []string // StandardCommunity form
	ExtCommunities   []string // ExtendedCommunity form
	LargeCommunities []string // LargeCommunity form
	OtherAttrs       []uint8  // type codes of attributes not interpreted here

	// ErrorHandling is the RFC 7606 action the codec chose for a malformed UPDATE:
	// "attribute-discard", "treat-as-withdraw", "afi-safi-disable" or "session-reset".
	ErrorHandling string
}

// Notification is a NOTIFICATION message.
type Notification struct {
	Code, Subcode uint8
	Name          string // NotificationName
	Data          []byte
	Text          string // RFC 9003 shutdown communication (Cease 2 and 4), when present
}

// RouteRefresh is a ROUTE-REFRESH message (RFC 2918); Subtype is RFC 7313's (0 normal
// request, 1 begin, 2 end of route refresh).
type RouteRefresh struct {
	Family
	Subtype uint8
}

// decodeContext is what parsing one direction's messages needs from its session.
type decodeContext struct {
	width     uint8 // 2 or 4 when the OPENs decided it, else 0
	lastWidth uint8 // width last detected from data in this direction
	addPath   map[gobgp.Family]gobgp.BGPAddPathMode
	extended  bool // both sides advertised extended messages
}

// errCodec wraps what the codec reported so callers can tell it from our own checks.
var errCodec = errors.New("codec rejected the message")

// safeParse runs the codec; a panic inside it becomes an error (the fuzz targets guard
// against our own code, this guards against the library's).
func safeParse(raw []byte, opt *gobgp.MarshallingOption) (msg *gobgp.BGPMessage, err error) {
	defer func() {
		if r := recover(); r != nil {
			msg, err = nil, fmt.Errorf("codec panic: %v", r)
		}
	}()
	return gobgp.ParseBGPMessage(raw, opt)
}

// decodeMessage fills m's content from the complete message raw (header included).
func decodeMessage(m *Message, raw []byte, ctx *decodeContext) {
	m.Type = raw[typeOffset]
	m.Length = len(raw)
	var errs []error
	if m.Length > MaxLen && (!ctx.extended || m.Type == TypeOpen || m.Type == TypeKeepalive) {
		errs = append(errs, fmt.Errorf("length %d exceeds %d without negotiated extended messages", m.Length, MaxLen))
	}
	switch m.Type {
	case TypeOpen:
		m.Open, errs = decodeOpen(raw, errs)
	case TypeUpdate:
		m.Update, errs = decodeUpdate(raw, ctx, errs)
	case TypeNotification:
		m.Notification, errs = decodeNotification(raw, errs)
	case TypeKeepalive:
		if m.Length != HeaderLen {
			errs = append(errs, fmt.Errorf("keepalive length %d is not 19", m.Length))
		}
	case TypeRouteRefresh:
		m.RouteRefresh, errs = decodeRouteRefresh(raw, errs)
	default:
		errs = append(errs, fmt.Errorf("unknown message type %d", m.Type))
	}
	m.Err = errors.Join(errs...)
}

func codecErr(err error) error { return fmt.Errorf("%w: %v", errCodec, err) }

func decodeOpen(raw []byte, errs []error) (*Open, []error) {
	o := &Open{}
	body := raw[HeaderLen:]
	if len(body) < 10 {
		return o, append(errs, fmt.Errorf("open body of %d bytes is shorter than 10", len(body)))
	}
	// The fixed fields are read here so they survive a codec error in the capabilities.
	o.Version = body[0]
	o.MyAS2 = binary.BigEndian.Uint16(body[1:])
	o.MyAS = uint32(o.MyAS2)
	o.HoldTime = binary.BigEndian.Uint16(body[3:])
	o.RouterID = netip.AddrFrom4([4]byte(body[5:9]))
	if o.Version != 4 {
		errs = append(errs, fmt.Errorf("open version %d is not 4", o.Version))
	}
	if o.HoldTime == 1 || o.HoldTime == 2 {
		errs = append(errs, fmt.Errorf("open hold time %d is neither 0 nor at least 3", o.HoldTime))
	}
	if o.RouterID.IsUnspecified() {
		errs = append(errs, errors.New("open bgp identifier is 0.0.0.0"))
	}
	msg, err := safeParse(raw, nil)
	if err != nil {
		errs = append(errs, codecErr(err))
	}
	if msg == nil {
		return o, errs
	}
	bo, ok := msg.Body.(*gobgp.BGPOpen)
	if !ok {
		return o, errs
	}
	for _, p := range bo.OptParams {
		pc, ok := p.(*gobgp.OptionParameterCapability)
		if !ok {
			continue
		}
		for _, c := range pc.Capability {
			if c != nil {
				o.addCapability(c)
			}
		}
	}
	return o, errs
}

func (o *Open) addCapability(c gobgp.ParameterCapabilityInterface) {
	code := uint8(c.Code())
	cp := Capability{Code: code, Name: CapabilityName(code)}
	switch v := c.(type) {
	case *gobgp.CapMultiProtocol:
		f := Family{v.CapValue.Afi(), v.CapValue.Safi()}
		o.Families = append(o.Families, f)
		cp.Value = f.String()
	case *gobgp.CapFourOctetASNumber:
		o.FourOctetAS = true
		o.MyAS = v.CapValue
		cp.Value = strconv.FormatUint(uint64(v.CapValue), 10)
	case *gobgp.CapExtendedMessage:
		o.ExtendedMessage = true
	case *gobgp.CapAddPath:
		parts := make([]string, 0, len(v.Tuples))
		for _, t := range v.Tuples {
			ap := AddPathFamily{Family{t.Family.Afi(), t.Family.Safi()}, uint8(t.Mode)}
			o.AddPath = append(o.AddPath, ap)
			parts = append(parts, ap.Family.String()+" "+AddPathModeName(ap.Mode))
		}
		cp.Value = strings.Join(parts, ", ")
	case *gobgp.CapGracefulRestart:
		parts := []string{"restart-time=" + strconv.Itoa(int(v.Time))}
		if v.Flags&0x08 != 0 {
			parts = append(parts, "restarting")
		}
		for _, t := range v.Tuples {
			s := FamilyName(t.AFI, t.SAFI)
			if t.Flags&0x80 != 0 {
				s += "(forwarding)"
			}
			parts = append(parts, s)
		}
		cp.Value = strings.Join(parts, " ")
	case *gobgp.CapLongLivedGracefulRestart:
		parts := make([]string, 0, len(v.Tuples))
		for _, t := range v.Tuples {
			parts = append(parts, FamilyName(t.AFI, t.SAFI)+" stale-time="+strconv.FormatUint(uint64(t.RestartTime), 10))
		}
		cp.Value = strings.Join(parts, ", ")
	case *gobgp.CapExtendedNexthop:
		parts := make([]string, 0, len(v.Tuples))
		for _, t := range v.Tuples {
			nh := afiNames[t.NexthopAFI]
			if nh == "" {
				nh = "afi-" + strconv.Itoa(int(t.NexthopAFI))
			}
			parts = append(parts, FamilyName(t.NLRIAFI, uint8(t.NLRISAFI))+" nexthop="+nh)
		}
		cp.Value = strings.Join(parts, ", ")
	case *gobgp.CapFQDN:
		cp.Value = v.HostName
		if v.DomainName != "" {
			cp.Value += "." + v.DomainName
		}
	case *gobgp.CapSoftwareVersion:
		cp.Value = v.SoftwareVersion
	case *gobgp.CapRouteRefresh, *gobgp.CapEnhancedRouteRefresh, *gobgp.CapRouteRefreshCisco:
	default:
		if b, err := c.Serialize(); err == nil && len(b) > 2 {
			cp.Value = "0x" + hex.EncodeToString(b[2:])
		}
	}
	o.Capabilities = append(o.Capabilities, cp)
}

func decodeNotification(raw []byte, errs []error) (*Notification, []error) {
	body := raw[HeaderLen:]
	if len(body) < 2 {
		return &Notification{Name: "unknown"}, append(errs, fmt.Errorf("notification body of %d bytes is shorter than 2", len(body)))
	}
	n := &Notification{Code: body[0], Subcode: body[1], Name: NotificationName(body[0], body[1])}
	if len(body) > 2 {
		n.Data = append([]byte(nil), body[2:]...)
	}
	// RFC 9003: Cease/Administrative Shutdown and Reset may carry a length-prefixed UTF-8
	// message of at most 255 bytes.
	if n.Code == 6 && (n.Subcode == 2 || n.Subcode == 4) && len(n.Data) > 0 {
		if l := int(n.Data[0]); l > 0 && 1+l <= len(n.Data) {
			n.Text = strings.ToValidUTF8(string(n.Data[1:1+l]), "\uFFFD")
		}
	}
	return n, errs
}

func decodeRouteRefresh(raw []byte, errs []error) (*RouteRefresh, []error) {
	body := raw[HeaderLen:]
	if len(body) < 4 {
		return &RouteRefresh{}, append(errs, fmt.Errorf("route-refresh body of %d bytes is shorter than 4", len(body)))
	}
	return &RouteRefresh{Family: Family{binary.BigEndian.Uint16(body), body[3]}, Subtype: body[2]}, errs
}

var errorHandlingNames = map[gobgp.ErrorHandling]string{
	gobgp.ERROR_HANDLING_ATTRIBUTE_DISCARD: "attribute-discard",
	gobgp.ERROR_HANDLING_TREAT_AS_WITHDRAW: "treat-as-withdraw",
	gobgp.ERROR_HANDLING_AFISAFI_DISABLE:   "afi-safi-disable",
	gobgp.ERROR_HANDLING_SESSION_RESET:     "session-reset",
}
