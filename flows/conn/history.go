package conn

// Zeek's connection history (conn.log "history"), one letter per event, uppercase when the
// originator did it and lowercase for the responder:
//
//	s  a SYN without ACK          h  a SYN-ACK
//	a  a pure ACK                 d  a packet with payload (TCP), any packet (UDP)
//	f  a FIN                      r  a RST
//	i  FIN and RST together       q  SYN with FIN or RST
//	t  a retransmitted payload    w  a zero-window advertisement
//	^  the table chose the originator by heuristic (SYN-ACK or reply seen first, server port)
//
// Letters s h a d i q (and d for UDP) are recorded once per direction. f and r repeat when a
// later FIN or RST sits at another sequence number (s and h also, in principle, but a new SYN
// re-bases the relative sequence space, so they never do in practice, as in Zeek). t and w
// repeat each time their per-direction count reaches 1, 10, 100, ... Zeek's c (bad checksum)
// and g (content gap) need checksum validation and reassembly, which the flow table does not
// do, so they never appear.

// historyCap bounds a record's history; later letters are dropped. Real histories are far
// shorter (a clean TCP connection is "ShADadFf").
const historyCap = 30

// history is a fixed-size, allocation-free history string.
type history struct {
	b [historyCap]byte
	n uint8
}

func (h *history) add(c byte) {
	if int(h.n) < len(h.b) {
		h.b[h.n] = c
		h.n++
	}
}

// String returns the letters recorded so far.
func (h *history) String() string { return string(h.b[:h.n]) }

// histBit names the once-per-direction history events (Zeek's HIST_* masks).
type histBit uint8

const (
	hbSYN    histBit = iota // S or H: they share one bit, as in Zeek
	hbFIN                   // F
	hbRST                   // R
	hbFINRST                // I
	hbMulti                 // Q
	hbData                  // D
	hbACK                   // A
)

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// check records letter c for the originator (or, lowercased, the responder) the first time the
// event happens in that direction, and reports whether it had happened before.
func (h *history) check(seen *uint16, bit histBit, orig bool, c byte) (already bool) {
	m := uint16(1) << bit
	if !orig {
		m <<= 8
		c = lower(c)
	}
	if *seen&m != 0 {
		return true
	}
	*seen |= m
	h.add(c)
	return false
}

// letter appends c for the originator, or lowercased for the responder.
func (h *history) letter(orig bool, c byte) {
	if !orig {
		c = lower(c)
	}
	h.add(c)
}

// scaled appends c when count (already incremented) reaches 1, 10, 100, ...
func (h *history) scaled(orig bool, c byte, count uint32) {
	for p := uint32(1); ; p *= 10 {
		if count == p {
			h.letter(orig, c)
			return
		}
		if count < p || p > 1e9-1 {
			return
		}
	}
}

// matchRSTOS0 reports whether history h matches Zeek's /^\^?S[^HAFGIQ]*R.*$/: the originator
// sent a SYN and then a RST with none of the responder-engagement or close letters between.
func matchRSTOS0(h string) bool {
	if len(h) > 0 && h[0] == '^' {
		h = h[1:]
	}
	if len(h) == 0 || h[0] != 'S' {
		return false
	}
	for i := 1; i < len(h); i++ {
		switch h[i] {
		case 'R':
			return true
		case 'H', 'A', 'F', 'G', 'I', 'Q':
			return false
		}
	}
	return false
}
