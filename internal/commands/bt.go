package commands

// bt: a task's kernel stack backtrace, as crash's x86_64 bt prints it, from
// kdive's ORC unwinder (internal/kernel/stack).

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"kdive/internal/arch/amd64"
	"kdive/internal/kernel/stack"
	"kdive/internal/kernel/tasks"
	"kdive/internal/program"
)

const btSynopsis = "[-a|-c cpu(s)|-p|-g] [-f|-F[F]] [-l] [-s [-x|-d]] [-t|-T] [-e|-E|-r|-v] [-o] [-R ref] [-I ip] [-S sp] [pid | task]"

func init() {
	Register(&Command{
		Name:    "bt",
		Summary: "backtrace",
		Usage:   btSynopsis,
		Help: `  Displays a task's kernel-stack backtrace, walked with the kernel's own ORC
  unwind tables (from the vmlinux when one is given, else from the dump's
  memory; each module's from its struct module).  With no argument, the
  current context is shown (the task that panicked, unless another was
  chosen with set).

  Tasks running at the crash start from the registers the dump saved: the
  NT_PRSTATUS notes of a kdump dump (the panicking CPU's path down to
  machine_kexec, the other CPUs' crash NMI and the code it interrupted) or
  the QEMU notes of a QEMU dump.  Other tasks start from the frame the
  scheduler left at task->thread.sp.  Exception and interrupt frames show
  the registers saved in their pt_regs, "--- <stack> ---" marks a change of
  stack, and a trace into user mode ends with the user registers.  A trace
  that cannot go on ends with a line saying where and why.

  With a vmlinux, functions the compiler inlined at a frame's address are
  shown as frames of their own above it, unnumbered, with the frame's
  stack address and "(inlined)" after the name:
      [ffffd522803f3a00] kexec_unlock (inlined) at ffffffffbc963ff7
   #1 [ffffd522803f3a00] __crash_kexec at ffffffffbc963ff7
  With -l, the first frame of such a group has the line of the address
  (the line crash shows for the frame) and each frame below it the line
  where the function above it was inlined.

        -a  the active task on each CPU (the one running there, or the
            one set -a marked active; a marked task's trace starts from
            its own saved state, the CPU's registers being the running
            task's).
    -c cpu  the active task on each listed CPU ("1", "0,2", "0-3").
        -p  the panic task (the default when no task is named and no
            other context was chosen with set).
        -g  every thread in the task's thread group.
    -R ref  only the traces that contain ref: a function name or a
            text address in hexadecimal; each is followed by a blank
            line, as crash prints them (also under foreach).
     -S sp  start the walk at stack address sp: the word there is taken
            as a return address (with -I, ip is the first frame's
            instruction and sp its stack pointer).
     -I ip  start the walk at instruction ip (needs -S).
        -f  the stack words of each frame.
        -F  as -f, but a word that is a kernel symbol's address is shown as
            the symbol (name+offset), and a word pointing into a slab
            object as the slab cache's name in brackets ("[kmalloc-1k]"),
            as rd -S shows them.
       -FF  as -F, with the address before the cache's name
            ("[ffff8f3fc12f9800:kmalloc-2k]").
        -l  the source file and line under each frame (and after an
            exception frame's registers), from the vmlinux's DWARF.
        -s  symbol+offset for each frame (decimal; -sx: hexadecimal).
        -x  hexadecimal offsets with -s.
        -d  decimal offsets with -s.
        -t  every text address on the stack from the trace's start.
        -T  every text address on the whole task stack.
        -e  search the whole task stack for possible exception frames
            (a struct pt_regs whose segments, flags, RIP and RSP are
            plausible), each shown as a KERNEL-MODE or USER-MODE
            EXCEPTION FRAME with its registers.  The checks are crash's
            (x86_64_eframe_verify): RFLAGS bit 1 set and its read-as-zero
            bits clear; kernel CS 0x10 with a kernel text RIP and a
            kernel RSP (any RSP on a double-fault or NMI stack, a user RSP
            on an exception stack), RSP just above the frame, or a RIP in
            the vmalloc, vmemmap, module, vsyscall or cpu_entry_area
            ranges that translates; user CS 0x33/0x23 with SS 0x2b and a
            user RIP and RSP (or a RIP in the vsyscall page).  Like
            crash's search, a kernel-mode frame whose RSP is in the
            task's user stack is not taken on the task stack.
        -E  the same search on each CPU's IRQ stack and exception stacks
            (with -c, only those CPUs').
        -r  the raw task stack, every word, as rd -s shows it.
        -v  check every task's stack for an overflow: the STACK_END_MAGIC
            word at the stack's end (and thread_info.task and .cpu where
            the thread_info is at the stack's base).
        -o  crash's alternative unwinder; kdive always walks the kernel's
            ORC tables, so -o changes nothing.
       pid  a process ID.
      task  a task_struct address, in hexadecimal.

EXAMPLES
    kdive> bt
    PID: 1        TASK: ffff8a87011f9800  CPU: 0    COMMAND: "init"
     #0 [ffffcb1180013ac8] machine_kexec at ffffffffa846c57f
     #1 [ffffcb1180013b20] __crash_kexec at ffffffffa8563ff7
     #2 [ffffcb1180013be0] panic at ffffffffa8dc4f95
     ...`,
		Run: runBt,
	})
}

