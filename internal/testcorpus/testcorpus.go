// Package testcorpus locates kdive's corpus of real crash dumps for tests.
//
// The corpus is built by testdata/rig/ensure-corpus.sh (see its README.md):
// for each scenario it holds dumps of one real kernel crash in several
// formats, the serial console and the ground truth the guest printed before
// crashing. Tests that need it call Dir (or one of the helpers built on it);
// when the corpus is absent they are skipped, or fail when
// KDIVE_REQUIRE_CORPUS=1.
package testcorpus

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Environment variables read by this package.
const (
	// EnvCorpus names the corpus directory (default $HOME/.cache/kdive/corpus).
	EnvCorpus = "KDIVE_CORPUS"
	// EnvRequire, when "1", turns a missing corpus into a test failure.
	EnvRequire = "KDIVE_REQUIRE_CORPUS"
	// EnvShared names the shared directory (default: ../shared beside the repo).
	EnvShared = "KDIVE_SHARED"
)

// Per-scenario files written by the rig.
const (
	KdumpELF     = "vmcore.elf"          // /proc/vmcore as captured by kdump (ELF, unfiltered)
	KdumpFlat    = "vmcore.flat"         // makedumpfile -F -l -d 31 stream as captured
	KdumpLZO     = "vmcore.lzo"          // makedumpfile -R of vmcore.flat: kdump-compressed, lzo, -d 31
	KdumpZlib    = "vmcore.zlib"         // makedumpfile -c -d 31 of vmcore.elf
	KdumpFilterd = "vmcore.filtered.elf" // makedumpfile -E -d 31 of vmcore.elf
	QEMUELF      = "qemu.elf"            // QMP dump-guest-memory, paging:false (second boot)
	QEMUKdump    = "qemu.kdump"          // QMP dump-guest-memory, format kdump-zlib (second boot; a flattened stream)
	Console      = "console.log"         // serial console: crashed kernel, then capture kernel
	TruthFile    = "truth.txt"           // TRUTH lines of the kdump boot
	QEMUConsole  = "qemu-console.log"    // serial console of the second boot
	QEMUTruth    = "qemu-truth.txt"      // TRUTH lines of the second boot (qemu.* dumps)
)

var scenarios = []string{"sysrq", "oops-proc", "oops-wq", "bugon"}

var formats = []string{KdumpELF, KdumpFlat, KdumpLZO, KdumpZlib, KdumpFilterd, QEMUELF, QEMUKdump}

// Scenarios lists the crash scenarios, each a subdirectory of the corpus.
func Scenarios() []string { return append([]string(nil), scenarios...) }

// Formats lists the per-scenario dump file names.
func Formats() []string { return append([]string(nil), formats...) }

// Files lists every per-scenario file: the dumps, consoles and truth files.
func Files() []string {
	return append(Formats(), Console, TruthFile, QEMUConsole, QEMUTruth)
}

// IsQEMU reports whether a dump file comes from the second (QEMU dump) boot,
// whose ground truth is QEMUTruth rather than TruthFile.
func IsQEMU(format string) bool { return strings.HasPrefix(format, "qemu") }

// TruthFor names the truth file that belongs to a dump file name.
func TruthFor(format string) string {
	if IsQEMU(format) {
		return QEMUTruth
	}
	return TruthFile
}

// Path returns the corpus directory named by the environment, without
// checking that it exists.
func Path() string {
	if d := os.Getenv(EnvCorpus); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".cache", "kdive", "corpus")
}

func missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv(EnvRequire) == "1" {
		t.Fatalf("%s (%s=1)", msg, EnvRequire)
	}
	t.Skip(msg)
}

// Dir returns the corpus directory. It skips the test (fails it under
// KDIVE_REQUIRE_CORPUS=1) when there is no complete corpus.
func Dir(t testing.TB) string {
	t.Helper()
	d := Path()
	if d == "" {
		missing(t, "no crash-dump corpus: cannot tell $HOME; set %s", EnvCorpus)
	}
	if _, err := os.Stat(filepath.Join(d, "MANIFEST")); err != nil {
		missing(t, "no crash-dump corpus at %s (build it with testdata/rig/ensure-corpus.sh as root, or set %s)", d, EnvCorpus)
	}
	return d
}

// File returns the path of a per-scenario file, skipping (or failing) like
// Dir when the corpus or the file is absent.
func File(t testing.TB, scenario, name string) string {
	t.Helper()
	p := filepath.Join(Dir(t), scenario, name)
	if _, err := os.Stat(p); err != nil {
		missing(t, "corpus file %s is absent", p)
	}
	return p
}

