package commands

// list: walk a linked list, as crash's cmd_list and do_list (tools.c) do.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"kdive/internal/expr"
	"kdive/internal/types"
)

func init() {
	Register(&Command{
		Name:    "list",
		Summary: "walk a linked list",
		Usage:   listSynopsis,
		Help: `  Walks a list whose next pointer is at offset OFFSET in each entry,
  printing each entry's address, from START until a NULL pointer, START
  again, the end address or a repeated entry.

   -o offset  the next pointer's offset: a number or struct.member (also
              accepted without -o as a leading struct.member argument).
   -h start   START is an embedded list_head (its struct address shown is
              START minus the offset); the walk follows list_head.next.
   -H start   START is a standalone list_head (a list's head): the walk
              begins with its next, which it does not show.
          -r  follow list_head.prev instead (reverse), with -h or -H.
   -O offset  with -h, the head's list_head is at this offset in START.
   -e end     stop at this address.
   -s struct[.member[,member]]  also show each entry's struct (or members);
              repeatable.
   -S struct.member[,member]  the same, members of up to 8 bytes read raw
              (decimal, pointers in hex), char arrays and pointers as
              strings: crash's faster format.
   -l offset  with -s, the list_head is at this offset in the struct.
       -x/-d  integers in -s output in hexadecimal / decimal.
          -B  detect loops with Brent's algorithm (no table of entries).

  A next pointer that is LIST_POISON1/2 (0xdead000000000100/122) is named
  in the error: the entry was deleted while on the list.

EXAMPLES
    kdive> list task_struct.tasks -h init_task
    ffffffff9be1aa40
    ffff8ef0811e9800
    ...
    kdive> list -H modules -o module.list -s module.name`,
		Run: func(env *Env, args []string) error { return listCommand(env, env.Prog, args) },
	})
}

const listSynopsis = "[[-o] offset][-e end][-[s|S] struct[.member[,member] [-l offset]] -[x|d]]\n       [-r|-B] [-h|-H] start"

const (
	listPoison1 = 0xdead000000000100
	listPoison2 = 0xdead000000000122
)

type listReq struct {
	start, end       uint64
	memberOff        uint64
	listHeadOff      uint64
	structListOff    uint64
	structs          []string
	fast             bool // -S: crash's dump_struct_members_fast
	radix            int
	headFormat       bool
	headPointer      bool
	reverse          bool
	brent            bool
	startSet, offSet bool
}

func isKVAddr(a uint64) bool { return a >= 0xffff800000000000 }

