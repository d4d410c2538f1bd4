package commands

// sym: translate a symbol to its address or an address to its symbol, list
// and search symbols, as crash's cmd_sym (symbols.c) does.
//
// This file also holds kdive's model of crash's symbol tables (ksymView),
// which `rd -s` shares: crash's choice of symbol for an address, its
// ordering and its module pseudo-symbols decide what both commands print.

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	"kdive/internal/program"
	"kdive/internal/symtab"
)

func init() {
	Register(&Command{
		Name:    "sym",
		Summary: "translate a symbol to its virtual address, or vice-versa",
		Usage:   symSynopsis,
		Help: `  Translates a symbol to its virtual address, or a kernel virtual address
  to the symbol that contains it, shown as symbol+offset when the address
  is inside the symbol.  The symbol's type letter (as nm(1) prints it) is
  shown in parentheses, and a module symbol is followed by its module's
  name in brackets.  Several symbols and addresses may be given at once.

        -l  list every symbol: the kernel's, then each module's between
            MODULE START and MODULE END lines.
        -M  list the symbols of every module.
    -m mod  list the symbols of module mod.
 -q string  list the symbols whose name contains string.
 -Q string  count the symbols whose name contains string.
        -n  also show the symbol after each one given.
        -p  also show the symbol before each one given.
    symbol  a symbol name; symbol+offset and (expression) are accepted too.
     vaddr  a kernel virtual address, in hexadecimal.

  Module symbols other than functions are shown with type (?), as crash
  shows them.  A text address is followed by its source file and line
  (from the vmlinux's DWARF line tables, as crash prints them); without a
  vmlinux, or for module code, there is none.

EXAMPLES
    kdive> sym jiffies
    ffffffff81e079c0 (D) jiffies
    kdive> sym schedule
    ffffffffa8e09380 (T) schedule debian/build/build_amd64_none_cloud-amd64/kernel/sched/core.c: 6633
    kdive> sym ffffffff81e079c1
    ffffffff81e079c1 (D) jiffies_64+1
    kdive> sym -q jiffies_lock
    ffffffff81e07a40 (D) jiffies_lock`,
		Run: runSym,
	})
}

const symSynopsis = "[-l] | [-M] | [-m module] | [-p|-n] | [-q string] | [symbol | vaddr]"

// symSource is what sym and rd -s need of a program.
type symSource interface {
	Symbols() *symtab.Table
	Modules() ([]program.Module, error)
}

func runSym(env *Env, args []string) error {
	return symCommand(env, env.Prog, args)
}

func symCommand(env *Env, prog symSource, args []string) error {
	opts, rest, err := getopt("sym", args, "lLQ:q:npsMm:")
	if err != nil {
		writeUsage(env, "sym", symSynopsis)
		return err
	}
	v := viewOf(prog)
	w := env.Out
	next, prev, others := false, false, false
	for _, o := range opts {
		switch o.c {
		case 'n':
			next = true
		case 'p':
			prev = true
		case 'Q':
			n, last := v.query(nil, o.arg)
			fmt.Fprintf(w, "%d found ", n)
			if last != nil {
				fmt.Fprintf(w, "(%s)", last.Name)
			}
			fmt.Fprintf(w, "\n")
			others = true
		case 'q':
			if n, _ := v.query(w, o.arg); n == 0 {
				fmt.Fprintf(w, "(none found)\n")
			}
			others = true
		case 'm':
			v.dumpModules(w, o.arg)
			others = true
		case 'M':
			v.dumpModules(w, "")
			others = true
		case 'l', 'L':
			v.dumpKernel(w)
			v.dumpModules(w, "")
			others = true
		case 's':
			// crash appends the symbol's ELF section; kdive's symbol
			// table does not record sections.
			return fmt.Errorf("-s: symbol sections are not supported")
		}
	}
	if len(rest) == 0 {
		if !others {
			writeUsage(env, "sym", symSynopsis)
		}
		return nil
	}
	for _, arg := range rest {
		v.symArg(env, arg, next, prev)
	}
	return nil
}

