package mm

import (
	"encoding/binary"
	"fmt"

	"kdive/internal/kernel/klist"
	"kdive/internal/kernel/tasks"
)

// Meminfo is the memory summary of `kmem -i` (and /proc/meminfo), in
// pages.
type Meminfo struct {
	TotalRAM uint64 // _totalram_pages
	Free     uint64 // the zones' NR_FREE_PAGES
	Buffers  uint64 // nr_blockdev_pages(): the block devices' page cache
	// Cached is NR_FILE_PAGES - NR_SWAPCACHE - Buffers (as si_meminfo).
	Cached int64
	// SlabStat is NR_SLAB_RECLAIMABLE_B + NR_SLAB_UNRECLAIMABLE_B (the
	// kernel's Slab: in /proc/meminfo; pages despite the _B).
	SlabStat uint64
	// HugeTotal and HugeFree: every hstate's huge pages times its size.
	HugeTotal, HugeFree uint64
	HaveHuge            bool
	// SwapTotal and SwapUsed: the used swap_info entries' pages and
	// inuse_pages.
	SwapTotal, SwapUsed uint64
	HaveSwap            bool
	// CommitLimit: sysctl_overcommit_kbytes, else (TotalRAM - HugeTotal)
	// * sysctl_overcommit_ratio / 100, plus SwapTotal. Committed:
	// vm_memory_committed(): vm_committed_as summed over its per-CPU
	// counters, as /proc/meminfo's Committed_AS (0 when negative).
	// CommittedCount is vm_committed_as.count alone (crash 8.0.2's
	// number, which misses up to a batch per CPU).
	CommitLimit, Committed, CommittedCount uint64
	HaveCommit                             bool
	Warnings                               []string
}

// Stat returns a global vm statistic by name: a zone_stat_item from
// vm_zone_stat[] or a node_stat_item from vm_node_stat[].
func Stat(src Source, enums Enums, name string) (int64, bool) {
	for _, arr := range []struct{ enum, sym string }{{"zone_stat_item", "vm_zone_stat"}, {"node_stat_item", "vm_node_stat"}} {
		for _, e := range enums(arr.enum) {
			if e.Name != name {
				continue
			}
			a, err := src.Symbol(arr.sym)
			if err != nil {
				return 0, false
			}
			v, err := u64(src, a+8*uint64(e.Value))
			return int64(v), err == nil
		}
	}
	return 0, false
}

func symU64(src Source, name string) (uint64, bool) {
	a, err := src.Symbol(name)
	if err != nil {
		return 0, false
	}
	v, err := u64(src, a)
	return v, err == nil
}

func symU32(src Source, name string) (uint32, bool) {
	a, err := src.Symbol(name)
	if err != nil {
		return 0, false
	}
	var b [4]byte
	if _, err := src.ReadAt(b[:], a); err != nil {
		return 0, false
	}
	return binary.LittleEndian.Uint32(b[:]), true
}

