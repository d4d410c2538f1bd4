package dwarfx

// Address ranges: DW_AT_low_pc/high_pc, DW_AT_ranges (.debug_rnglists in
// DWARF 5, .debug_ranges before), addresses through .debug_addr.

import "fmt"

const (
	atStmtList  = 0x10
	atHighPC    = 0x12
	atCompDir   = 0x1b
	atEntryPC   = 0x52
	atCallFile  = 0x58
	atCallLine  = 0x59
	tagLexBlock = 0x0b

	rleEndOfList    = 0
	rleBaseAddressx = 1
	rleStartxEndx   = 2
	rleStartxLength = 3
	rleOffsetPair   = 4
	rleBaseAddress  = 5
	rleStartEnd     = 6
	rleStartLength  = 7

	maxRanges = 1 << 16
)

// addrRange is [lo, hi).
type addrRange struct{ lo, hi uint64 }

// pcAttrs are the address attributes of one DIE.
type pcAttrs struct {
	low, high       value
	hasLow, hasHigh bool
	ranges          value
	hasRanges       bool
}

// isAddrForm reports whether form is of class address.
func isAddrForm(form uint32) bool {
	switch form {
	case formAddr, formAddrx, formAddrx1, formAddrx2, formAddrx3, formAddrx4, formGNUAddrIndex:
		return true
	}
	return false
}

// address resolves an address-class value (addrx through .debug_addr).
func (ix *Index) address(u *unit, v value) (uint64, error) {
	if v.form == formAddr {
		return v.u, nil
	}
	n := uint64(u.addrSize)
	p := u.addrBase + v.u*n
	if v.u > uint64(len(ix.addr)) || p < u.addrBase || p+n > uint64(len(ix.addr)) {
		return 0, fmt.Errorf(".debug_addr+%#x: address index %d out of range", u.addrBase, v.u)
	}
	return readUint(ix.addr, int(p), int(n)), nil
}

// pcRanges returns the address ranges of a DIE; base is the unit's base
// address (its DW_AT_low_pc) and rnglistsBase its DW_AT_rnglists_base.
func (ix *Index) pcRanges(u *unit, a *pcAttrs, base, rnglistsBase uint64) ([]addrRange, error) {
	if a.hasLow && a.hasHigh {
		lo, err := ix.address(u, a.low)
		if err != nil {
			return nil, err
		}
		hi := a.high.u
		if isAddrForm(a.high.form) {
			if hi, err = ix.address(u, a.high); err != nil {
				return nil, err
			}
		} else {
			hi += lo
		}
		if hi <= lo {
			return nil, nil
		}
		return []addrRange{{lo, hi}}, nil
	}
	if !a.hasRanges {
		return nil, nil
	}
	if u.version >= 5 {
		off := a.ranges.u
		if a.ranges.form == formRnglistx {
			n := uint64(u.offSize)
			p := rnglistsBase + off*n
			if off > uint64(len(ix.ln.rnglists)) || p < rnglistsBase || p+n > uint64(len(ix.ln.rnglists)) {
				return nil, fmt.Errorf(".debug_rnglists+%#x: range list index %d out of range", rnglistsBase, off)
			}
			off = rnglistsBase + readUint(ix.ln.rnglists, int(p), int(n))
		}
		return ix.rnglist(u, off, base)
	}
	return ix.rangesV4(u, a.ranges.u, base)
}

// rnglist decodes the DWARF 5 range list at off in .debug_rnglists.
func (ix *Index) rnglist(u *unit, off, base uint64) ([]addrRange, error) {
	b := ix.ln.rnglists
	bad := func(pos int, what string) error {
		return fmt.Errorf(".debug_rnglists+%#x: %s", pos, what)
	}
	if off >= uint64(len(b)) {
		return nil, bad(int(off), "range list offset out of range")
	}
	as := int(u.addrSize)
	pos := int(off)
	var out []addrRange
	addrx := func(i uint64) (uint64, error) {
		return ix.address(u, value{form: formAddrx, u: i})
	}
	for n := 0; ; n++ {
		if n > maxRanges {
			return nil, bad(pos, "range list too long")
		}
		if pos >= len(b) {
			return nil, bad(pos, "unterminated range list")
		}
		kind := b[pos]
		pos++
		var lo, hi uint64
		var err error
		switch kind {
		case rleEndOfList:
			return out, nil
		case rleBaseAddressx:
			i, np, ok := uleb(b, pos)
			if !ok {
				return nil, bad(pos, "truncated range list entry")
			}
			pos = np
			if base, err = addrx(i); err != nil {
				return nil, err
			}
			continue
		case rleStartxEndx, rleStartxLength:
			i, np, ok := uleb(b, pos)
			if !ok {
				return nil, bad(pos, "truncated range list entry")
			}
			j, np, ok := uleb(b, np)
			if !ok {
				return nil, bad(pos, "truncated range list entry")
			}
			pos = np
			if lo, err = addrx(i); err != nil {
				return nil, err
			}
			if kind == rleStartxEndx {
				if hi, err = addrx(j); err != nil {
					return nil, err
				}
			} else {
				hi = lo + j
			}
		case rleOffsetPair:
			i, np, ok := uleb(b, pos)
			if !ok {
				return nil, bad(pos, "truncated range list entry")
			}
			j, np, ok := uleb(b, np)
			if !ok {
				return nil, bad(pos, "truncated range list entry")
			}
			pos = np
			lo, hi = base+i, base+j
		case rleBaseAddress:
			if pos+as > len(b) {
				return nil, bad(pos, "truncated range list entry")
			}
			base = readUint(b, pos, as)
			pos += as
			continue
		case rleStartEnd:
			if pos+2*as > len(b) {
				return nil, bad(pos, "truncated range list entry")
			}
			lo, hi = readUint(b, pos, as), readUint(b, pos+as, as)
			pos += 2 * as
		case rleStartLength:
			if pos+as > len(b) {
				return nil, bad(pos, "truncated range list entry")
			}
			lo = readUint(b, pos, as)
			l, np, ok := uleb(b, pos+as)
			if !ok {
				return nil, bad(pos, "truncated range list entry")
			}
			pos = np
			hi = lo + l
		default:
			return nil, bad(pos-1, fmt.Sprintf("unknown range list entry kind %#x", kind))
		}
		if hi > lo {
			out = append(out, addrRange{lo, hi})
		}
	}
}

// rangesV4 decodes a DWARF 2-4 range list at off in .debug_ranges.
func (ix *Index) rangesV4(u *unit, off, base uint64) ([]addrRange, error) {
	b := ix.ln.ranges
	as := int(u.addrSize)
	if off >= uint64(len(b)) {
		return nil, fmt.Errorf(".debug_ranges+%#x: range list offset out of range", off)
	}
	max := uint64(1)<<(8*uint(as)) - 1
	var out []addrRange
	for pos, n := int(off), 0; ; pos, n = pos+2*as, n+1 {
		if pos+2*as > len(b) || n > maxRanges {
			return nil, fmt.Errorf(".debug_ranges+%#x: unterminated range list", off)
		}
		lo, hi := readUint(b, pos, as), readUint(b, pos+as, as)
		switch {
		case lo == 0 && hi == 0:
			return out, nil
		case lo == max:
			base = hi
		case hi > lo:
			out = append(out, addrRange{base + lo, base + hi})
		}
	}
}

func inRanges(rs []addrRange, pc uint64) bool {
	for _, r := range rs {
		if pc >= r.lo && pc < r.hi {
			return true
		}
	}
	return false
}
