package synth

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/stackflow/stackflow/replay/scenario"
)

// TruthSchema versions the answer-key format documented in samples/README.md.
const TruthSchema = "stackflow.truth/v1"

// Truth is the answer key of a synthesis run: every packet's journey through the capture
// points, where packets died and why, and the scenario-level facts an analyzer should find.
// Times are UTC RFC 3339 with 9 fractional digits; frame numbers are 1-based as Wireshark
// counts them, in the single-pcapng output (number) and within the point (point_number).
type Truth struct {
	Schema           string              `json:"schema"`
	Scenario         string              `json:"scenario"`
	Seed             uint64              `json:"seed"`
	Start            string              `json:"start"`
	End              string              `json:"end"`
	Packets          int                 `json:"packets"`
	Bytes            int64               `json:"bytes"`
	Points           []TruthPoint        `json:"points"`
	Nodes            []TruthNode         `json:"nodes"`
	Conversations    []TruthConversation `json:"conversations"`
	NAT              []TruthNAT          `json:"nat"`
	VIPs             []TruthVIP          `json:"vips"`
	DSR              []TruthDSR          `json:"dsr"`
	BGP              TruthBGP            `json:"bgp"`
	WithdrawnTraffic []TruthWithdrawn    `json:"withdrawn_traffic"`
	Probes           []TruthProbe        `json:"probes"`
	Drops            []TruthDrop         `json:"drops"`
	Journeys         []Journey           `json:"journeys,omitempty"`
	Warnings         []string            `json:"warnings,omitempty"`

	keepJourneys bool
	sc           *scenario.Scenario
	labels       []string
	labelIdx     map[string]int32
	jr           []journeyRec
	obs          []obsRec
	drops        []dropRec
	nat          []natRec
	natIdx       map[string]int32
	bgpSess      []bgpSessRec
	routes       []routeRec
	withdrawn    []withdrawnRec
	first, last  int64
}

// TruthPoint is one capture point (a link).
type TruthPoint struct {
	ID            string   `json:"id"`
	Description   string   `json:"description,omitempty"`
	Subnet        string   `json:"subnet"`
	MTU           int      `json:"mtu"`
	Nodes         []string `json:"nodes"`
	ClockOffsetUs int64    `json:"clock_offset_us"`
	Packets       int      `json:"packets"`
	Bytes         int64    `json:"bytes"`
}

// TruthNode is a node of the scenario (or a VIP, role "vip").
type TruthNode struct {
	Name       string           `json:"name"`
	Roles      []string         `json:"roles"`
	Addresses  []string         `json:"addresses"`
	MACs       []string         `json:"macs"`
	Interfaces []TruthInterface `json:"interfaces,omitempty"`
}

// TruthInterface is one attachment of a node to a capture point.
type TruthInterface struct {
	Name      string   `json:"name"`
	Point     string   `json:"point"`
	MAC       string   `json:"mac"`
	Addresses []string `json:"addresses"`
}

// TruthConversation summarises one scenario conversation.
type TruthConversation struct {
	Name      string `json:"name"`
	Client    string `json:"client"`
	Src       string `json:"src"`
	Dst       string `json:"dst"`
	DstName   string `json:"dst_name,omitempty"`
	Proto     string `json:"proto"`
	App       string `json:"app,omitempty"`
	Instances int    `json:"instances"`
	Completed int    `json:"completed"`
}

// TruthNAT is one address translation, in the report's nat shape (DESIGN.md section 6.1).
type TruthNAT struct {
	Node    string `json:"node"`
	Kind    string `json:"kind"`
	Proto   string `json:"proto"`
	Inside  string `json:"inside"`
	Outside string `json:"outside"`
	First   string `json:"first"`
	Last    string `json:"last"`
	Packets int    `json:"packets"`
}

// TruthVIP is one VIP frontend and the DIP behind it on a host.
type TruthVIP struct {
	VIP         string   `json:"vip"`
	Name        string   `json:"name,omitempty"`
	Proto       string   `json:"proto"`
	Port        uint16   `json:"port,omitempty"`
	DIP         string   `json:"dip"`
	BackendPort uint16   `json:"backend_port,omitempty"`
	Host        string   `json:"host"`
	HostPA      string   `json:"host_pa"`
	VNI         uint32   `json:"vni"`
	Muxes       []string `json:"muxes"`
	DSR         bool     `json:"dsr"`
}

