// Package journey owns stackflow's hop correlation: it recognises the same packet at several
// capture points and locations (equal fingerprints within a time window), orders each packet's
// observations by causality, classifies the transform between consecutive observations (route,
// SNAT, DNAT, encapsulation, decapsulation and their combinations), estimates the clock offsets
// between capture points, and aggregates journeys into end-to-end paths per direction with
// per-hop packets, latency and loss, the NAT table, and the nodes with their roles
// (DESIGN.md sections 4 and 6.1).
//
// Use: NewTracker, then Observe every packet in timestamp order (MarkVIP/MarkBGP from the BGP
// stage whenever known), then Finish for the Result.
//
// Memory: per-packet state lives only in the window: a ring of 64-byte observations, whose
// first observation of each journey also holds the journey (a power-of-two capacity, so 64 to
// 128 bytes per pending observation), a fingerprint index of 8-byte slots (16 to 32 bytes per
// pending journey) and, for keys that several pending journeys share, a class index like it.
// All of it is bounded by Config.MaxPending and sized by the window, never by the file;
// Observe allocates nothing in steady state. Three capture points at 1M observations per
// second of capture time with a 1 s window hold about 72 MB there. What outlives the window
// is per segment (one flow direction at one location: 240 bytes in 1024-segment chunks, about
// 25 bytes of index, and about 70 bytes per conversation and point for its originator) and per
// path (72 bytes, plus 144 bytes per hop and a sparse latency histogram of 8 bytes per bucket
// in use): a flood of distinct 5-tuples costs about 550 bytes per flow until Finish, which
// then builds the Result.
//
// Choices made where the design leaves room:
//   - Journey membership: journeys are indexed by the header fingerprint (without the payload
//     hash, so copies cut by a short snap length still meet) and confirmed by the full one
//     where both payloads were hashed. An observation joins the newest pending journey it
//     agrees with unless its tuple is the exact reverse of one already in it (a reply with the
//     same invariant fields, e.g. a UDP echo with IP ID 0). Equal location (point + MAC pair),
//     headers and TTL make a duplicate: counted, kept as evidence, never a hop.
//   - Causal order: higher inner TTL first; among equal TTLs the encapsulation phase (plain
//     copy entering the tunnel, tunnelled copies, plain copy leaving it: decided by MAC
//     adjacency, then by the VIP->DIP rewrite, then by time); time (corrected by user-given
//     offsets) breaks the remaining ties. When even the corrected times are equal (a capture
//     and a tool-rewritten copy of it, e.g. tcprewrite's pseudo-NAT: same timestamps, same
//     MACs, same TTL) nothing observable orders the copies, so the order in which the capture
//     points were given does: a forward journey crosses them in that order, a return journey
//     in the reverse order. Both directions of a conversation thus mirror each other, and a
//     rewrite and its undoing are one NAT mapping; which side is "inside" follows from the
//     order the points were given (the later point is downstream of the client).
//   - Segments: the outer UDP source port of a tunnel is entropy and is not part of a
//     segment's identity; ERSPAN mirroring is capture transport, not encapsulation.
//   - Paths: a path is a distinct sequence of (segment, transform); ECMP through several Muxes
//     therefore gives several paths. A journey covering a contiguous part of a longer path is
//     folded into the busiest longest such path; where it stopped early is that hop's loss. A
//     conversation whose route is a strict prefix of another conversation's route to the same
//     destination "ends early": all its packets are lost at its last hop.
//   - Direction: at each capture point a conversation's originator is the sender of its TCP
//     SYN (the receiver of a SYN-ACK), else the side without the one well-known port (<1024),
//     else the first packet's sender; a path is forward when most of its hops leave the
//     originator. ICMP errors always travel back.
//   - Clock offsets: matched packets bound every point's offset (a packet never arrives before
//     it left), directly and through chains of points. Clocks are presumed synchronised while
//     the bounds allow it; otherwise the NTP-style midpoint of two-sided bounds, or the bound
//     itself when only one direction was seen (the link's minimum delay taken as 0). User-given
//     offsets override. A receiver whose clock runs ahead on a link seen only one way cannot be
//     told from latency: give its offset.
//   - Nodes are unions of MACs and addresses; the rules are on the identKind type. Two of
//     them matter on Windows SDN: the node that undoes a mapping on a conversation's return
//     path is the node that made it on the forward path (a Hyper-V host rewrites VIP->DIP on
//     its provider NIC and DIP->VIP on its uplink NIC: one host node, one vip_dip entry per
//     mapping), and a frame that kept its MAC pair across a rewrite crossed no box at layer 2,
//     so its MACs (the two ends') never name the rewriting node.
//   - DSR: a return path is DSR when its paired forward path was encapsulated by a node it
//     never crosses and its source becomes the VIP the forward path targeted; only the return
//     path carries the flag.
package journey
