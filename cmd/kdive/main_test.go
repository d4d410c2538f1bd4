package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"

	"kdive/internal/commands"
	"kdive/internal/program"
	"kdive/internal/testcorpus"
)

func TestParseArgs(t *testing.T) {
	tests := []struct {
		args []string
		want options
	}{
		{[]string{"vmlinux", "vmcore"}, options{files: []string{"vmlinux", "vmcore"}}},
		{[]string{"-s", "vmcore"}, options{silent: true, files: []string{"vmcore"}}},
		{[]string{"vmcore", "-s"}, options{silent: true, files: []string{"vmcore"}}},
		{[]string{"-c", "sys", "-c", "bt -a", "vmcore"},
			options{cmds: []string{"sys", "bt -a"}, files: []string{"vmcore"}}},
		{[]string{"-csys", "-sc", "log", "vmcore"},
			options{silent: true, cmds: []string{"sys", "log"}, files: []string{"vmcore"}}},
		{[]string{"-i", "f", "vmcore"}, options{inputFile: "f", files: []string{"vmcore"}}},
		{[]string{"-si", "f", "vmcore"}, options{silent: true, inputFile: "f", files: []string{"vmcore"}}},
		{[]string{"--zero_excluded", "--force", "x"},
			options{zeroExcluded: true, force: true, files: []string{"x"}}},
		{[]string{"--zero-excluded", "x"}, options{zeroExcluded: true, files: []string{"x"}}},
		{[]string{"-h"}, options{help: true}},
		{[]string{"-h", "bt"}, options{help: true, helpTopic: "bt"}},
		{[]string{"--help", "bt"}, options{help: true, helpTopic: "bt"}},
		{[]string{"--help=input"}, options{help: true, helpTopic: "input"}},
		{[]string{"-v"}, options{version: true}},
		{[]string{"--version"}, options{version: true}},
		{[]string{"--", "-s"}, options{files: []string{"-s"}}},
	}
	for _, tt := range tests {
		got, err := parseArgs(tt.args)
		if err != nil {
			t.Errorf("parseArgs(%q): %v", tt.args, err)
			continue
		}
		if !reflect.DeepEqual(*got, tt.want) {
			t.Errorf("parseArgs(%q) = %+v, want %+v", tt.args, *got, tt.want)
		}
	}
	for _, bad := range [][]string{{"-x"}, {"--bogus"}, {"-c"}, {"-i"}, {"--force=1"}} {
		if _, err := parseArgs(bad); err == nil {
			t.Errorf("parseArgs(%q): no error", bad)
		}
	}
}

func elfHeader(typ uint16) []byte {
	b := make([]byte, 64)
	copy(b, "\x7fELF")
	b[4] = 2 // ELFCLASS64
	b[5] = 1 // little-endian
	b[6] = 1
	binary.LittleEndian.PutUint16(b[16:], typ)
	binary.LittleEndian.PutUint16(b[18:], 62) // EM_X86_64
	return b
}

// classifyHeader is a stand-in for dump/open's detectors, which want a real
// kernel image: ET_CORE is a dump, ET_EXEC a vmlinux.
func classifyHeader(b []byte) fileKind {
	if len(b) < 18 || string(b[:4]) != "\x7fELF" {
		return kindUnknown
	}
	switch binary.LittleEndian.Uint16(b[16:]) {
	case 4:
		return kindDump
	case 2:
		return kindVmlinux
	}
	return kindUnknown
}

func fakeClassify(path string) (fileKind, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return kindUnknown, err
	}
	return classifyHeader(b), nil
}

// TestClassify checks the real detectors on what needs no real kernel.
func TestClassify(t *testing.T) {
	dir, _, dump := fixture(t)
	text := filepath.Join(dir, "text")
	os.WriteFile(text, []byte("hello\n"), 0o644)
	for _, tt := range []struct {
		path string
		want fileKind
	}{
		{dump, kindDump},
		{text, kindUnknown},
		{filepath.Join(dir, "vmlinux"), kindUnknown}, // an ELF header alone is no kernel
	} {
		if got, err := classify(tt.path); got != tt.want || err != nil {
			t.Errorf("classify(%s) = %v, %v; want %v", tt.path, got, err, tt.want)
		}
	}
	if _, err := classify(filepath.Join(dir, "nonexistent")); err == nil {
		t.Error("classify of a missing file: no error")
	}
}

