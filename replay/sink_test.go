package replay

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/stackflow/stackflow/decode/pcapio"
	"github.com/stackflow/stackflow/internal/testenv"
)

// readBack is one packet as an independent reader (pcapgo) sees it.
type readBack struct {
	iface    int
	linkType uint16
	time     int64
	data     []byte
	origLen  int
	comments []string
	flags    uint32
}

// readPcapng reads a pcapng stream with gopacket's reader, the oracle for our writer.
func readPcapng(t *testing.T, b []byte) ([]pcapgo.NgInterface, []readBack, pcapgo.NgSectionInfo) {
	t.Helper()
	r, err := pcapgo.NewNgReader(bytes.NewReader(b), pcapgo.NgReaderOptions{WantMixedLinkType: true})
	if err != nil {
		t.Fatalf("pcapgo rejects our pcapng: %v", err)
	}
	var pkts []readBack
	for {
		data, ci, opts, err := r.ReadPacketDataWithOptions()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("pcapgo: packet %d: %v", len(pkts)+1, err)
		}
		p := readBack{iface: ci.InterfaceIndex, time: ci.Timestamp.UnixNano(), data: data,
			origLen: ci.Length, comments: opts.Comments}
		if len(ci.AncillaryData) > 0 {
			p.linkType = uint16(ci.AncillaryData[0].(layers.LinkType))
		}
		if opts.Flags != nil {
			p.flags = opts.Flags.ToUint32()
		}
		pkts = append(pkts, p)
	}
	var ifs []pcapgo.NgInterface
	for i := 0; i < r.NInterfaces(); i++ {
		ifc, err := r.Interface(i)
		if err != nil {
			t.Fatalf("pcapgo interface %d: %v", i, err)
		}
		ifs = append(ifs, ifc)
	}
	return ifs, pkts, r.SectionInfo()
}

// testFrames covers what the writer must encode: several points and link types, comments of
// every padding remainder, flags, nanosecond times, an empty frame, a snapped frame and a
// 9000-byte jumbo frame.
func testFrames() []Frame {
	jumbo := bytes.Repeat([]byte{0xA5, 0x5A, 0x01}, 3000)
	return []Frame{
		{Point: "client", LinkType: 1, Time: 1_700_000_000_123_456_789, Data: []byte{1, 2, 3, 4, 5, 6, 7}},
		{Point: "vNIC:VmNic:Port 1:12:0", LinkType: 1, Time: 1_700_000_000_123_456_790, Data: []byte{9}, Comment: "a"},
		{Point: "ppp-link", LinkType: 9, Time: 1_700_000_001_000_000_001, Data: []byte{0xff, 0x03, 0, 0x21}, Comment: "ab", Flags: 1},
		{Point: "client", LinkType: 1, Time: 1_700_000_001_000_000_002, Data: jumbo, Comment: "abc"},
		{Point: "client", LinkType: 1, Time: 1_700_000_001_000_000_003, Data: []byte{}, Comment: "abcd", Flags: 2},
		{Point: "ppp-link", LinkType: 9, Time: 1_700_000_002_999_999_999, Data: []byte{1, 2, 3, 4, 5, 6, 7, 8}, OrigLen: 1500, Comment: "PID=4 TID=8 é"},
	}
}

