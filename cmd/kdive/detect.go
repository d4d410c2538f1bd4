package main

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
)

// fileKind is what a command-line file argument holds.
type fileKind int

const (
	kindUnknown fileKind = iota
	kindDump             // an ELF core, a kdump-compressed or flattened dump
	kindVmlinux          // a kernel ELF executable
)

// classify tells a dump from a vmlinux by content: an ELF ET_CORE file,
// or a file starting with the kdump ("KDUMP   ", "DISKDUMP") or flattened
// ("makedumpfile") signature is a dump; an ELF ET_EXEC (or ET_DYN) file
// is a vmlinux.
func classify(path string) (fileKind, error) {
	f, err := os.Open(path)
	if err != nil {
		return kindUnknown, err
	}
	defer f.Close()
	var hdr [64]byte
	n, err := io.ReadFull(f, hdr[:])
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return kindUnknown, err
	}
	return classifyHeader(hdr[:n]), nil
}

func classifyHeader(b []byte) fileKind {
	switch {
	case bytes.HasPrefix(b, []byte("KDUMP   ")),
		bytes.HasPrefix(b, []byte("DISKDUMP")),
		bytes.HasPrefix(b, []byte("makedumpfile")):
		return kindDump
	case len(b) >= 18 && bytes.HasPrefix(b, []byte("\x7fELF")):
		var typ uint16
		switch b[5] { // EI_DATA
		case 1:
			typ = binary.LittleEndian.Uint16(b[16:])
		case 2:
			typ = binary.BigEndian.Uint16(b[16:])
		default:
			return kindUnknown
		}
		switch typ {
		case 4: // ET_CORE
			return kindDump
		case 2, 3: // ET_EXEC, ET_DYN
			return kindVmlinux
		}
	}
	return kindUnknown
}
