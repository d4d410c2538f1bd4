package program

import (
	"fmt"
	"runtime"
	"sync"

	"kdive/internal/dwarfx"
	"kdive/internal/types"
)

// typeRegs holds each program's type registry (one per *state, built on
// first use from the BTF the program loads).
var typeRegs sync.Map // *state → *typeReg

type typeReg struct {
	once sync.Once
	reg  *types.Registry
	err  error
}

// Types returns the program's type model: a registry whose sources are
// the BTF the program loaded (vmlinux .BTF or the dump's own), plus the C
// base types. Another source (DWARF) can be added with Prepend. When no
// BTF could be loaded the registry has only the base types; TypesErr says
// why.
func (p *Program) Types() *types.Registry {
	r := p.typeReg()
	return r.reg
}

// TypesErr is the error loading the program's BTF, nil when it loaded.
func (p *Program) TypesErr() error { return p.typeReg().err }

func (p *Program) typeReg() *typeReg {
	v, loaded := typeRegs.LoadOrStore(p.impl, &typeReg{})
	r := v.(*typeReg)
	if !loaded {
		// Forget the registry with the program. (The DWARF stays mapped:
		// a caller may still hold the registry.)
		runtime.AddCleanup(p, func(k *state) { typeRegs.Delete(k) }, p.impl)
	}
	r.once.Do(func() {
		r.reg = types.NewRegistry()
		t, err := p.impl.loadTypes()
		if err != nil {
			r.err = err
		} else {
			r.reg.Append(types.NewBTF(t.Spec, t.Source))
		}
		if p.VmlinuxPath != "" {
			// DWARF after BTF: BTF answers type questions at once; the
			// vmlinux's DWARF adds what BTF lacks (the types of global
			// variables), indexed on first use.
			r.reg.Append(&lazyDWARF{path: p.VmlinuxPath})
		}
	})
	return r
}

// lazyDWARF is a types.Source over a vmlinux's DWARF, indexed the first
// time it is asked.
type lazyDWARF struct {
	path string
	once sync.Once
	src  *dwarfx.Source
	err  error
}

func (l *lazyDWARF) get() (*dwarfx.Source, error) {
	l.once.Do(func() {
		ix, err := dwarfx.Open(l.path)
		if err != nil {
			l.err = fmt.Errorf("%s: DWARF: %w", l.path, err)
			return
		}
		l.src = dwarfx.NewSource(ix, "")
	})
	return l.src, l.err
}

func (l *lazyDWARF) LookupType(name string) (*types.Type, error) {
	s, err := l.get()
	if err != nil {
		return nil, err
	}
	return s.LookupType(name)
}

func (l *lazyDWARF) LookupVar(name string) (*types.Type, error) {
	s, err := l.get()
	if err != nil {
		return nil, err
	}
	return s.LookupVar(name)
}

func (l *lazyDWARF) LookupEnumerator(name string) (*types.Type, int64, error) {
	s, err := l.get()
	if err != nil {
		return nil, 0, err
	}
	return s.LookupEnumerator(name)
}

func (l *lazyDWARF) Describe() string { return "DWARF from " + l.path }