// symArg handles one "sym" operand (symbols.c: cmd_sym's loop).
func (v *ksymView) symArg(env *Env, arg string, next, prev bool) {
	w := env.Out
	arg = cleanArg(arg)
	if !v.exists(arg) && isCrashHex(arg) {
		value, err := parseCrashHex(arg)
		if err != nil {
			fmt.Fprintf(env.Err, "sym: %v\n", err)
		}
		if err != nil || !v.inRange(value) {
			fmt.Fprintf(env.Err, "sym: invalid address: %s\n", arg)
			return
		}
		v.symAddr(w, arg, value, next, prev)
		return
	}
	if syms := v.search(arg); len(syms) > 0 {
		for _, sp := range syms {
			if prev {
				if p := v.prevSymbol(sp); p != nil {
					v.showSymbol(w, p, 0, showLine|showModule)
				}
			}
			v.showSymbol(w, sp, 0, showLine|showModule)
			if next {
				if n := v.nextSymbol(sp); n != nil {
					v.showSymbol(w, n, 0, showLine|showModule)
				}
			}
		}
		return
	}
	// kdive extension: symbol+offset and (expression) name an address.
	if value, err := parseAddrArg(arg, v); err == nil && v.inRange(value) {
		v.symAddr(w, arg, value, next, prev)
		return
	}
	fmt.Fprintf(w, "symbol not found: %s\n", arg)
	fmt.Fprintf(w, "possible alternatives:\n")
	if n := v.queryPad(w, arg, "  "); n == 0 {
		fmt.Fprintf(w, "  (none found)\n")
	}
}

// symAddr shows the symbol containing a kernel address.
func (v *ksymView) symAddr(w io.Writer, arg string, value uint64, next, prev bool) {
	sp, off, ok := v.valueSearch(value)
	if !ok {
		if m := v.moduleOf(value); m != nil {
			// crash: module_symbol() names the address after its module.
			name := fmt.Sprintf("(%s module)", m.name)
			if value != m.base {
				name += fmt.Sprintf("+%d", value-m.base)
			}
			fmt.Fprintf(w, "%x (?) %s\n", value, name)
			return
		}
		fmt.Fprintf(w, "symbol not found: %s\n", arg)
		return
	}
	if prev {
		if p := v.prevSymbol(sp); p != nil {
			v.showSymbol(w, p, 0, showLine|showModule)
		}
	}
	v.showSymbol(w, sp, off, showLine|showModule)
	if next {
		if n := v.nextSymbol(sp); n != nil {
			v.showSymbol(w, n, 0, showLine|showModule)
		}
	}
}

// cleanArg drops a trailing ',' or ':' from a number (tools.c: clean_arg),
// so that addresses pasted from other output work.
func cleanArg(s string) string {
	if n := len(s); n > 1 && (s[n-1] == ',' || s[n-1] == ':') {
		if t := s[:n-1]; isCrashDecimal(t) || isCrashHex(t) {
			return t
		}
	}
	return s
}

// ---------------------------------------------------------------------------
// kdive's model of crash's symbol tables.

// vsym is one entry of the view: a symbol, or a module's MODULE START or
// MODULE END pseudo-symbol.
type vsym struct {
	symtab.Sym
	pseudo byte     // 0, or pseudoStart / pseudoEnd
	mod    *kmodule // nil for kernel symbols
	idx    int      // index in the kernel list or in mod.list
	pcpu   bool     // a module symbol in the module's per-CPU area
}

const (
	pseudoStart = 'S'
	pseudoEnd   = 'E'
)

// kmodule is one loaded module's symbols, between its pseudo-symbols.
type kmodule struct {
	name       string
	base, size uint64
	list       []*vsym // MODULE START, symbols by address, MODULE END
	// pcpu are the symbols in the module's per-CPU area (struct
	// module.percpu, percpu_size), by address: the per-CPU variables,
	// at their per-CPU pointer.
	pcpu []*vsym
}

// ksymView is the symbol table as crash keeps it (symbols.c):
//
//   - kernel symbols sorted by address, then by name (crash sorts vmlinux's
//     symbols with nm's numeric order); before _text/_stext only the
//     per-CPU symbols are kept (x86_64.c: x86_64_verify_symbol);
//   - each module's symbols by address, framed by MODULE START and
//     MODULE END; modules by base address.
type ksymView struct {
	kern   []*vsym
	mods   []*kmodule
	byName map[string][]*vsym // kernel symbols in order, then module symbols

	firstK     uint64 // crash's first_ksymbol: _text or _stext
	percpu     bool   // the kernel has per-CPU symbols before firstK
	kallsyms   bool   // symbols from the dump's kallsyms: per-CPU ones are 'A'
	stext      uint64 // kernel text bounds, for is_kernel_text
	etext      uint64
	sinittext  uint64
	einittext  uint64
	haveBounds bool

	lineAt func(uint64) (program.SourceLine, bool) // nil: no source lines
}

