// Package tasks enumerates a crashed kernel's tasks: every thread of every
// process, plus each CPU's idle task.
//
// Processes are found on init_task.tasks; the threads of each process on
// signal->thread_head (linked through task_struct.thread_node, Linux 3.14 and
// later) or, on kernels without it, on the task_struct.thread_group ring. Idle
// tasks (PID 0) are on neither list: CPU 0's is init_task, the others are
// per-CPU runqueues.idle. Every walk is bounded and checks for cycles, so a
// corrupt list cannot make it loop.
package tasks

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"

	"kdive/internal/kernel/klist"
	"kdive/internal/kernel/kread"
)

// Source is what the walker needs; *program.Program satisfies it.
type Source interface {
	ReadAt(b []byte, addr uint64) (int, error)
	Symbol(name string) (uint64, error)
	MemberOffset(typ, member string) (uint64, error)
	MemberSize(typ, member string) (uint64, error)
	PerCPUOffset(cpu int) (uint64, error)
}

// Task is one task_struct.
type Task struct {
	Addr      uint64 // struct task_struct *
	PID, TGID int32
	PPID      int32  // real_parent->tgid (0 when unknown)
	Parent    uint64 // real_parent
	Comm      string
	State     uint64 // __state (5.14+) or state
	ExitState uint32
	Flags     uint32 // PF_* (PF_KTHREAD = 0x00200000)
	CPU       int    // thread_info.cpu or task_struct.cpu; -1 when unknown
	Mm        uint64 // mm (0 for kernel threads)
	// Idle is true for a CPU's idle task (PID 0); IdleCPU is that CPU.
	Idle    bool
	IdleCPU int
	// Leader is true for a thread group leader (PID == TGID).
	Leader bool

	// PtraceParent is task_struct.parent: the real parent, or the tracer
	// of a ptraced task (crash's ps PPID and -p/-c follow it).
	PtraceParent uint64
	// StartTime is task_struct.start_time (monotonic nanoseconds), UTime
	// and STime the user and system CPU time (nanoseconds).
	StartTime, UTime, STime uint64
	// LastArrival is sched_info.last_arrival: the run-queue clock
	// (nanoseconds) when the task last got a CPU (0 when never or unknown).
	LastArrival uint64
	// KernelSP is the saved kernel stack pointer (thread.sp), meaningful
	// for a task that is not running.
	KernelSP uint64
	// Policy is the scheduling policy (task_struct.policy: 0 NORMAL,
	// 1 FIFO, 2 RR, 3 BATCH, 5 IDLE, 6 DEADLINE).
	Policy uint32
	// Signal is task_struct.signal (struct signal_struct *).
	Signal uint64
}

// Result is the task list with any problems met on the way.
type Result struct {
	Tasks    []Task
	Warnings []string
	// PIDCheck is the pid IDR cross-check, when CheckPIDs ran.
	PIDCheck *PIDCheck
}

// Caps on walks.
const (
	MaxTasks = 1 << 22
	maxCPUs  = 8192
)

// PF_KTHREAD marks kernel threads in task_struct.flags.
const PF_KTHREAD = 0x00200000

type offsets struct {
	tasks, pid, tgid, comm, state, exitState, flags, parent, mm uint64
	stateSize                                                   uint64
	cpu                                                         uint64
	hasCPU, hasExitState, hasMm, hasParent                      bool
	// Threads: signal + signal_struct.thread_head, task_struct.thread_node
	// (threadHead mode) or task_struct.thread_group (ring mode).
	signal, threadHead, threadNode, threadGroup uint64
	threadMode                                  int // 0 none, 1 thread_head, 2 thread_group
	rqIdle                                      uint64
	hasRqIdle                                   bool
	// Optional extras (0 offsets with has* false when absent).
	ptraceParent, startTime, utime, stime, lastArrival, threadSP            uint64
	hasPtraceParent, hasStart, hasUtime, hasStime, hasLastArrival, hasThrSP bool
	policy, sigOff                                                          uint64
	hasPolicy, hasSig                                                       bool
}

const (
	threadsNone = iota
	threadsHead
	threadsGroup
)

