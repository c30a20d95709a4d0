package pcapio

import (
	"errors"
	"fmt"
)

// Option codes found in Record.Options (pcapng Enhanced Packet Block options).
const (
	OptEndOfOpt = 0 // opt_endofopt: ends the options area
	OptComment  = 1 // opt_comment: UTF-8 text
	OptFlags    = 2 // epb_flags: 32-bit; bits 0-1 direction (1 inbound, 2 outbound)
	OptHash     = 3 // epb_hash
	OptDropped  = 4 // epb_dropcount: 64-bit
	OptPacketID = 5 // epb_packetid: 64-bit, the same packet seen at several points
	OptQueue    = 6 // epb_queue: 32-bit
	OptVerdict  = 7 // epb_verdict: type byte then data
)

// ErrBadOptions means an options area ended in the middle of an option.
var ErrBadOptions = errors.New("malformed pcapng options")

// WalkOptions calls fn with the code and value of each option in a pcapng options area, in
// order, until opt_endofopt, the end of opts, or fn returning false. value aliases opts. Pass
// Record.BigEndian for the byte order. It allocates nothing unless opts is malformed: then
// the options before the damage have been walked and the error (wrapping ErrBadOptions)
// quotes the position.
func WalkOptions(opts []byte, bigEndian bool, fn func(code uint16, value []byte) bool) error {
	for pos := 0; pos < len(opts); {
		if len(opts)-pos < 4 {
			return fmt.Errorf("%w: %d stray bytes at option byte %d", ErrBadOptions, len(opts)-pos, pos)
		}
		code := u16(opts[pos:], bigEndian)
		n := int(u16(opts[pos+2:], bigEndian))
		if code == OptEndOfOpt {
			return nil
		}
		start := pos + 4
		if n > len(opts)-start {
			return fmt.Errorf("%w: option %d at byte %d claims %d bytes, %d remain", ErrBadOptions, code, pos, n, len(opts)-start)
		}
		if !fn(code, opts[start:start+n]) {
			return nil
		}
		// The value is padded to 4 bytes; a writer that leaves out the last padding loses nothing.
		pos = start + (n+3)&^3
	}
	return nil
}

// optionFlags finds epb_flags without a callback, for the per-record hot path. ok is false
// when the options are malformed (flags found before the damage are still returned).
func optionFlags(opts []byte, big bool) (flags uint32, ok bool) {
	for pos := 0; pos < len(opts); {
		if len(opts)-pos < 4 {
			return flags, false
		}
		code := u16(opts[pos:], big)
		n := int(u16(opts[pos+2:], big))
		if code == OptEndOfOpt {
			return flags, true
		}
		start := pos + 4
		if n > len(opts)-start {
			return flags, false
		}
		if code == OptFlags && n == 4 {
			flags = u32(opts[start:], big)
		}
		pos = start + (n+3)&^3
	}
	return flags, true
}

// Comments returns the opt_comment texts of a pcapng record, in order (nil for none). It
// allocates: it is meant for a detail view, not the per-packet path.
func Comments(rec *Record) []string {
	var out []string
	_ = WalkOptions(rec.Options, rec.BigEndian, func(code uint16, v []byte) bool {
		if code == OptComment {
			out = append(out, optString(v))
		}
		return true
	})
	return out
}

// optString converts a string option, dropping the NUL padding some writers count in the length.
func optString(v []byte) string {
	for len(v) > 0 && v[len(v)-1] == 0 {
		v = v[:len(v)-1]
	}
	return string(v)
}
