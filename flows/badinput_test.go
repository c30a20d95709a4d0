package flows

import (
	"testing"

	"github.com/stackflow/stackflow/internal/testenv"
)

// TestBadInputProblems analyses every damaged public capture: no panic, the packets before the
// damage kept, and each problem naming its file, packet and byte offset (DESIGN.md 6.1).
func TestBadInputProblems(t *testing.T) {
	cases := []struct {
		file    string
		packets int    // packets kept (tshark's count, MANIFEST.md)
		kind    string // a problem kind that must be reported
		packet  uint64 // ...for this packet
		offset  int64  // ...at this byte offset
	}{
		// Why: the file ends in the middle of the second record; the first packet is kept.
		{"bad-truncated-mid-record.pcap", 1, "truncated_record", 2, 237},
		// Why: fractional seconds >= 1e9 in a nanosecond file; packets kept, times carried.
		{"bad-nanosecond-timestamp-overflow.pcap", 3, "bad_timestamp", 2, 116},
		// Why: a valid header and no records is an empty capture, not damage.
		{"bad-empty-header-only.pcap", 0, "", 0, 0},
		// Why: fuzzer-made BGP: malformed UPDATEs are reported and the rest decoded.
		{"bgp-malformed-aspath-fuzzed.pcap", 4, "bgp_malformed", 1, 24},
		// Why: a snap length cuts nested tunnels short; counted once for the point.
		{"geneve-vxlan-dns-snaplen-truncated.pcap", 2, "snaplen", 1, 24},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			path := testenv.Capture(t, c.file)
			rep := analyzeFiles(t, path)
			if rep.Capture.Packets != c.packets {
				t.Errorf("packets = %d, want %d", rep.Capture.Packets, c.packets)
			}
			if c.kind == "" {
				if len(rep.Capture.Problems) != 0 {
					t.Errorf("problems on a valid empty capture: %+v", rep.Capture.Problems)
				}
				return
			}
			found := false
			for _, p := range rep.Capture.Problems {
				if p.File != path || p.Message == "" {
					t.Errorf("problem without its file or message: %+v", p)
				}
				if p.Kind == c.kind && p.Packet == c.packet && p.Offset == c.offset {
					found = true
				}
			}
			if !found {
				t.Errorf("no %s problem at packet %d, byte %d: %+v", c.kind, c.packet, c.offset, rep.Capture.Problems)
			}
		})
	}
}