func listCommand(env *Env, prog typeTarget, args []string) error {
	opts, rest, err := getopt("list", args, "BHhrs:S:e:o:O:xdl:")
	usage := func(err error) error {
		writeUsage(env, "list", listSynopsis)
		return err
	}
	if err != nil {
		return usage(err)
	}
	r := &listReq{}
	reg := prog.Types()
	pe := newProgEnv(prog)
	var headMemberOff uint64
	headOffSet := false
	structListOffSet := false
	numOrMember := func(s, what string) (uint64, error) {
		if isCrashDecimal(s) || isCrashHex(s) {
			return parseCrashNumber(s)
		}
		if off, err := memberOffsetOf(reg, s); err == nil {
			return off, nil
		}
		return 0, fmt.Errorf("invalid %s: %s", what, s)
	}
	for _, o := range opts {
		switch o.c {
		case 'B':
			r.brent = true
		case 'H':
			r.headFormat, r.headPointer = true, true
		case 'h':
			r.headFormat = true
		case 'r':
			r.headFormat, r.reverse = true, true
		case 's', 'S':
			if len(r.structs) > 0 && r.fast != (o.c == 'S') {
				return errors.New("-S and -s options are mutually exclusive")
			}
			r.structs = append(r.structs, o.arg)
			r.fast = o.c == 'S'
		case 'l':
			v, err := numOrMember(o.arg, "-l option")
			if err != nil {
				return err
			}
			r.structListOff, structListOffSet = v, true
		case 'O':
			if headOffSet {
				return fmt.Errorf("offset value %d (0x%x) already entered", headMemberOff, headMemberOff)
			}
			v, err := numOrMember(o.arg, "-O argument")
			if err != nil {
				return err
			}
			headMemberOff, headOffSet = v, true
		case 'o':
			if r.offSet {
				return fmt.Errorf("offset value %d (0x%x) already entered", r.memberOff, r.memberOff)
			}
			v, err := numOrMember(o.arg, "-o argument")
			if err != nil {
				return err
			}
			r.memberOff, r.offSet = v, true
		case 'e':
			v, err := parseCrashHex(o.arg)
			if err != nil {
				return err
			}
			r.end = v
		case 'x':
			if r.radix == 10 {
				return errors.New("-d and -x are mutually exclusive")
			}
			r.radix = 16
		case 'd':
			if r.radix == 16 {
				return errors.New("-d and -x are mutually exclusive")
			}
			r.radix = 10
		}
	}
	if len(rest) > 2 {
		fmt.Fprintf(env.Err, "list: too many arguments\n")
		return usage(errors.New("too many arguments"))
	}
	if structListOffSet && len(r.structs) == 0 {
		fmt.Fprintf(env.Err, "list: -l option can only be used with -s or -S option\n")
		return usage(errors.New("-l option can only be used with -s or -S option"))
	}
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		if strings.Contains(a, ".") {
			if off, err := memberOffsetOf(reg, a); err == nil {
				if r.offSet {
					return fmt.Errorf("offset value %d (0x%x) already entered", r.memberOff, r.memberOff)
				}
				r.memberOff, r.offSet = off, true
				continue
			}
		}
		if s, _, ok := pe.Symbol(a); ok {
			if r.startSet {
				return errors.New("list start already entered")
			}
			r.start, r.startSet = s, true
			continue
		}
		isNum := isCrashDecimal(a) || isCrashHex(a)
		if !isNum {
			if v, err := evalExpr(a, lazySyms(pe.view)); err == nil && isKVAddr(v) {
				if r.startSet {
					return errors.New("list start already entered")
				}
				r.start, r.startSet = v, true
				continue
			}
			if strings.HasPrefix(a, "(") {
				// kdive: a C expression.
				if v, err := expr.Eval(pe, a); err == nil {
					if u, err := v.Uint(); err == nil && isKVAddr(u) {
						r.start, r.startSet = u, true
						continue
					}
				}
			}
			return fmt.Errorf("invalid argument: %s", a)
		}
		if r.startSet {
			v, err := parseCrashNumber(a)
			if err != nil {
				return err
			}
			r.memberOff, r.offSet = v, true
			break
		}
		if r.offSet || i+1 >= len(rest) {
			v, err := parseCrashHex(a)
			if err != nil {
				return err
			}
			if !isKVAddr(v) {
				return fmt.Errorf("invalid kernel virtual address: %s", a)
			}
			r.start, r.startSet = v, true
			break
		}
		if _, _, ok := pe.Symbol(rest[i+1]); ok {
			v, err := parseCrashNumber(a)
			if err != nil {
				return err
			}
			r.memberOff, r.offSet = v, true
			continue
		}
		if v, err := parseCrashHex(a); err == nil && isKVAddr(v) {
			r.start, r.startSet = v, true
			continue
		}
		v, err := parseCrashNumber(a)
		if err != nil {
			return err
		}
		r.memberOff, r.offSet = v, true
	}
	if !r.startSet {
		fmt.Fprintf(env.Err, "list: starting address required\n")
		return usage(errors.New("starting address required"))
	}
	if r.offSet && structListOffSet {
		fmt.Fprintf(env.Err, "list: -l and -o are mutually exclusive\n")
		return usage(errors.New("-l and -o are mutually exclusive"))
	}
	if r.headFormat {
		r.listHeadOff = r.memberOff
		r.memberOff = 0
		if r.reverse {
			r.memberOff = 8
		}
		switch {
		case r.headPointer:
			if r.end == 0 {
				r.end = r.start
			}
			v, err := readPtr(pe.prog, r.start+r.memberOff, "LIST_HEAD contents")
			if err != nil {
				return err
			}
			r.start = v
			if r.start == r.end {
				fmt.Fprintf(env.Out, "(empty)\n")
				return nil
			}
		case headOffSet:
			if r.end == 0 {
				r.end = r.start + headMemberOff
			}
			v, err := readPtr(pe.prog, r.start+headMemberOff, "LIST_HEAD contents")
			if err != nil {
				return err
			}
			r.start = v
			if r.start == r.end {
				fmt.Fprintf(env.Out, "(empty)\n")
				return nil
			}
		default:
			r.start += r.listHeadOff
		}
	}
	return r.walk(env, pe)
}

