package ui

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/stackflow/stackflow/decode"
	"github.com/stackflow/stackflow/decode/pcapio"
	"github.com/stackflow/stackflow/flows"
)

// PacketSource re-reads the packets of a target from the inputs.
type PacketSource interface {
	Packets(ctx context.Context, t Target) (*PacketList, error)
}

// PacketRow is one packet of a list: where it was read, and its bytes for the detail pane.
type PacketRow struct {
	File     string // input file as given by the user
	Number   uint64 // 1-based packet number in File
	Time     int64  // capture time, ns since the Unix epoch
	Point    string // capture point id
	Hop      int    // 0-based hop of a path export, -1 otherwise
	Len      uint32 // length on the wire
	LinkType uint16
	Data     []byte // captured bytes (a copy); nil when the list kept only the first packets' bytes
	Info     string // one-line summary of the innermost packet
}

// PacketList is the result of one re-read.
type PacketList struct {
	Target Target
	Rows   []PacketRow
	// Total counts every packet found; more than len(Rows) when the list was cut at the limit.
	Total int
	// Stats is what the export machinery says about a path or flow (nil for packet refs).
	Stats *flows.ExportStats
	// Missing names referenced packets that were not found (refs only).
	Missing []flows.PacketRef
}

// FileSource reads packets from the capture files an analysis read, with the same options.
type FileSource struct {
	// Files are the inputs in the order given to the analysis. "-" (stdin) cannot be re-read.
	Files []string
	// Options must be the analysis's (VXLAN ports, window, clock offsets, names) so that
	// path and flow ids mean the same; Progress is ignored.
	Options flows.Options
	// Points are the report's capture points, to find the file of a packet reference.
	Points []flows.Point
	// MaxRows bounds the rows kept per list (0: 100000); the rest are counted in Total.
	MaxRows int
	// MaxBytes bounds the packet bytes kept per list (0: 64 MiB); later rows keep no Data.
	MaxBytes int
}

// errStdin explains why packets of an analysis of stdin cannot be shown.
var errStdin = errors.New(`packets are not available: the capture came from stdin ("-"), which can be read only once`)

func (s *FileSource) limits() (rows, bytes int) {
	rows, bytes = s.MaxRows, s.MaxBytes
	if rows <= 0 {
		rows = 100000
	}
	if bytes <= 0 {
		bytes = 64 << 20
	}
	return rows, bytes
}

// Packets re-reads the packets of t: for a path or flow through flows.PlanExport (one
// analysis reading to recognise the selection, one reading to collect its packets), for
// packet references by reading the referenced files up to the last packet wanted.
func (s *FileSource) Packets(ctx context.Context, t Target) (*PacketList, error) {
	if slices.Contains(s.Files, "-") {
		return nil, errStdin
	}
	if len(t.Refs) > 0 {
		return s.refs(ctx, t)
	}
	opts := s.Options
	opts.Progress = nil
	problems := flows.NewProblemCollector(0)
	inputs, err := flows.OpenInputs(s.Files, nil, problems)
	if err != nil {
		return nil, err
	}
	plan, err := flows.PlanExport(ctx, inputs, opts, problems, t.Sel)
	if err != nil {
		return nil, err
	}
	inputs, err = flows.OpenInputs(s.Files, nil, flows.NewProblemCollector(0))
	if err != nil {
		return nil, err
	}
	list := &PacketList{Target: t}
	c := newCollector(s, s.Options.VXLANPorts)
	stats, err := plan.Write(ctx, inputs, func(p *flows.ExportPacket) error {
		list.Total++
		c.add(list, PacketRow{File: p.File, Number: p.Number, Time: p.Time, Point: p.Point,
			Hop: p.Hop, Len: p.OrigLen, LinkType: p.LinkType}, p.Data)
		return nil
	})
	if err != nil && !errors.Is(err, flows.ErrEmptyExport) {
		return nil, err
	}
	list.Stats = &stats
	return list, nil
}

