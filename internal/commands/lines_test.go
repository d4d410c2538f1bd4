package commands

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"kdive/internal/program"
	"kdive/internal/testcorpus"
)

// linesGolden reads testdata/lines-oops-proc.golden.gz (crash 8.0.2's
// output of testdata/lines.cmds on the corpus's oops-proc dump, made by
// testdata/capture-lines.sh), skipping when the corpus is not the one it
// was captured on.
func linesGolden(t *testing.T) ([]string, map[string]string) {
	head, rest := goldenFor(t, testcorpus.Dir(t), "lines-oops-proc.golden.gz")
	return rdsymParseGolden(t, head+"\n"+rest)
}

func linesOpen(t *testing.T, vmlinux bool) *program.Program {
	vml := ""
	if vmlinux {
		vml = testcorpus.Vmlinux(t)
	}
	p, err := program.Open(vml, testcorpus.File(t, "oops-proc", testcorpus.KdumpELF), program.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// sym and dis -l/-s on the oops-proc dump print the source file and line
// as crash does, byte for byte: 370 sym addresses across the kernel's
// text, 148 whole functions with dis -l (with -x, a count, -r), dis -s without
// the source tree, module code without debug information.
func TestLinesGolden(t *testing.T) {
	cmds, want := linesGolden(t)
	p := linesOpen(t, true)
	defer p.Close()
	n := 0
	for _, cmd := range cmds {
		if strings.HasPrefix(cmd, "bt ") {
			continue // TestBtLinesGolden
		}
		got := rdsymRun(t, p, cmd)
		if got != want[cmd] {
			t.Errorf("%s: differs from crash:\n%s", cmd, rdsymFirstDiff(want[cmd], got))
		}
		n++
	}
	if n < 520 {
		t.Errorf("only %d commands compared", n)
	}
}

var (
	btFrameLineRe = regexp.MustCompile(`^ *(?:#\d+ )?(\[[0-9a-f]+\] \S+)( \(inlined\))? at ([0-9a-f]+)`)
	btSourceRe    = regexp.MustCompile(`^    (\S+: \d+)$`)
)

// btSources maps each frame of a bt -l output ("[sp] name" plus " at ip")
// to the first source line of its group: the line under the first of
// the inlined frames above it, or under the frame itself. Exception
// frames' RIP lines are keyed "RIP " plus the exception RIP.
func btSources(out string) (frames []string, src map[string]string) {
	src = map[string]string{}
	lines := strings.Split(out, "\n")
	group := ""
	inGroup := false
	rip := ""
	for i, l := range lines {
		next := ""
		if i+1 < len(lines) {
			if m := btSourceRe.FindStringSubmatch(lines[i+1]); m != nil {
				next = m[1]
			}
		}
		if strings.HasPrefix(l, "    [exception RIP: ") {
			rip = l
		}
		if strings.HasPrefix(l, "    ORIG_RAX: ") && strings.Contains(l, "CS: 0010") {
			src["RIP "+rip] = next
		}
		m := btFrameLineRe.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		if !inGroup {
			group = next
		}
		if m[2] != "" {
			inGroup = true
			continue
		}
		inGroup = false
		key := m[1] + " at " + m[3]
		frames = append(frames, key)
		src[key] = group
	}
	return frames, src
}

// bt -l and bt -a -l: each of kdive's frames is one of crash's, with
// crash's source line as the group's first line (crash's extra stale
// frames are not compared); a known inlined function (handle_page_fault,
// inlined in exc_page_fault) is shown as an inlined frame with the line
// where it was inlined under the real frame; bt without -l is bt -l
// without the source lines.
func TestBtLinesGolden(t *testing.T) {
	_, want := linesGolden(t)
	p := linesOpen(t, true)
	defer p.Close()
	for _, cmd := range []string{"bt -l", "bt -a -l"} {
		got := rdsymRun(t, p, cmd)
		frames, gsrc := btSources(got)
		_, csrc := btSources(want[cmd])
		if len(frames) < 10 {
			t.Fatalf("%s: %d frames:\n%s", cmd, len(frames), got)
		}
		lines := 0
		for _, f := range frames {
			c, ok := csrc[f]
			if !ok {
				t.Errorf("%s: frame %q is not crash's", cmd, f)
				continue
			}
			if gsrc[f] != c {
				t.Errorf("%s: %s: source %q, crash %q", cmd, f, gsrc[f], c)
			}
			if c != "" {
				lines++
			}
		}
		for k, c := range csrc {
			if strings.HasPrefix(k, "RIP ") && gsrc[k] != c {
				t.Errorf("%s: after %s: source %q, crash %q", cmd, k, gsrc[k], c)
			}
		}
		if lines < 8 {
			t.Errorf("%s: only %d frames with source lines", cmd, lines)
		}
		plain := rdsymRun(t, p, strings.TrimSuffix(cmd, " -l"))
		var stripped []string
		for _, l := range strings.SplitAfter(got, "\n") {
			if !btSourceRe.MatchString(strings.TrimSuffix(l, "\n")) {
				stripped = append(stripped, l)
			}
		}
		if strings.Join(stripped, "") != plain {
			t.Errorf("%s without its source lines differs from bt:\n%s", cmd, rdsymFirstDiff(plain, strings.Join(stripped, "")))
		}
	}
	// exc_page_fault's frame: crash's line is in the inlined
	// handle_page_fault; kdive shows that as an inlined frame, and the
	// call in exc_page_fault's own body under the real frame.
	m := regexp.MustCompile(`(?m)^ #\d+ (\[[0-9a-f]+\]) exc_page_fault at ([0-9a-f]+)\n    (\S+: \d+)$`).FindStringSubmatch(want["bt -l"])
	if m == nil {
		t.Fatalf("no exc_page_fault frame in crash's bt -l")
	}
	got := rdsymRun(t, p, "bt -l")
	inl := regexp.MustCompile(`(?m)^    ` + regexp.QuoteMeta(m[1]) + ` handle_page_fault \(inlined\) at ` + m[2] +
		`\n    ` + regexp.QuoteMeta(m[3]) + `\n #\d+ ` + regexp.QuoteMeta(m[1]) + ` exc_page_fault at ` + m[2] +
		`\n    \S+/arch/x86/mm/fault\.c: \d+\n`)
	if !inl.MatchString(got) {
		t.Errorf("no inlined handle_page_fault frame above exc_page_fault:\n%s", got)
	}
	if !strings.Contains(rdsymRun(t, p, "bt"), " handle_page_fault (inlined) at "+m[2]+"\n") {
		t.Errorf("bt lacks the inlined frame")
	}
}

// Without a vmlinux the options work and show no source: no file:line
// after sym, dis -l is dis, bt -l is bt, no inlined frames; dis -s says
// the source is not available.
func TestLinesWithoutVmlinux(t *testing.T) {
	p := linesOpen(t, false)
	defer p.Close()
	if got := rdsymRun(t, p, "sym ksys_write"); !regexp.MustCompile(`^[0-9a-f]+ \(T\) ksys_write \n$`).MatchString(got) {
		t.Errorf("sym ksys_write: %q", got)
	}
	for _, c := range [][2]string{{"dis -l ksys_write", "dis ksys_write"}, {"bt -l", "bt"}, {"bt -a -l", "bt -a"}, {"dis -r -l vfs_write+199 6", "dis -r vfs_write+199 6"}} {
		a, b := rdsymRun(t, p, c[0]), rdsymRun(t, p, c[1])
		if a != b || strings.Contains(a, "(inlined)") || strings.Contains(a, ".c: ") {
			t.Errorf("%s differs from %s:\n%s", c[0], c[1], rdsymFirstDiff(b, a))
		}
	}
	if got := rdsymRun(t, p, "dis -s ksys_write"); got != "FILE: (unknown)\nLINE: (unknown)\n\ndis: ksys_write: source code is not available\n\n" {
		t.Errorf("dis -s ksys_write: %q", got)
	}
}

// dis -s with a source tree: the file is found by the DWARF's relative
// path under the current directory; the listing runs from five lines
// before the address's line to the closing brace, or count lines after.
func TestDisSourceTree(t *testing.T) {
	p := linesOpen(t, true)
	defer p.Close()
	dir := t.TempDir()
	var src bytes.Buffer
	for i := 1; i <= 700; i++ {
		if i == 640 {
			src.WriteString("}\n")
			continue
		}
		src.WriteString("line " + itoa(i) + "\n")
	}
	if err := os.MkdirAll(filepath.Join(dir, "fs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "fs", "read_write.c"), src.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	got := rdsymRun(t, p, "dis -s ksys_write")
	want := "FILE: fs/read_write.c\nLINE: 627\n\n"
	for i := 622; i <= 640; i++ {
		mark := "  "
		if i == 627 {
			mark = "* "
		}
		text := "line " + itoa(i)
		if i == 640 {
			text = "}"
		}
		want += mark + itoa(i) + "\t" + text + "\n"
	}
	want += "\n"
	if got != want {
		t.Errorf("dis -s ksys_write:\n%s", rdsymFirstDiff(want, got))
	}
	got = rdsymRun(t, p, "dis -s ksys_write 3")
	if !strings.HasSuffix(got, "* 627\tline 627\n  628\tline 628\n  629\tline 629\n  630\tline 630\n\n") {
		t.Errorf("dis -s ksys_write 3:\n%s", got)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// bt -a -l on the other scenarios (sysrq, oops-wq, bugon): every frame of
// kdive's is one of crash's with crash's source line first in its group,
// exception RIP lines equal (testdata/lines-bt-SCENARIO.golden).
func TestBtLinesScenarios(t *testing.T) {
	vml := testcorpus.Vmlinux(t)
	for _, sc := range []string{"sysrq", "oops-wq", "bugon"} {
		t.Run(sc, func(t *testing.T) {
			head, rest := goldenFor(t, testcorpus.Dir(t), "lines-bt-"+sc+".golden")
			b := head + "\n" + rest
			p, err := program.Open(vml, testcorpus.File(t, sc, testcorpus.KdumpELF), program.OpenOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			got := rdsymRun(t, p, "bt -a -l")
			frames, gsrc := btSources(got)
			_, csrc := btSources(string(b))
			lines := 0
			for _, f := range frames {
				c, ok := csrc[f]
				if !ok {
					t.Errorf("frame %q is not crash's", f)
					continue
				}
				if gsrc[f] != c {
					t.Errorf("%s: source %q, crash %q", f, gsrc[f], c)
				}
				if c != "" {
					lines++
				}
			}
			for k, c := range csrc {
				if strings.HasPrefix(k, "RIP ") && gsrc[k] != c {
					t.Errorf("after %s: source %q, crash %q", k, gsrc[k], c)
				}
			}
			if len(frames) < 15 || lines < 10 {
				t.Errorf("%d frames, %d with lines:\n%s", len(frames), lines, got)
			}
		})
	}
}
