package commands

// set: crash's current context (the task other commands act on when given
// none) and its session variables, as crash's cmd_set (tools.c) and
// show_context (task.c) print them.

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"kdive/internal/kernel/tasks"
	"kdive/internal/program"
)

const setSynopsis = "[[-a] [pid | taskp] | [-c cpu] | -p] | [crash_variable [setting]] | -v"

func init() {
	Register(&Command{
		Name:    "set",
		Summary: "set a process context or internal crash variable",
		Usage:   setSynopsis,
		Help: `  Sets the current context: the task that bt, files, net -s, task (and
  vm) act on when they are given no task.  The context starts as the task
  that panicked (the task running on the panic CPU).  With no argument,
  the current context is shown.  The context stays for the rest of the
  session (interactive, -c, -i or standard input).

      pid  a process ID: the context becomes that task (the first one,
           for pid 0: CPU 0's idle task).
    taskp  a task_struct address, in hexadecimal.
   -c cpu  the task running on that CPU at the crash (or the one set -a
           marked active there).
       -p  back to the panic task.
       -v  the session variables.
  -a pid | taskp
           (dump files only) marks the task as the active task of the
           CPU it last ran on, in place of the task running there, for
           the rest of the session: ps marks it ">" (and no longer the
           task it replaces), set -c, bt -a, bt -c and foreach active
           take it, its context block says (ACTIVE).  The current
           context and the panic task do not change (the panic task stays
           active).  A pid shared by several tasks (pid 0) needs the task
           address.  Its backtrace still starts from its own saved state:
           the dump's registers of a CPU are used for the task that was
           running there.  set -a of that task undoes the mark.

  Session variables (crash's; the ones kdive acts on):
     radix [10|16]  p, struct, task: the default output radix.
     hex, dec       short for radix 16 and radix 10.
  Others (scroll, hash, silent, edit, print_max, ...) are shown as crash
  shows them and otherwise ignored.

EXAMPLES
    kdive> set
        PID: 124
    COMMAND: "kdive-trigger"
       TASK: ffff8ef09fe0c800  [THREAD_INFO: ffff8ef09fe0c800]
        CPU: 1
      STATE: TASK_RUNNING (PANIC)
    kdive> set 1
        PID: 1
    COMMAND: "init"
       TASK: ffff8ef0811e9800  [THREAD_INFO: ffff8ef0811e9800]
        CPU: 0
      STATE: TASK_INTERRUPTIBLE 
    kdive> set -a 1
    "init" task ffff8ef0811e9800 has been marked as the active task on cpu 0`,
		Run: runSet,
	})
}

func runSet(env *Env, args []string) error {
	opts, rest, err := getopt("set", args, "pvc:a:")
	if err != nil {
		writeUsage(env, "set", setSynopsis)
		return err
	}
	p := env.Prog
	for _, o := range opts {
		switch o.c {
		case 'c':
			cpu, err := strconv.Atoi(strings.TrimSpace(o.arg))
			if err != nil || cpu < 0 {
				return fmt.Errorf("invalid cpu number: %s", o.arg)
			}
			return setCPU(env, p, cpu)
		case 'p':
			tl, err := tasks.List(p, tasks.Options{})
			if err != nil {
				return err
			}
			run, err := activeSet(p)
			if err != nil {
				return err
			}
			t, ok := panicTask(p, tl.Tasks, run)
			if !ok {
				return errors.New("no panic task found!")
			}
			p.SetCurrentTask(t.Addr)
			return showContext(env.Out, p, t, tl.Tasks, run)
		case 'v':
			showOptions(env.Out, p)
			return nil
		case 'a':
			return setActive(env, p, o.arg)
		}
	}
	if len(rest) == 0 {
		t, all, err := contextTask(p)
		if err != nil {
			return err
		}
		run, _ := activeSet(p)
		return showContext(env.Out, p, t, all, run)
	}
	if handled, err := setVariable(env, p, rest); handled {
		return err
	}
	tl, err := tasks.List(p, tasks.Options{})
	if err != nil {
		return err
	}
	run, _ := activeSet(p)
	var failed error
	for _, a := range rest {
		ts, ok := taskArg(tl.Tasks, a)
		if !ok {
			if failed != nil {
				fmt.Fprintf(env.Err, "set: %v\n", failed)
			}
			failed = fmt.Errorf("invalid task or pid value: %s", a)
			continue
		}
		p.SetCurrentTask(ts[0].Addr)
		if err := showContext(env.Out, p, ts[0], tl.Tasks, run); err != nil {
			return err
		}
	}
	return failed
}

