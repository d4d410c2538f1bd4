package commands

// task: a task's struct task_struct (and its struct thread_info where that
// is separate), whole or some members, as crash's cmd_task / do_task
// (task.c) print them.

import (
	"errors"
	"fmt"
	"strings"

	"kdive/internal/expr"
	"kdive/internal/kernel/tasks"
	"kdive/internal/program"
	"kdive/internal/types"
)

const taskSynopsis = "[-R member[,member]] [-dx] [pid | taskp] ..."

func init() {
	Register(&Command{
		Name:    "task",
		Summary: "task_struct contents",
		Usage:   taskSynopsis,
		Help: `  Displays the struct task_struct of each task given (the current context
  when none is: the panic task unless set chose another), after crash's
  task header line, as "struct task_struct ADDRESS" prints it, then its
  struct thread_info (with CONFIG_THREAD_INFO_IN_TASK the task_struct's
  first member, else at the base of the task's stack).  -R members are
  looked for in the task_struct, then in the thread_info.

        pid  a process ID (every task with that pid).
      taskp  a task_struct address, in hexadecimal.
  -R member  only these members (comma-separated, repeatable; a.b and
             a[i] paths allowed).  A bare word that is a task_struct
             member, or has a comma, a dot or a bracket, is taken as -R.
         -x  integers in hexadecimal.
         -d  integers in decimal.

EXAMPLES
    kdive> task -R pid,comm 1
    PID: 1        TASK: ffff8ef0811e9800  CPU: 0    COMMAND: "init"
      pid = 1,
      comm = "init\000\000\000\000\000\000\000\000\000\000\000",
`,
		Run: runTask,
	})
}

func runTask(env *Env, args []string) error {
	opts, rest, err := getopt("task", args, "xdhR:")
	if err != nil {
		writeUsage(env, "task", taskSynopsis)
		return err
	}
	radix := 0
	var refs []string
	for _, o := range opts {
		switch o.c {
		case 'x', 'h':
			if radix == 10 {
				return errors.New("-d and -x are mutually exclusive")
			}
			radix = 16
		case 'd':
			if radix == 16 {
				return errors.New("-d and -x are mutually exclusive")
			}
			radix = 10
		case 'R':
			refs = append(refs, o.arg)
		}
	}
	p := env.Prog
	tl, err := tasks.List(p, tasks.Options{})
	if err != nil {
		return err
	}
	var list []tasks.Task
	var failed error
	fail := func(e error) {
		if failed != nil {
			fmt.Fprintf(env.Err, "task: %v\n", failed)
		}
		failed = e
	}
	for _, a := range rest {
		if isCrashDecimal(a) || isCrashHex(a) {
			if ts, ok := taskArg(tl.Tasks, a); ok {
				list = append(list, ts...)
				continue
			}
			if isCrashDecimal(a) || !p.HasMember("task_struct", a) {
				fail(fmt.Errorf("invalid task or pid value: %s", a))
				continue
			}
		}
		if strings.Contains(a, ",") || p.HasMember("task_struct", a) || strings.ContainsAny(a, ".[") {
			refs = append(refs, a)
			continue
		}
		// crash: a message, and the command goes on.
		fmt.Fprintf(env.Err, "task: invalid task, pid, or task_struct member: %s\n", a)
	}
	if len(list) == 0 && failed == nil {
		run, err := activeSet(p)
		if err != nil {
			return err
		}
		t, ok := currentTask(p, tl.Tasks, run)
		if !ok {
			return errors.New("no current task: give a pid or task")
		}
		list = append(list, t)
	}
	var members []string
	for _, r := range refs {
		for _, m := range strings.Split(r, ",") {
			if m = strings.TrimSpace(m); m != "" {
				members = append(members, m)
			}
		}
	}
	for _, t := range list {
		if err := doTask(env, p, t, members, radix, true); err != nil {
			return err
		}
	}
	return failed
}

// doTask is crash's do_task: the header (unless foreach printed it), the
// task_struct or the members asked for, then a blank line.
func doTask(env *Env, p *program.Program, t tasks.Task, members []string, radix int, header bool) error {
	pe := newProgEnv(p)
	reg := p.Types()
	ts, err := reg.LookupType("task_struct")
	if err != nil {
		return fmt.Errorf("no struct task_struct type: %v", err)
	}
	// crash shows the struct thread_info too: the task_struct's first
	// member with CONFIG_THREAD_INFO_IN_TASK, else the base of the stack.
	var ti *types.Type
	tiAddr := uint64(0)
	if a, ok := threadInfo(p, t.Addr); ok {
		if tt, err := reg.LookupType("thread_info"); err == nil && tt.IsComposite() {
			ti, tiAddr = tt, a
		}
	}
	po := pe.printOpts(radix)
	if len(members) > 0 || header {
		taskHeader(env.Out, t, false)
	}
	if len(members) == 0 {
		for i, x := range []struct {
			name string
			t    *types.Type
			addr uint64
		}{{"task_struct", ts, t.Addr}, {"thread_info", ti, tiAddr}} {
			if x.t == nil {
				continue
			}
			if i > 0 {
				fmt.Fprintln(env.Out)
			}
			s, err := expr.FormatTop(expr.At(pe, x.t, x.addr), po)
			if err != nil {
				return fmt.Errorf("struct %s at %x: %v", x.name, x.addr, err)
			}
			fmt.Fprintf(env.Out, "struct %s %s\n", x.name, s)
		}
		fmt.Fprintln(env.Out)
		return nil
	}
	tv := expr.At(pe, ts, t.Addr)
	for _, m := range members {
		line, err := memberLine(tv, m, po)
		if err != nil && ti != nil {
			line, err = memberLine(expr.At(pe, ti, tiAddr), m, po)
		}
		if err != nil {
			fmt.Fprintf(env.Err, "task: %s: not a task_struct or thread_info member\n", m)
			continue
		}
		fmt.Fprint(env.Out, line)
	}
	fmt.Fprintln(env.Out)
	return nil
}
