package conn

import (
	"testing"
	"time"

	"github.com/stackflow/stackflow/decode"
)

// handshake is SYN, SYN-ACK, ACK between cli (seq 1000) and srv (seq 5000).
func handshake() []*decode.Packet {
	return []*decode.Packet{
		seg(0, cli, srv, "S", 1000, 0, 0),
		seg(10*ms, srv, cli, "SA", 5000, 1001, 0),
		seg(20*ms, cli, srv, "A", 1001, 5001, 0),
	}
}

func with(ps []*decode.Packet, more ...*decode.Packet) []*decode.Packet {
	return append(append([]*decode.Packet{}, ps...), more...)
}

func TestZeekConnState(t *testing.T) {
	cases := []struct {
		name    string
		why     string
		pkts    []*decode.Packet
		state   string
		history string
		origCli bool // the originator is cli (else srv)
	}{
		{
			name: "SF", why: "a normal connection: handshake, data both ways, FIN both ways",
			pkts: with(handshake(),
				seg(30*ms, cli, srv, "PA", 1001, 5001, 100),
				seg(40*ms, srv, cli, "A", 5001, 1101, 0),
				seg(50*ms, srv, cli, "PA", 5001, 1101, 200),
				seg(60*ms, cli, srv, "A", 1101, 5201, 0),
				seg(70*ms, cli, srv, "FA", 1101, 5201, 0),
				seg(80*ms, srv, cli, "FA", 5201, 1102, 0),
				seg(90*ms, cli, srv, "A", 1102, 5202, 0)),
			state: "SF", history: "ShADadFf", origCli: true,
		},
		{
			name: "S0", why: "an unanswered SYN, retransmitted with the same sequence number (no second S)",
			pkts:  []*decode.Packet{seg(0, cli, srv, "S", 1000, 0, 0), seg(time.Second, cli, srv, "S", 1000, 0, 0)},
			state: "S0", history: "S", origCli: true,
		},
		{
			name: "S0-new-isn", why: "a second SYN with another ISN re-bases the sequence space: still one S, as in Zeek",
			pkts:  []*decode.Packet{seg(0, cli, srv, "S", 1000, 0, 0), seg(time.Second, cli, srv, "S", 9000, 0, 0)},
			state: "S0", history: "S", origCli: true,
		},
		{
			name: "REJ", why: "SYN answered by RST-ACK: port closed",
			pkts:  []*decode.Packet{seg(0, cli, srv, "S", 1000, 0, 0), seg(ms, srv, cli, "RA", 0, 1001, 0)},
			state: "REJ", history: "Sr", origCli: true,
		},
		{
			name: "RSTO", why: "established, then the originator resets",
			pkts:  with(handshake(), seg(30*ms, cli, srv, "R", 1001, 0, 0)),
			state: "RSTO", history: "ShAR", origCli: true,
		},
		{
			name: "RSTR", why: "established, then the responder resets",
			pkts:  with(handshake(), seg(30*ms, srv, cli, "R", 5001, 0, 0)),
			state: "RSTR", history: "ShAr", origCli: true,
		},
		{
			name: "RSTOS0", why: "SYN then RST from the originator, nothing from the responder",
			pkts:  []*decode.Packet{seg(0, cli, srv, "S", 1000, 0, 0), seg(ms, cli, srv, "R", 1001, 0, 0)},
			state: "RSTOS0", history: "SR", origCli: true,
		},
		{
			name: "RSTRH", why: "a SYN-ACK seen first flips the originator; the responder then resets",
			pkts:  []*decode.Packet{seg(0, srv, cli, "SA", 5000, 1001, 0), seg(ms, srv, cli, "R", 5001, 0, 0)},
			state: "RSTRH", history: "^hr", origCli: true,
		},
		{
			name: "SH", why: "SYN then FIN from the originator, the responder silent",
			pkts:  []*decode.Packet{seg(0, cli, srv, "S", 1000, 0, 0), seg(ms, cli, srv, "F", 1001, 0, 0)},
			state: "SH", history: "SF", origCli: true,
		},
		{
			name: "SHR", why: "SYN-ACK then FIN from the responder, the originator silent",
			pkts:  []*decode.Packet{seg(0, srv, cli, "SA", 5000, 1001, 0), seg(ms, srv, cli, "FA", 5001, 1001, 0)},
			state: "SHR", history: "^hf", origCli: true,
		},
		{
			name: "S1", why: "established, not closed",
			pkts:  handshake(),
			state: "S1", history: "ShA", origCli: true,
		},
		{
			name: "S1-synack-first", why: "the SYN was missed: SYN-ACK then the ACK still establish both sides",
			pkts:  []*decode.Packet{seg(0, srv, cli, "SA", 5000, 1001, 0), seg(ms, cli, srv, "A", 1001, 5001, 0)},
			state: "S1", history: "^hA", origCli: true,
		},
		{
			name: "S2", why: "established, only the originator closed",
			pkts:  with(handshake(), seg(30*ms, cli, srv, "FA", 1001, 5001, 0)),
			state: "S2", history: "ShAF", origCli: true,
		},
		{
			name: "S3", why: "established, only the responder closed",
			pkts:  with(handshake(), seg(30*ms, srv, cli, "FA", 5001, 1001, 0)),
			state: "S3", history: "ShAf", origCli: true,
		},
		{
			name: "OTH-midstream", why: "no handshake seen: both sides partial; the client (ephemeral port) sent first",
			pkts:  []*decode.Packet{seg(0, cli, srv, "PA", 1001, 5001, 10), seg(ms, srv, cli, "PA", 5001, 1011, 20)},
			state: "OTH", history: "Dd", origCli: true,
		},
		{
			name: "OTH-midstream-server-first", why: "a first packet from port 80 to an ephemeral port makes the receiver the originator",
			pkts:  []*decode.Packet{seg(0, srv, cli, "PA", 5001, 1001, 20), seg(ms, cli, srv, "PA", 1001, 5021, 10)},
			state: "OTH", history: "^dD", origCli: true,
		},
		{
			name: "FIN-RST-then-FIN-is-SF", why: "a FIN followed by a RST, then the peer's FIN: a normal close after all",
			pkts: with(handshake(),
				seg(30*ms, cli, srv, "FA", 1001, 5001, 0),
				seg(31*ms, cli, srv, "R", 1002, 0, 0),
				seg(40*ms, srv, cli, "FA", 5001, 1002, 0)),
			state: "SF", history: "ShAFRf", origCli: true,
		},
		{
			name: "RST-after-FIN", why: "the originator closed then reset while the responder was open: RSTO",
			pkts: with(handshake(),
				seg(30*ms, cli, srv, "FA", 1001, 5001, 0),
				seg(31*ms, cli, srv, "R", 1002, 0, 0)),
			state: "RSTO", history: "ShAFR", origCli: true,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := one(t, c.pkts...)
			if got := r.StateCode(); got != c.state {
				t.Errorf("state %s, want %s (%s); history %q", got, c.state, c.why, r.History())
			}
			if got := r.History(); got != c.history {
				t.Errorf("history %q, want %q (%s)", got, c.history, c.why)
			}
			wantSrc, _ := ap(srv)
			if c.origCli {
				wantSrc, _ = ap(cli)
			}
			if r.Src() != wantSrc {
				t.Errorf("originator %v, want %v (%s)", r.Src(), wantSrc, c.why)
			}
			if r.Flipped != (c.history != "" && c.history[0] == '^') {
				t.Errorf("Flipped %v with history %q", r.Flipped, c.history)
			}
		})
	}
}

