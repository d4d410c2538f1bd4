package commands

// kmem: kernel memory, as crash's cmd_kmem (memory.c) parses and prints
// it. This file has the options, the dispatch of `kmem ADDR` (crash's
// kmem_search), pages (-p), page flags (-g), the memory summary (-i),
// vmalloc areas (-v) and zones (-z); kmem_slab.go fills the slab answers
// through the hooks of kmem_hooks.go. The data comes from
// internal/kernel/mm.

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"kdive/internal/kernel/mm"
	"kdive/internal/kernel/tasks"
	"kdive/internal/program"
)

func init() {
	Register(&Command{
		Name:    "kmem",
		Summary: "kernel memory",
		Usage:   kmemSynopsis,
		Help: `  This command displays information about the use of kernel memory.

        -i  the memory summary: TOTAL MEM, FREE, USED, SHARED, BUFFERS, CACHED,
            SLAB, TOTAL HUGE, HUGE FREE, TOTAL SWAP, SWAP USED, SWAP FREE,
            COMMIT LIMIT and COMMITTED, in pages, size and percentage.
            SLAB and COMMITTED are the kernel's /proc/meminfo Slab and
            Committed_AS (crash 8.0.2 counts PG_slab pages, missing the
            tail pages of multi-page slabs, and reads vm_committed_as
            without its per-CPU counters).
        -v  the vmalloc areas (vmap_area_list): VMAP_AREA, VM_STRUCT, the
            address range and its size.
        -z  each zone of each node: size, present pages, watermarks and the
            zone's vm_stat counters.
        -f  the free lists of every zone (order, migrate type, blocks,
            pages) and nr_free_pages checked against the zones' counters;
            with an address, the free block holding it.
        -F  the same with the struct page of every free block.
        -p  every struct page of the memory map: PAGE, PHYSICAL, MAPPING,
            INDEX, CNT (_refcount) and FLAGS with the names of the flags.
        -V  the global vm_zone_stat and vm_node_stat counters and the vm
            events summed over the CPUs.
        -o  each CPU's per-CPU offset.
        -n  the memory nodes and their zones, the memory sections and the
            memory blocks.
        -h  the huge page sizes (hstates): size, free and total pages.
        -g  the kernel's page flags (enum pageflags); with a value, the
            flags set in it.
        -s  the slab caches (summary); -S every slab and object.
        -P  the address arguments are physical.
   address  with -p: the struct page of a physical or kernel virtual
            address, or the struct page at that address; with -v: the area
            holding it; with -s/-S: the slab object; alone: everything kdive
            knows of it, as crash prints it: the symbol, the task whose
            stack or task_struct holds it, its vmalloc area, its slab cache
            and object, and its struct page.

  An address outside the memory map, or whose struct page is excluded
  from the dump, is said so; kdive never prints a page it could not read.

EXAMPLES
    kdive> kmem -i
                     PAGES        TOTAL      PERCENTAGE
        TOTAL MEM    71106     277.8 MB         ----
             FREE    58594     228.9 MB   82% of TOTAL MEM
             USED    12512      48.9 MB   17% of TOTAL MEM
    ...
    kdive> kmem ffffd5228039d000
       VMAP_AREA         VM_STRUCT                 ADDRESS RANGE                SIZE
    ffff8f3fc1849a80  ffff8f3fd9164b40  ffffd5228039d000 - ffffd522803a2000    20480

          PAGE       PHYSICAL      MAPPING       INDEX CNT FLAGS
    fffff6ce8067f840 19fe1000                0        0  1 fffffc0000000`,
		Run: runKmem,
	})
}

const kmemSynopsis = "[-f|-F|-c|-C|-i|-v|-V|-n|-z|-o|-h] [-p | -m member[,member]]\n       [[-s|-S|-S=cpu[s]|-r] [slab] [-I slab[,slab]]] [-g [flags]] [[-P] address]]"

type kmemCtx struct {
	env   *Env
	p     *program.Program
	pages *mm.Pages
	names []mm.FlagName
}

func newKmemCtx(env *Env) (*kmemCtx, error) {
	k := &kmemCtx{env: env, p: env.Prog}
	pg, err := mm.NewPages(env.Prog, env.Prog)
	if err != nil {
		return nil, err
	}
	k.pages = pg
	k.names = mm.PageflagNames(env.Prog)
	if len(k.names) == 0 {
		k.names = mm.FlagNamesFromEnum(kmemEnums(env.Prog))
	}
	return k, nil
}

// kmemEnums looks an enum's constants up in the program's types.
func kmemEnums(p *program.Program) mm.Enums {
	return func(name string) []mm.Enumerator {
		t, err := p.Types().LookupType("enum " + name)
		if err != nil {
			return nil
		}
		for t != nil && t.Elem != nil && len(t.Enumerators) == 0 {
			t = t.Elem
		}
		var out []mm.Enumerator
		for _, e := range t.Enumerators {
			out = append(out, mm.Enumerator{Name: e.Name, Value: e.Value})
		}
		return out
	}
}

