// Package slub reads the SLUB allocator of a crashed kernel as 6.1 has it:
// the caches on `slab_caches` (struct kmem_cache), each cache's per-CPU
// state (struct kmem_cache_cpu: the lockless freelist, the CPU slab and
// the CPU partial slabs), its per-node lists (struct kmem_cache_node:
// partial slabs, the full list kept only with SLAB_STORE_USER, the
// nr_slabs/total_objects counters of CONFIG_SLUB_DEBUG), and each slab
// (struct slab, its own type since kernel commit d122019bf061 "mm: Split
// slab into its own type": slab_cache, freelist, inuse/objects/frozen in
// the counters word, slab_list).
//
// An object's state comes from the freelists, never from a guess: the
// slab's own freelist plus, when the slab is a CPU's slab, that CPU's
// lockless freelist, with CONFIG_SLAB_FREELIST_HARDENED pointers decoded.
// A freelist that cannot be followed is a *CorruptError ("freelist of
// slab X is corrupt at Y"). Every walk is bounded.
package slub

import (
	"errors"
	"fmt"
	"strconv"

	"kdive/internal/kernel/kread"
)

// Source is what the reader needs; *program.Program satisfies it.
type Source interface {
	ReadAt(b []byte, addr uint64) (int, error)
	Symbol(name string) (uint64, error)
	MemberOffset(typ, member string) (uint64, error)
	TypeSize(typ string) (uint64, error)
	PerCPUOffset(cpu int) (uint64, error)
	VMCOREINFO(key string) (string, bool)
	Translate(vaddr uint64) (uint64, error)
}

// BitfieldSource is optionally implemented by a Source that knows the bit
// positions of bitfield members (bit offset from the start of typ, size in
// bits). Without it the reader uses 6.1's layouts.
type BitfieldSource interface {
	Bitfield(typ, member string) (bitOffset, bitSize uint64, ok bool)
}

// Caps on what is read from the dump.
const (
	MaxCaches   = 1 << 14 // caches on slab_caches
	MaxPartial  = 1 << 20 // slabs on one partial or full list
	MaxCPUs     = 8192
	MaxNodes    = 1024 // MAX_NUMNODES with NODES_SHIFT 10
	maxNameLen  = 256
	pageShift   = 12
	maxSlabSize = 4096 << 10 // an order-10 slab
	maxPFNCap   = 1 << (46 - pageShift)
)

// Cache flags (include/linux/slab.h).
const (
	SlabRedZone   = 0x00000400 // SLAB_RED_ZONE
	SlabPoison    = 0x00000800 // SLAB_POISON
	SlabStoreUser = 0x00010000 // SLAB_STORE_USER
)

// Reader reads the allocator; make one with New.
type Reader struct {
	src  Source
	o    offsets
	ncpu int
	pcpu []uint64 // __per_cpu_offset[cpu]

	vmemmap, pageOffset uint64
	pageSize            uint64 // sizeof(struct page)
	pgSlab              uint
	maxPFN              uint64

	caches  []*Cache
	byAddr  map[uint64]*Cache
	listErr error
	loaded  bool

	// swab: 0 not yet known, 1 swab (5.7+), -1 plain address.
	swab int

	spans     []nodeSpan // NUMA nodes' pfn spans
	spansRead bool
}

type offsets struct {
	// struct kmem_cache
	cCPUSlab, cFlags, cSize, cObjSize, cOffset, cOO, cInuse, cAlign uint64
	cName, cList, cRandom, cRedLeftPad, cNode, cMinPartial          uint64
	hasRandom, hasRedLeftPad                                        bool
	cacheRead                                                       uint64 // bytes to read of a kmem_cache
	// struct kmem_cache_cpu
	ccFreelist, ccSlab, ccPartial uint64
	hasCPUPartial                 bool
	// struct kmem_cache_node
	nNrPartial, nPartial, nNrSlabs, nTotalObjects, nFull uint64
	hasNrSlabs, hasTotal, hasFull                        bool
	// struct slab
	sList, sNext, sCache, sFreelist, sCounters uint64
	inuseBit, inuseBits                        uint64 // within the counters word
	objectsBit, objectsBits, frozenBit         uint64
	slabSize                                   uint64
	// struct page
	pFlags, pCompoundHead uint64
	// struct track
	trackSize, tAddr, tHandle, tCPU, tPid, tWhen uint64
	hasTrack, hasHandle                          bool
}

