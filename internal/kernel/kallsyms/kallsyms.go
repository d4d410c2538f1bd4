// Package kallsyms decodes the kernel's compressed symbol table
// (kernel/kallsyms.c, scripts/kallsyms.c) from a dump's memory. The table
// addresses come from VMCOREINFO (SYMBOL(kallsyms_*), added to VMCOREINFO by
// kernel commit 5fd8fea935a1 "vmcoreinfo: include kallsyms symbols", 6.0).
package kallsyms

import (
	"encoding/binary"
	"fmt"

	"kdive/internal/symtab"
)

// Reader reads kernel virtual memory.
type Reader interface {
	ReadAt(b []byte, addr uint64) (int, error)
}

// Addrs are the kallsyms_* table addresses.
type Addrs struct {
	NumSyms, Names, TokenTable, TokenIndex, Offsets, RelativeBase uint64
	// Stext, when non-zero, checks the decoded address of _stext and picks
	// between the absolute-percpu and plain relative offset encodings.
	Stext uint64
}

const (
	maxSyms      = 1 << 21
	maxNamesSize = 64 << 20
)

// Decode reads and decodes all kallsyms entries.
func Decode(r Reader, a Addrs) ([]symtab.Sym, error) {
	var b4 [4]byte
	if _, err := r.ReadAt(b4[:], a.NumSyms); err != nil {
		return nil, fmt.Errorf("kallsyms_num_syms at %#x: %w", a.NumSyms, err)
	}
	n := binary.LittleEndian.Uint32(b4[:])
	if n == 0 || n > maxSyms {
		return nil, fmt.Errorf("kallsyms_num_syms at %#x: implausible count %d", a.NumSyms, n)
	}
	var b8 [8]byte
	if _, err := r.ReadAt(b8[:], a.RelativeBase); err != nil {
		return nil, fmt.Errorf("kallsyms_relative_base at %#x: %w", a.RelativeBase, err)
	}
	base := binary.LittleEndian.Uint64(b8[:])

	offs := make([]byte, 4*int(n))
	if _, err := r.ReadAt(offs, a.Offsets); err != nil {
		return nil, fmt.Errorf("kallsyms_offsets at %#x: %w", a.Offsets, err)
	}
	tidx := make([]byte, 512)
	if _, err := r.ReadAt(tidx, a.TokenIndex); err != nil {
		return nil, fmt.Errorf("kallsyms_token_index at %#x: %w", a.TokenIndex, err)
	}
	// The token table ends where the token index starts (scripts/kallsyms.c
	// emits kallsyms_token_table then kallsyms_token_index).
	if a.TokenIndex <= a.TokenTable || a.TokenIndex-a.TokenTable > 1<<20 {
		return nil, fmt.Errorf("kallsyms token table %#x..%#x: implausible", a.TokenTable, a.TokenIndex)
	}
	ttab := make([]byte, a.TokenIndex-a.TokenTable)
	if _, err := r.ReadAt(ttab, a.TokenTable); err != nil {
		return nil, fmt.Errorf("kallsyms_token_table at %#x: %w", a.TokenTable, err)
	}
	tokens := make([]string, 256)
	for i := range tokens {
		o := int(binary.LittleEndian.Uint16(tidx[2*i:]))
		if o >= len(ttab) {
			return nil, fmt.Errorf("kallsyms_token_index[%d] = %d: past the token table", i, o)
		}
		e := o
		for e < len(ttab) && ttab[e] != 0 {
			e++
		}
		tokens[i] = string(ttab[o:e])
	}
	// kallsyms_names is followed by kallsyms_markers; read up to the token table.
	if a.TokenTable <= a.Names || a.TokenTable-a.Names > maxNamesSize {
		return nil, fmt.Errorf("kallsyms_names %#x..%#x: implausible", a.Names, a.TokenTable)
	}
	names := make([]byte, a.TokenTable-a.Names)
	if _, err := r.ReadAt(names, a.Names); err != nil {
		return nil, fmt.Errorf("kallsyms_names at %#x: %w", a.Names, err)
	}

	syms := make([]symtab.Sym, 0, n)
	raw := make([]int32, 0, n)
	p := 0
	var buf []byte
	for i := 0; i < int(n); i++ {
		if p >= len(names) {
			return nil, fmt.Errorf("kallsyms_names: symbol %d starts past the table", i)
		}
		l := int(names[p])
		p++
		// "Big" symbols (kernel commit 73bbb94466fd, 6.1): a set top bit
		// means a second length byte follows.
		if l&0x80 != 0 {
			if p >= len(names) {
				return nil, fmt.Errorf("kallsyms_names: symbol %d: truncated length", i)
			}
			l = l&0x7f | int(names[p])<<7
			p++
		}
		if p+l > len(names) {
			return nil, fmt.Errorf("kallsyms_names: symbol %d runs past the table", i)
		}
		buf = buf[:0]
		for _, tok := range names[p : p+l] {
			buf = append(buf, tokens[tok]...)
		}
		p += l
		if len(buf) < 2 {
			continue
		}
		raw = append(raw, int32(binary.LittleEndian.Uint32(offs[4*i:])))
		syms = append(syms, symtab.Sym{Type: buf[0], Name: string(buf[1:])})
	}
	// CONFIG_KALLSYMS_ABSOLUTE_PERCPU: non-negative offsets are absolute,
	// negative ones relative to base-1. Otherwise all are unsigned offsets
	// from base. Decide with _stext when we can.
	absPercpu := false
	for _, o := range raw {
		if o < 0 {
			absPercpu = true
			break
		}
	}
	addr := func(o int32, abs bool) uint64 {
		if !abs {
			return base + uint64(uint32(o))
		}
		if o >= 0 {
			return uint64(o)
		}
		return base - 1 - uint64(int64(o))
	}
	if a.Stext != 0 {
		for i := range syms {
			if syms[i].Name == "_stext" {
				if addr(raw[i], absPercpu) != a.Stext && addr(raw[i], !absPercpu) == a.Stext {
					absPercpu = !absPercpu
				}
				break
			}
		}
	}
	for i := range syms {
		syms[i].Addr = addr(raw[i], absPercpu)
	}
	return syms, nil
}
