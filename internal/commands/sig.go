package commands

// sig: a task's signal handling state, as crash's sig command prints it,
// from internal/kernel/signal.

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"kdive/internal/kernel/signal"
	"kdive/internal/kernel/tasks"
)

const sigSynopsis = "[[-l] | [-s sigset]] | [-g] [pid | taskp] ..."

func init() {
	Register(&Command{
		Name:    "sig",
		Summary: "task signal handling",
		Usage:   sigSynopsis,
		Help: `  Displays the signal-handling data of a task (by default the current
  context): its thread group's signal_struct and thread count, the
  disposition of each signal 1-64 from sighand_struct.action[] (the
  k_sigaction's address, the handler -- SIG_DFL, SIG_IGN, SIG_ERR or the
  user address --, the sa_mask and the sa_flags, decoded), whether
  TIF_SIGPENDING is set, the blocked mask, and the pending signals and
  their queues: the task's own (PRIVATE_PENDING) and the thread group's
  (SHARED_PENDING); each queued signal with the address of its siginfo.

        -l  the signal numbers and names.
 -s sigset  the names of the signals in the hexadecimal sigset.
        -g  the whole thread group: the group's data, then each thread's
            own (pending and blocked), indented.
       pid  a process ID.
     taskp  a task_struct address, in hexadecimal.

EXAMPLES
    kdive> sig -s 4000
    SIGTERM`,
		Run: runSig,
	})
}

func runSig(env *Env, args []string) error {
	opts, rest, err := getopt("sig", args, "lR:s:g")
	if err != nil {
		writeUsage(env, "sig", sigSynopsis)
		return err
	}
	group, ref := false, false
	for _, o := range opts {
		switch o.c {
		case 's':
			v, err := strconv.ParseUint(strings.TrimPrefix(strings.TrimPrefix(o.arg, "0x"), "0X"), 16, 64)
			if err != nil {
				return fmt.Errorf("invalid sigset: %s", o.arg)
			}
			sigTranslate(env.Out, v)
			return nil
		case 'l':
			sigList(env.Out)
			return nil
		case 'R':
			ref = true
		case 'g':
			group = true
		}
	}
	p := env.Prog
	tl, err := tasks.List(p, tasks.Options{})
	if err != nil {
		return err
	}
	var list []tasks.Task
	bogus := false
	for _, a := range rest {
		if isCrashDecimal(a) || isCrashHex(a) {
			if ts, ok := taskArg(tl.Tasks, a); ok {
				list = append(list, ts...)
				continue
			}
			if isCrashDecimal(a) || !p.HasMember("task_struct", a) {
				bogus = true
				fmt.Fprintf(env.Err, "sig: invalid task or pid value: %s\n\n", a)
				continue
			}
		}
		if strings.Contains(a, ",") || p.HasMember("task_struct", a) {
			ref = true
			continue
		}
		fmt.Fprintf(env.Err, "sig: invalid task or pid value: %s\n\n", a)
	}
	if ref {
		return errors.New("-R not supported yet")
	}
	if len(list) == 0 {
		if bogus {
			return ErrShown
		}
		run, err := activeSet(p)
		if err != nil {
			return err
		}
		t, ok := currentTask(p, tl.Tasks, run)
		if !ok {
			return fmt.Errorf("no current task: no panic task and no task running on CPU 0")
		}
		list = append(list, t)
	}
	idleShown := false
	for _, t := range list {
		if group {
			if t.PID == 0 && idleShown {
				continue // crash: IDLE_TASK_SHOWN
			}
			shown, err := sigGroup(env.Out, env, t, tl.Tasks)
			if err != nil {
				return err
			}
			idleShown = idleShown || shown
			continue
		}
		in, err := signal.Read(p, t.Addr)
		if err != nil {
			return err
		}
		taskHeader(env.Out, t, false)
		sigGroupData(env.Out, in)
		sigTaskData(env.Out, in, "")
		sigShared(env.Out, in)
		fmt.Fprintln(env.Out)
	}
	return nil
}

// sigGroup is crash's do_sig_thread_group: the leader's header and the
// group's data, then each thread's header and own data, indented. Like
// crash, it takes the idle tasks (pid 0) as one group; idleShown reports
// that one was shown.
func sigGroup(w io.Writer, env *Env, t tasks.Task, all []tasks.Task) (idleShown bool, err error) {
	if t.PID != t.TGID {
		for _, u := range all {
			if u.PID == t.TGID && !u.Idle {
				t = u
				break
			}
		}
	}
	in, err := signal.Read(env.Prog, t.Addr)
	if err != nil {
		return false, err
	}
	taskHeader(w, t, false)
	sigGroupData(w, in)
	sigShared(w, in)
	fmt.Fprint(w, "\n  ")
	taskHeader(w, t, false)
	sigTaskData(w, in, "  ")
	for _, u := range foreachOrder(all) {
		if u.Addr == t.Addr || u.TGID != t.TGID {
			continue
		}
		idleShown = idleShown || u.PID == 0
		ui, err := signal.Read(env.Prog, u.Addr)
		if err != nil {
			fmt.Fprintf(w, "\n  sig: %v\n", err)
			continue
		}
		fmt.Fprint(w, "\n  ")
		taskHeader(w, u, false)
		sigTaskData(w, ui, "  ")
	}
	fmt.Fprintln(w)
	return idleShown, nil
}

