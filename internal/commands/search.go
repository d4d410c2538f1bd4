package commands

// search: find values or strings in kernel virtual, user virtual or
// physical memory, as crash's cmd_search (memory.c) does; the pages are
// read and scanned by internal/kernel/search on every core, the matches
// printed in address order.

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"kdive/internal/arch/amd64"
	"kdive/internal/expr"
	"kdive/internal/kernel/search"
	"kdive/internal/kernel/stack"
	"kdive/internal/kernel/tasks"
	"kdive/internal/program"
)

const searchSynopsis = "[-s start] [ -[kKV] | -u | -p | -t | -T ] [-e end | -l length] [-m mask]\n         [-x count] -[cwh] [value | (expression) | symbol | string] ..."

func init() {
	Register(&Command{
		Name:    "search",
		Summary: "search memory",
		Usage:   searchSynopsis,
		Help: `  Searches kernel virtual (the default), user virtual or physical memory for
  unsigned longs (or ints, shorts, strings), from the start of that space
  (or -s) to its end (or -e / -l).  Pages that are not mapped, or that
  the dump left out, are skipped silently.  Matches are printed in
  address order; the pages are read on every core.

    -s start  start here (hexadecimal address or symbol); the start of the
              memory space by default.
          -k  kernel virtual memory (the default): the direct map up to
              high_memory, the vmalloc areas (module memory among them),
              the vmemmap and the kernel image (__START_KERNEL_map.._end),
              in address order, as crash searches them.
          -K  as -k without the vmalloc areas and the vmemmap.
          -V  as -k without the direct map and the kernel image.
          -u  the current context's user virtual memory (its page tables).
          -p  physical memory (every page the dump has, up to max_pfn).
          -t  the kernel stacks of every task, each task's matches under its
              header.  -T  only the tasks running on a CPU.
      -e end  stop here (hexadecimal address or symbol).
   -l length  search this many bytes.
     -m mask  ignore the bits set in the hexadecimal mask.
          -c  search for strings (quote one with blanks); each match shows
              56 bytes from it, unprintable bytes as '.'.
          -w  search for 32-bit ints.  -h  search for 16-bit shorts.
    -x count  show count items of memory before and after each match (not
              with -c).
       value  a hexadecimal value, a (C expression) or a symbol (whose value
              and name are shown).

EXAMPLES
  A value in one page, then in the vmalloc areas and module memory only:
    kdive> search -s ffff8ef0925fe000 -l 4096 6b64697665726967
    ffff8ef0925fe3c0: 6b64697665726967
    kdive> search -V 6b64697665726967
    ffffd5bc403e5000: 6b64697665726967
    ffffffffc0233010: 6b64697665726967

  A string in physical memory:
    kdive> search -p -c kdive-rig-state
    fdaf8cb: kdive-rig-state.&x->wait.item-%u.kdive_rig_wq.kdive_rig.
    125fe3c8: kdive-rig-state.........................@.}.......}.....
    1fe2a8cb: kdive-rig-state.&x->wait.item-%u.kdive_rig_wq.kdive_rig.
    1fe5826b: kdive-rig-state.&x->wait.item-%u.kdive_rig_wq.kdive_rig.`,
		Run: runSearch,
	})
}

type searchValue struct {
	v   uint64
	opt string // crash's opt_string: the symbol or (expression) given
}

