package commands

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"kdive/internal/kernel/mm"
	"kdive/internal/testcorpus"
)

func mmRun(t *testing.T, env *Env, name string, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	e := *env
	e.Out, e.Err = &out, &errb
	err := Lookup(name).Run(&e, args)
	return out.String(), err
}

// vm of the holder process (the panic task of oops-proc): crash's header
// and one line per VMA of the maple tree; a kernel thread's MM line is 0;
// with vmlinux and without (the dump's BTF).
func TestVmHolder(t *testing.T) {
	vml := testcorpus.Vmlinux(t)
	for _, v := range []string{vml, ""} {
		p := openProg(t, v, testcorpus.File(t, "oops-proc", testcorpus.KdumpLZO))
		env := &Env{Prog: p}
		pid := testcorpus.Truth(t, "oops-proc")["holder_pid"][0]
		out, err := mmRun(t, env, "vm", pid)
		if err != nil {
			t.Fatal(err)
		}
		def, err := mmRun(t, env, "vm")
		if err != nil || def != out {
			t.Errorf("vm (current context = panic task = holder) differs from vm %s: %v\n%s", pid, err, def)
		}
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if len(lines) < 5 || !strings.HasPrefix(lines[0], "PID: "+pid+" ") ||
			lines[1] != "       MM               PGD          RSS    TOTAL_VM" ||
			lines[3] != "      VMA            START        END     FLAGS  FILE" {
			t.Fatalf("vm %s:\n%s", pid, out)
		}
		// The mm line: the task's mm and pgd, total_vm 2260k as crash prints it.
		f := strings.Fields(lines[2])
		var mmAddr uint64
		fmt.Sscanf(f[0], "%x", &mmAddr)
		as, err := mm.ReadAddressSpace(p, mmAddr, true)
		if err != nil {
			t.Fatal(err)
		}
		if f[1] != fmt.Sprintf("%x", as.PGD) || f[3] != fmt.Sprintf("%dk", as.TotalVM*4) {
			t.Errorf("mm line %q", lines[2])
		}
		if len(lines)-4 != int(as.MapCount) {
			t.Errorf("%d VMA lines, map_count %d", len(lines)-4, as.MapCount)
		}
		if want := "/bin/busybox"; !strings.HasSuffix(lines[4], " 8000071  "+want) {
			t.Errorf("first VMA %q", lines[4])
		}
		out, err = mmRun(t, env, "vm", "2")
		want := "       MM               PGD          RSS    TOTAL_VM\n       0                 0            0k       0k   \n"
		if err != nil || !strings.HasSuffix(out, want) || !strings.Contains(out, `COMMAND: "kthreadd"`) {
			t.Errorf("vm 2: %v\n%q", err, out)
		}
		if _, err := mmRun(t, env, "vm", "99999"); err == nil || !strings.Contains(err.Error(), "invalid task or pid value: 99999") {
			t.Errorf("vm 99999: %v", err)
		}
		out, _ = mmRun(t, env, "vm", "-R", "busybox", pid)
		if n := strings.Count(out, "/bin/busybox"); n != 5 {
			t.Errorf("vm -R busybox: %d VMAs\n%s", n, out)
		}
		out, _ = mmRun(t, env, "vm", "-f", "8000075")
		if out != "8000075: (READ|EXEC|MAYREAD|MAYWRITE|MAYEXEC|CAN_NONLINEAR)\n" {
			t.Errorf("vm -f: %q", out)
		}
		out, _ = mmRun(t, env, "vm", "-m", pid)
		if !strings.Contains(out, "struct mm_struct {") || !strings.Contains(out, "map_count = 10") {
			t.Errorf("vm -m:\n%.300s", out)
		}
	}
}
