package pcapio

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestOpenErrors checks that each way an input can be unusable is distinguishable with
// errors.Is / errors.As, as the CLI's exit codes need.
func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pcapHdr := buildPcap(false, false, 1, 0)
	for _, tc := range []struct {
		name    string
		path    string
		is      error
		msgHas  string
		pathErr bool
	}{
		// Missing file: the fs error, wrapped.
		{name: "missing", path: filepath.Join(dir, "nope.pcap"), is: fs.ErrNotExist, pathErr: true},
		// A directory opens fine on Linux; it must still be refused up front.
		{name: "directory", path: dir, is: syscall.EISDIR, pathErr: true},
		// Zero bytes: its own error (reported differently from garbage).
		{name: "empty", path: write("empty.pcap", nil), is: ErrEmpty},
		// A gzip stream that decompresses to nothing is just as empty.
		{name: "empty-gzip", path: write("empty.pcap.gz", gz(t, nil)), is: ErrEmpty},
		// Text: the message quotes the first 4 bytes in hex.
		{name: "not-capture", path: write("notes.txt", []byte("hello world")), is: ErrNotCapture, msgHas: "68656c6c"},
		// Shorter than a magic.
		{name: "two-bytes", path: write("two", []byte{0xa1, 0xb2}), is: ErrNotCapture, msgHas: "a1b2"},
		// gzip of something that is not a capture.
		{name: "gzip-of-text", path: write("t.gz", gz(t, []byte("plain text"))), is: ErrNotCapture, msgHas: "706c6169"},
		// The gzip magic followed by junk.
		{name: "broken-gzip-header", path: write("b.gz", []byte{0x1f, 0x8b, 0, 0, 0}), is: ErrNotCapture},
		// A pcap magic whose header is cut short.
		{name: "cut-header", path: write("cut.pcap", pcapHdr[:20]), is: ErrBadHeader},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, err := Open(tc.path, Options{})
			if err == nil {
				src.Close()
				t.Fatal("Open succeeded")
			}
			if !errors.Is(err, tc.is) {
				t.Errorf("err %v, want errors.Is %v", err, tc.is)
			}
			var pe *fs.PathError
			if errors.As(err, &pe) != tc.pathErr {
				t.Errorf("err %v: *fs.PathError %v, want %v", err, !tc.pathErr, tc.pathErr)
			}
			if !strings.Contains(err.Error(), tc.msgHas) {
				t.Errorf("err %q lacks %q", err, tc.msgHas)
			}
			for _, other := range []error{ErrEmpty, ErrNotCapture, ErrBadHeader} {
				if other != tc.is && errors.Is(err, other) {
					t.Errorf("err %v also matches %v", err, other)
				}
			}
		})
	}
}

// TestOpenUnreadable: a file without read permission gives the fs error. Root reads anything,
// so the case cannot be built then.
func TestOpenUnreadable(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("running as root: permission bits do not stop reads")
	}
	p := filepath.Join(t.TempDir(), "secret.pcap")
	if err := os.WriteFile(p, buildPcap(false, false, 1, 0), 0o000); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(p, Options{}); !errors.Is(err, fs.ErrPermission) {
		t.Fatalf("err %v, want fs.ErrPermission", err)
	}
}

// TestGzip: each format gzipped reads the same records, offsets count decompressed bytes,
// and the format name gains ".gz".
func TestGzip(t *testing.T) {
	w := &ngWriter{}
	w.shb(true)
	w.idb(1, 0)
	w.epb(0, 7, payload(1, 30))
	w.epb(0, 8, payload(2, 31))
	for _, tc := range []struct {
		name   string
		plain  []byte
		format string
	}{
		{name: "pcap", plain: buildPcap(false, false, 1, 0, pcapRec{sec: 1, data: payload(0, 50)}, pcapRec{sec: 2, data: payload(5, 51)}), format: "pcap.gz"},
		{name: "pcap-ns", plain: buildPcap(true, true, 1, 0, pcapRec{sec: 1, data: payload(0, 50)}), format: "pcap-ns.gz"},
		{name: "pcapng", plain: w.b, format: "pcapng.gz"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, _, err := drainBytes(t, tc.plain)
			if err != nil {
				t.Fatal(err)
			}
			g, src, err := drainBytes(t, gz(t, tc.plain))
			if err != nil {
				t.Fatal(err)
			}
			if src.Format() != tc.format {
				t.Errorf("format %q, want %q", src.Format(), tc.format)
			}
			if len(g.recs) != len(want.recs) || len(g.recs) == 0 {
				t.Fatalf("%d records, want %d", len(g.recs), len(want.recs))
			}
			for i := range g.recs {
				a, b := g.recs[i], want.recs[i]
				if a.Offset != b.Offset || a.Time != b.Time || !bytes.Equal(a.Data, b.Data) {
					t.Errorf("record %d: %+v vs plain %+v", i, a, b)
				}
			}
		})
	}
}