func runSearch(env *Env, args []string) error {
	p := env.Prog
	if p == nil {
		return errors.New("no dump is open")
	}
	usage := func(err error) error {
		writeUsage(env, "search", searchSynopsis)
		return err
	}
	opts, rest, err := getopt("search", args, "Ttl:ukKVps:e:v:m:hwcx:")
	if err != nil {
		return usage(err)
	}
	const (
		kv = iota + 1
		uv
		phys
	)
	pe := newProgEnv(p)
	symOrHex := func(s string) (uint64, error) {
		if a, _, ok := pe.Symbol(s); ok {
			return a, nil
		}
		return parseCrashHex(s)
	}
	var start, end, length, mask uint64
	var memtype, context int
	var sflag, Kflag, Vflag, tflag, Tflag, haveMask bool
	mode := search.Ulong
	modeSet := false
	setMode := func(m search.Mode, c byte) {
		if modeSet {
			what := "mode"
			if c == 'c' {
				what = "type"
			}
			fmt.Fprintf(env.Err, "search: WARNING: overriding previously set search %s with \"%c\"\n", what, c)
		}
		mode, modeSet = m, true
	}
	for _, o := range opts {
		switch o.c {
		case 'u':
			memtype = uv
		case 'p':
			memtype = phys
		case 'k', 'K', 'V':
			memtype = kv
			Kflag = Kflag || o.c == 'K'
			Vflag = Vflag || o.c == 'V'
		case 's':
			if start, err = symOrHex(o.arg); err != nil {
				return err
			}
			sflag = true
		case 'e':
			if end, err = symOrHex(o.arg); err != nil {
				return err
			}
			if end == 0 {
				return errors.New("invalid ending address: 0")
			}
		case 'l':
			if length, err = parseCrashNumber(o.arg); err != nil {
				return err
			}
		case 'm':
			if mask, err = parseCrashHex(o.arg); err != nil {
				return err
			}
			haveMask = mask != 0
		case 'h':
			setMode(search.Ushort, 'h')
		case 'w':
			setMode(search.Uint, 'w')
		case 'c':
			setMode(search.Chars, 'c')
		case 'x':
			n, err := strconv.Atoi(o.arg)
			if err != nil {
				return fmt.Errorf("invalid decimal number: %s", o.arg)
			}
			context = n
		case 't':
			tflag = true
		case 'T':
			Tflag = true
		default:
			return usage(fmt.Errorf("-%c: invalid option", o.c))
		}
		if tflag && Tflag {
			return errors.New("-t and -T options are mutually exclusive")
		}
	}
	if (tflag || Tflag) && (memtype != 0 || start != 0 || end != 0 || length != 0) {
		c := 'T'
		if tflag {
			c = 't'
		}
		return fmt.Errorf("-%c option cannot be used with other memory-selection options", c)
	}
	if memtype == 0 {
		memtype = kv
	}
	if len(rest) == 0 || (length != 0 && end != 0) {
		return usage(errors.New("missing or conflicting arguments"))
	}
	if haveMask && mode == search.Chars {
		fmt.Fprintln(env.Err, "search: mask ignored on string search")
		haveMask, mask = false, 0
	}
	if context != 0 {
		if mode == search.Chars {
			return errors.New("-x option is not allowed with -c")
		}
		if max := search.PageSize / int(mode); context > max {
			return fmt.Errorf("context value %d is too large: maximum is %d", context, max)
		}
	}
	q := &search.Query{Mode: mode, Mask: mask}
	var vals []searchValue
	for _, a := range rest {
		if mode == search.Chars {
			if a != "" {
				q.Strings = append(q.Strings, []byte(a))
			}
			continue
		}
		var sv searchValue
		switch {
		case strings.HasPrefix(a, "("):
			v, err := expr.Eval(pe, a)
			if err != nil {
				return err
			}
			if sv.v, err = v.Uint(); err != nil {
				return err
			}
			sv.opt = a
		default:
			if s, _, ok := pe.Symbol(a); ok {
				sv.v, sv.opt = s, "("+a+")"
			} else if sv.v, err = parseCrashHex(a); err != nil {
				return err
			}
		}
		if haveMask {
			sv.opt = ""
		}
		switch {
		case mode == search.Uint && sv.v > 0xffffffff:
			return fmt.Errorf("value too large for -w option: %x %s", sv.v, sv.opt)
		case mode == search.Ushort && sv.v > 0xffff:
			return fmt.Errorf("value too large for -h option: %x %s", sv.v, sv.opt)
		}
		vals = append(vals, sv)
		q.Values = append(q.Values, sv.v)
	}
	if len(q.Values) == 0 && len(q.Strings) == 0 {
		return usage(errors.New("nothing to search for"))
	}
	if start&7 != 0 {
		start &^= 7
		fmt.Fprintf(env.Err, "search: rounding down start address to: %x\n", start)
	}
	sc := &search.Scanner{Q: q, Read: func(b []byte, pa uint64) error {
		_, err := p.ReadPhysDirect(b, pa)
		return err
	}}
	pr := &searchPrinter{env: env, p: p, q: q, vals: vals, context: context, memtype: memtype == phys}
	switch {
	case tflag || Tflag:
		return searchStacks(env, p, sc, pr, Tflag)
	case memtype == phys:
		if end == 0 {
			end = searchMaxPhys(p)
		}
		if length != 0 {
			end = start + length
		}
		if end < start {
			return usage(fmt.Errorf("ending address %x is below starting address %x", end, start))
		}
		sc.Scan(search.Linear(start, end, 0), pr.emit)
		return nil
	case memtype == uv:
		return searchUser(env, p, sc, pr, start, sflag, end, length)
	}
	l, w, err := searchLayout(p)
	if err != nil {
		return err
	}
	regs, errs := search.KernelRegions(p, l)
	for _, e := range errs {
		fmt.Fprintf(env.Err, "search: %v\n", e)
	}
	if len(regs) == 0 {
		return errors.New("no kernel memory ranges to search")
	}
	if !sflag {
		start = regs[0].Start
	}
	if start < 0xffff800000000000 {
		return usage(fmt.Errorf("invalid kernel virtual address: %x", start))
	}
	if length != 0 {
		end = start + length
	} else if end == 0 {
		for _, r := range regs {
			end = max(end, r.End)
		}
	}
	if end < start {
		return usage(fmt.Errorf("ending address %x is below starting address %x", end, start))
	}
	skip := func(k search.Kind) bool {
		switch k {
		case search.UnityMap, search.StartMap:
			return Vflag
		}
		return Kflag
	}
	sc.Scan(search.KernelPages(regs, l, w, start, end, skip), pr.emit)
	return nil
}

