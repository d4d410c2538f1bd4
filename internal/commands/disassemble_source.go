package commands

// disassemble /m and /s: gdb's do_mixed_source_and_assembly_deprecated
// and do_mixed_source_and_assembly (disasm.c), on the line tables gdb
// builds (program.LineTableAt), and gdb's print_source_lines for one line
// (source.c): "LINE\tTEXT" when the file is found, else the first time a
// file is visited "LINE\tFILE: No such file or directory." and then
// "LINE\tin FILE". gdb remembers the last file visited across commands;
// kdive keeps it per dump.

import (
	"fmt"
	"os"
	"sort"

	"kdive/internal/arch/amd64"
	"kdive/internal/program"
)

// srcKey identifies a file's line table (gdb's symtab): the unit and the
// file's index in it.
type srcKey struct {
	unit uint64
	file int
}

// lastSourceKey keys the per-dump last visited source file.
type lastSourceKey struct{}

// lastSource is gdb's last_source_visited and last_source_error.
type lastSource struct {
	key   srcKey
	valid bool
	err   bool
	text  map[string][]string // file contents read, by path (nil: not found)
}

func (g *gdbDis) lastSource() *lastSource {
	return g.prog.Memo(lastSourceKey{}, func() any { return &lastSource{text: map[string][]string{}} }).(*lastSource)
}

// sourceLine prints one source line of file fi of t as gdb's
// print_source_lines does.
func (g *gdbDis) sourceLine(t program.LineTable, fi, line int) {
	ls := g.lastSource()
	f := t.Files[fi]
	key := srcKey{t.Key, fi}
	if _, seen := ls.text[f.Path]; !seen {
		g.readSourceOnce(t, fi)
	}
	text := ls.text[f.Path]
	found := text != nil
	if ls.valid && ls.key == key {
		if ls.err {
			fmt.Fprintf(g.env.Out, "%d\tin %s\n", line, f.Name)
			return
		}
	} else {
		ls.key, ls.valid, ls.err = key, true, !found
		if !found {
			fmt.Fprintf(g.env.Out, "%d\t%s: No such file or directory.\n", line, f.Name)
			return
		}
	}
	if line < 1 || line > len(text) {
		fmt.Fprintf(g.env.Out, "Line number %d out of range; %q has %d lines.\n", line, f.Name, len(text))
		return
	}
	fmt.Fprintf(g.env.Out, "%d\t%s\n", line, text[line-1])
}

// readSourceOnce reads file fi of t into the per-dump cache (nil when not
// found), with gdb's warning when it is newer than the object file.
func (g *gdbDis) readSourceOnce(t program.LineTable, fi int) {
	ls := g.lastSource()
	f := t.Files[fi]
	var text []string
	info := SourceLineInfo{Name: f.Name, File: f.Path, Dir: t.Dir}
	if lines, err := readSource(info); err == nil {
		text = append([]string{}, lines...)
		if g.sourceNewer(info, t) {
			fmt.Fprintf(g.env.Out, "warning: Source file is more recent than executable.\n")
		}
	}
	ls.text[f.Path] = text
}

// mainFile is gdb's find_pc_line_symtab(lo): the file of lo's line, else
// the unit's own file.
func mainFile(t program.LineTable, lo uint64) int {
	if l, ok := t.FindLine(lo); ok {
		return l.File
	}
	return 0
}

// mleEntry is one line's address range (gdb's deprecated_dis_line_entry).
type mleEntry struct {
	line       int
	start, end uint64
}

// mixedDeprecated is /m: the function's lines of its own file in line
// order, each followed by its instructions.
func (g *gdbDis) mixedDeprecated(t program.LineTable, lo, hi uint64, fn string) error {
	fi := mainFile(t, lo)
	rows := t.Files[fi].Rows
	n := len(rows)
	if n == 0 {
		_, err := g.insns(lo, hi, fn)
		return err
	}
	b := t.Bias
	var mle []mleEntry
	outOfOrder := false
	i := 0
	for i < n-1 && rows[i].PC+b < lo {
		i++
	}
	for ; i < n-1 && rows[i].PC+b < hi; i++ {
		if rows[i].Line == rows[i+1].Line && rows[i].PC == rows[i+1].PC {
			continue
		}
		if rows[i].Line == 0 {
			continue
		}
		if rows[i].Line > rows[i+1].Line {
			outOfOrder = true
		}
		mle = append(mle, mleEntry{rows[i].Line, rows[i].PC + b, rows[i+1].PC + b})
	}
	if i == n-1 && rows[i].PC+b < hi && rows[i].Line != 0 {
		e := mleEntry{line: rows[i].Line, start: rows[i].PC + b}
		if l, ok := t.FindLine(e.start); ok {
			e.end = l.End
		}
		mle = append(mle, e)
	}
	if outOfOrder {
		sort.SliceStable(mle, func(a, c int) bool {
			x, y := mle[a], mle[c]
			if x.line != y.line {
				return x.line < y.line
			}
			return x.start < y.start
		})
	}
	next := 0
	for i, e := range mle {
		if e.line >= next {
			if next != 0 {
				for ; next < e.line; next++ {
					g.sourceLine(t, fi, next)
				}
			}
			g.sourceLine(t, fi, e.line)
			next = e.line + 1
		}
		if e.end > e.start && e.end-e.start > maxDisassembleBytes {
			return fmt.Errorf("line %d at 0x%x: implausible range to 0x%x", e.line, e.start, e.end)
		}
		if _, err := g.insns(e.start, e.end, fn); err != nil {
			return err
		}
		if i == len(mle)-1 || mle[i+1].line > e.line {
			fmt.Fprintln(g.env.Out)
		}
	}
	return nil
}

