package commands

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kdive/internal/program"
	"kdive/internal/testcorpus"
)

// gdbcmdsSteps reads testdata/gdbcmds-oops-proc.golden (crash 8.0.2's
// output of gdbcmds.cmds), skipping when the corpus is not the one it was
// captured on.
func gdbcmdsSteps(t *testing.T) []struct{ cmd, want string } {
	b, err := os.ReadFile("testdata/gdbcmds-oops-proc.golden")
	if err != nil {
		t.Fatal(err)
	}
	head, _, _ := strings.Cut(string(b), "\n")
	hash, err := os.ReadFile(filepath.Join(testcorpus.Dir(t), "rig-hash"))
	if err != nil || !strings.Contains(head, "(rig-hash "+strings.TrimSpace(string(hash))+")") {
		t.Skipf("corpus rig-hash %q is not the golden file's: %s", hash, head)
	}
	var steps []struct{ cmd, want string }
	for _, part := range strings.Split(string(b), "@@@ ")[1:] {
		cmd, out, _ := strings.Cut(part, "\n")
		steps = append(steps, struct{ cmd, want string }{cmd, out})
	}
	return steps
}

// gdbcmdsRun runs one command line as the golden records it: KO is the
// rig module's path, CORPUS the corpus's real path.
func gdbcmdsRun(t *testing.T, p *program.Program, line string) string {
	ko := testcorpus.Module(t, "kdive_rig")
	real, err := filepath.EvalSymlinks(testcorpus.Dir(t))
	if err != nil {
		t.Fatal(err)
	}
	got := typecmdsRun(t, p, strings.ReplaceAll(line, "KO", ko))
	got = strings.ReplaceAll(got, ko, "KO")
	return strings.ReplaceAll(got, real, "CORPUS")
}

// gdb's disassemble (/r, /m, /s, ranges), add-symbol-file and info
// symbol/line/address on the oops-proc dump with the vmlinux print what
// crash 8.0.2 (gdb 10.2) prints, byte for byte: kernel functions, then
// the rig module's after add-symbol-file, source files not found.
func TestGdbCommandsGolden(t *testing.T) {
	steps := gdbcmdsSteps(t)
	t.Chdir(t.TempDir()) // no kernel sources here
	p := linesOpen(t, true)
	defer p.Close()
	for _, s := range steps {
		got := gdbcmdsRun(t, p, s.cmd)
		if got != s.want {
			t.Errorf("%s: differs from crash:\n%s", s.cmd, rdsymFirstDiff(s.want, got))
		}
	}
}
