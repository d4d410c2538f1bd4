package slub

import (
	"encoding/binary"
	"fmt"
)

// Cache is one struct kmem_cache.
type Cache struct {
	Addr       uint64 // struct kmem_cache *
	Name       string
	Flags      uint64 // slab_flags_t
	Size       uint64 // object stride, with metadata
	ObjectSize uint64 // the caller's size
	Offset     uint64 // free pointer offset in an object
	Inuse      uint64 // end of the object's data and free pointer
	Align      uint64
	RedLeftPad uint64
	Order      int // oo: slab order
	Objects    int // oo: objects per slab of that order
	Random     uint64
	Hardened   bool
	CPUSlab    uint64   // struct kmem_cache_cpu __percpu *
	Nodes      []uint64 // struct kmem_cache_node * per node (0 when none)
}

// SlabBytes is the size of a slab of the cache's order.
func (c *Cache) SlabBytes() uint64 { return uint64(1) << (pageShift + uint(c.Order)) }

// Caches returns the caches on slab_caches, in list order (crash's order).
// A cache that cannot be read ends the list with an error after those read.
func (r *Reader) Caches() ([]*Cache, error) {
	if r.loaded {
		return r.caches, r.listErr
	}
	r.loaded = true
	r.byAddr = map[uint64]*Cache{}
	head, err := r.src.Symbol("slab_caches")
	if err != nil {
		r.listErr = fmt.Errorf("slab_caches: %w", err)
		return nil, r.listErr
	}
	node := head
	visited := map[uint64]bool{head: true}
	for n := 0; ; n++ {
		next, err := r.u64(node)
		if err != nil {
			r.listErr = fmt.Errorf("slab_caches: cannot read list_head at %x: %v", node, err)
			break
		}
		if next == head {
			break
		}
		if next == 0 || visited[next] {
			r.listErr = fmt.Errorf("slab_caches: list corrupt at %x (next %x)", node, next)
			break
		}
		if n >= MaxCaches {
			r.listErr = fmt.Errorf("slab_caches: more than %d caches", MaxCaches)
			break
		}
		visited[next] = true
		c, err := r.readCache(next - r.o.cList)
		if err != nil {
			r.listErr = err
			break
		}
		r.caches = append(r.caches, c)
		r.byAddr[c.Addr] = c
		node = next
	}
	return r.caches, r.listErr
}

// CacheAt returns the cache at a struct kmem_cache address, nil when no
// cache on slab_caches is there.
func (r *Reader) CacheAt(addr uint64) *Cache {
	r.Caches()
	return r.byAddr[addr]
}

