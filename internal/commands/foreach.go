package commands

// foreach: run bt, task, files, net, ps, set, vm, sig or vtop on many
// tasks, as crash's cmd_foreach / foreach (task.c) do: task selectors,
// then the command keywords, their flags and arguments.

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"kdive/internal/kernel/tasks"
	"kdive/internal/program"
)

const foreachSynopsis = "[[pid | taskp | name | state | [kernel | user | gleader]] ...]\n          command [flag] [argument]"

func init() {
	Register(&Command{
		Name:       "foreach",
		KeepQuotes: true,
		Summary:    "display command data for multiple tasks in the system",
		Usage:      foreachSynopsis,
		Help: `  Runs one or more commands on every task, or on the tasks selected, each
  task's output after crash's task header line
  (PID: n  TASK: addr  CPU: n  COMMAND: "comm"), a blank line between
  tasks.  Tasks come in ps order (by pid, the idle tasks first, by CPU).

      pid  this process ID.
    taskp  the task at this task_struct address (hexadecimal).
     name  every task with this command name (a leading "\" lets a name
           that is also a keyword or a number be a name).  'regex': the
           tasks whose name matches the POSIX extended regular expression
           between the quotes.
     user  user (non-kernel) threads.
  gleader  user thread group leaders.
   kernel  kernel threads.
   active  the task running on each CPU at the crash (or marked active
           there with set -a), and the panic task.
    state  the tasks in this state: RU, IN, UN, ST, ZO, TR, DE, WA, PA,
           ID or NE.
  With no selector, every task.

  command  one or more of:
              bt  (flags: -r -t -T -l -e -R -f -F -FF -s -x -d -o)
            task  (flags: -R -d -x)
           files  (flags: -c -R)
             net  (flags: -s -S -R -d -x; -s when neither is given)
             set  the context block of each task
              ps  (flags: -G -s -p -c -t -l -a -g -r -y), one table
              vm  when kdive has vm (flags: -p -v -m -R -d -x)
             sig  (flag: -g: each thread group once)
            vtop  when kdive has vtop -c (flags: -c -u -k), with addresses
     flag  passed to the command(s).
 argument  passed to the command(s) (vtop's addresses).

EXAMPLES
    kdive> foreach UN bt
    kdive> foreach bash task -R pid,comm
    kdive> foreach 'kworker.*' files`,
		Run: runForeach,
	})
}

// foreachFlags are the flags each keyword passes on to its command
// (crash's foreach help).
var foreachFlags = map[string]string{
	"bt":    "rtTleRfFosxd",
	"vm":    "pvmRdx",
	"task":  "Rdx",
	"files": "cR",
	"net":   "sSRdx",
	"set":   "",
	"ps":    "Gspctlagry",
	"sig":   "g",
	"vtop":  "cuk",
}

var foreachStates = map[string]bool{"RU": true, "IN": true, "UN": true, "ST": true, "TR": true, "ZO": true,
	"DE": true, "PA": true, "WA": true, "ID": true, "NE": true, "SW": true}

type foreachSel struct {
	pids      []int32
	addrs     []uint64
	comms     []string
	res       []*regexp.Regexp
	specified bool
	kernel    bool
	user      bool
	gleader   bool
	active    bool
	state     string
	keywords  []string
	cmdArgs   []string
	opts      []opt
	reference bool
}

