package stack

import (
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"kdive/internal/arch/amd64"
	"kdive/internal/kernel/tasks"
	"kdive/internal/program"
)

// ThreadSize is THREAD_SIZE on x86-64 without KASAN (16 KiB); IRQStackSize
// is IRQ_STACK_SIZE. KASAN kernels double both (KASAN_STACK_ORDER).
const (
	ThreadSize   = 16 << 10
	IRQStackSize = 16 << 10
)

// Kernel is the unwinding context of one program: its ORC tables, the
// per-CPU stacks and the registers the dump saved for each CPU.
type Kernel struct {
	P   *program.Program
	ORC *amd64.OrcSet
	// ORCSource says where the kernel's table came from.
	ORCSource string
	// Warnings met while loading (modules without tables, ...).
	Warnings []string

	cpuStacks StackList
	// CPURegs are the registers saved for each CPU (index: CPU number),
	// nil where the dump has none.
	CPURegs map[int]*amd64.Regs
	// RegsSource: "NT_PRSTATUS" (kdump: the crashing CPU's registers from
	// crash_setup_regs, the others' as the crash NMI interrupted them) or
	// "QEMU" (each vCPU's registers when QEMU stopped the machine).
	RegsSource string
	// PanicCPU is the CPU that panicked (panic_cpu), -1 when unknown.
	PanicCPU int
	// Current is each CPU's running task (current_task).
	Current map[int]uint64

	// threadSize and irqStackSize are this kernel's sizes.
	threadSize, irqStackSize uint64

	off struct {
		stack, threadSP, frameBP, frameRet, frameSize uint64
	}
	retFromFork uint64
}

// kernelKey keys the unwinding context in the Program's memo.
type kernelKey struct{}

type kernelMemo struct {
	k   *Kernel
	err error
}

// For returns the (cached) unwinding context of p.
func For(p *program.Program) (*Kernel, error) {
	m := p.Memo(kernelKey{}, func() any {
		k, err := newKernel(p)
		return &kernelMemo{k, err}
	}).(*kernelMemo)
	return m.k, m.err
}

func newKernel(p *program.Program) (*Kernel, error) {
	k := &Kernel{P: p, PanicCPU: -1, CPURegs: map[int]*amd64.Regs{}, Current: map[int]uint64{},
		threadSize: ThreadSize, irqStackSize: IRQStackSize}
	if _, err := p.Symbol("__asan_load8"); err == nil {
		k.threadSize, k.irqStackSize = 2*ThreadSize, 2*IRQStackSize
	}
	layout := amd64.OrcLayoutV1
	if rel, ok := p.VMCOREINFO("OSRELEASE"); ok && versionAtLeast(rel, 6, 4) {
		layout = amd64.OrcLayoutV2
	}
	var kt *amd64.OrcTable
	var err error
	if p.VmlinuxPath != "" {
		kt, err = vmlinuxORC(p, layout)
		if err == nil {
			k.ORCSource = "vmlinux .orc_unwind sections"
		} else {
			k.Warnings = append(k.Warnings, err.Error())
		}
	}
	if kt == nil {
		kt, err = memoryORC(p, layout)
		if err != nil {
			return nil, err
		}
		k.ORCSource = "ORC tables in the dump's memory (__start_orc_unwind_ip)"
	}
	k.ORC = &amd64.OrcSet{Tables: []*amd64.OrcTable{kt}}
	k.loadModules(layout)
	k.off.stack, err = p.MemberOffset("task_struct", "stack")
	if err != nil {
		return nil, fmt.Errorf("task_struct.stack: %w", err)
	}
	k.off.threadSP, err = p.MemberOffset("task_struct", "thread.sp")
	if err != nil {
		return nil, fmt.Errorf("task_struct.thread.sp: %w", err)
	}
	k.off.frameBP, err = p.MemberOffset("inactive_task_frame", "bp")
	if err == nil {
		k.off.frameRet, err = p.MemberOffset("inactive_task_frame", "ret_addr")
	}
	if err != nil {
		k.off.frameBP, k.off.frameRet = 5*8, 6*8
	}
	k.retFromFork, _ = p.Symbol("ret_from_fork")
	k.loadCPUs()
	return k, nil
}

