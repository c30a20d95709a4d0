package decode

import (
	"errors"
	"net/netip"
	"testing"
)

// TestLinkTypes decodes the same IPv4 or IPv6 datagram behind every supported link header.
func TestLinkTypes(t *testing.T) {
	cases := []struct {
		name   string
		link   uint16
		hdr    string
		ip6    bool
		layers LayerSet
		why    string
	}{
		{"ethernet", LinkTypeEthernet, ethHdr, false, HasEthernet, "the common case"},
		{"sll", LinkTypeLinuxSLL, "00 00 00 01 00 06 02 00 00 00 00 01 00 00 08 00", false, HasSLL, "tcpdump -i any (v1): protocol at bytes 14-15"},
		{"sll2", LinkTypeLinuxSLL2, "08 00 00 00 00 00 00 02 00 01 04 06 02 00 00 00 00 01 00 00", false, HasSLL, "tcpdump -i any on newer libpcap: protocol first"},
		{"sll2-ipv6", LinkTypeLinuxSLL2, "86 dd 00 00 00 00 00 02 00 01 00 06 02 00 00 00 00 01 00 00", true, HasSLL, "SLL2 carrying IPv6"},
		{"null-le-ipv4", LinkTypeNull, "02 00 00 00", false, 0, "BSD loopback written on a little-endian host"},
		{"null-be-ipv4", LinkTypeNull, "00 00 00 02", false, 0, "... and on a big-endian host"},
		{"null-ipv6-24", LinkTypeNull, "18 00 00 00", true, 0, "AF_INET6 on NetBSD/OpenBSD"},
		{"null-ipv6-28", LinkTypeNull, "00 00 00 1c", true, 0, "AF_INET6 on FreeBSD, big-endian"},
		{"null-ipv6-30", LinkTypeNull, "1e 00 00 00", true, 0, "AF_INET6 on macOS"},
		{"loop", LinkTypeLoop, "00 00 00 02", false, 0, "OpenBSD loop: network byte order"},
		{"ppp", LinkTypePPP, "00 21", false, HasPPP, "PPP without address/control (ns-3)"},
		{"ppp-hdlc-field", LinkTypePPP, "ff 03 00 57", true, HasPPP, "LINKTYPE_PPP with 0xff03 present"},
		{"ppp-hdlc", LinkTypePPPHDLC, "ff 03 00 21", false, HasPPP, "LINKTYPE_PPP_HDLC"},
		{"chdlc", LinkTypeCiscoHDLC, "0f 00 08 00", false, HasCHDLC, "Cisco HDLC, as in the BGP capture"},
		{"chdlc-ipv6", LinkTypeCiscoHDLC, "8f 00 86 dd", true, HasCHDLC, "Cisco HDLC with IPv6"},
		{"raw-101", LinkTypeRaw, "", false, 0, "raw IP: version from the first nibble"},
		{"raw-101-v6", LinkTypeRaw, "", true, 0, "raw IPv6"},
		{"raw-12", LinkTypeRawDLT12, "", false, 0, "DLT_RAW as numbered on most systems"},
		{"raw-14", LinkTypeRawDLT14, "", true, 0, "DLT_RAW as numbered on OpenBSD"},
		{"ipv4", LinkTypeIPv4, "", false, 0, "LINKTYPE_IPV4"},
		{"ipv6", LinkTypeIPv6, "", true, 0, "LINKTYPE_IPV6"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Log(c.why)
			ip := ip4UDP
			wantSrc, wantLayer := "10.0.0.1", HasIPv4
			if c.ip6 {
				ip, wantSrc, wantLayer = ip6UDP, "2001:db8::1", HasIPv6
			}
			data := unhex(t, c.hdr+ip)
			if !LinkSupported(c.link) {
				t.Fatalf("link type %d not supported", c.link)
			}
			var p Packet
			NewDecoder(Options{}).Decode(data, c.link, uint32(len(data)), &p)
			want := c.layers | wantLayer | HasUDP | HasDNS
			if p.Err != nil || p.Layers != want {
				t.Fatalf("layers %s, want %s (err %v)", p.Layers, want, p.Err)
			}
			if p.Inner.Src != netip.MustParseAddr(wantSrc) || p.Inner.SrcPort != 12345 || p.Inner.DstPort != 53 ||
				p.PayloadLen != 4 || string(p.Payload) != "abcd" || p.TTL != 64 {
				t.Errorf("inner %+v payload %q ttl %d", p.Inner, p.Payload, p.TTL)
			}
			if int(p.IPOffset) != len(data)-len(unhex(t, ip)) {
				t.Errorf("ip offset %d", p.IPOffset)
			}
		})
	}
}

