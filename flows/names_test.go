package flows

import (
	"net/netip"
	"strings"
	"testing"
)

// TestParseNames covers the names file: addresses (IPv4, IPv6, mapped), MACs, roles, comments,
// and errors that name the line.
func TestParseNames(t *testing.T) {
	good := `# Azure Stack PoC
192.168.200.10   ClientVM   client
192.168.200.1    NATVM      nat,router   # two roles
00:15:5d:64:00:04 MuxVM     mux
::ffff:10.0.0.4  PortalVM
fe80::1          LinkLocal
`
	nt, err := ParseNames(strings.NewReader(good), "names.txt")
	if err != nil {
		t.Fatal(err)
	}
	if e := nt.Addrs[netip.MustParseAddr("192.168.200.1")]; e.Name != "NATVM" || len(e.Roles) != 2 {
		t.Errorf("NATVM entry %+v", e)
	}
	if e := nt.Addrs[netip.MustParseAddr("10.0.0.4")]; e.Name != "PortalVM" {
		t.Errorf("v4-mapped address not unmapped: %+v", nt.Addrs)
	}
	if e := nt.MACs[[6]byte{0, 0x15, 0x5d, 0x64, 0, 4}]; e.Name != "MuxVM" {
		t.Errorf("MAC entry %+v", e)
	}
	bad := []struct {
		in, want string
	}{
		{"10.0.0.1\n", "names.txt:1: want `ADDRESS-OR-MAC NAME [ROLES]`"},            // name missing
		{"\n\nfoo Bar\n", "names.txt:3: \"foo\" is neither an IP address nor a MAC"}, // line numbers count blanks
		{"10.0.0.1 A mux,pilot\n", "names.txt:1: unknown role \"pilot\""},
		{"10.0.0.1 A b c\n", "names.txt:1: want"}, // too many fields
	}
	for _, c := range bad {
		_, err := ParseNames(strings.NewReader(c.in), "names.txt")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseNames(%q) = %v, want error containing %q", c.in, err, c.want)
		}
	}
}

// FuzzParseNames: any input parses or fails cleanly, never panics.
func FuzzParseNames(f *testing.F) {
	f.Add("192.168.200.10 ClientVM client\n00:15:5d:64:00:04 MuxVM mux\n")
	f.Add("# c\n\n::1 lo\n")
	f.Fuzz(func(t *testing.T, s string) {
		nt, err := ParseNames(strings.NewReader(s), "fuzz")
		if err == nil && nt == nil {
			t.Fatal("nil table without error")
		}
	})
}
