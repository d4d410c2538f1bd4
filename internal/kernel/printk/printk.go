// Package printk reads the kernel log out of a crashed kernel's memory.
//
// Two formats are supported, chosen by which VMCOREINFO keys (or, failing
// that, which symbols) the kernel has:
//
//   - the lockless printk ring buffer of Linux 5.10 and later
//     (kernel/printk/printk_ringbuffer.c, introduced by commit 896fbe20b4e2
//     "printk: use the lockless ringbuffer"): SYMBOL(prb), a descriptor ring
//     (prb_desc + printk_info arrays) and a text data ring;
//   - the variable-length record buffer of Linux 3.5 to 5.9 (commit
//     7ff9554bb578 "printk: convert byte-buffer to variable-length record
//     buffer"; struct log renamed struct printk_log by commit 62e32ac3505a in
//     3.11): SYMBOL(log_buf), log_first_idx, log_next_idx.
//
// Everything needed is in VMCOREINFO, so no vmlinux is required; struct
// layouts are taken from the types only when VMCOREINFO lacks a key. All loops
// are bounded by the ring sizes, so corrupt memory cannot make a read hang.
package printk

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Source is what the reader needs from a crashed kernel; *program.Program
// satisfies it.
type Source interface {
	ReadAt(b []byte, addr uint64) (int, error)
	VMCOREINFO(key string) (string, bool)
	Symbol(name string) (uint64, error)
	MemberOffset(typ, member string) (uint64, error)
	TypeSize(typ string) (uint64, error)
}

// State is a ring-buffer descriptor's state (printk_ringbuffer.h enum desc_state).
type State uint8

const (
	StateReserved  State = 0 // being written: not returned
	StateCommitted State = 1 // committed, could still be reopened (continuation)
	StateFinalized State = 2 // final
	StateReusable  State = 3 // free: not returned
)

// Record is one kernel log record.
type Record struct {
	Seq      uint64
	TsNsec   uint64 // local clock (nanoseconds since boot)
	Level    uint8  // 0 (KERN_EMERG) .. 7 (KERN_DEBUG)
	Facility uint8  // 0 for kernel messages
	Flags    uint8  // LOG_NEWLINE, LOG_CONT, ...
	// CallerID: bit 31 set means CPU number (in context other than task),
	// clear means the PID of the calling task. 0 when unknown (old kernels).
	CallerID uint32
	// Text is the message as stored (raw bytes, may contain '\n').
	Text string
	// Subsystem and Device are the dev_printk_info (dictionary) values.
	Subsystem, Device string
	// NoData marks a record whose descriptor carries no text block
	// (data-less: allocation failed or empty message).
	NoData bool
	// Lost marks a record whose text could not be read (overwritten or
	// unreadable memory); Text is empty then.
	Lost bool
	// State is the descriptor state (ring buffer only; Finalized for old logs).
	State State
}

// Log is the result of a read.
type Log struct {
	Format  string // "printk_ringbuffer" or "log_buf"
	Records []Record
	// Warnings are non-fatal problems (unreadable pages, bad descriptors).
	Warnings []string
}

// Caps on sizes read from memory.
const (
	maxDescBits = 24 // 16M descriptors
	maxDataBits = 31 // 2 GiB text ring
	maxLogBuf   = 1 << 31
)

// ErrNoLog means neither log format was found.
var ErrNoLog = errors.New("printk: no kernel log found (neither prb nor log_buf in VMCOREINFO or symbols)")

// Read reads all records of the kernel log, oldest first.
func Read(src Source) (*Log, error) {
	if has(src, "SYMBOL(prb)") || (!has(src, "SYMBOL(log_buf)") && symOK(src, "prb")) {
		return readRing(src)
	}
	if has(src, "SYMBOL(log_buf)") || symOK(src, "log_buf") {
		return readLegacy(src)
	}
	return nil, ErrNoLog
}

func has(src Source, key string) bool { _, ok := src.VMCOREINFO(key); return ok }

func symOK(src Source, name string) bool { _, err := src.Symbol(name); return err == nil }

