package commands

// bt -e, -E, -r and -v: crash's exception frame search, raw stack dump and
// stack overflow check (kernel.c back_trace, x86_64.c x86_64_eframe_search
// and x86_64_eframe_verify, task.c check_stack_overflow).

import (
	"fmt"
	"io"
	"strconv"

	"kdive/internal/arch/amd64"
	"kdive/internal/kernel/stack"
	"kdive/internal/kernel/tasks"
	"kdive/internal/program"
)

// btRun is one task's bt: the exception frame search (-e), the raw stack
// (-r) or the backtrace.
func btRun(w io.Writer, p *program.Program, k *stack.Kernel, t tasks.Task, o *btOptions) error {
	switch {
	case o.raw:
		st, err := k.Stacks(t.Addr)
		if err != nil {
			return err
		}
		btHeader(w, t, k.CPUOf(t.Addr))
		return btRawStack(w, p, st[0])
	case o.eframes:
		st, err := k.Stacks(t.Addr)
		if err != nil {
			return err
		}
		btHeader(w, t, k.CPUOf(t.Addr))
		btEframeSearch(w, p, st[0], false, -1)
		return nil
	}
	return btTask(w, p, k, t, o)
}

// btRawStack is crash's raw_stack_dump: the whole stack as rd -s shows it.
func btRawStack(w io.Writer, p *program.Program, s stack.Stack) error {
	var errb discard
	return runRd(&Env{Prog: p, Out: w, Err: &errb}, []string{"-s", fmt.Sprintf("%x", s.Lo), strconv.FormatUint((s.Hi-s.Lo)/8, 10)})
}

type discard struct{}

func (discard) Write(b []byte) (int, error) { return len(b), nil }

// raz is x86's RFLAGS read-as-zero bits (crash's RAZ_MASK).
const raz = 0xffffffffffc08028

// btEframeSearch prints every place in s that holds a plausible struct
// pt_regs, as crash's x86_64_eframe_search does: each position from the
// stack's base up to the last where a whole pt_regs fits. exc is whether
// s is a CPU's exception stack, estack its index (crash's order: 0 double
// fault, 1 NMI). It returns how many frames it printed.
func btEframeSearch(w io.Writer, p *program.Program, s stack.Stack, exc bool, estack int) int {
	if s.Hi <= s.Lo || s.Hi-s.Lo > 1<<20 || s.Hi-s.Lo < amd64.PtRegsSize {
		return 0
	}
	buf := make([]byte, s.Hi-s.Lo)
	if _, err := p.ReadAt(buf, s.Lo); err != nil {
		fmt.Fprintf(w, "bt: reading the stack at %x: %v\n", s.Lo, err)
		return 0
	}
	kvbase := kvBaseOf(p)
	vmallocLo := uint64(0xffffc90000000000) // VMALLOC_START without KASLR
	if a, err := p.Symbol("vmalloc_base"); err == nil {
		if v, err := p.ReadU64(a); err == nil && v != 0 {
			vmallocLo = v
		}
	}
	// crash's IS_VMALLOC_ADDR (vmalloc space, 32 TiB with 4-level paging,
	// or the module area) and a RIP that translates.
	vmallocText := func(v uint64) bool {
		in := v >= vmallocLo && v-vmallocLo < 32<<40 || v >= 0xffffffffa0000000 && v < 0xffffffffff000000
		if !in {
			return false
		}
		_, err := p.Translate(v)
		return err == nil
	}
	isKV := func(v uint64) bool { return v >= kvbase }
	isUV := func(v uint64) bool { return v < 0x0000800000000000 }
	n := 0
	for off := 0; off+amd64.PtRegsSize <= len(buf); off += 8 {
		r, err := amd64.ParsePtRegs(buf[off : off+amd64.PtRegsSize])
		if err != nil {
			break
		}
		at := s.Lo + uint64(off)
		R := r.R
		rip, rsp, cs, ss, fl := R[amd64.RIP], R[amd64.RSP], R[amd64.CS], R[amd64.SS], R[amd64.RFLAGS]
		ok := false
		if fl&raz == 0 && fl&2 != 0 {
			text := isTextAddr(p, rip)
			switch {
			case cs == 0x10 && ss == 0x18 && text && isKV(rsp),
				cs == 0x10 && ss == 0x18 && text && exc && (!isKV(rsp) || estack >= 0 && estack <= 1),
				cs == 0x10 && ss == 0x18 && at+amd64.PtRegsSize == rsp,
				cs == 0x10 && text && isKV(rsp) && (rsp == at+amd64.PtRegsSize || rsp == at+amd64.PtRegsSize+8 || exc),
				cs == 0x10 && isKV(rsp) && vmallocText(rip),
				(cs == 0x33 || cs == 0x23) && ss == 0x2b && isUV(rip) && isUV(rsp),
				cs == 0x33 && ss == 0x2b && rip>>12 == 0xffffffffff600 && isUV(rsp):
				ok = true
			}
		}
		if !ok {
			continue
		}
		n++
		mode := "KERNEL"
		if cs&3 != 0 {
			mode = "USER"
		}
		fmt.Fprintf(w, "\n  %s-MODE EXCEPTION FRAME AT: %x\n", mode, at)
		btRegs(w, p, stack.Frame{Regs: r}, cs&3 == 0)
	}
	return n
}

