package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stackflow/stackflow/decode/pcapio"
	"github.com/stackflow/stackflow/flows"
	"github.com/stackflow/stackflow/internal/testenv"
)

// pcapngPacket is one packet read back from an export with our own reader.
type pcapngPacket struct {
	iface   int
	time    int64
	data    []byte
	comment string
}

// readExport reads a pcapng stream back: its interfaces and packets.
func readExport(t *testing.T, r io.Reader) ([]pcapio.Interface, []pcapngPacket) {
	t.Helper()
	src, err := pcapio.NewReader(r, "export", pcapio.Options{OnProblem: func(p pcapio.Problem) { t.Errorf("export is damaged: %v", p) }})
	if err != nil {
		t.Fatalf("export does not read back: %v", err)
	}
	defer src.Close()
	var pkts []pcapngPacket
	var rec pcapio.Record
	for {
		if err := src.Next(&rec); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkts = append(pkts, pcapngPacket{iface: rec.Interface, time: rec.Time, data: slices.Clone(rec.Data),
			comment: strings.Join(pcapio.Comments(&rec), "\n")})
	}
	return src.Interfaces(), pkts
}

// inputPackets reads a capture's packets by number.
func inputPackets(t *testing.T, file string) map[uint64][]byte {
	t.Helper()
	src, err := pcapio.Open(file, pcapio.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	out := map[uint64][]byte{}
	var rec pcapio.Record
	for src.Next(&rec) == nil {
		out[rec.Number] = slices.Clone(rec.Data)
	}
	return out
}

func analyzeJSON(t *testing.T, files ...string) *flows.Report {
	t.Helper()
	code, stdout, stderr := runCLI(t, nil, append([]string{"analyze", "--format", "json"}, files...)...)
	if code != 0 {
		t.Fatalf("analyze: exit %d: %s", code, stderr)
	}
	var r flows.Report
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

var commentRE = regexp.MustCompile(`^(path p\d+ hop (\d+) \([a-z+]+\)|flow f\d+) at (\S+): (.+) #(\d+)$`)

// TestExportPathFile exports a path of the PoC sample through Mux and host to a file and reads
// it back with pcapio: one interface per hop point in hop order, the input's bytes and times,
// a comment naming hop, point, file and packet number on every packet.
func TestExportPathFile(t *testing.T) {
	in := testenv.Sample(t, "azurestack-poc.pcapng")
	r := analyzeJSON(t, in)
	var path *flows.Path
	for i := range r.Paths {
		if p := &r.Paths[i]; p.Direction == "forward" && len(p.Hops) == 5 {
			path = p
			break
		}
	}
	if path == nil {
		t.Fatal("no 5-hop forward path in the sample")
	}
	out := filepath.Join(t.TempDir(), path.ID+".pcapng")
	code, stdout, stderr := runCLI(t, nil, "export", "--path", path.ID, "-o", out, in)
	if code != 0 || stdout != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	fh, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	ifaces, pkts := readExport(t, fh)

	var names []string
	for _, ifc := range ifaces {
		names = append(names, ifc.Name)
		if ifc.LinkType != 1 {
			t.Errorf("interface %s: link type %d, want Ethernet", ifc.Name, ifc.LinkType)
		}
	}
	var want []string
	sum := 0
	for _, h := range path.Hops {
		want = append(want, h.Point)
		sum += h.Packets
	}
	if !slices.Equal(names, want) {
		t.Errorf("interfaces %v, want the hops' points %v", names, want)
	}
	if len(pkts) != sum {
		t.Errorf("%d packets, want the sum of the hop packets %d", len(pkts), sum)
	}
	if !strings.Contains(stderr, fmt.Sprintf("wrote %d packets", len(pkts))) {
		t.Errorf("summary %q does not give the packet count %d", stderr, len(pkts))
	}
	orig := inputPackets(t, in)
	var last int64
	for i, p := range pkts {
		m := commentRE.FindStringSubmatch(p.comment)
		if m == nil || !strings.HasPrefix(m[1], "path "+path.ID+" ") {
			t.Fatalf("packet %d: comment %q", i, p.comment)
		}
		hop, _ := strconv.Atoi(m[2])
		num, _ := strconv.ParseUint(m[5], 10, 64)
		if m[3] != names[p.iface] || m[3] != path.Hops[hop-1].Point || m[4] != in {
			t.Errorf("packet %d on interface %s: comment %q", i, names[p.iface], p.comment)
		}
		if !bytes.Equal(p.data, orig[num]) {
			t.Errorf("packet %d differs from %s #%d", i, in, num)
		}
		if p.time < last {
			t.Errorf("packet %d goes back in time", i)
		}
		last = p.time
	}
}

// TestExportFlowStdout writes a flow to stdout ("-o -"), as piped into Wireshark.
func TestExportFlowStdout(t *testing.T) {
	in := testenv.Sample(t, "azurestack-poc.pcapng")
	r := analyzeJSON(t, in)
	f := r.Flows[0]
	code, stdout, stderr := runCLI(t, nil, "export", "--flow", f.ID, "-o", "-", in)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	ifaces, pkts := readExport(t, strings.NewReader(stdout))
	if len(ifaces) != 1 || ifaces[0].Name != f.Point || len(pkts) != f.Packets {
		t.Errorf("interfaces %+v, %d packets; want only %s and %d packets", ifaces, len(pkts), f.Point, f.Packets)
	}
	for _, p := range pkts {
		if m := commentRE.FindStringSubmatch(p.comment); m == nil || m[1] != "flow "+f.ID {
			t.Errorf("comment %q", p.comment)
		}
	}
}

// TestExportNS3 exports the ns-3 echo's forward path from three files of two link types.
func TestExportNS3(t *testing.T) {
	var files []string
	for _, n := range []string{"n0-p2p", "n1-p2p", "n2-csma"} {
		files = append(files, testenv.Capture(t, "multihop-ns3-"+n+".pcap"))
	}
	code, stdout, stderr := runCLI(t, nil, append([]string{"export", "--path", "p1", "-o", "-"}, files...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	ifaces, pkts := readExport(t, strings.NewReader(stdout))
	var got []string
	for _, ifc := range ifaces {
		got = append(got, fmt.Sprintf("%s/%d", ifc.Name, ifc.LinkType))
	}
	want := []string{"multihop-ns3-n0-p2p/9", "multihop-ns3-n1-p2p/9", "multihop-ns3-n2-csma/1"}
	if !slices.Equal(got, want) || len(pkts) != 3 {
		t.Errorf("interfaces %v with %d packets, want %v with the request at each", got, len(pkts), want)
	}
	for i, p := range pkts {
		if p.iface != i {
			t.Errorf("packet %d on interface %d: the request crosses n0, n1, n2 in that order", i, p.iface)
		}
	}
}

// TestExportUsage pins the exit codes of export's argument errors; none leaves a file behind.
func TestExportUsage(t *testing.T) {
	in := testenv.Sample(t, "azurestack-poc.pcapng")
	dir := t.TempDir()
	out := filepath.Join(dir, "out.pcapng")
	notCapture := filepath.Join(dir, "notes.txt")
	os.WriteFile(notCapture, []byte("not a capture\n"), 0o644)
	cases := []struct {
		name string
		args []string
		code int
		msg  string // part of the one-line message
		why  string
	}{
		{"stdin", []string{"--path", "p1", "-o", out, "-"}, 2, "twice", "stdin cannot be read twice"},
		{"unknown path", []string{"--path", "p100000", "-o", out, in}, 2, "paths (p1..p", "known only after the analysis, still the user's argument"},
		{"unknown flow", []string{"--flow", "f100000", "-o", out, in}, 2, "flows", "as for paths"},
		{"both", []string{"--path", "p1", "--flow", "f1", "-o", out, in}, 2, "not both", "one selection"},
		{"neither", []string{"-o", out, in}, 2, "nothing selected", "one selection"},
		{"bad id", []string{"--path", "7", "-o", out, in}, 2, "e.g. p7", "the id's shape is checked first"},
		{"no output", []string{"--path", "p1", in}, 2, "-o", "there is no default output"},
		{"output is an input", []string{"--path", "p1", "-o", in, in}, 2, "also an input", "never overwrite a capture being read"},
		{"missing input", []string{"--path", "p1", "-o", out, filepath.Join(dir, "nope.pcap")}, 2, "nope.pcap", "as analyze"},
		{"not a capture", []string{"--path", "p1", "-o", out, notCapture}, 2, "", "as analyze"},
		{"bad window", []string{"--path", "p1", "--window", "0s", "-o", out, in}, 2, "--window", "as analyze"},
		{"bad vxlan port", []string{"--path", "p1", "--vxlan-port", "70000", "-o", out, in}, 2, "", "as analyze"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, nil, append([]string{"export"}, c.args...)...)
			if code != c.code || !strings.Contains(stderr, c.msg) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || stdout != "" {
				t.Errorf("exit %d, stderr %q; want exit %d and one line containing %q (%s)", code, stderr, c.code, c.msg, c.why)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("an output file was left behind")
				os.Remove(out)
			}
		})
	}
}

// TestExportTerminal refuses to write a binary capture onto a terminal.
func TestExportTerminal(t *testing.T) {
	tty, err := os.Create(filepath.Join(t.TempDir(), "tty"))
	if err != nil {
		t.Fatal(err)
	}
	defer tty.Close()
	var errb bytes.Buffer
	in := testenv.Sample(t, "azurestack-poc.pcapng")
	code := run(t.Context(), []string{"export", "--path", "p1", "-o", "-", in},
		env{stdout: tty, stderr: &errb, isTerminal: func(uintptr) bool { return true }})
	if st, _ := tty.Stat(); code != 2 || st.Size() != 0 || !strings.Contains(errb.String(), "terminal") {
		t.Errorf("exit %d, %d bytes written, stderr %q: want exit 2 and nothing written", code, st.Size(), errb.String())
	}
}

// TestExportHelp keeps the examples and exit codes in --help.
func TestExportHelp(t *testing.T) {
	code, stdout, _ := runCLI(t, nil, "export", "--help")
	for _, want := range []string{"stackflow export --path", "--flow", "Exit codes", "stdin"} {
		if code != 0 || !strings.Contains(stdout, want) {
			t.Errorf("export --help (exit %d) lacks %q", code, want)
		}
	}
}
