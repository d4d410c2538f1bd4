// Command lines measures source lines from DWARF, cold, in fresh processes
// (page cache warm): kdive's first `sym ADDR` with its file:line, `bt -l`
// (frames with lines and inlined frames) and `dis -l` on a dump with its
// vmlinux, against `sys` (no DWARF: the baseline of opening the dump), crash
// running the same command (its start-up reads all of the vmlinux's
// symbols through gdb) and drgn printing a task's stack trace
// (file:line and inlined frames, its equivalent of bt -l; PID 1's). Wall time, CPU
// time (user+system) and peak RSS, median of the runs; on a busy machine
// compare the CPU column.
//
//	go run ./bench/lines [-runs 5] [-crash-runs 1] [-corpus DIR] [-scenario oops-proc]
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// drgn 0.0.22 cannot unwind the panic task here (it stops at the module
// RIP), so the trace compared is PID 1's (a sleeping task): drgn prints it
// with file:line and inlined frames, kdive with bt -l 1.
const drgnBt = `
print(prog.stack_trace(1))
`

func main() {
	runs := flag.Int("runs", 5, "runs per kdive command and for drgn")
	crashRuns := flag.Int("crash-runs", 1, "runs per crash command (~11 s a start)")
	corpus := flag.String("corpus", defaultCorpus(), "corpus directory")
	scenario := flag.String("scenario", "oops-proc", "scenario")
	flag.Parse()
	vml := filepath.Join(*corpus, "vmlinux")
	dump := filepath.Join(*corpus, *scenario, "vmcore.elf")
	tmp, err := os.MkdirTemp("", "kdive-bench-lines")
	if err != nil {
		fatal(err)
	}
	defer os.RemoveAll(tmp)
	kdive := filepath.Join(tmp, "kdive")
	build := exec.Command("go", "build", "-o", kdive, "./cmd/kdive")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fatal(fmt.Errorf("go build: %v", err))
	}
	fmt.Printf("%s with %s; kdive/drgn %d runs, crash %d (median); cold process, warm page cache\n", dump, vml, *runs, *crashRuns)
	fmt.Printf("%-34s %9s %9s %10s\n", "", "wall", "CPU", "peak RSS")
	row := func(name string, s *samples) {
		w, c, m := s.median()
		fmt.Printf("%-34s %8.3fs %8.3fs %6.1f MiB\n", name, w.Seconds(), c.Seconds(), float64(m)/1024)
	}
	for _, c := range []string{"sys", "sym schedule", "bt", "bt -l", "bt -l 1", "dis -l ksys_write"} {
		var s samples
		for i := 0; i < *runs; i++ {
			s.run(kdive, "-s", vml, dump, "-c", c)
		}
		row("kdive "+c, &s)
	}
	if _, err := exec.LookPath("crash"); err == nil {
		for _, c := range []string{"sym schedule", "bt -l"} {
			in := filepath.Join(tmp, "crash.cmds")
			os.WriteFile(in, []byte(c+"\nq\n"), 0o644)
			var s samples
			for i := 0; i < *crashRuns; i++ {
				s.run("crash", "-s", vml, dump, "-i", in)
			}
			row("crash "+c, &s)
		}
	}
	if _, err := exec.LookPath("drgn"); err == nil {
		script := filepath.Join(tmp, "bt.py")
		os.WriteFile(script, []byte(drgnBt), 0o644)
		var s samples
		for i := 0; i < *runs; i++ {
			s.run("drgn", "-q", "-c", dump, "-s", vml, script)
		}
		row("drgn stack_trace(1) (lines, inlined)", &s)
	}
	if la, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Printf("load average after the runs: %s", la)
	}
}

type samples struct {
	walls, cpus []time.Duration
	rss         []int64
}

// run runs a command once, recording its wall time, CPU time and peak RSS (KiB).
func (s *samples) run(name string, args ...string) {
	cmd := exec.Command(name, args...)
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		fatal(fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out))
	}
	s.walls = append(s.walls, time.Since(start))
	s.rss = append(s.rss, cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss)
	s.cpus = append(s.cpus, cmd.ProcessState.UserTime()+cmd.ProcessState.SystemTime())
}

func (s *samples) median() (time.Duration, time.Duration, int64) {
	sort.Slice(s.walls, func(i, j int) bool { return s.walls[i] < s.walls[j] })
	sort.Slice(s.cpus, func(i, j int) bool { return s.cpus[i] < s.cpus[j] })
	sort.Slice(s.rss, func(i, j int) bool { return s.rss[i] < s.rss[j] })
	n := len(s.walls)
	return s.walls[n/2], s.cpus[n/2], s.rss[n/2]
}

func defaultCorpus() string {
	if v := os.Getenv("KDIVE_CORPUS"); v != "" {
		return v
	}
	c := os.Getenv("KDIVE_CACHE")
	if c == "" {
		h, _ := os.UserHomeDir()
		c = filepath.Join(h, ".cache", "kdive")
	}
	return filepath.Join(c, "corpus")
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "lines bench:", err)
	os.Exit(1)
}
