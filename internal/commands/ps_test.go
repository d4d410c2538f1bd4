package commands

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"kdive/internal/kernel/tasks"
	"kdive/internal/testcorpus"
)

var psLine = regexp.MustCompile(`^([> ]) +(\d+) +(-?\d+) +(\d+|\?) +([0-9a-f]{16}|--) +([A-Z?]{2,4}) +(\d+\.\d) +(\d+) +(\d+)  (.*)$`)

type psRow struct {
	active                  bool
	pid, ppid, cpu          string
	task, st, pct, vsz, rss string
	comm                    string
	line                    string
}

func parsePs(t *testing.T, out string) []psRow {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) == 0 || lines[0] != "      PID    PPID  CPU       TASK        ST  %MEM      VSZ      RSS  COMM" {
		t.Fatalf("ps header %q", lines[0])
	}
	var rows []psRow
	for _, l := range lines[1:] {
		m := psLine.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("ps line %q", l)
		}
		rows = append(rows, psRow{m[1] == ">", m[2], m[3], m[4], m[5], m[6], m[7], m[8], m[9], m[10], l})
	}
	return rows
}

// consolePanicCPU finds "CPU: N PID: P Comm: C" in the crashed kernel's
// console and returns N for pid P.
func consolePanicCPU(t *testing.T, console, pid string) string {
	t.Helper()
	f, err := os.Open(console)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	re := regexp.MustCompile(`\] CPU: (\d+) PID: ` + pid + ` Comm: `)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			return m[1]
		}
	}
	t.Fatalf("%s: no CPU: N PID: %s line", console, pid)
	return ""
}

// On every corpus dump, with and without the vmlinux: every task is
// listed (the guest's threads plus one idle task per CPU), in crash's
// order; one task per CPU is marked active, among them the panic task on
// the CPU the console's Oops/panic line names; kernel threads are
// bracketed; and the columns of the tasks crash 8.0.2 lists equal its.
func TestPsCorpus(t *testing.T) {
	dir := testcorpus.Dir(t)
	for _, sc := range testcorpus.Scenarios() {
		for _, f := range []string{testcorpus.KdumpLZO, testcorpus.KdumpELF} {
			t.Run(sc+"/"+f, func(t *testing.T) {
				vmlinux := ""
				if f == testcorpus.KdumpELF {
					vmlinux = testcorpus.Vmlinux(t)
				}
				truth := testcorpus.Truth(t, sc)
				nTasks, _ := strconv.Atoi(truth["tasks"][0])
				nCPUs, _ := strconv.Atoi(truth["cpus"][0])
				pid, comm := truth["panic_pid"][0], truth["panic_comm"][0]
				panicCPU := consolePanicCPU(t, filepath.Join(dir, sc, testcorpus.Console), pid)

				p := openProg(t, vmlinux, testcorpus.File(t, sc, f))
				rows := parsePs(t, runCmd(t, p, "ps"))
				if nTasks < 40 || len(rows) != nTasks+nCPUs {
					t.Errorf("%d tasks, truth %d threads + %d idle", len(rows), nTasks, nCPUs)
				}
				activeCPUs := map[string]bool{}
				lastPid, idle := -1, 0
				for i, r := range rows {
					n, _ := strconv.Atoi(r.pid)
					if n < lastPid || (n == 0 && r.cpu != strconv.Itoa(idle)) {
						t.Errorf("row %d out of order: %q", i, r.line)
					}
					if n == 0 {
						idle++
						if !strings.HasPrefix(r.comm, "[swapper/") {
							t.Errorf("idle task %q", r.line)
						}
					}
					lastPid = n
					if r.active {
						if activeCPUs[r.cpu] {
							t.Errorf("two active tasks on CPU %s", r.cpu)
						}
						activeCPUs[r.cpu] = true
					}
					if r.pid == "2" && r.comm != "[kthreadd]" || r.pid == "1" && strings.HasPrefix(r.comm, "[") {
						t.Errorf("kernel thread brackets: %q", r.line)
					}
				}
				if idle != nCPUs || len(activeCPUs) != nCPUs {
					t.Errorf("%d idle tasks, %d CPUs with an active task; %d CPUs", idle, len(activeCPUs), nCPUs)
				}
				found := false
				for _, r := range rows {
					if r.pid == pid {
						found = true
						if !r.active || r.cpu != panicCPU || strings.Trim(r.comm, "[]") != comm || r.st != "RU" {
							t.Errorf("panic task line %q: want active, CPU %s, comm %s, RU", r.line, panicCPU, comm)
						}
					}
				}
				if !found {
					t.Errorf("panic pid %s not listed", pid)
				}
				compareCrashPs(t, sc, rows)
			})
		}
	}
}

