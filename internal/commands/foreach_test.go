package commands

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"kdive/internal/kernel/tasks"
	"kdive/internal/testcorpus"
)

var taskHdr = regexp.MustCompile(`(?m)^PID: (\d+) +TASK: ([0-9a-f]{16})  CPU: (\d+|-|\?) +COMMAND: "(.*)"$`)

// foreach bt shows every task once, in ps order, each block equal to bt
// of that task and separated by one blank line; foreach files has the
// holder's files; selectors (state, kernel, user, pid, name, 'regex')
// narrow the set. Every scenario, with and without vmlinux.
func TestForeachCorpus(t *testing.T) {
	for _, sc := range testcorpus.Scenarios() {
		truth := testcorpus.TruthOf(t, sc, testcorpus.TruthFile)
		holder := first1(truth["holder_pid"])
		for name, p := range openBoth(t, sc) {
			t.Run(sc+"/"+name, func(t *testing.T) {
				tl, err := tasks.List(p, tasks.Options{})
				if err != nil {
					t.Fatal(err)
				}
				out := runCmd(t, p, "foreach", "bt")
				blocks := strings.Split(strings.TrimSuffix(out, "\n"), "\n\n")
				if len(blocks) != len(tl.Tasks) {
					t.Fatalf("foreach bt: %d blocks for %d tasks", len(blocks), len(tl.Tasks))
				}
				seen := map[string]bool{}
				for _, b := range blocks {
					m := taskHdr.FindStringSubmatch(b)
					if m == nil || !strings.HasPrefix(b, m[0]) {
						t.Fatalf("block without a header:\n%s", b)
					}
					seen[m[2]] = true
				}
				for _, tk := range tl.Tasks {
					a := fmt.Sprintf("%x", tk.Addr)
					if !seen[a] {
						t.Errorf("foreach bt lacks task %s (pid %d %s)", a, tk.PID, tk.Comm)
					}
				}
				// A block is bt of that task.
				for _, b := range []string{blocks[0], blocks[len(blocks)/2], blocks[len(blocks)-1]} {
					a := taskHdr.FindStringSubmatch(b)[2]
					if want := runCmd(t, p, "bt", a); b+"\n" != want {
						t.Errorf("foreach block:\n%s\nbt %s:\n%s", b, a, want)
					}
				}
				// foreach sig: every task once, each block sig of that
				// task (crash: no blank line of sig's own after it).
				sig := runCmd(t, p, "foreach", "sig")
				sblocks := strings.Split(strings.TrimSuffix(sig, "\n"), "\n\n")
				if len(sblocks) != len(tl.Tasks) || !strings.Contains(sig, "SHARED_PENDING\n") {
					t.Errorf("foreach sig: %d blocks for %d tasks", len(sblocks), len(tl.Tasks))
				} else if b := sblocks[len(sblocks)-1]; runCmd(t, p, "sig", taskHdr.FindStringSubmatch(b)[2]) != b+"\n\n" {
					t.Errorf("foreach sig block:\n%s", b)
				}
				files := runCmd(t, p, "foreach", "files")
				hb := runCmd(t, p, "files", holder)
				if !strings.Contains(files, strings.TrimSuffix(hb, "\n")) {
					t.Errorf("foreach files lacks the holder's table:\n%s", hb)
				}
				for _, fd := range truth["holder_fd"] {
					f := strings.Fields(fd)
					if !regexp.MustCompile(`(?m)^ +` + f[0] + ` [0-9a-f]{16} .* ` + regexp.QuoteMeta(f[1]) + `$`).MatchString(files) {
						t.Errorf("foreach files lacks fd %s", fd)
					}
				}
				// Selectors.
				bits := tasks.StateBitsFor(p.Info().OSRelease)
				count := func(f func(tasks.Task) bool) int {
					n := 0
					for _, tk := range tl.Tasks {
						if f(tk) {
							n++
						}
					}
					return n
				}
				for _, c := range []struct {
					args []string
					want int
				}{
					{[]string{"RU", "task", "-R", "pid"}, count(func(tk tasks.Task) bool { return bits.String(tk.StateValue()) == "RU" })},
					{[]string{"ID", "task", "-R", "pid"}, count(func(tk tasks.Task) bool { return bits.String(tk.StateValue()) == "ID" })},
					{[]string{"kernel", "task", "-R", "pid"}, count(func(tk tasks.Task) bool { return tk.IsKernelThread() })},
					{[]string{"user", "task", "-R", "pid"}, count(func(tk tasks.Task) bool { return !tk.IsKernelThread() })},
					{[]string{"active", "task", "-R", "pid"}, len(tasks.PossibleCPUs(p))},
					{[]string{"1", holder, "task", "-R", "pid"}, 2},
					{[]string{"'^kworker/'", "task", "-R", "pid"}, count(func(tk tasks.Task) bool { return strings.HasPrefix(tk.Comm, "kworker/") })},
					{[]string{"init", "task", "-R", "pid"}, 1},
				} {
					got := runCmd(t, p, "foreach", c.args...)
					if n := len(taskHdr.FindAllString(got, -1)); n != c.want || n > 0 && strings.Count(got, "\n\n") != n {
						t.Errorf("foreach %v: %d tasks, want %d:\n%s", c.args, n, c.want, got)
					}
				}
				// vm: each user task's address space under its header.
				if Lookup("vm") != nil {
					vm := runCmd(t, p, "foreach", "user", "vm")
					n := count(func(tk tasks.Task) bool { return !tk.IsKernelThread() })
					if got := len(taskHdr.FindAllString(vm, -1)); got != n || strings.Count(vm, "       MM               PGD") != n {
						t.Errorf("foreach user vm: %d headers for %d user tasks:\n%s", got, n, vm)
					}
				}
				// ps: one table.
				ps := runCmd(t, p, "foreach", "kernel", "ps")
				if strings.Count(ps, "   PID    PPID") != 1 || strings.Count(ps, "\n") != 1+count(func(tk tasks.Task) bool { return tk.IsKernelThread() }) {
					t.Errorf("foreach kernel ps:\n%s", ps)
				}
			})
		}
	}
}

