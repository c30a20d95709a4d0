package flows

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/stackflow/stackflow/decode/bgp"
)

// bgpTimeline follows each session's life as its messages complete, in capture order: each
// side's OPEN, the KEEPALIVE after both OPENs that establishes it (RFC 4271 section 8),
// NOTIFICATIONs, and silences longer than the negotiated hold time (the peer's hold timer must
// have expired). It keeps per-session state and the events only, never the messages, so a long
// session's KEEPALIVEs cost nothing (the assembler drops them too).
type bgpTimeline struct {
	sessions map[int]*sessionLife
	events   []BGPEvent
	expired  []holdExpiry
}

type sessionLife struct {
	opens       map[netip.Addr]uint16 // hold time each side proposed
	established bool
	down        bool
	last        map[netip.Addr]lastMsg // last message from each side
	expired     map[netip.Addr]bool
}

type lastMsg struct {
	time   int64
	point  int
	number uint64
}

// holdExpiry is one side's silence longer than the hold time.
type holdExpiry struct {
	session     int
	from        netip.Addr
	since, seen int64 // last message before the silence; the next one (or the capture's end)
	hold        uint16
	ref         *lastMsg // the message that ended the silence, nil at the capture's end
}

func newBGPTimeline() *bgpTimeline { return &bgpTimeline{sessions: map[int]*sessionLife{}} }

// holdTime is the negotiated hold time (the smaller proposal), 0 until both OPENs were seen.
func (l *sessionLife) holdTime() uint16 {
	if len(l.opens) < 2 {
		return 0
	}
	h := uint16(0xffff)
	for _, v := range l.opens {
		h = min(h, v)
	}
	return h
}

// observe takes one message as it completes.
func (t *bgpTimeline) observe(a *Analyzer, m *bgp.Message) {
	l := t.sessions[m.Session]
	if l == nil {
		l = &sessionLife{opens: map[netip.Addr]uint16{}, last: map[netip.Addr]lastMsg{}, expired: map[netip.Addr]bool{}}
		t.sessions[m.Session] = l
	}
	from := m.Src.Addr()
	now := lastMsg{time: m.Time, point: m.Last.Point, number: m.Last.Number}
	if prev, ok := l.last[from]; ok && !l.down {
		t.checkSilence(m.Session, l, from, prev, m.Time, &now)
	}
	l.last[from] = now
	if m.Open == nil && m.Notification == nil && (m.Type != bgp.TypeKeepalive || l.established || len(l.opens) < 2) {
		return // most messages (KEEPALIVEs, UPDATEs) change nothing here: build no event for them
	}
	ev := BGPEvent{
		Session: fmt.Sprintf("b%d", m.Session+1),
		Peer:    from.String(),
		Time:    FormatTime(m.Time),
		Point:   a.pointID(m.Last.Point),
		Packet:  m.Last.Number,
	}
	switch {
	case m.Open != nil:
		if l.established || l.down {
			*l = sessionLife{opens: map[netip.Addr]uint16{}, last: l.last, expired: map[netip.Addr]bool{}}
		}
		l.opens[from] = m.Open.HoldTime
		ev.Event = "open"
		ev.Detail = fmt.Sprintf("AS %d, hold time %ds, router id %s", m.Open.MyAS, m.Open.HoldTime, m.Open.RouterID)
		t.events = append(t.events, ev)
	case m.Type == bgp.TypeKeepalive && !l.established && len(l.opens) == 2:
		l.established = true
		ev.Event = "established"
		t.events = append(t.events, ev)
	case m.Notification != nil:
		ev.Event = "notification"
		ev.Detail = fmt.Sprintf("%d/%d %s", m.Notification.Code, m.Notification.Subcode, m.Notification.Name)
		if m.Notification.Text != "" {
			ev.Detail += ": " + m.Notification.Text
		}
		t.events = append(t.events, ev)
		down := ev
		down.Event, down.Detail = "down", "closed by NOTIFICATION"
		t.events = append(t.events, down)
		l.established, l.down = false, true
	}
}

// checkSilence records a hold-timer expiry when from said nothing for longer than the hold time.
func (t *bgpTimeline) checkSilence(session int, l *sessionLife, from netip.Addr, prev lastMsg, now int64, ref *lastMsg) {
	hold := l.holdTime()
	if hold == 0 || l.expired[from] || now-prev.time <= int64(hold)*int64(time.Second) {
		return
	}
	l.expired[from] = true
	e := holdExpiry{session: session, from: from, since: prev.time, seen: now, hold: hold}
	if ref != nil {
		r := *ref
		e.ref = &r
	}
	t.expired = append(t.expired, e)
	t.events = append(t.events, BGPEvent{
		Session: fmt.Sprintf("b%d", session+1),
		Peer:    from.String(),
		Event:   "hold_expired",
		Time:    FormatTime(prev.time + int64(hold)*int64(time.Second)),
		Detail:  fmt.Sprintf("no message for longer than the %ds hold time", hold),
	})
}

// closeAt checks the silences that lasted to the end of the capture.
func (t *bgpTimeline) closeAt(captureEnd int64) {
	ids := make([]int, 0, len(t.sessions))
	for id := range t.sessions {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		l := t.sessions[id]
		if l.down {
			continue
		}
		froms := make([]netip.Addr, 0, len(l.last))
		for f := range l.last {
			froms = append(froms, f)
		}
		slices.SortFunc(froms, netip.Addr.Compare)
		for _, f := range froms {
			t.checkSilence(id, l, f, l.last[f], captureEnd, nil)
		}
	}
}

// sorted returns the events in time order.
func (t *bgpTimeline) sorted() []BGPEvent {
	out := slices.Clone(t.events)
	slices.SortStableFunc(out, func(x, y BGPEvent) int { return strings.Compare(x.Time, y.Time) })
	if out == nil {
		out = []BGPEvent{}
	}
	return out
}

// holdFindings turns the expiries into findings.
func (a *Analyzer) holdFindings() []Finding {
	var out []Finding
	for _, e := range a.bgpLife.expired {
		f := Finding{
			Kind:     FindBGPHoldExpired,
			Severity: "error",
			Summary: fmt.Sprintf("session b%d: nothing from %s for %s, longer than the %ds hold time (from %s): the peer's hold timer expired",
				e.session+1, e.from, time.Duration(e.seen-e.since).Round(time.Millisecond), e.hold, ClockTime(FormatTime(e.since))),
			Evidence: Evidence{Addresses: []string{e.from.String()}},
		}
		if e.ref != nil {
			f.Evidence.Packets = []PacketRef{{Point: a.pointID(e.ref.point), Number: e.ref.number}}
		}
		out = append(out, f)
	}
	return out
}
