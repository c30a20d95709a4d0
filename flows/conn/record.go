package conn

import (
	"crypto/sha1"
	"net/netip"
)

// MaxChildren is how many tunnelled flows an outer flow lists by id; Record.NChildren counts
// them all.
const MaxChildren = 4

// EndpointState is one side's TCP state as Zeek tracks it (TCP_INACTIVE ... TCP_RESET). Other
// protocols leave it Inactive; their conn_state follows from the packet counts.
type EndpointState uint8

// Endpoint states.
const (
	Inactive    EndpointState = iota // nothing seen yet, or only ACKs to a SYN
	SynSent                          // sent a SYN
	SynAckSent                       // sent a SYN-ACK as originator (odd)
	Partial                          // active without a handshake seen (mid-stream)
	Established                      // handshake seen from this side
	Closed                           // sent a FIN
	Reset                            // sent a RST
)

var endpointStateNames = [...]string{"inactive", "syn_sent", "syn_ack_sent", "partial", "established", "closed", "reset"}

// String names the state in snake case ("syn_sent").
func (s EndpointState) String() string {
	if int(s) < len(endpointStateNames) {
		return endpointStateNames[s]
	}
	return "unknown"
}

// FinishReason says why a flow left the table.
type FinishReason uint8

// Finish reasons.
const (
	StillActive FinishReason = iota // the record is a snapshot of an active flow
	IdleTimeout                     // no packet for its state's timeout (capture time)
	Evicted                         // the table was full (Config.MaxActive) and it was the oldest idle
	Reused                          // a new SYN with another sequence number reused a closed 5-tuple
	Flushed                         // end of input (Table.Flush)
)

var finishReasonNames = [...]string{"active", "idle_timeout", "evicted", "reused", "flushed"}

// String names the reason in snake case ("idle_timeout").
func (r FinishReason) String() string {
	if int(r) < len(finishReasonNames) {
		return finishReasonNames[r]
	}
	return "unknown"
}

// Endpoint holds one direction's counters: what the originator (Record.Orig) or the responder
// (Record.Resp) sent.
type Endpoint struct {
	Packets uint64
	// Bytes counts frame bytes on the wire (decode.Packet.Len), link and tunnel headers
	// included: what Wireshark's conversation table counts.
	Bytes uint64
	// IPBytes counts the IP total length stated in the flow's own IP header (decode.Packet.IPLen),
	// so snap length does not change it. Only flows keyed on the innermost IP header count it;
	// outer (tunnel) flows leave it 0 because decode.Packet carries no outer IP length.
	IPBytes uint64
	// Payload counts L4 payload bytes; for TCP only bytes that advanced the sequence space
	// (retransmissions excluded), as Zeek's orig_bytes/resp_bytes.
	Payload     uint64
	Retransmits uint32 // TCP segments with payload that did not advance the sequence space
	ZeroWindows uint32 // TCP zero-window advertisements (not with or after a RST, not after the peer's FIN)
	Resets      uint32 // TCP packets with RST
	State       EndpointState
}

// Record is one flow: its key, who originated it, per-direction counters, Zeek-style state and
// history, Community ID, handshake RTT and tunnel links. It holds no pointers, so a slice of
// them costs the garbage collector nothing; its size is documented in the package comment.
type Record struct {
	// Fields are ordered by how often Table.Update touches them: a packet's work stays within
	// as few cache lines as possible.
	Key Key
	// First and Last are the capture times (ns since the Unix epoch) of the first and latest packet.
	First, Last int64
	Orig, Resp  Endpoint
	// ID numbers flows from 1 in order of first appearance, across finished and active flows,
	// and never changes; 0 means "no flow". The report's "f<ID>" comes from it.
	ID     uint32
	HasRTT bool
	// Flipped is set when the originator was chosen by heuristic rather than by who sent first:
	// a SYN-ACK or an ICMP reply seen first, or a packet from a likely server port (history '^').
	Flipped bool
	Reason  FinishReason
	origLo  bool // the originator is the key's low side
	echo    bool // an ICMP echo flow: the ports hold the echo identifier
	hist    history
	// Parent is the outer flow that carried this flow's first tunnelled packet; Parent2 a
	// second, different one (typically the return direction's outer flow, whose UDP source
	// port hashes differently). Further carriers are not linked. 0 means none.
	Parent, Parent2 uint32
	// NChildren counts the flows this (outer) flow carried; Children lists the first MaxChildren.
	NChildren uint32
	Children  [MaxChildren]uint32
	cid       [sha1.Size]byte
	// RTT is the handshake round trip as seen at this point: SYN to the ACK that completes the
	// handshake. RTTResp is its first part, SYN to SYN-ACK (this point to the responder and
	// back); RTT-RTTResp is this point to the originator and back. Valid when HasRTT.
	RTT, RTTResp int64
}

// Src returns the originator's address.
func (r *Record) Src() netip.Addr {
	if r.origLo {
		a, _ := r.Key.Lo()
		return a
	}
	a, _ := r.Key.Hi()
	return a
}

// Dst returns the responder's address.
func (r *Record) Dst() netip.Addr {
	if r.origLo {
		a, _ := r.Key.Hi()
		return a
	}
	a, _ := r.Key.Lo()
	return a
}

