// Package synth owns the synthesizer: it walks every packet of a scenario (replay/scenario)
// through the topology as a discrete-event simulation — real TCP endpoints, NAT, routers with a
// BGP RIB, SLB Muxes that encapsulate in VXLAN, hosts that decapsulate and return by DSR — and
// writes each packet at every capture point it crosses, in time order, to a replay.Sink. It
// also produces the Truth: the answer key of what each packet did.
package synth

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sort"
	"time"

	"github.com/stackflow/stackflow/replay"
	"github.com/stackflow/stackflow/replay/scenario"
)

// Options tunes a run.
type Options struct {
	// Seed overrides the scenario's seed when not zero.
	Seed uint64
	// NoJourneys leaves per-packet journeys out of the Truth (large runs, benchmarks); drops
	// and withdrawn_traffic then carry no frame numbers.
	NoJourneys bool
	// Drain is how long after the scenario's duration in-flight exchanges may finish
	// (retransmissions, closes); default 60s.
	Drain time.Duration
	// MaxFrames stops the run after this many frames (0: no limit); the truth then covers
	// what was written.
	MaxFrames int
}

// PointDecls lists the capture points (one per link, in file order) for a pcapng sink, so
// that interface numbers follow the scenario.
func PointDecls(sc *scenario.Scenario) []replay.PointDecl {
	out := make([]replay.PointDecl, len(sc.Links))
	for i, l := range sc.Links {
		out[i] = replay.PointDecl{Name: l.Name.Value, LinkType: linkTypeEthernet, Description: l.Description}
	}
	return out
}

// event kinds
const (
	evTx           uint8 = iota + 1 // a packet appears on a link: write it
	evRx                            // a packet reaches the receiving interface
	evConvStart                     // start one instance of a conversation
	evTCPTimer                      // retransmission timer (a = conn, c = generation)
	evDelAck                        // delayed ACK (a = conn, c = generation)
	evAppSend                       // an application writes after thinking (a = conn, b = message kind)
	evUDPReply                      // a server answers a UDP request (a = pkt copy)
	evBGPKeepalive                  // a = bgp speaker side, c = generation
	evBGPEvent                      // a = mux, b = event index
	evBGPConnect                    // a = session
	evProbe                         // a = probe
	evDNSRetry                      // a = conversation, c = attempt
)

type event struct {
	t    int64
	seq  uint64
	a    int32
	b    int32
	c    uint32
	kind uint8
}

// evHeap is a 4-ary min-heap on (t, seq); hand-written so that pushes do not box, and
// 4-ary because popping dominates the run time and a shallower heap halves its levels.
type evHeap []event

func before(a, b *event) bool {
	return a.t < b.t || a.t == b.t && a.seq < b.seq
}

func (h *evHeap) push(e event) {
	*h = append(*h, e)
	q := *h
	i := len(q) - 1
	for i > 0 {
		p := (i - 1) / 4
		if !before(&e, &q[p]) {
			break
		}
		q[i] = q[p]
		i = p
	}
	q[i] = e
}

func (h *evHeap) pop() event {
	q := *h
	top := q[0]
	n := len(q) - 1
	last := q[n]
	q = q[:n]
	i := 0
	for {
		c := 4*i + 1
		if c >= n {
			break
		}
		m := c
		for k := c + 1; k < c+4 && k < n; k++ {
			if before(&q[k], &q[m]) {
				m = k
			}
		}
		if !before(&q[m], &last) {
			break
		}
		q[i] = q[m]
		i = m
	}
	if n > 0 {
		q[i] = last
	}
	*h = q
	return top
}

type link struct {
	name      string
	mtu       int
	mtuICMP   bool
	latency   int64
	bandwidth int64
	clockOff  int64
	ifaces    []int32
	frames    int
	bytes     int64
}

type iface struct {
	node      int32
	link      int32
	name      string
	mac       mac
	addrs     []ip4
	bits      int
	busyUntil int64
}

