package commands

// struct, union: a structure's declaration (with member offsets), or its
// contents at an address, as crash's cmd_datatype_common and
// do_datatype_addr (symbols.c) show them.

import (
	"errors"
	"fmt"
	"kdive/internal/program"
	"os"
	"strconv"
	"strings"

	"kdive/internal/expr"
	"kdive/internal/types"
)

func init() {
	for _, kw := range []string{"struct", "union"} {
		kw := kw
		Register(&Command{
			Name:    kw,
			Summary: kw + " contents",
			Usage:   structSynopsis(kw),
			Help: fmt.Sprintf(`  Without an address, shows the declaration of %[1]s NAME as gdb does, then
  "SIZE: n".  With an address (hexadecimal) or a symbol, shows the %[1]s's
  contents there as gdb prints them.  NAME.member[,member...] limits the
  output to those members (a.b.c and a[i] reach nested members).

        -o  show member offsets; with an address, member addresses.
        -x  integers in hexadecimal.  -d  integers in decimal.
   -c count  show count consecutive %[1]ss (also: a count after the address;
            a negative count ends at the address).
  -l offset  the address is that of a member at offset (a number or
            struct.member) inside the %[1]s.
        -r  the raw bytes (of the %[1]s or one member), as rd shows them;
            -v adds symbols.
        -p  each pointer member with its declaration, then "-> " and what it
            points to: the target %[1]s's contents, a string, a function's
            symbol, NULL or "(not accessible)" (needs an address).
        -u  the address is a user virtual address of the current context
            (read through its page tables).
        -f  the address is an offset in the dump file.
  ADDRESS:CPUS  a per-CPU symbol's instance on each of CPUS (a, all, n,
            n-m, lists).

EXAMPLES
    kdive> %[1]s list_head ffffffff9be1b2d0
    %[1]s list_head {
      next = 0xffff8ef0811ea090,
      prev = 0xffff8ef09fe0d090
    }
    kdive> struct task_struct.comm,pid init_task
      comm = "swapper/0\000\000\000\000\000\000",
      pid = 0,`, kw),
			Run: func(env *Env, args []string) error { return structCommand(env, env.Prog, kw, args) },
		})
	}
}

func structSynopsis(kw string) string {
	return fmt.Sprintf("%s_name[.member[,member]][-o][-l offset][-rfuxdp]\n       [address | symbol][:cpuspec] [count | -c count]", kw)
}

type structReq struct {
	kw      string // "struct" or "union"
	t       *types.Type
	name    string // the name as given (tag or typedef)
	members []string
	offsets bool
	raw     bool // -r: the bytes, as rd shows them
	verbose bool // -v: with -r, symbolic
	deref   bool // -p: dereference pointer members
	radix   int
	// sessionHex: no -x/-d, and the session's output radix is 16 (set
	// radix 16 / set hex): offsets and sizes in hexadecimal, as crash.
	sessionHex bool
}

