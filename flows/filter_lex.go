package flows

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// fltTokKind is the kind of one filter token.
type fltTokKind uint8

const (
	fltEOF    fltTokKind = iota
	fltWord              // a keyword, an argument or a word operator (and, or, not)
	fltLParen            // (
	fltRParen            // )
	fltAnd               // &&
	fltOr                // ||
	fltNot               // !
)

// fltToken is one lexeme with the 1-based column (in characters) where it starts.
type fltToken struct {
	kind   fltTokKind
	text   string // the word (unescaped when quoted); the operator as written otherwise
	quoted bool   // the word was written in double quotes, so it is never an operator
	col    int
}

// describe renders a token for error messages: quoted input, or "end of input".
func (t fltToken) describe() string {
	if t.kind == fltEOF {
		return "end of input"
	}
	return strconv.Quote(t.text)
}

// isOp reports whether an unquoted word is the word operator op ("and", "or", "not").
func (t fltToken) isOp(op string) bool {
	return t.kind == fltWord && !t.quoted && strings.EqualFold(t.text, op)
}

// isWordOp reports whether the token is an unquoted and/or/not.
func (t fltToken) isWordOp() bool { return t.isOp("and") || t.isOp("or") || t.isOp("not") }

// fltWordBreak lists the bytes that end an unquoted word: they are operators or quotes on their own.
const fltWordBreak = "()!&|\""

// fltLex splits a filter expression into tokens, ending with fltEOF. Words are runs of anything but
// white space and the bytes in fltWordBreak; a double-quoted word may contain anything, with \" and
// \\ as its only escapes.
func fltLex(expr string) ([]fltToken, error) {
	var out []fltToken
	col := 1
	for i := 0; i < len(expr); {
		c := expr[i]
		start := col
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
			col++
		case c == '(':
			out = append(out, fltToken{kind: fltLParen, text: "(", col: start})
			i++
			col++
		case c == ')':
			out = append(out, fltToken{kind: fltRParen, text: ")", col: start})
			i++
			col++
		case c == '!':
			out = append(out, fltToken{kind: fltNot, text: "!", col: start})
			i++
			col++
		case c == '&' || c == '|':
			if i+1 < len(expr) && expr[i+1] == c {
				k := fltAnd
				if c == '|' {
					k = fltOr
				}
				out = append(out, fltToken{kind: k, text: expr[i : i+2], col: start})
				i += 2
				col += 2
				continue
			}
			return nil, fltErrAt(start, "expected %q, got %q", string([]byte{c, c}), string(c))
		case c == '"':
			var b strings.Builder
			j := i + 1
			col++
			closed := false
			for j < len(expr) {
				d := expr[j]
				if d == '"' {
					closed = true
					j++
					col++
					break
				}
				if d == '\\' && j+1 < len(expr) && (expr[j+1] == '"' || expr[j+1] == '\\') {
					b.WriteByte(expr[j+1])
					j += 2
					col += 2
					continue
				}
				_, n := utf8.DecodeRuneInString(expr[j:])
				b.WriteString(expr[j : j+n])
				j += n
				col++
			}
			if !closed {
				return nil, fltErrAt(start, "unterminated string %s", strconv.Quote(expr[i:]))
			}
			out = append(out, fltToken{kind: fltWord, text: b.String(), quoted: true, col: start})
			i = j
		default:
			j := i
			for j < len(expr) {
				d := expr[j]
				if d == ' ' || d == '\t' || d == '\n' || d == '\r' || strings.IndexByte(fltWordBreak, d) >= 0 {
					break
				}
				_, n := utf8.DecodeRuneInString(expr[j:])
				j += n
				col++
			}
			out = append(out, fltToken{kind: fltWord, text: expr[i:j], col: start})
			i = j
		}
	}
	return append(out, fltToken{kind: fltEOF, col: col}), nil
}

// fltQuote writes an argument so that fltLex reads it back as the same single word: bare when it
// is a plain word, in double quotes (escaping \ and ") otherwise.
func fltQuote(s string) string {
	plain := s != "" && !strings.EqualFold(s, "and") && !strings.EqualFold(s, "or") &&
		!strings.EqualFold(s, "not")
	for i := 0; plain && i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c == 0x7f || c == '\\' || strings.IndexByte(fltWordBreak, c) >= 0 {
			plain = false
		}
	}
	if plain && utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}
