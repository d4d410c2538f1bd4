package search

import (
	"errors"
	"fmt"
	"sort"

	"kdive/internal/arch/amd64"
	"kdive/internal/kernel/klist"
)

// Mem is what the page sources read: kernel virtual memory (through the
// program's translation), symbols, member offsets, and physical memory for
// the page tables (cached).
type Mem interface {
	ReadU64(addr uint64) (uint64, error)
	Symbol(name string) (uint64, error)
	MemberOffset(typ, member string) (uint64, error)
	TypeSize(typ string) (uint64, error)
	ReadPhysAt(b []byte, pa uint64) (int, error)
}

// Kind is the kind of a kernel address range, as crash's
// x86_64_get_kvaddr_ranges names them.
type Kind int

// Range kinds.
const (
	UnityMap Kind = iota // the direct map: page_offset_base .. high_memory
	Vmalloc              // vmalloc_base .. the end of the highest vmap area (module areas included)
	Vmemmap              // vmemmap_base .. the end of the last node's struct pages
	StartMap             // __START_KERNEL_map .. _end: the kernel image
)

func (k Kind) String() string {
	return [...]string{"unity map", "vmalloc", "vmemmap", "kernel image"}[k]
}

// Region is one kernel virtual address range.
type Region struct {
	Kind       Kind
	Start, End uint64
	// Areas: Vmalloc's vmap areas ([start, end) pairs, sorted), the only
	// parts of the range crash searches.
	Areas [][2]uint64
}

// MaxVmapAreas caps the vmap_area_list walk.
const MaxVmapAreas = 1 << 20

// Layout is what the kernel ranges are computed from.
type Layout struct {
	PageOffset uint64 // page_offset_base
	Level5     bool
	SMEMask    uint64
	// Root is the physical address of the kernel's top page table
	// (init_top_pgt).
	Root uint64
}

// KernelRegions returns crash's kernel virtual address ranges in address
// order: the direct map up to high_memory, the vmalloc range (searched
// only inside the vmap areas of vmap_area_list that have a vm_struct, as
// crash's dump_vmlist lists them; module memory is among them), the
// vmemmap up to the end of the last pfn's struct page (max_pfn), and the
// kernel image from __START_KERNEL_map to _end.
func KernelRegions(m Mem, l Layout) ([]Region, []error) {
	var regs []Region
	var errs []error
	// Direct map.
	if a, err := m.Symbol("high_memory"); err == nil {
		if hm, err := m.ReadU64(a); err == nil && hm > l.PageOffset {
			regs = append(regs, Region{Kind: UnityMap, Start: l.PageOffset, End: hm})
		} else {
			errs = append(errs, fmt.Errorf("high_memory at %#x: %v", a, errOr(err, "below page_offset_base")))
		}
	} else {
		errs = append(errs, fmt.Errorf("no symbol high_memory: the direct map is not searched"))
	}
	// vmalloc, by vmap area.
	if areas, err := vmapAreas(m); err == nil && len(areas) > 0 {
		start := uint64(0xffffc90000000000) // VMALLOC_START without KASLR
		if a, err := m.Symbol("vmalloc_base"); err == nil {
			if v, err := m.ReadU64(a); err == nil {
				start = v
			}
		}
		if areas[0][0] < start {
			start = areas[0][0]
		}
		regs = append(regs, Region{Kind: Vmalloc, Start: start, End: areas[len(areas)-1][1], Areas: areas})
	} else if err != nil {
		errs = append(errs, err)
	}
	// vmemmap.
	if a, err := m.Symbol("vmemmap_base"); err == nil {
		vb, err1 := m.ReadU64(a)
		maxPFN, err2 := readSym(m, "max_pfn")
		size, err := m.TypeSize("page")
		if err != nil || size == 0 || size > 1024 {
			size = 64
		}
		if err1 == nil && err2 == nil {
			regs = append(regs, Region{Kind: Vmemmap, Start: vb, End: vb + maxPFN*size})
		} else {
			errs = append(errs, fmt.Errorf("vmemmap range: %v", errOr(err1, errOr(err2, "?").Error())))
		}
	}
	// Kernel image.
	if end, err := m.Symbol("_end"); err == nil {
		regs = append(regs, Region{Kind: StartMap, Start: amd64.StartKernelMap, End: (end + PageSize - 1) &^ (PageSize - 1)})
	} else {
		errs = append(errs, fmt.Errorf("no symbol _end: the kernel image is not searched"))
	}
	sort.SliceStable(regs, func(i, j int) bool { return regs[i].Start < regs[j].Start })
	return regs, errs
}

func errOr(err error, s string) error {
	if err != nil {
		return err
	}
	return errors.New(s)
}

func readSym(m Mem, name string) (uint64, error) {
	a, err := m.Symbol(name)
	if err != nil {
		return 0, err
	}
	return m.ReadU64(a)
}

