package expr

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalidExpr is an expression CrashEval cannot read.
var ErrInvalidExpr = errors.New("invalid expression")

// CrashEval evaluates an expression as crash's eval_common (tools.c) does
// for rd, eval and other commands' address arguments: "(a op b)", "(a)",
// or the same without parentheses; one binary operator among
// + - & | * / % ^ << >> # (power); each operand a symbol or a number
// (decimal when it has only decimal digits, else hexadecimal, with an
// optional k/m/g suffix and a leading ~). A leading '-' is 0-x.
// crash 8.0.2's own evall returns garbage on 64-bit machines (it reads a
// field it never set); CrashEval computes the value.
func CrashEval(s string, symbol func(string) (uint64, bool)) (uint64, error) {
	bad := fmt.Errorf("%w: %s", ErrInvalidExpr, s)
	work := s
	if strings.ContainsAny(s, "()") {
		if !strings.HasPrefix(s, "(") || !strings.HasSuffix(s, ")") || strings.Index(s, ")") != len(s)-1 {
			return 0, bad
		}
		work = s[1 : len(s)-1]
		if strings.ContainsAny(work, "()") {
			return 0, bad
		}
	}
	if strings.HasPrefix(work, "-") {
		work = "0" + work
	}
	i := strings.IndexAny(work, "#><+-&|*/%^")
	if i < 0 {
		v, ok := crashOperand(strings.TrimSpace(work), symbol)
		if !ok {
			return 0, bad
		}
		return v, nil
	}
	op := work[i]
	e1, e2 := work[:i], work[i+1:]
	if op == '<' || op == '>' {
		if i+1 >= len(work) || work[i+1] != op {
			return 0, bad
		}
		e2 = work[i+2:]
	}
	e1, e2 = strings.TrimSpace(e1), strings.TrimSpace(e2)
	if e1 == "" || e2 == "" {
		return 0, bad
	}
	v1, ok1 := crashOperand(e1, symbol)
	v2, ok2 := crashOperand(e2, symbol)
	if !ok1 || !ok2 {
		return 0, bad
	}
	switch op {
	case '+':
		return v1 + v2, nil
	case '-':
		return v1 - v2, nil
	case '&':
		return v1 & v2, nil
	case '|':
		return v1 | v2, nil
	case '*':
		return v1 * v2, nil
	case '/', '%':
		if v2 == 0 {
			return 0, fmt.Errorf("divide by zero: %s", s)
		}
		if op == '/' {
			return v1 / v2, nil
		}
		return v1 % v2, nil
	case '<':
		return v1 << v2, nil
	case '>':
		return v1 >> v2, nil
	case '^':
		return v1 ^ v2, nil
	case '#':
		r, b := uint64(1), v1
		for e := v2; e > 0; e >>= 1 {
			if e&1 != 0 {
				r *= b
			}
			b *= b
		}
		return r, nil
	}
	return 0, bad
}

// crashOperand is crash's calculate: an optional "~", then a symbol, or a
// number with an optional k, m or g suffix.
func crashOperand(s string, symbol func(string) (uint64, bool)) (uint64, bool) {
	neg := false
	if strings.HasPrefix(s, "~") {
		neg = true
		s = s[1:]
	}
	if symbol != nil {
		if v, ok := symbol(s); ok {
			if neg {
				v = ^v
			}
			return v, true
		}
	}
	if s == "" {
		return 0, false
	}
	factor := uint64(1)
	switch s[len(s)-1] {
	case 'k', 'K':
		factor = 1 << 10
	case 'm', 'M':
		factor = 1 << 20
	case 'g', 'G':
		factor = 1 << 30
	}
	if factor != 1 {
		s = s[:len(s)-1]
	}
	v, ok := CrashNumber(s)
	if !ok {
		return 0, false
	}
	v *= factor
	if neg {
		v = ^v
	}
	return v, true
}

// CrashNumber converts a number as crash's stol does: decimal when s has
// only decimal digits (and blanks), else hexadecimal (0x optional; 'x',
// 'X' and 'h' ignored). At most 16 hex digits.
func CrashNumber(s string) (uint64, bool) {
	dec, hex, digits := true, true, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c >= 'a' && c <= 'f', c >= 'A' && c <= 'F':
			digits++
			dec = false
		case c == 'x' || c == 'X':
			dec = false
		case c == ' ':
			if i != len(s)-1 {
				hex = false
			}
		default:
			return 0, false
		}
	}
	if digits == 0 {
		return 0, false
	}
	var n uint64
	if dec {
		for i := 0; i < len(s); i++ {
			if s[i] != ' ' {
				n = n*10 + uint64(s[i]-'0')
			}
		}
		return n, true
	}
	if !hex {
		return 0, false
	}
	t := strings.TrimRight(s, " ")
	if strings.HasPrefix(t, "0x") || strings.HasPrefix(t, "0X") {
		t = t[2:]
	}
	if len(t) > 16 {
		return 0, false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		var d uint64
		switch {
		case c >= '0' && c <= '9':
			d = uint64(c - '0')
		case c >= 'a' && c <= 'f':
			d = uint64(c-'a') + 10
		case c >= 'A' && c <= 'F':
			d = uint64(c-'A') + 10
		default:
			continue
		}
		n = n*16 + d
	}
	return n, true
}
