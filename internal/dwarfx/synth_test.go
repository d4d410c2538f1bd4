package dwarfx

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"strconv"
	"strings"
	"testing"
)

// buildELF makes a minimal ELF64 little-endian file holding the named
// sections (no program headers).
func buildELF(typ uint16, secs map[string][]byte) []byte {
	names := []string{}
	for n := range secs {
		names = append(names, n)
	}
	// deterministic order
	for i := range names {
		for j := i + 1; j < len(names); j++ {
			if names[j] < names[i] {
				names[i], names[j] = names[j], names[i]
			}
		}
	}
	shstr := []byte{0}
	nameOff := map[string]int{}
	for _, n := range append(names, ".shstrtab") {
		nameOff[n] = len(shstr)
		shstr = append(shstr, n...)
		shstr = append(shstr, 0)
	}
	out := make([]byte, 64)
	type sh struct {
		name      int
		typ       uint32
		off, size int
	}
	hdrs := []sh{{}}
	for _, n := range names {
		hdrs = append(hdrs, sh{nameOff[n], 1, len(out), len(secs[n])})
		out = append(out, secs[n]...)
	}
	hdrs = append(hdrs, sh{nameOff[".shstrtab"], 3, len(out), len(shstr)})
	out = append(out, shstr...)
	for len(out)%8 != 0 {
		out = append(out, 0)
	}
	shoff := len(out)
	for _, h := range hdrs {
		b := make([]byte, 64)
		le := binary.LittleEndian
		le.PutUint32(b[0:], uint32(h.name))
		le.PutUint32(b[4:], h.typ)
		le.PutUint64(b[24:], uint64(h.off))
		le.PutUint64(b[32:], uint64(h.size))
		out = append(out, b...)
	}
	copy(out, "\x7fELF\x02\x01\x01")
	le := binary.LittleEndian
	le.PutUint16(out[16:], typ)
	le.PutUint16(out[18:], 62)
	le.PutUint32(out[20:], 1)
	le.PutUint64(out[0x28:], uint64(shoff))
	le.PutUint16(out[0x34:], 64)
	le.PutUint16(out[0x3a:], 64)
	le.PutUint16(out[0x3c:], uint16(len(hdrs)))
	le.PutUint16(out[0x3e:], uint16(len(hdrs)-1))
	return out
}

func ulebBytes(v uint64) []byte {
	var b []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			b = append(b, c|0x80)
			continue
		}
		return append(b, c)
	}
}

// asm assembles a DWARF 4 compile unit from DIEs with symbolic references.
type asm struct {
	hdr    int // unit header size (labels are unit offsets)
	abbrev []byte
	body   []byte
	labels map[string]int
	fixups map[int]string
	codes  int
}

func newAsm() *asm { return &asm{hdr: cuHdr, labels: map[string]int{}, fixups: map[int]string{}} }

// abbr declares an abbreviation: tag, children, then (attr, form) pairs.
func (a *asm) abbr(tag uint64, children bool, af ...uint64) uint64 {
	a.codes++
	a.abbrev = append(a.abbrev, ulebBytes(uint64(a.codes))...)
	a.abbrev = append(a.abbrev, ulebBytes(tag)...)
	if children {
		a.abbrev = append(a.abbrev, 1)
	} else {
		a.abbrev = append(a.abbrev, 0)
	}
	for _, x := range af {
		a.abbrev = append(a.abbrev, ulebBytes(x)...)
	}
	a.abbrev = append(a.abbrev, 0, 0)
	return uint64(a.codes)
}

const cuHdr = 11 // DWARF 4, 32-bit

