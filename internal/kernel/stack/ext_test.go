package stack_test

import (
	"testing"

	"kdive/internal/kernel/stack"
	"kdive/internal/kernel/tasks"
	"kdive/internal/program"
	"kdive/internal/testcorpus"
)

// TestExtAllTasksUnwind: on every ext dump (hung task, softirq Oops on the
// IRQ stack, threads asleep in many system calls, sockets, slab cases), with
// the vmlinux and without it, every task unwinds to its entry point
// without an error; on each dump the idle tasks, the kernel threads and the
// user tasks all show up by their entry points.
func TestExtAllTasksUnwind(t *testing.T) {
	testcorpus.ExtDir(t)
	vmlinux := testcorpus.ExtVmlinux(t)
	for _, sc := range testcorpus.ExtScenarios() {
		for _, c := range []struct{ name, vml, format string }{
			{"elf", vmlinux, testcorpus.KdumpELF},
			{"lzo-no-vmlinux", "", testcorpus.KdumpLZO},
		} {
			t.Run(sc+"/"+c.name, func(t *testing.T) {
				p, err := program.Open(c.vml, testcorpus.ExtFile(t, sc, c.format), program.OpenOptions{})
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
				if entries["ret_from_fork"] < 20 || entries["entry_SYSCALL_64_after_hwframe"] < 2 || entries["secondary_startup_64_no_verify"] < 1 {
					t.Errorf("entry points %v", entries)
				}
			})
		}
	}
}