// ReadMeminfo gathers the summary.
func ReadMeminfo(src Source, enums Enums, zones []Zone) (*Meminfo, error) {
	mi := &Meminfo{}
	var ok bool
	if mi.TotalRAM, ok = symU64(src, "_totalram_pages"); !ok {
		if mi.TotalRAM, ok = symU64(src, "totalram_pages"); !ok {
			return nil, fmt.Errorf("mm: neither _totalram_pages nor totalram_pages")
		}
	}
	if mi.TotalRAM == 0 {
		return nil, fmt.Errorf("mm: totalram_pages is 0")
	}
	for _, z := range zones {
		if len(z.VMStat) > 0 && z.VMStat[0] > 0 {
			mi.Free += uint64(z.VMStat[0]) // NR_FREE_PAGES is item 0
		}
	}
	mi.Buffers = blockdevPages(src, mi)
	if fp, ok := Stat(src, enums, "NR_FILE_PAGES"); ok {
		sc, _ := Stat(src, enums, "NR_SWAPCACHE")
		mi.Cached = fp - sc - int64(mi.Buffers)
	}
	r, ok1 := Stat(src, enums, "NR_SLAB_RECLAIMABLE_B")
	u, ok2 := Stat(src, enums, "NR_SLAB_UNRECLAIMABLE_B")
	if !ok1 {
		r, ok1 = Stat(src, enums, "NR_SLAB_RECLAIMABLE")
		u, ok2 = Stat(src, enums, "NR_SLAB_UNRECLAIMABLE")
	}
	if ok1 && ok2 {
		mi.SlabStat = uint64(r + u)
	}
	mi.HugeTotal, mi.HugeFree, mi.HaveHuge = hugePages(src)
	mi.SwapTotal, mi.SwapUsed, mi.HaveSwap = swapPages(src)
	if _, err := src.Symbol("sysctl_overcommit_memory"); err == nil {
		kb, _ := symU64(src, "sysctl_overcommit_kbytes")
		if kb != 0 {
			mi.CommitLimit, mi.HaveCommit = kb>>(PageShift-10), true
		} else if ratio, ok := symU32(src, "sysctl_overcommit_ratio"); ok && mi.HaveHuge {
			mi.CommitLimit, mi.HaveCommit = (mi.TotalRAM-mi.HugeTotal)*uint64(ratio)/100, true
		}
		mi.CommitLimit += mi.SwapTotal
		if a, err := src.Symbol("vm_committed_as"); err == nil && mi.HaveCommit {
			c, sum := percpuCounter(src, a)
			if int64(c) > 0 {
				mi.CommittedCount = c
			}
			if sum > 0 {
				mi.Committed = uint64(sum)
			}
		}
	}
	return mi, nil
}

// percpuCounter reads a struct percpu_counter: its count and
// percpu_counter_sum() (count plus every possible CPU's s32 counter).
func percpuCounter(src Source, a uint64) (count uint64, sum int64) {
	o, _ := src.MemberOffset("percpu_counter", "count")
	count, err := u64(src, a+o)
	if err != nil {
		return 0, 0
	}
	sum = int64(count)
	ts, ok := src.(tasks.Source)
	oc, err := src.MemberOffset("percpu_counter", "counters")
	if !ok || err != nil {
		return count, sum
	}
	ptr, err := u64(src, a+oc)
	if err != nil || ptr == 0 {
		return count, sum
	}
	for _, cpu := range tasks.PossibleCPUs(ts) {
		off, err := ts.PerCPUOffset(cpu)
		if err != nil {
			continue
		}
		var b [4]byte
		if _, err := src.ReadAt(b[:], ptr+off); err == nil {
			sum += int64(int32(binary.LittleEndian.Uint32(b[:])))
		}
	}
	return count, sum
}

// blockdevPages is the kernel's nr_blockdev_pages(): the page cache of
// every inode of the block device pseudo file system
// (blockdev_superblock->s_inodes, linked by inode.i_sb_list).
func blockdevPages(src Source, mi *Meminfo) uint64 {
	sb, ok := symU64(src, "blockdev_superblock")
	if !ok || sb == 0 {
		return 0
	}
	oInodes, err1 := src.MemberOffset("super_block", "s_inodes")
	oList, err2 := src.MemberOffset("inode", "i_sb_list")
	oMap, err3 := src.MemberOffset("inode", "i_mapping")
	oNr, err4 := src.MemberOffset("address_space", "nrpages")
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil {
		return 0
	}
	read := func(a uint64) (uint64, error) { return u64(src, a) }
	inodes, err := klist.Entries(read, sb+oInodes, oList, 1<<20)
	if err != nil {
		mi.Warnings = append(mi.Warnings, fmt.Sprintf("block device inodes: %v", err))
	}
	var n uint64
	for _, in := range inodes {
		m, err := u64(src, in+oMap)
		if err != nil || m == 0 {
			continue
		}
		if v, err := u64(src, m+oNr); err == nil {
			n += v
		}
	}
	return n
}

