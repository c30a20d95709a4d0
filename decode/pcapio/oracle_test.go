package pcapio

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/stackflow/stackflow/internal/testenv"
)

// oracleRec is what an oracle says about one packet.
type oracleRec struct {
	ci       gopacket.CaptureInfo
	data     []byte
	linkType uint16
	ifName   string
	noLink   bool // the oracle (tshark) does not give LINKTYPE_* or interface names
}

// readOracle reads a file with gopacket's pcapgo (through testenv.ReadPcap: the classic Reader,
// or NgReader with mixed link types allowed). err is the error that ended the read early (nil
// at a clean end); it wraps testenv.ErrRefused when pcapgo would not open the file at all.
func readOracle(path string) ([]oracleRec, error) {
	pkts, err := testenv.ReadPcap(path)
	recs := make([]oracleRec, len(pkts))
	for i, p := range pkts {
		recs[i] = oracleRec{ci: p.Info, data: p.Data, linkType: uint16(p.LinkType), ifName: p.Interface}
	}
	return recs, err
}

// TestAgainstPcapgo reads every public capture with our framer and with pcapgo and compares
// them record by record. pcapgo is the oracle except where it stops early on damage: then the
// records before its error must agree and we must have reported a problem instead of an error.
func TestAgainstPcapgo(t *testing.T) {
	dir := testenv.CapturesOrSkip(t)
	files := captureFiles(t, dir)
	if len(files) == 0 {
		t.Skip("no capture files in " + dir)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			want, oerr := readOracle(path)
			if errors.Is(oerr, testenv.ErrRefused) {
				// pcapgo accepts only format version 2.4; libpcap and Wireshark read any 2.x
				// (before 2.3 with caplen and origlen swapped). tshark is the oracle then.
				t.Logf("%v; asking tshark", oerr)
				want, oerr = readTshark(t, path)
			}
			var problems []Problem
			src, err := Open(path, Options{OnProblem: func(p Problem) { problems = append(problems, p) }})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer src.Close()
			recs, err := drain(src)
			if err != nil {
				t.Fatalf("Next: %v", err)
			}
			if oerr != nil {
				// pcapgo gives up with an error on a cut-short file; we must have delivered the
				// same records before it and reported why we stopped.
				t.Logf("the oracle stopped after %d records: %v", len(want), oerr)
				if len(problems) == 0 {
					t.Errorf("pcapgo failed (%v) but we reported no problem", oerr)
				}
			} else {
				for _, p := range problems {
					// Carrying an out-of-range fraction is what pcapgo (time.Unix) does too.
					if p.Kind != ProblemBadTimestamp {
						t.Errorf("unexpected problem on a file pcapgo reads cleanly: %v", p)
					}
				}
			}
			if len(recs) != len(want) {
				t.Fatalf("got %d records, pcapgo %d", len(recs), len(want))
			}
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			ifaces := src.Interfaces()
			for i, r := range recs {
				// Offsets are what the TUI re-reads a packet by: the bytes there must be the
				// record's (after the 16-byte pcap header, or the 28 bytes before EPB data).
				at := r.Offset + 16
				if src.Format() == "pcapng" {
					at = r.Offset + 28
				}
				if end := at + int64(len(r.Data)); end > int64(len(raw)) || !bytes.Equal(raw[at:end], r.Data) {
					t.Errorf("record %d: the file's bytes at offset %d are not its data", i+1, r.Offset)
				}
				w := want[i]
				if r.Number != uint64(i+1) {
					t.Errorf("record %d: Number %d", i, r.Number)
				}
				if r.Time != w.ci.Timestamp.UnixNano() {
					t.Errorf("record %d: time %d, pcapgo %d", i+1, r.Time, w.ci.Timestamp.UnixNano())
				}
				if int(r.CapLen) != w.ci.CaptureLength || len(r.Data) != int(r.CapLen) {
					t.Errorf("record %d: caplen %d (data %d), pcapgo %d", i+1, r.CapLen, len(r.Data), w.ci.CaptureLength)
				}
				if int(r.OrigLen) != w.ci.Length {
					t.Errorf("record %d: origlen %d, pcapgo %d", i+1, r.OrigLen, w.ci.Length)
				}
				if !bytes.Equal(r.Data, w.data) {
					t.Errorf("record %d: data differs", i+1)
				}
				if r.Interface != w.ci.InterfaceIndex {
					t.Errorf("record %d: interface %d, pcapgo %d", i+1, r.Interface, w.ci.InterfaceIndex)
				}
				if r.Interface < 0 || r.Interface >= len(ifaces) {
					t.Fatalf("record %d: interface %d of %d", i+1, r.Interface, len(ifaces))
				}
				// pcapgo returns the classic header's link-type field unmasked; all these files
				// have zero upper bits, so the values must agree exactly.
				if w.noLink {
					continue
				}
				if lt := ifaces[r.Interface].LinkType; lt != w.linkType {
					t.Errorf("record %d: link type %d, pcapgo %d", i+1, lt, w.linkType)
				}
				if n := ifaces[r.Interface].Name; n != w.ifName {
					t.Errorf("record %d: interface name %q, pcapgo %q", i+1, n, w.ifName)
				}
			}
			// The next record offset must account for every byte: after a clean drain of an
			// uncompressed file the last record ends where the file ends.
			if oerr == nil && len(recs) > 0 {
				fi, err := os.Stat(path)
				if err != nil {
					t.Fatal(err)
				}
				if last := recs[len(recs)-1]; last.Offset <= 0 || last.Offset >= fi.Size() {
					t.Errorf("last record offset %d outside the %d-byte file", last.Offset, fi.Size())
				}
			}
		})
	}
}