// readPtr reads a pointer, with crash's readmem error and the list
// poison values named.
func readPtr(prog typeTarget, addr uint64, what string) (uint64, error) {
	var b [8]byte
	n, err := prog.ReadAt(b[:], addr)
	if err == nil && n < 8 {
		err = errors.New("short read")
	}
	if err != nil {
		return 0, readError(err, kvaddr, addr+uint64(n), what)
	}
	return binary.LittleEndian.Uint64(b[:]), nil
}

func poisonName(v uint64) string {
	switch v {
	case listPoison1:
		return "LIST_POISON1"
	case listPoison2:
		return "LIST_POISON2"
	}
	return ""
}

// walk is crash's do_list (or do_list_no_hash with -B).
func (r *listReq) walk(env *Env, pe *progEnv) error {
	next := r.start
	first, err := readPtr(pe.prog, next+r.memberOff, "first list entry")
	if err != nil {
		return err
	}
	var seen map[uint64]bool
	if !r.brent {
		seen = map[uint64]bool{}
	}
	// Brent: x is the saved entry, y the walker; power and lambda as
	// crash's brent_r and brent_lambda.
	bx, by := next, first
	power, lambda := uint64(2), uint64(0)
	count := 0
	var last uint64
	for {
		fmt.Fprintf(env.Out, "%x\n", next-r.listHeadOff)
		if err := r.showStructs(env, pe, next); err != nil {
			return err
		}
		if seen != nil && next != 0 {
			if seen[next-r.listHeadOff] {
				return fmt.Errorf("\nduplicate list entry: %x", next)
			}
			seen[next-r.listHeadOff] = true
		}
		count++
		last = next
		n, err := readPtr(pe.prog, next+r.memberOff, "list entry")
		if err != nil {
			return err
		}
		next = n
		if r.brent {
			if count > 1 && bx == by {
				fmt.Fprintf(env.Err, "list: loop detected, loop length: %d\n", lambda)
				// The loop's first entry: walk x from the start and y
				// lambda entries ahead until they meet.
				x, y := r.start, r.start
				for i := uint64(0); i < lambda; i++ {
					if y, err = readPtr(pe.prog, y+r.memberOff, "list entry"); err != nil {
						return err
					}
				}
				for x != y {
					if x, err = readPtr(pe.prog, x+r.memberOff, "list entry"); err != nil {
						return err
					}
					if y, err = readPtr(pe.prog, y+r.memberOff, "list entry"); err != nil {
						return err
					}
				}
				return fmt.Errorf("\nduplicate list entry: %x", x)
			}
			if power == lambda {
				bx = by
				power *= 2
				lambda = 0
			}
			by = next
			lambda++
		}
		if next == 0 {
			if r.headFormat {
				return errors.New("\ninvalid list entry: 0")
			}
			break
		}
		if p := poisonName(next); p != "" {
			// crash shows the poisoned pointer as an entry, then fails to
			// read it; kdive says what the value means.
			fmt.Fprintf(env.Out, "%x\n", next-r.listHeadOff)
			return fmt.Errorf("invalid kernel virtual address: %x  type: \"list entry\" (%s: the entry at %x was deleted by list_del while on the list)", next+r.memberOff, p, last-r.listHeadOff)
		}
		if next == r.end || next == r.start || next == last || (next == first && count != 1) {
			break
		}
	}
	return nil
}