// die emits a DIE; vals are raw values: string (DW_FORM_string), int
// (data1), "@label" (ref4), []byte (raw bytes).
func (a *asm) die(label string, code uint64, vals ...any) {
	if label != "" {
		a.labels[label] = a.hdr + len(a.body)
	}
	a.body = append(a.body, ulebBytes(code)...)
	for _, v := range vals {
		switch x := v.(type) {
		case string:
			if strings.HasPrefix(x, "@") {
				a.fixups[len(a.body)] = x[1:]
				a.body = append(a.body, 0, 0, 0, 0)
			} else {
				a.body = append(a.body, x...)
				a.body = append(a.body, 0)
			}
		case int:
			a.body = append(a.body, byte(x))
		case []byte:
			a.body = append(a.body, x...)
		}
	}
}

func (a *asm) end() { a.body = append(a.body, 0) }

func (a *asm) fix() {
	for at, l := range a.fixups {
		binary.LittleEndian.PutUint32(a.body[at:], uint32(a.labels[l]))
	}
}

func (a *asm) elf() []byte {
	a.fix()
	info := make([]byte, cuHdr)
	binary.LittleEndian.PutUint32(info, uint32(cuHdr-4+len(a.body)))
	binary.LittleEndian.PutUint16(info[4:], 4)
	info[10] = 8
	info = append(info, a.body...)
	return buildELF(etExec, map[string][]byte{".debug_info": info, ".debug_abbrev": append(a.abbrev, 0)})
}

// Abbreviation codes of the standard synthetic CU.
type stdCodes struct{ cu, st, mem, base, td, ptr, vr, arr, sub, bfmem uint64 }

func stdAbbrevs(a *asm) stdCodes {
	return stdCodes{
		cu:    a.abbr(tagCompileUnit, true, atName, formString),
		st:    a.abbr(tagStructType, true, atName, formString, atByteSize, formData1),
		mem:   a.abbr(tagMember, false, atName, formString, atType, formRef4, atDataMemberLoc, formData1),
		base:  a.abbr(tagBaseType, false, atName, formString, atByteSize, formData1, atEncoding, formData1),
		td:    a.abbr(tagTypedef, false, atName, formString, atType, formRef4),
		ptr:   a.abbr(tagPointerType, false, atByteSize, formData1, atType, formRef4),
		vr:    a.abbr(tagVariable, false, atName, formString, atType, formRef4, atLocation, formExprloc, atExternal, formFlagPresent),
		arr:   a.abbr(tagArrayType, true, atType, formRef4),
		sub:   a.abbr(tagSubrangeType, false, atUpperBound, formData1),
		bfmem: a.abbr(tagMember, false, atName, formString, atType, formRef4, atBitSize, formData1, atDataBitOffset, formData1),
	}
}

func TestSyntheticTypes(t *testing.T) {
	a := newAsm()
	c := stdAbbrevs(a)
	a.die("", c.cu, "t.c")
	a.die("int", c.base, "int", 4, EncSigned)
	a.die("node", c.st, "node", 32)
	a.die("", c.mem, "next", "@pnode", 0)
	a.die("", c.mem, "val", "@int", 8)
	a.die("", c.bfmem, "flag", "@int", 3, 97)
	a.die("", c.mem, "arr", "@arr", 16)
	a.end()
	a.die("pnode", c.ptr, 8, "@node")
	a.die("arr", c.arr, "@int")
	a.die("", c.sub, 3)
	a.end()
	addr := []byte{9, opAddr, 0x10, 0x20, 0, 0, 0, 0, 0, 0}
	a.die("", c.vr, "the_node", "@node", addr)
	a.die("", c.td, "node_t", "@node")
	a.end()
	ix, err := OpenBytes("synthetic", a.elf())
	if err != nil {
		t.Fatal(err)
	}
	typ, err := ix.LookupType("node_t")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := ix.Sizeof("node_t"); n != 32 || err != nil {
		t.Errorf("sizeof(node_t) = %d, %v", n, err)
	}
	for p, want := range map[string]int64{"next": 0, "val": 8, "arr": 16, "arr[2]": 24, "flag": 12} {
		if off, _, err := MemberOffset(typ, p); off != want || err != nil {
			t.Errorf("offsetof(%s) = %d, %v; want %d", p, off, err, want)
		}
	}
	st := Strip(typ)
	if m := st.Members[2]; m.BitOffset != 97 || m.BitSize != 3 {
		t.Errorf("bitfield: %+v", m)
	}
	next, _ := st.Members[0].Type.Elem()
	if next != st {
		t.Errorf("self pointer does not resolve to the same type")
	}
	if s := st.Members[3].Type.String(); s != "int[4]" {
		t.Errorf("array type %q", s)
	}
	v, err := ix.Variable("the_node")
	if err != nil || v.Addr != 0x2010 || !v.HasAddr {
		t.Errorf("the_node: %+v, %v", v, err)
	}
	if _, err := ix.LookupType("struct missing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing: %v", err)
	}
}

