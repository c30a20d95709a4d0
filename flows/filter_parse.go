package flows

import (
	"fmt"
	"strings"
)

// maxFilterDepth bounds nesting (parentheses and not) so that no input can exhaust the stack.
const maxFilterDepth = 100

// FilterError is a filter expression that does not compile. Column is 1-based and counts
// characters; Msg quotes the offending token.
type FilterError struct {
	Column int
	Msg    string
}

// Error renders the error on one line: `filter: at column 12: expected address after "host", got "foo"`.
func (e *FilterError) Error() string { return fmt.Sprintf("filter: at column %d: %s", e.Column, e.Msg) }

func fltErrAt(col int, format string, args ...any) error {
	return &FilterError{Column: col, Msg: fmt.Sprintf(format, args...)}
}

// fltExprKind is the kind of one AST node.
type fltExprKind uint8

const (
	fltPrim fltExprKind = iota
	fltNotExpr
	fltAndExpr
	fltOrExpr
)

// fltExpr is one node of a parsed filter. Primitives keep their keyword and raw argument token;
// compile fills canon, the argument's canonical spelling that String prints.
type fltExpr struct {
	kind   fltExprKind
	l, r   *fltExpr // and/or: both operands; not: l
	kw     string
	kwCol  int
	arg    fltToken
	hasArg bool
	canon  string
}

// precedence orders operators for printing with the fewest parentheses.
func (e *fltExpr) precedence() int {
	switch e.kind {
	case fltOrExpr:
		return 1
	case fltAndExpr:
		return 2
	case fltNotExpr:
		return 3
	}
	return 4
}

// write prints e canonically: lowercase keywords, word operators, canonical arguments and only
// the parentheses that precedence needs. and/or are associative, so a right operand of the same
// operator needs none either.
func (e *fltExpr) write(b *strings.Builder) {
	sub := func(x *fltExpr, min int) {
		if x.precedence() < min {
			b.WriteByte('(')
			x.write(b)
			b.WriteByte(')')
			return
		}
		x.write(b)
	}
	switch e.kind {
	case fltOrExpr:
		sub(e.l, 1)
		b.WriteString(" or ")
		sub(e.r, 1)
	case fltAndExpr:
		sub(e.l, 2)
		b.WriteString(" and ")
		sub(e.r, 2)
	case fltNotExpr:
		b.WriteString("not ")
		sub(e.l, 3)
	default:
		b.WriteString(e.kw)
		if e.hasArg {
			b.WriteByte(' ')
			b.WriteString(fltQuote(e.canon))
		}
	}
}

// fltParser is a recursive-descent parser over the token list:
//
//	or      = and { ("or" | "||") and }
//	and     = unary { ("and" | "&&") unary }
//	unary   = ("not" | "!") unary | "(" or ")" | primitive
//	primitive = keyword [argument]
type fltParser struct {
	toks  []fltToken
	pos   int
	depth int
}

func (p *fltParser) peek() fltToken { return p.toks[p.pos] }

func (p *fltParser) next() fltToken {
	t := p.toks[p.pos]
	if t.kind != fltEOF {
		p.pos++
	}
	return t
}

// parseFilter turns an expression into an AST; argument values are checked later, by compile.
func parseFilter(s string) (*fltExpr, error) {
	toks, err := fltLex(s)
	if err != nil {
		return nil, err
	}
	p := &fltParser{toks: toks}
	e, err := p.or()
	if err != nil {
		return nil, err
	}
	switch t := p.peek(); t.kind {
	case fltEOF:
		return e, nil
	case fltRParen:
		return nil, fltErrAt(t.col, `unexpected ")" without a matching "("`)
	default:
		return nil, fltErrAt(t.col, `expected "and" or "or" between primitives, got %s`, t.describe())
	}
}

func (p *fltParser) or() (*fltExpr, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for t := p.peek(); t.kind == fltOr || t.isOp("or"); t = p.peek() {
		p.next()
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = &fltExpr{kind: fltOrExpr, l: l, r: r}
	}
	return l, nil
}

func (p *fltParser) and() (*fltExpr, error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for t := p.peek(); t.kind == fltAnd || t.isOp("and"); t = p.peek() {
		p.next()
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		l = &fltExpr{kind: fltAndExpr, l: l, r: r}
	}
	return l, nil
}

func (p *fltParser) unary() (*fltExpr, error) {
	t := p.peek()
	nests := t.kind == fltNot || t.isOp("not") || t.kind == fltLParen
	if nests {
		if p.depth >= maxFilterDepth {
			return nil, fltErrAt(t.col, "nesting deeper than %d at %s", maxFilterDepth, t.describe())
		}
		p.depth++
		defer func() { p.depth-- }()
	}
	switch {
	case t.kind == fltNot || t.isOp("not"):
		p.next()
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		return &fltExpr{kind: fltNotExpr, l: x}, nil
	case t.kind == fltLParen:
		p.next()
		x, err := p.or()
		if err != nil {
			return nil, err
		}
		switch c := p.peek(); c.kind {
		case fltRParen:
			p.next()
			return x, nil
		case fltEOF:
			return nil, fltErrAt(c.col, `expected ")" to close "(" at column %d, got end of input`, t.col)
		default:
			return nil, fltErrAt(c.col, `expected "and", "or" or ")", got %s`, c.describe())
		}
	case t.kind == fltWord && t.quoted:
		return nil, fltErrAt(t.col, "expected a keyword, got the quoted string %s", t.describe())
	case t.kind == fltWord && !t.isWordOp():
		return p.primitive()
	}
	return nil, fltErrAt(t.col, "expected a primitive, got %s", t.describe())
}

func (p *fltParser) primitive() (*fltExpr, error) {
	t := p.next()
	kw := strings.ToLower(t.text)
	prim, ok := filterPrimitives[kw]
	if !ok {
		msg := fmt.Sprintf("unknown keyword %q", t.text)
		if s := fltNearest(kw, filterKeywords()); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		return nil, fltErrAt(t.col, "%s", msg)
	}
	e := &fltExpr{kind: fltPrim, kw: kw, kwCol: t.col}
	if prim.arg == "" {
		return e, nil
	}
	a := p.peek()
	if a.kind != fltWord || a.isWordOp() {
		return nil, fltErrAt(a.col, "expected %s after %q, got %s", prim.arg, kw, a.describe())
	}
	p.next()
	e.arg, e.hasArg = a, true
	return e, nil
}

// fltNearest returns the candidate closest to s by edit distance, or "" when none is close enough
// to be a plausible typo (at most 2 edits, and fewer than half of the longer word).
func fltNearest(s string, candidates []string) string {
	best, bestD := "", 3
	for _, c := range candidates {
		d := fltEditDistance(s, c)
		if d < bestD && 2*d < max(len(s), len(c)) {
			best, bestD = c, d
		}
	}
	return best
}

// fltEditDistance is the optimal-string-alignment distance between two short words, in bytes:
// insertions, deletions, substitutions and swaps of adjacent letters ("hots" -> "host") cost 1.
func fltEditDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev2, prev, cur := make([]int, len(b)+1), make([]int, len(b)+1), make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