type route struct {
	net, mask uint32
	bits      int
	via       ip4 // zero: connected
	out       int32
}

type node struct {
	name    string
	role    string
	ttl     uint8
	delay   int64
	jitter  int64
	ifaces  []int32
	routes  []route // longest prefix first
	ipID    uint16
	tsBase  uint32
	ephem   uint16
	drops   []dropRule
	conns   map[connKey]int32
	listen  map[uint16]bool
	nat     *natTable
	router  *routerRT
	mux     int32 // index into sim.muxes or -1
	host    int32 // index into sim.hosts or -1
	isDNS   bool
	udpSock map[uint16]int32 // client UDP/ICMP sockets: port or echo id -> conversation
}

type dropRule struct {
	p           float64
	proto       uint8
	from, until int64
	reason      string
}

// sim is one synthesis run.
type sim struct {
	sc    *scenario.Scenario
	opts  Options
	rng   *rand.Rand
	start int64 // Unix ns of scenario time 0
	end   int64 // scenario duration in ns
	limit int64 // nothing happens after this
	now   int64
	seq   uint64

	links  []link
	nodes  []node
	ifaces []iface
	owner  map[ip4]int32 // address -> interface

	heap evHeap
	pkts []pkt
	free []int32

	conns    []tcpConn
	convs    []convRT
	muxes    []muxRT
	hosts    []hostRT
	vips     []vipRT
	vipIdx   map[ip4]int32
	bgp      []bgpSession
	bgpState bgpState
	probes   []probeRT
	dns      *dnsRT
	pattern  []byte
	scratch  []byte

	out   output
	truth *Truth
	err   error
}

// Generate synthesizes the scenario into sink, in time order, and returns the answer key.
// sc must come from scenario.Load or scenario.Parse (validated, defaults filled). The same
// scenario, options and seed give byte-identical frames. The sink is not closed.
func Generate(sc *scenario.Scenario, opts Options, sink replay.Sink) (*Truth, error) {
	if sc == nil || sink == nil {
		return nil, errors.New("synth: nil scenario or sink")
	}
	s, err := newSim(sc, opts, sink)
	if err != nil {
		return nil, err
	}
	s.schedule()
	s.run()
	s.out.flushAll(s)
	if s.err != nil {
		return nil, s.err
	}
	s.finishTruth()
	return s.truth, nil
}

func newSim(sc *scenario.Scenario, opts Options, sink replay.Sink) (*sim, error) {
	seed := uint64(sc.Seed.Value)
	if opts.Seed != 0 {
		seed = opts.Seed
	}
	if opts.Drain <= 0 {
		opts.Drain = 60 * time.Second
	}
	s := &sim{
		sc:     sc,
		opts:   opts,
		rng:    rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		start:  sc.Start.Value.UnixNano(),
		end:    int64(sc.Duration.Value),
		owner:  map[ip4]int32{},
		vipIdx: map[ip4]int32{},
	}
	s.limit = s.end + int64(opts.Drain)
	s.truth = newTruth(sc, seed, !opts.NoJourneys)
	s.out.init(sink)
	s.scratch = make([]byte, 1<<16)
	s.pattern = make([]byte, 1<<16)
	for i := 0; i < len(s.pattern); i += 8 {
		v := s.rng.Uint64()
		for j := 0; j < 8; j++ {
			s.pattern[i+j] = byte(v >> (8 * j))
		}
	}
	if err := s.buildTopology(); err != nil {
		return nil, err
	}
	s.buildRoles()
	s.buildFaults()
	s.buildTraffic()
	return s, nil
}

func addr4(a netip.Addr) ip4 { return ip4(a.As4()) }

