package conn

import (
	"encoding/binary"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/stackflow/stackflow/decode"
	"github.com/stackflow/stackflow/internal/testenv"
)

// The fuzz input is a config byte followed by 24-byte packet descriptions (see fuzzPacket).
// Seeds are real packets from the public captures re-encoded in that form, plus a handshake.
const fuzzRec = 24

var (
	fuzzV4 = [8]netip.Addr{}
	fuzzV6 = [8]netip.Addr{}
)

func init() {
	for i := range 8 {
		fuzzV4[i] = netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 1)})
		fuzzV6[i] = netip.AddrFrom16([16]byte{0xfd, 15: byte(i + 1)})
	}
}

// fuzzPacket decodes one description:
//
//	0 selector: bits 0-1 protocol (TCP, UDP, ICMP, GRE), 2 tunnelled, 3 point 1, 4 IPv6,
//	  5 first fragment, 6 later fragment, 7 VNI 0 instead of 5000
//	1 address indexes (src low 3 bits, dst bits 4-6)   2-5 ports   6 TCP flags
//	7-14 seq, ack   15-16 payload length   17-18 time step in ms (signed)   19 window (0 = zero)
//	20-21 ICMP type, code   22 IP id   23 outer source port
func fuzzPacket(b []byte, now *int64) *decode.Packet {
	sel := b[0]
	pool := &fuzzV4
	if sel&0x10 != 0 {
		pool = &fuzzV6
	}
	p := &decode.Packet{HasIP: true, Len: 100, CapLen: 100, IPLen: 86}
	p.Inner.Src, p.Inner.Dst = pool[b[1]&7], pool[(b[1]>>4)&7]
	p.Inner.SrcPort = binary.BigEndian.Uint16(b[2:])
	p.Inner.DstPort = binary.BigEndian.Uint16(b[4:])
	p.Inner.Proto = [4]uint8{ProtoTCP, ProtoUDP, ProtoICMP, 47}[sel&3]
	if sel&0x10 != 0 && p.Inner.Proto == ProtoICMP {
		p.Inner.Proto = ProtoICMPv6
	}
	p.TCPFlags = b[6]
	p.TCPSeq = binary.BigEndian.Uint32(b[7:])
	p.TCPAck = binary.BigEndian.Uint32(b[11:])
	p.PayloadLen = binary.BigEndian.Uint16(b[15:])
	*now += int64(int16(binary.BigEndian.Uint16(b[17:]))) * int64(time.Millisecond)
	p.Time = *now
	p.TCPWindow = uint16(b[19])
	p.ICMPType, p.ICMPCode = b[20], b[21]
	p.IPID = uint32(b[22])
	if sel&0x08 != 0 {
		p.Point = 1
	}
	switch {
	case sel&0x40 != 0:
		p.FragOffset = 1480
		p.Inner.SrcPort, p.Inner.DstPort = 0, 0
	case sel&0x20 != 0:
		p.MoreFrags = true
	}
	if sel&0x04 != 0 {
		vni := uint32(5000)
		if sel&0x80 != 0 {
			vni = 0
		}
		p.Tunnels[0] = decode.Tunnel{Type: decode.TunnelVXLAN, VNI: vni, HasVNI: true, Outer: decode.Tuple{
			Src: fuzzV4[b[1]&7], Dst: fuzzV4[(b[1]>>4)&7], SrcPort: 49152 + uint16(b[23]), DstPort: 4789, Proto: ProtoUDP}}
		p.NTunnels = 1
	}
	return p
}

// encodeFuzz writes p as a fuzz description (addresses folded into the pools).
func encodeFuzz(p *decode.Packet, prev int64, idx map[netip.Addr]byte) []byte {
	b := make([]byte, fuzzRec)
	switch p.Inner.Proto {
	case ProtoUDP:
		b[0] = 1
	case ProtoICMP, ProtoICMPv6:
		b[0] = 2
	case 47:
		b[0] = 3
	}
	if p.NTunnels > 0 {
		b[0] |= 0x04
	}
	if p.Inner.Src.Is6() {
		b[0] |= 0x10
	}
	if p.FragOffset > 0 {
		b[0] |= 0x40
	} else if p.MoreFrags {
		b[0] |= 0x20
	}
	for _, a := range []netip.Addr{p.Inner.Src, p.Inner.Dst} {
		if _, ok := idx[a]; !ok {
			idx[a] = byte(len(idx) & 7)
		}
	}
	b[1] = idx[p.Inner.Src] | idx[p.Inner.Dst]<<4
	binary.BigEndian.PutUint16(b[2:], p.Inner.SrcPort)
	binary.BigEndian.PutUint16(b[4:], p.Inner.DstPort)
	b[6] = p.TCPFlags
	binary.BigEndian.PutUint32(b[7:], p.TCPSeq)
	binary.BigEndian.PutUint32(b[11:], p.TCPAck)
	binary.BigEndian.PutUint16(b[15:], p.PayloadLen)
	step := max(min((p.Time-prev)/int64(time.Millisecond), 32767), -32768)
	binary.BigEndian.PutUint16(b[17:], uint16(int16(step)))
	b[19] = byte(min(p.TCPWindow, 255))
	b[20], b[21], b[22] = p.ICMPType, p.ICMPCode, byte(p.IPID)
	if p.NTunnels > 0 {
		b[23] = byte(p.Tunnels[0].Outer.SrcPort)
	}
	return b
}

