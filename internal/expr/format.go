package expr

import (
	"fmt"
	"strconv"
	"strings"

	"kdive/internal/types"
)

// PrintOpts control gdb-style value printing.
type PrintOpts struct {
	// Radix is gdb's output-radix: 10 (default) or 16 (crash's p -x):
	// integers in hex, characters as 0x73 's', pointers unchanged.
	Radix int
	// Fmt is a gdb /FMT letter: 'x' (hex, no symbols or strings), 'd'
	// (signed decimal), 'u' (unsigned decimal), 'o' (octal), 't'
	// (binary), 'z' (zero-padded hex), 'c' (character), 'a' (address
	// with symbol), 0 for natural.
	Fmt byte
	// Symbolize names an address: "schedule", "init_task+168".
	Symbolize func(addr uint64) (string, bool)
	// Elements is gdb's print elements limit (crash: 256); 0 means 256.
	Elements int
}

func (o *PrintOpts) elements() int {
	if o.Elements > 0 {
		return o.Elements
	}
	return 256
}

// FormatTop formats v as gdb's print shows it after "$N = ": pointers get
// a "(type) " prefix, functions "{type} ".
func FormatTop(v *Value, o PrintOpts) (string, error) {
	st := v.Type.Strip()
	var sb strings.Builder
	switch st.Kind {
	case types.Pointer:
		if o.Fmt == 0 && !isCharPtr(st) {
			sb.WriteString("(" + v.Type.String() + ") ")
		}
	case types.Func:
		sb.WriteString("{" + v.Type.String() + "} ")
		sb.WriteString(fmt.Sprintf("%#x", v.Addr))
		if s, ok := sym(o, v.Addr); ok {
			sb.WriteString(" <" + s + ">")
		}
		return sb.String(), nil
	}
	if v.LVal && v.Type.Size > 0 && v.BitSize == 0 {
		// Read the whole value once up front: a fault is the command's error.
		if _, err := v.Bytes(); err != nil {
			return "", err
		}
	}
	if err := format(&sb, v, o, 0); err != nil {
		return "", err
	}
	return sb.String(), nil
}

// Format formats a value as gdb prints it inside a structure at
// nesting level recurse (members at indent 2*(recurse+1)).
func Format(v *Value, o PrintOpts, recurse int) (string, error) {
	var sb strings.Builder
	err := format(&sb, v, o, recurse)
	return sb.String(), err
}

func sym(o PrintOpts, a uint64) (string, bool) {
	if o.Symbolize == nil || a == 0 {
		return "", false
	}
	return o.Symbolize(a)
}

func isCharPtr(st *types.Type) bool {
	if st.Kind != types.Pointer || st.Elem == nil {
		return false
	}
	e := st.Elem.Strip()
	return e.Kind == types.Int && e.Char && e.Size == 1
}

func format(sb *strings.Builder, v *Value, o PrintOpts, recurse int) error {
	st := v.Type.Strip()
	switch st.Kind {
	case types.Struct, types.Union:
		return formatStruct(sb, v, st, o, recurse)
	case types.Array:
		return formatArray(sb, v, st, o, recurse)
	case types.Func:
		fmt.Fprintf(sb, "{%s} %#x", v.Type, v.Addr)
		if s, ok := sym(o, v.Addr); ok {
			sb.WriteString(" <" + s + ">")
		}
		return nil
	case types.Void:
		sb.WriteString("void")
		return nil
	}
	u, err := v.Uint()
	if err != nil {
		fmt.Fprintf(sb, "<error: %v>", err)
		return nil
	}
	sb.WriteString(scalar(v, st, u, o))
	return nil
}