func (s *sim) buildTopology() error {
	sc := s.sc
	linkIdx := map[string]int32{}
	for i, l := range sc.Links {
		linkIdx[l.Name.Value] = int32(i)
		s.links = append(s.links, link{
			name:      l.Name.Value,
			mtu:       int(l.MTU.Value),
			latency:   int64(l.Latency.Value),
			bandwidth: l.Bandwidth.Value,
		})
	}
	for ni, n := range sc.Nodes {
		nd := node{
			name:   n.Name.Value,
			role:   n.Role.Value,
			ttl:    uint8(n.TTL.Value),
			delay:  int64(n.Delay.Value),
			ipID:   uint16(s.rng.Uint32()),
			tsBase: s.rng.Uint32(),
			ephem:  49152 + uint16(s.rng.IntN(4096)),
			conns:  map[connKey]int32{},
			listen: map[uint16]bool{},
			mux:    -1,
			host:   -1,
		}
		for _, it := range n.Interfaces {
			li, ok := linkIdx[it.Link.Value]
			if !ok {
				return fmt.Errorf("synth: node %q: unknown link %q", n.Name.Value, it.Link.Value)
			}
			fi := int32(len(s.ifaces))
			ifc := iface{node: int32(ni), link: li, name: it.Name.Value, mac: mac(it.MAC.Value)}
			for _, a := range it.Addresses {
				ifc.addrs = append(ifc.addrs, addr4(a.Value.Addr()))
				ifc.bits = a.Value.Bits()
				s.owner[addr4(a.Value.Addr())] = fi
			}
			s.ifaces = append(s.ifaces, ifc)
			nd.ifaces = append(nd.ifaces, fi)
			s.links[li].ifaces = append(s.links[li].ifaces, fi)
			sub := sc.Links[li].Subnet.Value
			nd.routes = append(nd.routes, mkRoute(sub, ip4{}, fi))
		}
		for _, r := range n.Routes {
			via := addr4(r.Via.Value)
			out := int32(-1)
			for _, fi := range nd.ifaces {
				if sc.Links[s.ifaces[fi].link].Subnet.Value.Contains(r.Via.Value) {
					out = fi
					break
				}
			}
			if out < 0 {
				return fmt.Errorf("synth: node %q: gateway %s unreachable", n.Name.Value, r.Via.Value)
			}
			nd.routes = append(nd.routes, mkRoute(r.To.Value, via, out))
		}
		sort.SliceStable(nd.routes, func(i, j int) bool { return nd.routes[i].bits > nd.routes[j].bits })
		s.nodes = append(s.nodes, nd)
	}
	return nil
}

func mkRoute(p netip.Prefix, via ip4, out int32) route {
	m := uint32(0)
	if p.Bits() > 0 {
		m = ^uint32(0) << (32 - p.Bits())
	}
	return route{net: addr4(p.Masked().Addr()).u32() & m, mask: m, bits: p.Bits(), via: via, out: out}
}

func (s *sim) nodeIdx(name string) int32 {
	for i := range s.nodes {
		if s.nodes[i].name == name {
			return int32(i)
		}
	}
	return -1
}

func (s *sim) buildFaults() {
	for _, f := range s.sc.Faults {
		switch {
		case f.Drop != nil:
			n := s.nodeIdx(f.Drop.Node.Value)
			s.nodes[n].drops = append(s.nodes[n].drops, dropRule{
				p: f.Drop.Probability.Value, proto: protoNumber(f.Drop.Proto.Value),
				from: int64(f.Drop.From.Value), until: int64(f.Drop.Until.Value),
				reason: fmt.Sprintf("fault: drop probability %g at %s", f.Drop.Probability.Value, f.Drop.Node.Value),
			})
		case f.MTU != nil:
			for i := range s.links {
				if s.links[i].name == f.MTU.Link.Value {
					s.links[i].mtu = int(f.MTU.MTU.Value)
					s.links[i].mtuICMP = f.MTU.ICMP.Value
				}
			}
		case f.Delay != nil:
			n := s.nodeIdx(f.Delay.Node.Value)
			s.nodes[n].delay += int64(f.Delay.Delay.Value)
			s.nodes[n].jitter += int64(f.Delay.Jitter.Value)
		case f.Clock != nil:
			for i := range s.links {
				if s.links[i].name == f.Clock.Point.Value {
					s.links[i].clockOff = int64(f.Clock.Offset.Value)
				}
			}
		case f.Withdraw != nil:
			// expanded into BGP events by buildRoles
		}
	}
	s.out.setOffsets(s.links)
}

