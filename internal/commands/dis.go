package commands

// dis: disassemble kernel text, as crash's cmd_dis (kernel.c) prints it
// through gdb and x86_64_dis_filter (x86_64.c): AT&T syntax, each line
// "0xADDR <symbol+offset>:\tmnemonic operands", offsets in decimal (or
// hexadecimal with -x), branch targets and rip-relative references
// followed by "<symbol>", and the ftrace NOP at a function's start marked
// " [FTRACE NOP]". The instructions come from internal/arch/amd64
// (golang.org/x/arch/x86/x86asm with gdb's wording).

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"kdive/internal/arch/amd64"
	"kdive/internal/program"
)

func init() {
	Register(&Command{
		Name:    "dis",
		Summary: "disassemble",
		Usage:   disSynopsis,
		Help: `  Disassembles kernel text (kernel or module) at an address, as crash does
  through gdb: AT&T syntax, "0xADDR <symbol+offset>:" before each
  instruction.  The start is a hexadecimal address, a symbol, symbol+offset
  or an expression in parentheses.  A function's name (or its exact start
  address) disassembles the whole function; any other address shows one
  instruction unless a count is given.

        -r  reverse: from the start of the function that holds the address
            up to and including the instruction at the address (what did
            this return address just call?).  With a count, only the last
            count instructions.
        -f  forward: from the address to the end of its function.
        -l  show source line numbers: "file: line" (from the vmlinux's
            DWARF line tables, as crash prints them) before the
            instructions of each new line; none without a vmlinux or for
            module code without loaded debug information.
        -x  offsets in hexadecimal: <func+0x4>.
        -d  offsets in decimal (the default).
        -u  the address is a user virtual address (not supported).
        -s  the source code of the function around the address (from
            five lines before the address's line, marked "* ", to the
            function's closing brace, or count lines), when the source
            file is found where the DWARF says (the unit's directory,
            relative to the current directory) or in the current
            directory; else crash's "source code is not available".
     -b n   skip n bytes after a ud2 (accepted; kernels since 2.6.20 have
            none).
     count  the number of instructions to show.

EXAMPLES
    kdive> dis schedule 3
    0xffffffff85809380 <schedule>:	nopl   0x0(%rax,%rax,1) [FTRACE NOP]
    0xffffffff85809385 <schedule+5>:	push   %rbp
    0xffffffff85809386 <schedule+6>:	push   %rbx
    kdive> dis -r ffffffff858093da 2
    0xffffffff858093d5 <schedule+85>:	call   0xffffffff858089a0 <__schedule>
    0xffffffff858093da <schedule+90>:	mov    0x0(%rbp),%rax
    kdive> dis -x kdive_rig_bug+0x15 2
    0xffffffffc0276055 <kdive_rig_bug+0x15>:	je     0xffffffffc027605c <kdive_rig_bug+0x1c>
    0xffffffffc0276057 <kdive_rig_bug+0x17>:	ret    `,
		Run: runDis,
	})
}

const disSynopsis = "[-rfludxs][-b [num]] [address | symbol | (expression)] [count]"

// disTarget is what dis needs of a program; *program.Program has it.
type disTarget interface {
	symSource
	ReadAt(b []byte, addr uint64) (int, error)
	Info() *program.SourceInfo
}

func runDis(env *Env, args []string) error {
	return disCommand(env, env.Prog, args)
}

