// Package cli is kdive's command-line front end: it reads crash-style
// command lines, runs the registered commands with their output sent to
// the terminal, a file or a shell pipeline, and reports errors the way
// crash does.
package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync/atomic"

	"kdive/internal/commands"
	"kdive/internal/program"
)

// ErrQuit is returned by RunLine and the script runners when the session
// was asked to end (q, quit, exit).
var ErrQuit = commands.ErrQuit

// CommandError is a command line that failed. It has already been reported
// on the session's error output when RunLine returns it.
type CommandError struct {
	Cmd string // command name, or the program name for line-level errors
	Err error
}

func (e *CommandError) Error() string { return e.Cmd + ": " + e.Err.Error() }
func (e *CommandError) Unwrap() error { return e.Err }

// PanicError is a command that panicked.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

// ErrInterrupted is a command stopped by Ctrl-C.
var ErrInterrupted = errors.New("interrupted")

// Session runs command lines against one opened program.
type Session struct {
	Prog *program.Program // nil when no dump is open
	In   io.Reader        // stdin of shell escapes in interactive mode
	Out  io.Writer        // command output
	Err  io.Writer        // error messages

	// Name is the program name that prefixes line-level error messages
	// ("kdive: command not found: foo"); "kdive" if empty.
	Name string
	// Prompt is the interactive prompt, also used to echo script lines;
	// "kdive> " if empty.
	Prompt string
	// Echo prints Prompt and the line before running each command read
	// from a script (stdin, -i, -c, "<"), as crash does unless -s.
	Echo bool
	// Interactive gives shell escapes the session's In as their stdin.
	Interactive bool
	// HistoryFile is where interactive mode keeps its history ("" for none).
	HistoryFile string
	// LiveOutput flushes command output to Out every 100ms while a
	// command runs, not only when it ends; for a terminal.
	LiveOutput bool

	failures    int
	interrupted atomic.Bool
	intrCount   atomic.Int32
	running     atomic.Bool
	inFile      bool // running an input file: "<" may not nest
	stdoutGone  bool // the session's own output is a closed pipe
	history     []string
}

// NewSession returns a session on prog reading from in and writing to out
// and errw.
func NewSession(prog *program.Program, in io.Reader, out, errw io.Writer) *Session {
	return &Session{Prog: prog, In: in, Out: out, Err: errw}
}

func (s *Session) name() string {
	if s.Name == "" {
		return "kdive"
	}
	return s.Name
}

func (s *Session) prompt() string {
	if s.Prompt == "" {
		return "kdive> "
	}
	return s.Prompt
}

// Failures returns how many command lines have failed so far.
func (s *Session) Failures() int { return s.failures }

// OutputClosed reports whether the session's own output turned out to be
// a closed pipe; there is no point running more commands then.
func (s *Session) OutputClosed() bool { return s.stdoutGone }

// Interrupt asks the running command to stop (Ctrl-C). It stops at its
// next write of output. It returns how many times Interrupt was called
// during the current command, 0 when no command runs.
func (s *Session) Interrupt() int {
	if !s.running.Load() {
		return 0
	}
	s.interrupted.Store(true)
	return int(s.intrCount.Add(1))
}

// report prints one error line "who: message" and counts the failure.
func (s *Session) report(who string, err error) error {
	s.failures++
	if errors.Is(err, commands.ErrShown) {
		return &CommandError{Cmd: who, Err: err}
	}
	msg := oneLine(err.Error())
	if strings.HasPrefix(msg, who+": ") {
		msg = msg[len(who)+2:]
	}
	fmt.Fprintf(s.Err, "%s: %s\n", who, msg)
	var pe *PanicError
	if errors.As(err, &pe) && os.Getenv("KDIVE_DEBUG") != "" {
		s.Err.Write(pe.Stack)
	}
	return &CommandError{Cmd: who, Err: err}
}

func oneLine(s string) string {
	s = strings.TrimRight(s, "\n")
	return strings.ReplaceAll(s, "\n", "; ")
}

