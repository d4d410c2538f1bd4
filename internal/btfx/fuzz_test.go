package btfx

import (
	"testing"

	"github.com/cilium/ebpf/btf"

	"kdive/internal/types"
)

// synthBTF is a small BTF blob: a self-referencing struct with a
// bitfield, an array, an enum, a typedef, a union, a const pointer, a
// function prototype, a forward declaration and a per-CPU variable.
func synthBTF(tb testing.TB) []byte {
	i32 := &btf.Int{Name: "int", Size: 4, Encoding: btf.Signed}
	u8 := &btf.Int{Name: "unsigned char", Size: 1, Encoding: btf.Char}
	node := &btf.Struct{Name: "node", Size: 32}
	arr := &btf.Array{Index: i32, Type: u8, Nelems: 8}
	en := &btf.Enum{Name: "color", Size: 4, Values: []btf.EnumValue{{Name: "RED", Value: 0}, {Name: "BLUE", Value: 7}}}
	un := &btf.Union{Name: "u", Size: 8, Members: []btf.Member{{Name: "i", Type: i32}, {Name: "p", Type: &btf.Pointer{Target: node}}}}
	node.Members = []btf.Member{
		{Name: "next", Type: &btf.Pointer{Target: &btf.Const{Type: node}}, Offset: 0},
		{Name: "flag", Type: i32, Offset: 64, BitfieldSize: 3},
		{Name: "name", Type: arr, Offset: 96},
		{Name: "c", Type: en, Offset: 160},
		{Name: "x", Type: un, Offset: 192},
	}
	fwd := &btf.Fwd{Name: "later", Kind: btf.FwdStruct}
	td := &btf.Typedef{Name: "node_t", Type: node}
	proto := &btf.FuncProto{Return: i32, Params: []btf.FuncParam{{Name: "n", Type: &btf.Pointer{Target: td}}, {Name: "l", Type: &btf.Pointer{Target: fwd}}}}
	fn := &btf.Func{Name: "walk", Type: proto, Linkage: btf.GlobalFunc}
	v := &btf.Var{Name: "counter", Type: i32, Linkage: btf.GlobalVar}
	ds := &btf.Datasec{Name: ".data..percpu", Size: 4, Vars: []btf.VarSecinfo{{Type: v, Offset: 0, Size: 4}}}
	b, err := btf.NewBuilder([]btf.Type{node, td, fn, ds, en, un}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	raw, err := b.Marshal(nil, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return raw
}

func TestSynthBTF(t *testing.T) {
	ty, err := Load(synthBTF(t), "synthetic")
	if err != nil {
		t.Fatal(err)
	}
	b := types.NewBTF(ty.Spec, "synthetic")
	n, err := b.LookupType("node_t")
	if err != nil || n.Size != 32 || len(n.Strip().Members) != 5 {
		t.Fatalf("node_t: %v %v", n, err)
	}
	if got := len(b.Named()); got < 4 {
		t.Errorf("%d named types", got)
	}
}

// FuzzLoad parses fuzzed BTF and converts every type it names into the
// type model: malformed BTF (bad offsets, reference cycles, huge counts,
// unknown kinds) is an error, never a panic or a loop.
func FuzzLoad(f *testing.F) {
	raw := synthBTF(f)
	f.Add(raw)
	f.Add(raw[:len(raw)/2])
	f.Fuzz(func(t *testing.T, raw []byte) {
		ty, err := Load(raw, "fuzz")
		if err != nil {
			return
		}
		_, _ = ty.Lookup("node")
		b := types.NewBTF(ty.Spec, "fuzz")
		for _, x := range b.Named() {
			_ = x.String()
			_ = x.Strip()
		}
		for _, n := range []string{"node_t", "struct node", "union u", "enum color", "int"} {
			if x, err := b.LookupType(n); err == nil {
				_ = x.String()
				_, _ = x.FindMember("next")
			}
		}
		_, _ = b.LookupVar("counter")
		_, _ = b.LookupVar("walk")
		_, _, _ = b.LookupEnumerator("BLUE")
	})
}