// malformed checks that opening or decoding fails with an error
// mentioning want, without panicking or hanging.
func malformed(t *testing.T, name string, data []byte, lookup, want string) {
	t.Helper()
	ix, err := OpenBytes(name, data)
	if err == nil && lookup != "" {
		_, err = ix.LookupType(lookup)
	}
	if err == nil {
		t.Errorf("%s: no error", name)
		return
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("%s: error %q does not mention %q", name, err, want)
	}
}

func TestMalformed(t *testing.T) {
	// A typedef that names itself.
	a := newAsm()
	c := stdAbbrevs(a)
	a.die("", c.cu, "t.c")
	a.die("loop", c.td, "loop_t", "@loop")
	a.end()
	malformed(t, "typedef cycle", a.elf(), "loop_t", "cycle")

	// An array of itself.
	a = newAsm()
	c = stdAbbrevs(a)
	a.die("", c.cu, "t.c")
	a.die("arr", c.arr, "@arr")
	a.end()
	a.die("", c.td, "arr_t", "@arr")
	a.end()
	malformed(t, "array cycle", a.elf(), "arr_t", "cycle")

	// A pointer to itself: decodes (pointers are lazy), prints finitely.
	a = newAsm()
	c = stdAbbrevs(a)
	a.die("", c.cu, "t.c")
	a.die("p", c.ptr, 8, "@p")
	a.die("", c.td, "p_t", "@p")
	a.end()
	if ix, err := OpenBytes("self pointer", a.elf()); err != nil {
		t.Error(err)
	} else if pt, err := ix.LookupType("p_t"); err != nil {
		t.Error(err)
	} else {
		_ = pt.String()
		if n, err := ix.Sizeof("p_t"); n != 8 || err != nil {
			t.Errorf("sizeof(p_t) = %d, %v", n, err)
		}
		if _, err := NewSource(ix, "").Convert(pt); err != nil {
			t.Error(err)
		}
	}

	// A reference outside the unit.
	a = newAsm()
	c = stdAbbrevs(a)
	a.die("", c.cu, "t.c")
	a.die("", c.td, "bad_t", []byte{0xff, 0xff, 0, 0})
	a.end()
	malformed(t, "reference out of range", a.elf(), "bad_t", ".debug_info+")

	// A chain of 1000 typedefs.
	a = newAsm()
	c = stdAbbrevs(a)
	a.die("", c.cu, "t.c")
	a.die("t0", c.base, "int", 4, EncSigned)
	for i := 1; i < 1000; i++ {
		a.die("t"+itoa(i), c.td, "t"+itoa(i), "@t"+itoa(i-1))
	}
	a.end()
	malformed(t, "deep typedefs", a.elf(), "t999", "deeper")

	// Truncated .debug_info.
	good := newAsm()
	c = stdAbbrevs(good)
	good.die("", c.cu, "t.c")
	good.die("int", c.base, "int", 4, EncSigned)
	good.end()
	data := good.elf()
	ix, err := OpenBytes("good", data)
	if err != nil {
		t.Fatal(err)
	}
	_ = ix
	info := ixSection(t, data, ".debug_info")
	abbrev := ixSection(t, data, ".debug_abbrev")
	for n := 1; n < len(info); n++ {
		cut := append([]byte(nil), info[:n]...)
		_, err := OpenBytes("cut", buildELF(etExec, map[string][]byte{".debug_info": cut, ".debug_abbrev": abbrev}))
		if err == nil {
			t.Errorf("info cut at %d: no error", n)
		} else if !strings.Contains(err.Error(), ".debug_info+") {
			t.Errorf("info cut at %d: %v", n, err)
		}
	}
	// Unknown form, truncated abbrevs, abbrev offset out of range.
	badForm := append([]byte(nil), abbrev...)
	badForm[5] = 0x7e // form of the CU's name
	malformed(t, "unknown form", buildELF(etExec, map[string][]byte{".debug_info": info, ".debug_abbrev": badForm}), "", "unknown form")
	malformed(t, "truncated abbrev", buildELF(etExec, map[string][]byte{".debug_info": info, ".debug_abbrev": abbrev[:4]}), "", ".debug_abbrev+")
	badOff := append([]byte(nil), info...)
	binary.LittleEndian.PutUint32(badOff[6:], 1<<20)
	malformed(t, "abbrev offset", buildELF(etExec, map[string][]byte{".debug_info": badOff, ".debug_abbrev": abbrev}), "", ".debug_abbrev+")
	// Unit length past the end; bad version; unknown abbreviation code.
	long := append([]byte(nil), info...)
	binary.LittleEndian.PutUint32(long, 1<<30)
	malformed(t, "unit length", buildELF(etExec, map[string][]byte{".debug_info": long, ".debug_abbrev": abbrev}), "", "past the end")
	ver := append([]byte(nil), info...)
	ver[4] = 9
	malformed(t, "version", buildELF(etExec, map[string][]byte{".debug_info": ver, ".debug_abbrev": abbrev}), "", "version 9")
	code := append([]byte(nil), info...)
	code[cuHdr] = 0x55
	malformed(t, "abbrev code", buildELF(etExec, map[string][]byte{".debug_info": code, ".debug_abbrev": abbrev}), "", "unknown abbreviation code")
	// Not ELF, truncated section headers.
	malformed(t, "not elf", []byte("hello world, this is not an ELF file at all................................"), "", "not an ELF")
	malformed(t, "cut elf", data[:len(data)-10], "", "section headers")
}

