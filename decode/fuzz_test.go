package decode

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stackflow/stackflow/internal/testenv"
)

// FuzzDecode feeds arbitrary bytes under every link type to Decode. Decode must never panic
// (its recover would hide one, so the fuzzer checks Stats().Panics), and what it returns must
// be consistent with the input.
func FuzzDecode(f *testing.F) {
	for _, link := range []uint16{LinkTypeEthernet, LinkTypeRaw, LinkTypeCiscoHDLC, LinkTypePPP, LinkTypeLinuxSLL2} {
		f.Add(unhex(f, map[uint16]string{LinkTypeEthernet: ethHdr, LinkTypeCiscoHDLC: "0f 00 08 00",
			LinkTypePPP: "ff 03 00 21", LinkTypeLinuxSLL2: "08 00 00 00 00 00 00 02 00 01 04 06 02 00 00 00 00 01 00 00"}[link]+ip4UDP), link)
	}
	// every packet of the public captures, when present
	if dir, err := testenv.Captures(); err == nil {
		names, _ := filepath.Glob(filepath.Join(dir, "*.pcap*"))
		for _, n := range names {
			if strings.HasPrefix(filepath.Base(n), "bad-truncated") {
				continue // pcapgo cannot open it; pcapio's fuzzer covers the framing
			}
			for _, fr := range readCapture(f, filepath.Base(n)) {
				f.Add(fr.data, fr.link)
			}
		}
	}
	d := NewDecoder(Options{})
	f.Fuzz(func(t *testing.T, data []byte, link uint16) {
		var p Packet
		d.Decode(data, link, uint32(len(data))+uint32(link&1)*64, &p)
		if n := d.Stats().Panics; n != 0 {
			t.Fatalf("decoder panicked: %v", p.Err)
		}
		if p.NTunnels > MaxTunnels || p.NVLAN > 2 || p.PayloadHashLen > 16 || len(p.Payload) > len(data) {
			t.Fatalf("inconsistent packet %+v", p)
		}
		if (p.Fingerprint != 0) != p.HasIP || (p.HeaderFingerprint != 0) != p.HasIP {
			t.Fatalf("fingerprint %x without IP (%v)", p.Fingerprint, p.HasIP)
		}
		if p.HasIP && int(p.IPOffset) >= len(data) {
			t.Fatalf("ip offset %d beyond %d bytes", p.IPOffset, len(data))
		}
		if p.Err != nil && (p.Err.Severity > SevMalformed || p.Err.Offset < 0 || p.Err.Offset > len(data) || p.Err.Error() == "") {
			t.Fatalf("bad error %+v", p.Err)
		}
		if tcp := d.TCP(); tcp != nil && (p.Layers&HasTCP == 0 || p.Inner.Proto != 6 || tcp.Seq != p.TCPSeq) {
			t.Fatalf("TCP() seq %d disagrees with the packet: layers %s seq %d", tcp.Seq, p.Layers, p.TCPSeq)
		}
	})
}
