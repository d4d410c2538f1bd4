package commands

// ps: process status, as crash's cmd_ps / show_ps / show_ps_data
// (task.c) print it, on kdive's complete task list.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"kdive/internal/arch/amd64"
	"kdive/internal/kernel/sysinfo"
	"kdive/internal/kernel/tasks"
	"kdive/internal/program"
)

func init() {
	Register(&Command{
		Name:       "ps",
		KeepQuotes: true,
		Summary:    "display process status information",
		Usage:      psSynopsis,
		Help: `  This command displays process status for every task of the system (each
  thread of each process, and each CPU's idle task), or for the tasks
  selected by the arguments, in the format of crash's "ps":

    ">"      the task was running on its CPU at the crash (the CPU's
             runqueues.curr), or set -a marked it active on its CPU;
             the panic task always
    PID      the task's pid; idle tasks have pid 0, one per CPU
    PPID     the pid of its parent (task_struct.parent)
    CPU      the CPU it last ran on (the idle task: its CPU)
    TASK     the address of its task_struct
    ST       its state: RU running, IN interruptible, UN uninterruptible,
             ID idle (uninterruptible, no load), ZO zombie, ST stopped,
             TR traced, DE dead, PA parked, WA waking, NE new
    %MEM     its resident set as a share of memory
    VSZ      its virtual size in KB (mm->total_vm)
    RSS      its resident set in KB (file, anon and shmem pages of mm
             ->rss_stat, plus the threads' unsynchronized counts)
    COMM     its command; kernel threads are shown as [name]

  Tasks are listed by pid, the idle tasks first in CPU order.  The task
  list (init_task.tasks and each process's threads) is checked against
  the pid IDR (init_pid_ns.idr): a task found by one walk and not the
  other is named in a warning.

      pid  a process id (decimal).
     task  a task_struct address (hexadecimal).
  command  a command name: the tasks whose comm is exactly it (a leading
           "\" lets a name that is a number be a command).
 'regex'   the tasks whose comm matches the (extended) regular expression.
       -k  kernel threads only.
       -u  user tasks only.
       -G  thread group leaders only.
       -s  the saved kernel stack pointer (KSTACKP) instead of TASK.
       -p  the parental hierarchy of each task.
       -c  the children of each task.
       -g  the threads of each thread group leader.
       -t  the run time, start time and CPU times of each task, oldest
           first.
       -l  each task's last-run time stamp (sched_info.last_arrival),
           newest first, with its state.
       -m  as -l, as the time since the task last ran on its CPU's clock:
           [days hh:mm:ss.ms].
       -S  a summary of how many tasks are in each state.
       -A  the active tasks only.

       -a  the command line arguments and environment of each user task,
           read from its user stack through its page tables (pages that
           the dump filtered out cannot be read).

       -r  the resource limits of each task (signal->rlim).
 -y policy the tasks of a scheduling policy: NORMAL, FIFO, RR, BATCH, ISO,
           IDLE, DEADLINE or its number; several separated by commas.
  -C cpus  with -l or -m: the tasks of each CPU of cpus ("0", "1,3",
           "0-2", "all"), each CPU in its own section.

EXAMPLES
    kdive> ps 1 kthreadd
          PID    PPID  CPU       TASK        ST  %MEM      VSZ      RSS  COMM
    >       1       0   0  ffff8a87011f9800  RU   0.0     2260       72  init
            2       0   1  ffff8a87011fe000  IN   0.0        0        0  [kthreadd]`,
		Run: runPs,
	})
}

const psSynopsis = "[-k|-u|-G|-y policy][-s][-p|-c|-t|-[l|m][-C cpu]|-a|-g|-r|-S|-A] [pid | task | command | 'regex'] ..."

// Ps option flags.
const (
	psKernel = 1 << iota
	psUser
	psGroup
	psKstackp
	psParents
	psChildren
	psTimes
	psLastRun
	psMsecs
	psTgidList
	psSummary
	psActive
	psArgs
	psRlimit
)

// PsTask is one line of ps: a task with what crash shows of it.
type PsTask struct {
	tasks.Task
	CPU    int   // the CPU shown (the idle task's CPU for idle tasks)
	PPID   int32 // pid of task_struct.parent, -1 when it is no listed task
	Active bool  // runqueues.curr of its CPU
	Mem    tasks.Mem
	PctMem float64
	St     string // crash's state letters (RU, IN, ...)
}

