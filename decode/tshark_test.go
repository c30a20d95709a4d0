package decode

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stackflow/stackflow/internal/testenv"
)

// tsharkBits maps tshark protocol names to the layer bits the Decoder sets for them.
var tsharkBits = map[string]LayerSet{
	"eth": HasEthernet, "vlan": HasVLAN, "ip": HasIPv4, "ipv6": HasIPv6, "tcp": HasTCP,
	"udp": HasUDP, "icmp": HasICMP, "icmpv6": HasICMP, "vxlan": HasVXLAN, "geneve": HasGeneve,
	"gre": HasGRE, "erspan": HasERSPAN, "arp": HasARP, "sll": HasSLL, "ppp": HasPPP,
	"chdlc": HasCHDLC, "dns": HasDNS,
}

// tsharkStop lists protocols the Decoder deliberately does not look inside; tshark's
// protocols after them are not compared. ICMP errors quote a packet, which is fingerprinted
// but not counted as present; MPLS and the rest are outside stackflow's scope.
var tsharkStop = map[string]bool{"icmp": true, "icmpv6": true, "mpls": true, "llc": true, "loop": true}

// comparableBits are the bits tshark can confirm (NVGRE shows as plain "gre" in tshark 4.0,
// fragments are not a protocol, BGP is the BGP stage's).
const comparableBits = HasEthernet | HasVLAN | HasIPv4 | HasIPv6 | HasTCP | HasUDP | HasICMP |
	HasVXLAN | HasGeneve | HasGRE | HasERSPAN | HasARP | HasSLL | HasPPP | HasCHDLC | HasDNS

// expectedBits turns a frame.protocols string into the layer bits the Decoder should set.
func expectedBits(protocols string) LayerSet {
	var want LayerSet
	for _, p := range strings.Split(protocols, ":") {
		want |= tsharkBits[p]
		if tsharkStop[p] {
			break
		}
	}
	return want
}

// TestProtocolsMatchTshark compares, packet by packet, the protocols the Decoder finds in
// every public capture with tshark's dissection recorded in testdata/tshark-protocols.txt.
// It is the broadest check of link types, tunnels and demux tables against an independent
// implementation.
func TestProtocolsMatchTshark(t *testing.T) {
	testenv.CapturesOrSkip(t)
	f, err := os.Open(filepath.Join("testdata", "tshark-protocols.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := map[string]map[int]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) != 3 {
			continue
		}
		n, _ := strconv.Atoi(fs[1])
		if want[fs[0]] == nil {
			want[fs[0]] = map[int]string{}
		}
		want[fs[0]][n] = fs[2]
	}
	if len(want) < 30 {
		t.Fatalf("oracle covers %d captures, expected the whole public set", len(want))
	}
	for name, frames := range want {
		t.Run(name, func(t *testing.T) {
			_, pkts := decodeCapture(t, name, Options{})
			if len(pkts) != len(frames) {
				t.Fatalf("decoded %d packets, tshark saw %d", len(pkts), len(frames))
			}
			bad := 0
			for i, p := range pkts {
				protos := frames[i+1]
				exp, got := expectedBits(protos), p.Layers&comparableBits
				if exp != got {
					bad++
					if bad <= 5 {
						t.Errorf("packet %d: tshark %q -> %s, decoder %s (err %v)",
							i+1, protos, exp, got, p.Err)
					}
				}
			}
			if bad > 5 {
				t.Errorf("%d packets differ in all", bad)
			}
		})
	}
}

// tsharkFields reads testdata/tshark-fields.txt: per capture, per frame number, each field's
// occurrences in dissection order.
func tsharkFields(t *testing.T) map[string]map[int]map[string][]string {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "tshark-fields.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]map[int]map[string][]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) < 2 {
			continue
		}
		n, _ := strconv.Atoi(cols[1])
		fields := map[string][]string{}
		for _, c := range cols[2:] {
			k, v, _ := strings.Cut(c, "=")
			fields[k] = strings.Split(v, ",")
		}
		if out[cols[0]] == nil {
			out[cols[0]] = map[int]map[string][]string{}
		}
		out[cols[0]][n] = fields
	}
	return out
}