// setCPU is crash's set_cpu: the context becomes the task running on cpu,
// shown (also when it already was the context, as crash 8.0.2 does).
func setCPU(env *Env, p *program.Program, cpu int) error {
	_, all, err := contextTask(p)
	if err != nil {
		return err
	}
	n := len(tasks.PossibleCPUs(p))
	if cpu >= n {
		s := "s"
		if n == 1 {
			s = ""
		}
		return fmt.Errorf("invalid cpu number: system has only %d cpu%s", n, s)
	}
	run, err := activeSet(p)
	if err != nil {
		return err
	}
	a, ok := run[cpu]
	if !ok || a == 0 {
		return fmt.Errorf("cannot determine active task on cpu %d", cpu)
	}
	for _, t := range all {
		if t.Addr == a {
			p.SetCurrentTask(a)
			return showContext(env.Out, p, t, all, run)
		}
	}
	return fmt.Errorf("task %x running on cpu %d is not on the task list", a, cpu)
}

// setActive is crash's set -a (tools.c cmd_set): the task (a pid with one
// task, or a task_struct address) becomes the active task of the CPU it
// last ran on, in place of the task the dump says was running there, for
// the rest of the session: ps marks it '>', set -c and bt -a/-c take it,
// foreach active selects it, its context block says (ACTIVE). The panic
// task stays the panic task (and active), the current context does not
// change. Dumps only.
func setActive(env *Env, p *program.Program, arg string) error {
	if p.Dump == nil || p.Dump.Info() == nil || p.Dump.Info().Format == "kcore" {
		return errors.New("-a option not allowed on live systems")
	}
	tl, err := tasks.List(p, tasks.Options{})
	if err != nil {
		return err
	}
	ts, ok := taskArg(tl.Tasks, strings.TrimSpace(arg))
	if !ok {
		return fmt.Errorf("invalid task or pid value: %s", arg)
	}
	if len(ts) > 1 {
		return fmt.Errorf("pid %d has %d tasks: use a task address", ts[0].PID, len(ts))
	}
	t := ts[0]
	cpu := taskCPU(t)
	if n := len(tasks.PossibleCPUs(p)); cpu < 0 || cpu >= n {
		return fmt.Errorf("task %x: its cpu %d is not one of the system's %d", t.Addr, cpu, n)
	}
	if err := p.MarkActiveTask(cpu, t.Addr); err != nil {
		return fmt.Errorf("task %x: %v", t.Addr, err)
	}
	fmt.Fprintf(env.Out, "\"%s\" task %x has been marked as the active task on cpu %d\n", t.Comm, t.Addr, cpu)
	return nil
}

