package cli

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"kdive/internal/commands"
)

var registerOnce sync.Once

// lotsLines is how many lines zz-lots writes: far more than a pipe holds.
const lotsLines = 2_000_000

// lotsWritten counts the lines zz-lots wrote in its last run.
var lotsWritten int

func registerFakes() {
	registerOnce.Do(func() {
		commands.Register(&commands.Command{
			Name: "zz-ok", Summary: "succeed", NoProgram: true,
			Run: func(env *commands.Env, args []string) error {
				fmt.Fprintf(env.Out, "ok %s\n", strings.Join(args, ","))
				return nil
			},
		})
		commands.Register(&commands.Command{
			Name: "zz-args", Summary: "print args one per line", NoProgram: true,
			Run: func(env *commands.Env, args []string) error {
				for _, a := range args {
					fmt.Fprintf(env.Out, "[%s]\n", a)
				}
				return nil
			},
		})
		commands.Register(&commands.Command{
			Name: "zz-fail", Aliases: []string{"zz-f"}, Summary: "fail", NoProgram: true,
			Run: func(env *commands.Env, args []string) error {
				fmt.Fprintf(env.Out, "partial\n")
				return errors.New("invalid address: 0xdead\n")
			},
		})
		commands.Register(&commands.Command{
			Name: "zz-panic", Summary: "panic", NoProgram: true,
			Run: func(env *commands.Env, args []string) error {
				var m map[string]int
				m["x"] = 1 // nil map write
				return nil
			},
		})
		commands.Register(&commands.Command{
			Name: "zz-lots", Summary: "write lots", NoProgram: true,
			Run: func(env *commands.Env, args []string) error {
				lotsWritten = 0
				for i := 0; i < lotsLines; i++ {
					fmt.Fprintf(env.Out, "line %d of a long output\n", i)
					lotsWritten++
				}
				return nil
			},
		})
		commands.Register(&commands.Command{
			Name: "zz-warn", Summary: "warn in the middle", NoProgram: true,
			Run: func(env *commands.Env, args []string) error {
				fmt.Fprintf(env.Out, "before\n")
				fmt.Fprintf(env.Err, "WARNING: careful\n")
				fmt.Fprintf(env.Out, "after\n")
				return nil
			},
		})
		commands.Register(&commands.Command{
			Name: "zz-quoted", Summary: "keeps single quotes", NoProgram: true, KeepQuotes: true,
			Run: func(env *commands.Env, args []string) error {
				fmt.Fprintf(env.Out, "%s\n", strings.Join(args, "|"))
				return nil
			},
		})
		commands.Register(&commands.Command{
			Name: "zz-needsdump", Summary: "needs a program",
			Run: func(env *commands.Env, args []string) error { return nil },
		})
	})
}

func newTestSession() (*Session, *bytes.Buffer, *bytes.Buffer) {
	registerFakes()
	var out, errb bytes.Buffer
	s := NewSession(nil, strings.NewReader(""), &out, &errb)
	return s, &out, &errb
}

// A KeepQuotes command (ps, foreach) gets crash's 'regex' words with
// their quotes; double quotes still group and go.
func TestRunLineKeepQuotes(t *testing.T) {
	s, out, _ := newTestSession()
	if err := s.RunLine(`zz-quoted 'a.*' "b c" d | cat`); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "'a.*'|b c|d\n" {
		t.Errorf("out = %q", got)
	}
}

func TestRunLineOK(t *testing.T) {
	s, out, errb := newTestSession()
	if err := s.RunLine("zz-ok a 'b c'"); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "ok a,b c\n" {
		t.Errorf("out = %q", got)
	}
	if errb.Len() != 0 || s.Failures() != 0 {
		t.Errorf("err = %q, failures = %d", errb.String(), s.Failures())
	}
}

func TestRunLineFailure(t *testing.T) {
	s, out, errb := newTestSession()
	err := s.RunLine("zz-f")
	var ce *CommandError
	if !errors.As(err, &ce) || ce.Cmd != "zz-fail" {
		t.Fatalf("err = %#v", err)
	}
	if got := errb.String(); got != "zz-fail: invalid address: 0xdead\n" {
		t.Errorf("stderr = %q", got)
	}
	if out.String() != "partial\n" {
		t.Errorf("stdout = %q", out.String())
	}
	if s.Failures() != 1 {
		t.Errorf("failures = %d", s.Failures())
	}
}

