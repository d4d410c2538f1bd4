package types

import (
	"errors"
	"fmt"
	"strings"
	"sync"
)

// Registry answers type questions from its sources, in order (a DWARF
// source added first wins over BTF), and knows the C base types itself so
// that casts such as (unsigned long) work with no debug information.
type Registry struct {
	mu      sync.RWMutex
	sources []Source
}

// NewRegistry returns a registry asking srcs in order (nil ones skipped).
func NewRegistry(srcs ...Source) *Registry {
	r := &Registry{}
	for _, s := range srcs {
		if s != nil {
			r.sources = append(r.sources, s)
		}
	}
	return r
}

// Prepend adds a source asked before the existing ones.
func (r *Registry) Prepend(s Source) {
	r.mu.Lock()
	r.sources = append([]Source{s}, r.sources...)
	r.mu.Unlock()
}

// Append adds a source asked after the existing ones.
func (r *Registry) Append(s Source) {
	r.mu.Lock()
	r.sources = append(r.sources, s)
	r.mu.Unlock()
}

// Sources returns the sources in order.
func (r *Registry) Sources() []Source {
	if r == nil {
		return nil
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	return append([]Source(nil), r.sources...)
}

// base types by every C spelling gdb accepts, normalized (see normBase).
var builtins = map[string]*Type{}

func init() {
	add := func(t *Type, names ...string) {
		for _, n := range names {
			builtins[n] = t
		}
	}
	add(&Type{Kind: Void, Name: "void"}, "void")
	add(&Type{Kind: Int, Name: "char", Size: 1, Signed: true, Char: true}, "char")
	add(&Type{Kind: Int, Name: "signed char", Size: 1, Signed: true, Char: true}, "signed char")
	add(&Type{Kind: Int, Name: "unsigned char", Size: 1, Char: true}, "unsigned char")
	add(&Type{Kind: Int, Name: "short int", Size: 2, Signed: true}, "short", "short int", "signed short", "signed short int", "short signed int")
	add(&Type{Kind: Int, Name: "short unsigned int", Size: 2}, "unsigned short", "unsigned short int", "short unsigned int", "short unsigned")
	add(&Type{Kind: Int, Name: "int", Size: 4, Signed: true}, "int", "signed", "signed int")
	add(&Type{Kind: Int, Name: "unsigned int", Size: 4}, "unsigned", "unsigned int")
	add(&Type{Kind: Int, Name: "long int", Size: 8, Signed: true}, "long", "long int", "signed long", "signed long int", "long signed int")
	add(&Type{Kind: Int, Name: "long unsigned int", Size: 8}, "unsigned long", "unsigned long int", "long unsigned int", "long unsigned")
	add(&Type{Kind: Int, Name: "long long int", Size: 8, Signed: true}, "long long", "long long int", "signed long long", "signed long long int", "long long signed int")
	add(&Type{Kind: Int, Name: "long long unsigned int", Size: 8}, "unsigned long long", "unsigned long long int", "long long unsigned int", "long long unsigned")
	add(&Type{Kind: Bool, Name: "_Bool", Size: 1}, "_Bool")
	add(&Type{Kind: Float, Name: "float", Size: 4, Signed: true}, "float")
	add(&Type{Kind: Float, Name: "double", Size: 8, Signed: true}, "double")
	add(&Type{Kind: Float, Name: "long double", Size: 16, Signed: true}, "long double")
}

// Builtin returns the C base type spelled name ("unsigned long",
// "long unsigned int", "char", "_Bool", "void"), or nil.
func Builtin(name string) *Type { return builtins[strings.Join(strings.Fields(name), " ")] }

// LookupType finds a named type: sources first, then the C base types.
// Base types are found under any C spelling ("unsigned long" finds BTF's
// "long unsigned int").
func (r *Registry) LookupType(name string) (*Type, error) {
	name = strings.Join(strings.Fields(name), " ")
	var firstErr error
	bt := Builtin(name)
	for _, s := range r.Sources() {
		try := []string{name}
		if bt != nil && bt.Name != name {
			try = append(try, bt.Name)
		}
		for _, n := range try {
			t, err := s.LookupType(n)
			if err == nil {
				return t, nil
			}
			if firstErr == nil && !errors.Is(err, ErrNotFound) {
				firstErr = err
			}
		}
	}
	if bt != nil {
		return bt, nil
	}
	if firstErr != nil {
		return nil, firstErr
	}
	return nil, fmt.Errorf("no type %q: %w", name, ErrNotFound)
}

// LookupVar returns the type of a global variable or function.
func (r *Registry) LookupVar(name string) (*Type, error) {
	for _, s := range r.Sources() {
		if t, err := s.LookupVar(name); err == nil {
			return t, nil
		}
	}
	return nil, fmt.Errorf("no type for symbol %q: %w", name, ErrNotFound)
}

// LookupEnumerator finds an enum constant.
func (r *Registry) LookupEnumerator(name string) (*Type, int64, error) {
	for _, s := range r.Sources() {
		if t, v, err := s.LookupEnumerator(name); err == nil {
			return t, v, nil
		}
	}
	return nil, 0, fmt.Errorf("no enumerator %q: %w", name, ErrNotFound)
}

// ParseTypeName resolves a C type name as written in a cast or sizeof:
// "struct task_struct *", "unsigned long", "char [16]", "u64 **". It
// accepts a base name followed by '*'s and [N] suffixes, and const or
// volatile anywhere in the base.
func (r *Registry) ParseTypeName(s string) (*Type, error) {
	s = strings.TrimSpace(s)
	// Split the trailing declarator: '*' and "[N]".
	base := s
	var suffix []string // applied inner to outer: "*" or "[N]"
	for {
		base = strings.TrimSpace(base)
		switch {
		case strings.HasSuffix(base, "*"):
			suffix = append([]string{"*"}, suffix...)
			base = base[:len(base)-1]
			continue
		case strings.HasSuffix(base, "]"):
			i := strings.LastIndexByte(base, '[')
			if i < 0 {
				return nil, fmt.Errorf("bad type name %q", s)
			}
			suffix = append(suffix, base[i:])
			base = base[:i]
			continue
		}
		break
	}
	// Pointers bind first: "char *[4]" is an array of 4 pointers.
	var ptrs int
	var arrays []uint64
	for _, x := range suffix {
		if x == "*" {
			ptrs++
			continue
		}
		var n uint64
		inner := strings.TrimSpace(x[1 : len(x)-1])
		if inner != "" {
			if _, err := fmt.Sscan(inner, &n); err != nil {
				return nil, fmt.Errorf("bad array size in %q", s)
			}
		}
		arrays = append(arrays, n)
	}
	var quals []Kind
	var words []string
	for _, w := range strings.Fields(base) {
		switch w {
		case "const":
			quals = append(quals, Const)
		case "volatile":
			quals = append(quals, Volatile)
		default:
			words = append(words, w)
		}
	}
	if len(words) == 0 {
		return nil, fmt.Errorf("bad type name %q", s)
	}
	t, err := r.LookupType(strings.Join(words, " "))
	if err != nil {
		return nil, err
	}
	for _, q := range quals {
		t = &Type{Kind: q, Elem: t, Size: t.Size}
	}
	for i := 0; i < ptrs; i++ {
		t = PointerTo(t)
	}
	for i := len(arrays) - 1; i >= 0; i-- {
		t = ArrayOf(t, arrays[i])
	}
	return t, nil
}

// Sizeof returns the size of a named type (ParseTypeName syntax).
func (r *Registry) Sizeof(name string) (uint64, error) {
	t, err := r.ParseTypeName(name)
	if err != nil {
		return 0, err
	}
	return t.Size, nil
}

// Lister is a Source that can list its named data types (structs,
// unions, enums, base types).
type Lister interface {
	Named() []*Type
}

// Named lists the named data types of the first source that can list
// them (the kernel's BTF), or nil.
func (r *Registry) Named() []*Type {
	for _, s := range r.Sources() {
		if l, ok := s.(Lister); ok {
			return l.Named()
		}
	}
	return nil
}