var viewCache struct {
	sync.Mutex
	table *symtab.Table
	n     int
	mods  int
	view  *ksymView
}

// viewOf returns the crash-model view of prog's symbols, cached while the
// symbol table does not change.
func viewOf(prog symSource) *ksymView {
	t := prog.Symbols()
	mods, err := prog.Modules()
	if err != nil {
		mods = nil
	}
	viewCache.Lock()
	defer viewCache.Unlock()
	if viewCache.view != nil && viewCache.table == t && viewCache.n == t.Len() && viewCache.mods == len(mods) {
		viewCache.view.setLines(prog)
		return viewCache.view
	}
	v := newView(t, mods)
	v.setLines(prog)
	viewCache.table, viewCache.n, viewCache.mods, viewCache.view = t, t.Len(), len(mods), v
	return v
}

func (v *ksymView) setLines(prog symSource) {
	v.lineAt = nil
	if ls, ok := prog.(lineSource); ok {
		v.lineAt = ls.LineAt
	}
}

func newView(t *symtab.Table, mods []program.Module) *ksymView {
	v := &ksymView{byName: map[string][]*vsym{}}
	var kern []symtab.Sym
	modSyms := map[string][]symtab.Sym{}
	var all []symtab.Sym
	if t != nil {
		all = t.All()
		v.kallsyms = strings.HasPrefix(t.Source, "kallsyms")
	}
	for _, s := range all {
		if s.Name == "" {
			continue
		}
		if s.Module == "" {
			kern = append(kern, s)
		} else {
			modSyms[s.Module] = append(modSyms[s.Module], s)
		}
	}
	sort.SliceStable(kern, func(i, j int) bool {
		if kern[i].Addr != kern[j].Addr {
			return kern[i].Addr < kern[j].Addr
		}
		return kern[i].Name < kern[j].Name
	})
	// crash sorts by the ELF names, then shows them without compiler
	// suffixes (symbols.c: strip_symbol_end).
	for i := range kern {
		kern[i].Name = crashSymName(kern[i].Name)
	}
	started := false
	for _, s := range kern {
		if !started {
			switch {
			case s.Name == "_text" || s.Name == "_stext":
				started = true
				v.firstK = s.Addr
			case s.Name == "__per_cpu_start":
				v.percpu = true
			case v.percpu && (strings.HasPrefix(s.Name, "per_cpu") || s.Name == "__per_cpu_end" ||
				s.Type == 'V' || s.Type == 'd' || s.Type == 'D'):
			case v.percpu && v.kallsyms && s.Type == 'A':
				// kallsyms' per-CPU variables: scripts/kallsyms
				// --absolute-percpu makes them absolute (the vmlinux's
				// symbol table has them as data, which crash keeps).
			default:
				continue
			}
		}
		vs := &vsym{Sym: s, idx: len(v.kern)}
		v.kern = append(v.kern, vs)
		v.byName[s.Name] = append(v.byName[s.Name], vs)
	}
	if !started {
		// No _text/_stext (a partial table): take every symbol.
		v.kern = v.kern[:0]
		v.byName = map[string][]*vsym{}
		v.percpu = false
		for _, s := range kern {
			vs := &vsym{Sym: s, idx: len(v.kern)}
			v.kern = append(v.kern, vs)
			v.byName[s.Name] = append(v.byName[s.Name], vs)
		}
		if len(kern) > 0 {
			v.firstK = kern[0].Addr
		}
	}
	for _, name := range []string{"_stext", "_etext", "_sinittext", "_einittext"} {
		if l := v.byName[name]; len(l) > 0 {
			switch name {
			case "_stext":
				v.stext = l[0].Addr
			case "_etext":
				v.etext = l[0].Addr
			case "_sinittext":
				v.sinittext = l[0].Addr
			case "_einittext":
				v.einittext = l[0].Addr
			}
		}
	}

	if mods == nil {
		// No module list: frame each module by its symbols.
		for name, syms := range modSyms {
			lo, hi := syms[0].Addr, syms[0].Addr
			for _, s := range syms {
				lo, hi = min(lo, s.Addr), max(hi, s.Addr)
			}
			mods = append(mods, program.Module{Name: name, Base: lo, Size: hi - lo + 1})
		}
	}
	sorted := append([]program.Module(nil), mods...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Base < sorted[j].Base })
	for _, m := range sorted {
		km := &kmodule{name: m.Name, base: m.Base, size: m.Size}
		km.list = append(km.list, &vsym{Sym: symtab.Sym{Name: "_MODULE_START_" + m.Name, Addr: m.Base, Type: 'm', Module: m.Name}, pseudo: pseudoStart, mod: km})
		syms := modSyms[m.Name]
		sort.SliceStable(syms, func(i, j int) bool { return syms[i].Addr < syms[j].Addr })
		for _, s := range syms {
			s.Name = crashSymName(s.Name)
			// A module's per-CPU variables: kallsyms has them at their
			// per-CPU pointer with CONFIG_KALLSYMS_ALL (kernel commit
			// e0224418516b "kallsyms: include module percpu symbols"...
			// see kernel/module/kallsyms.c: is_core_symbol), the object
			// file loaded by mod -s always (crash: IN_MODULE_PERCPU).
			if m.PerCPU != 0 && s.Addr >= m.PerCPU && s.Addr < m.PerCPU+m.PerCPUSize {
				km.pcpu = append(km.pcpu, &vsym{Sym: s, mod: km, pcpu: true})
				continue
			}
			// crash keeps a module's kallsyms within its core layout.
			if s.Addr < m.Base || s.Addr > m.Base+m.Size {
				continue
			}
			km.list = append(km.list, &vsym{Sym: s, mod: km})
		}
		km.list = append(km.list, &vsym{Sym: symtab.Sym{Name: "_MODULE_END_" + m.Name, Addr: m.Base + m.Size, Type: 'm', Module: m.Name}, pseudo: pseudoEnd, mod: km})
		for i, s := range km.list {
			s.idx = i
			if s.pseudo == 0 {
				v.byName[s.Name] = append(v.byName[s.Name], s)
			}
		}
		for _, s := range km.pcpu {
			v.byName[s.Name] = append(v.byName[s.Name], s)
		}
		v.mods = append(v.mods, km)
	}
	return v
}