// scalar formats an integer, character, bool, enum or pointer value.
func scalar(v *Value, st *types.Type, u uint64, o PrintOpts) string {
	size := st.Size
	if v.BitSize != 0 {
		size = 8
		u &= mask(v.BitSize)
		if st.Signed && v.BitSize < 64 && u&(1<<(v.BitSize-1)) != 0 {
			u |= ^uint64(0) << v.BitSize
		}
	}
	switch o.Fmt {
	case 'x':
		if v.BitSize != 0 {
			return fmt.Sprintf("%#x", u&mask(v.BitSize))
		}
		return fmt.Sprintf("%#x", u&mask(size*8))
	case 'd':
		return strconv.FormatInt(int64(truncate(u, size, true)), 10)
	case 'u':
		return strconv.FormatUint(u&mask(size*8), 10)
	case 'o':
		if x := u & mask(size*8); x != 0 {
			return "0" + strconv.FormatUint(x, 8)
		}
		return "0"
	case 't':
		return strconv.FormatUint(u&mask(size*8), 2)
	case 'z':
		return fmt.Sprintf("0x%0*x", int(size*2), u&mask(size*8))
	case 'c':
		c := truncate(u, 1, true)
		return strconv.FormatInt(int64(c), 10) + " " + charLit(byte(c))
	case 'a':
		s := fmt.Sprintf("%#x", u&mask(size*8))
		if n, ok := sym(o, u); ok {
			s += " <" + n + ">"
		}
		return s
	}
	hex := o.Radix == 16
	switch st.Kind {
	case types.Pointer:
		s := fmt.Sprintf("%#x", u)
		if n, ok := sym(o, u); ok {
			s += " <" + n + ">"
		}
		if isCharPtr(st) && u != 0 {
			s += " " + readCString(v, u, o)
		}
		return s
	case types.Bool:
		switch u {
		case 0:
			return "false"
		case 1:
			return "true"
		}
		return strconv.FormatUint(u, 10)
	case types.Enum:
		for _, e := range st.Enumerators {
			if uint64(e.Value)&mask(size*8) == u&mask(size*8) {
				return e.Name
			}
		}
		if flags := enumFlags(st, u&mask(size*8)); flags != "" {
			return flags
		}
		if hex {
			return fmt.Sprintf("%#x", u&mask(size*8))
		}
		if st.Signed {
			return strconv.FormatInt(int64(u), 10)
		}
		return strconv.FormatUint(u&mask(size*8), 10)
	case types.Int:
		num := ""
		switch {
		case hex:
			num = fmt.Sprintf("%#x", u&mask(size*8))
		case st.Signed:
			num = strconv.FormatInt(int64(u), 10)
		default:
			num = strconv.FormatUint(u, 10)
		}
		if st.Char && size == 1 {
			return num + " " + charLit(byte(u))
		}
		return num
	case types.Float:
		f, err := v.Float()
		if err != nil {
			return "<error>"
		}
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return strconv.FormatUint(u, 10)
}

// enumFlags formats a value of a "flag enum" (every enumerator a
// distinct bit set) as gdb does: (A | B | unknown: 0x8).
func enumFlags(st *types.Type, u uint64) string {
	if u == 0 {
		return ""
	}
	for _, e := range st.Enumerators {
		x := uint64(e.Value)
		if e.Value < 0 || x&(x-1) != 0 && x != 0 {
			return ""
		}
	}
	var parts []string
	rest := u
	for _, e := range st.Enumerators {
		x := uint64(e.Value)
		if x != 0 && rest&x == x {
			parts = append(parts, e.Name)
			rest &^= x
		}
	}
	if len(parts) == 0 {
		return ""
	}
	if rest != 0 {
		parts = append(parts, fmt.Sprintf("unknown: %#x", rest))
	}
	return "(" + strings.Join(parts, " | ") + ")"
}

func mask(bits uint64) uint64 {
	if bits >= 64 || bits == 0 {
		return ^uint64(0)
	}
	return 1<<bits - 1
}

func charLit(c byte) string {
	if c == '\'' {
		return `'\''`
	}
	return "'" + escapeChar(c, '\'') + "'"
}

func escapeChar(c byte, quote byte) string {
	switch c {
	case '\a':
		return `\a`
	case '\b':
		return `\b`
	case '\f':
		return `\f`
	case '\n':
		return `\n`
	case '\r':
		return `\r`
	case '\t':
		return `\t`
	case '\v':
		return `\v`
	case 27:
		return `\033`
	case '\\':
		return `\\`
	}
	if c == quote {
		return `\` + string(c)
	}
	if c < 0x20 || c >= 0x7f {
		return fmt.Sprintf(`\%03o`, c)
	}
	return string(c)
}

// quoteBytes formats bytes as a gdb string literal.
func quoteBytes(b []byte) string {
	var sb strings.Builder
	sb.WriteByte('"')
	for _, c := range b {
		sb.WriteString(escapeChar(c, '"'))
	}
	sb.WriteByte('"')
	return sb.String()
}

// readCString reads the NUL-terminated string a char pointer points to,
// at most the elements limit, as gdb shows it after the pointer.
func readCString(v *Value, addr uint64, o PrintOpts) string {
	limit := o.elements()
	var out []byte
	buf := make([]byte, 64)
	a := addr
	for len(out) < limit {
		n := uint64(len(buf))
		if pg := 4096 - a%4096; pg < n {
			n = pg
		}
		if err := readFull(v.env, buf[:n], a); err != nil {
			if len(out) == 0 {
				return fmt.Sprintf("<error: Cannot access memory at address %#x>", a)
			}
			break
		}
		for _, c := range buf[:n] {
			if c == 0 {
				return quoteBytes(out)
			}
			out = append(out, c)
			if len(out) == limit {
				break
			}
		}
		a += n
	}
	return quoteBytes(out) + "..."
}

func formatStruct(sb *strings.Builder, v *Value, st *types.Type, o PrintOpts, recurse int) error {
	if len(st.Members) == 0 {
		if st.Incomplete {
			sb.WriteString("<incomplete type>")
		} else {
			sb.WriteString("{<No data fields>}")
		}
		return nil
	}
	sb.WriteString("{\n")
	ind := strings.Repeat("  ", recurse+1)
	for i, m := range st.Members {
		sb.WriteString(ind)
		if m.Name != "" {
			sb.WriteString(m.Name + " = ")
		}
		fv, err := v.field(m)
		if err != nil {
			fmt.Fprintf(sb, "<error: %v>", err)
		} else if err := format(sb, fv, o, recurse+1); err != nil {
			return err
		}
		if i < len(st.Members)-1 {
			sb.WriteString(",")
		}
		sb.WriteString("\n")
	}
	sb.WriteString(strings.Repeat("  ", recurse) + "}")
	return nil
}

func formatArray(sb *strings.Builder, v *Value, st *types.Type, o PrintOpts, recurse int) error {
	et := st.Elem.Strip()
	if st.Flexible || st.Len == 0 {
		// gdb shows an array of unknown size by its address.
		if v.LVal {
			fmt.Fprintf(sb, "%#x", v.Addr)
			if s, ok := sym(o, v.Addr); ok {
				sb.WriteString(" <" + s + ">")
			}
			if et.Kind == types.Int && et.Char && et.Size == 1 && o.Fmt == 0 {
				sb.WriteString(" " + readCString(v, v.Addr, o))
			}
			return nil
		}
		sb.WriteString("{}")
		return nil
	}
	if et.Kind == types.Int && et.Char && et.Size == 1 && o.Fmt == 0 {
		b, err := v.Bytes()
		if err != nil {
			fmt.Fprintf(sb, "<error: %v>", err)
			return nil
		}
		sb.WriteString(charArray(b, o.elements()))
		return nil
	}
	limit := uint64(o.elements())
	n := st.Len
	sb.WriteString("{")
	for i := uint64(0); i < n && i < limit; i++ {
		if i > 0 {
			sb.WriteString(", ")
		}
		ev, err := v.Index(int64(i))
		if err != nil {
			fmt.Fprintf(sb, "<error: %v>", err)
			continue
		}
		if err := format(sb, ev, o, recurse+1); err != nil {
			return err
		}
	}
	if n > limit {
		sb.WriteString("...")
	}
	sb.WriteString("}")
	return nil
}

// charArray formats a char array as gdb does with crash's settings
// (repeats unlimited): one trailing NUL dropped, then the characters in
// whole runs of identical characters while fewer than limit have been
// taken (gdb's generic_printstr adds each run's length to its count and
// checks the limit between runs, so the last run may pass it: crash shows
// 264 characters of a 4 KiB FPU __padding), then "..." when some are left.
func charArray(b []byte, limit int) string {
	if len(b) > 0 && b[len(b)-1] == 0 {
		b = b[:len(b)-1]
	}
	i := 0
	for i < len(b) && i < limit {
		j := i + 1
		for j < len(b) && b[j] == b[i] {
			j++
		}
		i = j
	}
	if i < len(b) {
		return quoteBytes(b[:i]) + "..."
	}
	return quoteBytes(b)
}