type btOptions struct {
	all              bool
	cpus             []int
	frames           bool
	lines            bool
	symOff, hex      bool
	text, textAll    bool
	hasCPUs          bool
	ref              string
	group            bool
	startIP, startSP uint64
	panic            bool // -p: the panic task, whatever the context
	eframes          bool // -e: search the stack for exception frames
	eframesAll       bool // -E: search every CPU's IRQ and exception stacks
	raw              bool // -r: the raw stack words
	overflow         bool // -v: check every task for a stack overflow
	// fullSym is -F (1) or -FF (2): -f with symbols and slab caches.
	fullSym int
	// cacheOf names the slab cache of an address for -F, as rd -S.
	cacheOf func(addr uint64) string
}

func runBt(env *Env, args []string) error {
	opts, rest, err := getopt("bt", args, "ac:fFlsxdtTpR:gI:S:eEorv")
	if err != nil {
		writeUsage(env, "bt", btSynopsis)
		return err
	}
	var o btOptions
	for _, op := range opts {
		switch op.c {
		case 'a':
			o.all = true
		case 'c':
			cpus, err := parseCPUList(op.arg)
			if err != nil {
				return err
			}
			o.cpus, o.hasCPUs = append(o.cpus, cpus...), true
		case 'f':
			o.frames = true
		case 'F':
			// crash's BT_FULL_SYM_SLAB, then BT_FULL_SYM_SLAB2.
			o.frames = true
			if o.fullSym < 2 {
				o.fullSym++
			}
		case 'l':
			o.lines = true
		case 's':
			o.symOff = true
		case 'x':
			o.hex = true
		case 'd':
			o.hex = false
		case 't':
			o.text = true
		case 'T':
			o.textAll = true
		case 'p':
			o.panic = true
		case 'R':
			o.ref = op.arg
		case 'g':
			o.group = true
		case 'e':
			o.eframes = true
		case 'E':
			o.eframesAll = true
		case 'r':
			o.raw = true
		case 'v':
			o.overflow = true
		case 'o':
			// crash's optional (older) x86-64 unwinder: kdive has one,
			// the kernel's ORC tables.
		case 'I', 'S':
			v, err := parseAddrArg(op.arg, lazySyms(func() *ksymView { return viewOf(env.Prog) }))
			if err != nil {
				return fmt.Errorf("invalid -%c argument: %s", op.c, op.arg)
			}
			if op.c == 'I' {
				o.startIP = v
			} else {
				o.startSP = v
			}
		}
	}
	p := env.Prog
	o.cacheOf = func(a uint64) string {
		if kmemSlab.CacheOf == nil || env.Prog == nil {
			return ""
		}
		return kmemSlab.CacheOf(env, a)
	}
	k, err := stack.For(p)
	if err != nil {
		return err
	}
	tl, err := tasks.List(p, tasks.Options{})
	if err != nil {
		return err
	}
	if o.overflow {
		return btOverflow(env.Out, p, tl.Tasks)
	}
	var targets []tasks.Task
	byAddr := map[uint64]tasks.Task{}
	for _, t := range tl.Tasks {
		byAddr[t.Addr] = t
	}
	marks := p.ActiveTaskMarks()
	// active is the CPU's task for -a and -c: the one running there, or
	// the one `set -a` marked active on it (crash: get_active_task reads
	// panic_threads[], which set -a changes). Its trace starts where the
	// task's own state says: the dump's registers of a CPU belong to the
	// task current_task names (see stack.Kernel.Unwind), so a marked
	// sleeping task unwinds from its switch frame, as crash's does when
	// the CPU's NT_PRSTATUS stack pointer is not on that task's stack.
	active := func(cpu int) (tasks.Task, bool) {
		a, ok := k.Current[cpu]
		if m, marked := marks[cpu]; marked {
			a, ok = m, true
		}
		if !ok {
			return tasks.Task{}, false
		}
		t, ok := byAddr[a]
		if !ok {
			t = tasks.Task{Addr: a, CPU: cpu, Comm: "?"}
		}
		return t, true
	}
	switch {
	case o.all || o.hasCPUs:
		cpus := o.cpus
		if o.all {
			cpus = cpus[:0]
			for c := range k.Current {
				cpus = append(cpus, c)
			}
			sort.Ints(cpus)
		}
		for _, c := range cpus {
			t, ok := active(c)
			if !ok {
				return fmt.Errorf("invalid cpu number: %d", c)
			}
			targets = append(targets, t)
		}
	case len(rest) > 0:
		for _, a := range rest {
			ts, err := findTasks(tl.Tasks, byAddr, a)
			if err != nil {
				return err
			}
			targets = append(targets, ts...)
		}
	default:
		if a, ok := p.CurrentTask(); ok && !o.panic {
			// The context chosen with set.
			if t, ok := byAddr[a]; ok {
				targets = append(targets, t)
				break
			}
		}
		a, cpu, ok := k.PanicTask()
		if !ok {
			// No panic CPU recorded (a live kernel or a dump taken
			// without a panic): crash's default is CPU 0's task.
			if t, ok := active(0); ok {
				targets = append(targets, t)
				break
			}
			return fmt.Errorf("no panic task and no task running on CPU 0")
		}
		t, ok := byAddr[a]
		if !ok {
			t = tasks.Task{Addr: a, CPU: cpu, Comm: "?"}
		}
		targets = append(targets, t)
	}
	if o.startIP != 0 && o.startSP == 0 {
		return fmt.Errorf("-I requires -S")
	}
	if o.group {
		var all []tasks.Task
		seen := map[uint64]bool{}
		for _, t := range targets {
			for _, u := range tl.Tasks {
				if u.TGID == t.TGID && !u.Idle && !seen[u.Addr] {
					seen[u.Addr] = true
					all = append(all, u)
				}
			}
			if t.Idle && !seen[t.Addr] {
				seen[t.Addr] = true
				all = append(all, t)
			}
		}
		targets = all
	}
	if o.eframesAll && len(targets) > 0 {
		var cpus map[int]bool
		if o.hasCPUs {
			cpus = map[int]bool{}
			for _, c := range o.cpus {
				cpus[c] = true
			}
		}
		return btEframeSearchAll(env.Out, p, k, targets[0].Addr, cpus)
	}
	printed := 0
	for _, t := range targets {
		var buf bytes.Buffer
		if err := btRun(&buf, p, k, t, &o); err != nil {
			if len(targets) == 1 {
				return err
			}
			// One task's failure does not hide the others'.
			btHeader(&buf, t, k.CPUOf(t.Addr))
			fmt.Fprintf(&buf, "bt: %v\n", err)
		}
		if o.ref != "" {
			if !btRefers(p, k, t.Addr, o.ref) {
				continue
			}
			// crash's back_trace with a reference: the header, the
			// trace and a blank line, for each task whose trace has it
			// (kernel.c: BT_REFERENCE_FOUND), no separator between.
			env.Out.Write(buf.Bytes())
			fmt.Fprintln(env.Out)
			continue
		}
		if printed > 0 {
			fmt.Fprintln(env.Out)
		}
		printed++
		env.Out.Write(buf.Bytes())
	}
	return nil
}

