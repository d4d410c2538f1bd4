package commands

// p, px, pd: print the value of an expression, as crash's cmd_p
// (symbols.c) hands it to gdb's print, with gdb's value formats
// (internal/expr).

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"kdive/internal/expr"
	"kdive/internal/types"
)

func init() {
	Register(&Command{
		Name:    "p",
		Aliases: []string{"print"},
		Summary: "print the value of an expression",
		Usage:   pSynopsis,
		Help: `  Prints the value of a C expression as gdb's print does: "$N = value",
  structures with nested braces, pointers with the symbol they point to,
  char arrays as strings.  When the expression is a lone symbol, the line
  starts with "symbol = ".

        -x  integers in hexadecimal (gdb's output radix 16); px is p -x.
        -d  integers in decimal (the default); pd is p -d.
        /FMT as gdb: "p /x expr" (hex, no symbols), /d, /u, /o, /t
            (binary), /z (zero-padded hex), /c, /a (address and symbol).

  Expressions: numbers ('c' characters), globals, a.b, p->b, a[i], * & - ~ !,
  + - * / % << >> & | ^ && ||, comparisons, ?:, casts such as
  (struct task_struct *)0xffff888004a0c000, sizeof(type), sizeof expr.
  Types come from BTF (vmlinux .BTF or the dump's own); globals BTF has
  no type for are shown as unsigned long (text symbols as functions).

EXAMPLES
    kdive> p sizeof(struct task_struct)
    $1 = 9728
    kdive> p init_task.comm
    $2 = "swapper/0\000\000\000\000\000\000"
    kdive> p &init_task
    $3 = (struct task_struct *) 0xffffffff9be1aa40 <init_task>`,
		Run: func(env *Env, args []string) error { return pCommand(env, env.Prog, "p", args, 0) },
	})
	Register(&Command{
		Name:    "px",
		Summary: "print an expression with hexadecimal integers (p -x)",
		Usage:   pSynopsis,
		Help:    "  px is p -x: see \"help p\".",
		Run:     func(env *Env, args []string) error { return pCommand(env, env.Prog, "px", args, 16) },
	})
	Register(&Command{
		Name:    "pd",
		Summary: "print an expression with decimal integers (p -d)",
		Usage:   pSynopsis,
		Help:    "  pd is p -d: see \"help p\".",
		Run:     func(env *Env, args []string) error { return pCommand(env, env.Prog, "pd", args, 10) },
	})
}

const pSynopsis = "[-x|-d][-u] [expression | symbol[:cpuspec]]"

// progEnv is the expression environment of a program: its memory, its
// symbols as crash sees them, and its types.
type progEnv struct {
	prog typeTarget
	v    *ksymView
}

// typeTarget is what the type commands need of a program;
// *program.Program has it, and tests use fakes.
type typeTarget interface {
	symSource
	ReadAt(b []byte, addr uint64) (int, error)
	Types() *types.Registry
	PerCPUOffset(cpu int) (uint64, error)
}

func newProgEnv(prog typeTarget) *progEnv { return &progEnv{prog: prog} }

func (e *progEnv) view() *ksymView {
	if e.v == nil {
		e.v = viewOf(e.prog)
	}
	return e.v
}

func (e *progEnv) ReadAt(b []byte, addr uint64) (int, error) { return e.prog.ReadAt(b, addr) }

func (e *progEnv) Symbol(name string) (uint64, bool, bool) {
	l := e.view().search(name)
	if len(l) == 0 {
		return 0, false, false
	}
	return l[0].Addr, e.view().isText(l[0]), true
}

func (e *progEnv) Types() *types.Registry { return e.prog.Types() }

// symbolize names an address as gdb does after a pointer: "sym" or
// "sym+off", for addresses in the kernel image or a module (crash gives
// gdb the modules' symbols).
func (e *progEnv) symbolize(addr uint64) (string, bool) {
	v := e.view()
	sp, off, ok := v.valueSearch(addr)
	if !ok || sp.pseudo != 0 || sp.mod == nil && strings.HasPrefix(sp.Name, ".") {
		// gdb knows no kernel section symbols (".data"); crash hands it
		// module symbols, local labels (".LC13") included.
		return "", false
	}
	if sp.mod == nil {
		// gdb takes the last of the symbols at one address (its minimal
		// symbols sort by address, and it looks up the highest index).
		for i := sp.idx + 1; i < len(v.kern) && v.kern[i].Addr == sp.Addr; i++ {
			if !strings.HasPrefix(v.kern[i].Name, ".") {
				sp = v.kern[i]
			}
		}
	}
	if off != 0 {
		return fmt.Sprintf("%s+%d", sp.Name, off), true
	}
	return sp.Name, true
}

func (e *progEnv) printOpts(radix int) expr.PrintOpts {
	if radix == 0 {
		// The session's default (set radix / set hex).
		if r, ok := e.prog.(interface{ OutputRadix() int }); ok {
			radix = r.OutputRadix()
		}
	}
	return expr.PrintOpts{Radix: radix, Symbolize: e.symbolize}
}

