package synth

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/stackflow/stackflow/replay/scenario"
)

type journeyRec struct {
	label   int32
	inst    int32
	forward bool
	proto   uint8
	summary string
	cause   int32
	drop    int32
	lastObs int32
}

type obsRec struct {
	journey      int32
	link         int32
	node         int32
	transform    uint8
	ttl          uint8
	encap        bool
	proto        uint8
	number, pnum uint64
	t            int64
	src, dst     ip4
	sport, dport uint16
	srcMAC       mac
	dstMAC       mac
	osrc, odst   ip4
	osport       uint16
	vni          uint32
}

type dropRec struct {
	journey int32
	node    int32
	obs     int32
	t       int64
	reason  string
}

type natRec struct {
	node        int32
	kind        string
	proto       uint8
	inside      string
	outside     string
	first, last int64
	packets     int
}

type bgpSessRec struct {
	out TruthBGPSession
}

type routeRec struct {
	sess  int32
	upd   int32
	t     int64
	link  int32
	num   uint64
	valid bool
}

type withdrawnRec struct {
	vip    ip4
	router int32
	t      int64
	obs    int32
	jr     int32
}

func newTruth(sc *scenario.Scenario, seed uint64, journeys bool) *Truth {
	t := &Truth{Schema: TruthSchema, Scenario: sc.Name.Value, Seed: seed, keepJourneys: journeys, sc: sc,
		labelIdx: map[string]int32{}, natIdx: map[string]int32{}, first: -1}
	for _, w := range sc.Warnings {
		t.Warnings = append(t.Warnings, w.Error())
	}
	return t
}

func fmtTime(ns int64) string {
	return time.Unix(0, ns).UTC().Format("2006-01-02T15:04:05.000000000Z07:00")
}

func fmtAddr(a ip4) string { return netip.AddrFrom4(a).String() }

func fmtMAC(m mac) string {
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5])
}

func (t *Truth) label(name string) int32 {
	if i, ok := t.labelIdx[name]; ok {
		return i
	}
	i := int32(len(t.labels))
	t.labels = append(t.labels, name)
	t.labelIdx[name] = i
	return i
}

// begin starts the journey of a new packet.
func (t *Truth) begin(s *sim, i int32, label, inst int32, forward bool) {
	if !t.keepJourneys {
		return
	}
	p := &s.pkts[i]
	p.journey = int32(len(t.jr))
	t.jr = append(t.jr, journeyRec{label: label, inst: inst, forward: forward, proto: p.proto,
		summary: s.summary(p), cause: -1, drop: -1, lastObs: -1})
}

// beginError starts the journey of an ICMP error caused by journey cause.
func (t *Truth) beginError(s *sim, i int32, cause int32) {
	if !t.keepJourneys {
		return
	}
	label := int32(-1)
	inst := int32(0)
	if cause >= 0 {
		label, inst = t.jr[cause].label, t.jr[cause].inst
	}
	t.begin(s, i, label, inst, false)
	t.jr[s.pkts[i].journey].cause = cause
}

func (t *Truth) instanceOf(j int32) int32 {
	if j < 0 || int(j) >= len(t.jr) {
		return 0
	}
	return t.jr[j].inst
}