// showStructs prints the -s structures or members of the entry at next.
func (r *listReq) showStructs(env *Env, pe *progEnv, next uint64) error {
	if len(r.structs) == 0 {
		return nil
	}
	reg := pe.Types()
	po := pe.printOpts(r.radix)
	base := next - r.listHeadOff - r.structListOff
	for _, s := range r.structs {
		name, members, hasDot := strings.Cut(s, ".")
		t, err := reg.LookupType(name)
		if err != nil || !t.IsComposite() {
			if hasDot {
				return fmt.Errorf("invalid structure name: %s", name)
			}
			return fmt.Errorf("invalid structure name: %s", s)
		}
		v := expr.At(pe, t, base)
		if !hasDot {
			out, err := expr.FormatTop(v, po)
			if err != nil {
				return err
			}
			fmt.Fprintf(env.Out, "%s %s %s\n", t.Strip().Kind, name, out)
			continue
		}
		for _, m := range strings.Split(members, ",") {
			if m == "" {
				continue
			}
			if r.fast {
				line, ok, err := fastMember(pe, v, m, r.radix)
				if err != nil {
					return err
				}
				if ok {
					fmt.Fprint(env.Out, line)
					continue
				}
			}
			line, err := memberLine(v, m, po)
			if err != nil {
				return fmt.Errorf("invalid data structure reference: %s.%s", name, m)
			}
			fmt.Fprint(env.Out, line)
		}
	}
	return nil
}

// fastMember is crash's print_value for list -S: a member of at most 8
// bytes read raw and shown in decimal (hexadecimal with -x, and always
// for pointers) with a text symbol's name, a char array or char pointer
// as its string. ok is false for members it leaves to the -s format.
func fastMember(pe *progEnv, v *expr.Value, m string, radix int) (string, bool, error) {
	st := v.Type.Strip()
	f, found := st.FindMember(m)
	if !found {
		return "", false, fmt.Errorf("Can't get offset of '%s.%s'", st.Name, m)
	}
	mt := f.Type.Strip()
	isPtr := mt.Kind == types.Pointer
	isStr := false
	if e := mt.Elem; e != nil && (mt.Kind == types.Pointer || mt.Kind == types.Array) {
		es := e.Strip()
		isStr = es.Kind == types.Int && es.Char && es.Size == 1
	}
	width := f.Type.Size
	addr := v.Addr + f.Offset
	if width == 0 || width > 8 {
		if !isStr {
			return "", false, nil
		}
		b := make([]byte, width)
		if _, err := pe.ReadAt(b, addr); err != nil {
			return fmt.Sprintf("cannot access member: %s at %x\n", m, addr), true, nil
		}
		if i := bytes.IndexByte(b, 0); i >= 0 {
			b = b[:i]
		}
		return fmt.Sprintf("  %s = \"%s\"\n", m, b), true, nil
	}
	b := make([]byte, 8)
	if _, err := pe.ReadAt(b[:width], addr); err != nil {
		return fmt.Sprintf("cannot access member: %s at %x\n", m, addr), true, nil
	}
	val := binary.LittleEndian.Uint64(b)
	var sb strings.Builder
	if radix == 16 || isPtr {
		fmt.Fprintf(&sb, "  %s = 0x%x", m, val)
	} else {
		fmt.Fprintf(&sb, "  %s = %d", m, val)
	}
	switch {
	case isStr && isPtr:
		fmt.Fprintf(&sb, "  \"%s\"", readCStringRaw(pe, val))
	case isStr:
		c := b[:width]
		if i := bytes.IndexByte(c, 0); i >= 0 {
			c = c[:i]
		}
		fmt.Fprintf(&sb, "  %s = \"%s\"", m, c)
	default:
		vw := pe.view()
		if sp, _, ok := vw.valueSearch(val); ok && vw.isText(sp) {
			fmt.Fprintf(&sb, " <%s>", sp.Name)
		}
	}
	sb.WriteString("\n")
	return sb.String(), true, nil
}

// readCStringRaw reads a NUL-terminated string of at most 1500 bytes
// (crash's read_string into a BUFSIZE buffer), "" when unreadable.
func readCStringRaw(pe *progEnv, addr uint64) string {
	var out []byte
	b := make([]byte, 1)
	for len(out) < 1499 {
		if _, err := pe.ReadAt(b, addr+uint64(len(out))); err != nil || b[0] == 0 {
			break
		}
		out = append(out, b[0])
	}
	return string(out)
}
