package dwarfx

import (
	"encoding/binary"
	"fmt"
)

// uleb decodes an unsigned LEB128 at b[pos:]. ok is false when it runs off
// the end or is longer than 10 bytes.
func uleb(b []byte, pos int) (v uint64, np int, ok bool) {
	var shift uint
	for i := 0; i < 10; i++ {
		if pos >= len(b) {
			return 0, pos, false
		}
		c := b[pos]
		pos++
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return v, pos, true
		}
		shift += 7
	}
	return 0, pos, false
}

// sleb decodes a signed LEB128.
func sleb(b []byte, pos int) (v int64, np int, ok bool) {
	var shift uint
	var c byte
	for i := 0; i < 10; i++ {
		if pos >= len(b) {
			return 0, pos, false
		}
		c = b[pos]
		pos++
		v |= int64(c&0x7f) << shift
		shift += 7
		if c < 0x80 {
			if shift < 64 && c&0x40 != 0 {
				v |= -1 << shift
			}
			return v, pos, true
		}
	}
	return 0, pos, false
}

// skipLEB skips a LEB128 number.
func skipLEB(b []byte, pos int) (int, bool) {
	for i := 0; i < 10; i++ {
		if pos >= len(b) {
			return pos, false
		}
		c := b[pos]
		pos++
		if c < 0x80 {
			return pos, true
		}
	}
	return pos, false
}

type attrSpec struct {
	at   uint32
	form uint32
	ic   int64 // DW_FORM_implicit_const value
	size int32 // fixedFormSize under the unit's parameters, -1: variable
}

// abbrev is one abbreviation declaration.
type abbrev struct {
	tag      uint32
	children bool
	attrs    []attrSpec
	// fixed is the size in bytes of all attribute values when every form
	// has a size fixed by the unit header, else -1.
	fixed int32
	// sibAt is the byte offset of DW_AT_sibling within the DIE (after
	// the code) when it is fixed-size and preceded by fixed-size
	// attributes only, else -1; sibForm is its form.
	sibAt   int32
	sibForm uint32
	kind    uint8 // index kind of the tag (0: not indexed)
	// index: the scanner must look at DIEs of this abbreviation at the
	// top level (an indexed kind with a name or a specification, or an
	// enum whose enumerators are indexed).
	index bool
}

// abbrevTable maps abbreviation codes to declarations.
type abbrevTable struct {
	dense  []abbrev // by code; code 0 unused
	sparse map[uint64]*abbrev
}

func (t *abbrevTable) get(code uint64) *abbrev {
	if code < uint64(len(t.dense)) {
		a := &t.dense[code]
		if a.tag != 0 {
			return a
		}
		return nil
	}
	return t.sparse[code]
}

// unitParams are the header fields that fix form sizes.
type unitParams struct {
	version  uint8
	addrSize uint8
	offSize  uint8
}

// fixedFormSize is the size of a form's value, or -1 when it is variable
// (LEB128, strings, blocks) or unknown.
func fixedFormSize(form uint32, p unitParams) int {
	switch form {
	case formAddr:
		return int(p.addrSize)
	case formData1, formRef1, formFlag, formStrx1, formAddrx1:
		return 1
	case formData2, formRef2, formStrx2, formAddrx2:
		return 2
	case formStrx3, formAddrx3:
		return 3
	case formData4, formRef4, formStrx4, formAddrx4, formRefSup4:
		return 4
	case formData8, formRef8, formRefSig8, formRefSup8:
		return 8
	case formData16:
		return 16
	case formStrp, formSecOffset, formLineStrp, formStrpSup, formGNURefAlt, formGNUStrpAlt:
		return int(p.offSize)
	case formRefAddr:
		if p.version <= 2 {
			return int(p.addrSize)
		}
		return int(p.offSize)
	case formFlagPresent, formImplicitConst:
		return 0
	}
	return -1
}

// knownForm reports whether the decoder understands form.
func knownForm(form uint32) bool {
	if form >= formAddr && form <= formAddrx4 && form != 0x02 {
		return true
	}
	switch form {
	case formGNUAddrIndex, formGNUStrIndex, formGNURefAlt, formGNUStrpAlt:
		return true
	}
	return false
}

// maxAbbrevCode bounds the dense table.
const maxDenseCode = 1 << 12

// abbrevScratch holds buffers reused across parseAbbrevs calls by one
// goroutine; a table parsed with it is valid until the next call.
type abbrevScratch struct {
	attrs []attrSpec
	list  []pendingAbbrev
	dense []abbrev
}

type pendingAbbrev struct {
	code uint64
	a    abbrev
	lo   int
}