func disCommand(env *Env, prog disTarget, args []string) error {
	opts, rest, err := getopt("dis", args, "dxhulsrfUb:B:")
	if err != nil {
		writeUsage(env, "dis", disSynopsis)
		return err
	}
	radix := 10
	var reverse, forward, userMode, sources, lines bool
	for _, o := range opts {
		switch o.c {
		case 'd':
			if radix == 16 && hasOpt(opts, 'x', 'h') {
				return errors.New("-d and -x are mutually exclusive")
			}
			radix = 10
		case 'x', 'h':
			if hasOpt(opts, 'd') {
				return errors.New("-d and -x are mutually exclusive")
			}
			radix = 16
		case 'u':
			if sources {
				return errors.New("-s can only be used with kernel addresses")
			}
			userMode = true
		case 'r':
			if forward {
				return errors.New("-r and -f are mutually exclusive")
			}
			if sources {
				return errors.New("-r and -s are mutually exclusive")
			}
			reverse = true
		case 'f':
			if reverse {
				return errors.New("-r and -f are mutually exclusive")
			}
			if sources {
				return errors.New("-f and -s are mutually exclusive")
			}
			forward = true
		case 'l':
			// The "file: line" of each new source line before the
			// instructions it covers (none for code without line
			// tables: no vmlinux, module code).
			lines = true
		case 's':
			if reverse {
				return errors.New("-r and -s are mutually exclusive")
			}
			if forward {
				return errors.New("-f and -s are mutually exclusive")
			}
			if userMode {
				return errors.New("-s can only be used with kernel addresses")
			}
			sources = true
		case 'b', 'B', 'U':
			// -b: bytes to skip after ud2; none on kernels since
			// 2.6.20. -U: unfiltered gdb output; kdive has one format.
		}
	}
	if len(rest) == 0 {
		if hasOpt(opts, 'b', 'B') {
			return nil
		}
		writeUsage(env, "dis", disSynopsis)
		return nil
	}
	if userMode {
		return errors.New("user virtual addresses are not supported: kdive does not translate user space")
	}

	v := viewOf(prog)
	arg := rest[0]
	var addr uint64
	var sp *vsym
	functionOnly, unfiltered := false, false
	switch {
	case canEval(arg):
		a, err := parseAddrArg(arg, v)
		if err != nil {
			return disSymbolNotFound(env, v, err)
		}
		addr = a
	case isCrashHex(arg) && !v.exists(arg):
		a, err := parseCrashHex(arg)
		if err != nil {
			return err
		}
		addr = a
		s, off, ok := v.valueSearch(addr)
		if !ok {
			fmt.Fprintf(env.Err, "WARNING: %x: no associated kernel symbol found\n", addr)
			unfiltered = true
		} else {
			sp = s
			if off == 0 && v.isText(s) {
				functionOnly = true
			}
		}
	default:
		l := v.search(arg)
		if len(l) == 0 {
			return disSymbolNotFound(env, v, &symbolNotFoundError{Name: arg})
		}
		sp = l[0]
		var text []*vsym
		for _, s := range l {
			if v.isText(s) {
				text = append(text, s)
			}
		}
		if len(text) > 1 {
			// crash's resolve_text_symbol: the candidates, and no
			// disassembly.
			fmt.Fprintf(env.Out, "dis: %s: duplicate text symbols found:\n", arg)
			for _, s := range text {
				v.showSymbol(env.Out, s, 0, showLine|showModule)
			}
			return nil
		}
		if len(text) == 1 {
			sp = text[0]
		}
		addr = sp.Addr
		if v.isText(sp) {
			functionOnly = true
		}
	}

	count := uint64(1)
	countEntered := false
	if len(rest) > 1 {
		forward = false
		n, err := parseCrashNumber(rest[1])
		if err != nil {
			return err
		}
		if n == 0 {
			return errors.New("invalid count argument: 0")
		}
		count, countEntered, functionOnly = n, true, false
	}
	if sources {
		return disSource(env, prog, v, arg, addr, count, countEntered)
	}

	if unfiltered {
		// crash hands such an address to gdb's x/i as it is: no
		// symbol before the colon.
		d := &disassembler{w: env.Out, prog: prog, v: v, radix: radix, raw: true}
		if addr < kvBaseOf(prog) {
			return fmt.Errorf("%x is not a kernel virtual address", addr)
		}
		return d.walk(addr, count, func(in amd64.Inst, line string) bool {
			io.WriteString(env.Out, line)
			return true
		})
	}
	if addr < kvBaseOf(prog) {
		if _, _, ok := v.valueSearch(addr); !ok {
			return fmt.Errorf("%x is not a kernel virtual address", addr)
		}
	}

	// The end of the function: its symbol's size (gdb's block range from
	// the debug info; a module's once mod -s loaded its object file),
	// else the next symbol.
	var end uint64
	if reverse || forward || functionOnly {
		// crash's next_symbol starts from the symbol given (an alias
		// at the same address is not the function's end then), or
		// from the one value_search finds for an address.
		fs, _, ok := v.valueSearch(addr)
		from := fs
		if sp != nil {
			from, ok = sp, true
		}
		switch {
		case ok && fs != nil && (fs.mod == nil || fs.FromObject) && fs.pseudo == 0 && fs.Size > 0:
			end = fs.Addr + fs.Size
		case ok:
			fs = from
			if n := v.nextSymbol(fs); n != nil {
				end = n.Addr
			} else if fs.mod != nil {
				end = fs.mod.base + fs.mod.size
			} else {
				return fmt.Errorf("unable to determine symbol after %s", fs.Name)
			}
			if fs.mod == nil && fs.pseudo == 0 {
				// A kernel symbol without a size (kallsyms only):
				// crash's range (the vmlinux's debug info) leaves
				// out the alignment padding before the next
				// function, so drop trailing no-op instructions.
				end = trimPadding(prog, v, fs.Addr, end)
			}
		default:
			return fmt.Errorf("gdb unable to disassemble kernel virtual address %x", addr)
		}
	}

	var target uint64
	if reverse || forward {
		target = addr
		fs, _, ok := v.valueSearch(target)
		if !ok {
			return fmt.Errorf("cannot resolve address: %x", target)
		}
		addr = fs.Addr
	}

	d := &disassembler{w: env.Out, prog: prog, v: v, radix: radix, lines: lines}
	switch {
	case reverse:
		max := target - addr
		if max == 0 {
			max = 1
		}
		var insts []amd64.Inst
		var texts []string
		err := d.walk(addr, max, func(in amd64.Inst, line string) bool {
			insts = append(insts, in)
			texts = append(texts, line)
			return in.Addr < target
		})
		first := 0
		if countEntered && uint64(len(texts)) > count {
			first = len(texts) - int(count)
		}
		for i := first; i < len(texts); i++ {
			d.emit(insts[i].Addr, texts[i])
		}
		return err
	case forward:
		return d.walk(addr, end-addr, func(in amd64.Inst, line string) bool {
			if in.Addr >= end {
				return false
			}
			if in.Addr >= target {
				d.emit(in.Addr, line)
			}
			return true
		})
	case functionOnly:
		return d.walk(addr, end-addr, func(in amd64.Inst, line string) bool {
			if in.Addr >= end {
				return false
			}
			d.emit(in.Addr, line)
			return true
		})
	}
	return d.walk(addr, count, func(in amd64.Inst, line string) bool {
		d.emit(in.Addr, line)
		return true
	})
}

