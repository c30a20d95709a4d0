package scenario

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Diagnostic is one problem in a scenario file, at a line and column (0 when unknown).
type Diagnostic struct {
	File    string
	Line    int
	Column  int
	Msg     string
	Warning bool
}

// Error renders "file:line:column: message" (warnings say so).
func (d *Diagnostic) Error() string {
	var b strings.Builder
	b.WriteString(d.File)
	if d.Line > 0 {
		fmt.Fprintf(&b, ":%d", d.Line)
		if d.Column > 0 {
			fmt.Fprintf(&b, ":%d", d.Column)
		}
	}
	b.WriteString(": ")
	if d.Warning {
		b.WriteString("warning: ")
	}
	b.WriteString(d.Msg)
	return b.String()
}

// ErrorList is every error found in a scenario, in file order.
type ErrorList []*Diagnostic

// Error joins the diagnostics one per line.
func (l ErrorList) Error() string {
	parts := make([]string, len(l))
	for i, d := range l {
		parts[i] = d.Error()
	}
	return strings.Join(parts, "\n")
}

// Unwrap gives errors.As access to each Diagnostic.
func (l ErrorList) Unwrap() []error {
	out := make([]error, len(l))
	for i, d := range l {
		out[i] = d
	}
	return out
}

// Load reads and validates a scenario file.
func Load(path string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	return Parse(data, path)
}

// Parse decodes and validates a scenario; name is used in error messages. The error, when not
// nil, is an ErrorList naming the line of every problem. Warnings are in Scenario.Warnings.
func Parse(data []byte, name string) (*Scenario, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, ErrorList{syntaxDiagnostic(name, err)}
	}
	if root.Kind == 0 || len(root.Content) == 0 {
		return nil, ErrorList{{File: name, Line: 1, Msg: "empty scenario"}}
	}
	doc := root.Content[0]
	var diags ErrorList
	checkFields(name, doc, reflect.TypeOf(Scenario{}), &diags)
	sc := &Scenario{File: name}
	if err := doc.Decode(sc); err != nil {
		// The structural check already explains its lines better than yaml.v3's type names.
		lines := map[int]bool{}
		for _, d := range diags {
			lines[d.Line] = true
		}
		for _, d := range decodeDiagnostics(name, err) {
			if !lines[d.Line] {
				diags = append(diags, d)
			}
		}
	}
	if len(diags) > 0 {
		sortDiagnostics(diags)
		return nil, diags
	}
	setFaultPositions(doc, sc)
	v := validator{sc: sc, file: name}
	v.run()
	if len(v.errs) > 0 {
		sortDiagnostics(v.errs)
		return nil, v.errs
	}
	sortDiagnostics(v.warns)
	sc.Warnings = v.warns
	return sc, nil
}

func sortDiagnostics(l ErrorList) {
	// insertion sort: lists are short and the order must be stable
	for i := 1; i < len(l); i++ {
		for j := i; j > 0 && less(l[j], l[j-1]); j-- {
			l[j], l[j-1] = l[j-1], l[j]
		}
	}
}

func less(a, b *Diagnostic) bool {
	if a.Line != b.Line {
		return a.Line < b.Line
	}
	return a.Column < b.Column
}

// syntaxDiagnostic turns a yaml.v3 syntax error ("yaml: line 3: ...") into a Diagnostic.
func syntaxDiagnostic(file string, err error) *Diagnostic {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line, rest := splitLine(msg)
	return &Diagnostic{File: file, Line: line, Msg: rest}
}

// decodeDiagnostics splits a yaml.TypeError into one Diagnostic per entry.
func decodeDiagnostics(file string, err error) ErrorList {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return ErrorList{syntaxDiagnostic(file, err)}
	}
	var out ErrorList
	for _, e := range te.Errors {
		line, rest := splitLine(e)
		col := 0
		if strings.HasPrefix(rest, "column ") {
			if i := strings.Index(rest, ": "); i > 0 {
				if c, err := strconv.Atoi(rest[len("column "):i]); err == nil {
					col, rest = c, rest[i+2:]
				}
			}
		}
		out = append(out, &Diagnostic{File: file, Line: line, Column: col, Msg: rest})
	}
	return out
}

// splitLine parses a "line N: message" prefix.
func splitLine(msg string) (int, string) {
	if !strings.HasPrefix(msg, "line ") {
		return 0, msg
	}
	i := strings.Index(msg, ": ")
	if i < 0 {
		return 0, msg
	}
	n, err := strconv.Atoi(msg[len("line "):i])
	if err != nil {
		return 0, msg
	}
	return n, msg[i+2:]
}

var unmarshalerType = reflect.TypeOf((*yaml.Unmarshaler)(nil)).Elem()

