package decode

import (
	"errors"
	"fmt"
)

// Severity orders decoding problems; a packet keeps its most severe one.
type Severity uint8

// Severities, least severe first.
const (
	SevInfo      Severity = iota // unusual but well-formed (e.g. unknown tunnel option)
	SevTruncated                 // the capture stopped before the packet did (snap length)
	SevMalformed                 // a header contradicts itself or its container
)

func (s Severity) String() string {
	switch s {
	case SevInfo:
		return "info"
	case SevTruncated:
		return "truncated"
	default:
		return "malformed"
	}
}

// Error is a decoding problem inside one packet: the protocol that failed and the byte offset
// within the packet where it did. Decoding keeps everything decoded before the offset.
type Error struct {
	Proto    string // protocol being decoded, e.g. "ipv4", "vxlan", "bgp"
	Offset   int    // byte offset within the captured packet
	Severity Severity
	Err      error
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s at byte %d: %v", e.Proto, e.Offset, e.Err)
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Sentinel causes, for errors.Is.
var (
	ErrTruncated   = errors.New("truncated")
	ErrMalformed   = errors.New("malformed")
	ErrTooDeep     = errors.New("tunnels nested deeper than the limit")
	ErrUnsupported = errors.New("unsupported link type")
)
