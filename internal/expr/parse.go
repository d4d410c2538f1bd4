// Package expr evaluates the C expressions gdb's `print` is used with in
// crash sessions: literals, globals, member access, subscripts, unary and
// binary operators, casts and sizeof, with typed values read lazily from
// kernel memory.
package expr

import (
	"fmt"
	"strconv"
	"strings"
)

type tokKind int

const (
	tEOF tokKind = iota
	tNum
	tChar
	tIdent
	tOp
	tStr
)

type token struct {
	kind tokKind
	s    string
	pos  int
}

var ops3 = []string{"<<=", ">>="}
var ops2 = []string{"->", "<<", ">>", "<=", ">=", "==", "!=", "&&", "||", "++", "--"}

func lex(s string) ([]token, error) {
	var out []token
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			i++
		case isDigit(c):
			j := i
			for j < len(s) && (isAlnum(s[j]) || s[j] == '.') {
				j++
			}
			out = append(out, token{tNum, s[i:j], i})
			i = j
		case isAlpha(c) || c == '$':
			j := i + 1
			for j < len(s) && (isAlnum(s[j]) || s[j] == '$') {
				j++
			}
			out = append(out, token{tIdent, s[i:j], i})
			i = j
		case c == '\'':
			j := i + 1
			for j < len(s) && s[j] != '\'' {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(s) {
				return nil, fmt.Errorf("Unmatched single quote.")
			}
			out = append(out, token{tChar, s[i+1 : j], i})
			i = j + 1
		case c == '"':
			j := i + 1
			for j < len(s) && s[j] != '"' {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(s) {
				return nil, fmt.Errorf("Unterminated string in expression.")
			}
			out = append(out, token{tStr, s[i+1 : j], i})
			i = j + 1
		default:
			op := ""
			for _, o := range ops3 {
				if strings.HasPrefix(s[i:], o) {
					op = o
				}
			}
			if op == "" {
				for _, o := range ops2 {
					if strings.HasPrefix(s[i:], o) {
						op = o
						break
					}
				}
			}
			if op == "" {
				if !strings.ContainsRune("+-*/%&|^~!<>=()[].,?:@", rune(c)) {
					return nil, fmt.Errorf("Invalid character '%c' in expression.", c)
				}
				op = string(c)
			}
			out = append(out, token{tOp, op, i})
			i += len(op)
		}
	}
	out = append(out, token{tEOF, "", len(s)})
	return out, nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isAlpha(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isAlnum(c byte) bool { return isAlpha(c) || isDigit(c) }

// Node is a parsed expression.
type Node struct {
	Op             string // "num", "char", "ident", "str", "cast", "sizeof_t", "sizeof", "member", "arrow", "index", "unary", "binary", "cond"
	S              string // operator, identifier or literal text
	Type           string // type name for casts and sizeof(type)
	Num            uint64 // literal value
	Unsigned, Long bool
	X, Y, Z        *Node
}

type parser struct {
	toks   []token
	i      int
	isType func(name string) bool
}

func (p *parser) peek() token { return p.toks[p.i] }

// next consumes a token; at the end it stays there (back undoes it).
func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

// back returns t, just consumed by next, to the input.
func (p *parser) back(t token) {
	if t.kind != tEOF {
		p.i--
	}
}
func (p *parser) isOp(s string) bool {
	t := p.peek()
	return t.kind == tOp && t.s == s
}
func (p *parser) expect(s string) error {
	if !p.isOp(s) {
		return p.syntaxErr()
	}
	p.i++
	return nil
}

func (p *parser) syntaxErr() error {
	t := p.peek()
	if t.kind == tEOF {
		return fmt.Errorf("A syntax error in expression, near `'.")
	}
	return fmt.Errorf("A syntax error in expression, near `%s'.", p.rest())
}

func (p *parser) rest() string {
	var sb []string
	for _, t := range p.toks[p.i:] {
		if t.kind == tEOF {
			break
		}
		switch t.kind {
		case tChar:
			sb = append(sb, "'"+t.s+"'")
		case tStr:
			sb = append(sb, `"`+t.s+`"`)
		default:
			sb = append(sb, t.s)
		}
	}
	return strings.Join(sb, " ")
}

// Parse parses an expression. isType tells whether an identifier names a
// type (a typedef or base type), which decides between a cast and a
// parenthesized expression.
func Parse(s string, isType func(string) bool) (*Node, error) {
	toks, err := lex(s)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks, isType: isType}
	n, err := p.expr()
	if err != nil {
		return nil, err
	}
	if p.peek().kind != tEOF {
		return nil, p.syntaxErr()
	}
	return n, nil
}

func (p *parser) expr() (*Node, error) {
	n, err := p.cond()
	if err != nil {
		return nil, err
	}
	for p.isOp(",") {
		p.i++
		m, err := p.cond()
		if err != nil {
			return nil, err
		}
		n = &Node{Op: "binary", S: ",", X: n, Y: m}
	}
	return n, nil
}

func (p *parser) cond() (*Node, error) {
	c, err := p.binary(0)
	if err != nil {
		return nil, err
	}
	if !p.isOp("?") {
		return c, nil
	}
	p.i++
	a, err := p.expr()
	if err != nil {
		return nil, err
	}
	if err := p.expect(":"); err != nil {
		return nil, err
	}
	b, err := p.cond()
	if err != nil {
		return nil, err
	}
	return &Node{Op: "cond", X: c, Y: a, Z: b}, nil
}

var precedence = map[string]int{
	"||": 1, "&&": 2, "|": 3, "^": 4, "&": 5,
	"==": 6, "!=": 6, "<": 7, ">": 7, "<=": 7, ">=": 7,
	"<<": 8, ">>": 8, "+": 9, "-": 9, "*": 10, "/": 10, "%": 10,
	"@": 11, // gdb: LEFT@N is N objects like LEFT from LEFT's address
}

func (p *parser) binary(min int) (*Node, error) {
	x, err := p.unary()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		prec, ok := precedence[t.s]
		if t.kind != tOp || !ok || prec <= min {
			return x, nil
		}
		p.i++
		y, err := p.binary(prec)
		if err != nil {
			return nil, err
		}
		x = &Node{Op: "binary", S: t.s, X: x, Y: y}
	}
}