// checkFields reports mapping keys that name no field of t, and wrong node kinds for structs
// and lists, with their lines. yaml.v3's KnownFields does the same only for the top decoder.
func checkFields(file string, n *yaml.Node, t reflect.Type, diags *ErrorList) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		return // a scalar type checks itself
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return
		}
		if n.Kind != yaml.MappingNode {
			*diags = append(*diags, &Diagnostic{File: file, Line: n.Line, Column: n.Column,
				Msg: fmt.Sprintf("expected a mapping of %s fields, found %s", typeLabel(t), kindLabel(n))})
			return
		}
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			ft, ok := fields[k.Value]
			if !ok {
				*diags = append(*diags, &Diagnostic{File: file, Line: k.Line, Column: k.Column,
					Msg: fmt.Sprintf("unknown field %q in %s", k.Value, typeLabel(t))})
				continue
			}
			checkFields(file, v, ft, diags)
		}
	case reflect.Slice:
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return
		}
		if n.Kind != yaml.SequenceNode {
			*diags = append(*diags, &Diagnostic{File: file, Line: n.Line, Column: n.Column,
				Msg: fmt.Sprintf("expected a list, found %s", kindLabel(n))})
			return
		}
		for _, c := range n.Content {
			checkFields(file, c, t.Elem(), diags)
		}
	}
}

func yamlFields(t reflect.Type) map[string]reflect.Type {
	m := make(map[string]reflect.Type, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		if tag == "-" || !f.IsExported() {
			continue
		}
		name := strings.Split(tag, ",")[0]
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		m[name] = f.Type
	}
	return m
}

func typeLabel(t reflect.Type) string {
	return strings.ToLower(t.Name())
}

func kindLabel(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	default:
		return fmt.Sprintf("%q", n.Value)
	}
}

// setFaultPositions gives each fault the position of its list item.
func setFaultPositions(doc *yaml.Node, sc *Scenario) {
	if doc.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(doc.Content); i += 2 {
		if doc.Content[i].Value != "faults" || doc.Content[i+1].Kind != yaml.SequenceNode {
			continue
		}
		for j, item := range doc.Content[i+1].Content {
			if j < len(sc.Faults) {
				sc.Faults[j].Pos = Pos{item.Line, item.Column}
			}
		}
	}
}

// typeErr reports a bad scalar as a yaml.TypeError so decoding continues and collects all.
func typeErr(n *yaml.Node, format string, args ...any) error {
	return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: column %d: %s", n.Line, n.Column,
		fmt.Sprintf(format, args...))}}
}

func scalar(n *yaml.Node, what string) error {
	if n.Kind != yaml.ScalarNode {
		return typeErr(n, "expected %s, found %s", what, kindLabel(n))
	}
	return nil
}

func pos(n *yaml.Node) Pos { return Pos{n.Line, n.Column} }

// UnmarshalYAML reads a string.
func (t *Text) UnmarshalYAML(n *yaml.Node) error {
	if err := scalar(n, "a string"); err != nil {
		return err
	}
	t.Value, t.Pos = n.Value, pos(n)
	return nil
}

// UnmarshalYAML reads an integer (decimal or 0x hex).
func (v *Int) UnmarshalYAML(n *yaml.Node) error {
	if err := scalar(n, "an integer"); err != nil {
		return err
	}
	x, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64)
	if err != nil {
		return typeErr(n, "invalid integer %q", n.Value)
	}
	*v = Int{Value: x, Set: true, Pos: pos(n)}
	return nil
}

// UnmarshalYAML reads true or false.
func (v *Bool) UnmarshalYAML(n *yaml.Node) error {
	if err := scalar(n, "true or false"); err != nil {
		return err
	}
	switch n.Value {
	case "true", "True", "TRUE":
		*v = Bool{Value: true, Set: true, Pos: pos(n)}
	case "false", "False", "FALSE":
		*v = Bool{Value: false, Set: true, Pos: pos(n)}
	default:
		return typeErr(n, "invalid boolean %q (want true or false)", n.Value)
	}
	return nil
}

// UnmarshalYAML reads a number.
func (v *Float) UnmarshalYAML(n *yaml.Node) error {
	if err := scalar(n, "a number"); err != nil {
		return err
	}
	x, err := strconv.ParseFloat(n.Value, 64)
	if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
		return typeErr(n, "invalid number %q", n.Value)
	}
	*v = Float{Value: x, Set: true, Pos: pos(n)}
	return nil
}

// UnmarshalYAML reads an IPv4 address.
func (a *Addr) UnmarshalYAML(n *yaml.Node) error {
	if err := scalar(n, "an address"); err != nil {
		return err
	}
	x, err := netip.ParseAddr(n.Value)
	if err != nil {
		return typeErr(n, "invalid address %q", n.Value)
	}
	if !x.Is4() {
		return typeErr(n, "address %q is not IPv4 (the synthesizer writes IPv4 only)", n.Value)
	}
	*a = Addr{Value: x, Pos: pos(n)}
	return nil
}

