package flows

// Schema is the report's version tag. Field names are a stable contract (DESIGN.md section 6):
// add fields freely, never rename.
const Schema = "stackflow.report/v1"

// Report is everything analysis found; every presentation (text, JSON, TUI, diagrams) reads only
// this. Times are UTC RFC 3339 strings with exactly 9 fractional digits (see FormatTime).
type Report struct {
	Schema    string         `json:"schema"`
	Filter    string         `json:"filter,omitempty"` // the --filter expression that narrowed this report
	Capture   Capture        `json:"capture"`
	Protocols map[string]int `json:"protocols"`
	Tunnels   []Tunnel       `json:"tunnels"`
	BGP       BGP            `json:"bgp"`
	Flows     []Flow         `json:"flows"`
	Nodes     []Node         `json:"nodes"`
	Paths     []Path         `json:"paths"`
	NAT       []NATMapping   `json:"nat"`
	Findings  []Finding      `json:"findings"`
}

// Capture describes the inputs.
type Capture struct {
	Packets  int       `json:"packets"`
	Bytes    int64     `json:"bytes"`
	Start    string    `json:"start,omitempty"`
	End      string    `json:"end,omitempty"`
	Inputs   []Input   `json:"inputs"`
	Points   []Point   `json:"points"`
	Problems []Problem `json:"problems"`
}

// Input is one file given on the command line.
type Input struct {
	File    string `json:"file"`
	Format  string `json:"format"`
	Packets int    `json:"packets"`
	Bytes   int64  `json:"bytes"`
}

// Point is a capture point: one (input file, interface).
type Point struct {
	ID            string `json:"id"`
	File          string `json:"file"`
	Interface     string `json:"interface,omitempty"`
	InterfaceIdx  int    `json:"interface_index"`
	Description   string `json:"description,omitempty"`
	LinkType      string `json:"link_type"`
	Packets       int    `json:"packets"`
	Bytes         int64  `json:"bytes"`
	ClockOffsetUs *int64 `json:"clock_offset_us,omitempty"`
}

// Problem is damage found in the input, with its position.
type Problem struct {
	Kind    string `json:"kind"`
	File    string `json:"file"`
	Packet  uint64 `json:"packet"`
	Offset  int64  `json:"offset"`
	Message string `json:"message"`
}

// Tunnel is one (type, vni, outer_src, outer_dst, nesting level).
type Tunnel struct {
	Type     string  `json:"type"`
	VNI      *uint32 `json:"vni,omitempty"`
	FlowID   *uint8  `json:"flow_id,omitempty"`
	Key      *uint32 `json:"key,omitempty"`
	OuterSrc string  `json:"outer_src"`
	OuterDst string  `json:"outer_dst"`
	Level    int     `json:"level"`
	Packets  int     `json:"packets"`
	Bytes    int64   `json:"bytes"`
	First    string  `json:"first"`
	Last     string  `json:"last"`
}

// MessageCounts counts BGP messages by type.
type MessageCounts struct {
	Open         int `json:"open"`
	Update       int `json:"update"`
	Notification int `json:"notification"`
	Keepalive    int `json:"keepalive"`
	RouteRefresh int `json:"route_refresh"`
}

// BGP holds every BGP message's effect.
type BGP struct {
	Messages MessageCounts `json:"messages"`
	Sessions []BGPSession  `json:"sessions"`
	Routes   []BGPRoute    `json:"routes"`
	// Events is each session's life in time order: open, established, notification, down,
	// hold_expired (inferred from silence). Route events are in Routes.
	Events []BGPEvent `json:"events"`
}

// BGPEvent is one change in a BGP session's state.
type BGPEvent struct {
	Session string `json:"session"`
	Peer    string `json:"peer"` // the side whose message or silence caused it
	Event   string `json:"event"`
	Time    string `json:"time"`
	Detail  string `json:"detail,omitempty"`
	Point   string `json:"point,omitempty"`
	Packet  uint64 `json:"packet,omitempty"`
}

// BGPSession is one TCP connection carrying BGP, possibly seen at several points.
type BGPSession struct {
	ID           string        `json:"id"`
	Peers        [2]string     `json:"peers"`
	Ports        [2]uint16     `json:"ports"`
	ASNs         [2]*uint32    `json:"asns"`
	RouterIDs    [2]string     `json:"router_ids"`
	HoldTime     *uint16       `json:"hold_time,omitempty"`
	FourOctetAS  bool          `json:"four_octet_as"`
	AddPath      bool          `json:"add_path,omitempty"`
	State        string        `json:"state"`
	Messages     MessageCounts `json:"messages"`
	Points       []string      `json:"points"`
	First        string        `json:"first"`
	Last         string        `json:"last"`
	Capabilities [2][]string   `json:"capabilities,omitempty"`
	Notification *BGPNotify    `json:"notification,omitempty"`
	Gaps         int           `json:"gaps,omitempty"`
}

// BGPNotify is a NOTIFICATION message.
type BGPNotify struct {
	From    string `json:"from"`
	Time    string `json:"time"`
	Code    uint8  `json:"code"`
	Subcode uint8  `json:"subcode"`
	Name    string `json:"name"`
}