func structCommand(env *Env, prog typeTarget, kw string, args []string) error {
	opts, rest, err := getopt(kw, args, "pxdhfuc:rvol:")
	if err != nil {
		writeUsage(env, kw, structSynopsis(kw))
		return err
	}
	req := &structReq{kw: kw}
	count, haveCount := int64(1), false
	user, fileOff := false, false
	var listOff uint64
	listOffArg := ""
	for _, o := range opts {
		switch o.c {
		case 'o':
			req.offsets = true
		case 'x', 'h':
			if req.radix == 10 {
				return errors.New("-d and -x are mutually exclusive")
			}
			req.radix = 16
		case 'd':
			if req.radix == 16 {
				return errors.New("-d and -x are mutually exclusive")
			}
			req.radix = 10
		case 'c':
			n, err := strconv.ParseInt(o.arg, 10, 64)
			if err != nil {
				n = 0 // atoi
			}
			count, haveCount = n, true
		case 'l':
			listOffArg = o.arg
		case 'r':
			req.raw = true
		case 'v':
			req.verbose = true
		case 'p':
			req.deref = true
		case 'u':
			user = true
		case 'f':
			fileOff = true
		default:
			return fmt.Errorf("-%c is not supported", o.c)
		}
	}
	if len(rest) == 0 {
		writeUsage(env, kw, structSynopsis(kw))
		return errors.New("missing argument")
	}
	if r, ok := prog.(interface{ OutputRadix() int }); ok && req.radix == 0 && r.OutputRadix() == 16 {
		req.sessionHex = true
	}
	userEnd := uint64(0)
	if user {
		// -u: the address is a user virtual address of the current
		// context; the struct is read through its page tables.
		p, ok := prog.(*program.Program)
		if !ok {
			return errors.New("-u: no dump is open")
		}
		if req.raw {
			return errors.New("-r is not supported with -u")
		}
		w, end, err := userPageTables(p)
		if err != nil {
			return err
		}
		prog, userEnd = userMem{Program: p, w: w}, end
	}
	if fileOff {
		// -f: the address is an offset in the dump file.
		p, ok := prog.(*program.Program)
		if !ok || p.Dump == nil {
			return errors.New("-f: no dump file is open")
		}
		if user || req.raw {
			return errors.New("-f cannot be used with -u or -r")
		}
		f, err := os.Open(p.Dump.Info().Path)
		if err != nil {
			return err
		}
		defer f.Close()
		prog = fileMem{Program: p, f: f}
	}
	spec := rest[0]
	if strings.HasSuffix(spec, ",") || strings.HasSuffix(spec, ".") {
		return fmt.Errorf("invalid format: %s", spec)
	}
	pe := newProgEnv(prog)
	var addr uint64
	haveAddr := false
	cpuspec, hasSpec := "", false
	for _, a := range rest[1:] {
		if haveAddr && haveCount {
			return errors.New("too many arguments!")
		}
		if !haveAddr {
			if i := strings.IndexByte(a, ':'); i >= 0 {
				cpuspec, hasSpec = a[i+1:], true
				a = a[:i]
			}
		}
		switch {
		case isCrashDecimal(a) || isCrashHex(a):
			if haveAddr {
				n, err := parseCrashNumber(a)
				if err != nil {
					return err
				}
				count, haveCount = int64(n), true
				continue
			}
			parse := parseCrashHex
			if fileOff {
				parse = parseCrashNumber // crash's stoll: decimal when all digits
			}
			v, err := parse(a)
			if err != nil {
				return err
			}
			if user && v >= userEnd {
				return fmt.Errorf("invalid user virtual address: %s", a)
			}
			if !user && !fileOff && v < 0xffff800000000000 {
				return fmt.Errorf("invalid kernel virtual address: %s", a)
			}
			addr, haveAddr = v, true
		case strings.HasPrefix(a, "(") && !haveAddr:
			// kdive: a C expression for the address.
			v, err := expr.Eval(pe, a)
			if err != nil {
				return err
			}
			u, err := v.Uint()
			if err != nil {
				return err
			}
			addr, haveAddr = u, true
		default:
			if s, _, ok := pe.Symbol(a); ok && !haveAddr {
				if hasSpec && !isPerCPUSymbol(pe, a) {
					fmt.Fprintf(env.Err, "WARNING: %s is not percpu; cpuspec ignored.\n", a)
					hasSpec = false
				}
				addr, haveAddr = s, true
				continue
			}
			fmt.Fprintf(env.Out, "symbol not found: %s\npossible alternatives:\n", a)
			if !symbolQuery(env, pe, a) {
				fmt.Fprintf(env.Out, "  (none found)\n")
			}
			return nil
		}
	}
	if haveCount && !haveAddr {
		return errors.New("no kernel virtual address argument entered")
	}
	if req.deref && !haveAddr {
		return errors.New("-p option requires address argument")
	}
	name, memberList, _ := strings.Cut(spec, ".")
	if memberList != "" {
		for _, m := range strings.Split(memberList, ",") {
			if m != "" {
				req.members = append(req.members, m)
			}
		}
	}
	reg := prog.Types()
	t, err := reg.LookupType(name)
	if err == nil && !t.IsComposite() {
		err = types.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("invalid data structure reference: %s", name)
	}
	if k := t.Strip().Kind.String(); k != kw {
		return fmt.Errorf("data type mismatch: %s is not a %s", name, kw)
	}
	req.t, req.name = t, name
	if listOffArg != "" {
		if isCrashDecimal(listOffArg) || isCrashHex(listOffArg) {
			listOff, _ = parseCrashNumber(listOffArg)
		} else if off, err := memberOffsetOf(reg, listOffArg); err == nil {
			listOff = off
		} else {
			return fmt.Errorf("invalid -l option: %s", listOffArg)
		}
	}
	if len(req.members) > 1 && !haveAddr {
		if req.offsets {
			fmt.Fprintf(env.Err, "%s: -o option not valid with multiple member format\n", kw)
		} else {
			fmt.Fprintf(env.Err, "%s: multiple member format not supported in this syntax\n", kw)
		}
		req.members = nil
		req.offsets = true
	}
	if len(req.members) > 1 && haveAddr && req.offsets {
		return errors.New("-o option not valid with multiple member format")
	}
	if !haveAddr {
		return req.declaration(env, 0)
	}
	addr -= listOff
	size := req.t.Size
	if count < 0 {
		addr -= size * uint64(-count)
		addr += size
		count = -count
	}
	one := func(addr uint64) error {
		for c := int64(0); c < count; c++ {
			if c > 0 {
				fmt.Fprintln(env.Out)
			}
			if err := req.contents(env, pe, addr+uint64(c)*size); err != nil {
				return err
			}
		}
		return nil
	}
	if !hasSpec {
		return one(addr)
	}
	offs := perCPUOffsets(prog)
	if cpuspec == "" {
		// The CPU of the current context (set).
		if cpuspec, err = contextCPUSpec(prog); err != nil {
			return err
		}
	}
	cpus, err := crashCPUMask(cpuspec, len(offs))
	if err != nil {
		return err
	}
	for _, c := range cpus {
		fmt.Fprintf(env.Out, "[%d]: %x\n", c, addr+offs[c])
		if err := one(addr + offs[c]); err != nil {
			return err
		}
	}
	return nil
}