func TestClassifyHeader(t *testing.T) {
	tests := []struct {
		b    []byte
		want fileKind
	}{
		{elfHeader(4), kindDump},
		{elfHeader(2), kindVmlinux},
		{elfHeader(1), kindUnknown}, // ET_REL: a module
		{[]byte("hello"), kindUnknown},
		{nil, kindUnknown},
	}
	for i, tt := range tests {
		if got := classifyHeader(tt.b); got != tt.want {
			t.Errorf("%d: classifyHeader = %v, want %v", i, got, tt.want)
		}
	}
}

// fixture makes a fake dump and a fake vmlinux (headers only).
func fixture(t *testing.T) (dir, vmlinux, dump string) {
	dir = t.TempDir()
	vmlinux = filepath.Join(dir, "vmlinux")
	dump = filepath.Join(dir, "vmcore")
	os.WriteFile(vmlinux, elfHeader(2), 0o644)
	os.WriteFile(dump, elfHeader(4), 0o644)
	return
}

var registerOnce sync.Once

func registerFakes() {
	registerOnce.Do(func() {
		commands.Register(&commands.Command{
			Name: "zzok", Summary: "succeed",
			Run: func(env *commands.Env, args []string) error {
				fmt.Fprintf(env.Out, "ok %s\n", strings.Join(args, ","))
				return nil
			},
		})
		commands.Register(&commands.Command{
			Name: "zzfail", Summary: "fail",
			Run: func(env *commands.Env, args []string) error {
				return errors.New("it failed")
			},
		})
		commands.Register(&commands.Command{
			Name: "zzpanic", Summary: "panic",
			Run: func(env *commands.Env, args []string) error {
				var p *program.Program
				_ = p.VmlinuxPath // nil dereference
				return nil
			},
		})
		commands.Register(&commands.Command{
			Name: "zzlots", Summary: "lots of output",
			Run: func(env *commands.Env, args []string) error {
				for i := 0; i < 1_000_000; i++ {
					fmt.Fprintf(env.Out, "line %d\n", i)
				}
				return nil
			},
		})
	})
}

// runFake runs kdive in-process with a fake program.Open.
func runFake(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string, opened []string) {
	t.Helper()
	registerFakes()
	saved, savedClassify := openProgram, classify
	defer func() { openProgram, classify = saved, savedClassify }()
	classify = fakeClassify
	openProgram = func(vmlinux, dump string, o program.OpenOptions) (*program.Program, error) {
		opened = []string{vmlinux, dump}
		if o.Warn != nil {
			o.Warn("fake program")
		}
		return &program.Program{VmlinuxPath: vmlinux}, nil
	}
	var out, errb bytes.Buffer
	code = run(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String(), opened
}

func TestFilesEitherOrder(t *testing.T) {
	_, vmlinux, dump := fixture(t)
	for _, args := range [][]string{{vmlinux, dump}, {dump, vmlinux}} {
		code, _, _, opened := runFake(t, "", append([]string{"-s"}, args...)...)
		if code != 0 || !reflect.DeepEqual(opened, []string{vmlinux, dump}) {
			t.Errorf("%q: code %d, opened %q", args, code, opened)
		}
	}
	code, _, _, opened := runFake(t, "", "-s", dump)
	if code != 0 || !reflect.DeepEqual(opened, []string{"", dump}) {
		t.Errorf("dump alone: code %d, opened %q", code, opened)
	}
}

func TestBadFiles(t *testing.T) {
	dir, vmlinux, dump := fixture(t)
	text := filepath.Join(dir, "text")
	os.WriteFile(text, []byte("hello\n"), 0o644)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"/nonexistent/vmcore"}, "kdive: /nonexistent/vmcore: No such file or directory\n"},
		{[]string{dump, "/nonexistent/vmlinux"}, "kdive: /nonexistent/vmlinux: No such file or directory\n"},
		{[]string{dir}, "kdive: " + dir + ": not a supported file format\n"},
		{[]string{text}, "kdive: " + text + ": not a supported file format\n"},
		{[]string{dump, dump}, "kdive: too many dumpfile arguments\n"},
		{[]string{vmlinux, vmlinux, dump}, "kdive: too many namelist arguments\n"},
		{[]string{"-i", "/nonexistent/cmds", dump}, "kdive: /nonexistent/cmds: No such file or directory\n"},
	}
	for _, tt := range tests {
		code, _, stderr, opened := runFake(t, "", tt.args...)
		if code != 1 || stderr != tt.want || opened != nil {
			t.Errorf("%q: code %d, stderr %q, opened %q", tt.args, code, stderr, opened)
		}
	}
}

