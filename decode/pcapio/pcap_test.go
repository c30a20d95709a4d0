package pcapio

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stackflow/stackflow/internal/testenv"
)

// TestPcapRecords checks classic pcap framing for every byte order and resolution, and the
// header fields that reach Interfaces.
func TestPcapRecords(t *testing.T) {
	d1, d2 := payload(1, 60), payload(100, 33)
	for _, tc := range []struct {
		name       string
		big, nano  bool
		format     string
		wantT1     int64
		linkField  uint32
		wantLink   uint16
		wantPerSec uint64
	}{
		// Little-endian µs: the most common file; fractions are scaled by 1000.
		{name: "le-us", format: "pcap", wantT1: 1_600_000_000*1e9 + 123_456*1000, linkField: 1, wantLink: 1, wantPerSec: 1e6},
		// Big-endian µs: written by big-endian hosts (bytes a1 b2 c3 d4 on disk).
		{name: "be-us", big: true, format: "pcap", wantT1: 1_600_000_000*1e9 + 123_456*1000, linkField: 1, wantLink: 1, wantPerSec: 1e6},
		// Nanosecond magic: fractions are taken as they are.
		{name: "le-ns", nano: true, format: "pcap-ns", wantT1: 1_600_000_000*1e9 + 123_456, linkField: 113, wantLink: 113, wantPerSec: 1e9},
		{name: "be-ns", big: true, nano: true, format: "pcap-ns", wantT1: 1_600_000_000*1e9 + 123_456, linkField: 113, wantLink: 113, wantPerSec: 1e9},
		// The upper bits of the link-type field carry the FCS length; they are not link type.
		{name: "fcs-bits-masked", format: "pcap", wantT1: 1_600_000_000*1e9 + 123_456*1000, linkField: 0x2400_0001, wantLink: 1, wantPerSec: 1e6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := buildPcap(tc.big, tc.nano, tc.linkField, 65535,
				pcapRec{sec: 1_600_000_000, frac: 123_456, data: d1, origlen: 1514},
				pcapRec{sec: 1_600_000_001, frac: 0, data: d2})
			g, src, err := drainBytes(t, file)
			if err != nil {
				t.Fatal(err)
			}
			if src.Format() != tc.format {
				t.Errorf("Format %q, want %q", src.Format(), tc.format)
			}
			ifs := src.Interfaces()
			if len(ifs) != 1 || ifs[0].LinkType != tc.wantLink || ifs[0].SnapLen != 65535 || ifs[0].TSPerSecond != tc.wantPerSec {
				t.Errorf("Interfaces %+v", ifs)
			}
			if len(g.problems) != 0 || len(g.recs) != 2 {
				t.Fatalf("%d records, problems %v", len(g.recs), g.problems)
			}
			r1, r2 := g.recs[0], g.recs[1]
			if r1.Time != tc.wantT1 || r2.Time != 1_600_000_001*1e9 {
				t.Errorf("times %d %d, want %d %d", r1.Time, r2.Time, tc.wantT1, int64(1_600_000_001*1e9))
			}
			if !bytes.Equal(r1.Data, d1) || r1.CapLen != 60 || r1.OrigLen != 1514 || !bytes.Equal(r2.Data, d2) || r2.OrigLen != 33 {
				t.Errorf("records %+v / %+v", r1, r2)
			}
			if r1.Number != 1 || r2.Number != 2 || r1.Offset != 24 || r2.Offset != 24+16+60 {
				t.Errorf("numbers %d %d offsets %d %d", r1.Number, r2.Number, r1.Offset, r2.Offset)
			}
			if r1.Options != nil || r1.Interface != 0 {
				t.Errorf("classic record has options %v / interface %d", r1.Options, r1.Interface)
			}
		})
	}
}