// emit writes one instruction's line; with -l, first the "file: line" of
// its address when it differs from the previous instruction's (crash
// prints an empty line when the source line becomes unknown).
func (d *disassembler) emit(addr uint64, line string) {
	if d.lines {
		src := ""
		if d.v.isKernelText(addr) {
			src = d.v.lineInfo(addr)
		}
		if src != d.lastSrc {
			io.WriteString(d.w, src+"\n")
			d.lastSrc = src
		}
	}
	io.WriteString(d.w, line)
}

// trimPadding returns end moved back over the no-op instructions that pad
// the code from start to end.
func trimPadding(prog disTarget, v *ksymView, start, end uint64) uint64 {
	d := &disassembler{prog: prog, v: v, radix: 10}
	var insts []amd64.Inst
	var texts []string
	for a := start; a < end; {
		code, err := d.bytesAt(a)
		if err != nil {
			return end
		}
		in := amd64.Decode(code, a)
		insts = append(insts, in)
		texts = append(texts, in.Format(func(uint64) string { return "" }))
		a += uint64(in.Len)
	}
	n := len(insts)
	for n > 0 && isPadding(texts[n-1]) {
		n--
	}
	// int3s after a ret are the patched return thunk's (5 bytes: ret
	// and four int3), inside the function; after a jmp they pad.
	k := n
	for k > 0 && strings.HasPrefix(texts[k-1], "int3") {
		k--
	}
	if k < n {
		if k > 0 && strings.HasPrefix(texts[k-1], "ret") {
			n = min(n, k+4)
		} else if k > 0 {
			n = k
		}
	}
	if n == 0 {
		return end
	}
	last := insts[n-1]
	return last.Addr + uint64(last.Len)
}

func isPadding(text string) bool {
	for _, p := range []string{"nop", "xchg   %ax,%ax", "data16 ", "cs nop"} {
		if strings.HasPrefix(text, p) {
			return strings.Contains(text, "nop") || text == "xchg   %ax,%ax"
		}
	}
	return false
}

func hasOpt(opts []opt, cs ...byte) bool {
	for _, o := range opts {
		for _, c := range cs {
			if o.c == c {
				return true
			}
		}
	}
	return false
}

// canEval is crash's can_eval: an expression in parentheses, or a word
// with an operator in it (symbol+offset).
func canEval(s string) bool {
	if strings.HasPrefix(s, "(") {
		return true
	}
	return strings.ContainsAny(s, "+-&|^*%<>")
}

func kvBaseOf(prog disTarget) uint64 {
	if info := prog.Info(); info != nil && info.PageOffset != 0 {
		return info.PageOffset
	}
	return 0xffff800000000000
}

