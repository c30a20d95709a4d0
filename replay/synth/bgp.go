package synth

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/osrg/gobgp/v4/pkg/packet/bgp"
)

// BGP message types (RFC 4271 section 4.1).
const (
	bgpOpen         = 1
	bgpUpdate       = 2
	bgpNotification = 3
	bgpKeepalive    = 4
)

// speaker states
const (
	spIdle uint8 = iota
	spOpenSent
	spOpenConfirm
	spEstablished
)

// asTrans stands in for a 4-octet ASN in the OPEN's 2-octet field (RFC 6793).
const asTrans = 23456

type ribEntry struct {
	sess int32
	nh   ip4
}

// routerRT is a router's BGP state: the RIB of /32s learned from Muxes.
type routerRT struct {
	unreachable bool
	asn         uint32
	id          ip4
	rib         map[ip4][]ribEntry
}

// bgpSession is one configured eBGP peering between a Mux and a router; each connection
// attempt is an instance.
type bgpSession struct {
	mux        int32 // index into sim.muxes
	muxNode    int32
	router     int32 // node
	routerAddr ip4
	local      ip4
	hold       uint16
	connectAt  int64
	label      int32
	inst       int32
	truth      int32
	cur        [2]int32 // current speakers (mux side, router side), -1 when none
}

// bgpSpeaker is one side of one BGP connection.
type bgpSpeaker struct {
	sess   int32
	router bool
	state  uint8
	conn   int32
	kaGen  uint32
	index  int32
}

// bgpUpdate is the content of one UPDATE, for the router to apply and the truth to record.
type updateRec struct {
	sess     int32
	announce []ip4
	withdraw []ip4
	nextHop  ip4
	asPath   []uint32
	recorded bool
}

type bgpState struct {
	speakers []*bgpSpeaker
	updates  []updateRec
}

func (s *sim) buildBGP() {
	for mi := range s.sc.Muxes {
		m := &s.sc.Muxes[mi]
		mr := &s.muxes[mi]
		for _, e := range m.Events {
			ev := muxEvent{at: int64(e.At.Value), action: e.Action.Value, vip: -1, reconnect: int64(e.ReconnectAfter.Value)}
			if e.Prefix.Value.IsValid() {
				ev.vip = s.vipIdx[addr4(e.Prefix.Value.Addr())]
			}
			mr.events = append(mr.events, ev)
		}
		for _, p := range m.Peers {
			rn := s.nodeIdx(p.Router.Value)
			ra := addr4(p.Address.Value)
			local, _ := s.srcFor(mr.node, ra)
			si := int32(len(s.bgp))
			sess := bgpSession{mux: int32(mi), muxNode: mr.node, router: rn, routerAddr: ra, local: local,
				hold: uint16(p.HoldTime.Value / time.Second), connectAt: int64(p.ConnectAt.Value),
				label: s.truth.label(fmt.Sprintf("bgp %s-%s", mr.name, s.nodes[rn].name)), cur: [2]int32{-1, -1}}
			sess.truth = s.truth.bgpSession(s, &sess)
			s.bgp = append(s.bgp, sess)
			mr.sessions = append(mr.sessions, si)
		}
	}
	for _, f := range s.sc.Faults {
		if w := f.Withdraw; w != nil {
			for mi := range s.muxes {
				if s.muxes[mi].name != w.Mux.Value {
					continue
				}
				vi := s.vipIdx[addr4(w.Prefix.Value.Addr())]
				s.muxes[mi].events = append(s.muxes[mi].events, muxEvent{at: int64(w.From.Value), action: "withdraw", vip: vi})
				if w.Until.Set {
					s.muxes[mi].events = append(s.muxes[mi].events, muxEvent{at: int64(w.Until.Value), action: "announce", vip: vi})
				}
			}
		}
	}
}

// bgpConnect opens (or reopens) the Mux side of a session.
func (s *sim) bgpConnect(si int32) {
	sess := &s.bgp[si]
	if sess.cur[0] >= 0 && s.bgpState.speakers[sess.cur[0]].state != spIdle {
		return
	}
	sp := s.newSpeaker(si, false)
	inst := sess.inst
	sess.inst++
	mss := s.links[s.ifaces[s.owner[sess.local]].link].mtu - 40
	key := connKey{l: sess.local, r: sess.routerAddr, lp: s.ephemeral(sess.muxNode), rp: portBGP}
	sp.conn = s.connect(sess.muxNode, key, mss, sp, sess.label, -1, inst)
}

func (s *sim) newSpeaker(si int32, router bool) *bgpSpeaker {
	sp := &bgpSpeaker{sess: si, router: router, conn: -1, index: int32(len(s.bgpState.speakers))}
	s.bgpState.speakers = append(s.bgpState.speakers, sp)
	side := 0
	if router {
		side = 1
	}
	s.bgp[si].cur[side] = sp.index
	return sp
}

// bgpAccept gives the router's side of a connection from a configured Mux.
func (s *sim) bgpAccept(n int32, p *pkt) tcpApp {
	for si := range s.bgp {
		sess := &s.bgp[si]
		if sess.router == n && sess.routerAddr == p.dst && sess.local == p.src {
			return s.newSpeaker(int32(si), true)
		}
	}
	return nil
}

