package flows

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/stackflow/stackflow/decode"
)

// Finding kinds (DESIGN.md section 6). Each rule below is one function over the finished report
// and the analyzer's streaming observations.
const (
	FindTrafficToWithdrawn = "traffic_to_withdrawn_route"
	FindHopLoss            = "hop_loss"
	FindEncapMTU           = "encap_mtu"
	FindBGPSessionDown     = "bgp_session_down"
	FindBGPNotification    = "bgp_notification"
	FindBGPHoldExpired     = "bgp_hold_timer_expired"
	FindUnansweredSYN      = "unanswered_syn"
	FindRetransmissions    = "retransmissions"
	FindVNIOutOfRange      = "vni_out_of_range"
	FindProbeFailing       = "probe_failing"
	FindNATPortReuse       = "nat_port_reuse"
	FindAsymmetricRoute    = "asymmetric_route"
	FindMuxSilent          = "mux_not_forwarding"
	FindECMP               = "ecmp"
	FindDuplicates         = "duplicate_packets"
)

// severityRank orders findings: errors first.
var severityRank = map[string]int{"error": 0, "warning": 1, "info": 2}

// sortFindings orders findings by severity, then kind, then summary, so output is deterministic.
func sortFindings(fs []Finding) {
	slices.SortStableFunc(fs, func(x, y Finding) int {
		if d := severityRank[x.Severity] - severityRank[y.Severity]; d != 0 {
			return d
		}
		if c := strings.Compare(x.Kind, y.Kind); c != 0 {
			return c
		}
		return strings.Compare(x.Summary, y.Summary)
	})
}

// addFindings runs every rule.
func (a *Analyzer) addFindings(r *Report) {
	rules := []func(*Report) []Finding{
		a.findWithdrawnTraffic,
		a.findBGPSessions,
		findHopLoss,
		a.findEncapMTU,
		findUnansweredSYN,
		findRetransmissions,
		a.findVNIRange,
		findProbes,
		findNATReuse,
		findAsymmetric,
		a.findMuxes,
		a.findDuplicates,
	}
	for _, rule := range rules {
		r.Findings = append(r.Findings, rule(r)...)
	}
}

func (a *Analyzer) refs(rs []pktRef) []PacketRef {
	out := make([]PacketRef, 0, len(rs))
	for _, x := range rs {
		out = append(out, PacketRef{Point: a.pointID(x.point), Number: x.number})
	}
	return out
}

func flowIDs(ids []uint32) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		out = append(out, flowID(id))
	}
	return out
}

// findWithdrawnTraffic reports data packets sent to a prefix while no peer that had announced it
// still did, or encapsulated by a Mux after that Mux withdrew the destination.
func (a *Analyzer) findWithdrawnTraffic(r *Report) []Finding {
	var out []Finding
	for _, k := range a.rib.order {
		h := a.rib.hits[k]
		dsts := make([]string, 0, len(h.dsts))
		for d := range h.dsts {
			dsts = append(dsts, d.String())
		}
		sort.Strings(dsts)
		via := "while no BGP peer announced it"
		if k.via.IsValid() {
			via = fmt.Sprintf("through Mux %s after it had withdrawn the route", k.via)
			dsts = append(dsts, k.via.String())
		}
		out = append(out, Finding{
			Kind:     FindTrafficToWithdrawn,
			Severity: "error",
			Summary: fmt.Sprintf("%d packets (%d observations) to %s %s, %s .. %s (%s)", h.packets, h.obs, k.prefix, via,
				ClockTime(FormatTime(h.first)), ClockTime(FormatTime(h.last)), time.Duration(h.last-h.first).Round(time.Microsecond)),
			Evidence: Evidence{FlowIDs: flowIDs(h.flows), Packets: a.refs(h.refs), Addresses: dsts},
		})
	}
	return out
}

