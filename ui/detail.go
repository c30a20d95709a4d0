package ui

import (
	"bytes"
	"fmt"
	"net"
	"reflect"
	"slices"
	"strings"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// The detail pane decodes one packet with gopacket.NewPacket (STYLE.md practice 2: NewPacket is
// for the detail pane only) into a layer tree, each layer with its fields and its byte range
// in the frame, which the hex dump highlights.

// layerInfo is one decoded layer.
type layerInfo struct {
	Name       string
	Fields     []field
	Start, End int // byte range of the layer's header in the frame
}

// field is one named value of a layer.
type field struct {
	Name, Value string
}

// packetDetail is what the detail pane shows of one packet.
type packetDetail struct {
	Layers []layerInfo
	Err    string // gopacket's decoding error, if any
	Data   []byte
}

// maxFieldValue bounds one field's rendering; longer values end with "…".
const maxFieldValue = 160

// describePacket decodes data (captured with the given LINKTYPE) into layers. Extra VXLAN
// ports (besides 4789, which gopacket knows) are decoded here rather than registered in
// gopacket's global port table, so nothing global changes.
func describePacket(data []byte, linkType uint16, vxlanPorts []uint16) (d packetDetail) {
	d.Data = data
	defer func() {
		if p := recover(); p != nil {
			d.Err = fmt.Sprintf("decoder panic: %v", p)
		}
	}()
	opts := gopacket.DecodeOptions{NoCopy: true}
	pkt := gopacket.NewPacket(data, layers.LinkType(linkType), opts)
	d.Layers, d.Err = appendLayers(nil, pkt, data, 0)
	// A UDP payload on a configured VXLAN port: decode it as VXLAN too.
	if n := len(d.Layers); n >= 2 && d.Layers[n-1].Name == gopacket.LayerTypePayload.String() {
		if udp, ok := pkt.Layer(layers.LayerTypeUDP).(*layers.UDP); ok && udp.NextLayerType() == gopacket.LayerTypePayload &&
			(slices.Contains(vxlanPorts, uint16(udp.DstPort)) || slices.Contains(vxlanPorts, uint16(udp.SrcPort))) {
			inner := gopacket.NewPacket(udp.Payload, layers.LayerTypeVXLAN, opts)
			var err string
			d.Layers, err = appendLayers(d.Layers[:n-1], inner, data, d.Layers[n-1].Start)
			if err != "" {
				d.Err = err
			}
		}
	}
	// Bytes no layer claims (Ethernet padding of a short inner frame, trailers) get a
	// pseudo-layer, so that every byte of the dump belongs somewhere.
	end := 0
	for _, l := range d.Layers {
		end = max(end, l.End)
	}
	if len(d.Layers) > 0 && end < len(data) {
		d.Layers = append(d.Layers, layerInfo{Name: "Padding", Start: end, End: len(data),
			Fields: []field{{"Length", fmt.Sprintf("%d bytes", len(data)-end)}}})
	}
	return d
}

// appendLayers adds pkt's layers with their byte ranges in frame. A layer's contents alias
// the frame (NoCopy decoding), so their offset is where they sit in it; when a decoder copied
// them, the offset falls back to the end of the previous layer. Ranges are clamped to the frame.
func appendLayers(out []layerInfo, pkt gopacket.Packet, frame []byte, base int) ([]layerInfo, string) {
	off := base
	for _, l := range pkt.Layers() {
		contents := l.LayerContents()
		start := min(max(offsetIn(frame, contents, off), 0), len(frame))
		end := min(start+len(contents), len(frame))
		off = end
		li := layerInfo{Name: l.LayerType().String(), Start: start, End: end}
		if _, isPayload := l.(*gopacket.Payload); isPayload {
			li.Fields = []field{{"Length", fmt.Sprintf("%d bytes", len(contents))}}
		} else {
			li.Fields = layerFields(reflect.ValueOf(l))
		}
		out = append(out, li)
	}
	errText := ""
	if el := pkt.ErrorLayer(); el != nil && el.Error() != nil {
		errText = el.Error().Error()
	}
	return out, errText
}

// offsetIn returns where sub sits in frame when it is a slice of frame's array (same bytes at
// cap(frame)-cap(sub)), else guess.
func offsetIn(frame, sub []byte, guess int) int {
	if len(sub) == 0 {
		return guess
	}
	off := cap(frame) - cap(sub)
	if off >= 0 && off+len(sub) <= len(frame) && bytes.Equal(frame[off:off+len(sub)], sub) {
		return off
	}
	return guess
}

// layerFields lists the exported fields of a layer struct, skipping the embedded BaseLayer
// (its Contents and Payload are what the hex dump shows).
func layerFields(v reflect.Value) []field { return structFields(v, 0) }

// structFields lists a struct's exported fields, values rendered at the given nesting depth.
func structFields(v reflect.Value, depth int) []field {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return []field{{"Value", fmtValue(v, depth)}}
	}
	var out []field
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		if sf.Anonymous {
			if sf.Name == "BaseLayer" {
				continue
			}
			if v.Field(i).Kind() == reflect.Struct && sf.IsExported() {
				out = append(out, structFields(v.Field(i), depth)...)
			}
			continue
		}
		if !sf.IsExported() || sf.Name == "Contents" || sf.Name == "Payload" {
			continue
		}
		out = append(out, field{Name: sf.Name, Value: clip(fmtValue(v.Field(i), depth))})
	}
	return out
}

