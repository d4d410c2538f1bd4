package commands

// whatis: the type of a symbol, a data type's declaration or an
// expression's type, as crash's cmd_whatis (symbols.c) prints them.

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"kdive/internal/types"
)

func init() {
	Register(&Command{
		Name:    "whatis",
		Summary: "show the type of a symbol, a data type or an expression",
		Usage:   whatisSynopsis,
		Help: `  For a symbol, its declaration ("struct task_struct init_task;").  For a
  structure, union or typedef name, its declaration as crash shows it,
  then "SIZE: n".  For an enum name, its enumerators and values; for an
  enumerator, "enum TYPE = value".  Otherwise the type of the expression,
  as gdb's whatis.

        -o  show member offsets in structure declarations.

  Or list the structures (unions, enums, base types) of a size or size
  range, or that contain a member of a type (or a pointer to it), as
  "SIZE  TYPE" lines sorted by size and name:

   -r size  of this exact size.
  -r low-high  of a size in this range.
 -m member  with a member whose type's name (or, for a pointer or an
            array, its target's) contains this string; the members of
            embedded structures (not unions) are searched too.  With -r,
            both must hold.

EXAMPLES
    kdive> whatis jiffies_64
    u64 jiffies_64;
    kdive> whatis init_task.comm
    char [16]
    kdive> whatis -r 2800-3000 -m mm_struct
    SIZE  TYPE
    2936  task_struct`,
		Run: func(env *Env, args []string) error { return whatisCommand(env, env.Prog, args) },
	})
}

const whatisSynopsis = "[[-o] [struct | union | typedef | symbol]] | \n         [[-r [size|range]] [-m member]]"

func whatisCommand(env *Env, prog typeTarget, args []string) error {
	opts, rest, err := getopt("whatis", args, "om:r:")
	if err != nil {
		writeUsage(env, "whatis", whatisSynopsis)
		return err
	}
	offsets := false
	var lowest, highest uint64
	member, request := "", false
	for _, o := range opts {
		switch o.c {
		case 'o':
			offsets = true
		case 'm':
			member, request = o.arg, true
		case 'r':
			arg := o.arg
			if len(arg) > 15 {
				arg = arg[:15]
			}
			lo, hi, isRange := strings.Cut(arg, "-")
			if lowest, err = parseCrashNumber(lo); err != nil {
				return err
			}
			highest = lowest
			if isRange {
				if highest, err = parseCrashNumber(hi); err != nil {
					return err
				}
			}
			request = true
		default:
			return fmt.Errorf("-%c is not supported", o.c)
		}
	}
	if request {
		return whatisRequest(env, prog.Types(), lowest, highest, member)
	}
	if len(rest) == 0 {
		writeUsage(env, "whatis", whatisSynopsis)
		return errors.New("missing argument")
	}
	pe := newProgEnv(prog)
	reg := prog.Types()
	kw := ""
	switch rest[0] {
	case "struct", "union", "enum":
		kw = rest[0]
		rest = rest[1:]
		if len(rest) == 0 {
			writeUsage(env, "whatis", whatisSynopsis)
			return errors.New("missing argument")
		}
	default:
		if _, _, ok := pe.Symbol(rest[0]); ok {
			return whatisVariable(env, pe, rest[0])
		}
	}
	name := rest[0]
	if !strings.ContainsAny(name, ".[]*()&-+") {
		if t, err := lookupDatatype(reg, kw, name); err == nil {
			hex := false
			if r, ok := prog.(interface{ OutputRadix() int }); ok && r.OutputRadix() == 16 {
				hex = true
			}
			return whatisDatatype(env, t, name, offsets, hex)
		}
		if kw == "" {
			if et, v, err := reg.LookupEnumerator(name); err == nil {
				fmt.Fprintf(env.Out, "enum %s = %d\n", et.Name, v)
				return nil
			}
		}
	}
	src := strings.Join(rest, " ")
	if kw != "" {
		src = kw + " " + src
	}
	t, err := typeOrExprType(pe, src)
	if err != nil {
		writeUsage(env, "whatis", whatisSynopsis)
		return fmt.Errorf("cannot resolve: %s", src)
	}
	fmt.Fprintf(env.Out, "%s\n", t)
	return nil
}

// lookupDatatype is crash's arg_to_datatype on one word: a struct, union
// or enum tag, a typedef, or a base type word.
func lookupDatatype(reg *types.Registry, kw, name string) (*types.Type, error) {
	if kw != "" {
		return reg.LookupType(kw + " " + name)
	}
	return reg.LookupType(name)
}

// whatisVariable is crash's whatis_variable: gdb's whatis of the symbol
// with the name put in the type's declarator.
func whatisVariable(env *Env, pe *progEnv, name string) error {
	t, err := pe.Types().LookupVar(name)
	if err != nil {
		// No type information: gdb's minimal-symbol types.
		_, text, _ := pe.Symbol(name)
		if text {
			fmt.Fprintf(env.Out, "<text variable, no debug info> %s;\n", name)
		} else {
			fmt.Fprintf(env.Out, "<data variable, no debug info> %s;\n", name)
		}
		return nil
	}
	fmt.Fprintf(env.Out, "%s;\n", insertName(t.String(), name))
	return nil
}

