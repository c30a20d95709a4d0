package replay

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// pcapng block types and option codes used by the writer (pcapng draft, sections 4.1-4.3).
const (
	blockSHB uint32 = 0x0A0D0D0A
	blockIDB uint32 = 0x00000001
	blockEPB uint32 = 0x00000006

	byteOrderMagic uint32 = 0x1A2B3C4D

	optEndOfOpt    = 0
	optComment     = 1
	optSHBUserAppl = 4
	optIfName      = 2
	optIfDescr     = 3
	optIfTSResol   = 9
	optEPBFlags    = 2

	// maxOptionLen is the largest option value pcapng can hold (a 16-bit length).
	maxOptionLen = 0xFFFF
	// maxFrameLen bounds a frame so that every block length fits comfortably in 32 bits.
	maxFrameLen = 1 << 30
	// writeBufferSize is the buffer between the sinks and their io.Writer.
	writeBufferSize = 64 << 10
)

// UserAppl is the shb_userappl value written into every pcapng Section Header Block.
const UserAppl = "stackflow"

// PointDecl predeclares a capture point so that its pcapng interface gets a fixed index.
type PointDecl struct {
	Name        string // capture point id, written as if_name
	LinkType    uint16 // LINKTYPE_* of every frame at this point (0 is LINKTYPE_NULL, not "unknown")
	Description string // optional if_description
}

// SinkOptions configures the pcapng and split sinks.
type SinkOptions struct {
	// Points fixes the interface order: these points get interfaces 0..len-1 in this order;
	// points first seen in frames are appended in order of first appearance.
	Points []PointDecl
	// SnapLen is written as each interface's snap length; 0 means "no limit" in pcapng and
	// 262144 in classic pcap. Frames are never cut to it.
	SnapLen uint32
}

// PcapngSink writes frames as one pcapng section: a Section Header Block, one Interface
// Description Block per capture point (if_name = point id, if_tsresol = 9, that is
// nanoseconds) and one Enhanced Packet Block per frame, with opt_comment when the frame has a
// comment and epb_flags when it has flags. It buffers its output; Close flushes it but does not
// close the underlying writer. After the first error every call returns that error.
type PcapngSink struct {
	w       *bufio.Writer
	opts    SinkOptions
	ifIndex map[string]int // point id -> interface index
	ifLink  []uint16       // interface index -> link type
	ifNames []string       // interface index -> point id
	frames  uint64
	err     error
	closed  bool
	scratch [32]byte
	hdr     [4]byte // option header; separate from scratch, and a field so it never escapes
}

// NewPcapngSink returns a sink writing a pcapng stream to w. The Section Header Block and the
// predeclared interfaces are buffered at once; a problem with opts.Points (a duplicate name) is
// returned by the first WriteFrame or Close.
func NewPcapngSink(w io.Writer, opts SinkOptions) *PcapngSink {
	s := &PcapngSink{
		w:       bufio.NewWriterSize(w, writeBufferSize),
		opts:    opts,
		ifIndex: make(map[string]int, len(opts.Points)),
	}
	s.writeSHB()
	for _, p := range opts.Points {
		if _, dup := s.ifIndex[p.Name]; dup {
			s.setErr(fmt.Errorf("replay: capture point %q declared twice", p.Name))
			break
		}
		s.addInterface(p.Name, p.LinkType, p.Description)
	}
	return s
}

// Interfaces returns the point ids in interface order.
func (s *PcapngSink) Interfaces() []string {
	return append([]string(nil), s.ifNames...)
}

