package commands

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	"kdive/internal/arch/amd64"
	"kdive/internal/dump"
	"kdive/internal/mem"
	"kdive/internal/program"
	"kdive/internal/symtab"
)

// fakeProg is a small kernel for rd and sym tests: a few pages of virtual
// and physical memory, some excluded or missing, and a symbol table.
type fakeProg struct {
	virt     map[uint64][]byte // page address -> 4096 bytes
	excluded map[uint64]bool   // virtual pages mapped to an excluded frame
	phys     map[uint64][]byte // physical pages
	syms     *symtab.Table
	mods     []program.Module
	info     program.SourceInfo
	reads    int // ReadAt and ReadPhysAt calls
	maxRead  int // largest read asked for
}

const fakePageOffset = 0xffff888000000000

func newFake() *fakeProg {
	return &fakeProg{
		virt:     map[uint64][]byte{},
		excluded: map[uint64]bool{},
		phys:     map[uint64][]byte{},
		syms:     symtab.New(nil, "test"),
		info:     program.SourceInfo{PageOffset: fakePageOffset},
	}
}

// page returns the (new, zero) page of virtual memory at addr.
func (f *fakeProg) page(addr uint64) []byte {
	pa := addr &^ 4095
	if f.virt[pa] == nil {
		f.virt[pa] = make([]byte, 4096)
	}
	return f.virt[pa]
}

// put writes bytes into virtual memory, creating the pages.
func (f *fakeProg) put(addr uint64, b []byte) {
	for i, c := range b {
		a := addr + uint64(i)
		f.page(a)[a&4095] = c
	}
}

func (f *fakeProg) put64(addr uint64, vals ...uint64) {
	for i, v := range vals {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], v)
		f.put(addr+uint64(8*i), b[:])
	}
}

func (f *fakeProg) ReadAt(b []byte, addr uint64) (int, error) {
	f.reads++
	f.maxRead = max(f.maxRead, len(b))
	done := 0
	for done < len(b) {
		a := addr + uint64(done)
		pa := a &^ 4095
		n := min(len(b)-done, int(4096-a&4095))
		if f.excluded[pa] {
			return done, &mem.FaultError{Addr: a, Err: &dump.ExcludedError{Addr: 0x1000}}
		}
		pg := f.virt[pa]
		if pg == nil {
			return done, &mem.FaultError{Addr: a, Err: &amd64.TranslateError{Addr: a, Level: "PTE"}}
		}
		copy(b[done:done+n], pg[a&4095:])
		done += n
	}
	return done, nil
}

func (f *fakeProg) ReadPhysAt(b []byte, addr uint64) (int, error) {
	f.reads++
	done := 0
	for done < len(b) {
		a := addr + uint64(done)
		pa := a &^ 4095
		n := min(len(b)-done, int(4096-a&4095))
		pg := f.phys[pa]
		if pg == nil {
			return done, &dump.NotPresentError{Addr: a}
		}
		copy(b[done:done+n], pg[a&4095:])
		done += n
	}
	return done, nil
}

func (f *fakeProg) Symbols() *symtab.Table             { return f.syms }
func (f *fakeProg) Modules() ([]program.Module, error) { return f.mods, nil }
func (f *fakeProg) Info() *program.SourceInfo          { return &f.info }
func (f *fakeProg) addSyms(s ...symtab.Sym)            { f.syms = f.syms.With(s) }
func (f *fakeProg) addModule(m program.Module)         { f.mods = append(f.mods, m) }
func sym(name string, addr uint64, typ byte) symtab.Sym {
	return symtab.Sym{Name: name, Addr: addr, Type: typ}
}

// run runs rd or sym on the fake, returning standard output, warnings and
// the error message ("" for none).
func (f *fakeProg) run(t *testing.T, line string) (out, warn, errmsg string) {
	t.Helper()
	args := strings.Fields(line)
	var o, w bytes.Buffer
	env := &Env{Out: &o, Err: &w}
	var err error
	switch args[0] {
	case "rd":
		err = rdCommand(env, f, args[1:])
	case "sym":
		err = symCommand(env, f, args[1:])
	default:
		t.Fatalf("unknown command %s", args[0])
	}
	if err != nil {
		errmsg = err.Error()
	}
	return o.String(), w.String(), errmsg
}

// kernelFake is a fake with kernel text and data symbols and one module.
//
//	ffffffff81000000 T _stext / _text / startup_64
//	ffffffff81000100 t helper.part.0 (crash shows "helper")
//	ffffffff81000200 T _etext
//	ffffffff82000000 D jiffies, jiffies_64 (same address)
//	ffffffff82000040 d counter
//	ffffffff82001000 B _end
//	per-CPU: 0 D __per_cpu_start, 0x10 D cpu_number, 0x100 D __per_cpu_end
//	module "mod" at ffffffffc0000000, 0x3000 bytes: mod_fn t at +0x100,
//	mod_init T at +0x180, mod_data d at +0x2000
func kernelFake() *fakeProg {
	f := newFake()
	f.addSyms(
		sym("__per_cpu_start", 0, 'D'), sym("cpu_number", 0x10, 'D'), sym("__per_cpu_end", 0x100, 'D'),
		sym("phys_startup_64", 0x1000000, 'A'),
		sym("startup_64", 0xffffffff81000000, 'T'), sym("_stext", 0xffffffff81000000, 'T'), sym("_text", 0xffffffff81000000, 'T'),
		sym("helper.part.0", 0xffffffff81000100, 't'),
		sym("_etext", 0xffffffff81000200, 'T'),
		sym("jiffies_64", 0xffffffff82000000, 'D'), sym("jiffies", 0xffffffff82000000, 'D'),
		sym("counter", 0xffffffff82000040, 'd'),
		sym("_end", 0xffffffff82001000, 'B'),
	)
	f.addModule(program.Module{Name: "mod", Base: 0xffffffffc0000000, Size: 0x3000})
	f.addSyms(
		symtab.Sym{Name: "mod_fn", Addr: 0xffffffffc0000100, Type: 't', Module: "mod"},
		symtab.Sym{Name: "mod_init", Addr: 0xffffffffc0000180, Type: 'T', Module: "mod"},
		symtab.Sym{Name: "mod_data", Addr: 0xffffffffc0002000, Type: 'd', Module: "mod"},
	)
	return f
}