func runKmem(env *Env, args []string) error {
	p := env.Prog
	if p == nil {
		return errors.New("no dump file")
	}
	opts, rest, err := getopt("kmem", args, "gI:sSrFfm:pvczCinl:L:PVoh")
	if err != nil {
		writeUsage(env, "kmem", kmemSynopsis)
		return ErrShown
	}
	flags := map[byte]bool{}
	var phys bool
	var ignore []string
	nflags := 0
	for _, o := range opts {
		switch o.c {
		case 'P':
			phys = true
		case 'I':
			// crash's -I: caches shown as [IGNORED] by -s/-S.
			ignore = append(ignore, strings.Split(o.arg, ",")...)
		default:
			if !flags[o.c] {
				nflags++
			}
			flags[o.c] = true
		}
	}
	if flags['s'] && flags['S'] {
		nflags--
		delete(flags, 's')
	}
	if nflags > 1 {
		fmt.Fprintf(env.Out, "kmem: only one flag allowed!\n")
		writeUsage(env, "kmem", kmemSynopsis)
		return ErrShown
	}
	for _, c := range []byte{'c', 'C', 'm', 'l', 'L', 'r'} {
		if flags[c] {
			return fmt.Errorf("-%c: not supported by kdive", c)
		}
	}
	var addrs []uint64
	var names []string
	for _, a := range rest {
		if isCrashHex(a) {
			v, err := parseCrashHex(a)
			if err != nil {
				return fmt.Errorf("invalid address: %s", a)
			}
			addrs = append(addrs, v)
			continue
		}
		if !flags['s'] && !flags['S'] {
			writeUsage(env, "kmem", kmemSynopsis)
			return ErrShown
		}
		names = append(names, strings.TrimPrefix(a, "\\"))
	}
	if flags['s'] || flags['S'] {
		if kmemSlab.Summary == nil {
			opt := "-s"
			if flags['S'] {
				opt = "-S"
			}
			return fmt.Errorf("kmem %s: slab support not available", opt)
		}
		// An address is a cache's (that cache) or an object's (its
		// slab: with -S every object); the slab hook tells them apart.
		for _, a := range addrs {
			names = append(names, fmt.Sprintf("%x", a))
		}
		return kmemSlab.Summary(env, flags['S'], names, ignore)
	}
	if len(addrs) > 0 && (flags['z'] || flags['i'] || flags['V'] || flags['o'] || flags['h'] || flags['F'] || flags['n']) {
		fmt.Fprintf(env.Out, "kmem: no address arguments allowed with this option\n")
		writeUsage(env, "kmem", kmemSynopsis)
		return ErrShown
	}
	switch {
	case flags['g']:
		if len(addrs) == 0 {
			return kmemFlags(env, 0)
		}
		for i, a := range addrs {
			if i > 0 {
				fmt.Fprintln(env.Out)
			}
			if err := kmemFlags(env, a); err != nil {
				return err
			}
		}
		return nil
	case flags['i']:
		return kmemInfo(env)
	case flags['z']:
		return kmemZones(env)
	case flags['V']:
		return kmemVMStat(env)
	case flags['o']:
		return kmemOffsets(env)
	case flags['h']:
		return kmemHstates(env)
	}
	k, err := newKmemCtx(env)
	if err != nil {
		return err
	}
	switch {
	case flags['F']:
		return k.freeAreas(true)
	case flags['n']:
		return k.memoryNodes()
	case flags['f']:
		if len(addrs) == 0 {
			return k.freeAreas(false)
		}
		for i, a := range addrs {
			if i > 0 {
				fmt.Fprintln(env.Out)
			}
			k.freeBlock(a, phys || a < kvBaseOf(p), false)
		}
		return nil
	case flags['p']:
		if len(addrs) == 0 {
			return k.allPages()
		}
		var failed error
		for _, a := range addrs {
			if err := k.pageOf(a, phys || a < kvBaseOf(p), true); err != nil {
				if failed != nil {
					fmt.Fprintf(env.Err, "kmem: %v\n", failed)
				}
				failed = err
			}
		}
		return failed
	case flags['v']:
		return k.vmalloc(addrs, phys)
	}
	if len(addrs) == 0 {
		writeUsage(env, "kmem", kmemSynopsis)
		return ErrShown
	}
	var failed error
	for i, a := range addrs {
		if i > 0 {
			fmt.Fprintln(env.Out)
		}
		if err := k.search(a, phys || a < kvBaseOf(p)); err != nil {
			failed = err
		}
	}
	return failed
}

// --- pages -------------------------------------------------------------

const kmemPageHeader = "      PAGE       PHYSICAL      MAPPING       INDEX CNT FLAGS\n"

// pageLine is one line of crash's dump_mem_map.
func (k *kmemCtx) pageLine(w io.Writer, pg mm.Page) {
	if pg.Err != nil {
		fmt.Fprintf(w, "%-16x %8x %s %s    \n", pg.Addr, pg.PFN<<12, center(16, " ", true), center(8, " ", true))
		return
	}
	s := fmt.Sprintf("%x", pg.Flags)
	if n := mm.FlagNames(k.names, pg.Flags); len(n) > 0 {
		s += " " + strings.Join(n, ",")
	}
	fmt.Fprintf(w, "%-16x %8x %16x %8x %2d %s\n", pg.Addr, pg.PFN<<12, pg.Mapping, pg.Index, pg.Count, s)
}

// allPages is `kmem -p`: every page of every section with a memory map.
func (k *kmemCtx) allPages() error {
	w := k.env.Out
	fmt.Fprint(w, kmemPageHeader)
	per := k.pages.SectionPFNs()
	const maxSections = 1 << 20
	end := k.pages.MaxPFN
	if end == 0 {
		return errors.New("kmem -p: max_pfn unknown")
	}
	for s := uint64(0); s < (end+per-1)/per && s < maxSections; s++ {
		start := s * per
		if !k.pages.SectionValid(start) {
			continue
		}
		for off := uint64(0); off < per; off += 4096 {
			for _, pg := range k.pages.ReadRange(start+off, min(4096, per-off)) {
				k.pageLine(w, pg)
			}
		}
	}
	return nil
}