// summary describes a packet in a few words.
func (s *sim) summary(p *pkt) string {
	switch p.proto {
	case protoTCP:
		var f []string
		for _, x := range []struct {
			bit  uint8
			name string
		}{{flSYN, "SYN"}, {flFIN, "FIN"}, {flRST, "RST"}, {flPSH, "PSH"}, {flACK, "ACK"}} {
			if p.flags&x.bit != 0 {
				f = append(f, x.name)
			}
		}
		out := strings.Join(f, ",")
		if len(p.payload) > 0 {
			out += fmt.Sprintf(" %dB", len(p.payload))
		}
		if p.conn >= 0 && p.msgLo >= 0 && (p.sport == portBGP || p.dport == portBGP) {
			for k := p.msgLo; k <= p.msgHi; k++ {
				if b := s.conns[p.conn].msgs[k].blob; len(b) > 18 {
					out += " " + bgpTypeName(b[18])
				}
			}
		}
		return out
	case protoUDP:
		if p.sport == portDNS || p.dport == portDNS {
			return fmt.Sprintf("dns %dB", len(p.payload))
		}
		return fmt.Sprintf("udp %dB", len(p.payload))
	default:
		switch p.icmpType {
		case 8:
			return fmt.Sprintf("echo-request seq %d", p.icmpSeq)
		case 0:
			return fmt.Sprintf("echo-reply seq %d", p.icmpSeq)
		case 3:
			if p.icmpCode == 4 {
				return fmt.Sprintf("frag-needed mtu %d", p.icmpRest&0xffff)
			}
			return fmt.Sprintf("unreachable code %d", p.icmpCode)
		case 11:
			return "time-exceeded"
		}
		return fmt.Sprintf("icmp type %d", p.icmpType)
	}
}

func bgpTypeName(b byte) string {
	switch b {
	case bgpOpen:
		return "OPEN"
	case bgpUpdate:
		return "UPDATE"
	case bgpNotification:
		return "NOTIFICATION"
	case bgpKeepalive:
		return "KEEPALIVE"
	}
	return fmt.Sprintf("type-%d", b)
}

// observe records packet p seen on link l; it returns the observation index or -1.
func (t *Truth) observe(s *sim, p *pkt, l int32, stamp int64) int32 {
	if !t.keepJourneys || p.journey < 0 {
		return -1
	}
	o := obsRec{journey: p.journey, link: l, node: p.tfNode, transform: p.transform, ttl: p.ttl, encap: p.encap,
		proto: p.proto, t: stamp, src: p.src, dst: p.dst, srcMAC: p.ethSrc, dstMAC: p.ethDst}
	if sp, dp, ok := natPorts(p); ok {
		o.sport, o.dport = sp, dp
	}
	if p.encap {
		o.osrc, o.odst, o.osport, o.vni = p.outerSrc, p.outerDst, p.outerSport, p.vni
	}
	idx := int32(len(t.obs))
	t.obs = append(t.obs, o)
	t.jr[p.journey].lastObs = idx
	return idx
}

// numbered receives a frame's numbers once it is written.
func (t *Truth) numbered(s *sim, w written, number, pnum uint64, stamp int64, size int) {
	t.Packets++
	t.Bytes += int64(size)
	if t.first < 0 || stamp < t.first {
		t.first = stamp
	}
	t.last = max(t.last, stamp)
	s.links[w.link].frames++
	s.links[w.link].bytes += int64(size)
	if w.obs >= 0 {
		t.obs[w.obs].number, t.obs[w.obs].pnum = number, pnum
	}
	if w.first && w.conn >= 0 && w.msgLo >= 0 {
		c := &s.conns[w.conn]
		for k := w.msgLo; k <= w.msgHi; k++ {
			m := &c.msgs[k]
			if m.tag < 0 || len(m.blob) < 19 || m.blob[18] != bgpUpdate {
				continue
			}
			u := &s.bgpState.updates[m.tag]
			if u.recorded {
				continue
			}
			u.recorded = true
			t.routes = append(t.routes, routeRec{sess: s.bgp[u.sess].truth, upd: m.tag, t: stamp, link: w.link,
				num: number, valid: true})
		}
	}
}

func (t *Truth) drop(s *sim, p *pkt, n int32, reason string) {
	d := dropRec{journey: p.journey, node: n, obs: -1, t: s.start + s.now, reason: reason}
	if p.journey >= 0 {
		d.obs = t.jr[p.journey].lastObs
		t.jr[p.journey].drop = int32(len(t.drops))
	}
	t.drops = append(t.drops, d)
}

// noRoute notes traffic a router could not route to a VIP (withdrawn or never announced).
func (t *Truth) noRoute(s *sim, p *pkt, n int32) {
	if _, ok := s.vipIdx[p.dst]; !ok || s.nodes[n].router == nil {
		return
	}
	w := withdrawnRec{vip: p.dst, router: n, t: s.start + s.now, obs: -1, jr: p.journey}
	if p.journey >= 0 {
		w.obs = t.jr[p.journey].lastObs
	}
	t.withdrawn = append(t.withdrawn, w)
}

