package scenario

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Roles a node may have.
const (
	RoleClient = "client"
	RoleServer = "server"
	RoleNAT    = "nat"
	RoleRouter = "router"
	RoleMux    = "mux"
	RoleHost   = "host"
)

// VNIMin and VNIMax bound the virtual subnet ids Windows SDN hands out; others are warnings.
const (
	VNIMin = 4096
	VNIMax = 1<<24 - 2
)

// DefaultStart is the scenario time origin when the file gives none.
var DefaultStart = time.Date(2024, 5, 14, 9, 0, 0, 0, time.UTC)

var validRoles = []string{RoleClient, RoleServer, RoleNAT, RoleRouter, RoleMux, RoleHost}

// Node returns the node with the given name, or nil.
func (sc *Scenario) Node(name string) *Node {
	for i := range sc.Nodes {
		if sc.Nodes[i].Name.Value == name {
			return &sc.Nodes[i]
		}
	}
	return nil
}

// Link returns the link with the given name, or nil.
func (sc *Scenario) Link(name string) *Link {
	for i := range sc.Links {
		if sc.Links[i].Name.Value == name {
			return &sc.Links[i]
		}
	}
	return nil
}

// HasAddr tells whether one of the node's interfaces carries a.
func (n *Node) HasAddr(a netip.Addr) bool {
	return n.IfaceFor(a) != nil
}

// IfaceFor returns the interface carrying address a, or nil.
func (n *Node) IfaceFor(a netip.Addr) *Interface {
	for i := range n.Interfaces {
		for _, p := range n.Interfaces[i].Addresses {
			if p.Value.Addr() == a {
				return &n.Interfaces[i]
			}
		}
	}
	return nil
}

// Primary is the interface's first address (zero when it has none).
func (i *Interface) Primary() netip.Addr {
	if len(i.Addresses) == 0 {
		return netip.Addr{}
	}
	return i.Addresses[0].Value.Addr()
}

// validator checks references and fills defaults; errors and warnings carry positions.
type validator struct {
	sc    *Scenario
	file  string
	errs  ErrorList
	warns ErrorList
	dips  map[netip.Addr]bool // VM addresses on some host
}

func (v *validator) errf(p Pos, format string, args ...any) {
	v.errs = append(v.errs, &Diagnostic{File: v.file, Line: p.Line, Column: p.Column,
		Msg: fmt.Sprintf(format, args...)})
}

func (v *validator) warnf(p Pos, format string, args ...any) {
	v.warns = append(v.warns, &Diagnostic{File: v.file, Line: p.Line, Column: p.Column,
		Msg: fmt.Sprintf(format, args...), Warning: true})
}

func oneOf(s string, set ...string) bool {
	for _, x := range set {
		if s == x {
			return true
		}
	}
	return false
}

func (v *validator) run() {
	sc := v.sc
	if sc.Name.Value == "" {
		sc.Name.Value = "scenario"
	}
	if !sc.Seed.Set {
		sc.Seed.Value = 1
	}
	if sc.Start.Value.IsZero() {
		sc.Start.Value = DefaultStart
	}
	if !sc.Duration.Set {
		sc.Duration.Value = 60 * time.Second
	} else if sc.Duration.Value <= 0 {
		v.errf(sc.Duration.Pos, "duration %v must be positive", sc.Duration.Value)
	}
	v.links()
	v.nodes()
	v.routes()
	v.nat()
	v.routers()
	v.hosts()
	v.vips()
	v.muxes()
	v.dns()
	v.traffic()
	v.faults()
}