func itoa(i int) string { return strconv.Itoa(i) }

func ixSection(t *testing.T, data []byte, name string) []byte {
	ef, err := parseELF("x", data)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ef.sectionData(name)
	if err != nil || b == nil {
		t.Fatalf("%s: %v", name, err)
	}
	return append([]byte(nil), b...)
}

// TestDWARF5Forms: strx1/strx2, str_offsets_base, addrx with addr_base,
// implicit_const, data16, line_strp, exprloc member locations, and a
// type unit referenced with ref_sig8.
func TestDWARF5Forms(t *testing.T) {
	ix, err := OpenBytes("dwarf5", buildELF(etExec, dwarf5Sections()))
	if err != nil {
		t.Fatal(err)
	}
	s, err := ix.LookupType("struct s")
	if err != nil {
		t.Fatal(err)
	}
	if s.Size != 16 || len(s.Members) != 2 {
		t.Fatalf("struct s: size %d, %d members", s.Size, len(s.Members))
	}
	if m := s.Members[0]; m.Name != "x" || m.Type.Name != "long" || m.Type.Size != 4 || m.Offset != 0 {
		t.Errorf("member 0: %+v %+v", m, m.Type)
	}
	if m := s.Members[1]; m.Name != "y" || m.Type.Name != "int" || m.Offset != 8 {
		t.Errorf("member 1: %+v", m)
	}
	v, err := ix.Variable("v")
	if err != nil || v.Addr != 0xffffffff81234560 || v.Type != s {
		t.Errorf("v: %+v %v", v, err)
	}
	if _, err := ix.LookupType("long"); err != nil {
		t.Errorf("type unit type: %v", err)
	}
}

