package flows

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/stackflow/stackflow/decode"
	"github.com/stackflow/stackflow/decode/bgp"
	"github.com/stackflow/stackflow/flows/conn"
	"github.com/stackflow/stackflow/flows/journey"
)

// newStages builds the per-packet consumers of an analysis, in the order they see each packet:
// BGP first (it marks packets that end a BGP message), then the flow table, whose flow ids the
// hop tracker keeps as evidence, then DNS names.
func newStages(a *Analyzer) []stage {
	b := &bgpStage{}
	b.asm = bgp.NewAssembler(bgp.Options{
		OnProblem: func(p bgp.Problem) { b.problems = append(b.problems, p) },
		// Each message updates the live RIB and the session timeline as it completes;
		// KEEPALIVEs are not kept, so memory follows routes, not a session's length.
		OnMessage: func(m *bgp.Message) {
			a.rib.applyOne(m)
			a.bgpLife.observe(a, m)
		},
		DropKeepalives: true,
	})
	f := &flowStage{
		table:   conn.NewTable(conn.Config{}),
		tracker: journey.NewTracker(journey.Config{Window: a.opts.Window}),
	}
	a.tracker = f.tracker
	return []stage{b, f, &dnsStage{names: map[netip.Addr]string{}}}
}

// bgpStage feeds TCP/179 segments to the BGP assembler.
type bgpStage struct {
	asm      *bgp.Assembler
	problems []bgp.Problem
}

func (s *bgpStage) observe(a *Analyzer, p *decode.Packet) {
	if p.Inner.Proto != 6 || (p.Inner.SrcPort != 179 && p.Inner.DstPort != 179) {
		return
	}
	tcp := a.dec.TCP()
	if tcp == nil {
		return
	}
	if s.asm.Feed(p.Point, p, tcp) > 0 {
		p.Layers |= decode.HasBGP
	}
}

func (s *bgpStage) finish(a *Analyzer, r *Report) {
	s.asm.Flush()
	a.bgpMessages = s.asm.Messages()
	for _, p := range s.problems {
		file := ""
		if p.Input >= 0 && p.Input < len(a.inputs) {
			file = a.inputs[p.Input].File
		}
		a.problems.add(Problem{Kind: p.Kind, File: file, Packet: p.Packet, Offset: p.Offset,
			Message: fmt.Sprintf("point %s: %s", a.pointID(p.Point), p.Message)})
	}
	c := s.asm.Counts()
	r.BGP.Messages = countsOf(c)
	// Messages completed after their last packet went by (a gap filled late, or at the end)
	// still end in a packet, as tshark counts.
	a.protocols[bitIndex(decode.HasBGP)] += s.asm.Stats().LateEndPackets
	for _, ss := range s.asm.Sessions() {
		bs := BGPSession{
			ID:          fmt.Sprintf("b%d", ss.Index+1),
			Peers:       [2]string{ss.Peers[0].Addr().String(), ss.Peers[1].Addr().String()},
			Ports:       [2]uint16{ss.Peers[0].Port(), ss.Peers[1].Port()},
			FourOctetAS: ss.FourOctetAS,
			AddPath:     ss.AddPath,
			State:       ss.State,
			Messages:    countsOf(ss.Counts),
			First:       FormatTime(ss.First),
			Last:        FormatTime(ss.Last),
			Gaps:        ss.Gaps,
		}
		for i := 0; i < 2; i++ {
			if ss.HasASN[i] {
				v := ss.ASN[i]
				bs.ASNs[i] = &v
			}
			if ss.RouterID[i].IsValid() {
				bs.RouterIDs[i] = ss.RouterID[i].String()
			}
			for _, c := range ss.Capabilities[i] {
				bs.Capabilities[i] = append(bs.Capabilities[i], c.String())
			}
		}
		if ss.HasHoldTime {
			h := ss.HoldTime
			bs.HoldTime = &h
		}
		for _, pt := range ss.Points {
			bs.Points = append(bs.Points, a.pointID(pt))
		}
		if n := ss.Notification; n != nil {
			bs.Notification = &BGPNotify{From: ss.NotificationFrom.Addr().String(), Time: FormatTime(ss.NotificationTime),
				Code: n.Code, Subcode: n.Subcode, Name: n.Name}
		}
		r.BGP.Sessions = append(r.BGP.Sessions, bs)
	}
	for _, m := range s.asm.Messages() {
		for _, rt := range m.Routes() {
			br := BGPRoute{
				Session:     fmt.Sprintf("b%d", rt.Session+1),
				Peer:        rt.Peer.Addr().String(),
				Prefix:      rt.Prefix,
				Event:       rt.Event,
				Time:        FormatTime(rt.Time),
				AFI:         rt.AFI,
				SAFI:        rt.SAFI,
				RD:          rt.RD,
				Origin:      rt.Origin,
				MED:         rt.MED,
				LocalPref:   rt.LocalPref,
				Communities: rt.Communities,
				Point:       a.pointID(rt.Point),
				Packet:      rt.Packet,
			}
			if rt.HasPathID {
				id := rt.PathID
				br.PathID = &id
			}
			if rt.NextHop.IsValid() {
				br.NextHop = rt.NextHop.String()
			}
			if rt.Event == "announce" {
				br.ASPath = rt.ASPath.JSON()
				if br.ASPath == nil {
					br.ASPath = []any{}
				}
			}
			r.BGP.Routes = append(r.BGP.Routes, br)
		}
	}
}

