package amd64

// x86-64 register sets: struct pt_regs (the kernel's saved registers at an
// exception, interrupt or system call), the user_regs_struct inside an
// NT_PRSTATUS note (struct elf_prstatus.pr_reg) and QEMU's QEMUCPUState note.

import (
	"encoding/binary"
	"fmt"
)

// Register indices, in struct pt_regs order (arch/x86/include/asm/ptrace.h);
// user_regs_struct starts with the same 21 words.
const (
	R15 = iota
	R14
	R13
	R12
	RBP
	RBX
	R11
	R10
	R9
	R8
	RAX
	RCX
	RDX
	RSI
	RDI
	OrigRAX
	RIP
	CS
	RFLAGS
	RSP
	SS
	NumPtRegs
)

// PtRegsSize is sizeof(struct pt_regs).
const PtRegsSize = NumPtRegs * 8

// IretFrameOffset is offsetof(struct pt_regs, ip): a partial (iret) frame
// holds only ip, cs, flags, sp, ss.
const IretFrameOffset = RIP * 8

// Regs is a register set in pt_regs order. Valid says which registers are
// known (bit i for index i).
type Regs struct {
	R     [NumPtRegs]uint64
	Valid uint32
}

// AllValid marks every register known.
const AllValid = 1<<NumPtRegs - 1

// Get returns register i and whether it is known.
func (r *Regs) Get(i int) (uint64, bool) {
	if r == nil || i < 0 || i >= NumPtRegs {
		return 0, false
	}
	return r.R[i], r.Valid&(1<<i) != 0
}

// Set sets register i.
func (r *Regs) Set(i int, v uint64) {
	r.R[i] = v
	r.Valid |= 1 << i
}

// UserMode reports whether the saved CS is a user code segment (RPL 3).
func (r *Regs) UserMode() bool { return r.R[CS]&3 == 3 }

// ParsePtRegs decodes a struct pt_regs image.
func ParsePtRegs(b []byte) (*Regs, error) {
	if len(b) < PtRegsSize {
		return nil, fmt.Errorf("pt_regs: %d bytes, need %d", len(b), PtRegsSize)
	}
	r := &Regs{Valid: AllValid}
	for i := 0; i < NumPtRegs; i++ {
		r.R[i] = binary.LittleEndian.Uint64(b[8*i:])
	}
	return r, nil
}

// struct elf_prstatus (x86-64): pr_info (12) pr_cursig (2, +2 pad)
// pr_sigpend (8) pr_sighold (8) pr_pid pr_ppid pr_pgrp pr_sid (4 each)
// pr_utime pr_stime pr_cutime pr_cstime (16 each), then pr_reg.
const (
	PRStatusPIDOffset = 32
	PRStatusRegOffset = 112
	// PRStatusSize is sizeof(struct elf_prstatus): pr_reg is 27 words,
	// then pr_fpvalid and padding.
	PRStatusSize = 336
)

// PRStatus is one decoded NT_PRSTATUS note.
type PRStatus struct {
	PID  int32
	Regs *Regs
	// FSBase, GSBase follow the pt_regs part of user_regs_struct.
	FSBase, GSBase uint64
}

// ParsePRStatus decodes an NT_PRSTATUS descriptor.
func ParsePRStatus(desc []byte) (*PRStatus, error) {
	if len(desc) < PRStatusRegOffset+PtRegsSize+16 {
		return nil, fmt.Errorf("NT_PRSTATUS: %d bytes, need %d", len(desc), PRStatusRegOffset+PtRegsSize+16)
	}
	r, _ := ParsePtRegs(desc[PRStatusRegOffset:])
	p := &PRStatus{PID: int32(binary.LittleEndian.Uint32(desc[PRStatusPIDOffset:])), Regs: r}
	p.FSBase = binary.LittleEndian.Uint64(desc[PRStatusRegOffset+PtRegsSize:])
	p.GSBase = binary.LittleEndian.Uint64(desc[PRStatusRegOffset+PtRegsSize+8:])
	return p, nil
}

// QEMUCPUState is QEMU's "QEMU" note (target/i386/arch_dump.c): u32 version,
// u32 size, then rax rbx rcx rdx rsi rdi rsp rbp r8-r15 rip rflags, then
// ten segment descriptors (selector u32, limit u32, flags u32, pad u32,
// base u64: 24 bytes each) for cs ds es fs gs ss ldt tr gdt idt, then cr[5]
// and (version >= 1) kernel_gs_base.
type QEMUCPUState struct {
	Regs          *Regs
	GSBase        uint64 // gs segment base
	KernelGSBase  uint64
	CR            [5]uint64
	Version, Size uint32
}

// ParseQEMUCPUState decodes a QEMU note.
func ParseQEMUCPUState(desc []byte) (*QEMUCPUState, error) {
	const regsEnd = 8 + 18*8
	const segSize = 24
	const crOff = regsEnd + 10*segSize
	if len(desc) < crOff+5*8 {
		return nil, fmt.Errorf("QEMUCPUState: %d bytes, need %d", len(desc), crOff+5*8)
	}
	le := binary.LittleEndian
	q := &QEMUCPUState{Version: le.Uint32(desc), Size: le.Uint32(desc[4:])}
	u := func(i int) uint64 { return le.Uint64(desc[8+8*i:]) }
	r := &Regs{}
	order := []int{RAX, RBX, RCX, RDX, RSI, RDI, RSP, RBP, R8, R9, R10, R11, R12, R13, R14, R15, RIP, RFLAGS}
	for i, idx := range order {
		r.Set(idx, u(i))
	}
	seg := func(i int) (sel uint32, base uint64) {
		o := regsEnd + i*segSize
		return le.Uint32(desc[o:]), le.Uint64(desc[o+16:])
	}
	cs, _ := seg(0)
	ss, _ := seg(5)
	_, q.GSBase = seg(4)
	r.Set(CS, uint64(cs))
	r.Set(SS, uint64(ss))
	for i := range q.CR {
		q.CR[i] = le.Uint64(desc[crOff+8*i:])
	}
	if len(desc) >= crOff+6*8 {
		q.KernelGSBase = le.Uint64(desc[crOff+40:])
	}
	q.Regs = r
	return q, nil
}
