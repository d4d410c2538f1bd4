package commands

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"kdive/internal/program"
	"kdive/internal/testcorpus"
)

var filesRow = regexp.MustCompile(`^ {0,2}(\d+) ([0-9a-f]{16}) ([0-9a-f]{16}) ([0-9a-f]{16}) (REG |DIR |CHR |BLK |FIFO|SOCK|LNK |UNKN) (.*)$`)

// checkFiles runs `files PID` and compares its fds and paths with the
// truth's holder_fd lines ("FD PATH").
func checkFiles(t *testing.T, p *program.Program, truth map[string][]string) {
	t.Helper()
	pid := first1(truth["holder_pid"])
	if pid == "" || len(truth["holder_fd"]) == 0 {
		t.Fatal("truth has no holder_pid / holder_fd")
	}
	out := netRunCmd(t, p, "files", pid)
	lines := strings.Split(out, "\n")
	if len(lines) < 4 || !strings.HasPrefix(lines[0], "PID: "+pid+strings.Repeat(" ", 7-len(pid))+"  TASK: ") ||
		lines[1] != "ROOT: /    CWD: /" ||
		lines[2] != " FD       FILE            DENTRY           INODE       TYPE PATH" || !strings.HasSuffix(out, "\n\n") {
		t.Fatalf("files %s:\n%s", pid, out)
	}
	if c := first1(truth["holder_comm"]); c != "" && !strings.HasSuffix(lines[0], `COMMAND: "`+c+`"`) {
		t.Errorf("header %q, comm %q", lines[0], c)
	}
	var got []string
	for _, l := range lines[3 : len(lines)-2] {
		m := filesRow.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("row %q", l)
		}
		got = append(got, m[1]+" "+m[6])
		want := map[string]string{"/dev/null": "CHR ", "/dev/console": "CHR ", "/tmp/holder/fifo": "FIFO", "/init": "REG "}[m[6]]
		if want != "" && m[5] != want {
			t.Errorf("%s: type %q, want %q", l, m[5], want)
		}
	}
	want := append([]string(nil), truth["holder_fd"]...)
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("files %s:\n got %q\nwant %q", pid, got, want)
	}
}

func first1(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// Every corpus dump, with the vmlinux's types and with the dump's BTF:
// the holder process's fds and paths are what the guest's readlink of
// /proc/PID/fd/* said.
func TestFilesCorpus(t *testing.T) {
	vml := testcorpus.Vmlinux(t)
	for _, sc := range testcorpus.Scenarios() {
		for _, f := range testcorpus.Formats() {
			for _, v := range []string{vml, ""} {
				name := sc + "/" + f + "/vmlinux"
				if v == "" {
					name = sc + "/" + f + "/btf"
				}
				t.Run(name, func(t *testing.T) {
					truth := testcorpus.TruthOf(t, sc, testcorpus.TruthFor(f))
					p, err := program.Open(v, testcorpus.File(t, sc, f), program.OpenOptions{})
					if err != nil {
						t.Fatal(err)
					}
					defer p.Close()
					checkFiles(t, p, truth)
				})
			}
		}
	}
}

func TestFilesShared(t *testing.T) {
	dir := testcorpus.Shared(t)
	truth := readSharedTruth(t, dir)
	p, err := program.Open("", filepath.Join(dir, "vmcore.zstd"), program.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	checkFiles(t, p, truth)
	// By task address: the same table, no blank line after it.
	byPID := netRunCmd(t, p, "files", "105")
	task := strings.Fields(byPID)[3]
	if got := netRunCmd(t, p, "files", task); got+"\n" != byPID {
		t.Errorf("files %s:\n%s\nfiles 105:\n%s", task, got, byPID)
	}
	// Two pids: crash's print_task_header puts a blank line before the
	// second, after the blank line that ends the first.
	if got, one := netRunCmd(t, p, "files", "105", "1"), netRunCmd(t, p, "files", "1"); got != byPID+"\n"+one {
		t.Errorf("files 105 1:\n%s", got)
	}
	// A bad pid: one error, the others still shown.
	var out, errb bytes.Buffer
	err = Lookup("files").Run(&Env{Prog: p, Out: &out, Err: &errb}, []string{"99999", "88888", "2"})
	if err == nil || err.Error() != "invalid task or pid value: 88888" || errb.String() != "files: invalid task or pid value: 99999\n" ||
		!strings.HasPrefix(out.String(), "\nPID: 2 ") {
		t.Errorf("files 99999 88888 2: %v %q %q", err, errb.String(), out.String())
	}
	// A kernel thread has no open files.
	if got := netRunCmd(t, p, "files", "2"); !strings.HasSuffix(got, "ROOT: /    CWD: /\nNo open files\n\n") {
		t.Errorf("files 2:\n%s", got)
	}
	// -d on fd 0's dentry: /dev/null, a character device.
	var dentry string
	for _, l := range strings.Split(byPID, "\n") {
		if m := filesRow.FindStringSubmatch(l); m != nil && m[1] == "0" {
			dentry = m[3]
		}
	}
	got := netRunCmd(t, p, "files", "-d", dentry)
	if l := strings.Split(got, "\n"); len(l) != 3 || l[0] != "     DENTRY           INODE           SUPERBLK     TYPE PATH" ||
		!regexp.MustCompile(`^`+dentry+` [0-9a-f]{16} [0-9a-f]{16} CHR  /dev/null$`).MatchString(l[1]) {
		t.Errorf("files -d %s:\n%s", dentry, got)
	}
}

func readSharedTruth(t *testing.T, dir string) map[string][]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "truth.txt"))
	if err != nil {
		t.Skip(err)
	}
	return testcorpus.ParseTruth(string(b))
}

// Byte for byte crash 8.0.2's net, net -a (an empty ARP cache: no
// output), files (the panic task), files PID TASK, -c and -R on the
// corpus's sysrq dump, recorded with the corpus whose rig-hash the golden
// transcript names; skipped for another corpus.
func TestNetFilesCrashCorpus(t *testing.T) {
	steps := crashTranscript(t, "crash-net-files-sysrq.txt", 9)
	for _, v := range []string{testcorpus.Vmlinux(t), ""} {
		p, err := program.Open(v, testcorpus.File(t, "sysrq", testcorpus.KdumpELF), program.OpenOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range steps {
			f := strings.Fields(s.cmd)
			if got := netRunCmd(t, p, f[0], f[1:]...); got != s.out {
				t.Errorf("vmlinux %q: %s:\n%s\ncrash:\n%s", v, s.cmd, got, s.out)
			}
		}
		p.Close()
	}
}

// With no argument, files shows the panic task (truth panic_pid), as
// crash's current context.
func TestFilesPanicTask(t *testing.T) {
	testcorpus.Dir(t)
	for _, sc := range testcorpus.Scenarios() {
		t.Run(sc, func(t *testing.T) {
			pid := first1(testcorpus.Truth(t, sc)["panic_pid"])
			p, err := program.Open("", testcorpus.File(t, sc, testcorpus.KdumpLZO), program.OpenOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			if got := netRunCmd(t, p, "files"); pid == "" || !strings.HasPrefix(got, "PID: "+pid+" ") {
				t.Errorf("panic pid %s; files:\n%s", pid, got)
			}
		})
	}
}
