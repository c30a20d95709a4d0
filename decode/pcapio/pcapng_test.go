package pcapio

import (
	"bytes"
	"strings"
	"testing"
)

// TestPcapngBothByteOrders reads the same content written little- and big-endian: interface
// options, an EPB with flags and a comment kept raw, and a second interface at nanoseconds.
func TestPcapngBothByteOrders(t *testing.T) {
	for _, big := range []bool{false, true} {
		name := map[bool]string{false: "little-endian", true: "big-endian"}[big]
		t.Run(name, func(t *testing.T) {
			w := &ngWriter{}
			w.shb(big)
			w.idb(1, 262144, w.opt(optIfName, []byte("eth:7:0")), w.opt(optIfDescription, []byte("LWF over IfIndex 7")))
			w.idb(101, 0, w.opt(optIfName, []byte("raw0")), w.opt(optIfTSResol, []byte{9}))
			d1, d2 := payload(3, 61), payload(9, 8)
			bo := order(big)
			w.epb(0, 1_700_000_000_123_456, d1, w.opt(OptFlags, bo.AppendUint32(nil, 2)), w.opt(OptComment, []byte("PID=4 TID=8")))
			w.epb(1, 1_700_000_000_123_456_789, d2)
			g, src, err := drainBytes(t, w.b)
			if err != nil {
				t.Fatal(err)
			}
			if src.Format() != "pcapng" || len(g.problems) != 0 || len(g.recs) != 2 {
				t.Fatalf("format %s problems %v records %d", src.Format(), g.problems, len(g.recs))
			}
			ifs := src.Interfaces()
			want := []Interface{
				{Name: "eth:7:0", Description: "LWF over IfIndex 7", LinkType: 1, SnapLen: 262144, TSPerSecond: 1e6},
				{Name: "raw0", LinkType: 101, TSPerSecond: 1e9},
			}
			if len(ifs) != 2 || ifs[0] != want[0] || ifs[1] != want[1] {
				t.Errorf("interfaces %+v", ifs)
			}
			r1, r2 := g.recs[0], g.recs[1]
			if r1.Time != 1_700_000_000_123_456_000 || r2.Time != 1_700_000_000_123_456_789 {
				t.Errorf("times %d %d", r1.Time, r2.Time)
			}
			if !bytes.Equal(r1.Data, d1) || r1.CapLen != 61 || r1.OrigLen != 61 || r1.Interface != 0 || r2.Interface != 1 {
				t.Errorf("record 1 %+v", r1)
			}
			if r1.Flags != 2 || r2.Flags != 0 || r1.BigEndian != big {
				t.Errorf("flags %d %d bigEndian %v", r1.Flags, r2.Flags, r1.BigEndian)
			}
			if c := Comments(&r1); len(c) != 1 || c[0] != "PID=4 TID=8" {
				t.Errorf("comments %q", c)
			}
			if r2.Options != nil {
				t.Errorf("record without options has %x", r2.Options)
			}
			// SHB 28 bytes; IDBs 12+8+12+24+4=60 and 12+8+8+8+4=40; EPB1 12+20+64+8+16+4=124.
			if r1.Offset != 28+60+40 || r2.Offset != 28+60+40+124 || r1.Number != 1 || r2.Number != 2 {
				t.Errorf("offsets %d %d numbers %d %d", r1.Offset, r2.Offset, r1.Number, r2.Number)
			}
		})
	}
}

