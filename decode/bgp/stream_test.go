package bgp

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sampleUpdate is a 2-octet-AS UPDATE announcing two prefixes; long enough to split.
func sampleUpdate() []byte {
	return update(nil, basicAttrs(asPath(2, seq(65001, 65002)), "10.0.0.1"), prefixes(nil, "192.0.2.0/24", "198.51.100.0/25"))
}

func TestReassembly(t *testing.T) {
	u := sampleUpdate()
	ka := keepalive()
	type step struct {
		dir   int
		from  int // byte offset in the direction's stream after the handshake
		data  []byte
		ended int // what Feed must return
	}
	// stream0 is what the client sends after the handshake: KEEPALIVE, UPDATE, KEEPALIVE.
	stream0 := concat(ka, u, ka)
	uStart, uEnd := len(ka), len(ka)+len(u)
	cases := []struct {
		name       string
		why        string
		steps      []step
		wantKA     int
		wantUpd    int
		wantKinds  map[string]int
		wantLate   int
		updateTime int // index of the step whose time the UPDATE must carry, -1 to skip
	}{
		{
			name: "in order",
			why:  "baseline: every message ends in the segment that completes it",
			steps: []step{{0, 0, stream0[:uStart], 1}, {0, uStart, stream0[uStart:uEnd], 1},
				{0, uEnd, stream0[uEnd:], 1}},
			wantKA: 2, wantUpd: 1, updateTime: 1,
		},
		{
			name: "split over 3 segments out of order",
			why:  "the UPDATE's pieces arrive 3rd, 1st, 2nd; it completes with the 2nd and keeps the 3rd's time",
			steps: []step{{0, 0, stream0[:uStart], 1}, {0, uStart + 40, stream0[uStart+40 : uEnd], 0},
				{0, uStart, stream0[uStart : uStart+15], 0}, {0, uStart + 15, stream0[uStart+15 : uStart+40], 1},
				{0, uEnd, stream0[uEnd:], 1}},
			wantKA: 2, wantUpd: 1, updateTime: 1,
		},
		{
			name: "retransmitted segment",
			why:  "the same bytes twice count once, and the copy reports no message end",
			steps: []step{{0, 0, stream0[:uEnd], 2}, {0, 0, stream0[:uEnd], 0},
				{0, uEnd, stream0[uEnd:], 1}},
			wantKA: 2, wantUpd: 1, updateTime: 0,
		},
		{
			name: "overlapping segment",
			why:  "a retransmission re-cut at other boundaries overlaps sent data; only its new bytes count",
			steps: []step{{0, 0, stream0[:uStart+20], 1}, {0, uStart + 10, stream0[uStart+10 : uEnd], 1},
				{0, uEnd, stream0[uEnd:], 1}},
			wantKA: 2, wantUpd: 1, updateTime: 1,
		},
		{
			name: "overlap inside queued data",
			why:  "two out-of-order segments overlap each other before the hole is filled",
			steps: []step{{0, uStart + 30, stream0[uStart+30:], 0}, {0, uStart + 20, stream0[uStart+20 : uStart+50], 0},
				{0, 0, stream0[:uStart+20], 3}},
			wantKA: 2, wantUpd: 1, updateTime: -1,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Log(tc.why)
			a := NewAssembler(Options{})
			c := newConv(a, 0, 1000, 5000)
			c.handshake()
			base := c.next[0]
			var times []int64
			for i, s := range tc.steps {
				got := c.seg(s.dir, base+uint32(s.from), s.data, false, true, false)
				times = append(times, c.now)
				if got != s.ended {
					t.Errorf("step %d: Feed returned %d, want %d", i, got, s.ended)
				}
			}
			a.Flush()
			mustNoProblems(t, a)
			cnt := a.Counts()
			if cnt.Keepalive != tc.wantKA || cnt.Update != tc.wantUpd || cnt.Total() != tc.wantKA+tc.wantUpd {
				t.Errorf("counts %+v, want %d keepalives and %d updates", cnt, tc.wantKA, tc.wantUpd)
			}
			for _, m := range a.Messages() {
				if m.Type != TypeUpdate {
					continue
				}
				if m.Err != nil {
					t.Errorf("update error: %v", m.Err)
				}
				if got := len(m.Routes()); got != 2 {
					t.Errorf("update has %d routes, want 2", got)
				}
				if m.Offset != int64(uStart) || m.Seq != base+uint32(uStart) {
					t.Errorf("update at offset %d seq %d, want %d and %d", m.Offset, m.Seq, uStart, base+uint32(uStart))
				}
				if tc.updateTime >= 0 && m.Time != times[tc.updateTime] {
					t.Errorf("update time %d, want step %d's %d", m.Time, tc.updateTime, times[tc.updateTime])
				}
			}
			if got := a.Stats().LateEndPackets; got != tc.wantLate {
				t.Errorf("late end packets %d, want %d", got, tc.wantLate)
			}
		})
	}
}

