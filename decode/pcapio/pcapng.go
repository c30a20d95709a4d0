package pcapio

import (
	"fmt"
	"io"
	"math/bits"
)

// pcapng block types (draft-ietf-opsawg-pcapng).
const (
	blockSHB = 0x0a0d0d0a // Section Header; a palindrome, so readable before the byte order is known
	blockIDB = 0x00000001 // Interface Description
	blockPB  = 0x00000002 // Packet (obsolete)
	blockSPB = 0x00000003 // Simple Packet
	blockEPB = 0x00000006 // Enhanced Packet

	byteOrderMagic = 0x1a2b3c4d
)

// Interface Description Block option codes.
const (
	optIfName        = 2
	optIfDescription = 3
	optIfTSResol     = 9
	optIfTSOffset    = 10
)

// ngIface is the per-interface state the hot path needs, parallel to the exported Interface.
type ngIface struct {
	perSec   uint64 // timestamp units per second
	offsetNs int64  // if_tsoffset, in nanoseconds
	snapLen  uint32
}

// nanos converts a raw 64-bit pcapng timestamp to nanoseconds since the epoch.
func (f *ngIface) nanos(ts uint64) int64 {
	switch f.perSec {
	case 1e9:
		return int64(ts) + f.offsetNs
	case 1e6:
		return int64(ts)*1000 + f.offsetNs
	}
	sec, frac := ts/f.perSec, ts%f.perSec
	// frac*1e9 may overflow 64 bits at fine resolutions; frac < perSec keeps Div64 in range.
	hi, lo := bits.Mul64(frac, 1e9)
	ns, _ := bits.Div64(hi, lo, f.perSec)
	return int64(sec)*1e9 + int64(ns) + f.offsetNs
}

// pcapngReader frames a pcapng file block by block.
type pcapngReader struct {
	base
	big      bool
	ifaces   []Interface
	ifs      []ngIface // parallel to ifaces
	secBase  int       // index in ifaces of the current section's interface 0
	n        uint64    // packets delivered so far
	lastTime int64     // time of the previous packet, for Simple Packet Blocks
}

func isPcapngMagic(m []byte) bool { return u32(m, false) == blockSHB }

// framingError is a block whose length fields make the rest of the input unreadable.
type framingError struct {
	kind string
	off  int64
	msg  string
}

func (e *framingError) Error() string { return e.msg }

// shortRead is a block the input ends (or fails) inside of: want is the bytes it needed.
type shortRead struct {
	want int
	err  error
}

func (e *shortRead) Error() string { return e.err.Error() }
func (e *shortRead) Unwrap() error { return e.err }

func newPcapng(b base) (*pcapngReader, error) {
	r := &pcapngReader{base: b}
	r.setFormat("pcapng")
	typ, body, err := r.readBlock()
	if err == nil && typ != blockSHB { // cannot happen: the magic was checked
		err = &framingError{msg: fmt.Sprintf("first block has type %#x, not a section header", typ)}
	}
	if err == nil {
		err = r.section(body)
	}
	if err != nil {
		if fe, ok := err.(*framingError); ok {
			return nil, fmt.Errorf("%q: %w: %s", r.name, ErrBadHeader, fe.msg)
		}
		if isCut(err) {
			return nil, fmt.Errorf("%q: %w: section header block cut short at byte %d", r.name, ErrBadHeader, r.s.off)
		}
		return nil, fmt.Errorf("read %q: %w", r.name, err)
	}
	return r, nil
}

