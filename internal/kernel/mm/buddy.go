package mm

import (
	"encoding/binary"
	"fmt"

	"kdive/internal/kernel/klist"
)

// FreeBlock is the buddy allocator's free block holding a page.
type FreeBlock struct {
	Zone        *Zone
	ZoneStart   uint64 // zone_start_pfn
	NodeStart   uint64 // the zone's node's node_start_pfn
	Order       int
	Head        uint64 // pfn of the block's first page
	MigrateType int    // the free_list the block is on (-1: on none)
	FreeList    uint64 // &zone->free_area[Order].free_list[MigrateType]
}

// Buddy page type (include/linux/page-flags.h, 5.x/6.x): page_type, in
// the _mapcount word, with PAGE_TYPE_BASE's bits set and PG_buddy clear.
const (
	pageTypeBase = 0xf0000000
	pgBuddy      = 0x00000080
	maxFreeWalk  = 1 << 22
)

// FreeBlockOf finds the free block of the buddy allocator that holds pfn:
// the block head (pfn rounded down to 2^order) is PageBuddy with
// page->private == order, for some order below MAX_ORDER (the length of
// zone.free_area). The free list it is on is found by walking that
// order's free lists (struct page.lru, bounded, cycle-checked). ok=false
// when the page is not free.
func FreeBlockOf(src Source, vi VMCOREINFO, pg *Pages, zones []Zone, pfn uint64) (*FreeBlock, bool, error) {
	oMap, err := src.MemberOffset("page", "_mapcount")
	if err != nil {
		if n, ok := vmcoreNum(vi, "OFFSET(page._mapcount)"); ok {
			oMap = n
		} else {
			return nil, false, fmt.Errorf("mm: page._mapcount: %w", err)
		}
	}
	oPriv, err := src.MemberOffset("page", "private")
	if err != nil {
		if n, ok := vmcoreNum(vi, "OFFSET(page.private)"); ok {
			oPriv = n
		} else {
			return nil, false, fmt.Errorf("mm: page.private: %w", err)
		}
	}
	oLru, err := src.MemberOffset("page", "lru")
	if err != nil {
		oLru = 8
	}
	fa, err := freeAreaLayoutOf(src)
	if err != nil {
		return nil, false, err
	}
	oStart, err := src.MemberOffset("zone", "zone_start_pfn")
	if err != nil {
		return nil, false, fmt.Errorf("mm: zone.zone_start_pfn: %w", err)
	}
	var b [8]byte
	for o := 0; o < fa.maxOrder; o++ {
		head := pfn &^ (uint64(1)<<o - 1)
		pa := pg.PageAddr(head)
		if _, err := src.ReadAt(b[:4], pa+oMap); err != nil {
			return nil, false, fmt.Errorf("mm: struct page %#x: %w", pa, err)
		}
		pt := binary.LittleEndian.Uint32(b[:4])
		if pt&(pageTypeBase|pgBuddy) != pageTypeBase {
			continue
		}
		priv, err := u64(src, pa+oPriv)
		if err != nil || priv != uint64(o) {
			continue
		}
		fb := &FreeBlock{Order: o, Head: head, MigrateType: -1}
		for i := range zones {
			z := &zones[i]
			start, err := u64(src, z.Addr+oStart)
			if err == nil && z.Spanned > 0 && pfn >= start && pfn < start+z.Spanned {
				fb.Zone, fb.ZoneStart = z, start
				if o1, err := src.MemberOffset("zone", "zone_pgdat"); err == nil {
					if o2, err := src.MemberOffset("pglist_data", "node_start_pfn"); err == nil {
						if pgdat, err := u64(src, z.Addr+o1); err == nil {
							fb.NodeStart, _ = u64(src, pgdat+o2)
						}
					}
				}
			}
		}
		if fb.Zone == nil {
			return fb, true, nil
		}
		read := func(a uint64) (uint64, error) { return u64(src, a) }
		for mt := 0; mt < fa.nLists; mt++ {
			list := fb.Zone.Addr + fa.off + uint64(o)*fa.size + fa.list + uint64(mt)*16
			ents, _ := klist.Entries(read, list, oLru, maxFreeWalk)
			for _, e := range ents {
				if e == pa {
					fb.MigrateType, fb.FreeList = mt, list
					return fb, true, nil
				}
			}
		}
		return fb, true, nil
	}
	return nil, false, nil
}

