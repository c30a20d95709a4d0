package pcapio

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// DefaultMaxRecordSize bounds one record (classic pcap) or one block (pcapng) when
// Options.MaxRecordSize is zero. Anything larger is treated as damage, as libpcap does.
const DefaultMaxRecordSize = 256 << 20

// Errors returned by Open and NewReader, for errors.Is. File-system failures (missing,
// unreadable, a directory) are returned as the *fs.PathError they are, wrapped.
var (
	// ErrEmpty means the input holds zero bytes (after decompression).
	ErrEmpty = errors.New("empty input")
	// ErrNotCapture means the input starts with neither a pcap, a pcapng nor a gzip magic.
	ErrNotCapture = errors.New("not a pcap or pcapng capture")
	// ErrBadHeader means the magic is right but the file header that follows it is damaged.
	ErrBadHeader = errors.New("damaged capture header")
)

// Problem kinds reported through Options.OnProblem.
const (
	// ProblemTruncated: the input ends inside a record or block (or the pcap caplen is absurd);
	// the partial record is not a packet and reading ends.
	ProblemTruncated = "truncated_record"
	// ProblemBadTimestamp: a classic pcap fractional-seconds field is out of range; the record is
	// delivered with the excess carried into the seconds.
	ProblemBadTimestamp = "bad_timestamp"
	// ProblemBadBlock: a pcapng block's framing (length fields, section header) is broken, so
	// the next block cannot be found; reading ends.
	ProblemBadBlock = "bad_block"
	// ProblemBadInterface: a pcapng packet names an interface its section has not defined; the
	// block is skipped.
	ProblemBadInterface = "bad_interface"
	// ProblemBadRecord: a pcapng packet block is framed correctly but its content contradicts
	// itself (caplen beyond the block); the block is skipped.
	ProblemBadRecord = "bad_record"
	// ProblemBadOption: a pcapng options area is malformed or an option value is unusable; the
	// options before it are kept and reading continues.
	ProblemBadOption = "bad_option"
	// ProblemReadError: the input failed to read (I/O error, corrupt gzip stream); reading ends.
	ProblemReadError = "read_error"
)

// Options configures a reader.
type Options struct {
	// OnProblem is called for every piece of damage found, in file order; nil ignores them.
	OnProblem func(Problem)
	// MaxRecordSize bounds one record or block in bytes; 0 means DefaultMaxRecordSize.
	MaxRecordSize int
}

// Open opens a capture file ("-" is stdin) and reads its header. The format is detected from
// the magic: classic pcap (µs or ns, either byte order), pcapng, or gzip wrapping either.
func Open(name string, opts Options) (Source, error) {
	if name == "-" {
		return NewReader(os.Stdin, name, opts)
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("open capture: %w", err)
	}
	if fi, err := f.Stat(); err != nil {
		f.Close()
		return nil, fmt.Errorf("open capture: %w", err)
	} else if fi.IsDir() {
		f.Close()
		return nil, fmt.Errorf("open capture: %w", &fs.PathError{Op: "open", Path: name, Err: syscall.EISDIR})
	}
	src, err := newSource(f, name, opts, f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return src, nil
}

// NewReader reads a capture from r; name labels problems and errors ("-" for stdin). Closing
// the source does not close r.
func NewReader(r io.Reader, name string, opts Options) (Source, error) {
	return newSource(r, name, opts, nil)
}

func newSource(r io.Reader, name string, opts Options, file io.Closer) (Source, error) {
	b := base{name: name, opts: opts, maxRec: opts.MaxRecordSize}
	if b.maxRec <= 0 {
		b.maxRec = DefaultMaxRecordSize
	}
	br := bufio.NewReaderSize(r, readBufSize)
	magic, err := br.Peek(4)
	if len(magic) == 0 && err == io.EOF {
		return nil, fmt.Errorf("%q: %w", name, ErrEmpty)
	}
	if err != nil && !isCut(err) {
		return nil, fmt.Errorf("read %q: %w", name, err)
	}
	if len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%q: %w: damaged gzip header: %w", name, ErrNotCapture, err)
		}
		b.closers = append(b.closers, zr)
		b.gz = true
		br = bufio.NewReaderSize(zr, readBufSize)
		magic, err = br.Peek(4)
		if len(magic) == 0 && err == io.EOF {
			return nil, fmt.Errorf("%q: %w (the gzip stream holds no data)", name, ErrEmpty)
		}
		if err != nil && !isCut(err) {
			return nil, fmt.Errorf("%q: %w: reading gzip stream: %w", name, ErrNotCapture, err)
		}
	}
	if file != nil {
		b.closers = append(b.closers, file)
	}
	b.s.br = br
	var src Source
	switch {
	case len(magic) < 4:
		err = fmt.Errorf("%q: %w: only %d bytes (%x)", name, ErrNotCapture, len(magic), magic)
	case isPcapMagic(magic):
		src, err = newPcap(b)
	case isPcapngMagic(magic):
		src, err = newPcapng(b)
	default:
		err = fmt.Errorf("%q: %w: starts with %x", name, ErrNotCapture, magic)
	}
	if err != nil {
		for _, c := range b.closers {
			if c != file { // the caller closes the file it opened
				c.Close()
			}
		}
		return nil, err
	}
	return src, nil
}
