package commands

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"kdive/internal/kernel/signal"
	"kdive/internal/testcorpus"
)

// sig (default context, pid, idle tasks, -g, -l, -s, a bad pid) and
// foreach sig [-g]: byte for byte crash 8.0.2's on the oops-proc dump,
// with the vmlinux and with the dump's BTF alone. crash's task list there
// is the idle tasks and pid 123, so its `foreach sig` is kdive's
// `foreach 0 123 sig`.
func TestSigGolden(t *testing.T) {
	cmds, outs := kmemGolden(t, "sig-oops-proc.golden")
	if len(cmds) < 13 {
		t.Fatalf("%d commands in the golden file", len(cmds))
	}
	for _, v := range []string{testcorpus.Vmlinux(t), ""} {
		name := map[bool]string{true: "vmlinux", false: "btf"}[v != ""]
		t.Run(name, func(t *testing.T) {
			p := kmemOpen(t, v, "oops-proc", testcorpus.KdumpLZO)
			for i, cmd := range cmds {
				f := strings.Fields(cmd)
				if f[0] == "foreach" {
					f = append([]string{"foreach", "0", "123"}, f[1:]...)
				}
				var out bytes.Buffer
				err := Lookup(f[0]).Run(&Env{Prog: p, Out: &out, Err: &out}, f[1:])
				if err != nil && err != ErrShown {
					t.Errorf("%s: %v", cmd, err)
				}
				if got := out.String(); got != outs[i] {
					t.Errorf("%s:\n%s", cmd, lineDiff(got, outs[i]))
				}
			}
			// The panic task's SIGCHLD handler is a user address with
			// SA_RESTORER: something the table must not lose.
			if !strings.Contains(outs[0], "(SA_RESTORER)") {
				t.Errorf("golden sig shows no handler:\n%s", outs[0])
			}
		})
	}
}

// On the ext corpus, with and without vmlinux: sig -g of a thread of the
// multi-threaded process shows its leader, NR_THREADS and every thread;
// sig of the TCP holder shows its pid and command.
func TestSigExtCorpus(t *testing.T) {
	testcorpus.ExtDir(t)
	t.Run("mthread", func(t *testing.T) {
		truth := testcorpus.ExtTruth(t, "mthread")
		tgid := first1(truth["mt_tgid"])
		threads := truth["mt_thread"]
		for name, p := range openExt(t, "mthread") {
			tid := strings.Fields(threads[len(threads)-1])[0]
			out := runCmd(t, p, "sig", "-g", tid)
			if !strings.HasPrefix(out, "PID: "+tgid+" ") || !strings.Contains(out, fmt.Sprintf("NR_THREADS: %d\n", len(threads))) {
				t.Errorf("%s: sig -g %s:\n%s", name, tid, out)
			}
			for _, th := range threads {
				f := strings.Fields(th) // tid comm wchan
				if !strings.Contains(out, "\n  PID: "+f[0]+" ") || !strings.Contains(out, `COMMAND: "`+f[1]+`"`) {
					t.Errorf("%s: sig -g %s lacks thread %s:\n%s", name, tid, th, out)
				}
			}
		}
	})
	t.Run("tcp", func(t *testing.T) {
		pid := first1(testcorpus.ExtTruth(t, "tcp")["tcp_pid"])
		for name, p := range openExt(t, "tcp") {
			out := runCmd(t, p, "sig", pid)
			if !strings.HasPrefix(out, "PID: "+pid+" ") || !strings.Contains(out, `COMMAND: "kdive-tcp"`) ||
				strings.Count(out, "\n") != 3+64+8+1 {
				t.Errorf("%s: sig %s:\n%s", name, pid, out)
			}
		}
	})
}

// Signal names: the real-time numbering crash and glibc use.
func TestSignalNames(t *testing.T) {
	for sig, want := range map[int]string{1: "SIGHUP", 6: "SIGABRT", 31: "SIGSYS", 32: "SIGRTMIN", 33: "SIGRTMIN+1",
		48: "SIGRTMIN+16", 49: "SIGRTMAX-15", 63: "SIGRTMAX-1", 64: "SIGRTMAX", 0: "", 65: ""} {
		if got, _ := signal.Name(sig); got != want {
			t.Errorf("Name(%d) = %q, want %q", sig, got, want)
		}
	}
}

// A queue is printed as crash's sigqueue_list lines; a walk error after
// the entries; the flags decoded in crash's order.
func TestSigPendingFormat(t *testing.T) {
	var b bytes.Buffer
	sigPending(&b, signal.Pending{Signal: 0x4200, Queue: []signal.Queued{{Signo: 10, Info: 0xffff888001000018}, {Signo: 15, Info: 0xffff888001000118}}}, "  ")
	want := "    SIGNAL: 0000000000004200\n" +
		"    SIGQUEUE:  SIG      SIGINFO     \n" +
		"              10  ffff888001000018\n" +
		"              15  ffff888001000118\n"
	if b.String() != want {
		t.Errorf("got\n%q\nwant\n%q", b.String(), want)
	}
	if got := saFlags(0x1c000004); got != "(SA_RESTORER|SA_SIGINFO|SA_ONSTACK|SA_RESTART)" {
		t.Errorf("saFlags: %s", got)
	}
	if got := saFlags(0x20); got != "" {
		t.Errorf("saFlags(0x20): %s", got)
	}
}