// dwarf5Sections builds the sections of TestDWARF5Forms.
func dwarf5Sections() map[string][]byte {
	str := []byte("\x00int\x00v\x00x\x00long\x00")
	strOff := func(s string) uint32 { return uint32(strings.Index(string(str), "\x00"+s+"\x00") + 1) }
	soff := []byte{0, 0, 0, 0, 5, 0, 0, 0}
	for _, n := range []string{"int", "v", "x", "long"} {
		soff = binary.LittleEndian.AppendUint32(soff, strOff(n))
	}
	binary.LittleEndian.PutUint32(soff, uint32(len(soff)-4))
	addr := []byte{0, 0, 0, 0, 5, 0, 8, 0}
	addr = binary.LittleEndian.AppendUint64(addr, 0xffffffff81234560)
	binary.LittleEndian.PutUint32(addr, uint32(len(addr)-4))
	lineStr := []byte("s\x00")

	// One abbreviation table for both units (abbreviation 2 written by
	// hand: implicit_const's value follows its form).
	a := newAsm()
	cu := a.abbr(tagCompileUnit, true, atName, formStrx1, atStrOffsetsBase, formSecOffset, atAddrBase, formSecOffset)
	a.codes++
	base := uint64(a.codes)
	a.abbrev = append(a.abbrev, byte(base), tagBaseType, 0, atName, formStrx1, atByteSize, formImplicitConst, 4, atEncoding, formData1, 0, 0)
	st := a.abbr(tagStructType, true, atName, formLineStrp, atByteSize, formData2)
	m1 := a.abbr(tagMember, false, atName, formStrx2, atType, formRefSig8, atDataMemberLoc, formUdata)
	m2 := a.abbr(tagMember, false, atName, formString, atType, formRef4, atDataMemberLoc, formExprloc)
	vr := a.abbr(tagVariable, false, atName, formStrx1, atType, formRef4, atLocation, formExprloc, atConstValue, formData16)
	tu := a.abbr(tagTypeUnit, true)

	// Type unit: long, signature 0x1122334455667788.
	tuBody := newAsm()
	tuBody.hdr = 24
	tuBody.die("", tu)
	tuBody.die("long", base, 3, EncSigned) // strx1 index 3: "long"; size 4 (implicit)
	tuBody.end()
	tuBody.fix()
	tuHdr := make([]byte, 24)
	binary.LittleEndian.PutUint32(tuHdr, uint32(20+len(tuBody.body)))
	binary.LittleEndian.PutUint16(tuHdr[4:], 5)
	tuHdr[6], tuHdr[7] = utType, 8
	binary.LittleEndian.PutUint64(tuHdr[12:], 0x1122334455667788)
	binary.LittleEndian.PutUint32(tuHdr[20:], uint32(tuBody.labels["long"]))
	tuUnit := append(tuHdr, tuBody.body...)
	// The type unit has no str_offsets_base of its own: DWARF 5 default 8.

	c := newAsm()
	c.hdr = 12
	c.die("", cu, 0, []byte{8, 0, 0, 0}, []byte{8, 0, 0, 0})
	c.die("int", base, 0, EncSigned)
	c.die("s", st, []byte{0, 0, 0, 0}, []byte{16, 0})
	c.die("", m1, []byte{2, 0}, binary.LittleEndian.AppendUint64(nil, 0x1122334455667788), 0)
	c.die("", m2, "y", "@int", []byte{2, opPlusUconst, 8})
	c.end()
	c.die("", vr, 1, "@s", []byte{2, opAddrx, 0}, make([]byte, 16))
	c.end()
	c.fix()
	cuHdr5 := make([]byte, 12)
	binary.LittleEndian.PutUint32(cuHdr5, uint32(8+len(c.body)))
	binary.LittleEndian.PutUint16(cuHdr5[4:], 5)
	cuHdr5[6], cuHdr5[7] = utCompile, 8
	info := append(append(tuUnit, cuHdr5...), c.body...)
	return map[string][]byte{
		".debug_info": info, ".debug_abbrev": append(a.abbrev, 0), ".debug_str": str,
		".debug_str_offsets": soff, ".debug_addr": addr, ".debug_line_str": lineStr,
	}
}

