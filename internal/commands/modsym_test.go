package commands

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"kdive/internal/program"
	"kdive/internal/testcorpus"
)

// runModLine runs one command line and returns stdout, stderr and the error.
func runModLine(p *program.Program, line string) (string, string, error) {
	args := splitLine(line)
	var out, errb bytes.Buffer
	err := Lookup(args[0]).Run(&Env{Prog: p, Out: &out, Err: &errb}, args[1:])
	return out.String(), errb.String(), err
}

// modRun returns a runner of command lines on p that fails the test on an
// error; strict, also on anything written to stderr, and it normalises
// gdb's value history numbers ("$N = ").
func modRun(t *testing.T, p *program.Program, strict bool) func(string) string {
	return func(line string) string {
		t.Helper()
		out, errs, err := runModLine(p, line)
		if err != nil || strict && errs != "" {
			t.Fatalf("%s: %v (stderr %q)", line, err, errs)
		}
		if strict {
			out = historyRef.ReplaceAllString(out, "$$N = ")
		}
		return out
	}
}

// rigTruth returns the kdive_rig objects (`object NAME ADDR`) and symbols
// (`kallsyms ADDR t NAME [kdive_rig]`) the guest printed.
func rigTruth(t *testing.T, sc string) map[string]uint64 {
	t.Helper()
	truth := testcorpus.Truth(t, sc)
	out := map[string]uint64{}
	for _, l := range truth["object"] {
		if f := strings.Fields(l); len(f) == 2 {
			if v, err := strconv.ParseUint(f[1], 16, 64); err == nil {
				out[f[0]] = v
			}
		}
	}
	for _, l := range truth["kallsyms"] {
		if f := strings.Fields(l); len(f) >= 3 {
			if v, err := strconv.ParseUint(f[0], 16, 64); err == nil {
				out[f[2]] = v
			}
		}
	}
	for _, k := range []string{"state", "global", "item0", "item1", "item2", "kdive_rig_null_deref"} {
		if out[k] == 0 {
			t.Fatalf("truth has no %s", k)
		}
	}
	return out
}

