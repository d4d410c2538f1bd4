package dwarfx

import "fmt"

// die is one decoded DIE: the attributes the type decoder uses.
type die struct {
	u        *unit
	off      uint64 // offset in its section
	tag      uint32
	children bool
	next     uint64 // offset after the attributes (first child)
	sib      uint64

	hasName bool
	nameV   value
	typ     uint64 // packed reference; 0: none (void)
	hasType bool

	byteSize, bitSize, bitOffset, dataBitOffset value
	has                                         uint32 // hasX bits
	memberLoc, count, upper, lower, constV, loc value
	encoding                                    uint64
	decl, ext                                   bool
	spec                                        uint64 // packed reference
	lowPC                                       value
}

const (
	hasByteSize = 1 << iota
	hasBitSize
	hasBitOffset
	hasDataBitOffset
	hasMemberLoc
	hasCount
	hasUpper
	hasLower
	hasConst
	hasLoc
	hasLowPC
)

func (d *die) where() string { return fmt.Sprintf("%s+%#x", secNames[d.u.sec], d.off) }

// unitOf finds the unit of a packed reference.
func (ix *Index) unitOf(ref uint64) (*unit, uint64, error) {
	sec := uint8(secInfo)
	if ref&typesBit != 0 {
		sec = secTypes
	}
	off := ref & offMask
	u := ix.findUnit(sec, off)
	if u == nil {
		return nil, 0, fmt.Errorf("%s+%#x: reference out of range", secNames[sec], off)
	}
	return u, off, nil
}

// ref packs a reference value of a DIE in unit u.
func (ix *Index) ref(u *unit, v value, where uint64) (uint64, error) {
	switch v.form {
	case formRefSig8:
		r, ok := ix.sigs[v.u]
		if !ok {
			return 0, fmt.Errorf("%s+%#x: type signature %#x not found", secNames[u.sec], where, v.u)
		}
		return r, nil
	case formRefAddr:
		return v.u, nil // .debug_info
	case formRef1, formRef2, formRef4, formRef8, formRefUdata:
		if v.u < u.dieOff || v.u >= u.end {
			return 0, fmt.Errorf("%s+%#x: reference %#x outside its unit", secNames[u.sec], where, v.u)
		}
		if u.sec == secTypes {
			return v.u | typesBit, nil
		}
		return v.u, nil
	}
	return 0, fmt.Errorf("%s+%#x: unsupported reference form %#x", secNames[u.sec], where, v.form)
}

// readDIE decodes the DIE at off of unit u; it returns nil for a null
// entry (end of siblings).
func (ix *Index) readDIE(u *unit, off uint64) (*die, error) {
	b := ix.secData(u.sec)
	if u.end > uint64(len(b)) || off >= u.end {
		return nil, fmt.Errorf("%s+%#x: DIE offset out of range", secNames[u.sec], off)
	}
	b = b[:u.end]
	tab, err := ix.table(u)
	if err != nil {
		return nil, err
	}
	code, pos, ok := uleb(b, int(off))
	if !ok {
		return nil, fmt.Errorf("%s+%#x: truncated DIE", secNames[u.sec], off)
	}
	if code == 0 {
		return nil, nil
	}
	ab := tab.get(code)
	if ab == nil {
		return nil, fmt.Errorf("%s+%#x: unknown abbreviation code %d", secNames[u.sec], off, code)
	}
	d := &die{u: u, off: off, tag: ab.tag, children: ab.children}
	for i := range ab.attrs {
		a := &ab.attrs[i]
		v, np, err := u.readValue(b, pos, a.form, a.ic)
		if err != nil {
			return nil, err
		}
		pos = np
		switch a.at {
		case atName:
			d.nameV, d.hasName = v, true
		case atSibling:
			if v.form == formRefSig8 || v.u <= off || v.u > u.end {
				return nil, fmt.Errorf("%s+%#x: DW_AT_sibling %#x out of range", secNames[u.sec], off, v.u)
			}
			d.sib = v.u
		case atType:
			r, err := ix.ref(u, v, off)
			if err != nil {
				return nil, err
			}
			d.typ, d.hasType = r, true
		case atByteSize:
			d.byteSize, d.has = v, d.has|hasByteSize
		case atBitSize:
			d.bitSize, d.has = v, d.has|hasBitSize
		case atBitOffset:
			d.bitOffset, d.has = v, d.has|hasBitOffset
		case atDataBitOffset:
			d.dataBitOffset, d.has = v, d.has|hasDataBitOffset
		case atDataMemberLoc:
			d.memberLoc, d.has = v, d.has|hasMemberLoc
		case atCount:
			d.count, d.has = v, d.has|hasCount
		case atUpperBound:
			d.upper, d.has = v, d.has|hasUpper
		case atLowerBound:
			d.lower, d.has = v, d.has|hasLower
		case atConstValue:
			d.constV, d.has = v, d.has|hasConst
		case atLocation:
			d.loc, d.has = v, d.has|hasLoc
		case atLowPC:
			d.lowPC, d.has = v, d.has|hasLowPC
		case atEncoding:
			d.encoding = v.u
		case atDeclaration:
			d.decl = v.u != 0
		case atExternal:
			d.ext = v.u != 0
		case atSpecification, atAbstractOrigin:
			if r, err := ix.ref(u, v, off); err == nil {
				d.spec = r & offMask
			}
		}
	}
	d.next = uint64(pos)
	return d, nil
}

