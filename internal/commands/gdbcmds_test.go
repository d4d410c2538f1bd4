package commands

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kdive/internal/kernel/tasks"
	"kdive/internal/program"
	"kdive/internal/testcorpus"
)

// gdbcmdsSteps reads testdata/gdbcmds-oops-proc.golden (crash 8.0.2's
// output of gdbcmds.cmds), skipping when the corpus is not the one it was
// captured on.
func gdbcmdsSteps(t *testing.T) []struct{ cmd, want string } {
	_, b := goldenFor(t, testcorpus.Dir(t), "gdbcmds-oops-proc.golden")
	var steps []struct{ cmd, want string }
	for _, part := range strings.Split(b, "@@@ ")[1:] {
		cmd, out, _ := strings.Cut(part, "\n")
		steps = append(steps, struct{ cmd, want string }{cmd, out})
	}
	return steps
}

// gdbcmdsRun runs one command line as the golden records it: KO is the
// rig module's path, CORPUS the corpus's real path.
func gdbcmdsRun(t *testing.T, p *program.Program, line string) string {
	ko := testcorpus.Module(t, "kdive_rig")
	real, err := filepath.EvalSymlinks(testcorpus.Dir(t))
	if err != nil {
		t.Fatal(err)
	}
	line = strings.ReplaceAll(line, "KO", ko)
	// gdb's "x/4xg ADDR" is "x /4xg ADDR", as the session splits it.
	if w, rest, _ := strings.Cut(line, " "); strings.Contains(w, "/") && !strings.HasPrefix(w, "/") {
		if i := strings.IndexByte(w, '/'); Lookup(w[:i]) != nil {
			line = strings.TrimSpace(w[:i] + " " + w[i:] + " " + rest)
		}
	}
	got := typecmdsRun(t, p, line)
	got = strings.ReplaceAll(got, ko, "KO")
	return strings.ReplaceAll(got, real, "CORPUS")
}

// gdb's disassemble (/r, /m, /s, ranges), add-symbol-file and info
// symbol/line/address on the oops-proc dump with the vmlinux print what
// crash 8.0.2 (gdb 10.2) prints, byte for byte: kernel functions, then
// the rig module's after add-symbol-file, source files not found.
func TestGdbCommandsGolden(t *testing.T) {
	steps := gdbcmdsSteps(t)
	t.Chdir(t.TempDir()) // no kernel sources here
	p := linesOpen(t, true)
	defer p.Close()
	for _, s := range steps {
		got := gdbcmdsRun(t, p, s.cmd)
		if got != s.want {
			t.Errorf("%s: differs from crash:\n%s", s.cmd, rdsymFirstDiff(s.want, got))
		}
	}
}

