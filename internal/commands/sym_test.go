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

func checkSym(t *testing.T, f *symFake, line, wantOut, wantWarn string) {
	t.Helper()
	out, warn, err := f.run(t, line)
	if err != "" {
		t.Errorf("%s: error %q", line, err)
	}
	if out != wantOut {
		t.Errorf("%s: output\n%q\nwant\n%q", line, out, wantOut)
	}
	if warn != wantWarn {
		t.Errorf("%s: warnings %q, want %q", line, warn, wantWarn)
	}
}

func TestSymByName(t *testing.T) {
	f := symKernelFake()
	checkSym(t, f, "sym jiffies", "ffffffff82000000 (D) jiffies\n", "")
	// Text symbols end with a blank where crash puts the line number.
	checkSym(t, f, "sym startup_64", "ffffffff81000000 (T) startup_64 \n", "")
	// Compiler suffixes are stripped, as crash does.
	checkSym(t, f, "sym helper", "ffffffff81000100 (t) helper \n", "")
	// Module symbols: module name, '?' for non-functions.
	checkSym(t, f, "sym mod_fn", "ffffffffc0000100 (t) mod_fn [mod] \n", "")
	checkSym(t, f, "sym mod_data", "ffffffffc0002000 (?) mod_data [mod]\n", "")
	// Per-CPU symbols keep their offsets.
	checkSym(t, f, "sym cpu_number", "10 (D) cpu_number\n", "")
	// Several arguments; symbol+offset (a kdive extension).
	checkSym(t, f, "sym jiffies counter+2 (jiffies+0x10)",
		"ffffffff82000000 (D) jiffies\nffffffff82000042 (d) counter+2\nffffffff82000010 (D) jiffies_64+16\n", "")
	checkSym(t, f, "sym nosuch", "symbol not found: nosuch\npossible alternatives:\n  (none found)\n", "")
	checkSym(t, f, "sym count", "symbol not found: count\npossible alternatives:\n  ffffffff82000040 (d) counter\n", "")
	// Symbols removed as crash does (not per-CPU, before _stext).
	checkSym(t, f, "sym phys_startup_64", "symbol not found: phys_startup_64\npossible alternatives:\n  (none found)\n", "")
}

func TestSymByAddress(t *testing.T) {
	f := symKernelFake()
	// Among symbols at one address, the first by name; inside, the last.
	checkSym(t, f, "sym ffffffff82000000", "ffffffff82000000 (D) jiffies\n", "")
	checkSym(t, f, "sym ffffffff82000001", "ffffffff82000001 (D) jiffies_64+1\n", "")
	checkSym(t, f, "sym 0xffffffff81000000", "ffffffff81000000 (T) _stext \n", "")
	checkSym(t, f, "sym ffffffff81000010", "ffffffff81000010 (T) startup_64+16 \n", "")
	checkSym(t, f, "sym ffffffff81000010:", "ffffffff81000010 (T) startup_64+16 \n", "")
	// Up to the last kernel symbol, then nothing until the modules.
	checkSym(t, f, "sym ffffffff82001000", "ffffffff82001000 (B) _end\n", "")
	checkSym(t, f, "sym ffffffff82001001", "", "sym: invalid address: ffffffff82001001\n")
	checkSym(t, f, "sym 10", "", "sym: invalid address: 10\n")
	checkSym(t, f, "sym ffffffff80ffffff", "", "sym: invalid address: ffffffff80ffffff\n")
	// Modules: before the first symbol, inside, past the last, the end.
	checkSym(t, f, "sym ffffffffc0000010", "ffffffffc0000000 (m) (mod module)+16\n", "")
	checkSym(t, f, "sym ffffffffc0000104", "ffffffffc0000104 (t) mod_fn+4 [mod] \n", "")
	checkSym(t, f, "sym ffffffffc0002fff", "ffffffffc0002fff (?) mod_data+4095 [mod]\n", "")
	checkSym(t, f, "sym ffffffffc0003000", "", "sym: invalid address: ffffffffc0003000\n")
	// A bad address does not stop the others.
	checkSym(t, f, "sym 1 jiffies", "ffffffff82000000 (D) jiffies\n", "sym: invalid address: 1\n")
	checkSym(t, f, "sym 11112222333344445", "",
		"sym: input string too large: \"11112222333344445\" (17 vs 16)\nsym: invalid address: 11112222333344445\n")
}

func TestSymHexLookingNames(t *testing.T) {
	f := symKernelFake()
	f.addSyms(mkSym("add", 0xffffffff82000080, 'd'))
	// sym prefers the symbol; rd reads a hex-looking word as a number.
	checkSym(t, f, "sym add", "ffffffff82000080 (d) add\n", "")
	_, _, err := f.run(t, "rd add")
	if !strings.Contains(err, "user virtual address add") {
		t.Errorf("rd add: %q", err)
	}
}

