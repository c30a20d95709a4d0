package bgp

import (
	"net/netip"
	"slices"

	gobgp "github.com/osrg/gobgp/v4/pkg/packet/bgp"
)

// Counts counts messages by type, in the shape of the report's bgp.messages.
type Counts struct {
	Open, Update, Notification, Keepalive, RouteRefresh int
	Unknown                                             int // types other than 1..5
}

func (c *Counts) add(t uint8) {
	switch t {
	case TypeOpen:
		c.Open++
	case TypeUpdate:
		c.Update++
	case TypeNotification:
		c.Notification++
	case TypeKeepalive:
		c.Keepalive++
	case TypeRouteRefresh:
		c.RouteRefresh++
	default:
		c.Unknown++
	}
}

// Total is the number of messages counted.
func (c Counts) Total() int {
	return c.Open + c.Update + c.Notification + c.Keepalive + c.RouteRefresh + c.Unknown
}

// Session states.
const (
	StateUnknown     = "unknown"     // no OPEN seen (the capture started mid-session)
	StateOpenSent    = "open_sent"   // at least one OPEN, not yet established
	StateEstablished = "established" // both OPENs and then a KEEPALIVE
	StateDown        = "down"        // a NOTIFICATION, FIN or RST was seen
)

// Session is one BGP session: one TCP connection, however many capture points saw it.
// Index 0 of the pair fields is "side 0": the endpoint that sent the SYN, else the one that
// sent the first OPEN, else the sender of the first segment seen.
type Session struct {
	Index    int
	Peers    [2]netip.AddrPort
	ASN      [2]uint32 // from each side's OPEN (4-octet AS when advertised)
	HasASN   [2]bool
	RouterID [2]netip.Addr
	// HoldTimes are the values each OPEN proposed; HoldTime is the negotiated one (the
	// smaller), valid when HasHoldTime (both OPENs seen).
	HoldTimes   [2]uint16
	HoldTime    uint16
	HasHoldTime bool
	// FourOctetAS is true when both OPENs advertised capability 65 or, without OPENs, when
	// the UPDATEs showed 4-octet AS_PATHs; FourOctetFrom says which ("open", "detected"),
	// "" when nothing told.
	FourOctetAS     bool
	FourOctetFrom   string
	AddPath         bool // ADD-PATH negotiated for some family in some direction
	ExtendedMessage bool // both advertised RFC 8654 extended messages
	Capabilities    [2][]Capability
	State           string
	Counts          Counts
	First, Last     int64 // times of the first and last message, ns since the Unix epoch
	Points          []int // capture points that saw it, in order of first message
	Gaps            int   // stream gaps, summed over points and directions
	// Notification is the last NOTIFICATION, sent by NotificationFrom at NotificationTime.
	Notification     *Notification
	NotificationFrom netip.AddrPort
	NotificationTime int64
}

// SideOf returns 0 or 1 for an endpoint of the session, -1 for others.
func (s *Session) SideOf(ap netip.AddrPort) int {
	switch ap {
	case s.Peers[0]:
		return 0
	case s.Peers[1]:
		return 1
	}
	return -1
}

// tupleKey is a TCP connection's endpoints in canonical order (a < b).
type tupleKey struct{ a, b netip.AddrPort }

func makeTupleKey(x, y netip.AddrPort) tupleKey {
	if x.Compare(y) > 0 {
		x, y = y, x
	}
	return tupleKey{x, y}
}

// msgKey identifies a message within a session: its sender and the TCP sequence number of
// its first byte. Every capture point sees the same numbers for the same bytes.
type msgKey struct {
	from uint8
	seq  uint32
}

// session is the internal state behind Session. Per-endpoint arrays are indexed by the
// canonical endpoint order of key (0 = key.a).
type session struct {
	index     int
	key       tupleKey
	conns     []*tcpConn
	points    []int
	opens     [2]*Open
	firstOpen int8
	est       bool
	notif     *Notification
	notifFrom int8
	notifTime int64
	counts    Counts
	first     int64
	last      int64
	seen      map[msgKey]int   // message identity -> index in Messages (-1: not kept)
	seenOrder []seenEntry      // the keys of seen in time order, for forgetting old ones
	seenHead  int              // seenOrder[:seenHead] are forgotten
	ctx       [2]decodeContext // context for messages sent by each endpoint
}

type seenEntry struct {
	key  msgKey
	time int64
}

// remember records a message's identity for counting its copies at other points once.
func (s *session) remember(k msgKey, index int, t int64) {
	s.seen[k] = index
	s.seenOrder = append(s.seenOrder, seenEntry{k, t})
}

// forgetBefore drops identities older than t (capture time). The order slice is compacted
// only when more than half of it is forgotten, so each entry is moved O(1) times.
func (s *session) forgetBefore(t int64) {
	for s.seenHead < len(s.seenOrder) && s.seenOrder[s.seenHead].time < t {
		delete(s.seen, s.seenOrder[s.seenHead].key)
		s.seenHead++
	}
	if s.seenHead > 1024 && s.seenHead*2 > len(s.seenOrder) {
		s.seenOrder = append(s.seenOrder[:0], s.seenOrder[s.seenHead:]...)
		s.seenHead = 0
	}
}

func newSession(index int, key tupleKey) *session {
	return &session{index: index, key: key, firstOpen: -1, notifFrom: -1, seen: make(map[msgKey]int)}
}

func (s *session) endpoint(i int) netip.AddrPort {
	if i == 0 {
		return s.key.a
	}
	return s.key.b
}

func (s *session) addPoint(p int) {
	if !slices.Contains(s.points, p) {
		s.points = append(s.points, p)
	}
}