func (t *Truth) natNew(s *sim, n int32, kind string, proto uint8, in ip4, inPort uint16, out ip4, outPort uint16) int32 {
	r := natRec{node: n, kind: kind, proto: proto, inside: hostPort(in, inPort), outside: hostPort(out, outPort),
		first: s.start + s.now}
	key := fmt.Sprintf("%d|%s|%d|%s|%s", n, kind, proto, r.inside, r.outside)
	if i, ok := t.natIdx[key]; ok {
		return i
	}
	i := int32(len(t.nat))
	t.nat = append(t.nat, r)
	t.natIdx[key] = i
	return i
}

func (t *Truth) vipDip(s *sim, host int32, proto uint8, vip ip4, vport uint16, dip ip4, dport uint16, _ uint32) int32 {
	return t.natNew(s, host, "vip_dip", proto, dip, dport, vip, vport)
}

func (t *Truth) natUse(s *sim, i int32) {
	if i < 0 {
		return
	}
	r := &t.nat[i]
	r.last = s.start + s.now
	r.packets++
}

func (t *Truth) conversation(c *scenario.Conversation, src ip4) {
	t.Conversations = append(t.Conversations, TruthConversation{Name: c.Name.Value, Client: c.Client.Value,
		Src: fmtAddr(src), Dst: c.To.Addr.String(), DstName: c.To.Name, Proto: c.Proto.Value, App: c.App.Value})
}

func (t *Truth) convDone(ci int32, ok bool) {
	if ok {
		t.Conversations[ci].Completed++
	}
}

func (t *Truth) probe(host string, agent, dip ip4, port uint16, proto string) int32 {
	t.Probes = append(t.Probes, TruthProbe{Host: host, Agent: fmtAddr(agent), DIP: fmtAddr(dip), Port: port, Proto: proto})
	return int32(len(t.Probes) - 1)
}

func (t *Truth) probeSent(i int32) { t.Probes[i].Sent++ }
func (t *Truth) probeOK(i int32)   { t.Probes[i].Succeeded++ }

func (t *Truth) bgpSession(s *sim, sess *bgpSession) int32 {
	m := &s.muxes[sess.mux]
	r := s.nodes[sess.router].router
	out := TruthBGPSession{Mux: m.name, Router: s.nodes[sess.router].name,
		Peers:     [2]string{fmtAddr(sess.local), fmtAddr(sess.routerAddr)},
		ASNs:      [2]uint32{m.asn, r.asn},
		RouterIDs: [2]string{fmtAddr(m.routerID), fmtAddr(r.id)}, HoldTime: sess.hold,
		Point:       s.links[s.ifaces[s.owner[sess.local]].link].name,
		Established: []string{}, Closed: []string{},
		Messages: map[string]int{"open": 0, "update": 0, "notification": 0, "keepalive": 0, "route_refresh": 0}}
	t.bgpSess = append(t.bgpSess, bgpSessRec{out: out})
	return int32(len(t.bgpSess) - 1)
}

func (t *Truth) bgpMessage(si int32, typ byte) {
	name := strings.ToLower(bgpTypeName(typ))
	t.bgpSess[si].out.Messages[name]++
}

func (t *Truth) bgpConnected(s *sim, si int32, ci int32) {
	if s.conns[ci].forward {
		t.bgpSess[si].out.Connections++
	}
}

func (t *Truth) bgpEstablished(s *sim, si int32) {
	o := &t.bgpSess[si].out
	ts := fmtTime(s.start + s.now)
	if n := len(o.Established); n == 0 || n <= len(o.Closed) {
		o.Established = append(o.Established, ts)
	}
}

func (t *Truth) bgpClosed(s *sim, si int32) {
	o := &t.bgpSess[si].out
	if len(o.Closed) < len(o.Established) {
		o.Closed = append(o.Closed, fmtTime(s.start+s.now))
	}
}

