package decode

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// Building decode errors. A clean packet costs nothing here; a bad one costs one allocation
// holding both the Error and its cause, so pkt.Err stays valid for as long as the caller keeps
// it, whatever happens to the Packet or the Decoder afterwards.

// problem is the single allocation behind a packet's Err.
type problem struct {
	Error
	cause cause
}

// cause is Error.Err: the sentinel kind (ErrTruncated, ErrMalformed, ErrTooDeep,
// ErrUnsupported) plus what was found.
type cause struct {
	kind       error
	what       string // the field or condition, e.g. "total length"
	need, have int    // when both are zero they are not shown
	inner      error  // the layer decoder's own error, if any
}

func (c *cause) Error() string {
	s := c.kind.Error()
	if c.what != "" {
		s += ": " + c.what
	}
	if c.need != 0 || c.have != 0 {
		s += fmt.Sprintf(" needs %d bytes, have %d", c.need, c.have)
	}
	if c.inner != nil {
		s += ": " + lowerFirst(c.inner.Error())
	}
	return s
}

// Unwrap returns the sentinel kind, so errors.Is(pkt.Err, ErrTruncated) works.
func (c *cause) Unwrap() error { return c.kind }

// lowerFirst lowercases gopacket's capitalised messages to match ours.
func lowerFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError || unicode.IsLower(r) {
		return s
	}
	return string(unicode.ToLower(r)) + s[n:]
}

// problem records a problem in the current packet unless it already has one at least as
// severe: the first (outermost) of equally severe problems is the one kept.
func (d *Decoder) problem(proto string, off int, sev Severity, kind error, what string, need, have int, inner error) {
	p := d.pkt
	if p.Err != nil && p.Err.Severity >= sev {
		return
	}
	pr := &problem{cause: cause{kind: kind, what: what, need: need, have: have, inner: inner}}
	pr.Error = Error{Proto: proto, Offset: off, Severity: sev, Err: &pr.cause}
	p.Err = &pr.Error
}

// shortSeverity classifies running out of bytes: truncation when the capture stopped before the
// packet did (snap length), malformed when the wire packet itself was shorter than its headers.
func (d *Decoder) shortSeverity() (Severity, error) {
	if d.capShort {
		return SevTruncated, ErrTruncated
	}
	return SevMalformed, ErrMalformed
}

// short records that a header at off promises need bytes where have were captured.
func (d *Decoder) short(proto string, off int, what string, need, have int) {
	sev, kind := d.shortSeverity()
	d.problem(proto, off, sev, kind, what, need, have, nil)
}

// fail records a layer decoder's error at off; outOfBytes says whether it came from running
// out of data (then shortSeverity decides) rather than from a contradiction (malformed).
func (d *Decoder) fail(proto string, off int, err error, outOfBytes bool) {
	sev, kind := SevMalformed, ErrMalformed
	if outOfBytes || d.fb.truncated {
		sev, kind = d.shortSeverity()
	}
	d.problem(proto, off, sev, kind, "", 0, 0, err)
}