func runForeach(env *Env, args []string) error {
	opts, rest, err := getopt("foreach", args, "R:vomlgersStTpukcfFxhdaGy:")
	if err != nil || len(rest) == 0 {
		writeUsage(env, "foreach", foreachSynopsis)
		if err == nil {
			err = errors.New("no task selector or command")
		}
		return err
	}
	p := env.Prog
	tl, err := tasks.List(p, tasks.Options{})
	if err != nil {
		return err
	}
	all := foreachOrder(tl.Tasks)
	comms := map[string]bool{}
	for _, t := range all {
		comms[t.Comm] = true
	}
	s := &foreachSel{opts: opts}
	for _, o := range opts {
		if o.c == 'R' {
			s.reference = true
		}
	}
	for _, a := range rest {
		if len(s.keywords) > 0 {
			if _, ok := foreachFlags[a]; ok {
				s.keywords = append(s.keywords, a)
			} else {
				s.cmdArgs = append(s.cmdArgs, a)
			}
			continue
		}
		if _, ok := foreachFlags[a]; ok {
			s.keywords = append(s.keywords, a)
			continue
		}
		if isCrashDecimal(a) || isCrashHex(a) {
			if ts, ok := taskArg(all, a); ok {
				if isCrashDecimal(a) && ts[0].PID >= 0 && fmt.Sprint(ts[0].PID) == strings.TrimSpace(a) {
					s.pids = append(s.pids, ts[0].PID)
				} else {
					s.addrs = append(s.addrs, ts[0].Addr)
				}
				s.specified = true
				continue
			}
		}
		switch {
		case a == "kernel":
			if s.user {
				return errors.New("user and kernel are mutually exclusive!")
			}
			s.kernel = true
			continue
		case a == "user" || a == "gleader":
			if s.kernel {
				return fmt.Errorf("%s and kernel are mutually exclusive!", a)
			}
			s.user = true
			s.gleader = s.gleader || a == "gleader"
			continue
		case a == "active":
			s.active = true
			continue
		}
		st := a
		if st == `\DE` {
			st = "DE"
		}
		if foreachStates[st] {
			if s.state != "" {
				return errors.New("only one task state allowed")
			}
			s.state = st
			continue
		}
		if len(a) >= 2 && a[0] == '\'' && a[len(a)-1] == '\'' {
			re, err := regexp.Compile(a[1 : len(a)-1])
			if err != nil {
				return fmt.Errorf("invalid regular expression: %s", a[1:len(a)-1])
			}
			s.res = append(s.res, re)
			s.specified = true
			continue
		}
		name := strings.TrimPrefix(a, `\`)
		if comms[name] {
			s.comms = append(s.comms, name)
			s.specified = true
			continue
		}
		s.specified = true
		fmt.Fprintf(env.Err, "foreach: unknown argument: \"%s\"\n", a)
	}
	if len(s.keywords) == 0 {
		return errors.New("no keywords specified")
	}
	for _, k := range s.keywords {
		if k == "set" && s.reference {
			return errors.New("set command does not support -R option")
		}
		if k == "vtop" && len(s.cmdArgs) == 0 {
			return errors.New("foreach command requires address argument")
		}
		if k == "bt" && hasOpt(opts, 'g') {
			return errors.New("bt -g option is not supported when issued from foreach")
		}
		if k != "set" && k != "ps" && Lookup(k) == nil {
			return fmt.Errorf("%s: kdive has no %s command yet", k, k)
		}
	}
	run, err := activeSet(p)
	if err != nil {
		return err
	}
	active := activeTasks(p, all, run)
	bits := tasks.StateBitsFor(p.Info().OSRelease)
	var sel []tasks.Task
	for _, t := range all {
		if s.active && !active[t.Addr] ||
			s.user && t.IsKernelThread() ||
			s.gleader && t.PID != t.TGID ||
			s.kernel && !t.IsKernelThread() ||
			s.state != "" && !strings.HasPrefix(bits.String(t.StateValue()), s.state) {
			continue
		}
		if s.specified && !s.matches(t) {
			continue
		}
		sel = append(sel, t)
	}
	return s.run(env, p, sel, all, run)
}

// refBlocks reports whether each task's output under -R is a block of its
// own that needs no separator: with a reference crash's foreach prints no
// task header (task.c foreach: print_task_header only without
// fd->reference); task -R prints its own header per task, and vm -R
// (memory.c vm_area_dump) prints print_task_header(fp, tc, 0), the mm
// line and the matching VMAs, then a blank line of its own, only for a
// task with a match; so does bt -R with the trace (kernel.c back_trace).
func (s *foreachSel) refBlocks() bool {
	return s.reference && len(s.keywords) == 1 && (s.keywords[0] == "task" || s.keywords[0] == "vm" || s.keywords[0] == "bt")
}

func (s *foreachSel) matches(t tasks.Task) bool {
	for _, a := range s.addrs {
		if a == t.Addr {
			return true
		}
	}
	for _, pid := range s.pids {
		if pid == t.PID {
			return true
		}
	}
	for _, c := range s.comms {
		if len(c) > 15 {
			c = c[:15]
		}
		if c == t.Comm {
			return true
		}
	}
	for _, re := range s.res {
		if re.MatchString(t.Comm) {
			return true
		}
	}
	return false
}

// foreachOrder is crash's context order, ps's: by pid, the idle tasks
// (pid 0) by CPU.
func foreachOrder(all []tasks.Task) []tasks.Task {
	out := append([]tasks.Task(nil), all...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := &out[i], &out[j]
		if a.PID == 0 && b.PID == 0 {
			return taskCPU(*a) < taskCPU(*b)
		}
		return a.PID < b.PID
	})
	return out
}

// argsFor are the flags (and arguments) a keyword's command gets.
func (s *foreachSel) argsFor(k string) []string {
	var out []string
	allowed := foreachFlags[k]
	for _, o := range s.opts {
		if !strings.ContainsRune(allowed, rune(o.c)) {
			continue
		}
		if o.c == 'R' || o.c == 'y' {
			out = append(out, "-"+string(o.c), o.arg)
		} else {
			out = append(out, "-"+string(o.c))
		}
	}
	if k == "net" && !hasOpt(s.opts, 's') && !hasOpt(s.opts, 'S') {
		out = append(out, "-s")
	}
	return out
}

func (s *foreachSel) run(env *Env, p *program.Program, sel, all []tasks.Task, run map[int]uint64) error {
	for _, k := range s.keywords {
		if k == "net" && !hasOpt(s.opts, 's') && !hasOpt(s.opts, 'S') {
			fmt.Fprintf(env.Err, "WARNING: net command requires -s or -S option\n")
		}
	}
	// ps: one table of the selected tasks.
	if len(s.keywords) == 1 && s.keywords[0] == "ps" {
		if len(sel) == 0 {
			return nil
		}
		args := s.argsFor("ps")
		for _, t := range sel {
			args = append(args, fmt.Sprintf("%x", t.Addr))
		}
		return Lookup("ps").Run(env, args)
	}
	// sig -g shows each thread group once, with no task header of its
	// own and a blank line after it (crash: hq_enter, print_header FALSE).
	sigGroups := hasOpt(s.opts, 'g')
	sigDone := map[int32]bool{}
	printed := 0
	for _, t := range sel {
		var buf bytes.Buffer
		sub := &Env{Prog: p, Out: &buf, Err: env.Err}
		for i, k := range s.keywords {
			var out bytes.Buffer
			sub.Out = &out
			var err error
			switch k {
			case "set":
				taskHeader(&out, t, false)
				err = showContext(&out, p, t, all, run)
			case "ps":
				err = Lookup("ps").Run(sub, append(s.argsFor("ps"), fmt.Sprintf("%x", t.Addr)))
			case "sig":
				if sigGroups {
					if sigDone[t.TGID] {
						continue
					}
					sigDone[t.TGID] = true
				}
				err = Lookup(k).Run(sub, append(append(s.argsFor(k), s.cmdArgs...), fmt.Sprintf("%x", t.Addr)))
				if !sigGroups {
					// crash's do_sig under foreach: no blank line after.
					if b := out.Bytes(); bytes.HasSuffix(b, []byte("\n\n")) {
						out.Truncate(len(b) - 1)
					}
				}
			default:
				args := append(s.argsFor(k), s.cmdArgs...)
				if k == "vtop" {
					args = append([]string{"-c", fmt.Sprintf("%x", t.Addr)}, args...)
				} else {
					args = append(args, fmt.Sprintf("%x", t.Addr))
				}
				err = Lookup(k).Run(sub, args)
			}
			if err != nil && !errors.Is(err, ErrShown) {
				fmt.Fprintf(&out, "%s: %v\n", k, err)
			}
			b := out.Bytes()
			if i > 0 && k != "ps" && bytes.HasPrefix(b, []byte("PID: ")) {
				// One task header per task: the first command's.
				if j := bytes.IndexByte(b, '\n'); j >= 0 {
					b = b[j+1:]
				}
			}
			buf.Write(b)
		}
		if buf.Len() == 0 {
			continue
		}
		if printed > 0 && !s.refBlocks() &&
			!(len(s.keywords) == 1 && s.keywords[0] == "sig" && sigGroups) {
			fmt.Fprintln(env.Out)
		}
		printed++
		if _, err := env.Out.Write(buf.Bytes()); err != nil {
			return err
		}
	}
	return nil
}