// percpuVar is the per-CPU variable name, or (Linux 6.2 and later) the
// member of that name in the per-CPU struct pcpu_hot.
func percpuVar(p *program.Program, name string) (uint64, error) {
	a, err := p.Symbol(name)
	if err == nil {
		return a, nil
	}
	hot, err2 := p.Symbol("pcpu_hot")
	if err2 != nil {
		return 0, err
	}
	off, err2 := p.MemberOffset("pcpu_hot", name)
	if err2 != nil {
		return 0, err
	}
	return hot + off, nil
}

func versionAtLeast(rel string, maj, min int) bool {
	f := strings.FieldsFunc(rel, func(r rune) bool { return r == '.' || r == '-' })
	if len(f) < 2 {
		return false
	}
	a, _ := strconv.Atoi(f[0])
	b, _ := strconv.Atoi(f[1])
	return a > maj || a == maj && b >= min
}

func vmlinuxORC(p *program.Program, layout amd64.OrcLayout) (*amd64.OrcTable, error) {
	f, err := elf.Open(p.VmlinuxPath)
	if err != nil {
		return nil, fmt.Errorf("orc: %v", err)
	}
	defer f.Close()
	ipSec, orcSec := f.Section(".orc_unwind_ip"), f.Section(".orc_unwind")
	if ipSec == nil || orcSec == nil {
		return nil, fmt.Errorf("orc: %s has no .orc_unwind_ip/.orc_unwind sections", p.VmlinuxPath)
	}
	ipRaw, err := ipSec.Data()
	if err != nil {
		return nil, fmt.Errorf("orc: .orc_unwind_ip: %v", err)
	}
	orcRaw, err := orcSec.Data()
	if err != nil {
		return nil, fmt.Errorf("orc: .orc_unwind: %v", err)
	}
	kaslr := p.Info().KASLROffset
	t, err := amd64.NewOrcTable("vmlinux", ipSec.Addr+kaslr, ipRaw, orcRaw, layout, 0, 0)
	if err != nil {
		return nil, err
	}
	extendKernelRange(p, t)
	return t, nil
}

func extendKernelRange(p *program.Program, t *amd64.OrcTable) {
	for _, s := range []string{"_etext", "_einittext", "__entry_text_end"} {
		if a, err := p.Symbol(s); err == nil && a > t.Hi && a-t.Lo < 1<<30 {
			t.Hi = a
		}
	}
	if a, err := p.Symbol("_stext"); err == nil && a < t.Lo {
		t.Lo = a
	}
}

// maxTableBytes bounds tables read from memory.
const maxTableBytes = 64 << 20

func memoryORC(p *program.Program, layout amd64.OrcLayout) (*amd64.OrcTable, error) {
	sym := func(n string) (uint64, error) {
		a, err := p.Symbol(n)
		if err != nil {
			return 0, fmt.Errorf("orc: no symbol %s (no vmlinux given and kallsyms lacks it): %w", n, err)
		}
		return a, nil
	}
	ipStart, err := sym("__start_orc_unwind_ip")
	if err != nil {
		return nil, err
	}
	ipStop, err := sym("__stop_orc_unwind_ip")
	if err != nil {
		return nil, err
	}
	orcStart, err := sym("__start_orc_unwind")
	if err != nil {
		return nil, err
	}
	if ipStop <= ipStart || ipStop-ipStart > maxTableBytes {
		return nil, fmt.Errorf("orc: implausible .orc_unwind_ip %#x-%#x", ipStart, ipStop)
	}
	n := (ipStop - ipStart) / 4
	ipRaw := make([]byte, n*4)
	if _, err := p.ReadAt(ipRaw, ipStart); err != nil {
		return nil, fmt.Errorf("orc: reading .orc_unwind_ip: %w", err)
	}
	orcRaw := make([]byte, n*amd64.OrcEntrySize)
	if _, err := p.ReadAt(orcRaw, orcStart); err != nil {
		return nil, fmt.Errorf("orc: reading .orc_unwind: %w", err)
	}
	t, err := amd64.NewOrcTable("vmlinux", ipStart, ipRaw, orcRaw, layout, 0, 0)
	if err != nil {
		return nil, err
	}
	extendKernelRange(p, t)
	return t, nil
}

