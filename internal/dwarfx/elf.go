package dwarfx

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"io"
	"os"

	"github.com/klauspost/compress/zstd"
	"golang.org/x/sys/unix"
)

// elfFile is a memory-mapped ELF64 little-endian file with its section
// headers parsed by hand (no section data is copied, except the debug
// sections of a relocatable file, which need their relocations applied).
type elfFile struct {
	path  string
	data  []byte // the whole file, mmapped (or a caller's slice)
	unmap bool
	typ   uint16
	secs  []elfSection
}

type elfSection struct {
	name      string
	typ       uint32
	flags     uint64
	addr      uint64
	off, size uint64
	link      uint32
	info      uint32
	entsize   uint64
}

const (
	etRel       = 1
	etExec      = 2
	etDyn       = 3
	shtSymtab   = 2
	shtRela     = 4
	shtNobits   = 8
	shfCompress = 0x800
)

func mapFile(path string) (*elfFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() < 64 {
		return nil, fmt.Errorf("%s: not an ELF file (%d bytes)", path, st.Size())
	}
	if st.Size() > 1<<40 {
		return nil, fmt.Errorf("%s: file too large", path)
	}
	data, err := unix.Mmap(int(f.Fd()), 0, int(st.Size()), unix.PROT_READ, unix.MAP_PRIVATE)
	if err != nil {
		return nil, fmt.Errorf("%s: mmap: %w", path, err)
	}
	ef, err := parseELF(path, data)
	if err != nil {
		unix.Munmap(data)
		return nil, err
	}
	ef.unmap = true
	return ef, nil
}

func (e *elfFile) close() {
	if e.unmap && e.data != nil {
		unix.Munmap(e.data)
	}
	e.data = nil
}

// parseELF reads the ELF header and section headers of data.
func parseELF(path string, data []byte) (*elfFile, error) {
	if len(data) < 64 || string(data[:4]) != "\x7fELF" {
		return nil, fmt.Errorf("%s: not an ELF file", path)
	}
	if data[4] != 2 || data[5] != 1 {
		return nil, fmt.Errorf("%s: only 64-bit little-endian ELF is supported", path)
	}
	le := binary.LittleEndian
	e := &elfFile{path: path, data: data, typ: le.Uint16(data[16:])}
	shoff := le.Uint64(data[0x28:])
	shentsize := uint64(le.Uint16(data[0x3a:]))
	shnum := uint64(le.Uint16(data[0x3c:]))
	shstrndx := uint64(le.Uint16(data[0x3e:]))
	if shoff == 0 {
		return nil, fmt.Errorf("%s: no section headers", path)
	}
	if shentsize < 64 {
		return nil, fmt.Errorf("%s: section header size %d too small", path, shentsize)
	}
	if shoff > uint64(len(data)) || shoff+shentsize > uint64(len(data)) {
		return nil, fmt.Errorf("%s: section headers at %#x out of range", path, shoff)
	}
	if shnum == 0 { // extended numbering
		shnum = le.Uint64(data[shoff+0x20:])
	}
	if shstrndx == 0xffff {
		shstrndx = uint64(le.Uint32(data[shoff+0x28:]))
	}
	if shnum > (uint64(len(data))-shoff)/shentsize {
		return nil, fmt.Errorf("%s: %d section headers at %#x run past the end of the file", path, shnum, shoff)
	}
	e.secs = make([]elfSection, shnum)
	for i := uint64(0); i < shnum; i++ {
		h := data[shoff+i*shentsize:]
		s := &e.secs[i]
		s.typ = le.Uint32(h[4:])
		s.flags = le.Uint64(h[8:])
		s.addr = le.Uint64(h[16:])
		s.off = le.Uint64(h[24:])
		s.size = le.Uint64(h[32:])
		s.link = le.Uint32(h[40:])
		s.info = le.Uint32(h[44:])
		s.entsize = le.Uint64(h[56:])
		nameOff := le.Uint32(h[0:])
		s.name = fmt.Sprint(nameOff) // resolved below
		if s.typ != shtNobits && (s.off > uint64(len(data)) || s.size > uint64(len(data))-s.off) {
			return nil, fmt.Errorf("%s: section %d (offset %#x, size %#x) runs past the end of the file", path, i, s.off, s.size)
		}
	}
	if shstrndx >= shnum {
		return nil, fmt.Errorf("%s: section name table index %d out of range", path, shstrndx)
	}
	strtab := e.secs[shstrndx]
	names := data[strtab.off : strtab.off+strtab.size]
	for i := range e.secs {
		h := data[shoff+uint64(i)*shentsize:]
		n := uint64(le.Uint32(h[0:]))
		if n >= uint64(len(names)) {
			e.secs[i].name = ""
			continue
		}
		end := n
		for end < uint64(len(names)) && names[end] != 0 {
			end++
		}
		e.secs[i].name = string(names[n:end])
	}
	return e, nil
}

func (e *elfFile) section(name string) (int, *elfSection) {
	for i := range e.secs {
		if e.secs[i].name == name {
			return i, &e.secs[i]
		}
	}
	return -1, nil
}

// sectionData returns the bytes of a section (nil when absent), with the
// relocations of a relocatable file applied on a private copy.
func (e *elfFile) sectionData(name string) ([]byte, error) {
	idx, s := e.section(name)
	if s == nil || s.typ == shtNobits {
		return nil, nil
	}
	b := e.data[s.off : s.off+s.size : s.off+s.size]
	if s.flags&shfCompress != 0 {
		var err error
		if b, err = decompress(b); err != nil {
			return nil, fmt.Errorf("%s: section %s: %w", e.path, name, err)
		}
	}
	if e.typ != etRel {
		// ET_EXEC/ET_DYN: a final link has applied the relocations
		// (--emit-relocs keeps them only as a record).
		return b, nil
	}
	for i := range e.secs {
		r := &e.secs[i]
		if r.typ != shtRela || int(r.info) != idx {
			continue
		}
		cp := b
		if s.flags&shfCompress == 0 {
			cp = make([]byte, len(b))
			copy(cp, b)
		}
		if err := e.applyRela(cp, name, r); err != nil {
			return nil, err
		}
		b = cp
	}
	return b, nil
}

