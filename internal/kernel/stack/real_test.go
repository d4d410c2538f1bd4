package stack_test

import (
	"bufio"
	"encoding/binary"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"kdive/internal/kernel/stack"
	"kdive/internal/kernel/tasks"
	"kdive/internal/program"
	"kdive/internal/testcorpus"
)

// consoleTrace is what the crashed kernel printed for the crash: the
// function of the Oops' kernel RIP line ("" for a plain panic) and the
// functions of its first Call Trace, without the "?" lines (stale words the
// kernel's unwinder saw on the stack, not frames).
func consoleTrace(t *testing.T, path string) (rip string, calls []string) {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ts := regexp.MustCompile(`^\[ *[0-9.]+\] `)
	ripRe := regexp.MustCompile(`^RIP: 0010:([A-Za-z0-9_.]+)\+`)
	fnRe := regexp.MustCompile(`^ ([A-Za-z0-9_.]+)\+0x[0-9a-f]+/0x[0-9a-f]+`)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	in := false
	for sc.Scan() {
		l := ts.ReplaceAllString(sc.Text(), "")
		if !in {
			if m := ripRe.FindStringSubmatch(l); m != nil && rip == "" {
				rip = m[1]
			}
			if strings.HasPrefix(l, "Call Trace:") {
				in = true
			}
			continue
		}
		if strings.Contains(l, "</TASK>") || strings.HasPrefix(l, "RIP: ") {
			break
		}
		if m := fnRe.FindStringSubmatch(l); m != nil {
			calls = append(calls, m[1])
		}
	}
	if len(calls) == 0 {
		t.Fatalf("%s: no Call Trace", path)
	}
	return rip, calls
}

func names(p *program.Program, tr *stack.Trace) []string {
	var out []string
	for _, f := range tr.Frames {
		s, _, ok := p.SymbolAt(f.LookupIP())
		if !ok {
			out = append(out, "?")
			continue
		}
		out = append(out, s.Name)
	}
	return out
}

// The frames the dump shows before the console's trace, by how the dump was
// taken and how the kernel died. They are the kernel's own code path from
// the crash to the moment the dump froze the CPU:
//
//   - kdump, panic(): panic called dump_stack_lvl (the console trace's first
//     line, returned since) and then __crash_kexec -> machine_kexec, which
//     never returned. So the dump's trace is machine_kexec, __crash_kexec,
//     then the console's trace from its second line (panic) on.
//   - kdump, Oops (page fault, BUG): the exception entry called the
//     handler, which went through oops_end -> crash_kexec -> __crash_kexec
//     -> machine_kexec; the exception frame's RIP is the console's "RIP:"
//     function and then the console's Call Trace follows in full.
//   - QEMU dump (no kdump): the panicking CPU was spinning in panic()'s
//     final delay loop when QEMU stopped it; after the Oops path above,
//     oops_end called panic (from oops_end's .cold part).
var prefixes = map[string][]string{
	"kdump/sysrq":     {"machine_kexec", "__crash_kexec"},
	"kdump/oops-proc": {"machine_kexec", "__crash_kexec", "crash_kexec", "oops_end", "page_fault_oops", "exc_page_fault", "asm_exc_page_fault"},
	"kdump/oops-wq":   {"machine_kexec", "__crash_kexec", "crash_kexec", "oops_end", "page_fault_oops", "exc_page_fault", "asm_exc_page_fault"},
	"kdump/bugon":     {"machine_kexec", "__crash_kexec", "crash_kexec", "oops_end", "do_trap", "do_error_trap", "exc_invalid_op", "asm_exc_invalid_op"},
	"qemu/sysrq":      {"delay_tsc"},
	"qemu/oops-proc":  {"delay_tsc", "panic", "oops_end.cold", "page_fault_oops", "exc_page_fault", "asm_exc_page_fault"},
	"qemu/oops-wq":    {"delay_tsc", "panic", "oops_end.cold", "page_fault_oops", "exc_page_fault", "asm_exc_page_fault"},
	"qemu/bugon":      {"delay_tsc", "panic", "oops_end.cold", "do_trap", "do_error_trap", "exc_invalid_op", "asm_exc_invalid_op"},
}

// TestPanicTraceMatchesConsole: for every scenario and dump format, with and
// without the vmlinux, the panic task's trace is the console's trace behind
// the documented prefix (see prefixes), and ends where the console's does.
func TestPanicTraceMatchesConsole(t *testing.T) {
	dir := testcorpus.Dir(t)
	vmlinux := testcorpus.Vmlinux(t)
	for _, sc := range testcorpus.Scenarios() {
		for _, format := range testcorpus.Formats() {
			for _, vml := range []string{vmlinux, ""} {
				name := sc + "/" + format
				if vml == "" {
					name += "/no-vmlinux"
				}
				t.Run(name, func(t *testing.T) {
					if testing.Short() && format != testcorpus.KdumpELF {
						t.Skip("-short: ELF only")
					}
					kind, console := "kdump", testcorpus.Console
					if testcorpus.IsQEMU(format) {
						kind, console = "qemu", testcorpus.QEMUConsole
					}
					rip, calls := consoleTrace(t, filepath.Join(dir, sc, console))
					want := append([]string{}, prefixes[kind+"/"+sc]...)
					if rip != "" {
						want = append(append(want, rip), calls...)
					} else {
						if calls[0] != "dump_stack_lvl" {
							t.Fatalf("panic trace starts with %s, not dump_stack_lvl", calls[0])
						}
						want = append(want, calls[1:]...)
					}
					p, err := program.Open(vml, testcorpus.File(t, sc, format), program.OpenOptions{})
					if err != nil {
						t.Fatal(err)
					}
					defer p.Close()
					k, err := stack.For(p)
					if err != nil {
						t.Fatal(err)
					}
					task, cpu, ok := k.PanicTask()
					if !ok {
						t.Fatalf("no panic task (panic_cpu %d)", k.PanicCPU)
					}
					bt, err := k.Unwind(task)
					if err != nil {
						t.Fatal(err)
					}
					got := names(p, bt.Trace)
					if strings.Join(got, " ") != strings.Join(want, " ") || bt.Err != nil {
						t.Errorf("CPU %d task %x (%s):\n got %v\nwant %v\nerr %v", cpu, task, bt.Start, got, want, bt.Err)
					}
				})
			}
		}
	}
}

