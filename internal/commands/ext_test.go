package commands

// Tests of existing commands on the ext corpus (testdata/rig/ext: hung task,
// softirq Oops, sockets, threads, slab cases), each against the guest's
// ground truth or the crashed kernel's own console, with the vmlinux
// (vmcore.elf) and without it (vmcore.lzo: kallsyms, the dump's BTF and ORC).

import (
	"bufio"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"kdive/internal/program"
	"kdive/internal/testcorpus"
)

// extDumps: each ext dump format with the vmlinux to open it with.
func extDumps(t *testing.T) []struct{ name, vmlinux, format string } {
	return []struct{ name, vmlinux, format string }{
		{"elf", testcorpus.ExtVmlinux(t), testcorpus.KdumpELF},
		{"lzo-no-vmlinux", "", testcorpus.KdumpLZO},
	}
}

// forExtDumps runs f on each format of the scenario, with and without vmlinux.
func forExtDumps(t *testing.T, sc string, f func(t *testing.T, p *program.Program)) {
	testcorpus.ExtDir(t)
	for _, d := range extDumps(t) {
		t.Run(sc+"/"+d.name, func(t *testing.T) {
			f(t, openProg(t, d.vmlinux, testcorpus.ExtFile(t, sc, d.format)))
		})
	}
}

// sameComm: task->comm holds 15 characters, the guest's /proc comm of a
// kernel thread its full name ("rcu_tasks_kthread", 6.1's
// get_kthread_comm); a workqueue worker's carries the workqueue's name
// after a '-' ("kworker/0:1H-kblockd").
func sameComm(task, proc string) bool {
	return task == proc || len(task) == 15 && strings.HasPrefix(proc, task) ||
		strings.HasPrefix(task, "kworker/") && strings.HasPrefix(proc, task+"-")
}

// `ps` lists every one of the guest's threads (every thread of every process,
// the multi-threaded kdive-mt's six included) plus one idle task per CPU,
// with the guest's PID, PPID and command; in the hung dump the hung task
// is UN, in mthread kdive-mt's threads are IN.
func TestExtPs(t *testing.T) {
	for _, sc := range testcorpus.ExtScenarios() {
		forExtDumps(t, sc, func(t *testing.T, p *program.Program) {
			truth := testcorpus.ExtTruth(t, sc)
			tasks, err := testcorpus.ParseTasks(truth)
			if err != nil {
				t.Fatal(err)
			}
			nCPUs, _ := strconv.Atoi(truth["cpus"][0])
			rows := parsePs(t, runCmd(t, p, "ps"))
			byPid := map[string]psRow{}
			for _, r := range rows {
				if r.pid != "0" {
					if _, dup := byPid[r.pid]; dup {
						t.Errorf("pid %s listed twice", r.pid)
					}
					byPid[r.pid] = r
				}
			}
			// Every guest thread is listed (below). The guest's snapshot is
			// taken a moment before the crash; a kernel thread (a kworker)
			// may start in between, so up to two extra kernel threads are
			// allowed, nothing else.
			guest := map[string]bool{}
			for _, tk := range tasks {
				guest[strconv.Itoa(tk.TID)] = true
			}
			extra := 0
			for _, r := range rows {
				if r.pid == "0" || guest[r.pid] {
					continue
				}
				if extra++; !strings.HasPrefix(r.comm, "[") {
					t.Errorf("ps lists user task %q the guest did not have", r.line)
				}
			}
			if idle := len(rows) - len(byPid); idle != nCPUs || extra > 2 {
				t.Errorf("ps lists %d tasks (%d idle, %d not in the guest's list); the guest had %d threads + %d idle tasks",
					len(rows), idle, extra, len(tasks), nCPUs)
			}
			for _, tk := range tasks {
				r, ok := byPid[strconv.Itoa(tk.TID)]
				if !ok {
					t.Errorf("guest thread %+v not listed", tk)
					continue
				}
				if !sameComm(strings.Trim(r.comm, "[]"), tk.Comm) || r.ppid != strconv.Itoa(tk.PPID) {
					t.Errorf("ps %q; guest %+v", r.line, tk)
				}
			}
			switch sc {
			case "hung":
				if r := byPid[truth["hung_pid"][0]]; r.st != "UN" || r.comm != "kdive-trigger" {
					t.Errorf("hung task: %q", r.line)
				}
				if r := byPid[truth["panic_pid"][0]]; !r.active || r.comm != "[khungtaskd]" || r.st != "RU" {
					t.Errorf("panic task: %q", r.line)
				}
			case "mthread":
				for _, v := range truth["mt_thread"] {
					f := strings.Fields(v)
					if r := byPid[f[0]]; r.comm != f[1] || r.st != "IN" {
						t.Errorf("thread %q: ps %q", v, r.line)
					}
				}
			}
		})
	}
}

