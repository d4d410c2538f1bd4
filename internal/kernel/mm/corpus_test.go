package mm_test

import (
	"encoding/binary"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"

	"kdive/internal/kernel/fs"
	"kdive/internal/kernel/klist"
	"kdive/internal/kernel/maple"
	"kdive/internal/kernel/mm"
	"kdive/internal/kernel/tasks"
	"kdive/internal/program"
	"kdive/internal/testcorpus"
)

func openCorpus(t *testing.T, sc, vml string) *program.Program {
	t.Helper()
	p, err := program.Open(vml, testcorpus.File(t, sc, testcorpus.KdumpLZO), program.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func holder(t *testing.T, p *program.Program, sc string) tasks.Task {
	t.Helper()
	return holderOf(t, p, testcorpus.Truth(t, sc))
}

func holderOf(t *testing.T, p *program.Program, truth map[string][]string) tasks.Task {
	t.Helper()
	pid, err := strconv.Atoi(truth["holder_pid"][0])
	if err != nil {
		t.Fatal(err)
	}
	tl, err := tasks.List(p, tasks.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range tl.Tasks {
		if int(tk.PID) == pid {
			return tk
		}
	}
	t.Fatalf("no task %d", pid)
	return tasks.Task{}
}

// The holder process's VMAs from the maple tree, checked against what the
// kernel itself counts in its mm_struct: as many VMAs as mm->map_count,
// their pages adding up to mm->total_vm, in order without overlap, each
// pointing back to the mm, the text (start_code), the stack (start_stack),
// the heap (brk) and the vDSO inside one of them, and the VMA of the
// text mapping the executable (mm->exe_file's path). With vmlinux and
// with the dump's BTF.
func TestCorpusVMAs(t *testing.T) {
	testcorpus.Dir(t)
	vml := testcorpus.Vmlinux(t)
	type run struct{ sc, dump, vml string }
	var runs []run
	for _, sc := range testcorpus.Scenarios() {
		runs = append(runs, run{sc, testcorpus.File(t, sc, testcorpus.KdumpLZO), vml})
	}
	// The ext corpus (a multi-threaded process, sockets, slab scenarios)
	// when it is built.
	if testcorpus.ExtPath() != "" {
		evml := testcorpus.ExtVmlinux(t)
		for _, sc := range testcorpus.ExtScenarios() {
			runs = append(runs, run{"ext-" + sc, testcorpus.ExtFile(t, sc, testcorpus.KdumpLZO), evml})
		}
	}
	for _, r := range runs {
		for _, v := range []string{r.vml, ""} {
			sc := r.sc
			name := sc + "/vmlinux"
			if v == "" {
				name = sc + "/btf"
			}
			t.Run(name, func(t *testing.T) {
				p, err := program.Open(v, r.dump, program.OpenOptions{})
				if err != nil {
					t.Fatal(err)
				}
				defer p.Close()
				var truth map[string][]string
				if strings.HasPrefix(sc, "ext-") {
					truth = testcorpus.ExtTruth(t, strings.TrimPrefix(sc, "ext-"))
				} else {
					truth = testcorpus.Truth(t, sc)
				}
				h := holderOf(t, p, truth)
				as, err := mm.ReadAddressSpace(p, h.Mm, true)
				if err != nil || as.Err != nil {
					t.Fatal(err, as.Err)
				}
				if int64(len(as.VMAs)) != as.MapCount || len(as.VMAs) < 5 {
					t.Errorf("%d VMAs, map_count %d", len(as.VMAs), as.MapCount)
				}
				var pages uint64
				for i, vma := range as.VMAs {
					pages += (vma.End - vma.Start) / 4096
					if vma.Mm != h.Mm || vma.Start >= vma.End || (i > 0 && vma.Start < as.VMAs[i-1].End) {
						t.Errorf("VMA %d: %+v", i, vma)
					}
				}
				if pages != as.TotalVM {
					t.Errorf("VMA pages %d, total_vm %d", pages, as.TotalVM)
				}
				member := func(m string) uint64 {
					o, err := p.MemberOffset("mm_struct", m)
					if err != nil {
						t.Fatal(err)
					}
					x, err := p.ReadU64(h.Mm + o)
					if err != nil {
						t.Fatal(err)
					}
					return x
				}
				in := func(what string, a uint64) *mm.VMA {
					i := sort.Search(len(as.VMAs), func(i int) bool { return as.VMAs[i].End > a })
					if i == len(as.VMAs) || as.VMAs[i].Start > a {
						t.Errorf("%s %#x in no VMA", what, a)
						return nil
					}
					return &as.VMAs[i]
				}
				text := in("start_code", member("start_code"))
				in("start_stack", member("start_stack"))
				in("brk", member("brk")-1)
				in("context.vdso", member("context.vdso"))
				exe := member("exe_file")
				r, err := fs.New(p)
				if err != nil {
					t.Fatal(err)
				}
				f, err := r.File(exe, -1, nil)
				if err != nil {
					t.Fatal(err)
				}
				if text != nil && (text.Path != f.Path || text.File == 0) {
					t.Errorf("text VMA maps %q (file %#x), exe_file is %q", text.Path, text.File, f.Path)
				}
				t.Logf("%d VMAs, exe %s", len(as.VMAs), f.Path)
			})
		}
	}
}

// patched reads the dump with some memory replaced (corrupt structures
// planted in a real dump) and some made unreadable (as excluded pages).
type patched struct {
	*program.Program
	over     map[uint64][]byte
	excluded [2]uint64 // [start, end)
}

func (p *patched) ReadAt(b []byte, addr uint64) (int, error) {
	if addr < p.excluded[1] && addr+uint64(len(b)) > p.excluded[0] {
		return 0, fmt.Errorf("%#x: page excluded from the dump", addr)
	}
	for base, data := range p.over {
		if addr >= base && addr+uint64(len(b)) <= base+uint64(len(data)) {
			copy(b, data[addr-base:])
			return len(b), nil
		}
	}
	return p.Program.ReadAt(b, addr)
}

// A loop planted in the holder's maple tree (a node whose child is
// itself), an unreadable node, and a struct page in an excluded page: each
// is an error naming the node or the page, with the VMAs found before it.
func TestCorpusCorrupt(t *testing.T) {
	p := openCorpus(t, "oops-proc", testcorpus.Vmlinux(t))
	h := holder(t, p, "oops-proc")
	oMT, _ := p.MemberOffset("mm_struct", "mm_mt")
	oRoot, _ := p.MemberOffset("maple_tree", "ma_root")
	rootAddr := h.Mm + oMT + oRoot
	const fake = 0xffff8f4fdead0000 // past the end of the dump's memory
	l := mm.MapleLayout(p)
	node := make([]byte, l.NodeSize)
	enc := uint64(fake | maple.ARange64<<3 | 4) // mt_mk_node
	binary.LittleEndian.PutUint64(node[l.AR64Pivot:], ^uint64(0))
	binary.LittleEndian.PutUint64(node[l.AR64Slot:], enc)
	root := make([]byte, 8)
	binary.LittleEndian.PutUint64(root, enc|2) // mt_mk_root
	pp := &patched{Program: p, over: map[uint64][]byte{fake: node, rootAddr: root}}
	as, err := mm.ReadAddressSpace(pp, h.Mm, false)
	if err != nil || as.Err == nil || !strings.Contains(as.Err.Error(), "node 0xffff8f4fdead0000 visited twice: the tree has a loop") ||
		!strings.Contains(as.Err.Error(), fmt.Sprintf("mm_struct %#x", h.Mm)) {
		t.Errorf("loop: %v %v", err, as.Err)
	}
	delete(pp.over, fake)
	if as, _ := mm.ReadAddressSpace(pp, h.Mm, false); as.Err == nil || !strings.Contains(as.Err.Error(), "node 0xffff8f4fdead0000") {
		t.Errorf("unreadable node: %v", as.Err)
	}
	pages, err := mm.NewPages(p, p)
	if err != nil {
		t.Fatal(err)
	}
	pa := pages.PageAddr(0x1000)
	pp = &patched{Program: p, excluded: [2]uint64{pa &^ 0xfff, pa&^0xfff + 0x1000}}
	pages, err = mm.NewPages(pp, p)
	if err != nil {
		t.Fatal(err)
	}
	if pg := pages.Read(0x1000); pg.Err == nil || !strings.Contains(pg.Err.Error(), fmt.Sprintf("struct page %#x (pfn 0x1000)", pa)) {
		t.Errorf("excluded struct page: %v", pg.Err)
	}
	if pg := pages.ReadRange(0xff0, 0x20); pg[0].Err != nil || pg[0x10].Err == nil {
		t.Errorf("ReadRange across an excluded page: %v %v", pg[0].Err, pg[0x10].Err)
	}
	if pages.Valid(pages.MaxPFN) || !pages.Valid(pages.MaxPFN-1) {
		t.Errorf("Valid around max_pfn %#x", pages.MaxPFN)
	}
}

// The multi-threaded process of the ext corpus's mthread scenario has a
// two-level maple tree (more VMAs than a leaf holds: its threads'
// stacks): as many VMAs as map_count, adding up to total_vm, in order,
// each pointing back to the mm. With vmlinux and without.
func TestCorpusMapleTwoLevels(t *testing.T) {
	testcorpus.ExtDir(t)
	truth := testcorpus.ExtTruth(t, "mthread")
	for _, v := range []string{testcorpus.ExtVmlinux(t), ""} {
		p, err := program.Open(v, testcorpus.ExtFile(t, "mthread", testcorpus.KdumpLZO), program.OpenOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		tk := holderOf(t, p, map[string][]string{"holder_pid": truth["mt_tgid"]})
		oMT, _ := p.MemberOffset("mm_struct", "mm_mt")
		oRoot, _ := p.MemberOffset("maple_tree", "ma_root")
		root, err := p.ReadU64(tk.Mm + oMT + oRoot)
		if err != nil || maple.NodeType(root) < maple.Range64 {
			t.Fatalf("root %#x (%v): not an inner node", root, err)
		}
		as, err := mm.ReadAddressSpace(p, tk.Mm, true)
		if err != nil || as.Err != nil {
			t.Fatal(err, as.Err)
		}
		var pages uint64
		for i, vma := range as.VMAs {
			pages += (vma.End - vma.Start) / 4096
			if vma.Mm != tk.Mm || vma.Start >= vma.End || (i > 0 && vma.Start < as.VMAs[i-1].End) {
				t.Errorf("VMA %d: %+v", i, vma)
			}
		}
		if int64(len(as.VMAs)) != as.MapCount || len(as.VMAs) <= 16 || pages != as.TotalVM {
			t.Errorf("%d VMAs (map_count %d), %d pages (total_vm %d)", len(as.VMAs), as.MapCount, pages, as.TotalVM)
		}
	}
}

// The buddy allocator's free lists of every zone add up to the zone's
// NR_FREE_PAGES (crash's "nr_free_pages: N (verified)"), and FreeBlockOf
// finds, for a page inside each listed block, that block, its order and
// its free list; an allocated page is not free. Kdump dump and BTF types.
func TestCorpusFreeBlocks(t *testing.T) {
	p := openCorpus(t, "oops-proc", "")
	enums := func(name string) []mm.Enumerator {
		t, err := p.Types().LookupType("enum " + name)
		if err != nil {
			return nil
		}
		var out []mm.Enumerator
		for _, e := range t.Enumerators {
			out = append(out, mm.Enumerator{Name: e.Name, Value: e.Value})
		}
		return out
	}
	zones, err := mm.Zones(p, enums)
	if err != nil {
		t.Fatal(err)
	}
	pages, err := mm.NewPages(p, p)
	if err != nil {
		t.Fatal(err)
	}
	oFA, _ := p.MemberOffset("zone", "free_area")
	faSize, _ := p.TypeSize("free_area")
	read := func(a uint64) (uint64, error) { return p.ReadU64(a) }
	checked := 0
	for _, z := range zones {
		if z.Spanned == 0 {
			continue
		}
		var sum uint64
		for o := 0; o < 11; o++ {
			for mt := 0; mt < 5; mt++ {
				list := z.Addr + oFA + uint64(o)*faSize + uint64(mt)*16
				ents, err := klist.Entries(read, list, 8, 1<<22)
				if err != nil {
					t.Fatal(err)
				}
				sum += uint64(len(ents)) << o
				for i, pg := range ents {
					if i%64 != 0 {
						continue
					}
					head, ok := pages.PFNOf(pg)
					if !ok {
						t.Fatalf("free list entry %#x is no struct page", pg)
					}
					inside := head + (uint64(1)<<o)/2
					fb, ok, err := mm.FreeBlockOf(p, p, pages, zones, inside)
					if err != nil || !ok || fb.Head != head || fb.Order != o || fb.MigrateType != mt || fb.FreeList != list || fb.Zone.Addr != z.Addr {
						t.Fatalf("pfn %#x in block %#x order %d list %#x: %+v %v %v", inside, head, o, list, fb, ok, err)
					}
					checked++
				}
			}
		}
		if int64(sum) != z.VMStat[0] {
			t.Errorf("zone %s: free lists hold %d pages, NR_FREE_PAGES %d", z.Name, sum, z.VMStat[0])
		}
	}
	if checked < 10 {
		t.Errorf("only %d blocks checked", checked)
	}
	// pfn 256 is allocated (reserved low memory).
	if fb, ok, err := mm.FreeBlockOf(p, p, pages, zones, 256); ok || err != nil {
		t.Errorf("pfn 256: %+v %v %v", fb, ok, err)
	}
}

// Without pageflag_names[], the names come from enum pageflags: every
// bit pageflag_names[] names is named the same (the kernel's names are the
// enum's, lower case, for the single-bit flags).
func TestCorpusFlagNamesFromEnum(t *testing.T) {
	p := openCorpus(t, "oops-proc", "")
	enums := func(name string) []mm.Enumerator {
		ty, err := p.Types().LookupType("enum " + name)
		if err != nil {
			return nil
		}
		var out []mm.Enumerator
		for _, e := range ty.Enumerators {
			out = append(out, mm.Enumerator{Name: e.Name, Value: e.Value})
		}
		return out
	}
	fromEnum := map[uint64]string{}
	for _, f := range mm.FlagNamesFromEnum(enums) {
		fromEnum[f.Mask] = f.Name
	}
	names := mm.PageflagNames(p)
	if len(names) < 20 || len(fromEnum) < 20 {
		t.Fatalf("%d pageflag_names, %d from the enum", len(names), len(fromEnum))
	}
	same := 0
	for _, f := range names {
		if fromEnum[f.Mask] == f.Name {
			same++
		}
	}
	if same < 20 {
		t.Errorf("only %d of %d names agree: %v / %v", same, len(names), names, fromEnum)
	}
}
