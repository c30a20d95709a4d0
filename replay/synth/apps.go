package synth

import (
	"fmt"
	"net/netip"
	"strings"
)

// application kinds of a TCP conversation
const (
	appRaw uint8 = iota
	appTLS
	appHTTP
)

const (
	tlsRecord = 16384 // largest TLS record body
	// windowsPing is the payload Windows ping sends, repeated to the requested size.
	windowsPing = "abcdefghijklmnopqrstuvwabcdefghi"
)

// convRT is a conversation at run time.
type convRT struct {
	name     string
	label    int32
	client   int32
	src, dst ip4
	dport    uint16
	proto    uint8
	app      uint8
	host     string // HTTP Host header
	count    int
	started  int
	launched int
	done     int
	startAt  int64
	interval int64
	requests int
	req      int64
	resp     int64
	mss      int
	think    int64
	closeRST bool
	sock     uint16 // UDP source port or ICMP echo id
	echoSeq  uint16

	needDNS    bool
	dnsName    string
	dnsUntil   int64
	dnsPending bool
	dnsQuery   int32
	waiting    int
}

func (s *sim) buildTraffic() {
	for i := range s.sc.Traffic {
		c := &s.sc.Traffic[i]
		n := s.nodeIdx(c.Client.Value)
		dst := addr4(c.To.Addr)
		src, _ := s.srcFor(n, dst)
		rt := convRT{
			name: c.Name.Value, label: s.truth.label(c.Name.Value), client: n, src: src, dst: dst,
			dport: c.To.Port, proto: protoNumber(c.Proto.Value), count: int(c.Count.Value),
			startAt: int64(c.Start.Value), interval: int64(c.Interval.Value), requests: int(c.Requests.Value),
			req: c.Request.Value, resp: c.Response.Value, mss: int(c.MSS.Value), think: int64(c.Think.Value),
			closeRST: c.Close.Value == "rst", needDNS: c.To.Name != "", dnsName: c.To.Name, dnsQuery: -1,
			host: c.To.Name,
		}
		if rt.host == "" {
			rt.host = c.To.Addr.String()
		}
		switch c.App.Value {
		case "tls":
			rt.app = appTLS
		case "http":
			rt.app = appHTTP
		}
		switch rt.proto {
		case protoUDP:
			rt.sock = s.ephemeral(n)
			s.nodes[n].sock()[rt.sock] = int32(i)
		case protoICMP:
			rt.sock = uint16(1 + i) // Windows ping uses small echo ids
			s.nodes[n].sock()[rt.sock] = int32(i)
		}
		s.convs = append(s.convs, rt)
		s.truth.conversation(c, rt.src)
	}
}

func (n *node) sock() map[uint16]int32 {
	if n.udpSock == nil {
		n.udpSock = map[uint16]int32{}
	}
	return n.udpSock
}

// convStart is one scheduled instance: resolve the name if needed, then launch.
func (s *sim) convStart(ci int32) {
	c := &s.convs[ci]
	c.started++
	if c.started < c.count && s.now+c.interval < s.end {
		s.push(event{t: s.now + c.interval, kind: evConvStart, a: ci})
	}
	if c.needDNS && s.now >= c.dnsUntil {
		c.waiting++
		if !c.dnsPending {
			s.dnsAsk(ci)
		}
		return
	}
	s.launch(ci)
}

// launch starts one instance of a conversation now.
func (s *sim) launch(ci int32) {
	c := &s.convs[ci]
	inst := int32(c.launched)
	c.launched++
	switch c.proto {
	case protoTCP:
		app := &convClient{conv: ci}
		k := s.connect(c.client, connKey{l: c.src, r: c.dst, lp: s.ephemeral(c.client), rp: c.dport}, c.mss, app,
			c.label, ci, inst)
		s.conns[k].closeRST = c.closeRST
	case protoUDP:
		i := s.newPacket(c.client, c.src, c.dst, protoUDP)
		p := &s.pkts[i]
		p.sport, p.dport, p.conv = c.sock, c.dport, ci
		s.fillPattern(p, int(c.req))
		s.truth.begin(s, i, c.label, inst, true)
		s.send(i)
	case protoICMP:
		c.echoSeq++
		i := s.newPacket(c.client, c.src, c.dst, protoICMP)
		p := &s.pkts[i]
		p.icmpType, p.icmpID, p.icmpSeq, p.conv = 8, c.sock, c.echoSeq, ci
		p.sport, p.dport = c.sock, c.sock
		buf := p.growPayload(int(c.req))
		for j := range buf {
			buf[j] = windowsPing[j%len(windowsPing)]
		}
		p.sumPayload()
		s.truth.begin(s, i, c.label, inst, true)
		s.send(i)
	}
}