func TestGapResync(t *testing.T) {
	// Why: a segment that never arrives must be reported once, the message it cut is lost,
	// and framing must resume at the next marker so later messages still parse.
	u := sampleUpdate()
	ka := keepalive()
	stream := concat(ka, u, ka, u, ka)
	lostFrom, lostTo := len(ka)+10, len(ka)+30 // inside the first UPDATE
	a := NewAssembler(Options{GapWait: 500 * time.Millisecond})
	c := newConv(a, 0, 7, 9)
	c.handshake()
	base := c.next[0]
	c.seg(0, base, stream[:lostFrom], false, true, false)
	c.seg(0, base+uint32(lostTo), stream[lostTo:len(ka)+len(u)+len(ka)], false, true, false)
	// More data arrives after the wait: the gap is declared before it is assembled.
	c.now += int64(time.Second)
	rest := stream[len(ka)+len(u)+len(ka):]
	if got := c.seg(0, base+uint32(len(stream)-len(rest)), rest, false, true, false); got != 2 {
		t.Errorf("segment after the gap completed %d messages, want 2 (UPDATE, KEEPALIVE)", got)
	}
	a.Flush()
	kinds := problemKinds(a)
	if kinds[ProblemGap] != 1 || kinds[ProblemResync] != 1 || len(kinds) != 2 {
		t.Errorf("problems %v, want one gap and one resync", kinds)
	}
	for _, p := range a.Problems() {
		if p.Kind == ProblemGap && (p.StreamOffset != int64(lostFrom) || !strings.Contains(p.Message, "20 bytes")) {
			t.Errorf("gap problem %v: want 20 bytes missing at stream byte %d", p, lostFrom)
		}
	}
	cnt := a.Counts()
	if cnt.Keepalive != 3 || cnt.Update != 1 {
		t.Errorf("counts %+v, want 3 keepalives and the second update", cnt)
	}
	if s := a.Sessions(); len(s) != 1 || s[0].Gaps != 1 {
		t.Errorf("sessions %+v, want one with one gap", s)
	}
	if got := a.Stats().LateEndPackets; got != 1 {
		t.Errorf("late end packets %d, want 1 (the keepalive after the hole, completed by the wait)", got)
	}
}

func TestMidstream(t *testing.T) {
	u := sampleUpdate()
	ka := keepalive()
	cases := []struct {
		name    string
		why     string
		lead    []byte
		kinds   map[string]int
		skipped int
	}{
		{"aligned", "a capture that starts on a message boundary needs no resync", nil, map[string]int{}, 0},
		{"mid-message", "the first segment starts with the tail of an unseen message", u[25:], map[string]int{ProblemMidstream: 1}, len(u) - 25},
		{"tail holds ff bytes", "a tail of 0xff bytes (a /32 of 255.255.255.255) is not taken for a marker", concat([]byte{0xff, 0xff, 0xff}, u[len(u)-5:]), map[string]int{ProblemMidstream: 1}, 8},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Log(tc.why)
			a := NewAssembler(Options{})
			c := newConv(a, 0, 123456, 654321)
			c.send(1, ka) // no handshake: both directions start at their first segment
			if got := c.send(0, concat(tc.lead, ka, u)); got != 2 {
				t.Errorf("first client segment completed %d messages, want 2", got)
			}
			c.send(0, ka)
			a.Flush()
			if got := problemKinds(a); !mapsEqual(got, tc.kinds) {
				t.Errorf("problems %v, want %v", got, tc.kinds)
			}
			for _, p := range a.Problems() {
				if !strings.Contains(p.Message, "skipped "+itoa(tc.skipped)+" bytes") {
					t.Errorf("problem %q does not say %d bytes were skipped", p.Message, tc.skipped)
				}
			}
			if cnt := a.Counts(); cnt.Keepalive != 3 || cnt.Update != 1 {
				t.Errorf("counts %+v", cnt)
			}
			s := a.Sessions()
			if len(s) != 1 || s[0].State != StateUnknown || s[0].Peers[0] != c.ep[1] {
				t.Errorf("sessions %+v: want one, state unknown, side 0 = first sender %v", s, c.ep[1])
			}
		})
	}
}

