package flows

import (
	"errors"
	"strings"
	"testing"
)

func TestCompileFilterCanonical(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		// The simplest primitive prints as written.
		{"host", "host 10.0.0.4", "host 10.0.0.4"},
		// Keywords and word operators are case-insensitive and print lowercase.
		{"case", "HOST 10.0.0.4 AND Port 443", "host 10.0.0.4 and port 443"},
		// Symbolic operators print as words.
		{"symbols", "port 1 && port 2 || !dsr", "port 1 and port 2 or not dsr"},
		// and binds tighter than or, so no parentheses are needed here...
		{"precedence", "port 1 or port 2 and port 3", "port 1 or port 2 and port 3"},
		// ...but they are when or sits under and.
		{"parens kept", "(port 1 or port 2) and port 3", "(port 1 or port 2) and port 3"},
		// not over a compound needs its parentheses.
		{"not compound", "not (dsr or lost)", "not (dsr or lost)"},
		// Redundant parentheses go away.
		{"parens dropped", "((dsr))", "dsr"},
		// and is associative: a right-nested and prints flat.
		{"assoc", "port 1 and (port 2 and port 3)", "port 1 and port 2 and port 3"},
		// not applies to not.
		{"double not", "not not dsr", "not not dsr"},
		// ! glued to a keyword is an operator.
		{"bang glued", "!dsr&&!lost", "not dsr and not lost"},
		// An IPv4-mapped IPv6 address is the IPv4 address the report writes.
		{"mapped", "host ::ffff:10.0.0.4", "host 10.0.0.4"},
		// Report addresses have no zone: it is dropped.
		{"zone", "host fe80::1%eth0", "host fe80::1"},
		// IPv6 addresses contain colons, which are word characters.
		{"ipv6", "src 2001:db8::1", "src 2001:db8::1"},
		// A bare address as a network is its full-length prefix.
		{"net addr", "net 10.0.0.4", "net 10.0.0.4/32"},
		{"net v6", "net 2001:DB8::/32", "net 2001:db8::/32"},
		// Protocol numbers print as the report's names when it has one.
		{"proto number", "proto 6", "proto tcp"},
		{"proto other", "proto 200", "proto 200"},
		{"proto name case", "proto ICMPv6", "proto icmpv6"},
		// Leading zeros are normalised.
		{"port zeros", "port 080", "port 80"},
		// The largest 24-bit VNI.
		{"vni max", "vni 16777215", "vni 16777215"},
		// Point ids keep their case; a quoted id with spaces or parentheses is quoted again.
		{"point quoted", `point "vNIC:1:Port (a)"`, `point "vNIC:1:Port (a)"`},
		{"point glob", "point mux-*", "point mux-*"},
		// An id that is an operator word must stay quoted to round-trip.
		{"point and", `point "and"`, `point "and"`},
		// Escapes inside quotes.
		{"point escape", `point "a\"b\\c"`, `point "a\"b\\c"`},
		// Zeek states print uppercase.
		{"state", "state rsto", "state RSTO"},
		// Ids are normalised to the report's spelling.
		{"path id", "path P03", "path p3"},
		{"flow id", "flow f12", "flow f12"},
		{"flags", "flags SYN", "flags syn"},
		{"direction", "direction Return", "direction return"},
		{"role", "role BGP_Speaker", "role bgp_speaker"},
		{"tunnel", "tunnel NVGRE", "tunnel nvgre"},
		// Any white space separates tokens.
		{"whitespace", "host\t10.0.0.4\n  and\r\nlost ", "host 10.0.0.4 and lost"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := CompileFilter(tt.in)
			if err != nil {
				t.Fatalf("CompileFilter(%q): %v", tt.in, err)
			}
			if got := f.String(); got != tt.want {
				t.Fatalf("String() = %q, want %q", got, tt.want)
			}
			g, err := CompileFilter(f.String())
			if err != nil || g.String() != tt.want {
				t.Fatalf("recompiling %q: %v, %q", f.String(), err, g)
			}
		})
	}
}

func TestCompileFilterErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
		col            int
	}{
		// Nothing to filter on is an error, not match-all.
		{"empty", "", `filter: at column 1: expected a primitive, got end of input`, 1},
		// The brief's example: a bad address, quoted, at its column.
		{"bad address", "host foo", `filter: at column 6: expected address after "host", got "foo"`, 6},
		{"bad address later", "src 10.0.0.1 and host foo", `filter: at column 23: expected address after "host", got "foo"`, 23},
		// Typos get the nearest keyword.
		{"typo", "hots 10.0.0.4", `filter: at column 1: unknown keyword "hots" (did you mean "host"?)`, 1},
		// Nothing close: no suggestion.
		{"unknown", "xyzzy", `filter: at column 1: unknown keyword "xyzzy"`, 1},
		// Implicit and is refused.
		{"implicit and", "host 10.0.0.4 port 80", `filter: at column 15: expected "and" or "or" between primitives, got "port"`, 15},
		// A keyword without argument followed by a stray word.
		{"dsr arg", "dsr 5", `filter: at column 5: expected "and" or "or" between primitives, got "5"`, 5},
		{"unclosed", "(dsr", `filter: at column 5: expected ")" to close "(" at column 1, got end of input`, 5},
		{"unopened", "dsr)", `filter: at column 4: unexpected ")" without a matching "("`, 4},
		{"implicit and in parens", "(dsr lost)", `filter: at column 6: expected "and", "or" or ")", got "lost"`, 6},
		{"empty parens", "()", `filter: at column 2: expected a primitive, got ")"`, 2},
		{"dangling and", "dsr and", `filter: at column 8: expected a primitive, got end of input`, 8},
		{"dangling not", "! ! !", `filter: at column 6: expected a primitive, got end of input`, 6},
		{"single amp", "dsr & lost", `filter: at column 5: expected "&&", got "&"`, 5},
		{"single bar", "dsr | lost", `filter: at column 5: expected "||", got "|"`, 5},
		{"missing arg", "host", `filter: at column 5: expected address after "host", got end of input`, 5},
		// An operator word is never taken as an argument (quote it to mean the word).
		{"operator as arg", "point and dsr", `filter: at column 7: expected capture point after "point", got "and"`, 7},
		{"paren as arg", "port )", `filter: at column 6: expected port after "port", got ")"`, 6},
		{"quoted keyword", `"host" 1.2.3.4`, `filter: at column 1: expected a keyword, got the quoted string "host"`, 1},
		{"unterminated", `point "mux`, `filter: at column 7: unterminated string "\"mux"`, 7},
		{"port range", "port 70000", `filter: at column 6: expected port after "port", got "70000" (a number from 0 to 65535)`, 6},
		{"port negative", "dport -1", `filter: at column 7: expected port after "dport", got "-1" (a number from 0 to 65535)`, 7},
		{"host bits", "net 10.0.0.5/24", `filter: at column 5: expected network after "net", got "10.0.0.5/24" (host bits set; did you mean 10.0.0.0/24?)`, 5},
		{"prefix as host", "host 10.0.0.0/24", `filter: at column 6: expected address after "host", got "10.0.0.0/24" (a network: use net)`, 6},
		{"role typo", "role muxx", `filter: at column 6: expected role after "role", got "muxx" (did you mean "mux"?)`, 6},
		{"tunnel unknown", "tunnel ipip", `filter: at column 8: expected tunnel type after "tunnel", got "ipip" (one of vxlan, geneve, nvgre, gre, erspan)`, 8},
		{"proto typo", "proto tcpp", `filter: at column 7: expected protocol after "proto", got "tcpp" (did you mean "tcp"?)`, 7},
		{"proto range", "proto 256", `filter: at column 7: expected protocol after "proto", got "256" (a name or a number from 0 to 255)`, 7},
		// URG has no Zeek history letter: refused rather than silently never matching.
		{"urg", "flags urg", `filter: at column 7: expected TCP flag after "flags", got "urg" (the flow history records no URG; one of syn, fin, rst, ack, psh)`, 7},
		{"vni range", "vni 16777216", `filter: at column 5: expected VNI after "vni", got "16777216" (a number from 0 to 16777215)`, 5},
		{"path id", "path 3", `filter: at column 6: expected path id after "path", got "3" (like "p3")`, 6},
		{"flow id", "flow p3", `filter: at column 6: expected flow id after "flow", got "p3" (like "f3")`, 6},
		{"state", "state XX", `filter: at column 7: expected connection state after "state", got "XX" (one of S0, S1, SF, REJ, S2, S3, RSTO, RSTR, RSTOS0, RSTRH, SH, SHR, OTH)`, 7},
		{"direction", "direction back", `filter: at column 11: expected direction after "direction", got "back" (one of forward, return)`, 11},
		{"empty point", `point ""`, `filter: at column 7: expected capture point after "point", got "" (an id, * matching any characters)`, 7},
		// Columns count characters, not bytes.
		{"unicode column", "point ü && hots", `filter: at column 12: unknown keyword "hots" (did you mean "host"?)`, 12},
		// Control characters are escaped so the message stays on one line.
		{"one line", "host \"a\nb\"", `filter: at column 6: expected address after "host", got "a\nb"`, 6},
		// Nesting is bounded so no input exhausts the stack.
		{"deep", strings.Repeat("(", 101) + "dsr" + strings.Repeat(")", 101), `filter: at column 101: nesting deeper than 100 at "("`, 101},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := CompileFilter(tt.in)
			if err == nil {
				t.Fatalf("CompileFilter(%q) = %q, want error", tt.in, f)
			}
			if err.Error() != tt.want {
				t.Fatalf("CompileFilter(%q) error\n got %s\nwant %s", tt.in, err, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error spans lines: %q", err)
			}
			var fe *FilterError
			if !errors.As(err, &fe) || fe.Column != tt.col {
				t.Fatalf("error %#v: want *FilterError at column %d", err, tt.col)
			}
		})
	}
}

func TestNearest(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		// Swapped neighbours cost one edit.
		{"transposed", "hots", "host"},
		// A short word with two edits is not close (half of its length).
		{"too far", "ab", ""},
		// Exact (after lowercasing by the caller) is distance 0.
		{"exact", "dsr", "dsr"},
		// Ties resolve to the first in sorted order, so suggestions are stable.
		{"tie", "prot", "port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fltNearest(tt.in, filterKeywords()); got != tt.want {
				t.Fatalf("fltNearest(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