func TestTCPHistoryLetters(t *testing.T) {
	retx := func(n int) []*decode.Packet {
		ps := with(handshake(), seg(30*ms, cli, srv, "PA", 1001, 5001, 100))
		for i := range n {
			ps = append(ps, seg(time.Duration(40+i)*ms, cli, srv, "PA", 1001, 5001, 100))
		}
		return ps
	}
	zero := seg(30*ms, srv, cli, "A", 5001, 1001, 0)
	zero.TCPWindow = 0
	cases := []struct {
		name    string
		why     string
		pkts    []*decode.Packet
		history string
		retx    uint32
		zw      uint32
		resets  uint32
	}{
		{"retransmission", "the same payload again is a retransmission: T once",
			retx(1), "ShADT", 1, 0, 0},
		{"retransmissions-scaled", "t repeats when the count reaches 10, not before",
			retx(10), "ShADTT", 10, 0, 0},
		{"nine-retransmissions", "9 retransmissions still show one T",
			retx(9), "ShADT", 9, 0, 0},
		{"zero-window", "a zero window from the responder is w, after its a",
			with(handshake(), zero), "ShAaw", 0, 1, 0},
		{"fin-retransmitted", "a FIN repeated at the same sequence number adds no letter",
			with(handshake(), seg(30*ms, cli, srv, "FA", 1001, 5001, 0), seg(330*ms, cli, srv, "FA", 1001, 5001, 0)),
			"ShAF", 0, 0, 0},
		{"rst-new-seq", "a RST at another sequence number repeats R",
			with(handshake(), seg(30*ms, cli, srv, "R", 1001, 0, 0), seg(31*ms, cli, srv, "R", 1501, 0, 0)),
			"ShARR", 0, 0, 2},
		{"rst-same-seq", "a RST repeated at the same sequence number does not",
			with(handshake(), seg(30*ms, cli, srv, "R", 1001, 0, 0), seg(31*ms, cli, srv, "R", 1001, 0, 0)),
			"ShAR", 0, 0, 2},
		{"syn-fin", "SYN with FIN is a multi-flag packet: Q",
			[]*decode.Packet{seg(0, cli, srv, "SF", 1000, 0, 0)}, "Q", 0, 0, 0},
		{"fin-rst", "FIN with RST is inconsistent: I",
			with(handshake(), seg(30*ms, cli, srv, "FRA", 1001, 5001, 0)), "ShAI", 0, 0, 1},
		{"keepalive", "a keep-alive (one byte below the next sequence number) counts as a retransmission, as in Zeek",
			with(handshake(), seg(30*ms, cli, srv, "A", 1000, 5001, 1)), "ShADT", 1, 0, 0},
		{"zero-window-on-rst", "a zero window on a RST is not counted",
			func() []*decode.Packet {
				r := seg(30*ms, srv, cli, "R", 5001, 0, 0)
				r.TCPWindow = 0
				return with(handshake(), r)
			}(), "ShAr", 0, 0, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := one(t, c.pkts...)
			if got := r.History(); got != c.history {
				t.Errorf("history %q, want %q (%s)", got, c.history, c.why)
			}
			if r.Retransmits() != c.retx || r.ZeroWindows() != c.zw || r.Resets() != c.resets {
				t.Errorf("retransmits %d zero windows %d resets %d, want %d %d %d (%s)",
					r.Retransmits(), r.ZeroWindows(), r.Resets(), c.retx, c.zw, c.resets, c.why)
			}
		})
	}
}