func (v *validator) links() {
	seen := map[string]Pos{}
	for i := range v.sc.Links {
		l := &v.sc.Links[i]
		if l.Name.Value == "" {
			v.errf(l.Name.Pos, "link %d has no name", i+1)
		} else if p, dup := seen[l.Name.Value]; dup {
			v.errf(l.Name.Pos, "link %q already defined at line %d", l.Name.Value, p.Line)
		}
		seen[l.Name.Value] = l.Name.Pos
		if l.Subnet.Value.IsValid() && l.Subnet.Value != l.Subnet.Value.Masked() {
			v.errf(l.Subnet.Pos, "subnet %s has host bits set (want %s)", l.Subnet.Value, l.Subnet.Value.Masked())
		}
		if !l.MTU.Set {
			l.MTU.Value = 1500
		} else if l.MTU.Value < 576 || l.MTU.Value > 9216 {
			v.errf(l.MTU.Pos, "mtu %d of link %q outside 576..9216", l.MTU.Value, l.Name.Value)
		}
		if !l.Latency.Set {
			l.Latency.Value = 20 * time.Microsecond
		} else if l.Latency.Value < 0 {
			v.errf(l.Latency.Pos, "latency %v must not be negative", l.Latency.Value)
		}
		if !l.Bandwidth.Set {
			l.Bandwidth.Value = 10e9
		} else if l.Bandwidth.Value < 1e6 {
			v.errf(l.Bandwidth.Pos, "bandwidth %d bit/s of link %q is below 1M", l.Bandwidth.Value, l.Name.Value)
		}
	}
}

// defaultDelay is the forwarding or answering time of each role.
var defaultDelay = map[string]time.Duration{
	RoleClient: 30 * time.Microsecond, RoleServer: 30 * time.Microsecond,
	RoleNAT: 60 * time.Microsecond, RoleRouter: 25 * time.Microsecond,
	RoleMux: 40 * time.Microsecond, RoleHost: 15 * time.Microsecond,
}

func (v *validator) nodes() {
	sc := v.sc
	seen := map[string]Pos{}
	macs := map[[6]byte]Pos{}
	addrs := map[netip.Addr]Pos{}
	members := map[string]int{}
	for ni := range sc.Nodes {
		n := &sc.Nodes[ni]
		if n.Name.Value == "" {
			v.errf(n.Name.Pos, "node %d has no name", ni+1)
		} else if p, dup := seen[n.Name.Value]; dup {
			v.errf(n.Name.Pos, "node %q already defined at line %d", n.Name.Value, p.Line)
		}
		seen[n.Name.Value] = n.Name.Pos
		if !oneOf(n.Role.Value, validRoles...) {
			v.errf(n.Role.Pos, "node %q: unknown role %q (want one of %s)", n.Name.Value, n.Role.Value,
				strings.Join(validRoles, ", "))
		}
		if !n.TTL.Set {
			n.TTL.Value = 128
		} else if n.TTL.Value < 1 || n.TTL.Value > 255 {
			v.errf(n.TTL.Pos, "ttl %d outside 1..255", n.TTL.Value)
		}
		if !n.Delay.Set {
			n.Delay.Value = defaultDelay[n.Role.Value]
		} else if n.Delay.Value < 0 {
			v.errf(n.Delay.Pos, "delay %v must not be negative", n.Delay.Value)
		}
		if len(n.Interfaces) == 0 {
			v.errf(n.Name.Pos, "node %q has no interfaces", n.Name.Value)
		}
		ifnames := map[string]Pos{}
		for ii := range n.Interfaces {
			it := &n.Interfaces[ii]
			if it.Name.Value == "" {
				it.Name.Value = fmt.Sprintf("eth%d", ii)
			} else if p, dup := ifnames[it.Name.Value]; dup {
				v.errf(it.Name.Pos, "interface %q of node %q already defined at line %d", it.Name.Value,
					n.Name.Value, p.Line)
			}
			ifnames[it.Name.Value] = it.Name.Pos
			if !it.MAC.Set {
				// locally administered, unique per (node, interface) position
				it.MAC.Value = [6]byte{0x02, 0x5f, 0x00, byte(ni >> 8), byte(ni), byte(ii)}
			}
			if p, dup := macs[it.MAC.Value]; dup && it.MAC.Set {
				v.errf(it.MAC.Pos, "MAC %s already used at line %d", macString(it.MAC.Value), p.Line)
			}
			macs[it.MAC.Value] = it.MAC.Pos
			l := sc.Link(it.Link.Value)
			if l == nil {
				v.errf(it.Link.Pos, "interface %q of node %q: unknown link %q", it.Name.Value, n.Name.Value,
					it.Link.Value)
			} else {
				members[l.Name.Value]++
			}
			if len(it.Addresses) == 0 {
				v.errf(it.Name.Pos, "interface %q of node %q has no addresses", it.Name.Value, n.Name.Value)
			}
			for _, a := range it.Addresses {
				v.checkIfaceAddr(n, l, a)
				if p, dup := addrs[a.Value.Addr()]; dup {
					v.errf(a.Pos, "address %s already assigned at line %d", a.Value.Addr(), p.Line)
				}
				addrs[a.Value.Addr()] = a.Pos
			}
		}
	}
	for i := range sc.Links {
		l := &sc.Links[i]
		if members[l.Name.Value] == 0 {
			v.warnf(l.Name.Pos, "link %q has no interfaces: its capture point stays empty", l.Name.Value)
		}
	}
}