func protoNumber(p string) uint8 {
	switch p {
	case "tcp":
		return protoTCP
	case "udp":
		return protoUDP
	case "icmp":
		return protoICMP
	}
	return 0
}

// schedule queues the first events: BGP connects and events, conversations, probes.
func (s *sim) schedule() {
	for i := range s.bgp {
		s.push(event{t: s.bgp[i].connectAt, kind: evBGPConnect, a: int32(i)})
	}
	for mi := range s.muxes {
		for ei, e := range s.muxes[mi].events {
			s.push(event{t: e.at, kind: evBGPEvent, a: int32(mi), b: int32(ei)})
		}
	}
	for ci := range s.convs {
		s.push(event{t: s.convs[ci].startAt, kind: evConvStart, a: int32(ci)})
	}
	for pi := range s.probes {
		s.push(event{t: s.probes[pi].first, kind: evProbe, a: int32(pi)})
	}
}

func (s *sim) push(e event) {
	s.seq++
	e.seq = s.seq
	s.heap.push(e)
}

// run processes events in time order until none are left or the drain limit passes.
func (s *sim) run() {
	for len(s.heap) > 0 && s.err == nil {
		if s.opts.MaxFrames > 0 && s.out.number >= uint64(s.opts.MaxFrames) {
			break
		}
		e := s.heap.pop()
		if e.t > s.limit {
			break
		}
		s.now = e.t
		s.out.release(s, s.now)
		switch e.kind {
		case evTx:
			s.tx(e.a)
		case evRx:
			s.rx(e.a)
		case evConvStart:
			s.convStart(e.a)
		case evTCPTimer:
			s.tcpTimer(e.a, e.c)
		case evDelAck:
			s.delAck(e.a, e.c)
		case evAppSend:
			s.appSend(e.a, e.b)
		case evUDPReply:
			s.udpReply(e.a)
		case evBGPKeepalive:
			s.bgpKeepalive(e.a, e.c)
		case evBGPEvent:
			s.bgpEvent(e.a, e.b)
		case evBGPConnect:
			s.bgpConnect(e.a)
		case evProbe:
			s.probe(e.a)
		case evDNSRetry:
			s.dnsRetry(e.a, e.c)
		}
	}
	// Packets still queued at the limit were never written: release them.
	for len(s.heap) > 0 {
		e := s.heap.pop()
		if e.kind == evTx || e.kind == evRx || e.kind == evUDPReply {
			s.release(e.a)
		}
	}
}

// alloc takes a packet from the pool with cleared headers (the payload buffer is kept).
func (s *sim) alloc() int32 {
	var i int32
	if n := len(s.free); n > 0 {
		i = s.free[n-1]
		s.free = s.free[:n-1]
	} else {
		s.pkts = append(s.pkts, pkt{})
		i = int32(len(s.pkts) - 1)
	}
	p := &s.pkts[i]
	buf := p.payload[:0]
	*p = pkt{journey: -1, conn: -1, conv: -1, tag: -1, msgLo: -1, msgHi: -1, firstTx: true, payload: buf}
	return i
}

func (s *sim) release(i int32) {
	s.free = append(s.free, i)
}

// clone copies packet i (headers and payload) into a new pool entry.
func (s *sim) clone(i int32) int32 {
	j := s.alloc()
	buf := s.pkts[j].payload
	s.pkts[j] = s.pkts[i]
	s.pkts[j].payload = append(buf[:0], s.pkts[i].payload...)
	return j
}

// nextID returns the node's next IPv4 identification (Windows: one global counter).
func (n *node) nextID() uint16 {
	n.ipID++
	return n.ipID
}

