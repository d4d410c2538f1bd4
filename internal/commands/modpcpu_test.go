package commands

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"kdive/internal/program"
	"kdive/internal/testcorpus"
)

// extPerCPUTruth returns each CPU's copy of kdive_ext_pcpu and its seq
// ("TRUTH pcpu CPU ADDR SEQ"); it skips on an ext corpus built before the
// module had a per-CPU variable.
func extPerCPUTruth(t *testing.T, sc string) (addrs []uint64, seqs []string) {
	t.Helper()
	lines := testcorpus.ExtTruth(t, sc)["pcpu"]
	if len(lines) == 0 {
		t.Skipf("%s: no TRUTH pcpu lines (an ext corpus older than the module's per-CPU variable)", sc)
	}
	for i, l := range lines {
		f := strings.Fields(l)
		if len(f) != 3 || f[0] != strconv.Itoa(i) {
			t.Fatalf("TRUTH pcpu %q", l)
		}
		a, err := strconv.ParseUint(f[1], 16, 64)
		if err != nil {
			t.Fatalf("TRUTH pcpu %q: %v", l, err)
		}
		addrs = append(addrs, a)
		seqs = append(seqs, f[2])
	}
	return addrs, seqs
}

const extPcpuMagic = 0x6b64697665657874 // KDIVE_EXT_MAGIC, "kdiveext"

