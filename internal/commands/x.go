package commands

// x: gdb's examine command, which crash hands to its gdb: x/NFU ADDRESS
// with N a count, F a format (x hexadecimal, d signed, u unsigned
// decimal, o octal, a address, c character, s string, i instruction) and
// U a size (b, h, w, g). gdb remembers the last format and size, and a
// bare "x" goes on after the last unit examined.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"kdive/internal/arch/amd64"
	"kdive/internal/program"
	"kdive/internal/types"
)

func init() {
	Register(&Command{
		Name:    "x",
		Summary: "gdb's examine memory",
		Usage:   "[/NFU] [address]",
		Help: `  gdb's x command, as crash passes it to its embedded gdb: N units of
  memory at an address, each line "0xADDR <symbol+offset>:" then the units
  separated by tabs.

     N  the count of units (default 1).
     F  the format: x hexadecimal (zero-padded to the size), d signed and u
        unsigned decimal, o octal, a address (with <symbol+offset>), c
        character, s NUL-terminated string (whole, as crash's gdb prints
        it; "..." after 64 KiB), i instruction (as disassemble prints
        them).
     U  the size: b byte, h 2 bytes, w 4 bytes, g 8 bytes; 8 bytes for a,
        1 for c.

  The last format and size are kept for the next x; without an address x
  goes on after the last unit examined.  Lines hold 8 bytes or halfwords,
  4 words, 2 giants.  The address is a gdb expression: 0x hexadecimal,
  decimal, symbol, &symbol, symbol+offset, (expression), $pc.

EXAMPLES
    kdive> x/4xg 0xffffffffbe21aa40
    0xffffffffbe21aa40 <init_task>:	0x0000000000004000	0x0000000000000000
    0xffffffffbe21aa50 <init_task+16>:	0x0000000000000000	0x0000000000000000
    kdive> x/2i schedule
       0xffffffffbd209380 <schedule>:	nopl   0x0(%rax,%rax,1)
       0xffffffffbd209385 <schedule+5>:	push   %rbp`,
		Run: runX,
	})
}

// xState is gdb's last format, size and next address for x.
type xState struct {
	format, size byte
	next         uint64
	hasNext      bool
}

type xStateKey struct{}

// maxXUnits bounds one x.
const maxXUnits = 1 << 16

func runX(env *Env, args []string) error {
	p := env.Prog
	v := viewOf(p)
	st := p.Memo(xStateKey{}, func() any { return &xState{format: 'x', size: 'w'} }).(*xState)
	format, size, count := st.format, byte(0), 1
	if len(args) > 0 && strings.HasPrefix(args[0], "/") {
		spec := args[0][1:]
		args = args[1:]
		i := 0
		for i < len(spec) && spec[i] >= '0' && spec[i] <= '9' {
			i++
		}
		if i > 0 {
			n, err := strconv.Atoi(spec[:i])
			if err != nil || n > maxXUnits {
				return fmt.Errorf("count %s: at most %d units", spec[:i], maxXUnits)
			}
			count = n
		}
		for _, c := range []byte(spec[i:]) {
			switch c {
			case 'b', 'h', 'w', 'g':
				size = c
			case 'x', 'd', 'u', 'o', 'a', 'c', 's', 'i':
				format = c
			default:
				return fmt.Errorf("Undefined output format \"%c\".", c)
			}
		}
	}
	switch {
	case format == 'a':
		size = 'g'
	case format == 'c' && size == 0:
		size = 'b'
	case size == 0 && format != 's' && format != 'i':
		size = st.size
	}
	var addr uint64
	text := strings.TrimSpace(strings.Join(args, " "))
	if text == "" {
		if !st.hasNext {
			return errors.New("Argument required (starting display address).")
		}
		addr = st.next
	} else {
		t, err := expandPC(p, text)
		if err != nil {
			return err
		}
		if addr, err = gdbValueAddr(p, v, t); err != nil {
			return err
		}
	}
	st.format = format
	if size != 0 && format != 's' && format != 'i' {
		st.size = size
	}
	g := &gdbDis{env: env, prog: p, v: v, d: &disassembler{prog: p, v: v, radix: 10}}
	g.pc, g.hasPC = contextPC(p)
	var next uint64
	var err error
	switch format {
	case 'i':
		next, err = g.examineInsns(addr, count)
	case 's':
		next, err = g.examineStrings(addr, count)
	default:
		next, err = g.examineUnits(addr, count, format, size)
	}
	st.next, st.hasNext = next, true
	return err
}

// label is "0xADDR <symbol+offset>:" as gdb's x prints it.
func (g *gdbDis) label(addr uint64) string {
	if s := g.targetSym(addr); s != "" {
		return fmt.Sprintf("0x%x <%s>:", addr, s)
	}
	return fmt.Sprintf("0x%x:", addr)
}

func (g *gdbDis) examineInsns(addr uint64, count int) (uint64, error) {
	pc := addr
	for i := 0; i < count; i++ {
		code, err := g.d.bytesAt(pc)
		if err != nil {
			return pc, fmt.Errorf("Cannot access memory at address 0x%x", pc)
		}
		in := amd64.Decode(code, pc)
		mark := "   "
		if g.hasPC && pc == g.pc {
			mark = "=> "
		}
		fmt.Fprintf(g.env.Out, "%s%s\t%s\n", mark, g.label(pc), in.Format(g.targetSym))
		pc += uint64(in.Len)
	}
	return pc, nil
}

// maxXString bounds a string: crash's gdb prints whole strings (its
// print elements limit is off: the 212-character linux_banner comes
// whole); kdive stops at 64 KiB with gdb's "...".
const maxXString = 1 << 16

