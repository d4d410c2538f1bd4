package types

import "strings"

// gdbBaseNames maps the base type names compilers write into debug
// information to the spelling gdb prints (crash shows "unsigned long" for
// DWARF's and BTF's "long unsigned int").
var gdbBaseNames = map[string]string{
	"long unsigned int":      "unsigned long",
	"long int":               "long",
	"short unsigned int":     "unsigned short",
	"short int":              "short",
	"long long unsigned int": "unsigned long long",
	"long long int":          "long long",
}

// CName returns a base type's name as gdb prints it.
func CName(name string) string {
	if n, ok := gdbBaseNames[name]; ok {
		return n
	}
	return name
}

// String returns the type's name as gdb prints it in `whatis`:
// "struct task_struct *", "char [16]", "void (*)(struct callback_head *)".
func (t *Type) String() string { return Decl(t, "") }

// BaseName is the name of a type without declarators: "struct list_head",
// "unsigned long", "u64", "struct {...}" for an anonymous struct.
func (t *Type) BaseName() string {
	if t == nil {
		return "void"
	}
	switch t.Kind {
	case Void:
		return "void"
	case Struct, Union, Enum:
		kw := t.Kind.String()
		if t.Name == "" {
			return kw + " {...}"
		}
		return kw + " " + t.Name
	case Int, Bool, Float:
		return CName(t.Name)
	case Typedef:
		return t.Name
	}
	return ""
}

// Decl returns a C declaration of name with type t as gdb prints it:
// Decl(char[16], "comm") is "char comm[16]", Decl(ptr to func, "func") is
// "void (*func)(struct callback_head *)". With name "" it is the type name.
func Decl(t *Type, name string) string {
	base, d := declarator(t, name, 0)
	if d == "" {
		return base
	}
	return base + " " + d
}

func declarator(t *Type, inner string, depth int) (string, string) {
	if t == nil {
		return "void", inner
	}
	if depth > 32 {
		return "...", inner
	}
	switch t.Kind {
	case Pointer:
		e := t.Elem
		d := "*" + inner
		if strings.HasPrefix(inner, "const") || strings.HasPrefix(inner, "volatile") || strings.HasPrefix(inner, "restrict") {
			d = "* " + inner
		}
		if e != nil && (e.Kind == Array || e.Kind == Func) {
			d = "(" + d + ")"
		}
		return declarator(e, d, depth+1)
	case Array:
		n := ""
		if !t.Flexible {
			n = uitoa(t.Len)
		}
		return declarator(t.Elem, inner+"["+n+"]", depth+1)
	case Func:
		return declarator(t.Elem, inner+"("+params(t)+")", depth+1)
	case Const, Volatile, Restrict:
		q := t.Kind.String()
		e := t.Elem
		if e != nil && e.Kind == Pointer {
			d := q
			if inner != "" {
				d += " " + inner
			}
			return declarator(e, d, depth+1)
		}
		b, d := declarator(e, inner, depth+1)
		if strings.HasPrefix(b, q+" ") {
			// const applied to an array of const: C has one const.
			return b, d
		}
		return q + " " + b, d
	}
	return t.BaseName(), inner
}

func params(t *Type) string {
	if len(t.Params) == 0 {
		if t.Variadic {
			return "..."
		}
		return "void"
	}
	var sb strings.Builder
	for i, p := range t.Params {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(Decl(p.Type, ""))
	}
	if t.Variadic {
		sb.WriteString(", ...")
	}
	return sb.String()
}

func uitoa(n uint64) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}