// btRefers reports whether task's trace has a frame in function ref, or at
// text address ref.
func btRefers(p *program.Program, k *stack.Kernel, task uint64, ref string) bool {
	bt, err := k.Unwind(task)
	if err != nil {
		return false
	}
	addr, aerr := parseCrashHex(ref)
	for _, f := range bt.Frames {
		if s, _, ok := p.SymbolAt(f.LookupIP()); ok && s.Name == ref {
			return true
		}
		if aerr == nil && isCrashHex(ref) && f.IP == addr {
			return true
		}
	}
	return false
}

func parseCPUList(s string) ([]int, error) {
	var out []int
	for _, part := range strings.Split(s, ",") {
		if part == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 0 {
			return nil, fmt.Errorf("invalid cpu specification: %s", s)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a || b-a > 8192 {
				return nil, fmt.Errorf("invalid cpu specification: %s", s)
			}
		}
		for c := a; c <= b; c++ {
			out = append(out, c)
		}
	}
	return out, nil
}

// findTasks resolves a task argument as crash does (taskArg: a decimal
// PID, else a task_struct address in hexadecimal), or says it is invalid.
// byAddr is unused: kept so that callers need not change.
func findTasks(all []tasks.Task, _ map[uint64]tasks.Task, a string) ([]tasks.Task, error) {
	if ts, ok := taskArg(all, a); ok {
		return ts, nil
	}
	return nil, fmt.Errorf("invalid task or pid value: %s", a)
}

