package dwarfx

import (
	"errors"
	"fmt"
	"sync"

	"kdive/internal/types"
)

// Source adapts an Index to kdive's source-agnostic type model
// (types.Source). Converted types are memoized, so the same DWARF type
// gives the same *types.Type.
type Source struct {
	ix   *Index
	desc string

	mu   sync.Mutex
	conv map[*Type]*types.Type
}

var _ types.Source = (*Source)(nil)

// NewSource returns a types.Source over ix.
func NewSource(ix *Index, desc string) *Source {
	if desc == "" {
		desc = "DWARF from " + ix.Path
	}
	return &Source{ix: ix, desc: desc, conv: map[*Type]*types.Type{}}
}

// Describe implements types.Source.
func (s *Source) Describe() string { return s.desc }

// LookupType implements types.Source.
func (s *Source) LookupType(name string) (*types.Type, error) {
	t, err := s.ix.LookupType(name)
	if err != nil {
		return nil, err
	}
	return s.Convert(t)
}

// LookupVar implements types.Source: a variable's type, else a function's.
func (s *Source) LookupVar(name string) (*types.Type, error) {
	if v, err := s.ix.Variable(name); err == nil {
		return s.Convert(v.Type)
	} else if !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	ft, err := s.ix.FuncType(name)
	if err != nil {
		return nil, err
	}
	return s.Convert(ft)
}

// LookupEnumerator implements types.Source.
func (s *Source) LookupEnumerator(name string) (*types.Type, int64, error) {
	v, et, err := s.ix.Enumerator(name)
	if err != nil {
		return nil, 0, err
	}
	t, err := s.Convert(et)
	return t, v, err
}

// Convert turns a DWARF type (and, eagerly, everything it reaches,
// pointer targets included) into the shared model.
func (s *Source) Convert(t *Type) (*types.Type, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.convert(t, 0)
}

var tVoid = &types.Type{Kind: types.Void, Name: "void"}

func (s *Source) convert(t *Type, depth int) (*types.Type, error) {
	if t == nil || t.Kind == Void {
		return tVoid, nil
	}
	if c, ok := s.conv[t]; ok {
		return c, nil
	}
	if depth > 1<<16 {
		return nil, fmt.Errorf("%s: type graph too deep", t)
	}
	if t.Kind == Atomic { // _Atomic T: no such kind in the model; T
		e, err := s.convert(t.elem, depth+1)
		if err == nil {
			s.conv[t] = e
		}
		return e, err
	}
	c := &types.Type{Name: t.Name}
	s.conv[t] = c // cycles through pointers end here
	size := func() uint64 {
		if n := sizeof(t, 0); n > 0 {
			return uint64(n)
		}
		return 0
	}
	elem := func(e *Type) (*types.Type, error) { return s.convert(e, depth+1) }
	var err error
	switch t.Kind {
	case Base:
		c.Size = size()
		switch t.Encoding {
		case EncBoolean:
			c.Kind = types.Bool
		case EncFloat, EncComplexFloat:
			c.Kind, c.Signed = types.Float, true
		case EncSigned:
			c.Kind, c.Signed = types.Int, true
		case EncSignedChar:
			c.Kind, c.Signed, c.Char = types.Int, true, true
		case EncUnsignedChar:
			c.Kind, c.Char = types.Int, true
		default:
			c.Kind = types.Int
		}
	case Struct, Union:
		c.Kind = types.Struct
		if t.Kind == Union {
			c.Kind = types.Union
		}
		c.Incomplete = t.Declaration
		c.Size = size()
		c.Members = make([]types.Member, len(t.Members))
		for i, m := range t.Members {
			mt, err := elem(m.Type)
			if err != nil {
				return nil, err
			}
			c.Members[i] = types.Member{Name: m.Name, Type: mt, Offset: uint64(m.BitOffset / 8), BitOffset: uint64(m.BitOffset), BitSize: uint64(m.BitSize)}
			if m.BitSize == 0 {
				c.Members[i].Offset = uint64(m.Offset)
			}
		}
	case Enum:
		c.Kind, c.Signed, c.Incomplete = types.Enum, t.Signed, t.Declaration
		c.Size = size()
		for _, e := range t.Enumerators {
			c.Enumerators = append(c.Enumerators, types.Enumerator{Name: e.Name, Value: e.Value})
		}
	case Typedef, Const, Volatile, Restrict:
		c.Kind = map[Kind]types.Kind{Typedef: types.Typedef, Const: types.Const, Volatile: types.Volatile, Restrict: types.Restrict}[t.Kind]
		if t.Kind != Typedef {
			c.Name = ""
		}
		if c.Elem, err = elem(t.elem); err != nil {
			return nil, err
		}
		c.Size = size()
	case Pointer:
		c.Kind, c.Size = types.Pointer, uint64(t.Size)
		target, err := t.Elem()
		if err != nil {
			return nil, err
		}
		if c.Elem, err = elem(target); err != nil {
			return nil, err
		}
	case Array:
		c.Kind, c.Name = types.Array, ""
		if c.Elem, err = elem(t.elem); err != nil {
			return nil, err
		}
		if t.Count < 0 {
			c.Flexible = true
		} else {
			c.Len = uint64(t.Count)
		}
		c.Size = size()
	case Func:
		c.Kind, c.Name = types.Func, ""
		if c.Elem, err = elem(t.elem); err != nil {
			return nil, err
		}
		for i, p := range t.Params {
			pt, err := elem(p)
			if err != nil {
				return nil, err
			}
			name := ""
			if i < len(t.ParamNames) {
				name = t.ParamNames[i]
			}
			c.Params = append(c.Params, types.Param{Name: name, Type: pt})
		}
		c.Variadic = t.Variadic
	default:
		*c = types.Type{Kind: types.Void, Name: "void"}
	}
	return c, nil
}