// isPerCPUSymbol reports a kernel or module symbol in the per-CPU area.
func isPerCPUSymbol(pe *progEnv, name string) bool {
	v := pe.view()
	l := v.search(name)
	return len(l) > 0 && v.isPerCPU(l[0])
}

// memberOffsetOf reads "struct.member" and returns the member's offset.
func memberOffsetOf(reg *types.Registry, s string) (uint64, error) {
	name, member, ok := strings.Cut(s, ".")
	if !ok {
		return 0, types.ErrNotFound
	}
	t, err := reg.LookupType(name)
	if err != nil {
		return 0, err
	}
	off, _, err := t.MemberPath(member)
	return off, err
}

// symbolQuery is crash's symbol_query: the symbols whose names contain s.
func symbolQuery(env *Env, pe *progEnv, s string) bool {
	found := false
	for _, sp := range pe.view().kern {
		if strings.Contains(sp.Name, s) {
			fmt.Fprintf(env.Out, "  %s\n", sp.Name)
			found = true
		}
	}
	return found
}

// declaration prints the type's declaration: all of it with "SIZE: n",
// or one member's line with its offset (or address, when vaddr != 0).
func (r *structReq) declaration(env *Env, vaddr uint64) error {
	st := r.t.Strip()
	text := ptypeString(st, 0) + "\n"
	if r.t.Kind == types.Typedef {
		text = "typedef " + strings.TrimSuffix(text, "\n") + " " + r.name + ";\n"
	}
	member := ""
	if len(r.members) == 1 {
		member = r.members[0]
		if _, ok := st.FindMember(member); !ok {
			return fmt.Errorf("invalid data structure reference: %s.%s", r.name, member)
		}
	}
	if r.offsets || member != "" {
		text = withOffsets(text, st, r.t.Size, vaddr, member, r.hex())
	}
	fmt.Fprint(env.Out, text)
	if member == "" {
		if r.hex() {
			fmt.Fprintf(env.Out, "SIZE: 0x%x\n", r.t.Size)
		} else {
			fmt.Fprintf(env.Out, "SIZE: %d\n", r.t.Size)
		}
	}
	return nil
}

// hex reports sizes and offsets in hexadecimal (-x, or the session's radix).
func (r *structReq) hex() bool { return r.radix == 16 || r.radix == 0 && r.sessionHex }