// TestPcapngTimestamps covers the if_tsresol forms and if_tsoffset.
func TestPcapngTimestamps(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   func(w *ngWriter) [][]byte
		ts     uint64
		want   int64
		perSec uint64
	}{
		// No if_tsresol: microseconds.
		{name: "default-us", opts: func(*ngWriter) [][]byte { return nil }, ts: 5_000_001, want: 5_000_001_000, perSec: 1e6},
		// 10^-3: milliseconds.
		{name: "pow10-ms", opts: func(w *ngWriter) [][]byte { return [][]byte{w.opt(optIfTSResol, []byte{3})} }, ts: 1234, want: 1_234_000_000, perSec: 1000},
		// 2^-20 (about µs, used by some hardware): 1.5 s is 1.5 * 2^20 units.
		{name: "pow2-20", opts: func(w *ngWriter) [][]byte { return [][]byte{w.opt(optIfTSResol, []byte{0x80 | 20})} }, ts: 3 << 19, want: 1_500_000_000, perSec: 1 << 20},
		// 2^-30 with a fraction that is not a whole number of ns: truncated toward zero.
		{name: "pow2-30-fraction", opts: func(w *ngWriter) [][]byte { return [][]byte{w.opt(optIfTSResol, []byte{0x80 | 30})} }, ts: 1<<30 + 3, want: 1_000_000_002, perSec: 1 << 30},
		// 10^-12 (picoseconds): frac*1e9 overflows 64 bits without the 128-bit path.
		{name: "pow10-ps", opts: func(w *ngWriter) [][]byte { return [][]byte{w.opt(optIfTSResol, []byte{12})} }, ts: 7_999_999_999_999, want: 7_999_999_999, perSec: 1e12},
		// if_tsoffset adds whole seconds to every timestamp of the interface.
		{name: "tsoffset", opts: func(w *ngWriter) [][]byte {
			return [][]byte{w.opt(optIfTSOffset, w.bo().AppendUint64(nil, 1_000_000_000))}
		}, ts: 2_000_000, want: 1_000_000_002 * 1e9, perSec: 1e6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &ngWriter{}
			w.shb(false)
			w.idb(1, 0, tc.opts(w)...)
			w.epb(0, tc.ts, payload(0, 14))
			g, src, err := drainBytes(t, w.b)
			if err != nil {
				t.Fatal(err)
			}
			if len(g.recs) != 1 || len(g.problems) != 0 {
				t.Fatalf("records %d problems %v", len(g.recs), g.problems)
			}
			if g.recs[0].Time != tc.want || src.Interfaces()[0].TSPerSecond != tc.perSec {
				t.Errorf("time %d per-second %d, want %d %d", g.recs[0].Time, src.Interfaces()[0].TSPerSecond, tc.want, tc.perSec)
			}
		})
	}
}

// TestPcapngPacketBlocks covers Simple Packet Blocks, obsolete Packet Blocks and skipped
// block types.
func TestPcapngPacketBlocks(t *testing.T) {
	w := &ngWriter{}
	w.shb(false)
	// Snap 64: an SPB's captured length is cut to it.
	w.idb(1, 64)
	// Name resolution block: skipped.
	w.block(4, []byte{1, 0, 4, 0, 10, 0, 0, 1, 'a', 'b', 'c', 0, 0, 0, 0, 0})
	w.epb(0, 2_000_000, payload(0, 20))
	// 100 bytes stored, snap 64 wins.
	w.spb(1500, payload(50, 100))
	// origlen 10 < 12 bytes stored (padding): origlen wins.
	w.spb(10, payload(60, 12))
	// Interface statistics and a custom block: skipped.
	w.block(5, make([]byte, 24))
	w.block(0x40000bad, []byte("custom block"))
	w.packet(blockPB, 0, 3_000_000, payload(70, 30), 40, w.opt(OptFlags, w.bo().AppendUint32(nil, 1)))
	g, _, err := drainBytes(t, w.b)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.problems) != 0 || len(g.recs) != 4 {
		t.Fatalf("records %d problems %v", len(g.recs), g.problems)
	}
	spb1, spb2, pb := g.recs[1], g.recs[2], g.recs[3]
	// SPBs have no time: they take the previous packet's.
	if spb1.Time != 2e9 || spb2.Time != 2e9 {
		t.Errorf("SPB times %d %d", spb1.Time, spb2.Time)
	}
	if spb1.CapLen != 64 || spb1.OrigLen != 1500 || !bytes.Equal(spb1.Data, payload(50, 64)) {
		t.Errorf("SPB 1 %+v", spb1)
	}
	if spb2.CapLen != 10 || spb2.OrigLen != 10 || !bytes.Equal(spb2.Data, payload(60, 10)) {
		t.Errorf("SPB 2 %+v", spb2)
	}
	if pb.Time != 3e9 || pb.CapLen != 30 || pb.OrigLen != 40 || pb.Flags != 1 || !bytes.Equal(pb.Data, payload(70, 30)) || pb.Number != 4 {
		t.Errorf("PB %+v", pb)
	}
}

