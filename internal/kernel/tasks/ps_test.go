package tasks_test

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"kdive/internal/kernel/tasks"
	"kdive/internal/program"
	"kdive/internal/testcorpus"
)

func TestStateString(t *testing.T) {
	for _, c := range []struct {
		v    uint64
		want string
	}{
		{0, "RU"}, {1, "IN"}, {2, "UN"}, {0x402, "ID"}, {0x102, "UN"}, {4, "ST"}, {8, "TR"},
		{0x20, "ZO"}, {0x10, "DE"}, {0x80, "DE"}, {0x90, "DE"}, {0x40, "PA"}, {0x200, "WA"},
		{0x800, "NE"}, {0x1000, "??"}, {0x24, "ST"}, {0x21, "ZO"},
	} {
		if got := tasks.StateString(c.v); got != c.want {
			t.Errorf("state %#x: %s, want %s", c.v, got, c.want)
		}
	}
	for _, c := range []struct {
		v    uint64
		want string
	}{
		{0x40, "DE"}, {0x200, "PA"}, {0x100, "WA"}, {0x402, "ID"}, {0x80, "??"},
	} {
		if got := tasks.Pre414.String(c.v); got != c.want {
			t.Errorf("pre-4.14 state %#x: %s, want %s", c.v, got, c.want)
		}
	}
	if tasks.StateBitsFor("4.13.0") != tasks.Pre414 || tasks.StateBitsFor("3.10.0-1160.el7.x86_64") != tasks.Pre414 ||
		tasks.StateBitsFor("4.14.0") != tasks.Modern || tasks.StateBitsFor("6.1.0-53-cloud-amd64") != tasks.Modern {
		t.Error("StateBitsFor")
	}
	tk := tasks.Task{State: 0, ExitState: 0x20}
	if got := tasks.StateString(tk.StateValue()); got != "ZO" {
		t.Errorf("exit_state zombie: %s", got)
	}
}

// consoleCPU returns N of the console's "CPU: N PID: pid Comm:" line.
func consoleCPU(t *testing.T, path, pid string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	re := regexp.MustCompile(`\] CPU: (\d+) PID: ` + pid + ` Comm: `)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			n, _ := strconv.Atoi(m[1])
			return n
		}
	}
	t.Fatalf("no CPU: line for PID %s in %s", pid, path)
	return -1
}

// Each CPU's running task is a listed task; the panic task runs on the
// CPU its Oops/panic line names. Memory use: user tasks have a virtual
// size and a resident set, kernel threads none.
func TestCorpusRunningAndMem(t *testing.T) {
	dir := testcorpus.Dir(t)
	for _, sc := range testcorpus.Scenarios() {
		t.Run(sc, func(t *testing.T) {
			truth := testcorpus.Truth(t, sc)
			pid := truth["panic_pid"][0]
			cpu := consoleCPU(t, filepath.Join(dir, sc, testcorpus.Console), pid)
			p, err := program.Open("", testcorpus.File(t, sc, testcorpus.KdumpLZO), program.OpenOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			res, err := tasks.List(p, tasks.Options{})
			if err != nil {
				t.Fatal(err)
			}
			byAddr := map[uint64]tasks.Task{}
			for _, tk := range res.Tasks {
				byAddr[tk.Addr] = tk
			}
			run, err := tasks.Running(p, nil)
			if err != nil {
				t.Fatal(err)
			}
			ncpu, _ := strconv.Atoi(truth["cpus"][0])
			if len(run) != ncpu {
				t.Errorf("running tasks on %d CPUs, want %d", len(run), ncpu)
			}
			for c, a := range run {
				if _, ok := byAddr[a]; !ok {
					t.Errorf("CPU %d runs %#x, not a listed task", c, a)
				}
			}
			if tk := byAddr[run[cpu]]; strconv.Itoa(int(tk.PID)) != pid || tk.Comm != truth["panic_comm"][0] {
				t.Errorf("CPU %d ran %d %q, want the panic task %s", cpu, tk.PID, tk.Comm, pid)
			}
			mem, err := tasks.MemUsage(p, res.Tasks)
			if err != nil {
				t.Fatal(err)
			}
			users := 0
			for i, tk := range res.Tasks {
				m := mem[i]
				if tk.Mm == 0 {
					if m != (tasks.Mem{}) {
						t.Errorf("%d %s: no mm but %+v", tk.PID, tk.Comm, m)
					}
					continue
				}
				users++
				if m.TotalVM == 0 || m.RSS == 0 || m.RSS > m.TotalVM || m.Shmem > m.RSS {
					t.Errorf("%d %s: %+v", tk.PID, tk.Comm, m)
				}
				if tk.StartTime == 0 || tk.LastArrival == 0 {
					t.Errorf("%d %s: start %d last arrival %d", tk.PID, tk.Comm, tk.StartTime, tk.LastArrival)
				}
			}
			if users < 2 {
				t.Errorf("%d user tasks", users)
			}
		})
	}
}
