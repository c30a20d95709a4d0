// Package conn owns the flow table: it turns decoded packets (decode.Packet) into bidirectional
// flows, Zeek-style connections, one per (canonical inner 5-tuple, VNI, capture point), with
// per-direction counters, the originator chosen as Zeek does, TCP endpoint states, Zeek's
// conn_state and history, the handshake RTT, retransmissions, zero windows and resets,
// Community ID v1, and tunnel links (each tunnel level is a flow; an inner flow records the
// outer flow that carried it, an outer flow the flows it carried). Flows expire on capture time
// and leave as compact Records, so memory follows the active flows, not the file.
package conn
