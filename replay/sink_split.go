package replay

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// FileFormat selects the capture format of a file sink.
type FileFormat int

// File formats for SplitSink.
const (
	FormatPcapng      FileFormat = iota // pcapng, nanosecond timestamps, comments and flags kept
	FormatPcap                          // classic pcap, microsecond timestamps
	FormatPcapNanos                     // classic pcap, nanosecond timestamps
	formatSentinelEnd                   // first invalid value
)

// Ext returns the file name extension of the format, with its dot.
func (f FileFormat) Ext() string {
	if f == FormatPcapng {
		return ".pcapng"
	}
	return ".pcap"
}

// String names the format as the CLI spells it.
func (f FileFormat) String() string {
	switch f {
	case FormatPcapng:
		return "pcapng"
	case FormatPcap:
		return "pcap"
	case FormatPcapNanos:
		return "pcap-ns"
	}
	return "format(" + strconv.Itoa(int(f)) + ")"
}

// SplitOptions configures NewSplitSink.
type SplitOptions struct {
	SinkOptions            // Points are created up front (empty files included), in this order
	Format      FileFormat // format of every file
}

// SplitFile names the file that holds one capture point.
type SplitFile struct {
	Point string // capture point id
	Path  string // dir joined with the file name
}

// SplitSink writes one capture file per capture point into a directory. The file of point p is
// PointFileStem(p) plus the format's extension; when two points map to the same stem (compared
// case-insensitively, for case-insensitive file systems), the later one gets "~2", "~3", ...
// appended in order of first appearance. '~' never occurs in a stem, so a suffixed name never
// collides with another point's. Existing files of those names are replaced.
type SplitSink struct {
	dir    string
	opts   SplitOptions
	points map[string]*splitFile
	stems  map[string]bool // lower-cased stems in use
	files  []SplitFile
	err    error
	closed bool
}

type splitFile struct {
	f    *os.File
	sink Sink
}

// NewSplitSink returns a sink writing one file per capture point into dir, creating dir if
// needed and the files of opts.Points at once.
func NewSplitSink(dir string, opts SplitOptions) (*SplitSink, error) {
	if opts.Format < 0 || opts.Format >= formatSentinelEnd {
		return nil, fmt.Errorf("replay: unknown file format %d", int(opts.Format))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("replay: creating split directory %q: %w", dir, err)
	}
	s := &SplitSink{dir: dir, opts: opts, points: map[string]*splitFile{}, stems: map[string]bool{}}
	for _, p := range opts.Points {
		if _, dup := s.points[p.Name]; dup {
			_ = s.Close()
			return nil, fmt.Errorf("replay: capture point %q declared twice", p.Name)
		}
		if _, err := s.open(p); err != nil {
			_ = s.Close()
			return nil, err
		}
	}
	return s, nil
}

// Files lists the files created so far, in order of creation.
func (s *SplitSink) Files() []SplitFile {
	return append([]SplitFile(nil), s.files...)
}

// WriteFrame appends f to the file of f.Point, creating it on the point's first frame.
func (s *SplitSink) WriteFrame(f *Frame) error {
	if s.err != nil {
		return s.err
	}
	if s.closed {
		return errSinkClosed
	}
	pf, ok := s.points[f.Point]
	if !ok {
		var err error
		if pf, err = s.open(PointDecl{Name: f.Point, LinkType: f.LinkType}); err != nil {
			s.err = err
			return err
		}
	}
	return pf.sink.WriteFrame(f)
}

// Close flushes and closes every file and returns the first error.
func (s *SplitSink) Close() error {
	if s.closed {
		return s.err
	}
	s.closed = true
	var errs []error
	for _, sf := range s.files {
		pf := s.points[sf.Point]
		if err := pf.sink.Close(); err != nil {
			errs = append(errs, err)
		}
		if err := pf.f.Close(); err != nil {
			errs = append(errs, fmt.Errorf("replay: closing %q: %w", sf.Path, err))
		}
	}
	if err := errors.Join(errs...); err != nil && s.err == nil {
		s.err = err
	}
	return s.err
}

// open creates the file of one point and its sink.
func (s *SplitSink) open(p PointDecl) (*splitFile, error) {
	stem := PointFileStem(p.Name)
	unique := stem
	for n := 2; s.stems[strings.ToLower(unique)]; n++ {
		unique = stem + "~" + strconv.Itoa(n)
	}
	path := filepath.Join(s.dir, unique+s.opts.Format.Ext())
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("replay: creating file for capture point %q: %w", p.Name, err)
	}
	s.stems[strings.ToLower(unique)] = true
	var sink Sink
	switch s.opts.Format {
	case FormatPcapng:
		sink = NewPcapngSink(f, SinkOptions{Points: []PointDecl{p}, SnapLen: s.opts.SnapLen})
	default:
		sink = newPcapSink(f, p.LinkType, s.opts.Format == FormatPcapNanos, s.opts.SnapLen)
	}
	pf := &splitFile{f: f, sink: sink}
	s.points[p.Name] = pf
	s.files = append(s.files, SplitFile{Point: p.Name, Path: path})
	return pf, nil
}

// maxStemLen keeps file names well under the common 255-byte limit.
const maxStemLen = 200

// PointFileStem maps a capture point id to a file name without extension: ASCII letters,
// digits, '.', '-' and '_' are kept, every other character (each UTF-8 character counts once)
// becomes '_', a leading '.' becomes '_' (no hidden files, no "." or ".."), an empty id becomes
// "_", and the result is cut to 200 bytes. For example
// "vNIC:VmNic:Port 1:12:0" becomes "vNIC_VmNic_Port_1_12_0".
func PointFileStem(point string) string {
	var b strings.Builder
	b.Grow(len(point))
	for _, r := range point {
		if b.Len() >= maxStemLen {
			break
		}
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		case r == '.' && b.Len() > 0:
			b.WriteByte('.')
		default:
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "_"
	}
	return b.String()
}
