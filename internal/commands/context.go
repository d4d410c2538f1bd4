package commands

import (
	"kdive/internal/kernel/tasks"
	"kdive/internal/program"
)

// currentTask is crash's "current context": the task chosen with `set`,
// else the panic task (see panicTask). Commands that act on one task when
// given none (bt, files, net -s, vm, task, sig) call this.
func currentTask(p *program.Program, all []tasks.Task, running map[int]uint64) (tasks.Task, bool) {
	return panicTask(p, all, running)
}