// layout resolves symbols, offsets and sizes from VMCOREINFO first, then from
// the symbol table and types.
type layout struct {
	src Source
	err error
}

func (l *layout) sym(name string) uint64 {
	if v, ok := l.src.VMCOREINFO("SYMBOL(" + name + ")"); ok {
		if x, err := strconv.ParseUint(strings.TrimPrefix(v, "0x"), 16, 64); err == nil {
			return x
		}
	}
	a, err := l.src.Symbol(name)
	if err != nil && l.err == nil {
		l.err = fmt.Errorf("printk: symbol %s: %w", name, err)
	}
	return a
}

func (l *layout) dec(key string) (uint64, bool) {
	v, ok := l.src.VMCOREINFO(key)
	if !ok {
		return 0, false
	}
	x, err := strconv.ParseUint(v, 10, 64)
	return x, err == nil
}

// off returns OFFSET(typ.member), from VMCOREINFO or the types.
func (l *layout) off(typ, member string) uint64 {
	if x, ok := l.dec("OFFSET(" + typ + "." + member + ")"); ok {
		return x
	}
	x, err := l.src.MemberOffset(typ, member)
	if err != nil && l.err == nil {
		l.err = fmt.Errorf("printk: offset of %s.%s: %w", typ, member, err)
	}
	return x
}

// optOff is off without failing: ok false when unknown.
func (l *layout) optOff(typ, member string) (uint64, bool) {
	if x, ok := l.dec("OFFSET(" + typ + "." + member + ")"); ok {
		return x, true
	}
	x, err := l.src.MemberOffset(typ, member)
	return x, err == nil
}

func (l *layout) size(typ string) uint64 {
	if x, ok := l.dec("SIZE(" + typ + ")"); ok {
		return x
	}
	x, err := l.src.TypeSize(typ)
	if err != nil && l.err == nil {
		l.err = fmt.Errorf("printk: size of %s: %w", typ, err)
	}
	return x
}

func (l *layout) optLength(name string, def uint64) uint64 {
	if x, ok := l.dec("LENGTH(" + name + ")"); ok {
		return x
	}
	return def
}

// chunk is a region of memory read page by page; unreadable pages are
// remembered so records touching them can be marked lost.
type chunk struct {
	base uint64
	b    []byte
	bad  map[uint64]bool // page index within b -> unreadable
}

const pg = 4096

func readChunk(src Source, addr, n uint64) (*chunk, error) {
	c := &chunk{base: addr, b: make([]byte, n)}
	if _, err := src.ReadAt(c.b, addr); err == nil {
		return c, nil
	}
	c.bad = map[uint64]bool{}
	good := 0
	for off := uint64(0); off < n; {
		end := (addr + off + pg) &^ (pg - 1)
		m := end - (addr + off)
		if off+m > n {
			m = n - off
		}
		if _, err := src.ReadAt(c.b[off:off+m], addr+off); err != nil {
			for i := off; i < off+m; i++ {
				c.b[i] = 0
			}
			c.bad[(addr+off)/pg] = true
		} else {
			good++
		}
		off += m
	}
	if good == 0 {
		return c, fmt.Errorf("printk: cannot read %d bytes at %#x", n, addr)
	}
	return c, nil
}

// ok reports whether [off, off+n) of the chunk was readable.
func (c *chunk) ok(off, n uint64) bool {
	if off+n > uint64(len(c.b)) || off+n < off {
		return false
	}
	if c.bad == nil || n == 0 {
		return true
	}
	for p := (c.base + off) / pg; p <= (c.base+off+n-1)/pg; p++ {
		if c.bad[p] {
			return false
		}
	}
	return true
}

func (c *chunk) u64(off uint64) uint64 { return binary.LittleEndian.Uint64(c.b[off:]) }
func (c *chunk) u32(off uint64) uint32 { return binary.LittleEndian.Uint32(c.b[off:]) }
func (c *chunk) u16(off uint64) uint16 { return binary.LittleEndian.Uint16(c.b[off:]) }

// cstr returns the NUL-terminated string at the start of b.
func cstr(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