// setSectionFlags sets sh_flags of a section of an ELF built by buildELF.
func setSectionFlags(t *testing.T, data []byte, name string, flags uint64) {
	ef, err := parseELF("x", data)
	if err != nil {
		t.Fatal(err)
	}
	i, _ := ef.section(name)
	shoff := binary.LittleEndian.Uint64(data[0x28:])
	binary.LittleEndian.PutUint64(data[shoff+uint64(i)*64+8:], flags)
}

func TestCompressedSections(t *testing.T) {
	a := newAsm()
	c := stdAbbrevs(a)
	a.die("", c.cu, "t.c")
	a.die("int", c.base, "int", 4, EncSigned)
	a.die("", c.td, "myint", "@int")
	a.end()
	data := a.elf()
	info := ixSection(t, data, ".debug_info")
	abbrev := ixSection(t, data, ".debug_abbrev")
	var z bytes.Buffer
	hdr := make([]byte, 24)
	binary.LittleEndian.PutUint32(hdr, 1)
	binary.LittleEndian.PutUint64(hdr[8:], uint64(len(info)))
	z.Write(hdr)
	zw := zlib.NewWriter(&z)
	zw.Write(info)
	zw.Close()
	cdata := buildELF(etExec, map[string][]byte{".debug_info": z.Bytes(), ".debug_abbrev": abbrev})
	setSectionFlags(t, cdata, ".debug_info", shfCompress)
	ix, err := OpenBytes("compressed", cdata)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := ix.Sizeof("myint"); n != 4 || err != nil {
		t.Errorf("sizeof(myint) = %d, %v", n, err)
	}
	// A corrupt stream is an error naming the section.
	bad := append([]byte(nil), z.Bytes()...)
	bad[len(bad)-3] ^= 0xff
	cdata = buildELF(etExec, map[string][]byte{".debug_info": bad, ".debug_abbrev": abbrev})
	setSectionFlags(t, cdata, ".debug_info", shfCompress)
	malformed(t, "corrupt zlib", cdata, "myint", ".debug_info")
}

// TestDebugTypes: a DWARF 4 type unit in .debug_types, referenced from
// .debug_info with DW_FORM_ref_sig8.
func TestDebugTypes(t *testing.T) {
	a := newAsm()
	c := stdAbbrevs(a)
	tuCode := a.abbr(tagTypeUnit, true)
	sigTD := a.abbr(tagTypedef, false, atName, formString, atType, formRefSig8)
	a.die("", c.cu, "t.c")
	a.die("", sigTD, "wide_t", binary.LittleEndian.AppendUint64(nil, 0xabcdef))
	a.end()
	data := a.elf() // .debug_info and .debug_abbrev
	info := ixSection(t, data, ".debug_info")
	abbrev := ixSection(t, data, ".debug_abbrev")

	tu := newAsm()
	tu.hdr = 23
	tu.die("", tuCode)
	tu.die("wide", c.st, "wide", 24)
	tu.die("", c.mem, "x", "@long", 16)
	tu.end()
	tu.die("long", c.base, "long", 8, EncSigned)
	tu.end()
	tu.fix()
	hdr := make([]byte, 23)
	binary.LittleEndian.PutUint32(hdr, uint32(19+len(tu.body)))
	binary.LittleEndian.PutUint16(hdr[4:], 4)
	hdr[10] = 8
	binary.LittleEndian.PutUint64(hdr[11:], 0xabcdef)
	binary.LittleEndian.PutUint32(hdr[19:], uint32(tu.labels["wide"]))
	types := append(hdr, tu.body...)
	ix, err := OpenBytes("debug_types", buildELF(etExec, map[string][]byte{".debug_info": info, ".debug_abbrev": abbrev, ".debug_types": types}))
	if err != nil {
		t.Fatal(err)
	}
	w, err := ix.LookupType("wide_t")
	if err != nil {
		t.Fatal(err)
	}
	if s := Strip(w); s.Kind != Struct || s.Size != 24 || s.Offset&typesBit == 0 {
		t.Errorf("wide_t -> %s size %d offset %#x", s, s.Size, s.Offset)
	}
	if off, mt, err := MemberOffset(w, "x"); off != 16 || err != nil || mt.Name != "long" {
		t.Errorf("x: %d %v %v", off, mt, err)
	}
	if _, err := ix.LookupType("struct wide"); err != nil {
		t.Errorf("struct wide from .debug_types: %v", err)
	}
}

