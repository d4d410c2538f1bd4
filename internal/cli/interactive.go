package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/chzyer/readline"
	"golang.org/x/sys/unix"

	"kdive/internal/commands"
)

// Interact reads command lines at a prompt, with line editing, history
// and command-name completion, until Ctrl-D or a quit command. Ctrl-C at
// the prompt cancels the line; while a command runs it interrupts the
// command at its next write of output (pressed three times, it ends kdive).
// in must be the terminal.
func (s *Session) Interact(in *os.File) error {
	s.Interactive = true
	gate := newStdinGate(in)
	// The prompt and the line being edited go to the terminal: to stderr
	// when the output is redirected to a file ("kdive vmcore > out").
	var promptOut io.Writer = os.Stdout
	if f, ok := s.Out.(*os.File); ok && !readline.IsTerminal(int(f.Fd())) &&
		readline.IsTerminal(int(os.Stderr.Fd())) {
		promptOut = os.Stderr
	}
	rl, err := readline.NewEx(&readline.Config{
		Stdout:                 promptOut,
		Stderr:                 os.Stderr,
		Prompt:                 s.prompt(),
		HistoryFile:            s.HistoryFile,
		HistoryLimit:           1000,
		DisableAutoSaveHistory: true,
		HistorySearchFold:      true,
		AutoComplete:           completer{},
		InterruptPrompt:        "^C",
		EOFPrompt:              "\n", // crash prints a newline at EOF
		Stdin:                  gate,
	})
	if err != nil {
		gate.shut()
		return err
	}
	defer rl.Close()
	// Shut the gate first (defers run last-in first-out): the editor's
	// reader may be waiting in it, and rl.Close waits for that reader.
	defer gate.shut()

	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt)
	defer signal.Stop(sigs)
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case <-sigs:
				if s.Interrupt() >= 3 {
					fmt.Fprintf(s.Err, "\n%s: interrupted\n", s.name())
					os.Exit(130)
				}
			case <-done:
				return
			}
		}
	}()

	for {
		gate.open()
		line, err := rl.Readline()
		gate.close()
		switch {
		case errors.Is(err, readline.ErrInterrupt):
			continue
		case errors.Is(err, io.EOF):
			return nil
		case err != nil:
			return err
		}
		line, ok := s.historyExpand(line)
		line = strings.TrimSpace(line)
		if !ok || line == "" {
			continue
		}
		rl.SaveHistory(line)
		s.history = append(s.history, line)
		if err := s.RunLine(line); errors.Is(err, ErrQuit) {
			return nil
		}
	}
}

// historyExpand handles crash's history pseudo commands (cmdline.c:
// pseudo_command): "h" (or any word starting with "hi") lists the
// commands entered so far, "r" or "!!" repeats the last one, "r N" or
// "!N" command N, and "r TEXT" the last one starting with TEXT. It
// returns the line to run, and false when there is nothing to run.
func (s *Session) historyExpand(line string) (string, bool) {
	in := strings.TrimSpace(line)
	if in == "h" || strings.HasPrefix(in, "hi") {
		if len(s.history) == 0 {
			s.report(s.name(), errors.New("no commands entered!"))
			return "", false
		}
		for i, h := range s.history {
			fmt.Fprintf(s.Out, "[%d] %s\n", i+1, h)
		}
		return "", false
	}
	var ref string
	switch {
	case in == "r" || in == "!!":
		if len(s.history) == 0 {
			s.report(s.name(), errors.New("no commands entered!"))
			return "", false
		}
		return s.echoRepeat(s.history[len(s.history)-1])
	case len(in) > 1 && in[0] == 'r' && isDecimal(in[1:]):
		ref = in[1:]
	case len(in) > 1 && in[0] == '!' && isDecimal(strings.TrimSpace(in[1:])) &&
		!inPath(strings.TrimSpace(in[1:])):
		ref = strings.TrimSpace(in[1:])
	case strings.HasPrefix(in, "r ") || strings.HasPrefix(in, "r\t"):
		ref = strings.TrimSpace(in[2:])
	default:
		return line, true
	}
	if len(s.history) == 0 {
		s.report(s.name(), errors.New("no commands entered!"))
		return "", false
	}
	if isDecimal(ref) {
		n, _ := strconv.Atoi(ref)
		if n == 0 {
			fmt.Fprintf(s.Out, "invalid repeat request: %s\n", in)
			return "", false
		}
		if n > len(s.history) {
			s.report(s.name(), fmt.Errorf("command %d not entered yet!", n))
			return "", false
		}
		return s.echoRepeat(s.history[n-1])
	}
	for i := len(s.history) - 1; i >= 0; i-- {
		if strings.HasPrefix(s.history[i], ref) {
			return s.echoRepeat(s.history[i])
		}
	}
	fmt.Fprintf(s.Out, "invalid repeat request: %s\n", in)
	return "", false
}

