package commands

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"kdive/internal/program"
	"kdive/internal/testcorpus"
)

// The golden test runs the commands of testdata/rdsym.cmds on the shared
// zstd dump (shared/dumps/sysrq-zstd/vmcore.zstd, Debian 6.1.0-53-cloud-amd64)
// with its debug vmlinux and compares kdive's output with crash 8.0.2's in
// testdata/rdsym.golden (made by testdata/capture-rdsym.sh), byte for byte:
// standard output and error messages interleaved, as crash writes them.

// goldenDeviations are commands whose kdive output is known to differ
// from crash's, and why. Their differences are logged, not failed.
var goldenDeviations = map[string]string{
	"rd -s init_task 40":   "symtab has no section symbols: crash names init_stack's address .data (the section symbol sorts first)",
	"rd -s -x init_task 6": "symtab has no section symbols (.data)",
	"rd -S init_task 6":    "symtab has no section symbols (.data)",
	"sym ffffffffa9400000": "symtab has no section symbols (.rodata)",
	"sym -m dummy":         "module function types: symtab gives t for global cleanup_module, crash shows the ELF binding (T)",
	"sym -m virtio_blk":    "module function types: symtab gives t for global functions, crash shows T",
	"sym -M":               "module function types: symtab gives t for global functions, crash shows T",
}

var (
	goldenOnce sync.Once
	goldenProg *program.Program
	goldenErr  error
)

// goldenVmlinux finds the debug vmlinux of the shared dump's kernel:
// $KDIVE_VMLINUX, or the corpus's vmlinux.
func goldenVmlinux(t *testing.T) string {
	if p := os.Getenv("KDIVE_VMLINUX"); p != "" {
		return p
	}
	if d := testcorpus.Path(); d != "" {
		p := filepath.Join(d, "vmlinux")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if os.Getenv(testcorpus.EnvRequire) == "1" {
		t.Fatalf("no debug vmlinux (set KDIVE_VMLINUX or build the corpus)")
	}
	t.Skip("no debug vmlinux for the shared dump (set KDIVE_VMLINUX or build the corpus)")
	return ""
}

func openGolden(t *testing.T) *program.Program {
	dir := testcorpus.Shared(t)
	vml := goldenVmlinux(t)
	goldenOnce.Do(func() {
		goldenProg, goldenErr = program.Open(vml, filepath.Join(dir, "vmcore.zstd"), program.OpenOptions{})
	})
	if goldenErr != nil {
		t.Fatalf("open: %v", goldenErr)
	}
	return goldenProg
}

// runLikeSession runs one command line as the session does, with output
// and errors in one stream: the command's output, its warnings, then a
// returned error as "cmd: message".
func runLikeSession(t *testing.T, prog *program.Program, line string) string {
	args := strings.Fields(line)
	c := Lookup(args[0])
	if c == nil {
		t.Fatalf("no command %q", args[0])
	}
	var buf bytes.Buffer
	env := &Env{Prog: prog, Out: &buf, Err: &buf}
	if err := c.Run(env, args[1:]); err != nil {
		msg := strings.ReplaceAll(strings.TrimRight(err.Error(), "\n"), "\n", "; ")
		msg = strings.TrimPrefix(msg, c.Name+": ")
		buf.WriteString(c.Name + ": " + msg + "\n")
	}
	return buf.String()
}

var goldenMarker = regexp.MustCompile(`@@@ (.*)\n`)

// parseGolden splits a golden file into command -> crash output.
func parseGolden(t *testing.T, text string) ([]string, map[string]string) {
	locs := goldenMarker.FindAllStringSubmatchIndex(text, -1)
	var cmds []string
	out := map[string]string{}
	for i, l := range locs {
		cmd := text[l[2]:l[3]]
		end := len(text)
		if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		cmds = append(cmds, cmd)
		out[cmd] = text[l[1]:end]
	}
	return cmds, out
}

// lineInfo matches the " file: line" crash adds to a text symbol.
var lineInfoRE = regexp.MustCompile(`(?m)^([0-9a-f]+ \(.\) \S+(?: \[\S+\])?) \S+: \d+$`)

// withoutLineInfo drops crash's source file and line, which kdive does not
// have yet (see ksymView.lineInfo), keeping the blank before them.
func withoutLineInfo(s string) string { return lineInfoRE.ReplaceAllString(s, "$1 ") }

func TestRdSymGolden(t *testing.T) {
	golden, err := os.ReadFile("testdata/rdsym.golden")
	if err != nil {
		t.Fatal(err)
	}
	cmdsFile, err := os.ReadFile("testdata/rdsym.cmds")
	if err != nil {
		t.Fatal(err)
	}
	cmds, want := parseGolden(t, string(golden))
	var listed []string
	for _, l := range strings.Split(string(cmdsFile), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			listed = append(listed, l)
		}
	}
	if len(listed) != len(cmds) {
		t.Fatalf("rdsym.golden has %d commands, rdsym.cmds %d: run testdata/capture-rdsym.sh", len(cmds), len(listed))
	}
	prog := openGolden(t)
	for _, cmd := range cmds {
		got := runLikeSession(t, prog, cmd)
		exp := withoutLineInfo(want[cmd])
		if got == exp {
			continue
		}
		if why, ok := goldenDeviations[cmd]; ok {
			t.Logf("%s: known deviation (%s):\n%s", cmd, why, firstDiff(exp, got))
			continue
		}
		t.Errorf("%s: differs from crash:\n%s", cmd, firstDiff(exp, got))
	}
}

// firstDiff shows the first differing line of two outputs.
func firstDiff(want, got string) string {
	wl := strings.SplitAfter(want, "\n")
	gl := strings.SplitAfter(got, "\n")
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return "line " + strconv.Itoa(i+1) + ":\n  crash: " + quoteLine(w) + "\n  kdive: " + quoteLine(g)
		}
	}
	return "(same lines)"
}

func quoteLine(s string) string {
	if s == "" {
		return "(nothing)"
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "\n", `\n`), " ", "·")
}

// TestSymListGolden compares `sym -l` (117,000 lines) with crash's. The
// symbol table lacks some of crash's symbols (ELF section symbols such as
// .data, and absolute init_per_cpu__* ones), which are logged and
// tolerated up to a bound; module function types and weak-object letters
// (V) are compared case- and kind-blind, see goldenDeviations. Every line
// kdive prints must be crash's, in crash's order.
func TestSymListGolden(t *testing.T) {
	f, err := os.Open("testdata/sym-l.golden.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	golden, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	prog := openGolden(t)
	got := runLikeSession(t, prog, "sym -l")

	norm := func(l string) string {
		if strings.HasPrefix(l, "ffffffffc") { // module area
			l = strings.Replace(l, " (T) ", " (t) ", 1)
		}
		return strings.Replace(l, " (V) ", " (W) ", 1)
	}
	cl := strings.Split(string(golden), "\n")
	kl := strings.Split(got, "\n")
	missing := 0
	i := 0
	for j, l := range kl {
		for i < len(cl) && norm(cl[i]) != norm(l) {
			if missing < 20 {
				t.Logf("only in crash: %s", cl[i])
			}
			missing++
			i++
		}
		if i == len(cl) {
			t.Fatalf("kdive line %d not in crash's list (in order): %q", j+1, l)
		}
		i++
	}
	missing += len(cl) - i
	t.Logf("%d of crash's %d lines missing from kdive's list", missing, len(cl))
	if missing > 100 {
		t.Errorf("%d of crash's lines are missing from kdive's sym -l", missing)
	}
}