// collector turns exported packets into rows, keeping bytes within the limits.
type collector struct {
	dec      *decode.Decoder
	pkt      decode.Packet
	maxRows  int
	maxBytes int
	kept     int
}

func newCollector(s *FileSource, vxlanPorts []uint16) *collector {
	rows, bytes := s.limits()
	return &collector{
		dec:      decode.NewDecoder(decode.Options{VXLANPorts: append([]uint16{4789, 8472}, vxlanPorts...)}),
		maxRows:  rows,
		maxBytes: bytes,
	}
}

func (c *collector) add(l *PacketList, row PacketRow, data []byte) {
	if len(l.Rows) >= c.maxRows {
		return
	}
	c.dec.Decode(data, row.LinkType, row.Len, &c.pkt)
	row.Info = packetInfo(&c.pkt)
	if c.kept+len(data) <= c.maxBytes {
		row.Data = slices.Clone(data)
		c.kept += len(data)
	}
	l.Rows = append(l.Rows, row)
}

// refs reads referenced packets (finding evidence) from their files.
func (s *FileSource) refs(ctx context.Context, t Target) (*PacketList, error) {
	type want struct {
		iface int
		point string
	}
	byFile := map[string]map[uint64]want{}
	var files []string
	list := &PacketList{Target: t}
	for _, r := range t.Refs {
		i := slices.IndexFunc(s.Points, func(p flows.Point) bool { return p.ID == r.Point })
		if i < 0 {
			list.Missing = append(list.Missing, r)
			continue
		}
		p := s.Points[i]
		if byFile[p.File] == nil {
			byFile[p.File] = map[uint64]want{}
			files = append(files, p.File)
		}
		byFile[p.File][r.Number] = want{iface: p.InterfaceIdx, point: p.ID}
	}
	c := newCollector(s, s.Options.VXLANPorts)
	for _, f := range files {
		wants := byFile[f]
		last := uint64(0)
		for n := range wants {
			last = max(last, n)
		}
		src, err := pcapio.Open(f, pcapio.Options{})
		if err != nil {
			return nil, fmt.Errorf("reading %s again: %w", f, err)
		}
		found := map[uint64]bool{}
		var rec pcapio.Record
		for {
			if ctx.Err() != nil {
				src.Close()
				return nil, ctx.Err()
			}
			err := src.Next(&rec)
			if err == io.EOF {
				break
			}
			if err != nil {
				src.Close()
				return nil, fmt.Errorf("reading %s again: %w", f, err)
			}
			if rec.Number > last {
				break
			}
			w, ok := wants[rec.Number]
			if !ok || w.iface != rec.Interface {
				continue
			}
			found[rec.Number] = true
			lt := uint16(0)
			if ifs := src.Interfaces(); rec.Interface < len(ifs) {
				lt = ifs[rec.Interface].LinkType
			}
			list.Total++
			c.add(list, PacketRow{File: f, Number: rec.Number, Time: rec.Time, Point: w.point, Hop: -1,
				Len: rec.OrigLen, LinkType: lt}, rec.Data)
		}
		src.Close()
		for n, w := range wants {
			if !found[n] {
				list.Missing = append(list.Missing, flows.PacketRef{Point: w.point, Number: n})
			}
		}
	}
	slices.SortFunc(list.Rows, func(a, b PacketRow) int {
		if c := cmp.Compare(a.Time, b.Time); c != 0 {
			return c
		}
		return strings.Compare(a.File, b.File)
	})
	slices.SortFunc(list.Missing, func(a, b flows.PacketRef) int {
		if c := strings.Compare(a.Point, b.Point); c != 0 {
			return c
		}
		return cmp.Compare(a.Number, b.Number)
	})
	return list, nil
}

// protoNames spells the IP protocols a summary names; others print as numbers.
var protoNames = map[uint8]string{1: "ICMP", 6: "TCP", 17: "UDP", 47: "GRE", 58: "ICMPv6", 50: "ESP", 132: "SCTP"}

// tcpFlagLetters are the TCP flags in header bit order, as tcpdump abbreviates them.
const tcpFlagLetters = "FSRPAUEC"

