package commands

// dis -s: the source code around an address, as crash's list_source_code
// (kernel.c) shows what gdb's "list *ADDR" and "list" print.

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// maxSourceLines bounds the lines read from a source file.
const maxSourceLines = 1 << 20

// disSource lists the source of the function at addr: "FILE:" and
// "LINE:", then the lines from five before the address's line to the
// function's closing brace (or count lines after it), the address's line
// marked "* ". arg is the argument as typed, for crash's messages.
func disSource(env *Env, prog disTarget, v *ksymView, arg string, addr, count uint64, countEntered bool) error {
	sp, _, ok := v.valueSearch(addr)
	if !ok || !v.isText(sp) {
		return fmt.Errorf("%x: not a kernel text address", addr)
	}
	var src SourceLineInfo
	if ls, ok := prog.(lineSource); ok {
		if l, ok := ls.LineAt(addr); ok && v.isKernelText(addr) {
			src = SourceLineInfo{Name: l.Name, Dir: l.Dir, Line: l.Line, File: l.File, OK: true}
		}
	}
	if sp.mod != nil && !src.OK {
		fmt.Fprintf(env.Err, "dis: %s: module source code is not available\n", sp.mod.name)
		return ErrShown
	}
	if !src.OK {
		fmt.Fprintf(env.Out, "FILE: (unknown)\nLINE: (unknown)\n\n")
		fmt.Fprintf(env.Err, "dis: %s: source code is not available\n\n", arg)
		return ErrShown
	}
	fmt.Fprintf(env.Out, "FILE: %s\nLINE: %d\n\n", src.Name, src.Line)
	text, err := readSource(src)
	if err != nil {
		fmt.Fprintf(env.Err, "dis: %s: source code is not available\n\n", arg)
		return ErrShown
	}
	line := src.Line
	first := max(line-5, 1)
	if first > len(text) {
		fmt.Fprintf(env.Err, "dis: %s: source code is not available\n\n", arg)
		return ErrShown
	}
	assembly := strings.HasSuffix(src.Name, ".S") // gdb: "is at", no function
	remaining := count
	if !countEntered {
		remaining = 0
	}
	last := 0
	done := false
	// The first listing (gdb's ten lines around the line).
	for n := first; n < first+10 && n <= len(text); n++ {
		if countEntered && last >= line {
			if remaining == 0 {
				done = true
				break
			}
			remaining--
		}
		last = n
		mark := "  "
		if n == line {
			mark = "* "
		}
		fmt.Fprintf(env.Out, "%s%d\t%s\n", mark, n, text[n-1])
		if !countEntered && last > line && text[n-1] == "}" {
			done = true
			break
		}
	}
	if countEntered && remaining == 0 || !countEntered && assembly {
		fmt.Fprintf(env.Out, "\n")
		return nil
	}
	// Then gdb's "list" (ten more lines) until the function's closing
	// brace or the count; at the end of the file gdb fails and crash
	// stops without the final blank line.
	for n := last + 1; !done; n++ {
		if n > len(text) {
			return nil
		}
		if countEntered {
			if remaining == 0 {
				break
			}
			remaining--
		}
		fmt.Fprintf(env.Out, "  %d\t%s\n", n, text[n-1])
		if !countEntered && text[n-1] == "}" {
			break
		}
	}
	fmt.Fprintf(env.Out, "\n")
	return nil
}

// SourceLineInfo is a resolved source position for dis -s.
type SourceLineInfo struct {
	Name, Dir, File string
	Line            int
	OK              bool
}

// readSource reads the source file as gdb finds it with its default
// source path ("$cdir:$cwd"): the unit's directory and the file's name
// (a relative directory is relative to the current directory), else the
// name in the current directory.
func readSource(s SourceLineInfo) ([]string, error) {
	var lastErr error
	for _, p := range sourceCandidates(s) {
		f, err := os.Open(p)
		if err != nil {
			lastErr = err
			continue
		}
		defer f.Close()
		var lines []string
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			if len(lines) >= maxSourceLines {
				break
			}
			lines = append(lines, sc.Text())
		}
		return lines, sc.Err()
	}
	return nil, lastErr
}

// sourceCandidates are the paths readSource tries, in order.
func sourceCandidates(s SourceLineInfo) []string {
	cands := []string{s.File}
	if !filepath.IsAbs(s.Name) {
		cands = append(cands, s.Name)
	}
	return cands
}