// mod -s kdive_rig on every scenario, with and without the vmlinux: the
// module's globals read back with their DWARF types hold what the guest
// printed and the source set; module-only types work in p, struct,
// whatis, ptype, list; mod lists the file; mod -d takes it all away.
func TestModSymRig(t *testing.T) {
	ko := testcorpus.Module(t, "kdive_rig")
	for _, sc := range testcorpus.Scenarios() {
		for _, withVmlinux := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/vmlinux=%v", sc, withVmlinux), func(t *testing.T) {
				vml := ""
				if withVmlinux {
					vml = testcorpus.Vmlinux(t)
				}
				obj := rigTruth(t, sc)
				p := openProg(t, vml, testcorpus.File(t, sc, testcorpus.KdumpLZO))
				run := modRun(t, p, false)
				if _, _, err := runModLine(p, "whatis struct kdive_rig_item"); err == nil {
					t.Fatal("struct kdive_rig_item known before mod -s")
				}
				out := run("mod -s kdive_rig " + ko)
				lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
				if len(lines) != 2 || !strings.HasSuffix(lines[0], "  OBJECT FILE") ||
					!strings.Contains(lines[1], " kdive_rig ") || !strings.HasSuffix(lines[1], "  "+ko+" ") {
					t.Errorf("mod -s:\n%s", out)
				}
				if l := grepLine(run("mod"), " kdive_rig "); !strings.HasSuffix(l, "  "+ko+" ") {
					t.Errorf("mod: kdive_rig line %q", l)
				}
				want := fmt.Sprintf("kdive_rig_global = $1 = {\n  magic = %d,\n  state = %#x,\n", uint64(rigMagic), obj["state"])
				if got := run("p kdive_rig_global"); !strings.HasPrefix(got, want) {
					t.Errorf("p kdive_rig_global:\n%s\nwant prefix\n%s", got, want)
				}
				if got, want := run("p kdive_rig_state"), fmt.Sprintf("kdive_rig_state = $2 = (struct kdive_rig_state *) %#x\n", obj["state"]); got != want {
					t.Errorf("p kdive_rig_state: %q, want %q", got, want)
				}
				if got, want := run("p &kdive_rig_global"), fmt.Sprintf("$3 = (struct kdive_rig_global *) %#x <kdive_rig_global>\n", obj["global"]); got != want {
					t.Errorf("p &kdive_rig_global: %q, want %q", got, want)
				}
				if got, want := run("p kdive_rig_state->name"), `$4 = "kdive-rig-state`; !strings.HasPrefix(got, want) {
					t.Errorf("p kdive_rig_state->name: %q", got)
				}
				if got := run("p kdive_rig_state->crash_work.func"); !strings.HasSuffix(got, "<kdive_rig_crash_work_fn>\n") {
					t.Errorf("crash_work.func: %q", got)
				}
				for i := 0; i < 3; i++ {
					got := run(fmt.Sprintf("struct kdive_rig_item %x", obj[fmt.Sprintf("item%d", i)]))
					for _, w := range []string{fmt.Sprintf("  index = %d,\n", i), fmt.Sprintf("  value = %d,\n", 0x1000+i), fmt.Sprintf("  label = \"item-%d\\000", i)} {
						if !strings.Contains(got, w) {
							t.Errorf("item%d: no %q in\n%s", i, w, got)
						}
					}
				}
				items := fmt.Sprintf("%x\n%x\n%x\n", obj["item0"], obj["item1"], obj["item2"])
				if got := run(fmt.Sprintf("list kdive_rig_item.node -H %x", obj["state"]+48)); got != items {
					t.Errorf("list: %q, want %q", got, items)
				}
				if got := run("whatis struct kdive_rig_item"); got != "struct kdive_rig_item {\n    struct list_head node;\n    u32 index;\n    u32 value;\n    char label[16];\n}\nSIZE: 40\n" {
					t.Errorf("whatis: %q", got)
				}
				if got := run("ptype kdive_rig_null_deref"); got != "type = void (void)\n" {
					t.Errorf("ptype function: %q", got)
				}
				if got := run("whatis kdive_rig_state"); got != "struct kdive_rig_state *kdive_rig_state;\n" {
					t.Errorf("whatis kdive_rig_state: %q", got)
				}
				if got := run("sym kdive_rig_null_deref"); !strings.HasPrefix(got, fmt.Sprintf("%x (t) kdive_rig_null_deref [kdive_rig]", obj["kdive_rig_null_deref"])) {
					t.Errorf("sym: %q", got)
				}
				if got := run("sym kdive_rig_global"); !strings.HasPrefix(got, fmt.Sprintf("%x ", obj["global"])) {
					t.Errorf("sym kdive_rig_global: %q", got)
				}
				// Source lines from the module's relocated line table
				// (issue 4 item 7): crash's "kdive_rig.c: 70" for the
				// first address, a line before each new line's code.
				if got := run("sym kdive_rig_null_deref"); !strings.HasSuffix(got, "/kdive_rig.c: 70\n") {
					t.Errorf("sym with line: %q", got)
				}
				dis := run("dis -l kdive_rig_null_deref")
				for _, w := range []string{"/kdive_rig.c: 70\n", fmt.Sprintf("\n%#x <kdive_rig_null_deref>:", obj["kdive_rig_null_deref"]), "/kdive_rig.c: 73\n"} {
					if !strings.Contains("\n"+dis, w) {
						t.Errorf("dis -l kdive_rig_null_deref: no %q in\n%s", w, dis)
					}
				}
				// Already loaded: the row again, nothing reloaded.
				if got := run("mod -s kdive_rig " + ko); got != out {
					t.Errorf("second mod -s: %q", got)
				}
				if got := run("mod -d kdive_rig"); got != "" {
					t.Errorf("mod -d printed %q", got)
				}
				if l := grepLine(run("mod"), " kdive_rig "); !strings.HasSuffix(l, "(not loaded)  [CONFIG_KALLSYMS]") {
					t.Errorf("mod after -d: %q", l)
				}
				if _, _, err := runModLine(p, "whatis struct kdive_rig_item"); err == nil {
					t.Error("struct kdive_rig_item still known after mod -d")
				}
				if got := run("dis -l kdive_rig_null_deref"); strings.Contains(got, "kdive_rig.c") {
					t.Errorf("dis -l after mod -d has source lines:\n%s", got)
				}
				if got := run("p kdive_rig_global"); !strings.Contains(got, "<data variable, no debug info>") && strings.Contains(got, "magic") {
					t.Errorf("p kdive_rig_global after mod -d: %q", got)
				}
			})
		}
	}
}