// showContext prints crash's context block (task.c show_context).
func showContext(w io.Writer, p *program.Program, t tasks.Task, all []tasks.Task, run map[int]uint64) error {
	fmt.Fprintf(w, "    PID: %d\n", t.PID)
	fmt.Fprintf(w, "COMMAND: \"%s\"\n", t.Comm)
	fmt.Fprintf(w, "   TASK: %x  ", t.Addr)
	n := 0
	for _, u := range all {
		if u.PID == t.PID {
			n++
		}
	}
	if n > 1 {
		fmt.Fprintf(w, "(1 of %d)  ", n)
	}
	if ti, ok := threadInfo(p, t.Addr); ok {
		fmt.Fprintf(w, "[THREAD_INFO: %x]", ti)
	}
	fmt.Fprintln(w)
	cpu := "(unknown)"
	if c := taskCPU(t); c >= 0 {
		cpu = strconv.Itoa(c)
	}
	fmt.Fprintf(w, "    CPU: %s\n", cpu)
	bits := tasks.StateBitsFor(p.Info().OSRelease)
	fmt.Fprintf(w, "  STATE: %s ", stateVerbose(bits, t.StateValue()))
	if activeTasks(p, all, run)[t.Addr] {
		if pt, ok := panicTask(p, all, run); ok && pt.Addr == t.Addr {
			fmt.Fprint(w, "(PANIC)")
		} else {
			fmt.Fprint(w, "(ACTIVE)")
		}
	}
	fmt.Fprintln(w)
	return nil
}

// threadInfo is the task's struct thread_info: inside the task_struct
// with CONFIG_THREAD_INFO_IN_TASK (task_struct.thread_info, x86 since
// 4.9, commit 15f4eae70d36), else at the base of its stack (task->stack).
func threadInfo(p *program.Program, task uint64) (uint64, bool) {
	if p.HasMember("task_struct", "thread_info") {
		return task, true
	}
	off, err := p.MemberOffset("task_struct", "stack")
	if err != nil {
		return 0, false
	}
	v, err := p.ReadU64(task + off)
	return v, err == nil && v != 0
}

// stateVerbose is crash's task_state_string_verbose.
func stateVerbose(b tasks.StateBits, state uint64) string {
	if state == tasks.TaskRunning {
		return "TASK_RUNNING"
	}
	var names []string
	add := func(on bool, s string) {
		if on {
			names = append(names, s)
		}
	}
	add(state&tasks.TaskInterruptible != 0, "TASK_INTERRUPTIBLE")
	add(state&tasks.TaskUninterruptible != 0, "TASK_UNINTERRUPTIBLE")
	add(state&tasks.TaskStopped != 0, "TASK_STOPPED")
	add(state&tasks.TaskTraced != 0, "TASK_TRACED")
	if d := state & b.Dead; d != 0 {
		if d&(d-1) != 0 {
			names = append(names, "EXIT_DEAD|TASK_DEAD")
		} else {
			names = append(names, "EXIT_DEAD")
		}
	}
	add(state&tasks.ExitZombie != 0, "EXIT_ZOMBIE")
	add(state&b.Waking != 0, "TASK_WAKING")
	add(state&b.Wakekill != 0, "TASK_WAKEKILL")
	add(state&b.Noload != 0, "TASK_NOLOAD")
	add(state&b.New != 0, "TASK_NEW")
	if state == b.Parked {
		return "TASK_PARKED"
	}
	return strings.Join(names, "|")
}

