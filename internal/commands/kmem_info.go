package commands

// kmem -i, -z, -V, -o, -h, -n: the memory summary, zones, vm counters,
// per-CPU offsets, huge page sizes, nodes and sections, as crash prints
// them.

import (
	"fmt"
	"strings"

	"kdive/internal/kernel/mm"
	"kdive/internal/kernel/tasks"
)

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
