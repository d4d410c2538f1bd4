package commands

// bt -e, -E, -r and -v: crash's exception frame search, raw stack dump and
// stack overflow check (kernel.c back_trace, x86_64.c x86_64_eframe_search
// and x86_64_eframe_verify, task.c check_stack_overflow).

import (
	"encoding/binary"
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

// eframeVerifier answers what crash's x86_64_eframe_verify asks about the
// addresses in a candidate struct pt_regs, for one kernel.
type eframeVerifier struct {
	kvbase  uint64      // PAGE_OFFSET: crash's IS_KVADDR is v >= kvbase
	userTop uint64      // crash's USERSPACE_TOP: IS_UVADDR is v < userTop
	modules [2]uint64   // MODULES_VADDR..MODULES_END, inclusive
	vmalloc [][2]uint64 // crash's IS_VMALLOC_ADDR ranges, inclusive
	isText  func(uint64) bool
	// symName is the name of the symbol an address is in (crash's
	// closest_symbol / value_search), "" for none.
	symName func(uint64) string
	// mapped reports whether an address translates (crash's kvtop).
	mapped func(uint64) bool
}

// newEframeVerifier sets the address ranges as crash 8.0.2 sets them for
// an x86-64 kernel (x86_64.c x86_64_init): with CONFIG_RANDOMIZE_MEMORY
// (page_offset_base and vmalloc_base exist) from vmalloc_base and
// vmemmap_base, else the fixed 2.6.31+ layout; the 5-level layout when
// the kernel runs with 5-level paging (VMCOREINFO pgtable_l5_enabled).
func newEframeVerifier(p *program.Program) *eframeVerifier {
	const tib = uint64(1) << 40
	l5 := p.Info().Level5
	v := &eframeVerifier{kvbase: kvBaseOf(p), userTop: 0x0000800000000000}
	read := func(sym string) (uint64, bool) {
		a, err := p.Symbol(sym)
		if err != nil {
			return 0, false
		}
		x, err := p.ReadU64(a)
		return x, err == nil && x != 0
	}
	vmallocLo, vmallocSize := uint64(0xffffc90000000000), 32*tib
	vmemmapLo, vmemmapHi := uint64(0xffffea0000000000), uint64(0xffffeaffffffffff)
	v.modules = [2]uint64{0xffffffffa0000000, 0xffffffffff000000}
	if l5 {
		v.userTop = 0x0100000000000000
		vmallocLo, vmallocSize = 0xffa0000000000000, 1280*tib
		vmemmapLo, vmemmapHi = 0xffd4000000000000, 0xffd5ffffffffffff
		v.modules[1] = 0xffffffffff5fffff
	}
	_, perr := p.Symbol("page_offset_base")
	if base, ok := read("vmalloc_base"); ok && perr == nil {
		vmallocLo = base
		if b, ok := read("vmemmap_base"); ok {
			vmemmapLo, vmemmapHi = b, b+tib-1
		}
	}
	if off, ok := p.VMCOREINFO("KERNELOFFSET"); ok && off != "0" || perr == nil {
		// A relocated kernel: modules start after the kernel image's
		// area (__START_KERNEL_map + KERNEL_IMAGE_SIZE, 1 GiB unless
		// VMCOREINFO says otherwise).
		size := uint64(1 << 30)
		if s, ok := p.VMCOREINFO("NUMBER(KERNEL_IMAGE_SIZE)"); ok {
			if n, err := strconv.ParseUint(s, 10, 64); err == nil && n > 0 && n <= 2<<30 {
				size = n
			}
		}
		v.modules[0] = 0xffffffff80000000 + size
	}
	v.vmalloc = [][2]uint64{
		{vmallocLo, vmallocLo + vmallocSize - 1},
		{vmemmapLo, vmemmapHi},
		v.modules,
		{0xffffffffff600000, 0xffffffffff600fff}, // VSYSCALL_START..END
	}
	if _, err := p.TypeSize("cpu_entry_area"); err == nil {
		v.vmalloc = append(v.vmalloc, [2]uint64{0xfffffe0000000000, 0xfffffe7fffffffff})
	}
	if l5 {
		// crash also counts the hole between vmalloc and vmemmap.
		v.vmalloc = append(v.vmalloc, [2]uint64{vmallocLo + vmallocSize, vmemmapLo - 1})
	}
	v.isText = func(x uint64) bool { return isTextAddr(p, x) }
	v.symName = func(x uint64) string {
		if s, _, ok := p.SymbolAt(x); ok {
			return s.Name
		}
		return ""
	}
	v.mapped = func(x uint64) bool {
		_, err := p.Translate(x)
		return err == nil
	}
	return v
}

func (v *eframeVerifier) isKV(x uint64) bool { return x >= v.kvbase }
func (v *eframeVerifier) isUV(x uint64) bool { return x < v.userTop }

func (v *eframeVerifier) isVmalloc(x uint64) bool {
	for _, r := range v.vmalloc {
		if x >= r[0] && x <= r[1] {
			return true
		}
	}
	return false
}

// verify is crash's x86_64_eframe_verify for a struct pt_regs at address
// at, as its exception frame search calls it: exc is whether the stack
// searched is a CPU's exception stack, estack its index in crash's order
// (0 double fault, 1 NMI, ...; -1 for others); below is the word just
// below the frame (below8 false when it cannot be read).
//
// Left out, as crash's search never reaches them: the kernel-mode frame
// whose RSP is in the task's user stack (in_user_stack) counts only under
// BT_EXCEPTION_STACK, which crash's frame walker sets when it steps onto
// an exception stack, never bt -e or -E (on an exception stack -E accepts
// any non-kernel RSP anyway); RIP 0 after a call to ret_from_fork needs
// the walker's call target, which a search has not.
func (v *eframeVerifier) verify(at uint64, r *amd64.Regs, exc bool, estack int, below uint64, below8 bool) bool {
	R := r.R
	rip, rsp, cs, ss, fl := R[amd64.RIP], R[amd64.RSP], R[amd64.CS], R[amd64.SS], R[amd64.RFLAGS]
	if fl&raz != 0 || fl&2 == 0 {
		return false
	}
	end := at + amd64.PtRegsSize
	if cs == 0x10 && ss == 0x18 {
		text := v.isText(rip)
		switch {
		case text && v.isKV(rsp),
			text && exc && !v.isKV(rsp),
			text && exc && estack >= 0 && estack <= 1,
			// The 32-bit SYSENTER entry of kernels before 4.2 (renamed
			// entry_SYSENTER_compat): RSP may be 0 there.
			v.symName(rip) == "ia32_sysenter_target",
			// Below the frame, the return address into the page fault
			// entry of kernels before 5.8 (asm_exc_page_fault since
			// "x86/entry: Switch page fault exception to IDTENTRY_RAW").
			below8 && v.symName(below) == "page_fault",
			// Also a module RIP with RSP just above the frame.
			rsp == end:
			return true
		}
	}
	if cs == 0x10 {
		text := v.isText(rip)
		switch {
		case text && v.isKV(rsp) && (rsp == end+8 || rsp == end || exc),
			v.isKV(rsp) && v.isVmalloc(rip) && v.mapped(rip):
			return true
		}
	}
	if ss == 0x2b && (cs == 0x33 || cs == 0x23) && v.isUV(rip) && v.isUV(rsp) {
		return true
	}
	// crash's is_vsyscall_addr knows the vsyscall page only on Xen; a user
	// frame whose RIP is in it (a call into the legacy vsyscall page) is
	// real, so kdive takes it on every kernel.
	if cs == 0x33 && ss == 0x2b && rip>>12 == 0xffffffffff600 && v.isUV(rsp) {
		return true
	}
	return false
}

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
	below := func(at uint64) (uint64, bool) {
		if at >= s.Lo+8 {
			return binary.LittleEndian.Uint64(buf[at-8-s.Lo:]), true
		}
		x, err := p.ReadU64(at - 8)
		return x, err == nil
	}
	frames := eframeCandidates(buf, s.Lo, newEframeVerifier(p), exc, estack, below)
	for _, f := range frames {
		mode := "KERNEL"
		if f.regs.R[amd64.CS]&3 != 0 {
			mode = "USER"
		}
		fmt.Fprintf(w, "\n  %s-MODE EXCEPTION FRAME AT: %x\n", mode, f.at)
		btRegs(w, p, stack.Frame{Regs: f.regs}, f.regs.R[amd64.CS]&3 == 0)
	}
	return len(frames)
}

// eframe is one exception frame a search found.
type eframe struct {
	at   uint64
	regs *amd64.Regs
}

// eframeCandidates is the search over one stack's contents buf (at
// address lo): every 8-byte position where a whole pt_regs fits and v
// verifies it.
func eframeCandidates(buf []byte, lo uint64, v *eframeVerifier, exc bool, estack int, below func(uint64) (uint64, bool)) []eframe {
	var out []eframe
	for off := 0; off+amd64.PtRegsSize <= len(buf); off += 8 {
		r, err := amd64.ParsePtRegs(buf[off : off+amd64.PtRegsSize])
		if err != nil {
			break
		}
		at := lo + uint64(off)
		b, ok := below(at)
		if v.verify(at, r, exc, estack, b, ok) {
			out = append(out, eframe{at, r})
		}
	}
	return out
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