// TestGzipDamage: a cut or corrupted gzip stream ends the input with a problem, never a panic
// or an error from Next.
func TestGzipDamage(t *testing.T) {
	var recs []pcapRec
	for i := range 200 {
		recs = append(recs, pcapRec{sec: uint32(i), data: payload(byte(i), 100+i%50)})
	}
	z := gz(t, buildPcap(false, false, 1, 0, recs...))
	corrupt := bytes.Clone(z)
	for i := len(corrupt) / 2; i < len(corrupt)/2+40; i++ {
		corrupt[i] ^= 0x5a
	}
	badCRC := bytes.Clone(z)
	badCRC[len(badCRC)-8] ^= 1
	for _, tc := range []struct {
		name    string
		file    []byte
		kinds   []string
		allRecs bool
	}{
		// Cut in the middle of the compressed data: the input ends early.
		{name: "cut", file: z[:len(z)/2], kinds: []string{ProblemTruncated}},
		// Flipped bytes: deflate fails, or inflates garbage whose lengths break the framing.
		{name: "corrupt", file: corrupt, kinds: []string{ProblemReadError, ProblemTruncated}},
		// A wrong CRC is only known at the very end: every record arrives, then a read error.
		{name: "bad-crc", file: badCRC, kinds: []string{ProblemReadError}, allRecs: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, _, err := drainBytes(t, tc.file)
			if err != nil {
				t.Fatal(err)
			}
			if (len(g.recs) == 200) != tc.allRecs || len(g.problems) != 1 {
				t.Fatalf("%d records, problems %v", len(g.recs), g.problems)
			}
			ok := false
			for _, k := range tc.kinds {
				ok = ok || g.problems[0].Kind == k
			}
			if !ok {
				t.Errorf("problem %v, want one of %v", g.problems[0], tc.kinds)
			}
			t.Log(g.problems[0])
		})
	}
}

// TestStdin reads through NewReader under the name "-" and through Open("-") with os.Stdin
// redirected, as the CLI does for pipes.
func TestStdin(t *testing.T) {
	file := buildPcap(false, true, 1, 0, pcapRec{sec: 3, data: payload(0, 10)}, pcapRec{sec: 4, caplen: 99, data: payload(0, 10)})
	t.Run("NewReader", func(t *testing.T) {
		var probs []Problem
		src, err := NewReader(bytes.NewReader(file), "-", Options{OnProblem: func(p Problem) { probs = append(probs, p) }})
		if err != nil {
			t.Fatal(err)
		}
		recs, err := drain(src)
		if err != nil || len(recs) != 1 || len(probs) != 1 || probs[0].File != "-" {
			t.Fatalf("records %d err %v problems %v", len(recs), err, probs)
		}
	})
	t.Run("Open-dash", func(t *testing.T) {
		pr, pw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			pw.Write(gz(t, file))
			pw.Close()
		}()
		saved := os.Stdin
		os.Stdin = pr
		defer func() { os.Stdin = saved; pr.Close() }()
		src, err := Open("-", Options{})
		if err != nil {
			t.Fatal(err)
		}
		recs, err := drain(src)
		if err != nil || len(recs) != 1 || src.Format() != "pcap-ns.gz" {
			t.Fatalf("records %d err %v format %s", len(recs), err, src.Format())
		}
		if err := src.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

// TestEmptySources: a header with no records is a valid empty source, for both formats.
func TestEmptySources(t *testing.T) {
	w := &ngWriter{}
	w.shb(false)
	w.idb(1, 0)
	for _, tc := range []struct {
		name string
		file []byte
	}{
		{name: "pcap-header-only", file: buildPcap(true, false, 1, 0)},
		{name: "pcapng-no-packets", file: w.b},
		{name: "gzip-header-only", file: gz(t, buildPcap(false, true, 1, 0))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, src, err := drainBytes(t, tc.file)
			if err != nil || len(g.recs) != 0 || len(g.problems) != 0 {
				t.Fatalf("err %v records %d problems %v", err, len(g.recs), g.problems)
			}
			var r Record
			if err := src.Next(&r); err != io.EOF { // EOF stays EOF
				t.Errorf("second Next: %v", err)
			}
		})
	}
}

// TestOpenRealFileClose: Open on a real file closes it on Close (a second Close is harmless).
func TestOpenRealFileClose(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.pcap.gz")
	if err := os.WriteFile(p, gz(t, buildPcap(false, false, 1, 0, pcapRec{data: payload(0, 3)})), 0o644); err != nil {
		t.Fatal(err)
	}
	src, err := Open(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if recs, err := drain(src); err != nil || len(recs) != 1 {
		t.Fatalf("records %d err %v", len(recs), err)
	}
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
}
