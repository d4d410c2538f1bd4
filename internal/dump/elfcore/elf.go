package elfcore

import (
	"encoding/binary"
	"fmt"
)

// A deliberately small ELF64 little-endian reader: only what a core file
// needs (file header, program headers, section header 0 for extended
// program-header numbering). Every field is treated as untrusted.

const (
	ehdrSize = 64
	phdrSize = 56
	shdrSize = 64

	elfClass64  = 2
	elfDataLSB  = 1
	etExec      = 2
	etCore      = 4
	emX86_64    = 62
	ptNull      = 0
	ptLoad      = 1
	ptNote      = 4
	pnXNum      = 0xffff
	ntPRStatus  = 1
	ntPRPSInfo  = 3
	ntTaskStrct = 4
	// ntDiskdump is netdump/diskdump's note; crash marks an ELF dump
	// "[PARTIAL DUMP]" when its first word is non-zero.
	ntDiskdump = 0x70000001

	// dumpELFIncomplete is the e_flags bit makedumpfile sets when it ran
	// out of space writing an ELF dump (makedumpfile IMPLEMENTATION).
	dumpELFIncomplete = 0x1
)

// Limits on what a header may make us allocate or walk.
const (
	maxPhnum     = 1 << 22  // 4M program headers (a 16 TiB makedumpfile -E worst case)
	maxNoteBytes = 32 << 20 // all PT_NOTE segments together
)

var elfMagic = [4]byte{0x7f, 'E', 'L', 'F'}

type ehdr struct {
	class, data byte
	typ         uint16
	machine     uint16
	phoff       uint64
	shoff       uint64
	flags       uint32
	phentsize   uint16
	phnum       uint16
	shentsize   uint16
	shnum       uint16
}

func hasELFMagic(b []byte) bool {
	return len(b) >= 4 && [4]byte(b[:4]) == elfMagic
}

// parseEhdr decodes a 64-byte buffer that starts with the ELF magic.
func parseEhdr(b []byte) ehdr {
	le := binary.LittleEndian
	return ehdr{
		class:     b[4],
		data:      b[5],
		typ:       le.Uint16(b[16:]),
		machine:   le.Uint16(b[18:]),
		phoff:     le.Uint64(b[32:]),
		shoff:     le.Uint64(b[40:]),
		flags:     le.Uint32(b[48:]),
		phentsize: le.Uint16(b[54:]),
		phnum:     le.Uint16(b[56:]),
		shentsize: le.Uint16(b[58:]),
		shnum:     le.Uint16(b[60:]),
	}
}

type phdr struct {
	typ                                 uint32
	offset, vaddr, paddr, filesz, memsz uint64
}

func parsePhdr(b []byte) phdr {
	le := binary.LittleEndian
	return phdr{
		typ:    le.Uint32(b[0:]),
		offset: le.Uint64(b[8:]),
		vaddr:  le.Uint64(b[16:]),
		paddr:  le.Uint64(b[24:]),
		filesz: le.Uint64(b[32:]),
		memsz:  le.Uint64(b[40:]),
	}
}

func typeName(t uint16) string {
	switch t {
	case 0:
		return "ET_NONE"
	case 1:
		return "ET_REL"
	case etExec:
		return "ET_EXEC"
	case 3:
		return "ET_DYN"
	case etCore:
		return "ET_CORE"
	}
	return fmt.Sprintf("type %d", t)
}