func (v *validator) checkIfaceAddr(n *Node, l *Link, a Prefix) {
	addr := a.Value.Addr()
	if l == nil {
		return
	}
	if !l.Subnet.Value.IsValid() {
		l.Subnet.Value = a.Value.Masked()
		if !l.Subnet.Pos.valid() {
			l.Subnet.Pos = a.Pos
		}
	}
	sub := l.Subnet.Value
	switch {
	case !sub.Contains(addr):
		v.errf(a.Pos, "address %s of node %q is outside subnet %s of link %q", a.Value, n.Name.Value, sub,
			l.Name.Value)
	case a.Value.Bits() != sub.Bits():
		v.errf(a.Pos, "address %s of node %q has a different prefix length than subnet %s of link %q",
			a.Value, n.Name.Value, sub, l.Name.Value)
	case sub.Bits() < 31 && (addr == sub.Addr() || addr == lastAddr(sub)):
		v.errf(a.Pos, "address %s of node %q is the network or broadcast address of %s", addr, n.Name.Value, sub)
	}
}

func (p Pos) valid() bool { return p.Line > 0 }

// lastAddr is the broadcast address of an IPv4 prefix.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	x := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]) | host
	return netip.AddrFrom4([4]byte{byte(x >> 24), byte(x >> 16), byte(x >> 8), byte(x)})
}

// FirstAddr is the first usable address of an IPv4 subnet (the SLB host agent's address).
func FirstAddr(p netip.Prefix) netip.Addr {
	return p.Masked().Addr().Next()
}

func macString(m [6]byte) string {
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5])
}

// connected tells whether a is inside a subnet one of n's interfaces is on.
func (v *validator) connected(n *Node, a netip.Addr) *Interface {
	for i := range n.Interfaces {
		if l := v.sc.Link(n.Interfaces[i].Link.Value); l != nil && l.Subnet.Value.Contains(a) {
			return &n.Interfaces[i]
		}
	}
	return nil
}

func (v *validator) routes() {
	for ni := range v.sc.Nodes {
		n := &v.sc.Nodes[ni]
		for _, r := range n.Routes {
			if !r.To.Value.IsValid() {
				v.errf(r.Via.Pos, "route of node %q has no destination (to)", n.Name.Value)
			} else if r.To.Value != r.To.Value.Masked() {
				v.errf(r.To.Pos, "route destination %s has host bits set (want %s)", r.To.Value, r.To.Value.Masked())
			}
			if !r.Via.Value.IsValid() {
				v.errf(r.To.Pos, "route %s of node %q has no gateway (via)", r.To.Value, n.Name.Value)
			} else if v.connected(n, r.Via.Value) == nil {
				v.errf(r.Via.Pos, "gateway %s of node %q is outside every subnet the node is on", r.Via.Value,
					n.Name.Value)
			}
		}
	}
}

// nodeRef resolves a node reference, reporting unknown names and wrong roles.
func (v *validator) nodeRef(t Text, what string, roles ...string) *Node {
	if t.Value == "" {
		v.errf(t.Pos, "%s: node name missing", what)
		return nil
	}
	n := v.sc.Node(t.Value)
	if n == nil {
		v.errf(t.Pos, "%s: unknown node %q", what, t.Value)
		return nil
	}
	if len(roles) > 0 && !oneOf(n.Role.Value, roles...) {
		v.errf(t.Pos, "%s: node %q has role %q, want %s", what, t.Value, n.Role.Value, strings.Join(roles, " or "))
	}
	return n
}