// findBGPSessions reports NOTIFICATIONs, sessions that went down, and hold timers that must have
// expired because a side stayed silent longer than the negotiated hold time.
func (a *Analyzer) findBGPSessions(r *Report) []Finding {
	var out []Finding
	sessions := r.BGP.Sessions
	for _, m := range a.bgpMessages {
		if m.Notification == nil {
			continue
		}
		sid := fmt.Sprintf("b%d", m.Session+1)
		out = append(out, Finding{
			Kind:     FindBGPNotification,
			Severity: notificationSeverity(m.Notification.Code, m.Notification.Subcode),
			Summary: fmt.Sprintf("session %s: %s sent NOTIFICATION %d/%d (%s) at %s", sid, m.Src.Addr(),
				m.Notification.Code, m.Notification.Subcode, m.Notification.Name, ClockTime(FormatTime(m.Time))),
			Evidence: Evidence{Packets: []PacketRef{{Point: a.pointID(m.Last.Point), Number: m.Last.Number}},
				Addresses: []string{m.Src.Addr().String(), m.Dst.Addr().String()}},
		})
	}
	out = append(out, a.holdFindings()...)
	for _, s := range sessions {
		if s.State != "down" {
			continue
		}
		why := "closed (FIN/RST)"
		if s.Notification != nil {
			why = fmt.Sprintf("NOTIFICATION %s from %s", s.Notification.Name, s.Notification.From)
		}
		out = append(out, Finding{
			Kind:     FindBGPSessionDown,
			Severity: "error",
			Summary:  fmt.Sprintf("BGP session %s %s <-> %s went down: %s; last message %s", s.ID, s.Peers[0], s.Peers[1], why, ClockTime(s.Last)),
			Evidence: Evidence{Addresses: []string{s.Peers[0], s.Peers[1]}},
		})
	}
	return out
}

// notificationSeverity: an administrative Cease is a warning, everything else an error.
func notificationSeverity(code, subcode uint8) string {
	if code == 6 && (subcode == 2 || subcode == 3 || subcode == 4) {
		return "warning"
	}
	return "error"
}

// findHopLoss reports each hop where packets of a path were seen and never at the next hop.
func findHopLoss(r *Report) []Finding {
	var out []Finding
	for _, p := range r.Paths {
		for i, h := range p.Hops {
			if h.Lost == 0 {
				continue
			}
			next := "anywhere after it: the path ends there"
			if i+1 < len(p.Hops) {
				next = p.Hops[i+1].Point
			}
			sev := "warning"
			if h.Lost == h.Packets {
				sev = "error"
			}
			out = append(out, Finding{
				Kind:     FindHopLoss,
				Severity: sev,
				Summary: fmt.Sprintf("path %s (%s): %d of %d packets seen at %s (hop %d) never reached %s",
					p.ID, p.Direction, h.Lost, h.Packets, h.Point, i+1, next),
				Evidence: Evidence{PathIDs: []string{p.ID}, FlowIDs: p.FlowIDs, Addresses: []string{h.Src, h.Dst}},
			})
		}
	}
	return out
}

// findEncapMTU reports ICMP "fragmentation needed" / "packet too big" errors, and paths that
// lose packets right before an encapsulating hop while smaller ones pass: the classic symptom of
// an underlay MTU smaller than the inner MTU plus the encapsulation overhead.
func (a *Analyzer) findEncapMTU(r *Report) []Finding {
	var out []Finding
	if n := a.mtu.icmpErrors; n > 0 {
		out = append(out, Finding{
			Kind:     FindEncapMTU,
			Severity: "warning",
			Summary:  fmt.Sprintf("%d ICMP fragmentation-needed / packet-too-big errors: a link's MTU is below the packets sent over it", n),
			Evidence: Evidence{Packets: a.refs(a.mtu.refs), Addresses: a.mtu.sources()},
		})
	}
	for _, p := range r.Paths {
		for i := 0; i+1 < len(p.Hops); i++ {
			h, next := p.Hops[i], p.Hops[i+1]
			if h.Lost == 0 || !strings.Contains(next.Transform, "encap") {
				continue
			}
			out = append(out, Finding{
				Kind:     FindEncapMTU,
				Severity: "warning",
				Summary: fmt.Sprintf("path %s: %d of %d packets vanished where %s encapsulates them (%s -> %s), the others passed: check the underlay MTU against the %d-byte tunnel overhead",
					p.ID, h.Lost, h.Packets, nodeName(r, next.Node), h.Point, next.Point, tunnelOverhead(next)),
				Evidence: Evidence{PathIDs: []string{p.ID}, FlowIDs: p.FlowIDs},
			})
		}
	}
	return out
}

