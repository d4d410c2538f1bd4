package dwarfx

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
)

// Object is a relocatable ELF object (ET_REL, x86-64): a kernel module's
// .ko, or its debug-only copy. It tells what the object holds (sections,
// .modinfo, build ID) so a caller can check it is the module it expects,
// then indexes its DWARF with each section placed at the address the
// module's section has in memory (Index), so that every address the DWARF
// gives (variables, functions, line tables) is a runtime address.
type Object struct {
	ef *elfFile
}

// ObjSection is one section of an Object.
type ObjSection struct {
	Name   string
	Alloc  bool // SHF_ALLOC: part of the module's memory image
	NoBits bool // SHT_NOBITS (.bss; every allocated section of a debug-only file)
	Size   uint64
}

const (
	emX8664  = 62
	shfAlloc = 0x2
	shtNote  = 7
)

// OpenObject memory-maps a relocatable object file, or decompresses it
// into memory when it is compressed (xz, zstd or gzip, told by its magic
// bytes: a distribution's NAME.ko.xz, .ko.zst, .ko.gz; at most
// MaxDecompressed bytes).
func OpenObject(path string) (*Object, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	data, format, err := readCompressed(path, f)
	f.Close()
	if err != nil {
		return nil, err
	}
	if data != nil {
		return parseDecompressed(path, format, data)
	}
	ef, err := mapFile(path)
	if err != nil {
		return nil, err
	}
	o, err := newObject(ef)
	if err != nil {
		ef.close()
		return nil, err
	}
	return o, nil
}

// ParseObject reads a relocatable object held in memory (tests, fuzzing).
func ParseObject(name string, data []byte) (*Object, error) {
	ef, err := parseELF(name, data)
	if err != nil {
		return nil, err
	}
	return newObject(ef)
}

func newObject(ef *elfFile) (*Object, error) {
	if ef.typ != etRel {
		return nil, fmt.Errorf("%s: not a relocatable object (ELF type %d), not a kernel module", ef.path, ef.typ)
	}
	if m := binary.LittleEndian.Uint16(ef.data[18:]); m != emX8664 {
		return nil, fmt.Errorf("%s: ELF machine %d is not x86-64", ef.path, m)
	}
	return &Object{ef: ef}, nil
}

// Path is the file the object was read from.
func (o *Object) Path() string { return o.ef.path }

// Close unmaps the file (not needed after Index, which takes it over).
func (o *Object) Close() {
	if o.ef != nil {
		o.ef.close()
	}
}

// Sections lists the object's sections in file order (the null section
// left out).
func (o *Object) Sections() []ObjSection {
	var out []ObjSection
	for i, s := range o.ef.secs {
		if i == 0 && s.typ == 0 {
			continue
		}
		out = append(out, ObjSection{Name: s.name, Alloc: s.flags&shfAlloc != 0, NoBits: s.typ == shtNobits, Size: s.size})
	}
	return out
}

// Contents returns the raw bytes (no relocations applied) of the first
// section called name; false when there is none or it has no bytes in the
// file (SHT_NOBITS) or is compressed.
func (o *Object) Contents(name string) ([]byte, bool) {
	_, s := o.ef.section(name)
	if s == nil || s.typ == shtNobits || s.flags&shfCompress != 0 {
		return nil, false
	}
	return o.ef.data[s.off : s.off+s.size : s.off+s.size], true
}

// ModInfo returns the value of key in the .modinfo section ("name",
// "vermagic", ...): NUL-separated key=value strings.
func (o *Object) ModInfo(key string) (string, bool) {
	b, ok := o.Contents(".modinfo")
	if !ok {
		return "", false
	}
	pre := []byte(key + "=")
	for _, f := range bytes.Split(b, []byte{0}) {
		if bytes.HasPrefix(f, pre) {
			return string(f[len(pre):]), true
		}
	}
	return "", false
}

// BuildID returns the NT_GNU_BUILD_ID note of .note.gnu.build-id (nil
// when absent), and the whole section's bytes, which the kernel loads
// into the module's memory unchanged.
func (o *Object) BuildID() (id, section []byte) {
	_, s := o.ef.section(".note.gnu.build-id")
	if s == nil || s.typ != shtNote {
		return nil, nil
	}
	b, ok := o.Contents(".note.gnu.build-id")
	if !ok {
		return nil, nil
	}
	le := binary.LittleEndian
	for p := 0; p+12 <= len(b); {
		nsz, dsz, typ := int(le.Uint32(b[p:])), int(le.Uint32(b[p+4:])), le.Uint32(b[p+8:])
		q := p + 12
		ne := q + (nsz+3)&^3
		de := ne + (dsz+3)&^3
		if nsz < 0 || dsz < 0 || nsz > len(b) || dsz > len(b) || ne > len(b) || ne+dsz > len(b) {
			return nil, b
		}
		if typ == 3 && nsz == 4 && string(b[q:q+4]) == "GNU\x00" {
			return b[ne : ne+dsz], b
		}
		if de > len(b) {
			break
		}
		p = de
	}
	return nil, b
}

