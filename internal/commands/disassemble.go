package commands

// disassemble: gdb's command, which crash hands to its embedded gdb
// (crash 8.0.2 embeds gdb 10.2): "Dump of assembler code for function
// NAME:", each instruction "   0xADDR <+OFF>:\tINSN" (with /r its bytes
// before the instruction), "End of assembler dump."; /m and /s mix in the
// source lines (disassemble_source.go). The instructions are dis's
// (internal/arch/amd64 with gdb's wording), without crash's dis filter
// (no " [FTRACE NOP]").
//
// kdive marks with "=> " the current context's PC (frame #0 of bt for
// the context task: where the panic task saved its registers, where a
// sleeping task switched out) when it is in the range, as gdb marks the
// selected frame's PC; crash's gdb has no frames and marks nothing.

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"kdive/internal/arch/amd64"
	"kdive/internal/kernel/stack"
	"kdive/internal/program"
)

func init() {
	Register(&Command{
		Name:    "disassemble",
		Aliases: []string{"disas"},
		Summary: "gdb's disassemble",
		Usage:   disassembleSynopsis,
		Help: `  gdb's disassemble, as crash passes it to its embedded gdb: the whole
  function that holds an address, or a range of addresses.

        /r  show each instruction's bytes in hexadecimal.
        /m  source-centric order (gdb's deprecated mode): the function's
            source lines in line order, each followed by its instructions
            (code of inlined functions from other files left out).
        /s  address order with the source lines: a "FILE:" line when the
            file changes, the lines leading to each instruction group.
  function  a function name, or an address (0x hexadecimal, decimal, symbol,
            symbol+offset, an expression in parentheses): the function
            that holds it.
  start,end  the instructions from start up to end.
  start,+length  the instructions in length bytes from start.

  Without a location, the function of the current context's PC ($pc in
  a location: frame #0 of bt for the context set with "set").  The
  source text comes from the file the DWARF names (the unit's directory,
  then the current directory); when it is not found gdb's lines are shown:
  "LINE\tFILE: No such file or directory." the first time, then
  "LINE\tin FILE".  Without line information (no vmlinux, a module whose
  object file is not loaded: see mod -s and add-symbol-file) /m and /s show
  the instructions alone.  "=> " marks the current context's PC (frame #0
  of bt) when the range holds it.

EXAMPLES
    kdive> disassemble /r schedule
    Dump of assembler code for function schedule:
       0xffffffffbd209380 <+0>:	0f 1f 44 00 00	nopl   0x0(%rax,%rax,1)
       0xffffffffbd209385 <+5>:	55	push   %rbp
    ...
    End of assembler dump.
    kdive> disassemble 0xffffffffbd209380,+6
    Dump of assembler code from 0xffffffffbd209380 to 0xffffffffbd209386:
       0xffffffffbd209380 <schedule+0>:	nopl   0x0(%rax,%rax,1)
       0xffffffffbd209385 <schedule+5>:	push   %rbp
    End of assembler dump.`,
		Run: runDisassemble,
	})
}

const disassembleSynopsis = "[/m|/s|/r] [function | address | start,end | start,+length]"

// Disassembly modes.
const (
	gdbDisRaw = 1 << iota
	gdbDisSourceDeprecated
	gdbDisSource
)

func runDisassemble(env *Env, args []string) error {
	p := env.Prog
	flags := 0
	var loc []string
	for i, a := range args {
		if !strings.HasPrefix(a, "/") || len(loc) > 0 {
			loc = args[i:]
			break
		}
		if a == "/" {
			return errors.New("Missing modifier.")
		}
		for _, c := range a[1:] {
			switch c {
			case 'm':
				flags |= gdbDisSourceDeprecated
			case 's':
				flags |= gdbDisSource
			case 'r':
				flags |= gdbDisRaw
			default:
				return errors.New("Invalid disassembly modifier.")
			}
		}
	}
	if flags&gdbDisSource != 0 && flags&gdbDisSourceDeprecated != 0 {
		return errors.New("Cannot specify both /m and /s.")
	}
	v := viewOf(p)
	g := &gdbDis{env: env, prog: p, v: v, flags: flags}
	g.pc, g.hasPC = contextPC(p)
	text := strings.Join(loc, " ")
	if strings.Contains(text, "$pc") {
		if !g.hasPC {
			return errors.New("No registers.")
		}
		text = strings.ReplaceAll(text, "$pc", fmt.Sprintf("0x%x", g.pc))
	}
	if text == "" {
		if !g.hasPC {
			return errors.New("No frame selected.")
		}
		return g.function(g.pc)
	}
	if a, b, ok := strings.Cut(text, ","); ok {
		lo, err := gdbAddr(strings.TrimSpace(a), v)
		if err != nil {
			return err
		}
		b = strings.TrimSpace(b)
		var hi uint64
		if strings.HasPrefix(b, "+") {
			n, err := gdbAddr(strings.TrimSpace(b[1:]), v)
			if err != nil {
				return err
			}
			hi = lo + n
		} else if hi, err = gdbAddr(b, v); err != nil {
			return err
		}
		if hi < lo {
			return fmt.Errorf("invalid range: 0x%x,0x%x: the end is before the start", lo, hi)
		}
		if hi-lo > maxDisassembleBytes {
			return fmt.Errorf("range 0x%x,0x%x: more than %d bytes", lo, hi, maxDisassembleBytes)
		}
		fmt.Fprintf(env.Out, "Dump of assembler code from 0x%x to 0x%x:\n", lo, hi)
		if err := g.dump(lo, hi, lo, hi, ""); err != nil {
			return err
		}
		fmt.Fprintf(env.Out, "End of assembler dump.\n")
		return nil
	}
	addr, err := gdbAddr(text, v)
	if err != nil {
		return err
	}
	return g.function(addr)
}

