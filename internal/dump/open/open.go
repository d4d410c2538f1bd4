// Package open detects a dump's format by content and opens it: ELF cores
// (vmcore copies, makedumpfile -E, QEMU dump-guest-memory, /proc/kcore) with
// elfcore, kdump-compressed files (plain or makedumpfile -F flattened) with
// diskdump. It also tells a vmlinux from a dump by content.
package open

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"kdive/internal/dump"
	"kdive/internal/dump/diskdump"
	"kdive/internal/dump/elfcore"
)

const (
	kdumpSig    = "KDUMP   "
	diskdumpSig = "DISKDUMP"
	elfMagic    = "\x7fELF"
)

type kind int

const (
	kindUnknown kind = iota
	kindELF
	kindKdump
	kindFlat
)

// sniff reads the first bytes of f and classifies them.
func sniff(f *os.File) (kind, []byte, error) {
	head := make([]byte, 1024)
	n, err := f.ReadAt(head, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return kindUnknown, nil, err
	}
	head = head[:n]
	switch {
	case bytes.HasPrefix(head, []byte(elfMagic)):
		return kindELF, head, nil
	case bytes.HasPrefix(head, []byte(kdumpSig)), bytes.HasPrefix(head, []byte(diskdumpSig)):
		return kindKdump, head, nil
	case diskdump.IsFlattened(head):
		return kindFlat, head, nil
	}
	return kindUnknown, head, nil
}