// readBlock reads one whole block into the record buffer and returns its type and body (the
// bytes between the two length fields). At a clean end of input it returns io.EOF; a cut-short
// block returns the read error; broken framing returns a *framingError.
func (r *pcapngReader) readBlock() (uint32, []byte, error) {
	off := r.s.off
	h, err := r.s.peek(12)
	if err != nil {
		if len(h) == 0 && err == io.EOF {
			return 0, nil, io.EOF
		}
		if isCut(err) {
			err = io.ErrUnexpectedEOF
		}
		return 0, nil, &shortRead{12, err}
	}
	big := r.big
	typ := u32(h, big)
	if typ == blockSHB {
		switch {
		case u32(h[8:], true) == byteOrderMagic:
			big = true
		case u32(h[8:], false) == byteOrderMagic:
			big = false
		default:
			return 0, nil, &framingError{ProblemBadBlock, off, fmt.Sprintf("section header byte-order magic is %x", h[8:12])}
		}
		r.big = big
	}
	total := u32(h[4:], big)
	if total < 12 || total%4 != 0 {
		return 0, nil, &framingError{ProblemBadBlock, off, fmt.Sprintf("block type %#x has length %d (must be a multiple of 4 and at least 12)", typ, total)}
	}
	if uint64(total) > uint64(r.maxRec) {
		return 0, nil, &framingError{ProblemBadBlock, off, fmt.Sprintf("block type %#x has length %d, above the %d-byte limit", typ, total, r.maxRec)}
	}
	b, err := r.s.read(int(total))
	if err != nil {
		return 0, nil, &shortRead{int(total), err}
	}
	if trail := u32(b[total-4:], big); trail != total {
		return 0, nil, &framingError{ProblemBadBlock, off, fmt.Sprintf("block type %#x has length %d but trailing length %d", typ, total, trail)}
	}
	return typ, b[8 : total-4], nil
}

// section starts a new section from a Section Header Block body: interface numbering restarts,
// so later interfaces are appended after the ones already seen.
func (r *pcapngReader) section(body []byte) error {
	if len(body) < 16 {
		return &framingError{ProblemBadBlock, r.s.off, fmt.Sprintf("section header body is %d bytes, need 16", len(body))}
	}
	if major := u16(body[4:], r.big); major != 1 {
		return &framingError{ProblemBadBlock, r.s.off, fmt.Sprintf("unsupported pcapng version %d.%d", major, u16(body[6:], r.big))}
	}
	r.secBase = len(r.ifaces)
	return nil
}

// Next implements Source.
func (r *pcapngReader) Next(rec *Record) error {
	for !r.done {
		off := r.s.off
		num := r.n + 1
		typ, body, err := r.readBlock()
		if err != nil {
			if err == io.EOF {
				r.done = true
				return io.EOF
			}
			if fe, ok := err.(*framingError); ok {
				return r.stop(fe.kind, num, off, "%s", fe.msg)
			}
			want := 12
			if sr, ok := err.(*shortRead); ok {
				want = sr.want
			}
			return r.cut(num, off, "block", want, err)
		}
		switch typ {
		case blockSHB:
			if err := r.section(body); err != nil {
				return r.stop(ProblemBadBlock, num, off, "%s", err.Error())
			}
		case blockIDB:
			if len(body) < 8 {
				return r.stop(ProblemBadBlock, num, off, "interface description body is %d bytes, need 8", len(body))
			}
			r.addInterface(body, num, off)
		case blockEPB, blockPB:
			if r.packet(rec, typ, body, num, off) {
				return nil
			}
		case blockSPB:
			if r.simple(rec, body, num, off) {
				return nil
			}
		}
		// Every other block (name resolution, statistics, secrets, custom...) is skipped by
		// its length, which readBlock has already consumed.
	}
	return io.EOF
}

// packet fills rec from an Enhanced Packet Block or an obsolete Packet Block, whose interface
// id is 16 bits followed by a 16-bit drop count; the rest of the two layouts is the same:
//
//	interface id | ts high | ts low | caplen | origlen | data, padded to 4 | options
//
// It reports false when the block was skipped.
func (r *pcapngReader) packet(rec *Record, typ uint32, body []byte, num uint64, off int64) bool {
	const fixed = 20
	if len(body) < fixed {
		r.problem(ProblemBadRecord, num, off, "packet block body is %d bytes, need %d", len(body), fixed)
		return false
	}
	id := u32(body, r.big)
	if typ == blockPB {
		id = uint32(u16(body, r.big))
	}
	caplen := u32(body[12:], r.big)
	if uint64(caplen) > uint64(len(body)-fixed) {
		r.problem(ProblemBadRecord, num, off, "caplen %d runs past the block's %d data bytes", caplen, len(body)-fixed)
		return false
	}
	gi, ok := r.iface(id, num, off)
	if !ok {
		return false
	}
	var opts []byte
	if end := fixed + int(pad4(caplen)); end < len(body) {
		opts = body[end:]
	}
	flags, ok := optionFlags(opts, r.big)
	if !ok {
		r.problem(ProblemBadOption, num, off, "packet options are malformed: % x", opts)
	}
	ts := uint64(u32(body[4:], r.big))<<32 | uint64(u32(body[8:], r.big))
	*rec = Record{
		Data:      body[fixed : fixed+int(caplen)],
		CapLen:    caplen,
		OrigLen:   u32(body[16:], r.big),
		Time:      r.ifs[gi].nanos(ts),
		Interface: gi,
		Number:    num,
		Offset:    off,
		Flags:     flags,
		Options:   opts,
		BigEndian: r.big,
	}
	r.n = num
	r.lastTime = rec.Time
	return true
}