// PsData is the task table ps prints.
type PsData struct {
	Tasks    []PsTask // crash's order: by pid, the idle tasks by CPU
	byAddr   map[uint64]int
	Warnings []string
	// PIDCheck compares init_pid_ns's IDR with the task list.
	PIDCheck *tasks.PIDCheck
}

// GatherPs reads every task, the running task of each CPU and the memory
// use of each task, sorted as crash sorts its context array.
func GatherPs(p *program.Program) (*PsData, error) {
	r, err := tasks.List(p, tasks.Options{})
	if err != nil {
		return nil, err
	}
	// The pid IDR cross-check: a task one walk finds and the other does
	// not is a warning, never hidden.
	chk := tasks.CheckPIDs(p, r)
	d := &PsData{Warnings: r.Warnings, PIDCheck: chk}
	running, err := activeSet(p)
	if err != nil {
		d.Warnings = append(d.Warnings, err.Error())
	}
	active := activeTasks(p, r.Tasks, running)
	mem, err := tasks.MemUsage(p, r.Tasks)
	if err != nil {
		d.Warnings = append(d.Warnings, err.Error())
	}
	total := totalPages(p)
	bits := tasks.StateBitsFor(p.Info().OSRelease)
	for i, t := range r.Tasks {
		pt := PsTask{Task: t, CPU: t.CPU, Active: active[t.Addr], Mem: mem[i], St: bits.String(t.StateValue())}
		if t.Idle {
			pt.CPU = t.IdleCPU
		}
		if total > 0 && !(t.IsKernelThread() && pt.Mem.RSS == 0) {
			pt.PctMem = float64(pt.Mem.RSS*100) / float64(total)
		}
		d.Tasks = append(d.Tasks, pt)
	}
	sort.SliceStable(d.Tasks, func(i, j int) bool {
		a, b := &d.Tasks[i], &d.Tasks[j]
		if a.PID == 0 && b.PID == 0 {
			return a.CPU < b.CPU
		}
		return a.PID < b.PID
	})
	d.byAddr = map[uint64]int{}
	for i, t := range d.Tasks {
		d.byAddr[t.Addr] = i
	}
	for i := range d.Tasks {
		d.Tasks[i].PPID = -1
		if j, ok := d.byAddr[d.Tasks[i].PtraceParent]; ok {
			d.Tasks[i].PPID = d.Tasks[j].PID
		}
	}
	return d, nil
}

// totalPages is crash's vt->total_pages: the page frame number of
// high_memory (the end of the direct map's memory).
func totalPages(p *program.Program) uint64 {
	a, err := p.Symbol("high_memory")
	if err != nil {
		return 0
	}
	hm, err := lgReadU64(p, a)
	if err != nil {
		return 0
	}
	po := p.Info().PageOffset
	if po == 0 || hm <= po {
		return 0
	}
	return (hm - po) >> 12
}

// ByAddr returns the task at a task_struct address.
func (d *PsData) ByAddr(addr uint64) (*PsTask, bool) {
	i, ok := d.byAddr[addr]
	if !ok {
		return nil, false
	}
	return &d.Tasks[i], true
}

func (d *PsData) hasComm(c string) bool {
	for i := range d.Tasks {
		if d.Tasks[i].Comm == c {
			return true
		}
	}
	return false
}

// ByPID returns the first task with that pid.
func (d *PsData) ByPID(pid int32) (*PsTask, bool) {
	for i := range d.Tasks {
		if d.Tasks[i].PID == pid {
			return &d.Tasks[i], true
		}
	}
	return nil, false
}

type psSel struct {
	kind byte // 'p' pid, 't' task, 'c' command, 'r' regex
	pid  int32
	task uint64
	comm string
	re   *regexp.Regexp
}

