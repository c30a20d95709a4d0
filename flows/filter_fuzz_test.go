package flows

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzCompileFilter checks that no expression panics, that errors are one-line *FilterError
// values with a column inside the input, and that a filter that compiles round-trips through
// String to a filter selecting the same report, idempotently and without touching the input.
func FuzzCompileFilter(f *testing.F) {
	for _, s := range []string{
		"host 10.0.0.4", "HOST 10.0.0.4 AND Port 443", "port 1 && port 2 || !dsr",
		"(port 53 or port 80) and state REJ", "not (dsr or lost)", `point "vNIC:1:Port (a)"`,
		`point "a\"b\\c"`, "net 192.168.102.0/24 and not tunnel vxlan", "role client || role prober",
		"flags syn and not flags fin", "proto 17", "vni 4114", "path p2 or flow f4",
		"direction forward", "src ::ffff:10.0.0.4", "point *router*", "hots 10.0.0.4",
		"host 10.0.0.4 port 80", "(dsr", "dsr)", "dsr & lost", `point "mux`, "point ü && hots",
		"net 10.0.0.5/24", "flags urg", "((((dsr))))", "sport 443 and dport 61000",
	} {
		f.Add(s)
	}
	base := fltAzureReport()
	baseJSON, _ := json.Marshal(base)
	f.Fuzz(func(t *testing.T, s string) {
		flt, err := CompileFilter(s)
		if err != nil {
			var fe *FilterError
			if !errors.As(err, &fe) {
				t.Fatalf("%q: error %v is not a *FilterError", s, err)
			}
			if fe.Column < 1 || fe.Column > utf8.RuneCountInString(s)+1 {
				t.Fatalf("%q: column %d outside the input", s, fe.Column)
			}
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("%q: error spans lines: %q", s, err)
			}
			return
		}
		canon := flt.String()
		again, err := CompileFilter(canon)
		if err != nil {
			t.Fatalf("%q: canonical form %q does not compile: %v", s, canon, err)
		}
		if again.String() != canon {
			t.Fatalf("%q: String not stable: %q then %q", s, canon, again.String())
		}
		once := flt.Apply(base)
		if other := again.Apply(base); !reflect.DeepEqual(once, other) {
			t.Fatalf("%q: %q selects differently", s, canon)
		}
		if twice := flt.Apply(once); !reflect.DeepEqual(once, twice) {
			t.Fatalf("%q: not idempotent", s)
		}
		if now, _ := json.Marshal(base); string(now) != string(baseJSON) {
			t.Fatalf("%q: Apply modified its input", s)
		}
	})
}
