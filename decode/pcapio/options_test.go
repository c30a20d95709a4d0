package pcapio

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/stackflow/stackflow/internal/testenv"
)

// TestWalkOptions walks hand-built option areas in both byte orders.
func TestWalkOptions(t *testing.T) {
	for _, big := range []bool{false, true} {
		w := &ngWriter{big: big}
		area := append(append(append(w.opt(OptComment, []byte("one")), w.opt(OptFlags, w.bo().AppendUint32(nil, 0x21))...),
			w.opt(OptComment, []byte("two\x00"))...), w.end()...)
		area = append(area, w.opt(OptComment, []byte("after end"))...)
		for _, tc := range []struct {
			name    string
			opts    []byte
			stopAt  int // fn returns false on this call (0: never)
			want    string
			wantErr bool
		}{
			// All options up to opt_endofopt; nothing after it.
			{name: "full", opts: area, want: "1:one 2:00000021 1:two\x00 "},
			// fn returning false stops the walk.
			{name: "stop", opts: area, stopAt: 2, want: "1:one 2:00000021 "},
			// No end marker: the area's end ends the walk (some writers omit it).
			{name: "no-end", opts: w.opt(OptPacketID, []byte{1, 2, 3, 4, 5, 6, 7, 8}), want: "5:0102030405060708 "},
			// Value longer than what remains: options before it are walked, then an error.
			{name: "overlong", opts: append(w.opt(OptComment, []byte("ok")), 1, 0, 0, 1, 'x'), want: "1:ok ", wantErr: true},
			// Stray bytes too short for an option header.
			{name: "stray", opts: append(w.opt(OptComment, []byte("ok")), 1, 0), want: "1:ok ", wantErr: true},
			// The last value without its padding: accepted, nothing lost.
			{name: "unpadded-last", opts: w.opt(OptComment, []byte("abcde"))[:9], want: "1:abcde "},
			// Empty area.
			{name: "empty", opts: nil, want: ""},
		} {
			t.Run(fmt.Sprintf("%s/big=%v", tc.name, big), func(t *testing.T) {
				if tc.name == "overlong" && big {
					tc.opts[len(tc.opts)-5], tc.opts[len(tc.opts)-4] = 0, 1
					tc.opts[len(tc.opts)-3], tc.opts[len(tc.opts)-2] = 1, 0
				}
				got, calls := "", 0
				err := WalkOptions(tc.opts, big, func(code uint16, v []byte) bool {
					calls++
					if code == OptFlags {
						got += fmt.Sprintf("%d:%08x ", code, u32(v, big))
					} else if code == OptPacketID {
						got += fmt.Sprintf("%d:%x ", code, v)
					} else {
						got += fmt.Sprintf("%d:%s ", code, v)
					}
					return calls != tc.stopAt
				})
				if got != tc.want {
					t.Errorf("walked %q, want %q", got, tc.want)
				}
				if (err != nil) != tc.wantErr || (err != nil && !errors.Is(err, ErrBadOptions)) {
					t.Errorf("err %v, want error %v", err, tc.wantErr)
				}
				flags, ok := optionFlags(tc.opts, big)
				if ok == tc.wantErr {
					t.Errorf("optionFlags ok %v with WalkOptions error %v", ok, err)
				}
				if tc.name == "full" && flags != 0x21 {
					t.Errorf("optionFlags %x", flags)
				}
			})
		}
	}
}

// TestComments: comments come back in order, NUL padding dropped; no options, no comments.
func TestComments(t *testing.T) {
	w := &ngWriter{big: true}
	rec := Record{BigEndian: true, Options: append(append(w.opt(OptComment, []byte("PID=4 TID=8")), w.opt(OptComment, []byte("SrcNicName=x\x00"))...), w.end()...)}
	c := Comments(&rec)
	if len(c) != 2 || c[0] != "PID=4 TID=8" || c[1] != "SrcNicName=x" {
		t.Errorf("comments %q", c)
	}
	if c := Comments(&Record{}); c != nil {
		t.Errorf("comments of an optionless record: %q", c)
	}
}

// TestWalkOptionsAllocs: the walker itself allocates nothing on well-formed input.
func TestWalkOptionsAllocs(t *testing.T) {
	w := &ngWriter{}
	opts := append(w.opt(OptComment, []byte("x")), w.opt(OptFlags, []byte{1, 0, 0, 0})...)
	var n int
	fn := func(code uint16, v []byte) bool { n += len(v); return true }
	if a := testing.AllocsPerRun(100, func() { _ = WalkOptions(opts, false, fn) }); a != 0 {
		t.Errorf("%v allocs per walk", a)
	}
}

// TestRealCaptureOptions reads the synthetic etl2pcapng-style capture: interface names,
// direction flags and comments must come through.
func TestRealCaptureOptions(t *testing.T) {
	dir := testenv.CapturesOrSkip(t)
	src, err := Open(dir+"/synthetic-etl2pcapng-layout.pcapng", Options{})
	if err != nil {
		t.Skip(err)
	}
	defer src.Close()
	recs, err := drain(src)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, i := range src.Interfaces() {
		names[i.Name] = true
	}
	var flagged, commented int
	for i := range recs {
		if recs[i].Flags&3 != 0 {
			flagged++
		}
		if len(Comments(&recs[i])) > 0 {
			commented++
		}
	}
	t.Logf("interfaces %v, %d of %d records flagged, %d commented", names, flagged, len(recs), commented)
	if len(names) < 2 || flagged == 0 || commented == 0 {
		t.Errorf("interfaces %v flagged %d commented %d", names, flagged, commented)
	}
	// tshark as the oracle for names, direction and comments, line by line.
	bin, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed")
	}
	out, err := exec.Command(bin, "-r", dir+"/synthetic-etl2pcapng-layout.pcapng", "-T", "fields", "-E", "separator=|",
		"-e", "frame.interface_name", "-e", "frame.packet_flags_direction", "-e", "frame.comment").Output()
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(recs) {
		t.Fatalf("tshark %d frames, we %d", len(lines), len(recs))
	}
	for i, line := range lines {
		r := &recs[i]
		mine := fmt.Sprintf("%s|0x%08x|%s", src.Interfaces()[r.Interface].Name, r.Flags&3, strings.Join(Comments(r), ","))
		if mine != line {
			t.Errorf("record %d: %q, tshark %q", i+1, mine, line)
		}
	}
}