// valueHistory is gdb's value history ($1, $2, ...) of one program. A
// *program.Program keeps it in its memo (so it goes with the program);
// targets without a memo (tests' fakes) share fakeHistories.
type valueHistory struct {
	sync.Mutex
	vals []*expr.Value
}

type historyKey struct{}

var fakeHistories struct {
	sync.Mutex
	m map[typeTarget]*valueHistory
}

func historyOf(p typeTarget) *valueHistory {
	if m, ok := p.(interface{ Memo(any, func() any) any }); ok {
		return m.Memo(historyKey{}, func() any { return &valueHistory{} }).(*valueHistory)
	}
	fakeHistories.Lock()
	defer fakeHistories.Unlock()
	if fakeHistories.m == nil {
		fakeHistories.m = map[typeTarget]*valueHistory{}
	}
	h := fakeHistories.m[p]
	if h == nil {
		h = &valueHistory{}
		fakeHistories.m[p] = h
	}
	return h
}

// recordHistory appends v to p's value history and returns its number.
func recordHistory(p typeTarget, v *expr.Value) int {
	h := historyOf(p)
	h.Lock()
	defer h.Unlock()
	h.vals = append(h.vals, v)
	return len(h.vals)
}

// History implements expr.HistoryEnv: $N, $ (the last value), $$ (the
// one before) and $$N (N back from the last).
func (e *progEnv) History(name string) (*expr.Value, bool) {
	h := historyOf(e.prog)
	h.Lock()
	vals := h.vals
	h.Unlock()
	n := len(vals)
	var i int
	switch {
	case name == "$":
		i = n
	case name == "$$":
		i = n - 1
	case strings.HasPrefix(name, "$$"):
		k, err := strconv.Atoi(name[2:])
		if err != nil {
			return nil, false
		}
		i = n - k
	default:
		k, err := strconv.Atoi(name[1:])
		if err != nil {
			return nil, false
		}
		i = k
	}
	if i < 1 || i > n {
		return nil, false
	}
	return vals[i-1], true
}

func pCommand(env *Env, prog typeTarget, name string, args []string, radix int) error {
	opts, rest, err := getopt(name, args, "dhxu")
	if err != nil {
		writeUsage(env, name, pSynopsis)
		return err
	}
	for _, o := range opts {
		switch o.c {
		case 'd':
			if radix == 16 {
				return errors.New("-d and -x are mutually exclusive")
			}
			radix = 10
		case 'x', 'h':
			if radix == 10 && name != "pd" {
				return errors.New("-d and -x are mutually exclusive")
			}
			radix = 16
		case 'u':
			return errors.New("-u: kdive does not read user virtual memory")
		}
	}
	if len(rest) == 0 {
		writeUsage(env, name, pSynopsis)
		return errors.New("missing expression")
	}
	pe := newProgEnv(prog)
	po := pe.printOpts(radix)
	if f := rest[0]; strings.HasPrefix(f, "/") && len(f) >= 2 {
		switch f[len(f)-1] {
		case 'x', 'd', 'u', 'o', 't', 'z', 'c', 'a':
			po.Fmt = f[len(f)-1]
		default:
			return fmt.Errorf("/%s: unsupported print format", f[1:])
		}
		rest = rest[1:]
		if len(rest) == 0 {
			return errors.New("missing expression")
		}
	}
	cpuspec, hasSpec := "", false
	if i := strings.LastIndexByte(rest[0], ':'); i >= 0 {
		cpuspec, hasSpec = rest[0][i+1:], true
		rest = append([]string{rest[0][:i]}, rest[1:]...)
	}
	leader := ""
	if len(rest) == 1 {
		if _, _, ok := pe.Symbol(rest[0]); ok {
			leader = rest[0]
			if done, err := pPerCPU(env, pe, rest[0], po, cpuspec, hasSpec); done || err != nil {
				return err
			}
			if hasSpec {
				fmt.Fprintf(env.Err, "WARNING: %s is not percpu; cpuspec ignored.\n", rest[0])
			}
		} else if hasSpec {
			// Not a symbol: maybe a C expression with a ':' (?:).
			rest[0] += ":" + cpuspec
		}
	} else if hasSpec {
		rest[0] += ":" + cpuspec
	}
	return pPrint(env, pe, leader, strings.Join(rest, " "), po)
}

// pPrint evaluates and prints one expression as "$N = value", after
// "LEADER = " when there is a leader.
func pPrint(env *Env, pe *progEnv, leader, src string, po expr.PrintOpts) error {
	v, err := expr.Eval(pe, src)
	if err != nil {
		return err
	}
	s, err := expr.FormatTop(v, po)
	if err != nil {
		return err
	}
	n := recordHistory(pe.prog, v)
	fmt.Fprint(env.Out, leaderLine(leader, fmt.Sprintf("$%d = %s\n", n, s)))
	return nil
}