// WriteFrame appends f as an Enhanced Packet Block on the interface of f.Point, adding that
// interface first if the point is new. A point keeps the link type it was declared or first
// seen with; a frame of another link type is an error (nothing is written).
func (s *PcapngSink) WriteFrame(f *Frame) error {
	if s.err != nil {
		return s.err
	}
	if s.closed {
		return errSinkClosed
	}
	s.frames++
	if err := checkFrame(f, s.frames); err != nil {
		return err
	}
	idx, ok := s.ifIndex[f.Point]
	if !ok {
		idx = s.addInterface(f.Point, f.LinkType, "")
	} else if lt := s.ifLink[idx]; lt != f.LinkType {
		return fmt.Errorf("replay: frame %d at point %q has link type %d, the point has link type %d: %w",
			s.frames, f.Point, f.LinkType, lt, ErrLinkType)
	}
	capLen := len(f.Data)
	origLen := frameOrigLen(f)
	commentLen := len(f.Comment)
	optLen := 0
	if commentLen > 0 {
		optLen += 4 + pad4(commentLen)
	}
	if f.Flags != 0 {
		optLen += 8
	}
	if optLen > 0 {
		optLen += 4 // opt_endofopt
	}
	total := 28 + pad4(capLen) + optLen + 4
	ts := uint64(f.Time)
	b := s.scratch[:28]
	le := binary.LittleEndian
	le.PutUint32(b[0:], blockEPB)
	le.PutUint32(b[4:], uint32(total))
	le.PutUint32(b[8:], uint32(idx))
	le.PutUint32(b[12:], uint32(ts>>32))
	le.PutUint32(b[16:], uint32(ts))
	le.PutUint32(b[20:], uint32(capLen))
	le.PutUint32(b[24:], origLen)
	s.write(b)
	s.write(f.Data)
	s.writePad(capLen)
	if commentLen > 0 {
		s.writeOptionHeader(optComment, commentLen)
		s.writeString(f.Comment)
		s.writePad(commentLen)
	}
	if f.Flags != 0 {
		s.writeOptionHeader(optEPBFlags, 4)
		le.PutUint32(s.scratch[:4], f.Flags)
		s.write(s.scratch[:4])
	}
	if optLen > 0 {
		s.writeOptionHeader(optEndOfOpt, 0)
	}
	le.PutUint32(s.scratch[:4], uint32(total))
	s.write(s.scratch[:4])
	return s.err
}

// Flush writes buffered blocks to the underlying writer.
func (s *PcapngSink) Flush() error {
	if s.err != nil {
		return s.err
	}
	if err := s.w.Flush(); err != nil {
		s.setErr(fmt.Errorf("replay: writing pcapng: %w", err))
	}
	return s.err
}

// Close flushes the buffered output. It does not close the underlying writer.
func (s *PcapngSink) Close() error {
	if s.closed {
		return s.err
	}
	err := s.Flush()
	s.closed = true
	return err
}

// addInterface buffers an Interface Description Block and returns its index.
func (s *PcapngSink) addInterface(name string, linkType uint16, descr string) int {
	idx := len(s.ifLink)
	s.ifIndex[name] = idx
	s.ifLink = append(s.ifLink, linkType)
	s.ifNames = append(s.ifNames, name)
	name, descr = clipOption(name), clipOption(descr)
	optLen := 4 + 4 + 4 // if_tsresol option (header + 1 byte padded) and opt_endofopt
	if len(name) > 0 {
		optLen += 4 + pad4(len(name))
	}
	if len(descr) > 0 {
		optLen += 4 + pad4(len(descr))
	}
	total := 16 + optLen + 4
	b := s.scratch[:16]
	le := binary.LittleEndian
	le.PutUint32(b[0:], blockIDB)
	le.PutUint32(b[4:], uint32(total))
	le.PutUint16(b[8:], linkType)
	le.PutUint16(b[10:], 0)
	le.PutUint32(b[12:], s.opts.SnapLen)
	s.write(b)
	if len(name) > 0 {
		s.writeOptionHeader(optIfName, len(name))
		s.writeString(name)
		s.writePad(len(name))
	}
	if len(descr) > 0 {
		s.writeOptionHeader(optIfDescr, len(descr))
		s.writeString(descr)
		s.writePad(len(descr))
	}
	s.writeOptionHeader(optIfTSResol, 1)
	s.write(tsResolNanos[:]) // 10^-9 s, padded to 32 bits
	s.writeOptionHeader(optEndOfOpt, 0)
	le.PutUint32(s.scratch[:4], uint32(total))
	s.write(s.scratch[:4])
	return idx
}

