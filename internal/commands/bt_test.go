package commands

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"kdive/internal/program"
	"kdive/internal/testcorpus"
)

func runBtOn(t *testing.T, p *program.Program, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	if err := Lookup("bt").Run(&Env{Prog: p, Out: &out, Err: &errb}, args); err != nil {
		t.Fatalf("bt %v: %v", args, err)
	}
	return out.String()
}

// refBt is the `bt` block of crash's reference session.
func refBt(t *testing.T, shared string) []string {
	b, err := os.ReadFile(filepath.Join(shared, "..", "..", "reference", "crash-8.0.2-sysrq.txt"))
	if err != nil {
		t.Skip(err)
	}
	s := string(b)
	i := strings.Index(s, "crash> bt\n")
	if i < 0 {
		t.Fatal("no bt in reference")
	}
	var out []string
	for _, l := range strings.Split(s[i:], "\n")[1:] {
		if strings.HasPrefix(l, "crash>") {
			break
		}
		out = append(out, l)
	}
	return out
}

var frameRe = regexp.MustCompile(`^ *#(\d+) (\[[0-9a-f]+\] .*)$`)

// On the shared zstd/snappy dump kdive's bt is crash's, line for line,
// without the four stale frames crash 8.0.2 shows between do_syscall_64 and
// entry_SYSCALL_64_after_hwframe (return addresses left on the stack by
// earlier system calls and page faults: the console's Call Trace marks them
// "?" and neither the kernel's unwinder nor drgn walks through them).
func TestBtSharedMatchesCrash(t *testing.T) {
	dir := testcorpus.Shared(t)
	ref := refBt(t, dir)
	stale := map[string]bool{"__handle_mm_fault": true, "handle_mm_fault": true, "do_user_addr_fault": true, "exit_to_user_mode_prepare": true}
	var want []string
	n := 0
	for _, l := range ref {
		if m := frameRe.FindStringSubmatch(l); m != nil {
			f := strings.Fields(m[2])
			if stale[f[1]] {
				continue
			}
			l = strings.Repeat(" ", max(0, 2-len(strconv.Itoa(n)))) + "#" + strconv.Itoa(n) + " " + m[2]
			n++
		}
		want = append(want, l)
	}
	for len(want) > 0 && want[len(want)-1] == "" {
		want = want[:len(want)-1]
	}
	for _, f := range []string{"vmcore.zstd", "vmcore.snappy"} {
		t.Run(f, func(t *testing.T) {
			p, err := program.Open("", filepath.Join(dir, f), program.OpenOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			var got []string
			for _, l := range strings.Split(strings.TrimSuffix(runBtOn(t, p), "\n"), "\n") {
				if strings.Contains(l, " (inlined) at ") {
					continue // kdive's inlined frames (with a vmlinux) are not crash's
				}
				got = append(got, l)
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

func truthPanicPID(t *testing.T, sc string) string {
	b, err := os.ReadFile(testcorpus.File(t, sc, testcorpus.TruthFile))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^TRUTH panic_pid (\d+)$`).FindSubmatch(b)
	if m == nil {
		t.Fatal("no panic_pid in truth")
	}
	return string(m[1])
}

// The options on a real Oops dump: the default task is the panic task (the
// truth's panic_pid), by PID, by task address and by CPU it is the same
// trace; -a shows each CPU; -s/-sx add offsets; -f the stack words; -t the
// text addresses; -l says line numbers need DWARF; an unknown PID is
// crash's error.
func TestBtOptionsCorpus(t *testing.T) {
	sc := "oops-proc"
	p, err := program.Open(testcorpus.Vmlinux(t), testcorpus.File(t, sc, testcorpus.KdumpELF), program.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	def := runBtOn(t, p)
	pid := truthPanicPID(t, sc)
	hdr := regexp.MustCompile(`^PID: (\d+) +TASK: ([0-9a-f]+)  CPU: (\d+) +COMMAND: "([^"]*)"\n`).FindStringSubmatch(def)
	if hdr == nil || hdr[1] != pid {
		t.Fatalf("header %q, want PID %s", strings.SplitN(def, "\n", 2)[0], pid)
	}
	for _, args := range [][]string{{pid}, {hdr[2]}, {"-c", hdr[3]}} {
		if got := runBtOn(t, p, args...); got != def {
			t.Errorf("bt %v differs from bt:\n%s", args, got)
		}
	}
	for _, want := range []string{
		" #0 [", "] machine_kexec at ", "    [exception RIP: kdive_rig_null_deref+12]\n",
		"] kdive_rig_write at ", " [kdive_rig]\n", "] entry_SYSCALL_64_after_hwframe at ",
		"    ORIG_RAX: ffffffffffffffff  CS: 0010  SS: 0018\n", "    ORIG_RAX: 0000000000000001  CS: 0033  SS: 002b\n",
	} {
		if !strings.Contains(def, want) {
			t.Errorf("bt lacks %q:\n%s", want, def)
		}
	}
	if strings.Contains(def, "bt: ") {
		t.Errorf("bt reports a problem:\n%s", def)
	}
	all := runBtOn(t, p, "-a")
	if c := strings.Count(all, "PID: "); c != 2 || !strings.Contains(all, def) || !strings.Contains(all, "--- <NMI exception stack> ---\n") {
		t.Errorf("bt -a (%d tasks):\n%s", c, all)
	}
	if r := runBtOn(t, p, "-a", "-R", "kdive_rig_write"); r != def+"\n" {
		t.Errorf("bt -a -R kdive_rig_write:\n%s", r)
	}
	if r := runBtOn(t, p, "-a", "-R", "no_such_function"); r != "" {
		t.Errorf("bt -a -R no_such_function:\n%s", r)
	}
	if r := runBtOn(t, p, "-p"); r != def {
		t.Errorf("bt -p:\n%s", r)
	}
	if s := runBtOn(t, p, "-s"); !strings.Contains(s, "] machine_kexec+447 at ") {
		t.Errorf("bt -s:\n%s", s)
	}
	if s := runBtOn(t, p, "-sx"); !strings.Contains(s, "] machine_kexec+0x1bf at ") || !strings.Contains(s, "[exception RIP: kdive_rig_null_deref+12]") {
		t.Errorf("bt -sx:\n%s", s)
	}
	f := runBtOn(t, p, "-f")
	if !regexp.MustCompile(`(?m)^    [0-9a-f]{16}: [0-9a-f]{16} [0-9a-f]{16} $`).MatchString(f) || len(f) < 2*len(def) {
		t.Errorf("bt -f:\n%s", f)
	}
	tt := runBtOn(t, p, "-t")
	if !strings.Contains(tt, "              START: machine_kexec at ") || !strings.Contains(tt, "] kdive_rig_null_deref at ") {
		t.Errorf("bt -t:\n%s", tt)
	}
	if tt := runBtOn(t, p, "-T"); strings.Contains(tt, "START:") || !strings.Contains(tt, "] machine_kexec at ") || len(tt) < len(runBtOn(t, p, "-t")) {
		t.Errorf("bt -T:\n%s", tt)
	}
	// CPU 0 was idle, interrupted by the crash NMI: -t shows the NMI
	// stack, the exception frame, then the task stack; -T the task stack.
	if tt := runBtOn(t, p, "-t", "-c", "0"); !regexp.MustCompile(`\] end_repeat_nmi at [0-9a-f]+\n    \[exception RIP: native_safe_halt\+11\]\n(?s:.*)--- <NMI exception stack> ---\n  \[[0-9a-f]+\] native_safe_halt at `).MatchString(tt) {
		t.Errorf("bt -t -c 0:\n%s", tt)
	}
	if tt := runBtOn(t, p, "-T", "-c", "0"); strings.Contains(tt, "crash_nmi_callback") || !strings.Contains(tt, "] do_idle at ") {
		t.Errorf("bt -T -c 0:\n%s", tt)
	}
	// -S/-I: start at the exception frame's stack pointer: the trace is
	// the default one from kdive_rig_write on.
	m := regexp.MustCompile(`    RIP: ([0-9a-f]+)  RSP: ([0-9a-f]+)`).FindStringSubmatch(def)
	end := "] entry_SYSCALL_64_after_hwframe at "
	if s := runBtOn(t, p, "-S", m[2]); !strings.Contains(s, " #0 ["+m[2]+"] kdive_rig_write at ") || !strings.Contains(s, end) {
		t.Errorf("bt -S %s:\n%s", m[2], s)
	}
	if s := runBtOn(t, p, "-I", m[1], "-S", m[2]); !strings.Contains(s, " #0 ["+m[2]+"] kdive_rig_null_deref at "+m[1]+" [kdive_rig]\n #1 ["+m[2]+"] kdive_rig_write at ") || !strings.Contains(s, end) {
		t.Errorf("bt -I %s -S %s:\n%s", m[1], m[2], s)
	}
	if g := runBtOn(t, p, "-g", pid); g != def {
		t.Errorf("bt -g %s (single-threaded):\n%s", pid, g)
	}
	if l := runBtOn(t, p, "-l"); !strings.Contains(l, "/fs/read_write.c: ") {
		t.Errorf("bt -l:\n%s", l)
	}
	var out bytes.Buffer
	if err := Lookup("bt").Run(&Env{Prog: p, Out: &out, Err: &out}, []string{"99999"}); err == nil || err.Error() != "invalid task or pid value: 99999" {
		t.Errorf("bt 99999: %v", err)
	}
	// A sleeping user process: init, from its switch frame down to its
	// system call's user registers.
	init := runBtOn(t, p, "1")
	if !strings.Contains(init, "] __schedule at ") || !strings.Contains(init, "] entry_SYSCALL_64_after_hwframe at ") ||
		!strings.Contains(init, "CS: 0033  SS: 002b") || strings.Contains(init, "bt: ") {
		t.Errorf("bt 1:\n%s", init)
	}
}

// On a QEMU dump (no kdump) every vCPU starts from QEMU's registers: the
// panicking CPU in panic()'s delay loop, the other stopped by the reboot
// IPI on its IRQ stack above the interrupted idle loop.
func TestBtQEMUDump(t *testing.T) {
	p, err := program.Open(testcorpus.Vmlinux(t), testcorpus.File(t, "sysrq", testcorpus.QEMUELF), program.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	all := runBtOn(t, p, "-a")
	for _, want := range []string{
		"] delay_tsc at ", "] panic at ", "] sysrq_handle_crash at ", "] entry_SYSCALL_64_after_hwframe at ",
		"] stop_this_cpu at ", "] sysvec_reboot at ", "--- <IRQ stack> ---\n", "] asm_sysvec_reboot at ",
		"    [exception RIP: native_safe_halt+11]\n", "] secondary_startup_64_no_verify at ",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("bt -a lacks %q:\n%s", want, all)
		}
	}
	if strings.Count(all, "PID: ") != 2 || strings.Contains(all, "bt: ") {
		t.Errorf("bt -a:\n%s", all)
	}
}