// crashSections reads testdata/ps-SCENARIO-crash.txt: crash 8.0.2's ps
// outputs on the scenario's vmcore.lzo.
func crashSections(t *testing.T, name string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, part := range strings.Split(string(b), "===crash> ")[1:] {
		cmd, body, _ := strings.Cut(part, "\n")
		m[cmd] = body
	}
	return m
}

// compareCrashPs compares kdive's lines with crash's for the tasks crash
// lists. crash 8.0.2 shows PPID -1 for a parent it did not find, and its
// RSS (and %MEM) leave shmem pages out: kdive's RSS less its shmem pages
// must equal crash's.
func compareCrashPs(t *testing.T, sc string, rows []psRow) {
	t.Helper()
	golden := crashSections(t, "ps-"+sc+"-crash.txt")
	crashRows := parsePs(t, golden["ps"])
	byTask := map[string]psRow{}
	for _, r := range rows {
		byTask[r.task] = r
	}
	if _, ok := byTask[crashRows[len(crashRows)-1].task]; !ok {
		t.Skipf("the corpus's %s dump is not the crash testdata/ps-%s-crash.txt was captured on", sc, sc)
	}
	for _, c := range crashRows {
		k, ok := byTask[c.task]
		if !ok {
			t.Errorf("crash's task %s missing", c.line)
			continue
		}
		if k.active != c.active || k.pid != c.pid || k.cpu != c.cpu || k.st != c.st || k.vsz != c.vsz || k.comm != c.comm ||
			(c.ppid != "-1" && k.ppid != c.ppid) {
			t.Errorf("\n got %q\nwant %q", k.line, c.line)
		}
	}
}

// The crash 8.0.2 outputs of -t, -l, -m, -s, -p and -c for the tasks it
// lists equal kdive's for the same tasks.
func TestPsOptionsMatchCrash(t *testing.T) {
	for _, sc := range testcorpus.Scenarios() {
		t.Run(sc, func(t *testing.T) {
			golden := crashSections(t, "ps-"+sc+"-crash.txt")
			crashRows := parsePs(t, golden["ps"])
			p := openProg(t, "", testcorpus.File(t, sc, testcorpus.KdumpLZO))
			d, err := GatherPs(p)
			if err != nil {
				t.Fatal(err)
			}
			var addrs []string
			for _, c := range crashRows {
				a, _ := strconv.ParseUint(c.task, 16, 64)
				pt, ok := d.ByAddr(a)
				if !ok {
					t.Skipf("the corpus's %s dump is not the crash the golden was captured on", sc)
				}
				addrs = append(addrs, c.task)
				// RSS: crash 8.0.2 counts file and anon pages only.
				if got := strconv.FormatUint((pt.Mem.RSS-pt.Mem.Shmem)*4, 10); got != c.rss {
					t.Errorf("%s: RSS without shmem %s KB, crash %s KB", c.line, got, c.rss)
				}
			}
			for _, opt := range []string{"-t", "-l", "-m", "-p", "-c", "-a"} {
				got := runCmd(t, p, "ps", append([]string{opt}, addrs...)...)
				want := golden["ps "+opt]
				if opt == "-p" || opt == "-c" {
					// crash knows only its three tasks: compare the lines
					// that name them.
					got, want = keepTasks(got, addrs), keepTasks(want, addrs)
				}
				sameText(t, "ps "+opt, got, want)
			}
			// -s: the KSTACKP column.
			got := runCmd(t, p, "ps", append([]string{"-s"}, addrs...)...)
			wl := strings.Split(golden["ps -s"], "\n")
			gl := strings.Split(got, "\n")
			if wl[0] != gl[0] {
				t.Errorf("ps -s header %q, want %q", gl[0], wl[0])
			}
			for i := 1; i < len(wl)-1; i++ {
				if i >= len(gl) || len(gl[i]) < 45 || gl[i][:1] != wl[i][:1] || gl[i][23:45] != wl[i][23:45] {
					t.Errorf("ps -s line %d: %q, want %q", i, gl[min(i, len(gl)-1)], wl[i])
				}
			}
		})
	}
}