// The ext module's per-CPU variable kdive_ext_pcpu on every ext scenario,
// with and without the vmlinux. From the dump alone (kallsyms, struct
// module.percpu): its per-CPU pointer, each CPU's address, untyped. After
// mod -s kdive_ext: its type and each CPU's copy read back as the guest
// set it (magic, cpu, seq), in every form crash takes (p SYM, p SYM:a,
// p SYM:N, px SYM:a, p &SYM, struct TYPE SYM:cpus, sym -m).
func TestModPerCPUExt(t *testing.T) {
	ko := testcorpus.ExtModule(t, "kdive_ext")
	for _, sc := range testcorpus.ExtScenarios() {
		for _, withVmlinux := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/vmlinux=%v", sc, withVmlinux), func(t *testing.T) {
				addrs, seqs := extPerCPUTruth(t, sc)
				vml := ""
				if withVmlinux {
					vml = testcorpus.ExtVmlinux(t)
				}
				p := openProg(t, vml, testcorpus.ExtFile(t, sc, testcorpus.KdumpLZO))
				run := modRun(t, p, true)
				// The per-CPU pointer: each CPU's copy less its
				// __per_cpu_offset, the same for all, struct module.percpu.
				var ptr uint64
				for c, a := range addrs {
					off, err := p.PerCPUOffset(c)
					if err != nil {
						t.Fatal(err)
					}
					if c == 0 {
						ptr = a - off
					} else if a-off != ptr {
						t.Fatalf("CPU %d's copy %#x is not %#x + __per_cpu_offset[%d] %#x", c, a, ptr, c, off)
					}
				}
				mods, _ := p.Modules()
				var m program.Module
				for _, x := range mods {
					if x.Name == "kdive_ext" {
						m = x
					}
				}
				if m.PerCPU != ptr || m.PerCPUSize != 24 {
					t.Errorf("module percpu %#x size %d, want %#x (the only per-CPU variable) 24", m.PerCPU, m.PerCPUSize, ptr)
				}
				addrLines := ""
				for c, a := range addrs {
					addrLines += fmt.Sprintf("  [%d]: %x\n", c, a)
				}

				// Without the object file: kallsyms (CONFIG_KALLSYMS_ALL)
				// names it at its per-CPU pointer; no type.
				if got, want := run("sym kdive_ext_pcpu"), fmt.Sprintf("%x (?) kdive_ext_pcpu [kdive_ext]\n", ptr); got != want {
					t.Errorf("sym before mod -s: %q, want %q", got, want)
				}
				if got, want := run("p kdive_ext_pcpu"), "PER-CPU DATA TYPE:\n  [undetermined type] kdive_ext_pcpu;\nPER-CPU ADDRESSES:\n"+addrLines; got != want {
					t.Errorf("p before mod -s:\n%s\nwant\n%s", got, want)
				}
				want := ""
				for c, a := range addrs {
					want += fmt.Sprintf("&per_cpu(kdive_ext_pcpu, %d) = $N = (void *) %#x\n", c, a)
				}
				if got := run("p kdive_ext_pcpu:a"); got != want {
					t.Errorf("p :a before mod -s:\n%s\nwant\n%s", got, want)
				}
				if got := run(fmt.Sprintf("rd -64 %x 3", addrs[len(addrs)-1])); !strings.Contains(got, fmt.Sprintf("%016x", uint64(extPcpuMagic))) {
					t.Errorf("rd of the last CPU's copy: %q", got)
				}

				run("mod -s kdive_ext " + ko)
				if got, want := run("sym kdive_ext_pcpu"), fmt.Sprintf("%x (d) kdive_ext_pcpu [kdive_ext]\n", ptr); got != want {
					t.Errorf("sym: %q, want %q", got, want)
				}
				if got, want := run("p kdive_ext_pcpu"), "PER-CPU DATA TYPE:\n  struct kdive_ext_pcpu kdive_ext_pcpu;\nPER-CPU ADDRESSES:\n"+addrLines; got != want {
					t.Errorf("p:\n%s\nwant\n%s", got, want)
				}
				copyOf := func(c int, hex bool) string {
					if hex {
						s, _ := strconv.ParseUint(seqs[c], 10, 64)
						return fmt.Sprintf("per_cpu(kdive_ext_pcpu, %d) = $N = {\n  magic = %#x,\n  cpu = %#x,\n  seq = %#x\n}\n", c, uint64(extPcpuMagic), c, s)
					}
					return fmt.Sprintf("per_cpu(kdive_ext_pcpu, %d) = $N = {\n  magic = %d,\n  cpu = %d,\n  seq = %s\n}\n", c, uint64(extPcpuMagic), c, seqs[c])
				}
				all, allHex, structAll := "", "", ""
				for c, a := range addrs {
					all += copyOf(c, false)
					allHex += copyOf(c, true)
					structAll += fmt.Sprintf("[%d]: %x\nstruct kdive_ext_pcpu {\n  magic = %d,\n  cpu = %d,\n  seq = %s\n}\n", c, a, uint64(extPcpuMagic), c, seqs[c])
				}
				if got := run("p kdive_ext_pcpu:a"); got != all {
					t.Errorf("p :a:\n%s\nwant\n%s", got, all)
				}
				if got := run("px kdive_ext_pcpu:all"); got != allHex {
					t.Errorf("px :all:\n%s\nwant\n%s", got, allHex)
				}
				for c := range addrs {
					if got := run(fmt.Sprintf("p kdive_ext_pcpu:%d", c)); got != copyOf(c, false) {
						t.Errorf("p :%d:\n%s\nwant\n%s", c, got, copyOf(c, false))
					}
				}
				if got := run("struct kdive_ext_pcpu kdive_ext_pcpu:a"); got != structAll {
					t.Errorf("struct :a:\n%s\nwant\n%s", got, structAll)
				}
				// The address is the per-CPU pointer (crash's gdb says the
				// module's text address: wrong).
				if got, want := run("px &kdive_ext_pcpu"), fmt.Sprintf("$N = (struct kdive_ext_pcpu *) %#x\n", ptr); got != want {
					t.Errorf("px &: %q, want %q", got, want)
				}
				// sym -m: the per-CPU symbol after MODULE START, as crash.
				sm := strings.Split(run("sym -m kdive_ext"), "\n")
				if len(sm) < 3 || !strings.HasSuffix(sm[0], " MODULE START: kdive_ext") || sm[1] != fmt.Sprintf("%x (d) kdive_ext_pcpu", ptr) {
					t.Errorf("sym -m: %q", sm[:min(3, len(sm))])
				}
				// The per-CPU pointer is no address of its own.
				if out, errs, err := runModLine(p, fmt.Sprintf("sym %x", ptr)); !strings.Contains(fmt.Sprint(out, errs, err), "invalid address") {
					t.Errorf("sym %x: %q %q %v", ptr, out, errs, err)
				}
			})
		}
	}
}

