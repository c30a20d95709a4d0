// Package scenario owns the replay scenario format: the YAML model of an SDN datacenter (nodes,
// links that are capture points, NAT rules, routers, SLB Muxes with their BGP sessions, Hyper-V
// hosts with VIP->DIP mappings, DNS names, traffic and faults), its loader with line-accurate
// errors, and the validation of every reference. samples/azurestack-poc.yaml is the annotated
// example of the format. The synthesizer (replay/synth) turns a loaded Scenario into packets.
package scenario

import (
	"net/netip"
	"time"
)

// Pos is a 1-based position in the scenario file; the zero Pos means "not given".
type Pos struct {
	Line   int
	Column int
}

// Text is a string value with its position: names and references to other entries.
type Text struct {
	Value string
	Pos
}

// Int is an integer value with its position.
type Int struct {
	Value int64
	Set   bool
	Pos
}

// Bool is a boolean value with its position; Set tells whether the file gave it.
type Bool struct {
	Value bool
	Set   bool
	Pos
}

// Float is a number such as a probability, with its position.
type Float struct {
	Value float64
	Set   bool
	Pos
}

// Addr is an IPv4 address with its position.
type Addr struct {
	Value netip.Addr
	Pos
}

// Prefix is an address with a prefix length. Interface addresses keep their host bits
// (192.168.200.10/24); route destinations and subnets must be masked.
type Prefix struct {
	Value netip.Prefix
	Pos
}

// Endpoint is "host:port" or a bare host, where host is an IPv4 address or a DNS name the
// scenario's dns section resolves.
type Endpoint struct {
	Name    string     // DNS name when the file gave one, else empty
	Addr    netip.Addr // the literal address, or the resolved one after validation
	Port    uint16
	HasPort bool
	Pos
}

// Duration is a Go duration string ("250ms", "90s", "-2ms") with its position.
type Duration struct {
	Value time.Duration
	Set   bool
	Pos
}

// Timestamp is an RFC 3339 time with its position.
type Timestamp struct {
	Value time.Time
	Pos
}

// MAC is an Ethernet address with its position.
type MAC struct {
	Value [6]byte
	Set   bool
	Pos
}

// Size is a byte count: 1200, "12KB" (1000), "64KiB" (1024), "1.5MB".
type Size struct {
	Value int64
	Set   bool
	Pos
}

// PortRange is an inclusive range "40000-40999" (or one port).
type PortRange struct {
	Lo, Hi uint16
	Set    bool
	Pos
}

// Scenario is one scenario file.
type Scenario struct {
	Name        Text           `yaml:"name"`
	Description string         `yaml:"description"`
	Seed        Int            `yaml:"seed"`     // default 1; the CLI's --seed overrides it
	Start       Timestamp      `yaml:"start"`    // time of the first event; default 2024-05-14T09:00:00Z
	Duration    Duration       `yaml:"duration"` // traffic and periodic events stop after this
	Links       []Link         `yaml:"links"`
	Nodes       []Node         `yaml:"nodes"`
	NAT         []NATRule      `yaml:"nat"`
	Routers     []Router       `yaml:"routers"`
	Muxes       []Mux          `yaml:"muxes"`
	Hosts       []Host         `yaml:"hosts"`
	VIPs        []VIP          `yaml:"vips"`
	DNS         *DNS           `yaml:"dns"`
	Traffic     []Conversation `yaml:"traffic"`
	Faults      []Fault        `yaml:"faults"`

	// File is the name errors are reported against.
	File string `yaml:"-"`
	// Warnings are problems that do not stop generation (a VNI outside 4096..2^24-2, ...).
	Warnings []*Diagnostic `yaml:"-"`
}

// Link is one Ethernet segment and the capture point on it; its name is the point id
// (DESIGN.md section 2) and the pcapng interface name.
type Link struct {
	Name        Text     `yaml:"name"`
	Subnet      Prefix   `yaml:"subnet"`    // optional; else taken from the first interface
	MTU         Int      `yaml:"mtu"`       // IP MTU, default 1500
	Latency     Duration `yaml:"latency"`   // propagation delay, default 20µs
	Bandwidth   Size     `yaml:"bandwidth"` // bits per second ("10G" = 1e10), default 10G
	Description string   `yaml:"description"`
}