func keepTasks(s string, addrs []string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		for _, a := range addrs {
			if strings.Contains(l, "TASK: "+a+" ") {
				out = append(out, strings.TrimLeft(l, " "))
				break
			}
		}
	}
	return strings.Join(out, "\n")
}

// On the shared dump: the three tasks of crash's reference `ps` have
// crash's columns, and ps lists all 55 tasks.
func TestPsSharedMatchesCrash(t *testing.T) {
	dir := testcorpus.Shared(t)
	want := parsePs(t, refSection(t, dir, "ps"))
	p := openProg(t, "", filepath.Join(dir, "vmcore.zstd"))
	rows := parsePs(t, runCmd(t, p, "ps"))
	if len(rows) != 55 {
		t.Errorf("%d tasks, want 55", len(rows))
	}
	byTask := map[string]psRow{}
	for _, r := range rows {
		byTask[r.task] = r
	}
	for _, c := range want {
		k := byTask[c.task]
		if k.active != c.active || k.pid != c.pid || k.ppid != c.ppid || k.cpu != c.cpu || k.st != c.st || k.vsz != c.vsz || k.comm != c.comm {
			t.Errorf("\n got %q\nwant %q", k.line, c.line)
		}
	}
	// Selectors: pid, task address, command, regex, and options.
	sel := parsePs(t, runCmd(t, p, "ps", "1", want[0].task, "kthreadd", "'^swapper/'"))
	var got []string
	for _, r := range sel {
		got = append(got, r.pid+":"+r.comm)
	}
	if g := strings.Join(got, " "); g != "0:[swapper/0] 0:[swapper/0] 0:[swapper/1] 1:init 2:[kthreadd]" {
		t.Errorf("selected %s", g)
	}
	for _, r := range parsePs(t, runCmd(t, p, "ps", "-k")) {
		if !strings.HasPrefix(r.comm, "[") {
			t.Errorf("ps -k: %q", r.line)
		}
	}
	users := parsePs(t, runCmd(t, p, "ps", "-u"))
	for _, r := range users {
		if strings.HasPrefix(r.comm, "[") || r.vsz == "0" {
			t.Errorf("ps -u: %q", r.line)
		}
	}
	if len(users) == 0 || len(users)+len(parsePs(t, runCmd(t, p, "ps", "-k"))) != len(rows) {
		t.Errorf("-u %d + -k != %d", len(users), len(rows))
	}
	if g := parsePs(t, runCmd(t, p, "ps", "-G")); len(g) != len(rows) {
		// All single-threaded here (idle tasks are each their own leader).
		t.Errorf("ps -G: %d rows", len(g))
	}
	if a := parsePs(t, runCmd(t, p, "ps", "-A")); len(a) != 2 || !a[0].active || !a[1].active {
		t.Errorf("ps -A: %v", a)
	}
	sum := runCmd(t, p, "ps", "-S")
	total := 0
	for _, l := range strings.Split(strings.TrimSpace(sum), "\n") {
		_, n, _ := strings.Cut(l, ": ")
		v, _ := strconv.Atoi(n)
		total += v
	}
	if total != len(rows) || !strings.HasPrefix(sum, "  RU: ") {
		t.Errorf("ps -S:\n%s", sum)
	}
}