// consoleCallTraces returns the crashed kernel's Call Traces: for each, the
// functions in order without the "?" lines, each "RIP: 0010:FUNC" line of
// the trace (an interrupted kernel function, shown by `bt` as an exception
// frame) as FUNC, up to the trace's end (</TASK>). The text before the trace
// is kept too: the Oops' own "RIP: 0010:FUNC" (FUNC, or "" for a panic)
// goes into rips.
func consoleCallTraces(t *testing.T, path string) (traces [][]string, rips []string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ts := regexp.MustCompile(`^\[ *[0-9.]+\] `)
	ripRe := regexp.MustCompile(`^RIP: 0010:([A-Za-z0-9_.]+)\+`)
	fnRe := regexp.MustCompile(`^ ([A-Za-z0-9_.]+)\+0x[0-9a-f]+/0x[0-9a-f]+`)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var cur []string
	in, rip, banners := false, "", 0
	for sc.Scan() {
		l := strings.TrimRight(sc.Text(), "\r")
		if strings.Contains(l, "] Linux version ") {
			if banners++; banners == 2 {
				break // the capture kernel
			}
		}
		l = ts.ReplaceAllString(l, "")
		m := ripRe.FindStringSubmatch(l)
		if !in {
			if m != nil {
				rip = m[1]
			}
			if strings.HasPrefix(l, "Call Trace:") {
				in, cur = true, nil
			}
			continue
		}
		switch {
		case strings.Contains(l, "</TASK>"):
			traces, rips = append(traces, cur), append(rips, rip)
			in, rip = false, ""
		case m != nil:
			cur = append(cur, m[1])
		default:
			if fm := fnRe.FindStringSubmatch(l); fm != nil {
				cur = append(cur, fm[1])
			}
		}
	}
	return traces, rips
}

var (
	btFrameRe = regexp.MustCompile(`^ *#\d+ \[[0-9a-f]+\] ([A-Za-z0-9_.]+) at [0-9a-f]+`)
	btExcRe   = regexp.MustCompile(`^    \[exception RIP: ([A-Za-z0-9_.]+)\+\d+\]$`)
)

// btFunctions returns the functions of a `bt` output in order: each
// numbered frame's, and each kernel exception frame's RIP function.
func btFunctions(out string) []string {
	var fns []string
	for _, l := range strings.Split(out, "\n") {
		if m := btFrameRe.FindStringSubmatch(l); m != nil {
			fns = append(fns, m[1])
		} else if m := btExcRe.FindStringSubmatch(l); m != nil {
			fns = append(fns, m[1])
		}
	}
	return fns
}

// The panic task's `bt` is the crashed kernel's own trace, frame for frame:
//   - hung: khungtaskd panicked: machine_kexec and __crash_kexec (the kdump
//     path that never returned), then the panic's Call Trace without its
//     first line (dump_stack_lvl, returned since): panic, watchdog.cold,
//     kthread, ret_from_fork.
//   - softirq: the Oops path (machine_kexec ... asm_exc_page_fault), the
//     faulting kdive_ext_null_deref, then the Call Trace from the IRQ stack
//     (call_timer_fn ... sysvec_apic_timer_interrupt) across to the task
//     stack (asm_sysvec_apic_timer_interrupt, the interrupted kdive_ext_spin,
//     kdive_ext_write ... entry_SYSCALL_64_after_hwframe).
//   - the others: sysrq c from the holder's write: machine_kexec,
//     __crash_kexec, then the panic's trace (panic, sysrq_handle_crash, ...,
//     entry_SYSCALL_64_after_hwframe).
//
// And in hung, the hung task's `bt` is the trace khungtaskd printed for it.
func TestExtPanicBt(t *testing.T) {
	oops := []string{"machine_kexec", "__crash_kexec", "crash_kexec", "oops_end", "page_fault_oops", "exc_page_fault", "asm_exc_page_fault"}
	for _, sc := range testcorpus.ExtScenarios() {
		forExtDumps(t, sc, func(t *testing.T, p *program.Program) {
			truth := testcorpus.ExtTruth(t, sc)
			traces, rips := consoleCallTraces(t, testcorpus.ExtFile(t, sc, testcorpus.Console))
			if len(traces) == 0 {
				t.Fatal("no Call Trace on the console")
			}
			last, rip := traces[len(traces)-1], rips[len(rips)-1]
			var want []string
			if rip == "" {
				if last[0] != "dump_stack_lvl" {
					t.Fatalf("panic trace starts with %s", last[0])
				}
				want = append([]string{"machine_kexec", "__crash_kexec"}, last[1:]...)
			} else {
				want = append(append(append([]string{}, oops...), rip), last...)
			}
			out := runBtOn(t, p)
			hdr := regexp.MustCompile(`^PID: (\d+) +TASK: [0-9a-f]+  CPU: \d+ +COMMAND: "([^"]*)"`).FindStringSubmatch(out)
			if hdr == nil || hdr[1] != truth["panic_pid"][0] || hdr[2] != truth["panic_comm"][0] {
				t.Errorf("bt header %q; truth panic_pid %s panic_comm %s", strings.SplitN(out, "\n", 2)[0], truth["panic_pid"], truth["panic_comm"])
			}
			if got := btFunctions(out); strings.Join(got, " ") != strings.Join(want, " ") || strings.Contains(out, "bt: ") {
				t.Errorf("bt:\n%s\n got %v\nwant %v", out, got, want)
			}
			if sc == "softirq" && !strings.Contains(out, "--- <IRQ stack> ---") {
				t.Errorf("bt does not mark the IRQ stack:\n%s", out)
			}
			if sc == "hung" {
				// The first trace is the hung task's (sched_show_task).
				hung := runBtOn(t, p, truth["hung_pid"][0])
				if got := btFunctions(hung); strings.Join(got, " ") != strings.Join(traces[0], " ") || strings.Contains(hung, "bt: ") {
					t.Errorf("bt %s:\n%s\n got %v\nwant %v", truth["hung_pid"][0], hung, got, traces[0])
				}
			}
		})
	}
}

