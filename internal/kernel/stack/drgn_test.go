package stack_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"kdive/internal/kernel/stack"
	"kdive/internal/program"
	"kdive/internal/testcorpus"
)

// TestAgainstDrgn compares every task's trace with drgn's (DWARF CFI based)
// on ELF dumps: the same program counters, frame for frame, for every task
// that was not running; for the tasks running at the crash drgn starts from
// the saved registers, so its trace must be a run of kdive's (kdive adds the
// kdump path or crash NMI before it, and drgn stops at a module without
// its debug info).
func TestAgainstDrgn(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: drgn takes ~10 s a dump")
	}
	drgn, err := exec.LookPath("drgn")
	if err != nil {
		t.Skip("drgn is not installed")
	}
	vmlinux := testcorpus.Vmlinux(t)
	script, _ := filepath.Abs("testdata/drgn_traces.py")
	for _, sc := range []string{"oops-proc", "sysrq"} {
		t.Run(sc, func(t *testing.T) {
			dump := testcorpus.File(t, sc, testcorpus.KdumpELF)
			out := filepath.Join(t.TempDir(), "drgn.txt")
			cmd := exec.Command(drgn, "-q", "-c", dump, "-s", vmlinux, script, out)
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Skipf("drgn failed: %v: %s", err, b)
			}
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			p, err := program.Open(vmlinux, dump, program.OpenOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			k, err := stack.For(p)
			if err != nil {
				t.Fatal(err)
			}
			same := 0
			lines := strings.Split(strings.TrimSpace(string(b)), "\n")
			for _, l := range lines {
				f := strings.Fields(l)
				task, _ := strconv.ParseUint(f[0], 16, 64)
				if len(f) > 1 && f[1] == "ERROR" {
					t.Logf("drgn cannot unwind %x: %s", task, l)
					continue
				}
				var want []uint64
				for _, s := range f[1:] {
					v, _ := strconv.ParseUint(s, 16, 64)
					if v >= 0xffff800000000000 { // kernel frames only
						want = append(want, v)
					}
				}
				bt, err := k.Unwind(task)
				if err != nil {
					t.Errorf("%x: %v", task, err)
					continue
				}
				var got []uint64
				for _, fr := range bt.Frames {
					got = append(got, fr.IP)
				}
				if bt.CPU >= 0 {
					// drgn's first frame is the saved RIP; where that was
					// taken mid-function (crash_setup_regs in __crash_kexec),
					// kdive shows the same function by its return address.
					if len(want) > 1 && !containsRun(got, want) {
						if i := runAt(got, want[1:]); i > 0 {
							s1, _, ok1 := p.SymbolAt(got[i-1] - 1)
							s2, _, ok2 := p.SymbolAt(want[0])
							if ok1 && ok2 && s1.Name == s2.Name {
								continue
							}
						}
					}
					if !containsRun(got, want) {
						t.Errorf("running task %x: drgn %x is not a run of kdive's %x", task, want, got)
					}
					continue
				}
				if !equal(got, want) {
					t.Errorf("task %x:\n kdive %x\n drgn  %x", task, got, want)
					continue
				}
				same++
			}
			t.Logf("%d tasks, %d sleeping ones identical to drgn", len(lines), same)
		})
	}
}

func equal(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func containsRun(a, b []uint64) bool { return runAt(a, b) >= 0 }

// runAt is the index at which b occurs as a run in a, or -1.
func runAt(a, b []uint64) int {
	for i := 0; i+len(b) <= len(a); i++ {
		if equal(a[i:i+len(b)], b) {
			return i
		}
	}
	return -1
}