// physOf translates a kernel virtual address (the direct map and kernel
// image arithmetically, the rest through the page tables).
func (k *kmemCtx) physOf(vaddr uint64) (uint64, bool) {
	info := k.p.Info()
	if pa, ok := arithVTOP(vaddr, info.PageOffset, info.PhysBase); ok {
		return pa, true
	}
	pa, err := k.p.Translate(vaddr)
	return pa, err == nil
}

// findPage is dump_mem_map's lookup of one address: a struct page
// address, a kernel virtual address or a physical address.
func (k *kmemCtx) findPage(a uint64, phys bool) (uint64, bool) {
	if !phys {
		if pfn, ok := k.pages.PFNOf(a); ok {
			return pfn, true
		}
		pa, ok := k.physOf(a)
		if !ok {
			return 0, false
		}
		a = pa
	}
	pfn := a >> 12
	return pfn, k.pages.Valid(pfn)
}

// pageOf prints the struct page of one address (kmem -p ADDR).
func (k *kmemCtx) pageOf(a uint64, phys, header bool) error {
	pfn, ok := k.findPage(a, phys)
	if !ok {
		kind := "kernel virtual"
		if phys {
			kind = "physical"
		}
		return fmt.Errorf("%x: %s address not found in mem map", a, kind)
	}
	pg := k.pages.Read(pfn)
	if header {
		fmt.Fprint(k.env.Out, kmemPageHeader)
	}
	k.pageLine(k.env.Out, pg)
	if pg.Err != nil {
		return fmt.Errorf("%x: %v", a, pg.Err)
	}
	return nil
}

// --- page flags ----------------------------------------------------------

// kmemFlags is crash's dump_page_flags: enum pageflags, or the flags set
// in a value.
func kmemFlags(env *Env, flags uint64) error {
	ens := kmemEnums(env.Prog)("pageflags")
	if len(ens) == 0 {
		return errors.New("enum pageflags does not exist in this kernel")
	}
	longest, largest := 0, int64(0)
	for _, e := range ens {
		longest = max(longest, len(e.Name))
		if strings.Contains(e.Name, "PG_") && e.Value > largest {
			largest = e.Value
		}
	}
	digits := int((largest+1)/4 + 1)
	w := env.Out
	ind := ""
	if flags != 0 {
		fmt.Fprintf(w, "FLAGS: %x\n", flags)
		ind = "  "
	}
	fmt.Fprintf(w, "%s%-*s BIT  VALUE\n", ind, longest, "PAGE-FLAG")
	found := 0
	for _, e := range ens {
		if !strings.Contains(e.Name, "PG_") || e.Value < 0 || e.Value > 63 {
			continue
		}
		bit := uint64(1) << uint(e.Value)
		if flags == 0 || flags&bit != 0 {
			fmt.Fprintf(w, "%s%-*s  %2d  %0*x\n", ind, longest, e.Name, e.Value, digits, bit)
			if flags&bit != 0 {
				found++
			}
		}
	}
	if flags != 0 && found == 0 {
		fmt.Fprintf(w, "  (none found)\n")
	}
	return nil
}

// --- memory summary ------------------------------------------------------

// pagesToSize is crash's pages_to_size.
func pagesToSize(pages uint64) string {
	if pages == 0 {
		return "0"
	}
	total := float64(pages) * 4096
	var s string
	switch {
	case total >= 1<<30:
		s = fmt.Sprintf("%.1f GB", total/(1<<30))
	case total >= 1<<20:
		s = fmt.Sprintf("%.1f MB", total/(1<<20))
	default:
		s = fmt.Sprintf("%d KB", uint64(total/1024))
	}
	return strings.Replace(s, ".0 ", " ", 1)
}

func kmemInfo(env *Env) error {
	p := env.Prog
	enums := kmemEnums(p)
	zones, err := mm.Zones(p, enums)
	if err != nil {
		return err
	}
	mi, err := mm.ReadMeminfo(p, enums, zones)
	if err != nil {
		return err
	}
	warnAll(env, "kmem", mi.Warnings)
	// SHARED as crash counts it in the memory map: pages not reserved
	// with a reference count above 1. SLAB is the kernel's own count
	// (NR_SLAB_RECLAIMABLE_B + NR_SLAB_UNRECLAIMABLE_B, /proc/meminfo's
	// Slab): crash 8.0.2 counts PG_slab pages, which misses the tail
	// pages of every multi-page slab.
	shared, slab, err := countPages(env)
	if mi.SlabStat != 0 {
		slab = mi.SlabStat
	}
	if err != nil {
		return err
	}
	w := env.Out
	total := mi.TotalRAM
	pct := func(n, of uint64) uint64 {
		if of == 0 {
			return 0
		}
		return n * 100 / of
	}
	line := func(name string, n uint64, of string, ofN uint64) {
		fmt.Fprintf(w, "%13s  %7d  %11s  %3d%% of %s\n", name, n, pagesToSize(n), pct(n, ofN), of)
	}
	head := func(name string, n uint64) {
		fmt.Fprintf(w, "%13s  %7d  %11s         ----\n", name, n, pagesToSize(n))
	}
	fmt.Fprint(w, "                 PAGES        TOTAL      PERCENTAGE\n")
	head("TOTAL MEM", total)
	line("FREE", mi.Free, "TOTAL MEM", total)
	line("USED", total-mi.Free, "TOTAL MEM", total)
	line("SHARED", shared, "TOTAL MEM", total)
	line("BUFFERS", mi.Buffers, "TOTAL MEM", total)
	cached := uint64(0)
	if mi.Cached > 0 {
		cached = uint64(mi.Cached)
	}
	line("CACHED", cached, "TOTAL MEM", total)
	line("SLAB", slab, "TOTAL MEM", total)
	if mi.HaveHuge {
		fmt.Fprintln(w)
		head("TOTAL HUGE", mi.HugeTotal)
		line("HUGE FREE", mi.HugeFree, "TOTAL HUGE", mi.HugeTotal)
	}
	fmt.Fprintln(w)
	if mi.HaveSwap {
		head("TOTAL SWAP", mi.SwapTotal)
		line("SWAP USED", mi.SwapUsed, "TOTAL SWAP", mi.SwapTotal)
		line("SWAP FREE", mi.SwapTotal-mi.SwapUsed, "TOTAL SWAP", mi.SwapTotal)
	}
	if mi.HaveCommit {
		fmt.Fprintln(w)
		head("COMMIT LIMIT", mi.CommitLimit)
		if mi.CommitLimit != 0 {
			line("COMMITTED", mi.Committed, "TOTAL LIMIT", mi.CommitLimit)
		} else {
			head("COMMITTED", mi.Committed)
		}
	}
	return nil
}