// HasDWARF reports whether the object has a .debug_info section.
func (o *Object) HasDWARF() bool {
	_, s := o.ef.section(".debug_info")
	return s != nil && s.typ != shtNobits && s.size > 0
}

// Index places each section named in addrs at that address (others, the
// debug sections among them, stay at 0: DWARF refers to them by offset),
// applies the .rela.debug_* relocations with those addresses and indexes
// the DWARF. The Index takes the object over: closing it unmaps the file.
func (o *Object) Index(addrs map[string]uint64) (*Index, error) {
	if o.ef == nil {
		return nil, fmt.Errorf("object already indexed or closed")
	}
	for i := range o.ef.secs {
		s := &o.ef.secs[i]
		s.addr = 0
		if a, ok := addrs[s.name]; ok && s.flags&shfAlloc != 0 {
			s.addr = a
		}
	}
	ix, err := newIndex(o.ef)
	if err != nil {
		return nil, err
	}
	o.ef = nil
	return ix, nil
}

// ObjSym is one entry of an object's symbol table.
type ObjSym struct {
	Name    string // a section symbol (STT_SECTION) is named after its section
	Value   uint64 // offset in its section (ET_REL)
	Size    uint64
	Type    uint8  // STT_*: 0 NOTYPE, 1 OBJECT, 2 FUNC, 3 SECTION, 4 FILE
	Bind    uint8  // STB_*: 0 LOCAL, 1 GLOBAL, 2 WEAK
	Section string // "" for undefined, absolute and common symbols
	// Section attributes, for the symbol's nm letter.
	Exec, Write, NoBits, Alloc bool
}

// maxObjSyms caps the symbol count read from a file.
const maxObjSyms = 1 << 20

// Symbols reads the object's .symtab (SHT_SYMTAB), the null entry left out.
func (o *Object) Symbols() ([]ObjSym, error) {
	e := o.ef
	var st *elfSection
	for i := range e.secs {
		if e.secs[i].typ == shtSymtab {
			st = &e.secs[i]
			break
		}
	}
	if st == nil {
		return nil, nil
	}
	if st.link >= uint32(len(e.secs)) || e.secs[st.link].typ == shtNobits {
		return nil, fmt.Errorf("%s: %s: string table %d out of range", e.path, st.name, st.link)
	}
	strs := e.data[e.secs[st.link].off : e.secs[st.link].off+e.secs[st.link].size]
	raw := e.data[st.off : st.off+st.size]
	n := len(raw) / 24
	if n > maxObjSyms {
		return nil, fmt.Errorf("%s: %s: %d symbols", e.path, st.name, n)
	}
	le := binary.LittleEndian
	out := make([]ObjSym, 0, n)
	for i := 1; i < n; i++ {
		r := raw[i*24:]
		s := ObjSym{Type: r[4] & 0xf, Bind: r[4] >> 4, Value: le.Uint64(r[8:]), Size: le.Uint64(r[16:])}
		if no := uint64(le.Uint32(r)); no < uint64(len(strs)) {
			end := bytes.IndexByte(strs[no:], 0)
			if end < 0 {
				end = len(strs) - int(no)
			}
			s.Name = string(strs[no : int(no)+end])
		}
		if shndx := le.Uint16(r[6:]); shndx != 0 && shndx < 0xff00 && int(shndx) < len(e.secs) {
			sec := &e.secs[shndx]
			s.Section = sec.name
			s.Alloc = sec.flags&shfAlloc != 0
			s.Write = sec.flags&0x1 != 0
			s.Exec = sec.flags&0x4 != 0
			s.NoBits = sec.typ == shtNobits
			if s.Type == 3 && s.Name == "" {
				s.Name = sec.name
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// Letter is the symbol's nm type letter (bfd's classification of its
// section): t code, r read-only data, d data, b zero-filled data, upper
// case when global; weak symbols W (code) or V (data).
func (s ObjSym) Letter() byte {
	var c byte
	switch {
	case s.Section == "":
		return 'U'
	case s.Exec:
		c = 't'
	case !s.Alloc:
		c = 'n'
	case s.NoBits && s.Write:
		c = 'b'
	case !s.Write:
		c = 'r'
	default:
		c = 'd'
	}
	switch s.Bind {
	case 1:
		if c != 'n' {
			c -= 'a' - 'A'
		}
	case 2:
		if s.Type == 1 {
			return 'V'
		}
		return 'W'
	}
	return c
}