func btHeader(w io.Writer, t tasks.Task, cpu int) {
	c := "-"
	if cpu >= 0 {
		c = strconv.Itoa(cpu)
	} else if t.CPU >= 0 {
		c = strconv.Itoa(t.CPU)
	}
	if t.Idle {
		c = strconv.Itoa(t.IdleCPU)
	}
	fmt.Fprintf(w, "PID: %-7d  TASK: %x  CPU: %-3s  COMMAND: \"%s\"\n", t.PID, t.Addr, c, t.Comm)
}

func btTask(w io.Writer, p *program.Program, k *stack.Kernel, t tasks.Task, o *btOptions) error {
	var bt *stack.Backtrace
	if o.startSP != 0 {
		st := stack.State{IP: o.startIP, SP: o.startSP, Signal: true}
		if o.startIP == 0 {
			ret, err := p.ReadU64(o.startSP)
			if err != nil {
				return fmt.Errorf("-S %x: %v", o.startSP, err)
			}
			st = stack.State{IP: ret, SP: o.startSP + 8, Addr: o.startSP}
		}
		tr, err := k.UnwindFrom(t.Addr, st)
		if err != nil {
			return err
		}
		bt = &stack.Backtrace{Task: t.Addr, CPU: k.CPUOf(t.Addr), Trace: tr, Start: "-S"}
	} else {
		var err error
		if bt, err = k.Unwind(t.Addr); err != nil {
			return err
		}
	}
	btHeader(w, t, bt.CPU)
	if o.text || o.textAll {
		return btText(w, p, k, t, bt, o)
	}
	fr := bt.Frames
	n := 0
	frameAddr := func(i int) uint64 {
		if fr[i].Addr != 0 && fr[i].Regs == nil {
			return fr[i].Addr
		}
		return fr[i].SP
	}
	for i := 0; i < len(fr); i++ {
		f := fr[i]
		if f.Regs != nil {
			btRegs(w, p, f, true)
			btRegsSource(w, p, f, o)
			if i > 0 && (fr[i-1].Stack.Lo != f.Stack.Lo || fr[i-1].Stack.Hi != f.Stack.Hi) {
				fmt.Fprintf(w, "--- <%s> ---\n", stackName(fr[i-1].Stack))
				btFrame(w, p, n, f.SP, f, o)
				n++
			} else if o.frames && i > 0 && i+1 < len(fr) {
				btWords(w, p, fr[i-1].Addr+8, fr[i+1].Addr+8, o)
			}
			continue
		}
		if i > 0 && fr[i-1].Regs == nil && (fr[i-1].Stack.Lo != f.Stack.Lo || fr[i-1].Stack.Hi != f.Stack.Hi) {
			fmt.Fprintf(w, "--- <%s> ---\n", stackName(fr[i-1].Stack))
		}
		btFrame(w, p, n, frameAddr(i), f, o)
		n++
		if o.frames && i+1 < len(fr) && fr[i+1].Regs == nil && fr[i+1].Addr > frameAddr(i) {
			btWords(w, p, frameAddr(i)+8, fr[i+1].Addr+8, o)
		}
	}
	if bt.User != nil {
		btRegs(w, p, stack.Frame{Regs: bt.User, RegsAddr: bt.UserAddr}, false)
	}
	if bt.Err != nil {
		fmt.Fprintf(w, "bt: %v\n", bt.Err)
	}
	return nil
}

func stackName(s stack.Stack) string {
	switch s.Kind {
	case stack.KindException:
		// crash's names for the IST stacks.
		name := map[string]string{"DF": "DOUBLEFAULT", "DB": "DEBUG"}[s.Name]
		if name == "" {
			name = s.Name
		}
		return name + " exception stack"
	case stack.KindIRQ:
		return "IRQ stack"
	case stack.KindEntry:
		return "entry stack"
	}
	return "process stack"
}

