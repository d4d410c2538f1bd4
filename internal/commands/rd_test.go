package commands

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"kdive/internal/program"
	"kdive/internal/testcorpus"
)

const rdBase = 0xffff888000010000 // a direct-map page of the fakes

// rdFake has two readable pages at rdBase, then an unmapped page, then an
// excluded one; its memory holds "ABCDEFGH..." at rdBase and a counter.
func rdFake() *symFake {
	f := symKernelFake()
	f.page(rdBase)
	f.page(rdBase + 0x1000)
	f.excluded[rdBase+0x3000] = true
	f.put(rdBase, []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZ\x00"))
	f.put64(rdBase+0x40, 0xfffffffffffffffe, 0x0000000000000001, 0xffffffff82000000, 0xffffffff82000044,
		0xffffffffc0000104, 0xffffffffc0000000, 0x10, 0xffffffff81000100)
	return f
}

func rdCheck(t *testing.T, f *symFake, line, wantOut, wantErr string) {
	t.Helper()
	out, _, err := f.run(t, line)
	if out != wantOut {
		t.Errorf("%s: output\n%q\nwant\n%q", line, out, wantOut)
	}
	if err != wantErr {
		t.Errorf("%s: error %q, want %q", line, err, wantErr)
	}
}

func TestRdFormats(t *testing.T) {
	f := rdFake()
	rdCheck(t, f, "rd ffff888000010000",
		"ffff888000010000:  4847464544434241                    ABCDEFGH\n", "")
	rdCheck(t, f, "rd -64 ffff888000010000 3",
		"ffff888000010000:  4847464544434241 504f4e4d4c4b4a49   ABCDEFGHIJKLMNOP\n"+
			"ffff888000010010:  5857565554535251                    QRSTUVWX\n", "")
	rdCheck(t, f, "rd -32 0xffff888000010000 5",
		"ffff888000010000:  44434241 48474645 4c4b4a49 504f4e4d   ABCDEFGHIJKLMNOP\n"+
			"ffff888000010010:  54535251                              QRST\n", "")
	rdCheck(t, f, "rd -16 ffff888000010000 3",
		"ffff888000010000:  4241 4443 4645                            ABCDEF\n", "")
	rdCheck(t, f, "rd -8 ffff888000010000 17",
		"ffff888000010000:  41 42 43 44 45 46 47 48 49 4a 4b 4c 4d 4e 4f 50   ABCDEFGHIJKLMNOP\n"+
			"ffff888000010010:  51                                                Q\n", "")
	rdCheck(t, f, "rd -x ffff888000010000 3",
		"ffff888000010000:  4847464544434241 504f4e4d4c4b4a49 \n"+
			"ffff888000010010:  5857565554535251 \n", "")
	rdCheck(t, f, "rd -d ffff888000010040 2",
		"ffff888000010040:               -2               1 \n", "")
	rdCheck(t, f, "rd -D ffff888000010040 2",
		"ffff888000010040:  18446744073709551614                    1 \n", "")
	rdCheck(t, f, "rd -32 -d ffff888000010040 2",
		"ffff888000010040:            -2           -1 \n", "")
	rdCheck(t, f, "rd -32 -D ffff888000010040 2",
		"ffff888000010040:    4294967294   4294967295 \n", "")
	rdCheck(t, f, "rd -16 -d ffff888000010040 1",
		"ffff888000010040:  65534 \n", "")
	rdCheck(t, f, "rd -8 -d ffff888000010040 2",
		"ffff888000010040:  254 255 \n", "")
	// -N swaps 16- and 32-bit values, and their ASCII.
	rdCheck(t, f, "rd -N -32 ffff888000010000 1",
		"ffff888000010000:  41424344                              DCBA\n", "")
}

func TestRdUnalignedAndPages(t *testing.T) {
	f := rdFake()
	rdCheck(t, f, "rd ffff888000010003 2",
		"ffff888000010003:  4b4a494847464544 535251504f4e4d4c   DEFGHIJKLMNOPQRS\n", "")
	rdCheck(t, f, "rd -32 ffff888000010001 1",
		"ffff888000010001:  45444342                              BCDE\n", "")
	// Items that straddle the boundary of two readable pages.
	f.put(rdBase+0xffc, []byte("wxyz1234"))
	rdCheck(t, f, "rd ffff888000010ffc 1",
		"ffff888000010ffc:  343332317a797877                    wxyz1234\n", "")
	rdCheck(t, f, "rd -32 ffff888000010ffc 2",
		"ffff888000010ffc:  7a797877 34333231                     wxyz1234\n", "")
}

func TestRdFaults(t *testing.T) {
	f := rdFake()
	// Unmapped page after two readable ones: what was read, then the error.
	out, _, err := f.run(t, "rd ffff888000011ff0 4")
	if want := "ffff888000011ff0:  0000000000000000 0000000000000000 "; out != want {
		t.Errorf("partial output %q, want %q", out, want)
	}
	if want := `invalid kernel virtual address: ffff888000012000  type: "64-bit KVADDR"`; err != want {
		t.Errorf("error %q, want %q", err, want)
	}
	// The fault in the middle of a line, and in an item straddling pages.
	rdCheck(t, f, "rd -32 ffff888000011ff4 4",
		"ffff888000011ff4:  00000000 00000000 00000000 ",
		`invalid kernel virtual address: ffff888000012000  type: "32-bit KVADDR"`)
	rdCheck(t, f, "rd ffff888000011ffc 2", "",
		`invalid kernel virtual address: ffff888000012000  type: "64-bit KVADDR"`)
	// An excluded page is named as such.
	f.page(rdBase + 0x2000)
	rdCheck(t, f, "rd -8 ffff888000012ffe 4",
		"ffff888000012ffe:  00 00 ",
		`page excluded: kernel virtual address: ffff888000013000  type: "8-bit KVADDR"`)
	// Physical memory the dump does not hold: seek error.
	f.phys[0x5000] = make([]byte, 4096)
	rdCheck(t, f, "rd -p 5ff8 2",
		"            5ff8:  0000000000000000 ",
		`seek error: physical address: 6000  type: "64-bit PHYSADDR"`)
	rdCheck(t, f, "rd -p -32 5ff8 1",
		"            5ff8:  00000000                              ....\n", "")
	// A user address.
	_, _, err = f.run(t, "rd 1000 2")
	if !strings.Contains(err, "user virtual address 1000") {
		t.Errorf("user address: %q", err)
	}
	_, _, err = f.run(t, "rd -u ffff888000010000")
	if !strings.Contains(err, "does not translate user addresses") {
		t.Errorf("-u: %q", err)
	}
}

func TestRdHugeCounts(t *testing.T) {
	f := rdFake()
	// A count far beyond memory stops at the first fault, reading in
	// bounded chunks.
	out, _, err := f.run(t, "rd -x ffff888000010000 7fffffffffffffff")
	if !strings.HasPrefix(err, "invalid kernel virtual address: ffff888000012000") {
		t.Errorf("error %q", err)
	}
	if n := strings.Count(out, "\n"); n != 0x2000/16-1 {
		t.Errorf("%d full lines", n)
	}
	if f.maxRead > readChunk {
		t.Errorf("read %d bytes at once", f.maxRead)
	}
	// A count that wraps past the top of the address space.
	f.put64(0xfffffffffffffff0, 1, 2)
	out, _, err = f.run(t, "rd -x fffffffffffffff0 100")
	if out != "fffffffffffffff0:  0000000000000001 0000000000000002 " || !strings.Contains(err, "address: 0 ") {
		t.Errorf("wrap: %q %q", out, err)
	}
	// -R with a huge count does not panic.
	_, _, err = f.run(t, "rd -R ffff888000010000 fffffffffffffff")
	if err == "" {
		t.Errorf("-R huge count: no error")
	}
	// A count of all ones is crash's -1: the default count.
	rdCheck(t, f, "rd -x ffff888000010000 ffffffffffffffff",
		"ffff888000010000:  4847464544434241 \n", "")
	rdCheck(t, f, "rd ffff888000010000 0", "", "invalid count request: 0")
}

func TestRdASCII(t *testing.T) {
	f := rdFake()
	// Without a count: up to the first unprintable byte, no newline.
	rdCheck(t, f, "rd -a ffff888000010000", "ffff888000010000:  ABCDEFGHIJKLMNOPQRSTUVWXYZ", "")
	// With a count: unprintable bytes break lines, and the end has one.
	f.put(rdBase+0x100, []byte("hello\x00\x00world"))
	rdCheck(t, f, "rd -a ffff888000010100 12",
		"ffff888000010100:  hello\nffff888000010107:  world\n", "")
	// 60 characters a line.
	long := strings.Repeat("x", 70)
	f.put(rdBase+0x200, []byte(long+"\x00"))
	rdCheck(t, f, "rd -a ffff888000010200",
		"ffff888000010200:  "+long[:60]+"\nffff88800001023c:  "+long[60:], "")
	// A string that runs into an unmapped page.
	f.put(rdBase+0x1ffc, []byte("abcd"))
	rdCheck(t, f, "rd -a ffff888000011ffc", "ffff888000011ffc:  abcd",
		`invalid kernel virtual address: ffff888000012000  type: "ascii"`)
	// -e gives a byte count.
	rdCheck(t, f, "rd -a -e ffff888000010004 ffff888000010000", "ffff888000010000:  ABCD\n", "")
}

func TestRdSymbolic(t *testing.T) {
	f := rdFake()
	rdCheck(t, f, "rd -s ffff888000010040 8",
		"ffff888000010040:  fffffffffffffffe 0000000000000001 \n"+
			"ffff888000010050:  jiffies          counter+4        \n"+
			"ffff888000010060:  mod_fn+4         mod              \n"+
			"ffff888000010070:  0000000000000010 helper           \n", "")
	// -s only with 64-bit items; -s before -32 is accepted and shows hex.
	out, _, err := f.run(t, "rd -32 -s ffff888000010040")
	if err != "-s option is only allowed with 64-bit display" || !strings.HasPrefix(out, "Usage:\n  rd ") {
		t.Errorf("-32 -s: %q %q", out, err)
	}
	rdCheck(t, f, "rd -s -32 ffff888000010040 1", "ffff888000010040:  fffffffe \n", "")
	rdCheck(t, f, "rd -s -d ffff888000010050 1", "ffff888000010050:      -2113929216 \n", "")
}

func TestRdArguments(t *testing.T) {
	f := rdFake()
	f.put64(0xffffffff82000000, 0x1234, 0x5678, 0x9abc)
	f.put64(0xffffffff82000040, 0x4242)
	one := "ffffffff82000000:  0000000000001234 \n"
	rdCheck(t, f, "rd -x jiffies", one, "")
	rdCheck(t, f, "rd -x ffffffff82000000", one, "")
	rdCheck(t, f, "rd -x (jiffies+8)", "ffffffff82000008:  0000000000005678 \n", "")
	rdCheck(t, f, "rd -x (jiffies+0x10)", "ffffffff82000010:  0000000000009abc \n", "")
	rdCheck(t, f, "rd -x jiffies+16", "ffffffff82000010:  0000000000009abc \n", "")
	rdCheck(t, f, "rd -x counter-0x40", one, "")
	rdCheck(t, f, "rd -x -o 8 jiffies", "ffffffff82000008:  0000000000005678 \n", "")
	rdCheck(t, f, "rd -x -o 10 jiffies", "ffffffff8200000a:  9abc000000000000 \n", "")
	rdCheck(t, f, "rd -x jiffies 2", "ffffffff82000000:  0000000000001234 0000000000005678 \n", "")
	rdCheck(t, f, "rd -x jiffies a", "ffffffff82000000:  0000000000001234 0000000000005678 \n"+
		"ffffffff82000010:  0000000000009abc 0000000000000000 \n"+
		"ffffffff82000020:  0000000000000000 0000000000000000 \n"+
		"ffffffff82000030:  0000000000000000 0000000000000000 \n"+
		"ffffffff82000040:  0000000000004242 0000000000000000 \n", "")
	rdCheck(t, f, "rd -x -e ffffffff82000010 jiffies", "ffffffff82000000:  0000000000001234 0000000000005678 \n", "")
	rdCheck(t, f, "rd -x -e ffffffff82000000 jiffies", "", "invalid ending address: ffffffff82000000")
	rdCheck(t, f, "rd -x -R ffffffff82000010 2", "ffffffff82000008:  0000000000005678 0000000000009abc \n", "")
	// Options after the operands, as GNU getopt allows.
	rdCheck(t, f, "rd jiffies 1 -x", one, "")
	// -e with a count: warned and ignored.
	out, warn, _ := f.run(t, "rd -x -e ffffffff82000010 jiffies 1")
	if out != one || warn != "WARNING: ending address ignored when count is specified\n" {
		t.Errorf("-e with count: %q %q", out, warn)
	}
	// An unknown symbol lists the alternatives, as crash does, and fails
	// the command without a second error line (ErrShown).
	rdCheck(t, f, "rd jiff", "symbol not found: jiff\npossible alternatives:\n"+
		"  ffffffff82000000 (D) jiffies\n  ffffffff82000000 (D) jiffies_64\n", ErrShown.Error())
	rdCheck(t, f, "rd nosuch", "symbol not found: nosuch\npossible alternatives:\n  (none found)\n", ErrShown.Error())
	rdCheck(t, f, "rd (nosuch+8)", "", "invalid expression: (nosuch+8)")
	// Usage and option errors.
	out, _, err := f.run(t, "rd")
	if err != "" || !strings.HasPrefix(out, "Usage:\n  rd [-adDsSupxmfNR]") || !strings.HasSuffix(out, "Enter \"help rd\" for details.\n") {
		t.Errorf("no address: %q %q", out, err)
	}
	if _, _, err := f.run(t, "rd -z jiffies"); err != "rd: invalid option -- 'z'" {
		t.Errorf("-z: %q", err)
	}
	if _, _, err := f.run(t, "rd jiffies -1"); err != "rd: option requires an argument -- '1'" {
		t.Errorf("-1: %q", err)
	}
	if _, _, err := f.run(t, "rd -65 jiffies"); err != "invalid option: 65" {
		t.Errorf("-65: %q", err)
	}
	if _, _, err := f.run(t, "rd -m jiffies"); err != "-m option only applies to xen architecture" {
		t.Errorf("-m: %q", err)
	}
	if _, _, err := f.run(t, "rd jiffies 12z"); err != "not a valid number: 12z" {
		t.Errorf("bad count: %q", err)
	}
}

func TestRdRaw(t *testing.T) {
	f := rdFake()
	path := filepath.Join(t.TempDir(), "raw")
	rdCheck(t, f, "rd -r "+path+" ffff888000010000 5", "5 bytes copied from 0xffff888000010000 to "+path+"\n", "")
	if b, err := os.ReadFile(path); err != nil || string(b) != "ABCDE" {
		t.Errorf("raw file %q %v", b, err)
	}
	rdCheck(t, f, "rd -r "+path+" ffff888000010000", "", "-r option requires either a count argument or the -e option")
	rdCheck(t, f, "rd -r "+path+" ffff888000011ffe 4", "",
		`invalid kernel virtual address: ffff888000012000  type: "raw dump to file"`)
	if b, _ := os.ReadFile(path); len(b) != 2 {
		t.Errorf("raw file after a fault has %d bytes, want the 2 read", len(b))
	}
}

// The golden test runs the commands of testdata/rdsym.cmds on the shared
// zstd dump (shared/dumps/sysrq-zstd/vmcore.zstd, Debian 6.1.0-53-cloud-amd64)
// with its debug vmlinux and compares kdive's output with crash 8.0.2's in
// testdata/rdsym.golden (made by testdata/capture-rdsym.sh), byte for byte:
// standard output and error messages interleaved, as crash writes them.

// rdsymDeviations are commands whose kdive output is known to differ
// from crash's, and why. Their differences are logged, not failed.
var rdsymDeviations = map[string]string{}

var (
	rdsymOnce sync.Once
	rdsymProg *program.Program
	rdsymErr  error
)

// rdsymVmlinux finds the debug vmlinux of the shared dump's kernel:
// $KDIVE_VMLINUX, or the corpus's vmlinux.
func rdsymVmlinux(t *testing.T) string {
	if p := os.Getenv("KDIVE_VMLINUX"); p != "" {
		return p
	}
	if d := testcorpus.Path(); d != "" {
		p := filepath.Join(d, "vmlinux")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if os.Getenv(testcorpus.EnvRequire) == "1" {
		t.Fatalf("no debug vmlinux (set KDIVE_VMLINUX or build the corpus)")
	}
	t.Skip("no debug vmlinux for the shared dump (set KDIVE_VMLINUX or build the corpus)")
	return ""
}

func rdsymOpen(t *testing.T) *program.Program {
	dir := testcorpus.Shared(t)
	vml := rdsymVmlinux(t)
	rdsymOnce.Do(func() {
		rdsymProg, rdsymErr = program.Open(vml, filepath.Join(dir, "vmcore.zstd"), program.OpenOptions{})
	})
	if rdsymErr != nil {
		if strings.Contains(rdsymErr.Error(), "does not match the dump") && os.Getenv(testcorpus.EnvRequire) != "1" {
			t.Skipf("the vmlinux is not the shared dump's kernel: %v", rdsymErr)
		}
		t.Fatalf("open: %v", rdsymErr)
	}
	return rdsymProg
}

// rdsymRun runs one command line as the session does, with output
// and errors in one stream: the command's output, its warnings, then a
// returned error as "cmd: message".
func rdsymRun(t *testing.T, prog *program.Program, line string) string {
	args := strings.Fields(line)
	c := Lookup(args[0])
	if c == nil {
		t.Fatalf("no command %q", args[0])
	}
	var buf bytes.Buffer
	env := &Env{Prog: prog, Out: &buf, Err: &buf}
	if err := c.Run(env, args[1:]); err != nil && !errors.Is(err, ErrShown) {
		msg := strings.ReplaceAll(strings.TrimRight(err.Error(), "\n"), "\n", "; ")
		msg = strings.TrimPrefix(msg, c.Name+": ")
		buf.WriteString(c.Name + ": " + msg + "\n")
	}
	return buf.String()
}

var rdsymMarker = regexp.MustCompile(`@@@ (.*)\n`)

// rdsymParseGolden splits a golden file into command -> crash output.
func rdsymParseGolden(t *testing.T, text string) ([]string, map[string]string) {
	locs := rdsymMarker.FindAllStringSubmatchIndex(text, -1)
	var cmds []string
	out := map[string]string{}
	for i, l := range locs {
		cmd := text[l[2]:l[3]]
		end := len(text)
		if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		cmds = append(cmds, cmd)
		out[cmd] = text[l[1]:end]
	}
	return cmds, out
}

func TestRdSymGolden(t *testing.T) {
	golden, err := os.ReadFile("testdata/rdsym.golden")
	if err != nil {
		t.Fatal(err)
	}
	cmdsFile, err := os.ReadFile("testdata/rdsym.cmds")
	if err != nil {
		t.Fatal(err)
	}
	cmds, want := rdsymParseGolden(t, string(golden))
	var listed []string
	for _, l := range strings.Split(string(cmdsFile), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			listed = append(listed, l)
		}
	}
	if len(listed) != len(cmds) {
		t.Fatalf("rdsym.golden has %d commands, rdsym.cmds %d: run testdata/capture-rdsym.sh", len(cmds), len(listed))
	}
	prog := rdsymOpen(t)
	rdsymCompare(t, prog, cmds, want)
	// The same crash in snappy pages reads the same.
	dir := testcorpus.Shared(t)
	if _, err := os.Stat(filepath.Join(dir, "vmcore.snappy")); err == nil {
		snappy, err := program.Open(rdsymVmlinux(t), filepath.Join(dir, "vmcore.snappy"), program.OpenOptions{})
		if err != nil {
			t.Fatalf("open vmcore.snappy: %v", err)
		}
		defer snappy.Close()
		rdsymCompare(t, snappy, cmds, want)
	}
}

func rdsymCompare(t *testing.T, prog *program.Program, cmds []string, want map[string]string) {
	for _, cmd := range cmds {
		got := rdsymRun(t, prog, cmd)
		exp := want[cmd] // with crash's source file and line of text symbols
		if got == exp {
			continue
		}
		if why, ok := rdsymDeviations[cmd]; ok {
			t.Logf("%s: known deviation (%s):\n%s", cmd, why, rdsymFirstDiff(exp, got))
			continue
		}
		t.Errorf("%s: differs from crash:\n%s", cmd, rdsymFirstDiff(exp, got))
	}
}

// rdsymFirstDiff shows the first differing line of two outputs.
func rdsymFirstDiff(want, got string) string {
	wl := strings.SplitAfter(want, "\n")
	gl := strings.SplitAfter(got, "\n")
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return "line " + strconv.Itoa(i+1) + ":\n  crash: " + rdsymQuoteLine(w) + "\n  kdive: " + rdsymQuoteLine(g)
		}
	}
	return "(same lines)"
}

