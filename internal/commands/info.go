package commands

// info symbol / info line / info address: gdb's commands, which crash
// users type at the crash prompt (crash hands them to its embedded gdb
// 10.2), in gdb's words.

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"kdive/internal/program"
)

func init() {
	Register(&Command{
		Name:    "info",
		Summary: "gdb's info symbol, info line, info address",
		Usage:   infoSynopsis,
		Help: `  gdb's info commands for kernel symbols and source lines.

  symbol ADDR   the symbol holding the address: "NAME + OFFSET in section
                SECTION", with " of FILE" once a module's object file is
                loaded (gdb then has several object files; FILE is the
                vmlinux's or the module file's real path), " of MODULE" for
                a module whose object file is not loaded (kallsyms);
                "No symbol matches ADDR." otherwise.  ADDR is a gdb
                expression: 0x hexadecimal, decimal, a function name,
                symbol+offset, &variable, (expression), $pc (the current
                context's PC: frame #0 of bt); a variable stands for its
                value (a pointer's target), an array for its address.
  line FUNC | *ADDR  the source line of a function's first instruction or
                of an address and its code range: "Line N of "FILE" starts
                at address 0x... <f+o> and ends at 0x... <f+o>.", from the
                vmlinux's DWARF or a module's loaded with mod -s or
                add-symbol-file.
  address SYM   where a symbol is: "Symbol "SYM" is a function at address
                0x...." or "is static storage at address 0x....", or "is at
                0x... in a file compiled without debugging." when no debug
                information covers it (no vmlinux, module file not loaded).

EXAMPLES
    kdive> info symbol 0xffffffffbd2093da
    schedule + 90 in section .text
    kdive> info line *0xffffffffbd2093da
    Line 85 of "arch/x86/include/asm/preempt.h" starts at address 0xffffffffbd2093da <schedule+90> and ends at 0xffffffffbd2093de <schedule+94>.
    kdive> info address jiffies
    Symbol "jiffies" is static storage at address 0xffffffffbe2079c0.`,
		Run: runInfo,
	})
}

const infoSynopsis = "symbol ADDR | line FUNCTION|*ADDR | address SYMBOL"

func runInfo(env *Env, args []string) error {
	if len(args) == 0 {
		return errors.New(`"info" must be followed by the name of an info command: symbol, line, address`)
	}
	sub, rest := args[0], strings.TrimSpace(strings.Join(args[1:], " "))
	rest, err := expandPC(env.Prog, rest)
	if err != nil {
		return err
	}
	switch {
	case len(sub) >= 3 && strings.HasPrefix("symbol", sub):
		return infoSymbol(env, rest)
	case sub == "line":
		return infoLine(env, rest)
	case len(sub) >= 3 && strings.HasPrefix("address", sub):
		return infoAddress(env, rest)
	}
	return fmt.Errorf("Undefined info command: \"%s\".  Try \"help info\".", sub)
}

// infoSymbol is gdb's info symbol.
func infoSymbol(env *Env, arg string) error {
	if arg == "" {
		return errors.New("Argument required (address).")
	}
	p := env.Prog
	v := viewOf(p)
	// gdb takes a variable's value (an array's or function's address).
	addr, err := gdbValueAddr(p, v, arg)
	if err != nil {
		return err
	}
	sp, off, ok := v.valueSearch(addr)
	if !ok || sp.pseudo != 0 || sp.Size > 0 && off >= sp.Size {
		fmt.Fprintf(env.Out, "No symbol matches %s.\n", arg)
		return nil
	}
	sec, of := symbolSection(p, v, sp, addr)
	if sec == "" {
		fmt.Fprintf(env.Out, "No symbol matches %s.\n", arg)
		return nil
	}
	var b strings.Builder
	b.WriteString(msymPrintName(p, v, sp))
	if off != 0 {
		fmt.Fprintf(&b, " + %d", off)
	}
	fmt.Fprintf(&b, " in section %s", sec)
	if of != "" {
		fmt.Fprintf(&b, " of %s", of)
	}
	fmt.Fprintln(env.Out, b.String())
	return nil
}

