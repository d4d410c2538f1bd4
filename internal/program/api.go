package program

import (
	"kdive/internal/symtab"
	"kdive/internal/vmcoreinfo"
)

// The methods below are the facade's contract; their bodies forward to the
// implementation in state.go.

// ReadAt reads len(b) bytes of kernel virtual memory at addr (direct map,
// vmalloc, vmemmap, kernel text, modules). Errors are *FaultError.
func (p *Program) ReadAt(b []byte, addr uint64) (int, error) { return p.impl.readVirt(b, addr) }

// ReadPhysAt reads physical memory.
func (p *Program) ReadPhysAt(b []byte, addr uint64) (int, error) { return p.impl.readPhys(b, addr) }

// ReadPhysDirect reads physical memory straight from the dump, past the
// page cache: for scans of all memory (search), which would only evict
// the cache's useful pages. Safe for concurrent use.
func (p *Program) ReadPhysDirect(b []byte, addr uint64) (int, error) {
	return p.impl.d.ReadPhysAt(b, addr)
}

// Symbol returns the (KASLR-relocated) address of a kernel or module symbol.
func (p *Program) Symbol(name string) (uint64, error) { return p.impl.symbol(name) }

// MemberOffset returns the byte offset of member (a dotted path such as
// "se.exec_start" is allowed) in struct or union typ ("task_struct" or
// "struct task_struct"). Types come from vmlinux DWARF/BTF or the dump's BTF.
func (p *Program) MemberOffset(typ, member string) (uint64, error) {
	return p.impl.memberOffset(typ, member)
}

// MemberSize returns the byte size of a member of a struct or union.
func (p *Program) MemberSize(typ, member string) (uint64, error) {
	return p.impl.memberSize(typ, member)
}

// TypeSize returns sizeof(typ).
func (p *Program) TypeSize(typ string) (uint64, error) { return p.impl.typeSize(typ) }

// HasMember reports whether struct typ has member (feature detection).
func (p *Program) HasMember(typ, member string) bool {
	_, err := p.impl.memberOffset(typ, member)
	return err == nil
}

// PerCPUOffset returns __per_cpu_offset[cpu]; add it to a per-CPU symbol's address.
func (p *Program) PerCPUOffset(cpu int) (uint64, error) { return p.impl.perCPUOffset(cpu) }

// VMCOREINFO returns the value of a VMCOREINFO key ("OSRELEASE",
// "SYMBOL(init_uts_ns)", "OFFSET(list_head.next)", ...).
func (p *Program) VMCOREINFO(key string) (string, bool) { return p.impl.vmcoreinfo(key) }

// Symbols returns the symbol table: vmlinux (or kallsyms) plus the symbols
// of every loaded module (Sym.Module set), loaded on first use.
func (p *Program) Symbols() *symtab.Table { return p.impl.symbols() }

// SymbolAt returns the symbol containing addr and the offset into it.
func (p *Program) SymbolAt(addr uint64) (symtab.Sym, uint64, bool) {
	return p.impl.symbols().ByAddr(addr)
}

// Modules returns the loaded modules (walk of the kernel's `modules` list).
func (p *Program) Modules() ([]Module, error) { return p.impl.modules() }

// Module is one loaded kernel module (struct module).
type Module struct {
	Addr    uint64 // struct module *
	Name    string
	Base    uint64 // core_layout.base
	Size    uint64 // core_layout.size
	NumSyms int
	// PerCPU is the module's per-CPU area (struct module.percpu: a
	// per-CPU pointer, its copy for CPU n at PerCPU+__per_cpu_offset[n];
	// 0 when the module has no per-CPU variables), PerCPUSize its size
	// (percpu_size, the size of the .data..percpu section).
	PerCPU, PerCPUSize uint64
}

// Translate returns the physical address of a kernel virtual address.
func (p *Program) Translate(vaddr uint64) (uint64, error) { return p.impl.translate(vaddr) }

// Info describes where the program's knowledge comes from, for `help -v`.
func (p *Program) Info() *SourceInfo { return &p.impl.src }

// SourceInfo says which source each piece of knowledge came from.
type SourceInfo struct {
	DumpFormat  string // e.g. "kdump (zstd)", "ELF"
	Symbols     string // "vmlinux ELF symbol table" / "kallsyms in the dump"
	Types       string // "vmlinux .BTF section" / "BTF in the dump's memory (__start_BTF)"
	KASLROffset uint64
	PhysBase    uint64
	PageOffset  uint64
	Level5      bool
	OSRelease   string
	BuildID     string
}

// VmcoreInfo returns the parsed VMCOREINFO.
func (p *Program) VmcoreInfo() *vmcoreinfo.Info { return p.impl.vmci }