func TestRunLineUnknown(t *testing.T) {
	s, _, errb := newTestSession()
	if err := s.RunLine("nosuchcmd x"); err == nil {
		t.Fatal("no error")
	}
	if got := errb.String(); got != "kdive: command not found: nosuchcmd\n" {
		t.Errorf("stderr = %q", got)
	}
}

func TestRunLinePanic(t *testing.T) {
	s, _, errb := newTestSession()
	err := s.RunLine("zz-panic")
	var pe *PanicError
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v", err)
	}
	got := errb.String()
	if strings.Count(got, "\n") != 1 || !strings.HasPrefix(got, "zz-panic: panic: ") ||
		!strings.Contains(got, "nil map") {
		t.Errorf("stderr = %q", got)
	}
}

func TestNeedsProgram(t *testing.T) {
	s, _, errb := newTestSession()
	if err := s.RunLine("zz-needsdump"); err == nil {
		t.Fatal("no error")
	}
	if got := errb.String(); got != "zz-needsdump: no dump file is open\n" {
		t.Errorf("stderr = %q", got)
	}
}

func TestWarningOrder(t *testing.T) {
	registerFakes()
	var both bytes.Buffer
	s := NewSession(nil, nil, &both, &both)
	s.RunLine("zz-warn")
	if got := both.String(); got != "before\nWARNING: careful\nafter\n" {
		t.Errorf("output = %q", got)
	}
}

func TestScriptContinuesAfterFailures(t *testing.T) {
	s, out, errb := newTestSession()
	script := `# a comment
zz-ok 1

// another comment
zz-fail
zz-panic
nosuchcmd
zz-ok 2
`
	if err := s.RunScript(strings.NewReader(script)); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "ok 1\npartial\nok 2\n" {
		t.Errorf("stdout = %q", got)
	}
	if s.Failures() != 3 {
		t.Errorf("failures = %d, stderr %q", s.Failures(), errb.String())
	}
	lines := strings.Split(strings.TrimSpace(errb.String()), "\n")
	if len(lines) != 3 {
		t.Errorf("stderr lines = %q", lines)
	}
}

func TestScriptQuit(t *testing.T) {
	for _, q := range []string{"q", "quit", "exit", "  q  "} {
		s, out, _ := newTestSession()
		err := s.RunScript(strings.NewReader("zz-ok 1\n" + q + "\nzz-ok 2\n"))
		if !errors.Is(err, ErrQuit) {
			t.Errorf("%q: err = %v", q, err)
		}
		if out.String() != "ok 1\n" {
			t.Errorf("%q: stdout = %q", q, out.String())
		}
	}
}

func TestScriptNoTrailingNewline(t *testing.T) {
	s, out, _ := newTestSession()
	s.RunScript(strings.NewReader("zz-ok 1\nzz-ok 2"))
	if out.String() != "ok 1\nok 2\n" {
		t.Errorf("stdout = %q", out.String())
	}
}

func TestEcho(t *testing.T) {
	s, out, _ := newTestSession()
	s.Echo = true
	s.RunScript(strings.NewReader("# c\nzz-ok 1\n\n"))
	if got := out.String(); got != "kdive> zz-ok 1\nok 1\n" {
		t.Errorf("stdout = %q", got)
	}
}

func TestRunCommands(t *testing.T) {
	s, out, _ := newTestSession()
	err := s.RunCommands([]string{"zz-ok a", "zz-fail", "zz-ok b", "q", "zz-ok c"})
	if !errors.Is(err, ErrQuit) {
		t.Errorf("err = %v", err)
	}
	if out.String() != "ok a\npartial\nok b\n" || s.Failures() != 1 {
		t.Errorf("stdout = %q, failures %d", out.String(), s.Failures())
	}
}