// setVariable handles crash's session variables. It reports whether the
// arguments named one.
func setVariable(env *Env, p *program.Program, args []string) (bool, error) {
	name := args[0]
	val := ""
	if len(args) > 1 {
		val = args[1]
	}
	invalid := func() error {
		return fmt.Errorf("invalid command: %s ", "set "+strings.Join(args, " "))
	}
	// onOff checks an on/off/number setting; kdive keeps its own value.
	onOff := func() error {
		switch val {
		case "", "on", "off":
		default:
			if !isCrashDecimal(val) {
				return invalid()
			}
		}
		return nil
	}
	switch name {
	case "radix":
		switch {
		case val == "":
		case val == "10" || strings.HasPrefix(val, "dec") || strings.HasPrefix(val, "ten"):
			p.SetOutputRadix(10)
		case val == "16" || strings.HasPrefix(val, "hex") || strings.HasPrefix(val, "six"):
			p.SetOutputRadix(16)
		default:
			return true, invalid()
		}
		fmt.Fprintf(env.Out, "output radix: %d (%s)\n", p.OutputRadix(), map[int]string{10: "decimal", 16: "hex"}[p.OutputRadix()])
	case "hex":
		p.SetOutputRadix(16)
		fmt.Fprintln(env.Out, "output radix: 16 (hex)")
	case "dec":
		p.SetOutputRadix(10)
		fmt.Fprintln(env.Out, "output radix: 10 (decimal)")
	case "scroll":
		switch val {
		case "", "on", "off", "more", "less", "CRASHPAGER":
		default:
			return true, invalid()
		}
		// kdive never pages its output.
		fmt.Fprintln(env.Out, "scroll: off (none)")
	case "hash", "refresh", "silent", "null-stop", "print_array", "redzone", "unwind", "gdb", "core", "zero_excluded":
		if err := onOff(); err != nil {
			return true, err
		}
		fmt.Fprintf(env.Out, "%s: %s\n", name, optionValue(p, name))
	case "debug":
		fmt.Fprintln(env.Out, "debug: 0")
	case "print_max":
		fmt.Fprintln(env.Out, "print_max: 256")
	case "edit", "vi", "emacs":
		fmt.Fprintln(env.Out, "edit: vi")
	case "console":
		fmt.Fprintln(env.Out, "console: not set")
	case "scope":
		fmt.Fprintln(env.Out, "scope: 0 (not set)")
	case "offline":
		fmt.Fprintln(env.Out, "      offline: show")
	case "namelist":
		fmt.Fprintf(env.Out, "namelist: %s\n", p.VmlinuxPath)
	case "error":
		fmt.Fprintln(env.Out, "error: default")
	default:
		return false, nil
	}
	return true, nil
}

// optionValue is what kdive's session does for crash's on/off variables.
func optionValue(p *program.Program, name string) string {
	switch name {
	case "hash", "refresh", "silent", "redzone":
		return "on"
	}
	return "off"
}

// showOptions is crash's `set -v`.
func showOptions(w io.Writer, p *program.Program) {
	radix := "decimal"
	if p.OutputRadix() == 16 {
		radix = "hexadecimal"
	}
	dumpfile := ""
	if p.Dump != nil && p.Dump.Info() != nil {
		dumpfile = p.Dump.Info().Path
	}
	fmt.Fprintf(w, "        scroll: off (none)\n")
	fmt.Fprintf(w, "         radix: %d (%s)\n", p.OutputRadix(), radix)
	for _, kv := range [][2]string{
		{"refresh", "on"}, {"print_max", "256"}, {"print_array", "off"},
		{"console", "(not assigned)"}, {"debug", "0"}, {"core", "off"}, {"hash", "on"},
		{"silent", "on"}, {"edit", "vi"}, {"namelist", p.VmlinuxPath}, {"dumpfile", dumpfile},
		{"unwind", "off"}, {"zero_excluded", optionValue(p, "zero_excluded")}, {"null-stop", "off"},
		{"gdb", "off"}, {"scope", "0 (not set)"}, {"offline", "show"}, {"redzone", "on"},
		{"error", "default"},
	} {
		fmt.Fprintf(w, "%14s: %s\n", kv[0], kv[1])
	}
}

// WriteStartupContext prints the current context as crash does after the
// system data at start-up (main.c: show_context before the first prompt,
// each line indented by five blanks). It prints nothing when the program
// has no dump or no context can be found.
func WriteStartupContext(p *program.Program, w io.Writer) {
	if p == nil || p.Dump == nil {
		return
	}
	t, all, err := contextTask(p)
	if err != nil {
		return
	}
	run, _ := activeSet(p)
	var b strings.Builder
	if showContext(&b, p, t, all, run) != nil {
		return
	}
	for _, l := range strings.SplitAfter(b.String(), "\n") {
		if l != "" {
			io.WriteString(w, "     "+l)
		}
	}
}
