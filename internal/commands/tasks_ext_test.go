package commands

import (
	"regexp"
	"strings"
	"testing"

	"kdive/internal/program"
	"kdive/internal/testcorpus"
)

func openExt(t *testing.T, sc string) map[string]*program.Program {
	t.Helper()
	out := map[string]*program.Program{}
	for name, v := range map[string]string{"vmlinux": testcorpus.ExtVmlinux(t), "btf": ""} {
		out[name] = openProg(t, v, testcorpus.ExtFile(t, sc, testcorpus.KdumpELF))
	}
	return out
}

// On the ext corpus (when built), with and without vmlinux: foreach UN bt
// of the hung-task dump is the one task the guest hung, in
// wait_for_completion under the test module's write; set to the TCP
// holder makes net -s its sockets; foreach on the multi-threaded
// process's name reaches each of its threads by pid.
func TestTasksExtCorpus(t *testing.T) {
	testcorpus.ExtDir(t)
	t.Run("hung", func(t *testing.T) {
		truth := testcorpus.ExtTruth(t, "hung")
		pid := first1(truth["hung_pid"])
		for name, p := range openExt(t, "hung") {
			out := runCmd(t, p, "foreach", "UN", "bt")
			h := taskHdr.FindAllStringSubmatch(out, -1)
			if len(h) != 1 || h[0][1] != pid || !strings.Contains(out, "] wait_for_completion at ") ||
				!strings.Contains(out, "] kdive_ext_write at ") {
				t.Errorf("%s: foreach UN bt, want pid %s:\n%s", name, pid, out)
			}
			runCmd(t, p, "set", pid)
			if got := runCmd(t, p, "bt"); !strings.HasPrefix(got, "PID: "+pid+" ") || got != runCmd(t, p, "bt", pid) {
				t.Errorf("%s: bt after set %s:\n%s", name, pid, got)
			}
			if got := runCmd(t, p, "set"); !strings.Contains(got, "  STATE: TASK_UNINTERRUPTIBLE \n") {
				t.Errorf("%s: set:\n%s", name, got)
			}
		}
	})
	t.Run("tcp", func(t *testing.T) {
		truth := testcorpus.ExtTruth(t, "tcp")
		pid := first1(truth["tcp_pid"])
		for name, p := range openExt(t, "tcp") {
			runCmd(t, p, "set", pid)
			got := runCmd(t, p, "net", "-s")
			for _, s := range truth["tcp_socket"] {
				f := strings.Fields(s)
				if f[2] != "INET:STREAM" && f[2] != "INET:DGRAM" {
					continue
				}
				if !regexp.MustCompile(`(?m)^ *` + f[0] + ` [0-9a-f]{16} [0-9a-f]{16} ` + f[2] + ` +` + regexp.QuoteMeta(f[3]) + ` ` + regexp.QuoteMeta(f[4]) + `$`).MatchString(got) {
					t.Errorf("%s: net -s after set %s lacks %q:\n%s", name, pid, s, got)
				}
			}
			if fe := runCmd(t, p, "foreach", pid, "net", "-s"); fe != got {
				t.Errorf("%s: foreach %s net -s:\n%s\nnet -s:\n%s", name, pid, fe, got)
			}
		}
	})
	t.Run("mthread", func(t *testing.T) {
		truth := testcorpus.ExtTruth(t, "mthread")
		tgid := first1(truth["mt_tgid"])
		for name, p := range openExt(t, "mthread") {
			for _, th := range truth["mt_thread"] {
				f := strings.Fields(th) // tid comm wchan
				out := runCmd(t, p, "foreach", f[0], "task", "-R", "pid,tgid")
				want := "  pid = " + f[0] + ",\n  tgid = " + tgid + ",\n"
				if !strings.Contains(out, `COMMAND: "`+f[1]+`"`) || !strings.Contains(out, want) {
					t.Errorf("%s: foreach %s task -R pid,tgid:\n%s", name, f[0], out)
				}
			}
			out := runCmd(t, p, "foreach", "'^mt-'", "task", "-R", "tgid")
			if n := len(taskHdr.FindAllString(out, -1)); n != len(truth["mt_thread"])-1 {
				t.Errorf("%s: foreach '^mt-': %d tasks:\n%s", name, n, out)
			}
		}
	})
}
