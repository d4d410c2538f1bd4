package program

import (
	"errors"
	"fmt"
	"sync"

	"kdive/internal/btfx"
	"kdive/internal/dump"
	"kdive/internal/mem"
	"kdive/internal/symtab"
	"kdive/internal/vmcoreinfo"
	"kdive/internal/vmlinux"
)

// state is the implementation behind the facade.
type state struct {
	src  SourceInfo
	vmci *vmcoreinfo.Info
	d    dump.Dump
	mem  *mem.Mem
	vml  *vmlinux.File
	base *symtab.Table // vmlinux or kallsyms symbols
	warn func(string)

	symOnce sync.Once
	full    *symtab.Table // base + modules

	typesOnce sync.Once
	types     *btfx.Types
	typesErr  error

	lineSrcs lineSrcs // DWARF for source lines (lines.go)

	modOnce sync.Once
	mods    []Module
	modSyms []symtab.Sym
	modErr  error

	dbg modDebugs // module object files loaded by mod -s (moddebug.go)
}

func (s *state) readVirt(b []byte, addr uint64) (int, error) { return s.mem.ReadAt(b, addr) }
func (s *state) readPhys(b []byte, addr uint64) (int, error) { return s.mem.ReadPhysAt(b, addr) }
func (s *state) translate(v uint64) (uint64, error)          { return s.mem.Translate(v) }

func (s *state) vmcoreinfo(key string) (string, bool) { return s.vmci.Get(key) }

// ErrNoSymbol is an unknown symbol name.
var ErrNoSymbol = errors.New("no such symbol")

func (s *state) symbol(name string) (uint64, error) {
	if sym, ok := s.base.Lookup(name); ok {
		return sym.Addr, nil
	}
	if sym, ok := s.symbols().Lookup(name); ok {
		return sym.Addr, nil
	}
	return 0, fmt.Errorf("%s: %w", name, ErrNoSymbol)
}

func (s *state) symbols() *symtab.Table {
	s.symOnce.Do(func() {
		s.modOnce.Do(s.loadModules)
		if s.modErr != nil && s.warn != nil {
			s.warn("module symbols unavailable: " + s.modErr.Error())
		}
		s.full = s.base.With(s.modSyms)
	})
	if s.dbg.symsDirty.Load() { // mod -s/-d since (moddebug.go)
		s.rebuildSymbols()
	}
	if t := s.dbg.syms.Load(); t != nil { // modules' object files loaded
		return t
	}
	return s.full
}

func (s *state) modules() ([]Module, error) {
	s.modOnce.Do(s.loadModules)
	return s.mods, s.modErr
}

func (s *state) loadTypes() (*btfx.Types, error) {
	s.typesOnce.Do(func() {
		s.types, s.typesErr = s.openBTF()
		if s.types != nil {
			s.src.Types = s.types.Source
		}
	})
	return s.types, s.typesErr
}

func (s *state) memberOffset(typ, member string) (uint64, error) {
	t, err := s.loadTypes()
	if err == nil {
		off, _, err2 := t.Member(typ, member)
		if err2 == nil {
			return off, nil
		}
		err = err2
	}
	if v, ok := s.vmci.Offset(bare(typ), member); ok {
		return uint64(v), nil
	}
	return 0, err
}

func (s *state) memberSize(typ, member string) (uint64, error) {
	t, err := s.loadTypes()
	if err != nil {
		return 0, err
	}
	return t.MemberSize(typ, member)
}

func (s *state) typeSize(typ string) (uint64, error) {
	t, err := s.loadTypes()
	if err == nil {
		n, err2 := t.Size(typ)
		if err2 == nil {
			return n, nil
		}
		err = err2
	}
	if v, ok := s.vmci.Size(bare(typ)); ok {
		return uint64(v), nil
	}
	return 0, err
}

func (s *state) perCPUOffset(cpu int) (uint64, error) {
	base, err := s.symbol("__per_cpu_offset")
	if err != nil {
		return 0, err
	}
	if cpu < 0 || cpu >= 1<<16 {
		return 0, fmt.Errorf("cpu %d out of range", cpu)
	}
	var b [8]byte
	if _, err := s.mem.ReadAt(b[:], base+uint64(cpu)*8); err != nil {
		return 0, err
	}
	return le64(b[:]), nil
}

func bare(typ string) string {
	for _, p := range []string{"struct ", "union "} {
		if len(typ) > len(p) && typ[:len(p)] == p {
			return typ[len(p):]
		}
	}
	return typ
}

func le64(b []byte) uint64 {
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}
