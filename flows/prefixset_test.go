package flows

import (
	"net/netip"
	"testing"
)

// TestPrefixSet: longest match wins, families stay apart, removal forgets a length once its
// last prefix goes, and a set of 100k prefixes answers without scanning them.
func TestPrefixSet(t *testing.T) {
	var s prefixSet
	for _, p := range []string{"10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "192.168.102.4/32", "2001:db8::/32", "::/0"} {
		s.add(netip.MustParsePrefix(p))
	}
	cases := []struct{ addr, want string }{
		{"10.1.2.3", "10.1.2.0/24"},           // the longest of three nested prefixes
		{"10.1.9.9", "10.1.0.0/16"},           // the next one out
		{"10.200.0.1", "10.0.0.0/8"},          // the widest
		{"192.168.102.4", "192.168.102.4/32"}, // a VIP /32
		{"192.168.102.5", ""},                 // a neighbour of the VIP is not in it
		{"2001:db8::1", "2001:db8::/32"},      // IPv6
		{"2001:db9::1", "::/0"},               // IPv6 default route; IPv4 lengths don't apply
		{"172.16.0.1", ""},                    // ::/0 does not cover IPv4
	}
	for _, c := range cases {
		got, ok := s.match(netip.MustParseAddr(c.addr))
		if (c.want == "") == ok || ok && got.String() != c.want {
			t.Errorf("match(%s) = %v %v, want %q", c.addr, got, ok, c.want)
		}
	}
	s.remove(netip.MustParsePrefix("10.1.2.0/24"))
	if got, _ := s.match(netip.MustParseAddr("10.1.2.3")); got.String() != "10.1.0.0/16" {
		t.Errorf("after removing the /24: %v", got)
	}
	if s.len() != 5 || len(s.lens) != 5 {
		t.Errorf("len %d, lengths %v", s.len(), s.lens)
	}
	var big prefixSet
	for i := 0; i < 100000; i++ {
		big.add(netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(i >> 16), byte(i >> 8), byte(i), 0}), 24))
	}
	if n := testing.AllocsPerRun(100, func() { big.match(netip.MustParseAddr("0.1.2.3")) }); n != 0 {
		t.Errorf("match allocates %v times", n)
	}
	if p, ok := big.match(netip.MustParseAddr("1.134.159.77")); !ok || p.String() != "1.134.159.0/24" {
		t.Errorf("big match: %v %v", p, ok)
	}
}