// TestPcapngSections: interface ids restart in each section (which may switch byte order);
// Record.Interface must stay unique across the file.
func TestPcapngSections(t *testing.T) {
	w := &ngWriter{}
	w.shb(false)
	w.idb(1, 0, w.opt(optIfName, []byte("a0")))
	w.idb(1, 0, w.opt(optIfName, []byte("a1")))
	w.epb(1, 1, payload(0, 4))
	w.shb(true)
	w.idb(113, 0, w.opt(optIfName, []byte("b0")))
	w.epb(0, 2, payload(1, 4))
	w.epb(1, 3, payload(2, 4)) // section 2 has only one interface: reported and skipped
	w.shb(false)
	w.idb(12, 0, w.opt(optIfName, []byte("c0")))
	w.spb(4, payload(3, 4))
	g, src, err := drainBytes(t, w.b)
	if err != nil {
		t.Fatal(err)
	}
	var ifaces []int
	for _, r := range g.recs {
		ifaces = append(ifaces, r.Interface)
	}
	if len(g.recs) != 3 || ifaces[0] != 1 || ifaces[1] != 2 || ifaces[2] != 3 {
		t.Fatalf("interfaces of records %v", ifaces)
	}
	names := ""
	for _, i := range src.Interfaces() {
		names += i.Name + " "
	}
	if names != "a0 a1 b0 c0 " || src.Interfaces()[2].LinkType != 113 {
		t.Errorf("interfaces %+v", src.Interfaces())
	}
	if !g.recs[1].BigEndian || g.recs[0].BigEndian {
		t.Errorf("byte order not tracked per section")
	}
	checkProblems(t, g.problems, []Problem{{Kind: ProblemBadInterface, Packet: 3, Offset: int64(bytes.Index(w.b, payload(2, 4))) - 28}})
}

