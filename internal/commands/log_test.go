package commands

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"kdive/internal/kernel/printk"
	"kdive/internal/program"
	"kdive/internal/testcorpus"
)

// runCmd runs one command line's words on p and returns its output.
func runCmd(t *testing.T, p *program.Program, name string, args ...string) string {
	t.Helper()
	c := Lookup(name)
	if c == nil {
		t.Fatalf("%s is not registered", name)
	}
	var out, errb bytes.Buffer
	var err error
	inZone(time.UTC, func() {
		err = c.Run(&Env{Prog: p, Out: &out, Err: &errb}, args)
	})
	if err != nil {
		t.Fatalf("%s %v: %v (stderr %q)", name, args, err, errb.String())
	}
	return out.String()
}

func openProg(t *testing.T, vmlinux, dump string) *program.Program {
	t.Helper()
	p, err := program.Open(vmlinux, dump, program.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// sameText fails at the first line where got and want differ.
func sameText(t *testing.T, what, got, want string) {
	t.Helper()
	if got == want {
		return
	}
	gl, wl := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(gl) || i < len(wl); i++ {
		var g, w string
		if i < len(gl) {
			g = gl[i]
		}
		if i < len(wl) {
			w = wl[i]
		}
		if g != w {
			t.Fatalf("%s: line %d:\n got %q\nwant %q", what, i+1, g, w)
		}
	}
}

// refSection returns the output of "crash> CMD" in crash's reference
// session.
func refSection(t *testing.T, shared, cmd string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(shared, "..", "..", "reference", "crash-8.0.2-sysrq.txt"))
	if err != nil {
		t.Skip(err)
	}
	s := string(b)
	i := strings.Index(s, "crash> "+cmd+"\n")
	if i < 0 {
		t.Fatalf("no %q in the reference", cmd)
	}
	s = s[i+len("crash> "+cmd+"\n"):]
	if j := strings.Index(s, "\ncrash> "); j >= 0 {
		s = s[:j+1]
	}
	return s
}

// The shared zstd dump is the crash of the reference session: `log` is
// byte for byte crash's, with and without options that change nothing.
func TestLogSharedMatchesCrash(t *testing.T) {
	dir := testcorpus.Shared(t)
	want := refSection(t, dir, "log")
	p := openProg(t, "", filepath.Join(dir, "vmcore.zstd"))
	got := runCmd(t, p, "log")
	if strings.Count(want, "\n") < 300 {
		t.Fatalf("reference log has %d lines", strings.Count(want, "\n"))
	}
	sameText(t, "log", got, want)

	// -t drops exactly the time stamp of each line (continuation lines
	// lose their indentation).
	tsPrefix := regexp.MustCompile(`(?m)^(\[ *\d+\.\d{6}\] |               )`)
	sameText(t, "log -t", runCmd(t, p, "log", "-t"), tsPrefix.ReplaceAllString(want, ""))
}

// crashedConsole returns the time-stamped console lines of the crashed
// kernel (before the capture kernel's "Linux version" banner).
func crashedConsole(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ts := regexp.MustCompile(`^\[ *\d+\.\d{6}\] `)
	var out []string
	banners := 0
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if !ts.MatchString(line) {
			continue
		}
		if strings.Contains(line, "] Linux version ") {
			if banners++; banners == 2 {
				break
			}
		}
		out = append(out, line)
	}
	return out
}

// Every line the crashed kernel printed on its console is in `log`, in
// order: as is, or (a following line of a multi-line record) indented
// under its record's first line instead of time-stamped.
func TestLogCorpusHasConsole(t *testing.T) {
	dir := testcorpus.Dir(t)
	for _, sc := range testcorpus.Scenarios() {
		for _, f := range []string{testcorpus.KdumpLZO, testcorpus.KdumpELF} {
			t.Run(sc+"/"+f, func(t *testing.T) {
				vmlinux := ""
				if f == testcorpus.KdumpELF {
					vmlinux = testcorpus.Vmlinux(t)
				}
				p := openProg(t, vmlinux, testcorpus.File(t, sc, f))
				lines := strings.Split(runCmd(t, p, "log"), "\n")
				want := crashedConsole(t, filepath.Join(dir, sc, testcorpus.Console))
				if len(want) < 300 {
					t.Fatalf("console has only %d lines", len(want))
				}
				j := 0
				for _, w := range want {
					indented := strings.Repeat(" ", 15) + w[15:]
					for j < len(lines) && lines[j] != w && lines[j] != indented {
						j++
					}
					if j == len(lines) {
						t.Fatalf("console line %q is not in log (in order)", w)
					}
					j++
				}
			})
		}
	}
}

// crashLogGolden holds crash 8.0.2's `log`, `log -T` (TZ=UTC), `log -m`
// and `log -d` on the corpus's bugon/vmcore.lzo.
func crashLogGolden(t *testing.T) map[string]string {
	t.Helper()
	b := readTestdata(t, "log-bugon-crash.txt.gz")
	m := map[string]string{}
	for _, part := range strings.Split(string(b), "===crash> ")[1:] {
		cmd, body, _ := strings.Cut(part, "\n")
		m[cmd] = body
	}
	return m
}