// TestPcapDamage covers the damage a classic pcap reader must survive: what it delivers and
// the problems (kind, packet number, offset) it reports.
func TestPcapDamage(t *testing.T) {
	good := pcapRec{sec: 10, frac: 5, data: payload(7, 40)}
	full := buildPcap(false, false, 1, 65535, good, good)
	for _, tc := range []struct {
		name     string
		file     []byte
		opts     Options
		recs     int
		problems []Problem // Kind, Packet, Offset compared
	}{
		// The file ends inside the last record's data: the partial record is not a packet.
		{name: "truncated-data", file: full[:len(full)-3], recs: 1,
			problems: []Problem{{Kind: ProblemTruncated, Packet: 2, Offset: 24 + 56}}},
		// The file ends inside a record header.
		{name: "truncated-header", file: full[:24+56+7], recs: 1,
			problems: []Problem{{Kind: ProblemTruncated, Packet: 2, Offset: 24 + 56}}},
		// A length no capture has means the framing is lost: stop, even if bytes remain.
		{name: "absurd-caplen", file: buildPcap(false, false, 1, 65535, good, pcapRec{caplen: 300 << 20, data: payload(0, 64)}), recs: 1,
			problems: []Problem{{Kind: ProblemTruncated, Packet: 2, Offset: 24 + 56}}},
		// The limit is configurable; a record right above it stops the read.
		{name: "caplen-over-option-limit", file: full, opts: Options{MaxRecordSize: 39}, recs: 0,
			problems: []Problem{{Kind: ProblemTruncated, Packet: 1, Offset: 24}}},
		// A caplen within the limit but beyond the end of the file: cut short, and the buffer
		// must not be sized from the claim (checked by the fuzz target's memory too).
		{name: "caplen-beyond-file", file: buildPcap(false, false, 1, 65535, pcapRec{caplen: 200 << 20, data: payload(0, 10)}), recs: 0,
			problems: []Problem{{Kind: ProblemTruncated, Packet: 1, Offset: 24}}},
		// µs fraction of 1.5 s: delivered with the excess carried, and reported.
		{name: "bad-us-fraction", file: buildPcap(false, false, 1, 65535, pcapRec{sec: 10, frac: 1_500_000, data: payload(0, 4)}), recs: 1,
			problems: []Problem{{Kind: ProblemBadTimestamp, Packet: 1, Offset: 24}}},
		// caplen above the snap length is legal (tcpdump writes it): no problem at all.
		{name: "caplen-above-snaplen", file: buildPcap(false, false, 1, 16, good), recs: 1},
		// A header and nothing else is a valid empty capture.
		{name: "header-only", file: full[:24], recs: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, _, err := drainBytes(t, tc.file, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(g.recs) != tc.recs {
				t.Errorf("%d records, want %d", len(g.recs), tc.recs)
			}
			checkProblems(t, g.problems, tc.problems)
		})
	}
}

// checkProblems compares kinds, packet numbers and offsets, and that each names the input.
func checkProblems(t *testing.T, got, want []Problem) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("problems %v, want %d", got, len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Kind != w.Kind || g.Packet != w.Packet || g.Offset != w.Offset || g.File == "" || g.Message == "" {
			t.Errorf("problem %d: %+v, want kind %s packet %d offset %d", i, g, w.Kind, w.Packet, w.Offset)
		}
	}
}

// TestPcapBadFraction checks the carried time value itself for both resolutions.
func TestPcapBadFraction(t *testing.T) {
	for _, tc := range []struct {
		name string
		nano bool
		frac uint32
		want int64
	}{
		// 2.5e6 µs = 2.5 s: the time is 12.5 s, not a wrapped or clamped value.
		{name: "us", frac: 2_500_000, want: 12_500_000_000},
		// The largest fraction a 32-bit field holds, in ns: 4.294967295 s carried.
		{name: "ns-max", nano: true, frac: 0xffffffff, want: 10e9 + 4_294_967_295},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, _, err := drainBytes(t, buildPcap(true, tc.nano, 1, 0, pcapRec{sec: 10, frac: tc.frac, data: payload(0, 1)}))
			if err != nil {
				t.Fatal(err)
			}
			if len(g.recs) != 1 || g.recs[0].Time != tc.want || len(g.problems) != 1 {
				t.Fatalf("recs %+v problems %v, want time %d", g.recs, g.problems, tc.want)
			}
		})
	}
}

