package commands

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"kdive/internal/program"
	"kdive/internal/testcorpus"
)

// search on the rig's dumps, with and without the vmlinux: the module's
// magic is found where the guest said its objects are (the state in the
// direct map, the vmalloc'd buffer, the module global), in address order,
// and -K / -V / -p / -c / -x / -s -l select and print as crash does.
func TestSearchRigObjects(t *testing.T) {
	vml := testcorpus.Vmlinux(t)
	sc := "sysrq"
	truth := testcorpus.Truth(t, sc)
	obj := map[string]uint64{}
	for _, l := range truth["object"] {
		if f := strings.Fields(l); len(f) == 2 {
			if v, err := strconv.ParseUint(f[1], 16, 64); err == nil {
				obj[f[0]] = v
			}
		}
	}
	st, gl, vb := obj["state"], obj["global"], obj["vbuf"]
	if st == 0 || gl == 0 || vb == 0 {
		t.Fatal("truth lacks the state, global or vbuf object")
	}
	// The ELF dump with the vmlinux; the lzo kdump file (filtered, -d 31)
	// without it: kallsyms and BTF from the dump.
	for _, c := range []struct {
		format      string
		withVmlinux bool
	}{{testcorpus.KdumpELF, true}, {testcorpus.KdumpLZO, false}} {
		{
			format, withVmlinux := c.format, c.withVmlinux
			name := format + map[bool]string{true: "+vmlinux", false: ""}[withVmlinux]
			t.Run(name, func(t *testing.T) {
				v := ""
				if withVmlinux {
					v = vml
				}
				prog, err := program.Open(v, testcorpus.File(t, sc, format), program.OpenOptions{})
				if err != nil {
					t.Fatal(err)
				}
				defer prog.Close()
				run := func(line string) string { return typecmdsRun(t, prog, line) }
				magic := fmt.Sprintf("%x", rigMagic)
				line := func(a uint64) string { return fmt.Sprintf("%x: %s \n", a, magic) }

				out := run("search -k " + magic)
				for _, a := range []uint64{st, gl, vb} {
					if !strings.Contains(out, line(a)) {
						t.Errorf("search -k: no match at %x:\n%s", a, out)
					}
				}
				// crash's order: by range (direct map, vmalloc with the
				// modules, vmemmap, kernel image), by address within one.
				is, iv, ig := strings.Index(out, line(st)), strings.Index(out, line(vb)), strings.Index(out, line(gl))
				if !(is < iv && iv < ig) {
					t.Errorf("search -k: state, vbuf, global not in crash's order:\n%s", out)
				}
				// kdive_rig_global.state points at the state.
				if out := run(fmt.Sprintf("search -k %x", st)); !strings.Contains(out, fmt.Sprintf("%x: %x \n", gl+8, st)) {
					t.Errorf("search -k state: no kdive_rig_global.state:\n%s", out)
				}
				// -K leaves out vmalloc (module memory too), -V the direct map.
				if out := run("search -K " + magic); !strings.Contains(out, line(st)) || strings.Contains(out, line(vb)) || strings.Contains(out, line(gl)) {
					t.Errorf("search -K:\n%s", out)
				}
				if out := run("search -V " + magic); strings.Contains(out, line(st)) || !strings.Contains(out, line(vb)) || !strings.Contains(out, line(gl)) {
					t.Errorf("search -V:\n%s", out)
				}
				// Physical: the state's page.
				pa, err := prog.Translate(st)
				if err != nil {
					t.Fatal(err)
				}
				if out := run("search -p " + magic); !strings.Contains(out, fmt.Sprintf("%x: %s \n", pa, magic)) {
					t.Errorf("search -p: no match at %x:\n%s", pa, out)
				}
				// Strings: the state's name, 56 bytes shown.
				out = run("search -c kdive-rig-state")
				want := fmt.Sprintf("%x: kdive-rig-state.", st+8)
				if !strings.Contains(out, want) {
					t.Errorf("search -c: no %q:\n%s", want, out)
				}
				for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
					if _, text, _ := strings.Cut(l, ": "); len(text) != 56 {
						t.Errorf("search -c: %d bytes shown, want 56: %q", len(text), l)
					}
				}
				// A range of one long, with context: crash's -x layout.
				out = run(fmt.Sprintf("search -s %x -l 8 -x 1 %s", st, magic))
				wantX := fmt.Sprintf("%x:  ", st-8)
				if !strings.HasPrefix(out, wantX) || !strings.Contains(out, fmt.Sprintf("\n%16x:  %s \n", st, magic)) || !strings.HasSuffix(out, "\n\n") {
					t.Errorf("search -x:\n%s", out)
				}
				// -w: the low half of the magic, 32-bit.
				if out := run(fmt.Sprintf("search -s %x -l 16 -w 65726967", st)); out != fmt.Sprintf("%x: 65726967 \n", st) {
					t.Errorf("search -w: %q", out)
				}
				// An (expression) is shown after the value it gave.
				expr := fmt.Sprintf("(%#x+0)", st)
				if out := run(fmt.Sprintf("search -s %x -l 16 %s", gl, expr)); out != fmt.Sprintf("%x: %x %s\n", gl+8, st, expr) {
					t.Errorf("search (expr): %q", out)
				}
			})
		}
	}
}