// btSym is crash's "name" (or name+off with -s) and " [module]" suffix.
func btSym(p *program.Program, ip uint64, o *btOptions) (string, string) {
	return btSymAt(p, ip, ip, o)
}

// btSymAt names ip by the symbol containing look (ip, or ip-1 for a return
// address), with ip's offset from that symbol.
func btSymAt(p *program.Program, ip, look uint64, o *btOptions) (string, string) {
	s, _, ok := p.SymbolAt(look)
	if !ok || !isTextAddr(p, look) {
		return fmt.Sprintf("%x", ip), ""
	}
	off := ip - s.Addr
	name := s.Name
	if o != nil && o.symOff && off != 0 {
		if o.hex {
			name += fmt.Sprintf("+%#x", off)
		} else {
			name += fmt.Sprintf("+%d", off)
		}
	}
	mod := ""
	if s.Module != "" {
		mod = " [" + s.Module + "]"
	}
	return name, mod
}

func btLine(w io.Writer, p *program.Program, n int, addr uint64, f stack.Frame, o *btOptions) {
	ip := f.IP
	name, mod := btSymAt(p, ip, f.LookupIP(), o)
	fmt.Fprintf(w, "%3s [%x] %s at %x%s\n", "#"+strconv.Itoa(n), addr, name, ip, mod)
}

// btRegs prints a pt_regs as crash does: "[exception RIP: ...]" for a
// kernel-mode frame, the bare register block for user mode.
func btRegs(w io.Writer, p *program.Program, f stack.Frame, kernel bool) {
	r := f.Regs
	if r.Valid != amd64.AllValid && f.RegsAddr != 0 {
		var b [amd64.PtRegsSize]byte
		if _, err := p.ReadAt(b[:], f.RegsAddr); err == nil {
			r, _ = amd64.ParsePtRegs(b[:])
		}
	}
	R := r.R
	if kernel {
		s, off, ok := p.SymbolAt(R[amd64.RIP])
		name := fmt.Sprintf("%x", R[amd64.RIP])
		if ok {
			name = s.Name
			if off != 0 && p.OutputRadix() == 16 {
				name += fmt.Sprintf("+%#x", off) // crash: under set radix 16
			} else if off != 0 {
				name += fmt.Sprintf("+%d", off)
			}
		}
		fmt.Fprintf(w, "    [exception RIP: %s]\n", name)
	}
	fmt.Fprintf(w, "    RIP: %016x  RSP: %016x  RFLAGS: %08x\n", R[amd64.RIP], R[amd64.RSP], R[amd64.RFLAGS])
	fmt.Fprintf(w, "    RAX: %016x  RBX: %016x  RCX: %016x\n", R[amd64.RAX], R[amd64.RBX], R[amd64.RCX])
	fmt.Fprintf(w, "    RDX: %016x  RSI: %016x  RDI: %016x\n", R[amd64.RDX], R[amd64.RSI], R[amd64.RDI])
	fmt.Fprintf(w, "    RBP: %016x   R8: %016x   R9: %016x\n", R[amd64.RBP], R[amd64.R8], R[amd64.R9])
	fmt.Fprintf(w, "    R10: %016x  R11: %016x  R12: %016x\n", R[amd64.R10], R[amd64.R11], R[amd64.R12])
	fmt.Fprintf(w, "    R13: %016x  R14: %016x  R15: %016x\n", R[amd64.R13], R[amd64.R14], R[amd64.R15])
	fmt.Fprintf(w, "    ORIG_RAX: %016x  CS: %04x  SS: %04x\n", R[amd64.OrigRAX], R[amd64.CS], R[amd64.SS])
}

// btWords prints the stack words in [from, to), two a line, as bt -f
// (crash's x86_64_display_full_frame); with -F each word as
// format_stack_entry shows it.
func btWords(w io.Writer, p *program.Program, from, to uint64, o *btOptions) {
	if to <= from || to-from > 64<<10 {
		return
	}
	buf := make([]byte, to-from)
	if _, err := p.ReadAt(buf, from); err != nil {
		fmt.Fprintf(w, "    %x: (cannot read: %v)\n", from, err)
		return
	}
	var vw *ksymView
	if o != nil && o.fullSym > 0 {
		vw = viewOf(p)
	}
	for off := 0; off < len(buf); off += 16 {
		fmt.Fprintf(w, "    %x: ", from+uint64(off))
		for j := off; j < off+16 && j+8 <= len(buf); j += 8 {
			v := binary.LittleEndian.Uint64(buf[j:])
			if vw != nil {
				if s := btFullWord(p, vw, v, o); s != "" {
					fmt.Fprintf(w, "%-16s ", s)
					continue
				}
			}
			fmt.Fprintf(w, "%016x ", v)
		}
		fmt.Fprintln(w)
	}
}