// TestOldBitfieldsFlexibleArrays: DWARF 2/3 DW_AT_bit_offset (from the
// most significant bit of the storage unit) and arrays without bounds.
func TestOldBitfieldsFlexibleArrays(t *testing.T) {
	a := newAsm()
	c := stdAbbrevs(a)
	oldbf := a.abbr(tagMember, false, atName, formString, atType, formRef4, atByteSize, formData1, atBitSize, formData1, atBitOffset, formData1, atDataMemberLoc, formData1)
	nobound := a.abbr(tagSubrangeType, false)
	a.die("", c.cu, "t.c")
	a.die("uint", c.base, "unsigned int", 4, EncUnsigned)
	a.die("s", c.st, "s", 8)
	a.die("", oldbf, "lo", "@uint", 4, 3, 29, 4) // bits 32..34
	a.die("", oldbf, "hi", "@uint", 4, 5, 0, 4)  // bits 59..63
	a.die("", c.mem, "flex", "@flex", 8)
	a.end()
	a.die("flex", c.arr, "@uint")
	a.die("", nobound)
	a.end()
	a.end()
	ix, err := OpenBytes("old", a.elf())
	if err != nil {
		t.Fatal(err)
	}
	s, err := ix.LookupType("struct s")
	if err != nil {
		t.Fatal(err)
	}
	if m := s.Members[0]; m.BitOffset != 32 || m.BitSize != 3 {
		t.Errorf("lo: %+v", m)
	}
	if m := s.Members[1]; m.BitOffset != 59 || m.BitSize != 5 {
		t.Errorf("hi: %+v", m)
	}
	if f := s.Members[2].Type; f.Kind != Array || f.Count != -1 || f.Size != 0 || f.String() != "unsigned int[]" {
		t.Errorf("flex: %s count %d size %d", f, f.Count, f.Size)
	}
	ct, err := NewSource(ix, "").Convert(s)
	if err != nil || !ct.Members[2].Type.Flexible || ct.Members[1].Offset != 7 {
		t.Errorf("converted: %+v %v", ct, err)
	}
}