func resolve(src Source) (*offsets, error) {
	o := &offsets{}
	r := kread.NewOffsets(src, "tasks")
	must, opt := r.Must, r.Opt
	o.tasks = must("task_struct", "tasks")
	o.pid = must("task_struct", "pid")
	o.tgid = must("task_struct", "tgid")
	o.comm = must("task_struct", "comm")
	if r.Err != nil {
		return nil, r.Err
	}
	// __state replaced state in 5.14 (commit 2f064a59a11f).
	if v, ok := opt("task_struct", "__state"); ok {
		o.state = v
		o.stateSize = 4
	} else if v, ok := opt("task_struct", "state"); ok {
		o.state = v
		o.stateSize = 8
	}
	if sz, e := src.MemberSize("task_struct", "__state"); e == nil && sz > 0 && sz <= 8 {
		o.stateSize = sz
	} else if sz, e := src.MemberSize("task_struct", "state"); e == nil && sz > 0 && sz <= 8 {
		o.stateSize = sz
	}
	o.exitState, o.hasExitState = opt("task_struct", "exit_state")
	o.flags, _ = opt("task_struct", "flags")
	o.parent, o.hasParent = opt("task_struct", "real_parent")
	o.mm, o.hasMm = opt("task_struct", "mm")
	// The CPU: thread_info.cpu inside task_struct (THREAD_INFO_IN_TASK, back
	// there since 5.16) or task_struct.cpu (4.9 to 5.15).
	if v, ok := opt("task_struct", "thread_info.cpu"); ok {
		o.cpu, o.hasCPU = v, true
	} else if v, ok := opt("task_struct", "cpu"); ok {
		o.cpu, o.hasCPU = v, true
	}
	if s, ok := opt("task_struct", "signal"); ok {
		if h, ok := opt("signal_struct", "thread_head"); ok {
			if n, ok := opt("task_struct", "thread_node"); ok {
				o.signal, o.threadHead, o.threadNode, o.threadMode = s, h, n, threadsHead
			}
		}
	}
	if o.threadMode == threadsNone {
		if g, ok := opt("task_struct", "thread_group"); ok {
			o.threadGroup, o.threadMode = g, threadsGroup
		}
	}
	o.rqIdle, o.hasRqIdle = opt("rq", "idle")
	o.ptraceParent, o.hasPtraceParent = opt("task_struct", "parent")
	o.startTime, o.hasStart = opt("task_struct", "start_time")
	o.utime, o.hasUtime = opt("task_struct", "utime")
	o.stime, o.hasStime = opt("task_struct", "stime")
	o.lastArrival, o.hasLastArrival = opt("task_struct", "sched_info.last_arrival")
	o.threadSP, o.hasThrSP = opt("task_struct", "thread.sp")
	o.policy, o.hasPolicy = opt("task_struct", "policy")
	o.sigOff, o.hasSig = opt("task_struct", "signal")
	return o, nil
}

type walker struct {
	src  Source
	o    *offsets
	res  *Result
	seen map[uint64]bool
}

func (w *walker) u64(addr uint64) (uint64, error) { return kread.U64(w.src, addr) }

func (w *walker) warn(format string, a ...any) {
	(*kread.Warnings)(&w.res.Warnings).Add(format, a...)
}

// listEntries walks the circular list whose list_head is at head and returns
// the entry addresses (node address - off), not including head itself.
// It stops at a repeated node, a read error or the cap.
func (w *walker) listEntries(head, off uint64, what string) []uint64 {
	out, err := klist.Entries(w.u64, head, off, MaxTasks)
	if err != nil {
		w.warn("tasks: %s: %v", what, err)
	}
	return out
}