func TestPcapngSinkRoundTrip(t *testing.T) {
	frames := testFrames()
	var buf bytes.Buffer
	s := NewPcapngSink(&buf, SinkOptions{Points: []PointDecl{
		// Predeclared out of appearance order: the interface order must follow the declaration.
		{Name: "ppp-link", LinkType: 9, Description: "n0 to n1"},
		{Name: "unused", LinkType: 1},
	}})
	for i := range frames {
		if err := s.WriteFrame(&frames[i]); err != nil {
			t.Fatalf("frame %d: %v", i+1, err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if buf.Len()%4 != 0 {
		t.Errorf("file length %d is not a multiple of 4", buf.Len())
	}
	ifs, pkts, sec := readPcapng(t, buf.Bytes())
	if sec.Application != UserAppl {
		t.Errorf("shb_userappl = %q, want %q", sec.Application, UserAppl)
	}
	wantIfs := []struct {
		name, descr string
		lt          uint16
	}{{"ppp-link", "n0 to n1", 9}, {"unused", "", 1}, {"client", "", 1}, {"vNIC:VmNic:Port 1:12:0", "", 1}}
	if len(ifs) != len(wantIfs) {
		t.Fatalf("got %d interfaces, want %d", len(ifs), len(wantIfs))
	}
	for i, w := range wantIfs {
		got := ifs[i]
		if got.Name != w.name || got.Description != w.descr || uint16(got.LinkType) != w.lt {
			t.Errorf("interface %d = %q %q %d, want %q %q %d", i, got.Name, got.Description, got.LinkType, w.name, w.descr, w.lt)
		}
		if got.TimestampResolution.Binary() || got.TimestampResolution.Exponent() != 9 {
			t.Errorf("interface %d resolution = %v, want 10^-9", i, got.TimestampResolution)
		}
	}
	if len(pkts) != len(frames) {
		t.Fatalf("read %d packets, wrote %d", len(pkts), len(frames))
	}
	for i, f := range frames {
		p := pkts[i]
		if name := ifs[p.iface].Name; name != f.Point {
			t.Errorf("packet %d on interface %q, want %q", i+1, name, f.Point)
		}
		if p.linkType != f.LinkType || p.time != f.Time || !bytes.Equal(p.data, f.Data) || p.origLen != int(frameOrigLen(&f)) {
			t.Errorf("packet %d = lt %d time %d len %d orig %d, want lt %d time %d len %d orig %d",
				i+1, p.linkType, p.time, len(p.data), p.origLen, f.LinkType, f.Time, len(f.Data), frameOrigLen(&f))
		}
		var wantComments []string
		if f.Comment != "" {
			wantComments = []string{f.Comment}
		}
		if strings.Join(p.comments, "|") != strings.Join(wantComments, "|") {
			t.Errorf("packet %d comments %q, want %q", i+1, p.comments, wantComments)
		}
		if p.flags != f.Flags {
			t.Errorf("packet %d flags %#x, want %#x", i+1, p.flags, f.Flags)
		}
	}
}

// TestPcapngSinkTshark lets Wireshark's reader judge the file too: it is stricter about option
// padding and block lengths than pcapgo.
func TestPcapngSinkTshark(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed; pcapgo remains the oracle")
	}
	frames := testFrames()
	path := filepath.Join(t.TempDir(), "t.pcapng")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	s := NewPcapngSink(f, SinkOptions{})
	for i := range frames {
		if err := s.WriteFrame(&frames[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	out, err := exec.Command(tshark, "-n", "-r", path, "-T", "fields", "-E", "separator=|",
		"-e", "frame.interface_name", "-e", "frame.time_epoch", "-e", "frame.len", "-e", "frame.cap_len",
		"-e", "frame.comment").Output()
	if err != nil {
		t.Fatalf("tshark: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(frames) {
		t.Fatalf("tshark sees %d frames, want %d:\n%s", len(lines), len(frames), out)
	}
	for i, line := range lines {
		fr := frames[i]
		fields := strings.Split(line, "|")
		if len(fields) != 5 {
			t.Fatalf("tshark line %q", line)
		}
		wantTime := strconv.FormatInt(fr.Time/1e9, 10) + "." + leftPad9(fr.Time%1e9)
		if fields[0] != fr.Point || fields[1] != wantTime || fields[2] != strconv.Itoa(int(frameOrigLen(&fr))) ||
			fields[3] != strconv.Itoa(len(fr.Data)) || fields[4] != fr.Comment {
			t.Errorf("tshark frame %d = %q, want point %q time %s len %d caplen %d comment %q",
				i+1, line, fr.Point, wantTime, frameOrigLen(&fr), len(fr.Data), fr.Comment)
		}
	}
}

func leftPad9(n int64) string {
	s := strconv.FormatInt(n, 10)
	return strings.Repeat("0", 9-len(s)) + s
}

func TestPcapngSinkErrors(t *testing.T) {
	cases := []struct {
		name   string
		opts   SinkOptions
		frames []Frame
		want   string
		is     error
	}{
		// A point has exactly one link type; a frame of another must not be filed under it.
		{name: "link type change", frames: []Frame{
			{Point: "a", LinkType: 1, Time: 1, Data: []byte{1}},
			{Point: "a", LinkType: 9, Time: 2, Data: []byte{1}},
		}, want: `frame 2 at point "a" has link type 9, the point has link type 1`, is: ErrLinkType},
		// A predeclared link type binds as firmly as a first-seen one.
		{name: "declared link type", opts: SinkOptions{Points: []PointDecl{{Name: "a", LinkType: 113}}},
			frames: []Frame{{Point: "a", LinkType: 1, Time: 1, Data: []byte{1}}},
			want:   `the point has link type 113`, is: ErrLinkType},
		// Two interfaces with one name would make the point ids ambiguous.
		{name: "duplicate declaration", opts: SinkOptions{Points: []PointDecl{{Name: "a"}, {Name: "a"}}},
			frames: []Frame{{Point: "a", Time: 1}}, want: `capture point "a" declared twice`},
		// pcapng timestamps are unsigned.
		{name: "negative time", frames: []Frame{{Point: "a", LinkType: 1, Time: -5, Data: []byte{1}}},
			want: `frame 1 at point "a" has time -5 ns, before 1970`},
		// An option length is 16 bits; silently cutting a comment would lie about it.
		{name: "huge comment", frames: []Frame{{Point: "a", LinkType: 1, Time: 1, Comment: strings.Repeat("x", 70000)}},
			want: `70000-byte comment`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := NewPcapngSink(io.Discard, c.opts)
			var err error
			for i := range c.frames {
				if err = s.WriteFrame(&c.frames[i]); err != nil {
					break
				}
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("error %v does not wrap %v", err, c.is)
			}
		})
	}
}

// failWriter fails after n bytes, like a full disk.
type failWriter struct{ n int }

var errDiskFull = errors.New("disk full")

func (w *failWriter) Write(b []byte) (int, error) {
	if len(b) > w.n {
		k := w.n
		w.n = 0
		return k, errDiskFull
	}
	w.n -= len(b)
	return len(b), nil
}

func TestSinksReportWriteErrors(t *testing.T) {
	frame := Frame{Point: "a", LinkType: 1, Time: 1, Data: make([]byte, 1500)}
	sinks := map[string]Sink{
		"pcapng": NewPcapngSink(&failWriter{n: 100_000}, SinkOptions{}),
		"pcap":   NewPcapSink(&failWriter{n: 100_000}, 1, false),
	}
	for name, s := range sinks {
		t.Run(name, func(t *testing.T) {
			var err error
			for i := 0; i < 200 && err == nil; i++ {
				err = s.WriteFrame(&frame)
			}
			if err == nil {
				err = s.Close()
			}
			if !errors.Is(err, errDiskFull) {
				t.Fatalf("error %v, want one wrapping %v", err, errDiskFull)
			}
			// The error sticks: later writes must not pretend to succeed.
			if err2 := s.WriteFrame(&frame); !errors.Is(err2, errDiskFull) {
				t.Errorf("write after failure returned %v", err2)
			}
		})
	}
}

func TestPcapngSinkZeroAllocs(t *testing.T) {
	s := NewPcapngSink(io.Discard, SinkOptions{})
	f := Frame{Point: "vNIC:x", LinkType: 1, Time: 1, Data: make([]byte, 700), Comment: "PID=1 TID=2", Flags: 1}
	if err := s.WriteFrame(&f); err != nil { // the first frame adds the interface
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(1000, func() {
		f.Time++
		if err := s.WriteFrame(&f); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per frame, want 0", allocs)
	}
}

func TestPcapSinkRoundTrip(t *testing.T) {
	frames := testFrames()
	for _, nanos := range []bool{false, true} {
		t.Run("nanos="+strconv.FormatBool(nanos), func(t *testing.T) {
			var buf bytes.Buffer
			s := NewPcapSink(&buf, 1, nanos)
			var wrote []Frame
			for i := range frames {
				if frames[i].LinkType != 1 {
					// Other link types cannot share the file: refused, nothing written.
					if err := s.WriteFrame(&frames[i]); !errors.Is(err, ErrLinkType) {
						t.Fatalf("frame %d: error %v, want ErrLinkType", i+1, err)
					}
					continue
				}
				if err := s.WriteFrame(&frames[i]); err != nil {
					t.Fatal(err)
				}
				wrote = append(wrote, frames[i])
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			r, err := pcapgo.NewReader(bytes.NewReader(buf.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			if r.LinkType() != 1 {
				t.Errorf("link type %d", r.LinkType())
			}
			for i, f := range wrote {
				data, ci, err := r.ReadPacketData()
				if err != nil {
					t.Fatalf("packet %d: %v", i+1, err)
				}
				want := f.Time
				if !nanos {
					want -= want % 1000 // truncated to µs
				}
				if ci.Timestamp.UnixNano() != want || !bytes.Equal(data, f.Data) || ci.Length != int(frameOrigLen(&f)) {
					t.Errorf("packet %d = time %d len %d orig %d, want %d %d %d", i+1,
						ci.Timestamp.UnixNano(), len(data), ci.Length, want, len(f.Data), frameOrigLen(&f))
				}
			}
			if _, _, err := r.ReadPacketData(); !errors.Is(err, io.EOF) {
				t.Errorf("after the last packet: %v, want EOF", err)
			}
		})
	}
}

func TestPcapSinkTimeRange(t *testing.T) {
	// 2106-02-07T06:28:16Z is the first second classic pcap cannot store.
	f := Frame{Point: "a", LinkType: 1, Time: (1 << 32) * 1e9, Data: []byte{1}}
	if err := NewPcapSink(io.Discard, 1, true).WriteFrame(&f); err == nil || !strings.Contains(err.Error(), "32-bit seconds") {
		t.Errorf("error %v, want a 32-bit seconds error", err)
	}
	f.Time--
	if err := NewPcapSink(io.Discard, 1, true).WriteFrame(&f); err != nil {
		t.Errorf("last representable nanosecond: %v", err)
	}
}

func TestPointFileStem(t *testing.T) {
	cases := []struct{ name, point, want string }{
		{"plain id kept", "eth0", "eth0"},                                            // the common case must stay readable
		{"etl2pcapng vNIC name", "vNIC:VmNic:Port 1:12:0", "vNIC_VmNic_Port_1_12_0"}, // ':' and ' ' are awkward or illegal in file names
		{"file stem prefix", "lab.pcap:eth0", "lab.pcap_eth0"},                       // collision-prefixed ids (DESIGN.md 2)
		{"path separators", "../../etc/passwd", "_._.._etc_passwd"},                  // must never escape the directory
		{"dot only", ".", "_"},                                                       // "." would name the directory itself
		{"hidden", ".x", "_x"},                                                       // no hidden files
		{"empty", "", "_"},                                                           // an empty name is no file name
		{"utf-8 counts once", "café", "caf_"},                                        // one '_' per character, not per byte
		{"long", strings.Repeat("a", 300), strings.Repeat("a", 200)},                 // file names have length limits
		{"windows reserved chars", `a<b>c"d|e?f*g\h`, "a_b_c_d_e_f_g_h"},             // portable everywhere
		{"tilde reserved for collisions", "a~2", "a_2"},                              // '~' marks collision suffixes only
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := PointFileStem(c.point); got != c.want {
				t.Errorf("PointFileStem(%q) = %q, want %q", c.point, got, c.want)
			}
		})
	}
}

func TestSplitSink(t *testing.T) {
	frames := testFrames()
	// Extra points whose stems collide, also case-insensitively.
	frames = append(frames,
		Frame{Point: "vNIC_VmNic_Port_1_12_0", LinkType: 1, Time: 1_700_000_003_000_000_000, Data: []byte{7}},
		Frame{Point: "VNIC_VMNIC_PORT_1_12_0", LinkType: 1, Time: 1_700_000_003_000_000_001, Data: []byte{8}})
	for _, format := range []FileFormat{FormatPcapng, FormatPcap, FormatPcapNanos} {
		t.Run(format.String(), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "out")
			s, err := NewSplitSink(dir, SplitOptions{Format: format,
				SinkOptions: SinkOptions{Points: []PointDecl{{Name: "empty point", LinkType: 1}}}})
			if err != nil {
				t.Fatal(err)
			}
			for i := range frames {
				if err := s.WriteFrame(&frames[i]); err != nil {
					t.Fatalf("frame %d: %v", i+1, err)
				}
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			ext := format.Ext()
			wantFiles := []SplitFile{
				{"empty point", "empty_point" + ext},
				{"client", "client" + ext},
				{"vNIC:VmNic:Port 1:12:0", "vNIC_VmNic_Port_1_12_0" + ext},
				{"ppp-link", "ppp-link" + ext},
				{"vNIC_VmNic_Port_1_12_0", "vNIC_VmNic_Port_1_12_0~2" + ext},
				{"VNIC_VMNIC_PORT_1_12_0", "VNIC_VMNIC_PORT_1_12_0~3" + ext},
			}
			got := s.Files()
			if len(got) != len(wantFiles) {
				t.Fatalf("files %v, want %v", got, wantFiles)
			}
			for i, w := range wantFiles {
				if got[i].Point != w.Point || got[i].Path != filepath.Join(dir, w.Path) {
					t.Errorf("file %d = %+v, want %s in %s", i, got[i], w.Path, dir)
				}
			}
			for _, sf := range got {
				var want []Frame
				for _, f := range frames {
					if f.Point == sf.Point {
						want = append(want, f)
					}
				}
				b, err := os.ReadFile(sf.Path)
				if err != nil {
					t.Fatal(err)
				}
				checkSplitFile(t, format, sf, b, want)
			}
		})
	}
}

// checkSplitFile reads one per-point file back with pcapgo and compares it with want.
func checkSplitFile(t *testing.T, format FileFormat, sf SplitFile, b []byte, want []Frame) {
	t.Helper()
	var times []int64
	var datas [][]byte
	if format == FormatPcapng {
		ifs, pkts, _ := readPcapng(t, b)
		if len(ifs) != 1 || ifs[0].Name != sf.Point {
			t.Errorf("%s: interfaces %+v, want one named %q", sf.Path, ifs, sf.Point)
		}
		for _, p := range pkts {
			times = append(times, p.time)
			datas = append(datas, p.data)
		}
	} else {
		r, err := pcapgo.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", sf.Path, err)
		}
		if len(want) > 0 && uint16(r.LinkType()) != want[0].LinkType {
			t.Errorf("%s: link type %d, want %d", sf.Path, r.LinkType(), want[0].LinkType)
		}
		for {
			data, ci, err := r.ReadPacketData()
			if err != nil {
				break
			}
			times = append(times, ci.Timestamp.UnixNano())
			datas = append(datas, data)
		}
	}
	if len(times) != len(want) {
		t.Fatalf("%s: %d packets, want %d", sf.Path, len(times), len(want))
	}
	for i, f := range want {
		wt := f.Time
		if format == FormatPcap {
			wt -= wt % 1000
		}
		if times[i] != wt || !bytes.Equal(datas[i], f.Data) {
			t.Errorf("%s packet %d: time %d len %d, want %d %d", sf.Path, i+1, times[i], len(datas[i]), wt, len(f.Data))
		}
	}
}

// TestPcapngSinkRealCapture rewrites a public two-interface capture (ns and µs interfaces)
// and checks that nothing but the timestamp resolution of the µs interface changes.
func TestPcapngSinkRealCapture(t *testing.T) {
	b, err := os.ReadFile(testenv.Capture(t, "pcapng-two-interfaces-ns-us.pcapng"))
	if err != nil {
		t.Fatal(err)
	}
	inIfs, inPkts, _ := readPcapng(t, b)
	var out bytes.Buffer
	s := NewPcapngSink(&out, SinkOptions{})
	for _, p := range inPkts {
		f := Frame{Point: inIfs[p.iface].Name, LinkType: p.linkType, Time: p.time, Data: p.data, OrigLen: uint32(p.origLen)}
		if err := s.WriteFrame(&f); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	outIfs, outPkts, _ := readPcapng(t, out.Bytes())
	if len(outPkts) != len(inPkts) || len(outPkts) == 0 {
		t.Fatalf("%d packets out, %d in", len(outPkts), len(inPkts))
	}
	for i := range inPkts {
		in, o := inPkts[i], outPkts[i]
		if inIfs[in.iface].Name != outIfs[o.iface].Name || in.time != o.time || !bytes.Equal(in.data, o.data) || in.origLen != o.origLen {
			t.Errorf("packet %d differs after the round trip", i+1)
		}
	}
}

// TestPcapngSinkPcapio reads the writer's output with our own framer, decode/pcapio, which
// also exposes the raw epb_flags and the per-interface timestamp resolution.
func TestPcapngSinkPcapio(t *testing.T) {
	frames := testFrames()
	var buf bytes.Buffer
	s := NewPcapngSink(&buf, SinkOptions{SnapLen: 65535})
	for i := range frames {
		if err := s.WriteFrame(&frames[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	src, err := pcapio.NewReader(bytes.NewReader(buf.Bytes()), "mem", pcapio.Options{
		OnProblem: func(p pcapio.Problem) { t.Errorf("pcapio problem: %v", p) }})
	if err != nil {
		t.Fatal(err)
	}
	if src.Format() != "pcapng" {
		t.Errorf("format %q", src.Format())
	}
	var rec pcapio.Record
	for i, f := range frames {
		if err := src.Next(&rec); err != nil {
			t.Fatalf("record %d: %v", i+1, err)
		}
		ifc := src.Interfaces()[rec.Interface]
		comment := strings.Join(pcapio.Comments(&rec), "\n")
		if ifc.Name != f.Point || ifc.LinkType != f.LinkType || ifc.TSPerSecond != 1e9 || ifc.SnapLen != 65535 ||
			rec.Time != f.Time || !bytes.Equal(rec.Data, f.Data) || rec.OrigLen != frameOrigLen(&f) ||
			rec.Flags != f.Flags || comment != f.Comment || rec.Number != uint64(i+1) {
			t.Errorf("record %d = %+v on %+v comment %q, want %+v", i+1, rec, ifc, comment, f)
		}
	}
	if err := src.Next(&rec); !errors.Is(err, io.EOF) {
		t.Errorf("after the last record: %v", err)
	}
}
