package types

import (
	"fmt"
	"strings"
)

// Strip returns t without typedefs and qualifiers (const, volatile,
// restrict): the type that says how a value is laid out.
func (t *Type) Strip() *Type {
	for i := 0; t != nil && i < 64; i++ {
		switch t.Kind {
		case Typedef, Const, Volatile, Restrict:
			if t.Elem == nil {
				return t
			}
			t = t.Elem
		default:
			return t
		}
	}
	return t
}

// StripQualifiers returns t without const/volatile/restrict (typedefs kept).
func (t *Type) StripQualifiers() *Type {
	for i := 0; t != nil && i < 64; i++ {
		switch t.Kind {
		case Const, Volatile, Restrict:
			if t.Elem == nil {
				return t
			}
			t = t.Elem
		default:
			return t
		}
	}
	return t
}

// IsInteger reports whether t (after typedefs) is an integer, character,
// _Bool or enum type.
func (t *Type) IsInteger() bool {
	switch t.Strip().Kind {
	case Int, Bool, Enum:
		return true
	}
	return false
}

// IsScalar reports integers, pointers and floats.
func (t *Type) IsScalar() bool {
	s := t.Strip()
	return s.IsInteger() || s.Kind == Pointer || s.Kind == Float
}

// IsComposite reports struct and union types (after typedefs).
func (t *Type) IsComposite() bool {
	k := t.Strip().Kind
	return k == Struct || k == Union
}

// IsSigned reports a signed integer or enum (after typedefs).
func (t *Type) IsSigned() bool {
	s := t.Strip()
	return (s.Kind == Int || s.Kind == Enum) && s.Signed
}

// Field is a member found by FindMember: the member, its byte offset from
// the start of the outer struct (for a bitfield, BitOffset is from there
// too), and the chain of anonymous members it was found through.
type Field struct {
	Member
	Via []Member // anonymous struct/union members passed through, outermost first
}

// FindMember finds a member by name in a struct or union (after
// typedefs), searching anonymous struct/union members as C does. Offsets
// in the result are relative to t.
func (t *Type) FindMember(name string) (Field, bool) {
	return findMember(t.Strip(), name, 0)
}

func findMember(t *Type, name string, depth int) (Field, bool) {
	if t == nil || depth > 16 || (t.Kind != Struct && t.Kind != Union) {
		return Field{}, false
	}
	for _, m := range t.Members {
		if m.Name == name && name != "" {
			return Field{Member: m}, true
		}
	}
	for _, m := range t.Members {
		if m.Name != "" {
			continue
		}
		if f, ok := findMember(m.Type.Strip(), name, depth+1); ok {
			f.Offset += m.Offset
			f.BitOffset += m.BitOffset
			f.Via = append([]Member{m}, f.Via...)
			return f, true
		}
	}
	return Field{}, false
}

// MemberPath resolves a dotted member path ("se.exec_start"; array
// subscripts such as "a[2].b" too) in t and returns the byte offset and
// type of the last member.
func (t *Type) MemberPath(path string) (uint64, *Type, error) {
	var off uint64
	cur := t
	for _, part := range strings.Split(path, ".") {
		idx := []uint64{}
		name := part
		if i := strings.IndexByte(part, '['); i >= 0 {
			name = part[:i]
			rest := part[i:]
			for rest != "" {
				if rest[0] != '[' {
					return 0, nil, fmt.Errorf("bad member path %q", path)
				}
				j := strings.IndexByte(rest, ']')
				if j < 0 {
					return 0, nil, fmt.Errorf("bad member path %q", path)
				}
				var n uint64
				if _, err := fmt.Sscan(rest[1:j], &n); err != nil {
					return 0, nil, fmt.Errorf("bad subscript in %q", path)
				}
				idx = append(idx, n)
				rest = rest[j+1:]
			}
		}
		f, ok := cur.FindMember(name)
		if !ok {
			return 0, nil, fmt.Errorf("%v has no member %q: %w", cur, name, ErrNotFound)
		}
		off += f.Offset
		cur = f.Type
		for _, n := range idx {
			a := cur.Strip()
			if a.Kind != Array {
				return 0, nil, fmt.Errorf("%s is not an array", name)
			}
			off += n * a.Elem.Size
			cur = a.Elem
		}
	}
	return off, cur, nil
}

// PointerTo returns a new pointer type to t (8 bytes, x86-64).
func PointerTo(t *Type) *Type { return &Type{Kind: Pointer, Size: 8, Elem: t} }

// ArrayOf returns a new array type of n elements of t.
func ArrayOf(t *Type, n uint64) *Type {
	return &Type{Kind: Array, Size: n * t.Size, Elem: t, Len: n}
}

// Equal reports whether two types are structurally the same C type as far
// as a debugger cares: same kind, name and size, and equal element types.
// Struct/union/enum types compare by kind and tag name (and size) only.
func Equal(a, b *Type) bool { return equal(a, b, 0) }

func equal(a, b *Type, depth int) bool {
	if a == b {
		return true
	}
	if a == nil || b == nil || depth > 32 {
		return false
	}
	if a.Kind != b.Kind || a.Name != b.Name {
		return false
	}
	switch a.Kind {
	case Struct, Union, Enum:
		return a.Name != "" && (a.Size == b.Size || a.Incomplete || b.Incomplete)
	case Int, Bool, Float, Void:
		return a.Size == b.Size && a.Signed == b.Signed
	case Array:
		return a.Len == b.Len && equal(a.Elem, b.Elem, depth+1)
	case Func:
		if len(a.Params) != len(b.Params) || a.Variadic != b.Variadic {
			return false
		}
		for i := range a.Params {
			if !equal(a.Params[i].Type, b.Params[i].Type, depth+1) {
				return false
			}
		}
		return equal(a.Elem, b.Elem, depth+1)
	}
	return equal(a.Elem, b.Elem, depth+1)
}