// writeSHB buffers the Section Header Block with an unknown section length.
func (s *PcapngSink) writeSHB() {
	optLen := 4 + pad4(len(UserAppl)) + 4
	total := 24 + optLen + 4
	b := s.scratch[:24]
	le := binary.LittleEndian
	le.PutUint32(b[0:], blockSHB)
	le.PutUint32(b[4:], uint32(total))
	le.PutUint32(b[8:], byteOrderMagic)
	le.PutUint16(b[12:], 1) // major version
	le.PutUint16(b[14:], 0) // minor version
	le.PutUint64(b[16:], ^uint64(0))
	s.write(b)
	s.writeOptionHeader(optSHBUserAppl, len(UserAppl))
	s.writeString(UserAppl)
	s.writePad(len(UserAppl))
	s.writeOptionHeader(optEndOfOpt, 0)
	le.PutUint32(s.scratch[:4], uint32(total))
	s.write(s.scratch[:4])
}

func (s *PcapngSink) writeOptionHeader(code uint16, n int) {
	binary.LittleEndian.PutUint16(s.hdr[0:], code)
	binary.LittleEndian.PutUint16(s.hdr[2:], uint16(n))
	s.write(s.hdr[:])
}

var (
	zeroPad      [4]byte
	tsResolNanos = [4]byte{9, 0, 0, 0}
)

func (s *PcapngSink) writePad(n int) {
	if p := pad4(n) - n; p > 0 {
		s.write(zeroPad[:p])
	}
}

func (s *PcapngSink) write(b []byte) {
	if s.err != nil {
		return
	}
	if _, err := s.w.Write(b); err != nil {
		s.setErr(fmt.Errorf("replay: writing pcapng: %w", err))
	}
}

func (s *PcapngSink) writeString(str string) {
	if s.err != nil {
		return
	}
	if _, err := s.w.WriteString(str); err != nil {
		s.setErr(fmt.Errorf("replay: writing pcapng: %w", err))
	}
}

func (s *PcapngSink) setErr(err error) {
	if s.err == nil {
		s.err = err
	}
}

// ErrLinkType is wrapped by errors about a frame whose link type its destination cannot take.
var ErrLinkType = errors.New("link type mismatch")

// errSinkClosed is returned by WriteFrame after Close.
var errSinkClosed = errors.New("replay: write to a closed sink")

// checkFrame rejects frames no capture format can represent. n is the frame's 1-based number
// at the sink, for the message.
func checkFrame(f *Frame, n uint64) error {
	if f.Time < 0 {
		return fmt.Errorf("replay: frame %d at point %q has time %d ns, before 1970", n, f.Point, f.Time)
	}
	if len(f.Data) > maxFrameLen {
		return fmt.Errorf("replay: frame %d at point %q is %d bytes, more than %d", n, f.Point, len(f.Data), maxFrameLen)
	}
	if len(f.Comment) > maxOptionLen {
		return fmt.Errorf("replay: frame %d at point %q has a %d-byte comment, more than pcapng's %d",
			n, f.Point, len(f.Comment), maxOptionLen)
	}
	return nil
}

// frameOrigLen is the frame's wire length: OrigLen, or len(Data) when OrigLen is 0 or smaller.
func frameOrigLen(f *Frame) uint32 {
	if n := uint32(len(f.Data)); f.OrigLen < n {
		return n
	}
	return f.OrigLen
}

// clipOption shortens s to the longest prefix an option can hold, on a UTF-8 boundary.
func clipOption(s string) string {
	if len(s) <= maxOptionLen {
		return s
	}
	n := maxOptionLen
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// pad4 rounds n up to a multiple of 4.
func pad4(n int) int { return (n + 3) &^ 3 }
