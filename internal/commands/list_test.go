package commands

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"kdive/internal/types"
)

// typeFake is a typeTarget over symFake's memory and symbols with a
// small type registry: struct list_head and struct item { int id;
// struct list_head node; char name[8]; }.
type typeFake struct {
	*symFake
	reg *types.Registry
}

func (f *typeFake) Types() *types.Registry               { return f.reg }
func (f *typeFake) PerCPUOffset(cpu int) (uint64, error) { return 0, nil }

type mapSource map[string]*types.Type

func (m mapSource) LookupType(n string) (*types.Type, error) {
	if t, ok := m[n]; ok {
		return t, nil
	}
	return nil, types.ErrNotFound
}
func (m mapSource) LookupVar(n string) (*types.Type, error) { return nil, types.ErrNotFound }
func (m mapSource) LookupEnumerator(n string) (*types.Type, int64, error) {
	return nil, 0, types.ErrNotFound
}
func (m mapSource) Describe() string { return "test types" }

func newTypeFake() *typeFake {
	lh := &types.Type{Kind: types.Struct, Name: "list_head", Size: 16}
	lh.Members = []types.Member{
		{Name: "next", Type: types.PointerTo(lh)},
		{Name: "prev", Type: types.PointerTo(lh), Offset: 8, BitOffset: 64},
	}
	item := &types.Type{Kind: types.Struct, Name: "item", Size: 32}
	item.Members = []types.Member{
		{Name: "id", Type: types.Builtin("int")},
		{Name: "node", Type: lh, Offset: 8, BitOffset: 64},
		{Name: "name", Type: types.ArrayOf(types.Builtin("char"), 8), Offset: 24, BitOffset: 192},
	}
	src := mapSource{"list_head": lh, "struct list_head": lh, "item": item, "struct item": item}
	return &typeFake{symFake: symKernelFake(), reg: types.NewRegistry(src)}
}

const (
	lfBase = 0xffff888000020000
	lfA    = lfBase + 0x100
	lfB    = lfBase + 0x200
	lfC    = lfBase + 0x300
	lfHead = lfBase + 0x400
)

// item writes an item at addr: id, node.next = next (a node address),
// node.prev = prev, name.
func (f *typeFake) item(addr uint64, id uint64, next, prev uint64, name string) {
	f.put64(addr, id, next, prev)
	f.put(addr+24, append([]byte(name), 0))
}

func (f *typeFake) run(t *testing.T, cmd func(*Env, typeTarget, []string) error, line string) (string, string) {
	t.Helper()
	var o, e bytes.Buffer
	env := &Env{Out: &o, Err: &e}
	err := cmd(env, f, strings.Fields(line))
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	return o.String() + e.String(), msg
}

