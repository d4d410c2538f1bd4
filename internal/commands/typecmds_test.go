package commands

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kdive/internal/program"
	"kdive/internal/testcorpus"
)

// The type-command golden test runs testdata/typecmds.cmds (p, px, pd,
// eval, struct, union, whatis, ptype, list) on the shared zstd dump with
// its debug vmlinux and compares kdive's output with crash 8.0.2's in
// testdata/typecmds.golden (testdata/capture-typecmds.sh), byte for byte.
// p's value history runs on across the commands, as in one crash session.

// typecmdsDeviations are commands whose output is known to differ from
// crash's, and why; their differences are logged, not failed.
var typecmdsDeviations = map[string]string{
	"p *init_task.mm":               "kdive names the address that faulted (gdb's message) where crash says only \"gdb request failed\"",
	"p $1.cpu":                      "kdive gives gdb's reason (no such member) where crash says only \"gdb request failed\"",
	"ptype /o struct task_struct":   "BTF writes x[0] and the flexible x[] alike; kdive prints a last empty array member as x[] (gdb, from DWARF: xregs_state.extended_state_area[0])",
	"union sigval ffffffffa9e1b2d0": "crash's print_union omits the newline after the union (the next prompt follows the brace); kdive ends the line",
}

// splitLine splits a command line as the session does for these
// commands: on blanks, a word that starts with '(' running to its ')'.
func splitLine(s string) []string {
	var out []string
	for i := 0; i < len(s); {
		switch {
		case s[i] == ' ' || s[i] == '\t':
			i++
		case s[i] == '(':
			depth, j := 0, i
			for ; j < len(s); j++ {
				if s[j] == '(' {
					depth++
				} else if s[j] == ')' {
					depth--
					if depth == 0 {
						break
					}
				}
			}
			k := j
			for k < len(s) && s[k] != ' ' {
				k++
			}
			out = append(out, s[i:k])
			i = k
		default:
			j := i
			for j < len(s) && s[j] != ' ' {
				j++
			}
			out = append(out, s[i:j])
			i = j
		}
	}
	return out
}

func typecmdsRun(t *testing.T, prog *program.Program, line string) string {
	args := splitLine(line)
	c := Lookup(args[0])
	if c == nil {
		// crash's NAME.member ADDR shorthand, as the session runs it.
		c = TypeShorthand(prog, args[0])
	}
	if c == nil {
		t.Fatalf("no command %q", args[0])
	}
	var buf bytes.Buffer
	env := &Env{Prog: prog, Out: &buf, Err: &buf}
	if err := c.Run(env, args[1:]); err != nil {
		msg := strings.TrimRight(err.Error(), "\n")
		buf.WriteString(c.Name + ": " + msg + "\n")
	}
	return buf.String()
}

func TestTypeCommandsGolden(t *testing.T) {
	if testing.Short() {
		t.Skip("indexes the vmlinux's DWARF")
	}
	for _, name := range []string{"typecmds", "typecmds2"} {
		t.Run(name, func(t *testing.T) { typecmdsGolden(t, name) })
	}
}

func typecmdsGolden(t *testing.T, name string) {
	golden, err := os.ReadFile("testdata/" + name + ".golden")
	if err != nil {
		t.Fatal(err)
	}
	cmds, want := rdsymParseGolden(t, string(golden))
	dir := testcorpus.Shared(t)
	vml := rdsymVmlinux(t)
	prog, err := program.Open(vml, filepath.Join(dir, "vmcore.zstd"), program.OpenOptions{})
	if err != nil {
		if strings.Contains(err.Error(), "does not match the dump") && os.Getenv(testcorpus.EnvRequire) != "1" {
			t.Skipf("the vmlinux is not the shared dump's kernel: %v", err)
		}
		t.Fatal(err)
	}
	defer prog.Close()
	failed := 0
	for _, cmd := range cmds {
		got := typecmdsRun(t, prog, cmd)
		exp := want[cmd]
		if got == exp {
			continue
		}
		if why, ok := typecmdsDeviations[cmd]; ok {
			t.Logf("%s: known deviation (%s):\n%s", cmd, why, rdsymFirstDiff(exp, got))
			continue
		}
		failed++
		t.Errorf("%s: differs from crash:\n%s", cmd, rdsymFirstDiff(exp, got))
	}
	t.Logf("%d of %d commands differ", failed, len(cmds))
}