func TestPayloadExcludesRetransmissions(t *testing.T) {
	// Zeek's orig_bytes counts sequence space, so a retransmitted segment's bytes count once.
	r := one(t, with(handshake(),
		seg(30*ms, cli, srv, "PA", 1001, 5001, 100),
		seg(40*ms, cli, srv, "PA", 1001, 5001, 100),
		seg(50*ms, cli, srv, "PA", 1101, 5001, 50))...)
	if r.Orig.Payload != 150 || r.Orig.Packets != 5 || r.Orig.IPBytes != 40*5+250 {
		t.Errorf("orig payload %d packets %d ip bytes %d, want 150 5 450", r.Orig.Payload, r.Orig.Packets, r.Orig.IPBytes)
	}
}

func TestHandshakeRTT(t *testing.T) {
	cases := []struct {
		name         string
		why          string
		pkts         []*decode.Packet
		rtt, rttResp time.Duration
		has          bool
	}{
		{"clean", "SYN at 0, SYN-ACK at 10 ms, ACK at 20 ms", handshake(), 20 * ms, 10 * ms, true},
		{"syn-retransmitted", "the RTT starts at the SYN that was answered, not the first attempt",
			[]*decode.Packet{
				seg(0, cli, srv, "S", 1000, 0, 0),
				seg(time.Second, cli, srv, "S", 1000, 0, 0),
				seg(time.Second+7*ms, srv, cli, "SA", 5000, 1001, 0),
				seg(time.Second+9*ms, cli, srv, "A", 1001, 5001, 0),
			}, 9 * ms, 7 * ms, true},
		{"wrong-ack", "a SYN-ACK acknowledging another SYN does not time this one",
			[]*decode.Packet{
				seg(0, cli, srv, "S", 1000, 0, 0),
				seg(10*ms, srv, cli, "SA", 5000, 77, 0),
				seg(20*ms, cli, srv, "A", 1001, 5001, 0),
			}, 0, 0, false},
		{"no-syn", "without the SYN there is no RTT", []*decode.Packet{
			seg(0, srv, cli, "SA", 5000, 1001, 0), seg(ms, cli, srv, "A", 1001, 5001, 0)}, 0, 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := one(t, c.pkts...)
			if r.HasRTT != c.has || time.Duration(r.RTT) != c.rtt || time.Duration(r.RTTResp) != c.rttResp {
				t.Errorf("rtt %v (resp %v, has %v), want %v (%v, %v): %s",
					time.Duration(r.RTT), time.Duration(r.RTTResp), r.HasRTT, c.rtt, c.rttResp, c.has, c.why)
			}
		})
	}
}