// crashSymName is a symbol's name as crash shows it: cut at the first
// ".isra.", else ".part.", else ".llvm." (symbols.c: strip_symbol_end),
// so "nmi_handle.part.0" is nmi_handle while "foo.cold" keeps its suffix.
func crashSymName(name string) string {
	for _, suffix := range []string{".isra.", ".part.", ".llvm."} {
		if i := strings.Index(name, suffix); i >= 0 {
			return name[:i]
		}
	}
	return name
}

// symbolAddr implements symbolResolver (symbols.c: symbol_search).
func (v *ksymView) symbolAddr(name string) (uint64, bool) {
	if l := v.byName[name]; len(l) > 0 {
		return l[0].Addr, true
	}
	return 0, false
}

func (v *ksymView) exists(name string) bool { return len(v.byName[name]) > 0 }

// search returns every symbol of that name: kernel ones, then modules'.
func (v *ksymView) search(name string) []*vsym { return v.byName[name] }

// isPerCPU reports a per-CPU variable: a kernel symbol before the kernel
// text in the per-CPU section, or a module's in its per-CPU area
// (crash's is_percpu_symbol). Its value is a per-CPU pointer: CPU n's
// copy is at value + __per_cpu_offset[n].
func (v *ksymView) isPerCPU(sp *vsym) bool {
	if sp.mod != nil {
		return sp.pcpu
	}
	return v.percpu && sp.pseudo == 0 && sp.Addr < v.firstK
}

// moduleOf returns the module whose core layout holds addr.
func (v *ksymView) moduleOf(addr uint64) *kmodule {
	for _, m := range v.mods {
		if addr >= m.base && addr < m.base+m.size {
			return m
		}
	}
	return nil
}

// inRange is crash's in_ksymbol_range: an address between the first
// kernel symbol after the per-CPU ones and the last kernel symbol, or
// inside a module.
func (v *ksymView) inRange(addr uint64) bool {
	if n := len(v.kern); n > 0 && addr >= v.kern[0].Addr && addr <= v.kern[n-1].Addr {
		return !(v.percpu && addr < v.firstK)
	}
	return v.moduleOf(addr) != nil
}

// valueSearch is crash's value_search: the symbol at or before addr.
func (v *ksymView) valueSearch(addr uint64) (*vsym, uint64, bool) {
	if !v.inRange(addr) {
		return nil, 0, false
	}
	if n := len(v.kern); n > 0 && addr >= v.kern[0].Addr && addr <= v.kern[n-1].Addr {
		k := v.kern
		i := sort.Search(n, func(i int) bool { return k[i].Addr >= addr })
		if k[i].Addr == addr {
			same := func() bool { return i+1 < n && k[i+1].Addr == addr }
			if strings.HasPrefix(k[i].Name, ".text.") && same() {
				i++
			}
			if (strings.HasPrefix(k[i].Name, "SyS_") || strings.HasPrefix(k[i].Name, "compat_SyS_")) && same() {
				i++
			}
			if strings.Contains(k[i].Name, "_text_start") && same() {
				i++
			}
			return k[i], 0, true
		}
		return k[i-1], addr - k[i-1].Addr, true
	}
	return v.valueSearchModule(addr)
}