var protos = []string{"tcp", "udp", "icmp"}

func (v *validator) nat() {
	type pool struct {
		node  string
		addr  netip.Addr
		proto string
		lo    uint16
		hi    uint16
		line  int
	}
	var pools []pool
	for i := range v.sc.NAT {
		r := &v.sc.NAT[i]
		n := v.nodeRef(r.Node, "nat rule", RoleNAT)
		if r.Proto.Value == "" {
			r.Proto.Value = "any"
		} else if !oneOf(r.Proto.Value, "tcp", "udp", "icmp", "any") {
			v.errf(r.Proto.Pos, "nat rule: unknown proto %q (want tcp, udp, icmp or any)", r.Proto.Value)
		}
		switch r.Kind.Value {
		case "snat":
			if !r.Source.Value.IsValid() {
				v.errf(r.Kind.Pos, "snat rule: source prefix missing")
			}
			if n == nil {
				continue
			}
			out := (*Interface)(nil)
			for j := range n.Interfaces {
				if n.Interfaces[j].Name.Value == r.Out.Value {
					out = &n.Interfaces[j]
				}
			}
			if out == nil {
				v.errf(r.Out.Pos, "snat rule: node %q has no interface %q", n.Name.Value, r.Out.Value)
				continue
			}
			if !r.Address.Value.IsValid() {
				r.Address.Value = out.Primary()
			} else if !n.HasAddr(r.Address.Value) {
				v.errf(r.Address.Pos, "snat address %s is not an address of node %q", r.Address.Value, n.Name.Value)
			}
			if !r.Ports.Set {
				r.Ports.Lo, r.Ports.Hi = 1024, 65535
			}
			p := pool{n.Name.Value, r.Address.Value, r.Proto.Value, r.Ports.Lo, r.Ports.Hi, r.Ports.Line}
			if p.line == 0 {
				p.line = r.Kind.Line
			}
			for _, q := range pools {
				if q.node == p.node && q.addr == p.addr && (q.proto == p.proto || q.proto == "any" ||
					p.proto == "any") && p.lo <= q.hi && q.lo <= p.hi {
					v.errf(Pos{p.line, r.Ports.Column}, "snat port range %d-%d on %s overlaps the range %d-%d at line %d",
						p.lo, p.hi, p.addr, q.lo, q.hi, q.line)
				}
			}
			pools = append(pools, p)
		case "dnat":
			if !oneOf(r.Proto.Value, "tcp", "udp") {
				v.errf(r.Kind.Pos, "dnat rule needs proto tcp or udp")
			}
			if !r.Match.Addr.IsValid() || !r.Match.HasPort || r.Match.Name != "" {
				v.errf(r.Match.Pos, "dnat rule: match must be address:port")
			} else if n != nil && !n.HasAddr(r.Match.Addr) {
				v.errf(r.Match.Pos, "dnat match address %s is not an address of node %q", r.Match.Addr, n.Name.Value)
			}
			if !r.Target.Addr.IsValid() || !r.Target.HasPort || r.Target.Name != "" {
				v.errf(r.Target.Pos, "dnat rule: target must be address:port")
			} else if n != nil && v.connected(n, r.Target.Addr) == nil {
				v.errf(r.Target.Pos, "dnat target %s is outside every subnet node %q is on", r.Target.Addr, n.Name.Value)
			}
		default:
			v.errf(r.Kind.Pos, "nat rule: unknown kind %q (want snat or dnat)", r.Kind.Value)
		}
	}
}

