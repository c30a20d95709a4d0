package flows

import (
	"net/netip"
	"slices"

	"github.com/stackflow/stackflow/decode"
	"github.com/stackflow/stackflow/decode/bgp"
)

// rib is the live routing state rebuilt from BGP UPDATEs as they complete, in capture order, so
// that each data packet can be checked against the routes that existed when it was sent
// (DESIGN.md section 5: traffic to a VIP while its route was withdrawn).
type rib struct {
	// announcers: prefix -> peers currently announcing it.
	announcers map[netip.Prefix]map[netip.Addr]bool
	// everAnnounced: prefixes some peer announced at some point.
	everAnnounced map[netip.Prefix]bool
	// dark: prefixes announced before and now announced by nobody, checked per packet by
	// longest-prefix match.
	dark prefixSet
	// live: prefixes some peer announces now. A packet covered by one is routable, whatever
	// wider prefix went dark.
	live prefixSet
	// peerWithdrawn: per peer (a Mux), prefixes it announced and has withdrawn, for traffic it
	// still encapsulates.
	peerWithdrawn map[netip.Addr]*prefixSet

	hits  map[ribHitKey]*ribHit
	order []ribHitKey

	// relit: prefixes announced again recently. A packet already counted while the prefix was
	// dark but seen again (further along its path) after the announcement was routed after
	// all: it is taken back out of the count. Entries live for one correlation window.
	relit  []relit
	window int64
	now    int64
}

type relit struct {
	key   ribHitKey
	until int64
}

type ribHitKey struct {
	prefix netip.Prefix
	via    netip.Addr // the Mux that still sent it; invalid when no peer announced the prefix
}

// ribHit collects the traffic seen towards one dark prefix.
type ribHit struct {
	packets     int               // distinct packets (by fingerprint), each counted once however many points saw it
	seen        map[uint64]uint64 // fingerprint -> capture points (bit per point < 64) it was seen at
	obs         int               // observations at all points
	forwarded   int               // counted while dark, then seen further along after the announcement
	first, last int64
	refs        []pktRef
	flows       []uint32
	dsts        map[netip.Addr]bool
	withdrawnAt int64
}

func newRIB(window int64) *rib {
	return &rib{
		window:        window,
		announcers:    map[netip.Prefix]map[netip.Addr]bool{},
		everAnnounced: map[netip.Prefix]bool{},
		peerWithdrawn: map[netip.Addr]*prefixSet{},
		hits:          map[ribHitKey]*ribHit{},
	}
}

// applyOne folds one completed message into the state.
func (r *rib) applyOne(m *bgp.Message) {
	if m.Notification != nil {
		// A NOTIFICATION closes the session: each side drops every route it learned over
		// it (RFC 4271 section 6), as if the peer had withdrawn them.
		r.peerDown(m.Src.Addr())
		r.peerDown(m.Dst.Addr())
		return
	}
	for _, rt := range m.Routes() {
		if !rt.Net.IsValid() || rt.RD != "" {
			continue // VPN routes do not steer the captured data plane
		}
		pfx := rt.Net.Masked()
		peer := rt.Peer.Addr()
		set := r.announcers[pfx]
		if rt.Event == "announce" {
			if set == nil {
				set = map[netip.Addr]bool{}
				r.announcers[pfx] = set
			}
			set[peer] = true
			r.live.add(pfx)
			r.everAnnounced[pfx] = true
			if r.dark.has(pfx) {
				if _, ok := r.hits[ribHitKey{prefix: pfx}]; ok {
					r.relit = append(r.relit, relit{key: ribHitKey{prefix: pfx}, until: m.Time + r.window})
				}
			}
			r.dark.remove(pfx)
			if pw := r.peerWithdrawn[peer]; pw != nil {
				pw.remove(pfx)
			}
			continue
		}
		had := set[peer]
		delete(set, peer)
		if had {
			r.withdrawnBy(peer).add(pfx)
		}
		if len(set) == 0 {
			r.live.remove(pfx)
			if r.everAnnounced[pfx] {
				r.dark.add(pfx)
			}
		}
	}
}