// New resolves the layouts and globals the reader needs. ncpu is the
// number of CPUs to look at (crash: kt->cpus).
func New(src Source, ncpu int) (*Reader, error) {
	if ncpu <= 0 || ncpu > MaxCPUs {
		return nil, fmt.Errorf("slub: %d CPUs", ncpu)
	}
	r := &Reader{src: src, ncpu: ncpu}
	var err error
	get := func(typ, m string) uint64 {
		if err != nil {
			return 0
		}
		v, e := src.MemberOffset(typ, m)
		if e != nil {
			err = fmt.Errorf("slub: %s.%s: %w", typ, m, e)
		}
		return v
	}
	opt := func(typ, m string, ok *bool) uint64 {
		v, e := src.MemberOffset(typ, m)
		*ok = e == nil
		return v
	}
	o := &r.o
	o.cCPUSlab = get("kmem_cache", "cpu_slab")
	o.cFlags = get("kmem_cache", "flags")
	o.cSize = get("kmem_cache", "size")
	o.cObjSize = get("kmem_cache", "object_size")
	o.cOffset = get("kmem_cache", "offset")
	o.cOO = get("kmem_cache", "oo")
	o.cInuse = get("kmem_cache", "inuse")
	o.cAlign = get("kmem_cache", "align")
	o.cName = get("kmem_cache", "name")
	o.cList = get("kmem_cache", "list")
	o.cNode = get("kmem_cache", "node")
	o.ccFreelist = get("kmem_cache_cpu", "freelist")
	o.ccSlab = get("kmem_cache_cpu", "slab") // "page" before d122019bf061
	o.nNrPartial = get("kmem_cache_node", "nr_partial")
	o.nPartial = get("kmem_cache_node", "partial")
	o.sList = get("slab", "slab_list")
	o.sCache = get("slab", "slab_cache")
	o.sFreelist = get("slab", "freelist")
	o.sCounters = get("slab", "counters")
	o.pFlags = get("page", "flags")
	o.pCompoundHead = get("page", "compound_head")
	if err != nil {
		return nil, err
	}
	var ok bool
	o.cMinPartial = opt("kmem_cache", "min_partial", &ok)
	o.cRandom = opt("kmem_cache", "random", &o.hasRandom) // CONFIG_SLAB_FREELIST_HARDENED
	o.cRedLeftPad = opt("kmem_cache", "red_left_pad", &o.hasRedLeftPad)
	o.ccPartial = opt("kmem_cache_cpu", "partial", &o.hasCPUPartial) // CONFIG_SLUB_CPU_PARTIAL
	o.nNrSlabs = opt("kmem_cache_node", "nr_slabs", &o.hasNrSlabs)   // CONFIG_SLUB_DEBUG
	o.nTotalObjects = opt("kmem_cache_node", "total_objects", &o.hasTotal)
	o.nFull = opt("kmem_cache_node", "full", &o.hasFull)
	o.sNext = opt("slab", "next", &ok) // the CPU partial chain (CONFIG_SLUB_CPU_PARTIAL)
	if !ok {
		o.sNext = o.sList
	}
	o.tAddr = opt("track", "addr", &o.hasTrack)
	if o.hasTrack {
		o.tHandle = opt("track", "handle", &o.hasHandle) // CONFIG_STACKDEPOT (5.19+)
		var ok1, ok2, ok3 bool
		o.tCPU = opt("track", "cpu", &ok1)
		o.tPid = opt("track", "pid", &ok2)
		o.tWhen = opt("track", "when", &ok3)
		sz, e := src.TypeSize("struct track")
		o.hasTrack = ok1 && ok2 && ok3 && e == nil && sz > 0 && sz <= 4096
		o.trackSize = sz
	}
	// The node array is the last member: read up to nr_node_ids of it.
	nodes := uint64(MaxNodes)
	if a, e := src.Symbol("nr_node_ids"); e == nil {
		if v, e := kread.U32(src, a); e == nil && v >= 1 && v <= MaxNodes {
			nodes = uint64(v)
		}
	}
	o.cacheRead = o.cNode + nodes*8
	// The counters word: inuse:16, objects:15, frozen:1 (6.1) unless the
	// types say otherwise.
	o.inuseBit, o.inuseBits, o.objectsBit, o.objectsBits, o.frozenBit = 0, 16, 16, 15, 31
	if bf, ok := src.(BitfieldSource); ok {
		base := o.sCounters * 8
		i, in, ok1 := bf.Bitfield("slab", "inuse")
		j, jn, ok2 := bf.Bitfield("slab", "objects")
		k, _, ok3 := bf.Bitfield("slab", "frozen")
		if ok1 && ok2 && ok3 && i >= base && j >= base && k >= base && i-base+in <= 64 && j-base+jn <= 64 && k-base < 64 && in > 0 && jn > 0 {
			o.inuseBit, o.inuseBits, o.objectsBit, o.objectsBits, o.frozenBit = i-base, in, j-base, jn, k-base
		}
	}
	sz, e := src.TypeSize("struct slab")
	if e != nil || sz == 0 || sz > 256 {
		sz = o.sCounters + 8
	}
	o.slabSize = sz

	// Memory map.
	if r.pageSize, err = src.TypeSize("struct page"); err != nil || r.pageSize == 0 || r.pageSize > 256 {
		return nil, fmt.Errorf("slub: sizeof(struct page): %v", err)
	}
	if v, ok := src.VMCOREINFO("NUMBER(PG_slab)"); ok {
		n, e := strconv.Atoi(v)
		if e != nil || n < 0 || n > 63 {
			return nil, fmt.Errorf("slub: VMCOREINFO NUMBER(PG_slab)=%q", v)
		}
		r.pgSlab = uint(n)
	} else {
		return nil, errors.New("slub: VMCOREINFO has no NUMBER(PG_slab)")
	}
	if r.vmemmap, err = readSym(src, "vmemmap_base"); err != nil {
		return nil, fmt.Errorf("slub: vmemmap_base: %w", err)
	}
	if r.pageOffset, err = readSym(src, "page_offset_base"); err != nil {
		return nil, fmt.Errorf("slub: page_offset_base: %w", err)
	}
	// max_pfn bounds the memory map; never more than 64 TiB of pages.
	r.maxPFN = maxPFNCap
	if v, e := readSym(src, "max_pfn"); e == nil && v > 0 && v < maxPFNCap {
		r.maxPFN = v
	}
	r.pcpu = make([]uint64, ncpu)
	for c := 0; c < ncpu; c++ {
		if r.pcpu[c], err = src.PerCPUOffset(c); err != nil {
			return nil, fmt.Errorf("slub: __per_cpu_offset[%d]: %w", c, err)
		}
	}
	return r, nil
}

// NrCPUs is the number of CPUs the reader looks at.
func (r *Reader) NrCPUs() int { return r.ncpu }

// StoresUser reports whether struct track is known (SLAB_STORE_USER can be
// decoded).
func (r *Reader) StoresUser() bool { return r.o.hasTrack }

func readSym(src Source, name string) (uint64, error) {
	a, err := src.Symbol(name)
	if err != nil {
		return 0, err
	}
	return kread.U64(src, a)
}

func (r *Reader) u64(a uint64) (uint64, error) { return kread.U64(r.src, a) }

func readString(src Source, addr uint64) (string, error) {
	var out []byte
	buf := make([]byte, 64)
	for len(out) < maxNameLen {
		n := 64 - int(addr%64)
		if _, err := src.ReadAt(buf[:n], addr); err != nil {
			if len(out) > 0 {
				return string(out), nil
			}
			return "", err
		}
		for i := 0; i < n; i++ {
			if buf[i] == 0 {
				return string(append(out, buf[:i]...)), nil
			}
		}
		out = append(out, buf[:n]...)
		addr += uint64(n)
	}
	return string(out[:maxNameLen]), nil
}