// TestLinkErrors covers link-level input that cannot be decoded.
func TestLinkErrors(t *testing.T) {
	cases := []struct {
		name    string
		link    uint16
		hex     string
		short   bool // captured shorter than the wire length
		sev     Severity
		kind    error
		proto   string
		offset  int
		layers  LayerSet
		wantErr bool
		why     string
	}{
		{"unsupported", 147, ip4UDP, false, SevMalformed, ErrUnsupported, "link", 0, 0, true, "a user-defined DLT: counted, not decoded"},
		{"raw-bad-nibble", LinkTypeRaw, "50 00 00 00", false, SevMalformed, ErrMalformed, "raw", 0, 0, true, "IP version 5 does not exist"},
		{"raw-empty", LinkTypeRaw, "", false, SevMalformed, ErrMalformed, "raw", 0, 0, true, "a zero-length frame"},
		{"ethernet-snapped", LinkTypeEthernet, "02 00 00 00 00 02 02 00", true, SevTruncated, ErrTruncated, "ethernet", 0, 0, true, "snap length inside the MAC header"},
		{"ethernet-runt", LinkTypeEthernet, "02 00 00 00 00 02 02 00", false, SevMalformed, ErrMalformed, "ethernet", 0, 0, true, "the same 8 bytes were all there was on the wire"},
		{"null-family", LinkTypeNull, "07 00 00 00" + ip4UDP, false, 0, nil, "", 0, 0, false, "an address family we do not follow: decoded as far as known, no error"},
		{"null-garbage", LinkTypeNull, "01 02 03 04" + ip4UDP, false, SevMalformed, ErrMalformed, "null", 0, 0, true, "neither byte order gives a family"},
		{"sll-arp", LinkTypeLinuxSLL, "00 00 00 01 00 06 02 00 00 00 00 01 00 00 08 06 00 01", false, 0, nil, "", 0, HasSLL | HasARP, false, "ARP is marked, not decoded"},
		{"vlan-snapped", LinkTypeEthernet, "02 00 00 00 00 02 02 00 00 00 00 01 81 00 00", true, SevTruncated, ErrTruncated, "vlan", 14, HasEthernet, true, "snap length inside the 802.1Q tag: offset after the MAC header"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Log(c.why)
			data := unhex(t, c.hex)
			orig := uint32(len(data))
			if c.short {
				orig += 100
			}
			d := NewDecoder(Options{})
			var p Packet
			d.Decode(data, c.link, orig, &p)
			if c.layers != 0 && p.Layers != c.layers {
				t.Errorf("layers %s, want %s", p.Layers, c.layers)
			}
			if !c.wantErr {
				if p.Err != nil {
					t.Errorf("unexpected error %v", p.Err)
				}
				return
			}
			if p.Err == nil {
				t.Fatal("no error")
			}
			if p.Err.Severity != c.sev || !errors.Is(p.Err, c.kind) || p.Err.Proto != c.proto || p.Err.Offset != c.offset {
				t.Errorf("error %q severity %s proto %s offset %d", p.Err, p.Err.Severity, p.Err.Proto, p.Err.Offset)
			}
			var e *Error
			if !errors.As(error(p.Err), &e) || e.Error() == "" {
				t.Error("pkt.Err should be an *Error with a message")
			}
			if c.kind == ErrUnsupported && d.Stats().Unsupported != 1 {
				t.Errorf("stats %+v", d.Stats())
			}
		})
	}
}
