package diskdump

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"kdive/internal/dump"
	"kdive/internal/dump/elfcore"
	"kdive/internal/testcorpus"
)

// Tests on real dumps: the shared zstd/snappy pair (makedumpfile 1.7.9,
// -d 31, Debian 6.1.0-53-cloud-amd64 crashed by sysrq-c) and, when the rig
// has built it, the corpus (lzo, zlib, flattened, QEMU kdump-zlib).

const (
	realRelease  = "6.1.0-53-cloud-amd64"
	startKernMap = 0xffffffff80000000 // x86_64 __START_KERNEL_map
)

func sharedFile(t testing.TB, name string) string {
	t.Helper()
	return filepath.Join(testcorpus.Shared(t), name)
}

func openReal(t testing.TB, path string, opts dump.Options) *Reader {
	t.Helper()
	d, err := Open(path, opts)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	t.Cleanup(func() { d.Close() })
	return d.(*Reader)
}

// vmcoreinfoValue returns the value of KEY= in VMCOREINFO text.
func vmcoreinfoValue(vmci []byte, key string) (string, bool) {
	for _, line := range strings.Split(string(vmci), "\n") {
		if v, ok := strings.CutPrefix(line, key+"="); ok {
			return v, true
		}
	}
	return "", false
}

// kernelPhys converts a kernel-image virtual address to physical with the
// dump's phys_base (x86_64: phys = virt - __START_KERNEL_map + phys_base).
func kernelPhys(t testing.TB, r *Reader, sym string) uint64 {
	t.Helper()
	v, ok := vmcoreinfoValue(r.Info().VMCOREINFO, "SYMBOL("+sym+")")
	if !ok {
		t.Fatalf("VMCOREINFO has no SYMBOL(%s)", sym)
	}
	va, err := strconv.ParseUint(v, 16, 64)
	if err != nil {
		t.Fatal(err)
	}
	return va - startKernMap + r.PhysBase()
}

// checkRealKernel checks what every dump of the 6.1.0-53 kernel must give.
func checkRealKernel(t *testing.T, r *Reader, nodename string) {
	in := r.Info()
	if !bytes.Contains(in.VMCOREINFO, []byte("OSRELEASE="+realRelease+"\n")) {
		t.Fatalf("VMCOREINFO lacks OSRELEASE=%s: %.80q", realRelease, in.VMCOREINFO)
	}
	if pb, ok := vmcoreinfoValue(in.VMCOREINFO, "NUMBER(phys_base)"); ok {
		n, err := strconv.ParseInt(pb, 10, 64)
		if err != nil || uint64(n) != r.PhysBase() {
			t.Fatalf("PhysBase %#x, VMCOREINFO NUMBER(phys_base)=%s", r.PhysBase(), pb)
		}
		// makedumpfile writes the same value into the sub header; QEMU
		// parses the decimal text as hex.
		sub := r.SubHeaderPhysBase()
		if len(in.QEMUCPUState) == 0 && sub != uint64(n) {
			t.Fatalf("sub header phys_base %#x, VMCOREINFO NUMBER(phys_base)=%s", sub, pb)
		}
		if len(in.QEMUCPUState) > 0 && sub != uint64(n) {
			neg := strings.HasPrefix(pb, "-")
			h, err := strconv.ParseUint(strings.TrimPrefix(pb, "-"), 16, 64)
			if neg {
				h = -h
			}
			if err != nil || h != sub {
				t.Fatalf("QEMU sub header phys_base %#x is not NUMBER(phys_base)=%s read as hex", sub, pb)
			}
		}
	}
	// init_uts_ns.name is a struct new_utsname.
	uts := make([]byte, 6*65)
	if _, err := r.ReadPhysAt(uts, kernelPhys(t, r, "init_uts_ns")); err != nil {
		t.Fatalf("init_uts_ns: %v", err)
	}
	if cstr(uts[:65]) != "Linux" || cstr(uts[130:195]) != realRelease || (nodename != "" && cstr(uts[65:130]) != nodename) {
		t.Fatalf("init_uts_ns: %q / %q / %q", cstr(uts[:65]), cstr(uts[65:130]), cstr(uts[130:195]))
	}
	if in.Nodename != "" && in.Nodename != cstr(uts[65:130]) {
		t.Fatalf("header nodename %q, memory says %q", in.Nodename, cstr(uts[65:130]))
	}
	// linux_banner lies in the kernel's rodata, after _stext.
	stext := kernelPhys(t, r, "_stext")
	banner := []byte("Linux version " + realRelease + " ")
	page := make([]byte, in.PageSize+len(banner))
	found := false
	for a := stext; a < stext+64<<20 && !found; a += uint64(in.PageSize) {
		if _, err := r.ReadPhysAt(page, a); err != nil {
			continue
		}
		found = bytes.Contains(page, banner)
	}
	if !found {
		t.Fatalf("no %q within 64 MiB after _stext (phys %#x)", banner, stext)
	}
}