// Node is a VM, a router or a host.
type Node struct {
	Name Text `yaml:"name"`
	// Role is client, server, nat, router, mux or host; it selects the default behaviour.
	Role       Text        `yaml:"role"`
	TTL        Int         `yaml:"ttl"`   // initial IPv4 TTL, default 128 (Windows)
	Delay      Duration    `yaml:"delay"` // forwarding/processing delay, default by role
	Interfaces []Interface `yaml:"interfaces"`
	Routes     []Route     `yaml:"routes"`
}

// Interface attaches a node to a link.
type Interface struct {
	Name      Text     `yaml:"name"`
	Link      Text     `yaml:"link"`
	MAC       MAC      `yaml:"mac"`
	Addresses []Prefix `yaml:"addresses"` // first is the primary (source) address
}

// Route is a static route; connected subnets are implicit.
type Route struct {
	To  Prefix `yaml:"to"`
	Via Addr   `yaml:"via"`
}

// NATRule is one translation on a NAT node. snat rewrites the source of packets from Source
// leaving through Out to Address:Ports; dnat rewrites Match (outside ip:port) to Target.
type NATRule struct {
	Node    Text      `yaml:"node"`
	Kind    Text      `yaml:"kind"`    // snat | dnat
	Proto   Text      `yaml:"proto"`   // tcp | udp | icmp | any (default any)
	Source  Prefix    `yaml:"source"`  // snat: inside sources to translate
	Out     Text      `yaml:"out"`     // snat: egress interface name
	Address Addr      `yaml:"address"` // snat: public address, default Out's primary address
	Ports   PortRange `yaml:"ports"`   // snat: port (and ICMP id) pool, default 1024-65535
	Match   Endpoint  `yaml:"match"`   // dnat: outside address:port
	Target  Endpoint  `yaml:"target"`  // dnat: inside address:port
}

// Router is a BGP-speaking router (the BGPVM). It learns VIP /32s from Muxes.
type Router struct {
	Node     Text `yaml:"node"`
	ASN      Int  `yaml:"asn"`
	RouterID Addr `yaml:"router_id"` // default: the node's first address
	// Unreachable makes the router answer packets it has no route for with ICMP destination
	// unreachable (host unreachable); otherwise they are silently dropped.
	Unreachable Bool `yaml:"icmp_unreachable"`
}

// Mux is an SLB Mux: it announces VIP /32s to its BGP peers and encapsulates VIP traffic in
// VXLAN to the host behind which the chosen DIP lives.
type Mux struct {
	Node     Text       `yaml:"node"`
	ASN      Int        `yaml:"asn"`
	RouterID Addr       `yaml:"router_id"`
	PA       Addr       `yaml:"pa"` // provider address: outer source of the VXLAN packets
	Peers    []BGPPeer  `yaml:"peers"`
	Events   []BGPEvent `yaml:"events"`
}

// BGPPeer is one eBGP session from the Mux to a router (the Mux connects, router port 179).
type BGPPeer struct {
	Router    Text     `yaml:"router"`     // router node name
	Address   Addr     `yaml:"address"`    // the router's address on the shared link
	HoldTime  Duration `yaml:"hold_time"`  // default 90s; KEEPALIVE every third of it
	ConnectAt Duration `yaml:"connect_at"` // default 0 (the session comes up before traffic)
}

// BGPEvent changes what a Mux announces: announce or withdraw a /32, or reset the sessions
// (NOTIFICATION Cease, then reconnect after ReconnectAfter if set).
type BGPEvent struct {
	At             Duration `yaml:"at"`
	Action         Text     `yaml:"action"` // announce | withdraw | reset
	Prefix         Prefix   `yaml:"prefix"`
	ReconnectAfter Duration `yaml:"reconnect_after"`
}

// Host is a Hyper-V host (VFP): VTEP at PA, VIP->DIP rewrite, DSR for replies.
type Host struct {
	Node  Text     `yaml:"node"`
	PA    Addr     `yaml:"pa"`
	DSR   Bool     `yaml:"dsr"`   // default true: replies go straight to the router
	Agent Addr     `yaml:"agent"` // health-probe source, default first address of the DIP subnet
	VMs   []HostVM `yaml:"vms"`
}

// HostVM is a tenant VM on a host and its virtual subnet.
type HostVM struct {
	Node Text `yaml:"node"`
	VNI  Int  `yaml:"vni"` // VXLAN VNI = VSID; 4096..2^24-2 expected (else a warning)
}