// countPages walks the memory map as crash 8.0.2's dump_mem_map(GET_ALL):
// shared pages (not PG_reserved, _refcount > 1) and PG_slab pages.
func countPages(env *Env) (shared, slab uint64, err error) {
	k, err := newKmemCtx(env)
	if err != nil {
		return 0, 0, err
	}
	reserved, slabBit := uint64(1)<<12, uint64(1)<<9
	for _, e := range kmemEnums(env.Prog)("pageflags") {
		switch e.Name {
		case "PG_reserved":
			reserved = 1 << uint(e.Value&63)
		case "PG_slab":
			slabBit = 1 << uint(e.Value&63)
		}
	}
	per := k.pages.SectionPFNs()
	end := k.pages.MaxPFN
	for s := uint64(0); s < (end+per-1)/per && s < 1<<20; s++ {
		start := s * per
		if !k.pages.SectionValid(start) {
			continue
		}
		for off := uint64(0); off < per; off += 4096 {
			for _, pg := range k.pages.ReadRange(start+off, min(4096, per-off)) {
				if pg.Err != nil {
					continue
				}
				if pg.Flags&slabBit != 0 {
					slab++
				}
				if pg.Flags&reserved == 0 && pg.Count > 1 {
					shared++
				}
			}
		}
	}
	return shared, slab, nil
}

// --- zones ---------------------------------------------------------------

func kmemZones(env *Env) error {
	p := env.Prog
	enums := kmemEnums(p)
	zones, err := mm.Zones(p, enums)
	if err != nil {
		return err
	}
	// Names by value; of aliases (NR_ZONE_LRU_BASE = NR_ZONE_INACTIVE_ANON)
	// the last declared, as crash's vm_stat_init keeps it.
	ens := enums("zone_stat_item")
	n := 0
	for _, e := range ens {
		if e.Name == "NR_VM_ZONE_STAT_ITEMS" && e.Value > 0 && e.Value < 64 {
			n = int(e.Value)
		}
	}
	items := make([]string, n)
	for _, e := range ens {
		if e.Value >= 0 && int(e.Value) < n {
			items[e.Value] = e.Name
		}
	}
	maxlen := 0
	for _, n := range items {
		maxlen = max(maxlen, len(n))
	}
	w := env.Out
	for _, z := range zones {
		fmt.Fprintf(w, "NODE: %d  ZONE: %d  ADDR: %x  NAME: \"%s\"\n", z.Node, z.Index, z.Addr, z.Name)
		if z.Spanned == 0 {
			fmt.Fprintf(w, "  [unpopulated]\n\n")
			continue
		}
		fmt.Fprintf(w, "  SIZE: %d", z.Spanned)
		if z.Present < z.Spanned {
			fmt.Fprintf(w, "  PRESENT: %d", z.Present)
		}
		fmt.Fprintf(w, "  MIN/LOW/HIGH: %d/%d/%d", z.Min, z.Low, z.High)
		fmt.Fprintf(w, "\n  VM_STAT:\n")
		for i, n := range items {
			var v int64
			if i < len(z.VMStat) {
				v = z.VMStat[i]
			}
			fmt.Fprintf(w, "%*s: %d\n", maxlen, n, v)
		}
		fmt.Fprintf(w, "\n\n")
	}
	return nil
}

// --- vmalloc -------------------------------------------------------------

func vmapHeader(w io.Writer) {
	fmt.Fprintf(w, "%s  %s  %s     SIZE\n", center(16, "VMAP_AREA", false), center(16, "VM_STRUCT", false), center(16*2+3, "ADDRESS RANGE", false))
}

func vmapLine(w io.Writer, a mm.VmapArea) {
	fmt.Fprintf(w, "%s  %s  %16x - %-16x  %7d\n", center(16, fmt.Sprintf("%x", a.Addr), false), center(16, fmt.Sprintf("%x", a.VM), false), a.Start, a.End, a.End-a.Start)
}