// searchLayout is the kernel's page-table root and direct map base.
func searchLayout(p *program.Program) (search.Layout, search.Walker, error) {
	info := p.Info()
	l := search.Layout{PageOffset: info.PageOffset, Level5: info.Level5}
	v := p.VmcoreInfo()
	if v == nil {
		return l, search.Walker{}, errors.New("no VMCOREINFO: cannot find the kernel page tables")
	}
	root, ok := v.Symbol("init_top_pgt")
	if !ok {
		root, ok = v.Symbol("swapper_pg_dir")
	}
	if !ok {
		return l, search.Walker{}, errors.New("VMCOREINFO has neither SYMBOL(init_top_pgt) nor SYMBOL(swapper_pg_dir)")
	}
	sme, _ := v.Number("sme_mask")
	l.SMEMask = uint64(sme)
	l.Root = amd64.KernelTextPhys(root, info.PhysBase)
	return l, search.Walker{W: &amd64.Walker{Mem: p, Root: l.Root, Level5: l.Level5, SMEMask: l.SMEMask}}, nil
}

// searchMaxPhys is the end of physical memory: max_pfn pages (crash: the
// end of the last node).
func searchMaxPhys(p *program.Program) uint64 {
	if a, err := p.Symbol("max_pfn"); err == nil {
		if n, err := p.ReadU64(a); err == nil && n > 0 && n < 1<<40 {
			return n * search.PageSize
		}
	}
	return 1 << 46
}