func (k *Kernel) loadModules(layout amd64.OrcLayout) {
	p := k.P
	mods, err := p.Modules()
	if err != nil {
		k.Warnings = append(k.Warnings, fmt.Sprintf("orc: modules: %v", err))
		return
	}
	oIP, e1 := p.MemberOffset("module", "arch.orc_unwind_ip")
	oORC, e2 := p.MemberOffset("module", "arch.orc_unwind")
	oNum, e3 := p.MemberOffset("module", "arch.num_orcs")
	if e1 != nil || e2 != nil || e3 != nil {
		k.Warnings = append(k.Warnings, "orc: struct module has no arch.orc_unwind_ip/orc_unwind/num_orcs: module frames cannot be unwound")
		return
	}
	for _, m := range mods {
		ipAddr, err1 := p.ReadU64(m.Addr + oIP)
		orcAddr, err2 := p.ReadU64(m.Addr + oORC)
		num, err3 := p.ReadU32(m.Addr + oNum)
		if err1 != nil || err2 != nil || err3 != nil || num == 0 || num > 1<<20 {
			k.Warnings = append(k.Warnings, fmt.Sprintf("orc: module %s: no usable ORC table", m.Name))
			continue
		}
		ipRaw := make([]byte, 4*int(num))
		orcRaw := make([]byte, amd64.OrcEntrySize*int(num))
		if _, err := p.ReadAt(ipRaw, ipAddr); err != nil {
			k.Warnings = append(k.Warnings, fmt.Sprintf("orc: module %s: %v", m.Name, err))
			continue
		}
		if _, err := p.ReadAt(orcRaw, orcAddr); err != nil {
			k.Warnings = append(k.Warnings, fmt.Sprintf("orc: module %s: %v", m.Name, err))
			continue
		}
		t, err := amd64.NewOrcTable(m.Name, ipAddr, ipRaw, orcRaw, layout, m.Base, m.Base+m.Size)
		if err != nil {
			k.Warnings = append(k.Warnings, err.Error())
			continue
		}
		k.ORC.Tables = append(k.ORC.Tables, t)
	}
}

