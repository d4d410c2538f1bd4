//go:build linux

package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"kdive/internal/commands"
	"kdive/internal/program"
)

// TestMain lets the test binary stand in for kdive with a fake program
// (and the fake commands) when KDIVE_TEST_MAIN=1, so that the interactive
// test can run it on a pseudo-terminal.
func TestMain(m *testing.M) {
	if os.Getenv("KDIVE_TEST_MAIN") == "1" {
		registerFakes()
		commands.Register(&commands.Command{
			Name: "zzslow", Summary: "slow, endless output",
			Run: func(env *commands.Env, args []string) error {
				for i := 0; ; i++ {
					fmt.Fprintf(env.Out, "slow %d\n", i)
					time.Sleep(time.Millisecond)
				}
			},
		})
		classify = fakeClassify
		openProgram = func(string, string, program.OpenOptions) (*program.Program, error) {
			return &program.Program{}, nil
		}
		os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func openPty(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	fd := int(m.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Skipf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Skipf("ptsname: %v", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("open pts: %v", err)
	}
	unix.IoctlSetWinsize(int(s.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 40, Col: 120})
	return m, s
}

// term is kdive running on a pseudo-terminal.
type term struct {
	t      *testing.T
	master *os.File
	cmd    *exec.Cmd
	mu     sync.Mutex
	buf    bytes.Buffer
	seen   int // expect looks after this offset
	done   chan struct{}
}

func startTerm(t *testing.T, home string, args ...string) *term {
	t.Helper()
	master, slave := openPty(t)
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "KDIVE_TEST_MAIN=1", "HOME="+home, "TERM=xterm")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	tm := &term{t: t, master: master, cmd: cmd, done: make(chan struct{})}
	go func() {
		b := make([]byte, 4096)
		for {
			n, err := master.Read(b)
			tm.mu.Lock()
			tm.buf.Write(b[:n])
			tm.mu.Unlock()
			if err != nil {
				close(tm.done)
				return
			}
		}
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		master.Close()
	})
	return tm
}

func (tm *term) send(s string) {
	tm.t.Helper()
	if _, err := tm.master.Write([]byte(s)); err != nil {
		tm.t.Fatal(err)
	}
}

// expect waits for s to appear in the output after what earlier expects saw.
func (tm *term) expect(s string) {
	tm.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		tm.mu.Lock()
		out := tm.buf.String()
		tm.mu.Unlock()
		if i := strings.Index(out[tm.seen:], s); i >= 0 {
			tm.seen += i + len(s)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	tm.mu.Lock()
	defer tm.mu.Unlock()
	tm.t.Fatalf("no %q in the output:\n%q", s, tm.buf.String()[tm.seen:])
}

func (tm *term) wait() int {
	tm.t.Helper()
	errc := make(chan error, 1)
	go func() { errc <- tm.cmd.Wait() }()
	select {
	case err := <-errc:
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		if err != nil {
			tm.t.Fatal(err)
		}
		return 0
	case <-time.After(10 * time.Second):
		tm.t.Fatal("kdive did not exit")
		return -1
	}
}

func TestInteractive(t *testing.T) {
	if testing.Short() {
		t.Skip("runs kdive on a pseudo-terminal")
	}
	_, _, dump := fixture(t)
	home := t.TempDir()
	tm := startTerm(t, home, "-s", dump)

	tm.expect("kdive> ")
	tm.send("zzok a\r")
	tm.expect("ok a")
	tm.expect("kdive> ")

	// A pipe and a failing command.
	tm.send("zzok b | tr a-z A-Z\r")
	tm.expect("OK B")
	tm.send("nosuch\r")
	tm.expect("kdive: command not found: nosuch")

	// Ctrl-C at the prompt cancels the line.
	tm.send("zzok never")
	tm.send("\x03")
	tm.expect("^C")
	tm.expect("kdive> ")

	// Ctrl-C while a command runs stops it; the session goes on.
	tm.send("zzslow\r")
	tm.expect("slow 10\r\n")
	tm.send("\x03")
	tm.expect("zzslow: interrupted")
	tm.expect("kdive> ")
	tm.send("zzok after\r")
	tm.expect("ok after")

	// A shell escape gets the terminal: the line editor does not steal its input.
	tm.send("!\r")
	time.Sleep(300 * time.Millisecond)
	tm.send("echo from-$((20+22))\r")
	tm.expect("from-42")
	tm.send("exit\r")
	tm.expect("kdive> ")

	// History: "h" lists, "r N" repeats.
	tm.send("h\r")
	tm.expect("[1] zzok a")
	tm.send("r 1\r")
	tm.expect("kdive> zzok a")
	tm.expect("ok a")

	// Completion of command names.
	tm.send("zzo\t x\r")
	tm.expect("ok x")

	tm.send("quit\r")
	if code := tm.wait(); code != 0 {
		t.Errorf("exit status %d", code)
	}
	hist, err := os.ReadFile(filepath.Join(home, ".kdive_history"))
	if err != nil || !strings.Contains(string(hist), "zzok b | tr a-z A-Z\n") {
		t.Errorf("history file: %q, %v", hist, err)
	}
}

func TestInteractiveEOF(t *testing.T) {
	if testing.Short() {
		t.Skip("runs kdive on a pseudo-terminal")
	}
	_, _, dump := fixture(t)
	tm := startTerm(t, t.TempDir(), "-s", dump)
	tm.expect("kdive> ")
	tm.send("zzfail\r")
	tm.expect("zzfail: it failed")
	tm.expect("kdive> ")
	tm.send("\x04") // Ctrl-D
	if code := tm.wait(); code != 0 {
		t.Errorf("exit status %d", code)
	}
}