// searchUser searches the current context's user memory through its page
// tables (mm->pgd): the pages crash finds through the task's VMAs.
func searchUser(env *Env, p *program.Program, sc *search.Scanner, pr *searchPrinter, start uint64, sflag bool, end, length uint64) error {
	w, uend, err := userPageTables(p)
	if err != nil {
		return err
	}
	if start >= uend {
		writeUsage(env, "search", searchSynopsis)
		return fmt.Errorf("invalid user virtual address: %x", start)
	}
	if length != 0 {
		end = start + length
	}
	if end == 0 {
		end = uend
	}
	if end > uend {
		writeUsage(env, "search", searchSynopsis)
		return fmt.Errorf("ending address %x is in kernel space", end)
	}
	sw := search.Walker{W: w}
	pr.user = w
	sc.Scan(sw.Pages(start, end), pr.emit)
	return nil
}

// searchStacks searches each task's kernel stack (-t), or the running
// tasks' (-T), with a task header before a task's first match.
func searchStacks(env *Env, p *program.Program, sc *search.Scanner, pr *searchPrinter, active bool) error {
	tl, err := tasks.List(p, tasks.Options{})
	if err != nil {
		return err
	}
	run := map[int]uint64{}
	if active {
		if run, err = activeSet(p); err != nil {
			return err
		}
	}
	isRunning := map[uint64]bool{}
	if active {
		isRunning = activeTasks(p, tl.Tasks, run)
	}
	off, err := p.MemberOffset("task_struct", "stack")
	if err != nil {
		return err
	}
	l, w, err := searchLayout(p)
	if err != nil {
		return err
	}
	_ = l
	found := 0
	for _, t := range tl.Tasks {
		if active && !isRunning[t.Addr] {
			continue
		}
		base, err := p.ReadU64(t.Addr + off)
		if err != nil || base == 0 {
			continue
		}
		t := t
		pr.header = func() {
			taskHeader(env.Out, t, found > 0)
			found++
		}
		sc.Scan(w.Pages(base, base+stack.ThreadSize), pr.emit)
		pr.header = nil
	}
	return nil
}

// searchPrinter prints matches as crash does.
type searchPrinter struct {
	env     *Env
	p       *program.Program
	q       *search.Query
	vals    []searchValue
	context int
	memtype bool          // physical
	user    *amd64.Walker // the task's page tables (-u), for -x context
	header  func()        // a task's header, before its first match (-t)
}

func (pr *searchPrinter) emit(m search.Match) {
	w := pr.env.Out
	if pr.header != nil {
		pr.header()
		pr.header = nil
	}
	if pr.q.Mode == search.Chars {
		b := make([]byte, len(m.Text))
		for i, c := range m.Text {
			if c < 0x20 || c > 0x7e {
				c = '.'
			}
			b[i] = c
		}
		fmt.Fprintf(w, "%x: %s\n", m.Addr, b)
		return
	}
	opt := pr.vals[m.Index].opt
	if pr.context == 0 {
		fmt.Fprintf(w, "%x: %x %s\n", m.Addr, m.Value, opt)
		return
	}
	size := uint64(pr.q.Mode)
	amount := uint64(pr.context) * size
	pr.display(m.Addr-amount, size)
	fmt.Fprintf(w, "%16x:  %x %s\n", m.Addr, m.Value, opt)
	pr.display(m.Addr+size, size)
	fmt.Fprintln(w)
}