// TruthDSR is a return path seen for replies a host rewrote DIP->VIP.
type TruthDSR struct {
	Host    string   `json:"host"`
	VIP     string   `json:"vip"`
	DIP     string   `json:"dip"`
	Points  []string `json:"points"`
	Packets int      `json:"packets"`
}

// TruthBGP is the control plane: sessions and every route change sent.
type TruthBGP struct {
	Sessions []TruthBGPSession `json:"sessions"`
	Routes   []TruthRoute      `json:"routes"`
}

// TruthBGPSession is one configured peering (possibly several TCP connections).
type TruthBGPSession struct {
	Mux         string         `json:"mux"`
	Router      string         `json:"router"`
	Peers       [2]string      `json:"peers"`
	ASNs        [2]uint32      `json:"asns"`
	RouterIDs   [2]string      `json:"router_ids"`
	HoldTime    uint16         `json:"hold_time"`
	Point       string         `json:"point"`
	Connections int            `json:"connections"`
	Established []string       `json:"established"`
	Closed      []string       `json:"closed"`
	Messages    map[string]int `json:"messages"`
}

// TruthRoute is one prefix in one UPDATE, timed by the frame carrying the UPDATE's last byte
// (first transmission).
type TruthRoute struct {
	Session int      `json:"session"`
	Peer    string   `json:"peer"`
	Prefix  string   `json:"prefix"`
	Event   string   `json:"event"`
	Time    string   `json:"time"`
	NextHop string   `json:"next_hop,omitempty"`
	ASPath  []uint32 `json:"as_path,omitempty"`
	Origin  string   `json:"origin,omitempty"`
	Point   string   `json:"point"`
	Number  uint64   `json:"number"`
}

// TruthWithdrawn is a packet a router dropped for lack of a route to a VIP.
type TruthWithdrawn struct {
	VIP          string `json:"vip"`
	Router       string `json:"router"`
	Time         string `json:"time"`
	Journey      int    `json:"journey,omitempty"`
	Conversation string `json:"conversation,omitempty"`
	Point        string `json:"point,omitempty"`
	Number       uint64 `json:"number,omitempty"`
}

// TruthProbe is one health probe stream.
type TruthProbe struct {
	Host      string `json:"host"`
	Agent     string `json:"agent"`
	DIP       string `json:"dip"`
	Port      uint16 `json:"port"`
	Proto     string `json:"proto"`
	Sent      int    `json:"sent"`
	Succeeded int    `json:"succeeded"`
}

// TruthDrop is where and why a packet died.
type TruthDrop struct {
	Journey    int    `json:"journey,omitempty"`
	Node       string `json:"node"`
	AfterPoint string `json:"after_point,omitempty"`
	Number     uint64 `json:"number,omitempty"`
	Time       string `json:"time"`
	Reason     string `json:"reason"`
}

// Journey is one generated packet and every observation of it, in path order.
type Journey struct {
	ID           int           `json:"id"`
	Conversation string        `json:"conversation,omitempty"`
	Instance     int           `json:"instance"`
	Direction    string        `json:"direction"`
	Proto        string        `json:"proto"`
	Summary      string        `json:"summary"`
	Cause        int           `json:"cause,omitempty"`
	Observations []Observation `json:"observations"`
	Drop         *TruthDrop    `json:"drop,omitempty"`
}

// Observation is a packet seen at one capture point; addresses are the innermost tuple,
// the outer header is given for tunnelled hops. Transform is the change since the previous
// observation, made by Node.
type Observation struct {
	Point       string  `json:"point"`
	Number      uint64  `json:"number"`
	PointNumber uint64  `json:"point_number"`
	Time        string  `json:"time"`
	Node        string  `json:"node"`
	Transform   string  `json:"transform"`
	SrcMAC      string  `json:"src_mac"`
	DstMAC      string  `json:"dst_mac"`
	Src         string  `json:"src"`
	Dst         string  `json:"dst"`
	Sport       *uint16 `json:"sport,omitempty"`
	Dport       *uint16 `json:"dport,omitempty"`
	TTL         uint8   `json:"ttl"`
	OuterSrc    string  `json:"outer_src,omitempty"`
	OuterDst    string  `json:"outer_dst,omitempty"`
	OuterSport  *uint16 `json:"outer_sport,omitempty"`
	VNI         *uint32 `json:"vni,omitempty"`
}

// WriteJSON writes the answer key as indented JSON.
func (t *Truth) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	if err := enc.Encode(t); err != nil {
		return fmt.Errorf("synth: writing truth: %w", err)
	}
	return nil
}
