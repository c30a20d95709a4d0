package decode

import "strings"

// layerNames spells each LayerSet bit as the report's "protocols" keys do, in bit order.
var layerNames = [...]string{
	"ethernet", "vlan", "ipv4", "ipv6", "tcp", "udp", "icmp", "vxlan", "geneve", "gre",
	"nvgre", "erspan", "bgp", "arp", "sll", "ppp", "chdlc", "dns", "fragment",
}

// Name returns the report spelling of a single-bit LayerSet ("" for none or several bits).
func (s LayerSet) Name() string {
	for i, n := range layerNames {
		if s == 1<<i {
			return n
		}
	}
	return ""
}

// String lists the protocols in s joined by "+", e.g. "ethernet+ipv4+udp+vxlan".
func (s LayerSet) String() string {
	var b strings.Builder
	for i, n := range layerNames {
		if s&(1<<i) != 0 {
			if b.Len() > 0 {
				b.WriteByte('+')
			}
			b.WriteString(n)
		}
	}
	return b.String()
}
