package conn

import (
	"net/netip"
	"testing"

	"github.com/stackflow/stackflow/decode"
)

// Vectors from the Community ID spec's baseline (corelight/community-id-spec,
// baseline/baseline_deflt.json and baseline_seed1.json). For ICMP the baseline lists the port
// equivalents; here the message's type and code are given instead, which is what the flow
// table has, so these cases also check the type/code mapping.
func TestCommunityIDVectors(t *testing.T) {
	type vec struct {
		name       string
		proto      uint8
		src, dst   string
		sport      uint16 // ICMP: type
		dport      uint16 // ICMP: code
		seed0      string
		seed1      string
		whyItExist string
	}
	cases := []vec{
		{"tcp-v4", 6, "128.232.110.120", "66.35.250.204", 34855, 80,
			"1:LQU9qZlK+B5F3KDmev6m5PMibrg=", "1:3V71V58M3Ksw/yuFALMcW0LAHvc=", "the spec's headline vector"},
		{"tcp-v4-reverse", 6, "66.35.250.204", "128.232.110.120", 80, 34855,
			"1:LQU9qZlK+B5F3KDmev6m5PMibrg=", "1:3V71V58M3Ksw/yuFALMcW0LAHvc=", "both directions hash alike"},
		{"udp-v4", 17, "192.168.1.52", "8.8.8.8", 54585, 53,
			"1:d/FP5EW3wiY1vCndhwleRRKHowQ=", "1:Q9We8WO3piVF8yEQBNJF4uiSVrI=", "UDP ports"},
		{"udp-v4-reverse", 17, "8.8.8.8", "192.168.1.52", 53, 54585,
			"1:d/FP5EW3wiY1vCndhwleRRKHowQ=", "1:Q9We8WO3piVF8yEQBNJF4uiSVrI=", "ordering when the source is higher"},
		{"tcp-v6", 6, "2001:470:e5bf:dead:4957:2174:e82c:4887", "2607:f8b0:400c:c03::1a", 63943, 25,
			"1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=", "1:eJYTW6AOzFLlSUoESovMjnu7rMw=", "16-byte addresses"},
		{"tcp-v6-reverse", 6, "2607:f8b0:400c:c03::1a", "2001:470:e5bf:dead:4957:2174:e82c:4887", 25, 63943,
			"1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=", "1:eJYTW6AOzFLlSUoESovMjnu7rMw=", "IPv6 ordering"},
		{"sctp", 132, "192.168.170.8", "192.168.170.56", 7, 7,
			"1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=", "1:5w3ZRjeKBzqT3zsaEECDGjUbYeg=", "SCTP keeps ports"},
		{"rsvp-no-ports", 46, "10.1.12.1", "10.1.12.2", 0, 0,
			"1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=", "1:rYir8gphR31noO9iDRQmF/BteEI=", "a protocol without ports hashes no ports"},
		{"rsvp-no-ports-reverse", 46, "10.1.12.2", "10.1.12.1", 0, 0,
			"1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=", "1:rYir8gphR31noO9iDRQmF/BteEI=", "and orders by address alone"},
		{"icmp-echo-request", 1, "192.168.0.89", "192.168.0.1", 8, 0,
			"1:X0snYXpgwiv9TZtqg64sgzUn6Dk=", "1:03g6IloqVBdcZlPyX8r0hgoE7kA=", "echo request maps to ports 8/0"},
		{"icmp-echo-reply", 1, "192.168.0.1", "192.168.0.89", 0, 0,
			"1:X0snYXpgwiv9TZtqg64sgzUn6Dk=", "1:03g6IloqVBdcZlPyX8r0hgoE7kA=", "the reply hashes like its request"},
		{"icmp-time-exceeded", 1, "10.0.0.1", "10.0.0.2", 11, 0,
			"1:YHxtAirCG//0OzkcVAukqKQN9xM=", "1:XjUibYHaafLQ3pxQeiMI8g25q20=", "one-way: type and code as ports"},
		{"icmp6-neighbor-solicit", 58, "fe80::200:86ff:fe05:80da", "fe80::260:97ff:fe07:69ea", 135, 0,
			"1:dGHyGvjMfljg6Bppwm3bg0LO8TY=", "1:kHa1FhMYIT6Ym2Vm2AOtoOARDzY=", "NS maps to NA"},
		{"icmp6-neighbor-advert", 58, "fe80::260:97ff:fe07:69ea", "fe80::200:86ff:fe05:80da", 136, 0,
			"1:dGHyGvjMfljg6Bppwm3bg0LO8TY=", "1:kHa1FhMYIT6Ym2Vm2AOtoOARDzY=", "the NA answering it hashes alike"},
		{"icmp6-ns-other-way", 58, "fe80::260:97ff:fe07:69ea", "fe80::200:86ff:fe05:80da", 135, 0,
			"1:zavyT/cezQr1fmImYCwYnMXbgck=", "1:2hSqmsDZ2kdcY9kbiUzOEBic0iM=", "a solicitation the other way is another flow"},
		{"icmp6-time-exceeded", 58, "3ffe:501:1800:2345::2", "3ffe:507:0:1:200:86ff:fe05:80da", 3, 0,
			"1:2ObVBgIn28oZvibYZhZMBgh7WdQ=", "1:lVEtCZpYu84Xqaa++3lXFyuu2n4=", "ICMPv6 one-way"},
		{"icmp6-unreachable-code4", 58, "3ffe:501:410:0:2c0:dfff:fe47:33e", "3ffe:507:0:1:200:86ff:fe05:80da", 1, 4,
			"1:hLZd0XGWojozrvxqE0dWB1iM6R0=", "1:W8MHwXpWzpoSTD+cGcaJr4u0ys8=", "one-way keeps the code"},
		{"icmp6-echo", 58, "3ffe:507:0:1:200:86ff:fe05:80da", "3ffe:501:0:1001::2", 128, 0,
			"1:+TW+HtLHvV1xnGhV1lv7XoJrqQg=", "1:GfZxjAkDk2MkegpBYHV6tadtFXQ=", "ICMPv6 echo"},
		{"icmp6-echo-reply", 58, "3ffe:501:0:1001::2", "3ffe:507:0:1:200:86ff:fe05:80da", 129, 0,
			"1:+TW+HtLHvV1xnGhV1lv7XoJrqQg=", "1:GfZxjAkDk2MkegpBYHV6tadtFXQ=", "its reply"},
		{"icmp6-router-solicit", 58, "fe80::200:86ff:fe05:80da", "ff02::2", 133, 0,
			"1:hO+sN4H+MG5MY/8hIrXPqc4ZQz0=", "1:L7Ka0ZMYu+J3bL4ulW2PrqyXNo8=", "RS to a multicast group"},
		{"icmp6-router-advert", 58, "fe80::260:97ff:fe07:69ea", "ff02::1", 134, 0,
			"1:pkvHqCL88/tg1k4cPigmZXUtL00=", "1:K/ee5UCqAMAQXDorP5nSa2CGLjc=", "RA maps back to RS"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tu := decode.Tuple{Src: netip.MustParseAddr(c.src), Dst: netip.MustParseAddr(c.dst), Proto: c.proto}
			var typ, code uint8
			if c.proto == ProtoICMP || c.proto == ProtoICMPv6 {
				typ, code = uint8(c.sport), uint8(c.dport)
			} else {
				tu.SrcPort, tu.DstPort = c.sport, c.dport
			}
			if got := CommunityID(0, tu, typ, code); got != c.seed0 {
				t.Errorf("seed 0: got %s, want %s (%s)", got, c.seed0, c.whyItExist)
			}
			if got := CommunityID(1, tu, typ, code); got != c.seed1 {
				t.Errorf("seed 1: got %s, want %s (%s)", got, c.seed1, c.whyItExist)
			}
		})
	}
}

func TestCommunityIDInvalid(t *testing.T) {
	// Mixed families and missing addresses cannot be hashed; they must not panic either.
	for name, tu := range map[string]decode.Tuple{
		"zero":  {},
		"mixed": {Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("::1"), Proto: 6},
	} {
		if got := CommunityID(0, tu, 0, 0); got != "" {
			t.Errorf("%s: got %q, want empty", name, got)
		}
	}
}

func TestCommunityIDNoAllocs(t *testing.T) {
	// The digest is computed on the flow-creation path; it should not allocate.
	a, b := netip.MustParseAddr("10.0.0.1").As16(), netip.MustParseAddr("10.0.0.2").As16()
	n := testing.AllocsPerRun(100, func() {
		_ = communityDigest(0, true, &a, &b, 6, 1, 2, 0, 0, true)
	})
	if n != 0 {
		t.Errorf("communityDigest allocates %v times", n)
	}
}