// simple fills rec from a Simple Packet Block: interface 0 of the section, the original length,
// then data cut to the interface's snap length.
func (r *pcapngReader) simple(rec *Record, body []byte, num uint64, off int64) bool {
	if len(body) < 4 {
		r.problem(ProblemBadRecord, num, off, "simple packet block body is %d bytes, need 4", len(body))
		return false
	}
	gi, ok := r.iface(0, num, off)
	if !ok {
		return false
	}
	origlen := u32(body, r.big)
	caplen := uint32(len(body) - 4)
	caplen = min(caplen, origlen)
	if snap := r.ifs[gi].snapLen; snap != 0 {
		caplen = min(caplen, snap)
	}
	*rec = Record{
		Data:    body[4 : 4+caplen],
		CapLen:  caplen,
		OrigLen: origlen,
		// A Simple Packet Block carries no timestamp. We give it the previous packet's time
		// (0 before any), so that a merge keeps it where the file put it.
		Time:      r.lastTime,
		Interface: gi,
		Number:    num,
		Offset:    off,
		BigEndian: r.big,
	}
	r.n = num
	return true
}

// iface maps a section-local interface id to the running index across the file, reporting an
// undefined one.
func (r *pcapngReader) iface(id uint32, num uint64, off int64) (int, bool) {
	if n := len(r.ifaces) - r.secBase; uint64(id) >= uint64(n) {
		r.problem(ProblemBadInterface, num, off, "packet names interface %d but its section defines %d", id, n)
		return 0, false
	}
	return r.secBase + int(id), true
}

// addInterface appends the interface an Interface Description Block body describes:
//
//	link type (16) | reserved (16) | snap length (32) | options
func (r *pcapngReader) addInterface(body []byte, num uint64, off int64) {
	ifc := Interface{LinkType: u16(body, r.big), SnapLen: u32(body[4:], r.big), TSPerSecond: 1e6}
	st := ngIface{perSec: 1e6, snapLen: ifc.SnapLen}
	err := WalkOptions(body[8:], r.big, func(code uint16, v []byte) bool {
		switch code {
		case optIfName:
			ifc.Name = optString(v)
		case optIfDescription:
			ifc.Description = optString(v)
		case optIfTSResol:
			if len(v) < 1 {
				r.problem(ProblemBadOption, num, off, "if_tsresol is empty")
				break
			}
			per, ok := tsResolution(v[0])
			if !ok {
				r.problem(ProblemBadOption, num, off, "if_tsresol %#x is beyond 64-bit timestamps; using microseconds", v[0])
				break
			}
			ifc.TSPerSecond, st.perSec = per, per
		case optIfTSOffset:
			if len(v) < 8 {
				r.problem(ProblemBadOption, num, off, "if_tsoffset has %d bytes, need 8", len(v))
				break
			}
			st.offsetNs = int64(u64(v, r.big)) * 1e9
		}
		return true
	})
	if err != nil {
		r.problem(ProblemBadOption, num, off, "interface %d options: %v", len(r.ifaces), err)
	}
	r.ifaces = append(r.ifaces, ifc)
	r.ifs = append(r.ifs, st)
}

// tsResolution decodes if_tsresol: the high bit selects a negative power of 2, else of 10.
func tsResolution(v byte) (uint64, bool) {
	exp := v & 0x7f
	if v&0x80 != 0 {
		if exp > 63 {
			return 0, false
		}
		return 1 << exp, true
	}
	if exp > 19 {
		return 0, false
	}
	per := uint64(1)
	for range exp {
		per *= 10
	}
	return per, true
}

// pad4 rounds n up to a multiple of 4, as pcapng pads data and option values.
func pad4(n uint32) uint64 { return (uint64(n) + 3) &^ 3 }

// Interfaces implements Source: every interface of every section seen so far, numbered
// across sections.
func (r *pcapngReader) Interfaces() []Interface { return r.ifaces }