// loadCPUs finds each CPU's stacks, running task and saved registers.
func (k *Kernel) loadCPUs() {
	p := k.P
	cpus := tasks.PossibleCPUs(p)
	curSym, curErr := percpuVar(p, "current_task")
	irqSym, irqErr := percpuVar(p, "hardirq_stack_ptr")
	ceaSym, ceaErr := p.Symbol("cea_exception_stacks")
	for _, cpu := range cpus {
		off, err := p.PerCPUOffset(cpu)
		if err != nil {
			continue
		}
		if curErr == nil {
			if t, err := p.ReadU64(curSym + off); err == nil && t != 0 {
				k.Current[cpu] = t
			}
		}
		if irqErr == nil {
			if top, err := p.ReadU64(irqSym + off); err == nil && top != 0 {
				hi := top + 8
				k.cpuStacks = append(k.cpuStacks, Stack{Kind: KindIRQ, CPU: cpu, Lo: hi - k.irqStackSize, Hi: hi})
			}
		}
		if ceaErr == nil {
			if base, err := p.ReadU64(ceaSym + off); err == nil && base != 0 {
				for _, n := range []string{"DF", "NMI", "DB", "MCE", "VC", "VC2"} {
					o, err := p.MemberOffset("cea_exception_stacks", n+"_stack")
					if err != nil {
						continue
					}
					sz, err := p.MemberSize("cea_exception_stacks", n+"_stack")
					if err != nil || sz == 0 {
						continue
					}
					k.cpuStacks = append(k.cpuStacks, Stack{Kind: KindException, Name: n, CPU: cpu, Lo: base + o, Hi: base + o + sz})
				}
			}
		}
	}
	if a, err := p.Symbol("panic_cpu"); err == nil {
		if v, err := p.ReadU32(a); err == nil && int32(v) >= 0 && int(v) < 8192 {
			k.PanicCPU = int(v)
		}
	}
	info := p.Dump.Info()
	if len(info.QEMUCPUState) > 0 {
		k.RegsSource = "QEMU"
		for i, d := range info.QEMUCPUState {
			q, err := amd64.ParseQEMUCPUState(d)
			if err != nil {
				k.Warnings = append(k.Warnings, fmt.Sprintf("QEMU note %d: %v", i, err))
				continue
			}
			k.CPURegs[i] = q.Regs
		}
		return
	}
	if len(info.PRStatus) == 0 {
		return
	}
	k.RegsSource = "NT_PRSTATUS"
	online, err := tasks.CPUMask(p, "online")
	if err != nil || len(online) < len(info.PRStatus) {
		online = cpus
	}
	pidOf := func(task uint64) (int32, bool) {
		o, err := p.MemberOffset("task_struct", "pid")
		if err != nil {
			return 0, false
		}
		v, err := p.ReadU32(task + o)
		return int32(v), err == nil
	}
	for i, d := range info.PRStatus {
		ps, err := amd64.ParsePRStatus(d)
		if err != nil {
			k.Warnings = append(k.Warnings, fmt.Sprintf("NT_PRSTATUS note %d: %v", i, err))
			continue
		}
		cpu := -1
		if i < len(online) {
			cpu = online[i]
		}
		// Cross-check with the PID of the task running there.
		if t, ok := k.Current[cpu]; cpu < 0 || !ok || func() bool { pid, ok := pidOf(t); return ok && pid != ps.PID }() {
			var match []int
			for c, t := range k.Current {
				if pid, ok := pidOf(t); ok && pid == ps.PID {
					match = append(match, c)
				}
			}
			if len(match) == 1 {
				cpu = match[0]
			}
		}
		if cpu < 0 {
			continue
		}
		k.CPURegs[cpu] = ps.Regs
	}
}

// Stacks returns the stacks a walk of task may use: its task stack and
// every CPU's IRQ and exception stacks.
func (k *Kernel) Stacks(task uint64) (StackList, error) {
	base, err := k.P.ReadU64(task + k.off.stack)
	if err != nil {
		return nil, fmt.Errorf("task %x: reading task->stack: %w", task, err)
	}
	if base == 0 || base+k.threadSize < base {
		return nil, fmt.Errorf("task %x has no stack (task->stack is %#x: an exited task?)", task, base)
	}
	l := StackList{{Kind: KindTask, Lo: base, Hi: base + k.threadSize}}
	return append(l, k.cpuStacks...), nil
}

// CPUOf returns the CPU task is running on at the crash, or -1.
func (k *Kernel) CPUOf(task uint64) int {
	cpus := make([]int, 0, len(k.Current))
	for c := range k.Current {
		cpus = append(cpus, c)
	}
	sort.Ints(cpus)
	for _, c := range cpus {
		if k.Current[c] == task {
			return c
		}
	}
	return -1
}

// PanicTask returns the task running on the panic CPU.
func (k *Kernel) PanicTask() (uint64, int, bool) {
	if k.PanicCPU >= 0 {
		if t, ok := k.Current[k.PanicCPU]; ok {
			return t, k.PanicCPU, true
		}
	}
	return 0, -1, false
}

func (k *Kernel) unwinder(task uint64) (*Unwinder, error) {
	st, err := k.Stacks(task)
	if err != nil {
		return nil, err
	}
	return &Unwinder{Mem: k.P, ORC: k.ORC, Stacks: st, Describe: k.describe, FuncStart: k.funcStart}, nil
}

func (k *Kernel) funcStart(addr uint64) (uint64, bool) {
	s, _, ok := k.P.SymbolAt(addr)
	if !ok {
		return 0, false
	}
	return s.Addr, true
}