func TestSymDuplicates(t *testing.T) {
	f := symKernelFake()
	f.addSyms(mkSym("err_text", 0xffffffff82000100, 'd'), mkSym("err_text", 0xffffffff82000080, 'd'),
		symtab.Sym{Name: "err_text", Addr: 0xffffffffc0002100, Type: 'd', Module: "mod"})
	checkSym(t, f, "sym err_text",
		"ffffffff82000080 (d) err_text\nffffffff82000100 (d) err_text\nffffffffc0002100 (?) err_text [mod]\n", "")
}

func TestSymListings(t *testing.T) {
	f := symKernelFake()
	checkSym(t, f, "sym -l",
		"0 (D) __per_cpu_start\n10 (D) cpu_number\n100 (D) __per_cpu_end\n"+
			"ffffffff81000000 (T) _stext\nffffffff81000000 (T) _text\nffffffff81000000 (T) startup_64\n"+
			"ffffffff81000100 (t) helper\nffffffff81000200 (T) _etext\n"+
			"ffffffff82000000 (D) jiffies\nffffffff82000000 (D) jiffies_64\nffffffff82000040 (d) counter\n"+
			"ffffffff82001000 (B) _end\n"+
			"ffffffffc0000000 MODULE START: mod\nffffffffc0000100 (t) mod_fn\nffffffffc0000180 (T) mod_init\n"+
			"ffffffffc0002000 (?) mod_data\nffffffffc0003000 MODULE END: mod\n", "")
	checkSym(t, f, "sym -m mod",
		"ffffffffc0000000 MODULE START: mod\nffffffffc0000100 (t) mod_fn\nffffffffc0000180 (T) mod_init\n"+
			"ffffffffc0002000 (?) mod_data\nffffffffc0003000 MODULE END: mod\n", "")
	checkSym(t, f, "sym -m nosuch", "", "")
	checkSym(t, f, "sym -q mod_", "ffffffffc0000100 (t) mod_fn [mod]\nffffffffc0000180 (T) mod_init [mod]\nffffffffc0002000 (?) mod_data [mod]\n", "")
	checkSym(t, f, "sym -q jiff", "ffffffff82000000 (D) jiffies\nffffffff82000000 (D) jiffies_64\n", "")
	checkSym(t, f, "sym -q zzz", "(none found)\n", "")
	checkSym(t, f, "sym -Q jiff", "2 found (jiffies_64)\n", "")
	checkSym(t, f, "sym -Q zzz", "0 found \n", "")
	// Options run in order, then the operands.
	checkSym(t, f, "sym -Q zzz jiffies -q counter", "0 found \nffffffff82000040 (d) counter\nffffffff82000000 (D) jiffies\n", "")
}

func TestSymNextPrev(t *testing.T) {
	f := symKernelFake()
	checkSym(t, f, "sym -n jiffies", "ffffffff82000000 (D) jiffies\nffffffff82000040 (d) counter\n", "")
	checkSym(t, f, "sym -p jiffies", "ffffffff81000200 (T) _etext \nffffffff82000000 (D) jiffies\n", "")
	// Past the kernel's last symbol, into the modules and back.
	checkSym(t, f, "sym -n _end", "ffffffff82001000 (B) _end\nffffffffc0000100 (t) mod_fn [mod] \n", "")
	checkSym(t, f, "sym -p mod_fn", "ffffffff82001000 (B) _end\nffffffffc0000100 (t) mod_fn [mod] \n", "")
	checkSym(t, f, "sym -n mod_data", "ffffffffc0002000 (?) mod_data [mod]\n", "")
}

func TestSymUsage(t *testing.T) {
	f := symKernelFake()
	out, _, err := f.run(t, "sym")
	if err != "" || !strings.HasPrefix(out, "Usage:\n  sym [-l] | [-M]") {
		t.Errorf("sym alone: %q %q", out, err)
	}
	out, _, err = f.run(t, "sym -x jiffies")
	if err != "sym: invalid option -- 'x'" || !strings.HasPrefix(out, "Usage:") {
		t.Errorf("sym -x: %q %q", out, err)
	}
	if _, _, err := f.run(t, "sym -m"); err != "sym: option requires an argument -- 'm'" {
		t.Errorf("sym -m: %q", err)
	}
}

func TestSymNoModuleList(t *testing.T) {
	f := symKernelFake()
	f.mods = nil
	// Without the module list, each module is framed by its symbols.
	checkSym(t, f, "sym ffffffffc0000104", "ffffffffc0000104 (t) mod_fn+4 [mod] \n", "")
}