// vmapAreas lists vmap_area_list's areas that have a vm_struct, as
// [vm->addr, vm->addr + vm->size) (the guard page included), sorted.
func vmapAreas(m Mem) ([][2]uint64, error) {
	head, err := m.Symbol("vmap_area_list")
	if err != nil {
		return nil, fmt.Errorf("no symbol vmap_area_list: vmalloc memory is not searched")
	}
	offList, err := m.MemberOffset("vmap_area", "list")
	if err != nil {
		return nil, fmt.Errorf("vmap_area.list: %v", err)
	}
	offVM, err := m.MemberOffset("vmap_area", "vm")
	if err != nil {
		return nil, fmt.Errorf("vmap_area.vm: %v", err)
	}
	offAddr, err1 := m.MemberOffset("vm_struct", "addr")
	offSize, err2 := m.MemberOffset("vm_struct", "size")
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("vm_struct.addr/size: %v", errOr(err1, errOr(err2, "?").Error()))
	}
	vas, werr := klist.Entries(m.ReadU64, head, offList, MaxVmapAreas)
	var out [][2]uint64
	for _, va := range vas {
		vm, err := m.ReadU64(va + offVM)
		if err != nil || vm == 0 {
			continue
		}
		addr, err1 := m.ReadU64(vm + offAddr)
		size, err2 := m.ReadU64(vm + offSize)
		if err1 != nil || err2 != nil || size == 0 || addr+size < addr {
			continue
		}
		out = append(out, [2]uint64{addr, addr + size})
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	if werr != nil {
		werr = fmt.Errorf("vmap_area_list at %#x: %v (searching the %d areas read)", head, werr, len(out))
	}
	return out, werr
}

// Walker translates through page tables, reporting how far an unmapped
// address's hole reaches.
type Walker struct {
	W *amd64.Walker
}

// translate returns the physical address of va and the end of the page
// (or of the unmapped hole) it lies in.
func (w Walker) translate(va uint64) (pa uint64, mapped bool, next uint64) {
	p, size, err := w.W.Translate(va)
	if err == nil {
		return p, true, (va | (size - 1)) + 1
	}
	// The span of the entry that is absent (or cannot be read): skip it
	// whole, or a bad top-level table would be walked page by page.
	level := ""
	var te *amd64.TranslateError
	var tre *amd64.TableReadError
	switch {
	case errors.As(err, &te):
		level = te.Level
	case errors.As(err, &tre):
		level = tre.Level
	}
	span := uint64(PageSize)
	switch level {
	case "PML5":
		span = 1 << 48
	case "PGD":
		span = 1 << 39
		if w.W.Level5 {
			span = 1 << 48
		}
	case "P4D":
		span = 1 << 39
	case "PUD":
		span = 1 << 30
	case "PMD":
		span = 1 << 21
	}
	n := (va | (span - 1)) + 1
	if n == 0 || n < va {
		n = ^uint64(0)
	}
	return 0, false, n
}

// Pages yields the pages of [start, end) (start 8-byte aligned) that w
// maps, skipping holes a page-table level at a time; matches are reported
// at virtual addresses.
func (w Walker) Pages(start, end uint64) func() (Page, bool) {
	va := start
	var cur, curEnd, curPA uint64 // a mapped large page being cut in 4K pages
	return func() (Page, bool) {
		for va < end && va >= start {
			if !(va >= cur && va < curEnd) {
				pa, ok, next := w.translate(va)
				if !ok {
					va = next
					continue
				}
				cur, curEnd, curPA = va&^(PageSize-1), next, pa&^(PageSize-1)
			}
			pg := va &^ (PageSize - 1)
			p := Page{Addr: pg, Phys: curPA + (pg - cur), Lo: int(va - pg), Hi: PageSize}
			if end-pg < PageSize {
				p.Hi = int(end - pg)
			}
			va = pg + PageSize
			if p.Hi > p.Lo {
				return p, true
			}
		}
		return Page{}, false
	}
}

// Linear yields the pages of [start, end) of a linear mapping (the
// direct map: phys = addr - offset; physical memory: offset 0).
func Linear(start, end, offset uint64) func() (Page, bool) {
	a := start
	return func() (Page, bool) {
		if a >= end || a < start {
			return Page{}, false
		}
		pg := a &^ (PageSize - 1)
		p := Page{Addr: pg, Phys: pg - offset, Lo: int(a - pg), Hi: PageSize}
		if end-pg < PageSize {
			p.Hi = int(end - pg)
		}
		a = pg + PageSize
		return p, true
	}
}

// Concat yields the pages of each source in turn.
func Concat(srcs ...func() (Page, bool)) func() (Page, bool) {
	return func() (Page, bool) {
		for len(srcs) > 0 {
			if p, ok := srcs[0](); ok {
				return p, true
			}
			srcs = srcs[1:]
		}
		return Page{}, false
	}
}

// KernelPages yields the pages of the regions inside [start, end): the
// direct map linearly, vmalloc's areas and the other ranges through the
// page tables. Kinds left out by skip are not searched (crash's -K, -V).
func KernelPages(regs []Region, l Layout, w Walker, start, end uint64, skip func(Kind) bool) func() (Page, bool) {
	var srcs []func() (Page, bool)
	for _, r := range regs {
		if start >= r.End || end <= r.Start || (skip != nil && skip(r.Kind)) {
			continue
		}
		lo, hi := max(start, r.Start), min(end, r.End)
		switch r.Kind {
		case UnityMap:
			srcs = append(srcs, Linear(lo, hi, l.PageOffset))
		case Vmalloc:
			for _, a := range r.Areas {
				if a[1] <= lo || a[0] >= hi {
					continue
				}
				srcs = append(srcs, w.Pages(max(lo, a[0]), min(hi, a[1])))
			}
		default:
			srcs = append(srcs, w.Pages(lo, hi))
		}
	}
	return Concat(srcs...)
}
