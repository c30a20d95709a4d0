package replay

import (
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stackflow/stackflow/decode/pcapio"
	"github.com/stackflow/stackflow/internal/testenv"
)

// FuzzPcapngRoundTrip writes arbitrary frames (point ids, comments, flags, link types, times
// and bytes) and requires both independent readers, gopacket's pcapgo and our decode/pcapio,
// to read back exactly what was written — or the sink to refuse the frame with an error.
func FuzzPcapngRoundTrip(f *testing.F) {
	f.Add("eth0", "", []byte{1, 2, 3}, int64(1), uint32(0), uint16(1))
	f.Add("vNIC:VmNic:Port 1:12:0", "PID=4 TID=8 SrcNicName=x", []byte{}, int64(1_700_000_000_123_456_789), uint32(2), uint16(1))
	f.Add("", "é", []byte{0}, int64(-1), uint32(0xFFFFFFFF), uint16(9))
	// Real bytes: the first frames of public captures.
	if dir, err := testenv.Captures(); err == nil {
		for _, name := range []string{"vxlan-http-vni1.pcap", "nvgre-teb-tcp.pcap", "bgp-as4path-mixed-chdlc.pcap"} {
			pkts, _ := testenv.ReadPcap(filepath.Join(dir, name))
			if len(pkts) == 0 {
				continue
			}
			p := pkts[0]
			f.Add(strings.TrimSuffix(name, ".pcap"), "", p.Data, p.Info.Timestamp.UnixNano(), uint32(1), uint16(p.LinkType))
		}
	}
	f.Fuzz(func(t *testing.T, point, comment string, data []byte, ts int64, flags uint32, lt uint16) {
		frames := []Frame{
			{Point: point, LinkType: lt, Time: ts, Data: data, Comment: comment, Flags: flags},
			{Point: point + "/2", LinkType: 1, Time: 5, Data: data, Comment: comment},
		}
		var buf bytes.Buffer
		s := NewPcapngSink(&buf, SinkOptions{})
		refuse := ts < 0 || len(comment) > maxOptionLen
		for i := range frames {
			err := s.WriteFrame(&frames[i])
			if refuse {
				// Times before 1970 and over-long comments have no pcapng encoding.
				if err == nil {
					t.Fatalf("frame %d (time %d, %d-byte comment) accepted", i+1, ts, len(comment))
				}
				return
			}
			if err != nil {
				t.Fatalf("frame %d refused: %v", i+1, err)
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if len(point) > maxOptionLen-2 {
			return // the interface name is clipped; the rest is covered below
		}
		_, pkts, _ := readPcapng(t, buf.Bytes())
		if len(pkts) != 2 {
			t.Fatalf("pcapgo reads %d packets", len(pkts))
		}
		const keptFlags = 0xFFFF03FF // the bits pcapgo's NgEpbFlags keeps
		if !bytes.Equal(pkts[0].data, data) || pkts[0].time != ts || pkts[0].linkType != lt ||
			pkts[0].flags != flags&keptFlags {
			t.Errorf("pcapgo reads back %+v", pkts[0])
		}
		src, err := pcapio.NewReader(bytes.NewReader(buf.Bytes()), "fuzz", pcapio.Options{
			OnProblem: func(p pcapio.Problem) { t.Errorf("pcapio problem: %v", p) }})
		if err != nil {
			t.Fatal(err)
		}
		var rec pcapio.Record
		for i := range frames {
			if err := src.Next(&rec); err != nil {
				t.Fatalf("pcapio record %d: %v", i+1, err)
			}
			fr := frames[i]
			ifc := src.Interfaces()[rec.Interface]
			// Trailing NULs are indistinguishable from padding, so readers strip them.
			wantComment := strings.TrimRight(fr.Comment, "\x00")
			gotComment := strings.Join(pcapio.Comments(&rec), "\n")
			if ifc.Name != strings.TrimRight(fr.Point, "\x00") {
				t.Errorf("record %d: interface %q, want %q", i+1, ifc.Name, fr.Point)
			}
			if !bytes.Equal(rec.Data, fr.Data) || rec.Time != fr.Time || ifc.LinkType != fr.LinkType ||
				rec.Flags != fr.Flags || ifc.TSPerSecond != 1e9 || gotComment != wantComment {
				t.Errorf("pcapio record %d = %+v comment %q, want %+v", i+1, rec, gotComment, fr)
			}
		}
		if err := src.Next(&rec); !errors.Is(err, io.EOF) {
			t.Errorf("after the last record: %v", err)
		}
	})
}
