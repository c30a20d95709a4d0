package journey

import "github.com/stackflow/stackflow/decode"

// HeaderOf returns the Header the tracker gives a decoded packet: its capture point (p.Point),
// outermost MAC pair, innermost tuple and the network encapsulation nearest the inner packet
// (outer source port cleared). A packet whose HeaderOf equals a Hop's Header was seen at that
// hop's location looking as that hop did; the export command finds a path's packets this way.
func HeaderOf(p *decode.Packet) Header {
	var h Header
	headerOf(p, &h)
	return h
}