// vmapOfPhys finds the vmalloc page mapped to a physical address (crash's
// GET_PHYS_TO_VMALLOC): the area and the virtual address.
func (k *kmemCtx) vmapOfPhys(areas []mm.VmapArea, pa uint64) (mm.VmapArea, uint64, bool) {
	const maxPages = 1 << 22
	n := 0
	for _, a := range areas {
		for va := a.Start; va < a.End && n < maxPages; va += 4096 {
			n++
			if got, err := k.p.Translate(va); err == nil && got&^0xfff == pa&^0xfff {
				return a, va + pa&0xfff, true
			}
		}
	}
	return mm.VmapArea{}, 0, false
}

func (k *kmemCtx) vmalloc(addrs []uint64, phys bool) error {
	areas, werr := mm.VmapAreas(k.p)
	w := k.env.Out
	if len(addrs) == 0 {
		vmapHeader(w)
		for _, a := range areas {
			vmapLine(w, a)
		}
		return werr
	}
	header := false
	for _, x := range addrs {
		if phys || x < kvBaseOf(k.p) {
			if a, _, ok := k.vmapOfPhys(areas, x); ok {
				if !header {
					vmapHeader(w)
					header = true
				}
				vmapLine(w, a)
			}
			continue
		}
		for _, a := range areas {
			if x >= a.Start && x < a.End {
				if !header {
					vmapHeader(w)
					header = true
				}
				vmapLine(w, a)
			}
		}
	}
	return werr
}

// --- kmem ADDR -----------------------------------------------------------

// kmem address ranges (x86-64, arch/x86/include/asm/pgtable_64_types.h).
const (
	modulesVaddr = 0xffffffffc0000000 // __START_KERNEL_map + KERNEL_IMAGE_SIZE
	modulesEnd   = 0xffffffffff000000
)

func (k *kmemCtx) symVal(name string) uint64 {
	a, err := k.p.Symbol(name)
	if err != nil {
		return 0
	}
	v, err := k.p.ReadU64(a)
	if err != nil {
		return 0
	}
	return v
}

// isVmalloc is crash's x86_64 IS_VMALLOC_ADDR: vmalloc space, the
// vmemmap and the module space.
func (k *kmemCtx) isVmalloc(a uint64) bool {
	vb := k.symVal("vmalloc_base")
	vsize := uint64(32) << 40
	if k.p.Info().Level5 {
		vsize = 12800 << 40
	}
	return (vb != 0 && a >= vb && a < vb+vsize) ||
		(k.pages.Vmemmap != 0 && a >= k.pages.Vmemmap && a < k.pages.Vmemmap+1<<40) ||
		(a >= modulesVaddr && a < modulesEnd)
}

type kmemTasks struct {
	all []tasks.Task
	run map[int]uint64
}

func (k *kmemCtx) taskList() *kmemTasks {
	tl, err := tasks.List(k.p, tasks.Options{})
	if err != nil {
		return &kmemTasks{}
	}
	run, _ := tasks.Running(k.p, nil)
	return &kmemTasks{all: tl.Tasks, run: run}
}

// stackOwner is crash's stkptr_to_task: the task whose kernel stack
// (task->stack, THREAD_SIZE 16 KiB) holds a.
func (k *kmemCtx) stackOwner(ts *kmemTasks, a uint64) (tasks.Task, bool) {
	o, err := k.p.MemberOffset("task_struct", "stack")
	if err != nil {
		return tasks.Task{}, false
	}
	const threadSize = 16 << 10
	for _, t := range ts.all {
		s, err := k.p.ReadU64(t.Addr + o)
		if err == nil && s != 0 && a >= s && a < s+threadSize {
			return t, true
		}
	}
	return tasks.Task{}, false
}

// taskStructOwner is crash's vaddr_in_task_struct.
func (k *kmemCtx) taskStructOwner(ts *kmemTasks, a uint64) (tasks.Task, bool) {
	size, err := k.p.TypeSize("task_struct")
	if err != nil || size == 0 {
		return tasks.Task{}, false
	}
	for _, t := range ts.all {
		if a >= t.Addr && a < t.Addr+size {
			return t, true
		}
	}
	return tasks.Task{}, false
}