// last returns the innermost occurrence of a field, "" when absent.
func last(f map[string][]string, name string) string {
	if v := f[name]; len(v) > 0 {
		return v[len(v)-1]
	}
	return ""
}

// num parses a decimal or 0x-prefixed tshark number.
func num(t *testing.T, s string) uint64 {
	t.Helper()
	v, err := strconv.ParseUint(s, 0, 64)
	if err != nil {
		t.Fatalf("tshark value %q: %v", s, err)
	}
	return v
}

// TestFieldsMatchTshark checks the decoded innermost IP and transport fields, tunnel
// identifiers, VLAN tags and truncation flags of every packet in the public captures against
// tshark's dissection (testdata/tshark-fields.txt).
func TestFieldsMatchTshark(t *testing.T) {
	testenv.CapturesOrSkip(t)
	oracle := tsharkFields(t)
	for name, frames := range oracle {
		t.Run(name, func(t *testing.T) {
			_, pkts := decodeCapture(t, name, Options{})
			checked := 0
			for i := range pkts {
				p, f := &pkts[i], frames[i+1]
				if len(f["mpls.label"]) > 0 {
					continue // the Decoder does not look inside MPLS
				}
				errorf := func(format string, args ...any) {
					t.Helper()
					t.Errorf("packet %d: "+format, append([]any{i + 1}, args...)...)
				}
				checkTunnels(t, p, f, errorf)
				if short := len(f["_ws.short"]) > 0; short && (p.Err == nil || p.Err.Severity != SevTruncated) {
					errorf("tshark says truncated, decoder error %v", p.Err)
				}
				if !p.HasIP {
					if len(f["ip.src"])+len(f["ipv6.src"]) > 0 {
						errorf("tshark has IP, decoder none")
					}
					continue
				}
				if p.Layers&HasICMP != 0 && isICMPError(p.ICMPType, p.IPVersion) {
					// tshark lists the quoted header as the innermost one
					if got, want := strconv.Itoa(int(p.ICMPType)), last(f, map[uint8]string{4: "icmp.type", 6: "icmpv6.type"}[p.IPVersion]); got != want {
						errorf("icmp error type %s, tshark %s", got, want)
					}
					checked++
					continue
				}
				checkIP(t, p, f, errorf)
				checkTransport(t, p, f, errorf)
				checked++
			}
			t.Logf("%d of %d packets compared", checked, len(pkts))
		})
	}
}

func checkTunnels(t *testing.T, p *Packet, f map[string][]string, errorf func(string, ...any)) {
	t.Helper()
	var vxlan, geneve, keys []uint64
	for _, tu := range p.Tunnels[:p.NTunnels] {
		switch tu.Type {
		case TunnelVXLAN:
			vxlan = append(vxlan, uint64(tu.VNI))
		case TunnelGeneve:
			geneve = append(geneve, uint64(tu.VNI))
		}
		if tu.HasKey {
			keys = append(keys, uint64(tu.Key))
		}
	}
	for _, c := range []struct {
		field string
		got   []uint64
	}{{"vxlan.vni", vxlan}, {"geneve.vni", geneve}, {"gre.key", keys}} {
		want := f[c.field]
		if len(want) != len(c.got) {
			errorf("%s: decoder %v, tshark %v", c.field, c.got, want)
			continue
		}
		for j := range want {
			if num(t, want[j]) != c.got[j] {
				errorf("%s: decoder %v, tshark %v", c.field, c.got, want)
			}
		}
	}
	if tags := f["vlan.id"]; int(p.NVLAN) > len(tags) || (len(tags) > 0 && p.NVLAN == 0 && p.Layers&HasVLAN == 0) {
		errorf("vlans %v, tshark %v", p.VLANs[:p.NVLAN], tags)
	} else {
		for j := range int(p.NVLAN) {
			if num(t, tags[j]) != uint64(p.VLANs[j]) {
				errorf("vlans %v, tshark %v", p.VLANs[:p.NVLAN], tags)
			}
		}
	}
}

