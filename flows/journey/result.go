package journey

import "net/netip"

// Result is everything the tracker found, in the shape of the report's paths, nat, nodes and
// capture.points[].clock_offset_us (DESIGN.md 6.1), with indices where the report has ids:
// the caller numbers and names them. Slices are sorted by time, then index.
type Result struct {
	Clocks   []Clock   // one per capture point, indexed by point
	Segments []Segment // every (location, headers) seen; Link and Hop refer to them by index
	Paths    []Path
	Links    []Link
	Nodes    []Node
	NAT      []NATEntry
	// Duplicates are (up to 1000) packets that repeated an observation at the same location
	// with identical headers: neither hops nor retransmissions.
	Duplicates []PacketRef
	Stats      Stats
}

// PacketRef names one packet: input file index, capture point and 1-based packet number.
type PacketRef struct {
	Input  int
	Point  int
	Number uint64
}

// Segment is one way a packet looked at one location: a capture point, MAC pair and headers.
type Segment struct {
	Header
	Flow        uint32 // flow index of its first packet (NoFlow when none was given)
	Originator  bool   // its source started the conversation at this point
	Packets     uint64 // observations, duplicates included
	Duplicates  uint64
	First, Last int64 // raw capture times, ns
}

// Direction of a path relative to its conversation.
type Direction uint8

// Directions.
const (
	Forward Direction = iota // from the originator (client -> VIP)
	Return                   // back to the originator
)

func (d Direction) String() string {
	if d == Return {
		return "return"
	}
	return "forward"
}

// Hop is one observation of the journey at one location, in path order (DESIGN.md 6.1).
type Hop struct {
	Segment int // index into Result.Segments
	Header      // point, MACs, innermost tuple, tunnel (outer src/dst, VNI) when Depth > 0
	// Node made the transform (first hop: the sender; "none": the previous hop's node).
	Node      int
	Transform Transform // since the previous hop; TransformNone for the first
	Packets   uint64    // journeys that reached this hop on this path
	Latency   Latency   // from the previous hop, clock-corrected; invalid for the first hop
	// Lost counts packets seen at this hop and never at the next hop of this path within the
	// window: the journeys that ended here.
	Lost        uint64
	LostRef     PacketRef // one such packet, when Lost > 0
	Ref         PacketRef // the first packet seen at this hop on this path
	Flow        uint32
	TTL         uint8  // inner TTL of the first packet seen at this hop on this path
	Duplicates  uint64 // duplicates seen on this hop's segment (shared by paths through it)
	First, Last int64  // raw capture times, ns
}

// Path is a chain of hops one packet after another took, per direction. Distinct hop
// sequences are distinct paths: ECMP through two Muxes gives two paths. A journey that covers
// only part of a path (ended early, or was first captured later) is counted on the longest
// path containing it (the busiest when several do): where it ended is that path's loss.
type Path struct {
	Direction Direction
	Flows     []uint32 // flow indices of the hops, in hop order, without repeats
	Hops      []Hop
	DSR       bool // a return path skipping the Mux that encapsulated its forward path
	ICMPError bool // the path carries ICMP error messages (always a return path)
	// EndsEarly: every journey of this path stopped at its last hop while other paths to the
	// same destination went on from the same locations (e.g. dropped by a router after a
	// route withdrawal). Its last hop counts them all as lost.
	EndsEarly   bool
	Pair        int    // the path of the other direction of the same conversation, or -1
	Packets     uint64 // journeys on this path
	First, Last int64  // raw capture times of its first and last observation, ns
}

// Link is one flow-level link: a segment at one location to a segment at the next, with the
// transform between them, summed over every path that uses it.
type Link struct {
	From, To  int // segment indices
	Transform Transform
	Node      int // the node that made the transform
	Packets   uint64
	Latency   Latency
}

// Node is an endpoint or middlebox, identified by the MACs and addresses it used. Nodes are
// numbered in order of first appearance in Paths.
type Node struct {
	Addresses []netip.Addr
	MACs      [][6]byte
	Roles     Roles
}

// NATKind is the kind of a NAT mapping.
type NATKind uint8

// NAT kinds.
const (
	NATSource NATKind = iota // SNAT: inside = the original source, outside = the rewritten one
	NATDest                  // DNAT: inside = DIP:port, outside = the public VIP:port
	NATVIPDIP                // a host's decap+dnat: inside = DIP:port, outside = VIP:port
)

func (k NATKind) String() string {
	switch k {
	case NATDest:
		return "dnat"
	case NATVIPDIP:
		return "vip_dip"
	}
	return "snat"
}

// NATEntry is one mapping at one node; both directions of a conversation confirm one entry.
type NATEntry struct {
	Node            int
	Kind            NATKind
	Proto           uint8
	Inside, Outside netip.AddrPort
	First, Last     int64 // raw capture times, ns
	Packets         uint64
}