// newPacket starts a packet originated by node n from src to dst.
func (s *sim) newPacket(n int32, src, dst ip4, proto uint8) int32 {
	i := s.alloc()
	p := &s.pkts[i]
	nd := &s.nodes[n]
	p.node = n
	p.src, p.dst, p.proto = src, dst, proto
	p.ttl = nd.ttl
	p.ipID = nd.nextID()
	p.df = proto == protoTCP
	p.tfNode = n
	return i
}

// local tells whether node n owns address a.
func (s *sim) local(n int32, a ip4) bool {
	fi, ok := s.owner[a]
	return ok && s.ifaces[fi].node == n
}

// srcFor picks the source address node n uses toward dst: its address on the outgoing
// interface.
func (s *sim) srcFor(n int32, dst ip4) (ip4, bool) {
	r, ok := s.lookup(n, dst)
	if !ok {
		return ip4{}, false
	}
	return s.ifaces[r.out].addrs[0], true
}

// lookup finds the route for dst at node n: BGP /32s at routers, then the static and
// connected routes, longest prefix first.
func (s *sim) lookup(n int32, dst ip4) (route, bool) {
	nd := &s.nodes[n]
	d := dst.u32()
	if nd.router != nil {
		if r, ok := s.ribLookup(nd, dst); ok {
			return r, true
		}
	}
	for _, r := range nd.routes {
		if d&r.mask == r.net {
			return r, true
		}
	}
	return route{}, false
}

// send routes a packet the node itself originated; a packet to one of the node's own
// addresses is delivered locally, without a frame.
func (s *sim) send(i int32) {
	p := &s.pkts[i]
	if !p.encap && s.local(p.node, p.dst) {
		p.txIf, p.rxIf = s.owner[p.dst], s.owner[p.dst]
		s.push(event{t: s.now + 1000, kind: evRx, a: i})
		return
	}
	s.forward(i, p.node, -1, false)
}

// forward routes packet i out of node n (in: receiving interface or -1 when originated).
// routed decrements the TTL (routers, NAT).
func (s *sim) forward(i int32, n int32, in int32, routed bool) {
	p := &s.pkts[i]
	dst := p.dst
	if p.encap {
		dst = p.outerDst
	}
	r, ok := s.lookup(n, dst)
	if !ok {
		s.noRoute(i, n, in)
		return
	}
	if routed {
		if p.encap {
			p.outerTTL--
		} else {
			p.ttl--
		}
		if p.ttl == 0 || p.encap && p.outerTTL == 0 {
			if in >= 0 {
				s.icmpError(i, n, in, 11, 0, 0)
			}
			s.drop(i, n, "ttl_expired")
			return
		}
		p.transform |= tfRoute
		p.tfNode = n
	}
	if s.nodes[n].nat != nil {
		s.natPost(i, n, r.out)
		p = &s.pkts[i]
	}
	l := &s.links[s.ifaces[r.out].link]
	if size := p.wireIPLen(); size > l.mtu {
		if l.mtuICMP && in >= 0 {
			mtu := l.mtu
			if p.encap {
				mtu -= encapOverhead
			}
			s.icmpError(i, n, in, 3, 4, uint32(mtu))
		}
		s.drop(i, n, fmt.Sprintf("mtu: %d-byte packet, %s mtu %d", size, l.name, l.mtu))
		return
	}
	nh := r.via
	if nh == (ip4{}) {
		nh = dst
	}
	rx, ok := s.owner[nh]
	if !ok || s.ifaces[rx].link != s.ifaces[r.out].link {
		s.drop(i, n, "no_neighbor: nothing answers for "+netip.AddrFrom4(nh).String())
		return
	}
	s.transmit(i, r.out, rx, s.nodeDelay(n, in >= 0))
}

// nodeDelay is the time a node takes to forward (or, for originated packets, to send).
func (s *sim) nodeDelay(n int32, forwarding bool) int64 {
	nd := &s.nodes[n]
	d := int64(2000)
	if forwarding {
		d = nd.delay
		if d > 0 {
			d += s.rng.Int64N(d/4 + 1)
		}
	}
	if nd.jitter > 0 {
		d += s.rng.Int64N(nd.jitter)
	}
	return d
}

