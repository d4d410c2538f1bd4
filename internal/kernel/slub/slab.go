package slub

import (
	"encoding/binary"
	"fmt"

	"kdive/internal/kernel/kread"
)

// Slab is one struct slab (it overlays the head struct page of the slab's
// pages).
type Slab struct {
	Addr     uint64 // struct slab *
	Cache    uint64 // slab_cache
	Freelist uint64 // the slab's own freelist (plain pointer)
	Inuse    int    // counters: objects handed out (all of them while frozen on a CPU)
	Objects  int    // counters: objects in the slab
	Frozen   bool
	Base     uint64 // virtual address of the slab's memory
	Node     int
}

// IsSlabPtr reports whether a could be a struct page (struct slab) pointer
// of the memory map: inside the vmemmap below max_pfn, aligned.
func (r *Reader) IsSlabPtr(a uint64) bool {
	if a < r.vmemmap {
		return false
	}
	d := a - r.vmemmap
	return d%r.pageSize == 0 && d/r.pageSize < r.maxPFN
}

// PageOf returns the struct page of a kernel virtual address (through the
// page tables: direct map, vmalloc, kernel image).
func (r *Reader) PageOf(vaddr uint64) (uint64, error) {
	pa, err := r.src.Translate(vaddr)
	if err != nil {
		return 0, err
	}
	pfn := pa >> pageShift
	if pfn >= r.maxPFN {
		return 0, fmt.Errorf("%x: pfn %x is beyond max_pfn %x: no struct page", vaddr, pfn, r.maxPFN)
	}
	return r.vmemmap + pfn*r.pageSize, nil
}

// slabHead returns the head page of page if it (or its compound head)
// has PG_slab set; 0 when it is not a slab page.
func (r *Reader) slabHead(page uint64) (uint64, error) {
	var b [16]byte
	if _, err := r.src.ReadAt(b[:], page); err != nil {
		return 0, fmt.Errorf("struct page %x: %v", page, err)
	}
	flags := binary.LittleEndian.Uint64(b[r.o.pFlags:])
	if flags&(1<<r.pgSlab) != 0 {
		return page, nil
	}
	ch := binary.LittleEndian.Uint64(b[r.o.pCompoundHead:])
	if ch&1 == 0 {
		return 0, nil
	}
	head := ch - 1
	if !r.IsSlabPtr(head) {
		return 0, nil
	}
	hf, err := r.u64(head + r.o.pFlags)
	if err != nil {
		return 0, fmt.Errorf("struct page %x (head of %x): %v", head, page, err)
	}
	if hf&(1<<r.pgSlab) == 0 {
		return 0, nil
	}
	return head, nil
}

// SlabOf finds the slab holding a kernel virtual address: its struct
// page at vmemmap_base + pfn*sizeof(struct page), the compound head, the
// PG_slab flag. It returns 0 and no error when the address is not in a
// slab page; an error when the page cannot be read.
func (r *Reader) SlabOf(vaddr uint64) (uint64, error) {
	page, err := r.PageOf(vaddr)
	if err != nil {
		return 0, err
	}
	return r.slabHead(page)
}

// SlabOfPage is SlabOf for a struct page (struct slab) pointer: the slab
// whose page it is, 0 when it is not a slab page.
func (r *Reader) SlabOfPage(page uint64) (uint64, error) {
	if !r.IsSlabPtr(page) {
		return 0, nil
	}
	return r.slabHead(page)
}

// ReadSlab reads a struct slab.
func (r *Reader) ReadSlab(addr uint64) (*Slab, error) {
	if !r.IsSlabPtr(addr) {
		return nil, fmt.Errorf("invalid slab address: %x", addr)
	}
	b := make([]byte, r.o.slabSize)
	if _, err := r.src.ReadAt(b, addr); err != nil {
		return nil, fmt.Errorf("struct slab %x: %v", addr, err)
	}
	o := &r.o
	s := &Slab{
		Addr:     addr,
		Cache:    binary.LittleEndian.Uint64(b[o.sCache:]),
		Freelist: binary.LittleEndian.Uint64(b[o.sFreelist:]),
	}
	ctr := binary.LittleEndian.Uint64(b[o.sCounters:])
	field := func(bit, n uint64) int { return int(ctr >> bit & (1<<n - 1)) }
	s.Inuse = field(o.inuseBit, o.inuseBits)
	s.Objects = field(o.objectsBit, o.objectsBits)
	s.Frozen = ctr>>o.frozenBit&1 != 0
	pfn := (addr - r.vmemmap) / r.pageSize
	s.Base = r.pageOffset + pfn<<pageShift
	s.Node = r.nodeOfPFN(pfn)
	return s, nil
}

