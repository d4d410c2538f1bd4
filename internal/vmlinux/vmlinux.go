// Package vmlinux reads what kdive needs from a kernel image (ELF
// ET_EXEC): its symbol table, GNU build-id, .BTF section and linux_banner.
package vmlinux

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"

	"kdive/internal/symtab"
)

// File is an opened vmlinux.
type File struct {
	Path string
	f    *os.File
	elf  *elf.File
}

// Open opens a vmlinux and checks it is an x86-64 kernel image.
func Open(path string) (_ *File, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil { // debug/elf on hostile input
			f.Close()
			err = fmt.Errorf("%s: malformed ELF file: %v", path, r)
		}
	}()
	ef, err := elf.NewFile(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: not an ELF file: %v", path, err)
	}
	if ef.Type != elf.ET_EXEC || ef.Machine != elf.EM_X86_64 {
		f.Close()
		return nil, fmt.Errorf("%s: not an x86-64 kernel image (ELF type %v, machine %v)", path, ef.Type, ef.Machine)
	}
	return &File{Path: path, f: f, elf: ef}, nil
}

// Close closes the file.
func (v *File) Close() error { return v.f.Close() }

// BuildID returns the hex GNU build-id, "" when absent.
func (v *File) BuildID() string {
	s := v.elf.Section(".notes")
	if s == nil {
		s = v.elf.Section(".note.gnu.build-id")
	}
	if s == nil || s.Size > 1<<20 {
		return ""
	}
	b, err := s.Data()
	if err != nil {
		return ""
	}
	for len(b) >= 12 {
		nsz := binary.LittleEndian.Uint32(b)
		dsz := binary.LittleEndian.Uint32(b[4:])
		typ := binary.LittleEndian.Uint32(b[8:])
		no := 12 + int((nsz+3)&^3)
		de := no + int(dsz)
		if nsz > 1<<16 || dsz > 1<<16 || de > len(b) {
			return ""
		}
		if typ == 3 && nsz == 4 && string(b[12:15]) == "GNU" {
			return hex.EncodeToString(b[no:de])
		}
		b = b[(de+3)&^3:]
	}
	return ""
}

// BTF returns the contents of the .BTF section, or nil.
func (v *File) BTF() ([]byte, error) {
	s := v.elf.Section(".BTF")
	if s == nil {
		return nil, nil
	}
	if s.Size > 64<<20 {
		return nil, fmt.Errorf("%s: .BTF section of %d bytes is too large", v.Path, s.Size)
	}
	return s.Data()
}

// ReadVaddr reads bytes at an unrelocated virtual address from the file's
// allocated sections (for linux_banner).
func (v *File) ReadVaddr(addr uint64, n int) ([]byte, error) {
	for _, p := range v.elf.Progs {
		if p.Type == elf.PT_LOAD && addr >= p.Vaddr && addr+uint64(n) <= p.Vaddr+p.Filesz {
			b := make([]byte, n)
			_, err := p.ReadAt(b, int64(addr-p.Vaddr))
			return b, err
		}
	}
	return nil, fmt.Errorf("%s: address %#x not in a loaded segment", v.Path, addr)
}

// Symbols returns the ELF symbol table relocated by kaslr (the KASLR offset),
// with nm-style type letters. Per-CPU symbols (addresses below the kernel
// map) and absolute symbols are not relocated.
func (v *File) Symbols(kaslr uint64) ([]symtab.Sym, error) {
	syms, err := v.elf.Symbols()
	if err != nil {
		return nil, fmt.Errorf("%s: reading the symbol table: %v", v.Path, err)
	}
	secs := v.elf.Sections
	out := make([]symtab.Sym, 0, len(syms))
	for _, s := range syms {
		st := elf.ST_TYPE(s.Info)
		name := s.Name
		if st == elf.STT_SECTION && int(s.Section) < len(secs) && s.Section != elf.SHN_ABS {
			// crash lists section symbols under the section's name.
			name = secs[s.Section].Name
		}
		if name == "" || st == elf.STT_FILE || s.Section == elf.SHN_UNDEF {
			continue
		}
		var c byte
		switch {
		case s.Section == elf.SHN_ABS:
			c = 'a'
		case int(s.Section) < len(secs):
			sec := secs[s.Section]
			switch {
			case sec.Flags&elf.SHF_EXECINSTR != 0:
				c = 't'
			case sec.Type == elf.SHT_NOBITS:
				c = 'b'
			case sec.Flags&elf.SHF_WRITE != 0:
				c = 'd'
			default:
				c = 'r'
			}
		default:
			c = '?'
		}
		switch elf.ST_BIND(s.Info) {
		case elf.STB_GLOBAL:
			c -= 'a' - 'A'
		case elf.STB_WEAK:
			c = 'W'
			if st == elf.STT_OBJECT {
				c = 'V' // nm: weak object
			}
		}
		// Kernel-image addresses move with KASLR, absolute ones there too
		// (init_per_cpu__*); per-CPU offsets (small values) do not.
		addr := s.Value
		if addr >= 0xffffffff80000000 {
			addr += kaslr
		}
		out = append(out, symtab.Sym{Name: name, Addr: addr, Size: s.Size, Type: c})
	}
	return out, nil
}

// IsVmlinux reports whether the file at path looks like a kernel image.
func IsVmlinux(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var h [64]byte
	if _, err := f.ReadAt(h[:], 0); err != nil {
		return false
	}
	return bytes.Equal(h[:4], []byte("\x7fELF")) && binary.LittleEndian.Uint16(h[16:]) == uint16(elf.ET_EXEC)
}