// withOffsets is crash's show_member_offset applied to each member line of
// a declaration: "  [offset]" (or "  [address]") right-aligned in a field
// as wide as the struct's size plus 4, then the line less 3 of its
// leading blanks; lines crash finds no member in get blanks instead (hex:
// the size and offsets in hexadecimal, as with -x). With
// member set, only that member's line is kept.
func withOffsets(text string, st *types.Type, size, vaddr uint64, member string, hex bool) string {
	sizeStr := strconv.FormatUint(size, 10)
	if hex {
		// gdb's output radix 16 (-x): sizes and offsets as 0x...
		sizeStr = fmt.Sprintf("%#x", size)
	}
	width := len(sizeStr) + 4
	var sb strings.Builder
	lines := strings.SplitAfter(text, "\n")
	for _, line := range lines {
		if line == "" {
			continue
		}
		if line[0] != ' ' && line[0] != '\t' {
			sb.WriteString(line)
			continue
		}
		target := offsetTarget(line)
		if target == "" {
			if member == "" {
				sb.WriteString(strings.Repeat(" ", len(sizeStr)+1) + line)
			}
			continue
		}
		if member != "" && target != member {
			continue
		}
		f, ok := st.FindMember(target)
		if !ok {
			if member == "" {
				sb.WriteString(strings.Repeat(" ", len(sizeStr)+1) + line)
			}
			continue
		}
		var lab string
		if vaddr != 0 {
			lab = fmt.Sprintf("  [%x]", vaddr+f.Offset)
		} else if hex {
			lab = fmt.Sprintf("  [%#x]", f.Offset)
		} else {
			lab = fmt.Sprintf("  [%d]", f.Offset)
		}
		fmt.Fprintf(&sb, "%*s", width, lab)
		if len(line) > 3 {
			sb.WriteString(line[3:])
		}
	}
	return sb.String()
}

// offsetTarget finds the member name in a declaration line as crash's
// show_member_offset does.
func offsetTarget(line string) string {
	words := strings.Fields(line)
	target := ""
	switch {
	case strings.Contains(line, ":"):
		for i, w := range words {
			if i > 0 && w == ":" {
				target = words[i-1]
				break
			}
		}
	case len(words) > 0:
		found := false
		if strings.Contains(line, "(*") {
			for _, w := range words {
				var t string
				switch {
				case strings.HasPrefix(w, "(*"):
					t = w[2:]
				case strings.HasPrefix(w, "*(*"):
					t = w[3:]
				case strings.HasPrefix(w, "**(*"):
					t = w[4:]
				default:
					continue
				}
				if j := strings.Index(t, ")"); j >= 0 {
					target = t[:j]
					found = true
					break
				}
			}
		}
		if !found {
			last := words[len(words)-1]
			if strings.Contains(last, ";") {
				target = last
			}
		}
	}
	if target == "" {
		return ""
	}
	target = strings.Map(func(r rune) rune {
		if strings.ContainsRune("*[];()", r) {
			return ' '
		}
		return r
	}, target)
	f := strings.Fields(target)
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

// contents prints the struct at addr, or the requested members.
func (r *structReq) contents(env *Env, pe *progEnv, addr uint64) error {
	if r.offsets {
		return r.declaration(env, addr)
	}
	if r.raw {
		return r.rawDump(env, pe, addr)
	}
	if r.deref && len(r.members) == 0 {
		return r.derefStruct(env, pe, addr)
	}
	po := pe.printOpts(r.radix)
	v := expr.At(pe, r.t, addr)
	if len(r.members) == 0 {
		s, err := expr.FormatTop(v, po)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Out, "%s %s %s\n", r.kw, r.name, s)
		return nil
	}
	for _, m := range r.members {
		if r.deref && directMember(r.t.Strip(), m) && r.derefMember(env, pe, addr, m) {
			continue
		}
		line, err := memberLine(v, m, po)
		if err != nil {
			return fmt.Errorf("invalid data structure member reference: %s", m)
		}
		fmt.Fprint(env.Out, line)
	}
	return nil
}

// memberLine prints one member of a struct value as crash's
// parse_for_member(_extended) cuts it from gdb's output: "  path = value"
// and a comma unless the member is the last of its braces.
func memberLine(v *expr.Value, path string, po expr.PrintOpts) (string, error) {
	cur := v
	last := true
	indent := "  "
	for i, part := range splitPath(path) {
		name, idx := part.name, part.idx
		st := cur.Type.Strip()
		f, ok := st.FindMember(name)
		if !ok {
			return "", fmt.Errorf("no member %s", name)
		}
		container := st
		if len(f.Via) > 0 {
			container = f.Via[len(f.Via)-1].Type.Strip()
			if i == 0 {
				// crash cuts the member's line out of gdb's output as it
				// is: inside anonymous structs/unions, deeper indented.
				indent += strings.Repeat("  ", len(f.Via))
			}
		}
		last = len(container.Members) > 0 && container.Members[len(container.Members)-1].Name == name
		mv, err := cur.Member(name)
		if err != nil {
			return "", err
		}
		for _, i := range idx {
			a := mv.Type.Strip()
			if a.Kind != types.Array {
				return "", fmt.Errorf("%s is not an array", name)
			}
			last = uint64(i) == a.Len-1
			if mv, err = mv.Index(i); err != nil {
				return "", err
			}
		}
		cur = mv
	}
	if cur.LVal && cur.BitSize == 0 {
		if _, err := cur.Bytes(); err != nil {
			return "", err
		}
	}
	s, err := expr.Format(cur, po, len(indent)/2)
	if err != nil {
		return "", err
	}
	comma := ","
	if last {
		comma = ""
	}
	return indent + path + " = " + s + comma + "\n", nil
}