// topology records points, nodes and VIP mappings from the compiled topology.
func (t *Truth) topology(s *sim) {
	for li, l := range t.sc.Links {
		p := TruthPoint{ID: l.Name.Value, Description: l.Description, Subnet: l.Subnet.Value.String(), MTU: int(l.MTU.Value)}
		for _, fi := range s.links[li].ifaces {
			p.Nodes = append(p.Nodes, s.nodes[s.ifaces[fi].node].name)
		}
		t.Points = append(t.Points, p)
	}
	for ni, n := range s.nodes {
		tn := TruthNode{Name: n.name, Roles: s.roles(int32(ni))}
		for _, fi := range n.ifaces {
			f := &s.ifaces[fi]
			ti := TruthInterface{Name: f.name, Point: s.links[f.link].name, MAC: fmtMAC(f.mac)}
			for _, a := range f.addrs {
				ti.Addresses = append(ti.Addresses, fmtAddr(a))
				tn.Addresses = append(tn.Addresses, fmtAddr(a))
			}
			tn.MACs = append(tn.MACs, ti.MAC)
			tn.Interfaces = append(tn.Interfaces, ti)
		}
		t.Nodes = append(t.Nodes, tn)
	}
	for _, v := range s.vips {
		name := v.name
		if name == "" {
			name = fmtAddr(v.addr)
		}
		t.Nodes = append(t.Nodes, TruthNode{Name: "VIP " + name, Roles: []string{"vip"},
			Addresses: []string{fmtAddr(v.addr)}, MACs: []string{}})
		var muxes []string
		for _, mi := range v.muxes {
			muxes = append(muxes, s.muxes[mi].name)
		}
		keys := make([]vipPortKey, 0, len(v.ports))
		for k := range v.ports {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool {
			return keys[i].proto < keys[j].proto || keys[i].proto == keys[j].proto && keys[i].port < keys[j].port
		})
		for _, b := range v.backends {
			if b.host < 0 {
				continue
			}
			h := &s.hosts[b.host]
			add := func(proto string, port, bport uint16) {
				t.VIPs = append(t.VIPs, TruthVIP{VIP: fmtAddr(v.addr), Name: v.name, Proto: proto, Port: port,
					DIP: fmtAddr(b.dip), BackendPort: bport, Host: h.name, HostPA: fmtAddr(h.pa), VNI: b.vni,
					Muxes: muxes, DSR: h.dsr})
			}
			for _, k := range keys {
				add(protoName(k.proto), k.port, v.ports[k])
			}
			if v.icmp {
				add("icmp", 0, 0)
			}
		}
	}
}

// roles maps a node to the report's role vocabulary (DESIGN.md section 6).
func (s *sim) roles(n int32) []string {
	nd := &s.nodes[n]
	var r []string
	switch nd.role {
	case scenario.RoleClient:
		r = append(r, "client")
	case scenario.RoleServer:
		r = append(r, "server")
		for _, v := range s.vips {
			for _, b := range v.backends {
				if s.ifaces[s.owner[b.dip]].node == n && !contains(r, "dip") {
					r = append(r, "dip")
				}
			}
		}
	case scenario.RoleNAT:
		r = append(r, "nat")
	case scenario.RoleRouter:
		r = append(r, "router")
	case scenario.RoleMux:
		r = append(r, "mux")
	case scenario.RoleHost:
		r = append(r, "host")
	}
	if nd.router != nil || nd.mux >= 0 && len(s.muxes[nd.mux].sessions) > 0 {
		r = append(r, "bgp_speaker")
	}
	for _, p := range s.probes {
		if p.host == n && !contains(r, "prober") {
			r = append(r, "prober")
		}
	}
	if nd.isDNS {
		r = append(r, "dns_server")
	}
	return r
}

func contains(l []string, x string) bool {
	for _, y := range l {
		if y == x {
			return true
		}
	}
	return false
}

