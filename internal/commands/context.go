package commands

import (
	"fmt"
	"strconv"

	"kdive/internal/kernel/tasks"
	"kdive/internal/program"
)

// currentTask is crash's "current context": the task chosen with `set`,
// else the panic task (see panicTask). Commands that act on one task when
// given none (bt, files, net -s, vm, task, sig) call this.
func currentTask(p *program.Program, all []tasks.Task, running map[int]uint64) (tasks.Task, bool) {
	if a, ok := p.CurrentTask(); ok {
		for _, t := range all {
			if t.Addr == a {
				return t, true
			}
		}
	}
	return panicTask(p, all, running)
}

// activeSet is crash's active set on a dump (tt->active_set): for each
// CPU the task its run queue was running at the crash (rq->curr), or the
// task `set -a` marked active on that CPU in its place. ps marks these
// tasks '>', set -c and bt -a/-c take them, foreach's "active" selects
// them (with the panic task, see isActive).
func activeSet(p *program.Program) (map[int]uint64, error) {
	run, err := tasks.Running(p, nil)
	if err != nil {
		return nil, err
	}
	for cpu, t := range p.ActiveTaskMarks() {
		run[cpu] = t
	}
	return run, nil
}

// activeTasks is crash's is_task_active on a dump as a set: the tasks of
// the active set (run, from activeSet) and the panic task, which stays
// active when `set -a` marks another task on its CPU (crash: is_panic_thread
// compares with tt->panic_task, which set -a does not change).
func activeTasks(p *program.Program, all []tasks.Task, run map[int]uint64) map[uint64]bool {
	out := map[uint64]bool{}
	for _, a := range run {
		out[a] = true
	}
	if pt, ok := panicTask(p, all, run); ok {
		out[pt.Addr] = true
	}
	return out
}

// contextTask lists the tasks and returns the current context's task.
func contextTask(p *program.Program) (tasks.Task, []tasks.Task, error) {
	tl, err := tasks.List(p, tasks.Options{})
	if err != nil {
		return tasks.Task{}, nil, err
	}
	run, err := activeSet(p)
	if err != nil {
		return tasks.Task{}, nil, err
	}
	t, ok := currentTask(p, tl.Tasks, run)
	if !ok {
		return tasks.Task{}, nil, fmt.Errorf("no current task: no panic task and no task running on CPU 0")
	}
	return t, tl.Tasks, nil
}

// taskArg is one pid or task argument resolved as crash's str_to_context
// does: a decimal number that is some task's pid (every task with that
// pid), else a hexadecimal task_struct address of a listed task.
func taskArg(all []tasks.Task, a string) ([]tasks.Task, bool) {
	if isCrashDecimal(a) {
		if pid, err := strconv.ParseInt(a, 10, 32); err == nil {
			var out []tasks.Task
			for _, t := range all {
				if int64(t.PID) == pid {
					out = append(out, t)
				}
			}
			if len(out) > 0 {
				return out, true
			}
		}
	}
	if isCrashHex(a) {
		if v, err := parseCrashHex(a); err == nil {
			for _, t := range all {
				if t.Addr == v {
					return []tasks.Task{t}, true
				}
			}
		}
	}
	return nil, false
}

// taskCPU is the CPU crash shows for a task: an idle task's own CPU, else
// the task's thread_info.cpu.
func taskCPU(t tasks.Task) int {
	if t.Idle {
		return t.IdleCPU
	}
	return t.CPU
}

// contextCPUSpec is crash's empty cpuspec ("symbol:"): the CPU of the
// current context's task.
func contextCPUSpec(prog any) (string, error) {
	p, ok := prog.(*program.Program)
	if !ok || p == nil {
		return "", fmt.Errorf("no current context: name the CPUs after ':'")
	}
	t, _, err := contextTask(p)
	if err != nil {
		return "", err
	}
	c := taskCPU(t)
	if c < 0 {
		return "", fmt.Errorf("the current context's task %x has no CPU: name the CPUs after ':'", t.Addr)
	}
	return strconv.Itoa(c), nil
}