// search is crash's kmem_search: everything known of one address.
func (k *kmemCtx) search(addr uint64, phys bool) error {
	w := k.env.Out
	p := k.p
	info := p.Info()
	const bad = ^uint64(0)
	vaddr := addr
	if phys {
		vaddr = bad
		hm := k.symVal("high_memory")
		if hm > info.PageOffset && addr < hm-info.PageOffset {
			vaddr = addr + info.PageOffset
		}
	}
	v := viewOf(p)
	showSym := func(a uint64) {
		if sp, off, ok := v.valueSearch(a); ok {
			fl := showLine
			if sp.mod != nil {
				fl |= showModule
			}
			v.showSymbol(w, sp, off, fl)
			fmt.Fprintln(w)
		}
	}
	stext, _ := p.Symbol("_stext")
	end, _ := p.Symbol("_end")
	if (vaddr >= stext && vaddr <= end && stext != 0) || (!phys && addr >= modulesVaddr && addr < modulesEnd) {
		showSym(vaddr)
	}
	var ts *kmemTasks
	tl := func() *kmemTasks {
		if ts == nil {
			ts = k.taskList()
		}
		return ts
	}
	context := func(t tasks.Task) {
		showContext(w, p, t, tl().all, tl().run)
		fmt.Fprintln(w)
	}
	pageAddr, pagePhys := addr, phys
	done := false
	if !phys && k.isVmalloc(addr) {
		if t, ok := k.stackOwner(tl(), vaddr); ok {
			context(t)
		}
		if pa, ok := k.physOf(addr); ok {
			areas, _ := mm.VmapAreas(p)
			for _, a := range areas {
				if addr >= a.Start && addr < a.End {
					vmapHeader(w)
					vmapLine(w, a)
					fmt.Fprintln(w)
					pageAddr, pagePhys, done = pa, true, true
					break
				}
			}
		}
	}
	if !done && phys {
		areas, _ := mm.VmapAreas(p)
		if a, va, ok := k.vmapOfPhys(areas, addr); ok {
			if t, ok := k.stackOwner(tl(), va); ok {
				context(t)
			}
			if sp, off, ok := v.valueSearch(va); ok {
				v.showSymbol(w, sp, off, showLine)
				fmt.Fprintln(w)
			}
			vmapHeader(w)
			vmapLine(w, a)
			fmt.Fprintln(w)
			done = true
		}
	}
	if !done {
		if vaddr != bad && kmemSlab.Addr != nil {
			found, err := kmemSlab.Addr(k.env, vaddr)
			if err != nil {
				fmt.Fprintf(w, "kmem: %v\n", err)
			} else if found {
				fmt.Fprintln(w)
			}
		}
		if vaddr != bad {
			k.freeBlock(addr, phys, true)
			if t, ok := k.taskStructOwner(tl(), vaddr); ok {
				context(t)
			} else if t, ok := k.stackOwner(tl(), vaddr); ok {
				context(t)
			}
		}
	}
	// mem_map
	if vaddr == bad && !pagePhys {
		return k.notInMap(addr, phys)
	}
	if !pagePhys && k.isVmalloc(pageAddr) {
		if _, ok := k.pages.PFNOf(pageAddr); !ok {
			if _, ok := k.physOf(pageAddr); !ok {
				fmt.Fprintf(w, "WARNING: cannot make virtual-to-physical translation: %x\n", pageAddr)
				return k.notInMap(addr, phys)
			}
		}
	}
	pfn, ok := k.findPage(pageAddr, pagePhys)
	if !ok {
		if pagePhys {
			fmt.Fprintf(w, "kmem: cannot determine page for %x\n", pageAddr)
		}
		return k.notInMap(addr, phys)
	}
	pg := k.pages.Read(pfn)
	fmt.Fprint(w, kmemPageHeader)
	k.pageLine(w, pg)
	if pg.Err != nil {
		return fmt.Errorf("%x: %v", addr, pg.Err)
	}
	return nil
}

// freeBlock prints, when the address's page is free in the buddy
// allocator, the zone, the free list and the block as crash's
// dump_free_pages_zones_v2 prints a found address, and a blank line.
func (k *kmemCtx) freeBlock(addr uint64, phys, blank bool) {
	pfn, ok := k.findPage(addr, phys)
	if !ok {
		return
	}
	enums := kmemEnums(k.p)
	zones, err := mm.Zones(k.p, enums)
	if err != nil {
		return
	}
	fb, ok, err := mm.FreeBlockOf(k.p, k.p, k.pages, zones, pfn)
	w := k.env.Out
	if err != nil {
		fmt.Fprintf(w, "kmem: %v\n", err)
		return
	}
	if !ok || fb.Zone == nil {
		return
	}
	z := fb.Zone
	free := int64(0)
	if len(z.VMStat) > 0 {
		free = z.VMStat[0]
	}
	fmt.Fprintf(w, "ZONE  NAME        SIZE    FREE  %s  START_PADDR  START_MAPNR\n", center(16, "MEM_MAP", false))
	fmt.Fprintf(w, "%3d   %-9s %6d  %6d  %s  %s  %s\n", z.Index, z.Name, z.Spanned, free,
		center(16, fmt.Sprintf("%x", k.pages.PageAddr(fb.ZoneStart)), false),
		center(11, fmt.Sprintf("%x", fb.ZoneStart<<12), true),
		center(11, fmt.Sprintf("%d", fb.ZoneStart-fb.NodeStart), true))
	fmt.Fprintf(w, "AREA    SIZE  FREE_AREA_STRUCT\n")
	fmt.Fprintf(w, "%3d  %7s  %s  \n", fb.Order, fmt.Sprintf("%dk", (uint64(1)<<fb.Order)*4), center(16, fmt.Sprintf("%x", fb.FreeList), false))
	fmt.Fprintf(w, "%x  ", k.pages.PageAddr(fb.Head))
	if fb.Order > 0 {
		off := pfn - fb.Head
		if phys {
			in := ""
			if addr&0xfff != 0 {
				in = "in "
			}
			fmt.Fprintf(w, "(%x is %s", addr, in)
		} else {
			fmt.Fprintf(w, "(%x is ", addr)
		}
		fmt.Fprintf(w, "%s of %d pages)", ordinal(off+1), uint64(1)<<fb.Order)
	}
	fmt.Fprintf(w, "\n")
	if blank {
		fmt.Fprintf(w, "\n")
	}
}