// With the rig module's source in the current directory (copied there
// now: newer than the .ko, so gdb warns once), disassemble /m and /s show
// the source text as crash 8.0.2 does (the seed investigation's
// "disassemble /m" after add-symbol-file).
func TestGdbCommandsSourceGolden(t *testing.T) {
	b, err := os.ReadFile("testdata/gdbcmds-src-oops-proc.golden")
	if err != nil {
		t.Fatal(err)
	}
	gdbcmdsSteps(t) // the corpus check
	src, err := os.ReadFile(filepath.Join(testcorpus.Dir(t), "modules", "kdive_rig.c"))
	if err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "testdata/rig/module"), 0o755)
	if err := os.WriteFile(filepath.Join(dir, "testdata/rig/module/kdive_rig.c"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	p := linesOpen(t, true)
	defer p.Close()
	for _, part := range strings.Split(string(b), "@@@ ")[1:] {
		cmd, want, _ := strings.Cut(part, "\n")
		if got := gdbcmdsRun(t, p, cmd); got != want {
			t.Errorf("%s: differs from crash:\n%s", cmd, rdsymFirstDiff(want, got))
		}
	}
	// Past the end of the file: gdb's error (crash: "gdb request failed").
	want := fmt.Sprintf("gdb: Line number 9994 out of range; \"testdata/rig/module/kdive_rig.c\" has %d lines.\n", strings.Count(string(src), "\n"))
	if got := gdbcmdsRun(t, p, "gdb list kdive_rig.c:9999"); got != want {
		t.Errorf("gdb list kdive_rig.c:9999: %q, want %q", got, want)
	}
}

// gdbcmdsGoldenOut is the golden's output of one command.
func gdbcmdsGoldenOut(t *testing.T, cmd string) string {
	for _, s := range gdbcmdsSteps(t) {
		if s.cmd == cmd {
			return s.want
		}
	}
	t.Fatalf("no %q in the golden", cmd)
	return ""
}

// Without the vmlinux (kallsyms, no line tables): a kernel function's
// dump is crash's with the vmlinux (its end found without a symbol size),
// /m and /s show the instructions alone as gdb does without line
// information, a module function disassembles from kallsyms before any
// object file is loaded, and info says what gdb says of a symbol without
// debug information; after add-symbol-file the module's source lines are
// crash's.
func TestGdbCommandsNoVmlinux(t *testing.T) {
	plain := gdbcmdsGoldenOut(t, "disassemble schedule")
	raw := gdbcmdsGoldenOut(t, "disassemble /r schedule")
	rawMod := gdbcmdsGoldenOut(t, "disassemble /r kdive_rig_null_deref")
	p := linesOpen(t, false)
	defer p.Close()
	for cmd, want := range map[string]string{
		"disassemble schedule":                plain,
		"disassemble /m schedule":             plain,
		"disassemble /s schedule":             plain,
		"disassemble /r schedule":             raw,
		"gdb disassemble /r schedule+90":      raw,
		"disassemble /r kdive_rig_null_deref": rawMod,
		"info line schedule":                  "No line number information available for address 0xffffffffbd209380 <schedule>\n",
		"info line *0xffffffffbd2093da":       "No line number information available for address 0xffffffffbd2093da <schedule+90>\n",
		"info address schedule":               "Symbol \"schedule\" is at 0xffffffffbd209380 in a file compiled without debugging.\n",
		"info symbol 0xffffffffbd2093da":      "schedule + 90 in section .text\n",
		"info symbol 0xffffffffc0520010":      "kdive_rig_null_deref + 16 in section .text of kdive_rig\n",
		"info symbol &jiffies":                "jiffies in section .data\n",
	} {
		if got := gdbcmdsRun(t, p, cmd); got != want {
			t.Errorf("%s:\n%s", cmd, rdsymFirstDiff(want, got))
		}
	}
	// The module's object file brings its lines: /m and /s as crash's
	// with the vmlinux.
	cmds := []string{"add-symbol-file KO 0xffffffffc0520000", "disassemble /m kdive_rig_write", "disassemble /s kdive_rig_write", "info line kdive_rig_write"}
	wants := map[string]string{}
	for _, cmd := range cmds {
		wants[cmd] = gdbcmdsGoldenOut(t, cmd)
	}
	t.Chdir(t.TempDir())
	for _, cmd := range cmds {
		if got, want := gdbcmdsRun(t, p, cmd), wants[cmd]; got != want {
			t.Errorf("%s:\n%s", cmd, rdsymFirstDiff(want, got))
		}
	}
}

// Bad input: one line naming the problem, and the next command works.
func TestGdbCommandsBadInput(t *testing.T) {
	gdbcmdsSteps(t)
	p := linesOpen(t, true)
	defer p.Close()
	rig := filepath.Join(os.Getenv("HOME"), ".cache/kdive/dbg-"+testcorpus.KernelVersion(t),
		"usr/lib/debug/lib/modules", testcorpus.KernelVersion(t), "kernel/net/key/af_key.ko")
	cases := map[string]string{
		"disassemble nosuchfunc":                            "disassemble: No symbol \"nosuchfunc\" in current context.\n",
		"disassemble 0x1234":                                "disassemble: No function contains specified address (0x1234).\n",
		"disassemble jiffies":                               "disassemble: No function contains specified address (0xffffffffbe2079c0).\n",
		"disassemble /x schedule":                           "disassemble: Invalid disassembly modifier.\n",
		"disassemble /m /s schedule":                        "disassemble: Cannot specify both /m and /s.\n",
		"disassemble 0xffffffffbd209390,0xffffffffbd209380": "disassemble: invalid range: 0xffffffffbd209390,0xffffffffbd209380: the end is before the start\n",
		"disassemble 0xffffffffbd209380,+0x2000000":         "disassemble: range 0xffffffffbd209380,0xffffffffbf209380: more than 1048576 bytes\n",
		"disassemble 0xffffffffc0523ffe,+4":                 "Dump of assembler code from 0xffffffffc0523ffe to 0xffffffffc0524002:\n   0xffffffffc0523ffe:\tadd    %al,(%rax)\ndisassemble: Cannot access memory at address 0xffffffffc0524000\n",
		"info symbol 0x1234":                                "No symbol matches 0x1234.\n",
		"info address nosuch":                               "info: No symbol \"nosuch\" in current context.\n",
		"info line nosuch":                                  "info: Function \"nosuch\" not defined.\n",
		"info line *0x1234":                                 "No line number information available for address 0x1234\n",
		"info frob":                                         "info: Undefined info command: \"frob\".  Try \"help info\".\n",
		"gdb frob x":                                        "gdb: frob: kdive runs no gdb: of gdb's commands it has disassemble, add-symbol-file, info symbol|line|address, list, x, p, ptype, whatis\n",
		"disassemble /":                                     "disassemble: Missing modifier.\n",
		"disassemble 0xfffffffffffffff0,0xffffffffffffffff": "Dump of assembler code from 0xfffffffffffffff0 to 0xffffffffffffffff:\ndisassemble: Cannot access memory at address 0xfffffffffffffff0\n",
		"x/3q 0x1":                                          "x: Undefined output format \"q\".\n",
		"x/2xg 0x1":                                         "0x1:\nx: Cannot access memory at address 0x1\n",
		"x/s jiffies":                                       "x: Cannot access memory at address 0xfffee27f\n",
		"gdb list nosuchfunc":                               "gdb: Function \"nosuchfunc\" not defined.\n",
		"gdb list nosuch.c:12":                              "gdb: No source file named nosuch.c.\n",
		"add-symbol-file /nonexistent.ko 0x1":               "add-symbol-file: /nonexistent.ko: No such file or directory.\n",
		"add-symbol-file /etc/hostname 0x1":                 "add-symbol-file: /etc/hostname: not in executable format: file format not recognized\n",
	}
	if _, err := os.Stat(rig); err == nil {
		cases["add-symbol-file "+rig+" 0xffffffffc0520000"] = "add-symbol-file: " + rig + " is module af_key, which is not loaded in the dump: kdive places only loaded modules' sections\n"
	}
	if _, err := os.Stat("/etc/hostname"); err != nil {
		delete(cases, "add-symbol-file /etc/hostname 0x1")
	}
	for cmd, want := range cases {
		if got := gdbcmdsRun(t, p, cmd); got != want {
			t.Errorf("%s:\n%s", cmd, rdsymFirstDiff(want, got))
		}
		// The session goes on.
		if got := gdbcmdsRun(t, p, "info symbol 0xffffffffbd2093da"); got != "schedule + 90 in section .text\n" {
			t.Fatalf("after %s: info symbol: %q", cmd, got)
		}
	}
}

// add-symbol-file with addresses that are not the module's: one line each
// says so, the module's real layout is used (its data symbol where the
// kernel put it); loading twice keeps the first file.
func TestAddSymbolFileLayout(t *testing.T) {
	gdbcmdsSteps(t)
	p := linesOpen(t, true)
	defer p.Close()
	got := gdbcmdsRun(t, p, "add-symbol-file KO 0xffffffffc0521000 -s .data 0xffffffffc0522000")
	want := "add symbol table from file \"KO\" at\n\t.text_addr = 0xffffffffc0521000\n\t.data_addr = 0xffffffffc0522000\nReading symbols from KO...\n" +
		"add-symbol-file: module kdive_rig's .text is at 0xffffffffc0520000, not 0xffffffffc0521000: using the module's section addresses\n" +
		"add-symbol-file: module kdive_rig's .data is at 0xffffffffc0522010, not 0xffffffffc0522000: using the module's section addresses\n"
	if got != want {
		t.Errorf("add-symbol-file:\n%s", rdsymFirstDiff(want, got))
	}
	if md := p.ModuleDebugOf("kdive_rig"); md == nil || md.Index == nil {
		t.Fatalf("kdive_rig's object file not loaded: %+v", md)
	}
	for cmd, want := range map[string]string{
		"info address kdive_rig_global":  "Symbol \"kdive_rig_global\" is static storage at address 0xffffffffc0522010.\n",
		"info symbol 0xffffffffc0522020": "kdive_rig_global + 16 in section .data of CORPUS/modules/kdive_rig.ko\n",
		"mod -s kdive_rig KO":            "",
	} {
		got := gdbcmdsRun(t, p, cmd)
		if cmd == "mod -s kdive_rig KO" {
			if !strings.Contains(got, " kdive_rig ") || !strings.Contains(got, "KO") {
				t.Errorf("mod -s after add-symbol-file: %q", got)
			}
			continue
		}
		if got != want {
			t.Errorf("%s:\n%s", cmd, rdsymFirstDiff(want, got))
		}
	}
	// x and info symbol take a variable's value (gdb's value_as_address):
	// kdive_rig_state points at the rig's state object (guest truth),
	// &kdive_rig_global is the global (crash's gdb, with only .text
	// relocated, reads 0x1230 instead).
	truth := testcorpus.Truth(t, "oops-proc")
	obj := map[string]string{}
	for _, l := range truth["object"] {
		if f := strings.Fields(l); len(f) == 2 {
			obj[f[0]] = f[1]
		}
	}
	if got := gdbcmdsRun(t, p, "x/2xg kdive_rig_state"); !strings.HasPrefix(got, "0x"+obj["state"]+":\t0x") {
		t.Errorf("x/2xg kdive_rig_state: %q, want the state object 0x%s", got, obj["state"])
	}
	if got := gdbcmdsRun(t, p, "x/1xg &kdive_rig_global"); !strings.HasPrefix(got, "0x"+obj["global"]+" <kdive_rig_global>:\t0x") {
		t.Errorf("x/1xg &kdive_rig_global: %q, want 0x%s", got, obj["global"])
	}
	if got, want := gdbcmdsRun(t, p, "gdb x/1xg &kdive_rig_global"), gdbcmdsRun(t, p, "x/1xg &kdive_rig_global"); got != want {
		t.Errorf("gdb x/1xg: %q, want %q", got, want)
	}
	if got := gdbcmdsRun(t, p, "info symbol kdive_rig_state"); got != "No symbol matches kdive_rig_state.\n" {
		t.Errorf("info symbol kdive_rig_state: %q", got)
	}
	// A bare x goes on after the last unit.
	if got := gdbcmdsRun(t, p, "x"); !strings.HasPrefix(got, fmt.Sprintf("0x%s <kdive_rig_global+8>:\t0x", obj["global"][:len(obj["global"])-1]+"8")) {
		t.Errorf("x after x/1xg &kdive_rig_global: %q", got)
	}
	// Without an address: the module's own .text.
	got = gdbcmdsRun(t, p, "add-symbol-file KO")
	if want := "add symbol table from file \"KO\" at\n\t.text_addr = 0xffffffffc0520000\nReading symbols from KO...\n"; got != want {
		t.Errorf("add-symbol-file KO:\n%s", rdsymFirstDiff(want, got))
	}
}

// disassemble without a location is the function of the current
// context's PC, which "=> " marks (frame #0 of bt: machine_kexec on the
// oops-proc dump's panic task); a function not holding it has no mark.
func TestDisassembleContextPC(t *testing.T) {
	gdbcmdsSteps(t)
	p := linesOpen(t, true)
	defer p.Close()
	got := gdbcmdsRun(t, p, "disassemble")
	if !strings.HasPrefix(got, "Dump of assembler code for function machine_kexec:\n") ||
		strings.Count(got, "\n=> ") != 1 || !strings.HasSuffix(got, "End of assembler dump.\n") {
		t.Fatalf("disassemble:\n%s", got)
	}
	bt := gdbcmdsRun(t, p, "bt")
	_, after, _ := strings.Cut(got, "\n=> 0x")
	pc, _, _ := strings.Cut(after, " ")
	if !strings.Contains(bt, "machine_kexec at "+pc+"\n") {
		t.Errorf("the marked PC 0x%s is not bt's frame #0:\n%s", pc, bt)
	}
	if strings.Contains(gdbcmdsRun(t, p, "disassemble schedule"), "=>") {
		t.Errorf("schedule marked")
	}
	// $pc is that PC.
	if got2 := gdbcmdsRun(t, p, "disassemble $pc"); got2 != got {
		t.Errorf("disassemble $pc:\n%s", got2)
	}
	if got := gdbcmdsRun(t, p, "info symbol $pc"); !strings.HasPrefix(got, "machine_kexec + ") {
		t.Errorf("info symbol $pc: %q", got)
	}
	if got := gdbcmdsRun(t, p, "disassemble $pc,+1"); !strings.Contains(got, "\n=> 0x"+pc+" <machine_kexec+") {
		t.Errorf("disassemble $pc,+1: %q", got)
	}
	// Another context (set PID): a sleeping task's frame #0.
	tl, err := tasks.List(p, tasks.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range tl.Tasks {
		if tk.Comm != "kthreadd" {
			continue
		}
		p.SetCurrentTask(tk.Addr)
		defer p.ResetCurrentTask()
		bt := gdbcmdsRun(t, p, "bt")
		var f0 []string // "#0 [sp] func at addr"
		for _, l := range strings.Split(bt, "\n") {
			if strings.HasPrefix(l, " #0 ") {
				f0 = strings.Fields(l)
			}
		}
		if len(f0) < 5 {
			t.Fatalf("bt of kthreadd: %q", bt)
		}
		got := gdbcmdsRun(t, p, "disassemble")
		if !strings.HasPrefix(got, "Dump of assembler code for function "+f0[2]+":\n") || !strings.Contains(got, "\n=> 0x"+f0[4]+" <+") {
			t.Errorf("disassemble in kthreadd's context (bt #0 %s at %s):\n%s", f0[2], f0[4], got)
		}
		return
	}
	t.Error("no kthreadd")
}

// disassemble /s, /m and /r of 254 functions across the kernel's text
// (hot and cold parts, inlined code from headers, indirect thunks,
// aliases, .constprop functions) print what crash 8.0.2 prints, byte for
// byte (gdbcmds-wide-oops-proc.golden.gz).
func TestGdbCommandsWideGolden(t *testing.T) {
	if testing.Short() {
		t.Skip("510 dumps")
	}
	_, b := goldenFor(t, testcorpus.Dir(t), "gdbcmds-wide-oops-proc.golden.gz")
	t.Chdir(t.TempDir())
	p := linesOpen(t, true)
	defer p.Close()
	n := 0
	for _, part := range strings.Split(string(b), "@@@ ")[1:] {
		cmd, want, _ := strings.Cut(part, "\n")
		if got := typecmdsRun(t, p, cmd); got != want {
			t.Errorf("%s: differs from crash:\n%s", cmd, rdsymFirstDiff(want, got))
		}
		n++
	}
	if n != 510 {
		t.Errorf("%d commands in the golden, want 510", n)
	}
}

// On every ext scenario, with the vmlinux and without: after
// add-symbol-file of kdive_ext.ko at its .text, disassemble /s of each of
// the module's functions is the plain dump with source lines between
// (the same instruction lines in the same order), its file lines name
// kdive_ext.c (and the headers it inlines), and info line of each
// function starts at the function.
func TestGdbCommandsExt(t *testing.T) {
	if testing.Short() {
		t.Skip("every ext scenario")
	}
	ko := testcorpus.ExtModule(t, "kdive_ext")
	t.Chdir(t.TempDir())
	for _, sc := range testcorpus.ExtScenarios() {
		for _, withVmlinux := range []bool{false, true} {
			if !withVmlinux && sc != "uaf" && sc != "hung" {
				continue
			}
			t.Run(fmt.Sprintf("%s/vmlinux=%v", sc, withVmlinux), func(t *testing.T) {
				vml := ""
				if withVmlinux {
					vml = testcorpus.ExtVmlinux(t)
				}
				p := openProg(t, vml, testcorpus.ExtFile(t, sc, testcorpus.KdumpLZO))
				mods, _ := p.Modules()
				m, ok := modRef(mods, "kdive_ext")
				if !ok {
					t.Fatal("kdive_ext not loaded")
				}
				secs, err := p.ModuleSections(m)
				if err != nil {
					t.Fatal(err)
				}
				var text uint64
				for _, s := range secs {
					if s.Name == ".text" {
						text = s.Addr
					}
				}
				out := typecmdsRun(t, p, fmt.Sprintf("add-symbol-file %s 0x%x", ko, text))
				if !strings.HasSuffix(out, "Reading symbols from "+ko+"...\n") {
					t.Fatalf("add-symbol-file: %q", out)
				}
				n := 0
				for _, s := range p.Symbols().Module("kdive_ext") {
					if s.Type != 't' && s.Type != 'T' || s.Addr < text || strings.Contains(s.Name, ".") || len(p.Symbols().LookupAll(s.Name)) > 1 {
						continue // cleanup_module is in every module
					}
					n++
					plain := typecmdsRun(t, p, "disassemble "+s.Name)
					src := typecmdsRun(t, p, "disassemble /s "+s.Name)
					if insnLines(src) != insnLines(plain) || insnLines(plain) == "" {
						t.Errorf("disassemble /s %s: instructions differ from the plain dump:\n%s\n%s", s.Name, src, plain)
					}
					if !strings.Contains(src, "kdive_ext.c:\n") {
						t.Errorf("disassemble /s %s: no kdive_ext.c lines:\n%s", s.Name, src)
					}
					il := typecmdsRun(t, p, "info line "+s.Name)
					if want := fmt.Sprintf(" starts at address 0x%x <%s> and ends at ", s.Addr, s.Name); !strings.Contains(il, want) {
						t.Errorf("info line %s: %q", s.Name, il)
					}
				}
				if n < 3 {
					t.Errorf("%d kdive_ext functions", n)
				}
			})
		}
	}
}

// insnLines are a dump's instruction lines.
func insnLines(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, "   0x") || strings.HasPrefix(l, "=> 0x") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// FuzzGdbCommandArgs runs disassemble, info, x and gdb list with fuzzed
// arguments on the oops-proc dump (with the vmlinux): an error or output,
// never a panic (ranges near 2^64 once panicked in dis's byte cache).
func FuzzGdbCommandArgs(f *testing.F) {
	for _, s := range []string{
		"disassemble /r schedule", "disassemble 0xfffffffffffffff0,0xffffffffffffffff",
		"disassemble /s 0xffffffffbd209380,+40", "disassemble /m vfs_write", "disassemble ,+5",
		"info symbol 0xffffffffbd2093da", "info line *0xffffffffbd2093da", "info address jiffies",
		"gdb list schedule", "gdb list *0x1", "gdb list kdive_rig.c:80", "gdb list 5", "disassemble $pc",
		"x /4xg 0xffffffffbe21aa40", "x /3i schedule", "x /2s linux_banner", "x /8c 0xfffffffffffffffc", "x", "x /s jiffies",
	} {
		f.Add(s)
	}
	p, err := program.Open(testcorpus.Vmlinux(f), testcorpus.File(f, "oops-proc", testcorpus.KdumpELF), program.OpenOptions{})
	if err != nil {
		f.Fatal(err)
	}
	defer p.Close()
	f.Fuzz(func(t *testing.T, line string) {
		args := strings.Fields(line)
		if len(args) == 0 || len(line) > 200 {
			return
		}
		switch args[0] {
		case "disassemble", "info", "gdb", "x":
		default:
			return
		}
		if args[0] == "gdb" && (len(args) < 2 || args[1] != "list" && args[1] != "info" && args[1] != "disassemble") {
			return
		}
		var buf bytes.Buffer
		env := &Env{Prog: p, Out: &buf, Err: &buf}
		_ = Lookup(args[0]).Run(env, args[1:])
	})
}