// TestAllTasksUnwind: every task of a dump unwinds to its entry point
// (user-mode registers or an ORC end-of-stack hint) without an error.
func TestAllTasksUnwind(t *testing.T) {
	vmlinux := testcorpus.Vmlinux(t)
	for _, sc := range testcorpus.Scenarios() {
		for _, format := range []string{testcorpus.KdumpELF, testcorpus.QEMUELF, testcorpus.KdumpLZO + "/no-vmlinux"} {
			t.Run(sc+"/"+format, func(t *testing.T) {
				if testing.Short() && sc != "sysrq" {
					t.Skip("-short: sysrq only")
				}
				vml := vmlinux
				if f, ok := strings.CutSuffix(format, "/no-vmlinux"); ok {
					format, vml = f, ""
				}
				entries := unwindAllTasks(t, vml, testcorpus.File(t, sc, format))
				t.Logf("entry points %v", entries)
			})
		}
	}
}

// unwindAllTasks opens dump (with vmlinux, or "" for none) and unwinds
// every task, failing the test for a task whose trace has an error or does
// not end at an entry point (ret_from_fork, the system call entry, the
// idle tasks' secondary_startup_64_no_verify); it returns how many traces
// end at each.
func unwindAllTasks(t *testing.T, vmlinux, dump string) map[string]int {
	t.Helper()
	p, err := program.Open(vmlinux, dump, program.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	k, err := stack.For(p)
	if err != nil {
		t.Fatal(err)
	}
	tl, err := tasks.List(p, tasks.Options{})
	if err != nil {
		t.Fatal(err)
	}
	entries := map[string]int{}
	for _, task := range tl.Tasks {
		bt, err := k.Unwind(task.Addr)
		if err != nil {
			t.Errorf("pid %d %s: %v", task.PID, task.Comm, err)
			continue
		}
		n := names(p, bt.Trace)
		if bt.Err != nil || len(n) == 0 {
			t.Errorf("pid %d %s (%s): %v %v", task.PID, task.Comm, bt.Start, n, bt.Err)
			continue
		}
		last := n[len(n)-1]
		switch last {
		case "ret_from_fork", "entry_SYSCALL_64_after_hwframe", "secondary_startup_64_no_verify":
		default:
			t.Errorf("pid %d %s: trace ends in %s: %v", task.PID, task.Comm, last, n)
		}
		entries[last]++
	}
	return entries
}

// TestGarbageStarts walks real stacks from wrong places: every word of a
// task's stack taken as a return address (most are not), and the stack
// pointer corrupted. Every walk ends, within MaxFrames, and one that ends
// early says why.
func TestGarbageStarts(t *testing.T) {
	p, err := program.Open(testcorpus.Vmlinux(t), testcorpus.File(t, "oops-proc", testcorpus.KdumpELF), program.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	k, err := stack.For(p)
	if err != nil {
		t.Fatal(err)
	}
	task, _, ok := k.PanicTask()
	if !ok {
		t.Fatal("no panic task")
	}
	st, err := k.Stacks(task)
	if err != nil {
		t.Fatal(err)
	}
	lo, hi := st[0].Lo, st[0].Hi
	buf := make([]byte, hi-lo)
	if _, err := p.ReadAt(buf, lo); err != nil {
		t.Fatal(err)
	}
	walks, stopped := 0, 0
	for off := 0; off+8 <= len(buf); off += 8 {
		v := binary.LittleEndian.Uint64(buf[off:])
		a := lo + uint64(off)
		for _, s := range []stack.State{
			{IP: v, SP: a + 8, Addr: a},                // the word as a return address
			{IP: v, SP: a + 8, BP: v, Signal: true},    // as an exact IP
			{IP: v, SP: v, BP: a, Signal: off%16 == 0}, // as a stack pointer
		} {
			tr, err := k.UnwindFrom(task, s)
			if err != nil {
				t.Fatal(err)
			}
			walks++
			if len(tr.Frames) > stack.MaxFrames {
				t.Fatalf("start %+v: %d frames", s, len(tr.Frames))
			}
			if tr.Err != nil {
				stopped++
				if tr.Err.Error() == "" {
					t.Fatalf("start %+v: empty message", s)
				}
			}
		}
	}
	t.Logf("%d walks from garbage, %d stopped with a reason", walks, stopped)
}