func TestCrashSymName(t *testing.T) {
	for in, want := range map[string]string{
		"nmi_handle.part.0":         "nmi_handle",
		"match_id.isra.0":           "match_id",
		"foo.part.0.isra.0":         "foo.part.0",
		"bar.llvm.123":              "bar",
		"param_set_first.cold":      "param_set_first.cold",
		"x.constprop.0":             "x.constprop.0",
		"__func__.constprop.0.isra": "__func__.constprop.0.isra",
	} {
		if got := crashSymName(in); got != want {
			t.Errorf("crashSymName(%q) = %q, want %q", in, got, want)
		}
	}
}

// symFake is a small kernel for rd and sym tests: a few pages of virtual
// and physical memory, some excluded or missing, and a symbol table.
type symFake struct {
	virt     map[uint64][]byte // page address -> 4096 bytes
	excluded map[uint64]bool   // virtual pages mapped to an excluded frame
	phys     map[uint64][]byte // physical pages
	syms     *symtab.Table
	mods     []program.Module
	info     program.SourceInfo
	reads    int // ReadAt and ReadPhysAt calls
	maxRead  int // largest read asked for
}

const symFakePageOffset = 0xffff888000000000

func newSymFake() *symFake {
	return &symFake{
		virt:     map[uint64][]byte{},
		excluded: map[uint64]bool{},
		phys:     map[uint64][]byte{},
		syms:     symtab.New(nil, "test"),
		info:     program.SourceInfo{PageOffset: symFakePageOffset},
	}
}

// page returns the (new, zero) page of virtual memory at addr.
func (f *symFake) page(addr uint64) []byte {
	pa := addr &^ 4095
	if f.virt[pa] == nil {
		f.virt[pa] = make([]byte, 4096)
	}
	return f.virt[pa]
}

// put writes bytes into virtual memory, creating the pages.
func (f *symFake) put(addr uint64, b []byte) {
	for i, c := range b {
		a := addr + uint64(i)
		f.page(a)[a&4095] = c
	}
}

func (f *symFake) put64(addr uint64, vals ...uint64) {
	for i, v := range vals {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], v)
		f.put(addr+uint64(8*i), b[:])
	}
}

func (f *symFake) ReadAt(b []byte, addr uint64) (int, error) {
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

func (f *symFake) ReadPhysAt(b []byte, addr uint64) (int, error) {
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

func (f *symFake) Symbols() *symtab.Table             { return f.syms }
func (f *symFake) Modules() ([]program.Module, error) { return f.mods, nil }
func (f *symFake) Info() *program.SourceInfo          { return &f.info }
func (f *symFake) addSyms(s ...symtab.Sym)            { f.syms = f.syms.With(s) }
func (f *symFake) addModule(m program.Module)         { f.mods = append(f.mods, m) }
func mkSym(name string, addr uint64, typ byte) symtab.Sym {
	return symtab.Sym{Name: name, Addr: addr, Type: typ}
}

// run runs rd or sym on the fake, returning standard output, warnings and
// the error message ("" for none).
func (f *symFake) run(t *testing.T, line string) (out, warn, errmsg string) {
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

// symKernelFake is a fake with kernel text and data symbols and one module.
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
func symKernelFake() *symFake {
	f := newSymFake()
	f.addSyms(
		mkSym("__per_cpu_start", 0, 'D'), mkSym("cpu_number", 0x10, 'D'), mkSym("__per_cpu_end", 0x100, 'D'),
		mkSym("phys_startup_64", 0x1000000, 'A'),
		mkSym("startup_64", 0xffffffff81000000, 'T'), mkSym("_stext", 0xffffffff81000000, 'T'), mkSym("_text", 0xffffffff81000000, 'T'),
		mkSym("helper.part.0", 0xffffffff81000100, 't'),
		mkSym("_etext", 0xffffffff81000200, 'T'),
		mkSym("jiffies_64", 0xffffffff82000000, 'D'), mkSym("jiffies", 0xffffffff82000000, 'D'),
		mkSym("counter", 0xffffffff82000040, 'd'),
		mkSym("_end", 0xffffffff82001000, 'B'),
	)
	f.addModule(program.Module{Name: "mod", Base: 0xffffffffc0000000, Size: 0x3000})
	f.addSyms(
		symtab.Sym{Name: "mod_fn", Addr: 0xffffffffc0000100, Type: 't', Module: "mod"},
		symtab.Sym{Name: "mod_init", Addr: 0xffffffffc0000180, Type: 'T', Module: "mod"},
		symtab.Sym{Name: "mod_data", Addr: 0xffffffffc0002000, Type: 'd', Module: "mod"},
	)
	return f
}
