package program

import (
	"bytes"
	"errors"
	"fmt"
	"sync"

	"github.com/cilium/ebpf/btf"

	"kdive/internal/btfx"
	"kdive/internal/dwarfx"
	"kdive/internal/types"
)

type typeRegKey struct{}

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
	// The registry is built on first use from the BTF the program loads
	// and kept in the program's memo, so it goes with the program.
	r := p.Memo(typeRegKey{}, func() any { return &typeReg{} }).(*typeReg)
	r.once.Do(func() {
		r.reg = types.NewRegistry()
		if p.impl == nil { // a Program not made by Open (tests' fakes)
			r.err = errors.New("no dump is open")
			return
		}
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
			r.reg.Append(&lazyDWARF{path: p.VmlinuxPath, open: p.vmlinuxDWARF})
		}
		// The DWARF of the modules whose object files mod -s loads:
		// their own types and the types of their globals.
		r.reg.Append(moduleDWARF{s: p.impl})
		if t != nil {
			// Last, the modules' own BTF (struct module.btf_data, split
			// BTF on top of the kernel's), read on first use.
			r.reg.Append(&moduleBTF{p: p, base: t.Spec})
		}
	})
	return r
}

// lazyDWARF is a types.Source over a vmlinux's DWARF, indexed the first
// time it is asked.
type lazyDWARF struct {
	path string
	open func() (*dwarfx.Index, error) // the program's shared index
	once sync.Once
	src  *dwarfx.Source
	err  error
}

func (l *lazyDWARF) get() (*dwarfx.Source, error) {
	l.once.Do(func() {
		var ix *dwarfx.Index
		var err error
		if l.open != nil {
			ix, err = l.open()
		} else {
			ix, err = dwarfx.Open(l.path)
		}
		if err == nil && ix == nil {
			err = fmt.Errorf("no DWARF")
		}
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

// moduleBTF is a types.Source over the BTF of every loaded module that has
// some (CONFIG_DEBUG_INFO_BTF_MODULES: struct module's btf_data and
// btf_data_size), read from the dump on first use.
type moduleBTF struct {
	p    *Program
	base *btf.Spec
	once sync.Once
	srcs []*types.BTF
}

func (m *moduleBTF) load() []*types.BTF {
	m.once.Do(func() {
		if m.p.impl.live() {
			// A running kernel exports each module's BTF in sysfs.
			if m.srcs = SysModuleBTF(SysBTFDir, m.base); len(m.srcs) > 0 {
				return
			}
		}
		names := map[uint64]string{}
		if mods, err := m.p.Modules(); err == nil {
			for _, mod := range mods {
				names[mod.Addr] = mod.Name
			}
		}
		// The kernel frees module.btf_data once it has parsed it; the raw
		// BTF stays in each struct btf on the btf_modules list
		// (kernel/bpf/btf.c).
		head, err := m.p.Symbol("btf_modules")
		if err != nil {
			return
		}
		offMod, err1 := m.p.MemberOffset("btf_module", "module")
		offBTF, err2 := m.p.MemberOffset("btf_module", "btf")
		offList, err3 := m.p.MemberOffset("btf_module", "list")
		offData, err4 := m.p.MemberOffset("btf", "data")
		offSize, err5 := m.p.MemberOffset("btf", "data_size")
		if err1 != nil || err2 != nil || err3 != nil || err4 != nil || err5 != nil {
			return
		}
		next, err := m.p.ReadU64(head)
		for n := 0; err == nil && next != head && next != 0 && n < 4096; n++ {
			bm := next - offList
			mod, _ := m.p.ReadU64(bm + offMod)
			b, e1 := m.p.ReadU64(bm + offBTF)
			data, e2 := m.p.ReadU64(b + offData)
			size, e3 := m.p.ReadU32(b + offSize)
			if e1 == nil && e2 == nil && e3 == nil && data != 0 && size > 0 && size <= btfx.MaxSize {
				raw := make([]byte, size)
				if _, err := m.p.ReadAt(raw, data); err == nil {
					if spec, err := btf.LoadSplitSpecFromReader(bytes.NewReader(raw), m.base); err == nil {
						name := names[mod]
						if name == "" {
							name = fmt.Sprintf("%#x", mod)
						}
						m.srcs = append(m.srcs, types.NewBTF(spec, fmt.Sprintf("BTF of module %s (%#x, %d bytes)", name, data, size)))
					}
				}
			}
			next, err = m.p.ReadU64(next)
		}
	})
	return m.srcs
}

func (m *moduleBTF) LookupType(name string) (*types.Type, error) {
	for _, s := range m.load() {
		if t, err := s.LookupType(name); err == nil {
			return t, nil
		}
	}
	return nil, fmt.Errorf("type %q: %w", name, types.ErrNotFound)
}

func (m *moduleBTF) LookupVar(name string) (*types.Type, error) {
	for _, s := range m.load() {
		if t, err := s.LookupVar(name); err == nil {
			return t, nil
		}
	}
	return nil, fmt.Errorf("variable %q: %w", name, types.ErrNotFound)
}

func (m *moduleBTF) LookupEnumerator(name string) (*types.Type, int64, error) {
	for _, s := range m.load() {
		if t, v, err := s.LookupEnumerator(name); err == nil {
			return t, v, nil
		}
	}
	return nil, 0, fmt.Errorf("enumerator %q: %w", name, types.ErrNotFound)
}

func (m *moduleBTF) Describe() string { return "the modules' BTF in the dump" }
