package commands

import (
	"regexp"
	"strings"
	"testing"

	"kdive/internal/testcorpus"
)

// task -R pid,comm of the truth's holder process prints its pid and comm
// (crash's layout: header, members, blank line); the whole task is the
// task_struct then the thread_info; -x prints hexadecimal; with and
// without vmlinux.
func TestTaskCorpus(t *testing.T) {
	for _, sc := range testcorpus.Scenarios() {
		truth := testcorpus.TruthOf(t, sc, testcorpus.TruthFile)
		pid, comm := first1(truth["holder_pid"]), first1(truth["holder_comm"])
		for name, p := range openBoth(t, sc) {
			t.Run(sc+"/"+name, func(t *testing.T) {
				out := runCmd(t, p, "task", "-R", "pid,comm", pid)
				pad := strings.Repeat(`\\000`, 15-len(comm))
				re := regexp.MustCompile(`^PID: ` + pid + ` +TASK: ([0-9a-f]{16})  CPU: \d+ +COMMAND: "` + regexp.QuoteMeta(comm) + `"\n` +
					`  pid = ` + pid + `,\n  comm = "` + regexp.QuoteMeta(comm) + pad + `",\n\n$`)
				m := re.FindStringSubmatch(out)
				if m == nil {
					t.Fatalf("task -R pid,comm %s:\n%s", pid, out)
				}
				// By address, and with the members as bare words.
				if got := runCmd(t, p, "task", m[1], "pid,comm"); got != out {
					t.Errorf("task %s pid,comm:\n%s", m[1], got)
				}
				if got := runCmd(t, p, "task", "-x", "-R", "pid", pid); !strings.Contains(got, "\n  pid = 0x") {
					t.Errorf("task -x -R pid:\n%s", got)
				}
				// thread_info.cpu is found in the thread_info.
				if got := runCmd(t, p, "task", "-R", "cpu", pid); !regexp.MustCompile(`\n  cpu = \d+\n\n$`).MatchString(got) {
					t.Errorf("task -R cpu:\n%s", got)
				}
				full := runCmd(t, p, "task", pid)
				if !strings.Contains(full, "\nstruct task_struct {\n  thread_info = {\n") || !strings.Contains(full, "\n}\n\nstruct thread_info {\n  flags = ") ||
					!strings.Contains(full, "\n  pid = "+pid+",\n") || !strings.HasSuffix(full, "\n}\n\n") {
					t.Errorf("task %s: %d bytes:\n%.600s", pid, len(full), full)
				}
				// No argument: the current context (the panic task).
				if got := runCmd(t, p, "task", "-R", "pid"); got != "" && !strings.Contains(got, "  pid = "+truthPanicPID(t, sc)+",\n") {
					t.Errorf("task -R pid:\n%s", got)
				}
			})
		}
	}
}
