package scenario

import (
	"net/netip"
	"strings"
	"time"
)

func (v *validator) asn(a Int, what string) {
	if !a.Set {
		v.errf(a.Pos, "%s: asn missing", what)
	} else if a.Value < 1 || a.Value > 1<<32-1 {
		v.errf(a.Pos, "%s: asn %d outside 1..4294967295", what, a.Value)
	}
}

func firstAddr(n *Node) netip.Addr {
	for i := range n.Interfaces {
		if a := n.Interfaces[i].Primary(); a.IsValid() {
			return a
		}
	}
	return netip.Addr{}
}

func (v *validator) routers() {
	seen := map[string]bool{}
	for i := range v.sc.Routers {
		r := &v.sc.Routers[i]
		n := v.nodeRef(r.Node, "router", RoleRouter)
		if seen[r.Node.Value] {
			v.errf(r.Node.Pos, "router %q listed twice", r.Node.Value)
		}
		seen[r.Node.Value] = true
		v.asn(r.ASN, "router "+r.Node.Value)
		if n != nil && !r.RouterID.Value.IsValid() {
			r.RouterID.Value = firstAddr(n)
		}
	}
}

func (v *validator) router(name string) *Router {
	for i := range v.sc.Routers {
		if v.sc.Routers[i].Node.Value == name {
			return &v.sc.Routers[i]
		}
	}
	return nil
}

// sharesLink tells whether a and b have interfaces on one link.
func sharesLink(a, b *Node) bool {
	for i := range a.Interfaces {
		for j := range b.Interfaces {
			if a.Interfaces[i].Link.Value == b.Interfaces[j].Link.Value {
				return true
			}
		}
	}
	return false
}

func (v *validator) hosts() {
	v.dips = map[netip.Addr]bool{}
	for i := range v.sc.Hosts {
		h := &v.sc.Hosts[i]
		n := v.nodeRef(h.Node, "host", RoleHost)
		if !h.PA.Value.IsValid() {
			v.errf(h.Node.Pos, "host %q: provider address (pa) missing", h.Node.Value)
		} else if n != nil && !n.HasAddr(h.PA.Value) {
			v.errf(h.PA.Pos, "host pa %s is not an address of node %q", h.PA.Value, h.Node.Value)
		}
		if !h.DSR.Set {
			h.DSR.Value = true
		}
		for j := range h.VMs {
			vm := &h.VMs[j]
			vn := v.nodeRef(vm.Node, "host vm", RoleServer, RoleClient)
			if vn != nil && n != nil && !sharesLink(vn, n) {
				v.errf(vm.Node.Pos, "vm %q shares no link with host %q", vm.Node.Value, h.Node.Value)
			}
			switch {
			case !vm.VNI.Set:
				v.errf(vm.Node.Pos, "vm %q: vni missing", vm.Node.Value)
			case vm.VNI.Value < 0 || vm.VNI.Value > 1<<24-1:
				v.errf(vm.VNI.Pos, "vni %d does not fit in 24 bits", vm.VNI.Value)
			case vm.VNI.Value < VNIMin || vm.VNI.Value > VNIMax:
				v.warnf(vm.VNI.Pos, "vni %d outside the Windows SDN range %d..%d", vm.VNI.Value, VNIMin, VNIMax)
			}
			if vn == nil {
				continue
			}
			for k := range vn.Interfaces {
				for _, a := range vn.Interfaces[k].Addresses {
					v.dips[a.Value.Addr()] = true
				}
			}
			if j == 0 && n != nil {
				agent := h.Agent.Value
				if !agent.IsValid() {
					if l := v.sc.Link(vn.Interfaces[0].Link.Value); l != nil && l.Subnet.Value.IsValid() {
						agent = FirstAddr(l.Subnet.Value)
					}
				}
				if agent.IsValid() && !n.HasAddr(agent) {
					p := h.Agent.Pos
					if !p.valid() {
						p = h.Node.Pos
					}
					v.errf(p, "host agent address %s is not an address of host %q", agent, h.Node.Value)
				}
				h.Agent.Value = agent
			}
		}
	}
}

func (v *validator) mux(name string) *Mux {
	for i := range v.sc.Muxes {
		if v.sc.Muxes[i].Node.Value == name {
			return &v.sc.Muxes[i]
		}
	}
	return nil
}

func (v *validator) vip(a netip.Addr) *VIP {
	for i := range v.sc.VIPs {
		if v.sc.VIPs[i].Address.Value == a {
			return &v.sc.VIPs[i]
		}
	}
	return nil
}