// Each thread of kdive-mt sleeps in its own system call: its `bt` goes
// from __schedule through that call's kernel function down to the system
// call entry, with the thread's user registers.
func TestExtThreadsBt(t *testing.T) {
	through := map[string]string{
		"pause":      "sys_pause",
		"nanosleep":  "hrtimer_nanosleep",
		"futex":      "futex_wait",
		"read":       "pipe_read",
		"poll":       "do_sys_poll",
		"epoll_wait": "do_epoll_wait",
	}
	forExtDumps(t, "mthread", func(t *testing.T, p *program.Program) {
		truth := testcorpus.ExtTruth(t, "mthread")
		for _, v := range truth["mt_thread"] {
			f := strings.Fields(v)
			out := runBtOn(t, p, f[0])
			fns := btFunctions(out)
			if len(fns) < 4 || fns[0] != "__schedule" || fns[len(fns)-1] != "entry_SYSCALL_64_after_hwframe" ||
				!strings.Contains(strings.Join(fns, " "), through[f[2]]) || !strings.Contains(out, "CS: 0033  SS: 002b") ||
				!strings.Contains(out, `COMMAND: "`+f[1]+`"`) || strings.Contains(out, "bt: ") {
				t.Errorf("bt %s (%s in %s, want %s):\n%s", f[0], f[1], f[2], through[f[2]], out)
			}
		}
	})
}

// `net -s PID` of kdive-tcp lists its sockets as the guest saw them: fd,
// FAMILY:TYPE, source and destination address-port; `files PID` shows each
// fd's path, socket:[INODE] for the sockets.
func TestExtTCPSockets(t *testing.T) {
	forExtDumps(t, "tcp", func(t *testing.T, p *program.Program) {
		truth := testcorpus.ExtTruth(t, "tcp")
		pid := truth["tcp_pid"][0]
		out := runCmd(t, p, "net", "-s", pid)
		got := map[string]string{}
		for _, l := range strings.Split(out, "\n") {
			f := strings.Fields(l)
			if len(f) >= 4 && regexp.MustCompile(`^\d+$`).MatchString(f[0]) {
				got[f[0]] = strings.Join(f[3:], " ")
			}
		}
		if len(got) != len(truth["tcp_socket"]) || !strings.HasPrefix(out, "PID: "+pid+" ") {
			t.Errorf("net -s %s:\n%s\ntruth %q", pid, out, truth["tcp_socket"])
		}
		for _, v := range truth["tcp_socket"] {
			f := strings.Fields(v) // FD INODE FAMILY:TYPE SRC DST
			want := strings.Join(f[2:], " ")
			if f[3] == "-" {
				want = f[2] // UNIX: no addresses
			}
			if got[f[0]] != want {
				t.Errorf("net -s fd %s: %q, guest %q", f[0], got[f[0]], want)
			}
		}
		files := runCmd(t, p, "files", pid)
		paths := map[string]string{}
		for _, l := range strings.Split(files, "\n") {
			f := strings.Fields(l)
			if len(f) == 6 && regexp.MustCompile(`^\d+$`).MatchString(f[0]) {
				paths[f[0]] = f[5]
			}
		}
		if len(paths) != len(truth["tcp_fd"]) {
			t.Errorf("files %s lists %d fds, guest %d:\n%s", pid, len(paths), len(truth["tcp_fd"]), files)
		}
		for _, v := range truth["tcp_fd"] {
			fd, path, _ := strings.Cut(v, " ")
			if paths[fd] != path {
				t.Errorf("files %s fd %s: %q, guest %q", pid, fd, paths[fd], path)
			}
		}
	})
}