func TestSamePacketAtTwoPoints(t *testing.T) {
	// Each capture point has its own flow, so seeing a segment at two points is not a
	// retransmission (Wireshark's false positive on merged multi-point captures).
	var ps []*decode.Packet
	for _, p := range with(handshake(), seg(30*ms, cli, srv, "PA", 1001, 5001, 100)) {
		for point := range 2 {
			q := *p
			q.Point = point
			q.Time += int64(point) * int64(50*time.Microsecond)
			ps = append(ps, &q)
		}
	}
	recs := run(t, Config{}, ps...)
	if len(recs) != 2 {
		t.Fatalf("got %d flows, want one per point: %s", len(recs), describe(recs))
	}
	for _, r := range recs {
		if r.Retransmits() != 0 || r.Packets() != 4 {
			t.Errorf("point %d: %d retransmissions, %d packets; want 0 and 4", r.Point(), r.Retransmits(), r.Packets())
		}
		if r.CommunityID() != recs[0].CommunityID() {
			t.Errorf("community id differs between points: %s vs %s", r.CommunityID(), recs[0].CommunityID())
		}
	}
}

func TestConnectionReuse(t *testing.T) {
	// A new SYN with another ISN on a closed 5-tuple is a new connection (Zeek's IsReuse),
	// even within the closed timeout; the old one finishes with reason Reused.
	ps := with(handshake(),
		seg(30*ms, cli, srv, "FA", 1001, 5001, 0),
		seg(40*ms, srv, cli, "FA", 5001, 1002, 0),
		seg(50*ms, cli, srv, "A", 1002, 5002, 0),
		seg(time.Second, cli, srv, "S", 777000, 0, 0))
	recs := run(t, Config{}, ps...)
	if len(recs) != 2 {
		t.Fatalf("got %d flows, want 2: %s", len(recs), describe(recs))
	}
	if recs[0].Reason != Reused || recs[0].StateCode() != "SF" || recs[1].StateCode() != "S0" {
		t.Errorf("got %s/%s and %s, want reused SF then S0", recs[0].Reason, recs[0].StateCode(), recs[1].StateCode())
	}
	// A retransmitted SYN of the same connection after close is not a reuse.
	recs = run(t, Config{}, with(ps[:6], seg(time.Second, cli, srv, "S", 1000, 0, 0))...)
	if len(recs) != 1 {
		t.Errorf("old SYN after close made %d flows, want 1", len(recs))
	}
}
