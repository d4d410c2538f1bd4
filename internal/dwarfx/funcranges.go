package dwarfx

import "fmt"

// FuncRanges is a function's code (gdb's block of the function's
// symbol): its entry (DW_AT_low_pc, or the first range) and its address
// ranges in DWARF order (a function split into hot and cold parts has
// two or more).
type FuncRanges struct {
	Name   string
	Entry  uint64
	Ranges [][2]uint64 // [lo, hi)
}

// FunctionAt returns the ranges of the function (a DW_TAG_subprogram
// child of its unit) whose code holds pc, an address in the index's own
// space; ok is false when no function of the unit covers pc.
func (ix *Index) FunctionAt(pc uint64) (FuncRanges, bool, error) {
	c, err := ix.unitLines(pc)
	if err != nil || c == nil || c.info == nil || !c.info.hasChildren {
		return FuncRanges{}, false, err
	}
	u := c.u
	b := ix.secData(u.sec)[:u.end]
	tab, err := ix.table(u)
	if err != nil {
		return FuncRanges{}, false, err
	}
	pos := c.info.firstChild
	for walked := 0; pos < u.end; walked++ {
		if walked > maxWalkDIEs {
			return FuncRanges{}, false, fmt.Errorf("%s+%#x: too many DIEs", secNames[u.sec], pos)
		}
		off := pos
		d, np, err := ix.readPCDIE(u, b, tab, off)
		if err != nil {
			return FuncRanges{}, false, err
		}
		if d == nil {
			break
		}
		if d.tag == tagSubprogram && (d.pc.hasLow || d.pc.hasRanges) {
			rs, err := ix.pcRanges(u, &d.pc, c.info.base, c.info.rnglistsBase)
			if err != nil {
				return FuncRanges{}, false, err
			}
			if inRanges(rs, pc) && len(rs) > 0 {
				f := FuncRanges{Entry: rs[0].lo}
				if d.pc.hasLow {
					if lo, err := ix.address(u, d.pc.low); err == nil {
						f.Entry = lo
					}
				}
				for _, r := range rs {
					f.Ranges = append(f.Ranges, [2]uint64{r.lo, r.hi})
				}
				if v, ok, err := ix.dieName(u, off, 0); err == nil && ok {
					f.Name, _ = ix.strValue(u, v)
				}
				return f, true, nil
			}
		}
		switch {
		case !d.children:
			pos = np
		case d.sib != 0:
			pos = d.sib
		default:
			if pos, err = ix.skipTree(u, off); err != nil {
				return FuncRanges{}, false, err
			}
		}
	}
	return FuncRanges{}, false, nil
}