// symbolSection is the section holding addr of symbol sp and the object
// gdb names after "of": the module file's or the vmlinux's real path when
// gdb has several object files (a module file loaded), the module's name
// for a module whose file is not loaded.
func symbolSection(p *program.Program, v *ksymView, sp *vsym, addr uint64) (string, string) {
	if sp.mod != nil {
		mods, _ := p.Modules()
		m, ok := modRef(mods, sp.mod.name)
		if !ok {
			return "", ""
		}
		var secs []program.ModuleSection
		of := sp.mod.name
		if md := p.ModuleDebugOf(m.Name); md != nil {
			secs, of = md.Sections, realPath(md.Path)
		} else if s, err := p.ModuleSections(m); err == nil {
			secs = s
		}
		sorted := append([]program.ModuleSection(nil), secs...)
		sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Addr < sorted[j].Addr })
		name := ""
		for _, s := range sorted {
			if s.Addr <= addr && s.Addr >= m.Base && s.Addr < m.Base+m.Size {
				name = s.Name
			}
		}
		return name, of
	}
	of := ""
	if anyModuleDebug(p) && p.VmlinuxPath != "" {
		of = realPath(p.VmlinuxPath)
	}
	if s, ok := p.KernelSectionAt(addr); ok {
		return s.Name, of
	}
	if p.VmlinuxPath != "" {
		return "", ""
	}
	// Without a vmlinux: the kernel's section bounds from its symbols.
	for _, r := range []struct{ name, lo, hi string }{
		{".text", "_stext", "_etext"},
		{".init.text", "_sinittext", "_einittext"},
		{".rodata", "__start_rodata", "__end_rodata"},
		{".data", "_sdata", "_edata"},
		{".bss", "__bss_start", "__bss_stop"},
	} {
		lo, ok1 := v.symbolAddr(r.lo)
		hi, ok2 := v.symbolAddr(r.hi)
		if ok1 && ok2 && addr >= lo && addr < hi {
			return r.name, ""
		}
	}
	return "", ""
}

// anyModuleDebug reports whether a module's object file is loaded.
func anyModuleDebug(p *program.Program) bool {
	mods, _ := p.Modules()
	for _, m := range mods {
		if p.ModuleDebugOf(m.Name) != nil {
			return true
		}
	}
	return false
}

func realPath(path string) string {
	if a, err := filepath.Abs(path); err == nil {
		path = a
	}
	if r, err := filepath.EvalSymlinks(path); err == nil {
		return r
	}
	return path
}

// infoLine is gdb's info line for a function or *ADDRESS.
func infoLine(env *Env, arg string) error {
	p := env.Prog
	v := viewOf(p)
	if arg == "" {
		return errors.New("info line takes a function or *ADDRESS")
	}
	var addr uint64
	if strings.HasPrefix(arg, "*") {
		a, err := gdbAddr(arg[1:], v)
		if err != nil {
			return err
		}
		addr = a
	} else {
		l := v.search(arg)
		var fn *vsym
		for _, s := range l {
			if v.isText(s) {
				fn = s
				break
			}
		}
		if fn == nil {
			if len(l) > 0 {
				return fmt.Errorf("\"%s\" is not a function", arg)
			}
			return fmt.Errorf("Function \"%s\" not defined.", arg)
		}
		addr = fn.Addr
	}
	// gdb's print_address: the function holding the address, by its
	// debug information, as disassemble names branch targets.
	g := &gdbDis{env: env, prog: p, v: v, d: &disassembler{prog: p, v: v, radix: 10}}
	at := func(a uint64) string {
		if s := g.targetSym(a); s != "" {
			return fmt.Sprintf("0x%x <%s>", a, s)
		}
		return fmt.Sprintf("0x%x", a)
	}
	t, ok := p.LineTableAt(addr)
	var l = struct {
		file, line int
		start, end uint64
	}{}
	if ok {
		pl, found := t.FindLine(addr)
		ok = found
		l.file, l.line, l.start, l.end = pl.File, pl.Line, pl.Start, pl.End
	}
	if !ok {
		fmt.Fprintf(env.Out, "No line number information available for address %s\n", at(addr))
		return nil
	}
	name := t.Files[l.file].Name
	if l.end == 0 || l.start == l.end {
		fmt.Fprintf(env.Out, "Line %d of \"%s\" is at address %s but contains no code.\n", l.line, name, at(l.start))
		return nil
	}
	fmt.Fprintf(env.Out, "Line %d of \"%s\" starts at address %s and ends at %s.\n", l.line, name, at(l.start), at(l.end))
	return nil
}

