package replay

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// Classic pcap magic numbers (written little-endian) for microsecond and nanosecond files.
const (
	pcapMagicMicros uint32 = 0xA1B2C3D4
	pcapMagicNanos  uint32 = 0xA1B23C4D
	// defaultPcapSnapLen is the snap length written into classic pcap headers (tcpdump's).
	defaultPcapSnapLen = 262144
)

// PcapSink writes frames as a classic little-endian pcap file of one link type, with
// microsecond or nanosecond timestamps. Capture points are merged into the one file; comments
// and flags are dropped because the format has no place for them. Microsecond timestamps are
// truncated, as capture tools do. Close flushes but does not close the underlying writer.
type PcapSink struct {
	w        *bufio.Writer
	linkType uint16
	nanos    bool
	frames   uint64
	err      error
	closed   bool
	hdr      [24]byte
}

// NewPcapSink returns a sink writing a classic pcap stream of linkType frames to w, with
// nanosecond timestamps when nanos is true. The file header is buffered at once.
func NewPcapSink(w io.Writer, linkType uint16, nanos bool) *PcapSink {
	return newPcapSink(w, linkType, nanos, 0)
}

func newPcapSink(w io.Writer, linkType uint16, nanos bool, snapLen uint32) *PcapSink {
	if snapLen == 0 {
		snapLen = defaultPcapSnapLen
	}
	s := &PcapSink{w: bufio.NewWriterSize(w, writeBufferSize), linkType: linkType, nanos: nanos}
	magic := pcapMagicMicros
	if nanos {
		magic = pcapMagicNanos
	}
	le := binary.LittleEndian
	b := s.hdr[:24]
	le.PutUint32(b[0:], magic)
	le.PutUint16(b[4:], 2) // version 2.4
	le.PutUint16(b[6:], 4)
	le.PutUint32(b[8:], 0)  // thiszone
	le.PutUint32(b[12:], 0) // sigfigs
	le.PutUint32(b[16:], snapLen)
	le.PutUint32(b[20:], uint32(linkType))
	s.write(b)
	return s
}

// WriteFrame appends f as one record. A frame of another link type than the file's is an error
// (nothing is written), as is a time after 2106 (seconds overflow 32 bits).
func (s *PcapSink) WriteFrame(f *Frame) error {
	if s.err != nil {
		return s.err
	}
	if s.closed {
		return errSinkClosed
	}
	s.frames++
	if f.LinkType != s.linkType {
		return fmt.Errorf("replay: frame %d at point %q has link type %d, the pcap file has link type %d: %w",
			s.frames, f.Point, f.LinkType, s.linkType, ErrLinkType)
	}
	if err := checkFrame(f, s.frames); err != nil {
		return err
	}
	sec := f.Time / 1e9
	frac := f.Time % 1e9
	if sec > math.MaxUint32 {
		return fmt.Errorf("replay: frame %d at point %q has time %d ns, beyond classic pcap's 32-bit seconds",
			s.frames, f.Point, f.Time)
	}
	if !s.nanos {
		frac /= 1e3
	}
	le := binary.LittleEndian
	b := s.hdr[:16]
	le.PutUint32(b[0:], uint32(sec))
	le.PutUint32(b[4:], uint32(frac))
	le.PutUint32(b[8:], uint32(len(f.Data)))
	le.PutUint32(b[12:], frameOrigLen(f))
	s.write(b)
	s.write(f.Data)
	return s.err
}

// Flush writes buffered records to the underlying writer.
func (s *PcapSink) Flush() error {
	if s.err != nil {
		return s.err
	}
	if err := s.w.Flush(); err != nil && s.err == nil {
		s.err = fmt.Errorf("replay: writing pcap: %w", err)
	}
	return s.err
}

// Close flushes the buffered output. It does not close the underlying writer.
func (s *PcapSink) Close() error {
	if s.closed {
		return s.err
	}
	err := s.Flush()
	s.closed = true
	return err
}

func (s *PcapSink) write(b []byte) {
	if s.err != nil {
		return
	}
	if _, err := s.w.Write(b); err != nil {
		s.err = fmt.Errorf("replay: writing pcap: %w", err)
	}
}