// fillPattern gives a packet n seeded pattern bytes.
func (s *sim) fillPattern(p *pkt, n int) {
	buf := p.growPayload(n)
	s.patternAt(buf, s.rng.Uint32())
	p.sumPayload()
}

// patternAt copies the cyclic seeded pattern starting at offset off.
func (s *sim) patternAt(dst []byte, off uint32) {
	o := int(off) & (len(s.pattern) - 1)
	for len(dst) > 0 {
		k := copy(dst, s.pattern[o:])
		dst = dst[k:]
		o = 0
	}
}

// fill writes stream bytes [off, off+len(dst)) of connection c.
func (s *sim) fill(c *tcpConn, dst []byte, off uint32) {
	// the first message that ends after off
	lo, hi := 0, len(c.msgs)
	for lo < hi {
		m := (lo + hi) / 2
		if c.msgs[m].off+c.msgs[m].n <= off {
			lo = m + 1
		} else {
			hi = m
		}
	}
	for k := lo; k < len(c.msgs) && len(dst) > 0; k++ {
		m := &c.msgs[k]
		w := off - m.off
		take := min(uint32(len(dst)), m.n-w)
		s.fillMessage(m, dst[:take], w)
		dst = dst[take:]
		off += take
	}
}

// fillMessage writes bytes [w, w+len(dst)) of message m.
func (s *sim) fillMessage(m *message, dst []byte, w uint32) {
	switch m.kind {
	case msgBlob, msgHead:
		if w < uint32(len(m.blob)) {
			k := copy(dst, m.blob[w:])
			dst = dst[k:]
			w += uint32(k)
		}
		if len(dst) > 0 {
			s.patternAt(dst, m.pat+w)
		}
	case msgTLS:
		rl := m.rec
		for len(dst) > 0 {
			rec := w / rl
			pos := w % rl
			if pos < 5 {
				body := min(rl-5, m.n-rec*rl-5)
				hdr := [5]byte{0x17, 0x03, 0x03, byte(body >> 8), byte(body)}
				k := copy(dst, hdr[pos:])
				dst = dst[k:]
				w += uint32(k)
				continue
			}
			k := min(uint32(len(dst)), rl-pos)
			s.patternAt(dst[:k], m.pat+w)
			dst = dst[k:]
			w += k
		}
	default:
		s.patternAt(dst, m.pat+w)
	}
}

// tlsRecordLen sizes TLS records to fill one segment (as servers with dynamic record sizing
// do), so that a record never needs TCP reassembly.
func tlsRecordLen(mss int) uint32 {
	return uint32(min(max(mss, 64), tlsRecord+5))
}

// tlsSize avoids a final record too short to hold a header and one byte.
func tlsSize(n int64, rec uint32) int64 {
	if r := n % int64(rec); r > 0 && r < 6 {
		n += 6 - r
	}
	return n
}

// request builds request number k of a conversation sent over a connection with segment
// size mss.
func (s *sim) request(c *convRT, k int, mss int) message {
	m := message{n: uint32(c.req), pat: s.rng.Uint32(), reply: c.resp}
	switch c.app {
	case appTLS:
		m.kind, m.replyKind = msgTLS, msgTLS
		m.rec = tlsRecordLen(mss)
		m.n = uint32(tlsSize(c.req, m.rec))
	case appHTTP:
		m.kind, m.replyKind = msgHead, msgHead
		m.blob = httpRequest(c.host, k, c.req)
		m.n = uint32(max(int64(len(m.blob)), c.req))
	default:
		m.kind, m.replyKind = msgRaw, msgRaw
	}
	return m
}