func tunnelOverhead(h Hop) int {
	switch h.Tunnel {
	case "nvgre", "gre":
		return 42
	case "geneve":
		return 50 // without options
	default:
		return 50
	}
}

// findUnansweredSYN groups TCP flows whose SYN was never answered by destination; the same
// attempt seen at several capture points (before and after NAT) counts once, at the point that
// saw the most.
func findUnansweredSYN(r *Report) []Finding {
	type group struct {
		addr     string
		perPoint map[string]int
		points   []string
		ids      []string
	}
	// A point that sees only one direction (a Mux's links under Direct Server Return) sees every
	// connection as S0. A flow is answered when the path it lies on starts at a flow that is not
	// S0: the client's side saw the answer.
	state := make(map[string]string, len(r.Flows))
	for _, f := range r.Flows {
		state[f.ID] = f.State
	}
	answered := map[string]bool{}
	for _, p := range r.Paths {
		if len(p.FlowIDs) > 0 && state[p.FlowIDs[0]] != "S0" {
			for _, id := range p.FlowIDs {
				answered[id] = true
			}
		}
	}
	groups := map[string]*group{}
	var order []string
	for _, f := range r.Flows {
		if f.Proto != "tcp" || f.State != "S0" || answered[f.ID] {
			continue
		}
		dst := endpoint(f.Dst, f.Dport)
		g := groups[dst]
		if g == nil {
			g = &group{addr: f.Dst, perPoint: map[string]int{}}
			groups[dst] = g
			order = append(order, dst)
		}
		if g.perPoint[f.Point] == 0 {
			g.points = append(g.points, f.Point)
		}
		g.perPoint[f.Point]++
		g.ids = append(g.ids, f.ID)
	}
	var out []Finding
	for _, dst := range order {
		g := groups[dst]
		n := 0
		for _, c := range g.perPoint {
			n = max(n, c)
		}
		out = append(out, Finding{
			Kind:     FindUnansweredSYN,
			Severity: "warning",
			Summary:  fmt.Sprintf("%d connection attempts to %s got no answer (seen at %s)", n, dst, strings.Join(g.points, ", ")),
			Evidence: Evidence{FlowIDs: capList(g.ids, 20), Addresses: []string{g.addr}},
		})
	}
	return out
}

// findRetransmissions reports flows that retransmitted, worst first.
func findRetransmissions(r *Report) []Finding {
	var flows []Flow
	total := 0
	for _, f := range r.Flows {
		if f.Retransmits > 0 {
			flows = append(flows, f)
			total += f.Retransmits
		}
	}
	if len(flows) == 0 {
		return nil
	}
	slices.SortStableFunc(flows, func(x, y Flow) int { return y.Retransmits - x.Retransmits })
	ids := make([]string, len(flows))
	for i, f := range flows {
		ids[i] = f.ID
	}
	w := flows[0]
	return []Finding{{
		Kind:     FindRetransmissions,
		Severity: "warning",
		Summary: fmt.Sprintf("%d retransmitted TCP segments in %d flows; most in %s %s -> %s at %s: %d of %d packets",
			total, len(flows), w.ID, endpoint(w.Src, w.Sport), endpoint(w.Dst, w.Dport), w.Point, w.Retransmits, w.Packets),
		Evidence: Evidence{FlowIDs: capList(ids, 20)},
	}}
}