// UnmarshalYAML reads an address with a prefix length.
func (p *Prefix) UnmarshalYAML(n *yaml.Node) error {
	if err := scalar(n, "an address/prefix"); err != nil {
		return err
	}
	x, err := netip.ParsePrefix(n.Value)
	if err != nil {
		return typeErr(n, "invalid prefix %q (want address/length)", n.Value)
	}
	if !x.Addr().Is4() {
		return typeErr(n, "prefix %q is not IPv4", n.Value)
	}
	*p = Prefix{Value: x, Pos: pos(n)}
	return nil
}

// UnmarshalYAML reads "ip:port", "name:port", "ip" or "name".
func (e *Endpoint) UnmarshalYAML(n *yaml.Node) error {
	if err := scalar(n, "an endpoint"); err != nil {
		return err
	}
	*e = Endpoint{Pos: pos(n)}
	host := n.Value
	if i := strings.LastIndexByte(n.Value, ':'); i >= 0 {
		p, err := strconv.ParseUint(n.Value[i+1:], 10, 16)
		if err != nil || p == 0 {
			return typeErr(n, "invalid port in endpoint %q", n.Value)
		}
		host, e.Port, e.HasPort = n.Value[:i], uint16(p), true
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if !a.Is4() {
			return typeErr(n, "endpoint %q is not IPv4", n.Value)
		}
		e.Addr = a
		return nil
	}
	if !validDNSName(host) {
		return typeErr(n, "invalid endpoint %q (want address or DNS name, then optional :port)", n.Value)
	}
	e.Name = strings.ToLower(strings.TrimSuffix(host, "."))
	return nil
}

func validDNSName(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// UnmarshalYAML reads a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if err := scalar(n, "a duration"); err != nil {
		return err
	}
	x, err := time.ParseDuration(n.Value)
	if err != nil {
		return typeErr(n, "invalid duration %q (want e.g. 250ms, 90s, 1m30s)", n.Value)
	}
	*d = Duration{Value: x, Set: true, Pos: pos(n)}
	return nil
}

// UnmarshalYAML reads an RFC 3339 time.
func (t *Timestamp) UnmarshalYAML(n *yaml.Node) error {
	if err := scalar(n, "a time"); err != nil {
		return err
	}
	x, err := time.Parse(time.RFC3339Nano, n.Value)
	if err != nil {
		return typeErr(n, "invalid time %q (want RFC 3339, e.g. 2024-05-14T09:00:00Z)", n.Value)
	}
	*t = Timestamp{Value: x.UTC(), Pos: pos(n)}
	return nil
}

// UnmarshalYAML reads an Ethernet address.
func (m *MAC) UnmarshalYAML(n *yaml.Node) error {
	if err := scalar(n, "a MAC address"); err != nil {
		return err
	}
	hw, err := net.ParseMAC(n.Value)
	if err != nil || len(hw) != 6 {
		return typeErr(n, "invalid MAC address %q", n.Value)
	}
	*m = MAC{Set: true, Pos: pos(n)}
	copy(m.Value[:], hw)
	return nil
}

var sizeUnits = []struct {
	suffix string
	mult   float64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9},
	{"K", 1e3}, {"M", 1e6}, {"G", 1e9},
	{"B", 1},
}

// UnmarshalYAML reads a byte count (or, for bandwidth, bits per second) with an optional unit.
func (s *Size) UnmarshalYAML(n *yaml.Node) error {
	if err := scalar(n, "a size"); err != nil {
		return err
	}
	v := strings.TrimSuffix(strings.TrimSpace(n.Value), "bps")
	mult := 1.0
	for _, u := range sizeUnits {
		if strings.HasSuffix(v, u.suffix) {
			v, mult = strings.TrimSpace(strings.TrimSuffix(v, u.suffix)), u.mult
			break
		}
	}
	x, err := strconv.ParseFloat(v, 64)
	if err != nil || x < 0 || math.IsInf(x, 0) || x*mult > 1<<53 {
		return typeErr(n, "invalid size %q (want e.g. 1200, 12KB, 64KiB, 10G)", n.Value)
	}
	*s = Size{Value: int64(x * mult), Set: true, Pos: pos(n)}
	return nil
}

// UnmarshalYAML reads "lo-hi" or one port.
func (r *PortRange) UnmarshalYAML(n *yaml.Node) error {
	if err := scalar(n, "a port range"); err != nil {
		return err
	}
	lo, hi, found := strings.Cut(n.Value, "-")
	if !found {
		hi = lo
	}
	a, err1 := strconv.ParseUint(strings.TrimSpace(lo), 10, 16)
	b, err2 := strconv.ParseUint(strings.TrimSpace(hi), 10, 16)
	if err1 != nil || err2 != nil || a == 0 || a > b {
		return typeErr(n, "invalid port range %q (want lo-hi with 1 <= lo <= hi <= 65535)", n.Value)
	}
	*r = PortRange{Lo: uint16(a), Hi: uint16(b), Set: true, Pos: pos(n)}
	return nil
}
