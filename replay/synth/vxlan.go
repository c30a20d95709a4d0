package synth

import (
	"fmt"
	"net/netip"
)

type vipPortKey struct {
	proto uint8
	port  uint16
}

type backendRT struct {
	dip  ip4
	host int32 // index into sim.hosts
	vni  uint32
	mac  mac
}

// vipRT is a load-balanced frontend.
type vipRT struct {
	addr     ip4
	name     string
	ports    map[vipPortKey]uint16 // frontend -> backend port
	icmp     bool
	backends []backendRT
	muxes    []int32
}

// muxRT is an SLB Mux: VIPs it serves and announces, its VXLAN source, its BGP sessions.
type muxRT struct {
	node      int32
	name      string
	asn       uint32
	routerID  ip4
	pa        ip4
	innerMAC  mac
	serves    []bool // by vip index
	announced []bool // by vip index
	events    []muxEvent
	sessions  []int32
}

type muxEvent struct {
	at        int64
	action    string
	vip       int32
	reconnect int64
}

type dsrKey struct {
	proto  uint8
	client ip4
	cport  uint16
	dip    ip4
	dport  uint16
}

type dsrVal struct {
	vip   ip4
	vport uint16
	vni   uint32
	mux   ip4
	truth int32
}

// hostRT is a Hyper-V host's VFP: VTEP, VIP->DIP, DSR.
type hostRT struct {
	node  int32
	name  string
	pa    ip4
	dsr   bool
	agent ip4
	vms   map[ip4]uint32 // DIP -> VNI
	flows map[dsrKey]dsrVal
}

func (s *sim) buildRoles() {
	sc := s.sc
	s.buildNAT()
	for _, r := range sc.Routers {
		n := s.nodeIdx(r.Node.Value)
		s.nodes[n].router = &routerRT{unreachable: r.Unreachable.Value, asn: uint32(r.ASN.Value),
			id: addr4(r.RouterID.Value), rib: map[ip4][]ribEntry{}}
		s.nodes[n].listen[portBGP] = true
	}
	for _, h := range sc.Hosts {
		n := s.nodeIdx(h.Node.Value)
		rt := hostRT{node: n, name: h.Node.Value, pa: addr4(h.PA.Value), dsr: h.DSR.Value,
			agent: addr4(h.Agent.Value), vms: map[ip4]uint32{}, flows: map[dsrKey]dsrVal{}}
		for _, vm := range h.VMs {
			vn := sc.Node(vm.Node.Value)
			for _, it := range vn.Interfaces {
				for _, a := range it.Addresses {
					rt.vms[addr4(a.Value.Addr())] = uint32(vm.VNI.Value)
				}
			}
		}
		s.nodes[n].host = int32(len(s.hosts))
		s.hosts = append(s.hosts, rt)
	}
	for mi, m := range sc.Muxes {
		n := s.nodeIdx(m.Node.Value)
		rt := muxRT{node: n, name: m.Node.Value, asn: uint32(m.ASN.Value), routerID: addr4(m.RouterID.Value),
			pa: addr4(m.PA.Value), serves: make([]bool, len(sc.VIPs)), announced: make([]bool, len(sc.VIPs))}
		rt.innerMAC = s.ifaces[s.owner[rt.pa]].mac
		s.nodes[n].mux = int32(mi)
		s.muxes = append(s.muxes, rt)
	}
	for vi, v := range sc.VIPs {
		rt := vipRT{addr: addr4(v.Address.Value), name: v.Name, ports: map[vipPortKey]uint16{}}
		for _, p := range v.Ports {
			if p.Proto.Value == "icmp" {
				rt.icmp = true
				continue
			}
			rt.ports[vipPortKey{protoNumber(p.Proto.Value), uint16(p.Port.Value)}] = uint16(p.BackendPort.Value)
		}
		for _, b := range v.Backends {
			dip := addr4(b.Value)
			be := backendRT{dip: dip, host: -1, mac: s.ifaces[s.owner[dip]].mac}
			for hi := range s.hosts {
				if vni, ok := s.hosts[hi].vms[dip]; ok {
					be.host, be.vni = int32(hi), vni
				}
			}
			rt.backends = append(rt.backends, be)
			vm := s.ifaces[s.owner[dip]].node
			for _, port := range rt.ports {
				s.nodes[vm].listen[port] = true
			}
			if v.Probe != nil && be.host >= 0 {
				s.addProbe(be, v.Probe)
				s.nodes[vm].listen[uint16(v.Probe.Port.Value)] = true
			}
		}
		for _, m := range v.Muxes {
			for mi := range s.muxes {
				if s.muxes[mi].name == m.Value {
					rt.muxes = append(rt.muxes, int32(mi))
					s.muxes[mi].serves[vi] = true
					s.muxes[mi].announced[vi] = true
				}
			}
		}
		s.vipIdx[rt.addr] = int32(vi)
		s.vips = append(s.vips, rt)
	}
	s.buildBGP()
	s.buildDNS()
	s.truth.topology(s)
}

func (s *sim) muxServes(m int32, vi int32) bool { return s.muxes[m].serves[vi] }

