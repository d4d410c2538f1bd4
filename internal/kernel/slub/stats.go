package slub

import "fmt"

// Stats is a cache's line of `kmem -s`, counted as the kernel's own
// slabinfo counts (and crash): slabs and objects from each node's
// nr_slabs/total_objects, free objects from the CPU slabs (objects not
// handed out plus the lockless freelist), the CPU partial slabs and the
// node partial slabs (objects - inuse each); full slabs have none.
type Stats struct {
	Slabs     uint64
	Total     uint64
	Free      uint64
	Allocated uint64
	// CPUSlabs counts the CPU slabs per node (crash's PER-CPU column).
	CPUSlabs map[int]int
}

// Stats counts a cache. It needs CONFIG_SLUB_DEBUG's node counters.
func (r *Reader) Stats(c *Cache) (Stats, error) {
	st := Stats{CPUSlabs: map[int]int{}}
	if !r.o.hasNrSlabs || !r.o.hasTotal {
		return st, fmt.Errorf("option requires kmem_cache_node.nr_slabs member! (the kernel must be built with CONFIG_SLUB_DEBUG)")
	}
	var free uint64
	for _, cs := range r.CPUs(c) {
		if cs.Slab == 0 {
			continue
		}
		s, err := r.ReadSlab(cs.Slab)
		if err != nil {
			return st, fmt.Errorf("%s: cpu %d slab: %v", c.Name, cs.CPU, err)
		}
		if s.Objects == 0 {
			return st, fmt.Errorf("%s: slab %x has no objects", c.Name, s.Addr)
		}
		st.CPUSlabs[s.Node]++
		if s.Objects > s.Inuse {
			free += uint64(s.Objects - s.Inuse)
		}
		g := r.Geometry(c, s)
		seen := make([]bool, g.Objects)
		r.probeSwab(&g, cs.Freelist)
		n, err := g.Walk(func(a uint64) (uint64, error) { return r.u64(a) }, cs.Freelist, cs.FreelistAt, seen)
		if err != nil {
			return st, err
		}
		free += uint64(len(n))
		partial, err := r.CPUPartial(c, cs)
		if err != nil {
			return st, err
		}
		for _, p := range partial {
			ps, err := r.ReadSlab(p)
			if err != nil {
				return st, fmt.Errorf("%s: cpu %d partial slab: %v", c.Name, cs.CPU, err)
			}
			if ps.Objects == 0 {
				return st, fmt.Errorf("%s: slab %x has no objects", c.Name, ps.Addr)
			}
			if ps.Objects > ps.Inuse {
				free += uint64(ps.Objects - ps.Inuse)
			}
		}
	}
	for n := range c.Nodes {
		nd, err := r.Node(c, n)
		if err != nil {
			return st, err
		}
		if nd.Addr == 0 {
			continue
		}
		partial, err := r.NodePartial(c, nd)
		if err != nil {
			return st, err
		}
		for _, p := range partial {
			ps, err := r.ReadSlab(p)
			if err != nil {
				return st, fmt.Errorf("%s: node %d partial slab: %v", c.Name, n, err)
			}
			if ps.Objects > ps.Inuse {
				free += uint64(ps.Objects - ps.Inuse)
			}
		}
		st.Slabs += nd.NrSlabs
		st.Total += nd.TotalObjects
	}
	st.Free = free
	if st.Total >= free {
		st.Allocated = st.Total - free
	}
	return st, nil
}
