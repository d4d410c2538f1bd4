package commands

// Shared argument parsing for commands that take addresses, symbols,
// counts and crash-style expressions, following crash's rules:
//
//   - getopt: GNU getopt(3) as crash calls it (options may follow operands,
//     "--" ends them, "-64" is option '6' with argument "4").
//   - numbers (tools.c: hexadecimal, decimal, htol, stol): an address is
//     hexadecimal with or without 0x; a count or an offset is decimal when
//     it has only decimal digits and hexadecimal otherwise.
//   - expressions (tools.c: eval_common): "(a op b)" with one binary
//     operator among + - & | * / % ^ << >> #, each operand a symbol or a
//     number, "~" for a one's complement, k/m/g suffixes.
//   - addresses: "(expr)", then hexadecimal, then a symbol name. kdive also
//     accepts symbol+offset and symbol-offset, which crash 8.0.2 rejects
//     ("symbol not found"); the offset follows the count rule above, so
//     `sym`'s "startup_64+16" reads back as the same address.

import (
	"fmt"
	"strings"

	"kdive/internal/expr"
)

// opt is one option found by getopt: its letter and its argument, if any.
type opt struct {
	c   byte
	arg string
}

// getopt parses args like glibc's getopt(3) with crash's option strings
// ("ab:c" — a colon marks an option that takes an argument). Operands may
// come before, between or after options (GNU argument permutation); "--"
// ends the options. The error text is glibc's, with cmd as argv[0].
func getopt(cmd string, args []string, optstring string) ([]opt, []string, error) {
	var opts []opt
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			rest = append(rest, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			rest = append(rest, a)
			continue
		}
		for j := 1; j < len(a); j++ {
			c := a[j]
			k := strings.IndexByte(optstring, c)
			if c == ':' || k < 0 {
				return nil, nil, fmt.Errorf("%s: invalid option -- '%c'", cmd, c)
			}
			if k+1 < len(optstring) && optstring[k+1] == ':' {
				if j+1 < len(a) {
					opts = append(opts, opt{c, a[j+1:]})
				} else if i+1 < len(args) {
					i++
					opts = append(opts, opt{c, args[i]})
				} else {
					return nil, nil, fmt.Errorf("%s: option requires an argument -- '%c'", cmd, c)
				}
				break
			}
			opts = append(opts, opt{c, ""})
		}
	}
	return opts, rest, nil
}

// isCrashHex reports whether s reads as a hexadecimal number to crash
// (tools.c: hexadecimal): hex digits, 'x' or 'X' anywhere, a trailing blank,
// at least one digit. Note that a word such as "add" or "fee" qualifies.
func isCrashHex(s string) bool {
	digits := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f', c >= 'A' && c <= 'F':
			digits++
		case c == 'x' || c == 'X':
		case c == ' ' && i == len(s)-1:
		default:
			return false
		}
	}
	return digits > 0
}

// isCrashDecimal reports whether s has only decimal digits (and blanks).
func isCrashDecimal(s string) bool {
	digits := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == ' ':
		default:
			return false
		}
	}
	return digits > 0
}

// maxHexAddrLen is crash's MAX_HEXADDR_STRLEN on a 64-bit machine.
const maxHexAddrLen = 16

// parseCrashHex converts a hexadecimal string as crash's htoll does: an
// optional 0x, then hex digits, with 'x', 'X' and 'h' ignored.
func parseCrashHex(s string) (uint64, error) {
	t := strings.TrimRight(s, " ")
	if strings.HasPrefix(t, "0x") || strings.HasPrefix(t, "0X") {
		t = t[2:]
	}
	if len(t) > maxHexAddrLen {
		return 0, fmt.Errorf("input string too large: \"%s\" (%d vs %d)", t, len(t), maxHexAddrLen)
	}
	var n uint64
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
		case c == 'x' || c == 'X' || c == 'h':
			continue
		default:
			return 0, fmt.Errorf("invalid input: \"%s\"", t)
		}
		n = n*16 + d
	}
	return n, nil
}

// parseCrashDecimal converts a decimal string (crash's dtol); it wraps on
// overflow like C's unsigned arithmetic.
func parseCrashDecimal(s string) (uint64, error) {
	var n uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ' ' {
			continue
		}
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("invalid input: \"%s\"", s)
		}
		n = n*10 + uint64(c-'0')
	}
	return n, nil
}

// parseCrashNumber converts a count or an offset as crash's stol does:
// decimal if s has only decimal digits, else hexadecimal.
func parseCrashNumber(s string) (uint64, error) {
	switch {
	case isCrashDecimal(s):
		return parseCrashDecimal(s)
	case isCrashHex(s):
		return parseCrashHex(s)
	}
	return 0, fmt.Errorf("not a valid number: %s", s)
}

// symbolResolver finds a symbol's address by name, as crash's
// symbol_search does (kernel symbols first, then module symbols).
type symbolResolver interface {
	symbolAddr(name string) (uint64, bool)
}

// errInvalidExpr is returned by evalExpr for an expression it cannot read.
var errInvalidExpr = expr.ErrInvalidExpr

// evalExpr evaluates a crash expression: "(a op b)", "(a)", or the same
// without parentheses (internal/expr: CrashEval, crash's eval_common).
func evalExpr(s string, syms symbolResolver) (uint64, error) {
	var lookup func(string) (uint64, bool)
	if syms != nil {
		lookup = syms.symbolAddr
	}
	return expr.CrashEval(s, lookup)
}

// symbolNotFoundError is an address argument that is neither a number nor
// a known symbol. Commands print crash's "symbol not found" report for it.
type symbolNotFoundError struct{ Name string }

func (e *symbolNotFoundError) Error() string { return "symbol not found: " + e.Name }

// parseAddrArg reads an address argument as crash's rd does: an expression
// in parentheses, a hexadecimal number (with or without 0x), or a symbol;
// then, as a kdive extension, symbol+offset or symbol-offset.
func parseAddrArg(s string, syms symbolResolver) (uint64, error) {
	if strings.HasPrefix(s, "(") {
		return evalExpr(s, syms)
	}
	if isCrashHex(s) {
		return parseCrashHex(s)
	}
	if syms != nil {
		if v, ok := syms.symbolAddr(s); ok {
			return v, nil
		}
		if v, ok := symbolPlusOffset(s, syms); ok {
			return v, nil
		}
	}
	return 0, &symbolNotFoundError{Name: s}
}

// symbolPlusOffset reads "symbol+offset" or "symbol-offset".
func symbolPlusOffset(s string, syms symbolResolver) (uint64, bool) {
	i := strings.LastIndexAny(s, "+-")
	if i <= 0 || i == len(s)-1 {
		return 0, false
	}
	base, ok := syms.symbolAddr(s[:i])
	if !ok {
		return 0, false
	}
	off, err := parseCrashNumber(s[i+1:])
	if err != nil {
		return 0, false
	}
	if s[i] == '-' {
		return base - off, true
	}
	return base + off, true
}

// writeUsage prints crash's short usage message (help.c: cmd_usage with
// SYNOPSIS) for a command.
func writeUsage(env *Env, name, synopsis string) {
	fmt.Fprintf(env.Out, "Usage:\n  %s %s\nEnter \"help %s\" for details.\n", name, synopsis, name)
}
