// Package elfnote parses ELF note segments (Elf64_Nhdr records), as found in
// an ELF core's PT_NOTE and in a kdump file's note area.
package elfnote

import (
	"encoding/binary"
	"fmt"
)

// Note types used by crash dumps.
const (
	NT_PRSTATUS = 1
	// NT_VMCOREINFO is the type of the "VMCOREINFO" note (include/linux/crash_core.h).
	NT_VMCOREINFO = 0
)

// Note is one ELF note.
type Note struct {
	Name string
	Type uint32
	Desc []byte
	Off  int // offset of the note header within the parsed buffer
}

// maxNotes bounds a walk over untrusted note data.
const maxNotes = 1 << 16

// Parse splits buf (little-endian Elf64_Nhdr records, 4-byte aligned) into
// notes. It stops at the first zero-length padding record and returns an
// error naming the offset of the first malformed record; the notes parsed
// before it are returned too.
func Parse(buf []byte) ([]Note, error) {
	var notes []Note
	off := 0
	for off+12 <= len(buf) && len(notes) < maxNotes {
		namesz := uint64(binary.LittleEndian.Uint32(buf[off:]))
		descsz := uint64(binary.LittleEndian.Uint32(buf[off+4:]))
		typ := binary.LittleEndian.Uint32(buf[off+8:])
		if namesz == 0 && descsz == 0 && typ == 0 {
			break // padding
		}
		p := uint64(off) + 12
		nameEnd := p + namesz
		descOff := align4(nameEnd)
		descEnd := descOff + descsz
		if descEnd > uint64(len(buf)) {
			return notes, fmt.Errorf("note at offset %#x: name size %d and desc size %d run past the end (%d bytes)", off, namesz, descsz, len(buf))
		}
		name := buf[p:nameEnd]
		for len(name) > 0 && name[len(name)-1] == 0 {
			name = name[:len(name)-1]
		}
		notes = append(notes, Note{Name: string(name), Type: typ, Desc: buf[descOff:descEnd], Off: off})
		off = int(align4(descEnd))
	}
	return notes, nil
}

func align4(x uint64) uint64 { return (x + 3) &^ 3 }