// read fills a Task from the task_struct at addr.
func (w *walker) read(addr uint64) (Task, error) {
	o := w.o
	t := Task{Addr: addr, CPU: -1}
	var b [16]byte
	if _, err := w.src.ReadAt(b[:8], addr+o.pid); err != nil {
		return t, err
	}
	t.PID = int32(binary.LittleEndian.Uint32(b[:]))
	if _, err := w.src.ReadAt(b[:4], addr+o.tgid); err == nil {
		t.TGID = int32(binary.LittleEndian.Uint32(b[:]))
	}
	if _, err := w.src.ReadAt(b[:16], addr+o.comm); err == nil {
		n := 0
		for n < 16 && b[n] != 0 {
			n++
		}
		t.Comm = string(b[:n])
	}
	if o.stateSize > 0 {
		var sb [8]byte
		if _, err := w.src.ReadAt(sb[:o.stateSize], addr+o.state); err == nil {
			t.State = binary.LittleEndian.Uint64(sb[:])
		}
	}
	if o.hasExitState {
		if _, err := w.src.ReadAt(b[:4], addr+o.exitState); err == nil {
			t.ExitState = binary.LittleEndian.Uint32(b[:])
		}
	}
	if _, err := w.src.ReadAt(b[:4], addr+o.flags); err == nil {
		t.Flags = binary.LittleEndian.Uint32(b[:])
	}
	if o.hasCPU {
		if _, err := w.src.ReadAt(b[:4], addr+o.cpu); err == nil {
			t.CPU = int(int32(binary.LittleEndian.Uint32(b[:])))
		}
	}
	if o.hasMm {
		t.Mm, _ = w.u64(addr + o.mm)
	}
	if o.hasParent {
		if p, err := w.u64(addr + o.parent); err == nil && p != 0 {
			t.Parent = p
			if _, err := w.src.ReadAt(b[:4], p+o.tgid); err == nil {
				t.PPID = int32(binary.LittleEndian.Uint32(b[:]))
			}
		}
	}
	t.Leader = t.PID == t.TGID
	opt64 := func(has bool, off uint64) uint64 {
		if !has {
			return 0
		}
		v, _ := w.u64(addr + off)
		return v
	}
	t.PtraceParent = opt64(o.hasPtraceParent, o.ptraceParent)
	t.StartTime = opt64(o.hasStart, o.startTime)
	t.UTime = opt64(o.hasUtime, o.utime)
	t.STime = opt64(o.hasStime, o.stime)
	t.LastArrival = opt64(o.hasLastArrival, o.lastArrival)
	t.KernelSP = opt64(o.hasThrSP, o.threadSP)
	if o.hasPolicy {
		if _, err := w.src.ReadAt(b[:4], addr+o.policy); err == nil {
			t.Policy = binary.LittleEndian.Uint32(b[:])
		}
	}
	t.Signal = opt64(o.hasSig, o.sigOff)
	return t, nil
}

func (w *walker) add(addr uint64) *Task {
	if addr == 0 || w.seen[addr] || len(w.res.Tasks) >= MaxTasks {
		return nil
	}
	t, err := w.read(addr)
	if err != nil {
		w.warn("tasks: cannot read task_struct at %#x: %v", addr, err)
		return nil
	}
	w.seen[addr] = true
	w.res.Tasks = append(w.res.Tasks, t)
	return &w.res.Tasks[len(w.res.Tasks)-1]
}

// threads returns the threads of the process whose leader is at p (the
// leader included when the list holds it).
func (w *walker) threads(p uint64) []uint64 {
	o := w.o
	switch o.threadMode {
	case threadsHead:
		sig, err := w.u64(p + o.signal)
		if err != nil || sig == 0 {
			return nil
		}
		return w.listEntries(sig+o.threadHead, o.threadNode, fmt.Sprintf("threads of %#x", p))
	case threadsGroup:
		// The ring has no separate head: start from the leader's node.
		return w.listEntries(p+o.threadGroup, o.threadGroup, fmt.Sprintf("threads of %#x", p))
	}
	return nil
}

// Options tune List.
type Options struct {
	// CPUs lists the CPUs whose idle tasks to add; nil means the possible
	// CPUs (__cpu_possible_mask, bounded by nr_cpu_ids).
	CPUs []int
}

