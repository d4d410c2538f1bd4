package commands

// struct -p: a pointer member's declaration and value, then "-> " and what
// it points to, as crash's print_struct_with_dereference and
// dereference_pointer (symbols.c) show them.

import (
	"encoding/binary"
	"fmt"
	"strings"

	"kdive/internal/expr"
	"kdive/internal/types"
)

// derefStruct prints the struct at addr with each top-level pointer
// member dereferenced (crash's print_struct_with_dereference): the lines
// of the struct's value indented by two that are members; the others
// verbatim.
func (r *structReq) derefStruct(env *Env, pe *progEnv, addr uint64) error {
	po := pe.printOpts(r.radix)
	v := expr.At(pe, r.t, addr)
	s, err := expr.FormatTop(v, po)
	if err != nil {
		return err
	}
	text := fmt.Sprintf("%s %s %s\n", r.kw, r.name, s)
	st := r.t.Strip()
	for _, line := range strings.SplitAfter(text, "\n") {
		if line == "" {
			continue
		}
		indent := len(line) - len(strings.TrimLeft(line, " "))
		if indent != 2 || strings.ContainsAny(line, "{}") {
			fmt.Fprint(env.Out, line)
			continue
		}
		name, _, ok := strings.Cut(line[2:], " =")
		if ok && directMember(st, name) && r.derefMember(env, pe, addr, name) {
			continue
		}
		fmt.Fprint(env.Out, line)
	}
	return nil
}

// directMember reports a member of st itself (not one inside an
// anonymous struct or union).
func directMember(st *types.Type, name string) bool {
	for _, m := range st.Members {
		if m.Name == name && name != "" {
			return true
		}
	}
	return false
}

