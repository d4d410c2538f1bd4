package program

// Source lines and inlined calls of kernel addresses, from DWARF: the
// vmlinux's (its index is link-time addressed: the KASLR offset is
// subtracted), and any other DWARF index that covers runtime addresses
// (module .ko files loaded with `mod -s` register themselves with
// AddLineSource).

import (
	"sync"

	"kdive/internal/dwarfx"
)

// SourceLine is a file and line as crash prints them ("file: line").
type SourceLine = dwarfx.SourceLine

// InlinedCall is one function inlined at an address, with the place it
// was inlined at.
type InlinedCall = dwarfx.InlinedCall

// LineSource is a DWARF index covering kernel addresses [Lo, Hi) (Hi 0:
// every address); Bias is subtracted from a kernel address to get the
// index's own address.
type LineSource struct {
	Index  *dwarfx.Index
	Bias   uint64
	Lo, Hi uint64
}

// lineSrcs holds the program's DWARF for lines.
type lineSrcs struct {
	once  sync.Once
	vml   *dwarfx.Index // full index (types)
	err   error
	lonce sync.Once
	lix   *dwarfx.Index // lines only (no name scan)
	lerr  error
	mu    sync.Mutex
	extra []LineSource
}

func (s *state) lines() *lineSrcs { return &s.lineSrcs }

// vmlinuxDWARF is the vmlinux's DWARF index, opened (indexed) once and
// shared by types and lines; nil without a vmlinux.
func (p *Program) vmlinuxDWARF() (*dwarfx.Index, error) {
	if p.impl == nil || p.VmlinuxPath == "" {
		return nil, nil
	}
	l := p.impl.lines()
	l.once.Do(func() { l.vml, l.err = dwarfx.Open(p.VmlinuxPath) })
	return l.vml, l.err
}

// vmlinuxLines is the vmlinux's DWARF opened for lines only (unit
// headers, no name index: milliseconds, where the full index takes
// ~0.5 s); nil without a vmlinux.
func (p *Program) vmlinuxLines() (*dwarfx.Index, error) {
	if p.impl == nil || p.VmlinuxPath == "" {
		return nil, nil
	}
	l := p.impl.lines()
	l.lonce.Do(func() { l.lix, l.lerr = dwarfx.OpenLines(p.VmlinuxPath) })
	return l.lix, l.lerr
}

// AddLineSource makes the source lines of another DWARF index (a
// module's) known for kernel addresses in [src.Lo, src.Hi).
func (p *Program) AddLineSource(src LineSource) {
	if p.impl == nil || src.Index == nil {
		return
	}
	l := p.impl.lines()
	l.mu.Lock()
	l.extra = append(l.extra, src)
	l.mu.Unlock()
}

// lineSources returns the DWARF indexes that may cover addr, in order.
func (p *Program) lineSources(addr uint64) []LineSource {
	if p.impl == nil {
		return nil
	}
	var out []LineSource
	// A module whose object file mod -s loaded: its DWARF is relocated
	// to runtime addresses (moddebug.go); unloading takes it away.
	if md := p.ModuleDebugAt(addr); md != nil && md.Index != nil {
		out = append(out, LineSource{Index: md.Index, Lo: md.Module.Base, Hi: md.Module.Base + md.Module.Size})
	}
	l := p.impl.lines()
	l.mu.Lock()
	for _, e := range l.extra {
		if addr >= e.Lo && (e.Hi == 0 || addr < e.Hi) {
			out = append(out, e)
		}
	}
	l.mu.Unlock()
	if ix, _ := p.vmlinuxLines(); ix != nil {
		out = append(out, LineSource{Index: ix, Bias: p.impl.src.KASLROffset})
	}
	return out
}

// LineAt returns the source file and line of a kernel text address, as
// crash prints them for `sym` and `bt -l`; ok is false when no DWARF
// covers the address (no vmlinux, no line for it, a module without
// loaded debug information). Malformed line tables also give false.
func (p *Program) LineAt(addr uint64) (SourceLine, bool) {
	for _, s := range p.lineSources(addr) {
		if l, ok, err := s.Index.LineAt(addr - s.Bias); err == nil && ok {
			return l, true
		}
	}
	return SourceLine{}, false
}

// InlinedAt returns the functions inlined at a kernel text address,
// innermost first (each with the file and line it was inlined at); none
// when the address is not in inlined code or has no DWARF.
func (p *Program) InlinedAt(addr uint64) []InlinedCall {
	for _, s := range p.lineSources(addr) {
		if c, err := s.Index.InlineChain(addr - s.Bias); err == nil && len(c) > 0 {
			return c
		}
	}
	return nil
}
