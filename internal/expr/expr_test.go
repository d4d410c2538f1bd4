package expr

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"

	"kdive/internal/dump"
	"kdive/internal/mem"
	"kdive/internal/types"
)

type fakeEnv struct {
	mem  map[uint64]byte
	syms map[string]uint64
	reg  *types.Registry
}

func (f *fakeEnv) ReadAt(b []byte, addr uint64) (int, error) {
	for i := range b {
		c, ok := f.mem[addr+uint64(i)]
		if !ok {
			return i, fmt.Errorf("unmapped %#x", addr+uint64(i))
		}
		b[i] = c
	}
	return len(b), nil
}

func (f *fakeEnv) Symbol(name string) (uint64, bool, bool) {
	a, ok := f.syms[name]
	return a, false, ok
}

func (f *fakeEnv) Types() *types.Registry { return f.reg }

func (f *fakeEnv) put(addr uint64, b []byte) {
	for i, c := range b {
		f.mem[addr+uint64(i)] = c
	}
}

type fakeSrc struct{ m map[string]*types.Type }

func (s fakeSrc) LookupType(n string) (*types.Type, error) {
	if t, ok := s.m[n]; ok {
		return t, nil
	}
	return nil, types.ErrNotFound
}
func (s fakeSrc) LookupVar(n string) (*types.Type, error) {
	if t, ok := s.m["var "+n]; ok {
		return t, nil
	}
	return nil, types.ErrNotFound
}
func (s fakeSrc) LookupEnumerator(string) (*types.Type, int64, error) {
	return nil, 0, types.ErrNotFound
}
func (s fakeSrc) Describe() string { return "fake" }

func newFake() *fakeEnv {
	ul := types.Builtin("unsigned long")
	ch := types.Builtin("char")
	in := types.Builtin("int")
	lh := &types.Type{Kind: types.Struct, Name: "list_head", Size: 16}
	lh.Members = []types.Member{
		{Name: "next", Type: types.PointerTo(lh), Offset: 0, BitOffset: 0},
		{Name: "prev", Type: types.PointerTo(lh), Offset: 8, BitOffset: 64},
	}
	task := &types.Type{Kind: types.Struct, Name: "task", Size: 48}
	task.Members = []types.Member{
		{Name: "pid", Type: in, Offset: 0},
		{Name: "flags", Type: ul, Offset: 8, BitOffset: 64},
		{Name: "tasks", Type: lh, Offset: 16, BitOffset: 128},
		{Name: "comm", Type: types.ArrayOf(ch, 16), Offset: 32, BitOffset: 256},
	}
	src := fakeSrc{m: map[string]*types.Type{"struct task": task, "task": task, "struct list_head": lh, "list_head": lh, "var init": task}}
	f := &fakeEnv{mem: map[uint64]byte{}, syms: map[string]uint64{"init": 0x1000, "jiffies": 0x2000}, reg: types.NewRegistry(src)}
	b := make([]byte, 48)
	binary.LittleEndian.PutUint32(b, 7)
	binary.LittleEndian.PutUint64(b[8:], 0x40)
	binary.LittleEndian.PutUint64(b[16:], 0x1010)
	binary.LittleEndian.PutUint64(b[24:], 0x1010)
	copy(b[32:], "swapper/0")
	f.put(0x1000, b)
	f.put(0x2000, []byte{1, 2, 0, 0, 0, 0, 0, 0})
	return f
}

