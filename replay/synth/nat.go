package synth

import "encoding/binary"

// natRule is a compiled scenario NAT rule.
type natRule struct {
	dnat       bool
	proto      uint8 // 0: any
	srcNet     uint32
	srcMask    uint32
	out        int32 // egress interface (snat)
	addr       ip4   // snat public address
	lo, hi     uint16
	match      ip4 // dnat outside address:port
	matchPort  uint16
	target     ip4 // dnat inside address:port
	targetPort uint16
}

type natKey struct {
	proto uint8
	addr  ip4
	port  uint16
}

// natMapping is one translation: inside endpoint <-> outside endpoint.
type natMapping struct {
	proto   uint8
	dnat    bool
	in      ip4
	inPort  uint16
	out     ip4
	outPort uint16
	truth   int32
}

// natTable is the state of one NAT node: endpoint-independent mappings, looked up from the
// inside (for outgoing packets) and from the outside (for replies).
type natTable struct {
	rules     []natRule
	byInside  map[natKey]int32
	byOutside map[natKey]int32
	maps      []natMapping
}

func (s *sim) buildNAT() {
	for _, r := range s.sc.NAT {
		n := s.nodeIdx(r.Node.Value)
		nd := &s.nodes[n]
		if nd.nat == nil {
			nd.nat = &natTable{byInside: map[natKey]int32{}, byOutside: map[natKey]int32{}}
		}
		c := natRule{proto: protoNumber(r.Proto.Value)}
		switch r.Kind.Value {
		case "snat":
			pfx := r.Source.Value
			c.srcMask = 0
			if pfx.Bits() > 0 {
				c.srcMask = ^uint32(0) << (32 - pfx.Bits())
			}
			c.srcNet = addr4(pfx.Masked().Addr()).u32() & c.srcMask
			for _, fi := range nd.ifaces {
				if s.ifaces[fi].name == r.Out.Value {
					c.out = fi
				}
			}
			c.addr = addr4(r.Address.Value)
			c.lo, c.hi = r.Ports.Lo, r.Ports.Hi
		case "dnat":
			c.dnat = true
			c.match, c.matchPort = addr4(r.Match.Addr), r.Match.Port
			c.target, c.targetPort = addr4(r.Target.Addr), r.Target.Port
		}
		nd.nat.rules = append(nd.nat.rules, c)
	}
}

// natPorts gives the port-like field NAT rewrites: TCP/UDP ports, or the ICMP echo id.
func natPorts(p *pkt) (sport, dport uint16, ok bool) {
	switch p.proto {
	case protoTCP, protoUDP:
		return p.sport, p.dport, true
	case protoICMP:
		if p.icmpType == 0 || p.icmpType == 8 {
			return p.icmpID, p.icmpID, true
		}
	}
	return 0, 0, false
}

func setSrc(p *pkt, a ip4, port uint16) {
	p.src = a
	if p.proto == protoICMP {
		p.icmpID, p.sport, p.dport = port, port, port
		return
	}
	p.sport = port
}

func setDst(p *pkt, a ip4, port uint16) {
	p.dst = a
	if p.proto == protoICMP {
		p.icmpID, p.sport, p.dport = port, port, port
		return
	}
	p.dport = port
}

// natPre translates destinations before routing: replies to SNAT mappings, DNAT rules, and
// ICMP errors quoting a translated packet. It reports whether it changed the packet.
func (s *sim) natPre(i int32, n int32) bool {
	p := &s.pkts[i]
	t := s.nodes[n].nat
	if p.proto == protoICMP && (p.icmpType == 3 || p.icmpType == 11) {
		return s.natICMPError(i, n)
	}
	_, dport, ok := natPorts(p)
	if !ok {
		return false
	}
	if m, ok := t.byOutside[natKey{p.proto, p.dst, dport}]; ok {
		mp := &t.maps[m]
		setDst(p, mp.in, mp.inPort)
		p.transform |= tfDNAT
		p.tfNode = n
		s.truth.natUse(s, mp.truth)
		return true
	}
	for _, r := range t.rules {
		if r.dnat && (r.proto == 0 || r.proto == p.proto) && p.dst == r.match && dport == r.matchPort {
			k := natKey{p.proto, r.match, r.matchPort}
			m, ok := t.byOutside[k]
			if !ok {
				m = int32(len(t.maps))
				t.maps = append(t.maps, natMapping{proto: p.proto, dnat: true, in: r.target, inPort: r.targetPort,
					out: r.match, outPort: r.matchPort,
					truth: s.truth.natNew(s, n, "dnat", p.proto, r.target, r.targetPort, r.match, r.matchPort)})
				t.byOutside[k] = m
				t.byInside[natKey{p.proto, r.target, r.targetPort}] = m
			}
			setDst(p, r.target, r.targetPort)
			p.transform |= tfDNAT
			p.tfNode = n
			s.truth.natUse(s, t.maps[m].truth)
			return true
		}
	}
	return false
}