// btEframeSearchAll is bt -E: the search on each CPU's IRQ stack, then
// on each CPU's exception stacks.
func btEframeSearchAll(w io.Writer, p *program.Program, k *stack.Kernel, task uint64, cpus map[int]bool) error {
	st, err := k.Stacks(task)
	if err != nil {
		return err
	}
	one := func(title string, s stack.Stack, exc bool, idx int) {
		fmt.Fprintf(w, "%s:\n", title)
		if btEframeSearch(w, p, s, exc, idx) > 0 {
			fmt.Fprintln(w)
		} else {
			fmt.Fprint(w, "(none found)\n\n")
		}
	}
	for _, s := range st[1:] {
		if s.Kind == stack.KindIRQ && (cpus == nil || cpus[s.CPU]) {
			one(fmt.Sprintf("CPU %d IRQ STACK", s.CPU), s, false, -1)
		}
	}
	idx := map[int]int{}
	for _, s := range st[1:] {
		if s.Kind == stack.KindException && (cpus == nil || cpus[s.CPU]) {
			if _, err := p.ReadU64(s.Lo); err != nil {
				// Not mapped (e.g. the VC stacks without SEV): crash
				// shows only the available ones.
				continue
			}
			name := stackName(s) // "NMI exception stack"
			name = name[:len(name)-len(" exception stack")]
			one(fmt.Sprintf("CPU %d %s EXCEPTION STACK", s.CPU, name), s, true, idx[s.CPU])
			idx[s.CPU]++
		}
	}
	return nil
}

// stackEndMagic is STACK_END_MAGIC (include/uapi/linux/magic.h), written
// at the far end of every task stack by set_task_stack_end_magic.
const stackEndMagic = 0x57ac6e9d

// btOverflow is bt -v: crash's check_stack_overflow over every task: the
// STACK_END_MAGIC word at the end of each stack (with the thread_info in
// the task_struct), or thread_info.task and thread_info.cpu of a
// thread_info at the stack's base.
func btOverflow(w io.Writer, p *program.Program, all []tasks.Task) error {
	stackOff, err := p.MemberOffset("task_struct", "stack")
	if err != nil {
		return fmt.Errorf("-v: task_struct.stack: %v", err)
	}
	inTask := p.HasMember("task_struct", "thread_info")
	tiTask, errTask := p.MemberOffset("thread_info", "task")
	tiCPU, errCPU := p.MemberOffset("thread_info", "cpu")
	tiSize, _ := p.TypeSize("thread_info")
	ncpus := len(tasks.PossibleCPUs(p))
	initTask, _ := p.Symbol("init_task")
	total := 0
	for _, t := range foreachOrder(all) {
		base, err := p.ReadU64(t.Addr + stackOff)
		if err != nil || base == 0 {
			continue
		}
		n := 0
		report := func(format string, a ...any) {
			if n == 0 {
				taskHeader(w, t, false)
			}
			fmt.Fprintf(w, "  possible stack overflow: "+format+"\n", a...)
			n++
			total++
		}
		magicAt := base
		if !inTask {
			if errTask == nil {
				if v, err := p.ReadU64(base + tiTask); err == nil && v != t.Addr {
					report("thread_info.task: %x != %x", v, t.Addr)
				}
			}
			if errCPU == nil {
				if v, err := p.ReadU32(base + tiCPU); err == nil && int(v) >= ncpus {
					report("thread_info.cpu: %d >= %d", v, ncpus)
				}
			}
			magicAt = base + tiSize
		}
		if !(t.PID == 0 && t.Addr == initTask) {
			if v, err := p.ReadU64(magicAt); err == nil && v != stackEndMagic {
				report("%x: %x != STACK_END_MAGIC", magicAt, v)
			}
		}
		if n > 0 {
			fmt.Fprintln(w)
		}
	}
	if total == 0 {
		fmt.Fprintln(w, "No stack overflows detected")
	}
	return nil
}