func grepLine(out, sub string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, sub) {
			return l
		}
	}
	return ""
}

// A file that is not the module is refused with one line, and nothing is
// loaded; bad arguments are crash's usage errors.
func TestModSymRefused(t *testing.T) {
	ko := testcorpus.Module(t, "kdive_rig")
	virtio := filepath.Join(filepath.Dir(ko), "virtio.ko")
	p := openProg(t, "", testcorpus.File(t, "oops-proc", testcorpus.KdumpLZO))
	tmp := t.TempDir()
	data, err := os.ReadFile(ko)
	if err != nil {
		t.Fatal(err)
	}
	// A section renamed in .shstrtab: the section sets differ.
	renamed := bytes.Replace(data, []byte(".exit.data\x00"), []byte(".exit.dat2\x00"), 1)
	if bytes.Equal(renamed, data) {
		t.Fatal("no .exit.data in the section names")
	}
	renamedKo := filepath.Join(tmp, "renamed.ko")
	os.WriteFile(renamedKo, renamed, 0o644)
	// Another build: the build ID note differs.
	i := bytes.Index(data, []byte("GNU\x00"))
	otherBuild := append([]byte(nil), data...)
	otherBuild[i+4] ^= 0xff
	otherKo := filepath.Join(tmp, "other.ko")
	os.WriteFile(otherKo, otherBuild, 0o644)
	notELF := filepath.Join(tmp, "kdive_rig.ko")
	os.WriteFile(notELF, []byte("not an object file\n"), 0o644)
	for _, c := range []struct{ line, err string }{
		{"mod -s kdive_rig " + virtio, "is module virtio (its .modinfo says name=virtio), not kdive_rig"},
		{"mod -s virtio " + ko, "is module kdive_rig"},
		{"mod -s kdive_rig " + renamedKo, "does not match module kdive_rig's sections: module kdive_rig has .exit.data and the file not; the file has .exit.dat2 and module kdive_rig not"},
		{"mod -s kdive_rig " + otherKo, "is not module kdive_rig's (its note at"},
		{"mod -s kdive_rig " + notELF, "not an ELF format object file"},
		{"mod -s kdive_rig /nonexistent/kdive_rig_missing.ko", "kdive_rig: cannot find or load object file: /nonexistent/kdive_rig_missing.ko"},
		{"mod -s nosuchmodule " + ko, "nosuchmodule: not a loaded module"},
		{"mod -d nosuchmodule", "nosuchmodule: not a loaded module"},
		{"mod -S " + ko, "is not a directory"},
	} {
		out, errs, err := runModLine(p, c.line)
		if err == nil || !strings.Contains(err.Error(), c.err) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %v, want %q", c.line, err, c.err)
		}
		if strings.Contains(out, "OBJECT FILE") || errs != "" {
			t.Errorf("%s: printed %q %q", c.line, out, errs)
		}
		if p.ModuleDebugOf("kdive_rig") != nil || p.ModuleDebugOf("virtio") != nil {
			t.Fatalf("%s: loaded", c.line)
		}
	}
}

