package conn

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stackflow/stackflow/decode"
	"github.com/stackflow/stackflow/decode/pcapio"
	"github.com/stackflow/stackflow/internal/testenv"
)

// readCapture decodes every packet of a capture file into the table, at capture point point.
func readCapture(t testing.TB, tb *Table, path string, point int) int {
	t.Helper()
	return eachPacket(t, path, point, func(p *decode.Packet) { tb.Update(p) })
}

// eachPacket decodes every packet of a capture file and hands it to fn.
func eachPacket(t testing.TB, path string, point int, fn func(*decode.Packet)) int {
	t.Helper()
	src, err := pcapio.Open(path, pcapio.Options{})
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer src.Close()
	dec := decode.NewDecoder(decode.Options{})
	var rec pcapio.Record
	var p decode.Packet
	n := 0
	for {
		err := src.Next(&rec)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("read %s: %v", path, err)
		}
		p = decode.Packet{Point: point, Number: rec.Number, Offset: rec.Offset, Time: rec.Time,
			CapLen: rec.CapLen, Len: rec.OrigLen}
		dec.Decode(rec.Data, src.Interfaces()[rec.Interface].LinkType, rec.OrigLen, &p)
		fn(&p)
		n++
	}
	return n
}

// flowLine summarises a record the way the expectations below are written.
func flowLine(r *Record) string {
	vni := ""
	if v, ok := r.VNI(); ok {
		vni = fmt.Sprintf(" vni=%d", v)
	}
	parent := ""
	if r.Parent != 0 {
		parent = fmt.Sprintf(" parent=%d", r.Parent)
	}
	return fmt.Sprintf("%d p%d %s:%d>%s:%d%s %d/%d pkts %d/%d bytes %s %q %s%s",
		r.ID, r.Proto(), r.Src(), r.SrcPort(), r.Dst(), r.DstPort(), vni,
		r.Orig.Packets, r.Resp.Packets, r.Orig.Bytes, r.Resp.Bytes, r.StateCode(), r.History(), r.CommunityID(), parent)
}

func TestDumpCaptureFlows(t *testing.T) {
	// A development aid: go test -run DumpCaptureFlows -v -args -dump FILE prints the flows.
	name := os.Getenv("CONN_DUMP")
	if name == "" {
		t.Skip("set CONN_DUMP=<capture file name> to print its flows")
	}
	tb := NewTable(Config{})
	readCapture(t, tb, testenv.Capture(t, name), 0)
	tb.Flush()
	recs := tb.Records()
	for i := range recs {
		t.Log(flowLine(&recs[i]))
	}
}