type pathPart struct {
	name string
	idx  []int64
}

func splitPath(path string) []pathPart {
	var out []pathPart
	for _, p := range strings.Split(path, ".") {
		pp := pathPart{name: p}
		if i := strings.IndexByte(p, '['); i >= 0 {
			pp.name = p[:i]
			for _, s := range strings.Split(p[i+1:], "[") {
				s = strings.TrimSuffix(s, "]")
				n, _ := strconv.ParseInt(s, 0, 64)
				pp.idx = append(pp.idx, n)
			}
		}
		out = append(out, pp)
	}
	return out
}

// rawDump is crash's raw_data_dump for struct -r: the struct's (or one
// member's) bytes as rd shows them, in 64-bit words with ASCII (8-, 16-
// and 32-bit items for members of that size), symbolic with -v.
func (r *structReq) rawDump(env *Env, pe *progEnv, addr uint64) error {
	size := r.t.Size
	if len(r.members) > 1 {
		return errors.New("only one structure member allowed with -r")
	}
	if len(r.members) == 1 {
		off, mt, err := r.t.Strip().MemberPath(r.members[0])
		if err != nil {
			return fmt.Errorf("invalid data structure reference: %s.%s", r.name, r.members[0])
		}
		addr += off
		size = mt.Size
	}
	rt, ok := pe.prog.(rdTarget)
	if !ok {
		return errors.New("-r: this program cannot display raw memory")
	}
	words := (size + 7) / 8
	var args []string
	switch size {
	case 1:
		args = append(args, "-8")
	case 2:
		args = append(args, "-16")
	case 4:
		args = append(args, "-32")
	}
	if r.verbose {
		args = append(args, "-s")
	}
	if size == 1 || size == 2 || size == 4 {
		words = 1
	}
	args = append(args, fmt.Sprintf("%x", addr), strconv.FormatUint(words, 10))
	return rdCommand(env, rt, args)
}

// RunTypeShorthand is crash's fallback for an unknown command name that is
// a structure or union name, alone or as NAME.member[,member]
// ("task_struct.pid ADDR" for "struct task_struct.pid ADDR"): it runs
// struct or union with the whole line and reports true; false when name
// is no such type. The session calls it before "command not found".
func RunTypeShorthand(env *Env, name string, args []string) (bool, error) {
	if env.Prog == nil {
		return false, nil
	}
	tname, _, _ := strings.Cut(name, ".")
	if tname == "" || strings.ContainsAny(tname, " */()[]") {
		return false, nil
	}
	t, err := env.Prog.Types().LookupType(tname)
	if err != nil || !t.IsComposite() {
		return false, nil
	}
	kw := t.Strip().Kind.String()
	return true, structCommand(env, env.Prog, kw, append([]string{name}, args...))
}

// TypeShorthand returns a command that runs RunTypeShorthand for an unknown
// command name that names a structure or union ("task_struct.pid"), or nil
// when it names none; the session asks it before "command not found".
func TypeShorthand(prog *program.Program, name string) *Command {
	if prog == nil {
		return nil
	}
	tname, _, _ := strings.Cut(name, ".")
	if tname == "" || strings.ContainsAny(tname, " */()[]") {
		return nil
	}
	t, err := prog.Types().LookupType(tname)
	if err != nil || !t.IsComposite() {
		return nil
	}
	return &Command{Name: t.Strip().Kind.String(), Run: func(env *Env, args []string) error {
		_, err := RunTypeShorthand(env, name, args)
		return err
	}}
}

// fileMem reads the dump file itself at an offset (struct -f); everything
// else is the program's.
type fileMem struct {
	*program.Program
	f *os.File
}

func (m fileMem) ReadAt(b []byte, off uint64) (int, error) {
	if off > 1<<62 {
		return 0, fmt.Errorf("dump file offset %x: out of range", off)
	}
	n, err := m.f.ReadAt(b, int64(off))
	if n < len(b) {
		return n, fmt.Errorf("dump file offset %x: %v", off+uint64(n), err)
	}
	return n, nil
}
