package commands

// gdb list: gdb's source listing, which crash users reach with
// "gdb list" (crash's own list walks linked lists). gdb 10.2's forms:
// "list FUNCTION" and "list FILE:LINE" and "list LINE" ten lines centred
// on the line (from five before), "list *ADDRESS" the same after
// "0xADDR is in FUNCTION (FILE:LINE).", "list LOCATION,+N" from the line
// to N lines after it, "list" the ten lines after the last listed. Lines
// print as disassemble /m prints them (source text, or gdb's
// "No such file or directory." once and "in FILE" after).

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"kdive/internal/program"
)

// listState is gdb's current source position: the file last listed and
// the line after the last one listed.
type listState struct {
	t    program.LineTable
	file int
	next int
	ok   bool
}

type listStateKey struct{}

func (g *gdbDis) listState() *listState {
	return g.prog.Memo(listStateKey{}, func() any { return &listState{} }).(*listState)
}

// gdbList runs gdb's list with the words after "list".
func gdbList(env *Env, args []string) error {
	p := env.Prog
	v := viewOf(p)
	g := &gdbDis{env: env, prog: p, v: v, d: &disassembler{prog: p, v: v, radix: 10}}
	st := g.listState()
	arg, err := expandPC(p, strings.TrimSpace(strings.Join(args, " ")))
	if err != nil {
		return err
	}
	if arg == "" {
		if !st.ok {
			return errors.New("No symbol table is loaded.  Use the \"file\" command.")
		}
		return g.listLines(st.t, st.file, st.next, st.next+10)
	}
	loc, plus, hasPlus := strings.Cut(arg, ",")
	loc = strings.TrimSpace(loc)
	t, fi, line, err := g.listLocation(loc, st)
	if err != nil {
		return err
	}
	if hasPlus {
		plus = strings.TrimSpace(plus)
		n, err := strconv.Atoi(strings.TrimPrefix(plus, "+"))
		if !strings.HasPrefix(plus, "+") || err != nil || n < 0 {
			return fmt.Errorf("kdive's gdb list takes LOCATION,+N: %q", plus)
		}
		return g.listLines(t, fi, line, line+n+1)
	}
	first := max(line-5, 1)
	return g.listLines(t, fi, first, first+10)
}

// listLocation resolves a list location to a file and line.
func (g *gdbDis) listLocation(loc string, st *listState) (program.LineTable, int, int, error) {
	p, v := g.prog, g.v
	switch {
	case strings.HasPrefix(loc, "*"):
		addr, err := gdbAddr(loc[1:], v)
		if err != nil {
			return program.LineTable{}, 0, 0, err
		}
		t, ok := p.LineTableAt(addr)
		l, ok2 := t.FindLine(addr)
		if !ok || !ok2 {
			return program.LineTable{}, 0, 0, fmt.Errorf("No line number information available for address 0x%x", addr)
		}
		name := ""
		if n, _, ok := g.symbolic(addr, false); ok {
			name = n
		}
		fmt.Fprintf(g.env.Out, "0x%x is in %s (%s:%d).\n", addr, name, t.Files[l.File].Name, l.Line)
		return t, l.File, l.Line, nil
	case isDecimalLine(loc):
		if !st.ok {
			return program.LineTable{}, 0, 0, errors.New("No symbol table is loaded.  Use the \"file\" command.")
		}
		n, _ := strconv.Atoi(loc)
		return st.t, st.file, n, nil
	}
	if file, ln, ok := strings.Cut(loc, ":"); ok && isDecimalLine(ln) {
		n, _ := strconv.Atoi(ln)
		// The file of a function's unit whose name ends with FILE
		// (gdb's symtab lookup by base name): the current file, else
		// any loaded module's or the vmlinux unit of a function
		// named like it is not searched: kdive needs a unit to look
		// in.
		if st.ok && fileMatches(st.t.Files[st.file].Name, file) {
			return st.t, st.file, n, nil
		}
		for _, f := range v.mods {
			for _, s := range f.list {
				if s.pseudo != 0 || !v.isText(s) {
					continue
				}
				t, ok := p.LineTableAt(s.Addr)
				if !ok {
					break
				}
				for i, fl := range t.Files {
					if fileMatches(fl.Name, file) {
						return t, i, n, nil
					}
				}
				break
			}
		}
		return program.LineTable{}, 0, 0, fmt.Errorf("No source file named %s.", file)
	}
	var fn *vsym
	for _, s := range v.search(loc) {
		if v.isText(s) {
			fn = s
			break
		}
	}
	if fn == nil {
		return program.LineTable{}, 0, 0, fmt.Errorf("Function \"%s\" not defined.", loc)
	}
	t, ok := p.LineTableAt(fn.Addr)
	l, ok2 := t.FindLine(fn.Addr)
	if !ok || !ok2 {
		return program.LineTable{}, 0, 0, fmt.Errorf("No line number information available for address 0x%x <%s>", fn.Addr, fn.Name)
	}
	return t, l.File, l.Line, nil
}

// listLines prints lines [from, to) of file fi and makes the file and
// the next line the current position.
func (g *gdbDis) listLines(t program.LineTable, fi, from, to int) error {
	st := g.listState()
	st.t, st.file, st.ok = t, fi, true
	f := t.Files[fi]
	text, found := g.sourceText(t, fi)
	if !found {
		// gdb prints the first line only: its error or "in FILE";
		// the next list starts there again.
		g.sourceLine(t, fi, from)
		st.next = from
		return nil
	}
	if from > len(text) {
		st.next = from
		return fmt.Errorf("Line number %d out of range; \"%s\" has %d lines.", from, f.Name, len(text))
	}
	for n := from; n < to && n <= len(text); n++ {
		g.sourceLine(t, fi, n)
	}
	st.next = min(to, len(text)+1)
	return nil
}

// sourceText is the text of file fi (read once per dump, warning as
// sourceLine does) and whether it was found.
func (g *gdbDis) sourceText(t program.LineTable, fi int) ([]string, bool) {
	ls := g.lastSource()
	f := t.Files[fi]
	if _, seen := ls.text[f.Path]; !seen {
		g.readSourceOnce(t, fi)
	}
	text := ls.text[f.Path]
	return text, text != nil
}

func isDecimalLine(s string) bool {
	if s == "" || len(s) > 9 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// fileMatches is gdb's file name match: the whole name or a trailing
// path component sequence.
func fileMatches(name, file string) bool {
	return name == file || strings.HasSuffix(name, "/"+file)
}