// findVNIRange flags VNIs/VSIDs outside Windows SDN's virtual subnet range 4096..2^24-2, but only
// on captures that look like Windows SDN (NVGRE, etl2pcapng interface names, or Muxes announcing
// /32 VIPs): elsewhere small VNIs are normal.
func (a *Analyzer) findVNIRange(r *Report) []Finding {
	if !a.windowsSDN(r) {
		return nil
	}
	var out []Finding
	seen := map[string]bool{}
	for _, t := range r.Tunnels {
		if t.VNI == nil || (*t.VNI >= 4096 && *t.VNI <= 1<<24-2) {
			continue
		}
		k := fmt.Sprint(t.Type, *t.VNI)
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, Finding{
			Kind:     FindVNIOutOfRange,
			Severity: "warning",
			Summary: fmt.Sprintf("%s %s %d (%s -> %s) is outside the virtual subnet range 4096..16777214 that Windows SDN assigns",
				t.Type, map[bool]string{true: "VSID", false: "VNI"}[t.Type == "nvgre"], *t.VNI, t.OuterSrc, t.OuterDst),
			Evidence: Evidence{Addresses: []string{t.OuterSrc, t.OuterDst}},
		})
	}
	return out
}

func (a *Analyzer) windowsSDN(r *Report) bool {
	for _, t := range r.Tunnels {
		if t.Type == "nvgre" {
			return true
		}
	}
	for _, p := range r.Capture.Points {
		if strings.HasPrefix(p.Interface, "vNIC:") || strings.HasPrefix(p.Interface, "eth:") {
			return true
		}
	}
	for _, n := range r.Nodes {
		if slices.Contains(n.Roles, "mux") {
			return true
		}
	}
	return false
}

// findProbes reports health probes (from a prober to a DIP) that went unanswered or refused.
func findProbes(r *Report) []Finding {
	probers := map[string]bool{}
	dips := map[string]bool{}
	for _, n := range r.Nodes {
		for _, addr := range n.Addresses {
			if slices.Contains(n.Roles, "prober") {
				probers[addr] = true
			}
			if slices.Contains(n.Roles, "dip") {
				dips[addr] = true
			}
		}
	}
	type key struct{ src, dst string }
	bad := map[key][]string{}
	total := map[key]int{}
	var order []key
	for _, f := range r.Flows {
		if !probers[f.Src] || !dips[f.Dst] || f.VNI != nil {
			continue
		}
		k := key{f.Src, endpoint(f.Dst, f.Dport)}
		if total[k] == 0 {
			order = append(order, k)
		}
		total[k]++
		if f.State == "S0" || f.State == "REJ" || (f.Proto != "tcp" && f.RespPackets == 0) {
			bad[k] = append(bad[k], f.ID)
		}
	}
	var out []Finding
	for _, k := range order {
		if len(bad[k]) == 0 {
			continue
		}
		out = append(out, Finding{
			Kind:     FindProbeFailing,
			Severity: "error",
			Summary:  fmt.Sprintf("health probes from %s to %s: %d of %d failed (no answer or refused)", k.src, k.dst, len(bad[k]), total[k]),
			Evidence: Evidence{FlowIDs: capList(bad[k], 20), Addresses: bareAddresses(k.src, k.dst)},
		})
	}
	return out
}

// findNATReuse reports an outside endpoint of one NAT node that stood for several inside
// endpoints: at overlapping times a real conflict (error), one after the other a reuse (warning).
// One finding per outside endpoint, however many inside endpoints shared it.
func findNATReuse(r *Report) []Finding {
	type key struct{ node, proto, outside string }
	byOut := map[key][]NATMapping{}
	var order []key
	for _, m := range r.NAT {
		if m.Kind != "snat" {
			continue
		}
		k := key{m.Node, m.Proto, m.Outside}
		if byOut[k] == nil {
			order = append(order, k)
		}
		byOut[k] = append(byOut[k], m)
	}
	var out []Finding
	for _, k := range order {
		ms := byOut[k]
		insides := map[string]bool{}
		overlap := false
		for i, m := range ms {
			insides[m.Inside] = true
			// Mappings are in time order: an overlap shows between neighbours.
			if i > 0 && ms[i-1].Inside != m.Inside && m.First <= ms[i-1].Last {
				overlap = true
			}
		}
		if len(insides) < 2 {
			continue
		}
		list := make([]string, 0, len(insides))
		for in := range insides {
			list = append(list, in)
		}
		sort.Strings(list)
		sev, how := "warning", "reused"
		if overlap {
			sev, how = "error", "used at the same time"
		}
		out = append(out, Finding{
			Kind:     FindNATPortReuse,
			Severity: sev,
			Summary: fmt.Sprintf("NAT %s: outside %s %s %s for %d inside endpoints (%s)", k.node, k.proto, k.outside, how,
				len(list), strings.Join(capList(list, 4), ", ")),
			Evidence: Evidence{Addresses: bareAddresses(append([]string{k.outside}, capList(list, 20)...)...)},
		})
	}
	return out
}

