package flows

// PathChain lists the nodes a path crossed, in order and without repeats, the way the source
// document draws a path (ClientVM -> NATVM -> BGPVM -> MuxVM -> host -> PortalVM): each hop's
// node (the one that made its change), then the receiver, the node owning the last hop's
// destination address. reached is false when every packet seen at the last hop was lost there,
// so the receiver was never reached.
func PathChain(r *Report, p *Path) (ids []string, reached bool) {
	reached = true
	for _, h := range p.Hops {
		if len(ids) == 0 || ids[len(ids)-1] != h.Node {
			ids = append(ids, h.Node)
		}
	}
	if len(p.Hops) == 0 {
		return ids, reached
	}
	last := p.Hops[len(p.Hops)-1]
	if id := nodeByAddress(r, last.Dst); id != "" && id != ids[len(ids)-1] {
		ids = append(ids, id)
		reached = !(last.Lost > 0 && last.Lost == last.Packets)
	}
	return ids, reached
}