func (v *validator) vips() {
	seen := map[netip.Addr]int{}
	for i := range v.sc.VIPs {
		x := &v.sc.VIPs[i]
		if !x.Address.Value.IsValid() {
			v.errf(x.Address.Pos, "vip %d: address missing", i+1)
			continue
		}
		if l, dup := seen[x.Address.Value]; dup {
			v.errf(x.Address.Pos, "vip %s already defined at line %d", x.Address.Value, l)
		}
		seen[x.Address.Value] = x.Address.Line
		if len(x.Muxes) == 0 {
			for j := range v.sc.Muxes {
				x.Muxes = append(x.Muxes, Text{Value: v.sc.Muxes[j].Node.Value})
			}
		}
		for _, m := range x.Muxes {
			if v.mux(m.Value) == nil {
				v.errf(m.Pos, "vip %s: %q is not a mux", x.Address.Value, m.Value)
			}
		}
		for j := range x.Ports {
			p := &x.Ports[j]
			if !oneOf(p.Proto.Value, protos...) {
				v.errf(p.Proto.Pos, "vip port: unknown proto %q (want tcp, udp or icmp)", p.Proto.Value)
				continue
			}
			if p.Proto.Value == "icmp" {
				continue
			}
			if p.Port.Value < 1 || p.Port.Value > 65535 {
				v.errf(p.Proto.Pos, "vip %s: %s port %d outside 1..65535", x.Address.Value, p.Proto.Value, p.Port.Value)
			}
			if !p.BackendPort.Set {
				p.BackendPort.Value = p.Port.Value
			} else if p.BackendPort.Value < 1 || p.BackendPort.Value > 65535 {
				v.errf(p.BackendPort.Pos, "backend port %d outside 1..65535", p.BackendPort.Value)
			}
		}
		if len(x.Backends) == 0 {
			v.errf(x.Address.Pos, "vip %s has no backends", x.Address.Value)
		}
		for _, b := range x.Backends {
			if !v.dips[b.Value] {
				v.errf(b.Pos, "backend %s of vip %s is not an address of a vm on any host", b.Value, x.Address.Value)
			}
		}
		if p := x.Probe; p != nil {
			if p.Proto.Value == "" {
				p.Proto.Value = "tcp"
			} else if !oneOf(p.Proto.Value, "tcp", "http") {
				v.errf(p.Proto.Pos, "probe: unknown proto %q (want tcp or http)", p.Proto.Value)
			}
			if p.Port.Value < 1 || p.Port.Value > 65535 {
				v.errf(p.Proto.Pos, "probe port %d outside 1..65535", p.Port.Value)
			}
			if !p.Interval.Set {
				p.Interval.Value = 5 * time.Second
			} else if p.Interval.Value < time.Millisecond {
				v.errf(p.Interval.Pos, "probe interval %v is below 1ms", p.Interval.Value)
			}
			if p.Path == "" {
				p.Path = "/"
			}
		}
	}
}

func (v *validator) muxes() {
	for i := range v.sc.Muxes {
		m := &v.sc.Muxes[i]
		n := v.nodeRef(m.Node, "mux", RoleMux)
		v.asn(m.ASN, "mux "+m.Node.Value)
		if n == nil {
			continue
		}
		if !m.RouterID.Value.IsValid() {
			m.RouterID.Value = firstAddr(n)
		}
		if !m.PA.Value.IsValid() {
			v.errf(m.Node.Pos, "mux %q: provider address (pa) missing", m.Node.Value)
		} else if !n.HasAddr(m.PA.Value) {
			v.errf(m.PA.Pos, "mux pa %s is not an address of node %q", m.PA.Value, m.Node.Value)
		}
		for j := range m.Peers {
			p := &m.Peers[j]
			rn := v.nodeRef(p.Router, "bgp peer", RoleRouter)
			if rn != nil && v.router(p.Router.Value) == nil {
				v.errf(p.Router.Pos, "bgp peer %q is not listed under routers", p.Router.Value)
			}
			if rn != nil {
				if !p.Address.Value.IsValid() {
					for k := range rn.Interfaces {
						a := rn.Interfaces[k].Primary()
						if v.connected(n, a) != nil {
							p.Address.Value = a
							break
						}
					}
				}
				switch {
				case !rn.HasAddr(p.Address.Value):
					v.errf(p.Address.Pos, "bgp peer address %s is not an address of router %q", p.Address.Value, rn.Name.Value)
				case v.connected(n, p.Address.Value) == nil:
					v.errf(p.Address.Pos, "bgp peer address %s is not on a link mux %q is on", p.Address.Value, n.Name.Value)
				}
			}
			if !p.HoldTime.Set {
				p.HoldTime.Value = 90 * time.Second
			} else if p.HoldTime.Value != 0 && (p.HoldTime.Value < 3*time.Second || p.HoldTime.Value > 65535*time.Second) {
				v.errf(p.HoldTime.Pos, "hold time %v must be 0 or 3s..65535s", p.HoldTime.Value)
			} else if p.HoldTime.Value%time.Second != 0 {
				v.errf(p.HoldTime.Pos, "hold time %v must be whole seconds", p.HoldTime.Value)
			}
			if p.ConnectAt.Value < 0 || p.ConnectAt.Value >= v.sc.Duration.Value {
				v.errf(p.ConnectAt.Pos, "connect_at %v outside the scenario's duration", p.ConnectAt.Value)
			}
		}
		for j := range m.Events {
			v.bgpEvent(m, &m.Events[j])
		}
	}
}

