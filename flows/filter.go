package flows

// The filter language (`stackflow analyze --filter EXPR`, docs/filter.md) narrows the REPORT after
// analysis: every stage still sees all traffic, because correlation needs every hop, and only the
// output shows what matches. A filter selects flows and paths; nodes, NAT mappings, tunnels, BGP
// sessions and routes, and findings are then kept when they relate to what was selected (see
// Filter.Apply). The flows a kept path lists and the outer flows of a kept tunnelled flow come
// along, so the report stays self-contained and filtering twice changes nothing. Capture and protocol totals, and bgp.messages, describe the input and are never
// filtered.
//
// An expression is parsed once into an AST, then compiled once into closures through one
// registry (filterPrimitives: keyword -> constructor), so that applying it re-parses nothing.
// Every primitive is defined on both object kinds: on a flow, on its own fields (and, for
// host, net, role and tunnel, on the outer flows that carried it); on a path, on ANY of its hops
// (addresses, ports, vni, tunnel, point, and the roles and addresses of a hop's node). Flow facts
// (proto, state, flags, flow id) hold for a path when they hold for any flow it lists; path facts
// (dsr, lost, direction, path id) hold for paths only and are false on flows.

import (
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// Filter is a compiled filter expression. It is immutable and safe for concurrent use.
type Filter struct {
	root  *fltExpr
	match fltMatch
}

// CompileFilter parses and compiles expr. Errors are *FilterError values naming the column:
// `filter: at column 12: expected address after "host", got "foo"`.
func CompileFilter(expr string) (*Filter, error) {
	root, err := parseFilter(expr)
	if err != nil {
		return nil, err
	}
	m, err := compileExpr(root)
	if err != nil {
		return nil, err
	}
	return &Filter{root: root, match: m}, nil
}

// String returns the expression in canonical form (lowercase keywords, and/or/not spelled as
// words, canonical arguments, minimal parentheses). It compiles to an equivalent filter.
func (f *Filter) String() string {
	if f == nil || f.root == nil {
		return ""
	}
	var b strings.Builder
	f.root.write(&b)
	return b.String()
}

// fltMatch is one compiled predicate over a flow or a path (exactly one of fltView's fields is set).
type fltMatch func(*fltView) bool

// compileExpr turns the AST into closures; argument values are checked here, with their columns.
func compileExpr(e *fltExpr) (fltMatch, error) {
	switch e.kind {
	case fltNotExpr:
		x, err := compileExpr(e.l)
		if err != nil {
			return nil, err
		}
		return func(v *fltView) bool { return !x(v) }, nil
	case fltAndExpr, fltOrExpr:
		l, err := compileExpr(e.l)
		if err != nil {
			return nil, err
		}
		r, err := compileExpr(e.r)
		if err != nil {
			return nil, err
		}
		if e.kind == fltAndExpr {
			return func(v *fltView) bool { return l(v) && r(v) }, nil
		}
		return func(v *fltView) bool { return l(v) || r(v) }, nil
	}
	prim := filterPrimitives[e.kw]
	m, canon, hint, ok := prim.build(e.arg.text)
	if !ok {
		msg := "expected " + prim.arg + " after " + strconv.Quote(e.kw) + ", got " + e.arg.describe()
		if hint != "" {
			msg += " (" + hint + ")"
		}
		return nil, fltErrAt(e.arg.col, "%s", msg)
	}
	e.canon = canon
	return m, nil
}

// filterPrimitive is one registry entry: what its argument is called in errors ("" when it
// takes none) and the constructor that checks the argument and returns the predicate, the
// argument's canonical spelling, or a hint for the error message.
type filterPrimitive struct {
	arg   string
	build func(arg string) (m fltMatch, canon, hint string, ok bool)
}

// filterPrimitives is the one registry of keywords; it is written once, here.
var filterPrimitives = map[string]filterPrimitive{
	"host": {"address", fltAddrPrim(func(a netip.Addr) fltMatch {
		return fltFlowOrHops(
			func(f *fltFlow) bool { return f.src == a || f.dst == a || slices.Contains(f.carriers, a) },
			func(h *fltHop) bool {
				return h.src == a || h.dst == a || h.osrc == a || h.odst == a || slices.Contains(h.nodeAddrs, a)
			})
	})},
	"src": {"address", fltAddrPrim(func(a netip.Addr) fltMatch {
		return fltFlowOrHops(func(f *fltFlow) bool { return f.src == a },
			func(h *fltHop) bool { return h.src == a || h.osrc == a })
	})},
	"dst": {"address", fltAddrPrim(func(a netip.Addr) fltMatch {
		return fltFlowOrHops(func(f *fltFlow) bool { return f.dst == a },
			func(h *fltHop) bool { return h.dst == a || h.odst == a })
	})},
	"net":       {"network", fltNet},
	"port":      {"port", fltPortPrim(func(f, s, d int) bool { return s == f || d == f })},
	"sport":     {"port", fltPortPrim(func(f, s, _ int) bool { return s == f })},
	"dport":     {"port", fltPortPrim(func(f, _, d int) bool { return d == f })},
	"proto":     {"protocol", fltProto},
	"vni":       {"VNI", fltVNIPrim},
	"tunnel":    {"tunnel type", fltTunnelPrim},
	"point":     {"capture point", fltPoint},
	"role":      {"role", fltRole},
	"path":      {"path id", fltIDPrim('p', false)},
	"flow":      {"flow id", fltIDPrim('f', true)},
	"state":     {"connection state", fltState},
	"flags":     {"TCP flag", fltFlags},
	"direction": {"direction", fltDirection},
	"dsr": {"", func(string) (fltMatch, string, string, bool) {
		return fltPathLevel(func(p *fltPath) bool { return p.p.DSR }), "", "", true
	}},
	"lost": {"", func(string) (fltMatch, string, string, bool) {
		return fltPathLevel(func(p *fltPath) bool { return p.lost }), "", "", true
	}},
}

// filterKeywords lists the registry's keywords in order, for suggestions.
func filterKeywords() []string {
	out := make([]string, 0, len(filterPrimitives))
	for k := range filterPrimitives {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// fltFlowOrHops is a predicate on a flow's own fields, or on any hop of a path.
func fltFlowOrHops(fl func(*fltFlow) bool, hop func(*fltHop) bool) fltMatch {
	return func(v *fltView) bool {
		if v.flow != nil {
			return fl(v.flow)
		}
		for i := range v.path.hops {
			if hop(&v.path.hops[i]) {
				return true
			}
		}
		return false
	}
}

// fltFlowLevel is a fact about a flow; a path has it when any flow it lists has it.
func fltFlowLevel(fl func(*fltFlow) bool) fltMatch {
	return func(v *fltView) bool {
		if v.flow != nil {
			return fl(v.flow)
		}
		return slices.ContainsFunc(v.path.flows, fl)
	}
}

// fltPathLevel is a fact about a path alone; a flow never has it, as a Wireshark field is false
// on a packet that lacks it (a flow's paths may be dropped, so it could not stay true).
func fltPathLevel(pl func(*fltPath) bool) fltMatch {
	return func(v *fltView) bool { return v.path != nil && pl(v.path) }
}

func fltAddrPrim(mk func(netip.Addr) fltMatch) func(string) (fltMatch, string, string, bool) {
	return func(s string) (fltMatch, string, string, bool) {
		a, err := netip.ParseAddr(s)
		if err != nil {
			hint := ""
			if _, perr := netip.ParsePrefix(s); perr == nil {
				hint = "a network: use net"
			}
			return nil, "", hint, false
		}
		// Report addresses carry no zone, so a zone could only prevent matches.
		a = a.Unmap().WithZone("")
		return mk(a), a.String(), "", true
	}
}

// fltNet accepts a CIDR prefix without host bits, or a bare address as a full-length prefix.
func fltNet(s string) (fltMatch, string, string, bool) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		a, aerr := netip.ParseAddr(s)
		if aerr != nil {
			return nil, "", "", false
		}
		a = a.Unmap()
		p = netip.PrefixFrom(a, a.BitLen())
	}
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	if p.Masked() != p {
		return nil, "", "host bits set; did you mean " + p.Masked().String() + "?", false
	}
	in := p.Contains
	return fltFlowOrHops(
		func(f *fltFlow) bool { return in(f.src) || in(f.dst) || slices.ContainsFunc(f.carriers, in) },
		func(h *fltHop) bool {
			return in(h.src) || in(h.dst) || in(h.osrc) || in(h.odst) || slices.ContainsFunc(h.nodeAddrs, in)
		}), p.String(), "", true
}

// fltPortPrim matches TCP/UDP/SCTP ports and, as the report does, ICMP echo ids. Absent ports are -1.
func fltPortPrim(test func(want, sport, dport int) bool) func(string) (fltMatch, string, string, bool) {
	return func(s string) (fltMatch, string, string, bool) {
		n, err := strconv.ParseUint(s, 10, 16)
		if err != nil {
			return nil, "", "a number from 0 to 65535", false
		}
		want := int(n)
		return fltFlowOrHops(func(f *fltFlow) bool { return test(want, f.sport, f.dport) },
			func(h *fltHop) bool { return test(want, h.sport, h.dport) }), strconv.Itoa(want), "", true
	}
}

// fltProtoNumbers are the protocol names the report writes (protoName); others appear as numbers.
var fltProtoNumbers = map[string]uint8{"icmp": 1, "tcp": 6, "udp": 17, "gre": 47, "icmpv6": 58, "sctp": 132}

func fltProto(s string) (fltMatch, string, string, bool) {
	n, ok := fltProtoNumbers[strings.ToLower(s)]
	if !ok {
		v, err := strconv.ParseUint(s, 10, 8)
		if err != nil {
			return nil, "", fltSuggest(strings.ToLower(s), slices.Sorted(maps.Keys(fltProtoNumbers)), "a name or a number from 0 to 255"), false
		}
		n = uint8(v)
	}
	name := protoName(n)
	return fltFlowLevel(func(f *fltFlow) bool { return f.f.Proto == name }), name, "", true
}

func fltVNIPrim(s string) (fltMatch, string, string, bool) {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n > 1<<24-1 {
		return nil, "", "a number from 0 to 16777215", false
	}
	want := int64(n)
	return fltFlowOrHops(func(f *fltFlow) bool { return f.vni == want },
		func(h *fltHop) bool { return h.vni == want }), strconv.FormatInt(want, 10), "", true
}

// filterTunnels are the tunnel types, as the report spells them; a type's bit is 1<<index.
var filterTunnels = []string{"vxlan", "geneve", "nvgre", "gre", "erspan"}

func fltTunnelPrim(s string) (fltMatch, string, string, bool) {
	i, name, hint := fltEnum(s, filterTunnels)
	if i < 0 {
		return nil, "", hint, false
	}
	bit := uint8(1) << i
	return fltFlowOrHops(func(f *fltFlow) bool { return f.tunnels&bit != 0 },
		func(h *fltHop) bool { return h.tunnels&bit != 0 }), name, "", true
}

// fltPoint matches capture point ids exactly, with * standing for any run of characters.
func fltPoint(s string) (fltMatch, string, string, bool) {
	if s == "" {
		return nil, "", "an id, * matching any characters", false
	}
	g := strings.Split(s, "*")
	return fltFlowOrHops(func(f *fltFlow) bool { return fltGlob(g, f.f.Point) },
		func(h *fltHop) bool { return fltGlob(g, h.h.Point) }), s, "", true
}

// fltGlob reports whether s matches the pattern split at its stars.
func fltGlob(parts []string, s string) bool {
	if len(parts) == 1 {
		return s == parts[0]
	}
	first, last := parts[0], parts[len(parts)-1]
	if len(s) < len(first)+len(last) || !strings.HasPrefix(s, first) || !strings.HasSuffix(s, last) {
		return false
	}
	s = s[len(first) : len(s)-len(last)]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return true
}

// filterRoles are the report's node roles; a role's bit is 1<<index.
var filterRoles = []string{"client", "server", "nat", "router", "bgp_speaker", "mux", "host", "vip", "dip", "prober"}

func fltRole(s string) (fltMatch, string, string, bool) {
	i, name, hint := fltEnum(s, filterRoles)
	if i < 0 {
		return nil, "", hint, false
	}
	bit := uint16(1) << i
	return fltFlowOrHops(func(f *fltFlow) bool { return f.roles&bit != 0 },
		func(h *fltHop) bool { return h.roles&bit != 0 }), name, "", true
}

// fltIDPrim matches a report id: the prefix letter and a decimal number ("p3", "f12").
func fltIDPrim(prefix byte, flow bool) func(string) (fltMatch, string, string, bool) {
	return func(s string) (fltMatch, string, string, bool) {
		hint := "like " + strconv.Quote(string(prefix)+"3")
		if len(s) < 2 || (s[0]|0x20) != prefix {
			return nil, "", hint, false
		}
		n, err := strconv.ParseUint(s[1:], 10, 32)
		if err != nil {
			return nil, "", hint, false
		}
		id := string(prefix) + strconv.FormatUint(n, 10)
		if flow {
			return fltFlowLevel(func(f *fltFlow) bool { return f.f.ID == id }), id, "", true
		}
		return fltPathLevel(func(p *fltPath) bool { return p.p.ID == id }), id, "", true
	}
}

// filterStates are Zeek's conn_state codes (conn.Record.StateCode).
var filterStates = []string{"S0", "S1", "SF", "REJ", "S2", "S3", "RSTO", "RSTR", "RSTOS0", "RSTRH", "SH", "SHR", "OTH"}

func fltState(s string) (fltMatch, string, string, bool) {
	up := strings.ToUpper(s)
	if !slices.Contains(filterStates, up) {
		return nil, "", fltSuggest(up, filterStates, "one of "+strings.Join(filterStates, ", ")), false
	}
	return fltFlowLevel(func(f *fltFlow) bool { return f.f.State == up }), up, "", true
}

// filterFlags are the TCP flags derivable from the Zeek history string; a flag's bit is
// 1<<index. URG has no history letter, so it is refused rather than never matching.
var filterFlags = []string{"syn", "fin", "rst", "ack", "psh"}

func fltFlags(s string) (fltMatch, string, string, bool) {
	if strings.EqualFold(s, "urg") {
		return nil, "", "the flow history records no URG; one of " + strings.Join(filterFlags, ", "), false
	}
	i, name, hint := fltEnum(s, filterFlags)
	if i < 0 {
		return nil, "", hint, false
	}
	bit := uint8(1) << i
	return fltFlowLevel(func(f *fltFlow) bool { return f.flags&bit != 0 }), name, "", true
}

// fltHistoryFlags maps Zeek history letters (either case: originator or responder) to the TCP
// flags they imply: s SYN; h SYN-ACK; a ACK; d payload, taken as PSH; f FIN; r RST; i FIN+RST;
// q SYN with FIN or RST (which of the two is not recorded, so only SYN is implied).
func fltHistoryFlags(hist string) uint8 {
	const syn, fin, rst, ack, psh = 1, 2, 4, 8, 16
	var m uint8
	for i := 0; i < len(hist); i++ {
		switch hist[i] | 0x20 {
		case 's', 'q':
			m |= syn
		case 'h':
			m |= syn | ack
		case 'a':
			m |= ack
		case 'd':
			m |= psh
		case 'f':
			m |= fin
		case 'r':
			m |= rst
		case 'i':
			m |= fin | rst
		}
	}
	return m
}

func fltDirection(s string) (fltMatch, string, string, bool) {
	i, name, hint := fltEnum(s, []string{"forward", "return"})
	if i < 0 {
		return nil, "", hint, false
	}
	return fltPathLevel(func(p *fltPath) bool { return p.p.Direction == name }), name, "", true
}

// fltEnum finds s (case-insensitively) in names; otherwise it returns -1 and a hint naming
// the nearest value or listing them all.
func fltEnum(s string, names []string) (int, string, string) {
	low := strings.ToLower(s)
	if i := slices.Index(names, low); i >= 0 {
		return i, low, ""
	}
	return -1, "", fltSuggest(low, names, "one of "+strings.Join(names, ", "))
}

// fltSuggest proposes the nearest name, or falls back to the given hint.
func fltSuggest(s string, names []string, fallback string) string {
	if n := fltNearest(s, names); n != "" {
		return "did you mean " + strconv.Quote(n) + "?"
	}
	return fallback
}