func TestSameSessionAtTwoPoints(t *testing.T) {
	// Why: one BGP session captured at two points is one session whose messages count
	// once, while each point's packets still report their message ends.
	a := NewAssembler(Options{})
	p0 := newConv(a, 0, 1000, 2000)
	p1 := newConv(a, 1, 1000, 2000)
	steps := []struct {
		dir  int
		data []byte
	}{
		{0, open(65001, 90, "1.1.1.1", capAS4(65001))},
		{1, open(65002, 30, "2.2.2.2", capAS4(4200000002))},
		{0, keepalive()},
		{1, keepalive()},
		{0, update(nil, basicAttrs(asPath(4, seq(65001)), "10.0.0.1"), prefixes(nil, "203.0.113.0/24"))},
	}
	p0.handshake()
	p1.handshake()
	for i, s := range steps {
		if got := p0.send(s.dir, s.data); got != 1 {
			t.Errorf("step %d at point 0: %d ends", i, got)
		}
		p1.now = p0.now + int64(50*time.Microsecond)
		if got := p1.send(s.dir, s.data); got != 1 {
			t.Errorf("step %d at point 1: %d ends", i, got)
		}
	}
	a.Flush()
	mustNoProblems(t, a)
	if cnt := a.Counts(); cnt.Total() != len(steps) {
		t.Errorf("counted %+v, want %d messages once each", cnt, len(steps))
	}
	if st := a.Stats(); st.Duplicates != len(steps) {
		t.Errorf("duplicates %d, want %d", st.Duplicates, len(steps))
	}
	ss := a.Sessions()
	if len(ss) != 1 {
		t.Fatalf("%d sessions, want 1", len(ss))
	}
	s := ss[0]
	if !slices.Equal(s.Points, []int{0, 1}) || s.State != StateEstablished || !s.FourOctetAS ||
		s.ASN != [2]uint32{65001, 4200000002} || s.HoldTime != 30 || s.Peers[0] != p0.ep[0] {
		t.Errorf("session %+v", s)
	}
	for _, m := range a.Messages() {
		if !slices.Equal(m.Points, []int{0, 1}) || m.Point != 0 {
			t.Errorf("message %d points %v (first %d), want [0 1] first 0", m.Index, m.Points, m.Point)
		}
	}
	// A third point that picks the connection up mid-stream (no SYN) joins it: its first
	// sequence number lies within the range the other points saw.
	p3 := newConv(a, 2, p0.next[0], p0.next[1])
	p3.now = p0.now
	if got := p3.send(0, keepalive()); got != 1 {
		t.Errorf("mid-stream point: %d ends", got)
	}
	if ss := a.Sessions(); len(ss) != 1 || !slices.Equal(ss[0].Points, []int{0, 1, 2}) || ss[0].Counts.Keepalive != 3 {
		t.Errorf("after a mid-stream third point: %+v", ss)
	}
	// A reconnect on the same 4-tuple with new sequence numbers is another session.
	p2 := newConv(a, 1, 900000000, 1900000000)
	p2.handshake()
	p2.send(0, keepalive())
	if n := len(a.Sessions()); n != 2 {
		t.Errorf("%d sessions after a reconnect with new ISNs, want 2", n)
	}
}

func TestSessionLifecycle(t *testing.T) {
	// Why: the state follows OPENs, KEEPALIVE and NOTIFICATION/FIN, and the context the
	// OPENs negotiate (2-octet AS here, ADD-PATH one way) decides how UPDATEs parse.
	a := NewAssembler(Options{})
	c := newConv(a, 3, 1, 1)
	c.handshake()
	state := func() string { return a.Sessions()[0].State }
	c.send(0, open(65001, 180, "1.1.1.1", capMP(1, 1), capAddPath(1, 1, 2)))
	if s := state(); s != StateOpenSent {
		t.Errorf("after one OPEN: %s", s)
	}
	c.send(1, open(65002, 90, "2.2.2.2", capMP(1, 1), capAddPath(1, 1, 1), capAS4(65002)))
	c.send(1, keepalive())
	if s := state(); s != StateEstablished {
		t.Errorf("after both OPENs and a KEEPALIVE: %s", s)
	}
	// The client may send path ids (it advertised send, the server receive); the server not.
	c.send(0, update(nil, basicAttrs(asPath(2, seq(65001)), "10.0.0.1"), prefixes([]uint32{7, 8}, "192.0.2.0/24", "192.0.2.128/25")))
	c.send(1, update(prefixes(nil, "198.51.100.0/24"), nil, nil))
	c.send(1, msg(TypeNotification, []byte{6, 2, 5, 'b', 'y', 'e', '!', '!'}))
	a.Flush()
	mustNoProblems(t, a)
	s := a.Sessions()[0]
	if s.State != StateDown || s.FourOctetAS || s.FourOctetFrom != "open" || !s.AddPath || s.HoldTime != 90 {
		t.Errorf("session %+v", s)
	}
	if s.Notification == nil || s.Notification.Name != "Cease / Administrative Shutdown" || s.Notification.Text != "bye!!" || s.NotificationFrom != c.ep[1] {
		t.Errorf("notification %+v from %v", s.Notification, s.NotificationFrom)
	}
	var routes []Route
	for _, m := range a.Messages() {
		routes = append(routes, m.Routes()...)
	}
	want := []string{"announce 192.0.2.0/24 id 7 path 65001", "announce 192.0.2.128/25 id 8 path 65001", "withdraw 198.51.100.0/24 id - path "}
	var got []string
	for _, r := range routes {
		id := "-"
		if r.HasPathID {
			id = itoa(int(r.PathID))
		}
		got = append(got, r.Event+" "+r.Prefix+" id "+id+" path "+r.ASPath.String())
	}
	if !slices.Equal(got, want) {
		t.Errorf("routes\n got %q\nwant %q", got, want)
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func itoa(i int) string { return strconv.Itoa(i) }