// withdrawnBy returns the set of prefixes peer has withdrawn, creating it.
func (r *rib) withdrawnBy(peer netip.Addr) *prefixSet {
	pw := r.peerWithdrawn[peer]
	if pw == nil {
		pw = &prefixSet{}
		r.peerWithdrawn[peer] = pw
	}
	return pw
}

// peerDown withdraws everything peer announced. The sets answer by longest match, so the
// order in which the map is walked cannot change which prefix a packet counts against.
func (r *rib) peerDown(peer netip.Addr) {
	for pfx, set := range r.announcers {
		if !set[peer] {
			continue
		}
		delete(set, peer)
		r.withdrawnBy(peer).add(pfx)
		if len(set) == 0 {
			r.live.remove(pfx)
			r.dark.add(pfx)
		}
	}
}

// check records p when it is addressed to a prefix nobody announces any more, or encapsulated
// by a Mux that has withdrawn its destination.
func (r *rib) check(p *decode.Packet, flow uint32) {
	if len(r.relit) > 0 && p.HasIP {
		r.recheck(p)
	}
	if !p.HasIP || (r.dark.len() == 0 && len(r.peerWithdrawn) == 0) {
		return
	}
	dst := p.Inner.Dst
	if pfx, ok := r.dark.match(dst); ok {
		if _, routable := r.live.match(dst); !routable {
			r.hit(ribHitKey{prefix: pfx}, p, flow)
			return
		}
	}
	if p.NTunnels == 0 {
		return
	}
	mux := p.Tunnels[0].Outer.Src
	if pw := r.peerWithdrawn[mux]; pw != nil {
		if pfx, ok := pw.match(dst); ok {
			r.hit(ribHitKey{prefix: pfx, via: mux}, p, flow)
		}
	}
}

// recheck takes a packet back out of a withdrawal count when it shows up again, after the
// prefix was announced again, at a point it had not reached before: it was forwarded.
func (r *rib) recheck(p *decode.Packet) {
	r.relit = slices.DeleteFunc(r.relit, func(e relit) bool { return p.Time > e.until })
	for _, e := range r.relit {
		if !e.key.prefix.Contains(p.Inner.Dst) {
			continue
		}
		h := r.hits[e.key]
		bit := uint64(1) << (uint(p.Point) & 63)
		if pts, ok := h.seen[p.Fingerprint]; ok && p.Fingerprint != 0 && pts&bit == 0 {
			delete(h.seen, p.Fingerprint)
			h.packets--
			h.forwarded++
		}
	}
}

func (r *rib) hit(k ribHitKey, p *decode.Packet, flow uint32) {
	h := r.hits[k]
	if h == nil {
		h = &ribHit{first: p.Time, dsts: map[netip.Addr]bool{}, seen: map[uint64]uint64{}}
		r.hits[k] = h
		r.order = append(r.order, k)
	}
	h.obs++
	// One packet seen at several points counts once; the same fingerprint again at a point
	// that already saw it is a new packet (a retransmitted SYN with IP ID 0 repeats every
	// invariant field).
	bit := uint64(1) << (uint(p.Point) & 63)
	switch pts, ok := h.seen[p.Fingerprint]; {
	case p.Fingerprint == 0 || len(h.seen) >= 1<<16:
		h.packets++
	case !ok || pts&bit != 0:
		h.seen[p.Fingerprint] = bit
		h.packets++
	default:
		h.seen[p.Fingerprint] = pts | bit
	}
	h.last = p.Time
	h.dsts[p.Inner.Dst] = true
	if len(h.refs) < 10 {
		h.refs = append(h.refs, pktRef{point: p.Point, number: p.Number})
	}
	if flow != 0 && len(h.flows) < 20 && !slices.Contains(h.flows, flow) {
		h.flows = append(h.flows, flow)
	}
}

// pktRef is a packet reference by point index, converted to a PacketRef for the report.
type pktRef struct {
	point  int
	number uint64
}