func TestEval(t *testing.T) {
	f := newFake()
	for _, c := range []struct{ in, want string }{
		{"1 + 2 * 3", "7"},
		{"-1", "-1"},
		{"(1L << 40) >> 38", "4"},
		{"0xffffffffffffffff", "18446744073709551615"},
		{"sizeof(struct task)", "48"},
		{"sizeof(init)", "48"},
		{"init.pid", "7"},
		{"init.comm", `"swapper/0\000\000\000\000\000\000"`},
		{"init.comm[1]", "119 'w'"},
		{"&init", "(struct task *) 0x1000"},
		{"&init.tasks", "(struct list_head *) 0x1010"},
		{"init.tasks.next->next", "(struct list_head *) 0x1010"},
		{"((struct task *)0x1000)->flags", "64"},
		{"((struct task *)0x1000) + 1", "(struct task *) 0x1030"},
		{"(char)65", "65 'A'"},
		{"jiffies", "513"},
		{"*(int *)0x1000 == 7", "1"},
		{"&((struct task *)0)->comm", "(char (*)[16]) 0x20"},
		{"(unsigned int)-1", "4294967295"},
		{"10 % 3 | 8", "9"},
		{"init.comm[0]@3", `"swa"`},
		{"*(int *)0x1000@2", "{7, 0}"},
	} {
		v, err := Eval(f, c.in)
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		got, err := FormatTop(v, PrintOpts{})
		if err != nil || got != c.want {
			t.Errorf("%s: got %q (%v), want %q", c.in, got, err, c.want)
		}
	}
	v, err := Eval(f, "init")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := FormatTop(v, PrintOpts{})
	want := "{\n  pid = 7,\n  flags = 64,\n  tasks = {\n    next = 0x1010,\n    prev = 0x1010\n  },\n  comm = \"swapper/0\\000\\000\\000\\000\\000\\000\"\n}"
	if got != want {
		t.Errorf("init:\n%s\nwant\n%s", got, want)
	}
	v, _ = Eval(f, "*(int *)0x5000")
	_, err = FormatTop(v, PrintOpts{})
	var fe *FaultError
	if !errors.As(err, &fe) || fe.Addr != 0x5000 || err.Error() != "Cannot access memory at address 0x5000" {
		t.Errorf("fault: %v", err)
	}
	for _, bad := range []string{"1 +", "nosuch", "(struct nope *)0", "init.nope"} {
		if _, err := Eval(f, bad); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func TestFormatScalars(t *testing.T) {
	f := newFake()
	u32 := types.Builtin("unsigned int")
	flags := &types.Type{Kind: types.Enum, Name: "fl", Size: 4, Enumerators: []types.Enumerator{{Name: "FA", Value: 1}, {Name: "FB", Value: 2}, {Name: "FC", Value: 4}}}
	seq := &types.Type{Kind: types.Enum, Name: "st", Size: 4, Enumerators: []types.Enumerator{{Name: "S0", Value: 0}, {Name: "S1", Value: 1}, {Name: "S5", Value: 5}}}
	bf := &types.Type{Kind: types.Struct, Name: "bits", Size: 4, Members: []types.Member{
		{Name: "a", Type: u32, BitOffset: 0, BitSize: 3},
		{Name: "b", Type: types.Builtin("int"), BitOffset: 3, BitSize: 4},
		{Name: "c", Type: u32, Offset: 1, BitOffset: 9, BitSize: 1},
		{Name: "e", Type: flags, Offset: 2, BitOffset: 16, BitSize: 8},
	}}
	// a = 5, b = -2 (0b1110), c = 1, e = FA|FC|8.
	f.put(0x3000, []byte{5 | 0xe<<3, 0x2, 1 | 4 | 8, 0})
	v := At(f, bf, 0x3000)
	got, err := FormatTop(v, PrintOpts{})
	want := "{\n  a = 5,\n  b = -2,\n  c = 1,\n  e = (FA | FC | unknown: 0x8)\n}"
	if err != nil || got != want {
		t.Errorf("bitfields: got %q (%v) want %q", got, err, want)
	}
	got, _ = FormatTop(At(f, bf, 0x3000), PrintOpts{Fmt: 'x'})
	if want := "{\n  a = 0x5,\n  b = 0xe,\n  c = 0x1,\n  e = 0xd\n}"; got != want {
		t.Errorf("bitfields /x: got %q want %q", got, want)
	}
	for _, c := range []struct {
		v    *Value
		o    PrintOpts
		want string
	}{
		{NewUint(f, seq, 5), PrintOpts{}, "S5"},
		{NewUint(f, seq, 3), PrintOpts{}, "3"},
		{NewUint(f, flags, 6), PrintOpts{}, "(FB | FC)"},
		{NewUint(f, types.Builtin("int"), uint64(0xffffffff)), PrintOpts{Radix: 16}, "0xffffffff"},
		{NewUint(f, types.Builtin("char"), 10), PrintOpts{}, `10 '\n'`},
		{NewUint(f, types.Builtin("char"), 0x80), PrintOpts{}, `-128 '\200'`},
		{NewUint(f, types.Builtin("char"), 's'), PrintOpts{Radix: 16}, `0x73 's'`},
		{NewUint(f, types.Builtin("_Bool"), 1), PrintOpts{}, "true"},
		{NewUint(f, types.Builtin("long"), uint64(1<<63)), PrintOpts{Fmt: 'u'}, "9223372036854775808"},
		{NewUint(f, types.PointerTo(types.Builtin("void")), 0), PrintOpts{}, "(void *) 0x0"},
		{NewUint(f, types.Builtin("int"), 8), PrintOpts{Fmt: 'o'}, "010"},
		{NewUint(f, types.Builtin("int"), 5), PrintOpts{Fmt: 't'}, "101"},
		{NewUint(f, types.Builtin("int"), 123), PrintOpts{Fmt: 'z'}, "0x0000007b"},
		{NewUint(f, types.Builtin("int"), 65), PrintOpts{Fmt: 'c'}, "65 'A'"},
		{NewUint(f, types.Builtin("unsigned long"), 0x1000), PrintOpts{Fmt: 'a', Symbolize: func(a uint64) (string, bool) { return "init", a == 0x1000 }}, "0x1000 <init>"},
	} {
		got, err := FormatTop(c.v, c.o)
		if err != nil || got != c.want {
			t.Errorf("%v: got %q (%v) want %q", c.v.Type, got, err, c.want)
		}
	}
	if got := charArray([]byte("ab\x00\x00"), 256); got != `"ab\000"` {
		t.Errorf("charArray: %s", got)
	}
	long := append([]byte("x"), make([]byte, 4096)...)
	if got := charArray(long, 256); got != `"x`+strings.Repeat(`\000`, 4095)+`"` {
		t.Errorf("charArray of runs: %d bytes", len(got))
	}
	var alt []byte
	for i := 0; i < 300; i++ {
		alt = append(alt, byte('a'+i%2))
	}
	if got := charArray(alt, 256); got != `"`+string(alt[:256])+`"...` {
		t.Errorf("charArray limit: %s", got)
	}
}

func TestCrashEval(t *testing.T) {
	syms := func(n string) (uint64, bool) { return 0x1000, n == "jiffies" }
	for s, want := range map[string]uint64{
		"(jiffies+8)": 0x1008, "(1<<12)": 0x1000, "(4k)": 4096, "(2#10)": 1024, "ff": 0xff, "10": 10, "(-8)": ^uint64(7),
	} {
		if got, err := CrashEval(s, syms); err != nil || got != want {
			t.Errorf("%s: %#x %v", s, got, err)
		}
	}
	if _, err := CrashEval("((1+2))", syms); !errors.Is(err, ErrInvalidExpr) {
		t.Errorf("nested parentheses: %v", err)
	}
}

func TestHistoryAndErrors(t *testing.T) {
	f := newFake()
	if _, err := Eval(f, "$1"); err == nil || err.Error() != "History has not yet reached $1." {
		t.Errorf("$1: %v", err)
	}
	for in, want := range map[string]string{
		"1 +":              "A syntax error in expression, near `'.",
		"init.nope":        "There is no member named nope.",
		"(struct nope *)0": "No struct type named nope.",
		"nosuch":           `No symbol "nosuch" in current context.`,
		"1 / 0":            "Division by zero",
		"*1 = 2":           "A syntax error in expression, near `= 2'.",
	} {
		_, err := Eval(f, in)
		if err == nil || err.Error() != want {
			t.Errorf("%s: %v, want %s", in, err, want)
		}
	}
}

type excludedEnv struct{ *fakeEnv }

func (e excludedEnv) ReadAt(b []byte, addr uint64) (int, error) {
	if addr >= 0x9000 {
		return 0, &mem.FaultError{Addr: addr, Err: &dump.ExcludedError{Addr: addr}}
	}
	return e.fakeEnv.ReadAt(b, addr)
}

func TestFaultNamesExcludedPage(t *testing.T) {
	env := excludedEnv{newFake()}
	v, err := Eval(env, "*(long *)0x9008")
	if err != nil {
		t.Fatal(err)
	}
	_, err = FormatTop(v, PrintOpts{})
	var fe *FaultError
	if !errors.As(err, &fe) || fe.Addr != 0x9008 || err.Error() != "Cannot access memory at address 0x9008 (page excluded from the dump)" {
		t.Errorf("excluded: %v", err)
	}
}