// TestRealCaptures runs public captures through decode.Decoder and the table. The expected
// flows were checked with tshark 4.0.17 during development (tests do not call it):
//
//   - flow count and per-direction packets and bytes: tshark -q -z conv,tcp -z conv,udp, and
//     -z conv,ip,"icmp" (or igmp, eigrp) for the rest; Bytes counts frame bytes as tshark does,
//     outer VXLAN headers included for inner flows;
//   - Community IDs: tshark --enable-protocol communityid -T fields -e communityid, which gives
//     the inner flow's id for tunnelled frames; outer flows' ids with --disable-protocol vxlan;
//   - states and histories by hand from tshark's per-packet tcp.flags.str and tcp.seq.
//
// tcpreplay's test.pcap also carries MPLS and pseudowire frames; the decoder does not decode
// MPLS, so those are left out (tshark's conv tables were taken with "not mpls"): the ICMP
// flows below therefore hold only the echo replies, which arrive untagged, and their
// originator is the echo requester (history "^"). tshark counts the two retransmitted FINs of
// port 64565 as retransmissions; Zeek, and this table, count only payload.
func TestRealCaptures(t *testing.T) {
	dir := testenv.CapturesOrSkip(t)
	cases := []struct {
		file string
		want []string
	}{
		{"vxlan-http-vni1.pcap", []string{
			`1 p17 10.1.200.131:50000>10.1.1.172:4789 12/0 pkts 10707/0 bytes S0 "D" 1:60Sgfmijmdy6ayB2k51RIbdp+c4=`,
			`2 p6 172.16.11.201:40354>54.86.237.188:80 vni=1 7/5 pkts 907/9800 bytes SF "ShADadFf" 1:bIIcsFKdGXLKqpxEBc/g62+EmQI= parent=1`,
		}},
		{"vxlan-vlan-tls-vni1111.pcap", []string{
			`1 p17 192.168.22.4:60887>192.168.22.5:4789 2/0 pkts 252/0 bytes S0 "D" 1:/YEeA8A6/I6upOCmjojO/gIoUDo=`,
			`2 p17 10.10.20.4:44437>8.8.8.8:53 vni=1111 2/2 pkts 252/296 bytes SF "Dd" 1:9QhQqO/WgCrxaxQsQbi/HhiIhIg= parent=1`,
			`3 p17 192.168.22.5:43866>192.168.22.4:4789 2/0 pkts 296/0 bytes S0 "D" 1:6LwwMJVp9BUYJX0ljAeOCzFL9p8=`,
			`4 p17 192.168.22.4:49762>192.168.22.5:4789 12/0 pkts 2011/0 bytes S0 "D" 1:sJM1SybB9CGVF7U1HN26obIlbF0=`,
			// Both sides FIN, then three RSTs from the client at relative seq 564, 564, 565: the
			// RSTs after a full close leave it SF, and the repeated one adds no letter.
			`5 p6 10.10.20.4:45226>157.240.224.35:443 vni=1111 15/13 pkts 2335/5656 bytes SF "ShADadFfRR" 1:bcg0nRL9+wmggFZqxuhkXfpSNIQ= parent=4`,
			`6 p17 192.168.22.5:60230>192.168.22.4:4789 13/0 pkts 5656/0 bytes S0 "D" 1:y0Tpv8Y7x843/w29I4s20UUDTb0=`,
			`7 p17 192.168.22.4:60351>192.168.22.5:4789 2/0 pkts 260/0 bytes S0 "D" 1:BFPWq3wkIuqiofTFXIz/4vB+8dM=`,
			`8 p17 10.10.20.4:32860>8.8.8.8:53 vni=1111 2/2 pkts 260/362 bytes SF "Dd" 1:hke2KFIjLvSnNlsoAuCX72gSut8= parent=7`,
			`9 p17 192.168.22.5:50251>192.168.22.4:4789 2/0 pkts 362/0 bytes S0 "D" 1:hKmh+CWYYqVTnp/5WplwIKMuLyI=`,
			`10 p17 192.168.22.4:40646>192.168.22.5:4789 35/0 pkts 4938/0 bytes S0 "D" 1:qCH0V5rkt8ThmsHNgQxFgyl1IEs=`,
			`11 p6 10.10.20.4:45228>157.240.224.35:443 vni=1111 35/56 pkts 4938/71223 bytes SF "ShADadFf" 1:w0PVjfTO6z0V3G989TS3IF68Plo= parent=10`,
			`12 p17 192.168.22.5:36286>192.168.22.4:4789 56/0 pkts 71223/0 bytes S0 "D" 1:2CLXBWMOzQUACXLuJ7d1ziYvUQU=`,
			`13 p17 192.168.22.4:60230>192.168.22.5:4789 3/0 pkts 324/0 bytes S0 "D" 1:H+JlVPjjmFJK+GLVU3bB2zHtGLk=`,
		}},
		{"nat-pnat-pair-original.pcap", []string{
			// Mid-stream: client data and FIN (sent three times, one letter), the server's ACK and FIN.
			`1 p6 172.16.11.12:64565>74.125.19.17:443 5/4 pkts 357/276 bytes SF "DFafA" 1:yGJvUz4hTKqIzO3Oxou4SNC10Uo=`,
			`2 p1 10.31.0.1:3942>10.34.0.1:3942 0/1 pkts 0/114 bytes OTH "^" 1:Nz9KgDbYGg3tccHSpWRE9BefLEg=`,
			`3 p6 172.16.11.12:64581>216.34.181.45:80 21/33 pkts 1867/45154 bytes S1 "ShADad" 1:I+zo6i1dmyhnXtwZSg3PxUbbeR4=`,
			`4 p2 235.247.89.226:0>224.0.0.1:0 3/0 pkts 180/0 bytes OTH "" 1:Ox9+2SMzP0BVeFrohaw7S95bhDU=`,
			`5 p17 172.16.11.12:54639>172.16.11.1:53 1/1 pkts 81/97 bytes SF "Dd" 1:2AZtk0x51k/7f69lE7CBGSQt1LU=`,
			`6 p17 172.16.11.12:59368>172.16.11.1:53 1/1 pkts 81/81 bytes SF "Dd" 1:2SNmCB4WUNdHVHXiKoAchFG+kbg=`,
			`7 p6 2001:4958:15a0:24:c1b3:b766:7fff:d0b3:43250>2606:4700::6812:69c:80 6/4 pkts 609/1023 bytes SF "ShADadFf" 1:0wf5tLceo+VL+lA2cLii9BRuaEc=`,
			`8 p6 172.16.11.12:64582>96.17.211.172:80 5/4 pkts 848/565 bytes S3 "ShADadf" 1:xA/vHF0kBxJ7k87bD346wgJrbP8=`,
			`9 p6 172.16.11.12:64583>96.17.211.172:80 6/5 pkts 1460/900 bytes S1 "ShADad" 1:LqoRCPESvioj2uJYBtM7sGjWscQ=`,
			// Port-unreachable errors for late DNS answers: one-way ICMP, one flow per host pair.
			`10 p1 172.16.11.12:0>172.16.11.1:0 6/0 pkts 420/0 bytes OTH "" 1:6R0nkPJmO0J2Nu5fNlOu9WJY4nA=`,
			`11 p6 172.16.11.12:64584>96.17.211.172:80 7/6 pkts 1531/4485 bytes S1 "ShADad" 1:vqCqeaLAIPAJSeSYvkQaaJ6Vcac=`,
			`12 p6 172.16.11.12:64585>96.17.211.172:80 6/4 pkts 1444/811 bytes S1 "ShADad" 1:Xv2IZinfcUv05ImeuHFM0Wv+Be4=`,
			`13 p88 10.1.2.2:0>224.0.0.10:0 1/0 pkts 74/0 bytes OTH "" 1:+n4qZTPJ0FEH/+26G/Xph5y2/8E=`,
			`14 p1 192.168.10.1:5>192.168.40.1:5 0/5 pkts 0/570 bytes OTH "^" 1:XzEL1jwRKvQ0NHiIani5vPvqu7w=`,
			`15 p17 172.16.11.12:60392>172.16.11.1:53 2/2 pkts 168/200 bytes SF "Dd" 1:J+zl3Kov75CQYGzDDIm3+GvqtmY=`,
			`16 p17 172.16.11.12:59222>172.16.11.1:53 1/1 pkts 76/162 bytes SF "Dd" 1:1Hf+KpGwu28PJ3+Mnb7z9WyeUUA=`,
			`17 p17 172.16.11.12:59925>172.16.11.1:53 1/1 pkts 76/146 bytes SF "Dd" 1:55et2grXNhFDaTqXQ+bjuE6KvCM=`,
			`18 p17 172.16.11.12:50282>172.16.11.1:53 1/1 pkts 79/95 bytes SF "Dd" 1:fuzvesjy2gIf3rb86gRSUN+Cd1U=`,
			`19 p17 172.16.11.12:57238>172.16.11.1:53 2/2 pkts 152/184 bytes SF "Dd" 1:SXHfUBfj8k1c8N9z2cHRV/Z1lgE=`,
			`20 p17 172.16.11.12:59785>172.16.11.1:53 1/1 pkts 86/102 bytes SF "Dd" 1:8vP5Vto2zy28T0j8PLNKkgBsYBg=`,
			`21 p17 172.16.11.12:51370>172.16.11.1:53 1/1 pkts 86/86 bytes SF "Dd" 1:8imsZSDTeLrDc9OZv2bYwzOeR4c=`,
			`22 p17 172.16.11.12:57360>172.16.11.1:53 1/1 pkts 81/97 bytes SF "Dd" 1:S4p2Gy9+bzWk9BbCH6kQJWRMCbg=`,
			`23 p17 172.16.11.12:56758>172.16.11.1:53 1/1 pkts 78/94 bytes SF "Dd" 1:7Xduug5je3imWO62bFTlw6UvBiM=`,
			`24 p17 172.16.11.12:51145>172.16.11.1:53 1/1 pkts 78/78 bytes SF "Dd" 1:EwNUmYryO5wYFbkhencCTizsQ64=`,
		}},
		// Plain GRE carrying TCP, UDP and ICMP: one GRE flow (no ports) parents them all.
		{"gre-ipv4-mixed.pcap", []string{
			`1 p47 172.27.1.66:0>66.59.109.137:0 21/19 pkts 3068/3663 bytes OTH "" 1:oOTmg3Toi6uG7waixDkGLxx1ZnI=`,
			`2 p1 66.59.111.190:52072>172.28.2.3:52072 4/4 pkts 488/488 bytes OTH "" 1:4qiuUiapfKrMDVDHhw0iOgvogqI= parent=1`,
			`3 p17 66.59.111.190:123>18.26.4.105:123 1/1 pkts 114/114 bytes SF "Dd" 1:veIAhY2jaBSkfqgIosmVNpCkTpE= parent=1`,
			`4 p6 66.59.111.190:40264>172.28.2.3:22 12/10 pkts 2040/2579 bytes SF "ShAdDaFf" 1:GvEAhAEKkdnTWFCXuw7HpDevs2w= parent=1`,
			`5 p17 66.59.111.190:37675>172.28.2.3:53 2/0 pkts 198/0 bytes S0 "D" 1:07ZQAeEnPuTfz/AxZbb/1SQ0Yvk= parent=1`,
			`6 p1 172.28.2.3:0>66.59.111.190:0 2/0 pkts 254/0 bytes OTH "" 1:bTAVApTgzlxwhyz+udTptSSnFcM= parent=1`,
			`7 p17 66.59.111.190:123>66.59.111.182:123 1/1 pkts 114/114 bytes SF "Dd" 1:tHxGdFYxUdQ1mRGmcwzADwdsxpk= parent=1`,
			`8 p17 66.59.111.190:123>129.170.17.4:123 1/1 pkts 114/114 bytes SF "Dd" 1:KjznBxr7r/2kBYUhYhbnV4xMJmc= parent=1`,
		}},
		// Five ICMP echoes of two IPv4 fragments each: the later fragments join their first
		// fragment's flow; the id is the one tshark gives the reassembled datagram.
		{"ipv4-fragments-large-icmp.pcap", []string{
			`1 p1 192.168.1.13:52744>192.168.1.100:52744 10/0 pkts 10620/0 bytes OTH "" 1:CKan8xqMKc9TTtUPK+cb8i35VMo=`,
		}},
		// IPv6 fragment headers: frames 6-8 (one answer in three fragments) are one flow's
		// three responder packets; frame 4, a lone last fragment of another datagram, is portless.
		{"ipv6-fragmented-dns.pcap", []string{
			`1 p17 2001:470:1f11:81f:d138:5f55:6d4:1fe2:51850>2607:f740:b::f93:53 1/1 pkts 135/385 bytes SF "Dd" 1:RFi26uxdTiJNmfOvQr7IFNZsfyo=`,
			`2 p17 2001:470:1f11:81f:d138:5f55:6d4:1fe2:51851>2607:f740:b::f93:53 2/3 pkts 272/3424 bytes SF "Dd" 1:IKFvWXWE1GGSaT+RGPwyTZBhELE=`,
			`3 p17 2607:f740:b::f93:0>2001:470:1f11:81f:d138:5f55:6d4:1fe2:0 1/0 pkts 404/0 bytes S0 "" 1:Zl/xJc57eKLprjbjJfy6mIBSWYw=`,
		}},
		// VXLAN nested three deep: each level is a flow keyed with the VNI around it, parented by
		// the level outside (tshark checked the outermost and innermost ids only).
		{"vxlan-triple-nested-dns.pcap", []string{
			`1 p17 1.1.1.1:4789>1.1.1.9:4789 1/0 pkts 221/0 bytes S0 "D" 1:BoQQeZ7/DCGMyRSQkNZ1tFrznQE=`,
			`2 p17 2.2.2.2:4789>2.2.2.9:4789 vni=1 1/0 pkts 221/0 bytes S0 "D" 1:wQg6nElnEPL05ixbGDjXcbbdRMg= parent=1`,
			`3 p17 3.3.3.3:4789>3.3.3.9:4789 vni=2 1/0 pkts 221/0 bytes S0 "D" 1:WKFlSVIggh/O4hCxygQmh5s5aWI= parent=2`,
			`4 p17 4.4.4.4:53>4.4.4.9:53 vni=3 1/0 pkts 221/0 bytes S0 "D" 1:DgHc2YXYAhc7xL+TAMscLD1adTY= parent=3`,
		}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			tb := NewTable(Config{})
			readCapture(t, tb, filepath.Join(dir, c.file), 0)
			tb.Flush()
			recs := tb.Records()
			if len(recs) != len(c.want) {
				t.Errorf("%d flows, want %d", len(recs), len(c.want))
			}
			for i := range recs {
				checkRecord(t, &recs[i])
				got := flowLine(&recs[i])
				if i < len(c.want) && got != c.want[i] {
					t.Errorf("flow %d:\n got  %s\n want %s", i+1, got, c.want[i])
				}
				if recs[i].Retransmits() != 0 || recs[i].ZeroWindows() != 0 {
					t.Errorf("flow %d: %d retransmissions, %d zero windows; tshark saw none with payload",
						recs[i].ID, recs[i].Retransmits(), recs[i].ZeroWindows())
				}
			}
		})
	}
}
