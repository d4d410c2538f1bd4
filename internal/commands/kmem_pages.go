package commands

// kmem -p and -g: struct pages and page flags, as crash's dump_mem_map and
// dump_page_flags print them.

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"kdive/internal/kernel/mm"
)

// --- pages -------------------------------------------------------------

const kmemPageHeader = "      PAGE       PHYSICAL      MAPPING       INDEX CNT FLAGS\n"

// pageLine is one line of crash's dump_mem_map.
func (k *kmemCtx) pageLine(w io.Writer, pg mm.Page) {
	if pg.Err != nil {
		fmt.Fprintf(w, "%-16x %8x %s %s    \n", pg.Addr, pg.PFN<<12, center(16, " ", true), center(8, " ", true))
		return
	}
	s := fmt.Sprintf("%x", pg.Flags)
	if n := mm.FlagNames(k.names, pg.Flags); len(n) > 0 {
		s += " " + strings.Join(n, ",")
	}
	fmt.Fprintf(w, "%-16x %8x %16x %8x %2d %s\n", pg.Addr, pg.PFN<<12, pg.Mapping, pg.Index, pg.Count, s)
}

// allPages is `kmem -p`: every page of every section with a memory map.
func (k *kmemCtx) allPages() error {
	w := k.env.Out
	fmt.Fprint(w, kmemPageHeader)
	per := k.pages.SectionPFNs()
	const maxSections = 1 << 20
	end := k.pages.MaxPFN
	if end == 0 {
		return errors.New("kmem -p: max_pfn unknown")
	}
	for s := uint64(0); s < (end+per-1)/per && s < maxSections; s++ {
		start := s * per
		if !k.pages.SectionValid(start) {
			continue
		}
		for off := uint64(0); off < per; off += 4096 {
			for _, pg := range k.pages.ReadRange(start+off, min(4096, per-off)) {
				k.pageLine(w, pg)
			}
		}
	}
	return nil
}

// physOf translates a kernel virtual address (the direct map and kernel
// image arithmetically, the rest through the page tables).
func (k *kmemCtx) physOf(vaddr uint64) (uint64, bool) {
	info := k.p.Info()
	if pa, ok := arithVTOP(vaddr, info.PageOffset, info.PhysBase); ok {
		return pa, true
	}
	pa, err := k.p.Translate(vaddr)
	return pa, err == nil
}

// findPage is dump_mem_map's lookup of one address: a struct page
// address, a kernel virtual address or a physical address.
func (k *kmemCtx) findPage(a uint64, phys bool) (uint64, bool) {
	if !phys {
		if pfn, ok := k.pages.PFNOf(a); ok {
			return pfn, true
		}
		pa, ok := k.physOf(a)
		if !ok {
			return 0, false
		}
		a = pa
	}
	pfn := a >> 12
	return pfn, k.pages.Valid(pfn)
}

// pageOf prints the struct page of one address (kmem -p ADDR).
func (k *kmemCtx) pageOf(a uint64, phys, header bool) error {
	pfn, ok := k.findPage(a, phys)
	if !ok {
		kind := "kernel virtual"
		if phys {
			kind = "physical"
		}
		return fmt.Errorf("%x: %s address not found in mem map", a, kind)
	}
	pg := k.pages.Read(pfn)
	if header {
		fmt.Fprint(k.env.Out, kmemPageHeader)
	}
	k.pageLine(k.env.Out, pg)
	if pg.Err != nil {
		return fmt.Errorf("%x: %v", a, pg.Err)
	}
	return nil
}

// --- page flags ----------------------------------------------------------

// kmemFlags is crash's dump_page_flags: enum pageflags, or the flags set
// in a value.
func kmemFlags(env *Env, flags uint64) error {
	ens := kmemEnums(env.Prog)("pageflags")
	if len(ens) == 0 {
		return errors.New("enum pageflags does not exist in this kernel")
	}
	longest, largest := 0, int64(0)
	for _, e := range ens {
		longest = max(longest, len(e.Name))
		if strings.Contains(e.Name, "PG_") && e.Value > largest {
			largest = e.Value
		}
	}
	digits := int((largest+1)/4 + 1)
	w := env.Out
	ind := ""
	if flags != 0 {
		fmt.Fprintf(w, "FLAGS: %x\n", flags)
		ind = "  "
	}
	fmt.Fprintf(w, "%s%-*s BIT  VALUE\n", ind, longest, "PAGE-FLAG")
	found := 0
	for _, e := range ens {
		if !strings.Contains(e.Name, "PG_") || e.Value < 0 || e.Value > 63 {
			continue
		}
		bit := uint64(1) << uint(e.Value)
		if flags == 0 || flags&bit != 0 {
			fmt.Fprintf(w, "%s%-*s  %2d  %0*x\n", ind, longest, e.Name, e.Value, digits, bit)
			if flags&bit != 0 {
				found++
			}
		}
	}
	if flags != 0 && found == 0 {
		fmt.Fprintf(w, "  (none found)\n")
	}
	return nil
}
