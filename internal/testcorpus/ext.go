package testcorpus

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The ext corpus: the extended scenarios of testdata/rig/ext (RIG_SET=ext
// testdata/rig/ensure-corpus.sh), kept apart from the base corpus so that
// the base corpus and the goldens captured on it never change with them.
// Each scenario directory holds only vmcore.elf, vmcore.lzo, console.log
// and truth.txt (no QEMU dumps, no zlib/flat/filtered files).

// EnvExtCorpus names the ext corpus directory (default
// $HOME/.cache/kdive/corpus-ext).
const EnvExtCorpus = "KDIVE_EXT_CORPUS"

var extScenarios = []string{"hung", "softirq", "tcp", "mthread", "uaf", "poison", "leak", "logring"}

var extFormats = []string{KdumpELF, KdumpLZO}

// ExtScenarios lists the ext corpus's scenarios:
//
//	hung     a task (the holder) blocked in D state; khungtaskd panics
//	         (kernel.hung_task_panic=1, timeout 2 s): panic task khungtaskd
//	softirq  Oops in a timer callback (softirq on the IRQ stack) that
//	         interrupted the holder spinning in kdive_ext_spin
//	tcp      kdive-tcp holds TCP/UDP/UNIX sockets on loopback; sysrq crash
//	mthread  kdive-mt, six threads asleep in different syscalls; sysrq crash
//	uaf      a kmalloc-1k object freed and reused, one freed and left free;
//	         sysrq crash
//	poison   slub_debug=FZPU,kdive_poison: a freed object overwritten
//	         ("Poison overwritten" in the log); sysrq crash
//	leak     cache kdive_leak with 5000 live objects; sysrq crash
func ExtScenarios() []string { return append([]string(nil), extScenarios...) }

// ExtFormats lists the dump files of each ext scenario.
func ExtFormats() []string { return append([]string(nil), extFormats...) }

// ExtFiles lists every per-scenario file of the ext corpus.
func ExtFiles() []string { return append(ExtFormats(), Console, TruthFile) }

// ExtPath returns the ext corpus directory named by the environment, without
// checking that it exists.
func ExtPath() string {
	if d := os.Getenv(EnvExtCorpus); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".cache", "kdive", "corpus-ext")
}

// ExtDir returns the ext corpus directory. It skips the test (fails it under
// KDIVE_REQUIRE_CORPUS=1) when there is no ext corpus.
func ExtDir(t testing.TB) string {
	t.Helper()
	d := ExtPath()
	if d == "" {
		missing(t, "no ext crash-dump corpus: cannot tell $HOME; set %s", EnvExtCorpus)
	}
	if _, err := os.Stat(filepath.Join(d, "MANIFEST")); err != nil {
		missing(t, "no ext crash-dump corpus at %s (build it with RIG_SET=ext testdata/rig/ensure-corpus.sh as root, or set %s)", d, EnvExtCorpus)
	}
	return d
}

// ExtFile returns the path of a per-scenario file of the ext corpus,
// skipping (or failing) like ExtDir when the corpus or the file is absent.
func ExtFile(t testing.TB, scenario, name string) string {
	t.Helper()
	p := filepath.Join(ExtDir(t), scenario, name)
	if _, err := os.Stat(p); err != nil {
		missing(t, "ext corpus file %s is absent", p)
	}
	return p
}

// ExtVmlinux returns the debug vmlinux of the ext corpus's kernel (the same
// file as the base corpus's when both were built for the same kernel).
func ExtVmlinux(t testing.TB) string {
	t.Helper()
	p := filepath.Join(ExtDir(t), "vmlinux")
	if _, err := os.Stat(p); err != nil {
		missing(t, "ext corpus has no vmlinux: %v", err)
	}
	return p
}

// ExtModule returns the debug .ko of a module loaded in the ext guests
// (kdive_ext, dummy, virtio, virtio_ring, virtio_pci, virtio_pci_legacy_dev,
// virtio_pci_modern_dev, virtio_blk, qemu_fw_cfg).
func ExtModule(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(ExtDir(t), "modules", name+".ko")
	if _, err := os.Stat(p); err != nil {
		missing(t, "ext corpus has no module %s: %v", name, err)
	}
	return p
}

// ExtTruth returns the ground truth of an ext scenario (its truth.txt) as
// key -> values. Besides the base keys, every ext scenario has task,
// slabinfo, meminfo and cmdline lines (see ParseTasks, ParseSlabinfo,
// ParseMeminfo) and its own keys (testdata/rig/README.md lists them).
func ExtTruth(t testing.TB, scenario string) map[string][]string {
	t.Helper()
	b, err := os.ReadFile(ExtFile(t, scenario, TruthFile))
	if err != nil {
		t.Fatal(err)
	}
	m := ParseTruth(string(b))
	if len(m) == 0 {
		t.Fatalf("ext %s/%s has no TRUTH lines", scenario, TruthFile)
	}
	return m
}

// Task is one "TRUTH task TGID TID PPID STATE COMM" line: a thread as the
// guest's /proc showed it just before the crash (STATE and PPID from
// /proc/TGID/task/TID/stat; the holder itself shows R, it was printing).
type Task struct {
	TGID, TID, PPID int
	State           string
	Comm            string
}