// List returns every task: each CPU's idle task first (CPU order; CPU 0's is
// init_task), then the processes in init_task.tasks order, each followed by
// its other threads.
func List(src Source, opt Options) (*Result, error) {
	o, err := resolve(src)
	if err != nil {
		return nil, err
	}
	initTask, err := src.Symbol("init_task")
	if err != nil {
		return nil, fmt.Errorf("tasks: init_task: %w", err)
	}
	w := &walker{src: src, o: o, res: &Result{}, seen: map[uint64]bool{}}

	cpus := opt.CPUs
	if cpus == nil {
		cpus = PossibleCPUs(src)
	}
	// Idle tasks.
	if t := w.add(initTask); t != nil {
		t.Idle, t.IdleCPU = true, 0
		if t.CPU >= 0 {
			t.IdleCPU = t.CPU
		}
	} else {
		return nil, fmt.Errorf("tasks: cannot read init_task at %#x", initTask)
	}
	if rq, err := src.Symbol("runqueues"); err == nil && o.hasRqIdle {
		for _, cpu := range cpus {
			off, err := src.PerCPUOffset(cpu)
			if err != nil {
				w.warn("tasks: per-CPU offset of CPU %d: %v", cpu, err)
				continue
			}
			idle, err := w.u64(rq + off + o.rqIdle)
			if err != nil {
				w.warn("tasks: runqueues.idle of CPU %d: %v", cpu, err)
				continue
			}
			if idle == initTask {
				w.res.Tasks[0].IdleCPU = cpu
				continue
			}
			if t := w.add(idle); t != nil {
				t.Idle, t.IdleCPU = true, cpu
			}
		}
	} else {
		w.warn("tasks: no runqueues.idle: idle tasks of CPUs other than init_task's are missing")
	}

	// Processes and their threads.
	procs := append([]uint64{initTask}, w.listEntries(initTask+o.tasks, o.tasks, "init_task.tasks")...)
	for _, p := range procs {
		w.add(p)
		for _, th := range w.threads(p) {
			w.add(th)
		}
	}
	if o.threadMode == threadsNone {
		w.warn("tasks: no thread list (signal_struct.thread_head or task_struct.thread_group): threads other than group leaders are missing")
	}
	return w.res, nil
}

// PossibleCPUs returns the CPUs set in __cpu_possible_mask (cpu_possible_mask
// on older kernels), below nr_cpu_ids. On failure it returns CPUs 0 .. n-1
// for which a per-CPU offset exists, up to the first failure.
func PossibleCPUs(src Source) []int {
	if cpus, err := CPUMask(src, "possible"); err == nil && len(cpus) > 0 {
		return cpus
	}
	var out []int
	for cpu := 0; cpu < 64; cpu++ {
		if _, err := src.PerCPUOffset(cpu); err != nil {
			break
		}
		out = append(out, cpu)
	}
	return out
}

// CPUMask returns the CPUs set in the kernel's cpu_<kind>_mask
// (kind: "possible", "online", "present", "active"), bounded by nr_cpu_ids
// when that symbol exists (else by 8192 CPUs). Symbols are tried as crash's
// cpu_map_addr does: cpu_<kind>_map, *cpu_<kind>_mask, __cpu_<kind>_mask.
func CPUMask(src Source, kind string) ([]int, error) {
	addr, err := cpuMapAddr(src, kind)
	if err != nil {
		return nil, err
	}
	n := maxCPUs
	if a, err := src.Symbol("nr_cpu_ids"); err == nil {
		var b [4]byte
		if _, err := src.ReadAt(b[:], a); err == nil {
			if v := int(binary.LittleEndian.Uint32(b[:])); v > 0 && v <= maxCPUs {
				n = v
			}
		}
	}
	words := (n + 63) / 64
	buf := make([]byte, 8*words)
	if _, err := src.ReadAt(buf, addr); err != nil {
		return nil, fmt.Errorf("cpu_%s_mask at %#x: %w", kind, addr, err)
	}
	var out []int
	for i := 0; i < words; i++ {
		wd := binary.LittleEndian.Uint64(buf[8*i:])
		for wd != 0 {
			b := bits.TrailingZeros64(wd)
			wd &^= 1 << b
			if cpu := 64*i + b; cpu < n {
				out = append(out, cpu)
			}
		}
	}
	return out, nil
}

func cpuMapAddr(src Source, kind string) (uint64, error) {
	if a, err := src.Symbol("cpu_" + kind + "_map"); err == nil {
		return a, nil
	}
	if a, err := src.Symbol("cpu_" + kind + "_mask"); err == nil {
		var b [8]byte
		if _, err := src.ReadAt(b[:], a); err == nil {
			return binary.LittleEndian.Uint64(b[:]), nil
		}
	}
	if a, err := src.Symbol("__cpu_" + kind + "_mask"); err == nil {
		return a, nil
	}
	return 0, errors.New("no cpu_" + kind + "_mask symbol")
}