// TestPcapngDamage covers broken framing (stop), bad content (skip) and a cut-short file.
func TestPcapngDamage(t *testing.T) {
	// start returns a section with one interface and one good packet, and that prefix's length.
	start := func() (*ngWriter, int64) {
		w := &ngWriter{}
		w.shb(false)
		w.idb(1, 0)
		w.epb(0, 1, payload(0, 16))
		return w, int64(len(w.b))
	}
	for _, tc := range []struct {
		name     string
		build    func() ([]byte, int64) // file, offset of the damaged block
		recs     int
		kind     string
		number   uint64
		moreRecs bool   // reading continued past the damage
		msgHas   string // the message quotes the offending values
	}{
		// Length not a multiple of 4: the next block cannot be found.
		{name: "length-not-multiple-of-4", build: func() ([]byte, int64) {
			w, at := start()
			w.epb(0, 2, payload(0, 8))
			w.b[at+4]++
			return w.b, at
		}, recs: 1, kind: ProblemBadBlock, number: 2, msgHas: "length 41"},
		// Length below the 12-byte minimum.
		{name: "length-below-12", build: func() ([]byte, int64) {
			w, at := start()
			w.b = append(w.b, 6, 0, 0, 0, 8, 0, 0, 0, 8, 0, 0, 0)
			return w.b, at
		}, recs: 1, kind: ProblemBadBlock, number: 2},
		// The trailing copy of the length disagrees with the leading one.
		{name: "trailing-length-mismatch", build: func() ([]byte, int64) {
			w, at := start()
			w.epb(0, 2, payload(0, 8))
			w.b[len(w.b)-4] += 4
			return w.b, at
		}, recs: 1, kind: ProblemBadBlock, number: 2},
		// A later section header with no valid byte-order magic.
		{name: "bad-byte-order-magic", build: func() ([]byte, int64) {
			w, at := start()
			w.shb(false)
			w.b[at+8] = 0x99
			return w.b, at
		}, recs: 1, kind: ProblemBadBlock, number: 2},
		// A later section of an unknown major version must not be read.
		{name: "unsupported-version", build: func() ([]byte, int64) {
			w, at := start()
			w.shb(false)
			w.b[at+12] = 2
			return w.b, at
		}, recs: 1, kind: ProblemBadBlock, number: 2},
		// The file ends inside the last block.
		{name: "truncated-last-block", build: func() ([]byte, int64) {
			w, at := start()
			w.epb(0, 2, payload(0, 100))
			return w.b[:len(w.b)-50], at
		}, recs: 1, kind: ProblemTruncated, number: 2, msgHas: "block needs 132 bytes"},
		// The file ends inside a block header.
		{name: "truncated-block-header", build: func() ([]byte, int64) {
			w, at := start()
			w.epb(0, 2, payload(0, 100))
			return w.b[:at+6], at
		}, recs: 1, kind: ProblemTruncated, number: 2},
		// An EPB naming an interface nobody defined: skipped, reading goes on.
		{name: "undefined-interface", build: func() ([]byte, int64) {
			w, at := start()
			w.epb(5, 2, payload(0, 8))
			w.epb(0, 3, payload(0, 8))
			return w.b, at
		}, recs: 2, kind: ProblemBadInterface, number: 2, moreRecs: true},
		// An EPB whose caplen runs past its block: framing is intact, so skip it.
		{name: "caplen-beyond-block", build: func() ([]byte, int64) {
			w, at := start()
			w.epb(0, 2, payload(0, 8))
			w.b[at+8+12] = 200
			w.epb(0, 3, payload(0, 8))
			return w.b, at
		}, recs: 2, kind: ProblemBadRecord, number: 2, moreRecs: true},
		// An EPB whose options run past the block: the packet is kept, the damage reported.
		{name: "malformed-epb-options", build: func() ([]byte, int64) {
			w, at := start()
			o := w.opt(OptComment, []byte("abcd"))
			o[2] = 40
			w.epb(0, 2, payload(0, 8), o)
			return w.b, at
		}, recs: 2, kind: ProblemBadOption, number: 2, moreRecs: true},
		// An if_tsresol beyond 64-bit timestamps: reported, microseconds assumed.
		{name: "tsresol-too-fine", build: func() ([]byte, int64) {
			w, at := start()
			w.idb(1, 0, w.opt(optIfTSResol, []byte{0x80 | 64}))
			w.epb(1, 5, payload(0, 8))
			return w.b, at
		}, recs: 2, kind: ProblemBadOption, number: 2, moreRecs: true},
		// An IDB too short for its fixed fields: later packets cannot be attributed.
		{name: "short-idb", build: func() ([]byte, int64) {
			w, at := start()
			w.block(blockIDB, []byte{1, 0, 0, 0})
			return w.b, at
		}, recs: 1, kind: ProblemBadBlock, number: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file, at := tc.build()
			g, _, err := drainBytes(t, file)
			if err != nil {
				t.Fatal(err)
			}
			if len(g.recs) != tc.recs {
				t.Errorf("%d records, want %d", len(g.recs), tc.recs)
			}
			checkProblems(t, g.problems, []Problem{{Kind: tc.kind, Packet: tc.number, Offset: at}})
			if !strings.Contains(g.problems[0].Message, tc.msgHas) {
				t.Errorf("message %q lacks %q", g.problems[0].Message, tc.msgHas)
			}
			if tc.moreRecs && len(g.recs) > 1 && g.recs[1].Number != 2 {
				t.Errorf("record after the damage numbered %d", g.recs[1].Number)
			}
		})
	}
}

// TestPcapngHeaderErrors: damage in the first section header makes the input unreadable.
func TestPcapngHeaderErrors(t *testing.T) {
	w := &ngWriter{}
	w.shb(false)
	for _, tc := range []struct {
		name string
		file []byte
	}{
		// Only the magic and part of the length.
		{name: "cut-short", file: w.b[:6]},
		// Byte-order magic missing.
		{name: "bad-bom", file: append(append([]byte{}, w.b[:8]...), 1, 2, 3, 4)},
		// The whole block is there but its trailing length is wrong.
		{name: "trailer", file: append(append([]byte{}, w.b[:len(w.b)-4]...), 0, 0, 0, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := drainBytes(t, tc.file); err == nil || !errorsIsBadHeader(err) {
				t.Errorf("err %v, want ErrBadHeader", err)
			}
		})
	}
}