// The modpcpu-ext.cmds session of crash 8.0.2 (modpcpu-ext.golden) on the
// ext hung dump, with and without the vmlinux: the same output.
func TestModPerCPUExtGolden(t *testing.T) {
	ko := testcorpus.ExtModule(t, "kdive_ext")
	cmds, outs := kmemGoldenIn(t, testcorpus.ExtDir(t), "modpcpu-ext.golden")
	if len(cmds) < 10 {
		t.Fatalf("%d commands in the golden file", len(cmds))
	}
	for name, vml := range extVariants(t) {
		t.Run(name, func(t *testing.T) {
			p := extOpen(t, vml, "hung")
			for i, cmd := range cmds {
				out, errs, err := runModLine(p, strings.ReplaceAll(cmd, "KO", ko))
				if err != nil {
					errs += fmt.Sprintf("%s: %v\n", strings.Fields(cmd)[0], err)
				}
				if got := strings.ReplaceAll(out+errs, ko, "KO"); got != outs[i] {
					t.Errorf("%s: differs from crash:\n%s", cmd, lineDiff(got, outs[i]))
				}
			}
		})
	}
}

// The kernel's per-CPU variables without the vmlinux: kallsyms has them
// as absolute symbols ('A', scripts/kallsyms --absolute-percpu) at their
// per-CPU offsets, the dump's BTF has their VARs; p SYM, p SYM:cpus and
// struct T SYM:cpus print what they print with the vmlinux, and each
// CPU's cpu_number is its number.
func TestKernelPerCPUWithoutVmlinux(t *testing.T) {
	dump := testcorpus.File(t, "oops-proc", testcorpus.KdumpLZO)
	with := openProg(t, testcorpus.Vmlinux(t), dump)
	without := openProg(t, "", dump)
	run := func(p *program.Program, line string) string {
		t.Helper()
		out, errs, err := runModLine(p, line)
		if err != nil || errs != "" {
			t.Fatalf("%s: %v (stderr %q)", line, err, errs)
		}
		return out
	}
	for _, cmd := range []string{
		"p runqueues",
		"p cpu_number:a",
		"px irq_stat:1",
		"p this_cpu_off:0",
		"struct rq.cpu,nr_running runqueues:a",
		"struct irq_cpustat_t.__nmi_count irq_stat:0",
	} {
		if got, want := run(without, cmd), run(with, cmd); got != want {
			t.Errorf("%s without vmlinux:\n%s\nwith:\n%s", cmd, got, want)
		}
	}
	off0, _ := without.PerCPUOffset(0)
	off1, _ := without.PerCPUOffset(1)
	want := "per_cpu(cpu_number, 0) = $N = 0\nper_cpu(cpu_number, 1) = $N = 1\n"
	if got := historyRef.ReplaceAllString(run(without, "p cpu_number:a"), "$$N = "); got != want {
		t.Errorf("p cpu_number:a: %q, want %q", got, want)
	}
	// this_cpu_off holds each CPU's own __per_cpu_offset.
	if got, want := historyRef.ReplaceAllString(run(without, "px this_cpu_off:a"), "$$N = "),
		fmt.Sprintf("per_cpu(this_cpu_off, 0) = $N = %#x\nper_cpu(this_cpu_off, 1) = $N = %#x\n", off0, off1); got != want {
		t.Errorf("px this_cpu_off:a: %q, want %q", got, want)
	}
	if got := run(without, "sym runqueues"); !strings.HasSuffix(got, " (A) runqueues\n") {
		t.Errorf("sym runqueues: %q", got)
	}
	// The section bounds are not variables.
	if got, _, _ := runModLine(without, "p __per_cpu_end"); strings.Contains(got, "PER-CPU") {
		t.Errorf("p __per_cpu_end: %q", got)
	}
}