func disSymbolNotFound(env *Env, v *ksymView, err error) error {
	var nf *symbolNotFoundError
	if errors.As(err, &nf) {
		fmt.Fprintf(env.Out, "symbol not found: %s\n", nf.Name)
		fmt.Fprintf(env.Out, "possible alternatives:\n")
		if v.queryPad(env.Out, nf.Name, "  ") == 0 {
			fmt.Fprintf(env.Out, "  (none found)\n")
		}
		return ErrShown
	}
	return err
}

// disassembler decodes and formats instructions.
type disassembler struct {
	w     io.Writer
	prog  disTarget
	v     *ksymView
	radix int
	raw   bool // gdb's own lines: "   0xADDR:\t..."
	lines bool // -l: source lines before the instructions

	lastSrc string // -l: the last "file: line" printed

	hasSizes int // 0 unknown, 1 the kernel symbols have sizes, -1 not

	buf     []byte // bytes read, from bufAddr
	bufAddr uint64
}

// bytesAt returns up to 16 bytes at addr (fewer before an unreadable
// byte), or the read error at addr.
func (d *disassembler) bytesAt(addr uint64) ([]byte, error) {
	// (overflow-safe: addresses near 2^64 come from user ranges)
	if off := addr - d.bufAddr; addr >= d.bufAddr && off < uint64(len(d.buf)) && uint64(len(d.buf))-off >= 16 {
		return d.buf[off : off+16], nil
	}
	b := make([]byte, 4096)
	n, err := d.prog.ReadAt(b, addr)
	if n == 0 {
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return nil, readError(err, kvaddr, addr, "gdb_readmem_callback")
	}
	d.buf, d.bufAddr = b[:n], addr
	return d.buf[:min(n, 16)], nil
}

// symstr is crash's value_to_symstr in the dis radix.
func (d *disassembler) symstr(addr uint64) string {
	sp, off, ok := d.v.valueSearch(addr)
	if !ok || sp.mod == nil && strings.HasPrefix(sp.Name, ".L") {
		// gdb knows no assembler-local labels of the vmlinux (crash's
		// module symbols have them)
		return ""
	}
	name := sp.Name
	if sp.pseudo == pseudoStart {
		name = sp.mod.name
	}
	if off == 0 {
		return name
	}
	if d.radix == 16 {
		return fmt.Sprintf("%s+0x%x", name, off)
	}
	return fmt.Sprintf("%s+%d", name, off)
}

// targetSym is the "<symbol>" after a branch target or a rip-relative
// reference: crash rewrites the one gdb printed, and gdb has none for an
// address whose nearest vmlinux symbol is a size-less local label (an
// assembler file's data labels such as blake2s's SIGMA).
func (d *disassembler) targetSym(addr uint64) string {
	if sp, _, ok := d.v.valueSearch(addr); ok && sp.mod == nil && sp.pseudo == 0 &&
		sp.Size == 0 && (sp.Type == 'd' || sp.Type == 'r') && !strings.HasPrefix(sp.Name, ".") && d.sized() {
		return ""
	}
	return d.symstr(addr)
}

// sized reports whether the kernel's symbols have sizes (a vmlinux's ELF
// table, not kallsyms).
func (d *disassembler) sized() bool {
	if d.hasSizes == 0 {
		d.hasSizes = -1
		if sp, _, ok := d.v.valueSearch(d.v.stext + 1); ok && sp.Size > 0 {
			d.hasSizes = 1
		}
		for _, s := range d.v.kern {
			if s.Size > 0 {
				d.hasSizes = 1
				break
			}
		}
	}
	return d.hasSizes > 0
}

// line formats one instruction as crash prints it.
func (d *disassembler) line(in amd64.Inst) string {
	text := in.Format(d.targetSym)
	if d.raw {
		return fmt.Sprintf("   0x%x:\t%s\n", in.Addr, text)
	}
	if sp, off, ok := d.v.valueSearch(in.Addr); ok && off == 0 && sp.pseudo == 0 &&
		strings.Contains(text, "nopl   0x0(%rax,%rax,1)") {
		text += " [FTRACE NOP]"
	}
	return fmt.Sprintf("0x%x <%s>:\t%s\n", in.Addr, d.symstr(in.Addr), text)
}

// walk decodes up to n instructions from addr, calling f with each and its
// line until f returns false.
func (d *disassembler) walk(addr, n uint64, f func(amd64.Inst, string) bool) error {
	for i := uint64(0); i < n; i++ {
		code, err := d.bytesAt(addr)
		if err != nil {
			return err
		}
		in := amd64.Decode(code, addr)
		if !f(in, d.line(in)) {
			return nil
		}
		addr += uint64(in.Len)
	}
	return nil
}
