package program

// The session's settable state: crash's "current context" (the task that
// `set` chose, which bt, files, net -s, task, vm ... act on when given no
// task) and its output radix (`set radix`). It lives on the Program, one
// per session, so that it persists from command to command (interactive,
// -c, -i, stdin) without a global.

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

type sessionContext struct {
	task    uint64
	taskSet bool
	radix   int
}