// crashCPUMask is crash's make_cpumask: "a" or "all", N, N-M, and lists
// of them separated by commas, each CPU below ncpus.
func crashCPUMask(spec string, ncpus int) ([]int, error) {
	var cpus []int
	seen := map[int]bool{}
	bad := fmt.Errorf("invalid cpu specification: %s", spec)
	for _, p := range strings.Split(spec, ",") {
		start, end := 0, ncpus-1
		if p != "a" && p != "all" {
			lo, hi, isRange := strings.Cut(p, "-")
			var err error
			if start, err = strconv.Atoi(lo); err != nil {
				return nil, bad
			}
			end = start
			if isRange {
				if end, err = strconv.Atoi(hi); err != nil {
					return nil, bad
				}
			}
		}
		if start < 0 || start >= ncpus || end < 0 || end >= ncpus {
			return nil, bad
		}
		for c := start; c <= end; c++ {
			if !seen[c] {
				seen[c] = true
				cpus = append(cpus, c)
			}
		}
	}
	sort.Ints(cpus)
	return cpus, nil
}

// leaderLine is crash's process_gdb_output with a leader: "NAME = " before
// gdb's output, and a first line holding a '{' that does not end it split
// before the brace.
func leaderLine(leader, out string) string {
	if leader == "" {
		return out
	}
	first, rest, _ := strings.Cut(out, "\n")
	if i := strings.IndexByte(first, '{'); i >= 0 && i < len(first)-1 {
		first = first[:i] + "\n {" + first[i+1:]
	}
	return leader + " = " + first + "\n" + rest
}

// pPerCPU is crash's display_per_cpu_info for a per-CPU symbol: its type
// and each CPU's address.
func pPerCPU(env *Env, pe *progEnv, name string, po expr.PrintOpts, cpuspec string, hasSpec bool) (bool, error) {
	v := pe.view()
	l := v.search(name)
	if len(l) == 0 || !v.isPerCPU(l[0]) {
		return false, nil
	}
	switch l[0].Type {
	case 'd', 'D', 'V':
	case 'A':
		// A kernel per-CPU variable of kallsyms (see newView), or a
		// module's; not the section bounds.
		if l[0].mod == nil && (!v.kallsyms || strings.HasPrefix(name, "__per_cpu_")) {
			return false, nil
		}
	case 'a', 'b', 'B':
		// A module's per-CPU variable: kallsyms calls it absolute
		// (kernel/module/kallsyms.c: elf_type), a file .bss-like
		// when it is zero-initialized.
		if l[0].mod == nil {
			return false, nil
		}
	default:
		return false, nil
	}
	offs := perCPUOffsets(pe.prog)
	if hasSpec {
		if cpuspec == "" {
			// The CPU of the current context (set).
			c, err := contextCPUSpec(pe.prog)
			if err != nil {
				return true, err
			}
			cpuspec = c
		}
		cpus, err := crashCPUMask(cpuspec, len(offs))
		if err != nil {
			return true, err
		}
		t, terr := pe.Types().LookupVar(name)
		for _, c := range cpus {
			a := l[0].Addr + offs[c]
			if terr == nil {
				v := expr.At(pe, t, a)
				s, err := expr.FormatTop(v, po)
				if err != nil {
					return true, err
				}
				n := recordHistory(pe.prog, v)
				fmt.Fprint(env.Out, leaderLine(fmt.Sprintf("per_cpu(%s, %d)", name, c), fmt.Sprintf("$%d = %s\n", n, s)))
			} else {
				if err := pPrint(env, pe, fmt.Sprintf("&per_cpu(%s, %d)", name, c), fmt.Sprintf("(void *)%#x", a), po); err != nil {
					return true, err
				}
			}
		}
		return true, nil
	}
	fmt.Fprintf(env.Out, "PER-CPU DATA TYPE:\n  ")
	if t, err := pe.Types().LookupVar(name); err == nil {
		fmt.Fprintf(env.Out, "%s;\n", types.Decl(t, name))
	} else {
		fmt.Fprintf(env.Out, "[undetermined type] %s;\n", name)
	}
	fmt.Fprintf(env.Out, "PER-CPU ADDRESSES:\n")
	for c, off := range offs {
		fmt.Fprintf(env.Out, "  [%d]: %x\n", c, l[0].Addr+off)
	}
	return true, nil
}

// perCPUOffsets returns __per_cpu_offset of each CPU that was set up:
// CPU i counts when no later entry run starts at it (CPUs never set up all
// hold one common value, so the count is the first i >= 1 whose entry
// equals the next one).
func perCPUOffsets(prog typeTarget) []uint64 {
	var out []uint64
	cur, err := prog.PerCPUOffset(0)
	if err != nil {
		return nil
	}
	for c := 1; c < 8192; c++ {
		next, err := prog.PerCPUOffset(c)
		if err != nil {
			break
		}
		if c > 1 && next == cur {
			return out
		}
		out = append(out, cur)
		cur = next
	}
	return append(out, cur)
}