// mixedSource is /s: address order, a "FILE:" line when the file
// changes, and before each group of instructions its line (with the
// lines before it that have no code of their own in the function).
func (g *gdbDis) mixedSource(t program.LineTable, lo, hi uint64, fn string) error {
	out := g.env.Out
	mainFi := mainFile(t, lo)
	b := t.Bias
	rows := t.Files[mainFi].Rows
	firstLine := 0
	for i := 0; i < len(rows); i++ {
		if rows[i].PC+b >= lo {
			if rows[i].PC+b < hi {
				firstLine = rows[i].Line
			}
			break
		}
	}
	// First pass: the lines that have code in the function.
	hasCode := map[srcKey]map[int]bool{}
	for pc := lo; pc < hi; {
		code, err := g.d.bytesAt(pc)
		if err != nil {
			return fmt.Errorf("Cannot access memory at address 0x%x", pc)
		}
		if l, ok := t.FindLine(pc); ok {
			k := srcKey{t.Key, l.File}
			if hasCode[k] == nil {
				hasCode[k] = map[int]bool{}
			}
			hasCode[k][l.Line] = true
		}
		pc += uint64(decodeLen(code, pc))
	}
	lastFile, lastLine := -2, 0 // -2: none yet; -1: no line information
	for pc := lo; pc < hi; {
		l, ok := t.FindLine(pc)
		file := -1
		if ok {
			file = l.File
		}
		newLine := false
		startPre, endPre := 0, 0
		if file != lastFile {
			newLine = true
			if lastLine == 0 && firstLine != 0 && ok && firstLine < l.Line {
				startPre, endPre = firstLine, l.Line
			}
		} else if ok {
			if l.Line > lastLine+1 && lastLine != 0 {
				k := l.Line - 1
				for ; k > lastLine; k-- {
					if hasCode[srcKey{t.Key, file}][k] {
						break
					}
				}
				if k < l.Line-1 {
					startPre, endPre = k+1, l.Line
				}
			}
			if l.Line != lastLine {
				newLine = true
			}
		}
		if newLine {
			if pc > lo {
				fmt.Fprintln(out)
			}
			if file != lastFile {
				if ok {
					fmt.Fprintf(out, "%s:\n", t.Files[file].Name)
				} else {
					fmt.Fprintf(out, "unknown:\n")
				}
			}
			for k := startPre; startPre > 0 && k < endPre; k++ {
				g.sourceLine(t, file, k)
			}
			if ok {
				g.sourceLine(t, file, l.Line)
			} else {
				fmt.Fprintf(out, "--- no source info for this pc ---\n")
			}
		}
		end := pc + 1
		if ok && l.End != 0 {
			end = min(l.End, hi)
		}
		next, err := g.insns(pc, end, fn)
		if err != nil {
			return err
		}
		if next <= pc {
			next = pc + 1
		}
		pc = next
		lastFile, lastLine = file, l.Line
	}
	return nil
}

// decodeLen is an instruction's length (gdb_insn_length).
func decodeLen(code []byte, pc uint64) int {
	in := amd64.Decode(code, pc)
	if in.Len <= 0 {
		return 1
	}
	return in.Len
}

// sourceNewer reports whether the source file read for info is newer than
// the object file of the code (the module's .ko, else the vmlinux), as
// gdb warns.
func (g *gdbDis) sourceNewer(info SourceLineInfo, t program.LineTable) bool {
	obj := t.Object
	ost, err := os.Stat(obj)
	if obj == "" || err != nil {
		return false
	}
	for _, p := range sourceCandidates(info) {
		if st, err := os.Stat(p); err == nil {
			return st.ModTime().After(ost.ModTime())
		}
	}
	return false
}
