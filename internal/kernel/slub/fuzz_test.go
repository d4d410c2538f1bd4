package slub

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"strings"
	"testing"
)

// fakeMem is a kernel whose memory is one flat region at the direct map's
// base, with 6.1's SLUB layouts (the offsets of the corpus's kernel).
type fakeMem struct {
	mem []byte
}

const (
	fkBase    = 0xffff888000000000
	fkVmemmap = fkBase + 0x8000
	fkPages   = 16 // max_pfn
)

var fakeOffsets = map[string]uint64{
	"kmem_cache.cpu_slab": 0, "kmem_cache.flags": 8, "kmem_cache.min_partial": 16, "kmem_cache.size": 24,
	"kmem_cache.object_size": 28, "kmem_cache.offset": 40, "kmem_cache.oo": 52, "kmem_cache.inuse": 80,
	"kmem_cache.align": 84, "kmem_cache.red_left_pad": 88, "kmem_cache.name": 96, "kmem_cache.list": 104,
	"kmem_cache.random": 184, "kmem_cache.node": 216,
	"kmem_cache_cpu.freelist": 0, "kmem_cache_cpu.slab": 16, "kmem_cache_cpu.partial": 24,
	"kmem_cache_node.nr_partial": 8, "kmem_cache_node.partial": 16, "kmem_cache_node.nr_slabs": 32,
	"kmem_cache_node.total_objects": 40, "kmem_cache_node.full": 48,
	"slab.slab_list": 8, "slab.next": 8, "slab.slab_cache": 24, "slab.freelist": 32, "slab.counters": 40,
	"page.flags": 0, "page.compound_head": 8,
	"track.addr": 0, "track.handle": 8, "track.cpu": 12, "track.pid": 16, "track.when": 24,
	"stack_record.entries":       24,
	"pglist_data.node_start_pfn": 0, "pglist_data.node_spanned_pages": 8,
}

var fakeSyms = map[string]uint64{
	"slab_caches": fkBase, "nr_node_ids": fkBase + 16, "vmemmap_base": fkBase + 24,
	"page_offset_base": fkBase + 32, "max_pfn": fkBase + 40, "stack_slabs": fkBase + 0x600,
	"node_data": fkBase + 0x680,
}

func (f *fakeMem) ReadAt(b []byte, a uint64) (int, error) {
	if a < fkBase || a-fkBase > uint64(len(f.mem)) || uint64(len(f.mem))-(a-fkBase) < uint64(len(b)) {
		return 0, fmt.Errorf("no memory at %#x", a)
	}
	return copy(b, f.mem[a-fkBase:]), nil
}
func (f *fakeMem) Symbol(n string) (uint64, error) {
	if a, ok := fakeSyms[n]; ok {
		return a, nil
	}
	return 0, errors.New("no symbol " + n)
}
func (f *fakeMem) MemberOffset(t, m string) (uint64, error) {
	if o, ok := fakeOffsets[strings.TrimPrefix(t, "struct ")+"."+m]; ok {
		return o, nil
	}
	return 0, errors.New("no member " + t + "." + m)
}
func (f *fakeMem) TypeSize(t string) (uint64, error) {
	switch t {
	case "struct page", "struct slab":
		return 64, nil
	case "struct track":
		return 32, nil
	}
	return 0, errors.New("no type " + t)
}
func (f *fakeMem) PerCPUOffset(cpu int) (uint64, error) { return uint64(cpu) * 64, nil }
func (f *fakeMem) VMCOREINFO(k string) (string, bool) {
	if k == "NUMBER(PG_slab)" {
		return "9", true
	}
	return "", false
}
func (f *fakeMem) Translate(v uint64) (uint64, error) {
	if v < fkBase || v-fkBase >= uint64(len(f.mem)) {
		return 0, fmt.Errorf("%#x not mapped", v)
	}
	return v - fkBase, nil
}

// fakeKernel builds a seed: one cache "fake-64" (8 objects of 128 bytes in
// the slab at pfn 4, hardened, store-user) whose CPU 0 slab has objects
// 1, 3 and 6 free on the CPU's lockless freelist.
func fakeKernel() []byte {
	m := make([]byte, 0x9000)
	put := func(a, v uint64) { binary.LittleEndian.PutUint64(m[a-fkBase:], v) }
	put32 := func(a uint64, v uint32) { binary.LittleEndian.PutUint32(m[a-fkBase:], v) }
	cache, cpu, node := uint64(fkBase+0x1000), uint64(fkBase+0x2000), uint64(fkBase+0x3000)
	slabMem, page := uint64(fkBase+0x4000), uint64(fkVmemmap+4*64)
	put(fkBase, cache+104) // slab_caches.next
	put(cache+104, fkBase) // back to the head
	put32(fkBase+16, 1)
	put(fkBase+24, fkVmemmap)
	put(fkBase+32, fkBase)
	put(fkBase+40, fkPages)
	put(cache, cpu)
	put(cache+8, SlabStoreUser)
	put32(cache+24, 128) // stride: 8 bytes of data and two tracks
	put32(cache+28, 8)
	put32(cache+40, 0) // offset
	put32(cache+52, 8) // order 0, 8 objects
	put32(cache+80, 8) // inuse: the tracks follow the pointer
	put(cache+96, fkBase+0x1800)
	copy(m[0x1800:], "fake-64\x00")
	const random = 0x1234567890abcdef
	put(cache+184, random)
	put(cache+216, node)
	put(node+16, node+16) // empty partial list
	put(node+24, node+16)
	put(node+48, node+48) // empty full list
	put(node+56, node+48)
	put(node+32, 1)
	put(node+40, 8)
	put(cpu+16, page)
	put(page, 1<<9) // PG_slab
	put(page+24, cache)
	put(page+40, 8|8<<16|1<<31) // inuse 8, objects 8, frozen
	free := []uint64{1, 3, 6}
	put(cpu, slabMem+free[0]*128)
	for k, i := range free {
		at := slabMem + i*128
		next := uint64(0)
		if k+1 < len(free) {
			next = slabMem + free[k+1]*128
		}
		put(at, next^random^bits.ReverseBytes64(at))
	}
	// Object 0's alloc track: addr, a stack depot handle of slab 0,
	// offset 0, valid.
	put(slabMem+8, 0xffffffff81000000)
	put32(slabMem+16, 1<<26)
	put(fkBase+0x600, fkBase+0x700) // stack_slabs[0]
	put32(fkBase+0x700+12, 2)       // size
	put32(fkBase+0x700+16, 1<<26)   // handle
	put(fkBase+0x700+24, 0xffffffff81000010)
	put(fkBase+0x700+32, 0xffffffff81000020)
	return m
}