// insertName puts a variable's name into gdb's type string the way
// crash's whatis_variable does.
func insertName(ts, name string) string {
	if i := strings.Index(ts, "["); i >= 0 {
		return strings.TrimRight(ts[:i], " ") + " " + name + ts[i:]
	}
	if i := strings.Index(ts, "("); i >= 0 {
		if strings.Count(ts, "(") == 1 {
			return ts[:i] + name + ts[i:]
		}
		j := strings.Index(ts, ")")
		return ts[:j] + name + ts[j:]
	}
	if strings.HasSuffix(ts, "*") {
		return ts + name
	}
	return ts + " " + name
}

// whatisDatatype is crash's do_datatype_declaration for a type name.
// With hex (the session's output radix is 16), sizes and offsets are
// hexadecimal.
func whatisDatatype(env *Env, t *types.Type, name string, offsets, hex bool) error {
	switch t.Kind {
	case types.Enum:
		fmt.Fprintf(env.Out, "enum %s {\n", t.Name)
		for _, e := range t.Enumerators {
			fmt.Fprintf(env.Out, "  %s = %d\n", e.Name, e.Value)
		}
		fmt.Fprintf(env.Out, "};\n")
		return nil
	case types.Int, types.Bool, types.Float, types.Void:
		// crash prints only the size for a base type (gdb's output for
		// it carries no declaration crash recognizes).
		whatisSize(env, t.Size, hex)
		return nil
	}
	var sb strings.Builder
	if t.Kind == types.Typedef {
		// gdb's ptype resolves the typedef chain; crash appends the name.
		target := resolveTop(t.Elem)
		sb.WriteString("typedef " + ptypeString(target, 0) + " " + name + ";\n")
	} else {
		sb.WriteString(ptypeString(t, 0) + "\n")
	}
	out := sb.String()
	if offsets && t.Strip().IsComposite() {
		out = withOffsets(out, t.Strip(), t.Size, 0, "", hex)
	}
	fmt.Fprint(env.Out, out)
	whatisSize(env, t.Size, hex)
	return nil
}

func whatisSize(env *Env, size uint64, hex bool) {
	if hex {
		fmt.Fprintf(env.Out, "SIZE: 0x%x\n", size)
	} else {
		fmt.Fprintf(env.Out, "SIZE: %d\n", size)
	}
}

// whatisRequest is crash's request_types: the named data types of a size
// (lowest..highest; highest 0: any size) that contain member (gdb's
// lookup_struct_contents in crash's iterate_datatypes), one per name,
// sorted by size and name.
func whatisRequest(env *Env, reg *types.Registry, lowest, highest uint64, member string) error {
	type entry struct {
		size uint64
		name string
	}
	seen := map[string]bool{}
	var found []entry
	for _, t := range reg.Named() {
		if seen[t.Name] {
			continue
		}
		if highest != 0 && !(lowest <= t.Size && t.Size <= highest) {
			continue
		}
		if member != "" && !containsMemberType(t, member, 0) {
			continue
		}
		seen[t.Name] = true
		found = append(found, entry{t.Size, t.Name})
	}
	if len(found) == 0 {
		fmt.Fprintln(env.Out, "(none found)")
		return nil
	}
	sort.Slice(found, func(i, j int) bool {
		if found[i].size != found[j].size {
			return found[i].size < found[j].size
		}
		return found[i].name < found[j].name
	})
	w := len(strconv.FormatUint(found[len(found)-1].size, 10))
	if w < 4 {
		w = 4
	}
	fmt.Fprintf(env.Out, "%*s  TYPE\n", w, "SIZE")
	for _, e := range found {
		fmt.Fprintf(env.Out, "%*d  %s\n", w, e.size, e.name)
	}
	return nil
}

// mainType strips qualifiers, which gdb keeps on a type that shares its
// main_type with the unqualified one.
func mainType(t *types.Type) *types.Type {
	for i := 0; t != nil && i < 16; i++ {
		switch t.Kind {
		case types.Const, types.Volatile, types.Restrict:
			t = t.Elem
			continue
		}
		return t
	}
	return t
}

// containsMemberType is the lookup_struct_contents of crash's gdb patch:
// a member's type, or an array member's element type, or (for a pointer)
// its target, has a name containing name; members that are structs (not
// unions, not typedefs of structs) are searched in turn.
func containsMemberType(t *types.Type, name string, depth int) bool {
	if depth > 64 {
		return false
	}
	for _, f := range t.Members {
		m := mainType(f.Type)
		if m == nil {
			continue
		}
		if m.Kind == types.Array && m.Elem != nil {
			m = mainType(m.Elem)
		}
		if m.Kind == types.Struct && containsMemberType(m, name, depth+1) {
			return true
		}
		if m.Kind == types.Pointer && m.Elem != nil {
			m = mainType(m.Elem)
		}
		if m.Name != "" && strings.Contains(m.Name, name) {
			return true
		}
	}
	return false
}
