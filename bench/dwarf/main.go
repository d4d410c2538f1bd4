// Command dwarf compares kdive's DWARF indexer (internal/dwarfx) with drgn:
// cold open + index + first lookup of struct task_struct on the same
// vmlinux, in fresh processes, wall time and peak RSS (getrusage of the
// child, as GNU time's %M), median of several runs.
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
		return
	}
	self, err := os.Executable()
	if err != nil {
		fatal(err)
	}
	fmt.Printf("vmlinux %s, %d runs each (median), cold process, warm page cache\n", *vmlinux, *runs)
	kw, km, kout := measure(*runs, self, "-probe", "-vmlinux", *vmlinux)
	dw, dm, dout := measure(*runs, *python, "-c", drgnScript, *vmlinux)
	if kout != dout {
		fmt.Printf("warning: sizes differ: kdive %q, drgn %q\n", kout, dout)
	}
	fmt.Printf("%-8s %10s %12s   sizeof(struct task_struct)\n", "tool", "wall", "peak RSS")
	fmt.Printf("%-8s %9.3fs %9.1f MiB   %s\n", "kdive", kw.Seconds(), float64(km)/1024, kout)
	fmt.Printf("%-8s %9.3fs %9.1f MiB   %s\n", "drgn", dw.Seconds(), float64(dm)/1024, dout)
	fmt.Printf("ratio drgn/kdive: wall %.2fx, RSS %.2fx\n", dw.Seconds()/kw.Seconds(), float64(dm)/float64(km))
}

// measure runs a command n times and returns the median wall time, the
// median peak RSS (KiB) and its output.
func measure(n int, name string, args ...string) (time.Duration, int64, string) {
	var walls []time.Duration
	var rss []int64
	out := ""
	for i := 0; i < n; i++ {
		cmd := exec.Command(name, args...)
		cmd.Stderr = os.Stderr
		start := time.Now()
		b, err := cmd.Output()
		wall := time.Since(start)
		if err != nil {
			fatal(fmt.Errorf("%s: %v", name, err))
		}
		out = strings.TrimSpace(string(b))
		walls = append(walls, wall)
		rss = append(rss, cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss)
	}
	sort.Slice(walls, func(i, j int) bool { return walls[i] < walls[j] })
	sort.Slice(rss, func(i, j int) bool { return rss[i] < rss[j] })
	return walls[n/2], rss[n/2], out
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