// encap is the Mux: pick the backend by flow hash and encapsulate in VXLAN to its host.
func (s *sim) encap(i int32, n int32, vi int32, in int32) {
	p := &s.pkts[i]
	v := &s.vips[vi]
	sport, dport, ok := natPorts(p)
	switch {
	case !ok:
		s.drop(i, n, "vip_closed: not an echo or tcp/udp packet")
		return
	case p.proto == protoICMP && !v.icmp:
		s.drop(i, n, "vip_closed: icmp not enabled on "+v.name)
		return
	case p.proto != protoICMP:
		if _, ok := v.ports[vipPortKey{p.proto, dport}]; !ok {
			s.drop(i, n, fmt.Sprintf("vip_closed: %s port %d not load-balanced", protoName(p.proto), dport))
			return
		}
	}
	if len(v.backends) == 0 {
		s.drop(i, n, "vip_closed: no backends")
		return
	}
	h := flowHash(p.src, p.dst, p.proto, sport, dport)
	b := &v.backends[h%uint32(len(v.backends))]
	if b.host < 0 {
		s.drop(i, n, "no_host for backend "+netip.AddrFrom4(b.dip).String())
		return
	}
	m := &s.muxes[s.nodes[n].mux]
	p.encap = true
	p.outerSrc, p.outerDst = m.pa, s.hosts[b.host].pa
	p.outerTTL = s.nodes[n].ttl
	p.outerID = s.nodes[n].nextID()
	p.outerSport = vxlanSourcePort(h)
	p.vni = b.vni
	p.innerSrc, p.innerDst = m.innerMAC, b.mac
	p.transform |= tfEncap
	p.tfNode = n
	s.forward(i, n, in, false)
}

// decap handles a VXLAN packet addressed to node n: a host delivers it to the DIP (VIP->DIP),
// a Mux forwards a non-DSR reply.
func (s *sim) decap(i int32, n int32, in int32) {
	p := &s.pkts[i]
	hi := s.nodes[n].host
	if hi < 0 {
		if s.nodes[n].mux >= 0 {
			p.encap = false
			p.transform |= tfDecap
			p.tfNode = n
			s.forward(i, n, in, false)
			return
		}
		s.drop(i, n, "not_vtep: "+s.nodes[n].name+" does not terminate VXLAN")
		return
	}
	h := &s.hosts[hi]
	vi, ok := s.vipIdx[p.dst]
	if !ok {
		s.drop(i, n, "unknown_vip: "+netip.AddrFrom4(p.dst).String())
		return
	}
	v := &s.vips[vi]
	var b *backendRT
	for k := range v.backends {
		if v.backends[k].host == hi && v.backends[k].vni == p.vni && v.backends[k].mac == p.innerDst {
			b = &v.backends[k]
			break
		}
	}
	if b == nil {
		s.drop(i, n, fmt.Sprintf("vni_mismatch: no vm for vni %d behind %s", p.vni, netip.AddrFrom4(p.dst)))
		return
	}
	sport, dport, _ := natPorts(p)
	bport := dport
	if p.proto != protoICMP {
		bport = v.ports[vipPortKey{p.proto, dport}]
	}
	key := dsrKey{p.proto, p.src, sport, b.dip, bport}
	val, seen := h.flows[key]
	if !seen {
		val = dsrVal{vip: p.dst, vport: dport, vni: p.vni, mux: p.outerSrc,
			truth: s.truth.vipDip(s, n, p.proto, p.dst, dport, b.dip, bport, p.vni)}
		h.flows[key] = val
	}
	s.truth.natUse(s, val.truth)
	p.encap = false
	setDst(p, b.dip, bport)
	p.transform |= tfDecap | tfDNAT
	p.tfNode = n
	s.forward(i, n, in, false)
}

// hostOutbound rewrites a DIP's reply to the VIP and sends it by DSR (or back through the
// Mux when DSR is off). It reports whether the packet was a load-balanced reply.
func (s *sim) hostOutbound(i int32, n int32, in int32) bool {
	p := &s.pkts[i]
	h := &s.hosts[s.nodes[n].host]
	if _, ok := h.vms[p.src]; !ok {
		return false
	}
	sport, dport, ok := natPorts(p)
	if !ok {
		return false
	}
	val, ok := h.flows[dsrKey{p.proto, p.dst, dport, p.src, sport}]
	if !ok {
		return false
	}
	setSrc(p, val.vip, val.vport)
	p.transform |= tfSNAT
	p.tfNode = n
	s.truth.natUse(s, val.truth)
	if !h.dsr {
		p.encap = true
		p.outerSrc, p.outerDst = h.pa, val.mux
		p.outerTTL = s.nodes[n].ttl
		p.outerID = s.nodes[n].nextID()
		p.outerSport = vxlanSourcePort(flowHash(p.src, p.dst, p.proto, val.vport, dport))
		p.vni = val.vni
		p.innerSrc = s.ifaces[in].mac
		if fi, ok := s.owner[val.mux]; ok {
			p.innerDst = s.ifaces[fi].mac
		}
		p.transform |= tfEncap
	}
	s.forward(i, n, in, false)
	return true
}

func protoName(p uint8) string {
	switch p {
	case protoTCP:
		return "tcp"
	case protoUDP:
		return "udp"
	case protoICMP:
		return "icmp"
	}
	return fmt.Sprint(p)
}