func TestListWalks(t *testing.T) {
	f := newTypeFake()
	// head <-> A <-> B <-> C <-> head, through the items' nodes (+8).
	f.put64(lfHead, lfA+8, lfC+8)
	f.item(lfA, 1, lfB+8, lfHead, "a")
	f.item(lfB, 2, lfC+8, lfA+8, "b")
	f.item(lfC, 3, lfHead, lfB+8, "c")
	check := func(line, want, wantErr string) {
		t.Helper()
		out, err := f.run(t, listCommand, line)
		if out != want || err != wantErr {
			t.Errorf("%s:\n got %q err %q\nwant %q err %q", line, out, err, want, wantErr)
		}
	}
	hex := func(v ...uint64) string {
		var sb strings.Builder
		for _, x := range v {
			fmt.Fprintf(&sb, "%x\n", x)
		}
		return sb.String()
	}
	check("-H ffff888000020400 -o item.node", hex(lfA, lfB, lfC), "")
	check("-H ffff888000020400 -o 8", hex(lfA, lfB, lfC), "")
	check("-r -H ffff888000020400 -o item.node", hex(lfC, lfB, lfA), "")
	check("item.node -h ffff888000020100", hex(lfA, lfB, lfC, lfHead-8), "")
	check("-H ffff888000020400 -o item.node -s item.id,name", "ffff888000020100\n  id = 1,\n  name = \"a\\000\\000\\000\\000\\000\\000\"\n"+
		"ffff888000020200\n  id = 2,\n  name = \"b\\000\\000\\000\\000\\000\\000\"\n"+
		"ffff888000020300\n  id = 3,\n  name = \"c\\000\\000\\000\\000\\000\\000\"\n", "")
	check("-H ffff888000020400 -o 8 -e ffff888000020308", hex(lfA, lfB), "")
	// Empty list.
	f.put64(lfBase+0x500, lfBase+0x500, lfBase+0x500)
	check("-H ffff888000020500", "(empty)\n", "")
	// A NULL-terminated chain of list_heads at offset 0.
	f.put64(lfBase+0x600, lfBase+0x610, 0, lfBase+0x620, 0, 0, 0)
	check("ffff888000020600", hex(lfBase+0x600, lfBase+0x610, lfBase+0x620), "")
	// A loop back to neither the start nor the first entry: 0x700 ->
	// 0x710 -> 0x720 -> 0x730 -> 0x720.
	f.put64(lfBase+0x700, lfBase+0x710, 0, lfBase+0x720, 0, lfBase+0x730, 0, lfBase+0x720, 0)
	check("ffff888000020700", hex(lfBase+0x700, lfBase+0x710, lfBase+0x720, lfBase+0x730, lfBase+0x720), "\nduplicate list entry: ffff888000020720")
	// Back to the first entry ends the walk, as in crash.
	f.put64(lfBase+0xa00, lfBase+0xa10, 0, lfBase+0xa20, 0, lfBase+0xa10, 0)
	check("ffff888000020a00", hex(lfBase+0xa00, lfBase+0xa10, lfBase+0xa20), "")
	out, err := f.run(t, listCommand, "-B ffff888000020700")
	if !strings.Contains(out, "loop detected, loop length: 2") || err != "\nduplicate list entry: ffff888000020720" {
		t.Errorf("-B: %q %q", out, err)
	}
	// A deleted entry on the list: its next is LIST_POISON1.
	f.put64(lfBase+0x800, lfBase+0x810, 0, listPoison1, listPoison2)
	out, err = f.run(t, listCommand, "ffff888000020800")
	if out != "ffff888000020800\nffff888000020810\ndead000000000100\n" ||
		err != `invalid kernel virtual address: dead000000000100  type: "list entry" (LIST_POISON1: the entry at ffff888000020810 was deleted by list_del while on the list)` {
		t.Errorf("poison: %q %q", out, err)
	}
	// A head whose next is NULL: the walk starts at 0, as in crash.
	f.put64(lfBase+0x900, 0, 0)
	_, err = f.run(t, listCommand, "-H ffff888000020900")
	if err != `invalid kernel virtual address: 0  type: "first list entry"` {
		t.Errorf("NULL head: %q", err)
	}
	// Unmapped: crash's readmem error names the address.
	_, err = f.run(t, listCommand, "ffff888000120000")
	if err != `invalid kernel virtual address: ffff888000120000  type: "first list entry"` {
		t.Errorf("unmapped: %q", err)
	}
}

func TestStructAndPOnFakes(t *testing.T) {
	f := newTypeFake()
	f.put64(lfHead, lfA+8, lfC+8)
	f.item(lfA, 7, lfB+8, lfHead, "alpha")
	check := func(cmd func(*Env, typeTarget, []string) error, line, want string) {
		t.Helper()
		out, err := f.run(t, cmd, line)
		if err != "" {
			out += "error: " + err
		}
		if out != want {
			t.Errorf("%s:\n got %q\nwant %q", line, out, want)
		}
	}
	check(func(e *Env, p typeTarget, a []string) error { return structCommand(e, p, "struct", a) },
		"item ffff888000020100", "struct item {\n  id = 7,\n  node = {\n    next = 0xffff888000020208,\n    prev = 0xffff888000020400\n  },\n  name = \"alpha\\000\\000\"\n}\n")
	check(func(e *Env, p typeTarget, a []string) error { return structCommand(e, p, "struct", a) },
		"-o item", "struct item {\n   [0] int id;\n   [8] struct list_head node;\n  [24] char name[8];\n}\nSIZE: 32\n")
	check(func(e *Env, p typeTarget, a []string) error { return structCommand(e, p, "struct", a) },
		"item.node.next,id ffff888000020100", "  node.next = 0xffff888000020208,\n  id = 7,\n")
	check(func(e *Env, p typeTarget, a []string) error { return structCommand(e, p, "struct", a) },
		"-x item.id -l item.node ffff888000020108", "  id = 0x7,\n")
	check(func(e *Env, p typeTarget, a []string) error { return pCommand(e, p, "p", a, 0) },
		"((struct item *)0xffff888000020100)->name", "$1 = \"alpha\\000\\000\"\n")
	check(func(e *Env, p typeTarget, a []string) error { return pCommand(e, p, "p", a, 0) },
		"&((struct item *)0xffff888000020100)->node", "$2 = (struct list_head *) 0xffff888000020108\n")
	check(func(e *Env, p typeTarget, a []string) error { return pCommand(e, p, "px", a, 16) },
		"sizeof(struct item) * 2", "$3 = 0x40\n")
	check(whatisCommand, "struct item", "struct item {\n    int id;\n    struct list_head node;\n    char name[8];\n}\nSIZE: 32\n")
	check(ptypeCommand, "((struct item *)0)->node.next", "type = struct list_head {\n    struct list_head *next;\n    struct list_head *prev;\n} *\n")
	check(evalCommand, "-b 0x30", "hexadecimal: 30  \n    decimal: 48  \n      octal: 60\n     binary: 0000000000000000000000000000000000000000000000000000000000110000\n   bits set: 5 4 \n")
}