// maxXStringBytes bounds the bytes one x/s reads.
const maxXStringBytes = 1 << 20

func (g *gdbDis) examineStrings(addr uint64, count int) (uint64, error) {
	total := 0
	for i := 0; i < count; i++ {
		if total >= maxXStringBytes {
			return addr, fmt.Errorf("x/s: stopped after %d bytes at 0x%x", maxXStringBytes, addr)
		}
		var b strings.Builder
		b.WriteByte('"')
		a := addr
		n := 0
		var one [1]byte
		for {
			if _, err := g.prog.ReadAt(one[:], a); err != nil {
				if a == addr {
					return a, fmt.Errorf("Cannot access memory at address 0x%x", a)
				}
				b.WriteString(fmt.Sprintf("\"<error: Cannot access memory at address 0x%x>", a))
				fmt.Fprintf(g.env.Out, "%s\t%s\n", g.label(addr), b.String())
				return a, nil
			}
			a++
			total++
			if one[0] == 0 {
				b.WriteByte('"')
				break
			}
			if n == maxXString {
				b.WriteString("\"...")
				a--
				break
			}
			b.WriteString(gdbCharEscape(one[0]))
			n++
		}
		fmt.Fprintf(g.env.Out, "%s\t%s\n", g.label(addr), b.String())
		addr = a
	}
	return addr, nil
}

// gdbCharEscape is a byte inside a gdb string literal.
func gdbCharEscape(c byte) string {
	switch c {
	case '"':
		return "\\\""
	case '\\':
		return "\\\\"
	case '\n':
		return "\\n"
	case '\t':
		return "\\t"
	case '\r':
		return "\\r"
	case '\a':
		return "\\a"
	case '\b':
		return "\\b"
	case '\f':
		return "\\f"
	case '\v':
		return "\\v"
	case 033:
		return "\\033"
	}
	if c < 0x20 || c >= 0x7f {
		return fmt.Sprintf("\\%03o", c)
	}
	return string(c)
}

func (g *gdbDis) examineUnits(addr uint64, count int, format, size byte) (uint64, error) {
	n := map[byte]int{'b': 1, 'h': 2, 'w': 4, 'g': 8}[size]
	perLine := map[byte]int{'b': 8, 'h': 8, 'w': 4, 'g': 2}[size]
	a := addr
	out := g.env.Out
	for i := 0; i < count; i++ {
		if i%perLine == 0 {
			if i > 0 {
				fmt.Fprintln(out)
			}
			fmt.Fprint(out, g.label(a))
		}
		buf := make([]byte, 8)
		if _, err := g.prog.ReadAt(buf[:n], a); err != nil {
			fmt.Fprintln(out) // end the line begun: the error is a line of its own
			return a, fmt.Errorf("Cannot access memory at address 0x%x", a)
		}
		u := binary.LittleEndian.Uint64(buf)
		fmt.Fprint(out, "\t"+gdbFormatUnit(g, u, format, n))
		a += uint64(n)
	}
	if count > 0 {
		fmt.Fprintln(out)
	}
	return a, nil
}

// gdbFormatUnit formats one unit of n bytes.
func gdbFormatUnit(g *gdbDis, u uint64, format byte, n int) string {
	bits := uint(n * 8)
	signed := int64(u<<(64-bits)) >> (64 - bits)
	switch format {
	case 'x':
		return fmt.Sprintf("0x%0*x", n*2, u)
	case 'd':
		return strconv.FormatInt(signed, 10)
	case 'u':
		return strconv.FormatUint(u, 10)
	case 'o':
		if u == 0 {
			return "0"
		}
		return "0" + strconv.FormatUint(u, 8)
	case 'a':
		if s := g.targetSym(u); s != "" {
			return fmt.Sprintf("0x%x <%s>", u, s)
		}
		return fmt.Sprintf("0x%x", u)
	case 'c':
		return fmt.Sprintf("%d '%s'", signed, gdbCharEscapeQ(byte(u)))
	}
	return fmt.Sprintf("0x%x", u)
}

// gdbCharEscapeQ is a byte inside a gdb character literal.
func gdbCharEscapeQ(c byte) string {
	switch c {
	case '\'':
		return "\\'"
	case '"':
		return "\""
	}
	return gdbCharEscape(c)
}

// gdbValueAddr is the address gdb's x and info symbol take from an
// expression: a variable's value (gdb's value_as_address), except that
// an array or a function stands for its address; other expressions as
// gdbAddr. A variable of unknown type (no debug information) or of a
// structure type is gdb's error.
func gdbValueAddr(p *program.Program, v *ksymView, text string) (uint64, error) {
	l := v.search(text)
	if len(l) == 0 || v.isText(l[0]) {
		return gdbAddr(text, v)
	}
	sp := l[0]
	t, err := p.Types().LookupVar(text)
	if err != nil {
		return 0, fmt.Errorf("'%s' has unknown type; cast it to its declared type", text)
	}
	st := t.Strip()
	switch st.Kind {
	case types.Array, types.Func:
		return sp.Addr, nil
	case types.Struct, types.Union:
		return 0, errors.New("Value can't be converted to integer.")
	}
	n := st.Size
	if n == 0 || n > 8 {
		return 0, fmt.Errorf("'%s': a value of %d bytes is no address", text, n)
	}
	b := make([]byte, 8)
	if _, err := p.ReadAt(b[:n], sp.Addr); err != nil {
		return 0, fmt.Errorf("Cannot access memory at address 0x%x", sp.Addr)
	}
	u := binary.LittleEndian.Uint64(b)
	if st.Kind == types.Int && st.Signed && n < 8 {
		u = uint64(int64(u<<(64-8*n)) >> (64 - 8*n))
	}
	return u, nil
}
