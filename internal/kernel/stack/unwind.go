// Package stack unwinds x86-64 kernel stacks with the kernel's ORC tables:
// the unwinder proper (Unwind, the algorithm of the kernel's
// arch/x86/kernel/unwind_orc.c applied to a dump's memory), the stacks a
// walk may cross (task stack, IRQ stack, exception stacks) and the starting
// registers of each task (NT_PRSTATUS or QEMU notes for the tasks running at
// the crash, the switch frame at task->thread.sp for the others).
//
// Where a running task's walk starts, and how it lines up with what the
// crashed kernel printed on its console:
//
//   - kdump, the panicking CPU: its NT_PRSTATUS registers are those
//     crash_setup_regs took, either inside __crash_kexec (panic() ->
//     __crash_kexec) or the Oops' pt_regs (oops_end -> crash_kexec(regs)).
//     Below them on the same stack lies the path to machine_kexec, which
//     never returned. kdive finds the return address into machine_kexec,
//     walks from it and keeps that walk only if it arrives exactly at the
//     saved registers (see Kernel.join). The trace is then machine_kexec,
//     __crash_kexec, panic, ... for a panic (the console's Call Trace minus
//     its first line, dump_stack_lvl, which had returned) and machine_kexec,
//     __crash_kexec, crash_kexec, oops_end, the exception path, the
//     exception frame (the console's "RIP:" function), then the console's
//     whole Call Trace for an Oops.
//   - kdump, the other CPUs: their registers are those the crash NMI
//     interrupted; the NMI's own frames (crash_nmi_callback,
//     default_do_nmi, exc_nmi, end_repeat_nmi) are joined the same way.
//   - QEMU dumps: each vCPU's registers when QEMU stopped the machine; the
//     panicking CPU is in panic()'s final delay loop (delay_tsc, panic,
//     then the console's trace as above).
//
// Every walk is bounded: at most MaxFrames frames, every read must lie on a
// known stack, a stack once left is never re-entered, and on one stack the
// stack pointer must grow. A walk that cannot go on stops with Trace.Err
// saying where and why; it never panics or loops.
package stack

import (
	"encoding/binary"
	"errors"
	"fmt"

	"kdive/internal/arch/amd64"
)

// MaxFrames caps a walk.
const MaxFrames = 256

// Memory is the dump's kernel virtual memory.
type Memory interface {
	ReadAt(b []byte, addr uint64) (int, error)
}

// Kind of stack.
type Kind int

const (
	KindUnknown Kind = iota
	KindTask
	KindIRQ
	KindException
	KindEntry
)

func (k Kind) String() string {
	switch k {
	case KindTask:
		return "task stack"
	case KindIRQ:
		return "IRQ stack"
	case KindException:
		return "exception stack"
	case KindEntry:
		return "entry stack"
	}
	return "unknown stack"
}

// Stack is one stack's bounds [Lo, Hi).
type Stack struct {
	Kind   Kind
	Name   string // e.g. "NMI" for an exception stack
	CPU    int
	Lo, Hi uint64
}

func (s Stack) String() string {
	if s.Name != "" {
		return fmt.Sprintf("%s %s stack [%x-%x]", s.Name, "exception", s.Lo, s.Hi)
	}
	return fmt.Sprintf("%s [%x-%x]", s.Kind, s.Lo, s.Hi)
}

func (s Stack) contains(addr, n uint64) bool {
	return s.Kind != KindUnknown && addr >= s.Lo && addr+n <= s.Hi && addr+n >= addr
}

// Stacks finds the stack holding an address.
type Stacks interface {
	Find(addr uint64) (Stack, bool)
}

// StackList is a fixed set of stacks.
type StackList []Stack

// Find returns the stack containing addr.
func (l StackList) Find(addr uint64) (Stack, bool) {
	for _, s := range l {
		if s.contains(addr, 1) {
			return s, true
		}
	}
	return Stack{}, false
}

// State is where a walk starts (or stands).
type State struct {
	IP, SP, BP uint64
	// Regs are the full registers known at the start (from a note or a
	// pt_regs), or nil.
	Regs *amd64.Regs
	// Signal is true when IP is exact (the interrupted instruction) rather
	// than a return address: the ORC lookup then uses IP, not IP-1.
	Signal bool
	// Addr is the stack address IP was read from (0 when from registers).
	Addr uint64
}