// apply records a new (not duplicate) message sent by endpoint from.
func (s *session) apply(m *Message, from int) {
	s.counts.add(m.Type)
	if s.counts.Total() == 1 || m.Time < s.first {
		s.first = m.Time
	}
	s.last = max(s.last, m.Time)
	switch m.Type {
	case TypeOpen:
		if m.Open != nil {
			s.opens[from] = m.Open
			if s.firstOpen < 0 {
				s.firstOpen = int8(from)
			}
			s.updateContext()
		}
	case TypeKeepalive:
		if s.opens[0] != nil && s.opens[1] != nil {
			s.est = true
		}
	case TypeNotification:
		if m.Notification != nil {
			s.notif, s.notifFrom, s.notifTime = m.Notification, int8(from), m.Time
		}
	}
}

// updateContext derives each direction's parsing context from the OPENs seen: 4-octet AS
// only when both sides advertised capability 65 (a side without it forces 2-octet on its
// own), extended messages when both advertised them, and ADD-PATH ids in the messages one
// side sends for a family when it advertised "send" and the other "receive" (RFC 7911).
func (s *session) updateContext() {
	o := s.opens
	for i := range s.ctx {
		s.ctx[i].width, s.ctx[i].extended, s.ctx[i].addPath = 0, false, nil
	}
	var width uint8
	switch {
	case o[0] != nil && o[1] != nil:
		width = 2
		if o[0].FourOctetAS && o[1].FourOctetAS {
			width = 4
		}
	case o[0] != nil && !o[0].FourOctetAS, o[1] != nil && !o[1].FourOctetAS:
		width = 2
	}
	ext := o[0] != nil && o[1] != nil && o[0].ExtendedMessage && o[1].ExtendedMessage
	for from := range 2 {
		s.ctx[from].width, s.ctx[from].extended = width, ext
		snd, rcv := o[from], o[1-from]
		if snd == nil || rcv == nil {
			continue
		}
		for _, f := range snd.AddPath {
			if f.Mode&2 == 0 {
				continue
			}
			for _, g := range rcv.AddPath {
				if g.Family == f.Family && g.Mode&1 != 0 {
					if s.ctx[from].addPath == nil {
						s.ctx[from].addPath = make(map[gobgp.Family]gobgp.BGPAddPathMode)
					}
					s.ctx[from].addPath[gobgp.NewFamily(f.AFI, f.SAFI)] = gobgp.BGP_ADD_PATH_RECEIVE
				}
			}
		}
	}
}

// limits returns the framing length limits for messages sent by endpoint from: while in
// sync, 65535 unless both OPENs were seen without extended messages; when resynchronising,
// 4096 unless extended messages were negotiated.
func (s *session) limits(from int) (inSyncMax, resyncMax int) {
	if s == nil {
		return MaxExtendedLen, MaxLen
	}
	if s.ctx[from].extended {
		return MaxExtendedLen, MaxExtendedLen
	}
	if s.opens[0] != nil && s.opens[1] != nil {
		return MaxLen, MaxLen
	}
	return MaxExtendedLen, MaxLen
}

// export builds the public view.
func (s *session) export() Session {
	side0 := 0
	switch {
	case s.synFrom() >= 0:
		side0 = s.synFrom()
	case s.firstOpen >= 0:
		side0 = int(s.firstOpen)
	case len(s.conns) > 0 && s.conns[0].firstFrom >= 0:
		side0 = int(s.conns[0].firstFrom)
	}
	order := [2]int{side0, 1 - side0}
	out := Session{Index: s.index, Counts: s.counts, First: s.first, Last: s.last,
		Points: append([]int(nil), s.points...)}
	down := s.notif != nil
	for _, c := range s.conns {
		out.Gaps += c.gaps
		down = down || c.fin || c.rst
	}
	for side, ep := range order {
		out.Peers[side] = s.endpoint(ep)
		if o := s.opens[ep]; o != nil {
			out.ASN[side], out.HasASN[side] = o.MyAS, true
			out.RouterID[side] = o.RouterID
			out.HoldTimes[side] = o.HoldTime
			out.Capabilities[side] = append([]Capability(nil), o.Capabilities...)
		}
	}
	o := s.opens
	if o[0] != nil && o[1] != nil {
		out.HoldTime, out.HasHoldTime = min(o[0].HoldTime, o[1].HoldTime), true
	}
	switch w := s.ctx[0].width; {
	case w != 0:
		out.FourOctetAS, out.FourOctetFrom = w == 4, "open"
	case s.ctx[0].lastWidth != 0 || s.ctx[1].lastWidth != 0:
		out.FourOctetAS = s.ctx[0].lastWidth == 4 || s.ctx[1].lastWidth == 4
		out.FourOctetFrom = "detected"
	}
	out.AddPath = len(s.ctx[0].addPath) > 0 || len(s.ctx[1].addPath) > 0
	out.ExtendedMessage = s.ctx[0].extended
	if s.notif != nil {
		out.Notification = s.notif
		out.NotificationFrom = s.endpoint(int(s.notifFrom))
		out.NotificationTime = s.notifTime
	}
	switch {
	case down:
		out.State = StateDown
	case s.est:
		out.State = StateEstablished
	case o[0] != nil || o[1] != nil:
		out.State = StateOpenSent
	default:
		out.State = StateUnknown
	}
	return out
}

// synFrom returns the canonical endpoint that sent the SYN on any point, or -1.
func (s *session) synFrom() int {
	for _, c := range s.conns {
		if c.synFrom >= 0 {
			return int(c.synFrom)
		}
	}
	return -1
}
