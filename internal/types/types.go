// Package types is kdive's one type model: C types as a kernel debugger
// needs them, independent of where they came from (BTF today, DWARF next).
// A Source (BTF, DWARF) converts its own records into *Type values; the
// Registry asks its sources in order and adds the C base types every
// expression needs even without debug information.
//
// Types form a graph (struct list_head points to itself): sources return
// the same *Type for the same underlying type, so pointer comparison works
// within one source, and code that walks types must stop at pointers.
package types

import (
	"errors"
	"fmt"
)

// Kind is the kind of a type.
type Kind uint8

// Kinds. Const, Volatile and Restrict are qualifiers wrapping Elem.
const (
	Void     Kind = iota // void (Size 0)
	Int                  // integers and characters (Signed, Char)
	Bool                 // _Bool
	Float                // float, double, long double
	Enum                 // enum NAME { Enumerators } (Signed, Size)
	Pointer              // Elem * (Elem is Void for void *)
	Array                // Elem [Len] (Flexible: Elem [])
	Struct               // struct NAME { Members }
	Union                // union NAME { Members }
	Typedef              // typedef Elem Name
	Func                 // Elem (Params...) — a function type; Elem is the return type
	Const                // const Elem
	Volatile             // volatile Elem
	Restrict             // restrict Elem
)

var kindNames = [...]string{"void", "int", "bool", "float", "enum", "pointer", "array",
	"struct", "union", "typedef", "func", "const", "volatile", "restrict"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Type is one C type.
type Type struct {
	Kind Kind
	// Name: the tag of a struct/union/enum ("task_struct", "" when
	// anonymous), the name of a typedef or of a base type ("long unsigned
	// int", "char", "_Bool"). Pointers, arrays, functions and qualifiers
	// have no name.
	Name string
	// Size in bytes: of the whole array for Array, 8 for Pointer (x86-64),
	// 0 for Void, Func and incomplete types. Typedefs and qualifiers carry
	// the size of what they name.
	Size uint64
	// Signed: Int and Enum. Char: Int types that are characters (char,
	// signed char, unsigned char); gdb prints them as 'c' and arrays of
	// them as strings.
	Signed bool
	Char   bool
	// Elem: the pointed-to type (Pointer), element type (Array), named
	// type (Typedef), qualified type (Const/Volatile/Restrict), return
	// type (Func; nil or Void for void).
	Elem *Type
	// Len: the number of elements of an Array; Flexible marks a flexible
	// array member (Elem []), whose Len is 0.
	Len      uint64
	Flexible bool
	// Members of a Struct or Union, in declaration order. Anonymous
	// struct/union members have Name "".
	Members []Member
	// Enumerators of an Enum, in declaration order.
	Enumerators []Enumerator
	// Params of a Func; Variadic adds "...". A prototype "(void)" has no
	// params and Variadic false.
	Params   []Param
	Variadic bool
	// Incomplete: a struct/union/enum that is only declared (BTF FWD,
	// DWARF DW_AT_declaration); Size is 0 and Members empty.
	Incomplete bool
}

// Member is one member of a struct or union.
type Member struct {
	Name string
	Type *Type
	// Offset is the byte offset of the member in its struct: for a
	// bitfield, the byte holding its first bit (BitOffset/8).
	Offset uint64
	// BitOffset is the member's offset in bits from the start of the
	// struct (Offset*8 for members that are not bitfields). BitSize is the
	// width of a bitfield, 0 for ordinary members. Bits are numbered as
	// on little-endian x86-64: bit n of the struct is bit n%8 of byte n/8.
	BitOffset uint64
	BitSize   uint64
}

// IsBitfield reports whether m is a bitfield.
func (m *Member) IsBitfield() bool { return m.BitSize != 0 }

// Enumerator is one constant of an enum.
type Enumerator struct {
	Name  string
	Value int64 // as the enum's signedness says; unsigned values above MaxInt64 wrap
}

// Param is one parameter of a function type ("" when unnamed).
type Param struct {
	Name string
	Type *Type
}

// ErrNotFound is an unknown type, variable or member.
var ErrNotFound = errors.New("not found")

// Source is a provider of types: BTF (btf.go) or DWARF (internal/dwarfx).
// Names are C spellings: "task_struct" (any kind with that name; complete
// struct/union preferred), "struct task_struct", "union x", "enum y", a
// typedef ("u64") or a base type as the source spells it ("long unsigned
// int"). Errors wrap ErrNotFound when the name is unknown.
type Source interface {
	// LookupType finds a named type.
	LookupType(name string) (*Type, error)
	// LookupVar returns the type of a global variable or function (Kind
	// Func for functions), ErrNotFound when the source does not know it.
	LookupVar(name string) (*Type, error)
	// LookupEnumerator finds an enum constant by name: its enum type and
	// value.
	LookupEnumerator(name string) (*Type, int64, error)
	// Describe says where the types come from, for `help -v`.
	Describe() string
}
