// Package elfcoretest builds synthetic ELF64 x86-64 core files for tests:
// /proc/vmcore-like, makedumpfile -E-like, QEMU-like and kcore-like layouts.
package elfcoretest

import (
	"encoding/binary"
	"io"
	"sort"
)

// Note is one ELF note.
type Note struct {
	Name string
	Type uint32
	Desc []byte
}

// Load is one PT_LOAD. FileSize defaults to len(Data); MemSize defaults
// to FileSize. Offset, when non-zero, places Data at that file offset
// instead of packing it after the headers (kcore layout).
type Load struct {
	VAddr, PAddr uint64
	MemSize      uint64
	FileSize     *uint64
	Offset       uint64
	Data         []byte
}

// Core describes a core file.
type Core struct {
	// Type, Machine, Class default to ET_CORE, EM_X86_64, ELFCLASS64.
	Type    uint16
	Machine uint16
	Class   byte
	Flags   uint32
	Notes   []Note
	Loads   []Load
	// XNum forces extended program-header numbering (e_phnum = PN_XNUM,
	// count in section header 0's sh_info), as makedumpfile and QEMU do
	// for more than 65534 headers.
	XNum bool
	// NoNotePhdr leaves out the PT_NOTE program header.
	NoNotePhdr bool
	// Align is the alignment of packed segment data (default 16).
	Align uint64
}

// Layout is where Bytes put things.
type Layout struct {
	PhOff, NoteOff, NoteSize uint64
	LoadOff                  []uint64 // file offset of each Load's data
	Size                     uint64   // file size: the end of the last byte written
}

// EncodeNotes returns notes as an Elf64_Nhdr stream.
func EncodeNotes(notes []Note) []byte {
	var b []byte
	for _, n := range notes {
		h := make([]byte, 12)
		binary.LittleEndian.PutUint32(h, uint32(len(n.Name)+1))
		binary.LittleEndian.PutUint32(h[4:], uint32(len(n.Desc)))
		binary.LittleEndian.PutUint32(h[8:], n.Type)
		b = append(b, h...)
		b = append(b, n.Name...)
		b = append(b, 0)
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
		b = append(b, n.Desc...)
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
	}
	return b
}

