// Command dwarf compares kdive's DWARF indexer (internal/dwarfx) with drgn:
// cold open + index + first lookup of struct task_struct on the same
// vmlinux, in fresh processes (page cache warm), wall time, CPU time
// (user+system) and peak RSS (getrusage of the child, as GNU time's %M),
// median of several interleaved runs. On a busy machine compare the CPU
// column: wall time then mostly measures the wait for a core.
//
//	go run ./bench/dwarf [-runs 5] [-vmlinux PATH] [-python /usr/bin/python3]
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

	"kdive/internal/dwarfx"
)

const drgnScript = `import sys, drgn
p = drgn.Program()
p.load_debug_info([sys.argv[1]])
t = p.type("struct task_struct")
print(t.size)
`

func main() {
	probe := flag.Bool("probe", false, "child mode: open, index, look up struct task_struct, print its size")
	runs := flag.Int("runs", 5, "runs per tool")
	vmlinux := flag.String("vmlinux", defaultVmlinux(), "debug vmlinux")
	python := flag.String("python", "/usr/bin/python3", "python with drgn")
	flag.Parse()
	if *probe {
		ix, err := dwarfx.Open(*vmlinux)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		t, err := ix.LookupType("struct task_struct")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println(t.Size)
		if os.Getenv("DWARF_BENCH_VERBOSE") != "" {
			st, _ := os.ReadFile("/proc/self/status")
			for _, l := range strings.Split(string(st), "\n") {
				if strings.HasPrefix(l, "Rss") || strings.HasPrefix(l, "VmHWM") {
					fmt.Fprintln(os.Stderr, l)
				}
			}
			fmt.Fprintf(os.Stderr, "%+v\n", ix.Stats)
		}
		return
	}
	self, err := os.Executable()
	if err != nil {
		fatal(err)
	}
	fmt.Printf("vmlinux %s, %d runs each (median), cold process, warm page cache\n", *vmlinux, *runs)
	// Interleaved, so that load from elsewhere hits both alike.
	var k, d samples
	for i := 0; i < *runs; i++ {
		k.run(self, "-probe", "-vmlinux", *vmlinux)
		d.run(*python, "-c", drgnScript, *vmlinux)
	}
	kw, kc, km, kout := k.median()
	dw, dc, dm, dout := d.median()
	if la, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Printf("load average after the runs: %s", la)
	}
	if kout != dout {
		fmt.Printf("warning: sizes differ: kdive %q, drgn %q\n", kout, dout)
	}
	fmt.Printf("%-8s %10s %10s %12s   sizeof(struct task_struct)\n", "tool", "wall", "CPU", "peak RSS")
	fmt.Printf("%-8s %9.3fs %9.3fs %8.1f MiB   %s\n", "kdive", kw.Seconds(), kc.Seconds(), float64(km)/1024, kout)
	fmt.Printf("%-8s %9.3fs %9.3fs %8.1f MiB   %s\n", "drgn", dw.Seconds(), dc.Seconds(), float64(dm)/1024, dout)
	fmt.Printf("ratio drgn/kdive: wall %.2fx, CPU %.2fx, RSS %.2fx\n", dw.Seconds()/kw.Seconds(), dc.Seconds()/kc.Seconds(), float64(dm)/float64(km))
}

type samples struct {
	walls, cpus []time.Duration
	rss         []int64
	out         string
}

// run runs a command once, recording its wall time, peak RSS (KiB) and output.
func (s *samples) run(name string, args ...string) {
	cmd := exec.Command(name, args...)
	cmd.Stderr = os.Stderr
	start := time.Now()
	b, err := cmd.Output()
	wall := time.Since(start)
	if err != nil {
		fatal(fmt.Errorf("%s: %v", name, err))
	}
	s.out = strings.TrimSpace(string(b))
	s.walls = append(s.walls, wall)
	s.rss = append(s.rss, cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss)
	s.cpus = append(s.cpus, cmd.ProcessState.UserTime()+cmd.ProcessState.SystemTime())
}

// median returns the median wall time, CPU time (user+system) and peak
// RSS, and the last output.
func (s *samples) median() (time.Duration, time.Duration, int64, string) {
	sort.Slice(s.walls, func(i, j int) bool { return s.walls[i] < s.walls[j] })
	sort.Slice(s.cpus, func(i, j int) bool { return s.cpus[i] < s.cpus[j] })
	sort.Slice(s.rss, func(i, j int) bool { return s.rss[i] < s.rss[j] })
	n := len(s.walls)
	return s.walls[n/2], s.cpus[n/2], s.rss[n/2], s.out
}

func defaultVmlinux() string {
	if v := os.Getenv("VMLINUX"); v != "" {
		return v
	}
	c := os.Getenv("KDIVE_CACHE")
	if c == "" {
		h, _ := os.UserHomeDir()
		c = filepath.Join(h, ".cache", "kdive")
	}
	return filepath.Join(c, "corpus", "vmlinux")
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "dwarf bench:", err)
	os.Exit(1)
}