// nodeOfPFN is the NUMA node of a pfn from the nodes' spans (crash's
// page_to_nid); 0 on a kernel without node_data (one node).
func (r *Reader) nodeOfPFN(pfn uint64) int {
	for _, sp := range r.nodeSpans() {
		if pfn >= sp.start && pfn-sp.start < sp.pages {
			return sp.node
		}
	}
	return 0
}

type nodeSpan struct {
	node         int
	start, pages uint64
}

// nodeSpans reads node_data[n]->node_start_pfn and node_spanned_pages for
// n < nr_node_ids (CONFIG_NUMA), once.
func (r *Reader) nodeSpans() []nodeSpan {
	if r.spansRead {
		return r.spans
	}
	r.spansRead = true
	nd, err := r.src.Symbol("node_data")
	if err != nil {
		return nil
	}
	oStart, e1 := r.src.MemberOffset("pglist_data", "node_start_pfn")
	oPages, e2 := r.src.MemberOffset("pglist_data", "node_spanned_pages")
	if e1 != nil || e2 != nil {
		return nil
	}
	n := uint64(MaxNodes)
	if a, e := r.src.Symbol("nr_node_ids"); e == nil {
		if v, e := kread.U32(r.src, a); e == nil && v >= 1 && v <= MaxNodes {
			n = uint64(v)
		}
	}
	for i := uint64(0); i < n; i++ {
		pg, err := r.u64(nd + 8*i)
		if err != nil || pg == 0 {
			continue
		}
		start, e1 := r.u64(pg + oStart)
		pages, e2 := r.u64(pg + oPages)
		if e1 == nil && e2 == nil {
			r.spans = append(r.spans, nodeSpan{int(i), start, pages})
		}
	}
	return r.spans
}

// Geometry returns the freelist geometry of slab s of cache c.
func (r *Reader) Geometry(c *Cache, s *Slab) Geometry {
	g := Geometry{
		Slab: s.Addr, Base: s.Base, Size: c.Size, Objects: s.Objects,
		Offset: c.Offset, Hardened: c.Hardened, Random: c.Random, Swab: r.swab >= 0,
	}
	if c.Flags&SlabRedZone != 0 {
		g.RedLeftPad = c.RedLeftPad
	}
	if g.Objects > MaxObjects {
		g.Objects = MaxObjects
	}
	if g.Size > 0 && uint64(g.Objects)*g.Size > maxSlabSize {
		g.Objects = int(maxSlabSize / g.Size)
	}
	return g
}

// probeSwab decides, from the first in-object free pointer met, whether
// this kernel byte-swaps the pointer's address (commit 1ad53d9fa3f6,
// 5.7): no type or symbol tells, so the decoding that yields a valid next
// pointer (NULL or an object of the slab) wins, once for the program.
func (r *Reader) probeSwab(g *Geometry, head uint64) {
	if r.swab != 0 || !g.Hardened || head == 0 {
		return
	}
	if _, ok := g.Index(head); !ok {
		return
	}
	at := head + g.Offset
	v, err := r.u64(at)
	if err != nil {
		return
	}
	valid := func(p uint64) bool {
		if p == 0 {
			return true
		}
		_, ok := g.Index(p)
		return ok
	}
	sw, plain := *g, *g
	sw.Swab, plain.Swab = true, false
	switch a, b := valid(sw.Decode(v, at)), valid(plain.Decode(v, at)); {
	case a && !b:
		r.swab = 1
	case b && !a:
		r.swab = -1
	}
	g.Swab = r.swab >= 0
}

// SlabState is a slab with the state of each object.
type SlabState struct {
	*Slab
	Geom Geometry
	// CPU is the CPU whose slab this is, -1 when none.
	CPU int
	// Free marks free objects (by index): on the slab's freelist or, for
	// a CPU slab, on that CPU's lockless freelist.
	Free  []bool
	NFree int
	// Err is set when a freelist could not be followed (a
	// *CorruptError): Free is then incomplete and no verdict may be
	// drawn from it.
	Err error
}