func TestRedirect(t *testing.T) {
	s, out, _ := newTestSession()
	dir := t.TempDir()
	f := filepath.Join(dir, "out.txt")
	if err := s.RunLine("zz-ok 1 > " + f); err != nil {
		t.Fatal(err)
	}
	if err := s.RunLine("zz-ok 2 >> " + f); err != nil {
		t.Fatal(err)
	}
	if err := s.RunLine(`zz-ok "a > b" >>` + f); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(f)
	if string(b) != "ok 1\nok 2\nok a > b\n" {
		t.Errorf("file = %q", b)
	}
	if err := s.RunLine("zz-ok 3 > " + f); err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(f)
	if string(b) != "ok 3\n" {
		t.Errorf("file after > = %q", b)
	}
	if out.Len() != 0 {
		t.Errorf("stdout = %q", out.String())
	}
}

func TestRedirectUnwritable(t *testing.T) {
	s, _, errb := newTestSession()
	err := s.RunLine("zz-ok > /nonexistent-dir/x")
	if err == nil || s.Failures() != 1 {
		t.Fatalf("err = %v, failures %d", err, s.Failures())
	}
	if got := errb.String(); !strings.HasPrefix(got, "kdive: unable to open /nonexistent-dir/x") {
		t.Errorf("stderr = %q", got)
	}
}

func TestPipe(t *testing.T) {
	s, out, errb := newTestSession()
	if err := s.RunLine("zz-args x 'y|z' w | grep -v w | tr a-z A-Z"); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "[X]\n[Y|Z]\n" {
		t.Errorf("stdout = %q, stderr %q", got, errb.String())
	}
	// grep finding nothing exits 1: not a kdive failure.
	out.Reset()
	if err := s.RunLine("zz-ok | grep nomatch"); err != nil || s.Failures() != 0 {
		t.Errorf("err = %v, failures %d", err, s.Failures())
	}
}

func TestPipeClosedEarly(t *testing.T) {
	s, out, errb := newTestSession()
	if err := s.RunLine("zz-lots | head -1"); err != nil {
		t.Fatalf("err = %v", err)
	}
	if got := out.String(); got != "line 0 of a long output\n" {
		t.Errorf("stdout = %q", got)
	}
	if errb.Len() != 0 || s.Failures() != 0 {
		t.Errorf("stderr = %q, failures %d", errb.String(), s.Failures())
	}
	if lotsWritten >= lotsLines {
		t.Errorf("the command was not stopped when the pipe closed (%d lines written)", lotsWritten)
	}
	// The session goes on.
	out.Reset()
	if err := s.RunLine("zz-ok after"); err != nil || out.String() != "ok after\n" {
		t.Errorf("after: err = %v, stdout %q", err, out.String())
	}
}

func TestShellCommand(t *testing.T) {
	s, out, _ := newTestSession()
	if err := s.RunLine("!echo hello | tr h H"); err != nil {
		t.Fatal(err)
	}
	if err := s.RunLine("!exit 3"); err != nil {
		t.Errorf("a shell's exit status is not a failure: %v", err)
	}
	if out.String() != "Hello\n" {
		t.Errorf("stdout = %q", out.String())
	}
}

func TestLineErrors(t *testing.T) {
	s, _, errb := newTestSession()
	s.RunLine("zz-ok |")
	s.RunLine("zz-ok >")
	want := "kdive: no shell command after '|'\nkdive: no file name after >\n"
	if errb.String() != want || s.Failures() != 2 {
		t.Errorf("stderr = %q, failures %d", errb.String(), s.Failures())
	}
}

