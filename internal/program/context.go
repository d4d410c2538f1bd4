package program

// The session's settable state: crash's "current context" (the task that
// `set` chose, which bt, files, net -s, task, vm ... act on when given no
// task), the tasks `set -a` marked active on their CPUs, and its output
// radix (`set radix`). It lives on the Program, one
// per session, so that it persists from command to command (interactive,
// -c, -i, stdin) without a global.

import "fmt"

// CurrentTask returns the task_struct address chosen with SetCurrentTask;
// ok is false when none was chosen (the default: the panic task).
func (p *Program) CurrentTask() (task uint64, ok bool) {
	return p.ctx.task, p.ctx.taskSet
}

// SetCurrentTask makes task (a struct task_struct *) the current context.
func (p *Program) SetCurrentTask(task uint64) {
	p.ctx.task, p.ctx.taskSet = task, true
}

// ResetCurrentTask goes back to the default context (the panic task).
func (p *Program) ResetCurrentTask() {
	p.ctx.task, p.ctx.taskSet = 0, false
}

// OutputRadix is the session's default output radix: 10 or 16 (crash's
// `set radix`, `set hex`, `set dec`).
func (p *Program) OutputRadix() int {
	if p.ctx.radix == 16 {
		return 16
	}
	return 10
}

// SetOutputRadix sets the default output radix (10 or 16).
func (p *Program) SetOutputRadix(r int) {
	p.ctx.radix = r
}

// maxActiveMarks bounds the tasks `set -a` may mark: one per CPU, and no
// kernel has more CPUs than this (NR_CPUS is at most 8192).
const maxActiveMarks = 8192

// MarkActiveTask records that task (a struct task_struct *) is to be taken
// as the active task of cpu for the rest of the session, in place of the
// task the dump says was running there (crash's `set -a`, which sets
// tt->active_set[cpu]). It refuses a negative or too large cpu.
func (p *Program) MarkActiveTask(cpu int, task uint64) error {
	if cpu < 0 || cpu >= maxActiveMarks {
		return fmt.Errorf("cpu %d is out of range", cpu)
	}
	if p.ctx.active == nil {
		p.ctx.active = map[int]uint64{}
	}
	p.ctx.active[cpu] = task
	return nil
}

// ActiveTaskMarks returns a copy of the marks made with MarkActiveTask:
// CPU number to task_struct address (nil when there are none).
func (p *Program) ActiveTaskMarks() map[int]uint64 {
	if len(p.ctx.active) == 0 {
		return nil
	}
	out := make(map[int]uint64, len(p.ctx.active))
	for c, t := range p.ctx.active {
		out[c] = t
	}
	return out
}

// ResetActiveTaskMarks forgets every MarkActiveTask.
func (p *Program) ResetActiveTaskMarks() {
	p.ctx.active = nil
}

type sessionContext struct {
	task    uint64
	taskSet bool
	radix   int
	// active is `set -a`: CPU -> task marked active on it.
	active map[int]uint64
}
