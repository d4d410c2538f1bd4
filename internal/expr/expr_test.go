package expr

import (
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

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
