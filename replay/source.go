package replay

import (
	"errors"
	"fmt"
	"io"
	"iter"
	"strconv"
	"strings"

	"github.com/stackflow/stackflow/decode/pcapio"
)

// Source is a replayable input. Each call to Pass reads the input from its start (one loop)
// and calls emit once per frame in order; it stops at the first error emit returns and
// returns that error unchanged. The frame and its Data are valid only during the emit call.
type Source interface {
	Pass(emit func(f *Frame) error) error
}

// SourceFunc adapts a function to Source.
type SourceFunc func(emit func(f *Frame) error) error

// Pass calls fn.
func (fn SourceFunc) Pass(emit func(f *Frame) error) error { return fn(emit) }

// Frames turns a frame sequence (a synthesizer's output) into a Source; each pass ranges over
// seq again, so seq must be re-iterable for Options.Loop > 1.
func Frames(seq iter.Seq[*Frame]) Source {
	return SourceFunc(func(emit func(*Frame) error) error {
		for f := range seq {
			if err := emit(f); err != nil {
				return err
			}
		}
		return nil
	})
}

// PointFunc names the capture point and link type of a record. src is the source the record
// came from (a *pcapio.Merged for several inputs: see its InputInterfaces).
type PointFunc func(src pcapio.Source, rec *pcapio.Record) (point string, linkType uint16)

// CaptureSource replays capture files read through decode/pcapio.
type CaptureSource struct {
	// Open opens the input (one file, or several merged with pcapio.Merge) for one pass; it is
	// called once per loop and the source is closed at the end of the pass. Wrap an input that
	// can be read only once (stdin) with Once.
	Open func() (pcapio.Source, error)
	// Point names each record's capture point and link type; nil means InterfacePoints(Name).
	Point PointFunc
	// Name is the point id for interfaces without a name (the file stem, DESIGN.md section 2).
	Name string
}

// Pass implements Source. Packet comments (pcapng opt_comment) are joined with "\n" into
// Frame.Comment and epb_flags are kept in Frame.Flags.
func (c CaptureSource) Pass(emit func(f *Frame) error) error {
	if c.Open == nil {
		return errors.New("replay: capture source without Open")
	}
	src, err := c.Open()
	if err != nil {
		return err
	}
	point := c.Point
	if point == nil {
		point = InterfacePoints(c.Name)
	}
	var rec pcapio.Record
	var f Frame
	for {
		if err := src.Next(&rec); err != nil {
			src.Close()
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		name, lt := point(src, &rec)
		f = Frame{Point: name, LinkType: lt, Time: rec.Time, Data: rec.Data, OrigLen: rec.OrigLen, Flags: rec.Flags}
		if len(rec.Options) > 0 {
			if cs := pcapio.Comments(&rec); len(cs) > 0 {
				f.Comment = strings.Join(cs, "\n")
			}
		}
		if err := emit(&f); err != nil {
			src.Close()
			return err
		}
	}
}

// InterfacePoints is the default PointFunc: a record's point is its interface's if_name, or
// name when the interface has none and is its input's only one, or name + ":" + the interface
// index otherwise; for merged inputs the input index is added too ("name:1:0"). The CLI
// passes its own PointFunc built from the file names; this default serves a single input.
func InterfacePoints(name string) PointFunc {
	if name == "" {
		name = "capture"
	}
	return func(src pcapio.Source, rec *pcapio.Record) (string, uint16) {
		ifs := src.Interfaces()
		if m, ok := src.(interface{ InputInterfaces(int) []pcapio.Interface }); ok && ifs == nil {
			ifs = m.InputInterfaces(rec.Input)
		}
		if rec.Interface < 0 || rec.Interface >= len(ifs) {
			return name + ":" + strconv.Itoa(rec.Interface), 0
		}
		ifc := ifs[rec.Interface]
		switch {
		case ifc.Name != "":
			return ifc.Name, ifc.LinkType
		case len(ifs) == 1 && rec.Input == 0:
			return name, ifc.LinkType
		case rec.Input != 0:
			return name + ":" + strconv.Itoa(rec.Input) + ":" + strconv.Itoa(rec.Interface), ifc.LinkType
		}
		return name + ":" + strconv.Itoa(rec.Interface), ifc.LinkType
	}
}

// Once wraps an already open source (stdin) for CaptureSource.Open: the first call returns it,
// later calls (a second loop) fail with a message saying the input cannot be read again.
func Once(src pcapio.Source, name string) func() (pcapio.Source, error) {
	used := false
	return func() (pcapio.Source, error) {
		if used {
			return nil, fmt.Errorf("replay: input %q can be read only once, so it cannot loop", name)
		}
		used = true
		return src, nil
	}
}