func checkIP(t *testing.T, p *Packet, f map[string][]string, errorf func(string, ...any)) {
	t.Helper()
	src, dst, ttl := "ip.src", "ip.dst", "ip.ttl"
	if p.IPVersion == 6 {
		src, dst, ttl = "ipv6.src", "ipv6.dst", "ipv6.hlim"
	}
	if got, want := p.Inner.Src.String(), last(f, src); got != want {
		errorf("src %s, tshark %s", got, want)
	}
	if got, want := p.Inner.Dst.String(), last(f, dst); got != want {
		errorf("dst %s, tshark %s", got, want)
	}
	if got, want := uint64(p.TTL), num(t, last(f, ttl)); got != want {
		errorf("ttl %d, tshark %d", got, want)
	}
	if p.IPVersion == 4 {
		if got, want := uint64(p.IPID), num(t, last(f, "ip.id")); got != want {
			errorf("ip id %d, tshark %d", got, want)
		}
		if got, want := uint64(p.IPLen), num(t, last(f, "ip.len")); got != want {
			errorf("ip len %d, tshark %d", got, want)
		}
	}
}

func checkTransport(t *testing.T, p *Packet, f map[string][]string, errorf func(string, ...any)) {
	t.Helper()
	eq := func(what string, got uint64, field string) {
		t.Helper()
		if w := last(f, field); w == "" {
			errorf("%s %d, tshark has no %s", what, got, field)
		} else if want := num(t, w); got != want {
			errorf("%s %d, tshark %d", what, got, want)
		}
	}
	switch {
	case p.FragOffset != 0:
		if len(f["tcp.srcport"])+len(f["udp.srcport"]) > 0 && p.NTunnels == 0 {
			errorf("non-first fragment, but tshark found a transport header")
		}
	case p.Inner.Proto == 6 && p.Layers&HasTCP != 0:
		eq("tcp src port", uint64(p.Inner.SrcPort), "tcp.srcport")
		eq("tcp dst port", uint64(p.Inner.DstPort), "tcp.dstport")
		eq("tcp payload length", uint64(p.PayloadLen), "tcp.len")
		eq("tcp seq", uint64(p.TCPSeq), "tcp.seq_raw")
		eq("tcp ack", uint64(p.TCPAck), "tcp.ack_raw")
		if w := last(f, "tcp.flags"); uint64(p.TCPFlags) != num(t, w)&0xff {
			errorf("tcp flags %#x, tshark %s", p.TCPFlags, w)
		}
		if p.HasTS != (last(f, "tcp.options.timestamp.tsval") != "") {
			errorf("tcp timestamps present %v, tshark %q", p.HasTS, last(f, "tcp.options.timestamp.tsval"))
		} else if p.HasTS {
			eq("tsval", uint64(p.TSVal), "tcp.options.timestamp.tsval")
			eq("tsecr", uint64(p.TSEcr), "tcp.options.timestamp.tsecr")
		}
		if p.MSS != 0 {
			eq("mss", uint64(p.MSS), "tcp.options.mss_val")
		}
		if p.HasWScale {
			eq("window scale", uint64(p.WScale), "tcp.options.wscale.shift")
		}
	case p.Inner.Proto == 17 && p.Layers&HasUDP != 0:
		eq("udp src port", uint64(p.Inner.SrcPort), "udp.srcport")
		eq("udp dst port", uint64(p.Inner.DstPort), "udp.dstport")
		if !p.MoreFrags {
			eq("udp payload length + 8", uint64(p.PayloadLen)+8, "udp.length")
		}
	case p.Inner.Proto == 1 && p.Layers&HasICMP != 0:
		eq("icmp type", uint64(p.ICMPType), "icmp.type")
		eq("icmp code", uint64(p.ICMPCode), "icmp.code")
		if isEcho(p.ICMPType, 4) {
			eq("icmp echo id", uint64(p.Inner.SrcPort), "icmp.ident")
			eq("icmp echo seq", uint64(p.ICMPSeq), "icmp.seq")
		}
	case p.Inner.Proto == 58 && p.Layers&HasICMP != 0:
		eq("icmpv6 type", uint64(p.ICMPType), "icmpv6.type")
		eq("icmpv6 code", uint64(p.ICMPCode), "icmpv6.code")
		if isEcho(p.ICMPType, 6) {
			eq("icmpv6 echo id", uint64(p.Inner.SrcPort), "icmpv6.echo.identifier")
			eq("icmpv6 echo seq", uint64(p.ICMPSeq), "icmpv6.echo.sequence_number")
		}
	}
}
