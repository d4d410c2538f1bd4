// Package dump defines the one interface every dump format hides behind:
// random reads of the crashed machine's physical memory, plus the metadata the
// format carries (VMCOREINFO, per-CPU register notes, utsname, timestamp).
//
// Formats live in sub-packages (elfcore, diskdump); Open in package open
// (internal/dump/open) detects the format by content and returns a Dump.
package dump

import (
	"errors"
	"fmt"
	"time"
)

// Dump is a crash dump's physical memory and metadata.
type Dump interface {
	// ReadPhysAt reads len(p) bytes of physical memory starting at addr.
	// It returns the number of bytes read before the first error. A read
	// that touches a page left out of the dump fails with *ExcludedError
	// (unless Options.ZeroExcluded), an address the dump does not cover
	// with *NotPresentError, and a page that cannot be decoded with
	// *CorruptError. Implementations must be safe for concurrent use.
	ReadPhysAt(p []byte, addr uint64) (int, error)
	// Info returns the dump's metadata. The returned value must not be modified.
	Info() *Info
	Close() error
}

// Info is what a dump file says about itself.
type Info struct {
	Path        string
	Format      string // "ELF", "kdump", "kcore"
	Compression string // "zlib", "lzo", "snappy", "zstd", "mixed", "" (none)
	Flattened   bool   // read from a makedumpfile -F stream
	Partial     bool   // pages were filtered out (makedumpfile -d, or -E)
	// VMCOREINFO is the raw "KEY=VALUE\n" text, or nil when the dump has none.
	VMCOREINFO []byte
	// PRStatus holds each CPU's NT_PRSTATUS note descriptor (struct
	// elf_prstatus), in note order. Empty when the dump carries none.
	PRStatus [][]byte
	// QEMUCPUState holds QEMU's "QEMU" notes (struct QEMUCPUState), if any.
	QEMUCPUState [][]byte
	// NrCPUs is the CPU count the header gives (kdump nr_cpus), or the
	// number of PRSTATUS notes; 0 when unknown.
	NrCPUs int
	// Utsname fields from a kdump header (empty for ELF).
	Sysname, Nodename, Release, Version, Machine, Domainname string
	// Timestamp from the kdump header; zero when unknown.
	Timestamp time.Time
	// MaxPFN is one past the highest page frame the dump describes.
	MaxPFN uint64
	// PageSize of the dump's bitmaps (kdump block_size), 4096 for ELF.
	PageSize int
	// Segments are an ELF core's PT_LOAD ranges. VAddr is 0 when the dump
	// has physical addresses only (QEMU paging:false); PAddr is ^0 in
	// /proc/kcore entries that have no physical address.
	Segments []Segment
}

// Segment is one PT_LOAD range of an ELF core.
type Segment struct {
	VAddr, PAddr, MemSize, FileSize, Offset uint64
}

// Options tune how a dump is opened.
type Options struct {
	// ZeroExcluded makes reads of filtered pages return zeros, as crash's
	// --zero_excluded does. By default they fail with *ExcludedError.
	ZeroExcluded bool
}

// ExcludedError is a read of a page makedumpfile left out of the dump.
type ExcludedError struct{ Addr uint64 }

func (e *ExcludedError) Error() string {
	return fmt.Sprintf("physical address %#x: page excluded from the dump", e.Addr)
}

// NotPresentError is a read of a physical address the dump does not cover.
type NotPresentError struct{ Addr uint64 }

func (e *NotPresentError) Error() string {
	return fmt.Sprintf("physical address %#x: not in the dump", e.Addr)
}

// CorruptError is a page or structure that cannot be decoded.
type CorruptError struct {
	Path   string
	Offset int64  // file offset, -1 if unknown
	Addr   uint64 // physical address concerned, if any
	Msg    string
}

func (e *CorruptError) Error() string {
	s := e.Path
	if e.Offset >= 0 {
		s += fmt.Sprintf(": offset %#x", e.Offset)
	}
	if e.Addr != 0 {
		s += fmt.Sprintf(": physical address %#x", e.Addr)
	}
	return s + ": " + e.Msg
}

// ErrNotDump is returned by a format's Open when the file is not of that format.
var ErrNotDump = errors.New("not a dump file")
