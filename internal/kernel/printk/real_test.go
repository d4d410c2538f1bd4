package printk_test

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"kdive/internal/kernel/printk"
	"kdive/internal/program"
	"kdive/internal/testcorpus"
)

var tsLine = regexp.MustCompile(`^\[ *\d+\.\d{6}\] `)

// crashedConsole returns the console lines the crashed kernel printed: the
// time-stamped lines before the capture kernel's banner (the second
// "Linux version" line).
func crashedConsole(t *testing.T, path string) []string {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	banners := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if !tsLine.MatchString(line) {
			continue
		}
		if strings.Contains(line, "] Linux version ") {
			banners++
			if banners == 2 {
				break
			}
		}
		out = append(out, line)
	}
	return out
}

// readLog opens dump (with vmlinux, or "" for none) and reads its log.
func readLog(t *testing.T, vmlinux, dump string) *printk.Log {
	t.Helper()
	p, err := program.Open(vmlinux, dump, program.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	log, err := printk.Read(p)
	if err != nil {
		t.Fatal(err)
	}
	return log
}

// checkAgainstConsole reads the log of dump and compares the records the
// console prints (level below the default console_loglevel 7) with the
// crashed kernel's part of console.
func checkAgainstConsole(t *testing.T, vmlinux, dump, console string) {
	t.Helper()
	log := readLog(t, vmlinux, dump)
	if log.Format != "printk_ringbuffer" {
		t.Errorf("format %s", log.Format)
	}
	for _, w := range log.Warnings {
		t.Errorf("warning: %s", w)
	}
	var got []string
	for i := range log.Records {
		r := &log.Records[i]
		if r.Level >= 7 {
			continue
		}
		got = append(got, printk.ConsoleLines(r)...)
	}
	want := crashedConsole(t, console)
	if len(want) < 300 {
		t.Fatalf("%s: only %d lines", console, len(want))
	}
	for i := 0; i < len(want) || i < len(got); i++ {
		var g, w string
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			t.Fatalf("%s: line %d:\n got %q\nwant %q", filepath.Base(dump), i+1, g, w)
		}
	}
	for i := 1; i < len(log.Records); i++ {
		if log.Records[i].Seq != log.Records[i-1].Seq+1 {
			t.Fatalf("seq %d after %d", log.Records[i].Seq, log.Records[i-1].Seq)
		}
	}
	if log.Records[0].Seq != 0 || !strings.HasPrefix(log.Records[0].Text, "Linux version ") {
		t.Errorf("first record %d %q", log.Records[0].Seq, log.Records[0].Text)
	}
}

func TestSharedZstdMatchesConsole(t *testing.T) {
	dir := testcorpus.Shared(t)
	for _, f := range []string{"vmcore.zstd", "vmcore.snappy"} {
		t.Run(f, func(t *testing.T) {
			checkAgainstConsole(t, "", filepath.Join(dir, f), filepath.Join(dir, "console.log"))
		})
	}
}

// The crash log as crash's `log` prints it equals crash's own output in
// the reference session (crash 8.0.2 on the same crash).
func TestSharedMatchesCrashLog(t *testing.T) {
	dir := testcorpus.Shared(t)
	ref, err := os.ReadFile(filepath.Join(dir, "..", "..", "reference", "crash-8.0.2-sysrq.txt"))
	if err != nil {
		t.Skip(err)
	}
	s := string(ref)
	start := strings.Index(s, "crash> log\n")
	end := strings.Index(s, "crash> p sizeof")
	if start < 0 || end < start {
		t.Fatal("reference has no log section")
	}
	want := s[start+len("crash> log\n") : end]
	p, err := program.Open("", filepath.Join(dir, "vmcore.zstd"), program.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	log, err := printk.Read(p)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for i := range log.Records {
		b.WriteString(printk.CrashLine(&log.Records[i]) + "\n")
	}
	if got := b.String(); got != want {
		gl, wl := strings.Split(got, "\n"), strings.Split(want, "\n")
		for i := range wl {
			if i >= len(gl) || gl[i] != wl[i] {
				g := ""
				if i < len(gl) {
					g = gl[i]
				}
				t.Fatalf("line %d:\n got %q\nwant %q", i+1, g, wl[i])
			}
		}
		t.Fatalf("got %d lines, want %d", len(gl), len(wl))
	}
}

func TestCorpusMatchesConsole(t *testing.T) {
	dir := testcorpus.Dir(t)
	vmlinux := testcorpus.Vmlinux(t)
	for _, sc := range testcorpus.Scenarios() {
		for _, f := range testcorpus.Formats() {
			t.Run(sc+"/"+f, func(t *testing.T) {
				console := testcorpus.Console
				if testcorpus.IsQEMU(f) {
					console = testcorpus.QEMUConsole
				}
				checkAgainstConsole(t, vmlinux, testcorpus.File(t, sc, f), filepath.Join(dir, sc, console))
			})
		}
	}
}
