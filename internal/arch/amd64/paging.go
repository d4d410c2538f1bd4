// Package amd64 knows x86-64's kernel address space: the fixed layout
// constants and the 4- and 5-level page-table walk.
package amd64

import (
	"encoding/binary"
	"fmt"
)

// Layout constants (arch/x86/include/asm/page_64_types.h, pgtable_64_types.h).
const (
	StartKernelMap  = 0xffffffff80000000 // __START_KERNEL_map
	PageSize        = 4096
	pteAddrMask     = 0x000ffffffffff000 // bits 12..51
	pte1GAddrMask   = 0x000fffffc0000000
	pte2MAddrMask   = 0x000fffffffe00000
	ptePresent      = 1 << 0
	ptePSE          = 1 << 7
	ptrsPerTable    = 512
	DefaultPageOff4 = 0xffff888000000000 // page_offset_base without KASLR (4-level)
	DefaultPageOff5 = 0xff11000000000000
)

// PhysReader reads physical memory.
type PhysReader interface {
	ReadPhysAt(p []byte, addr uint64) (int, error)
}

// TranslateError is an address the page tables do not map.
type TranslateError struct {
	Addr  uint64
	Level string // "PML5", "PGD", "PUD", "PMD", "PTE"
	Entry uint64
}

func (e *TranslateError) Error() string {
	return fmt.Sprintf("virtual address %#x: not mapped (%s entry %#x not present)", e.Addr, e.Level, e.Entry)
}

// TableReadError is a page-table entry that cannot be read (its table's
// page is not in the dump): every address that entry covers is unknown.
type TableReadError struct {
	Addr  uint64
	Level string // the level of the entry that could not be read
	Entry uint64 // its physical address
	Err   error
}

func (e *TableReadError) Error() string {
	return fmt.Sprintf("virtual address %#x: reading %s entry at physical %#x: %v", e.Addr, e.Level, e.Entry, e.Err)
}

func (e *TableReadError) Unwrap() error { return e.Err }

// Walker translates virtual addresses through page tables rooted at a
// physical address (the kernel's init_top_pgt, or a task's mm->pgd).
type Walker struct {
	Mem     PhysReader
	Root    uint64 // physical address of the top-level table
	Level5  bool
	SMEMask uint64 // sme_me_mask from VMCOREINFO NUMBER(sme_mask), cleared from entries
}

// Step is one level of a walk, for vtop-style output.
type Step struct {
	Level     string
	TableAddr uint64 // physical address of the entry read
	Entry     uint64
}

// Translate returns the physical address of vaddr and the size of the page
// that maps it (4 KiB, 2 MiB or 1 GiB).
func (w *Walker) Translate(vaddr uint64) (paddr, pageSize uint64, err error) {
	paddr, pageSize, _, err = w.walk(vaddr, false)
	return
}

// Walk is Translate that also returns each level's entry.
func (w *Walker) Walk(vaddr uint64) (paddr, pageSize uint64, steps []Step, err error) {
	return w.walk(vaddr, true)
}

func (w *Walker) walk(vaddr uint64, record bool) (uint64, uint64, []Step, error) {
	type lvl struct {
		name  string
		shift uint
	}
	levels := []lvl{{"PGD", 39}, {"PUD", 30}, {"PMD", 21}, {"PTE", 12}}
	if w.Level5 {
		levels = append([]lvl{{"PML5", 48}}, levels...)
		levels[1].name = "P4D"
	}
	table := w.Root &^ 0xfff
	var steps []Step
	var b [8]byte
	for _, l := range levels {
		idx := (vaddr >> l.shift) & (ptrsPerTable - 1)
		ea := table + idx*8
		if _, err := w.Mem.ReadPhysAt(b[:], ea); err != nil {
			return 0, 0, steps, &TableReadError{Addr: vaddr, Level: l.name, Entry: ea, Err: err}
		}
		e := binary.LittleEndian.Uint64(b[:]) &^ w.SMEMask
		if record {
			steps = append(steps, Step{Level: l.name, TableAddr: ea, Entry: e})
		}
		if e&ptePresent == 0 {
			return 0, 0, steps, &TranslateError{Addr: vaddr, Level: l.name, Entry: e}
		}
		switch {
		case l.shift == 30 && e&ptePSE != 0:
			return e&pte1GAddrMask | vaddr&(1<<30-1), 1 << 30, steps, nil
		case l.shift == 21 && e&ptePSE != 0:
			return e&pte2MAddrMask | vaddr&(1<<21-1), 1 << 21, steps, nil
		case l.shift == 12:
			return e&pteAddrMask | vaddr&0xfff, PageSize, steps, nil
		}
		table = e & pteAddrMask
	}
	return 0, 0, steps, fmt.Errorf("virtual address %#x: page walk did not end", vaddr)
}

// KernelTextPhys translates an address in the kernel image mapping
// (__START_KERNEL_map..+KERNEL_IMAGE_SIZE) arithmetically with phys_base.
func KernelTextPhys(vaddr, physBase uint64) uint64 {
	return vaddr - StartKernelMap + physBase
}

// Canonical reports whether vaddr is canonical for 48 (or 57) bit addresses.
func Canonical(vaddr uint64, level5 bool) bool {
	bits := uint(48)
	if level5 {
		bits = 57
	}
	top := int64(vaddr) >> (bits - 1)
	return top == 0 || top == -1
}
