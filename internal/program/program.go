// Package program is the one facade the kernel helpers and commands use: a
// crashed kernel's virtual memory, symbols and types.
package program

import (
	"encoding/binary"
	"errors"

	"kdive/internal/dump"
	"kdive/internal/mem"
)

// Program is an opened crashed (or live) kernel.
type Program struct {
	Dump dump.Dump
	// Path of the vmlinux in use, "" when working from the dump alone.
	VmlinuxPath string
	// NrCPUs is the number of possible CPUs that were online at the crash.
	NrCPUs int

	impl *state // filled by Open
	ctx  sessionContext
	memo memoStore // per-dump caches of the helpers (Memo)
}

// FaultError is a virtual address that cannot be read.
type FaultError = mem.FaultError

// ErrNoType is returned when a type or member is unknown.
var ErrNoType = errors.New("no such type or member")

// ReadU64 reads a little-endian 64-bit value at a kernel virtual address.
func (p *Program) ReadU64(addr uint64) (uint64, error) {
	var b [8]byte
	if _, err := p.ReadAt(b[:], addr); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b[:]), nil
}

// ReadU32 reads a little-endian 32-bit value at a kernel virtual address.
func (p *Program) ReadU32(addr uint64) (uint32, error) {
	var b [4]byte
	if _, err := p.ReadAt(b[:], addr); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b[:]), nil
}

// ReadU16 reads a little-endian 16-bit value at a kernel virtual address.
func (p *Program) ReadU16(addr uint64) (uint16, error) {
	var b [2]byte
	if _, err := p.ReadAt(b[:], addr); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint16(b[:]), nil
}

// ReadU8 reads a byte at a kernel virtual address.
func (p *Program) ReadU8(addr uint64) (uint8, error) {
	var b [1]byte
	if _, err := p.ReadAt(b[:], addr); err != nil {
		return 0, err
	}
	return b[0], nil
}

// ReadCString reads a NUL-terminated string of at most max bytes.
func (p *Program) ReadCString(addr uint64, max int) (string, error) {
	var out []byte
	buf := make([]byte, 64)
	for len(out) < max {
		n := 64 - int(addr%64) // stay within a 64-byte block, never crossing a page
		if n > max-len(out) {
			n = max - len(out)
		}
		if _, err := p.ReadAt(buf[:n], addr); err != nil {
			if len(out) > 0 {
				return string(out), nil
			}
			return "", err
		}
		for i := 0; i < n; i++ {
			if buf[i] == 0 {
				return string(append(out, buf[:i]...)), nil
			}
		}
		out = append(out, buf[:n]...)
		addr += uint64(n)
	}
	return string(out), nil
}