// transmit queues packet i onto the link of interface out, toward interface rx.
func (s *sim) transmit(i int32, out, rx int32, delay int64) {
	p := &s.pkts[i]
	ifc := &s.ifaces[out]
	rxIf := &s.ifaces[rx]
	p.ethSrc, p.ethDst = ifc.mac, rxIf.mac
	t := s.now + delay
	if t < ifc.busyUntil {
		t = ifc.busyUntil
	}
	l := &s.links[ifc.link]
	dur := int64(p.frameLen()+24) * 8 * 1e9 / l.bandwidth // preamble, FCS, gap
	ifc.busyUntil = t + dur
	p.txIf, p.rxIf = out, rx
	s.push(event{t: t, kind: evTx, a: i})
}

// tx writes packet i at its link's capture point and schedules its arrival.
func (s *sim) tx(i int32) {
	p := &s.pkts[i]
	l := s.ifaces[p.rxIf].link
	s.out.write(s, i, l)
	p.firstTx = false
	ln := &s.links[l]
	dur := int64(p.frameLen()+24) * 8 * 1e9 / ln.bandwidth
	s.push(event{t: s.now + dur + ln.latency, kind: evRx, a: i})
}

// rx handles packet i arriving at its receiving interface.
func (s *sim) rx(i int32) {
	p := &s.pkts[i]
	in := p.rxIf
	n := s.ifaces[in].node
	p.node = n
	nd := &s.nodes[n]
	for _, d := range nd.drops {
		if s.now >= d.from && s.now < d.until && (d.proto == 0 || d.proto == p.proto) && s.rng.Float64() < d.p {
			s.drop(i, n, d.reason)
			return
		}
	}
	if p.encap {
		switch {
		case s.local(n, p.outerDst):
			s.decap(i, n, in)
		case nd.role == scenario.RoleClient || nd.role == scenario.RoleServer:
			s.drop(i, n, "not_forwarding: "+nd.name+" does not route")
		default:
			s.forward(i, n, in, true)
		}
		return
	}
	if nd.nat != nil && s.natPre(i, n) {
		p = &s.pkts[i]
	}
	if s.local(n, p.dst) {
		s.deliver(i, n, in)
		return
	}
	if nd.mux >= 0 {
		if vi, ok := s.vipIdx[p.dst]; ok && s.muxServes(nd.mux, vi) {
			s.encap(i, n, vi, in)
			return
		}
	}
	if nd.host >= 0 && s.hostOutbound(i, n, in) {
		return
	}
	switch nd.role {
	case scenario.RoleRouter, scenario.RoleNAT, scenario.RoleMux, scenario.RoleHost:
		s.forward(i, n, in, true)
	default:
		s.drop(i, n, "not_forwarding: "+nd.name+" does not route")
	}
}

// deliver hands a packet addressed to node n to its transport.
func (s *sim) deliver(i int32, n int32, in int32) {
	p := &s.pkts[i]
	switch p.proto {
	case protoTCP:
		s.tcpInput(i, n)
	case protoUDP:
		s.udpInput(i, n)
	case protoICMP:
		s.icmpInput(i, n, in)
	default:
		s.release(i)
	}
}

// noRoute handles a packet node n cannot route: routers may answer ICMP host unreachable.
func (s *sim) noRoute(i int32, n int32, in int32) {
	p := &s.pkts[i]
	nd := &s.nodes[n]
	s.truth.noRoute(s, p, n)
	if nd.router != nil && nd.router.unreachable && in >= 0 {
		s.icmpError(i, n, in, 3, 1, 0)
	}
	s.drop(i, n, "no_route: "+nd.name+" has no route to "+netip.AddrFrom4(s.pkts[i].dst).String())
}

// drop ends packet i's journey inside node n.
func (s *sim) drop(i int32, n int32, reason string) {
	s.truth.drop(s, &s.pkts[i], n, reason)
	s.release(i)
}
