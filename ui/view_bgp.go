package ui

import (
	"fmt"
	"strings"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"

	"github.com/stackflow/stackflow/flows"
)

// The BGP view shows the sessions, each session's life (open, established, notification,
// down, hold expiry) and the route events (announce, withdraw) in time order, coloured by
// what they mean for reachability. Enter on a route narrows the report to traffic within its
// prefix.

var (
	sessionHeader = []string{"SESSION", "PEERS", "ASNS", "HOLD", "STATE", "MSGS o/u/n/k/r", "POINTS", "LAST NOTIFICATION"}
	eventHeader   = []string{"TIME", "SESSION", "PEER", "EVENT", "DETAIL"}
	routeHeader   = []string{"TIME", "SESSION", "PEER", "EVENT", "PREFIX", "NEXT HOP", "AS PATH", "COMMUNITIES"}
)

// sessionRow renders a BGP session.
func sessionRow(s *flows.BGPSession) row {
	asn := func(p *uint32) string {
		if p == nil {
			return "?"
		}
		return fmt.Sprint(*p)
	}
	hold := "-"
	if s.HoldTime != nil {
		hold = fmt.Sprintf("%ds", *s.HoldTime)
	}
	state := toned(s.State, toneWarn)
	switch s.State {
	case "established":
		state.tone = toneGood
	case "down", "idle", "closed":
		state.tone = toneBad
	}
	m := s.Messages
	notif := ""
	if s.Notification != nil {
		notif = fmt.Sprintf("%s from %s at %s", s.Notification.Name, s.Notification.From, clock(s.Notification.Time))
	}
	return row{id: s.ID, cells: []cell{
		toned(s.ID, toneInfo), plain(s.Peers[0] + " <-> " + s.Peers[1]), plain(asn(s.ASNs[0]) + "/" + asn(s.ASNs[1])),
		plain(hold), state, plain(fmt.Sprintf("%d/%d/%d/%d/%d", m.Open, m.Update, m.Notification, m.Keepalive, m.RouteRefresh)),
		plain(strings.Join(s.Points, ",")), toned(notif, toneBad),
	}}
}

// eventTone colours a session event: coming up is good, going down is bad.
func eventTone(ev string) tone {
	switch ev {
	case "established":
		return toneGood
	case "open":
		return toneInfo
	case "notification", "down", "hold_expired":
		return toneBad
	}
	return toneNormal
}

// bgpEventRow renders one session event.
func bgpEventRow(i int, e *flows.BGPEvent) row {
	return row{id: fmt.Sprint(i), cells: []cell{
		plain(clock(e.Time)), toned(e.Session, toneInfo), plain(e.Peer), toned(e.Event, eventTone(e.Event)), plain(e.Detail),
	}}
}

// asPathText renders an AS path: ASNs in order, an AS_SET in braces.
func asPathText(p []any) string {
	parts := make([]string, 0, len(p))
	for _, x := range p {
		switch v := x.(type) {
		case []uint32:
			s := make([]string, len(v))
			for i, a := range v {
				s[i] = fmt.Sprint(a)
			}
			parts = append(parts, "{"+strings.Join(s, ",")+"}")
		case []any:
			parts = append(parts, "{"+strings.Trim(asPathText(v), " ")+"}")
		default:
			parts = append(parts, fmt.Sprint(v))
		}
	}
	return strings.Join(parts, " ")
}

// routeRow renders one route event; a withdraw carries no attributes.
func routeRow(i int, r *flows.BGPRoute) row {
	ev := toned(r.Event, toneGood)
	if r.Event == "withdraw" {
		ev.tone = toneBad
	}
	prefix := r.Prefix
	if r.RD != "" {
		prefix = r.RD + ":" + prefix
	}
	return row{id: fmt.Sprint(i), cells: []cell{
		plain(clock(r.Time)), toned(r.Session, toneInfo), plain(r.Peer), ev, plain(prefix), plain(r.NextHop),
		plain(asPathText(r.ASPath)), toned(strings.Join(r.Communities, " "), toneDim),
	}}
}

type bgpView struct {
	a        *App
	root     *tview.Flex
	head     *tview.TextView
	sessions *rowTable
	evT      *tview.TextView
	events   *rowTable
	rtT      *tview.TextView
	routes   *rowTable
	report   *flows.Report
	keyList  []binding
}