// httpRequest is a GET padded to size bytes, or a POST whose body makes up the size.
func httpRequest(host string, k int, size int64) []byte {
	const ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64)"
	if size > 1024 {
		// find the body length whose header and body add up to size; at a digit boundary
		// no length fits, and an extra space (optional white space) makes up the byte
		for _, sp := range []string{" ", "  "} {
			hdr := fmt.Sprintf("POST /upload/%d HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\n"+
				"Content-Type: application/octet-stream\r\nContent-Length:%s%%d\r\n\r\n", k, host, ua, sp)
			est := size - int64(len(fmt.Sprintf(hdr, size)))
			for body := est; body <= est+8 && body >= 0; body++ {
				if h := fmt.Sprintf(hdr, body); int64(len(h))+body == size {
					return []byte(h)
				}
			}
		}
	}
	base := fmt.Sprintf("GET /portal/%d HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\nAccept: */*\r\n", k, host, ua)
	pad := size - int64(len(base)) - 2
	if pad >= 8 {
		base += "X-Pad: " + strings.Repeat("a", int(pad-9)) + "\r\n"
	}
	return []byte(base + "\r\n")
}

// response builds the server's answer to request message q.
func (s *sim) response(q *message, mss int) message {
	m := message{n: uint32(q.reply), pat: s.rng.Uint32(), kind: q.replyKind}
	switch q.replyKind {
	case msgTLS:
		m.rec = tlsRecordLen(mss)
		m.n = uint32(tlsSize(q.reply, m.rec))
	case msgHead:
		body := q.reply - 120
		hdr := func(b int64) string {
			return fmt.Sprintf("HTTP/1.1 200 OK\r\nServer: Microsoft-IIS/10.0\r\nContent-Type: application/octet-stream\r\n"+
				"Content-Length: %d\r\n\r\n", b)
		}
		for body > 0 && int64(len(hdr(body)))+body > q.reply {
			body--
		}
		body = max(body, 0)
		m.blob = []byte(hdr(body))
		m.n = uint32(int64(len(m.blob)) + body)
	case msgBlob:
		m.blob = q.replyBlob
		m.n = uint32(len(q.replyBlob))
	}
	return m
}

// convClient runs the client side of a TCP conversation instance.
type convClient struct {
	conv int32
	sent int
	got  int
}

func (a *convClient) established(s *sim, ci int32) {
	c := &s.convs[a.conv]
	a.sent++
	s.queue(ci, s.request(c, a.sent, s.conns[ci].mss))
}

func (a *convClient) message(s *sim, ci int32, _ int) {
	c := &s.convs[a.conv]
	a.got++
	if a.got < c.requests {
		a.sent++
		s.queue(ci, s.request(c, a.sent, s.conns[ci].mss))
		s.output(ci)
		return
	}
	s.closeSend(ci, c.closeRST)
}

func (a *convClient) peerFin(s *sim, ci int32) { s.closeSend(ci, false) }

func (a *convClient) closed(s *sim, ci int32, reset bool) {
	c := &s.convs[a.conv]
	c.done++
	s.truth.convDone(a.conv, a.got >= c.requests && !reset || a.got >= c.requests && c.closeRST)
}

// tcpServer answers each complete request after the conversation's think time.
type tcpServer struct{}

func (tcpServer) established(*sim, int32) {}

func (tcpServer) message(s *sim, ci int32, m int) {
	think := int64(200_000)
	if cv := s.conns[ci].conv; cv >= 0 {
		think = s.convs[cv].think
	}
	s.push(event{t: s.now + think, kind: evAppSend, a: ci, b: int32(m)})
}

func (tcpServer) peerFin(s *sim, ci int32) { s.closeSend(ci, false) }

func (tcpServer) closed(*sim, int32, bool) {}

// appSend writes the response to the peer's request m.
func (s *sim) appSend(ci int32, m int32) {
	c := &s.conns[ci]
	if c.state != stEstablished && c.state != stCloseWait || c.peer < 0 {
		return
	}
	q := &s.conns[c.peer].msgs[m]
	if q.reply <= 0 && q.replyBlob == nil {
		return
	}
	s.queue(ci, s.response(q, c.mss))
	s.output(ci)
}

// appFor picks the application a node runs for an accepted connection.
func (s *sim) appFor(n int32, p *pkt) tcpApp {
	if p.dport == portBGP && s.nodes[n].router != nil {
		if a := s.bgpAccept(n, p); a != nil {
			return a
		}
	}
	return tcpServer{}
}

