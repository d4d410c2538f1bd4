package dwarfx

import (
	"fmt"
	"sort"
	"sync"
)

// FuncRanges is a function's code (gdb's block of the function's
// symbol): its name, entry (DW_AT_low_pc, or the first range) and its
// address ranges in DWARF order (a function split into hot and cold parts
// has two or more).
type FuncRanges struct {
	Name   string
	Entry  uint64
	Ranges [][2]uint64 // [lo, hi)
}

// unitFunc is one function of a unit's list.
type unitFunc struct {
	off    uint64 // the DIE, for its name
	entry  uint64
	ranges []addrRange
}

// funcRange is one range of a unit's functions, for the address search.
type funcRange struct {
	lo, hi uint64
	fn     int
}

// unitFuncs is a unit's functions (DW_TAG_subprogram children with code),
// their ranges sorted by address.
type unitFuncs struct {
	fns    []unitFunc
	ranges []funcRange
}

// funcCache holds the function lists of the units asked, by unit offset.
type funcCache struct {
	mu sync.Mutex
	m  map[uint64]*unitFuncs
}

// maxCachedFuncLists bounds the units whose function lists are kept.
const maxCachedFuncLists = 256

// FunctionAt returns the function (a DW_TAG_subprogram child of its unit)
// whose code holds pc, an address in the index's own space, with its name,
// entry and ranges; ok is false when no function of the unit covers pc.
// A unit's functions are listed on first use and kept.
func (ix *Index) FunctionAt(pc uint64) (FuncRanges, bool, error) {
	c, err := ix.unitLines(pc)
	if err != nil || c == nil || c.info == nil || !c.info.hasChildren {
		return FuncRanges{}, false, err
	}
	fc := &ix.funcs
	fc.mu.Lock()
	uf := fc.m[c.u.off]
	fc.mu.Unlock()
	if uf == nil {
		if uf, err = ix.listFuncs(c); err != nil {
			return FuncRanges{}, false, err
		}
		fc.mu.Lock()
		if fc.m == nil || len(fc.m) >= maxCachedFuncLists {
			fc.m = map[uint64]*unitFuncs{}
		}
		fc.m[c.u.off] = uf
		fc.mu.Unlock()
	}
	i := sort.Search(len(uf.ranges), func(i int) bool { return uf.ranges[i].lo > pc }) - 1
	for n := 0; i >= 0 && n < maxOverlap; i, n = i-1, n+1 {
		r := uf.ranges[i]
		if pc >= r.lo && pc < r.hi {
			fn := uf.fns[r.fn]
			f := FuncRanges{Entry: fn.entry}
			for _, r := range fn.ranges {
				f.Ranges = append(f.Ranges, [2]uint64{r.lo, r.hi})
			}
			if v, ok, err := ix.dieName(c.u, fn.off, 0); err == nil && ok {
				f.Name, _ = ix.strValue(c.u, v)
			}
			return f, true, nil
		}
	}
	return FuncRanges{}, false, nil
}

// maxOverlap bounds the ranges looked back at for one address (functions'
// ranges do not nest; a few may share a start).
const maxOverlap = 16

// listFuncs walks the unit's top-level DIEs for its functions.
func (ix *Index) listFuncs(c *cuLines) (*unitFuncs, error) {
	u := c.u
	b := ix.secData(u.sec)[:u.end]
	tab, err := ix.table(u)
	if err != nil {
		return nil, err
	}
	uf := &unitFuncs{}
	pos := c.info.firstChild
	for walked := 0; pos < u.end; walked++ {
		if walked > maxWalkDIEs {
			return nil, fmt.Errorf("%s+%#x: too many DIEs", secNames[u.sec], pos)
		}
		off := pos
		d, np, err := ix.readPCDIE(u, b, tab, off)
		if err != nil {
			return nil, err
		}
		if d == nil {
			break
		}
		if d.tag == tagSubprogram && (d.pc.hasLow || d.pc.hasRanges) {
			rs, err := ix.pcRanges(u, &d.pc, c.info.base, c.info.rnglistsBase)
			if err != nil {
				return nil, err
			}
			if len(rs) > 0 {
				fn := unitFunc{off: off, entry: rs[0].lo, ranges: rs}
				if d.pc.hasLow {
					if lo, err := ix.address(u, d.pc.low); err == nil {
						fn.entry = lo
					}
				}
				for _, r := range rs {
					if r.hi > r.lo {
						uf.ranges = append(uf.ranges, funcRange{r.lo, r.hi, len(uf.fns)})
					}
				}
				uf.fns = append(uf.fns, fn)
			}
		}
		switch {
		case !d.children:
			pos = np
		case d.sib != 0:
			pos = d.sib
		default:
			if pos, err = ix.skipTree(u, off); err != nil {
				return nil, err
			}
		}
	}
	sort.Slice(uf.ranges, func(i, j int) bool { return uf.ranges[i].lo < uf.ranges[j].lo })
	return uf, nil
}