// foreach vm -R prints, for each task with a match only, crash's
// vm_area_dump reference block: the task header (no blank line before
// it), the MM/PGD line, the matching VMAs, one blank line after it; no
// separator of foreach's own (crash prints no task header under -R).
// The whole output is the concatenation of vm -R of each task in
// foreach's order. "vm -R 0" matches the MM 0 of every kernel thread, as
// crash compares the reference with the mm before it gives up on a task
// without one. With and without vmlinux.
func TestForeachVmRefCorpus(t *testing.T) {
	for name, p := range openBoth(t, "oops-proc") {
		t.Run(name, func(t *testing.T) {
			tl, err := tasks.List(p, tasks.Options{})
			if err != nil {
				t.Fatal(err)
			}
			for _, ref := range []string{"busybox", "0"} {
				got := runCmd(t, p, "foreach", "vm", "-R", ref)
				var want strings.Builder
				users, kthreads := 0, 0
				for _, tk := range foreachOrder(tl.Tasks) {
					b := runCmd(t, p, "vm", "-R", ref, fmt.Sprintf("%x", tk.Addr))
					if b != "" {
						if tk.Mm == 0 {
							kthreads++
						} else {
							users++
						}
					}
					want.WriteString(b)
				}
				if got != want.String() {
					t.Errorf("foreach vm -R %s:\n%s\nvm -R %s of each task:\n%s", ref, got, ref, want.String())
				}
				blocks := strings.Split(strings.TrimSuffix(got, "\n\n"), "\n\n")
				if strings.Contains(got, "\n\n\n") || !strings.HasSuffix(got, "\n\n") || len(blocks) != users+kthreads {
					t.Errorf("foreach vm -R %s: %d blocks for %d tasks with a match:\n%s", ref, len(blocks), users+kthreads, got)
				}
				for _, b := range blocks {
					lines := strings.Split(b, "\n")
					if !taskHdr.MatchString(lines[0]) || !strings.HasPrefix(lines[1], "       MM               PGD") {
						t.Errorf("foreach vm -R %s block:\n%s", ref, b)
					}
					if ref == "busybox" && (len(lines) < 5 || !strings.HasPrefix(lines[3], "      VMA") || !strings.HasSuffix(lines[4], "/bin/busybox")) {
						t.Errorf("foreach vm -R busybox block:\n%s", b)
					}
					if ref == "0" && (len(lines) != 3 || !regexp.MustCompile(`^ +0 +0 +0k +0k +$`).MatchString(lines[2])) {
						t.Errorf("foreach vm -R 0 block:\n%q", b)
					}
				}
				switch {
				case ref == "busybox" && (users < 2 || kthreads != 0):
					t.Errorf("foreach vm -R busybox: %d user tasks, %d kernel threads", users, kthreads)
				case ref == "0" && (users != 0 || kthreads < 10):
					t.Errorf("foreach vm -R 0: %d user tasks, %d kernel threads", users, kthreads)
				}
			}
		})
	}
}

// bt -R and foreach bt -R print, as crash's back_trace does with a
// reference, each trace that has it followed by a blank line and no
// separator (crash on sysrq: "bt -R panic", "foreach bt -R panic" and
// "bt -a -R default_do_nmi" are each one trace and one blank line). With
// and without vmlinux.
func TestForeachBtRefCorpus(t *testing.T) {
	for name, p := range openBoth(t, "sysrq") {
		t.Run(name, func(t *testing.T) {
			bt := runCmd(t, p, "bt")
			if got := runCmd(t, p, "bt", "-R", "panic"); got != bt+"\n" {
				t.Errorf("bt -R panic:\n%q\nbt:\n%q", got, bt)
			}
			if got := runCmd(t, p, "foreach", "bt", "-R", "panic"); got != bt+"\n" {
				t.Errorf("foreach bt -R panic:\n%s", got)
			}
			cpu0 := runCmd(t, p, "bt", "-c", "0")
			if got := runCmd(t, p, "bt", "-a", "-R", "default_do_nmi"); got != cpu0+"\n" {
				t.Errorf("bt -a -R default_do_nmi:\n%s", got)
			}
			// Several matches: blocks of trace + blank line, back to back.
			sched := runCmd(t, p, "foreach", "bt", "-R", "schedule")
			blocks := strings.Split(strings.TrimSuffix(sched, "\n\n"), "\n\n")
			if len(blocks) < 10 || strings.Contains(sched, "\n\n\n") || !strings.HasSuffix(sched, "\n\n") {
				t.Errorf("foreach bt -R schedule: %d blocks:\n%s", len(blocks), sched)
			}
			for _, b := range blocks[:3] {
				a := taskHdr.FindStringSubmatch(b)
				if a == nil || runCmd(t, p, "bt", a[2])+"\n" != b+"\n\n" {
					t.Errorf("foreach bt -R schedule block:\n%s", b)
				}
			}
		})
	}
}