func newBGPView(a *App) view {
	v := &bgpView{a: a, sessions: newRowTable(&a.pal), events: newRowTable(&a.pal), routes: newRowTable(&a.pal)}
	v.head = tview.NewTextView().SetDynamicColors(true).SetWrap(false)
	v.evT = tview.NewTextView().SetDynamicColors(true).SetWrap(false)
	v.rtT = tview.NewTextView().SetDynamicColors(true).SetWrap(false)
	v.root = tview.NewFlex().SetDirection(tview.FlexRow).
		AddItem(v.head, 1, 0, false).
		AddItem(v.sessions, 2, 0, true).
		AddItem(v.evT, 1, 0, false).
		AddItem(v.events, 0, 1, false).
		AddItem(v.rtT, 1, 0, false).
		AddItem(v.routes, 0, 1, false)
	v.keyList = []binding{
		{keys: []keySpec{specialKey(tcell.KeyEnter)}, label: "Enter", help: "on a route event: filter the report to traffic within its prefix", hint: "Enter traffic to prefix", do: v.enter},
	}
	return v
}

func (v *bgpView) title() string              { return "BGP" }
func (v *bgpView) primitive() tview.Primitive { return v.root }
func (v *bgpView) keys() []binding            { return v.keyList }
func (v *bgpView) panes() []tview.Primitive {
	return []tview.Primitive{v.sessions, v.events, v.routes}
}

func (v *bgpView) refresh(m *Model, c Change) {
	if c&ReportChanged == 0 {
		return
	}
	r := m.Report()
	v.report = r
	b := r.BGP
	mc := b.Messages
	v.head.SetText(fmt.Sprintf("[::b]%s[::-] · messages: open %d, update %d, notification %d, keepalive %d, route-refresh %d",
		plural(len(b.Sessions), "session"), mc.Open, mc.Update, mc.Notification, mc.Keepalive, mc.RouteRefresh))
	sess := make([]row, len(b.Sessions))
	for i := range b.Sessions {
		sess[i] = sessionRow(&b.Sessions[i])
	}
	v.sessions.setList(sessionHeader, sess)
	v.root.ResizeItem(v.sessions, min(len(sess)+1, 6), 0)
	v.evT.SetText("[::b]Session events[::-] " + fmt.Sprintf("(%d)", len(b.Events)))
	v.events.setRows(eventHeader, len(b.Events), func(i int) row { return bgpEventRow(i, &b.Events[i]) })
	v.rtT.SetText("[::b]Route events[::-] " + fmt.Sprintf("(%d: %d announce, %d withdraw)", len(b.Routes), countEvent(b.Routes, "announce"), countEvent(b.Routes, "withdraw")))
	v.routes.setRows(routeHeader, len(b.Routes), func(i int) row { return routeRow(i, &b.Routes[i]) })
}

func countEvent(rs []flows.BGPRoute, ev string) int {
	n := 0
	for _, r := range rs {
		if r.Event == ev {
			n++
		}
	}
	return n
}

// enter narrows the report to the selected route's prefix, when the routes pane has focus.
func (v *bgpView) enter() bool {
	if v.a.tv.GetFocus() != v.routes {
		if v.a.tv.GetFocus() == v.sessions || v.a.tv.GetFocus() == v.events {
			v.a.flash("Enter works on a route event: press w to move to the routes", toneDim)
			return true
		}
		return false
	}
	id := v.routes.selectedID()
	if id == "" {
		return false
	}
	rt := v.report.BGP.Routes[idNumber(id)]
	expr := "net " + rt.Prefix
	if err := v.a.model.SetFilter(expr); err != nil {
		v.a.flash(fmt.Sprintf("cannot filter on %s: %v", rt.Prefix, err), toneBad)
		return true
	}
	v.a.show(viewPaths)
	r := v.a.model.Report()
	v.a.flash(fmt.Sprintf("filter %s: %s, %s (/ to change)", expr, plural(len(r.Paths), "path"), plural(len(r.Flows), "flow")), toneInfo)
	return true
}

// selectSession selects a session by id (for findings about BGP).
func (v *bgpView) selectSession(id string) bool { return v.sessions.selectID(id) }