func (v *validator) traffic() {
	seen := map[string]int{}
	for i := range v.sc.Traffic {
		c := &v.sc.Traffic[i]
		if c.Name.Value == "" {
			c.Name.Value = fmt.Sprintf("conv-%d", i+1)
		} else if l, dup := seen[c.Name.Value]; dup {
			v.errf(c.Name.Pos, "conversation %q already defined at line %d", c.Name.Value, l)
		}
		seen[c.Name.Value] = c.Name.Line
		client := v.nodeRef(c.Client, "conversation "+c.Name.Value)
		if c.To.Name != "" {
			if v.sc.DNS == nil {
				v.errf(c.To.Pos, "%s: name %q needs a dns section", c.Name.Value, c.To.Name)
			} else if a, ok := v.sc.Resolve(c.To.Name); !ok {
				v.errf(c.To.Pos, "%s: unknown dns name %q", c.Name.Value, c.To.Name)
			} else {
				c.To.Addr = a
			}
		} else if !c.To.Addr.IsValid() {
			v.errf(c.Name.Pos, "%s: destination (to) missing", c.Name.Value)
		}
		if !oneOf(c.Proto.Value, protos...) {
			v.errf(c.Proto.Pos, "%s: unknown proto %q (want tcp, udp or icmp)", c.Name.Value, c.Proto.Value)
		}
		if c.Proto.Value != "icmp" && !c.To.HasPort {
			v.errf(c.To.Pos, "%s: %s needs a port in %q", c.Name.Value, c.Proto.Value, "to")
		}
		v.appDefaults(c)
		if !c.Count.Set {
			c.Count.Value = 1
		} else if c.Count.Value < 1 || c.Count.Value > 1e7 {
			v.errf(c.Count.Pos, "%s: count %d outside 1..10000000", c.Name.Value, c.Count.Value)
		}
		if !c.Requests.Set {
			c.Requests.Value = 1
		} else if c.Requests.Value < 1 || c.Requests.Value > 1e6 {
			v.errf(c.Requests.Pos, "%s: requests %d outside 1..1000000", c.Name.Value, c.Requests.Value)
		}
		if c.Start.Value < 0 || c.Start.Value >= v.sc.Duration.Value {
			v.errf(c.Start.Pos, "%s: start %v outside the duration %v", c.Name.Value, c.Start.Value, v.sc.Duration.Value)
		}
		if !c.Interval.Set {
			c.Interval.Value = time.Second
		} else if c.Interval.Value <= 0 {
			v.errf(c.Interval.Pos, "%s: interval %v must be positive", c.Name.Value, c.Interval.Value)
		}
		if !c.Think.Set {
			c.Think.Value = 200 * time.Microsecond
		} else if c.Think.Value < 0 {
			v.errf(c.Think.Pos, "%s: think %v must not be negative", c.Name.Value, c.Think.Value)
		}
		if c.Close.Value == "" {
			c.Close.Value = "fin"
		} else if !oneOf(c.Close.Value, "fin", "rst") {
			v.errf(c.Close.Pos, "%s: close %q (want fin or rst)", c.Name.Value, c.Close.Value)
		}
		if client != nil && len(client.Interfaces) > 0 {
			mtu := int64(1500)
			if l := v.sc.Link(client.Interfaces[0].Link.Value); l != nil {
				mtu = l.MTU.Value
			}
			if !c.MSS.Set {
				c.MSS.Value = mtu - 40
			} else if c.MSS.Value < 88 || c.MSS.Value > mtu-40 {
				v.errf(c.MSS.Pos, "%s: mss %d outside 88..%d (link mtu - 40)", c.Name.Value, c.MSS.Value, mtu-40)
			}
		}
	}
}

