package dwarfx

import "fmt"

// unit is one unit (compile, partial, type) of .debug_info or .debug_types.
type unit struct {
	off       uint64 // unit header offset in its section
	end       uint64 // offset just past the unit
	dieOff    uint64 // offset of the unit DIE
	abbrevOff uint64
	sig       uint64 // type units
	typeOff   uint64 // type units: offset of the type DIE (absolute)
	strBase   uint64 // DW_AT_str_offsets_base
	addrBase  uint64 // DW_AT_addr_base
	unitParams
	utype uint8
	sec   uint8 // secInfo or secTypes
}

const (
	secInfo  = 0
	secTypes = 1
)

var secNames = [2]string{".debug_info", ".debug_types"}

// parseUnitHeader reads the unit header at off of section sec (data b).
func parseUnitHeader(b []byte, off uint64, sec uint8) (*unit, error) {
	name := secNames[sec]
	if off+4 > uint64(len(b)) {
		return nil, fmt.Errorf("%s+%#x: truncated unit header", name, off)
	}
	u := &unit{off: off, sec: sec}
	pos := int(off)
	length := uint64(le.Uint32(b[pos:]))
	pos += 4
	u.offSize = 4
	if length == 0xffffffff {
		if pos+8 > len(b) {
			return nil, fmt.Errorf("%s+%#x: truncated unit header", name, off)
		}
		length = le.Uint64(b[pos:])
		pos += 8
		u.offSize = 8
	} else if length >= 0xfffffff0 {
		return nil, fmt.Errorf("%s+%#x: reserved unit length %#x", name, off, length)
	}
	if length > uint64(len(b)-pos) {
		return nil, fmt.Errorf("%s+%#x: unit length %#x runs past the end of the section (size %#x)", name, off, length, len(b))
	}
	u.end = uint64(pos) + length
	hdr := b[:u.end]
	need := func(n int) error {
		if pos+n > len(hdr) {
			return fmt.Errorf("%s+%#x: truncated unit header", name, off)
		}
		return nil
	}
	if err := need(2); err != nil {
		return nil, err
	}
	ver := le.Uint16(hdr[pos:])
	pos += 2
	if ver < 2 || ver > 5 {
		return nil, fmt.Errorf("%s+%#x: unsupported DWARF version %d", name, off, ver)
	}
	u.version = uint8(ver)
	os := int(u.offSize)
	if ver >= 5 {
		if err := need(2 + os); err != nil {
			return nil, err
		}
		u.utype = hdr[pos]
		u.addrSize = hdr[pos+1]
		pos += 2
		u.abbrevOff = readUint(hdr, pos, os)
		pos += os
		switch u.utype {
		case utCompile, utPartial:
		case utType, utSplitType:
			if err := need(8 + os); err != nil {
				return nil, err
			}
			u.sig = le.Uint64(hdr[pos:])
			u.typeOff = u.off + readUint(hdr, pos+8, os)
			pos += 8 + os
		case utSkeleton, utSplitCompile:
			if err := need(8); err != nil {
				return nil, err
			}
			pos += 8
		default:
			return nil, fmt.Errorf("%s+%#x: unknown unit type %#x", name, off, u.utype)
		}
	} else {
		if err := need(os + 1); err != nil {
			return nil, err
		}
		u.abbrevOff = readUint(hdr, pos, os)
		pos += os
		u.addrSize = hdr[pos]
		pos++
		u.utype = utCompile
		if sec == secTypes {
			if err := need(8 + os); err != nil {
				return nil, err
			}
			u.utype = utType
			u.sig = le.Uint64(hdr[pos:])
			u.typeOff = u.off + readUint(hdr, pos+8, os)
			pos += 8 + os
		}
	}
	if u.addrSize != 4 && u.addrSize != 8 {
		return nil, fmt.Errorf("%s+%#x: unsupported address size %d", name, off, u.addrSize)
	}
	u.dieOff = uint64(pos)
	return u, nil
}

// value is one decoded attribute value.
type value struct {
	form uint32
	u    uint64 // constants, flags, offsets, addresses, references (absolute), string offsets
	blk  []byte // blocks, exprloc, data16, DW_FORM_string bytes
}