func TestRealSharedDumps(t *testing.T) {
	truth := testcorpus.ParseTruth(readFile(t, sharedFile(t, "truth.txt")))
	for _, c := range []struct{ file, comp string }{{"vmcore.zstd", "zstd"}, {"vmcore.snappy", "snappy"}} {
		t.Run(c.file, func(t *testing.T) {
			t0 := time.Now()
			r := openReal(t, sharedFile(t, c.file), dump.Options{})
			t.Logf("open: %v", time.Since(t0))
			in := r.Info()
			if in.Format != "kdump" || in.Compression != c.comp || in.Flattened || !in.Partial || in.PageSize != 4096 {
				t.Fatalf("info: %+v", in)
			}
			if in.Release != realRelease || in.Nodename != truth["nodename"][0] || in.Machine != "x86_64" || in.Sysname != "Linux" {
				t.Fatalf("utsname: %q %q %q", in.Release, in.Nodename, in.Machine)
			}
			if strconv.Itoa(in.NrCPUs) != truth["cpus"][0] || len(in.PRStatus) != in.NrCPUs || len(in.QEMUCPUState) != 0 {
				t.Fatalf("cpus: nr %d, %d PRSTATUS", in.NrCPUs, len(in.PRStatus))
			}
			// The crash was triggered by PID 1; elf_prstatus.pr_pid is at 32.
			pid1 := false
			for _, p := range in.PRStatus {
				if len(p) != 336 {
					t.Fatalf("PRSTATUS of %d bytes", len(p))
				}
				pid1 = pid1 || binary.LittleEndian.Uint32(p[32:]) == 1
			}
			if !pid1 {
				t.Fatal("no PRSTATUS with pr_pid 1")
			}
			if ct, ok := vmcoreinfoValue(in.VMCOREINFO, "CRASHTIME"); !ok || strconv.FormatInt(in.Timestamp.Unix(), 10) != ct {
				t.Fatalf("timestamp %v, CRASHTIME %s", in.Timestamp, ct)
			}
			if in.MaxPFN != 0x1ffda || r.DumpLevel() != 31 || r.HeaderVersion() != 6 {
				t.Fatalf("max_mapnr %#x dump_level %d version %d", in.MaxPFN, r.DumpLevel(), r.HeaderVersion())
			}
			checkRealKernel(t, r, truth["nodename"][0])
			checkExcluded(t, r)
		})
	}
}

