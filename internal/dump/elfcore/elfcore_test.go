package elfcore

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"kdive/internal/dump"
	ect "kdive/internal/dump/elfcore/elfcoretest"
)

const (
	pageOffset = 0xffff888000000000
	textBase   = 0xffffffff81000000
	vmcoreinfo = "OSRELEASE=6.1.0-test\nPAGESIZE=4096\nNUMBER(phys_base)=0x1000000\n"
)

func writeTemp(t testing.TB, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "vmcore")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func openBytes(t testing.TB, b []byte, opts dump.Options) (*Core, error) {
	t.Helper()
	return newCore(bytes.NewReader(b), int64(len(b)), "mem.core", opts, false)
}

func mustOpenBytes(t testing.TB, b []byte, opts dump.Options) *Core {
	t.Helper()
	c, err := openBytes(t, b, opts)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return c
}

// vmcoreLike is a /proc/vmcore copy: two CPUs, VMCOREINFO, RAM segments
// (one split in two adjacent PT_LOADs stored out of order in the file), a
// hole, and a kernel-text PT_LOAD overlapping RAM.
func vmcoreLike() *ect.Core {
	seed := uint64(0x5a5a)
	return &ect.Core{
		Notes: []ect.Note{
			ect.N("CORE", 1, ect.PRStatus(1, 0xffffffff81001234)),
			ect.N("CORE", 1, ect.PRStatus(2, 0xffffffff81005678)),
			ect.N("VMCOREINFO", 0, []byte(vmcoreinfo)),
		},
		Loads: []ect.Load{
			{VAddr: textBase, PAddr: 0x200000, Data: ect.Pattern(0x200000, 0x10000, seed)},
			{VAddr: pageOffset + 0x1000, PAddr: 0x1000, Data: ect.Pattern(0x1000, 0x9e000, seed)},
			{VAddr: pageOffset + 0x180000, PAddr: 0x180000, Data: ect.Pattern(0x180000, 0x80000, seed)},
			{VAddr: pageOffset + 0x100000, PAddr: 0x100000, Data: ect.Pattern(0x100000, 0x80000, seed)},
		},
	}
}