// Allocated is the number of allocated objects (valid when Err is nil).
func (st *SlabState) Allocated() int { return st.Geom.Objects - st.NFree }

// State walks a slab's freelists. cpus is the cache's per-CPU state (for
// the CPU slab's lockless freelist); nil to look it up.
func (r *Reader) State(c *Cache, s *Slab, cpus []CPU) *SlabState {
	if cpus == nil {
		cpus = r.CPUs(c)
	}
	st := &SlabState{Slab: s, CPU: -1, Geom: r.Geometry(c, s)}
	g := &st.Geom
	st.Free = make([]bool, g.Objects)
	read := func(a uint64) (uint64, error) { return r.u64(a) }
	r.probeSwab(g, s.Freelist)
	if _, err := g.Walk(read, s.Freelist, s.Addr+r.o.sFreelist, st.Free); err != nil {
		st.Err = err
	}
	for _, cs := range cpus {
		if cs.Slab == s.Addr && s.Addr != 0 {
			st.CPU = cs.CPU
			if st.Err == nil {
				r.probeSwab(g, cs.Freelist)
				if _, err := g.Walk(read, cs.Freelist, cs.FreelistAt, st.Free); err != nil {
					st.Err = err
				}
			}
			break
		}
	}
	for _, f := range st.Free {
		if f {
			st.NFree++
		}
	}
	return st
}

// CPUs reads every CPU's kmem_cache_cpu of a cache; a CPU that cannot be
// read is left out.
func (r *Reader) CPUs(c *Cache) []CPU {
	out := make([]CPU, 0, r.ncpu)
	for i := 0; i < r.ncpu; i++ {
		if st, err := r.CPU(c, i); err == nil {
			out = append(out, st)
		}
	}
	return out
}

// ObjectAt returns the index of the object of the slab that contains
// vaddr (crash's range: from Base + i*Size, Size bytes), false when vaddr
// is in no object (the slab's tail).
func (g *Geometry) ObjectAt(vaddr uint64) (int, bool) {
	if vaddr < g.Base || g.Size == 0 {
		return 0, false
	}
	i := (vaddr - g.Base) / g.Size
	if i >= uint64(g.Objects) {
		return 0, false
	}
	return int(i), true
}

// ScanSlabs calls fn with every slab in the memory map: each struct page
// below max_pfn with PG_slab set (a slab's head page). Parts of the
// vmemmap that cannot be read (holes) are skipped, a section's worth
// (32768 pages) at a time; fn returning false stops the scan.
func (r *Reader) ScanSlabs(fn func(slab uint64) bool) {
	const chunk = 1024    // struct pages per read
	const section = 32768 // pages of a 128 MiB memory section
	buf := make([]byte, chunk*r.pageSize)
	perPage := 4096 / r.pageSize // struct pages per page of the vmemmap
	for pfn := uint64(0); pfn < r.maxPFN; pfn += chunk {
		n := min(uint64(chunk), r.maxPFN-pfn)
		b := buf[:n*r.pageSize]
		ok := make([]bool, 0, chunk/perPage+1)
		if _, err := r.src.ReadAt(b, r.vmemmap+pfn*r.pageSize); err != nil {
			// Page by page: a hole (or an excluded page) costs only
			// its own struct pages; a chunk of holes, the section.
			any := false
			for i := uint64(0); i < n; i += perPage {
				k := min(perPage, n-i)
				_, e := r.src.ReadAt(b[i*r.pageSize:(i+k)*r.pageSize], r.vmemmap+(pfn+i)*r.pageSize)
				ok = append(ok, e == nil)
				any = any || e == nil
			}
			if !any {
				pfn = pfn/section*section + section - chunk
				continue
			}
		}
		for i := uint64(0); i < n; i++ {
			if len(ok) > 0 && !ok[i/perPage] {
				continue
			}
			flags := binary.LittleEndian.Uint64(b[i*r.pageSize+r.o.pFlags:])
			if flags&(1<<r.pgSlab) != 0 && !fn(r.vmemmap+(pfn+i)*r.pageSize) {
				return
			}
		}
	}
}