// display is crash's display_memory with HEXADECIMAL|NO_ERROR|
// ASCII_ENDLINE, as search -x shows context: count items of size bytes
// from addr, items that cannot be read left out (the rest close up),
// each line "ADDR:  items" and the ASCII at column 53/55/59.
func (pr *searchPrinter) display(addr, size uint64) {
	w := pr.env.Out
	perLine := 16 / int(size)
	asciiStart := map[uint64]int{8: 37, 4: 39, 2: 43}[size] + 16
	var hex []byte
	linelen, lost := 0, 0
	b := make([]byte, size)
	for i := 0; i < pr.context; i++ {
		a := addr + uint64(i)*size
		if err := pr.read(b, a); err != nil {
			lost++
			continue
		}
		if n := i - lost; n%perLine == 0 {
			if n > 0 {
				fmt.Fprintf(w, "  %s\n", hex)
			}
			fmt.Fprintf(w, "%16x:  ", a)
			hex, linelen = hex[:0], 16+3
		}
		var v uint64
		for k := int(size) - 1; k >= 0; k-- {
			v = v<<8 | uint64(b[k])
		}
		fmt.Fprintf(w, "%0*x ", int(size)*2, v)
		linelen += int(size)*2 + 1
		for _, c := range b {
			if c < 0x20 || c >= 0x7f {
				c = '.'
			}
			hex = append(hex, c)
		}
	}
	if len(hex) > 0 {
		if pad := asciiStart - linelen; pad > 0 {
			fmt.Fprint(w, strings.Repeat(" ", pad))
		}
		fmt.Fprintf(w, "  %s", hex)
	}
	if lost != pr.context {
		fmt.Fprintln(w)
	}
}

// read reads one context item: kernel virtual, physical or user memory.
func (pr *searchPrinter) read(b []byte, a uint64) error {
	switch {
	case pr.memtype:
		_, err := pr.p.ReadPhysAt(b, a)
		return err
	case pr.user != nil:
		pa, _, err := pr.user.Translate(a)
		if err != nil {
			return err
		}
		if (pa+uint64(len(b))-1)/search.PageSize != pa/search.PageSize {
			return errors.New("item crosses a page")
		}
		_, err = pr.p.ReadPhysAt(b, pa)
		return err
	}
	_, err := pr.p.ReadAt(b, a)
	return err
}

// userPageTables is the current context's page tables (mm->pgd) and the
// end of user space (TASK_SIZE_MAX), or crash's error when the context
// has no user address space.
func userPageTables(p *program.Program) (*amd64.Walker, uint64, error) {
	tl, err := tasks.List(p, tasks.Options{})
	if err != nil {
		return nil, 0, err
	}
	run, err := activeSet(p)
	if err != nil {
		return nil, 0, err
	}
	t, ok := currentTask(p, tl.Tasks, run)
	if !ok {
		return nil, 0, errors.New("no current context")
	}
	if t.Mm == 0 || t.Flags&0x00200000 != 0 { // PF_KTHREAD
		return nil, 0, errors.New("current context has no user address space")
	}
	off, err := p.MemberOffset("mm_struct", "pgd")
	if err != nil {
		return nil, 0, err
	}
	pgd, err := p.ReadU64(t.Mm + off)
	if err != nil {
		return nil, 0, fmt.Errorf("mm_struct %x: pgd: %v", t.Mm, err)
	}
	root, err := p.Translate(pgd)
	if err != nil {
		return nil, 0, fmt.Errorf("mm_struct %x: pgd %x: %v", t.Mm, pgd, err)
	}
	l, _, err := searchLayout(p)
	if err != nil {
		return nil, 0, err
	}
	uend := uint64(0x00007ffffffff000) // TASK_SIZE_MAX (4-level)
	if l.Level5 {
		uend = 0x00fffffffffff000
	}
	return &amd64.Walker{Mem: p, Root: root, Level5: l.Level5, SMEMask: l.SMEMask}, uend, nil
}

// userMem reads the current context's user memory through its page
// tables; everything else is the program's (struct -u).
type userMem struct {
	*program.Program
	w *amd64.Walker
}

func (u userMem) ReadAt(b []byte, addr uint64) (int, error) {
	done := 0
	for done < len(b) {
		a := addr + uint64(done)
		pa, _, err := u.w.Translate(a)
		if err != nil {
			return done, fmt.Errorf("invalid user virtual address: %x", a)
		}
		n := min(len(b)-done, search.PageSize-int(a%search.PageSize))
		if _, err := u.Program.ReadPhysAt(b[done:done+n], pa); err != nil {
			return done, fmt.Errorf("user virtual address %x: %v", a, err)
		}
		done += n
	}
	return done, nil
}