// Vmlinux returns the debug vmlinux matching the corpus's kernel.
func Vmlinux(t testing.TB) string {
	t.Helper()
	p := filepath.Join(Dir(t), "vmlinux")
	if _, err := os.Stat(p); err != nil {
		missing(t, "corpus has no vmlinux: %v", err)
	}
	return p
}

// Module returns the debug .ko of a module loaded in the corpus's guests
// (kdive_rig, dummy, virtio, virtio_ring, virtio_pci, virtio_pci_legacy_dev,
// virtio_pci_modern_dev, virtio_blk, qemu_fw_cfg).
func Module(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(Dir(t), "modules", name+".ko")
	if _, err := os.Stat(p); err != nil {
		missing(t, "corpus has no module %s: %v", name, err)
	}
	return p
}

// KernelVersion returns the release of the corpus's kernel (uname -r).
func KernelVersion(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(Dir(t), "kernel-version"))
	if err != nil {
		t.Fatalf("corpus kernel-version: %v", err)
	}
	return strings.TrimSpace(string(b))
}

// ParseTruth parses TRUTH lines ("TRUTH key rest...") into key -> the rest of
// each line with that key, in order. Other lines are ignored.
func ParseTruth(text string) map[string][]string {
	m := map[string][]string{}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		f := strings.Fields(strings.TrimRight(sc.Text(), "\r"))
		if len(f) < 2 || f[0] != "TRUTH" {
			continue
		}
		m[f[1]] = append(m[f[1]], strings.Join(f[2:], " "))
	}
	return m
}

// Truth returns the ground truth of a scenario's kdump boot (truth.txt): key
// -> values, one per TRUTH line. E.g. Truth(t, "sysrq")["tasks"][0] is the
// thread count at the crash and ["holder_fd"] holds "FD PATH" entries.
func Truth(t testing.TB, scenario string) map[string][]string {
	t.Helper()
	return TruthOf(t, scenario, TruthFile)
}

// TruthOf is Truth for a named truth file (TruthFile or QEMUTruth).
func TruthOf(t testing.TB, scenario, file string) map[string][]string {
	t.Helper()
	b, err := os.ReadFile(File(t, scenario, file))
	if err != nil {
		t.Fatal(err)
	}
	m := ParseTruth(string(b))
	if len(m) == 0 {
		t.Fatalf("%s/%s has no TRUTH lines", scenario, file)
	}
	return m
}

// Shared returns the directory of the shared real zstd/snappy dump
// (shared/dumps/sysrq-zstd: vmcore.zstd, vmcore.snappy, console.log,
// truth.txt): $KDIVE_SHARED/dumps/sysrq-zstd, else ../shared beside the
// repository. It skips the test when the directory is absent.
func Shared(t testing.TB) string {
	t.Helper()
	var cands []string
	if s := os.Getenv(EnvShared); s != "" {
		cands = append(cands, filepath.Join(s, "dumps", "sysrq-zstd"), s)
	}
	if root := repoRoot(); root != "" {
		cands = append(cands, filepath.Join(filepath.Dir(root), "shared", "dumps", "sysrq-zstd"))
	}
	for _, c := range cands {
		if _, err := os.Stat(filepath.Join(c, "vmcore.zstd")); err == nil {
			return c
		}
	}
	t.Skipf("shared dump directory (shared/dumps/sysrq-zstd with vmcore.zstd) is absent; looked in %v (set %s)", cands, EnvShared)
	return ""
}

// repoRoot walks up from the working directory to the kdive module root.
func repoRoot() string {
	d, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && strings.HasPrefix(string(b), "module kdive\n") {
			return d
		}
		up := filepath.Dir(d)
		if up == d {
			return ""
		}
		d = up
	}
}

// CheckComplete verifies a corpus directory: MANIFEST present, every file
// it lists present with its size, and every scenario with every file.
func CheckComplete(dir string) error {
	listed, err := checkManifest(dir)
	if err != nil {
		return err
	}
	need := []string{"vmlinux", "kernel-version", "modules/kdive_rig.ko", "modules/dummy.ko"}
	for _, s := range scenarios {
		for _, n := range Files() {
			need = append(need, s+"/"+n)
		}
	}
	for _, n := range need {
		if !listed[n] {
			return fmt.Errorf("MANIFEST lacks %s", n)
		}
	}
	return nil
}
