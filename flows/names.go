package flows

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
)

// NameEntry is what the user's names file says about one address or MAC.
type NameEntry struct {
	Name  string
	Roles []string
}

// NameTable maps addresses and MACs to user-given names and roles (--names FILE). It is the
// first source of node names; DNS answers seen in the capture and roles come after it.
type NameTable struct {
	Addrs map[netip.Addr]NameEntry
	MACs  map[[6]byte]NameEntry
}

// validRoles are the role names of the report (DESIGN.md section 6).
var validRoles = map[string]bool{
	"client": true, "server": true, "nat": true, "router": true, "bgp_speaker": true, "mux": true,
	"host": true, "vip": true, "dip": true, "prober": true,
}

// LoadNames reads a names file: one entry per line, `ADDRESS-OR-MAC NAME [ROLE[,ROLE...]]`,
// blank lines and `#` comments ignored. Errors name the file and line.
func LoadNames(path string) (*NameTable, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseNames(f, path)
}

// ParseNames reads a names file from r; name is used in error messages.
func ParseNames(r io.Reader, name string) (*NameTable, error) {
	t := &NameTable{Addrs: map[netip.Addr]NameEntry{}, MACs: map[[6]byte]NameEntry{}}
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		text, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(text)
		if len(fields) == 0 {
			continue
		}
		if len(fields) < 2 || len(fields) > 3 {
			return nil, fmt.Errorf("%s:%d: want `ADDRESS-OR-MAC NAME [ROLES]`, got %q", name, line, strings.TrimSpace(text))
		}
		e := NameEntry{Name: fields[1]}
		if len(fields) == 3 {
			for _, role := range strings.Split(fields[2], ",") {
				if !validRoles[role] {
					return nil, fmt.Errorf("%s:%d: unknown role %q", name, line, role)
				}
				e.Roles = append(e.Roles, role)
			}
		}
		if addr, err := netip.ParseAddr(fields[0]); err == nil {
			t.Addrs[addr.Unmap()] = e
			continue
		}
		hw, err := net.ParseMAC(fields[0])
		if err != nil || len(hw) != 6 {
			return nil, fmt.Errorf("%s:%d: %q is neither an IP address nor a MAC address", name, line, fields[0])
		}
		t.MACs[[6]byte(hw)] = e
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return t, nil
}