// Byte for byte crash 8.0.2's search (testdata/search-sysrq.cmds, captured
// by capture-search.sh) on the corpus's sysrq dump, with and without the
// vmlinux, except crash's matches in the kernel image mapping below _text:
// crash reads __START_KERNEL_map.._end arithmetically (phys_base), kdive
// through the page tables, which do not map those addresses (the kernel's
// cleanup_highmap cleared them; rd cannot read them either).
func TestSearchCrashCorpus(t *testing.T) {
	dir := testcorpus.Dir(t)
	head, rest := goldenFor(t, dir, "search-sysrq-crash.txt.gz")
	cmds, want := rdsymParseGolden(t, head+"\n"+rest)
	if len(cmds) < 19 {
		t.Fatalf("%d commands in the golden file", len(cmds))
	}
	for _, v := range []string{testcorpus.Vmlinux(t), ""} {
		prog, err := program.Open(v, testcorpus.File(t, "sysrq", testcorpus.KdumpELF), program.OpenOptions{})
		if err != nil {
			t.Fatal(err)
		}
		text, err := prog.Symbol("_text")
		if err != nil {
			t.Fatal(err)
		}
		for _, cmd := range cmds {
			exp := searchWithoutImageAliases(want[cmd], text)
			if got := typecmdsRun(t, prog, cmd); got != exp {
				t.Errorf("vmlinux %q: %s: differs from crash:\n%s", v, cmd, rdsymFirstDiff(exp, got))
			}
		}
		prog.Close()
	}
}

// searchWithoutImageAliases drops crash's match lines at addresses of the
// kernel image mapping below _text.
func searchWithoutImageAliases(s string, text uint64) string {
	var sb strings.Builder
	for _, l := range strings.SplitAfter(s, "\n") {
		if a, _, ok := strings.Cut(l, ":"); ok && len(a) == 16 {
			if v, err := strconv.ParseUint(a, 16, 64); err == nil && v >= 0xffffffff80000000 && v < text {
				continue
			}
		}
		sb.WriteString(l)
	}
	return sb.String()
}

// search -T / -t: the return address of the panic task's
// sysrq_handle_crash frame is in its stack slot bt shows, under the
// task's header; -t (every task) finds the same.
func TestSearchTaskStacks(t *testing.T) {
	truth := testcorpus.Truth(t, "sysrq")
	pid := first1(truth["panic_pid"])
	prog, err := program.Open("", testcorpus.File(t, "sysrq", testcorpus.KdumpLZO), program.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer prog.Close()
	bt := typecmdsRun(t, prog, "bt "+pid)
	var slot, ret string
	for _, l := range strings.Split(bt, "\n") {
		if strings.Contains(l, " sysrq_handle_crash at ") {
			f := strings.Fields(l)
			slot, ret = strings.Trim(f[1], "[]"), f[len(f)-1]
		}
	}
	if slot == "" {
		t.Fatalf("no sysrq_handle_crash frame in bt %s:\n%s", pid, bt)
	}
	head, _, _ := strings.Cut(bt, "\n")
	want := head + "\n" + slot + ": " + ret + " \n"
	for _, opt := range []string{"-T", "-t"} {
		if got := typecmdsRun(t, prog, "search "+opt+" "+ret); !strings.Contains(got, want) {
			t.Errorf("search %s %s:\n%s\nwant it to contain\n%s", opt, ret, got, want)
		}
	}
}

// search -u (and struct -u): the current context (the panic task, kdive-trigger, a user
// process) has its name in its own user memory; every match is a user
// address. (crash 8.0.2 fails here: it looks for mm_struct.mmap, which
// 6.1's maple tree replaced.)
func TestSearchUser(t *testing.T) {
	prog, err := program.Open("", testcorpus.File(t, "sysrq", testcorpus.KdumpELF), program.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer prog.Close()
	out := typecmdsRun(t, prog, "search -u -c kdive-trigger")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if out == "" || len(lines) == 0 {
		t.Fatal("search -u -c kdive-trigger: nothing found")
	}
	for _, l := range lines {
		a, text, ok := strings.Cut(l, ": ")
		v, err := strconv.ParseUint(a, 16, 64)
		if !ok || err != nil || v >= 0x800000000000 || !strings.HasPrefix(text, "kdive-trigger") {
			t.Errorf("search -u: bad line %q", l)
		}
	}
	// struct -u reads the same user memory: "kdive-tr" as a long.
	a, _, _ := strings.Cut(lines[0], ":")
	if got, want := typecmdsRun(t, prog, "struct list_head.next "+a+" -ux"), "  next = 0x72742d657669646b,\n"; got != want {
		t.Errorf("struct list_head.next %s -ux: %q, want %q", a, got, want)
	}
	if got := typecmdsRun(t, prog, "struct list_head ffff8ef0925fe3c0 -u"); !strings.Contains(got, "invalid user virtual address") {
		t.Errorf("struct -u of a kernel address: %q", got)
	}
}
