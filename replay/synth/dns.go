package synth

import (
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

const (
	dnsTimeout  = int64(time.Second)
	dnsAttempts = 3
)

type dnsEntry struct {
	addr ip4
	ttl  uint32
}

type dnsQuery struct {
	conv    int32
	id      uint16
	sport   uint16
	attempt uint32
	inst    int32
}

// dnsRT is the scenario's name server and the clients' outstanding queries.
type dnsRT struct {
	server  int32
	addr    ip4
	names   map[string]dnsEntry
	label   int32
	queries []dnsQuery
	socks   map[connKey]int32 // (client addr, server addr, client port, 53) -> query
}

func (s *sim) buildDNS() {
	d := s.sc.DNS
	if d == nil {
		return
	}
	n := s.nodeIdx(d.Server.Value)
	s.nodes[n].isDNS = true
	s.dns = &dnsRT{server: n, addr: addr4(d.Address.Value), names: map[string]dnsEntry{},
		label: s.truth.label("dns"), socks: map[connKey]int32{}}
	for _, x := range d.Names {
		s.dns.names[x.Name.Value] = dnsEntry{addr: addr4(x.Address.Value), ttl: uint32(x.TTL.Value)}
	}
}

// dnsAsk sends an A query for a conversation's name.
func (s *sim) dnsAsk(ci int32) {
	c := &s.convs[ci]
	c.dnsPending = true
	src, _ := s.srcFor(c.client, s.dns.addr)
	q := dnsQuery{conv: ci, id: uint16(s.rng.Uint32()), sport: s.ephemeral(c.client), inst: int32(len(s.dns.queries))}
	qi := int32(len(s.dns.queries))
	s.dns.queries = append(s.dns.queries, q)
	s.dns.socks[connKey{l: src, r: s.dns.addr, lp: q.sport, rp: portDNS}] = qi
	c.dnsQuery = qi
	s.dnsSend(qi)
}

func (s *sim) dnsSend(qi int32) {
	q := &s.dns.queries[qi]
	c := &s.convs[q.conv]
	src, _ := s.srcFor(c.client, s.dns.addr)
	msg := &layers.DNS{ID: q.id, RD: true, OpCode: layers.DNSOpCodeQuery,
		Questions: []layers.DNSQuestion{{Name: []byte(c.dnsName), Type: layers.DNSTypeA, Class: layers.DNSClassIN}}}
	b, err := serializeDNS(msg)
	if err != nil {
		s.err = err
		return
	}
	i := s.newPacket(c.client, src, s.dns.addr, protoUDP)
	p := &s.pkts[i]
	p.sport, p.dport, p.tag = q.sport, portDNS, qi
	p.setPayload(b)
	s.truth.begin(s, i, s.dns.label, q.inst, true)
	s.send(i)
	q.attempt++
	s.push(event{t: s.now + dnsTimeout*int64(q.attempt), kind: evDNSRetry, a: qi, c: q.attempt})
}

func serializeDNS(m *layers.DNS) ([]byte, error) {
	buf := gopacket.NewSerializeBuffer()
	if err := m.SerializeTo(buf, gopacket.SerializeOptions{FixLengths: true}); err != nil {
		return nil, fmt.Errorf("synth: serializing dns message: %w", err)
	}
	return append([]byte(nil), buf.Bytes()...), nil
}

// dnsRetry resends an unanswered query, or gives up on the conversation instances waiting.
func (s *sim) dnsRetry(qi int32, attempt uint32) {
	q := &s.dns.queries[qi]
	c := &s.convs[q.conv]
	if !c.dnsPending || c.dnsQuery != qi || attempt != q.attempt {
		return
	}
	if q.attempt >= dnsAttempts {
		c.dnsPending = false
		c.waiting = 0
		return
	}
	s.dnsSend(qi)
}

// dnsAnswer is the server: it answers A queries for the scenario's names.
func (s *sim) dnsAnswer(i int32, n int32) {
	p := &s.pkts[i]
	var q layers.DNS
	if err := q.DecodeFromBytes(p.payload, gopacket.NilDecodeFeedback); err != nil || len(q.Questions) == 0 || q.QR {
		s.drop(i, n, "dns: unparsable query")
		return
	}
	name := strings.ToLower(string(q.Questions[0].Name))
	ans := &layers.DNS{ID: q.ID, QR: true, RD: q.RD, RA: true, OpCode: layers.DNSOpCodeQuery,
		Questions: []layers.DNSQuestion{{Name: []byte(name), Type: q.Questions[0].Type, Class: layers.DNSClassIN}}}
	if e, ok := s.dns.names[name]; ok && q.Questions[0].Type == layers.DNSTypeA {
		ans.Answers = []layers.DNSResourceRecord{{Name: []byte(name), Type: layers.DNSTypeA, Class: layers.DNSClassIN,
			TTL: e.ttl, IP: net.IP(e.addr[:])}}
	} else if !ok {
		ans.ResponseCode = layers.DNSResponseCodeNXDomain
	}
	b, err := serializeDNS(ans)
	if err != nil {
		s.err = err
		return
	}
	j := s.newPacket(n, p.dst, p.src, protoUDP)
	r := &s.pkts[j]
	src := &s.pkts[i]
	r.sport, r.dport, r.tag = portDNS, src.sport, src.tag
	r.setPayload(b)
	inst := int32(0)
	if src.tag >= 0 {
		inst = s.dns.queries[src.tag].inst
	}
	s.truth.begin(s, j, s.dns.label, inst, false)
	s.push(event{t: s.now + s.nodes[n].delay, kind: evUDPReply, a: j})
	s.release(i)
}

// dnsReply takes an answer at a client; it reports whether the datagram was one.
func (s *sim) dnsReply(i int32, n int32) bool {
	p := &s.pkts[i]
	if s.dns == nil || p.sport != portDNS {
		return false
	}
	qi, ok := s.dns.socks[connKey{l: p.dst, r: p.src, lp: p.dport, rp: portDNS}]
	if !ok {
		return false
	}
	q := &s.dns.queries[qi]
	c := &s.convs[q.conv]
	var m layers.DNS
	if err := m.DecodeFromBytes(p.payload, gopacket.NilDecodeFeedback); err != nil || m.ID != q.id || !c.dnsPending {
		s.release(i)
		return true
	}
	s.release(i)
	c.dnsPending = false
	ttl := int64(0)
	if len(m.Answers) > 0 {
		ttl = int64(m.Answers[0].TTL) * int64(time.Second)
	} else {
		c.waiting = 0 // NXDOMAIN: the instances fail
		return true
	}
	c.dnsUntil = s.now + ttl
	for c.waiting > 0 {
		c.waiting--
		s.launch(q.conv)
		c = &s.convs[q.conv]
	}
	return true
}