// Every line the crashed kernel printed on its console is in `log`, in
// order (the check of TestLogCorpusHasConsole), on every ext dump: the
// poison report ("BUG kdive_poison ...: Poison overwritten", the bytes, the
// alloc/free tracks, "FIX kdive_poison: Restoring Poison"), khungtaskd's
// report, the softirq Oops, and the truth lines. In logring, whose ring
// wrapped, the lines from the flood's end on.
func TestExtLogHasConsole(t *testing.T) {
	must := map[string][]string{
		"poison": {"BUG kdive_poison (Tainted: G           OE     ): Poison overwritten", "First byte 0x42 instead of 0x6b", "FIX kdive_poison: Restoring Poison"},
		"hung":   {"INFO: task kdive-trigger:", "Kernel panic - not syncing: hung_task: blocked tasks"},
	}
	for _, sc := range testcorpus.ExtScenarios() {
		forExtDumps(t, sc, func(t *testing.T, p *program.Program) {
			log := runCmd(t, p, "log")
			lines := strings.Split(log, "\n")
			want := crashedConsole(t, testcorpus.ExtFile(t, sc, testcorpus.Console))
			if sc == "logring" {
				// The flood overwrote every record before it: the console
				// lines from its truth line on are in the ring.
				for i, w := range want {
					if strings.HasSuffix(w, "] TRUTH flood_count 4500") {
						want = want[i:]
						break
					}
				}
				if len(want) == 0 || !strings.HasSuffix(want[0], "] TRUTH flood_count 4500") {
					t.Fatal("console lacks TRUTH flood_count 4500")
				}
			}
			j := 0
			for _, w := range want {
				indented := strings.Repeat(" ", 15) + w[15:]
				for j < len(lines) && lines[j] != w && lines[j] != indented {
					j++
				}
				if j == len(lines) {
					t.Fatalf("console line %q is not in log (in order)", w)
				}
				j++
			}
			for _, m := range must[sc] {
				if !strings.Contains(log, m) {
					t.Errorf("log lacks %q", m)
				}
			}
		})
	}
}

// `files` of the holder on every ext dump: its fds and paths are what the
// guest's readlink of /proc/PID/fd/* said (in hung, the holder is asleep in
// its write to /proc/kdive_ext, fd 1).
func TestExtHolderFiles(t *testing.T) {
	for _, sc := range testcorpus.ExtScenarios() {
		forExtDumps(t, sc, func(t *testing.T, p *program.Program) {
			checkFiles(t, p, testcorpus.ExtTruth(t, sc))
		})
	}
}

// `mod` and `net` on every ext dump equal the guest's /proc/modules (name
// and size; kdive_ext tainted OE) and its interfaces' addresses.
func TestExtModNet(t *testing.T) {
	for _, sc := range testcorpus.ExtScenarios() {
		forExtDumps(t, sc, func(t *testing.T, p *program.Program) {
			truth := testcorpus.ExtTruth(t, sc)
			got := map[string]string{}
			for _, l := range strings.Split(strings.TrimSuffix(runCmd(t, p, "mod"), "\n"), "\n")[1:] {
				f := strings.Fields(l)
				if len(f) != 7 {
					t.Fatalf("mod line %q", l)
				}
				got[f[1]] = f[3]
			}
			sameModules(t, got, truth["module"])
			if taints := runCmd(t, p, "mod", "-t"); taints != "NAME       TAINTS\nkdive_ext  OE\n" {
				t.Errorf("mod -t: %q", taints)
			}
			var devs []string
			for _, l := range strings.Split(strings.TrimSuffix(runCmd(t, p, "net"), "\n"), "\n")[1:] {
				if f := strings.Fields(l); len(f) == 3 {
					devs = append(devs, f[1]+" "+f[2])
				}
			}
			wantDevs := append([]string(nil), truth["netdev"]...)
			sort.Strings(devs)
			sort.Strings(wantDevs)
			if len(wantDevs) == 0 || strings.Join(devs, "|") != strings.Join(wantDevs, "|") {
				t.Errorf("net: %q, guest %q", devs, wantDevs)
			}
		})
	}
}