var transformNames = []struct {
	bit  uint8
	name string
}{{tfDecap, "decap"}, {tfSNAT, "snat"}, {tfDNAT, "dnat"}, {tfEncap, "encap"}}

func transformName(b uint8) string {
	var parts []string
	for _, x := range transformNames {
		if b&x.bit != 0 {
			parts = append(parts, x.name)
		}
	}
	if len(parts) == 0 {
		if b&tfRoute != 0 {
			return "route"
		}
		return "none"
	}
	return strings.Join(parts, "+")
}

// finishTruth turns the records into the exported answer key.
func (s *sim) finishTruth() {
	t := s.truth
	if t.first >= 0 {
		t.Start, t.End = fmtTime(t.first), fmtTime(t.last)
	} else {
		t.Start, t.End = fmtTime(s.start), fmtTime(s.start)
	}
	for i := range t.Points {
		t.Points[i].ClockOffsetUs = s.links[i].clockOff / 1000
		t.Points[i].Packets = int(s.out.perPoint[i])
	}
	for i := range t.Points {
		t.Points[i].Bytes = s.links[i].bytes
	}
	for i := range t.Conversations {
		t.Conversations[i].Instances = s.convs[i].launched
	}
	t.finishNAT(s)
	t.finishDrops(s)
	t.finishJourneys(s)
	t.finishBGP(s)
	t.finishWithdrawn(s)
	if t.NAT == nil {
		t.NAT = []TruthNAT{}
	}
	for _, l := range []*[]TruthDrop{&t.Drops} {
		if *l == nil {
			*l = []TruthDrop{}
		}
	}
	if t.WithdrawnTraffic == nil {
		t.WithdrawnTraffic = []TruthWithdrawn{}
	}
	if t.Probes == nil {
		t.Probes = []TruthProbe{}
	}
	if t.DSR == nil {
		t.DSR = []TruthDSR{}
	}
	if t.VIPs == nil {
		t.VIPs = []TruthVIP{}
	}
}

func (t *Truth) finishNAT(s *sim) {
	idx := make([]int, len(t.nat))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return t.nat[idx[a]].first < t.nat[idx[b]].first })
	for _, i := range idx {
		r := t.nat[i]
		if r.packets == 0 {
			continue
		}
		t.NAT = append(t.NAT, TruthNAT{Node: s.nodes[r.node].name, Kind: r.kind, Proto: protoName(r.proto),
			Inside: r.inside, Outside: r.outside, First: fmtTime(r.first), Last: fmtTime(r.last), Packets: r.packets})
	}
}

func (t *Truth) dropOut(s *sim, d dropRec) TruthDrop {
	out := TruthDrop{Journey: int(d.journey) + 1, Node: s.nodes[d.node].name, Time: fmtTime(d.t), Reason: d.reason}
	if d.journey < 0 {
		out.Journey = 0
	}
	if d.obs >= 0 {
		out.AfterPoint = s.links[t.obs[d.obs].link].name
		out.Number = t.obs[d.obs].number
	}
	return out
}

func (t *Truth) finishDrops(s *sim) {
	for _, d := range t.drops {
		t.Drops = append(t.Drops, t.dropOut(s, d))
	}
}

func u16p(v uint16) *uint16 { return &v }
func u32p(v uint32) *uint32 { return &v }