// RunLine runs one command line. A failure is reported on Err (one line)
// and returned as a *CommandError; ErrQuit means the session should end.
func (s *Session) RunLine(line string) error {
	if IsComment(line) {
		return nil
	}
	l, err := ParseLine(line)
	if err != nil {
		return s.report(s.name(), err)
	}
	switch {
	case l.ShellEscape:
		return s.runShell("/bin/sh", nil)
	case l.Shell != "":
		return s.runShell("/bin/sh", []string{"-c", l.Shell})
	case len(l.Args) == 0:
		return nil
	}
	if name := l.Args[0]; strings.HasPrefix(name, "<") {
		return s.runInputFile(l)
	}
	c := commands.Lookup(l.Args[0])
	if c == nil {
		// gdb-style format suffixes: "p/x expr" is "p /x expr".
		if i := strings.IndexByte(l.Args[0], '/'); i > 0 {
			if pc := commands.Lookup(l.Args[0][:i]); pc != nil {
				c = pc
				l.Args = append([]string{l.Args[0][:i], l.Args[0][i:]}, l.Args[1:]...)
			}
		}
	}
	if c == nil {
		// crash: a structure or union name is `struct`/`union` shorthand
		// ("task_struct.pid ADDR").
		c = commands.TypeShorthand(s.Prog, l.Args[0])
	}
	if c == nil {
		// crash main.c: exec_command: error(INFO, "command not found: %s\n")
		return s.report(s.name(), fmt.Errorf("command not found: %s", l.Args[0]))
	}
	if c.KeepQuotes {
		// crash's 'regex' arguments keep their quotes.
		if words := SplitWordsQuoted(commandText(line)); len(words) == len(l.Args) {
			l.Args = append([]string{l.Args[0]}, words[1:]...)
		}
	}
	if s.Prog == nil && !c.NoProgram {
		return s.report(c.Name, errors.New("no dump file is open"))
	}
	err = s.withOutput(l, func(out *outWriter) error {
		return s.runCommand(c, l.Args[1:], out)
	})
	if errors.Is(err, ErrQuit) {
		return ErrQuit
	}
	if err != nil {
		var ce *CommandError
		if errors.As(err, &ce) {
			return err // already reported (redirection failure)
		}
		return s.report(c.Name, err)
	}
	return nil
}

// runCommand runs c, turning a panic into an error and an aborted write
// (closed pipe) into a silent success.
func (s *Session) runCommand(c *commands.Command, args []string, out *outWriter) (err error) {
	s.interrupted.Store(false)
	s.intrCount.Store(0)
	s.running.Store(true)
	env := &commands.Env{Prog: s.Prog, Out: out, Err: &errWriter{out: out, err: s.Err}}
	defer func() {
		s.running.Store(false)
		r := recover()
		switch {
		case out.broken:
			err = nil
			if out.direct {
				s.stdoutGone = true
			}
		case out.interrupted || (r != nil && s.interrupted.Load()):
			err = ErrInterrupted
		case r != nil:
			if _, ok := r.(abortCommand); ok {
				err = ErrInterrupted
			} else {
				err = &PanicError{Value: r, Stack: debug.Stack()}
			}
		}
	}()
	return c.Run(env, args)
}

// withOutput sets up a command line's output (the session's Out, a file,
// or a pipeline), runs fn with it, then flushes and closes it.
func (s *Session) withOutput(l *Line, fn func(out *outWriter) error) error {
	switch {
	case l.Pipe != "":
		cmd := exec.Command("/bin/sh", "-c", l.Pipe)
		cmd.Stdout = s.Out
		cmd.Stderr = s.Err
		stdin, err := cmd.StdinPipe()
		if err != nil {
			return s.report(s.name(), fmt.Errorf("cannot open pipe: %v", err))
		}
		if err := cmd.Start(); err != nil {
			return s.report(s.name(), fmt.Errorf("cannot open pipe: %v", err))
		}
		out := newOutWriter(s, stdin, false)
		err = fn(out)
		if ferr := out.flush(); err == nil && ferr != nil {
			err = ferr
		}
		stdin.Close()
		cmd.Wait() // the pipeline's own exit status is its business (grep finding nothing...)
		return err
	case l.File != "":
		flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
		if l.Append {
			flags = os.O_WRONLY | os.O_CREATE | os.O_APPEND
		}
		f, err := os.OpenFile(expandHome(l.File), flags, 0o666)
		if err != nil {
			// crash cmdline.c: setup_redirect: "unable to open %s"
			return s.report(s.name(), fmt.Errorf("unable to open %s", l.File))
		}
		out := newOutWriter(s, f, false)
		err = fn(out)
		if ferr := out.flush(); err == nil && ferr != nil {
			err = ferr
		}
		if cerr := f.Close(); err == nil && cerr != nil {
			err = cerr
		}
		return err
	default:
		out := newOutWriter(s, s.Out, true)
		err := fn(out)
		if ferr := out.flush(); err == nil && ferr != nil {
			err = ferr
		}
		if out.broken {
			s.stdoutGone = true
		}
		return err
	}
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func expandHome(p string) string {
	if strings.HasPrefix(p, "~/") {
		if h, err := os.UserHomeDir(); err == nil {
			return filepath.Join(h, p[2:])
		}
	}
	return p
}

// runShell runs a shell escape ("!cmd", or "!" alone for a shell). Its
// output goes straight to the session's output; its exit status is not a
// kdive failure.
func (s *Session) runShell(path string, args []string) error {
	cmd := exec.Command(path, args...)
	cmd.Stdout = s.Out
	cmd.Stderr = s.Err
	if s.Interactive {
		cmd.Stdin = s.In
	}
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return nil
		}
		return s.report(s.name(), fmt.Errorf("cannot open pipe: %v", err))
	}
	return nil
}