var typeWords = map[string]bool{"struct": true, "union": true, "enum": true, "unsigned": true,
	"signed": true, "const": true, "volatile": true, "char": true, "short": true, "int": true,
	"long": true, "void": true, "_Bool": true, "float": true, "double": true}

// typeAhead reports whether a type name starts at token i.
func (p *parser) typeAhead(i int) bool {
	t := p.toks[i]
	if t.kind != tIdent {
		return false
	}
	return typeWords[t.s] || (p.isType != nil && p.isType(t.s))
}

// typeName reads a type name: words, then '*'s and [N]s.
func (p *parser) typeName() (string, error) {
	var words []string
	for {
		t := p.peek()
		if t.kind != tIdent {
			break
		}
		if len(words) > 0 && !typeWords[t.s] && !typeWords[words[len(words)-1]] {
			break
		}
		if len(words) > 0 && (words[len(words)-1] == "struct" || words[len(words)-1] == "union" || words[len(words)-1] == "enum") {
			words = append(words, t.s)
			p.i++
			continue
		}
		if len(words) > 0 && !typeWords[t.s] {
			// "unsigned foo": foo is not part of the type.
			if p.isType == nil || !p.isType(t.s) || isBaseWords(words) {
				break
			}
		}
		words = append(words, t.s)
		p.i++
	}
	if len(words) == 0 {
		return "", p.syntaxErr()
	}
	s := strings.Join(words, " ")
	for {
		switch {
		case p.isOp("*"):
			p.i++
			s += " *"
			continue
		case p.isOp("["):
			p.i++
			t := p.next()
			if t.kind != tNum {
				return "", p.syntaxErr()
			}
			if err := p.expect("]"); err != nil {
				return "", err
			}
			s += " [" + t.s + "]"
			continue
		}
		break
	}
	return s, nil
}

func isBaseWords(ws []string) bool {
	for _, w := range ws {
		if !typeWords[w] || w == "struct" || w == "union" || w == "enum" {
			return false
		}
	}
	return true
}

func (p *parser) unary() (*Node, error) {
	t := p.peek()
	if t.kind == tOp {
		switch t.s {
		case "-", "+", "~", "!", "*", "&":
			p.i++
			x, err := p.unary()
			if err != nil {
				return nil, err
			}
			return &Node{Op: "unary", S: t.s, X: x}, nil
		case "(":
			if p.typeAhead(p.i + 1) {
				p.i++
				tn, err := p.typeName()
				if err != nil {
					return nil, err
				}
				if err := p.expect(")"); err != nil {
					return nil, err
				}
				x, err := p.unary()
				if err != nil {
					return nil, err
				}
				return &Node{Op: "cast", Type: tn, X: x}, nil
			}
		}
	}
	if t.kind == tIdent && t.s == "sizeof" {
		p.i++
		if p.isOp("(") && p.typeAhead(p.i+1) {
			p.i++
			tn, err := p.typeName()
			if err != nil {
				return nil, err
			}
			if err := p.expect(")"); err != nil {
				return nil, err
			}
			return &Node{Op: "sizeof_t", Type: tn}, nil
		}
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		return &Node{Op: "sizeof", X: x}, nil
	}
	return p.postfix()
}