// udpInput delivers a UDP datagram to node n.
func (s *sim) udpInput(i int32, n int32) {
	p := &s.pkts[i]
	nd := &s.nodes[n]
	switch {
	case p.dport == portDNS && nd.isDNS:
		s.dnsAnswer(i, n)
	case s.dnsReply(i, n):
	case p.conv >= 0 && s.convs[p.conv].client == n && s.convs[p.conv].sock == p.dport:
		s.truth.convDone(p.conv, true)
		s.release(i)
	case p.conv >= 0 && s.convs[p.conv].client != n:
		c := &s.convs[p.conv]
		j := s.newPacket(n, p.dst, p.src, protoUDP)
		q := &s.pkts[j]
		src := &s.pkts[i]
		q.sport, q.dport, q.conv = src.dport, src.sport, src.conv
		s.fillPattern(q, int(c.resp))
		s.truth.begin(s, j, c.label, s.truth.instanceOf(src.journey), false)
		s.push(event{t: s.now + c.think, kind: evUDPReply, a: j})
		s.release(i)
	default:
		s.drop(i, n, "no_listener: udp port "+fmt.Sprint(p.dport))
	}
}

func (s *sim) udpReply(j int32) { s.send(j) }

// icmpInput handles echo and errors addressed to node n.
func (s *sim) icmpInput(i int32, n int32, in int32) {
	p := &s.pkts[i]
	switch p.icmpType {
	case 8:
		j := s.newPacket(n, p.dst, p.src, protoICMP)
		q := &s.pkts[j]
		src := &s.pkts[i]
		q.icmpType, q.icmpID, q.icmpSeq, q.conv = 0, src.icmpID, src.icmpSeq, src.conv
		q.sport, q.dport = src.icmpID, src.icmpID
		q.setPayload(src.payload)
		label := int32(-1)
		if src.conv >= 0 {
			label = s.convs[src.conv].label
		}
		s.truth.begin(s, j, label, s.truth.instanceOf(src.journey), false)
		s.push(event{t: s.now + s.nodes[n].delay, kind: evUDPReply, a: j})
	case 0:
		if p.conv >= 0 {
			s.truth.convDone(p.conv, true)
		}
	case 3, 11:
		s.icmpErrorIn(i, n)
	}
	s.release(i)
}

// icmpErrorIn applies an ICMP error to the TCP connection whose packet it quotes.
func (s *sim) icmpErrorIn(i int32, n int32) {
	p := &s.pkts[i]
	q := p.payload
	if len(q) < 28 || q[9] != protoTCP {
		return
	}
	var src, dst ip4
	copy(src[:], q[12:16])
	copy(dst[:], q[16:20])
	key := connKey{l: src, r: dst, lp: uint16(q[20])<<8 | uint16(q[21]), rp: uint16(q[22])<<8 | uint16(q[23])}
	ci, ok := s.nodes[n].conns[key]
	if !ok {
		return
	}
	if p.icmpType == 3 && p.icmpCode == 4 {
		s.pmtu(ci, int(p.icmpRest&0xffff))
	}
}

// icmpError sends an ICMP error about packet i from node n (received on interface in) to
// the packet's inner source, quoting its IP header and first 8 transport bytes as received.
func (s *sim) icmpError(i int32, n int32, in int32, typ, code uint8, rest uint32) {
	orig := &s.pkts[i]
	if orig.proto == protoICMP && orig.icmpType != 0 && orig.icmpType != 8 {
		return // never an error about an error
	}
	if orig.ipLen() > len(s.scratch) {
		return
	}
	tot := putInner(s.scratch[:], orig)
	var quote [ipHdr + 8]byte
	k := copy(quote[:], s.scratch[:min(tot, len(quote))])
	src := s.ifaces[in].addrs[0]
	dst, cause, conv := orig.src, orig.journey, orig.conv
	j := s.newPacket(n, src, dst, protoICMP)
	e := &s.pkts[j]
	e.icmpType, e.icmpCode, e.icmpRest, e.conv = typ, code, rest, conv
	e.setPayload(quote[:k])
	s.truth.beginError(s, j, cause)
	s.send(j)
}

// fixIPChecksum recomputes an IPv4 header checksum in place.
func fixIPChecksum(h []byte) {
	h[10], h[11] = 0, 0
	c := finish(sum16(0, h))
	h[10], h[11] = byte(c>>8), byte(c)
}

// hostPort renders ip:port.
func hostPort(a ip4, port uint16) string {
	return netip.AddrPortFrom(netip.AddrFrom4(a), port).String()
}