func readFile(t testing.TB, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkExcluded checks the error kinds on a filtered dump.
func checkExcluded(t *testing.T, r *Reader) {
	t.Helper()
	bs := uint64(r.blockSize)
	var excl, hole uint64
	exclN, holeN := 0, 0
	for pfn := uint64(0); pfn < r.maxPFN; pfn++ {
		v, d := bitSet(r.valid, pfn), bitSet(r.dumpable, pfn)
		if v && !d {
			if exclN == 0 || pfn%97 == 0 {
				excl = pfn
			}
			exclN++
		}
		if !v && !d {
			hole = pfn
			holeN++
		}
	}
	if exclN == 0 {
		t.Fatal("a -d 31 dump without excluded pages")
	}
	buf := make([]byte, 64)
	var ee *dump.ExcludedError
	if _, err := r.ReadPhysAt(buf, excl*bs+100); !errors.As(err, &ee) || ee.Addr != excl*bs+100 {
		t.Fatalf("excluded pfn %#x: %v", excl, err)
	}
	r.opts.ZeroExcluded = true
	defer func() { r.opts.ZeroExcluded = false }()
	rz := r
	for i := range buf {
		buf[i] = 0xee
	}
	if n, err := rz.ReadPhysAt(buf, excl*bs+100); err != nil || n != len(buf) || !bytes.Equal(buf, make([]byte, len(buf))) {
		t.Fatalf("zero-excluded pfn %#x: %v", excl, err)
	}
	var ne *dump.NotPresentError
	if holeN > 0 {
		if _, err := rz.ReadPhysAt(buf, hole*bs); !errors.As(err, &ne) {
			t.Fatalf("non-RAM pfn %#x: %v", hole, err)
		}
	}
	if _, err := rz.ReadPhysAt(buf, r.maxPFN*bs); !errors.As(err, &ne) {
		t.Fatalf("pfn max_mapnr: %v", err)
	}
}

// samePages compares a's and b's pages: every pfn dumpable in a (or a sample
// of n of them when n > 0) must read the same from b.
func samePages(t *testing.T, a, b *Reader, n int) int {
	t.Helper()
	var pfns []uint64
	for pfn := uint64(0); pfn < a.maxPFN; pfn++ {
		if bitSet(a.dumpable, pfn) {
			pfns = append(pfns, pfn)
		}
	}
	if n > 0 && n < len(pfns) {
		rnd := rand.New(rand.NewSource(1))
		rnd.Shuffle(len(pfns), func(i, j int) { pfns[i], pfns[j] = pfns[j], pfns[i] })
		pfns = pfns[:n]
	}
	bs := uint64(a.blockSize)
	pa, pb := make([]byte, bs), make([]byte, bs)
	for _, pfn := range pfns {
		if _, err := a.ReadPhysAt(pa, pfn*bs); err != nil {
			t.Fatalf("%s pfn %#x: %v", a.path, pfn, err)
		}
		if _, err := b.ReadPhysAt(pb, pfn*bs); err != nil {
			t.Fatalf("%s pfn %#x: %v", b.path, pfn, err)
		}
		if !bytes.Equal(pa, pb) {
			t.Fatalf("pfn %#x differs between %s and %s", pfn, a.path, b.path)
		}
	}
	return len(pfns)
}

func TestRealZstdSnappySame(t *testing.T) {
	z := openReal(t, sharedFile(t, "vmcore.zstd"), dump.Options{})
	s := openReal(t, sharedFile(t, "vmcore.snappy"), dump.Options{})
	for i := range z.valid {
		if z.valid[i] != s.valid[i] || z.dumpable[i] != s.dumpable[i] {
			t.Fatalf("bitmaps differ at word %d", i)
		}
	}
	n := samePages(t, z, s, 0)
	t.Logf("%d pages identical", n)
}

// Corpus dumps (testdata/rig): skipped when the corpus is absent.

func TestCorpusKdump(t *testing.T) {
	for _, sc := range testcorpus.Scenarios() {
		t.Run(sc, func(t *testing.T) {
			lzo := openReal(t, testcorpus.File(t, sc, testcorpus.KdumpLZO), dump.Options{})
			flat := openReal(t, testcorpus.File(t, sc, testcorpus.KdumpFlat), dump.Options{})
			zl := openReal(t, testcorpus.File(t, sc, testcorpus.KdumpZlib), dump.Options{})
			truth := testcorpus.Truth(t, sc)
			for _, c := range []struct {
				r    *Reader
				comp string
				flat bool
			}{{lzo, "lzo", false}, {flat, "lzo", true}, {zl, "zlib", false}} {
				in := c.r.Info()
				if in.Compression != c.comp || in.Flattened != c.flat || !in.Partial {
					t.Fatalf("%s: compression %q flattened %v partial %v", c.r.path, in.Compression, in.Flattened, in.Partial)
				}
				checkRealKernel(t, c.r, truth["nodename"][0])
				checkExcluded(t, c.r)
			}
			// vmcore.lzo was rebuilt (makedumpfile -R) from vmcore.flat.
			t.Logf("flat/lzo: %d pages identical", samePages(t, flat, lzo, 3000))
			t.Logf("lzo/zlib: %d pages identical", samePages(t, lzo, zl, 3000))
		})
	}
}

func TestCorpusQEMU(t *testing.T) {
	for _, sc := range testcorpus.Scenarios() {
		t.Run(sc, func(t *testing.T) {
			q := openReal(t, testcorpus.File(t, sc, testcorpus.QEMUKdump), dump.Options{})
			in := q.Info()
			truth := testcorpus.TruthOf(t, sc, testcorpus.QEMUTruth)
			if in.Compression != "zlib" || in.Partial || len(in.QEMUCPUState) == 0 || len(in.PRStatus) != len(in.QEMUCPUState) {
				t.Fatalf("info: compression %q partial %v flattened %v, %d QEMU notes, %d PRSTATUS",
					in.Compression, in.Partial, in.Flattened, len(in.QEMUCPUState), len(in.PRStatus))
			}
			if strconv.Itoa(in.NrCPUs) != truth["cpus"][0] {
				t.Fatalf("nr_cpus %d, truth %v", in.NrCPUs, truth["cpus"])
			}
			t.Logf("QEMU kdump: version %d, flattened %v, VMCOREINFO %d bytes, machine %q, phys_base %#x, dump_level %d",
				q.HeaderVersion(), in.Flattened, len(in.VMCOREINFO), in.Machine, q.PhysBase(), q.DumpLevel())
			if in.VMCOREINFO != nil {
				checkRealKernel(t, q, "")
			}
		})
	}
}

// TestCorpusAgainstELF compares the kdump files with the ELF cores of the
// same memory, read by package elfcore: vmcore.lzo (makedumpfile -d 31 of
// /proc/vmcore) with vmcore.elf, and qemu.kdump with qemu.elf.
func TestCorpusAgainstELF(t *testing.T) {
	if testing.Short() {
		t.Skip("short: reads 500 MB ELF cores")
	}
	for _, sc := range testcorpus.Scenarios() {
		t.Run(sc, func(t *testing.T) {
			for _, c := range [][2]string{{testcorpus.KdumpLZO, testcorpus.KdumpELF}, {testcorpus.QEMUKdump, testcorpus.QEMUELF}} {
				k := openReal(t, testcorpus.File(t, sc, c[0]), dump.Options{})
				e, err := elfcore.Open(testcorpus.File(t, sc, c[1]), dump.Options{})
				if err != nil {
					t.Fatal(err)
				}
				defer e.Close()
				var pfns []uint64
				for pfn := uint64(0); pfn < k.maxPFN; pfn++ {
					if bitSet(k.dumpable, pfn) {
						pfns = append(pfns, pfn)
					}
				}
				rnd := rand.New(rand.NewSource(2))
				rnd.Shuffle(len(pfns), func(i, j int) { pfns[i], pfns[j] = pfns[j], pfns[i] })
				pfns = pfns[:min(len(pfns), 4000)]
				pa, pb := make([]byte, 4096), make([]byte, 4096)
				for _, pfn := range pfns {
					if _, err := k.ReadPhysAt(pa, pfn*4096); err != nil {
						t.Fatalf("%s pfn %#x: %v", c[0], pfn, err)
					}
					if _, err := e.ReadPhysAt(pb, pfn*4096); err != nil {
						t.Fatalf("%s pfn %#x: %v", c[1], pfn, err)
					}
					if !bytes.Equal(pa, pb) {
						t.Fatalf("pfn %#x differs between %s and %s", pfn, c[0], c[1])
					}
				}
				t.Logf("%s = %s on %d pages", c[0], c[1], len(pfns))
			}
		})
	}
}

// TestRealConcurrent reads random pages of the real zstd dump from several
// goroutines (run with -race) and compares them with single reads.
func TestRealConcurrent(t *testing.T) {
	r := openReal(t, sharedFile(t, "vmcore.zstd"), dump.Options{})
	want := openReal(t, sharedFile(t, "vmcore.zstd"), dump.Options{})
	pfns := dumpablePFNs(r)
	done := make(chan error, 4)
	for g := 0; g < 4; g++ {
		go func(seed int64) {
			rnd := rand.New(rand.NewSource(seed))
			a, b := make([]byte, 4096), make([]byte, 4096)
			for i := 0; i < 500; i++ {
				pfn := pfns[rnd.Intn(len(pfns))]
				off := uint64(rnd.Intn(4096))
				n, err := r.ReadPhysAt(a[:4096-off], pfn*4096+off)
				if err != nil || n != int(4096-off) {
					done <- err
					return
				}
				if _, err := want.ReadPhysAt(b, pfn*4096); err != nil || !bytes.Equal(a[:4096-off], b[off:]) {
					done <- errors.New("content differs")
					return
				}
			}
			done <- nil
		}(int64(g))
	}
	for g := 0; g < 4; g++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

// TestCorpusOpenTime logs how long opening each corpus kdump file takes.
func TestCorpusOpenTime(t *testing.T) {
	for _, f := range []string{testcorpus.KdumpLZO, testcorpus.KdumpZlib, testcorpus.KdumpFlat, testcorpus.QEMUKdump} {
		p := testcorpus.File(t, "sysrq", f)
		t0 := time.Now()
		d, err := Open(p, dump.Options{})
		if err != nil {
			t.Fatal(err)
		}
		el := time.Since(t0)
		r := d.(*Reader)
		extra := ""
		if r.flat != nil {
			extra = ", " + strconv.Itoa(r.flat.Records()) + " flattened extents"
		}
		t.Logf("%s: open %v, %d pages%s", f, el, r.nDumpable, extra)
		d.Close()
	}
}