// UnwindFrom walks task's stacks from an arbitrary state (bt -S style, and
// robustness tests).
func (k *Kernel) UnwindFrom(task uint64, st State) (*Trace, error) {
	u, err := k.unwinder(task)
	if err != nil {
		return nil, err
	}
	return u.Unwind(st), nil
}

func (k *Kernel) describe(addr uint64) string {
	s, off, ok := k.P.SymbolAt(addr)
	if !ok || addr < 0xffffffff80000000 || off >= 1<<20 {
		return ""
	}
	r := s.Name
	if off != 0 {
		r += fmt.Sprintf("+%#x", off)
	}
	if s.Module != "" {
		r += " [" + s.Module + "]"
	}
	return r
}

// Backtrace is a task's trace with where it started.
type Backtrace struct {
	Task uint64
	CPU  int // the CPU it ran on at the crash, -1 when not running
	*Trace
	// Start says where the starting registers came from.
	Start string
}

// Unwind walks task's kernel stack. Tasks running at the crash start from
// the registers the dump saved for their CPU; for the panic task of a kdump
// dump the walk is extended down to machine_kexec when that part of the
// stack provably leads to the saved registers. Other tasks start from the
// switch frame at task->thread.sp.
func (k *Kernel) Unwind(task uint64) (*Backtrace, error) {
	u, err := k.unwinder(task)
	if err != nil {
		return nil, err
	}
	bt := &Backtrace{Task: task, CPU: k.CPUOf(task)}
	if bt.CPU >= 0 {
		// A note of zeros (a CPU that did not save its registers) is no
		// starting point.
		if r := k.CPURegs[bt.CPU]; r != nil && (r.R[amd64.RIP] != 0 || r.R[amd64.RSP] != 0) {
			st := State{IP: r.R[amd64.RIP], SP: r.R[amd64.RSP], BP: r.R[amd64.RBP], Regs: r, Signal: true}
			bt.Start = k.RegsSource + " registers"
			tr := u.Unwind(st)
			if k.RegsSource == "NT_PRSTATUS" && bt.CPU == k.PanicCPU {
				if ext := k.kexecExtension(u, tr); ext != nil {
					tr = ext
					bt.Start = "the kdump path (machine_kexec) joined to the NT_PRSTATUS registers"
				}
			} else if k.RegsSource == "NT_PRSTATUS" {
				if ext := k.nmiExtension(u, tr, bt.CPU); ext != nil {
					tr = ext
					bt.Start = "the crash NMI (crash_nmi_callback) joined to the NT_PRSTATUS registers"
				}
			}
			bt.Trace = tr
			return bt, nil
		}
	}
	sp, err := k.P.ReadU64(task + k.off.threadSP)
	if err != nil {
		return nil, fmt.Errorf("task %x: reading thread.sp: %w", task, err)
	}
	if _, ok := u.Stacks.Find(sp); !ok {
		bt.Trace = &Trace{Err: fmt.Errorf("task %x: thread.sp %#x is not on its stack", task, sp)}
		return bt, nil
	}
	ret, err1 := k.P.ReadU64(sp + k.off.frameRet)
	bp, err2 := k.P.ReadU64(sp + k.off.frameBP)
	if err := errors.Join(err1, err2); err != nil {
		bt.Trace = &Trace{Err: fmt.Errorf("task %x: reading the switch frame at %#x: %v", task, sp, err)}
		return bt, nil
	}
	bt.Start = "switch frame at thread.sp"
	// The first frame's address is thread.sp itself, the switch frame's
	// start, as crash shows it (its return address is at ret_addr within).
	bt.Trace = u.Unwind(State{IP: ret, SP: sp + k.off.frameRet + 8, BP: bp, Addr: sp, Signal: ret == k.retFromFork})
	return bt, nil
}

