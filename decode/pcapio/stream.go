package pcapio

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
)

// readBufSize is the bufio size in front of the file (and again behind gzip). 64 KiB keeps the
// number of read syscalls low without holding much memory per input.
const readBufSize = 64 << 10

// growStep bounds how much the record buffer grows ahead of the bytes actually read, so a
// length field claiming 256 MiB in a 1 KB file costs about 1 MiB, not 256.
const growStep = 1 << 20

// stream is the byte source shared by both framers: a buffered reader over the (decompressed)
// input, the running byte offset and the one reusable record buffer.
type stream struct {
	br  *bufio.Reader
	off int64  // bytes consumed so far
	buf []byte // record buffer; grown only when a record is bigger than any before
}

// peek returns the next n bytes without consuming them. The slice is valid until the next read.
// On a short read it returns what there is and the reason.
func (s *stream) peek(n int) ([]byte, error) {
	return s.br.Peek(n)
}

// discard consumes n bytes that a successful peek returned.
func (s *stream) discard(n int) {
	m, _ := s.br.Discard(n)
	s.off += int64(m)
}

// read consumes exactly n bytes into the record buffer and returns them. A short read returns
// the bytes read so far and io.ErrUnexpectedEOF (or the underlying error).
func (s *stream) read(n int) ([]byte, error) {
	if n <= cap(s.buf) {
		b := s.buf[:n]
		m, err := io.ReadFull(s.br, b)
		s.off += int64(m)
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return b[:m], err
	}
	// Grow in steps so that memory follows the bytes present, not the length claimed.
	b := s.buf[:0]
	for len(b) < n {
		chunk := n - len(b)
		if step := max(len(b), growStep); chunk > step {
			chunk = step
		}
		b = slices.Grow(b, chunk)
		m, err := io.ReadFull(s.br, b[len(b):len(b)+chunk])
		b = b[:len(b)+m]
		s.off += int64(m)
		if err != nil {
			s.buf = b[:0]
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return b, err
		}
	}
	s.buf = b[:0]
	return b, nil
}

// isCut reports whether err means the input simply ended (as opposed to failing to read).
func isCut(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// base holds what both framers share: the stream, the problem callback and the end state.
type base struct {
	s       stream
	name    string
	opts    Options
	maxRec  int
	format  string
	gz      bool // the input was gzip-compressed: Format gets ".gz"
	done    bool
	closers []io.Closer
}

// problem reports damage through the user's callback.
func (b *base) problem(kind string, packet uint64, off int64, format string, args ...any) {
	if b.opts.OnProblem == nil {
		return
	}
	b.opts.OnProblem(Problem{Kind: kind, File: b.name, Packet: packet, Offset: off, Message: fmt.Sprintf(format, args...)})
}

// stop reports damage that ends the input and returns io.EOF for Next to hand back.
func (b *base) stop(kind string, packet uint64, off int64, format string, args ...any) error {
	b.problem(kind, packet, off, format, args...)
	b.done = true
	return io.EOF
}

// cut ends the input after a read of what, started at off, came up short: a truncated record when
// the input simply ended, a read error otherwise.
func (b *base) cut(packet uint64, off int64, what string, want int, err error) error {
	if isCut(err) {
		return b.stop(ProblemTruncated, packet, off, "%s needs %d bytes but the input ends at byte %d", what, want, b.s.off)
	}
	return b.stop(ProblemReadError, packet, off, "reading %s at byte %d: %v", what, b.s.off, err)
}

// setFormat names the format, adding ".gz" for compressed input.
func (b *base) setFormat(name string) {
	b.format = name
	if b.gz {
		b.format += ".gz"
	}
}

// Format implements Source.
func (b *base) Format() string { return b.format }

// Close releases the decompressor and the file (never stdin). It is safe to call twice.
func (b *base) Close() error {
	var errs []error
	for _, c := range b.closers {
		if err := c.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	b.closers = nil
	b.done = true
	return errors.Join(errs...)
}

// Fixed-width integers in a byte order chosen at run time, without an interface call.
func u16(b []byte, big bool) uint16 {
	if big {
		return binary.BigEndian.Uint16(b)
	}
	return binary.LittleEndian.Uint16(b)
}

func u32(b []byte, big bool) uint32 {
	if big {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

func u64(b []byte, big bool) uint64 {
	if big {
		return binary.BigEndian.Uint64(b)
	}
	return binary.LittleEndian.Uint64(b)
}