// Build lays the core out. Chunks returns (offset, bytes) pairs to write;
// with explicit Load.Offset values the file is sparse.
func (c *Core) Build() (Layout, []Chunk) {
	typ, mach, class := c.Type, c.Machine, c.Class
	if typ == 0 {
		typ = 4
	}
	if mach == 0 {
		mach = 62
	}
	if class == 0 {
		class = 2
	}
	align := c.Align
	if align == 0 {
		align = 16
	}
	le := binary.LittleEndian
	notes := EncodeNotes(c.Notes)
	nph := uint64(len(c.Loads))
	if !c.NoNotePhdr {
		nph++
	}
	var l Layout
	l.PhOff = 64
	off := l.PhOff + nph*56
	var shoff uint64
	if c.XNum {
		shoff = off
		off += 64
	}
	l.NoteOff, l.NoteSize = off, uint64(len(notes))
	off += uint64(len(notes))

	eh := make([]byte, 64)
	copy(eh, "\x7fELF")
	eh[4], eh[5], eh[6] = class, 1, 1
	le.PutUint16(eh[16:], typ)
	le.PutUint16(eh[18:], mach)
	le.PutUint32(eh[20:], 1)
	le.PutUint64(eh[32:], l.PhOff)
	le.PutUint32(eh[48:], c.Flags)
	le.PutUint16(eh[52:], 64)
	le.PutUint16(eh[54:], 56)
	if c.XNum {
		le.PutUint16(eh[56:], 0xffff)
		le.PutUint64(eh[40:], shoff)
		le.PutUint16(eh[58:], 64)
		le.PutUint16(eh[60:], 1)
	} else {
		le.PutUint16(eh[56:], uint16(nph))
	}

	ph := make([]byte, 0, nph*56)
	put := func(typ uint32, offset, vaddr, paddr, filesz, memsz uint64) {
		b := make([]byte, 56)
		le.PutUint32(b, typ)
		le.PutUint32(b[4:], 7)
		le.PutUint64(b[8:], offset)
		le.PutUint64(b[16:], vaddr)
		le.PutUint64(b[24:], paddr)
		le.PutUint64(b[32:], filesz)
		le.PutUint64(b[40:], memsz)
		ph = append(ph, b...)
	}
	if !c.NoNotePhdr {
		put(4, l.NoteOff, 0, 0, l.NoteSize, l.NoteSize)
	}
	chunks := []Chunk{{0, eh}}
	for _, ld := range c.Loads {
		fs := uint64(len(ld.Data))
		if ld.FileSize != nil {
			fs = *ld.FileSize
		}
		ms := ld.MemSize
		if ms == 0 {
			ms = fs
		}
		o := ld.Offset
		if o == 0 && len(ld.Data) > 0 {
			off = (off + align - 1) &^ (align - 1)
			o = off
			off += uint64(len(ld.Data))
		}
		l.LoadOff = append(l.LoadOff, o)
		put(1, o, ld.VAddr, ld.PAddr, fs, ms)
		if len(ld.Data) > 0 {
			chunks = append(chunks, Chunk{o, ld.Data})
		}
		if end := o + uint64(len(ld.Data)); len(ld.Data) > 0 && end > l.Size {
			l.Size = end
		}
	}
	chunks = append(chunks, Chunk{l.PhOff, ph})
	if c.XNum {
		sh := make([]byte, 64)
		le.PutUint32(sh[44:], uint32(nph))
		chunks = append(chunks, Chunk{shoff, sh})
	}
	chunks = append(chunks, Chunk{l.NoteOff, notes})
	if off > l.Size {
		l.Size = off
	}
	sort.SliceStable(chunks, func(i, j int) bool { return chunks[i].Off < chunks[j].Off })
	return l, chunks
}

// Chunk is bytes at a file offset.
type Chunk struct {
	Off  uint64
	Data []byte
}

// Bytes returns the file contents; it must not be sparse-huge.
func (c *Core) Bytes() ([]byte, Layout) {
	l, chunks := c.Build()
	b := make([]byte, l.Size)
	for _, ch := range chunks {
		copy(b[ch.Off:], ch.Data)
	}
	return b, l
}

// Sparse is an io.ReaderAt over chunks, zeros elsewhere, up to Size.
type Sparse struct {
	Chunks []Chunk
	Size   int64
}

// ReadAt implements io.ReaderAt.
func (s *Sparse) ReadAt(p []byte, off int64) (int, error) {
	if off >= s.Size {
		return 0, io.EOF
	}
	n := len(p)
	if int64(n) > s.Size-off {
		n = int(s.Size - off)
	}
	clear(p[:n])
	for _, ch := range s.Chunks {
		cs, ce := int64(ch.Off), int64(ch.Off)+int64(len(ch.Data))
		lo, hi := max(cs, off), min(ce, off+int64(n))
		if lo < hi {
			copy(p[lo-off:hi-off], ch.Data[lo-cs:hi-cs])
		}
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// PRStatus returns a 336-byte struct elf_prstatus with pr_pid and RIP set.
func PRStatus(pid uint32, rip uint64) []byte {
	b := make([]byte, 336)
	binary.LittleEndian.PutUint32(b[32:], pid)
	// pr_reg starts at 112; RIP is user_regs_struct index 16.
	binary.LittleEndian.PutUint64(b[112+16*8:], rip)
	return b
}

// Pattern returns n bytes whose content identifies the physical address
// they belong to (every 8-byte word holds its own address ^ seed).
func Pattern(paddr uint64, n int, seed uint64) []byte {
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		binary.LittleEndian.PutUint64(b[i:], (paddr+uint64(i))^seed)
	}
	return b
}

// U64 returns a pointer to v (for Load.FileSize).
func U64(v uint64) *uint64 { return &v }

// N returns a Note.
func N(name string, typ uint32, desc []byte) Note { return Note{Name: name, Type: typ, Desc: desc} }