// CacheNamed returns the cache with that name (the first on the list).
func (r *Reader) CacheNamed(name string) *Cache {
	cs, _ := r.Caches()
	for _, c := range cs {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func (r *Reader) readCache(addr uint64) (*Cache, error) {
	o := &r.o
	b := make([]byte, o.cacheRead)
	if _, err := r.src.ReadAt(b, addr); err != nil {
		return nil, fmt.Errorf("kmem_cache %x: %v", addr, err)
	}
	u32 := func(off uint64) uint64 { return uint64(binary.LittleEndian.Uint32(b[off:])) }
	u64 := func(off uint64) uint64 { return binary.LittleEndian.Uint64(b[off:]) }
	c := &Cache{
		Addr:       addr,
		Flags:      u32(o.cFlags),
		Size:       u32(o.cSize),
		ObjectSize: u32(o.cObjSize),
		Offset:     u32(o.cOffset),
		Inuse:      u32(o.cInuse),
		Align:      u32(o.cAlign),
		CPUSlab:    u64(o.cCPUSlab),
	}
	oo := u32(o.cOO) // OO_SHIFT 16: order above, objects below
	c.Order, c.Objects = int(oo>>16), int(oo&0xffff)
	if o.hasRedLeftPad {
		c.RedLeftPad = u32(o.cRedLeftPad)
	}
	if o.hasRandom {
		c.Hardened, c.Random = true, u64(o.cRandom)
	}
	name, err := readString(r.src, u64(o.cName))
	if err != nil {
		name = "(unknown)"
	}
	c.Name = name
	for off := o.cNode; off+8 <= uint64(len(b)); off += 8 {
		c.Nodes = append(c.Nodes, u64(off))
	}
	for len(c.Nodes) > 1 && c.Nodes[len(c.Nodes)-1] == 0 {
		c.Nodes = c.Nodes[:len(c.Nodes)-1]
	}
	if c.Size == 0 || c.Size > maxSlabSize || c.Order > 10 {
		return c, fmt.Errorf("kmem_cache %x (%s): implausible size %d or order %d", addr, name, c.Size, c.Order)
	}
	return c, nil
}

// CPU is one CPU's struct kmem_cache_cpu of a cache.
type CPU struct {
	CPU        int
	Addr       uint64 // struct kmem_cache_cpu *
	Freelist   uint64 // the lockless freelist (a plain pointer)
	FreelistAt uint64 // its address
	Slab       uint64 // struct slab * of the CPU slab, 0 when none
	Partial    uint64 // first CPU partial slab, 0 when none
}

// CPU reads a cache's per-CPU state.
func (r *Reader) CPU(c *Cache, cpu int) (CPU, error) {
	if cpu < 0 || cpu >= r.ncpu {
		return CPU{}, fmt.Errorf("cpu %d out of range", cpu)
	}
	a := c.CPUSlab + r.pcpu[cpu]
	st := CPU{CPU: cpu, Addr: a, FreelistAt: a + r.o.ccFreelist}
	var err error
	if st.Freelist, err = r.u64(a + r.o.ccFreelist); err != nil {
		return st, fmt.Errorf("%s: kmem_cache_cpu %x of cpu %d: %v", c.Name, a, cpu, err)
	}
	if st.Slab, err = r.u64(a + r.o.ccSlab); err != nil {
		return st, fmt.Errorf("%s: kmem_cache_cpu %x of cpu %d: %v", c.Name, a, cpu, err)
	}
	if r.o.hasCPUPartial {
		if st.Partial, err = r.u64(a + r.o.ccPartial); err != nil {
			return st, fmt.Errorf("%s: kmem_cache_cpu %x of cpu %d: %v", c.Name, a, cpu, err)
		}
	}
	return st, nil
}

// CPUPartial returns the slabs on a CPU's partial chain (slab.next),
// bounded.
func (r *Reader) CPUPartial(c *Cache, st CPU) ([]uint64, error) {
	var out []uint64
	seen := map[uint64]bool{}
	for s := st.Partial; s != 0; {
		if seen[s] {
			return out, fmt.Errorf("%s: cpu %d partial list loops at slab %x", c.Name, st.CPU, s)
		}
		if len(out) >= MaxPartial {
			return out, fmt.Errorf("%s: cpu %d partial list: more than %d slabs", c.Name, st.CPU, MaxPartial)
		}
		if !r.IsSlabPtr(s) {
			return out, fmt.Errorf("%s: invalid partial list slab pointer: %x", c.Name, s)
		}
		seen[s] = true
		out = append(out, s)
		n, err := r.u64(s + r.o.sNext)
		if err != nil {
			return out, fmt.Errorf("%s: cpu %d partial slab %x: %v", c.Name, st.CPU, s, err)
		}
		s = n
	}
	return out, nil
}

// Node is one struct kmem_cache_node of a cache.
type Node struct {
	Node         int
	Addr         uint64
	NrPartial    uint64
	NrSlabs      uint64 // CONFIG_SLUB_DEBUG
	TotalObjects uint64 // CONFIG_SLUB_DEBUG
	HasCounts    bool
}

// Node reads a cache's node n (Addr 0 when the cache has none there).
func (r *Reader) Node(c *Cache, n int) (Node, error) {
	nd := Node{Node: n}
	if n < 0 || n >= len(c.Nodes) || c.Nodes[n] == 0 {
		return nd, nil
	}
	nd.Addr = c.Nodes[n]
	var err error
	if nd.NrPartial, err = r.u64(nd.Addr + r.o.nNrPartial); err != nil {
		return nd, fmt.Errorf("%s: kmem_cache_node %x: %v", c.Name, nd.Addr, err)
	}
	if r.o.hasNrSlabs && r.o.hasTotal {
		nd.HasCounts = true
		if nd.NrSlabs, err = r.u64(nd.Addr + r.o.nNrSlabs); err != nil {
			return nd, fmt.Errorf("%s: kmem_cache_node %x: %v", c.Name, nd.Addr, err)
		}
		if nd.TotalObjects, err = r.u64(nd.Addr + r.o.nTotalObjects); err != nil {
			return nd, fmt.Errorf("%s: kmem_cache_node %x: %v", c.Name, nd.Addr, err)
		}
	}
	return nd, nil
}

// NodePartial returns the slabs on a node's partial list.
func (r *Reader) NodePartial(c *Cache, nd Node) ([]uint64, error) {
	return r.slabList(c, nd.Addr+r.o.nPartial, "partial")
}

// HasFullList reports whether the cache keeps a full list (SLAB_STORE_USER
// with CONFIG_SLUB_DEBUG).
func (r *Reader) HasFullList(c *Cache) bool { return r.o.hasFull && c.Flags&SlabStoreUser != 0 }

// NodeFull returns the slabs on a node's full list (see HasFullList).
func (r *Reader) NodeFull(c *Cache, nd Node) ([]uint64, error) {
	return r.slabList(c, nd.Addr+r.o.nFull, "full")
}

func (r *Reader) slabList(c *Cache, head uint64, what string) ([]uint64, error) {
	var out []uint64
	visited := map[uint64]bool{head: true}
	node := head
	for {
		next, err := r.u64(node)
		if err != nil {
			return out, fmt.Errorf("%s: %s list: cannot read list_head at %x: %v", c.Name, what, node, err)
		}
		if next == head {
			return out, nil
		}
		s := next - r.o.sList
		if next == 0 || visited[next] || !r.IsSlabPtr(s) {
			last := node - r.o.sList
			if node == head {
				last = head
			}
			return out, fmt.Errorf("%s: %s list slab: %x invalid slab_list.next: %x", c.Name, what, last, next)
		}
		if len(out) >= MaxPartial {
			return out, fmt.Errorf("%s: %s list: more than %d slabs", c.Name, what, MaxPartial)
		}
		visited[next] = true
		out = append(out, s)
		node = next
	}
}