var (
	stringerType = reflect.TypeFor[fmt.Stringer]()
	bytesType    = reflect.TypeFor[[]byte]()
	ipType       = reflect.TypeFor[net.IP]()
	macType      = reflect.TypeFor[net.HardwareAddr]()
)

// fmtValue renders one field value: Stringers by their String, byte slices in hex, slices and
// structs one level deep.
func fmtValue(v reflect.Value, depth int) string {
	if !v.IsValid() {
		return "-"
	}
	switch v.Type() {
	case ipType, macType:
		if v.Len() == 0 {
			return "-"
		}
	}
	if v.CanInterface() && v.Type().Implements(stringerType) {
		if (v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface) && v.IsNil() {
			return "-"
		}
		return v.Interface().(fmt.Stringer).String()
	}
	if v.CanAddr() && v.Addr().CanInterface() && v.Addr().Type().Implements(stringerType) {
		return v.Addr().Interface().(fmt.Stringer).String()
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return "-"
		}
		return fmtValue(v.Elem(), depth)
	case reflect.Slice, reflect.Array:
		if v.Type() == bytesType || v.Type().Elem().Kind() == reflect.Uint8 {
			b := make([]byte, v.Len())
			for i := range b {
				b[i] = byte(v.Index(i).Uint())
			}
			if len(b) == 0 {
				return "-"
			}
			return fmt.Sprintf("%x (%d bytes)", b, len(b))
		}
		if v.Len() == 0 {
			return "-"
		}
		if depth > 1 {
			return fmt.Sprintf("[%d items]", v.Len())
		}
		parts := make([]string, 0, v.Len())
		for i := 0; i < v.Len() && i < 16; i++ {
			parts = append(parts, fmtValue(v.Index(i), depth+1))
		}
		if v.Len() > 16 {
			parts = append(parts, fmt.Sprintf("… %d more", v.Len()-16))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case reflect.Struct:
		if depth > 1 {
			return "{…}"
		}
		var parts []string
		for _, f := range structFields(v, depth+1) {
			parts = append(parts, f.Name+"="+f.Value)
		}
		return "{" + strings.Join(parts, " ") + "}"
	case reflect.String:
		return v.String()
	}
	if v.CanInterface() {
		return fmt.Sprint(v.Interface())
	}
	return "?"
}

func clip(s string) string {
	if len(s) <= maxFieldValue {
		return s
	}
	return s[:maxFieldValue-1] + "…"
}

// hexDump renders data 16 bytes a line ("0000  45 00 …  E."); with tags set, bytes in
// [hiStart, hiEnd) are wrapped in tview reverse-video tags so the selected layer stands out
// (the gap between two marked bytes is marked too, so a layer reads as one block).
func hexDump(data []byte, hiStart, hiEnd int, tags bool) string {
	var b strings.Builder
	on := false
	set := func(want bool) {
		if tags && want != on {
			if want {
				b.WriteString("[::r]")
			} else {
				b.WriteString("[::-]")
			}
			on = want
		}
	}
	in := func(i int) bool { return i >= hiStart && i < hiEnd }
	for off := 0; off < len(data); off += 16 {
		line := data[off:min(off+16, len(data))]
		fmt.Fprintf(&b, "%04x  ", off)
		for i := 0; i < 16; i++ {
			sep := ""
			switch {
			case i == 8:
				sep = "  "
			case i > 0:
				sep = " "
			}
			if i >= len(line) {
				set(false)
				b.WriteString(sep + "  ")
				continue
			}
			set(i > 0 && in(off+i-1) && in(off+i))
			b.WriteString(sep)
			set(in(off + i))
			fmt.Fprintf(&b, "%02x", line[i])
		}
		set(false)
		b.WriteString("  ")
		for i, c := range line {
			set(in(off + i))
			if c < 0x20 || c > 0x7e {
				c = '.'
			}
			if tags && (c == '[' || c == ']') {
				// tview reads "[" as the start of a tag; escaping it would shift the column,
				// so brackets show as dots when tags are on.
				c = '.'
			}
			b.WriteByte(c)
		}
		set(false)
		b.WriteByte('\n')
	}
	return b.String()
}
