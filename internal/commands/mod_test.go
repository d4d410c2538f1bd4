package commands

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"kdive/internal/program"
	"kdive/internal/testcorpus"
)

// `mod` on the shared zstd dump (no vmlinux) is byte for byte crash's on
// the same crash (crash read its lzo sibling with the vmlinux).
func TestModSharedMatchesCrash(t *testing.T) {
	dir := testcorpus.Shared(t)
	want := refSection(t, dir, "mod")
	p := openProg(t, "", filepath.Join(dir, "vmcore.zstd"))
	sameText(t, "mod", runCmd(t, p, "mod"), want)
	// The dump has no tainting module (kdive_rig was not loaded).
	if got := runCmd(t, p, "mod", "-t"); got != "no tainted modules\n" {
		t.Errorf("mod -t: %q", got)
	}
}

// modGolden reads crash 8.0.2's `mod` and `mod -t` on a corpus dump
// (testdata/mod-SCENARIO-crash.txt, captured from vmcore.lzo).
func modGolden(t *testing.T, sc string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "mod-"+sc+"-crash.txt"))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, part := range strings.Split(string(b), "===crash> ")[1:] {
		cmd, body, _ := strings.Cut(part, "\n")
		m[cmd] = body
	}
	return m
}

// On every corpus scenario, with and without the vmlinux: each module of
// the guest's truth (name and size, as lsmod showed them) is listed once,
// in base order, and the output is crash's.
func TestModCorpus(t *testing.T) {
	for _, sc := range testcorpus.Scenarios() {
		for _, withVmlinux := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/vmlinux=%v", sc, withVmlinux), func(t *testing.T) {
				vmlinux := ""
				if withVmlinux {
					vmlinux = testcorpus.Vmlinux(t)
				}
				truth := testcorpus.Truth(t, sc)
				p := openProg(t, vmlinux, testcorpus.File(t, sc, testcorpus.KdumpLZO))
				out := runCmd(t, p, "mod")
				lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
				if !strings.HasPrefix(lines[0], "     MODULE       NAME ") || !strings.HasSuffix(lines[0], " SIZE  OBJECT FILE") {
					t.Errorf("header %q", lines[0])
				}
				got := map[string]string{}
				var bases []uint64
				for _, l := range lines[1:] {
					f := strings.Fields(l)
					if len(f) != 7 || f[4] != "(not" || f[6] != "[CONFIG_KALLSYMS]" {
						t.Fatalf("line %q", l)
					}
					if _, dup := got[f[1]]; dup {
						t.Errorf("%s listed twice", f[1])
					}
					got[f[1]] = f[3]
					b, err := strconv.ParseUint(f[2], 16, 64)
					if err != nil {
						t.Fatal(err)
					}
					bases = append(bases, b)
				}
				if !sort.SliceIsSorted(bases, func(i, j int) bool { return bases[i] < bases[j] }) {
					t.Errorf("not sorted by base:\n%s", out)
				}
				sameModules(t, got, truth["module"])
				taints := runCmd(t, p, "mod", "-t")
				if _, rig := got["kdive_rig"]; rig != (taints == "NAME       TAINTS\nkdive_rig  OE\n") {
					t.Errorf("mod -t: %q (kdive_rig loaded: %v)", taints, rig)
				}

				golden := modGolden(t, sc)
				if !strings.Contains(golden["mod"], lines[1][:16]) {
					t.Skipf("the corpus's %s dump is not the crash testdata/mod-%s-crash.txt was captured on", sc, sc)
				}
				sameText(t, "mod", out, golden["mod"])
				sameText(t, "mod -t", taints, golden["mod -t"])
			})
		}
	}
}

func TestModOptionErrors(t *testing.T) {
	p := openProg(t, "", testcorpus.File(t, "oops-proc", testcorpus.KdumpLZO))
	for _, c := range []struct{ args []string }{{[]string{"-t", "-S"}}, {[]string{"-s"}}, {[]string{"-d"}}, {[]string{"-D", "x"}}} {
		var out, errb bytes.Buffer
		err := Lookup("mod").Run(&Env{Prog: p, Out: &out, Err: &errb}, c.args)
		if err == nil || !strings.Contains(out.String(), "Usage:") {
			t.Errorf("mod %v: %v %q", c.args, err, out.String())
		}
	}
}

func TestModLayout(t *testing.T) {
	var b bytes.Buffer
	WriteModules(&b, SortModules([]program.Module{
		{Addr: 0xffffffffc0002000, Name: "a_much_longer_module_name", Base: 0xffffffffc0001000, Size: 1234567},
		{Addr: 0xffffffffc0000100, Name: "x", Base: 0xffffffffc0000000, Size: 4096},
	}))
	want := `     MODULE       NAME                             BASE           SIZE  OBJECT FILE
ffffffffc0000100  x                          ffffffffc0000000     4096  (not loaded)  [CONFIG_KALLSYMS]
ffffffffc0002000  a_much_longer_module_name  ffffffffc0001000  1234567  (not loaded)  [CONFIG_KALLSYMS]
`
	sameText(t, "layout", b.String(), want)
	if got := mkCenter("KSTACKP", 16, true); got != "     KSTACKP    " {
		t.Errorf("mkCenter rjust %q", got)
	}
	if got := mkCenter("TASK", 16, false); got != "      TASK      " {
		t.Errorf("mkCenter %q", got)
	}
}

// sameModules compares `mod`'s NAME -> SIZE with the guest's /proc/modules
// ("NAME SIZE" truth lines).
func sameModules(t *testing.T, got map[string]string, want []string) {
	t.Helper()
	if len(want) == 0 || len(got) != len(want) {
		t.Errorf("mod lists %d modules, the guest %d", len(got), len(want))
	}
	for _, w := range want {
		f := strings.Fields(w)
		if got[f[0]] != f[1] {
			t.Errorf("module %s: size %q, guest %s", f[0], got[f[0]], f[1])
		}
	}
}