// echoRepeat shows the repeated command after the prompt, as crash does.
func (s *Session) echoRepeat(line string) (string, bool) {
	fmt.Fprintf(s.Out, "%s%s\n", s.prompt(), line)
	return line, true
}

func isDecimal(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func inPath(name string) bool {
	_, err := exec.LookPath(name)
	return err == nil
}

// completer completes command names (and aliases) in the first word.
type completer struct{}

func (completer) Do(line []rune, pos int) ([][]rune, int) {
	prefix := string(line[:pos])
	if strings.TrimLeft(prefix, " \t") != prefix || strings.ContainsAny(prefix, " \t|>!") {
		return nil, 0
	}
	var names []string
	for _, c := range commands.All() {
		names = append(names, c.Name)
		names = append(names, c.Aliases...)
	}
	sort.Strings(names)
	var out [][]rune
	for _, n := range names {
		if strings.HasPrefix(n, prefix) {
			out = append(out, []rune(n[len(prefix):]+" "))
		}
	}
	return out, len([]rune(prefix))
}

// stdinGate is the line editor's view of the terminal. It reads only while
// the prompt is up: the editor keeps a goroutine reading its input between
// prompts, which would otherwise steal what the user types to a shell
// escape or a pager ("help all | less"). It polls before each read, so no
// read is left pending when the gate closes.
type stdinGate struct {
	f      *os.File
	fd     int
	mu     sync.Mutex
	cond   *sync.Cond
	isOpen bool
	isShut bool
}

func newStdinGate(f *os.File) *stdinGate {
	g := &stdinGate{f: f, fd: int(f.Fd())}
	g.cond = sync.NewCond(&g.mu)
	return g
}

func (g *stdinGate) open()  { g.set(true, false) }
func (g *stdinGate) close() { g.set(false, false) }
func (g *stdinGate) shut()  { g.set(false, true) }

func (g *stdinGate) set(open, shut bool) {
	g.mu.Lock()
	g.isOpen = open
	if shut {
		g.isShut = true
	}
	g.mu.Unlock()
	g.cond.Broadcast()
}

// wait blocks until the gate is open; false when it was shut.
func (g *stdinGate) wait() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	for !g.isOpen && !g.isShut {
		g.cond.Wait()
	}
	return !g.isShut
}

func (g *stdinGate) isOpenNow() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.isOpen && !g.isShut
}

func (g *stdinGate) Read(p []byte) (int, error) {
	for {
		if !g.wait() {
			return 0, io.EOF
		}
		fds := []unix.PollFd{{Fd: int32(g.fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, 50)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return 0, err
		}
		if n == 0 || !g.isOpenNow() {
			continue
		}
		n, err = unix.Read(g.fd, p)
		if err != nil {
			if errors.Is(err, unix.EINTR) || errors.Is(err, unix.EAGAIN) {
				continue
			}
			return 0, err
		}
		if n == 0 {
			return 0, io.EOF
		}
		return n, nil
	}
}

// Close is called by the line editor when it closes.
func (g *stdinGate) Close() error {
	g.shut()
	return nil
}