// VIP is a load-balanced frontend address.
type VIP struct {
	Address  Addr      `yaml:"address"`
	Name     string    `yaml:"name"`
	Muxes    []Text    `yaml:"muxes"` // Muxes announcing and serving it; default all
	Ports    []VIPPort `yaml:"ports"`
	Backends []Addr    `yaml:"backends"` // DIPs
	Probe    *Probe    `yaml:"probe"`
}

// VIPPort maps a frontend port to a backend port; proto icmp has no ports.
type VIPPort struct {
	Proto       Text `yaml:"proto"`
	Port        Int  `yaml:"port"`
	BackendPort Int  `yaml:"backend_port"` // default Port
}

// Probe is the SLB health probe the host agent sends to each DIP.
type Probe struct {
	Proto    Text     `yaml:"proto"` // tcp (SYN, SYN-ACK, RST) | http (GET Path)
	Port     Int      `yaml:"port"`
	Path     string   `yaml:"path"`
	Interval Duration `yaml:"interval"` // default 5s
}

// DNS is the name server the clients ask and the names it knows.
type DNS struct {
	Server  Text      `yaml:"server"`  // node answering on UDP 53
	Address Addr      `yaml:"address"` // default: the server's first address
	Names   []DNSName `yaml:"names"`
}

// DNSName is one A record.
type DNSName struct {
	Name    Text `yaml:"name"`
	Address Addr `yaml:"address"`
	TTL     Int  `yaml:"ttl"` // seconds, default 300
}

// Conversation is a repeated exchange from a client to an endpoint.
type Conversation struct {
	Name     Text     `yaml:"name"`
	Client   Text     `yaml:"client"`
	To       Endpoint `yaml:"to"`       // ip:port, name:port (DNS lookup first), bare ip for icmp
	Proto    Text     `yaml:"proto"`    // tcp | udp | icmp
	App      Text     `yaml:"app"`      // tcp: tls (default on 443) | http | raw
	Request  Size     `yaml:"request"`  // bytes the client sends per request (icmp: payload)
	Response Size     `yaml:"response"` // bytes the server answers per request
	Count    Int      `yaml:"count"`    // connections (tcp), exchanges (udp) or echoes (icmp)
	Requests Int      `yaml:"requests"` // tcp: requests per connection, default 1
	Start    Duration `yaml:"start"`
	Interval Duration `yaml:"interval"` // between starts, default 1s
	MSS      Int      `yaml:"mss"`      // tcp: MSS the client advertises, default MTU-40
	Close    Text     `yaml:"close"`    // tcp: fin (default) | rst
	Think    Duration `yaml:"think"`    // server time before answering, default 200µs
}

// Fault is one impairment; exactly one field is set.
type Fault struct {
	Drop     *DropFault     `yaml:"drop"`
	MTU      *MTUFault      `yaml:"mtu"`
	Delay    *DelayFault    `yaml:"delay"`
	Clock    *ClockFault    `yaml:"clock"`
	Withdraw *WithdrawFault `yaml:"withdraw"`
	Pos      `yaml:"-"`     // the list item's position
}

// DropFault loses packets inside a node (they are seen arriving, never leaving) with the given
// probability while From <= t < Until.
type DropFault struct {
	Node        Text     `yaml:"node"`
	Probability Float    `yaml:"probability"`
	Proto       Text     `yaml:"proto"` // optional filter: tcp | udp | icmp
	From        Duration `yaml:"from"`
	Until       Duration `yaml:"until"` // default: the end
}

// MTUFault sets a link's MTU; packets too large for it are dropped by the sending node, or
// answered with ICMP fragmentation-needed when ICMP is true.
type MTUFault struct {
	Link Text `yaml:"link"`
	MTU  Int  `yaml:"mtu"`
	ICMP Bool `yaml:"icmp"`
}

// DelayFault adds delay and uniform jitter to every packet a node forwards or answers.
type DelayFault struct {
	Node   Text     `yaml:"node"`
	Delay  Duration `yaml:"delay"`
	Jitter Duration `yaml:"jitter"`
}

// ClockFault shifts every timestamp written at one capture point.
type ClockFault struct {
	Point  Text     `yaml:"point"`
	Offset Duration `yaml:"offset"`
}

// WithdrawFault withdraws a VIP /32 from a Mux between From and Until (re-announced at Until
// when set); shorthand for two BGP events.
type WithdrawFault struct {
	Mux    Text     `yaml:"mux"`
	Prefix Prefix   `yaml:"prefix"`
	From   Duration `yaml:"from"`
	Until  Duration `yaml:"until"`
}
