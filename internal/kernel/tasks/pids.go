package tasks

// The pid IDR cross-check: every struct pid allocated in init_pid_ns
// (pid_namespace.idr, an IDR whose idr_rt is an XArray since 4.20; pids
// moved from the pidmap to the IDR in 4.15, commit 95846ecf9dac) and the
// task attached to it as PIDTYPE_PID, compared with the task list walk.

import (
	"encoding/binary"
	"fmt"
	"sort"

	"kdive/internal/kernel/xarray"
)

// PIDCheck is the result of comparing the pid IDR with the task list.
type PIDCheck struct {
	// PIDs is how many struct pids the IDR holds (the pid numbers of
	// init_pid_ns), Tasks how many of them have a PIDTYPE_PID task.
	PIDs, Tasks int
	// NotListed are tasks the IDR reaches that the task list lacks;
	// NotInIDR are listed tasks (idle tasks aside) whose pid the IDR
	// lacks.
	NotListed []IDRTask
	NotInIDR  []Task
	// Err is why the IDR walk stopped early (nil when it was complete).
	Err error
}

// IDRTask is a task found through the IDR.
type IDRTask struct {
	PID  int64  // the IDR index: the pid number in init_pid_ns
	Pid  uint64 // struct pid *
	Addr uint64 // struct task_struct *
}

// Agree reports whether both walks found the same tasks.
func (c *PIDCheck) Agree() bool {
	return c.Err == nil && len(c.NotListed) == 0 && len(c.NotInIDR) == 0
}

// Warnings words the disagreements, one line each.
func (c *PIDCheck) Warnings() []string {
	var out []string
	if c.Err != nil {
		out = append(out, fmt.Sprintf("pid IDR walk incomplete: %v", c.Err))
	}
	for _, t := range c.NotListed {
		out = append(out, fmt.Sprintf("task %x (pid %d, struct pid %x) is in init_pid_ns's IDR but not on the task list", t.Addr, t.PID, t.Pid))
	}
	for _, t := range c.NotInIDR {
		out = append(out, fmt.Sprintf("task %x (pid %d, %q) is on the task list but not in init_pid_ns's IDR", t.Addr, t.PID, t.Comm))
	}
	return out
}

// IDRTasks walks init_pid_ns.idr and returns each pid's PIDTYPE_PID task
// (pid->tasks[PIDTYPE_PID].first, a task_struct.pid_links[PIDTYPE_PID]
// node; 4.19 and later, commit 2c4704756cab), in pid order. A walk that
// stops early returns what it found with the error.
func IDRTasks(src Source) ([]IDRTask, int, error) {
	ns, err := src.Symbol("init_pid_ns")
	if err != nil {
		return nil, 0, fmt.Errorf("init_pid_ns: %w", err)
	}
	idr, err := src.MemberOffset("pid_namespace", "idr")
	if err != nil {
		return nil, 0, fmt.Errorf("pid_namespace.idr: %w", err)
	}
	rt, err := src.MemberOffset("idr", "idr_rt")
	if err != nil {
		return nil, 0, fmt.Errorf("idr.idr_rt: %w", err)
	}
	base := uint64(0)
	if off, err := src.MemberOffset("idr", "idr_base"); err == nil {
		var b [4]byte
		if _, err := src.ReadAt(b[:], ns+idr+off); err == nil {
			base = uint64(binary.LittleEndian.Uint32(b[:]))
		}
	}
	pidTasks, err := src.MemberOffset("pid", "tasks")
	if err != nil {
		return nil, 0, fmt.Errorf("pid.tasks: %w", err)
	}
	links, err := src.MemberOffset("task_struct", "pid_links")
	if err != nil {
		return nil, 0, fmt.Errorf("task_struct.pid_links: %w", err)
	}
	var out []IDRTask
	n := 0
	werr := xarray.Walk(src, xarray.LayoutOf(src), ns+idr+rt, MaxTasks, func(index, entry uint64) error {
		if entry&1 != 0 {
			return nil // a value entry: no struct pid
		}
		n++
		var b [8]byte
		if _, err := src.ReadAt(b[:], entry+pidTasks); err != nil {
			return fmt.Errorf("struct pid %#x (pid %d): %v", entry, index+base, err)
		}
		first := binary.LittleEndian.Uint64(b[:])
		if first == 0 {
			return nil // a pid without a task: a process group or session id only
		}
		out = append(out, IDRTask{PID: int64(index + base), Pid: entry, Addr: first - links})
		return nil
	})
	return out, n, werr
}

// CheckPIDs compares the IDR walk with the task list res and records
// the result in res.PIDCheck and each disagreement in res.Warnings.
func CheckPIDs(src Source, res *Result) *PIDCheck {
	c := &PIDCheck{}
	idr, n, err := IDRTasks(src)
	c.PIDs, c.Tasks, c.Err = n, len(idr), err
	c.compare(idr, res.Tasks)
	res.PIDCheck = c
	res.Warnings = append(res.Warnings, c.Warnings()...)
	return c
}

func (c *PIDCheck) compare(idr []IDRTask, list []Task) {
	listed := map[uint64]bool{}
	for _, t := range list {
		listed[t.Addr] = true
	}
	inIDR := map[uint64]bool{}
	for _, t := range idr {
		inIDR[t.Addr] = true
		if !listed[t.Addr] {
			c.NotListed = append(c.NotListed, t)
		}
	}
	if c.Err != nil {
		return // a partial IDR says nothing of the tasks it did not reach
	}
	for _, t := range list {
		if !t.Idle && !inIDR[t.Addr] {
			c.NotInIDR = append(c.NotInIDR, t)
		}
	}
	sort.Slice(c.NotInIDR, func(i, j int) bool { return c.NotInIDR[i].PID < c.NotInIDR[j].PID })
}