// maxDisassembleBytes bounds a range or a function.
const maxDisassembleBytes = 1 << 20

// gdbDis is one disassemble command's state.
type gdbDis struct {
	env   *Env
	prog  *program.Program
	v     *ksymView
	flags int
	pc    uint64 // the current context's PC (hasPC)
	hasPC bool
	d     *disassembler
	lo    uint64 // the start of the range dumped
}

// function disassembles the function that holds addr.
func (g *gdbDis) function(addr uint64) error {
	name, lo, hi, err := g.functionRange(addr)
	if err != nil {
		return err
	}
	// gdb names the function by its debug information, and dumps each
	// range of a function in several pieces (a .cold part).
	f, ok := g.prog.FunctionAt(addr)
	if ok && f.Name != "" {
		name = f.Name
	}
	if ok && len(f.Ranges) > 1 {
		fmt.Fprintf(g.env.Out, "Dump of assembler code for function %s:\n", name)
		for _, r := range f.Ranges {
			if r[1] <= r[0] || r[1]-r[0] > maxDisassembleBytes {
				return fmt.Errorf("%s: implausible range 0x%x to 0x%x", name, r[0], r[1])
			}
			fmt.Fprintf(g.env.Out, "Address range 0x%x to 0x%x:\n", r[0], r[1])
			if err := g.dump(r[0], r[1], r[0], r[1], name); err != nil {
				return err
			}
		}
		fmt.Fprintf(g.env.Out, "End of assembler dump.\n")
		return nil
	}
	fmt.Fprintf(g.env.Out, "Dump of assembler code for function %s:\n", name)
	if err := g.dump(lo, hi, lo, hi, name); err != nil {
		return err
	}
	fmt.Fprintf(g.env.Out, "End of assembler dump.\n")
	return nil
}

// functionRange is gdb's find_pc_partial_function: the function holding
// addr and its bounds (the symbol's size from the vmlinux or a loaded
// module object file, else up to the next symbol without the padding).
func (g *gdbDis) functionRange(addr uint64) (string, uint64, uint64, error) {
	v := g.v
	sp, _, ok := v.valueSearch(addr)
	if !ok || sp.pseudo != 0 || !v.isText(sp) {
		return "", 0, 0, fmt.Errorf("No function contains specified address (0x%x).", addr)
	}
	lo := sp.Addr
	var hi uint64
	switch {
	case sp.Size > 0 && (sp.mod == nil || sp.FromObject):
		hi = lo + sp.Size
	default:
		if n := v.nextSymbol(sp); n != nil {
			hi = n.Addr
		} else if sp.mod != nil {
			hi = sp.mod.base + sp.mod.size
		} else {
			return "", 0, 0, fmt.Errorf("No function contains specified address (0x%x): no symbol after %s", addr, sp.Name)
		}
		if hi > lo && hi-lo <= maxDisassembleBytes {
			hi = trimPadding(g.prog, v, lo, hi)
		}
	}
	if addr >= hi && sp.Size > 0 {
		return "", 0, 0, fmt.Errorf("No function contains specified address (0x%x): past the end of %s (0x%x)", addr, sp.Name, hi)
	}
	if hi <= lo || hi-lo > maxDisassembleBytes {
		return "", 0, 0, fmt.Errorf("%s at 0x%x: implausible function size %d", sp.Name, lo, hi-lo)
	}
	return sp.Name, lo, hi, nil
}