func rdsymQuoteLine(s string) string {
	if s == "" {
		return "(nothing)"
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "\n", `\n`), " ", "·")
}

// TestSymListGolden compares `sym -l` (117,000 lines) with crash's. The
// symbol table lacks some of crash's symbols (ELF section symbols such as
// .data, and absolute init_per_cpu__* ones), which are logged and
// tolerated up to a bound; module function types and weak-object letters
// (V) are compared case- and kind-blind, see rdsymDeviations. Every line
// kdive prints must be crash's, in crash's order.
func TestSymListGolden(t *testing.T) {
	golden := readTestdata(t, "sym-l.golden.gz")
	prog := rdsymOpen(t)
	got := rdsymRun(t, prog, "sym -l")

	// Byte for byte: section symbols, relocated absolute symbols,
	// weak objects (V) and module bindings (T) included.
	if got != string(golden) {
		cl := strings.Split(string(golden), "\n")
		kl := strings.Split(got, "\n")
		for i := 0; i < len(cl) && i < len(kl); i++ {
			if cl[i] != kl[i] {
				t.Fatalf("sym -l differs from crash at line %d:\ncrash: %q\nkdive: %q", i+1, cl[i], kl[i])
			}
		}
		t.Fatalf("sym -l: crash has %d lines, kdive %d", len(cl), len(kl))
	}
}