// findAsymmetric reports conversations whose return path crosses a router or NAT node the forward
// path did not (DSR's skipping of the Mux and host is expected and not reported).
func findAsymmetric(r *Report) []Finding {
	roles := map[string][]string{}
	for _, n := range r.Nodes {
		roles[n.ID] = n.Roles
	}
	middle := func(p Path) map[string]bool {
		m := map[string]bool{}
		for i, h := range p.Hops {
			if i == 0 {
				continue
			}
			if rs := roles[h.Node]; slices.Contains(rs, "router") || slices.Contains(rs, "nat") {
				m[h.Node] = true
			}
		}
		return m
	}
	var out []Finding
	byFlows := map[string]Path{}
	for _, p := range r.Paths {
		if p.Direction == "forward" && len(p.FlowIDs) > 0 {
			byFlows[p.FlowIDs[0]] = p
		}
	}
	for _, ret := range r.Paths {
		if ret.Direction != "return" || len(ret.FlowIDs) == 0 {
			continue
		}
		fwd, ok := byFlows[ret.FlowIDs[len(ret.FlowIDs)-1]]
		if !ok {
			continue
		}
		fm, rm := middle(fwd), middle(ret)
		var extra []string
		for n := range rm {
			if !fm[n] {
				extra = append(extra, n)
			}
		}
		if len(extra) == 0 {
			continue
		}
		sort.Strings(extra)
		out = append(out, Finding{
			Kind:     FindAsymmetricRoute,
			Severity: "info",
			Summary:  fmt.Sprintf("return path %s crosses %s, which forward path %s does not", ret.ID, strings.Join(extra, ", "), fwd.ID),
			Evidence: Evidence{PathIDs: []string{fwd.ID, ret.ID}},
		})
	}
	return out
}