// BGPRoute is one prefix in one UPDATE.
type BGPRoute struct {
	Session     string   `json:"session"`
	Peer        string   `json:"peer"`
	Prefix      string   `json:"prefix"`
	Event       string   `json:"event"` // announce | withdraw
	Time        string   `json:"time"`
	AFI         uint16   `json:"afi,omitempty"`
	SAFI        uint8    `json:"safi,omitempty"`
	RD          string   `json:"rd,omitempty"`
	PathID      *uint32  `json:"path_id,omitempty"`
	NextHop     string   `json:"next_hop,omitempty"`
	ASPath      []any    `json:"as_path,omitempty"` // uint32 or []uint32 for an AS_SET
	Origin      string   `json:"origin,omitempty"`
	MED         *uint32  `json:"med,omitempty"`
	LocalPref   *uint32  `json:"local_pref,omitempty"`
	Communities []string `json:"communities,omitempty"`
	Point       string   `json:"point"`
	Packet      uint64   `json:"packet"`
}

// Flow is one bidirectional conversation at one capture point (inner 5-tuple, VNI, point).
type Flow struct {
	ID           string   `json:"id"`
	CommunityID  string   `json:"community_id"`
	Proto        string   `json:"proto"`
	Src          string   `json:"src"`
	Dst          string   `json:"dst"`
	Sport        *uint16  `json:"sport,omitempty"`
	Dport        *uint16  `json:"dport,omitempty"`
	VNI          *uint32  `json:"vni,omitempty"`
	Point        string   `json:"point"`
	Packets      int      `json:"packets"`
	Bytes        int64    `json:"bytes"`
	First        string   `json:"first"`
	Last         string   `json:"last"`
	State        string   `json:"state,omitempty"`
	History      string   `json:"history,omitempty"`
	TunnelParent string   `json:"tunnel_parent,omitempty"`
	TunnelFlows  []string `json:"tunnel_children,omitempty"`
	OrigPackets  int      `json:"orig_packets"`
	OrigBytes    int64    `json:"orig_bytes"`
	RespPackets  int      `json:"resp_packets"`
	RespBytes    int64    `json:"resp_bytes"`
	RTTUs        *int64   `json:"rtt_us,omitempty"`
	Retransmits  int      `json:"retransmissions,omitempty"`
	ZeroWindows  int      `json:"zero_windows,omitempty"`
	Resets       int      `json:"resets,omitempty"`
}

// Node is an endpoint or middlebox inferred from traffic.
type Node struct {
	ID        string   `json:"id"`
	Name      string   `json:"name"`
	Addresses []string `json:"addresses"`
	MACs      []string `json:"macs"`
	Roles     []string `json:"roles"`
}

// Path is an end-to-end chain of hops in one direction.
type Path struct {
	ID        string   `json:"id"`
	Direction string   `json:"direction"` // forward | return
	FlowIDs   []string `json:"flow_ids"`
	Hops      []Hop    `json:"hops"`
	DSR       bool     `json:"dsr"`
	Packets   int      `json:"packets"`
	// Pair is the path of the other direction of the same conversation, when one was seen.
	Pair string `json:"pair,omitempty"`
}

// Hop is one observation of the journey at one location, in path order.
type Hop struct {
	Node      string   `json:"node"`
	Point     string   `json:"point"`
	SrcMAC    string   `json:"src_mac,omitempty"`
	DstMAC    string   `json:"dst_mac,omitempty"`
	Src       string   `json:"src"`
	Dst       string   `json:"dst"`
	Sport     *uint16  `json:"sport,omitempty"`
	Dport     *uint16  `json:"dport,omitempty"`
	VNI       *uint32  `json:"vni,omitempty"`
	OuterSrc  string   `json:"outer_src,omitempty"`
	OuterDst  string   `json:"outer_dst,omitempty"`
	Tunnel    string   `json:"tunnel,omitempty"`
	Transform string   `json:"transform"`
	Packets   int      `json:"packets"`
	LatencyUs *Latency `json:"latency_us,omitempty"`
	Lost      int      `json:"lost"`
}

// Latency summarises per-hop delays in microseconds.
type Latency struct {
	Min    float64 `json:"min"`
	Median float64 `json:"median"`
	P99    float64 `json:"p99"`
}

// NATMapping is one translation seen at a NAT node or host.
type NATMapping struct {
	Node    string `json:"node"`
	Kind    string `json:"kind"` // snat | dnat | vip_dip
	Proto   string `json:"proto"`
	Inside  string `json:"inside"`
	Outside string `json:"outside"`
	First   string `json:"first"`
	Last    string `json:"last"`
	Packets int    `json:"packets"`
}

// Finding is something worth a person's attention, with evidence.
type Finding struct {
	Kind     string   `json:"kind"`
	Severity string   `json:"severity"` // info | warning | error
	Summary  string   `json:"summary"`
	Evidence Evidence `json:"evidence"`
}

// Evidence points at what supports a finding.
type Evidence struct {
	FlowIDs   []string    `json:"flow_ids,omitempty"`
	PathIDs   []string    `json:"path_ids,omitempty"`
	Packets   []PacketRef `json:"packets,omitempty"`
	Addresses []string    `json:"addresses,omitempty"`
}

// PacketRef names one packet by capture point and packet number.
type PacketRef struct {
	Point  string `json:"point"`
	Number uint64 `json:"number"`
}
