package pcapio

import (
	"fmt"
	"io"
)

// Classic pcap magics as they read in little-endian order. The file is big-endian when the
// bytes on disk read back as the swapped constants.
const (
	magicMicro     = 0xa1b2c3d4
	magicNano      = 0xa1b23c4d
	magicMicroSwap = 0xd4c3b2a1
	magicNanoSwap  = 0x4d3cb2a1
)

const (
	pcapFileHeaderLen   = 24
	pcapRecordHeaderLen = 16
	// pcapLinkTypeMask keeps LINKTYPE_*; the upper 16 bits hold the FCS length (bits 26-31)
	// and reserved bits, as libpcap's LT_LINKTYPE does.
	pcapLinkTypeMask = 0x0000ffff
)

func isPcapMagic(m []byte) bool {
	switch u32(m, false) {
	case magicMicro, magicNano, magicMicroSwap, magicNanoSwap:
		return true
	}
	return false
}

// pcapReader frames a classic pcap file: a 24-byte file header, then 16-byte record headers
// each followed by caplen bytes.
type pcapReader struct {
	base
	big    bool
	unit   uint32 // fractional-second units per second: 1e6 or 1e9
	scale  int64  // nanoseconds per fractional unit: 1000 or 1
	swap   lengthSwap
	ifaces []Interface
	n      uint64 // records delivered so far
}

// lengthSwap says whether record headers hold caplen and origlen the wrong way round, which
// libpcap before version 2.3 of the format wrote; libpcap and Wireshark undo it the same way.
type lengthSwap uint8

const (
	swapNever      lengthSwap = iota // 2.4 and later
	swapAlways                       // before 2.3
	swapIfReversed                   // 2.3: either order exists; caplen cannot exceed origlen
)

func newPcap(b base) (*pcapReader, error) {
	r := &pcapReader{base: b}
	h, err := r.s.peek(pcapFileHeaderLen)
	if err != nil {
		if isCut(err) {
			return nil, fmt.Errorf("%q: %w: pcap file header cut short at %d of %d bytes", r.name, ErrBadHeader, len(h), pcapFileHeaderLen)
		}
		return nil, fmt.Errorf("read %q: %w", r.name, err)
	}
	format := "pcap"
	switch u32(h, false) {
	case magicMicro:
		r.unit, r.scale = 1e6, 1000
	case magicMicroSwap:
		r.unit, r.scale, r.big = 1e6, 1000, true
	case magicNano:
		r.unit, r.scale, format = 1e9, 1, "pcap-ns"
	case magicNanoSwap:
		r.unit, r.scale, r.big, format = 1e9, 1, true, "pcap-ns"
	}
	r.setFormat(format)
	// Versions are otherwise not checked, as libpcap accepts any: only the length order depends
	// on them.
	switch major, minor := u16(h[4:], r.big), u16(h[6:], r.big); {
	case major < 2 || major == 2 && minor < 3:
		r.swap = swapAlways
	case major == 2 && minor == 3:
		r.swap = swapIfReversed
	}
	r.ifaces = []Interface{{
		LinkType:    uint16(u32(h[20:], r.big) & pcapLinkTypeMask),
		SnapLen:     u32(h[16:], r.big),
		TSPerSecond: uint64(r.unit),
	}}
	r.s.discard(pcapFileHeaderLen)
	return r, nil
}

// Next implements Source.
func (r *pcapReader) Next(rec *Record) error {
	if r.done {
		return io.EOF
	}
	off := r.s.off
	num := r.n + 1
	h, err := r.s.peek(pcapRecordHeaderLen)
	if err != nil {
		if len(h) == 0 && err == io.EOF {
			r.done = true
			return io.EOF
		}
		return r.cut(num, off, "record header", pcapRecordHeaderLen, err)
	}
	sec := u32(h[0:], r.big)
	frac := u32(h[4:], r.big)
	caplen := u32(h[8:], r.big)
	origlen := u32(h[12:], r.big)
	if r.swap == swapAlways || r.swap == swapIfReversed && caplen > origlen {
		caplen, origlen = origlen, caplen
	}
	r.s.discard(pcapRecordHeaderLen)
	// caplen above the snap length is accepted (tcpdump writes such files); only a length no
	// sane capture has is taken as damage, since it means the framing is lost.
	if uint64(caplen) > uint64(r.maxRec) {
		return r.stop(ProblemTruncated, num, off, "caplen %d exceeds the %d-byte record limit", caplen, r.maxRec)
	}
	data, err := r.s.read(int(caplen))
	if err != nil {
		return r.cut(num, off, "record", pcapRecordHeaderLen+int(caplen), err)
	}
	r.n = num
	if frac >= r.unit {
		// The fraction should be below one second. Rather than drop the packet, carry the
		// excess into the seconds (what time.Unix and tshark's display do) and report it.
		r.problem(ProblemBadTimestamp, num, off, "fractional seconds %d are not below %d; the excess is carried into the seconds", frac, r.unit)
	}
	*rec = Record{
		Data:    data,
		CapLen:  caplen,
		OrigLen: origlen,
		// int64 arithmetic: frac*scale < 2^32*1000, so the carry needs no special case.
		Time:      int64(sec)*1e9 + int64(frac)*r.scale,
		Number:    num,
		Offset:    off,
		BigEndian: r.big,
	}
	return nil
}

// Interfaces implements Source: the file's only interface.
func (r *pcapReader) Interfaces() []Interface { return r.ifaces }
