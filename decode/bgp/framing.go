package bgp

import (
	"bytes"
	"encoding/binary"
)

// Message types (RFC 4271 section 4.1, RFC 2918).
const (
	TypeOpen         uint8 = 1
	TypeUpdate       uint8 = 2
	TypeNotification uint8 = 3
	TypeKeepalive    uint8 = 4
	TypeRouteRefresh uint8 = 5
)

// Framing limits.
const (
	HeaderLen      = 19    // marker (16) + length (2) + type (1)
	MaxLen         = 4096  // RFC 4271 maximum message length
	MaxExtendedLen = 65535 // RFC 8654 maximum once extended messages are negotiated
	resyncKeep     = HeaderLen - 1
	markerLen      = 16
	lenOffset      = markerLen
	typeOffset     = markerLen + 2
)

var marker = bytes.Repeat([]byte{0xff}, markerLen)

// minLen is the smallest valid length of each known type; 0 means unknown type.
func minLen(t uint8) int {
	switch t {
	case TypeOpen:
		return 29
	case TypeUpdate:
		return 23
	case TypeNotification:
		return 21
	case TypeKeepalive:
		return HeaderLen
	case TypeRouteRefresh:
		return 23
	}
	return 0
}

// plausibleHeader reports whether b starts with a header that framing resynchronisation may
// trust: the all-ones marker, a known type 1..5, and a length that type can have, no greater
// than maxLen. KEEPALIVE must be exactly 19 bytes.
func plausibleHeader(b []byte, maxLen int) bool {
	if len(b) < HeaderLen || !bytes.Equal(b[:markerLen], marker) {
		return false
	}
	l := int(binary.BigEndian.Uint16(b[lenOffset:]))
	t := b[typeOffset]
	m := minLen(t)
	if m == 0 || l < m || l > maxLen {
		return false
	}
	if t == TypeKeepalive && l != HeaderLen {
		return false
	}
	return true
}

// findHeader returns the offset of the first plausible header in b, or -1. It is linear in
// len(b): candidates are only positions where a 16-byte all-ones run starts.
func findHeader(b []byte, maxLen int) int {
	for i := 0; i+HeaderLen <= len(b); {
		j := bytes.Index(b[i:], marker)
		if j < 0 {
			return -1
		}
		i += j
		if i+HeaderLen > len(b) {
			return -1
		}
		if plausibleHeader(b[i:], maxLen) {
			return i
		}
		i++
	}
	return -1
}

// syncReason says why a framer is searching for a marker instead of trusting its position.
type syncReason uint8

const (
	inSync       syncReason = iota
	syncStart               // stream picked up without its SYN: the first byte may be mid-message
	syncGap                 // bytes were missing from the stream
	syncBadFrame            // a header at the expected position was invalid
)

type frameKind uint8

const (
	frameMessage   frameKind = iota // a complete message
	frameBadMarker                  // expected a marker at pos, found other bytes
	frameBadLength                  // marker fine, length outside 19..limit
	frameResync                     // skipped n bytes from pos, next header at pos+n
)

// frameEvent is one thing the framer found. Positions are byte offsets in the direction's
// stream (0 = first byte after the SYN, or the first byte seen).
type frameEvent struct {
	kind   frameKind
	pos    int64
	n      int        // message length, bad length value, or bytes skipped
	reason syncReason // for frameResync: why framing had been lost
}

// framer splits one direction's reassembled byte stream into messages. Its buffer holds at
// most one incomplete message, or while unsynchronised at most resyncKeep bytes that could
// start a header, so memory per direction stays under 64 KiB whatever the input.
type framer struct {
	buf      []byte
	head     int   // consumed prefix of buf
	base     int64 // stream position of buf[0]
	state    syncReason
	skipPos  int64 // where the current resynchronisation started
	skipped  int64 // bytes skipped so far in it
	maxLen   int   // length limit while in sync
	resyncTo int   // length limit for resynchronisation candidates
}

// end returns the stream position just after the buffered bytes.
func (f *framer) end() int64 { return f.base + int64(len(f.buf)) }

// pending returns the buffered, unconsumed bytes.
func (f *framer) pending() []byte { return f.buf[f.head:] }

// push appends stream bytes, compacting consumed ones first. Slices returned by next are
// invalid after push.
func (f *framer) push(data []byte) {
	if f.head > 0 {
		n := copy(f.buf, f.buf[f.head:])
		f.buf = f.buf[:n]
		f.base += int64(f.head)
		f.head = 0
	}
	f.buf = append(f.buf, data...)
}

// lose drops everything buffered because n bytes are missing from the stream; framing
// resumes at the next plausible header. It returns how many buffered bytes were discarded.
func (f *framer) lose(n int64) int {
	dropped := len(f.buf) - f.head
	f.base = f.end() + n
	f.buf, f.head = f.buf[:0], 0
	f.state, f.skipPos, f.skipped = syncGap, f.base, 0
	return dropped
}

// unsync starts a resynchronisation at the current position.
func (f *framer) unsync(r syncReason) {
	f.state, f.skipPos, f.skipped = r, f.base+int64(f.head), 0
}

func (f *framer) consume(n int) { f.head += n }

// next returns the next event and consumes it; ok is false when more bytes are needed.
// For frameMessage, msg holds the message (valid until the next push); for frameBadMarker
// and frameBadLength it holds the offending header.
func (f *framer) next() (ev frameEvent, msg []byte, ok bool) {
	for {
		b := f.buf[f.head:]
		pos := f.base + int64(f.head)
		if f.state != inSync {
			i := findHeader(b, f.resyncTo)
			if i < 0 {
				if drop := len(b) - resyncKeep; drop > 0 {
					f.skipped += int64(drop)
					f.consume(drop)
				}
				return ev, nil, false
			}
			f.skipped += int64(i)
			f.consume(i)
			reason, from, n := f.state, f.skipPos, f.skipped
			f.state, f.skipped = inSync, 0
			if n > 0 || reason == syncBadFrame {
				return frameEvent{kind: frameResync, pos: from, n: int(min(n, 1<<31-1)), reason: reason}, nil, true
			}
			continue
		}
		if len(b) < HeaderLen {
			return ev, nil, false
		}
		if !bytes.Equal(b[:markerLen], marker) {
			f.unsync(syncBadFrame)
			return frameEvent{kind: frameBadMarker, pos: pos}, b[:HeaderLen], true
		}
		l := int(binary.BigEndian.Uint16(b[lenOffset:]))
		if l < HeaderLen || l > f.maxLen {
			f.unsync(syncBadFrame)
			// Skip this marker so the search does not find the same header again.
			f.consume(1)
			f.skipped = 1
			return frameEvent{kind: frameBadLength, pos: pos, n: l}, b[:HeaderLen], true
		}
		if len(b) < l {
			return ev, nil, false
		}
		f.consume(l)
		return frameEvent{kind: frameMessage, pos: pos, n: l}, b[:l], true
	}
}

// unsynced reports how many bytes the current resynchronisation has skipped (0 when in sync).
func (f *framer) unsynced() int64 {
	if f.state == inSync {
		return 0
	}
	return f.skipped + int64(len(f.buf)-f.head)
}