// sendBGP queues one serialized message (tag: update index for UPDATEs).
func (s *sim) sendBGP(ci int32, msg *bgp.BGPMessage, tag int32) {
	b, err := msg.Serialize()
	if err != nil {
		s.err = fmt.Errorf("synth: serializing bgp message: %w", err)
		return
	}
	s.queue(ci, message{kind: msgBlob, blob: b, n: uint32(len(b)), tag: tag})
	s.truth.bgpMessage(s.bgp[s.bgpSpeakerOf(ci).sess].truth, b[18])
}

func (s *sim) bgpSpeakerOf(ci int32) *bgpSpeaker {
	return s.conns[ci].app.(*bgpSpeaker)
}

func (s *sim) openMessage(sp *bgpSpeaker) *bgp.BGPMessage {
	sess := &s.bgp[sp.sess]
	asn, id := s.muxes[sess.mux].asn, s.muxes[sess.mux].routerID
	if sp.router {
		r := s.nodes[sess.router].router
		asn, id = r.asn, r.id
	}
	as2 := uint16(asn)
	if asn > 0xffff {
		as2 = asTrans
	}
	caps := []bgp.ParameterCapabilityInterface{
		bgp.NewCapMultiProtocol(bgp.RF_IPv4_UC),
		bgp.NewCapRouteRefresh(),
		bgp.NewCapFourOctetASNumber(asn),
	}
	msg, err := bgp.NewBGPOpenMessage(as2, sess.hold, netip.AddrFrom4(id),
		[]bgp.OptionParameterInterface{bgp.NewOptionParameterCapability(caps)})
	if err != nil {
		s.err = fmt.Errorf("synth: building bgp open: %w", err)
	}
	return msg
}

// updateMessage builds an UPDATE announcing or withdrawing VIP /32s from a Mux.
func (s *sim) updateMessage(si int32, announce, withdraw []ip4) (*bgp.BGPMessage, int32) {
	sess := &s.bgp[si]
	m := &s.muxes[sess.mux]
	u := updateRec{sess: si, announce: announce, withdraw: withdraw}
	var wd, nlri []bgp.PathNLRI
	for _, a := range withdraw {
		pfx, _ := bgp.NewIPAddrPrefix(netip.PrefixFrom(netip.AddrFrom4(a), 32))
		wd = append(wd, bgp.PathNLRI{NLRI: pfx})
	}
	var attrs []bgp.PathAttributeInterface
	if len(announce) > 0 {
		u.nextHop, u.asPath = sess.local, []uint32{m.asn}
		nh, err := bgp.NewPathAttributeNextHop(netip.AddrFrom4(sess.local))
		if err != nil {
			s.err = fmt.Errorf("synth: bgp next hop: %w", err)
		}
		attrs = []bgp.PathAttributeInterface{
			bgp.NewPathAttributeOrigin(bgp.BGP_ORIGIN_ATTR_TYPE_IGP),
			bgp.NewPathAttributeAsPath([]bgp.AsPathParamInterface{
				bgp.NewAs4PathParam(bgp.BGP_ASPATH_ATTR_TYPE_SEQ, []uint32{m.asn})}),
			nh,
		}
		for _, a := range announce {
			pfx, _ := bgp.NewIPAddrPrefix(netip.PrefixFrom(netip.AddrFrom4(a), 32))
			nlri = append(nlri, bgp.PathNLRI{NLRI: pfx})
		}
	}
	tag := int32(len(s.bgpState.updates))
	s.bgpState.updates = append(s.bgpState.updates, u)
	return bgp.NewBGPUpdateMessage(wd, attrs, nlri), tag
}

func (sp *bgpSpeaker) established(s *sim, ci int32) {
	sp.conn = ci
	sp.state = spOpenSent
	s.sendBGP(ci, s.openMessage(sp), -1)
	s.truth.bgpConnected(s, s.bgp[sp.sess].truth, ci)
}

func (sp *bgpSpeaker) message(s *sim, ci int32, m int) {
	c := &s.conns[ci]
	msg := &s.conns[c.peer].msgs[m]
	if len(msg.blob) < 19 {
		return
	}
	switch msg.blob[18] {
	case bgpOpen:
		s.sendBGP(ci, bgp.NewBGPKeepAliveMessage(), -1)
		sp.state = spOpenConfirm
		sp.kaGen++
		s.scheduleKeepalive(sp)
	case bgpKeepalive:
		if sp.state == spOpenConfirm {
			sp.state = spEstablished
			s.truth.bgpEstablished(s, s.bgp[sp.sess].truth)
			if !sp.router {
				s.announceAll(sp)
			}
		}
	case bgpUpdate:
		if sp.router && msg.tag >= 0 {
			s.applyUpdate(msg.tag)
		}
	case bgpNotification:
		sp.state = spIdle
		sp.kaGen++
		if sp.router {
			s.flushRoutes(sp.sess)
		}
		s.closeSend(ci, false)
	}
	s.output(ci)
}