// packetInfo is the one-line summary of a decoded packet: tunnels, then the innermost tuple and
// what its transport says.
func packetInfo(p *decode.Packet) string {
	var b strings.Builder
	for i := 0; i < int(p.NTunnels) && i < len(p.Tunnels); i++ {
		t := &p.Tunnels[i]
		b.WriteString(t.Type.String())
		if t.HasVNI {
			fmt.Fprintf(&b, " %d", t.VNI)
		}
		b.WriteString(" | ")
	}
	if !p.HasIP {
		switch {
		case p.Layers&decode.HasARP != 0:
			b.WriteString("ARP")
		case p.HasMAC:
			fmt.Fprintf(&b, "non-IP frame %s > %s", mac(p.SrcMAC), mac(p.DstMAC))
		default:
			b.WriteString("not decoded")
		}
		return withErr(&b, p)
	}
	proto, ok := protoNames[p.Inner.Proto]
	if !ok {
		proto = fmt.Sprintf("proto %d", p.Inner.Proto)
	}
	b.WriteString(proto + " ")
	switch p.Inner.Proto {
	case 6, 17:
		fmt.Fprintf(&b, "%s > %s", ap(p.Inner.Src.String(), p.Inner.SrcPort), ap(p.Inner.Dst.String(), p.Inner.DstPort))
	default:
		fmt.Fprintf(&b, "%s > %s", p.Inner.Src, p.Inner.Dst)
	}
	switch p.Inner.Proto {
	case 6:
		var fl []byte
		for i := 0; i < 8; i++ {
			if p.TCPFlags&(1<<i) != 0 {
				fl = append(fl, tcpFlagLetters[i])
			}
		}
		fmt.Fprintf(&b, " [%s] seq %d", fl, p.TCPSeq)
		if p.TCPFlags&decode.TCPAck != 0 {
			fmt.Fprintf(&b, " ack %d", p.TCPAck)
		}
		fmt.Fprintf(&b, " len %d", p.PayloadLen)
	case 17:
		fmt.Fprintf(&b, " len %d", p.PayloadLen)
	case 1, 58:
		b.WriteString(" " + icmpName(p.Inner.Proto, p.ICMPType, p.ICMPCode))
		if p.ICMPType == 8 || p.ICMPType == 0 || p.ICMPType == 128 || p.ICMPType == 129 {
			fmt.Fprintf(&b, " id %d seq %d", p.Inner.SrcPort, p.ICMPSeq)
		}
	}
	if p.MoreFrags || p.FragOffset > 0 {
		fmt.Fprintf(&b, " frag@%d", p.FragOffset)
	}
	fmt.Fprintf(&b, " ttl %d", p.TTL)
	return withErr(&b, p)
}

// icmpName names the ICMP messages a datacenter capture shows most; others by number.
func icmpName(proto, typ, code uint8) string {
	if proto == 1 {
		switch {
		case typ == 8:
			return "echo request"
		case typ == 0:
			return "echo reply"
		case typ == 3 && code == 4:
			return "unreachable: fragmentation needed"
		case typ == 3:
			return fmt.Sprintf("unreachable (code %d)", code)
		case typ == 11:
			return "time exceeded"
		}
	} else {
		switch typ {
		case 128:
			return "echo request"
		case 129:
			return "echo reply"
		case 1:
			return fmt.Sprintf("unreachable (code %d)", code)
		case 2:
			return "packet too big"
		case 3:
			return "time exceeded"
		}
	}
	return fmt.Sprintf("type %d code %d", typ, code)
}

func withErr(b *strings.Builder, p *decode.Packet) string {
	if p.Err != nil {
		fmt.Fprintf(b, " (%v)", p.Err)
	}
	return b.String()
}

func ap(addr string, port uint16) string {
	if strings.Contains(addr, ":") {
		return fmt.Sprintf("[%s]:%d", addr, port)
	}
	return fmt.Sprintf("%s:%d", addr, port)
}

func mac(m [6]byte) string {
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5])
}