func FuzzTable(f *testing.F) {
	seed := []byte{5}
	var now int64
	idx := map[netip.Addr]byte{}
	for _, p := range with(handshake(), seg(30*ms, cli, srv, "PA", 1001, 5001, 100), seg(40*ms, cli, srv, "FA", 1101, 5001, 0)) {
		seed = append(seed, encodeFuzz(p, now, idx)...)
		now = p.Time
	}
	f.Add(seed)
	if dir, err := testenv.Captures(); err == nil {
		for i, name := range []string{"vxlan-vlan-tls-vni1111.pcap", "nat-pnat-pair-original.pcap",
			"ipv6-fragmented-dns.pcap", "gre-ipv4-mixed.pcap"} {
			s := []byte{byte(i * 9)} // vary MaxActive and MaxFragments between seeds
			var prev int64
			idx := map[netip.Addr]byte{}
			eachPacket(f, filepath.Join(dir, name), 0, func(p *decode.Packet) {
				// Small seeds: Go's fuzzer stalls minimizing large inputs (golang/go#52569).
				if p.HasIP && len(s) < 1+40*fuzzRec {
					s = append(s, encodeFuzz(p, prev, idx)...)
					prev = p.Time
				}
			})
			f.Add(s)
		}
	}
	f.Fuzz(fuzzTable)
}

// fuzzTable runs one fuzz input through a table and checks its invariants.
func fuzzTable(t *testing.T, data []byte) {
	if len(data) < 1 {
		return
	}
	cfg := Config{
		MaxActive:     int(data[0] & 7),
		MaxFragments:  int(data[0]>>3&3) - 1, // -1 (none) .. 2
		SweepInterval: time.Duration(data[0]>>5+1) * 100 * time.Millisecond,
		Timeouts: Timeouts{TCPOpening: 2 * time.Second, TCPEstablished: 10 * time.Second,
			TCPClosed: time.Second, UDP: 3 * time.Second, ICMP: 2 * time.Second, Other: 3 * time.Second,
			Fragment: time.Second},
	}
	var finished []Record
	cfg.OnFinish = func(r *Record) { finished = append(finished, *r) }
	tb := NewTable(cfg)
	now := base
	var counted uint64
	for b := data[1:]; len(b) >= fuzzRec; b = b[fuzzRec:] {
		p := fuzzPacket(b, &now)
		in, out := tb.Update(p)
		st := tb.Stats()
		if uint64(in) > st.Created || uint64(out) > st.Created || (in != 0 && in == out) {
			t.Fatalf("ids (%d, %d) with %d flows created", in, out, st.Created)
		}
		if in != 0 {
			counted++
		}
		if out != 0 {
			counted++
		}
		if cfg.MaxActive > 0 && tb.Len() > cfg.MaxActive {
			t.Fatalf("%d active flows, MaxActive %d", tb.Len(), cfg.MaxActive)
		}
		if st.Created-st.Finished != uint64(tb.Len()) {
			t.Fatalf("created %d finished %d active %d", st.Created, st.Finished, tb.Len())
		}
	}
	tb.Flush()
	if tb.Len() != 0 {
		t.Fatalf("%d flows left after Flush", tb.Len())
	}
	var total uint64
	seen := map[uint32]bool{}
	for i := range finished {
		r := &finished[i]
		checkRecord(t, r)
		if seen[r.ID] {
			t.Fatalf("flow id %d finished twice", r.ID)
		}
		seen[r.ID] = true
		total += r.Packets()
		if _, ok := r.VNI(); ok && r.NChildren > 0 {
			t.Errorf("outer flow %d has a VNI", r.ID)
		}
	}
	if total != counted {
		t.Fatalf("records hold %d packets, Update returned %d flow ids", total, counted)
	}
}
