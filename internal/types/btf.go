package types

import (
	"fmt"
	"strings"
	"sync"

	"github.com/cilium/ebpf/btf"
)

// BTF is a Source backed by a parsed BTF blob (cilium/ebpf/btf): the
// vmlinux's .BTF section or the BTF a kernel keeps in its memory.
// Conversions are cached, so the same BTF type always yields the same
// *Type. It is safe for concurrent use.
type BTF struct {
	spec *btf.Spec
	desc string

	mu      sync.Mutex
	conv    map[btf.Type]*Type
	byName  map[string]*Type // LookupType cache
	enumIdx map[string]enumRef
}

type enumRef struct {
	enum *btf.Enum
	val  uint64
}

// NewBTF wraps a parsed spec; desc says where it came from.
func NewBTF(spec *btf.Spec, desc string) *BTF {
	return &BTF{spec: spec, desc: desc, conv: map[btf.Type]*Type{}, byName: map[string]*Type{}}
}

// Describe implements Source.
func (b *BTF) Describe() string { return b.desc }

// LookupType implements Source.
func (b *BTF) LookupType(name string) (*Type, error) {
	name = strings.Join(strings.Fields(name), " ")
	b.mu.Lock()
	defer b.mu.Unlock()
	if t, ok := b.byName[name]; ok {
		return t, nil
	}
	kind, bare := "", name
	for _, k := range []string{"struct ", "union ", "enum "} {
		if strings.HasPrefix(name, k) {
			kind, bare = strings.TrimSpace(k), strings.TrimSpace(name[len(k):])
		}
	}
	cands, err := b.spec.AnyTypesByName(bare)
	if err != nil || len(cands) == 0 {
		return nil, fmt.Errorf("type %q: %w", name, ErrNotFound)
	}
	var best btf.Type
	rank := func(ty btf.Type) int {
		switch x := ty.(type) {
		case *btf.Struct:
			if kind == "" || kind == "struct" {
				return 3
			}
		case *btf.Union:
			if kind == "" || kind == "union" {
				return 3
			}
		case *btf.Enum:
			if kind == "" || kind == "enum" {
				return 3
			}
		case *btf.Fwd:
			if kind == "" || (kind == "union") == (x.Kind == btf.FwdUnion) && kind != "enum" {
				return 1
			}
		case *btf.Typedef, *btf.Int, *btf.Float:
			if kind == "" {
				return 2
			}
		}
		return 0
	}
	for _, ty := range cands {
		if r := rank(ty); r > 0 && (best == nil || r > rank(best)) {
			best = ty
		}
	}
	if best == nil {
		return nil, fmt.Errorf("type %q: %w", name, ErrNotFound)
	}
	t := b.convert(best)
	b.byName[name] = t
	return t, nil
}