// natPost translates sources after routing chose interface out: SNAT for inside sources,
// and the reverse of DNAT for replies from a DNAT target.
func (s *sim) natPost(i int32, n int32, out int32) {
	p := &s.pkts[i]
	if p.encap {
		return
	}
	t := s.nodes[n].nat
	sport, _, ok := natPorts(p)
	if !ok || s.local(n, p.src) {
		return
	}
	if m, ok := t.byInside[natKey{p.proto, p.src, sport}]; ok {
		mp := &t.maps[m]
		setSrc(p, mp.out, mp.outPort)
		p.transform |= tfSNAT
		p.tfNode = n
		s.truth.natUse(s, mp.truth)
		return
	}
	for _, r := range t.rules {
		if r.dnat || r.out != out || (r.proto != 0 && r.proto != p.proto) || p.src.u32()&r.srcMask != r.srcNet {
			continue
		}
		port, ok := s.natAllocate(t, p.proto, r)
		if !ok {
			return
		}
		m := int32(len(t.maps))
		t.maps = append(t.maps, natMapping{proto: p.proto, in: p.src, inPort: sport, out: r.addr, outPort: port,
			truth: s.truth.natNew(s, n, "snat", p.proto, p.src, sport, r.addr, port)})
		t.byInside[natKey{p.proto, p.src, sport}] = m
		t.byOutside[natKey{p.proto, r.addr, port}] = m
		setSrc(p, r.addr, port)
		p.transform |= tfSNAT
		p.tfNode = n
		s.truth.natUse(s, t.maps[m].truth)
		return
	}
}

// natAllocate picks a free public port: a seeded random start in the range, then upward.
func (s *sim) natAllocate(t *natTable, proto uint8, r natRule) (uint16, bool) {
	span := int(r.hi) - int(r.lo) + 1
	start := s.rng.IntN(span)
	for k := 0; k < span; k++ {
		port := r.lo + uint16((start+k)%span)
		if _, used := t.byOutside[natKey{proto, r.addr, port}]; !used {
			return port, true
		}
	}
	return 0, false
}

// natICMPError translates an ICMP error sent to a public address back to the inside host,
// rewriting the quoted packet too (RFC 5508 section 4.2).
func (s *sim) natICMPError(i int32, n int32) bool {
	p := &s.pkts[i]
	t := s.nodes[n].nat
	q := p.payload
	if len(q) < ipHdr+8 || q[0]>>4 != 4 {
		return false
	}
	proto := q[9]
	var qsrc ip4
	copy(qsrc[:], q[12:16])
	var port uint16
	switch proto {
	case protoTCP, protoUDP:
		port = binary.BigEndian.Uint16(q[ipHdr:])
	case protoICMP:
		port = binary.BigEndian.Uint16(q[ipHdr+4:])
	default:
		return false
	}
	m, ok := t.byOutside[natKey{proto, qsrc, port}]
	if !ok || qsrc != p.dst {
		return false
	}
	mp := &t.maps[m]
	p.dst = mp.in
	copy(q[12:16], mp.in[:])
	fixIPChecksum(q[:ipHdr])
	switch proto {
	case protoTCP:
		binary.BigEndian.PutUint16(q[ipHdr:], mp.inPort)
	case protoUDP:
		old := binary.BigEndian.Uint16(q[ipHdr+6:])
		binary.BigEndian.PutUint16(q[ipHdr:], mp.inPort)
		if old != 0 {
			// the quoted UDP checksum covers the pseudo header: adjust for address and port
			c := csumReplace(old, qsrc[:], mp.in[:])
			c = csumReplace(c, u16(port), u16(mp.inPort))
			binary.BigEndian.PutUint16(q[ipHdr+6:], c)
		}
	case protoICMP:
		old := binary.BigEndian.Uint16(q[ipHdr+2:])
		binary.BigEndian.PutUint16(q[ipHdr+4:], mp.inPort)
		binary.BigEndian.PutUint16(q[ipHdr+2:], csumReplace(old, u16(port), u16(mp.inPort)))
	}
	p.sumPayload()
	p.transform |= tfDNAT
	p.tfNode = n
	s.truth.natUse(s, mp.truth)
	return true
}

func u16(v uint16) []byte { return []byte{byte(v >> 8), byte(v)} }

// csumReplace updates checksum c for a field changing from old to new bytes (RFC 1624 eq. 3).
func csumReplace(c uint16, old, new []byte) uint16 {
	s := uint32(^c)
	for j := 0; j+1 < len(old); j += 2 {
		s += uint32(^binary.BigEndian.Uint16(old[j:]))
		s += uint32(binary.BigEndian.Uint16(new[j:]))
	}
	return finish(s)
}