// skipTree returns the offset after the DIE tree whose first DIE is at off.
func (ix *Index) skipTree(u *unit, off uint64) (uint64, error) {
	b := ix.secData(u.sec)[:u.end]
	tab, err := ix.table(u)
	if err != nil {
		return 0, err
	}
	pos := int(off)
	depth := 0
	for {
		dieOff := pos
		code, np, ok := uleb(b, pos)
		if !ok {
			return 0, fmt.Errorf("%s+%#x: truncated DIE", secNames[u.sec], dieOff)
		}
		pos = np
		if code == 0 {
			depth--
			if depth <= 0 {
				return uint64(pos), nil
			}
			continue
		}
		ab := tab.get(code)
		if ab == nil {
			return 0, fmt.Errorf("%s+%#x: unknown abbreviation code %d", secNames[u.sec], dieOff, code)
		}
		var sib uint64
		for i := range ab.attrs {
			a := &ab.attrs[i]
			if a.at == atSibling {
				v, np, err := u.readValue(b, pos, a.form, a.ic)
				if err != nil {
					return 0, err
				}
				sib, pos = v.u, np
				continue
			}
			if pos, ok = u.skipValue(b, pos, a.form); !ok {
				return 0, fmt.Errorf("%s+%#x: DIE runs past the end of the unit", secNames[u.sec], dieOff)
			}
		}
		if ab.children {
			if sib > uint64(dieOff) && sib <= uint64(len(b)) {
				pos = int(sib)
			} else {
				depth++
				continue
			}
		}
		if depth == 0 {
			return uint64(pos), nil
		}
	}
}

// children calls fn for each child of d.
func (ix *Index) children(d *die, fn func(c *die) error) error {
	if !d.children {
		return nil
	}
	u := d.u
	pos := d.next
	for n := 0; ; n++ {
		if pos >= u.end {
			return fmt.Errorf("%s: children run past the end of the unit", d.where())
		}
		c, err := ix.readDIE(u, pos)
		if err != nil {
			return err
		}
		if c == nil {
			return nil
		}
		if err := fn(c); err != nil {
			return err
		}
		switch {
		case !c.children:
			pos = c.next
		case c.sib != 0:
			pos = c.sib
		default:
			if pos, err = ix.skipTree(u, c.off); err != nil {
				return err
			}
		}
	}
}

// constant interprets a constant-class value (signed when the form says so).
func constant(v value) (int64, bool) {
	switch v.form {
	case formData1, formData2, formData4, formData8, formUdata, formImplicitConst, formSdata:
		return int64(v.u), true
	}
	return 0, false
}