// btFullWord is crash's format_stack_entry under bt -F: for a readable
// address, the symbol containing it (value_to_symstr, as rd -s) or the
// slab cache of the object it points into (as rd -S); "" for neither.
func btFullWord(p *program.Program, vw *ksymView, v uint64, o *btOptions) string {
	var b [1]byte
	if _, err := p.ReadAt(b[:], v); err != nil {
		return "" // crash: accessible(value)
	}
	if vw.inRange(v) {
		if s := vw.symbolString(v); s != "" {
			return s
		}
	}
	if o.cacheOf == nil {
		return ""
	}
	name := o.cacheOf(v)
	switch {
	case name == "":
		return ""
	case o.fullSym > 1:
		return fmt.Sprintf("[%x:%s]", v, name)
	}
	return "[" + name + "]"
}

// btText is bt -t / -T: every word on the stack that is a kernel text
// address. -t scans from the trace's start to the top of each stack the
// trace crosses (an exception frame that switches stacks is shown, as
// crash does, with the interrupted function at the left stack's base);
// -T scans the whole task stack.
func btText(w io.Writer, p *program.Program, k *stack.Kernel, t tasks.Task, bt *stack.Backtrace, o *btOptions) error {
	if o.textAll {
		st, err := k.Stacks(t.Addr)
		if err != nil {
			return err
		}
		btScan(w, p, st[0].Lo, st[0].Hi)
		if bt.User != nil {
			btRegs(w, p, stack.Frame{Regs: bt.User, RegsAddr: bt.UserAddr}, false)
		}
		return nil
	}
	if len(bt.Frames) == 0 {
		if bt.Err != nil {
			fmt.Fprintf(w, "bt: %v\n", bt.Err)
		}
		return nil
	}
	f0 := bt.Frames[0]
	from := f0.Addr
	if from == 0 {
		from = f0.SP
	}
	name, mod := btSymAt(p, f0.IP, f0.LookupIP(), nil)
	fmt.Fprintf(w, "              START: %s at %x%s\n", name, f0.IP, mod)
	cur := f0.Stack
	for _, f := range bt.Frames[1:] {
		if f.Stack.Lo == cur.Lo && f.Stack.Hi == cur.Hi {
			continue
		}
		if f.Regs != nil {
			btScan(w, p, from, f.RegsAddr)
			btRegs(w, p, f, true)
			fmt.Fprintf(w, "--- <%s> ---\n", stackName(cur))
			name, mod := btSym(p, f.IP, nil)
			fmt.Fprintf(w, "  [%x] %s at %x%s\n", cur.Lo, name, f.IP, mod)
			from = f.SP
		} else {
			btScan(w, p, from, cur.Hi)
			fmt.Fprintf(w, "--- <%s> ---\n", stackName(cur))
			from = f.Addr
		}
		cur = f.Stack
	}
	btScan(w, p, from, cur.Hi)
	if bt.User != nil {
		btRegs(w, p, stack.Frame{Regs: bt.User, RegsAddr: bt.UserAddr}, false)
	}
	return nil
}

// btScan prints the text addresses among the stack words in [lo, hi).
func btScan(w io.Writer, p *program.Program, lo, hi uint64) {
	if hi <= lo || hi-lo > 64<<10 {
		return
	}
	buf := make([]byte, hi-lo)
	if _, err := p.ReadAt(buf, lo); err != nil {
		fmt.Fprintf(w, "bt: reading the stack at %x: %v\n", lo, err)
		return
	}
	for off := 0; off+8 <= len(buf); off += 8 {
		v := binary.LittleEndian.Uint64(buf[off:])
		if !isTextAddr(p, v) {
			continue
		}
		name, mod := btSym(p, v, nil)
		fmt.Fprintf(w, "  [%x] %s at %x%s\n", lo+uint64(off), name, v, mod)
	}
}

func isTextAddr(p *program.Program, v uint64) bool {
	if v < 0xffffffff80000000 {
		return false
	}
	// Any address a text symbol covers, even just past its end: a return
	// address after a call to a noreturn function points there.
	s, _, ok := p.SymbolAt(v)
	if !ok {
		return false
	}
	switch s.Type {
	case 't', 'T', 'W', 'w':
		return true
	}
	return false
}