// findMuxes reports VIPs announced by several peers at once (ECMP) and Muxes that announce a
// VIP but never encapsulate traffic for it while others do.
func (a *Analyzer) findMuxes(r *Report) []Finding {
	type vipInfo struct {
		peers map[string]bool
	}
	vips := map[string]*vipInfo{}
	var order []string
	for _, rt := range r.BGP.Routes {
		pfx, err := netip.ParsePrefix(rt.Prefix)
		if err != nil || !pfx.IsSingleIP() || rt.Event != "announce" {
			continue
		}
		v := vips[pfx.Addr().String()]
		if v == nil {
			v = &vipInfo{peers: map[string]bool{}}
			vips[pfx.Addr().String()] = v
			order = append(order, pfx.Addr().String())
		}
		v.peers[rt.Peer] = true
	}
	// Which nodes encapsulated traffic to each VIP (inner destination): a Mux may encapsulate
	// from a provider address other than the one it peers from, so compare nodes, not addresses.
	nodeOf := map[string]string{}
	for _, n := range r.Nodes {
		for _, addr := range n.Addresses {
			if _, ok := nodeOf[addr]; !ok {
				nodeOf[addr] = n.ID
			}
		}
	}
	owner := func(addr string) string {
		if id, ok := nodeOf[addr]; ok {
			return id
		}
		return addr
	}
	byID := make(map[string]*Flow, len(r.Flows))
	for i := range r.Flows {
		byID[r.Flows[i].ID] = &r.Flows[i]
	}
	carried := map[string]map[string]int{}
	for _, f := range r.Flows {
		outer := byID[f.TunnelParent]
		if outer == nil || vips[f.Dst] == nil {
			continue
		}
		if carried[f.Dst] == nil {
			carried[f.Dst] = map[string]int{}
		}
		carried[f.Dst][owner(outer.Src)] += f.OrigPackets
	}
	var out []Finding
	for _, vip := range order {
		peers := make([]string, 0, len(vips[vip].peers))
		for p := range vips[vip].peers {
			peers = append(peers, p)
		}
		sort.Strings(peers)
		if len(peers) > 1 {
			out = append(out, Finding{
				Kind:     FindECMP,
				Severity: "info",
				Summary:  fmt.Sprintf("VIP %s is announced by %d peers (%s): ECMP across Muxes", vip, len(peers), strings.Join(peers, ", ")),
				Evidence: Evidence{Addresses: append([]string{vip}, peers...)},
			})
		}
		if len(carried[vip]) == 0 {
			continue
		}
		for _, p := range peers {
			if carried[vip][owner(p)] == 0 {
				out = append(out, Finding{
					Kind:     FindMuxSilent,
					Severity: "warning",
					Summary:  fmt.Sprintf("%s announces VIP %s but encapsulated none of its traffic, which other Muxes carried", p, vip),
					Evidence: Evidence{Addresses: []string{p, vip}},
				})
			}
		}
	}
	return out
}

// findDuplicates reports packets seen twice at one location with identical headers: capture
// artefacts (a span port and a tap, or a merged capture), never hops or retransmissions.
func (a *Analyzer) findDuplicates(r *Report) []Finding {
	if a.journeys == nil || a.journeys.Stats.Duplicates == 0 {
		return nil
	}
	var refs []PacketRef
	for i, d := range a.journeys.Duplicates {
		if i == 10 {
			break
		}
		refs = append(refs, PacketRef{Point: a.pointID(d.Point), Number: d.Number})
	}
	return []Finding{{
		Kind:     FindDuplicates,
		Severity: "info",
		Summary: fmt.Sprintf("%d packets were captured twice at the same place with identical headers; they are counted once as hops and never as retransmissions",
			a.journeys.Stats.Duplicates),
		Evidence: Evidence{Packets: refs},
	}}
}

// bareAddresses turns endpoints ("ip:port", "[v6]:port") or addresses into the distinct bare
// addresses evidence lists (DESIGN.md 6.1), in their first order.
func bareAddresses(eps ...string) []string {
	var out []string
	for _, ep := range eps {
		a := ep
		if ap, err := netip.ParseAddrPort(ep); err == nil {
			a = ap.Addr().String()
		}
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// nodeName returns a node's name, or its id when it has none.
func nodeName(r *Report, id string) string {
	for _, n := range r.Nodes {
		if n.ID == id && n.Name != "" {
			return n.Name
		}
	}
	return id
}

func capList(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// mtuWatch collects ICMP errors that report a too-small MTU.
type mtuWatch struct {
	icmpErrors int
	refs       []pktRef
	from       map[netip.Addr]bool
}

func (m *mtuWatch) sources() []string {
	out := make([]string, 0, len(m.from))
	for a := range m.from {
		out = append(out, a.String())
	}
	sort.Strings(out)
	return out
}

// observe counts ICMPv4 "fragmentation needed" (3/4) and ICMPv6 "packet too big" (2).
func (m *mtuWatch) observe(p *decode.Packet) {
	if !(p.Inner.Proto == 1 && p.ICMPType == 3 && p.ICMPCode == 4) && !(p.Inner.Proto == 58 && p.ICMPType == 2) {
		return
	}
	m.icmpErrors++
	if len(m.refs) < 10 {
		m.refs = append(m.refs, pktRef{point: p.Point, number: p.Number})
	}
	if m.from == nil {
		m.from = map[netip.Addr]bool{}
	}
	m.from[p.Inner.Src] = true
}