// mod -S DIR loads every module found in the tree: the in-tree debug
// modules (virtio, virtio_ring, ...) from the Debian debug package's tree,
// and in a second tree kdive_rig; the others are reported on stderr.
func TestModSymLoadAll(t *testing.T) {
	dbg := filepath.Join(os.Getenv("HOME"), ".cache/kdive/dbg-"+testcorpus.KernelVersion(t), "usr/lib/debug/lib/modules", testcorpus.KernelVersion(t))
	if _, err := os.Stat(dbg); err != nil {
		t.Skipf("no debug module tree: %v", err)
	}
	for _, withVmlinux := range []bool{false, true} {
		t.Run(fmt.Sprintf("vmlinux=%v", withVmlinux), func(t *testing.T) {
			vml := ""
			if withVmlinux {
				vml = testcorpus.Vmlinux(t)
			}
			p := openProg(t, vml, testcorpus.File(t, "oops-proc", testcorpus.KdumpLZO))
			mods, _ := p.Modules()
			out, errs, err := runModLine(p, "mod -S "+dbg)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if !strings.HasSuffix(lines[0], "  OBJECT FILE") {
				t.Fatalf("header %q", lines[0])
			}
			// Every in-tree module of the dump is found; kdive_rig is not.
			loaded := 0
			for _, m := range mods {
				md := p.ModuleDebugOf(m.Name)
				if m.Name == "kdive_rig" {
					if md != nil || !strings.Contains(errs, "mod: cannot find or load object file for kdive_rig module\n") {
						t.Errorf("kdive_rig: %v, stderr %q", md, errs)
					}
					continue
				}
				if md == nil || md.Index == nil || !strings.HasPrefix(md.Path, dbg) {
					t.Errorf("%s not loaded from %s: %+v", m.Name, dbg, md)
					continue
				}
				loaded++
				if l := grepLine(out, " "+m.Name+" "); !strings.HasSuffix(l, "  "+md.Path+" ") {
					t.Errorf("%s line %q", m.Name, l)
				}
			}
			if len(lines) != 1+loaded {
				t.Errorf("%d lines for %d loaded modules:\n%s", len(lines), loaded, out)
			}
			// An in-tree module's own type and a global of it.
			if got := typecmdsRun(t, p, "whatis struct virtio_blk_vq"); !strings.HasPrefix(got, "struct virtio_blk_vq {\n") {
				t.Errorf("whatis struct virtio_blk_vq: %q", got)
			}
			if got := typecmdsRun(t, p, "whatis virtio_index_ida"); got != "struct ida virtio_index_ida;\n" {
				t.Errorf("whatis virtio_index_ida: %q", got)
			}
			// A second tree with kdive_rig (the corpus's modules directory):
			// the others keep their files, kdive_rig is added.
			out, _, err = runModLine(p, "mod -S "+filepath.Dir(testcorpus.Module(t, "kdive_rig")))
			if err != nil || p.ModuleDebugOf("kdive_rig") == nil || p.ModuleDebugOf("virtio") == nil || !strings.HasPrefix(p.ModuleDebugOf("virtio").Path, dbg) {
				t.Errorf("second mod -S: %v\n%s", err, out)
			}
			if out, _, err := runModLine(p, "mod -D"); err != nil || out != "" {
				t.Errorf("mod -D: %q %v", out, err)
			}
			for _, m := range mods {
				if p.ModuleDebugOf(m.Name) != nil {
					t.Errorf("%s still loaded after mod -D", m.Name)
				}
			}
		})
	}
}

