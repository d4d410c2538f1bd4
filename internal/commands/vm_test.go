package commands

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"kdive/internal/kernel/mm"
	"kdive/internal/kernel/tasks"
	"kdive/internal/program"
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
		if n := strings.Count(out, "/bin/busybox"); n != 5 || strings.Count(out, "      VMA ") != 1 || !strings.HasSuffix(out, "busybox\n\n") {
			t.Errorf("vm -R busybox: %d VMAs under one header\n%s", n, out)
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

// vtop -u of user addresses of the holder: the first page of its text
// VMA (/bin/busybox at file offset 0) read physically (rd -p) at the
// translated address is busybox's ELF header, whose entry point lies in
// the executable VMA; the bytes at mm->arg_start are its command line,
// which names the script the guest's truth shows open (/holder.sh). An
// address in no VMA is "(not accessible)"; a kernel thread has no user
// space. On the unfiltered ELF dump (the kdump files exclude user pages),
// with and without vmlinux.
func TestVtopUser(t *testing.T) {
	vml := testcorpus.Vmlinux(t)
	for _, v := range []string{vml, ""} {
		p := openProg(t, v, testcorpus.File(t, "oops-proc", "vmcore.elf"))
		env := &Env{Prog: p}
		pid := testcorpus.Truth(t, "oops-proc")["holder_pid"][0]
		h := holderTask(t, p, pid)
		as, err := mm.ReadAddressSpace(p, h.Mm, false)
		if err != nil {
			t.Fatal(err)
		}
		phys := func(va uint64) uint64 {
			out, err := mmRun(t, env, "vtop", "-c", pid, "-u", fmt.Sprintf("%x", va))
			if err != nil {
				t.Fatal(err)
			}
			f := strings.Fields(strings.Split(out, "\n")[1])
			if len(f) != 2 || f[0] != fmt.Sprintf("%x", va) || !strings.Contains(out, "   PTE: ") || !strings.Contains(out, "      VMA            START") {
				t.Fatalf("vtop -u %x:\n%s", va, out)
			}
			var pa uint64
			fmt.Sscanf(f[1], "%x", &pa)
			return pa
		}
		text := as.VMAs[0]
		pa := phys(text.Start)
		hdr, err := mmRun(t, env, "rd", "-p", "-64", fmt.Sprintf("%x", pa), "4")
		if err != nil {
			t.Fatal(err)
		}
		var w []string // the four 64-bit words
		for _, l := range strings.Split(hdr, "\n") {
			if f := strings.Fields(l); len(f) >= 3 {
				w = append(w, f[1], f[2])
			}
		}
		var entry uint64
		if len(w) > 3 {
			fmt.Sscanf(w[3], "%x", &entry)
		}
		if len(w) < 4 || !strings.HasSuffix(w[0], "464c457f") || entry < as.VMAs[1].Start || entry >= as.VMAs[1].End || as.VMAs[1].Flags&4 == 0 {
			t.Errorf("page of %x (phys %x) is no ELF header with an entry in %x-%x:\n%s", text.Start, pa, as.VMAs[1].Start, as.VMAs[1].End, hdr)
		}
		o, _ := p.MemberOffset("mm_struct", "arg_start")
		argStart, _ := p.ReadU64(h.Mm + o)
		pa = phys(argStart)
		b := make([]byte, 64)
		if _, err := p.ReadPhysAt(b, pa); err != nil || !strings.Contains(string(b), "/holder.sh") {
			t.Errorf("command line at %x (phys %x): %q %v", argStart, pa, b, err)
		}
		out, _ := mmRun(t, env, "vtop", "-c", pid, "-u", "1000")
		if out != "VIRTUAL     PHYSICAL        \n1000        (not accessible)\n\n" {
			t.Errorf("vtop -u 1000: %q", out)
		}
		out, _ = mmRun(t, env, "vtop", "-c", "2", "-u", "400000")
		if !strings.Contains(out, "(not accessible)") {
			t.Errorf("vtop -c 2 -u 400000: %q", out)
		}
	}
}

func holderTask(t *testing.T, p *program.Program, pid string) tasks.Task {
	t.Helper()
	tl, err := tasks.List(p, tasks.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range tl.Tasks {
		if fmt.Sprint(tk.PID) == pid {
			return tk
		}
	}
	t.Fatalf("no task %s", pid)
	return tasks.Task{}
}

// vm -p: one line per page of every VMA, each either a physical address
// that vtop -u gives too, "(not mapped)", or the file offset of a page of
// /bin/busybox not in memory; vtop -u of such a page names the file and
// offset (crash's FILE: line).
func TestVmPages(t *testing.T) {
	p := openProg(t, testcorpus.Vmlinux(t), testcorpus.File(t, "oops-proc", testcorpus.KdumpLZO))
	env := &Env{Prog: p}
	pid := testcorpus.Truth(t, "oops-proc")["holder_pid"][0]
	out, err := mmRun(t, env, "vm", "-p", pid)
	if err != nil {
		t.Fatal(err)
	}
	as, err := mm.ReadAddressSpace(p, holderTask(t, p, pid).Mm, true)
	if err != nil {
		t.Fatal(err)
	}
	var n, mapped, file int
	var fileVA, physVA, physPA string
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		switch {
		case len(f) == 2 && f[0] != "VIRTUAL":
			n++
			mapped++
			physVA, physPA = f[0], f[1]
		case len(f) >= 4 && f[1] == "FILE:":
			n++
			file++
			if f[2] != "/bin/busybox" || f[3] != "OFFSET:" {
				t.Errorf("file line %q", l)
			}
			fileVA = f[0]
		case strings.HasSuffix(l, "(not mapped)"):
			n++
		}
	}
	if uint64(n) != as.TotalVM || mapped == 0 || file == 0 {
		t.Fatalf("%d page lines (%d mapped, %d file) for total_vm %d", n, mapped, file, as.TotalVM)
	}
	v, _ := mmRun(t, env, "vtop", "-u", physVA)
	if !strings.Contains(strings.Split(v, "\n")[1], physPA) {
		t.Errorf("vtop -u %s:\n%s\nvm -p says %s", physVA, v, physPA)
	}
	v, _ = mmRun(t, env, "vtop", "-u", fileVA)
	if !strings.Contains(v, "(not mapped)") || !strings.Contains(v, "\nFILE: /bin/busybox  OFFSET: ") {
		t.Errorf("vtop -u %s:\n%s", fileVA, v)
	}
}

// vm -P VMA: the task header, that VMA and its pages; "(not found)" for
// an address that is no VMA of the task; vm -M MM lists another mm's VMAs
// for a kernel thread (whose own MM line stays 0).
func TestVmSingleAndForce(t *testing.T) {
	p := openProg(t, "", testcorpus.File(t, "oops-proc", testcorpus.KdumpLZO))
	env := &Env{Prog: p}
	pid := testcorpus.Truth(t, "oops-proc")["holder_pid"][0]
	h := holderTask(t, p, pid)
	as, err := mm.ReadAddressSpace(p, h.Mm, true)
	if err != nil {
		t.Fatal(err)
	}
	v := as.VMAs[0]
	out, err := mmRun(t, env, "vm", "-P", fmt.Sprintf("%x", v.Addr), pid)
	lines := strings.Split(out, "\n")
	if err != nil || len(lines) != 6+int((v.End-v.Start)/4096)-1 || !strings.HasPrefix(lines[2], fmt.Sprintf("%x ", v.Addr)) || lines[3] != "VIRTUAL     PHYSICAL" {
		t.Errorf("vm -P: %v\n%s", err, out)
	}
	out, _ = mmRun(t, env, "vm", "-P", fmt.Sprintf("%x", v.Addr+8), pid)
	if !strings.HasSuffix(out, "\n(not found)\n") {
		t.Errorf("vm -P of no VMA: %q", out)
	}
	out, _ = mmRun(t, env, "vm", "-M", fmt.Sprintf("%x", h.Mm), "2")
	if !strings.Contains(out, "       0                 0            0k       0k   \n") || strings.Count(out, "/bin/busybox") != 5 {
		t.Errorf("vm -M:\n%s", out)
	}
}

// vm -R with a number also matches the pages: the physical page of the
// holder's first text page names that page (and only it) under its VMA;
// the page's virtual address does the same.
func TestVmRefPage(t *testing.T) {
	p := openProg(t, "", testcorpus.File(t, "oops-proc", testcorpus.KdumpLZO))
	env := &Env{Prog: p}
	pid := testcorpus.Truth(t, "oops-proc")["holder_pid"][0]
	v, _ := mmRun(t, env, "vtop", "-c", pid, "-u", "400000")
	pa := strings.Fields(strings.Split(v, "\n")[1])[1]
	for _, ref := range []string{pa, "400000"} {
		out, err := mmRun(t, env, "vm", "-R", ref, pid)
		lines := strings.Split(out, "\n")
		if err != nil || len(lines) != 9 || lines[5] != "VIRTUAL     PHYSICAL" || strings.Fields(lines[6])[0] != "400000" || strings.Fields(lines[6])[1] != pa || lines[7] != "" {
			t.Errorf("vm -R %s: %v\n%s", ref, err, out)
		}
	}
	if out, _ := mmRun(t, env, "vm", "-R", "12345678", pid); out != "" {
		t.Errorf("vm -R of nothing: %q", out)
	}
}
