package bgp

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/stackflow/stackflow/internal/testenv"
)

// streamSeeds returns, per capture, the bytes each sender sent, concatenated in capture
// order (the seed captures are in order). Missing captures just give fewer seeds.
func streamSeeds() [][]byte {
	dir, err := testenv.Captures()
	if err != nil {
		return nil
	}
	var out [][]byte
	for _, name := range []string{"bgp-4byte-asn-session.pcap", "bgp-vpn-updates-split-across-segments.pcap",
		"bgp-mp-reach-ipv6-unicast.pcap", "bgp-route-refresh-soft-reset.pcap", "bgp-malformed-aspath-fuzzed.pcap",
		"bgp-5-updates-one-segment-large-community.pcap", "bgp-2byte-as-communities.pcap"} {
		byDir := map[netip.AddrPort][]byte{}
		var order []netip.AddrPort
		segs, err := readSegmentsFile(filepath.Join(dir, name))
		if err != nil {
			continue
		}
		for _, s := range segs {
			k := netip.AddrPortFrom(s.pkt.Inner.Src, s.pkt.Inner.SrcPort)
			if _, ok := byDir[k]; !ok {
				order = append(order, k)
			}
			byDir[k] = append(byDir[k], s.tcp.Payload...)
		}
		for _, k := range order {
			if b := byDir[k]; len(b) > 0 {
				out = append(out, b[:min(len(b), 8192)])
			}
		}
	}
	return out
}

// messageSeeds frames the seed streams into single messages.
func messageSeeds() [][]byte {
	var out [][]byte
	for _, s := range streamSeeds() {
		f := &framer{maxLen: MaxExtendedLen, resyncTo: MaxLen}
		f.unsync(syncStart)
		f.push(s)
		for {
			e, b, ok := f.next()
			if !ok {
				break
			}
			if e.kind == frameMessage {
				out = append(out, append([]byte(nil), b...))
			}
		}
	}
	return out
}

// referenceFrames is the obvious framing of an undamaged stream: headers back to back
// until the first one that is wrong or incomplete. It is the oracle for in-order delivery.
func referenceFrames(b []byte) (offs []int) {
	for i := 0; i+HeaderLen <= len(b); {
		for k := range markerLen {
			if b[i+k] != 0xff {
				return offs
			}
		}
		l := int(binary.BigEndian.Uint16(b[i+lenOffset:]))
		if l < HeaderLen || i+l > len(b) {
			return offs
		}
		offs = append(offs, i)
		i += l
	}
	return offs
}

// FuzzFraming chops a byte stream into segments, delivers them (in order, or shuffled,
// duplicated and with holes, depending on mode) and checks the assembler's invariants.
func FuzzFraming(f *testing.F) {
	for i, s := range streamSeeds() {
		f.Add(s, uint64(i), uint8(i))
	}
	f.Add(concat(keepalive(), sampleUpdate(), keepalive()), uint64(7), uint8(0))
	f.Add(concat(keepalive(), sampleUpdate(), keepalive()), uint64(9), uint8(3))
	f.Fuzz(runFraming)
}

func runFraming(t *testing.T, data []byte, seed uint64, mode uint8) {
	{
		rng := rand.New(rand.NewPCG(seed, 0x5eed))
		type piece struct{ from, to int }
		var pieces []piece
		for i := 0; i < len(data); {
			n := 1 + rng.IntN(96)
			pieces = append(pieces, piece{i, min(len(data), i+n)})
			i += n
		}
		inOrder := mode&1 == 0
		if !inOrder {
			for i := range pieces {
				switch rng.IntN(6) {
				case 0: // swap with the next
					if i+1 < len(pieces) {
						pieces[i], pieces[i+1] = pieces[i+1], pieces[i]
					}
				case 1: // duplicate
					pieces = append(pieces, pieces[i])
				case 2: // lose
					pieces[i] = piece{}
				}
			}
		}
		a := NewAssembler(Options{GapWait: 3 * time.Millisecond})
		c := newConv(a, int(mode>>4), rng.Uint32(), rng.Uint32())
		if mode&2 == 0 {
			c.handshake()
		}
		base := c.next[0]
		for _, p := range pieces {
			if p.to > p.from {
				c.seg(0, base+uint32(p.from), data[p.from:p.to], false, true, false)
			}
			if mode&4 != 0 {
				c.send(1, keepalive())
			}
		}
		a.Flush()
		msgs := a.Messages()
		if a.Counts().Total() != len(msgs) {
			t.Fatalf("counts %+v vs %d messages", a.Counts(), len(msgs))
		}
		for i := range msgs {
			m := &msgs[i]
			if m.Length < HeaderLen || m.Offset < 0 || m.Index != i {
				t.Fatalf("message %+v", m)
			}
			for _, r := range m.Routes() {
				if r.Net.IsValid() && r.Prefix != r.Net.String() {
					t.Fatalf("route prefix %q vs %v", r.Prefix, r.Net)
				}
				_ = r.ASPath.JSON()
			}
		}
		for _, s := range a.Sessions() {
			if s.Counts.Total() > len(msgs) {
				t.Fatalf("session counts %+v", s.Counts)
			}
		}
		for _, p := range a.Problems() {
			if p.Kind == "" || p.Message == "" {
				t.Fatalf("empty problem %+v", p)
			}
		}
		if inOrder && mode&2 == 0 {
			// Undamaged in-order delivery must frame exactly like the reference up to the
			// first bad header.
			want := referenceFrames(data)
			var got []int
			for _, m := range msgs {
				if m.Src == c.ep[0] {
					got = append(got, int(m.Offset))
				}
			}
			if len(got) < len(want) {
				t.Fatalf("framed %v, reference %v", got, want)
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("framed %v, reference %v", got, want)
				}
			}
		}
	}
}

// FuzzMessage runs one message through the parse path with both AS widths, unknown width,
// ADD-PATH on and extended messages, and checks it never panics and stays consistent.
func FuzzMessage(f *testing.F) {
	for _, m := range messageSeeds() {
		f.Add(m[typeOffset], m[HeaderLen:], uint8(0))
		f.Add(m[typeOffset], m[HeaderLen:], uint8(2))
	}
	f.Add(TypeUpdate, sampleUpdate()[HeaderLen:], uint8(4))
	f.Add(TypeOpen, open(65001, 90, "1.1.1.1", capAS4(70000), capAddPath(1, 1, 3))[HeaderLen:], uint8(0))
	f.Fuzz(func(t *testing.T, typ uint8, body []byte, opts uint8) {
		if len(body) > MaxExtendedLen-HeaderLen {
			return
		}
		raw := msg(typ, body)
		ctx := decodeContext{width: []uint8{0, 2, 4, 0}[opts&3], extended: opts&8 != 0}
		if opts&4 != 0 {
			ctx.addPath = addPathAll()
		}
		m := &Message{}
		decodeMessage(m, raw, &ctx)
		if m.Type != typ || m.Length != len(raw) {
			t.Fatalf("type %d length %d", m.Type, m.Length)
		}
		for _, r := range m.Routes() {
			if r.Net.IsValid() && (r.Net.Bits() > r.Net.Addr().BitLen() || r.Prefix != r.Net.String()) {
				t.Fatalf("route %+v", r)
			}
			_ = r.ASPath.JSON()
			_ = r.ASPath.String()
		}
		if m.Update != nil && m.Err == nil {
			if _, err := splitUpdate(body); err != nil {
				t.Fatalf("codec accepted what the raw walk rejects: %v", err)
			}
			if w := m.Update.ASWidth; w != 2 && w != 4 {
				t.Fatalf("width %d", w)
			}
		}
	})
}