// crash 8.0.2's output of modsym.cmds (testdata/modsym-oops-proc.golden),
// with and without the vmlinux.
func TestModSymGolden(t *testing.T) {
	ko := testcorpus.Module(t, "kdive_rig")
	golden, err := os.ReadFile("testdata/modsym-oops-proc.golden")
	if err != nil {
		t.Fatal(err)
	}
	// Commands in order (mod appears twice).
	type step struct{ cmd, want string }
	var steps []step
	for _, part := range strings.Split(string(golden), "@@@ ")[1:] {
		cmd, out, _ := strings.Cut(part, "\n")
		steps = append(steps, step{cmd, out})
	}
	for _, withVmlinux := range []bool{false, true} {
		t.Run(fmt.Sprintf("vmlinux=%v", withVmlinux), func(t *testing.T) {
			vml := ""
			if withVmlinux {
				vml = testcorpus.Vmlinux(t)
			}
			p := openProg(t, vml, testcorpus.File(t, "oops-proc", testcorpus.KdumpLZO))
			mods, _ := p.Modules()
			for _, m := range mods {
				if m.Name == "kdive_rig" && !strings.Contains(string(golden), fmt.Sprintf("%x  kdive_rig ", m.Addr)) {
					t.Skip("the corpus's oops-proc dump is not the one modsym-oops-proc.golden was captured on")
				}
			}
			for _, s := range steps {
				got := typecmdsRun(t, p, strings.ReplaceAll(s.cmd, "KO", ko))
				got = strings.ReplaceAll(got, ko, "KO")
				if got != s.want {
					t.Errorf("%s: differs from crash:\n%s", s.cmd, rdsymFirstDiff(s.want, got))
				}
			}
		})
	}
}

// Without a directory, mod -s and mod -S look where crash does: the debug
// tree /usr/lib/debug/lib/modules/RELEASE (here the Debian debug
// package's, unpacked in the cache), $CRASH_MODULE_PATH, /lib/modules,
// the vmlinux's directory (which has modules/kdive_rig.ko in the corpus).
// The module may be named by an address inside it.
func TestModSymSearchPath(t *testing.T) {
	rel := testcorpus.KernelVersion(t)
	root := filepath.Join(os.Getenv("HOME"), ".cache/kdive/dbg-"+rel, "usr/lib/debug/lib/modules")
	if _, err := os.Stat(filepath.Join(root, rel)); err != nil {
		t.Skipf("no debug module tree: %v", err)
	}
	program.SetModuleSearchRoots(root, filepath.Join(t.TempDir(), "no-lib-modules"))
	defer program.SetModuleSearchRoots("/usr/lib/debug/lib/modules", "/lib/modules")
	t.Setenv("CRASH_MODULE_PATH", "")
	p := openProg(t, testcorpus.Vmlinux(t), testcorpus.File(t, "oops-proc", testcorpus.KdumpLZO))
	mods, _ := p.Modules()
	var virtio program.Module
	for _, m := range mods {
		if m.Name == "virtio" {
			virtio = m
		}
	}
	out, _, err := runModLine(p, fmt.Sprintf("mod -s %016x", virtio.Base+16))
	if md := p.ModuleDebugOf("virtio"); err != nil || md == nil || !strings.HasPrefix(md.Path, filepath.Join(root, rel)) || !strings.Contains(out, md.Path+" \n") {
		t.Fatalf("mod -s ADDR: %v %q", err, out)
	}
	// kdive_rig is in the vmlinux's directory tree (corpus/modules).
	out, errs, err := runModLine(p, "mod -S")
	if err != nil || errs != "" || p.ModuleDebugOf("kdive_rig") == nil || strings.Count(out, "\n") != len(mods)+1 {
		t.Errorf("mod -S: %v %q\n%s", err, errs, out)
	}
	// $CRASH_MODULE_PATH comes before /lib/modules and the vmlinux's
	// directory.
	p.UnloadAllModuleDebug()
	dir := t.TempDir()
	data, _ := os.ReadFile(testcorpus.Module(t, "kdive_rig"))
	os.WriteFile(filepath.Join(dir, "kdive-rig.ko"), data, 0o644) // '-' for '_'
	t.Setenv("CRASH_MODULE_PATH", dir)
	if _, _, err := runModLine(p, "mod -s kdive_rig"); err != nil || p.ModuleDebugOf("kdive_rig").Path != filepath.Join(dir, "kdive-rig.ko") {
		t.Errorf("mod -s kdive_rig via CRASH_MODULE_PATH: %v %+v", err, p.ModuleDebugOf("kdive_rig"))
	}
}