// runInputFile runs "< file": the commands of a file, with the line's
// output redirection applying to all of them (crash cmdline.c:
// exec_input_file, including its messages).
func (s *Session) runInputFile(l *Line) error {
	args := l.Args
	file := ""
	if args[0] != "<" {
		file = args[0][1:]
	} else if len(args) > 1 {
		file = args[1]
	}
	if s.inFile {
		return s.report(s.name(), errors.New("embedded input files not allowed!"))
	}
	if file == "" {
		return s.report(s.name(), errors.New("no input file entered!"))
	}
	f, err := os.Open(expandHome(file))
	if err != nil {
		return s.report(s.name(), fmt.Errorf("%s: %s", file, strerror(unwrapPathError(err))))
	}
	defer f.Close()
	var ret error
	err = s.withOutput(l, func(out *outWriter) error {
		out.plain = true
		saved := s.Out
		s.Out = out
		defer func() { s.Out = saved }()
		ret = s.runScript(f, true)
		return nil
	})
	if err != nil {
		return err
	}
	return ret
}

// strerror formats an error like C's strerror: capitalised.
func strerror(err error) string {
	msg := err.Error()
	if msg == "" {
		return msg
	}
	return strings.ToUpper(msg[:1]) + msg[1:]
}

// RunUncounted runs a command line whose failure is reported but not
// counted (the `sys` that kdive runs at startup, as crash does).
func (s *Session) RunUncounted(line string) {
	n := s.failures
	s.RunLine(line)
	s.failures = n
}

// RunScript runs the command lines read from r, one per line, skipping
// blank lines and comments. It returns ErrQuit if a line asked to quit,
// nil at the end of r. Failures are reported and counted, and the next
// line runs.
func (s *Session) RunScript(r io.Reader) error {
	return s.runScript(r, false)
}

// RunFile runs the command lines of a file (kdive -i FILE).
func (s *Session) RunFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return s.report(s.name(), fmt.Errorf("%s: %s", path, strerror(unwrapPathError(err))))
	}
	defer f.Close()
	return s.runScript(f, true)
}

// RunCommands runs command lines given one by one (kdive -c).
func (s *Session) RunCommands(lines []string) error {
	for _, line := range lines {
		if err := s.runScriptLine(line); errors.Is(err, ErrQuit) {
			return ErrQuit
		}
		if s.stdoutGone {
			return nil
		}
	}
	return nil
}

func (s *Session) runScript(r io.Reader, inFile bool) error {
	if inFile {
		saved := s.inFile
		s.inFile = true
		defer func() { s.inFile = saved }()
	}
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			if e := s.runScriptLine(line); errors.Is(e, ErrQuit) {
				return ErrQuit
			}
			if s.stdoutGone {
				return nil
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return s.report(s.name(), err)
		}
	}
}

func (s *Session) runScriptLine(line string) error {
	line = strings.TrimRight(line, "\r\n")
	if IsComment(line) {
		return nil
	}
	if s.Echo {
		fmt.Fprintf(s.Out, "%s%s\n", s.prompt(), strings.TrimSpace(line))
	}
	return s.RunLine(line)
}