// valueSearchModule is crash's value_search_module.
func (v *ksymView) valueSearchModule(addr uint64) (*vsym, uint64, bool) {
	for _, m := range v.mods {
		l := m.list
		if l[0].Addr > addr {
			break
		}
		splast := -1
	scan:
		for j := 0; j < len(l); j++ {
			sp := l[j]
			if sp.Addr == addr {
				if sp.pseudo == pseudoEnd {
					break scan
				}
				if sp.pseudo != 0 {
					if j+1 < len(l) && l[j+1].pseudo != 0 {
						continue
					}
					if j+1 < len(l) && l[j+1].Addr == addr {
						j++
					}
				}
				if strings.HasPrefix(l[j].Name, ".") && j+1 < len(l) && l[j+1].Addr == addr {
					j++
				}
				return l[j], 0, true
			}
			if sp.Addr > addr {
				k := j - 1
				if splast >= 0 {
					k = splast
				}
				return l[k], addr - l[k].Addr, true
			}
			if sp.pseudo == 0 {
				splast = j
			}
		}
	}
	return nil, 0, false
}

// symbolString is crash's value_to_symstr: "name", "name+offset" (the
// offset in decimal, crash's default output radix), or "" when no symbol
// contains value.
func (v *ksymView) symbolString(value uint64) string {
	sp, off, ok := v.valueSearch(value)
	if !ok {
		return ""
	}
	name := sp.Name
	if sp.pseudo == pseudoStart {
		name = sp.mod.name
	}
	if off != 0 {
		return fmt.Sprintf("%s+%d", name, off)
	}
	return name
}

// typeLetter is the type crash shows: module symbols other than functions
// show as '?' — crash 8.0.2 takes the letter from the module's Elf_Sym
// st_info, which holds no nm letter in kernels since 5.3, and knows only
// STT_FUNC's 0x02 ('t') and 0x12 ('T'). Symbols of a module whose object
// file mod -s loaded have the file's letters, as in crash.
func (s *vsym) typeLetter() byte {
	if s.mod != nil && s.pseudo == 0 && !s.FromObject && s.Type != 't' && s.Type != 'T' {
		return '?'
	}
	return s.Type
}

// isText is crash's is_symbol_text.
func (v *ksymView) isText(s *vsym) bool {
	switch s.typeLetter() {
	case 't', 'T':
		return true
	case 'w', 'W':
		return v.etext != 0 && s.Addr >= v.stext && s.Addr < v.etext
	}
	return false
}

// isKernelText approximates crash's is_kernel_text: kdive has no ELF
// section list, so the kernel's code is _stext.._etext and
// _sinittext.._einittext, plus any address whose symbol is a function.
func (v *ksymView) isKernelText(addr uint64) bool {
	if v.etext != 0 && addr >= v.stext && addr < v.etext {
		return true
	}
	if v.einittext != 0 && addr >= v.sinittext && addr < v.einittext {
		return true
	}
	if sp, _, ok := v.valueSearch(addr); ok && v.isText(sp) {
		return true
	}
	return false
}

// lineInfo returns the "file: line" of a text address as crash's
// get_line_number gives it (gdb's find_pc_line on the vmlinux's DWARF, or
// a module's once its debug information is loaded), "" when there is none:
// the line then ends with the separating blank, as crash's does.
func (v *ksymView) lineInfo(addr uint64) string {
	if v.lineAt == nil {
		return ""
	}
	if l, ok := v.lineAt(addr); ok {
		return l.String()
	}
	return ""
}

// lineSource is what a program needs for source lines (*program.Program
// has it).
type lineSource interface {
	LineAt(addr uint64) (program.SourceLine, bool)
}

const (
	showLine   = 1 << iota // crash SHOW_LINENUM
	showModule             // crash SHOW_MODULE
)