func TestBatchExitStatus(t *testing.T) {
	_, _, dump := fixture(t)
	tests := []struct {
		name     string
		stdin    string
		args     []string
		code     int
		stdout   string
		errLines int
	}{
		{"stdin ok", "zzok 1\n# comment\n\nzzok 2\n", nil, 0, "ok 1\nok 2\n", 0},
		{"stdin fail", "zzok 1\nzzfail\nzzok 2\n", nil, 1, "ok 1\nok 2\n", 1},
		{"stdin panic", "zzpanic\nzzok 2\n", nil, 1, "ok 2\n", 1},
		{"stdin unknown", "nosuch\nzzok 2\n", nil, 1, "ok 2\n", 1},
		{"stdin quit", "zzok 1\nq\nzzfail\n", nil, 0, "ok 1\n", 0},
		{"-c ok", "", []string{"-c", "zzok a", "-c", "zzok b"}, 0, "ok a\nok b\n", 0},
		{"-c fail", "", []string{"-c", "zzfail", "-c", "zzok b"}, 1, "ok b\n", 1},
		{"-c lots | head", "", []string{"-c", "zzlots | head -2", "-c", "zzok b"}, 0, "line 0\nline 1\nok b\n", 0},
		{"-c ignores stdin", "zzok stdin\n", []string{"-c", "zzok c"}, 0, "ok c\n", 0},
	}
	for _, tt := range tests {
		args := append([]string{"-s"}, tt.args...)
		args = append(args, dump)
		code, stdout, stderr, _ := runFake(t, tt.stdin, args...)
		nerr := strings.Count(stderr, "\n")
		// The fake program's warning is one line of stderr.
		if stderr != "" && strings.HasPrefix(stderr, "WARNING: fake program\n") {
			nerr--
		}
		if code != tt.code || stdout != tt.stdout || nerr != tt.errLines {
			t.Errorf("%s: code %d, stdout %q, stderr %q", tt.name, code, stdout, stderr)
		}
	}
}

func TestInputFileThenStdin(t *testing.T) {
	dir, _, dump := fixture(t)
	f := filepath.Join(dir, "cmds")
	os.WriteFile(f, []byte("zzok file\n"), 0o644)
	// Like crash, -i runs the file and then goes on with stdin.
	code, stdout, _, _ := runFake(t, "zzok stdin\n", "-s", "-i", f, dump)
	if code != 0 || stdout != "ok file\nok stdin\n" {
		t.Errorf("code %d, stdout %q", code, stdout)
	}
	// A file ending with quit ends the session there.
	os.WriteFile(f, []byte("zzfail\nzzok file\nquit\n"), 0o644)
	code, stdout, _, _ = runFake(t, "zzok stdin\n", "-s", "-i", f, dump)
	if code != 1 || stdout != "ok file\n" {
		t.Errorf("quit: code %d, stdout %q", code, stdout)
	}
}

func TestBannerAndEcho(t *testing.T) {
	_, _, dump := fixture(t)
	code, stdout, stderr, _ := runFake(t, "zzok 1\n", dump)
	if code != 0 {
		t.Fatalf("code %d, stderr %q", code, stderr)
	}
	if !strings.HasPrefix(stdout, "\nkdive ") || !strings.HasSuffix(stdout, "kdive> zzok 1\nok 1\n") {
		t.Errorf("stdout = %q", stdout)
	}
	if !strings.Contains(stderr, "WARNING: fake program\n") {
		t.Errorf("stderr = %q", stderr)
	}
}

// corpus returns a real vmlinux and dump of the rig's corpus; it skips the
// test when there is none (fails under KDIVE_REQUIRE_CORPUS=1).
func corpus(t *testing.T) (vmlinux, dump string) {
	t.Helper()
	dir := testcorpus.Dir(t)
	for _, sc := range testcorpus.Scenarios() {
		p := filepath.Join(dir, sc, testcorpus.KdumpLZO)
		if _, err := os.Stat(p); err == nil {
			return testcorpus.Vmlinux(t), p
		}
	}
	return testcorpus.Vmlinux(t), testcorpus.File(t, "oops-proc", testcorpus.KdumpLZO)
}

func buildKdive(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "kdive")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func runBin(t *testing.T, bin, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("%s: %v", bin, err)
	}
	return code, out.String(), errb.String()
}

// TestBinary runs the built kdive on what needs no dump.
func TestBinary(t *testing.T) {
	bin := buildKdive(t)
	if code, out, _ := runBin(t, bin, "", "--help"); code != 0 || !strings.Contains(out, "USAGE:") {
		t.Errorf("--help: code %d, out %q", code, out)
	}
	if code, out, _ := runBin(t, bin, "", "-v"); code != 0 || !strings.HasPrefix(out, "kdive ") {
		t.Errorf("-v: code %d, out %q", code, out)
	}
	if code, out, _ := runBin(t, bin, "", "-h", "help"); code != 0 || !strings.Contains(out, "NAME\n  help - get help") {
		t.Errorf("-h help: code %d, out %q", code, out)
	}
	code, out, errs := runBin(t, bin, "", "/nonexistent/vmcore")
	if code != 1 || out != "" || errs != "kdive: /nonexistent/vmcore: No such file or directory\n" {
		t.Errorf("missing dump: code %d, stdout %q, stderr %q", code, out, errs)
	}
}