func TestInputFile(t *testing.T) {
	s, out, errb := newTestSession()
	dir := t.TempDir()
	in := filepath.Join(dir, "cmds")
	os.WriteFile(in, []byte("zz-ok 1\n# c\nzz-fail\nzz-ok 2\n"), 0o644)
	s.RunLine("< " + in)
	if out.String() != "ok 1\npartial\nok 2\n" || s.Failures() != 1 {
		t.Errorf("stdout = %q, failures %d", out.String(), s.Failures())
	}
	// "<file" without a blank, with the output redirected.
	f := filepath.Join(dir, "out")
	out.Reset()
	s.RunLine("<" + in + " > " + f)
	b, _ := os.ReadFile(f)
	if string(b) != "ok 1\npartial\nok 2\n" || out.Len() != 0 {
		t.Errorf("file = %q, stdout %q", b, out.String())
	}
	// Nesting is refused, as crash does.
	nest := filepath.Join(dir, "nest")
	os.WriteFile(nest, []byte("< "+in+"\n"), 0o644)
	errb.Reset()
	s.RunLine("< " + nest)
	if errb.String() != "kdive: embedded input files not allowed!\n" {
		t.Errorf("stderr = %q", errb.String())
	}
	errb.Reset()
	s.RunLine("<")
	s.RunLine("< /nonexistent")
	if errb.String() != "kdive: no input file entered!\nkdive: /nonexistent: No such file or directory\n" {
		t.Errorf("stderr = %q", errb.String())
	}
}

func TestHelp(t *testing.T) {
	s, out, _ := newTestSession()
	if err := s.RunLine("help"); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{"help", "zz-ok", "exit", "kdive version:", `enter "help <command>"`} {
		if !strings.Contains(got, want) {
			t.Errorf("help list lacks %q:\n%s", want, got)
		}
	}
	// q is listed last, as in crash.
	lines := strings.Split(strings.TrimSpace(got), "\n")
	if !strings.Contains(got, "q") {
		t.Error("no q")
	}
	_ = lines
	out.Reset()
	s.RunLine("help zz-fail")
	if got := out.String(); !strings.Contains(got, "NAME\n  zz-fail - fail") || !strings.Contains(got, "SYNOPSIS") {
		t.Errorf("help zz-fail:\n%s", got)
	}
	out.Reset()
	s.RunLine("help nosuch")
	if got := out.String(); got != "No help data for \"nosuch\" is available.\n" {
		t.Errorf("help nosuch: %q", got)
	}
}

func TestLiveOutput(t *testing.T) {
	registerFakes()
	var out bytes.Buffer
	var seen string
	commands.Register(&commands.Command{
		Name: "zz-live", NoProgram: true,
		Run: func(env *commands.Env, args []string) error {
			fmt.Fprintf(env.Out, "a\n")
			time.Sleep(2 * liveFlushEvery)
			fmt.Fprintf(env.Out, "b\n")
			seen = out.String()
			return nil
		},
	})
	s := NewSession(nil, nil, &out, &out)
	s.LiveOutput = true
	s.RunLine("zz-live")
	if seen != "a\nb\n" {
		t.Errorf("output seen while the command ran = %q", seen)
	}
	// Without LiveOutput, everything comes at the end.
	out.Reset()
	s.LiveOutput = false
	s.RunLine("zz-live")
	if seen != "" || out.String() != "a\nb\n" {
		t.Errorf("buffered: seen %q, out %q", seen, out.String())
	}
}

// "cmd/fmt args" is "cmd /fmt args", as gdb's p/x is p /x.
func TestRunLineFormatSuffix(t *testing.T) {
	s, out, errb := newTestSession()
	if err := s.RunLine("zz-args/x jiffies"); err != nil {
		t.Fatalf("err = %v (%q)", err, errb.String())
	}
	if got := out.String(); got != "[/x]\n[jiffies]\n" {
		t.Errorf("stdout = %q", got)
	}
	if err := s.RunLine("nosuchcmd/x 1"); err == nil {
		t.Fatal("unknown command with a suffix accepted")
	}
}

// A command that printed its own error in crash's words fails without a
// second line on stderr.
func TestRunLineErrShown(t *testing.T) {
	registerFakes()
	commands.Register(&commands.Command{Name: "zz-shown", NoProgram: true,
		Run: func(env *commands.Env, args []string) error {
			fmt.Fprintln(env.Out, "symbol not found: x")
			return commands.ErrShown
		}})
	s, out, errb := newTestSession()
	if err := s.RunLine("zz-shown"); err == nil {
		t.Fatal("no error")
	}
	if errb.Len() != 0 || out.String() != "symbol not found: x\n" || s.Failures() != 1 {
		t.Fatalf("stderr %q stdout %q failures %d", errb.String(), out.String(), s.Failures())
	}
}