// LookupVar implements Source: BTF knows the types of functions (FUNC)
// and of the variables it has VAR records for (per-CPU variables in a
// vmlinux; module globals in module BTF).
func (b *BTF) LookupVar(name string) (*Type, error) {
	cands, err := b.spec.AnyTypesByName(name)
	if err != nil || len(cands) == 0 {
		return nil, fmt.Errorf("variable %q: %w", name, ErrNotFound)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, ty := range cands {
		if v, ok := ty.(*btf.Var); ok {
			return b.convert(v.Type), nil
		}
	}
	for _, ty := range cands {
		if f, ok := ty.(*btf.Func); ok {
			return b.convert(f.Type), nil
		}
	}
	return nil, fmt.Errorf("variable %q: %w", name, ErrNotFound)
}

// LookupEnumerator implements Source.
func (b *BTF) LookupEnumerator(name string) (*Type, int64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.enumIdx == nil {
		b.enumIdx = map[string]enumRef{}
		for ty, err := range b.spec.All() {
			if err != nil {
				break
			}
			if e, ok := ty.(*btf.Enum); ok {
				for _, v := range e.Values {
					if _, dup := b.enumIdx[v.Name]; !dup {
						b.enumIdx[v.Name] = enumRef{e, v.Value}
					}
				}
			}
		}
	}
	r, ok := b.enumIdx[name]
	if !ok {
		return nil, 0, fmt.Errorf("enumerator %q: %w", name, ErrNotFound)
	}
	t := b.convert(r.enum)
	return t, enumValue(r.enum, r.val), nil
}

func enumValue(e *btf.Enum, v uint64) int64 {
	if e.Signed {
		switch e.Size {
		case 1:
			return int64(int8(v))
		case 2:
			return int64(int16(v))
		case 4:
			return int64(int32(v))
		}
	}
	return int64(v)
}

// convert turns a BTF type into a *Type; b.mu is held. The result is
// registered before its parts are converted, so cycles terminate.
func (b *BTF) convert(ty btf.Type) *Type {
	if ty == nil {
		return voidType
	}
	if t, ok := b.conv[ty]; ok {
		return t
	}
	t := &Type{}
	b.conv[ty] = t
	switch x := ty.(type) {
	case *btf.Void:
		*t = Type{Kind: Void, Name: "void"}
	case *btf.Int:
		t.Kind, t.Name, t.Size = Int, x.Name, uint64(x.Size)
		t.Signed = x.Encoding&btf.Signed != 0
		switch {
		case x.Encoding&btf.Bool != 0 || x.Name == "_Bool":
			t.Kind = Bool
		case x.Encoding&btf.Char != 0 || strings.HasSuffix(x.Name, "char"):
			t.Char = true
			if x.Name == "char" {
				t.Signed = true // x86-64 char is signed
			}
		}
	case *btf.Float:
		t.Kind, t.Name, t.Size, t.Signed = Float, x.Name, uint64(x.Size), true
	case *btf.Pointer:
		t.Kind, t.Size = Pointer, 8
		t.Elem = b.convert(x.Target)
	case *btf.Array:
		t.Kind, t.Len = Array, uint64(x.Nelems)
		t.Elem = b.convert(x.Type)
		t.Size = t.Len * sizeOf(t.Elem)
		t.Flexible = x.Nelems == 0
	case *btf.Struct:
		t.Kind, t.Name, t.Size = Struct, x.Name, uint64(x.Size)
		t.Members = b.members(x.Members)
	case *btf.Union:
		t.Kind, t.Name, t.Size = Union, x.Name, uint64(x.Size)
		t.Members = b.members(x.Members)
	case *btf.Enum:
		t.Kind, t.Name, t.Size, t.Signed = Enum, x.Name, uint64(x.Size), x.Signed
		for _, v := range x.Values {
			t.Enumerators = append(t.Enumerators, Enumerator{Name: v.Name, Value: enumValue(x, v.Value)})
		}
	case *btf.Fwd:
		t.Kind, t.Name, t.Incomplete = Struct, x.Name, true
		switch x.Kind {
		case btf.FwdUnion:
			t.Kind = Union
		}
	case *btf.Typedef:
		t.Kind, t.Name = Typedef, x.Name
		t.Elem = b.convert(x.Type)
		t.Size = sizeOf(t.Elem)
	case *btf.Const:
		t.Kind, t.Elem = Const, b.convert(x.Type)
		t.Size = sizeOf(t.Elem)
	case *btf.Volatile:
		t.Kind, t.Elem = Volatile, b.convert(x.Type)
		t.Size = sizeOf(t.Elem)
	case *btf.Restrict:
		t.Kind, t.Elem = Restrict, b.convert(x.Type)
		t.Size = sizeOf(t.Elem)
	case *btf.TypeTag:
		// __user, __rcu, __percpu: invisible to C; alias the target.
		delete(b.conv, ty)
		inner := b.convert(x.Type)
		b.conv[ty] = inner
		return inner
	case *btf.FuncProto:
		t.Kind = Func
		t.Elem = b.convert(x.Return)
		for i, p := range x.Params {
			if p.Type == nil || isVoid(p.Type) {
				if i == len(x.Params)-1 {
					t.Variadic = true
				}
				continue
			}
			t.Params = append(t.Params, Param{Name: p.Name, Type: b.convert(p.Type)})
		}
	case *btf.Func:
		delete(b.conv, ty)
		inner := b.convert(x.Type)
		b.conv[ty] = inner
		return inner
	case *btf.Var:
		delete(b.conv, ty)
		inner := b.convert(x.Type)
		b.conv[ty] = inner
		return inner
	default:
		// Datasec, declTag: not C types a debugger shows.
		*t = Type{Kind: Void, Name: "void"}
	}
	return t
}

func isVoid(ty btf.Type) bool {
	_, ok := ty.(*btf.Void)
	return ok
}

// sizeOf is t.Size, except that a typedef or qualifier whose target is
// still being converted (a cycle through a struct) is resolved later by
// the struct's own Size; BTF gives struct sizes directly, so this only
// matters for arrays of typedefs of structs under conversion.
func sizeOf(t *Type) uint64 {
	for i := 0; t != nil && i < 64; i++ {
		if t.Size != 0 || t.Kind == Struct || t.Kind == Union || t.Kind == Int || t.Kind == Pointer {
			return t.Size
		}
		if t.Kind == Typedef || t.Kind == Const || t.Kind == Volatile || t.Kind == Restrict || t.Kind == Array {
			if t.Kind == Array {
				return t.Len * sizeOf(t.Elem)
			}
			t = t.Elem
			continue
		}
		return t.Size
	}
	return 0
}

func (b *BTF) members(ms []btf.Member) []Member {
	out := make([]Member, len(ms))
	for i, m := range ms {
		bit := uint64(m.Offset)
		out[i] = Member{
			Name:      m.Name,
			Type:      b.convert(m.Type),
			Offset:    bit / 8,
			BitOffset: bit,
			BitSize:   uint64(m.BitfieldSize),
		}
		// BTF writes both "x[0]" and the flexible "x[]" as 0 elements;
		// only the last member can be flexible, so an empty array before
		// it is a zero-length one (gdb prints it "[0]").
		if t := out[i].Type; i < len(ms)-1 && t.Kind == Array && t.Flexible {
			c := *t
			c.Flexible = false
			out[i].Type = &c
		}
	}
	return out
}

var voidType = &Type{Kind: Void, Name: "void"}

// Named returns the named structs, unions, enums and base types of the
// BTF, in BTF order: the data types gdb lists as typedef-class symbols,
// which crash's whatis -r / -m iterates.
func (b *BTF) Named() []*Type {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []*Type
	for ty, err := range b.spec.All() {
		if err != nil {
			break
		}
		switch ty.(type) {
		case *btf.Struct, *btf.Union, *btf.Enum, *btf.Int, *btf.Float:
			if ty.TypeName() != "" {
				out = append(out, b.convert(ty))
			}
		}
	}
	return out
}