func runPs(env *Env, args []string) error {
	opts, rest, err := getopt("ps", args, "ASgstcpkuGlmarC:y:")
	if err != nil {
		writeUsage(env, "ps", psSynopsis)
		return err
	}
	flag := 0
	var policy uint64
	cpuSpec := ""
	exclusive := func(f int, c byte) error {
		const excl = psParents | psChildren | psTimes | psLastRun | psMsecs | psTgidList | psSummary | psActive | psArgs | psRlimit
		if flag&excl != 0 && flag&excl != f {
			return fmt.Errorf("-%c: only one of -a, -t, -c, -p, -g, -l, -m, -r, -S and -A at a time", c)
		}
		return nil
	}
	for _, o := range opts {
		var f int
		switch o.c {
		case 'k':
			if flag&psUser != 0 {
				return errors.New("-u and -k are mutually exclusive")
			}
			flag |= psKernel
			continue
		case 'u':
			if flag&psKernel != 0 {
				return errors.New("-u and -k are mutually exclusive")
			}
			flag |= psUser
			continue
		case 'G':
			flag |= psGroup
			continue
		case 's':
			flag |= psKstackp
			continue
		case 'p':
			f = psParents
		case 'c':
			f = psChildren
		case 't':
			f = psTimes
		case 'l':
			f = psLastRun
		case 'm':
			f = psMsecs
		case 'g':
			f = psTgidList
		case 'S':
			f = psSummary
		case 'A':
			f = psActive
		case 'a':
			f = psArgs
		case 'r':
			f = psRlimit
		case 'y':
			pol, err := parsePolicies(o.arg)
			if err != nil {
				return err
			}
			policy |= pol
			continue
		case 'C':
			cpuSpec = o.arg
			continue
		}
		if err := exclusive(f, o.c); err != nil {
			return err
		}
		flag |= f
	}
	if flag&psSummary != 0 && flag&(psUser|psKernel|psGroup) != 0 {
		return errors.New("-S option cannot be used with other options")
	}
	if flag&psGroup != 0 && flag&(psLastRun|psMsecs) != 0 {
		c := 'l'
		if flag&psMsecs != 0 {
			c = 'm'
		}
		return fmt.Errorf("-G not supported with -%c option", c)
	}
	if cpuSpec != "" && flag&(psLastRun|psMsecs) == 0 {
		return errors.New("-C option is only applicable with -l and -m")
	}
	p := env.Prog
	if p == nil {
		return errors.New("no dump file")
	}
	d, err := GatherPs(p)
	if err != nil {
		return err
	}
	for _, w := range d.Warnings {
		fmt.Fprintf(env.Err, "ps: %s\n", w)
	}
	var sels []psSel
	for _, a := range rest {
		switch {
		case isCrashDecimal(a) || isCrashHex(a):
			s, ok := psNumber(d, a)
			if !ok {
				fmt.Fprintf(env.Err, "ps: invalid task or pid value: %s\n", a)
				continue
			}
			sels = append(sels, s)
		case len(a) >= 2 && a[0] == '\'' && a[len(a)-1] == '\'':
			re, err := regexp.Compile(a[1 : len(a)-1])
			if err != nil {
				return fmt.Errorf("invalid regular expression: %s", a[1:len(a)-1])
			}
			sels = append(sels, psSel{kind: 'r', re: re})
		default:
			c := strings.TrimPrefix(a, "\\")
			if len(c) > 15 {
				c = c[:15] // TASK_COMM_LEN
			}
			// kdive's command line removes quotes, so 'regex' arrives
			// bare: a word with regular-expression characters that is no
			// task's command is taken as a regular expression.
			if strings.ContainsAny(a, ".*+?[]^$|()\\") && !d.hasComm(c) {
				if re, err := regexp.Compile(a); err == nil {
					sels = append(sels, psSel{kind: 'r', re: re})
					continue
				}
			}
			sels = append(sels, psSel{kind: 'c', comm: c})
		}
	}
	if flag&psSummary != 0 && len(rest) > 0 {
		return errors.New("-S option takes no arguments")
	}
	ctx := &psCtx{env: env, p: p, d: d, flag: flag, policy: policy, specified: len(rest) > 0, shown: map[uint64]bool{}}
	if cpuSpec != "" {
		if len(rest) > 0 {
			fmt.Fprintln(env.Err, "ps: -C option is not applicable with specified tasks")
		} else {
			cpus, err := parseCPUSpec(cpuSpec, len(tasks.PossibleCPUs(p)))
			if err != nil {
				return err
			}
			return ctx.perCPU(cpus)
		}
	}
	return ctx.show(sels)
}