// TestPcapSwappedLengths: format versions before 2.3 stored origlen before caplen; 2.3 files
// exist both ways. libpcap swaps them back and so must we, or framing is lost.
func TestPcapSwappedLengths(t *testing.T) {
	data := payload(0, 20)
	for _, tc := range []struct {
		name         string
		minor        uint16
		caplenField  uint32
		origlenField uint32
		wantCap      uint32
		wantOrig     uint32
	}{
		// 2.2 always swapped: the first field is the wire length.
		{name: "v2.2", minor: 2, caplenField: 1000, origlenField: 20, wantCap: 20, wantOrig: 1000},
		// 2.3 swapped: caplen > origlen gives it away.
		{name: "v2.3-swapped", minor: 3, caplenField: 1000, origlenField: 20, wantCap: 20, wantOrig: 1000},
		// 2.3 in the modern order stays as it is.
		{name: "v2.3-modern", minor: 3, caplenField: 20, origlenField: 1000, wantCap: 20, wantOrig: 1000},
		// 2.4 is never swapped, even when caplen > origlen (then it is simply a bad record).
		{name: "v2.4", minor: 4, caplenField: 20, origlenField: 10, wantCap: 20, wantOrig: 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := buildPcap(false, false, 1, 0, pcapRec{caplen: tc.caplenField, origlen: tc.origlenField, data: data})
			file[6] = byte(tc.minor)
			g, _, err := drainBytes(t, file)
			if err != nil {
				t.Fatal(err)
			}
			if len(g.recs) != 1 || g.recs[0].CapLen != tc.wantCap || g.recs[0].OrigLen != tc.wantOrig || len(g.problems) != 0 {
				t.Fatalf("recs %+v problems %v", g.recs, g.problems)
			}
		})
	}
}

// TestRealDamagedCaptures pins the problems reported for the two public damaged files.
func TestRealDamagedCaptures(t *testing.T) {
	dir := testenv.CapturesOrSkip(t)
	for _, tc := range []struct {
		file     string
		recs     int
		problems []Problem
	}{
		// Packets 2 and 3 have ts_frac 1e9 and 2^31 (packet 1's is 999999999, valid): all
		// three are delivered, the two bad ones reported.
		{file: "bad-nanosecond-timestamp-overflow.pcap", recs: 3, problems: []Problem{
			{Kind: ProblemBadTimestamp, Packet: 2, Offset: 24 + 16 + 76},
			{Kind: ProblemBadTimestamp, Packet: 3, Offset: 24 + 2*(16+76)},
		}},
		// Version 2.0 (lengths swapped), a bad fraction, then a record the file cuts short.
		{file: "bad-truncated-mid-record.pcap", recs: 1, problems: []Problem{
			{Kind: ProblemBadTimestamp, Packet: 1, Offset: 24},
			{Kind: ProblemTruncated, Packet: 2, Offset: 24 + 16 + 197},
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join(dir, tc.file)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Skipf("%s absent: %v", path, err)
			}
			g, _, err := drainBytes(t, b)
			if err != nil {
				t.Fatal(err)
			}
			if len(g.recs) != tc.recs {
				t.Errorf("%d records, want %d", len(g.recs), tc.recs)
			}
			checkProblems(t, g.problems, tc.problems)
			for _, p := range g.problems {
				t.Log(p)
			}
		})
	}
}

// TestPcapHeaderCut: a pcap magic with fewer than 24 header bytes is a damaged header, not an
// empty capture and not "not a capture".
func TestPcapHeaderCut(t *testing.T) {
	_, _, err := drainBytes(t, buildPcap(false, false, 1, 0)[:10])
	if !errors.Is(err, ErrBadHeader) {
		t.Fatalf("err %v, want ErrBadHeader", err)
	}
}

// TestClaimedLengthMemory: a length field claiming 200 MiB in a tiny file must not make the
// reader allocate 200 MiB (the buffer grows with the bytes actually read).
func TestClaimedLengthMemory(t *testing.T) {
	w := &ngWriter{}
	w.shb(false)
	w.idb(1, 0)
	ng := append(w.b, 6, 0, 0, 0, 0, 0, 0, 0x0c, 0, 0, 0, 0) // EPB claiming 200 MiB
	for _, tc := range []struct {
		name string
		file []byte
	}{
		{name: "pcap", file: buildPcap(false, false, 1, 0, pcapRec{caplen: 200 << 20, data: payload(0, 100)})},
		{name: "pcapng", file: ng},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			g, _, err := drainBytes(t, tc.file)
			runtime.ReadMemStats(&after)
			if err != nil || len(g.problems) != 1 || g.problems[0].Kind != ProblemTruncated {
				t.Fatalf("err %v problems %v", err, g.problems)
			}
			if n := after.TotalAlloc - before.TotalAlloc; n > 8<<20 {
				t.Errorf("allocated %d bytes for a %d-byte file", n, len(tc.file))
			}
		})
	}
}