// hugePages sums hstates[0..hugetlb_max_hstate): nr_huge_pages and
// free_huge_pages times 1 << order.
func hugePages(src Source) (total, free uint64, ok bool) {
	hs, err := src.Symbol("hstates")
	if err != nil {
		return 0, 0, false
	}
	size, err := src.TypeSize("hstate")
	if err != nil || size == 0 {
		return 0, 0, false
	}
	oOrder, e1 := src.MemberOffset("hstate", "order")
	oNr, e2 := src.MemberOffset("hstate", "nr_huge_pages")
	oFree, e3 := src.MemberOffset("hstate", "free_huge_pages")
	if e1 != nil || e2 != nil || e3 != nil {
		return 0, 0, false
	}
	n, _ := symU32(src, "hugetlb_max_hstate")
	if n > 16 {
		n = 16
	}
	for i := uint64(0); i < uint64(n); i++ {
		a := hs + i*size
		var b [4]byte
		if _, err := src.ReadAt(b[:], a+oOrder); err != nil {
			continue
		}
		order := binary.LittleEndian.Uint32(b[:])
		if order == 0 || order > 30 {
			continue
		}
		nr, _ := u64(src, a+oNr)
		fr, _ := u64(src, a+oFree)
		total += nr << order
		free += fr << order
	}
	return total, free, true
}

// swapPages sums the swap areas in use: swap_info[0..nr_swapfiles) with
// SWP_USED, their pages and inuse_pages.
func swapPages(src Source) (total, used uint64, ok bool) {
	si, err := src.Symbol("swap_info")
	if err != nil {
		return 0, 0, false
	}
	n, ok := symU32(src, "nr_swapfiles")
	if !ok {
		return 0, 0, false
	}
	oFlags, e1 := src.MemberOffset("swap_info_struct", "flags")
	oPages, e2 := src.MemberOffset("swap_info_struct", "pages")
	oInuse, e3 := src.MemberOffset("swap_info_struct", "inuse_pages")
	if e1 != nil || e2 != nil || e3 != nil {
		return 0, 0, true
	}
	if n > 64 {
		n = 64
	}
	r32 := func(a uint64) uint64 {
		var b [4]byte
		if _, err := src.ReadAt(b[:], a); err != nil {
			return 0
		}
		return uint64(binary.LittleEndian.Uint32(b[:]))
	}
	for i := uint64(0); i < uint64(n); i++ {
		p, err := u64(src, si+8*i)
		if err != nil || p == 0 {
			continue
		}
		flags, err := u64(src, p+oFlags)
		if err != nil || flags&1 == 0 { // SWP_USED
			continue
		}
		total += r32(p + oPages)
		used += r32(p + oInuse)
	}
	return total, used, true
}

// Hstate is one huge page size (struct hstate of hstates[]).
type Hstate struct {
	Addr        uint64
	Order       uint32
	Free, Total int64 // free_huge_pages, nr_huge_pages
	Name        string
}

// Hstates reads hstates[0..hugetlb_max_hstate) with a non-zero order.
func Hstates(src Source) ([]Hstate, error) {
	hs, err := src.Symbol("hstates")
	if err != nil {
		return nil, fmt.Errorf("mm: no hstates: %w", err)
	}
	size, err := src.TypeSize("hstate")
	if err != nil || size == 0 {
		return nil, fmt.Errorf("mm: sizeof(struct hstate): %v", err)
	}
	get := func(m string) (uint64, error) {
		o, err := src.MemberOffset("hstate", m)
		if err != nil {
			return 0, fmt.Errorf("mm: hstate.%s: %w", m, err)
		}
		return o, nil
	}
	var offs [4]uint64
	for i, m := range []string{"order", "nr_huge_pages", "free_huge_pages", "name"} {
		if offs[i], err = get(m); err != nil {
			return nil, err
		}
	}
	n, _ := symU32(src, "hugetlb_max_hstate")
	var out []Hstate
	for i := uint64(0); i < uint64(min(n, 16)); i++ {
		a := hs + i*size
		var b [4]byte
		if _, err := src.ReadAt(b[:], a+offs[0]); err != nil {
			return out, fmt.Errorf("mm: hstate %#x: %w", a, err)
		}
		h := Hstate{Addr: a, Order: binary.LittleEndian.Uint32(b[:])}
		if h.Order == 0 || h.Order > 30 {
			continue
		}
		nr, _ := u64(src, a+offs[1])
		fr, _ := u64(src, a+offs[2])
		h.Total, h.Free = int64(nr), int64(fr)
		nb := make([]byte, 32)
		k, _ := src.ReadAt(nb, a+offs[3])
		nb = nb[:k]
		for j, c := range nb {
			if c == 0 {
				nb = nb[:j]
				break
			}
		}
		h.Name = string(nb)
		out = append(out, h)
	}
	return out, nil
}