// FreeList is one zone->free_area[Order].free_list[MigrateType] and the
// number of free blocks on it.
type FreeList struct {
	Order, MigrateType int
	Addr               uint64 // the list_head
	Blocks             int
	Pages              []uint64 // the struct page of each block's head, in list order
	Err                error    // a corrupt list: Blocks counts those before it
}

// freeAreaLayout is where zone.free_area[order].free_list[migratetype]
// lives: the array's offset in struct zone, sizeof(struct free_area), the
// list array's offset in it, and the orders (MAX_ORDER) and migrate types
// the types give (capped: 64 orders, 16 types; 11 and 1 when unknown).
type freeAreaLayout struct {
	off, size, list  uint64
	maxOrder, nLists int
}

func freeAreaLayoutOf(src Source) (freeAreaLayout, error) {
	var fa freeAreaLayout
	var err error
	if fa.size, err = src.TypeSize("free_area"); err != nil || fa.size == 0 {
		return fa, fmt.Errorf("mm: sizeof(struct free_area): %v", err)
	}
	if fa.off, err = src.MemberOffset("zone", "free_area"); err != nil {
		return fa, fmt.Errorf("mm: zone.free_area: %w", err)
	}
	fa.maxOrder = 11
	if s, err := src.MemberSize("zone", "free_area"); err == nil && s/fa.size > 0 && s/fa.size <= 64 {
		fa.maxOrder = int(s / fa.size)
	}
	fa.list, _ = src.MemberOffset("free_area", "free_list")
	fa.nLists = 1
	if s, err := src.MemberSize("free_area", "free_list"); err == nil && s/16 > 0 && s/16 <= 16 {
		fa.nLists = int(s / 16)
	}
	return fa, nil
}

// ZoneFree is a zone's free lists (order by order, each migrate type)
// and its zone_start_pfn and node_start_pfn.
type ZoneFree struct {
	Zone                 *Zone
	ZoneStart, NodeStart uint64
	Lists                []FreeList
}

// FreeAreas walks every free list of every zone (bounded, cycle-checked).
func FreeAreas(src Source, zones []Zone) ([]ZoneFree, error) {
	fa, err := freeAreaLayoutOf(src)
	if err != nil {
		return nil, err
	}
	oLru, err := src.MemberOffset("page", "lru")
	if err != nil {
		oLru = 8
	}
	oStart, _ := src.MemberOffset("zone", "zone_start_pfn")
	oPgdat, errP := src.MemberOffset("zone", "zone_pgdat")
	oNodeStart, errN := src.MemberOffset("pglist_data", "node_start_pfn")
	read := func(a uint64) (uint64, error) { return u64(src, a) }
	var out []ZoneFree
	for i := range zones {
		z := &zones[i]
		zf := ZoneFree{Zone: z}
		zf.ZoneStart, _ = u64(src, z.Addr+oStart)
		if errP == nil && errN == nil {
			if pgdat, err := u64(src, z.Addr+oPgdat); err == nil {
				zf.NodeStart, _ = u64(src, pgdat+oNodeStart)
			}
		}
		for o := 0; o < fa.maxOrder; o++ {
			for mt := 0; mt < fa.nLists; mt++ {
				l := FreeList{Order: o, MigrateType: mt, Addr: z.Addr + fa.off + uint64(o)*fa.size + fa.list + uint64(mt)*16}
				ents, err := klist.Entries(read, l.Addr, oLru, maxFreeWalk)
				l.Blocks, l.Pages, l.Err = len(ents), ents, err
				zf.Lists = append(zf.Lists, l)
			}
		}
		out = append(out, zf)
	}
	return out, nil
}