func TestVmcore(t *testing.T) {
	b, _ := vmcoreLike().Bytes()
	d, err := Open(writeTemp(t, b), dump.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	info := d.Info()
	if info.Format != "ELF" || info.NrCPUs != 2 || len(info.PRStatus) != 2 || info.PageSize != 4096 {
		t.Fatalf("info: format %q cpus %d prstatus %d", info.Format, info.NrCPUs, len(info.PRStatus))
	}
	if string(info.VMCOREINFO) != vmcoreinfo {
		t.Fatalf("VMCOREINFO %q", info.VMCOREINFO)
	}
	if !bytes.Equal(info.PRStatus[1], ect.PRStatus(2, 0xffffffff81005678)) {
		t.Fatal("PRStatus[1] differs")
	}
	if info.Partial || len(info.QEMUCPUState) != 0 {
		t.Fatalf("partial %v qemu %d", info.Partial, len(info.QEMUCPUState))
	}
	if info.MaxPFN != 0x210 {
		t.Fatalf("MaxPFN %#x", info.MaxPFN)
	}
	if len(info.Segments) != 4 || info.Segments[0].VAddr != textBase || info.Segments[0].PAddr != 0x200000 {
		t.Fatalf("segments %+v", info.Segments)
	}

	check := func(addr uint64, n int) {
		t.Helper()
		p := make([]byte, n)
		got, err := d.ReadPhysAt(p, addr)
		if err != nil || got != n {
			t.Fatalf("read %#x+%d: %d, %v", addr, n, got, err)
		}
		if want := ect.Pattern(addr, n, 0x5a5a); !bytes.Equal(p, want) {
			t.Fatalf("read %#x+%d: wrong data", addr, n)
		}
	}
	check(0x1000, 4096)
	check(0x17f000, 0x2000) // spans two PT_LOADs stored out of order
	check(0x100000, 0x100000)
	check(0x1fff00, 0x100) // overlaps the text segment: same bytes
	check(0x200000, 0x10000)

	// Hole below 1 MiB.
	p := make([]byte, 0x2000)
	n, err := d.ReadPhysAt(p, 0x9e000)
	var np *dump.NotPresentError
	if !errors.As(err, &np) || np.Addr != 0x9f000 || n != 0x1000 {
		t.Fatalf("hole: n %#x err %v", n, err)
	}
	if _, err := d.ReadPhysAt(p, 0); !errors.As(err, &np) || np.Addr != 0 {
		t.Fatalf("page 0: %v", err)
	}
	if _, err := d.ReadPhysAt(p, 0x20f000); !errors.As(err, &np) || np.Addr != 0x210000 {
		t.Fatalf("end of RAM: %v", err)
	}
	if _, err := d.ReadPhysAt(p, math.MaxUint64-0x10); !errors.As(err, &np) {
		t.Fatalf("top of address space: %v", err)
	}
	if n, err := d.ReadPhysAt(nil, 0x5000); n != 0 || err != nil {
		t.Fatalf("empty read: %d %v", n, err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := d.ReadPhysAt(p, 0x1000); err == nil {
		t.Fatal("read after close succeeded")
	}
}

func TestNotDump(t *testing.T) {
	base, _ := vmcoreLike().Bytes()
	mod := func(f func(b []byte)) []byte {
		b := bytes.Clone(base)
		f(b)
		return b
	}
	cases := map[string][]byte{
		"empty":      {},
		"text":       []byte("hello world, this is not an ELF core file at all.............................."),
		"magic only": []byte("\x7fEL"),
		"elf32":      mod(func(b []byte) { b[4] = 1 }),
		"big endian": mod(func(b []byte) { b[5] = 2 }),
		"ET_EXEC":    mod(func(b []byte) { b[16] = 2 }),
		"aarch64":    mod(func(b []byte) { b[18] = 183 }),
	}
	for name, b := range cases {
		_, err := Open(writeTemp(t, b), dump.Options{})
		if !errors.Is(err, dump.ErrNotDump) {
			t.Errorf("%s: err %v, want ErrNotDump", name, err)
		} else if strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: multi-line error %q", name, err)
		}
	}
	if _, err := Open(t.TempDir(), dump.Options{}); !errors.Is(err, dump.ErrNotDump) {
		t.Errorf("directory: %v", err)
	}
	if _, err := Open(filepath.Join(t.TempDir(), "missing"), dump.Options{}); err == nil || errors.Is(err, dump.ErrNotDump) {
		t.Errorf("missing file: %v", err)
	}
}

// TestTruncation cuts a core at every length: no panic; the header, program
// headers and notes must be whole, else a one-line error naming the file and
// offset; past them Open works and reads past EOF are CorruptErrors naming
// the first missing file offset.
func TestTruncation(t *testing.T) {
	c := vmcoreLike()
	c.Loads = c.Loads[:2]
	c.Loads[1].Data = c.Loads[1].Data[:0x2000]
	full, l := c.Bytes()
	notesEnd := int(l.NoteOff + l.NoteSize)
	for cut := 0; cut <= len(full); cut++ {
		if cut > notesEnd+64 && cut < len(full)-64 && cut%61 != 0 {
			continue // the data region: a sample suffices
		}
		b := full[:cut]
		d, err := openBytes(t, b, dump.Options{})
		switch {
		case cut < 4:
			if !errors.Is(err, dump.ErrNotDump) {
				t.Fatalf("cut %d: %v", cut, err)
			}
			continue
		case cut < notesEnd:
			var ce *dump.CorruptError
			if !errors.As(err, &ce) || errors.Is(err, dump.ErrNotDump) {
				t.Fatalf("cut %d: err %v, want CorruptError", cut, err)
			}
			if ce.Offset < 0 || ce.Offset > int64(cut) || !strings.Contains(err.Error(), "mem.core") || strings.Contains(err.Error(), "\n") {
				t.Fatalf("cut %d: bad error %q", cut, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("cut %d: %v", cut, err)
		}
		if cut < len(full) && len(d.Warnings()) == 0 {
			t.Fatalf("cut %d: no truncation warning", cut)
		}
		for i, ld := range c.Loads {
			off := l.LoadOff[i]
			p := make([]byte, len(ld.Data))
			n, err := d.ReadPhysAt(p, ld.PAddr)
			avail := max(0, min(int(len(ld.Data)), cut-int(off)))
			if n != avail {
				t.Fatalf("cut %d load %d: n %d want %d (%v)", cut, i, n, avail, err)
			}
			if !bytes.Equal(p[:n], ld.Data[:n]) {
				t.Fatalf("cut %d load %d: wrong data", cut, i)
			}
			if avail == len(ld.Data) {
				if err != nil {
					t.Fatalf("cut %d load %d: %v", cut, i, err)
				}
				continue
			}
			var ce *dump.CorruptError
			if !errors.As(err, &ce) || ce.Offset != int64(off)+int64(avail) || ce.Addr != ld.PAddr+uint64(avail) {
				t.Fatalf("cut %d load %d: err %v, want CorruptError at offset %#x", cut, i, err, int(off)+avail)
			}
		}
	}
	// Once through real files, at the interesting points.
	for _, cut := range []int{10, 64, 100, notesEnd - 1, notesEnd, len(full) - 1} {
		_, err := Open(writeTemp(t, full[:cut]), dump.Options{})
		if (cut < notesEnd) != (err != nil) {
			t.Errorf("file cut %d: %v", cut, err)
		}
	}
}

func TestHugePhnum(t *testing.T) {
	b, _ := vmcoreLike().Bytes()
	b = b[:4096]
	b[56], b[57] = 0xfe, 0xff // e_phnum 65534 on a 4 KiB file
	if _, err := openBytes(t, b, dump.Options{}); err == nil || !strings.Contains(err.Error(), "program headers") {
		t.Fatalf("e_phnum 65534: %v", err)
	}
	// PN_XNUM with sh_info 0xffffffff.
	b[56], b[57] = 0xff, 0xff
	le := func(off int, v uint64, n int) {
		for i := range n {
			b[off+i] = byte(v >> (8 * i))
		}
	}
	le(40, 1024, 8) // e_shoff
	le(58, 64, 2)   // e_shentsize
	le(1024+44, 0xffffffff, 4)
	if _, err := openBytes(t, b, dump.Options{}); err == nil {
		t.Fatal("sh_info 0xffffffff accepted")
	}
	// Unknown size (procfs-like): must fail on EOF without allocating for
	// the claimed count.
	le(1024+44, maxPhnum, 4)
	if _, err := newCore(bytes.NewReader(b), -1, "proc", dump.Options{}, false); err == nil {
		t.Fatal("lying phnum accepted")
	}
	// e_phoff near the top.
	b[56], b[57] = 3, 0
	le(32, math.MaxUint64-10, 8)
	if _, err := openBytes(t, b, dump.Options{}); err == nil {
		t.Fatal("wild e_phoff accepted")
	}
	// A huge note size.
	c := vmcoreLike()
	full, l := c.Bytes()
	off := int(l.PhOff) + 32 // PT_NOTE p_filesz
	for i, v := range []byte{0, 0, 0, 0, 0, 0, 0, 0x10} {
		full[off+i] = v
	}
	if _, err := openBytes(t, full, dump.Options{}); err == nil {
		t.Fatal("2^60-byte note accepted")
	}
}

func TestMalformedLoads(t *testing.T) {
	c := vmcoreLike()
	c.Loads[1].FileSize = ect.U64(0x100000)
	c.Loads[1].MemSize = 0x1000
	b, _ := c.Bytes()
	if _, err := openBytes(t, b, dump.Options{}); err == nil || !strings.Contains(err.Error(), "p_filesz") {
		t.Fatalf("filesz > memsz: %v", err)
	}
	c = vmcoreLike()
	c.Loads[1].PAddr = math.MaxUint64 - 0x1000
	b, _ = c.Bytes()
	if _, err := openBytes(t, b, dump.Options{}); err == nil {
		t.Fatal("wrapping p_paddr accepted")
	}
	c = vmcoreLike()
	c.Loads[1].Offset = math.MaxInt64 - 10
	c.Loads[1].FileSize = ect.U64(0x9e000)
	c.Loads[1].Data = nil
	b, _ = c.Bytes()
	if _, err := openBytes(t, b, dump.Options{}); err == nil {
		t.Fatal("wild p_offset accepted")
	}
	// A PT_LOAD entirely past EOF opens (with a warning); reads fail.
	c = vmcoreLike()
	c.Loads[1].Offset = 1 << 40
	c.Loads[1].FileSize = ect.U64(0x9e000)
	c.Loads[1].Data = nil
	buf, _ := c.Bytes()
	d := mustOpenBytes(t, buf, dump.Options{})
	if len(d.Warnings()) == 0 {
		t.Fatal("no warning")
	}
	var ce *dump.CorruptError
	if _, err := d.ReadPhysAt(make([]byte, 8), 0x1000); !errors.As(err, &ce) || ce.Offset != 1<<40 {
		t.Fatalf("read past EOF: %v", err)
	}
}

// makedumpfileE mimics makedumpfile -E's PT_LOAD splitting
// (write_elf_pages_cyclic): runs of excluded pages shorter than 256 are
// written out with their contents; a run of 256 or more becomes the
// p_memsz-only tail of the PT_LOAD before it, and a new PT_LOAD starts at
// the next dumpable page. Segments here are page aligned.
func makedumpfileE(orig []ect.Load, excluded func(pfn uint64) bool) []ect.Load {
	const pfnExcluded = 256
	var out []ect.Load
	for _, o := range orig {
		start := o.PAddr
		memsz, filesz := uint64(0), uint64(0)
		nExcl := uint64(0)
		segStart := start
		pages := uint64(len(o.Data)) / 4096
		emit := func() {
			ld := ect.Load{VAddr: o.VAddr + (segStart - o.PAddr), PAddr: segStart, MemSize: memsz, FileSize: ect.U64(filesz)}
			off := segStart - o.PAddr
			ld.Data = o.Data[off : off+filesz]
			out = append(out, ld)
		}
		for i := range pages {
			pfn := start/4096 + i
			if excluded(pfn) {
				nExcl++
				memsz += 4096
				continue
			}
			if nExcl == 0 {
				memsz += 4096
				filesz += 4096
				continue
			}
			if nExcl < pfnExcluded {
				memsz += 4096
				filesz += 4096 * (nExcl + 1)
				nExcl = 0
				continue
			}
			emit()
			segStart += memsz
			nExcl = 0
			memsz, filesz = 4096, 4096
		}
		emit()
	}
	return out
}

func TestFilteredELF(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	// Excluded: a few long runs, many short ones, one at a segment start,
	// one at a segment end.
	excl := map[uint64]bool{}
	run := func(pfn, n uint64) {
		for i := range n {
			excl[pfn+i] = true
		}
	}
	run(0x100, 300)   // at the start of the second segment
	run(0x300, 100)   // short: kept
	run(0x400, 256)   // exactly PFN_EXCLUDED
	run(0x600, 255)   // one short of it: kept
	run(0x900, 0x100) // long, up to the segment end (0xa00)
	for range 200 {
		excl[0x1000+rng.Uint64N(0x600)] = true
	}
	orig := []ect.Load{
		{VAddr: pageOffset + 0x1000, PAddr: 0x1000, Data: ect.Pattern(0x1000, 0x9e000, 7)},
		{VAddr: pageOffset + 0x100000, PAddr: 0x100000, Data: ect.Pattern(0x100000, 0x900000, 7)},
		{VAddr: pageOffset + 0x1000000, PAddr: 0x1000000, Data: ect.Pattern(0x1000000, 0x600000, 7)},
	}
	split := makedumpfileE(orig, func(pfn uint64) bool { return excl[pfn] })
	if len(split) < 5 {
		t.Fatalf("simulator produced %d loads", len(split))
	}
	notes := vmcoreLike().Notes
	fb, _ := (&ect.Core{Notes: notes, Loads: split}).Bytes()
	ub, _ := (&ect.Core{Notes: notes, Loads: orig}).Bytes()
	fd, err := Open(writeTemp(t, fb), dump.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer fd.Close()
	ud := mustOpenBytes(t, ub, dump.Options{})
	zd := mustOpenBytes(t, fb, dump.Options{ZeroExcluded: true})
	if !fd.Info().Partial || ud.Info().Partial {
		t.Fatalf("Partial: filtered %v unfiltered %v", fd.Info().Partial, ud.Info().Partial)
	}
	if fd.Info().MaxPFN != ud.Info().MaxPFN {
		t.Fatalf("MaxPFN %#x vs %#x", fd.Info().MaxPFN, ud.Info().MaxPFN)
	}
	// Which pages are really gone: members of runs >= 256 within a segment.
	gone := map[uint64]bool{}
	for _, o := range orig {
		first, last := o.PAddr/4096, (o.PAddr+uint64(len(o.Data)))/4096
		for pfn := first; pfn < last; {
			if !excl[pfn] {
				pfn++
				continue
			}
			e := pfn
			for e < last && excl[e] {
				e++
			}
			if e-pfn >= 256 || e == last {
				for q := pfn; q < e; q++ {
					gone[q] = true
				}
			}
			pfn = e
		}
	}
	pu, pf, pz := make([]byte, 4096), make([]byte, 4096), make([]byte, 4096)
	for _, o := range orig {
		for a := o.PAddr; a < o.PAddr+uint64(len(o.Data)); a += 4096 {
			if _, err := ud.ReadPhysAt(pu, a); err != nil {
				t.Fatal(err)
			}
			_, ferr := fd.ReadPhysAt(pf, a)
			_, zerr := zd.ReadPhysAt(pz, a)
			if zerr != nil {
				t.Fatalf("zero-excluded read %#x: %v", a, zerr)
			}
			if gone[a/4096] {
				var ee *dump.ExcludedError
				if !errors.As(ferr, &ee) || ee.Addr != a {
					t.Fatalf("page %#x: err %v, want ExcludedError", a, ferr)
				}
				if !bytes.Equal(pz, make([]byte, 4096)) {
					t.Fatalf("page %#x: zero-excluded read not zero", a)
				}
				continue
			}
			if ferr != nil || !bytes.Equal(pf, pu) || !bytes.Equal(pz, pu) {
				t.Fatalf("page %#x: err %v or data differs", a, ferr)
			}
		}
	}
	// A read running from dumped memory into an excluded run stops there.
	p := make([]byte, 0x3000)
	n, err := fd.ReadPhysAt(p, 0x3ff000-0x1000)
	var ee *dump.ExcludedError
	if !errors.As(err, &ee) || ee.Addr != 0x400000 || n != 0x2000 {
		t.Fatalf("into excluded: n %#x err %v", n, err)
	}
	// Outside any RAM range: not present, not excluded.
	var np *dump.NotPresentError
	if _, err := fd.ReadPhysAt(p, 0xa0000); !errors.As(err, &np) {
		t.Fatalf("hole: %v", err)
	}
	if _, err := zd.ReadPhysAt(p, 0xa0000); !errors.As(err, &np) {
		t.Fatalf("hole, zero-excluded: %v", err)
	}
}

// TestPNXNum has more PT_LOADs than e_phnum can count.
func TestPNXNum(t *testing.T) {
	const nLoads = 70000
	c := &ect.Core{XNum: true, Notes: vmcoreLike().Notes}
	for i := range nLoads {
		pa := uint64(i) * 0x2000 // every other page: a hole between loads
		c.Loads = append(c.Loads, ect.Load{VAddr: pageOffset + pa, PAddr: pa, MemSize: 0x1000, FileSize: ect.U64(16), Data: ect.Pattern(pa, 16, 3)})
	}
	b, _ := c.Bytes()
	d := mustOpenBytes(t, b, dump.Options{})
	if len(d.Info().Segments) != nLoads || d.Info().NrCPUs != 2 || !d.Info().Partial {
		t.Fatalf("segments %d cpus %d", len(d.Info().Segments), d.Info().NrCPUs)
	}
	p := make([]byte, 32)
	var ee *dump.ExcludedError
	var np *dump.NotPresentError
	for _, i := range []int{0, 1, 4711, 65534, 65535, nLoads - 1} {
		pa := uint64(i) * 0x2000
		n, err := d.ReadPhysAt(p, pa)
		if n != 16 || !errors.As(err, &ee) || ee.Addr != pa+16 || !bytes.Equal(p[:16], ect.Pattern(pa, 16, 3)) {
			t.Fatalf("load %d: n %d err %v", i, n, err)
		}
		if _, err := d.ReadPhysAt(p, pa+0x1000); !errors.As(err, &np) {
			t.Fatalf("hole after load %d: %v", i, err)
		}
	}
}

func TestOverlaps(t *testing.T) {
	// A: [0x100000,0x300000) data only up to 0x200000, excluded after;
	// B: [0x180000,0x280000) all data; C: [0x100000,0x110000) duplicate of
	// A's start; D: excluded-only [0x500000,0x600000) overlapped by data E
	// [0x540000,0x550000).
	c := &ect.Core{Loads: []ect.Load{
		{PAddr: 0x100000, MemSize: 0x200000, Data: ect.Pattern(0x100000, 0x100000, 9)},
		{PAddr: 0x180000, Data: ect.Pattern(0x180000, 0x100000, 9)},
		{PAddr: 0x100000, Data: ect.Pattern(0x100000, 0x10000, 9)},
		{PAddr: 0x500000, MemSize: 0x100000, FileSize: ect.U64(0)},
		{PAddr: 0x540000, Data: ect.Pattern(0x540000, 0x10000, 9)},
	}}
	b, _ := c.Bytes()
	d := mustOpenBytes(t, b, dump.Options{})
	p := make([]byte, 0x180000)
	n, err := d.ReadPhysAt(p, 0x100000)
	var ee *dump.ExcludedError
	if n != 0x180000 || err != nil || !bytes.Equal(p, ect.Pattern(0x100000, 0x180000, 9)) {
		t.Fatalf("data union: n %#x err %v", n, err)
	}
	if _, err := d.ReadPhysAt(p[:8], 0x280000); !errors.As(err, &ee) {
		t.Fatalf("excluded tail: %v", err)
	}
	if _, err := d.ReadPhysAt(p[:8], 0x53fff8); !errors.As(err, &ee) {
		t.Fatalf("excluded before E: %v", err)
	}
	if n, err := d.ReadPhysAt(p[:0x10000], 0x540000); n != 0x10000 || err != nil || !bytes.Equal(p[:0x10000], ect.Pattern(0x540000, 0x10000, 9)) {
		t.Fatalf("E inside excluded D: %v", err)
	}
	n, err = d.ReadPhysAt(p[:0x20000], 0x540000)
	if n != 0x10000 || !errors.As(err, &ee) || ee.Addr != 0x550000 {
		t.Fatalf("after E: n %#x %v", n, err)
	}
}

func TestQEMU(t *testing.T) {
	qemuState := func(i byte) []byte { return bytes.Repeat([]byte{i}, 0x1b8) }
	for _, tc := range []struct {
		name      string
		vaddrSame bool // newer QEMU writes p_vaddr = p_paddr
		vmcinfo   bool
	}{{"old", false, true}, {"new", true, true}, {"no vmcoreinfo", false, false}} {
		t.Run(tc.name, func(t *testing.T) {
			c := &ect.Core{Notes: []ect.Note{
				ect.N("CORE", 1, ect.PRStatus(0, 1)),
				ect.N("CORE", 1, ect.PRStatus(0, 2)),
				ect.N("QEMU", 0, qemuState(1)),
				ect.N("QEMU", 0, qemuState(2)),
			}}
			if tc.vmcinfo {
				c.Notes = append(c.Notes, ect.N("VMCOREINFO", 0, []byte(vmcoreinfo)))
			}
			for _, r := range [][2]uint64{{0, 0xa0000}, {0xc0000, 0x20000}, {0x100000, 0x700000}} {
				ld := ect.Load{PAddr: r[0], Data: ect.Pattern(r[0], int(r[1]), 1)}
				if tc.vaddrSame {
					ld.VAddr = r[0]
				}
				c.Loads = append(c.Loads, ld)
			}
			b, _ := c.Bytes()
			d, err := Open(writeTemp(t, b), dump.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			info := d.Info()
			if info.NrCPUs != 2 || len(info.QEMUCPUState) != 2 || !bytes.Equal(info.QEMUCPUState[1], qemuState(2)) {
				t.Fatalf("cpus %d qemu %d", info.NrCPUs, len(info.QEMUCPUState))
			}
			if (info.VMCOREINFO != nil) != tc.vmcinfo {
				t.Fatalf("VMCOREINFO %q", info.VMCOREINFO)
			}
			for _, s := range info.Segments {
				if s.VAddr != 0 {
					t.Fatalf("segment %+v: VAddr not 0", s)
				}
			}
			p := make([]byte, 0x1000)
			if _, err := d.ReadPhysAt(p, 0x7ff000); err != nil || !bytes.Equal(p, ect.Pattern(0x7ff000, 0x1000, 1)) {
				t.Fatalf("read: %v", err)
			}
			if info.MaxPFN != 0x800 || info.Partial {
				t.Fatalf("MaxPFN %#x partial %v", info.MaxPFN, info.Partial)
			}
		})
	}
}

// kcoreLike mirrors /proc/kcore on x86-64 (fs/proc/kcore.c): p_offset is
// the kernel virtual address minus PAGE_OFFSET plus a header-sized data
// offset, p_paddr is set for KCORE_RAM and KCORE_TEXT entries and -1 for
// vmalloc/modules/vmemmap, notes are CORE PRSTATUS (zeroed), PRPSINFO,
// TASKSTRUCT and VMCOREINFO, and the file claims 128 TiB.
func kcoreLike() (*ect.Core, int64) {
	const dataOff = 0x2000
	off := func(va uint64) uint64 { return va - pageOffset + dataOff }
	ram := func(pa, n uint64) ect.Load {
		return ect.Load{VAddr: pageOffset + pa, PAddr: pa, Offset: off(pageOffset + pa), Data: ect.Pattern(pa, int(n), 11)}
	}
	return &ect.Core{
		Notes: []ect.Note{
			ect.N("CORE", 1, make([]byte, 336)),
			ect.N("CORE", 3, make([]byte, 136)),
			ect.N("CORE", 4, make([]byte, 64)),
			ect.N("VMCOREINFO", 0, []byte(vmcoreinfo)),
		},
		Loads: []ect.Load{
			// KCORE_TEXT: kernel image, physically at 0x1000000.
			{VAddr: textBase, PAddr: 0x1000000, Offset: off(textBase), Data: ect.Pattern(0x1000000, 0x20000, 11)},
			// KCORE_VMALLOC and KCORE_REMAP-like entries: no p_paddr.
			{VAddr: 0xffffc90000000000, PAddr: math.MaxUint64, Offset: off(0xffffc90000000000), MemSize: 1 << 40, FileSize: ect.U64(1 << 40)},
			{VAddr: 0xffffffffa0000000, PAddr: math.MaxUint64, Offset: off(0xffffffffa0000000), MemSize: 0x5f000000, FileSize: ect.U64(0x5f000000)},
			ram(0x1000, 0x9e000),
			ram(0x100000, 0x1000000),
		},
	}, 128 << 40
}

func TestKcore(t *testing.T) {
	c, size := kcoreLike()
	_, chunks := c.Build()
	check := func(t *testing.T, d *Core) {
		info := d.Info()
		if info.Format != "kcore" || string(info.VMCOREINFO) != vmcoreinfo || info.NrCPUs != 0 || len(info.Segments) != 5 {
			t.Fatalf("info: %q cpus %d segs %d", info.Format, info.NrCPUs, len(info.Segments))
		}
		if info.Segments[1].PAddr != math.MaxUint64 {
			t.Fatalf("vmalloc segment %+v", info.Segments[1])
		}
		p := make([]byte, 0x2000)
		for _, a := range []uint64{0x1000, 0x100000, 0x1000000 - 0x1000, 0x1010000, 0x10fe000} {
			if n, err := d.ReadPhysAt(p, a); err != nil || n != len(p) || !bytes.Equal(p, ect.Pattern(a, len(p), 11)) {
				t.Fatalf("read %#x: %d %v", a, n, err)
			}
		}
		var np *dump.NotPresentError
		if _, err := d.ReadPhysAt(p, 0x1100000); !errors.As(err, &np) {
			t.Fatalf("past RAM: %v", err)
		}
		if len(d.Warnings()) != 0 {
			t.Fatalf("warnings: %v", d.Warnings())
		}
	}
	t.Run("reader", func(t *testing.T) {
		d, err := newCore(&ect.Sparse{Chunks: chunks, Size: size}, size, "kcore", dump.Options{}, false)
		if err != nil {
			t.Fatal(err)
		}
		check(t, d)
	})
	t.Run("sparse file", func(t *testing.T) {
		// ext4 caps files at 16 TiB; tmpfs takes a sparse 128 TiB one.
		dir, err := os.MkdirTemp("/dev/shm", "kdive-kcore")
		if err != nil {
			t.Skipf("no /dev/shm: %v", err)
		}
		defer os.RemoveAll(dir)
		path := filepath.Join(dir, "kcore")
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := f.Truncate(size); err != nil {
			t.Skipf("cannot make a 128 TiB sparse file here: %v", err)
		}
		for _, ch := range chunks {
			if _, err := f.WriteAt(ch.Data, int64(ch.Off)); err != nil {
				t.Fatal(err)
			}
		}
		d, err := OpenCore(path, dump.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		check(t, d)
	})
}

func TestIncompleteFlag(t *testing.T) {
	c := vmcoreLike()
	c.Flags = dumpELFIncomplete
	b, _ := c.Bytes()
	b = b[:len(b)-0x1000]
	d := mustOpenBytes(t, b, dump.Options{})
	found := false
	for _, w := range d.Warnings() {
		found = found || strings.Contains(w, "incomplete")
	}
	if !found {
		t.Fatalf("warnings %q", d.Warnings())
	}
	_, err := d.ReadPhysAt(make([]byte, 0x2000), 0x17f000)
	if err == nil || !strings.Contains(err.Error(), "incomplete") {
		t.Fatalf("read: %v", err)
	}
}

func TestDiskdumpNotePartial(t *testing.T) {
	c := vmcoreLike()
	c.Notes = append(c.Notes, ect.N("CORE", ntDiskdump, []byte{1, 0, 0, 0, 0, 0, 0, 0}))
	b, _ := c.Bytes()
	if d := mustOpenBytes(t, b, dump.Options{}); !d.Info().Partial {
		t.Fatal("NT_DISKDUMP partial flag ignored")
	}
}

func TestMalformedNotesWarn(t *testing.T) {
	c := vmcoreLike()
	full, l := c.Bytes()
	// Make the last note's descsz run past the PT_NOTE end.
	nb := full[l.NoteOff : l.NoteOff+l.NoteSize]
	last := len(ect.EncodeNotes(c.Notes[:2]))
	nb[last+4] = 0xff
	d := mustOpenBytes(t, full, dump.Options{})
	if len(d.Warnings()) == 0 || d.Info().NrCPUs != 2 || d.Info().VMCOREINFO != nil {
		t.Fatalf("warnings %q cpus %d", d.Warnings(), d.Info().NrCPUs)
	}
}

func TestConcurrentReads(t *testing.T) {
	b, _ := vmcoreLike().Bytes()
	d, err := Open(writeTemp(t, b), dump.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 0))
			p := make([]byte, 0x1800)
			for range 2000 {
				a := (0x100000 + rng.Uint64N(0x100000-uint64(len(p)))) &^ 7
				if _, err := d.ReadPhysAt(p, a); err != nil {
					errs <- err
					return
				}
				if !bytes.Equal(p, ect.Pattern(a, len(p), 0x5a5a)) {
					errs <- errors.New("data mismatch")
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestExtentsHelpers(t *testing.T) {
	e := func(s, en uint64) extent { return extent{start: s, end: en, excluded: true} }
	got := subtract([]extent{e(0, 100), e(200, 300)}, []extent{e(10, 20), e(90, 210), e(250, 260), e(290, 400)})
	want := []extent{e(0, 10), e(20, 90), e(210, 250), e(260, 290)}
	if len(got) != len(want) {
		t.Fatalf("%v", got)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%v", got)
		}
	}
}

// TestLiveKcore reads this machine's /proc/kcore when there is one and we
// may read it (root, CAP_SYS_RAWIO).
func TestLiveKcore(t *testing.T) {
	d, err := OpenCore("/proc/kcore", dump.Options{})
	if err != nil {
		t.Skipf("no readable /proc/kcore: %v", err)
	}
	defer d.Close()
	info := d.Info()
	if info.Format != "kcore" {
		t.Fatalf("format %q", info.Format)
	}
	rel, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err == nil && !bytes.Contains(info.VMCOREINFO, []byte("OSRELEASE="+strings.TrimSpace(string(rel))+"\n")) {
		t.Errorf("VMCOREINFO lacks OSRELEASE=%s", strings.TrimSpace(string(rel)))
	}
	if len(d.phys) == 0 {
		t.Fatal("no segment with a physical address")
	}
	p := make([]byte, 4096)
	if _, err := d.ReadPhysAt(p, d.phys[0].start); err != nil {
		t.Errorf("read %#x: %v", d.phys[0].start, err)
	}
}
