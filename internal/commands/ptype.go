package commands

// ptype: gdb's ptype, which crash passes through to gdb: "type = " and the
// type with typedefs at the top resolved, structures and unions expanded
// with gdb's layout (4 spaces a level, anonymous members inline).

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"kdive/internal/expr"
	"kdive/internal/types"
)

func init() {
	Register(&Command{
		Name:    "ptype",
		Summary: "show a type or an expression's type, expanded (gdb's ptype)",
		Usage:   "[struct|union|enum] typename | expression",
		Help: `  Shows a type as gdb's ptype does: "type = ", then the type with its
  typedefs resolved and structures and unions expanded member by member.

EXAMPLES
    kdive> ptype struct list_head
    type = struct list_head {
        struct list_head *next;
        struct list_head *prev;
    }
    kdive> ptype u64
    type = unsigned long long`,
		Run: func(env *Env, args []string) error { return ptypeCommand(env, env.Prog, args) },
	})
}

func ptypeCommand(env *Env, prog typeTarget, args []string) error {
	if len(args) == 0 {
		writeUsage(env, "ptype", "[struct|union|enum] typename | expression")
		return errors.New("missing argument")
	}
	t, err := typeOrExprType(newProgEnv(prog), strings.Join(args, " "))
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Out, "type = %s\n", ptypeString(resolveTop(t), 0))
	return nil
}

// typeOrExprType reads s as a type name, else as an expression whose type
// is wanted.
func typeOrExprType(pe *progEnv, s string) (*types.Type, error) {
	reg := pe.Types()
	if t, err := reg.ParseTypeName(s); err == nil {
		return t, nil
	}
	n, err := expr.Parse(s, expr.IsTypeFunc(pe))
	if err != nil {
		return nil, err
	}
	v, err := expr.EvalNode(pe, n)
	if err != nil {
		if strings.HasPrefix(s, "struct ") || strings.HasPrefix(s, "union ") || strings.HasPrefix(s, "enum ") {
			f := strings.Fields(s)
			return nil, fmt.Errorf("No %s type named %s.", f[0], strings.TrimRight(f[1], "*[]0123456789 "))
		}
		return nil, err
	}
	return v.Type, nil
}

// resolveTop resolves typedefs at the top of t, as ptype does (through
// pointers and arrays too: ptype of a u64 * is unsigned long long *).
func resolveTop(t *types.Type) *types.Type {
	for i := 0; t != nil && t.Kind == types.Typedef && i < 64; i++ {
		t = t.Elem
	}
	return t
}

// ptypeString formats t as gdb's ptype does with structures and unions
// expanded (level is the indentation of the enclosing line, in spaces).
func ptypeString(t *types.Type, level int) string {
	return declExpanded(t, "", level)
}

// declExpanded is a declaration whose base type, when it is a struct,
// union or enum to expand (the outermost one, or anonymous ones inside),
// is written out in full.
func declExpanded(t *types.Type, name string, level int) string {
	base := t
	for i := 0; base != nil && i < 64; i++ {
		switch base.Kind {
		case types.Pointer, types.Array, types.Const, types.Volatile, types.Restrict:
			base = base.Elem
			continue
		case types.Func:
			base = base.Elem
			continue
		}
		break
	}
	d := types.Decl(t, name)
	if base == nil {
		return d
	}
	switch base.Kind {
	case types.Struct, types.Union, types.Enum:
	default:
		return d
	}
	bn := base.BaseName()
	i := strings.Index(d, bn)
	if i < 0 {
		return d
	}
	body := aggregateBody(base, level)
	return d[:i] + body + d[i+len(bn):]
}

// aggregateBody is "struct NAME {\n members \n}" at indentation level.
func aggregateBody(t *types.Type, level int) string {
	var sb strings.Builder
	kw := t.Kind.String()
	sb.WriteString(kw)
	if t.Name != "" {
		sb.WriteString(" " + t.Name)
	}
	if t.Kind == types.Enum {
		sb.WriteString(" {")
		next := int64(0)
		for i, e := range t.Enumerators {
			if i > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString(e.Name)
			if e.Value != next {
				sb.WriteString(" = " + strconv.FormatInt(e.Value, 10))
			}
			next = e.Value + 1
		}
		sb.WriteString("}")
		return sb.String()
	}
	sb.WriteString(" {\n")
	ind := strings.Repeat(" ", level+4)
	if len(t.Members) == 0 {
		if t.Incomplete {
			sb.WriteString(ind + "<incomplete type>\n")
		} else {
			sb.WriteString(ind + "<no data fields>\n")
		}
	}
	for _, m := range t.Members {
		sb.WriteString(ind + memberDecl(m, level+4) + ";\n")
	}
	sb.WriteString(strings.Repeat(" ", level) + "}")
	return sb.String()
}

// memberDecl is one member line's text (without indentation and ';'):
// anonymous structs, unions and enums are expanded, named ones are not.
func memberDecl(m types.Member, level int) string {
	var s string
	if anonBase(m.Type) {
		s = declExpanded(m.Type, m.Name, level)
	} else {
		s = types.Decl(m.Type, m.Name)
	}
	if m.BitSize != 0 {
		s += " : " + strconv.FormatUint(m.BitSize, 10)
	}
	return s
}

// anonBase reports whether t's base type is an anonymous struct, union
// or enum (gdb always writes those out).
func anonBase(t *types.Type) bool {
	for i := 0; t != nil && i < 64; i++ {
		switch t.Kind {
		case types.Pointer, types.Array, types.Const, types.Volatile, types.Restrict, types.Func:
			t = t.Elem
			continue
		case types.Struct, types.Union, types.Enum:
			return t.Name == ""
		}
		return false
	}
	return false
}