func (t *Truth) finishJourneys(s *sim) {
	if !t.keepJourneys {
		return
	}
	byJ := make([][]int32, len(t.jr))
	for oi := range t.obs {
		j := t.obs[oi].journey
		byJ[j] = append(byJ[j], int32(oi))
	}
	type dsrK struct {
		host, vip, dip, path string
	}
	dsr := map[dsrK]int{}
	var dsrOrder []dsrK
	t.Journeys = make([]Journey, 0, len(t.jr))
	for ji, r := range t.jr {
		j := Journey{ID: ji + 1, Instance: int(r.inst), Proto: protoName(r.proto), Summary: r.summary,
			Direction: "return", Observations: []Observation{}}
		if r.forward {
			j.Direction = "forward"
		}
		if r.label >= 0 {
			j.Conversation = t.labels[r.label]
		}
		if r.cause >= 0 {
			j.Cause = int(r.cause) + 1
		}
		dsrHost := ""
		var points []string
		for _, oi := range byJ[ji] {
			o := &t.obs[oi]
			ob := Observation{Point: s.links[o.link].name, Number: o.number, PointNumber: o.pnum, Time: fmtTime(o.t),
				Node: s.nodes[o.node].name, Transform: transformName(o.transform), SrcMAC: fmtMAC(o.srcMAC),
				DstMAC: fmtMAC(o.dstMAC), Src: fmtAddr(o.src), Dst: fmtAddr(o.dst), TTL: o.ttl}
			if o.proto == protoTCP || o.proto == protoUDP || o.proto == protoICMP && (o.sport != 0 || o.dport != 0) {
				ob.Sport, ob.Dport = u16p(o.sport), u16p(o.dport)
			}
			if o.encap {
				ob.OuterSrc, ob.OuterDst, ob.OuterSport, ob.VNI = fmtAddr(o.osrc), fmtAddr(o.odst), u16p(o.osport), u32p(o.vni)
			}
			if o.transform&tfSNAT != 0 && s.nodes[o.node].host >= 0 {
				dsrHost = s.nodes[o.node].name
			}
			points = append(points, ob.Point)
			j.Observations = append(j.Observations, ob)
		}
		if r.drop >= 0 {
			d := t.dropOut(s, t.drops[r.drop])
			j.Drop = &d
		}
		if dsrHost != "" && len(j.Observations) > 0 {
			first := j.Observations[0]
			last := j.Observations[len(j.Observations)-1]
			k := dsrK{dsrHost, last.Src, first.Src, strings.Join(points, ">")}
			if _, ok := dsr[k]; !ok {
				dsrOrder = append(dsrOrder, k)
			}
			dsr[k]++
		}
		t.Journeys = append(t.Journeys, j)
	}
	for _, k := range dsrOrder {
		t.DSR = append(t.DSR, TruthDSR{Host: k.host, VIP: k.vip, DIP: k.dip, Points: strings.Split(k.path, ">"), Packets: dsr[k]})
	}
}

func (t *Truth) finishBGP(s *sim) {
	t.BGP.Sessions = []TruthBGPSession{}
	for _, r := range t.bgpSess {
		t.BGP.Sessions = append(t.BGP.Sessions, r.out)
	}
	t.BGP.Routes = []TruthRoute{}
	for _, r := range t.routes {
		u := &s.bgpState.updates[r.upd]
		peer := fmtAddr(s.bgp[u.sess].local)
		base := TruthRoute{Session: int(r.sess) + 1, Peer: peer, Time: fmtTime(r.t), Point: s.links[r.link].name, Number: r.num}
		for _, a := range u.withdraw {
			x := base
			x.Prefix, x.Event = fmtAddr(a)+"/32", "withdraw"
			t.BGP.Routes = append(t.BGP.Routes, x)
		}
		for _, a := range u.announce {
			x := base
			x.Prefix, x.Event, x.NextHop, x.ASPath, x.Origin = fmtAddr(a)+"/32", "announce", fmtAddr(u.nextHop), u.asPath, "igp"
			t.BGP.Routes = append(t.BGP.Routes, x)
		}
	}
}

func (t *Truth) finishWithdrawn(s *sim) {
	for _, w := range t.withdrawn {
		out := TruthWithdrawn{VIP: fmtAddr(w.vip), Router: s.nodes[w.router].name, Time: fmtTime(w.t)}
		if w.jr >= 0 {
			out.Journey = int(w.jr) + 1
			if l := t.jr[w.jr].label; l >= 0 {
				out.Conversation = t.labels[l]
			}
		}
		if w.obs >= 0 {
			out.Point = s.links[t.obs[w.obs].link].name
			out.Number = t.obs[w.obs].number
		}
		t.WithdrawnTraffic = append(t.WithdrawnTraffic, out)
	}
}