// SrcPort returns the originator's port (ICMP: the echo identifier, or 0).
func (r *Record) SrcPort() uint16 {
	if r.origLo {
		return r.Key.loPort
	}
	return r.Key.hiPort
}

// DstPort returns the responder's port (ICMP: the echo identifier, or 0).
func (r *Record) DstPort() uint16 {
	if r.origLo {
		return r.Key.hiPort
	}
	return r.Key.loPort
}

// HasPorts reports whether SrcPort and DstPort mean something: TCP, UDP, SCTP, DCCP and UDP-Lite
// ports, or the identifier of an ICMP echo flow; false for other protocols and ICMP messages,
// and for portless fragments.
func (r *Record) HasPorts() bool {
	if r.Key.Portless() {
		return false
	}
	switch r.Key.proto {
	case ProtoTCP, ProtoUDP, ProtoSCTP, 33, 136:
		return true
	case ProtoICMP, ProtoICMPv6:
		return r.echo
	}
	return false
}

// Proto returns the IP protocol number.
func (r *Record) Proto() uint8 { return r.Key.proto }

// Point returns the capture point index.
func (r *Record) Point() int { return r.Key.Point() }

// VNI returns the carrying tunnel's VNI, and false outside a tunnel with a VNI.
func (r *Record) VNI() (uint32, bool) { return r.Key.VNI() }

// Packets returns the packets of both directions.
func (r *Record) Packets() uint64 { return r.Orig.Packets + r.Resp.Packets }

// Bytes returns the frame bytes of both directions.
func (r *Record) Bytes() uint64 { return r.Orig.Bytes + r.Resp.Bytes }

// Retransmits returns the retransmitted segments of both directions.
func (r *Record) Retransmits() uint32 { return r.Orig.Retransmits + r.Resp.Retransmits }

// ZeroWindows returns the zero-window advertisements of both directions.
func (r *Record) ZeroWindows() uint32 { return r.Orig.ZeroWindows + r.Resp.ZeroWindows }

// Resets returns the RST packets of both directions.
func (r *Record) Resets() uint32 { return r.Orig.Resets + r.Resp.Resets }

// History returns the Zeek-style history string (see history.go for the letters).
func (r *Record) History() string { return r.hist.String() }

// CommunityID returns the flow's Community ID v1, computed once from its first packet (for
// one-way ICMP messages it depends on that packet's direction, type and code).
func (r *Record) CommunityID() string { return FormatCommunityID(r.cid) }

// CommunityIDDigest returns the raw SHA-1 digest behind CommunityID.
func (r *Record) CommunityIDDigest() [sha1.Size]byte { return r.cid }

// TunnelParent returns the outer flow that first carried this flow, 0 when none.
func (r *Record) TunnelParent() uint32 { return r.Parent }

// TunnelChildren returns the ids of the first MaxChildren flows this flow carried.
func (r *Record) TunnelChildren() []uint32 {
	n := min(int(r.NChildren), MaxChildren)
	return r.Children[:n:n]
}

// StateCode returns Zeek's conn_state:
//
//	TCP: S0 SYN unanswered; S1 established, not closed; SF both sides closed (FIN);
//	     REJ SYN answered by RST; S2/S3 established, only the originator/responder closed;
//	     RSTO/RSTR established, the originator/responder reset; RSTOS0 the originator sent a
//	     SYN then a RST, nothing from the responder; RSTRH the responder sent a SYN-ACK then a
//	     RST, no SYN seen; SH/SHR the originator/responder sent a SYN or data then a FIN and
//	     the other side was silent; OTH anything else (e.g. mid-stream traffic without a close).
//	UDP: SF both sides sent; S0 only the originator; SHR only the responder (originator
//	     chosen by the server-port heuristic); OTH none.
//	ICMP and everything else: OTH, as in Zeek.
func (r *Record) StateCode() string {
	switch r.Key.proto {
	case ProtoTCP:
		return tcpConnState(r)
	case ProtoUDP:
		o, s := r.Orig.Packets > 0, r.Resp.Packets > 0
		switch {
		case o && s:
			return "SF"
		case o:
			return "S0"
		case s:
			return "SHR"
		}
	}
	return "OTH"
}

func tcpConnState(r *Record) string {
	os, rs := r.Orig.State, r.Resp.State
	oInactive := os == Inactive || os == Partial
	rInactive := rs == Inactive || rs == Partial
	switch {
	case rs == Reset:
		if os == SynSent || os == SynAckSent || (os == Reset && r.Orig.Payload == 0 && r.Resp.Payload == 0) {
			return "REJ"
		}
		if oInactive {
			return "RSTRH"
		}
		return "RSTR"
	case os == Reset:
		if rInactive {
			if matchRSTOS0(r.History()) {
				return "RSTOS0"
			}
			return "OTH"
		}
		return "RSTO"
	case os == Closed && rs == Closed:
		return "SF"
	case os == Closed:
		if rInactive {
			return "SH"
		}
		return "S2"
	case rs == Closed:
		if oInactive {
			return "SHR"
		}
		return "S3"
	case os == SynSent && rs == Inactive:
		return "S0"
	case os == Established && rs == Established:
		return "S1"
	}
	return "OTH"
}