// freeAreas is crash's `kmem -f` (dump_free_pages_zones_v2): each zone,
// each free list with its blocks and pages, and the total checked
// against the zones' NR_FREE_PAGES.
func (k *kmemCtx) freeAreas(verbose bool) error {
	zones, err := mm.Zones(k.p, kmemEnums(k.p))
	if err != nil {
		return err
	}
	zfs, err := mm.FreeAreas(k.p, zones)
	if err != nil {
		return err
	}
	w := k.env.Out
	var sum, found int64
	for i, zf := range zfs {
		z := zf.Zone
		free := int64(0)
		if len(z.VMStat) > 0 {
			free = z.VMStat[0]
		}
		nl := ""
		if i > 0 {
			nl = "\n"
		}
		fmt.Fprintf(w, "%sZONE  NAME        SIZE    FREE  %s  START_PADDR  START_MAPNR\n", nl, center(16, "MEM_MAP", false))
		memMap, paddr, mapnr := uint64(0), zf.ZoneStart<<12, zf.ZoneStart-zf.NodeStart
		if z.Spanned != 0 {
			memMap = k.pages.PageAddr(zf.ZoneStart)
		} else {
			paddr, mapnr = 0, 0
		}
		fmt.Fprintf(w, "%3d   %-9s %6d  %6d  %s  %s  %s\n", z.Index, z.Name, z.Spanned, free,
			center(16, fmt.Sprintf("%x", memMap), false), center(11, fmt.Sprintf("%x", paddr), true),
			center(11, fmt.Sprintf("%d", mapnr), true))
		sum += free
		if free == 0 {
			continue
		}
		if !verbose {
			fmt.Fprintf(w, "AREA    SIZE  FREE_AREA_STRUCT  BLOCKS  PAGES\n")
		}
		for _, l := range zf.Lists {
			chunk := int64(1) << l.Order
			area := fmt.Sprintf("%3d  %7s  %s  ", l.Order, fmt.Sprintf("%dk", chunk*4), center(16, fmt.Sprintf("%x", l.Addr), false))
			if verbose {
				fmt.Fprintf(w, "AREA    SIZE  FREE_AREA_STRUCT\n%s\n", area)
				for _, pg := range l.Pages {
					fmt.Fprintf(w, "%x\n", pg)
				}
			} else {
				fmt.Fprintf(w, "%s%6d %6d\n", area, l.Blocks, int64(l.Blocks)*chunk)
			}
			if l.Err != nil {
				fmt.Fprintf(w, "kmem: corrupted free list from free_area_struct: %x: %v\n", l.Addr, l.Err)
			}
			found += int64(l.Blocks) * chunk
		}
	}
	fmt.Fprintf(w, "\nnr_free_pages: %d  ", sum)
	if sum == found {
		fmt.Fprintf(w, "(verified)\n")
	} else {
		fmt.Fprintf(w, "(found %d)\n", found)
	}
	return nil
}

// ordinal is crash's: 1st, 2nd, 3rd, 4th ... (11th is "11st" in crash).
func ordinal(n uint64) string {
	s := fmt.Sprint(n)
	switch s[len(s)-1] {
	case '1':
		return s + "st"
	case '2':
		return s + "nd"
	case '3':
		return s + "rd"
	}
	return s + "th"
}

func (k *kmemCtx) notInMap(addr uint64, phys bool) error {
	kind := "kernel virtual"
	if phys {
		kind = "physical"
	}
	fmt.Fprintf(k.env.Out, "%x: %s address not found in mem map\n", addr, kind)
	return ErrShown
}

// kmemVMStat is crash's `kmem -V`: the global zone and node counters and
// the vm events summed over the CPUs, names right-aligned.
func kmemVMStat(env *Env) error {
	p := env.Prog
	enums := kmemEnums(p)
	zone, node, err := mm.VMStats(p, enums)
	if err != nil {
		return err
	}
	w := env.Out
	maxlen := 0
	for _, c := range append(append([]mm.Counter(nil), zone...), node...) {
		maxlen = max(maxlen, len(c.Name))
	}
	fmt.Fprintf(w, "  VM_ZONE_STAT:\n")
	for _, c := range zone {
		fmt.Fprintf(w, "%*s: %d\n", maxlen, c.Name, c.Value)
	}
	if node != nil {
		fmt.Fprintf(w, "\n  VM_NODE_STAT:\n")
		for _, c := range node {
			fmt.Fprintf(w, "%*s: %d\n", maxlen, c.Name, c.Value)
		}
	}
	ev, err := mm.VMEvents(p, enums)
	if err != nil {
		return err
	}
	maxlen = 0
	for _, c := range ev {
		maxlen = max(maxlen, len(c.Name))
	}
	fmt.Fprintf(w, "\n  VM_EVENT_STATES:\n")
	for _, c := range ev {
		fmt.Fprintf(w, "%*s: %d\n", maxlen, c.Name, uint64(c.Value))
	}
	return nil
}

// kmemOffsets is crash's `kmem -o`: each CPU's __per_cpu_offset.
func kmemOffsets(env *Env) error {
	p := env.Prog
	fmt.Fprintf(env.Out, "PER-CPU OFFSET VALUES:\n")
	for _, c := range tasks.PossibleCPUs(p) {
		off, err := p.PerCPUOffset(c)
		if err != nil {
			return fmt.Errorf("cpu %d: %v", c, err)
		}
		fmt.Fprintf(env.Out, "  CPU %d: %x\n", c, off)
	}
	return nil
}

// kmemHstates is crash's `kmem -h`: each huge page size (hstates[]).
func kmemHstates(env *Env) error {
	hs, err := mm.Hstates(env.Prog)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Out, "%s   SIZE    FREE   TOTAL  NAME\n", center(16, "HSTATE", false))
	for _, h := range hs {
		sz := strings.Replace(pagesToSize(uint64(1)<<h.Order), " ", "", 1)
		fmt.Fprintf(env.Out, "%x  %5s  %6d  %6d  %s\n", h.Addr, sz, h.Free, h.Total, h.Name)
	}
	return nil
}