// kexecExtension looks below the registers saved for the panic CPU for the
// return address into machine_kexec that the kdump path left (the call to
// relocate_kernel never returns) and walks from there; see join.
func (k *Kernel) kexecExtension(u *Unwinder, tr *Trace) *Trace {
	if len(tr.Frames) == 0 {
		return nil
	}
	stk, ok := u.Stacks.Find(tr.Frames[0].SP)
	if !ok {
		return nil
	}
	return k.join(u, tr, "machine_kexec", stk.Lo, tr.Frames[0].SP)
}

// nmiExtension finds, on the NMI stack of cpu, the return address into
// crash_nmi_callback (which saved the interrupted registers for kdump and
// halted) and walks from there; see join.
func (k *Kernel) nmiExtension(u *Unwinder, tr *Trace, cpu int) *Trace {
	for _, s := range k.cpuStacks {
		if s.Kind == KindException && s.Name == "NMI" && s.CPU == cpu {
			return k.join(u, tr, "crash_nmi_callback", s.Lo, s.Hi)
		}
	}
	return nil
}

// join searches [lo, hi) for return addresses into fn, highest first, and
// walks from each. A walk is used only when it provably arrives at the saved
// registers tr starts from: a pt_regs frame holding exactly the saved RIP
// and RSP (crash_kexec called from oops_end with the oops registers; an NMI
// interrupting a CPU), or the very frame that the walk from the saved
// registers reaches next (panic -> __crash_kexec, whose registers
// crash_setup_regs took in the middle of the function). The result is the
// new walk up to that point followed by tr.
func (k *Kernel) join(u *Unwinder, tr *Trace, fn string, lo, hi uint64) *Trace {
	if hi <= lo || hi-lo > 4*ThreadSize {
		return nil
	}
	if len(tr.Frames) == 0 && tr.User == nil {
		return nil
	}
	start, err := k.P.Symbol(fn)
	if err != nil {
		return nil
	}
	s, _, ok := k.P.SymbolAt(start)
	if !ok {
		return nil
	}
	end := start + s.Size
	if s.Size == 0 {
		if n, ok := nextSym(k.P, start); ok {
			end = n
		} else {
			return nil
		}
	}
	n := (hi - lo) / 8
	buf := make([]byte, n*8)
	if _, err := k.P.ReadAt(buf, lo); err != nil {
		return nil
	}
	for i := int(n) - 1; i >= 0; i-- {
		v := binary.LittleEndian.Uint64(buf[8*i:])
		if v <= start || v >= end {
			continue
		}
		addr := lo + uint64(8*i)
		c := u.Unwind(State{IP: v, SP: addr + 8, Addr: addr})
		if len(tr.Frames) == 0 {
			// The saved registers are user mode (an NMI from user space):
			// the walk must end at exactly those user registers.
			if c.User != nil && c.Err == nil && c.User.R[amd64.RIP] == tr.User.R[amd64.RIP] && c.User.R[amd64.RSP] == tr.User.R[amd64.RSP] {
				return c
			}
			continue
		}
		f0 := tr.Frames[0]
		for j, f := range c.Frames {
			if j == 0 {
				continue
			}
			if f.Regs != nil && f.IP == f0.IP && f.SP == f0.SP {
				out := &Trace{Frames: append(c.Frames[:j:j], f), User: tr.User, UserAddr: tr.UserAddr, Err: tr.Err}
				out.Frames = append(out.Frames, tr.Frames[1:]...)
				return out
			}
			if len(tr.Frames) > 1 && f.IP == tr.Frames[1].IP && f.SP == tr.Frames[1].SP && f.Addr == tr.Frames[1].Addr {
				out := &Trace{Frames: c.Frames[:j:j], User: tr.User, UserAddr: tr.UserAddr, Err: tr.Err}
				out.Frames = append(out.Frames, tr.Frames[1:]...)
				return out
			}
		}
	}
	return nil
}

func nextSym(p *program.Program, addr uint64) (uint64, bool) {
	all := p.Symbols().All()
	i := sort.Search(len(all), func(i int) bool { return all[i].Addr > addr })
	if i < len(all) {
		return all[i].Addr, true
	}
	return 0, false
}
