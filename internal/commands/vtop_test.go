package commands

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"kdive/internal/testcorpus"
)

// A session of vtop commands (direct map with 4 KiB pages, kernel text and
// data in 2 MiB pages, module text, vmalloc, vmemmap in a 2 MiB page,
// physical page 0, an unmapped kernel-image address, a direct-map address
// past the end of memory) prints byte for byte what crash 8.0.2 prints in
// one session on the same dump, the struct page header only once.
func TestVtopMatchesCrash(t *testing.T) {
	vml := testcorpus.Vmlinux(t)
	// Each session runs on a fresh program, as crash's ran in a fresh
	// crash: the second one adds two addresses in one command, an
	// unmapped vmalloc address, module data, the cpu_entry_area, the
	// vsyscall page and -k with a user address.
	for _, session := range []string{"vtop-bugon", "vtop-bugon-2"} {
		t.Run(session, func(t *testing.T) {
			p := openProg(t, vml, testcorpus.File(t, "bugon", "vmcore.lzo"))
			if a, err := p.Symbol("schedule"); err != nil || a != 0xffffffff85809380 {
				t.Skipf("the corpus's bugon dump is not the one testdata/%s-crash.txt was captured on (schedule at %#x)", session, a)
			}
			want, err := os.ReadFile("testdata/" + session + "-crash.txt")
			if err != nil {
				t.Fatal(err)
			}
			cmds, err := os.ReadFile("testdata/" + session + ".cmds")
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			for _, cmd := range strings.Split(strings.TrimSpace(string(cmds)), "\n") {
				f := strings.Fields(cmd)
				var errb bytes.Buffer
				if err := Lookup("vtop").Run(&Env{Prog: p, Out: &out, Err: &errb}, f[1:]); err != nil {
					t.Errorf("%s: %v", cmd, err)
				}
			}
			sameText(t, session, out.String(), string(want))
		})
	}
}

func TestVtopOptions(t *testing.T) {
	vml := testcorpus.Vmlinux(t)
	p := openProg(t, vml, testcorpus.File(t, "bugon", "vmcore.lzo"))
	run := func(args ...string) (string, error) {
		var out, errb bytes.Buffer
		err := Lookup("vtop").Run(&Env{Prog: p, Out: &out, Err: &errb}, args)
		return out.String(), err
	}
	for _, args := range [][]string{{"-u", "-k", "ffffffff81000000"}, {"-c", "99999", "400000"}} {
		if _, err := run(args...); err == nil {
			t.Errorf("vtop %v: no error", args)
		}
	}
	out, err := run("-k", "400000")
	if err != nil || out != "VIRTUAL           PHYSICAL        \n400000    (not a kernel virtual address)\n\n" {
		t.Errorf("vtop -k 400000: %q %v", out, err)
	}
	// kdive: a symbol for the address.
	a, _ := run("schedule")
	s, _ := p.Symbol("schedule")
	if !strings.Contains(a, hex16(s)) {
		t.Errorf("vtop schedule:\n%s", a)
	}
}

func hex16(v uint64) string {
	const d = "0123456789abcdef"
	var b [16]byte
	for i := 15; i >= 0; i-- {
		b[i] = d[v&15]
		v >>= 4
	}
	return string(b[:])
}

// dis and vtop at the oops-proc scenario's faulting module code, whose
// Oops could not read the bytes before the RIP: the page below the
// module is not mapped, and vtop says so as crash does.
func TestDisVtopOopsMatchesCrash(t *testing.T) {
	vml := testcorpus.Vmlinux(t)
	p := openProg(t, vml, testcorpus.File(t, "oops-proc", "vmcore.lzo"))
	if a, err := p.Symbol("kdive_rig_null_deref"); err != nil || a != 0xffffffffc0520000 {
		t.Skipf("the corpus's oops-proc dump is not the one testdata/disvtop-oops-proc-crash.txt was captured on (kdive_rig_null_deref at %#x)", a)
	}
	want, err := os.ReadFile("testdata/disvtop-oops-proc-crash.txt")
	if err != nil {
		t.Fatal(err)
	}
	cmds, err := os.ReadFile("testdata/disvtop-oops-proc.cmds")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	for _, cmd := range strings.Split(strings.TrimSpace(string(cmds)), "\n") {
		f := strings.Fields(cmd)
		var errb bytes.Buffer
		if err := Lookup(f[0]).Run(&Env{Prog: p, Out: &out, Err: &errb}, f[1:]); err != nil {
			t.Errorf("%s: %v", cmd, err)
		}
	}
	sameText(t, "oops-proc", out.String(), string(want))
}
