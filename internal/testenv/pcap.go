package testenv

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Packet is one packet as gopacket's pcapgo reads it.
type Packet struct {
	// Data is the captured bytes (a copy per packet).
	Data []byte
	// Info is pcapgo's capture info: time, lengths, interface index.
	Info gopacket.CaptureInfo
	// LinkType is the link type of the packet's interface; pcapng files may mix them.
	LinkType layers.LinkType
	// Interface is the pcapng interface's name ("" when it has none, and in classic pcap).
	Interface string
}

// ErrRefused marks a file pcapgo will not open at all (an unknown magic or version, a bad
// first block), as opposed to one it stops reading part way.
var ErrRefused = errors.New("pcapgo refuses")

// pcapngMagic is the Section Header Block's type, the first four bytes of a pcapng file in
// either byte order.
var pcapngMagic = []byte{0x0a, 0x0d, 0x0d, 0x0a}

// ReadPcap reads every packet of the classic pcap or pcapng file at path with pcapgo, choosing
// the reader by the file's first bytes rather than its name (pcapng with mixed link types
// allowed). It returns the packets read before any error. The error wraps ErrRefused when
// pcapgo will not open the file, and pcapgo's own error when it stops part way
// (io.ErrUnexpectedEOF for a file cut short inside a record).
func ReadPcap(path string) ([]Packet, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	magic, _ := br.Peek(len(pcapngMagic)) // a shorter file is for pcapgo to refuse
	if bytes.Equal(magic, pcapngMagic) {
		r, err := pcapgo.NewNgReader(br, pcapgo.NgReaderOptions{WantMixedLinkType: true})
		if err != nil {
			return nil, fmt.Errorf("%w %q: %w", ErrRefused, path, err)
		}
		return readAll(path, r, r.LinkType(), func(ci gopacket.CaptureInfo) string {
			ifc, err := r.Interface(ci.InterfaceIndex)
			if err != nil {
				return ""
			}
			return ifc.Name
		})
	}
	r, err := pcapgo.NewReader(br)
	if err != nil {
		return nil, fmt.Errorf("%w %q: %w", ErrRefused, path, err)
	}
	return readAll(path, r, r.LinkType(), func(gopacket.CaptureInfo) string { return "" })
}

// readAll drains r. The packet's own link type, when pcapgo gives one (pcapng with mixed link
// types), overrides the file's.
func readAll(path string, r gopacket.PacketDataSource, link layers.LinkType, ifName func(gopacket.CaptureInfo) string) ([]Packet, error) {
	var out []Packet
	for {
		data, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, fmt.Errorf("pcapgo reading %q after packet %d: %w", path, len(out), err)
		}
		p := Packet{Data: data, Info: ci, LinkType: link, Interface: ifName(ci)}
		if len(ci.AncillaryData) > 0 {
			if lt, ok := ci.AncillaryData[0].(layers.LinkType); ok {
				p.LinkType = lt
			}
		}
		out = append(out, p)
	}
}
