package testcorpus

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestParseTruth(t *testing.T) {
	m := ParseTruth("noise\r\nTRUTH tasks 55\r\nTRUTH holder_fd 3 /proc/version\nTRUTH holder_fd 4 /tmp/holder/out.txt\nTRUTH\nxTRUTH a b\n")
	if got := m["tasks"]; len(got) != 1 || got[0] != "55" {
		t.Fatalf("tasks = %q", got)
	}
	if got := m["holder_fd"]; len(got) != 2 || got[1] != "4 /tmp/holder/out.txt" {
		t.Fatalf("holder_fd = %q", got)
	}
	if len(m) != 2 {
		t.Fatalf("keys = %v", m)
	}
}

func TestFormats(t *testing.T) {
	if len(Formats()) != 7 || len(Files()) != 11 || len(Scenarios()) != 4 {
		t.Fatalf("formats %v files %v scenarios %v", Formats(), Files(), Scenarios())
	}
	if TruthFor(QEMUKdump) != QEMUTruth || TruthFor(KdumpLZO) != TruthFile {
		t.Fatal("TruthFor")
	}
}

func readHead(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	head := make([]byte, 16)
	n, err := f.Read(head)
	return head[:n], err
}

// magic is what each dump file starts with.
var magic = map[string]string{
	KdumpELF:     "\x7fELF",
	KdumpFilterd: "\x7fELF",
	QEMUELF:      "\x7fELF",
	KdumpFlat:    "makedumpfile",
	KdumpLZO:     "KDUMP   ",
	KdumpZlib:    "KDUMP   ",
	QEMUKdump:    "makedumpfile", // QEMU 7.2 writes kdump-zlib as a flattened stream
}

// TestCorpusComplete checks the corpus when one is present: every file, its
// size, the dump headers, the truth keys and the crash on the console.
func TestCorpusComplete(t *testing.T) {
	dir := Dir(t)
	if err := CheckComplete(dir); err != nil {
		t.Fatalf("corpus %s incomplete: %v", dir, err)
	}
	kver := KernelVersion(t)
	if head, err := readHead(Vmlinux(t)); err != nil || !bytes.HasPrefix(head, []byte("\x7fELF")) {
		t.Fatalf("vmlinux: %q %v", head, err)
	}
	crashLine := map[string]string{
		"sysrq":     "Kernel panic - not syncing: sysrq triggered crash",
		"oops-proc": "BUG: kernel NULL pointer dereference",
		"oops-wq":   "Workqueue: kdive_rig_wq",
		"bugon":     "kernel BUG at",
	}
	for _, s := range Scenarios() {
		t.Run(s, func(t *testing.T) {
			for _, f := range Formats() {
				head, err := readHead(File(t, s, f))
				if err != nil || !bytes.HasPrefix(head, []byte(magic[f])) {
					t.Errorf("%s/%s starts with %q, want %q", s, f, head, magic[f])
				}
			}
			for _, tf := range []string{TruthFile, QEMUTruth} {
				m := TruthOf(t, s, tf)
				for _, k := range []string{"release", "nodename", "cpus", "memtotal_kb", "holder_pid",
					"holder_fd", "kallsyms", "netdev", "module", "tasks", "panic_pid", "panic_comm", "object"} {
					if len(m[k]) == 0 {
						t.Errorf("%s/%s lacks %s", s, tf, k)
					}
				}
				if m["release"][0] != kver || m["nodename"][0] != "rig-"+s {
					t.Errorf("%s/%s: release %q nodename %q", s, tf, m["release"], m["nodename"])
				}
				if n, err := strconv.Atoi(m["tasks"][0]); err != nil || n < 20 {
					t.Errorf("%s/%s: tasks %q", s, tf, m["tasks"])
				}
			}
			for _, c := range []string{Console, QEMUConsole} {
				b, err := os.ReadFile(File(t, s, c))
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(string(b), crashLine[s]) {
					t.Errorf("%s/%s lacks %q", s, c, crashLine[s])
				}
			}
			b, _ := os.ReadFile(File(t, s, Console))
			if !strings.Contains(string(b), "RIG-CAPTURE-DONE") {
				t.Errorf("%s/%s: the capture kernel did not finish", s, Console)
			}
		})
	}
	for _, m := range []string{"kdive_rig", "dummy"} {
		if _, err := os.Stat(Module(t, m)); err != nil {
			t.Error(err)
		}
	}
}

func TestShared(t *testing.T) {
	d := Shared(t)
	for _, f := range []string{"vmcore.zstd", "console.log", "truth.txt"} {
		if _, err := os.Stat(filepath.Join(d, f)); err != nil {
			t.Error(err)
		}
	}
	b, err := os.ReadFile(filepath.Join(d, "truth.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if m := ParseTruth(string(b)); len(m["release"]) != 1 {
		t.Errorf("shared truth.txt: release %q", m["release"])
	}
}
