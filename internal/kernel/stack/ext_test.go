package stack_test

import (
	"testing"

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
				entries := unwindAllTasks(t, c.vml, testcorpus.ExtFile(t, sc, c.format))
				if entries["ret_from_fork"] < 20 || entries["entry_SYSCALL_64_after_hwframe"] < 2 || entries["secondary_startup_64_no_verify"] < 1 {
					t.Errorf("entry points %v", entries)
				}
			})
		}
	}
}
