package tasks_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"kdive/internal/kernel/tasks"
	"kdive/internal/program"
	"kdive/internal/testcorpus"
)

// refProcesses is crash's `list task_struct.tasks -h init_task` in the
// reference session: the process list of the shared sysrq crash.
func refProcesses(t *testing.T, dir string) []uint64 {
	b, err := os.ReadFile(filepath.Join(dir, "..", "..", "reference", "crash-8.0.2-sysrq.txt"))
	if err != nil {
		t.Skip(err)
	}
	s := string(b)
	i := strings.Index(s, "crash> list task_struct.tasks -h init_task\n")
	if i < 0 {
		t.Fatal("reference has no task list")
	}
	var out []uint64
	for _, l := range strings.Split(s[i:], "\n")[1:] {
		if strings.HasPrefix(l, "crash>") {
			break
		}
		v, err := strconv.ParseUint(l, 16, 64)
		if err != nil {
			t.Fatalf("reference line %q", l)
		}
		out = append(out, v)
	}
	return out
}

func TestSharedTasks(t *testing.T) {
	dir := testcorpus.Shared(t)
	want := refProcesses(t, dir)
	if len(want) != 54 {
		t.Fatalf("reference lists %d processes", len(want))
	}
	p, err := program.Open("", filepath.Join(dir, "vmcore.zstd"), program.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	res, err := tasks.List(p, tasks.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range res.Warnings {
		t.Errorf("warning: %s", w)
	}
	// Idle tasks first: init_task on CPU 0, then CPU 1's (crash's ps shows
	// swapper/1 at ffff8a8701256000).
	if len(res.Tasks) < 2 || !res.Tasks[0].Idle || res.Tasks[0].Addr != want[0] || res.Tasks[0].Comm != "swapper/0" ||
		!res.Tasks[1].Idle || res.Tasks[1].Addr != 0xffff8a8701256000 || res.Tasks[1].Comm != "swapper/1" || res.Tasks[1].CPU != 1 || res.Tasks[1].PID != 0 {
		t.Fatalf("idle tasks: %+v %+v", res.Tasks[0], res.Tasks[1])
	}
	// The leaders, in list order, are exactly crash's list.
	var leaders []uint64
	leaders = append(leaders, res.Tasks[0].Addr)
	byAddr := map[uint64]tasks.Task{}
	for _, tk := range res.Tasks[2:] {
		if tk.Leader {
			leaders = append(leaders, tk.Addr)
		}
		byAddr[tk.Addr] = tk
	}
	if len(leaders) != len(want) {
		t.Fatalf("%d processes, crash lists %d", len(leaders), len(want))
	}
	for i := range want {
		if leaders[i] != want[i] {
			t.Fatalf("process %d: %#x, crash %#x", i, leaders[i], want[i])
		}
	}
	// PID 1 is init, on CPU 0 (it triggered the sysrq crash), running.
	init := byAddr[0xffff8a87011f9800]
	if init.PID != 1 || init.TGID != 1 || init.Comm != "init" || init.CPU != 0 || init.State != 0 || init.Mm == 0 {
		t.Errorf("init: %+v", init)
	}
	pids := map[int32]bool{}
	kthreads := 0
	for _, tk := range res.Tasks[2:] {
		if tk.PID <= 0 || pids[tk.PID] || tk.Comm == "" || tk.CPU < 0 || tk.CPU > 1 {
			t.Errorf("task %+v", tk)
		}
		pids[tk.PID] = true
		if tk.Flags&tasks.PF_KTHREAD != 0 {
			kthreads++
			if tk.Mm != 0 {
				t.Errorf("kernel thread with mm: %+v", tk)
			}
		}
	}
	if kthreads < 30 || byAddr[want[2]].Comm != "kthreadd" || byAddr[want[2]].PID != 2 {
		t.Errorf("%d kernel threads; %+v", kthreads, byAddr[want[2]])
	}
	// 53 processes besides swapper/0, all single-threaded here, plus both
	// idle tasks.
	if len(res.Tasks) != 55 {
		t.Errorf("%d tasks, want 55", len(res.Tasks))
	}
}

// Every corpus dump: the count is the guest's thread count (/proc/*/task/*,
// which has no PID 0) plus one idle task per CPU.
func TestCorpusTasks(t *testing.T) {
	testcorpus.Dir(t)
	vmlinux := testcorpus.Vmlinux(t)
	for _, sc := range testcorpus.Scenarios() {
		for _, f := range testcorpus.Formats() {
			t.Run(sc+"/"+f, func(t *testing.T) {
				truth := testcorpus.TruthOf(t, sc, testcorpus.TruthFor(f))
				n, err1 := strconv.Atoi(first(truth["tasks"]))
				cpus, err2 := strconv.Atoi(first(truth["cpus"]))
				if err1 != nil || err2 != nil {
					t.Fatalf("truth tasks %q cpus %q", truth["tasks"], truth["cpus"])
				}
				p, err := program.Open(vmlinux, testcorpus.File(t, sc, f), program.OpenOptions{})
				if err != nil {
					t.Fatal(err)
				}
				defer p.Close()
				res, err := tasks.List(p, tasks.Options{})
				if err != nil {
					t.Fatal(err)
				}
				for _, w := range res.Warnings {
					t.Errorf("warning: %s", w)
				}
				if len(res.Tasks) != n+cpus {
					t.Errorf("%d tasks, truth %d threads + %d idle", len(res.Tasks), n, cpus)
				}
				if pid := first(truth["panic_pid"]); pid != "" {
					found := false
					for _, tk := range res.Tasks {
						if strconv.Itoa(int(tk.PID)) == pid {
							found = true
							if c := first(truth["panic_comm"]); c != "" && tk.Comm != c {
								t.Errorf("panic task %d comm %q, truth %q", tk.PID, tk.Comm, c)
							}
						}
					}
					if !found {
						t.Errorf("panic pid %s not found", pid)
					}
				}
			})
		}
	}
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}