// TestBinaryWithDump runs the built kdive on a real dump of the corpus.
func TestBinaryWithDump(t *testing.T) {
	vmlinux, dump := corpus(t)
	if _, err := program.Open(vmlinux, dump, program.OpenOptions{}); err != nil {
		if strings.Contains(err.Error(), "not implemented") {
			t.Skipf("program.Open: %v", err)
		}
	}
	bin := buildKdive(t)
	args := []string{"-s", "-c", "help", "-c", "help help | grep -c NAME", "-c", "nosuchcommand", dump, vmlinux}
	code, out, errs := runBin(t, bin, "", args...)
	if code != 1 {
		t.Errorf("exit status %d, want 1 (one command failed); stderr %q", code, errs)
	}
	if !strings.Contains(out, "For help on any command above") || !strings.HasSuffix(out, "\n1\n") {
		t.Errorf("stdout = %q", out)
	}
	if !strings.HasSuffix(errs, "kdive: command not found: nosuchcommand\n") {
		t.Errorf("stderr = %q", errs)
	}

	// The same commands from stdin, plus quit.
	code, out, errs = runBin(t, bin, "help\n# comment\nq\nnosuchcommand\n", args[7:]...)
	if code != 0 || !strings.Contains(out, "kdive> help\n") {
		t.Errorf("stdin: code %d, stdout %q, stderr %q", code, out, errs)
	}
}

// On a real dump: crash's type-name shorthand and p/x run through the session.
func TestShorthandsOnDump(t *testing.T) {
	dir := testcorpus.Dir(t)
	bin := buildKdive(t)
	out, err := exec.Command(bin, "-s", filepath.Join(dir, "sysrq", "vmcore.lzo"),
		"-c", "task_struct.pid,comm init_task", "-c", "p/x 16").CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	want := "  pid = 0,\n  comm = \"swapper/0\\000\\000\\000\\000\\000\\000\",\n$1 = 0x10\n"
	if string(out) != want {
		t.Fatalf("got %q, want %q", out, want)
	}
}

// The context chosen with set lasts for the session: -c, -i and stdin;
// and foreach takes crash's quoted 'regex'.
func TestContextAcrossCommands(t *testing.T) {
	dir := testcorpus.Dir(t)
	bin := buildKdive(t)
	dump := filepath.Join(dir, "sysrq", "vmcore.lzo")
	want := func(how, out string) {
		t.Helper()
		if !strings.Contains(out, "PID: 1        TASK: ") || !strings.Contains(out, "] __schedule at ") {
			t.Errorf("%s: bt after set 1:\n%s", how, out)
		}
	}
	out, err := exec.Command(bin, "-s", dump, "-c", "set 1", "-c", "bt").CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	want("-c", string(out))
	f := filepath.Join(t.TempDir(), "cmds")
	if err := os.WriteFile(f, []byte("set 1\nbt\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = exec.Command(bin, "-s", dump, "-i", f).CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	want("-i", string(out))
	_, sout, serr := runBin(t, bin, "set 1\nbt\n", "-s", dump)
	want("stdin", sout+serr)
	out, err = exec.Command(bin, "-s", dump, "-c", "foreach 'kworker/0:0' task -R pid").CombinedOutput()
	if err != nil || !strings.Contains(string(out), `COMMAND: "kworker/0:0H"`) {
		t.Errorf("foreach 'regex': %v\n%s", err, out)
	}
}

// At start-up (no -s, no -c) the sys data is followed by the current
// context, each line indented by five blanks, as crash shows it.
func TestStartupContext(t *testing.T) {
	dir := testcorpus.Dir(t)
	bin := buildKdive(t)
	_, out, _ := runBin(t, bin, "q\n", filepath.Join(dir, "sysrq", "vmcore.lzo"))
	re := regexp.MustCompile(`\n       PANIC: "[^\n]*"\n         PID: \d+\n     COMMAND: "[^"]*"\n        TASK: [0-9a-f]{16}  \[THREAD_INFO: [0-9a-f]{16}\]\n         CPU: \d+\n       STATE: TASK_RUNNING \(PANIC\)\n\nkdive> q\n`)
	if !re.MatchString(out) {
		t.Errorf("start-up:\n%s", out)
	}
}