func (p *parser) postfix() (*Node, error) {
	x, err := p.primary()
	if err != nil {
		return nil, err
	}
	for {
		switch {
		case p.isOp(".") || p.isOp("->"):
			op := p.next().s
			t := p.next()
			if t.kind != tIdent {
				p.back(t)
				return nil, p.syntaxErr()
			}
			kind := "member"
			if op == "->" {
				kind = "arrow"
			}
			x = &Node{Op: kind, S: t.s, X: x}
		case p.isOp("["):
			p.i++
			i, err := p.expr()
			if err != nil {
				return nil, err
			}
			if err := p.expect("]"); err != nil {
				return nil, err
			}
			x = &Node{Op: "index", X: x, Y: i}
		default:
			return x, nil
		}
	}
}

func (p *parser) primary() (*Node, error) {
	t := p.next()
	switch t.kind {
	case tNum:
		return parseNumber(t.s)
	case tChar:
		v, err := charValue(t.s)
		if err != nil {
			return nil, err
		}
		return &Node{Op: "char", Num: v, S: t.s}, nil
	case tStr:
		return &Node{Op: "str", S: t.s}, nil
	case tIdent:
		return &Node{Op: "ident", S: t.s}, nil
	case tOp:
		if t.s == "(" {
			x, err := p.expr()
			if err != nil {
				return nil, err
			}
			if err := p.expect(")"); err != nil {
				return nil, err
			}
			return x, nil
		}
	}
	p.back(t)
	return nil, p.syntaxErr()
}

// parseNumber reads a C integer literal with its suffixes and gives it
// C's type: int, unsigned int, long or unsigned long, the first that
// holds the value (decimal literals skip the unsigned ones).
func parseNumber(s string) (*Node, error) {
	body := strings.TrimRight(s, "uUlL")
	suf := strings.ToLower(s[len(body):])
	base := 10
	digits := body
	switch {
	case strings.HasPrefix(body, "0x") || strings.HasPrefix(body, "0X"):
		base, digits = 16, body[2:]
	case strings.HasPrefix(body, "0b") || strings.HasPrefix(body, "0B"):
		base, digits = 2, body[2:]
	case len(body) > 1 && body[0] == '0':
		base, digits = 8, body[1:]
	}
	v, err := strconv.ParseUint(digits, base, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return nil, fmt.Errorf("Numeric constant too large.")
		}
		return nil, fmt.Errorf("Invalid number \"%s\".", s)
	}
	n := &Node{Op: "num", Num: v, S: s}
	n.Unsigned = strings.Contains(suf, "u")
	n.Long = strings.Contains(suf, "l")
	switch {
	case !n.Long && !n.Unsigned && v <= 0x7fffffff:
	case !n.Long && base != 10 && v <= 0xffffffff:
		n.Unsigned = true
	case !n.Long && n.Unsigned && v <= 0xffffffff:
	case v <= 0x7fffffffffffffff:
		n.Long = true
	default:
		n.Long, n.Unsigned = true, true
	}
	return n, nil
}

func charValue(s string) (uint64, error) {
	if len(s) == 1 {
		return uint64(s[0]), nil
	}
	if len(s) >= 2 && s[0] == '\\' {
		switch s[1] {
		case 'n':
			return '\n', nil
		case 't':
			return '\t', nil
		case 'r':
			return '\r', nil
		case '0', '1', '2', '3', '4', '5', '6', '7':
			v, err := strconv.ParseUint(s[1:], 8, 8)
			if err == nil {
				return v, nil
			}
		case 'x':
			v, err := strconv.ParseUint(s[2:], 16, 8)
			if err == nil {
				return v, nil
			}
		case 'a':
			return 7, nil
		case 'b':
			return 8, nil
		case 'f':
			return 12, nil
		case 'v':
			return 11, nil
		case 'e':
			return 27, nil
		default:
			if len(s) == 2 {
				return uint64(s[1]), nil
			}
		}
	}
	return 0, fmt.Errorf("Invalid character constant.")
}