// readValue decodes the value of form at b[pos:] (b ends at the unit end).
// References are made absolute (section offsets); strx/addrx indices are
// left as indices (form tells which).
func (u *unit) readValue(b []byte, pos int, form uint32, ic int64) (value, int, error) {
	v := value{form: form}
	if n := fixedFormSize(form, u.unitParams); n > 0 && form != formData16 {
		if pos+n > len(b) {
			return value{}, pos, u.badValue(pos, form, "attribute value runs past the end of the unit")
		}
		v.u = readUint(b, pos, n)
		switch form {
		case formRef1, formRef2, formRef4, formRef8:
			v.u += u.off
		}
		return v, pos + n, nil
	}
	bad := func(what string) (value, int, error) {
		return value{}, pos, u.badValue(pos, form, what)
	}
	if form == formIndirect {
		f, np, ok := uleb(b, pos)
		if !ok {
			return bad("truncated indirect form")
		}
		if f == formIndirect || !knownForm(uint32(f)) {
			return bad("bad indirect form")
		}
		pos = np
		form = uint32(f)
		v.form = form
	}
	if n := fixedFormSize(form, u.unitParams); n >= 0 {
		if pos+n > len(b) {
			return bad("attribute value runs past the end of the unit")
		}
		switch form {
		case formData16:
			v.blk = b[pos : pos+16]
		case formImplicitConst:
			v.u = uint64(ic)
		case formFlagPresent:
			v.u = 1
		default:
			v.u = readUint(b, pos, n)
		}
		switch form {
		case formRef1, formRef2, formRef4, formRef8:
			v.u += u.off
		}
		return v, pos + n, nil
	}
	switch form {
	case formString:
		s := pos
		for pos < len(b) && b[pos] != 0 {
			pos++
		}
		if pos >= len(b) {
			return bad("unterminated string")
		}
		v.blk = b[s:pos]
		return v, pos + 1, nil
	case formSdata:
		x, np, ok := sleb(b, pos)
		if !ok {
			return bad("bad LEB128")
		}
		v.u = uint64(x)
		return v, np, nil
	case formUdata, formRefUdata, formStrx, formAddrx, formLoclistx, formRnglistx, formGNUAddrIndex, formGNUStrIndex:
		x, np, ok := uleb(b, pos)
		if !ok {
			return bad("bad LEB128")
		}
		v.u = x
		if form == formRefUdata {
			v.u += u.off
		}
		return v, np, nil
	case formBlock, formExprloc, formBlock1, formBlock2, formBlock4:
		var n uint64
		switch form {
		case formBlock1:
			if pos+1 > len(b) {
				return bad("truncated block")
			}
			n, pos = uint64(b[pos]), pos+1
		case formBlock2:
			if pos+2 > len(b) {
				return bad("truncated block")
			}
			n, pos = uint64(le.Uint16(b[pos:])), pos+2
		case formBlock4:
			if pos+4 > len(b) {
				return bad("truncated block")
			}
			n, pos = uint64(le.Uint32(b[pos:])), pos+4
		default:
			x, np, ok := uleb(b, pos)
			if !ok {
				return bad("bad LEB128")
			}
			n, pos = x, np
		}
		if n > uint64(len(b)-pos) {
			return bad(fmt.Sprintf("block of %d bytes runs past the end of the unit", n))
		}
		v.blk = b[pos : pos+int(n)]
		return v, pos + int(n), nil
	}
	return bad("unknown form")
}

func (u *unit) badValue(pos int, form uint32, what string) error {
	return fmt.Errorf("%s+%#x: %s (form %#x)", secNames[u.sec], pos, what, form)
}

// skipValue skips a value without decoding it.
func (u *unit) skipValue(b []byte, pos int, form uint32) (int, bool) {
	if n := fixedFormSize(form, u.unitParams); n >= 0 {
		return pos + n, pos+n <= len(b)
	}
	switch form {
	case formSdata, formUdata, formRefUdata, formStrx, formAddrx, formLoclistx, formRnglistx, formGNUAddrIndex, formGNUStrIndex:
		return skipLEB(b, pos)
	case formString:
		for pos < len(b) {
			if b[pos] == 0 {
				return pos + 1, true
			}
			pos++
		}
		return pos, false
	}
	_, np, err := u.readValue(b, pos, form, 0)
	return np, err == nil
}