// Frame is one function on the stack.
type Frame struct {
	IP uint64
	// Addr is the stack address where IP was found (the return address
	// slot, or the pt_regs' ip slot); 0 for the first frame, whose IP came
	// from registers. crash prints it as the frame's [address].
	Addr uint64
	// SP is the stack pointer in this function at IP.
	SP uint64
	// Regs is set when IP came from a pt_regs (an exception, interrupt or
	// system call frame); RegsAddr is that pt_regs' address. Partial
	// (iret-only) frames have only RIP, CS, RFLAGS, RSP, SS valid.
	Regs     *amd64.Regs
	RegsAddr uint64
	Stack    Stack
	// Exact is true when IP is the address of an instruction that was
	// executing (registers, pt_regs) rather than a return address. Name a
	// return address by IP-1 (LookupIP): after a call to a noreturn
	// function it may point past the caller's end.
	Exact bool
	// Scanned marks a return address found by searching the stack above a
	// function that has no ORC data, verified by the direct call before
	// it targeting that function.
	Scanned bool
}

// LookupIP is the address to name the frame by: IP, or IP-1 for a return
// address.
func (f Frame) LookupIP() uint64 {
	if f.Exact || f.IP == 0 {
		return f.IP
	}
	return f.IP - 1
}

// Trace is the result of a walk.
type Trace struct {
	Frames []Frame
	// User is the user-mode pt_regs that ends a task's kernel stack (a
	// system call or an interrupt from user mode), or nil.
	User     *amd64.Regs
	UserAddr uint64
	// Err says why the walk stopped early, or is nil when it reached the
	// end of the stack (user-mode registers, or an ORC end-of-stack hint).
	Err error
}

// Unwinder holds what a walk needs.
type Unwinder struct {
	Mem    Memory
	ORC    *amd64.OrcSet
	Stacks Stacks
	// Describe names an address for messages (func+off), optional.
	Describe func(addr uint64) string
	// FuncStart returns the start of the function containing addr
	// (used to verify return addresses above functions without ORC data).
	FuncStart func(addr uint64) (uint64, bool)
}

// MaxScanWords bounds the search for a caller above a function without
// ORC data.
const MaxScanWords = 512

func (u *Unwinder) findCaller(w *walk, ip, sp uint64) (slot, ret uint64, err error) {
	if u.FuncStart == nil {
		return 0, 0, errors.New("no symbol table")
	}
	fn, ok := u.FuncStart(ip)
	if !ok {
		return 0, 0, errors.New("its function is unknown")
	}
	for i := uint64(0); i < MaxScanWords; i++ {
		a := sp + 8*i
		if !w.cur.contains(a, 8) {
			break
		}
		v, err := w.read8(a)
		if err != nil {
			break
		}
		if v < 0xffffffff80000000 || v < 5 {
			continue
		}
		if _, _, ok := u.ORC.Find(v - 1); !ok {
			continue
		}
		var c [5]byte
		if _, err := u.Mem.ReadAt(c[:], v-5); err != nil || c[0] != 0xe8 {
			continue
		}
		if v+uint64(int64(int32(binary.LittleEndian.Uint32(c[1:])))) == fn {
			return a, v, nil
		}
	}
	return 0, 0, fmt.Errorf("no return address into a direct call of %s within %d words above %#x", u.desc(fn), MaxScanWords, sp)
}

func (u *Unwinder) desc(addr uint64) string {
	if u.Describe != nil {
		if s := u.Describe(addr); s != "" {
			return fmt.Sprintf("%#x (%s)", addr, s)
		}
	}
	return fmt.Sprintf("%#x", addr)
}

// walk is one walk's mutable state.
type walk struct {
	u       *Unwinder
	cur     Stack
	visited []Stack // stacks left behind
}

var errOffStack = errors.New("not on a known stack")

// read8 reads a stack word, switching the current stack when addr is on
// another one (never back to a stack already left).
func (w *walk) read8(addr uint64) (uint64, error) {
	return w.readN(addr, 8, nil)
}

func (w *walk) readN(addr, n uint64, out []byte) (uint64, error) {
	if !w.cur.contains(addr, n) {
		s, ok := w.u.Stacks.Find(addr)
		if !ok || !s.contains(addr, n) {
			return 0, fmt.Errorf("stack address %#x: %w", addr, errOffStack)
		}
		for _, v := range w.visited {
			if v.Lo == s.Lo && v.Hi == s.Hi {
				return 0, fmt.Errorf("stack address %#x: back on %s, already left", addr, s)
			}
		}
		if w.cur.Kind != KindUnknown {
			w.visited = append(w.visited, w.cur)
		}
		w.cur = s
	}
	var b [8]byte
	buf := out
	if buf == nil {
		buf = b[:n]
	}
	if _, err := w.u.Mem.ReadAt(buf, addr); err != nil {
		return 0, err
	}
	if out != nil {
		return 0, nil
	}
	return binary.LittleEndian.Uint64(b[:]), nil
}