// dump prints the instructions of [lo, hi) in the mode asked; fn is the
// function's name ("" for a range: each line then names its symbol).
func (g *gdbDis) dump(lo, hi, _, _ uint64, fn string) error {
	g.d = &disassembler{prog: g.prog, v: g.v, radix: 10}
	g.lo = lo
	if g.flags&(gdbDisSource|gdbDisSourceDeprecated) != 0 {
		if t, ok := g.prog.LineTableAt(lo); ok {
			if g.flags&gdbDisSource != 0 {
				return g.mixedSource(t, lo, hi, fn)
			}
			return g.mixedDeprecated(t, lo, hi, fn)
		}
	}
	_, err := g.insns(lo, hi, fn)
	return err
}

// insns is gdb's dump_insns: every instruction starting in [lo, hi);
// it returns the address after the last one.
func (g *gdbDis) insns(lo, hi uint64, fn string) (uint64, error) {
	pc := lo
	for pc < hi {
		code, err := g.d.bytesAt(pc)
		if err != nil {
			return pc, fmt.Errorf("Cannot access memory at address 0x%x", pc)
		}
		in := amd64.Decode(code, pc)
		io.WriteString(g.env.Out, g.insnLine(in, code, fn))
		pc += uint64(in.Len)
	}
	return pc, nil
}

// insnLine is one instruction as gdb prints it.
func (g *gdbDis) insnLine(in amd64.Inst, code []byte, fn string) string {
	var b strings.Builder
	if g.hasPC && in.Addr == g.pc {
		b.WriteString("=> ")
	} else {
		b.WriteString("   ")
	}
	fmt.Fprintf(&b, "0x%x", in.Addr)
	if name, off, ok := g.symbolic(in.Addr, false); ok {
		if fn != "" {
			fmt.Fprintf(&b, " <+%d>", off)
		} else {
			fmt.Fprintf(&b, " <%s+%d>", name, off)
		}
	}
	b.WriteString(":\t")
	if g.flags&gdbDisRaw != 0 {
		for i := 0; i < in.Len && i < len(code); i++ {
			if i > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, "%02x", code[i])
		}
		b.WriteByte('\t')
	}
	b.WriteString(in.Format(g.targetSym))
	b.WriteByte('\n')
	return b.String()
}

// expandPC replaces gdb's $pc in s with the current context's PC.
func expandPC(p *program.Program, s string) (string, error) {
	if !strings.Contains(s, "$pc") {
		return s, nil
	}
	pc, ok := contextPC(p)
	if !ok {
		return "", errors.New("No registers.")
	}
	return strings.ReplaceAll(s, "$pc", fmt.Sprintf("0x%x", pc)), nil
}

// contextPC is the current context's PC: frame #0 of its backtrace.
func contextPC(p *program.Program) (uint64, bool) {
	t, _, err := contextTask(p)
	if err != nil {
		return 0, false
	}
	k, err := stack.For(p)
	if err != nil {
		return 0, false
	}
	bt, err := k.Unwind(t.Addr)
	if err != nil || bt == nil || bt.Trace == nil || len(bt.Frames) == 0 {
		return 0, false
	}
	return bt.Frames[0].IP, true
}

// gdbAddr evaluates a gdb location or number: 0x hexadecimal, decimal,
// a symbol, symbol+N or symbol-N, an expression in parentheses; as a
// convenience for crash users, hexadecimal without 0x when no symbol has
// that name.
func gdbAddr(s string, v *ksymView) (uint64, error) {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "&")
	if s == "" {
		return 0, errors.New("Argument required (starting display address).")
	}
	if strings.HasPrefix(s, "(") {
		return evalExpr(s, v)
	}
	if n, ok := gdbNumber(s); ok {
		return n, nil
	}
	if a, ok := v.symbolAddr(s); ok {
		return a, nil
	}
	if i := strings.LastIndexAny(s, "+-"); i > 0 && i < len(s)-1 {
		base, err := gdbAddr(strings.TrimSpace(s[:i]), v)
		if err == nil {
			off, ok := gdbNumber(strings.TrimSpace(s[i+1:]))
			if ok {
				if s[i] == '-' {
					return base - off, nil
				}
				return base + off, nil
			}
		}
	}
	if isCrashHex(s) {
		return parseCrashHex(s)
	}
	return 0, fmt.Errorf("No symbol %q in current context.", s)
}

// gdbNumber reads a gdb integer: 0x hexadecimal, 0 octal, else decimal.
func gdbNumber(s string) (uint64, bool) {
	switch {
	case strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X"):
		n, err := strconv.ParseUint(s[2:], 16, 64)
		return n, err == nil
	case s == "":
		return 0, false
	case s[0] >= '0' && s[0] <= '9':
		n, err := strconv.ParseUint(s, 0, 64)
		return n, err == nil
	}
	return 0, false
}
