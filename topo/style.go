package topo

import "strings"

// roleStyle is how a node of one main role is drawn, and what the legend calls it.
type roleStyle struct {
	role   string
	legend string
	shape  string
	fill   string
	border string
}

// roleStyles lists the roles in legend order: the ClientVM -> PortalVM chain, then the rest.
var roleStyles = []roleStyle{
	{"client", "client", "box", "#dbeafe", "#1d4ed8"},
	{"nat", "NAT (SNAT/RRAS)", "box", "#fef3c7", "#b45309"},
	{"router", "router / BGP peer", "box", "#e0e7ff", "#4338ca"},
	{"mux", "SLB Mux (announces VIPs)", "box3d", "#f3e8ff", "#7e22ce"},
	{"host", "host / VTEP (VFP)", "box", "#dcfce7", "#15803d"},
	{"dip", "DIP (backend VM)", "box", "#ffe4e6", "#be123c"},
	{"vip", "VIP (announced /32)", "ellipse", "#fdf4ff", "#a21caf"},
	{"server", "server", "box", "#fce7f3", "#9d174d"},
	{"prober", "health prober", "box", "#ecfccb", "#4d7c0f"},
	{"bgp_speaker", "BGP speaker", "box", "#ede9fe", "#6d28d9"},
}

var unknownRole = roleStyle{"", "other", "box", "#f3f4f6", "#4b5563"}

func styleOf(role string) roleStyle {
	for _, s := range roleStyles {
		if s.role == role {
			return s
		}
	}
	return unknownRole
}

// Edge colours; each kind has one, and the legend shows them.
const (
	colorForward  = "#1f2937"
	colorReturn   = "#6b7280"
	colorDSR      = "#2563eb"
	colorBGP      = "#7c3aed"
	colorWarn     = "#dc2626"
	colorFaint    = "#6b7280"
	colorTitle    = "#111827"
	colorEndpoint = "#f9fafb"
)

// transformColor makes a hop's transform stand out by what it changed.
func transformColor(t string) string {
	switch {
	case t == "" || t == "none":
		return colorFaint
	case t == "route":
		return "#4338ca"
	case strings.Contains(t, "encap"), strings.Contains(t, "decap"):
		return "#7e22ce"
	default: // NAT of some kind
		return "#b45309"
	}
}