func (v *validator) appDefaults(c *Conversation) {
	switch c.Proto.Value {
	case "tcp":
		if c.App.Value == "" {
			switch c.To.Port {
			case 443:
				c.App.Value = "tls"
			case 80, 8080:
				c.App.Value = "http"
			default:
				c.App.Value = "raw"
			}
		} else if !oneOf(c.App.Value, "tls", "http", "raw") {
			v.errf(c.App.Pos, "%s: unknown app %q (want tls, http or raw)", c.Name.Value, c.App.Value)
		}
	case "udp", "icmp":
		if c.App.Value != "" && c.App.Value != "raw" {
			v.errf(c.App.Pos, "%s: app %q applies to tcp only", c.Name.Value, c.App.Value)
		}
		c.App.Value = "raw"
	}
	if !c.Request.Set {
		c.Request.Value = map[string]int64{"tls": 517, "http": 160, "raw": 64}[c.App.Value]
		if c.Proto.Value == "icmp" {
			c.Request.Value = 32
		}
	}
	if !c.Response.Set {
		c.Response.Value = 1200
		if c.Proto.Value == "icmp" {
			c.Response.Value = c.Request.Value
		}
	}
	limit := int64(1 << 30)
	if c.Proto.Value != "tcp" {
		limit = 1472
	}
	if c.Request.Value > limit || c.Response.Value > limit {
		v.errf(c.Request.Pos, "%s: request/response size above %d bytes for %s", c.Name.Value, limit, c.Proto.Value)
	}
	if c.Proto.Value == "icmp" && c.Response.Value != c.Request.Value {
		v.errf(c.Response.Pos, "%s: an echo reply carries the request's payload; drop response", c.Name.Value)
	}
}

func (v *validator) faults() {
	for i := range v.sc.Faults {
		f := &v.sc.Faults[i]
		set := 0
		for _, b := range []bool{f.Drop != nil, f.MTU != nil, f.Delay != nil, f.Clock != nil, f.Withdraw != nil} {
			if b {
				set++
			}
		}
		if set != 1 {
			v.errf(f.Pos, "fault %d must have exactly one of drop, mtu, delay, clock, withdraw (has %d)", i+1, set)
			continue
		}
		switch {
		case f.Drop != nil:
			d := f.Drop
			v.nodeRef(d.Node, "drop fault")
			if !d.Probability.Set || d.Probability.Value < 0 || d.Probability.Value > 1 {
				v.errf(d.Probability.Pos, "drop probability %v outside 0..1", d.Probability.Value)
			}
			if d.Proto.Value != "" && !oneOf(d.Proto.Value, protos...) {
				v.errf(d.Proto.Pos, "drop fault: unknown proto %q", d.Proto.Value)
			}
			v.window(&d.From, &d.Until)
		case f.MTU != nil:
			if v.sc.Link(f.MTU.Link.Value) == nil {
				v.errf(f.MTU.Link.Pos, "mtu fault: unknown link %q", f.MTU.Link.Value)
			}
			if f.MTU.MTU.Value < 576 || f.MTU.MTU.Value > 9216 {
				v.errf(f.MTU.MTU.Pos, "mtu %d outside 576..9216", f.MTU.MTU.Value)
			}
		case f.Delay != nil:
			v.nodeRef(f.Delay.Node, "delay fault")
			if f.Delay.Delay.Value < 0 || f.Delay.Jitter.Value < 0 {
				v.errf(f.Delay.Delay.Pos, "delay and jitter must not be negative")
			}
		case f.Clock != nil:
			if v.sc.Link(f.Clock.Point.Value) == nil {
				v.errf(f.Clock.Point.Pos, "clock fault: unknown capture point %q", f.Clock.Point.Value)
			}
			if o := f.Clock.Offset.Value; o < -time.Hour || o > time.Hour {
				v.errf(f.Clock.Offset.Pos, "clock offset %v outside ±1h", o)
			}
		case f.Withdraw != nil:
			w := f.Withdraw
			if v.mux(w.Mux.Value) == nil {
				v.errf(w.Mux.Pos, "withdraw fault: %q is not a mux", w.Mux.Value)
			} else {
				v.vipPrefix(w.Mux.Value, w.Prefix, w.Mux.Pos)
			}
			v.window(&w.From, &w.Until)
		}
	}
}

// window checks and defaults a [from, until) fault window.
func (v *validator) window(from, until *Duration) {
	end := v.sc.Duration.Value
	if from.Value < 0 || from.Value > end {
		v.errf(from.Pos, "from %v outside 0..%v", from.Value, end)
	}
	if !until.Set {
		until.Value = end
	} else if until.Value <= from.Value {
		v.errf(until.Pos, "until %v is not after from %v", until.Value, from.Value)
	}
}
