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
		Usage:   "[/o] [struct|union|enum] typename | expression",
		Help: `  Shows a type as gdb's ptype does: "type = ", then the type with its
  typedefs resolved and structures and unions expanded member by member.
  With /o, gdb's offset layout: each member's offset and size (bitfields
  with their bit), holes and padding, nested structures expanded.

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
	offsets := false
	if args[0] == "/o" {
		offsets = true
		args = args[1:]
		if len(args) == 0 {
			return errors.New("missing argument")
		}
	}
	t, err := typeOrExprType(newProgEnv(prog), strings.Join(args, " "))
	if err != nil {
		return err
	}
	if offsets {
		if st := resolveTop(t).StripQualifiers(); st.Kind == types.Struct || st.Kind == types.Union {
			var sb strings.Builder
			// gdb writes the column header only for a struct or union
			// named as such, not through a typedef.
			if t.StripQualifiers().Kind != types.Typedef {
				sb.WriteString("/* offset    |  size */  ")
			}
			sb.WriteString("type = ")
			ptypeOffsets(&sb, st, 0, &offsetData{})
			sb.WriteString("\n")
			fmt.Fprint(env.Out, sb.String())
			return nil
		}
	}
	fmt.Fprintf(env.Out, "type = %s\n", ptypeString(resolveBase(t, 0), 0))
	return nil
}

// resolveBase resolves the typedefs of t's base type, through pointers,
// arrays, qualifiers and a function's return type, as gdb's ptype prints
// the base with show 1 (ptype of a function returning ssize_t is
// "long (...)", of a u64 * "unsigned long long *"); parameters keep their
// names.
func resolveBase(t *types.Type, depth int) *types.Type {
	if t == nil || depth > 64 {
		return t
	}
	switch t.Kind {
	case types.Typedef:
		return resolveBase(t.Elem, depth+1)
	case types.Pointer, types.Array, types.Const, types.Volatile, types.Restrict, types.Func:
		e := resolveBase(t.Elem, depth+1)
		if e == t.Elem {
			return t
		}
		c := *t
		c.Elem = e
		return &c
	}
	return t
}

// offsetData is gdb's print_offset_data for ptype /o: where the
// enclosing struct starts and where the previous member ended, in bits.
type offsetData struct {
	offsetBits uint64
	endBits    uint64
}

// offsetCol is the width of ptype /o's offset column.
const offsetCol = 23

func (pd *offsetData) hole(sb *strings.Builder, bitpos uint64, what string) {
	if pd.endBits > 0 && pd.endBits < bitpos {
		h := bitpos - pd.endBits
		if h%8 > 0 {
			fmt.Fprintf(sb, "/* XXX %2d-bit %s   */\n", h%8, what)
		}
		if h/8 > 0 {
			fmt.Fprintf(sb, "/* XXX %2d-byte %s  */\n", h/8, what)
		}
	}
}

// update prints a member's offset and size column (gdb's
// print_offset_data::update).
func (pd *offsetData) update(sb *strings.Builder, t *types.Type, m types.Member) {
	size := m.Type.Size
	if t.Kind == types.Union {
		fmt.Fprintf(sb, "/*%18d */", size)
		return
	}
	pd.hole(sb, m.BitOffset, "hole")
	bits := size * 8
	if m.BitSize != 0 || pd.offsetBits%8 != 0 {
		bits = m.BitSize
		real := m.BitOffset + pd.offsetBits
		fmt.Fprintf(sb, "/* %4d:%2d", real/8, real%8)
	} else {
		fmt.Fprintf(sb, "/* %4d   ", (m.BitOffset+pd.offsetBits)/8)
	}
	fmt.Fprintf(sb, "   |  %4d */", size)
	pd.endBits = m.BitOffset + bits
}

// ptypeOffsets writes "struct NAME {", the members with their offsets
// (struct and union members expanded, at any depth), the padding and
// total size, and the closing brace, as gdb's ptype /o does.
func ptypeOffsets(sb *strings.Builder, t *types.Type, level int, pd *offsetData) {
	sb.WriteString(t.Kind.String())
	if t.Name != "" {
		sb.WriteString(" " + t.Name)
	}
	sb.WriteString(" {\n")
	if len(t.Members) == 0 {
		fmt.Fprintf(sb, "%s<no data fields>\n", strings.Repeat(" ", level+4))
	}
	for _, m := range t.Members {
		pd.update(sb, t, m)
		sb.WriteString(strings.Repeat(" ", level+4))
		mt := m.Type.StripQualifiers()
		if mt.Kind == types.Struct || mt.Kind == types.Union {
			inner := &offsetData{offsetBits: pd.offsetBits + m.BitOffset, endBits: pd.endBits - mt.Size*8}
			q := ""
			for x := m.Type; x != nil && x != mt; x = x.Elem {
				q += x.Kind.String() + " "
			}
			sb.WriteString(q)
			ptypeOffsets(sb, mt, level+4, inner)
			if m.Name != "" {
				sb.WriteString(" " + m.Name)
			}
			sb.WriteString(";\n")
			continue
		}
		sb.WriteString(memberDecl(m, level+4) + ";\n")
	}
	pd.hole(sb, t.Size*8, "padding")
	sb.WriteString("\n")
	fmt.Fprintf(sb, "%s/* total size (bytes): %4d */\n", strings.Repeat(" ", offsetCol+level+4), t.Size)
	if level == 0 {
		sb.WriteString(strings.Repeat(" ", offsetCol+2) + "}")
	} else {
		sb.WriteString(strings.Repeat(" ", offsetCol+level) + "}")
	}
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