// memoryNodes is crash's `kmem -n` (dump_memory_nodes, dump_mem_sections,
// dump_memory_blocks): each node and its zones, the memory sections, the
// memory blocks.
func (k *kmemCtx) memoryNodes() error {
	p := k.p
	w := k.env.Out
	nodes, err := mm.Nodes(p)
	if err != nil {
		return err
	}
	zones, err := mm.Zones(p, kmemEnums(p))
	if err != nil {
		return err
	}
	oStart, _ := p.MemberOffset("zone", "zone_start_pfn")
	for n, nd := range nodes {
		nl := ""
		if n > 0 {
			nl = "\n\n"
		}
		fmt.Fprintf(w, "%sNODE  %s  %s  %s  %s\n", nl, center(8, "SIZE", false), center(16, "PGLIST_DATA", false), center(16, "BOOTMEM_DATA", false), center(16, "NODE_ZONES", false))
		var nz []mm.Zone
		for _, z := range zones {
			if z.Node == n {
				nz = append(nz, z)
			}
		}
		first := nd.Pgdat
		if len(nz) > 0 {
			first = nz[0].Addr
		}
		fmt.Fprintf(w, " %2d   %s  %s  %s  %s\n", nd.ID, center(8, fmt.Sprint(nd.Spanned), false), center(16, fmt.Sprintf("%x", nd.Pgdat), false), center(16, "----", false), center(16, fmt.Sprintf("%x", first), false))
		for i := 1; i < len(nz); i++ {
			fmt.Fprintf(w, "%s%x\n", strings.Repeat(" ", 12+8+16+16), nz[i].Addr)
		}
		fmt.Fprintf(w, "%s     START_PADDR    START_MAPNR\n", center(16, "MEM_MAP", false))
		fmt.Fprintf(w, "%s  %s  %s\n", center(16, fmt.Sprintf("%x", k.pages.PageAddr(nd.StartPFN)), false),
			center(16, fmt.Sprintf("%x", nd.StartPFN<<12), true), center(11, fmt.Sprint(nd.StartPFN), true))
		fmt.Fprintf(w, "\nZONE  NAME         SIZE  %s  START_PADDR  START_MAPNR\n", center(16, "MEM_MAP", true))
		for _, z := range nz {
			start, _ := p.ReadU64(z.Addr + oStart)
			memMap, mapnr := uint64(0), uint64(0)
			if z.Spanned != 0 {
				memMap, mapnr = k.pages.PageAddr(start), start
			}
			fmt.Fprintf(w, " %2d   %-9s %7d  %16x  %11x  %11d\n", z.Index, z.Name, z.Spanned, memMap, start<<12, mapnr)
		}
	}
	fmt.Fprintf(w, "\n%s\n\nNR  %s  %s  %s  %s PFN\n", strings.Repeat("-", 67), center(16, "SECTION", false),
		center(16, "CODED_MEM_MAP", false), center(16, "MEM_MAP", false), center(5, "STATE", false))
	for _, sec := range k.pages.Sections() {
		pfn := k.pages.SectionPFN(sec.Nr)
		st := ""
		for _, f := range []struct {
			bit  uint64
			name string
		}{{1, "P"}, {2, "M"}, {4, "O"}, {8, "E"}, {16, "D"}} {
			if sec.State&f.bit != 0 {
				st += f.name
			}
		}
		fmt.Fprintf(w, "%2d  %s  %s  %s  %s %-16d\n", sec.Nr, center(16, fmt.Sprintf("%x", sec.Addr), false),
			center(16, fmt.Sprintf("%x", sec.Coded), true), center(16, fmt.Sprintf("%x", sec.Coded+pfn*k.pages.Size), true),
			center(5, st, false), pfn)
	}
	blocks, size, err := mm.MemoryBlocks(p)
	if len(blocks) == 0 && err != nil {
		return nil // no memory subsystem: crash prints no block table
	}
	hdr := "PHYSICAL START"
	if size != 0 {
		hdr = "PHYSICAL RANGE"
	}
	hasNid := len(blocks) > 0 && blocks[0].HasNid
	if hasNid {
		fmt.Fprintf(w, "\n%s %s   %s   %s  %-7s %-12s\n", center(16, "MEM_BLOCK", false), center(10, "NAME", false), center(18, hdr, false), "NODE", "STATE", "START_SECTION_NO")
	} else {
		fmt.Fprintf(w, "\n%s %s   %s    %-7s %-12s\n", center(16, "MEM_BLOCK", false), center(10, "NAME", false), center(16, hdr, false), "STATE", "START_SECTION_NO")
	}
	states := map[uint64]string{1: "ONLINE", 2: "GOING_OFFLINE", 4: "OFFLINE", 8: "GOING_ONLINE", 16: "CANCEL_ONLINE", 32: "CANCEL_OFFLINE"}
	for _, mb := range blocks {
		start := k.pages.SectionPFN(mb.StartSec) << 12
		rng := center(18, fmt.Sprintf("%x", start), false)
		if size != 0 {
			rng = fmt.Sprintf("%8x - %8x", start, start+size-1)
		}
		st := states[mb.State]
		if hasNid {
			fmt.Fprintf(w, " %-16x %s %s %s  %-7s %-12d\n", mb.Addr, center(12, mb.Name, false), rng, center(4, fmt.Sprint(mb.Nid), false), st, mb.StartSec)
		} else {
			fmt.Fprintf(w, " %-16x %s %s  %-7s %-12d\n", mb.Addr, center(10, mb.Name, false), rng, st, mb.StartSec)
		}
	}
	if err != nil {
		fmt.Fprintf(w, "kmem: %v\n", err)
	}
	return nil
}