// TestOracleErrorKinds pins what pcapgo's refusals look like, so that the exception above keeps
// covering only cut-short files.
func TestOracleErrorKinds(t *testing.T) {
	dir := testenv.CapturesOrSkip(t)
	path := filepath.Join(dir, "bad-truncated-mid-record.pcap")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("%s absent: %v", path, err)
	}
	_, oerr := readOracle(path)
	if !errors.Is(oerr, testenv.ErrRefused) {
		t.Errorf("pcapgo on a version 2.0 file: %v, want a refusal", oerr)
	}
	b, err := os.ReadFile(filepath.Join(dir, "vlan-8021q-http.pcap"))
	if err != nil {
		t.Skip(err)
	}
	// Cut the file inside its last record: pcapgo must fail with io.ErrUnexpectedEOF, the
	// error the comparison above treats as "cut short".
	r, err := pcapgo.NewReader(bytes.NewReader(b[:len(b)-5]))
	if err != nil {
		t.Fatal(err)
	}
	for {
		_, _, err = r.ReadPacketData()
		if err != nil {
			break
		}
	}
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("pcapgo on a cut-short file: %v, want io.ErrUnexpectedEOF", err)
	}
}

// readTshark asks tshark (the second oracle) for each frame's time, lengths, interface and raw
// bytes. A "cut short" complaint becomes io.ErrUnexpectedEOF. Skips when tshark is missing.
func readTshark(t *testing.T, path string) ([]oracleRec, error) {
	t.Helper()
	bin, err := exec.LookPath("tshark")
	if err != nil {
		t.Skipf("pcapgo refuses %s and tshark is not installed", path)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "-r", path, "-T", "json", "-x")
	cmd.Stderr = &stderr
	out, _ := cmd.Output() // exits non-zero on a cut-short file; the JSON is still complete
	var frames []struct {
		Source struct {
			Layers map[string]json.RawMessage `json:"layers"`
		} `json:"_source"`
	}
	if err := json.Unmarshal(out, &frames); err != nil {
		t.Fatalf("tshark output: %v (stderr %s)", err, stderr.String())
	}
	var recs []oracleRec
	for _, f := range frames {
		var frame map[string]any
		var raw []any
		if err := json.Unmarshal(f.Source.Layers["frame"], &frame); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(f.Source.Layers["frame_raw"], &raw); err != nil || len(raw) == 0 {
			t.Fatalf("tshark frame_raw: %v", err)
		}
		data, err := hex.DecodeString(raw[0].(string))
		if err != nil {
			t.Fatal(err)
		}
		str := func(k string) string { s, _ := frame[k].(string); return s }
		num := func(k string) int { n, _ := strconv.Atoi(str(k)); return n }
		ts, err := epochNanos(str("frame.time_epoch"))
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, oracleRec{
			ci: gopacket.CaptureInfo{
				Timestamp:      time.Unix(0, ts),
				CaptureLength:  num("frame.cap_len"),
				Length:         num("frame.len"),
				InterfaceIndex: num("frame.interface_id"),
			},
			data:   data,
			noLink: true,
		})
	}
	if strings.Contains(stderr.String(), "cut short") {
		return recs, io.ErrUnexpectedEOF
	}
	return recs, nil
}

// epochNanos parses tshark's "seconds.fraction". tshark prints an out-of-range nanosecond
// fraction as its raw value (more than 9 digits); that is carried into the seconds, as we do.
func epochNanos(s string) (int64, error) {
	secStr, fracStr, _ := strings.Cut(s, ".")
	sec, err := strconv.ParseInt(secStr, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("epoch %q: %w", s, err)
	}
	if len(fracStr) < 9 {
		fracStr += strings.Repeat("0", 9-len(fracStr))
	}
	frac, err := strconv.ParseInt(fracStr, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("epoch %q: %w", s, err)
	}
	return sec*1e9 + frac, nil
}