// showSymbol prints one symbol as crash's show_symbol does, with offsets
// in decimal (crash's default output radix).
func (v *ksymView) showSymbol(w io.Writer, sp *vsym, off uint64, flags int) {
	if sp.pseudo == pseudoStart {
		fmt.Fprintf(w, "%x (%c) (%s module)", sp.Addr, sp.Type, sp.mod.name)
		if off != 0 {
			fmt.Fprintf(w, "+%d", off)
		}
		fmt.Fprintf(w, "\n")
		return
	}
	if off != 0 {
		fmt.Fprintf(w, "%x (%c) %s+%d", sp.Addr+off, sp.typeLetter(), sp.Name, off)
	} else {
		fmt.Fprintf(w, "%x (%c) %s", sp.Addr, sp.typeLetter(), sp.Name)
	}
	if flags&showModule != 0 && sp.mod != nil {
		fmt.Fprintf(w, " [%s]", sp.mod.name)
	}
	if flags&showLine != 0 && v.isKernelText(sp.Addr+off) {
		fmt.Fprintf(w, " %s", v.lineInfo(sp.Addr+off))
	}
	fmt.Fprintf(w, "\n")
}

// dumpKernel lists the kernel's symbols (symbols.c: symbol_dump).
func (v *ksymView) dumpKernel(w io.Writer) {
	for _, s := range v.kern {
		v.showSymbol(w, s, 0, 0)
	}
}

// dumpModules lists a module's symbols, or every module's when mod is "".
func (v *ksymView) dumpModules(w io.Writer, mod string) {
	for _, m := range v.mods {
		if mod != "" && m.name != mod {
			continue
		}
		for _, s := range m.list {
			switch s.pseudo {
			case pseudoStart:
				fmt.Fprintf(w, "%x MODULE START: %s\n", s.Addr, m.name)
				// crash sorts the per-CPU symbols (small per-CPU
				// pointers) first and shows them after MODULE START
				// (symbols.c: dump_symbol_table, dump_percpu_symbols).
				for _, p := range m.pcpu {
					v.showSymbol(w, p, 0, 0)
				}
			case pseudoEnd:
				fmt.Fprintf(w, "%x MODULE END: %s\n", s.Addr, m.name)
			default:
				v.showSymbol(w, s, 0, 0)
			}
		}
	}
}

// query lists (when w is not nil) and counts the symbols whose name holds
// sub (symbols.c: symbol_query), returning the last one found.
func (v *ksymView) query(w io.Writer, sub string) (int, *vsym) {
	return v.queryPadLast(w, sub, "")
}

func (v *ksymView) queryPad(w io.Writer, sub, pad string) int {
	n, _ := v.queryPadLast(w, sub, pad)
	return n
}

func (v *ksymView) queryPadLast(w io.Writer, sub, pad string) (int, *vsym) {
	n := 0
	var last *vsym
	for _, s := range v.kern {
		if strings.Contains(s.Name, sub) {
			if w != nil {
				io.WriteString(w, pad)
				v.showSymbol(w, s, 0, 0)
			}
			last = s
			n++
		}
	}
	for _, m := range v.mods {
		for _, s := range append(m.pcpu[:len(m.pcpu):len(m.pcpu)], m.list...) {
			if s.pseudo != 0 {
				continue
			}
			if strings.Contains(s.Name, sub) {
				if w != nil {
					io.WriteString(w, pad)
					v.showSymbol(w, s, 0, showModule)
				}
				last = s
				n++
			}
		}
	}
	return n, last
}

// nextSymbol is crash's next_symbol(NULL, sp): the next kernel symbol at a
// higher address, or the next module symbol.
func (v *ksymView) nextSymbol(sp *vsym) *vsym {
	found := false
	if sp.mod == nil {
		for _, s := range v.kern[sp.idx+1:] {
			if s.Addr > sp.Addr {
				return s
			}
		}
		found = true
	}
	for _, m := range v.mods {
		for _, s := range m.list {
			if s.pseudo != 0 {
				continue
			}
			if s == sp {
				found = true
			} else if found {
				return s
			}
		}
	}
	return nil
}

// prevSymbol is crash's prev_symbol(NULL, sp): the entry before sp, kernel
// symbols and then module symbols taken as one list.
func (v *ksymView) prevSymbol(sp *vsym) *vsym {
	if sp.mod == nil {
		if sp.idx > 0 {
			return v.kern[sp.idx-1]
		}
		return nil
	}
	var prev *vsym
	if n := len(v.kern); n > 0 {
		prev = v.kern[n-1]
	}
	for _, m := range v.mods {
		for _, s := range m.list {
			if s.pseudo != 0 {
				continue
			}
			if s == sp {
				return prev
			}
			prev = s
		}
	}
	return nil
}