// TestPartialUnits: a DWARF 5 partial unit (as dwz makes) whose struct a
// compile unit imports and references with DW_FORM_ref_addr.
func TestPartialUnits(t *testing.T) {
	a := newAsm()
	a.hdr = 12
	pu := a.abbr(tagPartialUnit, true)
	cu := a.abbr(tagCompileUnit, true, atName, formString)
	imp := a.abbr(tagImportedUnit, false, 0x18 /* DW_AT_import */, formRefAddr)
	st := a.abbr(tagStructType, true, atName, formString, atByteSize, formData1)
	mem := a.abbr(tagMember, false, atName, formString, atType, formRefAddr, atDataMemberLoc, formData1)
	base := a.abbr(tagBaseType, false, atName, formString, atByteSize, formData1, atEncoding, formData1)
	td := a.abbr(tagTypedef, false, atName, formString, atType, formRefAddr)

	unit := func(utype byte, body []byte) []byte {
		h := make([]byte, 12)
		binary.LittleEndian.PutUint32(h, uint32(8+len(body)))
		binary.LittleEndian.PutUint16(h[4:], 5)
		h[6], h[7] = utype, 8
		return append(h, body...)
	}
	p := newAsm()
	p.hdr = 12
	p.die("", pu)
	p.die("long", base, "long", 8, EncSigned)
	p.die("pair", st, "pair", 16)
	p.die("", mem, "a", []byte{12 + 1, 0, 0, 0}, 0) // ref_addr: the long at section offset 13
	p.die("", mem, "b", []byte{12 + 1, 0, 0, 0}, 8)
	p.end()
	p.end()
	p.fix()
	part := unit(utPartial, p.body)
	pairOff := p.labels["pair"]

	c := newAsm()
	c.hdr = 12
	c.die("", cu, "t.c")
	c.die("", imp, []byte{0, 0, 0, 0})
	c.die("", td, "pair_t", binary.LittleEndian.AppendUint32(nil, uint32(pairOff)))
	c.end()
	c.fix()
	info := append(part, unit(utCompile, c.body)...)
	ix, err := OpenBytes("dwz", buildELF(etExec, map[string][]byte{".debug_info": info, ".debug_abbrev": append(a.abbrev, 0)}))
	if err != nil {
		t.Fatal(err)
	}
	pt, err := ix.LookupType("pair_t")
	if err != nil {
		t.Fatal(err)
	}
	if s := Strip(pt); s.Kind != Struct || s.Size != 16 || s.Members[1].Type.Name != "long" {
		t.Errorf("pair_t: %s %+v", s, s.Members)
	}
	if off, _, err := MemberOffset(pt, "b"); off != 8 || err != nil {
		t.Errorf("pair_t.b: %d %v", off, err)
	}
}

// TestSpecificationNames: nameless definitions named by the declaration
// their DW_AT_specification points at, earlier, later or in another unit.
func TestSpecificationNames(t *testing.T) {
	a := newAsm()
	c := stdAbbrevs(a)
	def := a.abbr(tagVariable, false, atSpecification, formRef4, atLocation, formExprloc)
	defX := a.abbr(tagVariable, false, atSpecification, formRefAddr, atLocation, formExprloc)
	decl := a.abbr(tagVariable, false, atName, formString, atType, formRef4, atDeclaration, formFlagPresent, atExternal, formFlagPresent)
	loc := func(addr byte) []byte { return []byte{9, opAddr, addr, 0, 0, 0, 0, 0, 0, 0x80} }
	a.die("", c.cu, "t.c")
	a.die("int", c.base, "int", 4, EncSigned)
	a.die("d1", decl, "before", "@int")
	a.die("", def, "@d1", loc(1))
	a.die("", def, "@d2", loc(2))
	a.die("d2", decl, "after", "@int")
	a.end()
	data := a.elf()
	info := ixSection(t, data, ".debug_info")
	abbrev := ixSection(t, data, ".debug_abbrev")
	// A second unit defines "before" again through ref_addr to unit 1.
	u2 := newAsm()
	u2.die("", c.cu, "u.c")
	u2.die("", defX, binary.LittleEndian.AppendUint32(nil, uint32(a.labels["d1"])), loc(3))
	u2.end()
	hdr := make([]byte, cuHdr)
	binary.LittleEndian.PutUint32(hdr, uint32(cuHdr-4+len(u2.body)))
	binary.LittleEndian.PutUint16(hdr[4:], 4)
	hdr[10] = 8
	info = append(append(info, hdr...), u2.body...)
	ix, err := OpenBytes("spec", buildELF(etExec, map[string][]byte{".debug_info": info, ".debug_abbrev": abbrev}))
	if err != nil {
		t.Fatal(err)
	}
	for name, addr := range map[string]uint64{"before": 0x8000000000000001, "after": 0x8000000000000002} {
		v, err := ix.Variable(name)
		if err != nil || v.Addr != addr || v.Type.Name != "int" {
			t.Errorf("%s: %+v %v", name, v, err)
		}
	}
}