// infoAddress is gdb's info address for a kernel or module symbol.
func infoAddress(env *Env, arg string) error {
	p := env.Prog
	v := viewOf(p)
	if arg == "" {
		return errors.New("Argument required.")
	}
	l := v.search(arg)
	if len(l) == 0 {
		return fmt.Errorf("No symbol \"%s\" in current context.", arg)
	}
	sp := l[0]
	debug := p.VmlinuxPath != ""
	if sp.mod != nil {
		debug = p.ModuleDebugOf(sp.mod.name) != nil
	}
	switch {
	case !debug:
		fmt.Fprintf(env.Out, "Symbol \"%s\" is at 0x%x in a file compiled without debugging.\n", arg, sp.Addr)
	case v.isText(sp):
		fmt.Fprintf(env.Out, "Symbol \"%s\" is a function at address 0x%x.\n", arg, sp.Addr)
	default:
		fmt.Fprintf(env.Out, "Symbol \"%s\" is static storage at address 0x%x.\n", arg, sp.Addr)
	}
	return nil
}

// msymPrintName is the name gdb's info symbol prints for sp: the ELF (or
// kallsyms) name, of several at one address the one gdb's minimal symbol
// lookup takes, as gdb 10.2 prints a minimal symbol: its "demangled" form
// when a language's decoder changes it, which for kernel names is Ada's
// (adaDecode).
func msymPrintName(p *program.Program, v *ksymView, sp *vsym) string {
	name := sp.Name
	if sp.mod == nil {
		d := &disassembler{prog: p, v: v, radix: 10}
		name = gdbAlias(v, sp, d.sized())
	}
	raw := name
	if t := p.Symbols(); t != nil {
		for _, s := range t.All() {
			if s.Addr == sp.Addr && s.Module == sp.Module && crashSymName(s.Name) == name {
				raw = s.Name
				break
			}
		}
	}
	return adaDecode(raw)
}

// adaDecode is the part of gdb's ada_decode (ada-lang.c) that changes
// kernel symbol names: none starting with '_'; a trailing ".N", "__N" or
// "___N" (N digits) removed; "__" read as "."; the name left as it is when
// the result has an upper-case letter. So "foo.part.0" is "foo.part",
// "done.18" "done", "perf_trace_xen_mc__batch" "perf_trace_xen_mc.batch",
// while "__already_done.4" and "blkdev_direct_IO.part.0" stay.
func adaDecode(name string) string {
	if name == "" || name[0] == '_' || name[0] == '<' {
		return name
	}
	d := name
	i := len(d)
	for i > 0 && d[i-1] >= '0' && d[i-1] <= '9' {
		i--
	}
	if i < len(d) && i > 0 {
		switch {
		case d[i-1] == '.':
			d = d[:i-1]
		case strings.HasSuffix(d[:i], "___") && i > 3:
			d = d[:i-3]
		case strings.HasSuffix(d[:i], "__") && i > 2:
			d = d[:i-2]
		}
	}
	d = strings.ReplaceAll(d, "__", ".")
	if strings.ContainsAny(d, "ABCDEFGHIJKLMNOPQRSTUVWXYZ ") {
		return name
	}
	return d
}