// Open opens the dump at path, whatever its format.
func Open(path string, opts dump.Options) (dump.Dump, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if fi.IsDir() {
		f.Close()
		return nil, &notDumpError{path + ": is a directory, not a dump file"}
	}
	k, head, err := sniff(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	switch k {
	case kindELF:
		f.Close()
		d, err := elfcore.Open(path, opts)
		if err != nil && errors.Is(err, dump.ErrNotDump) && IsVmlinux(path) {
			return nil, &notDumpError{path + ": a kernel image (vmlinux), not a dump file"}
		}
		return d, err
	case kindKdump:
		f.Close()
		return diskdump.Open(path, opts)
	case kindFlat:
		// makedumpfile -F carries either format; -F -E an ELF core.
		ff, ferr := diskdump.NewFlatReader(f, fi.Size())
		if ferr == nil {
			var m [4]byte
			if n, _ := ff.ReadAt(m[:], 0); n == 4 && string(m[:]) == elfMagic {
				c, err := elfcore.NewReader(path, elfcore.Source{R: ff, Size: ff.Size(), Closer: f, Flattened: true}, opts)
				if err != nil {
					f.Close()
					return nil, err
				}
				return c, nil
			}
		}
		f.Close()
		return diskdump.Open(path, opts)
	}
	f.Close()
	return nil, notDump(path, head)
}

// notDump is the one-line error for content no reader takes, with a hint
// for the usual mistakes.
func notDump(path string, head []byte) error {
	hint := ""
	switch {
	case len(head) == 0:
		hint = ": the file is empty"
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		hint = ": it is gzip-compressed; decompress it first"
	case bytes.HasPrefix(head, []byte("\xfd7zXZ\x00")):
		hint = ": it is xz-compressed; decompress it first"
	case bytes.HasPrefix(head, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		hint = ": it is zstd-compressed; decompress it first"
	case bytes.HasPrefix(head, []byte("BZh")):
		hint = ": it is bzip2-compressed; decompress it first"
	case len(head) > 0x202 && string(head[0x202:min(len(head), 0x206)]) == "HdrS":
		hint = ": it looks like a bzImage; use the uncompressed vmlinux"
	}
	return &notDumpError{path + ": not a supported dump file (neither ELF core nor kdump-compressed)" + hint}
}

// notDumpError reads as its message alone and matches dump.ErrNotDump.
type notDumpError struct{ msg string }

func (e *notDumpError) Error() string { return e.msg }
func (e *notDumpError) Unwrap() error { return dump.ErrNotDump }

// IsDump reports whether the file at path looks like a crash dump by
// content: an ELF core file, a kdump-compressed file or a makedumpfile
// flattened stream. It does not validate the whole file.
func IsDump(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	k, head, err := sniff(f)
	if err != nil {
		return false
	}
	switch k {
	case kindKdump, kindFlat:
		return true
	case kindELF:
		return len(head) >= 18 && binary.LittleEndian.Uint16(head[16:]) == 4 && head[5] == 1 ||
			len(head) >= 18 && binary.BigEndian.Uint16(head[16:]) == 4 && head[5] == 2
	}
	return false
}

// IsVmlinux reports whether the file at path is a kernel image with
// symbols: an ELF64 little-endian x86-64 ET_EXEC file with a .text section
// and sections only a kernel has (.data..percpu, .init.text, __ksymtab,
// __ex_table); vmlinux debuginfo files (NOBITS .text) count.
func IsVmlinux(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return false
	}
	names, ok := sectionNames(f, fi.Size())
	if !ok {
		return false
	}
	hasText, kernel := false, false
	for _, n := range names {
		switch n {
		case ".text":
			hasText = true
		case ".data..percpu", ".init.text", "__ksymtab", "__ksymtab_gpl", "__ex_table":
			kernel = true
		}
	}
	return hasText && kernel
}

// sectionNames returns the section names of an ELF64 LE x86-64 ET_EXEC
// file, bounded against the file size.
func sectionNames(r io.ReaderAt, size int64) ([]string, bool) {
	le := binary.LittleEndian
	var eh [64]byte
	if n, _ := r.ReadAt(eh[:], 0); n < len(eh) || string(eh[:4]) != elfMagic {
		return nil, false
	}
	if eh[4] != 2 || eh[5] != 1 || le.Uint16(eh[16:]) != 2 || le.Uint16(eh[18:]) != 62 {
		return nil, false
	}
	shoff := le.Uint64(eh[40:])
	shentsize := uint64(le.Uint16(eh[58:]))
	shnum := uint64(le.Uint16(eh[60:]))
	shstrndx := uint64(le.Uint16(eh[62:]))
	if shoff == 0 || shentsize < 64 || shoff >= uint64(size) {
		return nil, false
	}
	readSh := func(i uint64) ([]byte, bool) {
		b := make([]byte, 64)
		if i > uint64(size)/shentsize {
			return nil, false
		}
		off := shoff + i*shentsize
		if off > uint64(size)-64 {
			return nil, false
		}
		n, _ := r.ReadAt(b, int64(off))
		return b, n == 64
	}
	if shnum == 0 || shstrndx == 0xffff { // extended numbering
		sh0, ok := readSh(0)
		if !ok {
			return nil, false
		}
		if shnum == 0 {
			shnum = le.Uint64(sh0[32:])
		}
		if shstrndx == 0xffff {
			shstrndx = uint64(le.Uint32(sh0[40:]))
		}
	}
	if shnum == 0 || shnum > 1<<16 || shstrndx >= shnum {
		return nil, false
	}
	str, ok := readSh(shstrndx)
	if !ok {
		return nil, false
	}
	stOff, stSize := le.Uint64(str[24:]), le.Uint64(str[32:])
	if stSize == 0 || stSize > 1<<20 || stOff > uint64(size) || stSize > uint64(size)-stOff {
		return nil, false
	}
	strtab := make([]byte, stSize)
	if n, _ := r.ReadAt(strtab, int64(stOff)); uint64(n) != stSize {
		return nil, false
	}
	var names []string
	for i := uint64(1); i < shnum; i++ {
		sh, ok := readSh(i)
		if !ok {
			return nil, false
		}
		if le.Uint32(sh[4:]) == 0 { // SHT_NULL
			continue
		}
		nameOff := uint64(le.Uint32(sh[0:]))
		if nameOff >= stSize {
			continue
		}
		name := strtab[nameOff:]
		if j := bytes.IndexByte(name, 0); j >= 0 {
			name = name[:j]
		}
		names = append(names, string(name))
	}
	return names, true
}