func (sp *bgpSpeaker) peerFin(s *sim, ci int32) {
	if sp.router {
		s.flushRoutes(sp.sess)
	}
	sp.state = spIdle
	sp.kaGen++
	s.closeSend(ci, false)
}

func (sp *bgpSpeaker) closed(s *sim, _ int32, _ bool) {
	if sp.router {
		s.flushRoutes(sp.sess)
	}
	sp.state = spIdle
	sp.kaGen++
	s.truth.bgpClosed(s, s.bgp[sp.sess].truth)
}

// announceAll sends one UPDATE with every VIP the Mux currently announces.
func (s *sim) announceAll(sp *bgpSpeaker) {
	m := &s.muxes[s.bgp[sp.sess].mux]
	var vips []ip4
	for vi, on := range m.announced {
		if on {
			vips = append(vips, s.vips[vi].addr)
		}
	}
	if len(vips) == 0 {
		return
	}
	msg, tag := s.updateMessage(sp.sess, vips, nil)
	s.sendBGP(sp.conn, msg, tag)
}

func (s *sim) scheduleKeepalive(sp *bgpSpeaker) {
	hold := int64(s.bgp[sp.sess].hold) * int64(time.Second)
	if hold == 0 {
		return
	}
	// RFC 4271 10: jitter the interval down by up to 25%
	iv := hold / 3
	iv -= s.rng.Int64N(iv/4 + 1)
	s.push(event{t: s.now + iv, kind: evBGPKeepalive, a: sp.index, c: sp.kaGen})
}

func (s *sim) bgpKeepalive(idx int32, gen uint32) {
	sp := s.bgpState.speakers[idx]
	if gen != sp.kaGen || sp.state < spOpenConfirm || s.now > s.end || sp.conn < 0 {
		return
	}
	s.sendBGP(sp.conn, bgp.NewBGPKeepAliveMessage(), -1)
	s.output(sp.conn)
	s.scheduleKeepalive(sp)
}

// bgpEvent applies a scheduled announce, withdraw or reset at a Mux.
func (s *sim) bgpEvent(mi int32, ei int32) {
	m := &s.muxes[mi]
	e := m.events[ei]
	for _, si := range m.sessions {
		cur := s.bgp[si].cur[0]
		var sp *bgpSpeaker
		if cur >= 0 {
			sp = s.bgpState.speakers[cur]
		}
		switch e.action {
		case "announce", "withdraw":
			if sp == nil || sp.state != spEstablished {
				continue
			}
			addr := []ip4{s.vips[e.vip].addr}
			var msg *bgp.BGPMessage
			var tag int32
			if e.action == "announce" {
				msg, tag = s.updateMessage(si, addr, nil)
			} else {
				msg, tag = s.updateMessage(si, nil, addr)
			}
			s.sendBGP(sp.conn, msg, tag)
			s.output(sp.conn)
		case "reset":
			if sp != nil && sp.state != spIdle {
				s.sendBGP(sp.conn, bgp.NewBGPNotificationMessage(bgp.BGP_ERROR_CEASE,
					bgp.BGP_ERROR_SUB_ADMINISTRATIVE_RESET, nil), -1)
				sp.state = spIdle
				sp.kaGen++
				s.closeSend(sp.conn, false)
			}
			if e.reconnect > 0 {
				s.push(event{t: s.now + e.reconnect, kind: evBGPConnect, a: si})
			}
		}
	}
	switch e.action {
	case "announce":
		m.announced[e.vip] = true
	case "withdraw":
		m.announced[e.vip] = false
	}
}

// applyUpdate changes the router's RIB when an UPDATE has fully arrived.
func (s *sim) applyUpdate(tag int32) {
	u := &s.bgpState.updates[tag]
	r := s.nodes[s.bgp[u.sess].router].router
	for _, a := range u.withdraw {
		r.rib[a] = removeSess(r.rib[a], u.sess)
	}
	for _, a := range u.announce {
		r.rib[a] = append(removeSess(r.rib[a], u.sess), ribEntry{sess: u.sess, nh: u.nextHop})
	}
}

// flushRoutes removes every route a session taught its router.
func (s *sim) flushRoutes(si int32) {
	r := s.nodes[s.bgp[si].router].router
	for _, v := range s.vips {
		if es, ok := r.rib[v.addr]; ok {
			r.rib[v.addr] = removeSess(es, si)
		}
	}
}

func removeSess(es []ribEntry, si int32) []ribEntry {
	out := es[:0]
	for _, e := range es {
		if e.sess != si {
			out = append(out, e)
		}
	}
	return out
}

// ribLookup finds a BGP route for dst: the first live next hop, reached over a connected route.
func (s *sim) ribLookup(nd *node, dst ip4) (route, bool) {
	es := nd.router.rib[dst]
	if len(es) == 0 {
		return route{}, false
	}
	nh := es[0].nh
	for _, r := range nd.routes {
		if r.via == (ip4{}) && nh.u32()&r.mask == r.net {
			return route{net: dst.u32(), mask: ^uint32(0), bits: 32, via: nh, out: r.out}, true
		}
	}
	return route{}, false
}