// Unwind walks the stack from st.
func (u *Unwinder) Unwind(st State) *Trace {
	tr := &Trace{}
	w := &walk{u: u}
	if s, ok := u.Stacks.Find(st.SP); ok {
		w.cur = s
	}
	if st.Regs != nil && st.Regs.Valid&(1<<amd64.CS) != 0 && st.Regs.UserMode() {
		tr.User, tr.Err = st.Regs, nil
		return tr
	}
	regs := st.Regs      // full registers usable by ORC_REG_* lookups
	var prev *amd64.Regs // previous full regs, when regs is a partial frame
	ip, sp, bp, signal := st.IP, st.SP, st.BP, st.Signal
	tr.Frames = append(tr.Frames, Frame{IP: ip, Addr: st.Addr, SP: sp, Stack: w.cur, Exact: st.Signal})
	getReg := func(i int) (uint64, bool) {
		if v, ok := regs.Get(i); ok {
			return v, true
		}
		return prev.Get(i)
	}
	for {
		if len(tr.Frames) >= MaxFrames {
			tr.Err = fmt.Errorf("stopped after %d frames", MaxFrames)
			return tr
		}
		look := ip
		if !signal {
			look = ip - 1
		}
		orc, _, ok := u.ORC.Find(look)
		if !ok {
			tr.Err = fmt.Errorf("no ORC entry for %s: cannot unwind further", u.desc(ip))
			return tr
		}
		if orc.SPReg == amd64.OrcRegUndefined || orc.Type == amd64.OrcTypeUndefined {
			if orc.End {
				return tr // end of stack (kernel thread entry, unwind hint)
			}
			// objtool left this function without ORC data (a
			// STACK_FRAME_NON_STANDARD function such as __crash_kexec):
			// look for its caller's return address, accepted only when
			// the instruction before it is a direct call of this very
			// function.
			slot, ret, err := u.findCaller(w, ip, sp)
			if err != nil {
				tr.Err = fmt.Errorf("ORC entry for %s is undefined and %v: cannot unwind further", u.desc(ip), err)
				return tr
			}
			prevSP := sp
			ip, sp = ret, slot+8
			regs, prev, signal = nil, nil, false
			if sp <= prevSP {
				tr.Err = fmt.Errorf("after %s the stack pointer goes the wrong way", u.desc(ip))
				return tr
			}
			tr.Frames = append(tr.Frames, Frame{IP: ip, Addr: slot, SP: sp, Stack: w.cur, Scanned: true})
			continue
		}
		prevSP, prevStack := sp, w.cur
		var cfa uint64
		indirect := false
		switch orc.SPReg {
		case amd64.OrcRegSP:
			cfa = sp + uint64(int64(orc.SPOffset))
		case amd64.OrcRegBP:
			cfa = bp + uint64(int64(orc.SPOffset))
		case amd64.OrcRegSPIndirect:
			cfa, indirect = sp, true
		case amd64.OrcRegBPIndirect:
			cfa, indirect = bp+uint64(int64(orc.SPOffset)), true
		case amd64.OrcRegR10, amd64.OrcRegR13, amd64.OrcRegDI, amd64.OrcRegDX:
			idx := map[uint8]int{amd64.OrcRegR10: amd64.R10, amd64.OrcRegR13: amd64.R13,
				amd64.OrcRegDI: amd64.RDI, amd64.OrcRegDX: amd64.RDX}[orc.SPReg]
			v, ok := getReg(idx)
			if !ok {
				tr.Err = fmt.Errorf("at %s the frame is based on a register (%s) that is not saved: cannot unwind further", u.desc(ip), orc)
				return tr
			}
			cfa = v
		default:
			tr.Err = fmt.Errorf("at %s: unknown ORC SP base register %d", u.desc(ip), orc.SPReg)
			return tr
		}
		if indirect {
			v, err := w.read8(cfa)
			if err != nil {
				tr.Err = fmt.Errorf("at %s: reading the indirect stack pointer: %v", u.desc(ip), err)
				return tr
			}
			cfa = v
			if orc.SPReg == amd64.OrcRegSPIndirect {
				cfa += uint64(int64(orc.SPOffset))
			}
		}
		var fr Frame
		switch orc.Type {
		case amd64.OrcTypeCall:
			slot := cfa - 8
			ret, err := w.read8(slot)
			if err != nil {
				tr.Err = fmt.Errorf("at %s: reading the return address: %v", u.desc(ip), err)
				return tr
			}
			ip, sp = ret, cfa
			regs, prev, signal = nil, nil, false
			fr = Frame{IP: ip, Addr: slot, SP: sp}
		case amd64.OrcTypeRegs:
			var b [amd64.PtRegsSize]byte
			if _, err := w.readN(cfa, amd64.PtRegsSize, b[:]); err != nil {
				tr.Err = fmt.Errorf("at %s: cannot read the registers at %#x: %v", u.desc(ip), cfa, err)
				return tr
			}
			r, _ := amd64.ParsePtRegs(b[:])
			ip, sp = r.R[amd64.RIP], r.R[amd64.RSP]
			regs, prev, signal = r, nil, true
			fr = Frame{IP: ip, Addr: cfa + amd64.RIP*8, SP: sp, Regs: r, RegsAddr: cfa, Exact: true}
		case amd64.OrcTypeRegsPartial:
			var b [amd64.PtRegsSize - amd64.IretFrameOffset]byte
			if _, err := w.readN(cfa, uint64(len(b)), b[:]); err != nil {
				tr.Err = fmt.Errorf("at %s: cannot read the interrupt frame at %#x: %v", u.desc(ip), cfa, err)
				return tr
			}
			r := &amd64.Regs{}
			for i := amd64.RIP; i < amd64.NumPtRegs; i++ {
				r.Set(i, binary.LittleEndian.Uint64(b[8*(i-amd64.RIP):]))
			}
			ip, sp = r.R[amd64.RIP], r.R[amd64.RSP]
			if regs != nil && regs.Valid == amd64.AllValid {
				prev = regs
			}
			regs, signal = r, true
			fr = Frame{IP: ip, Addr: cfa, SP: sp, Regs: r, RegsAddr: cfa - amd64.IretFrameOffset, Exact: true}
		default:
			tr.Err = fmt.Errorf("at %s: unknown ORC entry type %d", u.desc(ip), orc.Type)
			return tr
		}
		// The caller's BP.
		switch orc.BPReg {
		case amd64.OrcRegUndefined:
			// Unchanged, unless a pt_regs (or, above a partial frame,
			// the previous full one) saved it.
			if v, ok := getReg(amd64.RBP); ok {
				bp = v
			}
		case amd64.OrcRegPrevSP:
			v, err := w.read8(cfa + uint64(int64(orc.BPOffset)))
			if err != nil {
				tr.Err = fmt.Errorf("at %s: reading the saved frame pointer: %v", u.desc(ip), err)
				return tr
			}
			bp = v
		case amd64.OrcRegBP:
			v, err := w.read8(bp + uint64(int64(orc.BPOffset)))
			if err != nil {
				tr.Err = fmt.Errorf("at %s: reading the saved frame pointer: %v", u.desc(ip), err)
				return tr
			}
			bp = v
		default:
			tr.Err = fmt.Errorf("at %s: unknown ORC BP base register %d", u.desc(ip), orc.BPReg)
			return tr
		}
		if fr.Regs != nil && fr.Regs.Valid&(1<<amd64.CS) != 0 && fr.Regs.UserMode() {
			tr.User, tr.UserAddr = fr.Regs, fr.RegsAddr
			return tr
		}
		// The new SP must be on a known stack; on the same stack it must
		// have grown (a loop guard against bad ORC data or a corrupt stack).
		ns, ok := u.Stacks.Find(sp)
		if !ok {
			tr.Err = fmt.Errorf("after %s the stack pointer %#x is not on a known stack", u.desc(tr.Frames[len(tr.Frames)-1].IP), sp)
			return tr
		}
		if ns.Lo == prevStack.Lo && ns.Hi == prevStack.Hi && sp <= prevSP {
			tr.Err = fmt.Errorf("after %s the stack pointer goes the wrong way (%#x -> %#x)", u.desc(tr.Frames[len(tr.Frames)-1].IP), prevSP, sp)
			return tr
		}
		if ns.Lo != w.cur.Lo || ns.Hi != w.cur.Hi {
			for _, v := range w.visited {
				if v.Lo == ns.Lo && v.Hi == ns.Hi {
					tr.Err = fmt.Errorf("after %s the stack pointer %#x returns to %s, already left", u.desc(tr.Frames[len(tr.Frames)-1].IP), sp, ns)
					return tr
				}
			}
			if w.cur.Kind != KindUnknown {
				w.visited = append(w.visited, w.cur)
			}
			w.cur = ns
		}
		fr.Stack = ns
		tr.Frames = append(tr.Frames, fr)
		if ip == 0 {
			tr.Err = fmt.Errorf("return address 0 at %#x", fr.Addr)
			return tr
		}
	}
}