// ps -a on an unfiltered dump (the user pages are there): the trigger
// process is the rig's shell script, and init is the initramfs's /init.
func TestPsArgsCorpus(t *testing.T) {
	for _, sc := range testcorpus.Scenarios() {
		t.Run(sc, func(t *testing.T) {
			truth := testcorpus.Truth(t, sc)
			p := openProg(t, "", testcorpus.File(t, sc, testcorpus.KdumpELF))
			out := runCmd(t, p, "ps", "-a", "1", "2", truth["panic_pid"][0])
			for _, want := range []string{
				"COMMAND: \"init\"\nARG: /bin/sh /init \nENV: HOME=/\n     TERM=linux\n\n",
				"COMMAND: \"kthreadd\"\nps: no user stack\n\n",
			} {
				if !strings.Contains(out, want) {
					t.Errorf("no %q in\n%s", want, out)
				}
			}
			if truth["panic_comm"][0] == "kdive-trigger" && !strings.Contains(out, "ARG: sh /holder.sh "+sc+" \nENV: ") {
				t.Errorf("trigger's ARG:\n%s", out)
			}
		})
	}
}

// More of crash 8.0.2's ps options on the corpus's sysrq dump: -r, -C with
// -l and -m, -g, and -t with -u and -k, compared on the lines of the
// three tasks crash lists (and the CPU: section lines).
func TestPsMoreOptionsMatchCrash(t *testing.T) {
	golden := crashSections(t, "ps-sysrq-crash.txt")
	crashRows := parsePs(t, golden["ps"])
	p := openProg(t, "", testcorpus.File(t, "sysrq", testcorpus.KdumpLZO))
	d, err := GatherPs(p)
	if err != nil {
		t.Fatal(err)
	}
	var addrs []string
	for _, c := range crashRows {
		a, _ := strconv.ParseUint(c.task, 16, 64)
		if _, ok := d.ByAddr(a); !ok {
			t.Skip("the corpus's sysrq dump is not the crash the golden was captured on")
		}
		addrs = append(addrs, c.task)
	}
	keep := func(s string) string {
		var out []string
		lines := strings.Split(s, "\n")
		for i, l := range lines {
			if strings.HasPrefix(l, "CPU: ") {
				out = append(out, l)
				continue
			}
			for _, a := range addrs {
				if strings.Contains(l, "TASK: "+a+" ") {
					out = append(out, l)
					// the lines that belong to it, up to a blank line
					for _, m := range lines[i+1:] {
						if m == "" || strings.Contains(m, "TASK: ") {
							break
						}
						out = append(out, m)
					}
					break
				}
			}
		}
		return strings.Join(out, "\n")
	}
	pid := crashRows[len(crashRows)-1].pid
	sameText(t, "ps -r", runCmd(t, p, "ps", "-r", pid), golden["ps -r "+pid])
	for _, cmd := range []string{"ps -C all -l", "ps -C 0,1 -m", "ps -g", "ps -u -t", "ps -k -t"} {
		got := runCmd(t, p, "ps", strings.Fields(cmd)[1:]...)
		want := golden[cmd]
		if want == "" {
			t.Fatalf("no %q in golden", cmd)
		}
		sameText(t, cmd, keep(got), keep(want))
	}
}

// -y selects by scheduling policy: the migration threads are FIFO, and
// the policies together select every task once.
func TestPsPolicy(t *testing.T) {
	p := openProg(t, "", testcorpus.File(t, "sysrq", testcorpus.KdumpLZO))
	all := parsePs(t, runCmd(t, p, "ps"))
	fifo := parsePs(t, runCmd(t, p, "ps", "-y", "FIFO"))
	if len(fifo) == 0 {
		t.Fatal("no FIFO task")
	}
	for _, r := range fifo {
		if !strings.HasPrefix(r.comm, "[migration/") {
			t.Errorf("FIFO: %q", r.line)
		}
	}
	n := 0
	for _, pol := range []string{"normal", "FIFO", "RR", "BATCH", "IDLE", "DEADLINE"} {
		n += len(parsePs(t, runCmd(t, p, "ps", "-y", pol)))
	}
	if n != len(all) || len(parsePs(t, runCmd(t, p, "ps", "-y", "0,1,2,3,5,6"))) != len(all) {
		t.Errorf("policies select %d of %d tasks", n, len(all))
	}
	var out, errb strings.Builder
	if err := Lookup("ps").Run(&Env{Prog: p, Out: &out, Err: &errb}, []string{"-y", "BOGUS"}); err == nil {
		t.Error("-y BOGUS accepted")
	}
	if err := Lookup("ps").Run(&Env{Prog: p, Out: &out, Err: &errb}, []string{"-C", "0"}); err == nil {
		t.Error("-C without -l/-m accepted")
	}
}