func (v *validator) bgpEvent(m *Mux, e *BGPEvent) {
	if !e.At.Set || e.At.Value < 0 || e.At.Value > v.sc.Duration.Value {
		v.errf(e.At.Pos, "bgp event time %v outside 0..%v", e.At.Value, v.sc.Duration.Value)
	}
	switch e.Action.Value {
	case "announce", "withdraw":
		v.vipPrefix(m.Node.Value, e.Prefix, e.Action.Pos)
	case "reset":
		if e.ReconnectAfter.Value < 0 {
			v.errf(e.ReconnectAfter.Pos, "reconnect_after %v must not be negative", e.ReconnectAfter.Value)
		}
	default:
		v.errf(e.Action.Pos, "bgp event: unknown action %q (want announce, withdraw or reset)", e.Action.Value)
	}
}

// vipPrefix checks a /32 of a VIP the mux serves.
func (v *validator) vipPrefix(mux string, p Prefix, at Pos) {
	if !p.Value.IsValid() {
		v.errf(at, "prefix missing")
		return
	}
	if p.Value.Bits() != 32 {
		v.errf(p.Pos, "prefix %s: a Mux announces VIPs as /32", p.Value)
		return
	}
	x := v.vip(p.Value.Addr())
	if x == nil {
		v.errf(p.Pos, "prefix %s is not a vip", p.Value)
		return
	}
	for _, m := range x.Muxes {
		if m.Value == mux {
			return
		}
	}
	v.errf(p.Pos, "vip %s is not served by mux %q", p.Value.Addr(), mux)
}

func (v *validator) dns() {
	d := v.sc.DNS
	if d == nil {
		return
	}
	n := v.nodeRef(d.Server, "dns server")
	if n != nil {
		if !d.Address.Value.IsValid() {
			d.Address.Value = firstAddr(n)
		} else if !n.HasAddr(d.Address.Value) {
			v.errf(d.Address.Pos, "dns address %s is not an address of node %q", d.Address.Value, n.Name.Value)
		}
	}
	seen := map[string]int{}
	for i := range d.Names {
		x := &d.Names[i]
		x.Name.Value = strings.ToLower(strings.TrimSuffix(x.Name.Value, "."))
		if !validDNSName(x.Name.Value) {
			v.errf(x.Name.Pos, "invalid dns name %q", x.Name.Value)
		}
		if l, dup := seen[x.Name.Value]; dup {
			v.errf(x.Name.Pos, "dns name %q already defined at line %d", x.Name.Value, l)
		}
		seen[x.Name.Value] = x.Name.Line
		if !x.Address.Value.IsValid() {
			v.errf(x.Name.Pos, "dns name %q has no address", x.Name.Value)
		}
		if !x.TTL.Set {
			x.TTL.Value = 300
		} else if x.TTL.Value < 0 || x.TTL.Value > 1<<31-1 {
			v.errf(x.TTL.Pos, "dns ttl %d outside 0..2147483647", x.TTL.Value)
		}
	}
}

// Resolve returns the address of a DNS name in the scenario's dns section.
func (sc *Scenario) Resolve(name string) (netip.Addr, bool) {
	if sc.DNS == nil {
		return netip.Addr{}, false
	}
	for _, x := range sc.DNS.Names {
		if x.Name.Value == name {
			return x.Address.Value, true
		}
	}
	return netip.Addr{}, false
}
