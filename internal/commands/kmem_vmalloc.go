package commands

// kmem -v: the vmalloc areas, as crash's dump_vmap_area prints them.

import (
	"fmt"
	"io"

	"kdive/internal/kernel/mm"
)

// --- vmalloc -------------------------------------------------------------

func vmapHeader(w io.Writer) {
	fmt.Fprintf(w, "%s  %s  %s     SIZE\n", center(16, "VMAP_AREA", false), center(16, "VM_STRUCT", false), center(16*2+3, "ADDRESS RANGE", false))
}

func vmapLine(w io.Writer, a mm.VmapArea) {
	fmt.Fprintf(w, "%s  %s  %16x - %-16x  %7d\n", center(16, fmt.Sprintf("%x", a.Addr), false), center(16, fmt.Sprintf("%x", a.VM), false), a.Start, a.End, a.End-a.Start)
}

// vmapOfPhys finds the vmalloc page mapped to a physical address (crash's
// GET_PHYS_TO_VMALLOC): the area and the virtual address.
func (k *kmemCtx) vmapOfPhys(areas []mm.VmapArea, pa uint64) (mm.VmapArea, uint64, bool) {
	const maxPages = 1 << 22
	n := 0
	for _, a := range areas {
		for va := a.Start; va < a.End && n < maxPages; va += 4096 {
			n++
			if got, err := k.p.Translate(va); err == nil && got&^0xfff == pa&^0xfff {
				return a, va + pa&0xfff, true
			}
		}
	}
	return mm.VmapArea{}, 0, false
}

func (k *kmemCtx) vmalloc(addrs []uint64, phys bool) error {
	areas, werr := mm.VmapAreas(k.p)
	w := k.env.Out
	if len(addrs) == 0 {
		vmapHeader(w)
		for _, a := range areas {
			vmapLine(w, a)
		}
		return werr
	}
	header := false
	for _, x := range addrs {
		if phys || x < kvBaseOf(k.p) {
			if a, _, ok := k.vmapOfPhys(areas, x); ok {
				if !header {
					vmapHeader(w)
					header = true
				}
				vmapLine(w, a)
			}
			continue
		}
		for _, a := range areas {
			if x >= a.Start && x < a.End {
				if !header {
					vmapHeader(w)
					header = true
				}
				vmapLine(w, a)
			}
		}
	}
	return werr
}