// psNumber reads a pid or a task address as crash's str_to_context does:
// a decimal number that is a pid, else a hexadecimal task address.
func psNumber(d *PsData, a string) (psSel, bool) {
	if isCrashDecimal(a) {
		if v, err := parseCrashDecimal(a); err == nil && v <= 1<<31-1 {
			if _, ok := d.ByPID(int32(v)); ok {
				return psSel{kind: 'p', pid: int32(v)}, true
			}
		}
	}
	if isCrashHex(a) {
		if v, err := parseCrashHex(a); err == nil {
			if _, ok := d.ByAddr(v); ok {
				return psSel{kind: 't', task: v}, true
			}
		}
	}
	return psSel{}, false
}

type psCtx struct {
	env       *Env
	p         *program.Program
	d         *PsData
	flag      int
	specified bool
	shown     map[uint64]bool // -G: leaders already shown
	info      *sysinfo.Info
	policy    uint64 // -y: bit 1<<policy of each policy asked for
}

func (c *psCtx) show(sels []psSel) error {
	w := c.env.Out
	if c.flag&(psParents|psChildren|psTimes|psLastRun|psMsecs|psTgidList|psSummary|psArgs|psRlimit) == 0 {
		task := mkCenter("TASK", 16, false)
		if c.flag&psKstackp != 0 {
			task = mkCenter("KSTACKP", 16, true)
		}
		fmt.Fprintf(w, "      PID    PPID  CPU %s  ST  %%MEM      VSZ      RSS  COMM\n", task)
	}
	order := c.d.Tasks
	if c.flag&(psLastRun|psMsecs) != 0 {
		order = append([]PsTask(nil), order...)
		sort.SliceStable(order, func(i, j int) bool { return order[i].LastArrival > order[j].LastArrival })
	}
	if !c.specified {
		switch {
		case c.flag&psTimes != 0:
			return c.times(order, nil)
		case c.flag&psSummary != 0:
			c.summary()
			return nil
		}
		for i := range order {
			if err := c.data(&order[i], order); err != nil {
				return err
			}
		}
		return nil
	}
	for i := range order {
		t := &order[i]
		for _, s := range sels {
			print := false
			switch s.kind {
			case 'p':
				print = t.PID == s.pid
			case 't':
				print = t.Addr == s.task
			case 'c', 'r':
				if s.kind == 'c' {
					print = t.Comm == s.comm
				} else {
					print = s.re.MatchString(t.Comm)
				}
				if print && c.flag&(psTgidList|psGroup) != 0 {
					print = t.PID == t.TGID
				}
			}
			if !print {
				continue
			}
			var err error
			if c.flag&psTimes != 0 {
				err = c.times(order, t)
			} else {
				err = c.data(t, order)
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// data is crash's show_ps_data for one task.
func (c *psCtx) data(t *PsTask, order []PsTask) error {
	w := c.env.Out
	f := c.flag
	if f&psUser != 0 && t.IsKernelThread() || f&psKernel != 0 && !t.IsKernelThread() {
		return nil
	}
	if c.policy != 0 && (t.Policy >= 64 || c.policy&(1<<t.Policy) == 0) {
		return nil
	}
	if f&psGroup != 0 {
		if t.PID != t.TGID {
			if !c.specified {
				return nil
			}
			l, ok := c.d.ByPID(t.TGID)
			if !ok {
				return nil
			}
			t = l
		}
		if c.shown[t.Addr] {
			return nil
		}
		c.shown[t.Addr] = true
	}
	switch {
	case f&psParents != 0:
		c.parents(t)
		fmt.Fprintln(w)
		return nil
	case f&psChildren != 0:
		c.children(t)
		fmt.Fprintln(w)
		return nil
	case f&psLastRun != 0:
		width := 1
		if len(order) > 0 {
			width = len(fmt.Sprint(order[0].LastArrival))
		}
		fmt.Fprintf(w, "[%*d] [%s]  ", width, t.LastArrival, t.St)
		writeTaskHeader(w, t)
		return nil
	case f&psMsecs != 0:
		return c.msecs(t)
	case f&psTgidList != 0:
		c.tgidList(t)
		return nil
	case f&psArgs != 0:
		c.args(t)
		return nil
	case f&psRlimit != 0:
		return c.rlimit(t)
	}
	if f&psActive != 0 && !c.specified && !t.Active {
		return nil
	}
	WritePsLine(w, t, f&psKstackp != 0)
	return nil
}

// WritePsLine prints one ps line in crash's layout.
func WritePsLine(w io.Writer, t *PsTask, kstackp bool) {
	mark := "  "
	if t.Active {
		mark = "> "
	}
	cpu := "?"
	if t.CPU >= 0 {
		cpu = fmt.Sprint(t.CPU)
	}
	ptr := mkCenter(fmt.Sprintf("%x", t.Addr), 16, true)
	if kstackp {
		if t.Active || t.KernelSP == 0 {
			ptr = mkCenter("--", 16, true)
		} else {
			ptr = mkCenter(fmt.Sprintf("%x", t.KernelSP), 16, true)
		}
	}
	st := t.St
	pad := "  "
	if len(st) > 3 {
		pad = " "
	}
	pct := fmt.Sprintf("%.1f", t.PctMem)
	if len(pct) == 3 {
		pct = mkCenter(pct, 4, true)
	}
	comm := t.Comm
	if t.IsKernelThread() {
		comm = "[" + comm + "]"
	}
	fmt.Fprintf(w, "%s%7d %7d %3s  %s %3s%s%s %8d %8d  %s\n", mark, t.PID, t.PPID, cpu, ptr, st, pad,
		pct, t.Mem.TotalVM*4096/1024, t.Mem.RSS*4096/1024, comm)
}

// writeTaskHeader is crash's print_task_header.
func writeTaskHeader(w io.Writer, t *PsTask) {
	cpu := "?"
	if t.CPU >= 0 {
		cpu = fmt.Sprint(t.CPU)
	}
	fmt.Fprintf(w, "PID: %-7d  TASK: %-16x  CPU: %-3s  COMMAND: \"%s\"\n", t.PID, t.Addr, cpu, t.Comm)
}

// parents is crash's parent_list: the chain of task_struct.parent up to
// the task that is its own parent, oldest first, each indented one more.
func (c *psCtx) parents(t *PsTask) {
	chain := []uint64{t.Addr}
	seen := map[uint64]bool{t.Addr: true}
	for cur := t; ; {
		par := cur.PtraceParent
		if par == cur.Addr || par == 0 || seen[par] {
			break
		}
		seen[par] = true
		chain = append(chain, par)
		next, ok := c.d.ByAddr(par)
		if !ok {
			break
		}
		cur = next
	}
	for i := len(chain) - 1; i >= 0; i-- {
		if pt, ok := c.d.ByAddr(chain[i]); ok {
			fmt.Fprint(c.env.Out, strings.Repeat(" ", len(chain)-1-i))
			writeTaskHeader(c.env.Out, pt)
		}
	}
}

// children is crash's child_list.
func (c *psCtx) children(t *PsTask) {
	w := c.env.Out
	writeTaskHeader(w, t)
	n := 0
	for i := range c.d.Tasks {
		if c.d.Tasks[i].PtraceParent == t.Addr {
			fmt.Fprint(w, "  ")
			writeTaskHeader(w, &c.d.Tasks[i])
			n++
		}
	}
	if n == 0 {
		fmt.Fprintln(w, "  (no children)")
	}
}

// tgidList is crash's show_tgid_list: a leader and its other threads.
func (c *psCtx) tgidList(t *PsTask) {
	w := c.env.Out
	if t.PID != t.TGID {
		if !c.specified {
			return
		}
		l, ok := c.d.ByPID(t.TGID)
		if !ok {
			return
		}
		t = l
	}
	if t.PID == 0 && c.shown[0] {
		return
	}
	writeTaskHeader(w, t)
	n := 0
	for i := range c.d.Tasks {
		o := &c.d.Tasks[i]
		if o.Addr == t.Addr || o.TGID != t.TGID {
			continue
		}
		fmt.Fprint(w, "  ")
		writeTaskHeader(w, o)
		n++
		if o.PID == 0 {
			c.shown[0] = true
		}
	}
	if n == 0 {
		fmt.Fprintln(w, "  (no threads)")
	}
	fmt.Fprintln(w)
}

func (c *psCtx) sysinfo() (*sysinfo.Info, error) {
	if c.info != nil {
		return c.info, nil
	}
	zero := 0
	in, err := sysinfo.Gather(c.p, sysinfo.Options{Tasks: &zero})
	if err != nil {
		return nil, err
	}
	if !in.JiffiesOK {
		return nil, errors.New("cannot read jiffies")
	}
	c.info = in
	return in, nil
}

// times is crash's show_task_times: the tasks (one, or all that pass the
// filters) by start time, with run time, start time and CPU times.
func (c *psCtx) times(order []PsTask, one *PsTask) error {
	in, err := c.sysinfo()
	if err != nil {
		return err
	}
	var list []*PsTask
	if one != nil {
		t := one
		if c.flag&psGroup != 0 && t.PID != t.TGID {
			l, ok := c.d.ByPID(t.TGID)
			if !ok {
				return nil
			}
			t = l
		}
		if c.flag&psUser != 0 && t.IsKernelThread() || c.flag&psKernel != 0 && !t.IsKernelThread() {
			return nil
		}
		if c.flag&psGroup != 0 {
			if c.shown[t.Addr] {
				return nil
			}
			c.shown[t.Addr] = true
		}
		list = append(list, t)
	} else {
		for i := range order {
			t := &order[i]
			if c.flag&psUser != 0 && t.IsKernelThread() || c.flag&psKernel != 0 && !t.IsKernelThread() {
				continue
			}
			if c.flag&psGroup != 0 && t.PID != t.TGID {
				continue
			}
			list = append(list, t)
		}
	}
	sort.SliceStable(list, func(i, j int) bool { return list[i].StartTime < list[j].StartTime })
	hz := uint64(in.HZ)
	now := in.UptimeJiffies()
	w := c.env.Out
	for _, t := range list {
		run := uint64(0)
		if st := t.StartTime / 1e9 * hz; st <= now {
			run = now - st
		}
		writeTaskHeader(w, t)
		fmt.Fprintf(w, "    RUN TIME: %s\n", sysinfo.FormatUptime(run, in.HZ))
		fmt.Fprintf(w, "  START TIME: %d\n", t.StartTime)
		fmt.Fprintf(w, "       UTIME: %d\n", t.UTime)
		fmt.Fprintf(w, "       STIME: %d\n\n", t.STime)
	}
	return nil
}

// nanosText is crash's translate_nanoseconds: "D HH:MM:SS.mmm".
func nanosText(v uint64) string {
	v /= 1000000
	ms := v % 1000
	v /= 1000
	secs := v % 60
	v /= 60
	mins := v % 60
	v /= 60
	hours := v % 24
	days := v / 24
	return fmt.Sprintf("%d %02d:%02d:%02d.%03d", days, hours, mins, secs, ms)
}

// msecs is crash's show_milliseconds for one task: how long before its
// CPU's run-queue clock it last ran.
func (c *psCtx) msecs(t *PsTask) error {
	cpu := t.CPU
	clocks := tasks.RunQueueClock(c.p, []int{cpu})
	clock, ok := clocks[cpu]
	if !ok {
		return fmt.Errorf("cannot read the run-queue clock of CPU %d", cpu)
	}
	maxDays := strings.IndexByte(nanosText(clock), ' ')
	delta := uint64(0)
	if clock > t.LastArrival {
		delta = clock - t.LastArrival
	}
	s := nanosText(delta)
	days := strings.IndexByte(s, ' ')
	pad := ""
	if maxDays > days {
		pad = strings.Repeat(" ", maxDays-days)
	}
	fmt.Fprintf(c.env.Out, "[%s%s] [%s]  ", pad, s, t.St)
	writeTaskHeader(c.env.Out, t)
	return nil
}

// summary is crash's show_ps_summary: the count of tasks in each state,
// in the order the states are first met.
func (c *psCtx) summary() {
	var names []string
	counts := map[string]int{}
	for i := range c.d.Tasks {
		s := c.d.Tasks[i].St
		if counts[s] == 0 {
			names = append(names, s)
		}
		counts[s]++
	}
	for _, s := range names {
		fmt.Fprintf(c.env.Out, "  %s: %d\n", s, counts[s])
	}
}

// args is crash's show_task_args: the ARG: and ENV: strings between
// mm->arg_start/arg_end and env_start/env_end, read through the task's
// page tables (mm->pgd).
func (c *psCtx) args(t *PsTask) {
	w := c.env.Out
	writeTaskHeader(w, t)
	if t.Mm == 0 {
		fmt.Fprint(w, "ps: no user stack\n\n")
		return
	}
	p := c.p
	var fields [5]uint64
	for i, m := range []string{"arg_start", "arg_end", "env_start", "env_end", "pgd"} {
		off, err := p.MemberOffset("mm_struct", m)
		if err != nil {
			fmt.Fprintf(w, "ps: mm_struct.%s: %v\n\n", m, err)
			return
		}
		if fields[i], err = lgReadU64(p, t.Mm+off); err != nil {
			fmt.Fprintf(w, "ps: cannot read mm_struct at %x\n\n", t.Mm)
			return
		}
	}
	root, err := p.Translate(fields[4])
	if err != nil {
		fmt.Fprintf(w, "ps: cannot translate pgd %x\n\n", fields[4])
		return
	}
	walker := &amd64.Walker{Mem: p, Root: root, Level5: p.Info().Level5}
	if v, ok := p.VMCOREINFO("NUMBER(sme_mask)"); ok {
		if m, err := strconv.ParseUint(v, 0, 64); err == nil {
			walker.SMEMask = m
		}
	}
	read := func(start, end uint64) ([]byte, bool) {
		if end < start || end-start > 1<<20 {
			fmt.Fprintf(w, "ps: cannot access user stack address: %x\n\n", start)
			return nil, false
		}
		buf := make([]byte, 0, end-start)
		for a := start; a < end; {
			n := min(4096-a%4096, end-a)
			pa, _, err := walker.Translate(a)
			chunk := make([]byte, n)
			if err == nil {
				_, err = p.ReadPhysAt(chunk, pa)
			}
			if err != nil {
				fmt.Fprintf(w, "ps: cannot access user stack address: %x\n\n", a)
				return nil, false
			}
			buf = append(buf, chunk...)
			a += n
		}
		return buf, true
	}
	argv, ok := read(fields[0], fields[1])
	if !ok {
		return
	}
	var b strings.Builder
	b.WriteString("ARG: ")
	n := 0
	for _, ch := range argv {
		if ch == 0 {
			if n > 0 {
				b.WriteByte(' ')
			}
			n = 0
		} else {
			b.WriteByte(ch)
			n++
		}
	}
	fmt.Fprint(w, b.String())
	env, ok := read(fields[2], fields[3])
	if !ok {
		return
	}
	b.Reset()
	b.WriteString("\nENV: ")
	n, d := 0, 0
	for i, ch := range env {
		if ch == 0 {
			if n > 0 {
				b.WriteByte('\n')
			}
			n = 0
			continue
		}
		if n == 0 && i != 0 {
			b.WriteString("     ")
		}
		b.WriteByte(ch)
		n++
		d++
	}
	b.WriteByte('\n')
	if d == 0 {
		b.WriteByte('\n')
	}
	fmt.Fprint(w, b.String())
}

// parsePolicies is crash's make_sched_policy: comma-separated policy
// names (by prefix, any case) or numbers, as a bit mask.
func parsePolicies(spec string) (uint64, error) {
	names := []string{"NORMAL", "FIFO", "RR", "BATCH", "ISO", "IDLE", "DEADLINE"}
	var mask uint64
	for _, part := range strings.Split(spec, ",") {
		u := strings.ToUpper(part)
		found := false
		for v, n := range names {
			if strings.HasPrefix(u, n) || strings.HasPrefix(u, strconv.Itoa(v)) || strings.HasPrefix(u, fmt.Sprintf("0X%X", v)) {
				mask |= 1 << v
				found = true
				break
			}
		}
		if !found {
			return 0, fmt.Errorf("%s: invalid scheduling policy", part)
		}
	}
	return mask, nil
}

// parseCPUSpec reads crash's cpu list: "all", or numbers and ranges
// separated by commas.
func parseCPUSpec(spec string, ncpu int) ([]int, error) {
	if spec == "all" {
		out := make([]int, ncpu)
		for i := range out {
			out[i] = i
		}
		return out, nil
	}
	set := map[int]bool{}
	for _, part := range strings.Split(spec, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err1 := strconv.Atoi(lo)
		b := a
		var err2 error
		if isRange {
			b, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil || a < 0 || b < a {
			return nil, fmt.Errorf("invalid cpu specification: %s", spec)
		}
		for i := a; i <= b; i++ {
			if i >= ncpu {
				return nil, fmt.Errorf("invalid cpu specification: %s (%d CPUs)", spec, ncpu)
			}
			set[i] = true
		}
	}
	var out []int
	for i := 0; i < ncpu; i++ {
		if set[i] {
			out = append(out, i)
		}
	}
	return out, nil
}

// perCPU is crash's show_last_run / show_milliseconds with -C: a
// "CPU: n" section per CPU, each with that CPU's tasks by last run.
func (c *psCtx) perCPU(cpus []int) error {
	w := c.env.Out
	order := append([]PsTask(nil), c.d.Tasks...)
	sort.SliceStable(order, func(i, j int) bool { return order[i].LastArrival > order[j].LastArrival })
	width := 1
	if len(order) > 0 {
		width = len(fmt.Sprint(order[0].LastArrival))
	}
	for i, cpu := range cpus {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "CPU: %d\n", cpu)
		for j := range order {
			t := &order[j]
			if t.CPU != cpu {
				continue
			}
			if c.flag&psMsecs != 0 {
				if err := c.msecs(t); err != nil {
					return err
				}
				continue
			}
			fmt.Fprintf(w, "[%*d] [%s]  ", width, t.LastArrival, t.St)
			writeTaskHeader(w, t)
		}
	}
	return nil
}

// rlimNames are the RLIMIT_* names in index order (crash's rlim_names).
var rlimNames = []string{"CPU", "FSIZE", "DATA", "STACK", "CORE", "RSS", "NPROC", "NOFILE",
	"MEMLOCK", "AS", "LOCKS", "SIGPENDING", "MSGQUEUE", "NICE", "RTPRIO", "RTTIME"}

// rlimit is crash's show_task_rlimit: signal->rlim[], current and
// maximum of each limit.
func (c *psCtx) rlimit(t *PsTask) error {
	p := c.p
	off, err := p.MemberOffset("signal_struct", "rlim")
	if err != nil {
		return errors.New("cannot determine rlimit array location")
	}
	size, err := p.MemberSize("signal_struct", "rlim")
	if err != nil || size == 0 || size%16 != 0 || size > 64*16 {
		size = 16 * 16 // RLIM_NLIMITS struct rlimit
	}
	n := int(size / 16)
	buf := make([]byte, size)
	if t.Signal == 0 {
		return nil
	}
	writeTaskHeader(c.env.Out, t)
	if _, err := p.ReadAt(buf, t.Signal+off); err != nil {
		return nil
	}
	nameW := 0
	for i := 0; i < n && i < len(rlimNames); i++ {
		nameW = max(nameW, len(rlimNames[i]))
	}
	const valW = len("(unlimited)")
	var b strings.Builder
	fmt.Fprintf(&b, "  %*s   %s   %s\n", nameW, "RLIMIT", mkCenter("CURRENT", valW, true), mkCenter("MAXIMUM", valW, true))
	val := func(v uint64) string {
		if v == ^uint64(0) {
			return "(unlimited)"
		}
		return mkCenter(strconv.FormatUint(v, 10), valW, false)
	}
	for i := 0; i < n; i++ {
		name := "(unknown)"
		if i < len(rlimNames) {
			name = rlimNames[i]
		}
		cur := binary.LittleEndian.Uint64(buf[16*i:])
		mx := binary.LittleEndian.Uint64(buf[16*i+8:])
		fmt.Fprintf(&b, "  %*s   %s   %s\n", nameW, name, val(cur), val(mx))
	}
	b.WriteString("\n")
	fmt.Fprint(c.env.Out, b.String())
	return nil
}
