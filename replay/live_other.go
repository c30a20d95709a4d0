//go:build !linux

package replay

import (
	"errors"
	"runtime"
)

// LiveSink sends frames onto a network interface; it exists on Linux only (AF_PACKET).
type LiveSink struct{}

// LiveCounts counts frames a LiveSink skipped, by reason.
type LiveCounts struct {
	LinkType, TooLarge, TooSmall, Dropped uint64
}

var errLiveUnsupported = errors.New("replay: sending onto an interface needs Linux (AF_PACKET); this is " + runtime.GOOS)

// OpenLive fails: live sending is implemented for Linux only.
func OpenLive(iface string) (*LiveSink, error) { return nil, errLiveUnsupported }

// WallClock reports that frames must leave on time.
func (s *LiveSink) WallClock() bool { return true }

// Name returns "".
func (s *LiveSink) Name() string { return "" }

// MTU returns 0.
func (s *LiveSink) MTU() int { return 0 }

// Skipped returns zero counts.
func (s *LiveSink) Skipped() LiveCounts { return LiveCounts{} }

// WriteFrame fails.
func (s *LiveSink) WriteFrame(*Frame) error { return errLiveUnsupported }

// Close does nothing.
func (s *LiveSink) Close() error { return nil }
