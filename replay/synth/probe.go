package synth

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/stackflow/stackflow/replay/scenario"
)

// probeRT is one SLB health probe: the host agent probing one DIP periodically.
type probeRT struct {
	host     int32 // node
	agent    ip4
	dip      ip4
	port     uint16
	http     bool
	path     string
	interval int64
	first    int64
	label    int32
	sent     int32
	truth    int32
}

func (s *sim) addProbe(b backendRT, p *scenario.Probe) {
	h := &s.hosts[b.host]
	for _, x := range s.probes {
		if x.dip == b.dip && x.port == uint16(p.Port.Value) {
			return // one probe per DIP and port, however many VIPs share it
		}
	}
	pr := probeRT{host: h.node, agent: h.agent, dip: b.dip, port: uint16(p.Port.Value), http: p.Proto.Value == "http",
		path: p.Path, interval: int64(p.Interval.Value)}
	pr.first = int64(700*time.Millisecond) + int64(len(s.probes))*int64(100*time.Millisecond)
	pr.label = s.truth.label(fmt.Sprintf("probe %s", netip.AddrPortFrom(netip.AddrFrom4(b.dip), pr.port)))
	pr.truth = s.truth.probe(h.name, pr.agent, pr.dip, pr.port, p.Proto.Value)
	s.probes = append(s.probes, pr)
}

// probe sends one health probe and schedules the next.
func (s *sim) probe(pi int32) {
	pr := &s.probes[pi]
	if s.now > s.end {
		return
	}
	inst := pr.sent
	pr.sent++
	s.truth.probeSent(pr.truth)
	app := &probeApp{probe: pi}
	mss := s.links[s.ifaces[s.owner[pr.agent]].link].mtu - 40
	key := connKey{l: pr.agent, r: pr.dip, lp: s.ephemeral(pr.host), rp: pr.port}
	ci := s.connect(pr.host, key, mss, app, pr.label, -1, inst)
	s.conns[ci].rstOnSynAck = !pr.http
	pr = &s.probes[pi]
	if s.now+pr.interval <= s.end {
		s.push(event{t: s.now + pr.interval, kind: evProbe, a: pi})
	}
}

// probeApp is the prober's side: TCP probes end at the SYN-ACK (RST), HTTP probes GET the
// path and close after the answer.
type probeApp struct {
	probe int32
	ok    bool
}

func (a *probeApp) established(s *sim, ci int32) {
	pr := &s.probes[a.probe]
	if !pr.http {
		return
	}
	req := fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: Load Balancer Agent\r\nConnection: close\r\n\r\n",
		pr.path, netip.AddrFrom4(pr.dip))
	s.queue(ci, message{kind: msgBlob, blob: []byte(req), n: uint32(len(req)), replyKind: msgBlob,
		replyBlob: []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nOK")})
}

func (a *probeApp) message(s *sim, ci int32, _ int) {
	a.ok = true
	s.closeSend(ci, false)
}

func (a *probeApp) peerFin(s *sim, ci int32) { s.closeSend(ci, false) }

func (a *probeApp) closed(s *sim, ci int32, reset bool) {
	pr := &s.probes[a.probe]
	if !pr.http && !reset || a.ok {
		s.truth.probeOK(pr.truth)
	}
}
