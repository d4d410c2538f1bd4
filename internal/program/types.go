package program

import (
	"sync"

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
	v, _ := typeRegs.LoadOrStore(p.impl, &typeReg{})
	r := v.(*typeReg)
	r.once.Do(func() {
		r.reg = types.NewRegistry()
		t, err := p.impl.loadTypes()
		if err != nil {
			r.err = err
			return
		}
		r.reg.Append(types.NewBTF(t.Spec, t.Source))
	})
	return r
}