func countsOf(c bgp.Counts) MessageCounts {
	return MessageCounts{Open: c.Open, Update: c.Update, Notification: c.Notification, Keepalive: c.Keepalive, RouteRefresh: c.RouteRefresh}
}

// flowStage runs the flow table and the hop tracker.
type flowStage struct {
	table   *conn.Table
	tracker *journey.Tracker
	records []conn.Record // every flow, by id, once finished
}

func (s *flowStage) observe(a *Analyzer, p *decode.Packet) {
	s.tracker.Prefetch(p) // hides the tracker's index load behind the flow table's work
	inner, _ := s.table.Update(p)
	a.rib.check(p, inner)
	a.mtu.observe(p)
	flow := journey.NoFlow
	if inner != 0 {
		flow = inner
	}
	s.tracker.Observe(p, flow)
}

func (s *flowStage) finish(a *Analyzer, r *Report) {
	s.table.Flush()
	recs := s.table.Drain() // takes the records without copying them
	slices.SortFunc(recs, func(x, y conn.Record) int { return cmp.Compare(x.ID, y.ID) })
	s.records = recs
	r.Flows = slices.Grow(r.Flows, len(recs))
	for i := range recs {
		r.Flows = append(r.Flows, flowOf(a, &recs[i]))
	}
	// BGP facts feed roles: speakers, and every /32 (or /128) announced is a VIP.
	for _, ss := range r.BGP.Sessions {
		for _, p := range ss.Peers {
			if addr, err := netip.ParseAddr(p); err == nil {
				s.tracker.MarkBGP(addr)
			}
		}
	}
	for _, rt := range r.BGP.Routes {
		if pfx, err := netip.ParsePrefix(rt.Prefix); err == nil && rt.Event == "announce" && pfx.IsSingleIP() {
			s.tracker.MarkVIP(pfx.Addr())
		}
	}
	a.journeys = s.tracker.Finish()
}

func protoName(p uint8) string {
	switch p {
	case 1:
		return "icmp"
	case 6:
		return "tcp"
	case 17:
		return "udp"
	case 47:
		return "gre"
	case 58:
		return "icmpv6"
	case 132:
		return "sctp"
	}
	return fmt.Sprint(p)
}

func flowOf(a *Analyzer, rec *conn.Record) Flow {
	f := Flow{
		ID:          flowID(rec.ID),
		CommunityID: rec.CommunityID(),
		Proto:       protoName(rec.Proto()),
		Src:         rec.Src().String(),
		Dst:         rec.Dst().String(),
		Point:       a.pointID(rec.Point()),
		Packets:     int(rec.Packets()),
		Bytes:       int64(rec.Bytes()),
		First:       FormatTime(rec.First),
		Last:        FormatTime(rec.Last),
		State:       rec.StateCode(),
		History:     rec.History(),
		OrigPackets: int(rec.Orig.Packets),
		OrigBytes:   int64(rec.Orig.Bytes),
		RespPackets: int(rec.Resp.Packets),
		RespBytes:   int64(rec.Resp.Bytes),
		Retransmits: int(rec.Retransmits()),
		ZeroWindows: int(rec.ZeroWindows()),
		Resets:      int(rec.Resets()),
	}
	if rec.HasPorts() {
		sp, dp := rec.SrcPort(), rec.DstPort()
		f.Sport, f.Dport = &sp, &dp
	}
	if v, ok := rec.VNI(); ok {
		f.VNI = &v
	}
	if p := rec.TunnelParent(); p != 0 {
		f.TunnelParent = flowID(p)
	}
	for _, c := range rec.TunnelChildren() {
		f.TunnelFlows = append(f.TunnelFlows, flowID(c))
	}
	if rec.HasRTT {
		us := rec.RTT / 1000
		f.RTTUs = &us
	}
	return f
}

func flowID(id uint32) string { return fmt.Sprintf("f%d", id) }

// dnsStage learns names from DNS answers seen in the capture (A and AAAA records), the second
// source of node names after the user's file.
type dnsStage struct {
	dns   layers.DNS
	names map[netip.Addr]string
}

func (s *dnsStage) observe(a *Analyzer, p *decode.Packet) {
	if p.Inner.Proto != 17 || p.Inner.SrcPort != 53 || len(p.Payload) < 12 {
		return
	}
	if err := s.dns.DecodeFromBytes(p.Payload, gopacket.NilDecodeFeedback); err != nil || !s.dns.QR {
		return
	}
	for _, ans := range s.dns.Answers {
		if ans.Type != layers.DNSTypeA && ans.Type != layers.DNSTypeAAAA {
			continue
		}
		if addr, ok := netip.AddrFromSlice(ans.IP); ok {
			if _, seen := s.names[addr.Unmap()]; !seen {
				s.names[addr.Unmap()] = strings.TrimSuffix(string(ans.Name), ".")
			}
		}
	}
	a.dnsNames = s.names
}

func (s *dnsStage) finish(a *Analyzer, r *Report) {}