// sigGroupData is the thread-group part: signal_struct and the table of
// dispositions.
func sigGroupData(w io.Writer, in *signal.Info) {
	fmt.Fprintf(w, "SIGNAL_STRUCT: %x  ", in.SignalStruct)
	if in.SignalStruct == 0 {
		fmt.Fprintln(w)
		return
	}
	if in.HasNrThreads {
		fmt.Fprintf(w, "NR_THREADS: %d\n", in.NrThreads)
	} else {
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, " SIG    SIGACTION        HANDLER       MASK       FLAGS           ")
	for i, a := range in.Actions {
		sig := i + 1
		pad := ""
		if sig < 10 {
			pad = " "
		}
		var h string
		switch int64(a.Handler) {
		case -1:
			h = "SIG_ERR"
		case 0:
			h = "SIG_DFL"
		case 1:
			h = "SIG_IGN"
		default:
			h = fmt.Sprintf("%x", a.Handler)
		}
		fmt.Fprintf(w, "%s[%d] %-10x %10s %016x %x %s\n", pad, sig, a.Addr, h, a.Mask, a.Flags, saFlags(a.Flags))
	}
}

// The x86-64 SA_* flags, in the order crash decodes them.
var saNames = []struct {
	bit  uint64
	name string
}{
	{0x00000001, "SA_NOCLDSTOP"},
	{0x04000000, "SA_RESTORER"},
	{0x00000002, "SA_NOCLDWAIT"},
	{0x00000004, "SA_SIGINFO"},
	{0x08000000, "SA_ONSTACK"},
	{0x10000000, "SA_RESTART"},
	{0x40000000, "SA_NODEFER"},
	{0x80000000, "SA_RESETHAND"},
}

func saFlags(f uint64) string {
	var s []string
	for _, n := range saNames {
		if f&n.bit != 0 {
			s = append(s, n.name)
		}
	}
	if len(s) == 0 {
		return ""
	}
	return "(" + strings.Join(s, "|") + ")"
}

// sigTaskData is the task part: TIF_SIGPENDING, the blocked mask and the
// task's own pending signals.
func sigTaskData(w io.Writer, in *signal.Info, indent string) {
	yes := "no"
	if in.SigPending {
		yes = "yes"
	}
	fmt.Fprintf(w, "%sSIGPENDING: %s\n", indent, yes)
	fmt.Fprintf(w, "%s   BLOCKED: %016x\n", indent, in.Blocked)
	fmt.Fprintf(w, "%s", indent)
	if in.HasShared {
		fmt.Fprintf(w, "PRIVATE_PENDING\n%s", indent)
	}
	sigPending(w, in.Private, indent)
}

// sigShared is the thread group's pending signals.
func sigShared(w io.Writer, in *signal.Info) {
	if !in.HasShared || in.SignalStruct == 0 {
		return
	}
	fmt.Fprintln(w, "SHARED_PENDING")
	sigPending(w, in.Shared, "")
}

func sigPending(w io.Writer, p signal.Pending, indent string) {
	fmt.Fprintf(w, "    SIGNAL: %016x\n", p.Signal)
	if len(p.Queue) == 0 && p.Err == nil {
		fmt.Fprintf(w, "%s  SIGQUEUE: (empty)\n", indent)
		return
	}
	fmt.Fprintf(w, "%s  SIGQUEUE:  SIG      SIGINFO     \n", indent)
	for _, q := range p.Queue {
		fmt.Fprintf(w, "             %3d  %x\n", q.Signo, q.Info)
	}
	if p.Err != nil {
		fmt.Fprintf(w, "sig: %v\n", p.Err)
	}
}

// sigList is sig -l: every signal's number and name.
func sigList(w io.Writer) {
	for i := 1; i <= signal.NSIG; i++ {
		name, alt := signal.Name(i)
		if alt != "" {
			name += "/" + alt
		}
		pad := ""
		if i < 10 {
			pad = " "
		}
		fmt.Fprintf(w, "%s[%d] %s\n", pad, i, name)
	}
}

// sigTranslate is sig -s: the names of the signals in set, wrapped before
// 80 columns as crash's translate_sigset.
func sigTranslate(w io.Writer, set uint64) {
	if set == 0 {
		fmt.Fprintln(w, "(none)")
		return
	}
	n, c := 0, 0
	for i := 1; i <= signal.NSIG; i++ {
		if set&(1<<(i-1)) == 0 {
			continue
		}
		name, _ := signal.Name(i)
		if c > 0 {
			name = " " + name
		}
		c++
		if n+len(name) > 80 {
			name = strings.TrimPrefix(name, " ")
			fmt.Fprintln(w)
			n = 0
		}
		n += len(name)
		fmt.Fprint(w, name)
	}
	fmt.Fprintln(w)
}
