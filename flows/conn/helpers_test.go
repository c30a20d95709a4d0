package conn

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stackflow/stackflow/decode"
)

// base is an arbitrary capture start; tests give packet times as offsets from it.
var base = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC).UnixNano()

func ap(s string) (netip.Addr, uint16) {
	a := netip.MustParseAddrPort(s)
	return a.Addr(), a.Port()
}

// pkt builds a packet from src to dst ("ip:port") at offset at, with protocol proto.
func pkt(at time.Duration, proto uint8, src, dst string) *decode.Packet {
	sa, sp := ap(src)
	da, dp := ap(dst)
	p := &decode.Packet{
		Time:   base + int64(at),
		Len:    100,
		CapLen: 100,
		Inner:  decode.Tuple{Src: sa, Dst: da, SrcPort: sp, DstPort: dp, Proto: proto},
		HasIP:  true,
		IPLen:  86,
	}
	if sa.Is4() {
		p.IPVersion = 4
	} else {
		p.IPVersion = 6
	}
	return p
}

// tcpFlags parses "SA", "FA", "R", "PA", ... into TCP flag bits.
func tcpFlags(s string) uint8 {
	var f uint8
	for _, c := range s {
		switch c {
		case 'S':
			f |= decode.TCPSyn
		case 'A':
			f |= decode.TCPAck
		case 'F':
			f |= decode.TCPFin
		case 'R':
			f |= decode.TCPRst
		case 'P':
			f |= decode.TCPPsh
		}
	}
	return f
}

// seg builds a TCP segment with window 1000.
func seg(at time.Duration, src, dst, flags string, seq, ack uint32, plen int) *decode.Packet {
	p := pkt(at, ProtoTCP, src, dst)
	p.TCPFlags = tcpFlags(flags)
	p.TCPSeq, p.TCPAck = seq, ack
	p.PayloadLen = uint16(plen)
	p.TCPWindow = 1000
	p.IPLen = uint16(40 + plen)
	return p
}

func udp(at time.Duration, src, dst string, plen int) *decode.Packet {
	p := pkt(at, ProtoUDP, src, dst)
	p.PayloadLen = uint16(plen)
	p.IPLen = uint16(28 + plen)
	return p
}

func icmp(at time.Duration, v6 bool, src, dst string, typ, code uint8) *decode.Packet {
	proto := uint8(ProtoICMP)
	if v6 {
		proto = ProtoICMPv6
	}
	p := pkt(at, proto, src, dst)
	p.ICMPType, p.ICMPCode = typ, code
	return p
}

// run feeds packets through a new table with cfg, flushes it and returns every record.
func run(t *testing.T, cfg Config, ps ...*decode.Packet) []Record {
	t.Helper()
	tb := NewTable(cfg)
	for _, p := range ps {
		tb.Update(p)
	}
	tb.Flush()
	recs := tb.Records()
	for i := range recs {
		checkRecord(t, &recs[i])
	}
	return recs
}

// one runs packets that must form exactly one flow and returns it.
func one(t *testing.T, ps ...*decode.Packet) Record {
	t.Helper()
	recs := run(t, Config{}, ps...)
	if len(recs) != 1 {
		t.Fatalf("got %d flows, want 1: %v", len(recs), describe(recs))
	}
	return recs[0]
}

func describe(recs []Record) string {
	var b strings.Builder
	for i := range recs {
		r := &recs[i]
		b.WriteString(r.Key.String() + " " + r.StateCode() + " " + r.History() + "; ")
	}
	return b.String()
}

// checkRecord asserts invariants every record must keep.
func checkRecord(t *testing.T, r *Record) {
	t.Helper()
	if r.ID == 0 || !r.Key.Valid() {
		t.Errorf("record without id or key: %+v", r)
	}
	if r.Packets() == 0 {
		t.Errorf("flow %d has no packets", r.ID)
	}
	if r.First > r.Last {
		t.Errorf("flow %d: first %d after last %d", r.ID, r.First, r.Last)
	}
	switch r.StateCode() {
	case "S0", "S1", "SF", "REJ", "S2", "S3", "RSTO", "RSTR", "RSTOS0", "RSTRH", "SH", "SHR", "OTH":
	default:
		t.Errorf("flow %d: unknown state %q", r.ID, r.StateCode())
	}
	for _, c := range r.History() {
		if !strings.ContainsRune("^SHADFRIQTWshadfriqtw", c) {
			t.Errorf("flow %d: history %q has letter %q", r.ID, r.History(), c)
		}
	}
	if r.Key.proto != ProtoTCP && r.Retransmits()+r.ZeroWindows()+r.Resets() != 0 {
		t.Errorf("flow %d: TCP counters on protocol %d", r.ID, r.Key.proto)
	}
	if cid := r.CommunityID(); len(cid) != 30 || cid[:2] != "1:" {
		t.Errorf("flow %d: community id %q", r.ID, cid)
	}
	if r.Src() == r.Dst() && r.SrcPort() == r.DstPort() {
		return
	}
	lo, lp := r.Key.Lo()
	hi, hp := r.Key.Hi()
	if !((r.Src() == lo && r.SrcPort() == lp && r.Dst() == hi && r.DstPort() == hp) ||
		(r.Src() == hi && r.SrcPort() == hp && r.Dst() == lo && r.DstPort() == lp)) {
		t.Errorf("flow %d: endpoints %v:%d -> %v:%d do not match key %v", r.ID, r.Src(), r.SrcPort(), r.Dst(), r.DstPort(), r.Key)
	}
}

const (
	cli = "10.0.0.1:40000"
	srv = "10.0.0.2:80"
	ms  = time.Millisecond
)