// ParseTasks parses the task lines of a truth map.
func ParseTasks(truth map[string][]string) ([]Task, error) {
	var out []Task
	for _, v := range truth["task"] {
		f := strings.Fields(v)
		if len(f) < 5 {
			return nil, fmt.Errorf("task line %q: want TGID TID PPID STATE COMM", v)
		}
		var n [3]int
		for i := range n {
			x, err := strconv.Atoi(f[i])
			if err != nil {
				return nil, fmt.Errorf("task line %q: %v", v, err)
			}
			n[i] = x
		}
		out = append(out, Task{TGID: n[0], TID: n[1], PPID: n[2], State: f[3], Comm: strings.Join(f[4:], " ")})
	}
	return out, nil
}

// Slabinfo is one /proc/slabinfo line ("TRUTH slabinfo NAME ACTIVE_OBJS
// NUM_OBJS OBJSIZE OBJPERSLAB PAGESPERSLAB : tunables 0 0 0 : slabdata
// ACTIVE_SLABS NUM_SLABS 0"). SLUB counts objects on per-CPU slabs as
// active, so ActiveObjs is an upper bound of the allocated objects.
type Slabinfo struct {
	Name                         string
	ActiveObjs, NumObjs, ObjSize int64
	ObjPerSlab, PagesPerSlab     int64
	ActiveSlabs, NumSlabs        int64
}

// ParseSlabinfo parses the slabinfo lines of a truth map: cache name ->
// its line. Caches merged into others have no line of their own.
func ParseSlabinfo(truth map[string][]string) (map[string]Slabinfo, error) {
	out := map[string]Slabinfo{}
	for _, v := range truth["slabinfo"] {
		f := strings.Fields(v)
		// NAME a n size per pages : tunables x y z : slabdata as ns 0
		if len(f) != 16 || f[6] != ":" || f[7] != "tunables" || f[11] != ":" || f[12] != "slabdata" {
			return nil, fmt.Errorf("slabinfo line %q: unexpected layout", v)
		}
		var n [7]int64
		for i, j := range []int{1, 2, 3, 4, 5, 13, 14} {
			x, err := strconv.ParseInt(f[j], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("slabinfo line %q: %v", v, err)
			}
			n[i] = x
		}
		out[f[0]] = Slabinfo{Name: f[0], ActiveObjs: n[0], NumObjs: n[1], ObjSize: n[2],
			ObjPerSlab: n[3], PagesPerSlab: n[4], ActiveSlabs: n[5], NumSlabs: n[6]}
	}
	return out, nil
}

// ParseMeminfo parses the meminfo lines of a truth map ("TRUTH meminfo KEY
// VALUE", /proc/meminfo without the colon and the unit): key -> value, in kB
// except the HugePages_* counts.
func ParseMeminfo(truth map[string][]string) (map[string]int64, error) {
	out := map[string]int64{}
	for _, v := range truth["meminfo"] {
		f := strings.Fields(v)
		if len(f) != 2 {
			return nil, fmt.Errorf("meminfo line %q: want KEY VALUE", v)
		}
		x, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("meminfo line %q: %v", v, err)
		}
		out[f[0]] = x
	}
	return out, nil
}

// ParseObjects parses the object lines of a truth map ("TRUTH object NAME
// ADDR", %px): name -> address.
func ParseObjects(truth map[string][]string) (map[string]uint64, error) {
	out := map[string]uint64{}
	for _, v := range truth["object"] {
		f := strings.Fields(v)
		if len(f) != 2 {
			return nil, fmt.Errorf("object line %q: want NAME ADDR", v)
		}
		x, err := strconv.ParseUint(f[1], 16, 64)
		if err != nil {
			return nil, fmt.Errorf("object line %q: %v", v, err)
		}
		out[f[0]] = x
	}
	return out, nil
}

// CheckExtComplete verifies an ext corpus directory like CheckComplete: the
// MANIFEST's files with their sizes, and every ext scenario with every file.
func CheckExtComplete(dir string) error {
	listed, err := checkManifest(dir)
	if err != nil {
		return err
	}
	need := []string{"vmlinux", "kernel-version", "modules/kdive_ext.ko", "modules/dummy.ko",
		"bin/kdive-tcp", "bin/kdive-mt"}
	for _, s := range extScenarios {
		for _, n := range ExtFiles() {
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

// checkManifest checks every "SIZE PATH" line of dir/MANIFEST and returns
// the listed paths.
func checkManifest(dir string) (map[string]bool, error) {
	f, err := os.Open(filepath.Join(dir, "MANIFEST"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	listed := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		size, name, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			return nil, fmt.Errorf("MANIFEST: bad line %q", sc.Text())
		}
		want, err := strconv.ParseInt(size, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("MANIFEST: bad size in %q", sc.Text())
		}
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		if st.Size() != want {
			return nil, fmt.Errorf("%s: size %d, MANIFEST says %d", name, st.Size(), want)
		}
		listed[name] = true
	}
	return listed, sc.Err()
}
