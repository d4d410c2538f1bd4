package commands

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"kdive/internal/program"
	"kdive/internal/testcorpus"
)

// openBoth opens a scenario's kdump ELF with the vmlinux and from the dump
// alone (kallsyms, BTF and ORC from memory).
func openBoth(t *testing.T, sc string) map[string]*program.Program {
	t.Helper()
	out := map[string]*program.Program{}
	for name, v := range map[string]string{"vmlinux": testcorpus.Vmlinux(t), "btf": ""} {
		out[name] = openProg(t, v, testcorpus.File(t, sc, testcorpus.KdumpELF))
	}
	return out
}

var ctxBlock = regexp.MustCompile(`^    PID: (\d+)\nCOMMAND: "([^"]*)"\n   TASK: ([0-9a-f]{16})  (\(1 of \d+\)  )?\[THREAD_INFO: ([0-9a-f]{16})\]\n    CPU: (\d+)\n  STATE: (TASK_[A-Z_|]+) (\((PANIC|ACTIVE)\))?\n$`)

// set PID makes that task the context of bt, files and net -s for the
// rest of the session; set -p goes back to the panic task; set -c CPU
// takes the CPU's running task. On every scenario, with and without
// vmlinux.
func TestSetContextCorpus(t *testing.T) {
	for _, sc := range testcorpus.Scenarios() {
		for name, p := range openBoth(t, sc) {
			t.Run(sc+"/"+name, func(t *testing.T) {
				panicPID := truthPanicPID(t, sc)
				m := ctxBlock.FindStringSubmatch(runCmd(t, p, "set"))
				if m == nil || m[1] != panicPID || m[8] != "(PANIC)" || m[7] != "TASK_RUNNING" || m[5] != m[3] {
					t.Fatalf("set:\n%s", runCmd(t, p, "set"))
				}
				panicTask := m[3]
				out := runCmd(t, p, "set", "1")
				m = ctxBlock.FindStringSubmatch(out)
				if m == nil || m[1] != "1" || m[2] != "init" || m[8] != "" {
					t.Fatalf("set 1:\n%s", out)
				}
				initTask := m[3]
				if got := runCmd(t, p, "set"); got != out {
					t.Errorf("set after set 1:\n%s", got)
				}
				// bt, files and net -s follow the context.
				bt := runCmd(t, p, "bt")
				if !strings.HasPrefix(bt, "PID: 1        TASK: "+initTask) || bt != runCmd(t, p, "bt", initTask) ||
					!strings.Contains(bt, "] __schedule at ") {
					t.Errorf("bt after set 1:\n%s", bt)
				}
				if got, want := runCmd(t, p, "files"), runCmd(t, p, "files", initTask); got != want || !strings.Contains(got, "/dev/console") {
					t.Errorf("files after set 1:\n%s\nwant\n%s", got, want)
				}
				if got, want := runCmd(t, p, "net", "-s"), runCmd(t, p, "net", "-s", initTask); got != want {
					t.Errorf("net -s after set 1:\n%s\nwant\n%s", got, want)
				}
				// bt -p is the panic task whatever the context.
				if got := runCmd(t, p, "bt", "-p"); !strings.HasPrefix(got, "PID: "+panicPID+" ") {
					t.Errorf("bt -p:\n%s", got)
				}
				out = runCmd(t, p, "set", "-p")
				if m = ctxBlock.FindStringSubmatch(out); m == nil || m[3] != panicTask {
					t.Errorf("set -p:\n%s", out)
				}
				if got := runCmd(t, p, "bt"); !strings.HasPrefix(got, "PID: "+panicPID+" ") {
					t.Errorf("bt after set -p:\n%s", got)
				}
				// set -c 0: CPU 0's running task, shown (again the second
				// time, as crash 8.0.2 does).
				out = runCmd(t, p, "set", "-c", "0")
				if m = ctxBlock.FindStringSubmatch(out); m == nil || m[6] != "0" || m[8] == "" {
					t.Errorf("set -c 0:\n%s", out)
				}
				if got := runCmd(t, p, "set", "-c", "0"); got != out {
					t.Errorf("second set -c 0: %q", got)
				}
				// An empty cpuspec is the context's CPU.
				if name == "vmlinux" {
					if got := runCmd(t, p, "p", "irq_stat:"); !strings.HasPrefix(got, "per_cpu(irq_stat, 0) = $") {
						t.Errorf("p irq_stat: after set -c 0:\n%.200s", got)
					}
					if got := runCmd(t, p, "struct", "rq.cpu", "runqueues:"); !strings.HasSuffix(got, "  cpu = 0,\n") && !strings.HasSuffix(got, "  cpu = 0\n") {
						t.Errorf("struct rq.cpu runqueues: after set -c 0:\n%s", got)
					}
				}
				// pid 0 is shared by the idle tasks: the first, "1 of N".
				if out = runCmd(t, p, "set", "0"); !strings.Contains(out, "(1 of ") || !strings.Contains(out, `COMMAND: "swapper/0"`) {
					t.Errorf("set 0:\n%s", out)
				}
				var o, e bytes.Buffer
				err := Lookup("set").Run(&Env{Prog: p, Out: &o, Err: &e}, []string{"99999"})
				if err == nil || err.Error() != "invalid task or pid value: 99999" {
					t.Errorf("set 99999: %v", err)
				}
				runCmd(t, p, "set", "-p")
			})
		}
	}
}

// Session variables: the radix reaches p; others print crash's lines.
func TestSetVariables(t *testing.T) {
	p := openProg(t, "", testcorpus.File(t, "sysrq", testcorpus.KdumpELF))
	defer p.SetOutputRadix(10)
	for _, c := range []struct{ args, want string }{
		{"radix 16", "output radix: 16 (hex)\n"},
		{"radix", "output radix: 16 (hex)\n"},
		{"dec", "output radix: 10 (decimal)\n"},
		{"hex", "output radix: 16 (hex)\n"},
		{"scroll off", "scroll: off (none)\n"},
		{"hash", "hash: on\n"},
	} {
		if got := runCmd(t, p, "set", strings.Fields(c.args)...); got != c.want {
			t.Errorf("set %s: %q, want %q", c.args, got, c.want)
		}
	}
	if got := runCmd(t, p, "p", "jiffies"); !regexp.MustCompile(`^jiffies = \$\d+ = 0x[0-9a-f]+\n$`).MatchString(got) {
		t.Errorf("p jiffies with radix 16: %q", got)
	}
	runCmd(t, p, "set", "radix", "10")
	if got := runCmd(t, p, "p", "jiffies"); !regexp.MustCompile(`^jiffies = \$\d+ = \d+\n$`).MatchString(got) {
		t.Errorf("p jiffies with radix 10: %q", got)
	}
	if got := runCmd(t, p, "set", "-v"); !strings.Contains(got, "         radix: 10 (decimal)\n") {
		t.Errorf("set -v:\n%s", got)
	}
	var o, e bytes.Buffer
	if err := Lookup("set").Run(&Env{Prog: p, Out: &o, Err: &e}, []string{"radix", "7"}); err == nil || err.Error() != "invalid command: set radix 7 " {
		t.Errorf("set radix 7: %v", err)
	}
}