// A synthetic table with a multi-threaded process: -G keeps the leaders
// (a thread given by pid stands for its leader, once), -g lists each
// leader's threads, -c and -p follow task_struct.parent.
func TestPsThreadGroups(t *testing.T) {
	mk := func(pid, tgid int32, comm string, addr, parent uint64, kthread bool) PsTask {
		tk := PsTask{CPU: 0, St: "IN"}
		tk.PID, tk.TGID, tk.Comm, tk.Addr, tk.PtraceParent = pid, tgid, comm, addr, parent
		if kthread {
			tk.Flags = tasks.PF_KTHREAD
		}
		return tk
	}
	d := &PsData{Tasks: []PsTask{
		mk(0, 0, "swapper/0", 0xa000, 0xa000, true),
		mk(1, 1, "init", 0xa100, 0xa000, false),
		mk(2, 2, "kthreadd", 0xa200, 0xa000, true),
		mk(100, 100, "server", 0xa300, 0xa100, false),
		mk(101, 100, "worker", 0xa400, 0xa100, false),
		mk(102, 100, "worker", 0xa500, 0xa100, false),
	}}
	d.byAddr = map[uint64]int{}
	for i, tk := range d.Tasks {
		d.byAddr[tk.Addr] = i
		d.Tasks[i].PPID = -1
	}
	run := func(flag int, sels ...psSel) string {
		var out strings.Builder
		c := &psCtx{env: &Env{Out: &out, Err: &out}, d: d, flag: flag, specified: len(sels) > 0, shown: map[uint64]bool{}}
		if err := c.show(sels); err != nil {
			t.Fatal(err)
		}
		return out.String()
	}
	comms := func(out string) string {
		var c []string
		for _, l := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
			f := strings.Fields(l)
			c = append(c, f[len(f)-1])
		}
		return strings.Join(c, " ")
	}
	if got := comms(run(psGroup)); got != "[swapper/0] init [kthreadd] server" {
		t.Errorf("-G: %s", got)
	}
	if got := comms(run(psGroup, psSel{kind: 'p', pid: 102}, psSel{kind: 'p', pid: 101})); got != "server" {
		t.Errorf("-G 102 101: %s", got)
	}
	if got := comms(run(psUser)); got != "init server worker worker" {
		t.Errorf("-u: %s", got)
	}
	if got := comms(run(psKernel)); got != "[swapper/0] [kthreadd]" {
		t.Errorf("-k: %s", got)
	}
	if got := comms(run(0, psSel{kind: 'c', comm: "worker"})); got != "worker worker" {
		t.Errorf("ps worker: %s", got)
	}
	want := `PID: 100      TASK: a300              CPU: 0    COMMAND: "server"
  PID: 101      TASK: a400              CPU: 0    COMMAND: "worker"
  PID: 102      TASK: a500              CPU: 0    COMMAND: "worker"

`
	sameText(t, "-g 101", run(psTgidList, psSel{kind: 'p', pid: 101}), want)
	want = `PID: 1        TASK: a100              CPU: 0    COMMAND: "init"
  PID: 100      TASK: a300              CPU: 0    COMMAND: "server"
  PID: 101      TASK: a400              CPU: 0    COMMAND: "worker"
  PID: 102      TASK: a500              CPU: 0    COMMAND: "worker"

`
	sameText(t, "-c 1", run(psChildren, psSel{kind: 'p', pid: 1}), want)
	want = `PID: 0        TASK: a000              CPU: 0    COMMAND: "swapper/0"
 PID: 1        TASK: a100              CPU: 0    COMMAND: "init"
  PID: 102      TASK: a500              CPU: 0    COMMAND: "worker"

`
	sameText(t, "-p 102", run(psParents, psSel{kind: 't', task: 0xa500}), want)
}