// A stripped .ko (the kernel package's, when installed) loads as crash
// loads it: its symbols (letters, sizes) but no DWARF.
func TestModSymStripped(t *testing.T) {
	ko := filepath.Join("/lib/modules", testcorpus.KernelVersion(t), "kernel/drivers/virtio/virtio.ko")
	if _, err := os.Stat(ko); err != nil {
		t.Skipf("no installed module: %v", err)
	}
	p := openProg(t, "", testcorpus.File(t, "oops-proc", testcorpus.KdumpLZO))
	out, _, err := runModLine(p, "mod -s virtio "+ko)
	md := p.ModuleDebugOf("virtio")
	if err != nil || md == nil || md.Index != nil || !strings.Contains(out, ko+" \n") {
		t.Fatalf("mod -s virtio %s: %v %+v\n%s", ko, err, md, out)
	}
	// crash: "(?)" before, the file's "(d)" after.
	if got := typecmdsRun(t, p, "sym virtio_index_ida"); !strings.Contains(got, " (d) virtio_index_ida [virtio]") {
		t.Errorf("sym: %q", got)
	}
}

// The ext corpus's module (kdive_ext) on each ext scenario, with and
// without the vmlinux: its global's state pointer is the one the guest
// printed; on the leak scenario its 5,000 kdive_leak objects are walked
// through the module's own struct kdive_ext_leak and read back.
func TestModSymExt(t *testing.T) {
	ko := testcorpus.ExtModule(t, "kdive_ext")
	for _, sc := range testcorpus.ExtScenarios() {
		for _, withVmlinux := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/vmlinux=%v", sc, withVmlinux), func(t *testing.T) {
				vml := ""
				if withVmlinux {
					vml = testcorpus.ExtVmlinux(t)
				}
				truth := testcorpus.ExtTruth(t, sc)
				obj := map[string]string{}
				for _, k := range []string{"object", "leak_obj"} {
					for _, l := range truth[k] {
						if f := strings.Fields(l); len(f) == 2 {
							obj[k+" "+f[0]] = f[1]
						}
					}
				}
				p := openProg(t, vml, testcorpus.ExtFile(t, sc, testcorpus.KdumpLZO))
				run := modRun(t, p, false)
				run("mod -s kdive_ext " + ko)
				if got, want := run("p kdive_ext_global.state"), fmt.Sprintf("$1 = (struct kdive_ext_state *) 0x%s\n", obj["object state"]); got != want {
					t.Errorf("state: %q, want %q", got, want)
				}
				if got, want := run("p &kdive_ext_global"), fmt.Sprintf("$2 = (struct kdive_ext_global *) 0x%s <kdive_ext_global>\n", obj["object global"]); got != want {
					t.Errorf("&global: %q, want %q", got, want)
				}
				if len(truth["leak_count"]) == 0 {
					return
				}
				n, _ := strconv.Atoi(truth["leak_count"][0])
				if sz := truth["leak_objsize"]; len(sz) == 0 || run("p sizeof(struct kdive_ext_leak)") != "$3 = "+sz[0]+"\n" {
					t.Errorf("sizeof(struct kdive_ext_leak): truth %v", sz)
				}
				head := strings.Fields(run("p &kdive_ext_global.leak_list"))
				if len(head) != 7 || head[6] != "<kdive_ext_global+64>" {
					t.Fatalf("&kdive_ext_global.leak_list: %v", head)
				}
				items := strings.Fields(run("list kdive_ext_leak.node -H " + strings.TrimPrefix(head[5], "0x")))
				if len(items) != n || items[0] != obj["leak_obj 0"] || items[n-1] != obj["leak_obj 4999"] || items[2500] != obj["leak_obj 2500"] {
					t.Fatalf("leak list: %d items (truth %d), first %v", len(items), n, items[:min(3, len(items))])
				}
				got := run("struct kdive_ext_leak.magic,index,ctor_seen,tag -x " + items[2500])
				if want := "  magic = 0x6b6469766c65616b,\n  index = 0x9c4,\n  ctor_seen = 0x1,\n  tag = \"leak-2500"; !strings.HasPrefix(got, want) {
					t.Errorf("leak object 2500:\n%s\nwant prefix\n%s", got, want)
				}
			})
		}
	}
}