func TestLogOptionsMatchCrash(t *testing.T) {
	golden := crashLogGolden(t)
	if len(golden) != 4 {
		t.Fatalf("golden has %d sections", len(golden))
	}
	p := openProg(t, "", testcorpus.File(t, "bugon", testcorpus.KdumpLZO))
	if got := runCmd(t, p, "log"); got != golden["log"] {
		t.Skip("the corpus's bugon dump is not the crash testdata/log-bugon-crash.txt.gz was captured on")
	}
	for _, cmd := range []string{"log -T", "log -m", "log -d"} {
		t.Run(cmd, func(t *testing.T) {
			want := golden[cmd]
			if want == "" {
				t.Fatalf("no %s in golden", cmd)
			}
			sameText(t, cmd, runCmd(t, p, "log", strings.Fields(cmd)[1:]...), want)
		})
	}
}

// -c prints crash's "[  T123] " caller column: the panicking record's
// caller is the panic task, the earliest records come from task 0.
func TestLogCallerCorpus(t *testing.T) {
	for _, sc := range testcorpus.Scenarios() {
		t.Run(sc, func(t *testing.T) {
			truth := testcorpus.Truth(t, sc)
			pid := truth["panic_pid"][0]
			p := openProg(t, "", testcorpus.File(t, sc, testcorpus.KdumpLZO))
			out := runCmd(t, p, "log", "-c", "-m")
			first := strings.SplitN(out, "\n", 2)[0]
			if !strings.HasPrefix(first, "[    0.000000] [    T0] <5>Linux version ") {
				t.Errorf("first line %q", first)
			}
			want := fmt.Sprintf("] [%6s] <", "T"+pid)
			found := false
			for _, l := range strings.Split(out, "\n") {
				if strings.Contains(l, ">CPU: ") && strings.Contains(l, " PID: "+pid+" ") {
					found = strings.Contains(l, want)
					if !found {
						t.Errorf("panic task's line has not %q: %q", want, l)
					}
					break
				}
			}
			if !found {
				t.Errorf("no %q line with CPU: and PID: %s", want, pid)
			}
		})
	}
}

// The options agree with each other on every record.
func TestLogRecordFormat(t *testing.T) {
	r := printk.Record{TsNsec: 12072716123, Level: 4, CallerID: 0x80000001, Text: "a\nb\x01", Subsystem: "pci", Device: "+pci:0000:00:01.0"}
	cases := []struct {
		o    LogOptions
		want string
	}{
		{LogOptions{}, "[   12.072716] a\n               b."},
		{LogOptions{Flags: LogText}, "a\nb."},
		{LogOptions{Flags: LogLevel}, "[   12.072716] <4>a\n                  b."},
		{LogOptions{Flags: LogCaller | LogText, PidChars: 6}, "[    C1] a\n         b."},
		{LogOptions{Flags: LogDict | LogText}, "a\nb.\nSUBSYSTEM=pci\nDEVICE=+pci:0000:00:01.0"},
		{LogOptions{Flags: LogCTime, BootDate: time.Unix(1000, 0)}, "[Thu Jan  1 00:16:52 UTC 1970] a\n                               b."},
	}
	for _, c := range cases {
		var b strings.Builder
		inZone(time.UTC, func() { LogRecord(&b, &r, c.o) })
		if b.String() != c.want {
			t.Errorf("%+v:\n got %q\nwant %q", c.o, b.String(), c.want)
		}
	}
	var b strings.Builder
	LogRecord(&b, &printk.Record{NoData: true, TsNsec: 5}, LogOptions{})
	if b.String() != "" {
		t.Errorf("data-less record: %q", b.String())
	}
}

// -a reads the audit queues (empty on these guests: crash says so too),
// -s prints nothing on a lockless-ring kernel, as crash 8.0.2.
func TestLogAuditAndSafe(t *testing.T) {
	p := openProg(t, "", testcorpus.File(t, "bugon", testcorpus.KdumpLZO))
	var out, errb bytes.Buffer
	if err := Lookup("log").Run(&Env{Prog: p, Out: &out, Err: &errb}, []string{"-a"}); err != nil {
		t.Fatal(err)
	}
	if out.Len() != 0 || errb.String() != "log: kernel audit log is empty\n" {
		t.Errorf("log -a: %q %q", out.String(), errb.String())
	}
	if got := runCmd(t, p, "log", "-s"); got != "" {
		t.Errorf("log -s: %q", got)
	}
	out.Reset()
	if err := Lookup("log").Run(&Env{Prog: p, Out: &out, Err: &errb}, []string{"-x"}); err == nil || !strings.Contains(out.String(), "Usage:\n  log [-Ttdmasc]") {
		t.Errorf("log -x: %v %q", err, out.String())
	}
}