// parseAbbrevs parses the abbreviation table at off in .debug_abbrev.
// With a nil sc the table owns its memory.
func parseAbbrevs(b []byte, off uint64, p unitParams, sc *abbrevScratch) (*abbrevTable, error) {
	if off >= uint64(len(b)) {
		return nil, fmt.Errorf(".debug_abbrev+%#x: offset out of range (section size %#x)", off, len(b))
	}
	own := sc == nil
	if own {
		sc = &abbrevScratch{}
	}
	t := &abbrevTable{}
	pos := int(off)
	attrBuf := sc.attrs[:0]
	list := sc.list[:0]
	maxCode := uint64(0)
	for {
		start := pos
		code, np, ok := uleb(b, pos)
		if !ok {
			return nil, fmt.Errorf(".debug_abbrev+%#x: truncated abbreviation code", start)
		}
		pos = np
		if code == 0 {
			break
		}
		tag, np, ok := uleb(b, pos)
		if !ok || tag == 0 || tag > 0xffff {
			return nil, fmt.Errorf(".debug_abbrev+%#x: bad tag for abbreviation %d", pos, code)
		}
		pos = np
		if pos >= len(b) {
			return nil, fmt.Errorf(".debug_abbrev+%#x: truncated abbreviation %d", pos, code)
		}
		ch := b[pos]
		pos++
		if ch > 1 {
			return nil, fmt.Errorf(".debug_abbrev+%#x: bad children flag %d", pos-1, ch)
		}
		a := abbrev{tag: uint32(tag), children: ch == 1, fixed: 0, sibAt: -1}
		lo := len(attrBuf)
		for {
			apos := pos
			at, np, ok := uleb(b, pos)
			if !ok {
				return nil, fmt.Errorf(".debug_abbrev+%#x: truncated attribute", apos)
			}
			form, np2, ok := uleb(b, np)
			if !ok {
				return nil, fmt.Errorf(".debug_abbrev+%#x: truncated form", np)
			}
			pos = np2
			if at == 0 && form == 0 {
				break
			}
			if at > 0xffff || !knownForm(uint32(form)) {
				return nil, fmt.Errorf(".debug_abbrev+%#x: unknown form %#x for attribute %#x", apos, form, at)
			}
			var ic int64
			if form == formImplicitConst {
				ic, pos, ok = sleb(b, pos)
				if !ok {
					return nil, fmt.Errorf(".debug_abbrev+%#x: truncated implicit_const", pos)
				}
			}
			n := fixedFormSize(uint32(form), p)
			if at == atSibling && a.fixed >= 0 && n > 0 && form != formRefSig8 {
				a.sibAt = a.fixed
				a.sibForm = uint32(form)
			}
			if n < 0 || a.fixed < 0 {
				a.fixed = -1
			} else {
				a.fixed += int32(n)
			}
			attrBuf = append(attrBuf, attrSpec{at: uint32(at), form: uint32(form), ic: ic, size: int32(n)})
		}
		list = append(list, pendingAbbrev{code: code, a: a, lo: lo})
		if code > maxCode {
			maxCode = code
		}
	}
	sc.attrs, sc.list = attrBuf, list
	attrs := attrBuf
	if own {
		attrs = make([]attrSpec, len(attrBuf))
		copy(attrs, attrBuf)
	}
	fix := func(i int) abbrev {
		a := list[i].a
		hi := len(attrs)
		if i+1 < len(list) {
			hi = list[i+1].lo
		}
		a.attrs = attrs[list[i].lo:hi:hi]
		a.kind = kindOfTag(a.tag)
		for _, at := range a.attrs {
			switch at.at {
			case atName, atSpecification, atAbstractOrigin:
				a.index = a.kind != kNone
			}
		}
		if a.kind == kEnum {
			a.index = true
		}
		return a
	}
	if maxCode < maxDenseCode {
		n := int(maxCode + 1)
		if own {
			t.dense = make([]abbrev, n)
		} else {
			if cap(sc.dense) < n {
				sc.dense = make([]abbrev, n)
			}
			t.dense = sc.dense[:n]
			clear(t.dense)
		}
		for i := range list {
			if t.dense[list[i].code].tag == 0 {
				t.dense[list[i].code] = fix(i)
			}
		}
	} else {
		t.sparse = make(map[uint64]*abbrev, len(list))
		for i := range list {
			if _, dup := t.sparse[list[i].code]; !dup {
				a := fix(i)
				t.sparse[list[i].code] = &a
			}
		}
	}
	return t, nil
}

var le = binary.LittleEndian

// readUint reads an n-byte little-endian unsigned number.
func readUint(b []byte, pos, n int) uint64 {
	switch n {
	case 1:
		return uint64(b[pos])
	case 2:
		return uint64(le.Uint16(b[pos:]))
	case 3:
		return uint64(b[pos]) | uint64(b[pos+1])<<8 | uint64(b[pos+2])<<16
	case 4:
		return uint64(le.Uint32(b[pos:]))
	case 8:
		return le.Uint64(b[pos:])
	}
	return 0
}

// hasAttr reports whether DIEs of this abbreviation carry attribute at.
func (ab *abbrev) hasAttr(at uint32) bool {
	for i := range ab.attrs {
		if ab.attrs[i].at == at {
			return true
		}
	}
	return false
}
