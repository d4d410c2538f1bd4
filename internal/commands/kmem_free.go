package commands

// kmem -f, -F and the free block of kmem ADDR: the buddy allocator's
// free lists, as crash's dump_free_pages_zones_v2 prints them.

import (
	"fmt"

	"kdive/internal/kernel/mm"
)

// freeBlock prints, when the address's page is free in the buddy
// allocator, the zone, the free list and the block as crash's
// dump_free_pages_zones_v2 prints a found address (and a blank line when
// blank, as kmem ADDR).
func (k *kmemCtx) freeBlock(addr uint64, phys, blank bool) {
	pfn, ok := k.findPage(addr, phys)
	if !ok {
		return
	}
	enums := kmemEnums(k.p)
	zones, err := mm.Zones(k.p, enums)
	if err != nil {
		return
	}
	fb, ok, err := mm.FreeBlockOf(k.p, k.p, k.pages, zones, pfn)
	w := k.env.Out
	if err != nil {
		fmt.Fprintf(w, "kmem: %v\n", err)
		return
	}
	if !ok || fb.Zone == nil {
		return
	}
	z := fb.Zone
	free := int64(0)
	if len(z.VMStat) > 0 {
		free = z.VMStat[0]
	}
	fmt.Fprintf(w, "ZONE  NAME        SIZE    FREE  %s  START_PADDR  START_MAPNR\n", center(16, "MEM_MAP", false))
	fmt.Fprintf(w, "%3d   %-9s %6d  %6d  %s  %s  %s\n", z.Index, z.Name, z.Spanned, free,
		center(16, fmt.Sprintf("%x", k.pages.PageAddr(fb.ZoneStart)), false),
		center(11, fmt.Sprintf("%x", fb.ZoneStart<<12), true),
		center(11, fmt.Sprintf("%d", fb.ZoneStart-fb.NodeStart), true))
	fmt.Fprintf(w, "AREA    SIZE  FREE_AREA_STRUCT\n")
	fmt.Fprintf(w, "%3d  %7s  %s  \n", fb.Order, fmt.Sprintf("%dk", (uint64(1)<<fb.Order)*4), center(16, fmt.Sprintf("%x", fb.FreeList), false))
	fmt.Fprintf(w, "%x  ", k.pages.PageAddr(fb.Head))
	if fb.Order > 0 {
		off := pfn - fb.Head
		if phys {
			in := ""
			if addr&0xfff != 0 {
				in = "in "
			}
			fmt.Fprintf(w, "(%x is %s", addr, in)
		} else {
			fmt.Fprintf(w, "(%x is ", addr)
		}
		fmt.Fprintf(w, "%s of %d pages)", ordinal(off+1), uint64(1)<<fb.Order)
	}
	fmt.Fprintf(w, "\n")
	if blank {
		fmt.Fprintf(w, "\n")
	}
}

// freeAreas is crash's `kmem -f` (dump_free_pages_zones_v2): each zone,
// each free list with its blocks and pages, and the total checked
// against the zones' NR_FREE_PAGES.
func (k *kmemCtx) freeAreas(verbose bool) error {
	zones, err := mm.Zones(k.p, kmemEnums(k.p))
	if err != nil {
		return err
	}
	zfs, err := mm.FreeAreas(k.p, zones)
	if err != nil {
		return err
	}
	w := k.env.Out
	var sum, found int64
	for i, zf := range zfs {
		z := zf.Zone
		free := int64(0)
		if len(z.VMStat) > 0 {
			free = z.VMStat[0]
		}
		nl := ""
		if i > 0 {
			nl = "\n"
		}
		fmt.Fprintf(w, "%sZONE  NAME        SIZE    FREE  %s  START_PADDR  START_MAPNR\n", nl, center(16, "MEM_MAP", false))
		memMap, paddr, mapnr := uint64(0), zf.ZoneStart<<12, zf.ZoneStart-zf.NodeStart
		if z.Spanned != 0 {
			memMap = k.pages.PageAddr(zf.ZoneStart)
		} else {
			paddr, mapnr = 0, 0
		}
		fmt.Fprintf(w, "%3d   %-9s %6d  %6d  %s  %s  %s\n", z.Index, z.Name, z.Spanned, free,
			center(16, fmt.Sprintf("%x", memMap), false), center(11, fmt.Sprintf("%x", paddr), true),
			center(11, fmt.Sprintf("%d", mapnr), true))
		sum += free
		if free == 0 {
			continue
		}
		if !verbose {
			fmt.Fprintf(w, "AREA    SIZE  FREE_AREA_STRUCT  BLOCKS  PAGES\n")
		}
		for _, l := range zf.Lists {
			chunk := int64(1) << l.Order
			area := fmt.Sprintf("%3d  %7s  %s  ", l.Order, fmt.Sprintf("%dk", chunk*4), center(16, fmt.Sprintf("%x", l.Addr), false))
			if verbose {
				fmt.Fprintf(w, "AREA    SIZE  FREE_AREA_STRUCT\n%s\n", area)
				for _, pg := range l.Pages {
					fmt.Fprintf(w, "%x\n", pg)
				}
			} else {
				fmt.Fprintf(w, "%s%6d %6d\n", area, l.Blocks, int64(l.Blocks)*chunk)
			}
			if l.Err != nil {
				fmt.Fprintf(w, "kmem: corrupted free list from free_area_struct: %x: %v\n", l.Addr, l.Err)
			}
			found += int64(l.Blocks) * chunk
		}
	}
	fmt.Fprintf(w, "\nnr_free_pages: %d  ", sum)
	if sum == found {
		fmt.Fprintf(w, "(verified)\n")
	} else {
		fmt.Fprintf(w, "(found %d)\n", found)
	}
	return nil
}

// ordinal is crash's: 1st, 2nd, 3rd, 4th ... (11th is "11st" in crash).
func ordinal(n uint64) string {
	s := fmt.Sprint(n)
	switch s[len(s)-1] {
	case '1':
		return s + "st"
	case '2':
		return s + "nd"
	case '3':
		return s + "rd"
	}
	return s + "th"
}