// derefMember is crash's dereference_pointer: when member is a pointer
// (by its line in the struct's declaration: " *m;", "**m;", "(*m)(", or
// " m;" of a typedef of a pointer), it prints "  DECL = 0xVALUE" and on
// the next line "  -> " with the target: a function's symbol, a string,
// NULL, "(not accessible)", or the pointed-to value as gdb's print shows
// it (which takes a value history number, as crash's gdb "p" does).
// It reports false when member is no pointer (or cannot be read).
func (r *structReq) derefMember(env *Env, pe *progEnv, addr uint64, member string) bool {
	st := r.t.Strip()
	f, ok := st.FindMember(member)
	if !ok {
		return false
	}
	decl := ptypeString(st, 0)
	var typeptr string
	var ptrptr, funcptr, typedefIsPtr, found bool
	for _, l := range strings.Split(decl, "\n") {
		if len(l) <= 4 || l[4] == ' ' {
			continue
		}
		switch {
		case strings.Contains(l, " *"+member+";"):
			found = true
		case strings.Contains(l, "**"+member+";"):
			found, ptrptr = true, true
		case strings.Contains(l, "(*"+member+")("):
			found, funcptr = true, true
		case strings.Contains(l, " "+member+";"):
			word, _, _ := strings.Cut(l[4:], " ")
			if t, err := pe.Types().LookupType(word); err == nil && t.Strip().Kind == types.Pointer {
				found, typedefIsPtr = true, true
			}
		}
		if found {
			typeptr = l[4:]
			break
		}
	}
	if !found {
		return false
	}
	var charptr, voidptr bool
	switch {
	case funcptr:
		typeptr, _, _ = strings.Cut(typeptr, ";")
	case ptrptr:
		i := strings.Index(typeptr, "**")
		typeptr = typeptr[:i+2]
	case typedefIsPtr:
		typeptr, _, _ = strings.Cut(typeptr, " ")
	default:
		i := strings.Index(typeptr, "*")
		typeptr = typeptr[:i+1]
		charptr = strings.Contains(typeptr, "char *")
		voidptr = !charptr && strings.Contains(typeptr, "void *")
	}
	var b [8]byte
	maddr := addr + f.Offset
	if _, err := pe.ReadAt(b[:], maddr); err != nil {
		fmt.Fprintf(env.Err, "%s: cannot access %s.%s %x\n", r.kw, r.name, member, maddr)
		return false
	}
	target := binary.LittleEndian.Uint64(b[:])
	w := env.Out
	sym := ""
	if sp, off, ok := pe.view().valueSearch(target); ok && off == 0 {
		sym = sp.Name
	}
	useSymbol := false
	if sym != "" {
		if t, err := pe.Types().LookupVar(sym); err == nil {
			switch t.Strip().Kind {
			case types.Array, types.Union, types.Struct, types.Int, types.Pointer:
				useSymbol = true
			}
		}
	}
	accessible := func(a uint64) bool {
		var c [1]byte
		_, err := pe.ReadAt(c[:], a)
		return err == nil
	}
	switch {
	case funcptr:
		fmt.Fprintf(w, "  %s = 0x%x\n  -> ", typeptr, target)
		switch {
		case sym != "":
			fmt.Fprintf(w, "<%s>\n", sym)
		case target != 0:
			fmt.Fprintf(w, "(unknown)\n")
		default:
			fmt.Fprintf(w, "NULL\n")
		}
		return true
	case charptr:
		fmt.Fprintf(w, "  %s%s = 0x%x\n  -> ", typeptr, member, target)
		if sym != "" {
			fmt.Fprintf(w, "<%s> ", sym)
		}
		if target == 0 {
			fmt.Fprintf(w, "NULL\n")
		} else if s, err := readCString(pe, target, 1499); err != nil {
			fmt.Fprintf(w, "(not accessible)\n")
		} else {
			fmt.Fprintf(w, "\"%s\"\n", s)
		}
		return true
	case voidptr && !useSymbol:
		fmt.Fprintf(w, "  %s%s = 0x%x\n  -> ", typeptr, member, target)
		switch {
		case sym != "":
			fmt.Fprintf(w, "<%s>\n", sym)
		case target == 0:
			fmt.Fprintf(w, "NULL\n")
		default:
			fmt.Fprintf(w, "(unknown target type)\n")
		}
		return true
	}
	if target == 0 || !accessible(target) {
		sp := ""
		if typedefIsPtr {
			sp = " "
		}
		fmt.Fprintf(w, "  %s%s%s = 0x%x\n  -> ", typeptr, sp, member, target)
		if target == 0 {
			fmt.Fprintf(w, "NULL\n")
		} else {
			fmt.Fprintf(w, "(not accessible)\n")
		}
		return true
	}
	if ptrptr {
		fmt.Fprintf(w, "  %s%s = 0x%x\n  -> ", typeptr, member, target)
		if sym != "" {
			fmt.Fprintf(w, "<%s> ", sym)
		}
		if _, err := pe.ReadAt(b[:], target); err != nil {
			fmt.Fprintf(w, "\n")
		} else {
			fmt.Fprintf(w, "%x\n", binary.LittleEndian.Uint64(b[:]))
		}
		return true
	}
	star := "*"
	if typedefIsPtr {
		star = ""
	} else {
		i := strings.Index(typeptr, "*")
		typeptr = typeptr[:max(i-1, 0)]
	}
	// The value gdb prints: the symbol's ("p sym"), else the target's.
	var val *expr.Value
	if useSymbol {
		v, err := expr.Eval(pe, sym)
		if err != nil {
			return false
		}
		val = v
	}
	tt, err := pe.Types().LookupType(typeptr)
	if err != nil {
		fmt.Fprintf(w, "  %s %s%s = 0x%x\n  -> (%s: no debuginfo data)\n", typeptr, star, member, target, typeptr)
		return true
	}
	if val == nil {
		if typedefIsPtr {
			tt = tt.Strip().Elem
		}
		if tt == nil {
			return false
		}
		val = expr.At(pe, tt, target)
	}
	s, err := expr.FormatTop(val, pe.printOpts(r.radix))
	if err != nil {
		return false
	}
	recordHistory(pe.prog, val)
	fmt.Fprintf(w, "  %s %s%s = 0x%x\n  -> ", typeptr, star, member, target)
	if sym != "" {
		fmt.Fprintf(w, "<%s> ", sym)
	}
	lines := strings.SplitAfter(s+"\n", "\n")
	if (typedefIsPtr || useSymbol) && strings.Contains(lines[0], "(") && strings.Contains(lines[0], ")") {
		fmt.Fprintf(w, "\n")
		return true
	}
	fmt.Fprint(w, lines[0])
	for _, l := range lines[1:] {
		// crash reads gdb's output with fgets into a BUFSIZE (1500)
		// buffer: a longer line comes in pieces, each indented.
		for len(l) > 0 {
			n := min(len(l), 1499)
			fmt.Fprint(w, "     "+l[:n])
			l = l[n:]
		}
	}
	return true
}

// readCString reads a NUL-terminated string of at most max bytes.
func readCString(pe *progEnv, addr uint64, max int) (string, error) {
	var out []byte
	buf := make([]byte, 64)
	for len(out) < max {
		n := 64 - int(addr%64)
		if _, err := pe.ReadAt(buf[:n], addr); err != nil {
			if len(out) == 0 {
				return "", err
			}
			break
		}
		for i := 0; i < n; i++ {
			if buf[i] == 0 || len(out) == max {
				return string(out), nil
			}
			out = append(out, buf[i])
		}
		addr += uint64(n)
	}
	return string(out), nil
}