func TestFakeKernel(t *testing.T) {
	r, err := New(&fakeMem{fakeKernel()}, 2)
	if err != nil {
		t.Fatal(err)
	}
	c := r.CacheNamed("fake-64")
	if c == nil {
		t.Fatal("no cache")
	}
	st, err := r.Stats(c)
	if err != nil || st.Total != 8 || st.Allocated != 5 || st.Slabs != 1 {
		t.Fatalf("stats %+v %v", st, err)
	}
	slab, err := r.SlabOf(fkBase + 0x4000 + 3*128 + 5)
	if err != nil || slab != fkVmemmap+4*64 {
		t.Fatalf("slab %x %v", slab, err)
	}
	s, _ := r.ReadSlab(slab)
	ss := r.State(c, s, nil)
	if ss.Err != nil || ss.CPU != 0 || fmt.Sprint(ss.Free) != "[false true false true false false true false]" {
		t.Fatalf("state %+v", ss)
	}
	a, _, err := r.Tracks(c, fkBase+0x4000)
	if err != nil || a.Addr != 0xffffffff81000000 || fmt.Sprintf("%x", a.Stack) != "[ffffffff81000010 ffffffff81000020]" {
		t.Fatalf("track %+v %v", a, err)
	}
}

// Any memory: every reader walk ends (bounded), without panicking.
func FuzzReader(f *testing.F) {
	f.Add(fakeKernel())
	f.Add(make([]byte, 64))
	f.Fuzz(func(t *testing.T, mem []byte) {
		if len(mem) > 1<<16 {
			mem = mem[:1<<16]
		}
		m := make([]byte, max(len(mem), 64))
		copy(m, mem)
		// Keep the globals sane so that the walks reach the fuzzed data.
		binary.LittleEndian.PutUint64(m[24:], fkVmemmap)
		binary.LittleEndian.PutUint64(m[32:], fkBase)
		binary.LittleEndian.PutUint64(m[40:], fkPages)
		r, err := New(&fakeMem{m}, 2)
		if err != nil {
			return
		}
		caches, _ := r.Caches()
		for _, c := range caches {
			r.Stats(c)
			for _, cs := range r.CPUs(c) {
				r.CPUPartial(c, cs)
			}
			for n := range c.Nodes {
				nd, err := r.Node(c, n)
				if err == nil && nd.Addr != 0 {
					r.NodePartial(c, nd)
					r.NodeFull(c, nd)
				}
			}
		}
		r.ScanSlabs(func(a uint64) bool {
			s, err := r.ReadSlab(a)
			if err != nil {
				return true
			}
			if c := r.CacheAt(s.Cache); c != nil {
				st := r.State(c, s, nil)
				if st.NFree > st.Geom.Objects {
					t.Fatalf("%d free of %d", st.NFree, st.Geom.Objects)
				}
				if st.Geom.Objects > 0 {
					r.Tracks(c, st.Geom.Object(0))
				}
			}
			return true
		})
		r.SlabOf(fkBase + 0x4000)
	})
}

// Two NUMA nodes (node_data[] spans): the slab at pfn 4 is node 1's.
func TestFakeNodes(t *testing.T) {
	m := fakeKernel()
	put := func(a, v uint64) { binary.LittleEndian.PutUint64(m[a-fkBase:], v) }
	binary.LittleEndian.PutUint32(m[16:], 2) // nr_node_ids
	put(fkBase+0x680, fkBase+0x6c0)
	put(fkBase+0x688, fkBase+0x6e0)
	put(fkBase+0x6c0, 0)
	put(fkBase+0x6c8, 4)
	put(fkBase+0x6e0, 4)
	put(fkBase+0x6e8, 12)
	r, err := New(&fakeMem{m}, 2)
	if err != nil {
		t.Fatal(err)
	}
	s, err := r.ReadSlab(fkVmemmap + 4*64)
	if err != nil || s.Node != 1 {
		t.Fatalf("slab %+v %v", s, err)
	}
}