// x86-64 relocation types found in debug sections.
const (
	rX8664None     = 0
	rX866464       = 1
	rX8664PC32     = 2
	rX866432       = 10
	rX866432S      = 11
	rX8664PC64     = 24
	rX8664DTPOFF32 = 21
	rX8664DTPOFF64 = 17
)

func (e *elfFile) applyRela(dst []byte, secName string, r *elfSection) error {
	le := binary.LittleEndian
	if r.link >= uint32(len(e.secs)) || e.secs[r.link].typ != shtSymtab {
		return fmt.Errorf("%s: %s: relocation symbol table %d is not a symbol table", e.path, r.name, r.link)
	}
	sym := e.secs[r.link]
	syms := e.data[sym.off : sym.off+sym.size]
	rel := e.data[r.off : r.off+r.size]
	if len(rel)%24 != 0 {
		return fmt.Errorf("%s: %s: size %d is not a multiple of 24", e.path, r.name, len(rel))
	}
	for i := 0; i+24 <= len(rel); i += 24 {
		off := le.Uint64(rel[i:])
		info := le.Uint64(rel[i+8:])
		add := int64(le.Uint64(rel[i+16:]))
		typ := uint32(info)
		symi := info >> 32
		if (symi+1)*24 > uint64(len(syms)) {
			return fmt.Errorf("%s: %s: relocation at %#x: symbol %d out of range", e.path, r.name, i, symi)
		}
		s := syms[symi*24:]
		val := le.Uint64(s[8:])
		shndx := le.Uint16(s[6:])
		if shndx != 0 && shndx < 0xff00 && int(shndx) < len(e.secs) {
			val += e.secs[shndx].addr
		}
		v := val + uint64(add)
		switch typ {
		case rX8664None:
		case rX866464:
			if off > uint64(len(dst)) || uint64(len(dst))-off < 8 {
				return fmt.Errorf("%s: %s: relocation offset %#x out of range of %s", e.path, r.name, off, secName)
			}
			le.PutUint64(dst[off:], v)
		case rX866432, rX866432S:
			if off > uint64(len(dst)) || uint64(len(dst))-off < 4 {
				return fmt.Errorf("%s: %s: relocation offset %#x out of range of %s", e.path, r.name, off, secName)
			}
			le.PutUint32(dst[off:], uint32(v))
		case rX8664DTPOFF32:
			if off > uint64(len(dst)) || uint64(len(dst))-off < 4 {
				return fmt.Errorf("%s: %s: relocation offset %#x out of range of %s", e.path, r.name, off, secName)
			}
			le.PutUint32(dst[off:], uint32(v))
		case rX8664DTPOFF64:
			if off > uint64(len(dst)) || uint64(len(dst))-off < 8 {
				return fmt.Errorf("%s: %s: relocation offset %#x out of range of %s", e.path, r.name, off, secName)
			}
			le.PutUint64(dst[off:], v)
		default:
			return fmt.Errorf("%s: %s: relocation at %#x: unsupported type %d", e.path, r.name, i, typ)
		}
	}
	return nil
}

// mapped reports whether b lies inside the file's own mapping (and not in
// a decompressed or relocated copy on the heap).
func (e *elfFile) mapped(b []byte) bool {
	if !e.unmap || len(b) == 0 || len(e.data) == 0 {
		return false
	}
	lo, p := addrOf(e.data), addrOf(b)
	return p >= lo && p+uint64(len(b)) <= lo+uint64(len(e.data))
}

// maxDecompressed caps a compressed section's size.
const maxDecompressed = 4 << 30

// decompress inflates an SHF_COMPRESSED section (Elf64_Chdr, then zlib
// or zstd data) into memory.
func decompress(b []byte) ([]byte, error) {
	if len(b) < 24 {
		return nil, fmt.Errorf("compressed section header truncated")
	}
	typ := binary.LittleEndian.Uint32(b)
	size := binary.LittleEndian.Uint64(b[8:])
	if size > maxDecompressed || size > uint64(len(b))*2048+1<<20 {
		return nil, fmt.Errorf("compressed section claims %d bytes", size)
	}
	var r io.Reader
	switch typ {
	case 1: // ELFCOMPRESS_ZLIB
		zr, err := zlib.NewReader(bytes.NewReader(b[24:]))
		if err != nil {
			return nil, fmt.Errorf("zlib: %w", err)
		}
		defer zr.Close()
		r = zr
	case 2: // ELFCOMPRESS_ZSTD
		zr, err := zstd.NewReader(bytes.NewReader(b[24:]), zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true))
		if err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		defer zr.Close()
		r = zr
	default:
		return nil, fmt.Errorf("unknown compression type %d", typ)
	}
	out := make([]byte, size)
	if _, err := io.ReadFull(r, out); err != nil {
		return nil, fmt.Errorf("decompressing %d bytes: %w", size, err)
	}
	// Read to the end so the stream's checksum is verified.
	if n, err := io.ReadFull(r, make([]byte, 1)); n != 0 || err != io.EOF {
		if err == nil || err == io.ErrUnexpectedEOF {
			err = fmt.Errorf("more data than the %d bytes the header says", size)
		}
		return nil, fmt.Errorf("decompressing: %w", err)
	}
	return out, nil
}
