package flows

import (
	"fmt"
	"slices"
	"strings"

	"github.com/stackflow/stackflow/decode/bgp"
)

// bgpEvents rebuilds each session's life from its messages: each side's OPEN, the KEEPALIVE
// after both OPENs that establishes it (RFC 4271 section 8), NOTIFICATIONs, and the session going
// down. Hold-timer expiries come from the findings (they need the capture's end).
func (a *Analyzer) bgpEvents(r *Report) []BGPEvent {
	type state struct {
		opens       map[string]bool
		established bool
	}
	states := map[int]*state{}
	var out []BGPEvent
	for i := range a.bgpMessages {
		m := &a.bgpMessages[i]
		st := states[m.Session]
		if st == nil {
			st = &state{opens: map[string]bool{}}
			states[m.Session] = st
		}
		ev := BGPEvent{
			Session: fmt.Sprintf("b%d", m.Session+1),
			Peer:    m.Src.Addr().String(),
			Time:    FormatTime(m.Time),
			Point:   a.pointID(m.Last.Point),
			Packet:  m.Last.Number,
		}
		switch {
		case m.Open != nil:
			if st.established {
				// A new OPEN on an established session's connection: the old one is over.
				st.established = false
				st.opens = map[string]bool{}
			}
			st.opens[ev.Peer] = true
			ev.Event = "open"
			ev.Detail = fmt.Sprintf("AS %d, hold time %ds, router id %s", m.Open.MyAS, m.Open.HoldTime, m.Open.RouterID)
			out = append(out, ev)
		case m.Type == bgp.TypeKeepalive && !st.established && len(st.opens) == 2:
			st.established = true
			ev.Event = "established"
			out = append(out, ev)
		case m.Notification != nil:
			ev.Event = "notification"
			ev.Detail = fmt.Sprintf("%d/%d %s", m.Notification.Code, m.Notification.Subcode, m.Notification.Name)
			if m.Notification.Text != "" {
				ev.Detail += ": " + m.Notification.Text
			}
			out = append(out, ev)
			st.established = false
			st.opens = map[string]bool{}
			down := ev
			down.Event = "down"
			down.Detail = "closed by NOTIFICATION"
			out = append(out, down)
		}
	}
	out = append(out, a.holdEvents...)
	slices.SortStableFunc(out, func(x, y BGPEvent) int { return strings.Compare(x.Time, y.Time) })
	if out == nil {
		out = []BGPEvent{}
	}
	return out
}
