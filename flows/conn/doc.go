// Package conn owns the flow table: it turns decoded packets (decode.Packet) into bidirectional
// flows, Zeek-style connections, one per (canonical inner 5-tuple, VNI, capture point), with
// per-direction counters, the originator chosen as Zeek does, TCP endpoint states, Zeek's
// conn_state and history, the handshake RTT, retransmissions, zero windows and resets,
// Community ID v1, and tunnel links. Flows expire on capture time and leave as compact Records,
// so memory follows the active flows, not the file.
//
// # Flows and keys
//
// A Key is the canonical 5-tuple (lower address/port first), the VNI of the tunnel that carried
// the header (or none: VNI 0 is a real VNI) and the capture point. Each capture point has its
// own flows, so the same packet seen at two points is two observations, never a
// retransmission. A tunnelled packet updates one flow per IP header: the outermost tunnel
// header without VNI, each inner header keyed with the VNI of the tunnel around it. Each inner
// flow records the flow that carried it (Parent, and Parent2 for a second carrier such as the
// return direction's outer flow), each carrier the flows it carried (Children, NChildren).
// Tunnels whose VNI differs per direction (some Geneve deployments) therefore split a
// conversation into one flow per direction.
//
// Non-first IP fragments carry no ports: they join the flow of their datagram's first fragment
// when it was seen within Timeouts.Fragment (a bounded memory of Config.MaxFragments first
// fragments), else a portless flow of the address pair (Key.Portless).
//
// # Originator, state and history
//
// The originator is who sent first, except: a TCP SYN-ACK seen first makes its receiver the
// originator; a TCP segment without SYN, or a UDP datagram, from a likely server port (below
// 1024 or a common service port) to one that is not makes the receiver the originator (for TCP
// with both ports likely, the lower port is the server's); an ICMP echo (or other) reply seen
// first does the same. Such flows have Flipped set and history '^', as in Zeek.
//
// TCP endpoint states, conn_state and history follow Zeek's TCP analyzer (see Record.StateCode
// and history.go): history letters are uppercase for the originator and lowercase for the
// responder ("ShADadFf" is a clean connection), t and w repeat at counts 1, 10, 100, ... A
// retransmission is a segment with payload that does not advance the highest sequence number
// seen in its direction (keep-alives included, SYN and FIN repeats excluded, as in Zeek).
// UDP gets SF (both sides sent), S0 (originator only), SHR (responder only) and history D/d;
// ICMP and other protocols get OTH and no history, as in Zeek. A pure SYN with a new sequence
// number on a 5-tuple whose connection has closed or reset starts a new flow (Zeek's reuse
// rule). Not done: content gaps (g) and checksum errors (c), which need reassembly and
// checksum validation.
//
// Bytes counts frame bytes on the wire (as Wireshark's conversation table); IPBytes the IP
// total length of the flow's own header (inner flows only: decode.Packet has no outer IP
// length); Payload the new L4 payload bytes (Zeek's orig_bytes/resp_bytes).
//
// # Expiry and memory
//
// Idle timeouts are in capture time per class (DefaultTimeouts: closed TCP 5 s, TCP before the
// handshake 30 s, established TCP 1 h, UDP 60 s, ICMP 30 s, other 60 s), checked every
// SweepInterval of capture time through per-class queues (expire.go) and on lookup, so a packet
// after the timeout starts a new flow whatever the sweep timing. MaxActive bounds the active
// flows, evicting the one idle longest. A finished flow goes to Config.OnFinish, or is kept
// for Records and Drain.
//
// Memory (linux/amd64): a finished Record is 264 bytes and holds no pointers. An active flow
// is a 352-byte slot (the Record plus TCP bookkeeping) in a chunked arena, an 8-byte slot in the
// key index (index.go: open addressing, at most half full, so 8 to 16 bytes per flow) and a
// 24-byte queue entry: measured about 420 bytes of heap per active flow with a million active
// flows, 400 MiB peak heap for one million distinct 5-tuples all active (the queue's and the
// index's growth included). With expiry the heap tracks the active set: 2 million flows at
// 100k new flows per capture second and a 1 s timeout peaked at 98 MiB.
// Updating an existing flow does not allocate; a new flow allocates only amortised (arena
// chunks, index and queue growth).
package conn
