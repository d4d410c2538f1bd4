package types

import (
	"errors"
	"testing"

	"kdive/internal/btfx"
	"kdive/internal/testcorpus"
	"kdive/internal/vmlinux"
)

func TestBuiltinsAndParse(t *testing.T) {
	r := NewRegistry()
	for in, want := range map[string]string{
		"unsigned long":     "unsigned long",
		"long unsigned int": "unsigned long",
		"char *":            "char *",
		"char [16]":         "char [16]",
		"const char *":      "const char *",
		"int **":            "int **",
		"char *[4]":         "char *[4]",
	} {
		ty, err := r.ParseTypeName(in)
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if got := ty.String(); got != want {
			t.Errorf("%q: got %q want %q", in, got, want)
		}
	}
	if _, err := r.LookupType("struct nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("struct nope: %v", err)
	}
	fn := &Type{Kind: Func, Elem: builtins["void"], Params: []Param{{Type: PointerTo(&Type{Kind: Struct, Name: "callback_head"})}}}
	if got := Decl(PointerTo(fn), "func"); got != "void (*func)(struct callback_head *)" {
		t.Errorf("func ptr: %q", got)
	}
	if got := Decl(ArrayOf(builtins["char"], 16), "comm"); got != "char comm[16]" {
		t.Errorf("array: %q", got)
	}
}

func vmlinuxBTF(t *testing.T) *BTF {
	t.Helper()
	path := testcorpus.Vmlinux(t)
	f, err := vmlinux.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := f.BTF()
	if err != nil || raw == nil {
		t.Skipf("no BTF in %s: %v", path, err)
	}
	bt, err := btfx.Load(raw, "vmlinux")
	if err != nil {
		t.Fatal(err)
	}
	return NewBTF(bt.Spec, bt.Source)
}

func TestBTFVmlinux(t *testing.T) {
	b := vmlinuxBTF(t)
	r := NewRegistry(b)
	ts, err := r.LookupType("struct task_struct")
	if err != nil {
		t.Fatal(err)
	}
	if ts.Size != 9728 || ts.Kind != Struct {
		t.Errorf("task_struct: kind %v size %d", ts.Kind, ts.Size)
	}
	off, mt, err := ts.MemberPath("comm")
	if err != nil || mt.String() != "char [16]" {
		t.Fatalf("comm: %v %v", mt, err)
	}
	_ = off
	f, ok := ts.FindMember("tasks")
	if !ok || f.Type.String() != "struct list_head" {
		t.Errorf("tasks: %+v", f)
	}
	lh, _ := r.LookupType("list_head")
	if lh.Members[0].Type.Elem != lh {
		t.Errorf("list_head.next does not point back to list_head")
	}
	ul, err := r.LookupType("unsigned long")
	if err != nil || ul.Name != "long unsigned int" || ul.Size != 8 {
		t.Errorf("unsigned long: %+v %v", ul, err)
	}
	ch, _ := r.LookupType("struct callback_head")
	if got := Decl(ch.Members[1].Type, ch.Members[1].Name); got != "void (*func)(struct callback_head *)" {
		t.Errorf("callback_head.func: %q", got)
	}
	st, err := r.LookupVar("schedule")
	if err != nil || st.String() != "void (void)" {
		t.Errorf("schedule: %v %v", st, err)
	}
	et, v, err := r.LookupEnumerator("PIDTYPE_TGID")
	if err != nil || v != 1 || et.Name != "pid_type" {
		t.Errorf("PIDTYPE_TGID: %v %d %v", et, v, err)
	}
	// Zero-length arrays: a last member may be flexible ("[]"); an empty
	// array before the last member is "[0]".
	skb, err := r.LookupType("struct sk_buff")
	if err != nil {
		t.Fatal(err)
	}
	if f, ok := skb.FindMember("__cloned_offset"); !ok || Decl(f.Type, "x") != "__u8 x[0]" {
		t.Errorf("sk_buff.__cloned_offset: %v", Decl(f.Type, "x"))
	}
	pid, _ := r.LookupType("struct pid")
	if f, ok := pid.FindMember("numbers"); !ok || Decl(f.Type, "numbers") != "struct upid numbers[]" {
		t.Errorf("pid.numbers: %v", Decl(f.Type, "numbers"))
	}
	// A bitfield.
	sk, err := r.LookupType("struct sock")
	if err == nil {
		found := false
		for _, m := range sk.Members {
			if m.IsBitfield() {
				found = true
				if m.Offset != m.BitOffset/8 {
					t.Errorf("bitfield %s: offset %d bit %d", m.Name, m.Offset, m.BitOffset)
				}
			}
		}
		_ = found
	}
}

func TestQualifiedDecls(t *testing.T) {
	ch := builtins["char"]
	cch := &Type{Kind: Const, Elem: ch, Size: 1}
	arr := ArrayOf(cch, 204)
	if got := Decl(&Type{Kind: Const, Elem: arr, Size: 204}, "linux_banner"); got != "const char linux_banner[204]" {
		t.Errorf("const array: %q", got)
	}
	cp := &Type{Kind: Const, Elem: PointerTo(ch), Size: 8}
	if got := Decl(cp, "p"); got != "char * const p" {
		t.Errorf("const pointer: %q", got)
	}
	if got := Decl(PointerTo(cch), "s"); got != "const char *s" {
		t.Errorf("pointer to const: %q", got)
	}
}

func TestRegistryOrderAndErrors(t *testing.T) {
	mine := &Type{Kind: Struct, Name: "x", Size: 4}
	other := &Type{Kind: Struct, Name: "x", Size: 8}
	r := NewRegistry(srcMap{"struct x": mine}, srcMap{"struct x": other, "u64": &Type{Kind: Typedef, Name: "u64", Size: 8, Elem: Builtin("unsigned long long")}})
	if got, _ := r.LookupType("struct x"); got != mine {
		t.Errorf("first source does not win")
	}
	if got, err := r.ParseTypeName("u64 *"); err != nil || got.String() != "u64 *" || got.Size != 8 {
		t.Errorf("u64 *: %v %v", got, err)
	}
	if got, err := r.ParseTypeName("const volatile unsigned int"); err != nil || got.String() != "volatile const unsigned int" && got.String() != "const volatile unsigned int" {
		t.Errorf("qualifiers: %v %v", got, err)
	}
	for _, bad := range []string{"", "*", "struct", "int [x]", "struct y"} {
		if _, err := r.ParseTypeName(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	if n, err := r.Sizeof("struct x [3]"); err != nil || n != 12 {
		t.Errorf("sizeof struct x [3]: %d %v", n, err)
	}
}

type srcMap map[string]*Type

func (m srcMap) LookupType(n string) (*Type, error) {
	if t, ok := m[n]; ok {
		return t, nil
	}
	return nil, ErrNotFound
}
func (m srcMap) LookupVar(string) (*Type, error)               { return nil, ErrNotFound }
func (m srcMap) LookupEnumerator(string) (*Type, int64, error) { return nil, 0, ErrNotFound }
func (m srcMap) Describe() string                              { return "map" }
