package slub

import (
	"fmt"
	"math/bits"
)

// MaxObjects caps the objects of one slab: struct slab keeps the count
// in 15 bits (MAX_OBJS_PER_PAGE 32767).
const MaxObjects = 32767

// Geometry is what decoding one slab's freelists needs: where its objects
// lie and how the cache hides its free pointers.
type Geometry struct {
	Slab    uint64 // struct slab * (named in errors)
	Base    uint64 // virtual address of the slab's first byte
	Size    uint64 // kmem_cache.size: the stride from object to object
	Objects int    // objects in this slab (struct slab.objects)
	// Offset is kmem_cache.offset: where in an object its free pointer
	// is stored.
	Offset uint64
	// RedLeftPad is kmem_cache.red_left_pad (SLAB_RED_ZONE): object i
	// starts at Base + RedLeftPad + i*Size.
	RedLeftPad uint64
	// Hardened is CONFIG_SLAB_FREELIST_HARDENED (kmem_cache.random
	// exists, kernel commit 2482ddec670f): a stored free pointer is
	// ptr ^ Random ^ swab(address it is stored at); without Swab (before
	// commit 1ad53d9fa3f6, 5.7) the address is not byte-swapped.
	Hardened bool
	Random   uint64
	Swab     bool
}

// Object returns the address of object i.
func (g *Geometry) Object(i int) uint64 { return g.Base + g.RedLeftPad + uint64(i)*g.Size }

// Index returns the object index of a free pointer, or false when p is
// not the start of one of the slab's objects.
func (g *Geometry) Index(p uint64) (int, bool) {
	first := g.Base + g.RedLeftPad
	if g.Size == 0 || p < first {
		return 0, false
	}
	d := p - first
	if d%g.Size != 0 || d/g.Size >= uint64(g.Objects) {
		return 0, false
	}
	return int(d / g.Size), true
}

// Decode turns the value stored at addr (an object's free pointer slot)
// into the pointer it stands for.
func (g *Geometry) Decode(stored, addr uint64) uint64 {
	if !g.Hardened {
		return stored
	}
	if g.Swab {
		addr = bits.ReverseBytes64(addr)
	}
	return stored ^ g.Random ^ addr
}

// CorruptError is a freelist that cannot be followed: a pointer outside
// the slab or not at an object's start, an object met twice (a cycle, or
// an object on two lists), more entries than the slab has objects, or a
// slot that cannot be read.
type CorruptError struct {
	Slab uint64 // struct slab *
	At   uint64 // where the bad pointer is stored
	Ptr  uint64 // the (decoded) bad pointer
	Why  string
	// Unreadable: the slot could not be read (not in the dump, an
	// excluded page): the list cannot be followed, nothing says it is
	// corrupt.
	Unreadable bool
}

func (e *CorruptError) Error() string {
	if e.Unreadable {
		return fmt.Sprintf("freelist of slab %x cannot be followed at %x: %s", e.Slab, e.At, e.Why)
	}
	return fmt.Sprintf("freelist of slab %x is corrupt at %x: %s", e.Slab, e.At, e.Why)
}

// Walk follows one freelist from head, the (plain) pointer stored at
// headAt (struct slab.freelist or kmem_cache_cpu.freelist), reading each
// object's stored free pointer with read. seen (len Objects) marks the
// objects found free so far in this slab, shared between its two lists:
// an object met twice is a cycle (or an object on both lists), found at
// its first repetition, so no separate cycle check is needed; the walk
// ends after at most Objects steps. It returns the free objects' indexes
// in list order.
func (g *Geometry) Walk(read func(addr uint64) (uint64, error), head, headAt uint64, seen []bool) ([]int, error) {
	var out []int
	p, at := head, headAt
	for p != 0 {
		i, ok := g.Index(p)
		if !ok {
			why := fmt.Sprintf("pointer %x is outside the slab's objects (%x-%x, %d objects of %d bytes)",
				p, g.Base+g.RedLeftPad, g.Base+g.RedLeftPad+uint64(g.Objects)*g.Size, g.Objects, g.Size)
			if first := g.Base + g.RedLeftPad; p >= first && p < first+uint64(g.Objects)*g.Size {
				why = fmt.Sprintf("pointer %x is not at the start of an object (objects of %d bytes from %x)", p, g.Size, first)
			}
			return out, &CorruptError{Slab: g.Slab, At: at, Ptr: p, Why: why}
		}
		if i >= len(seen) {
			return out, &CorruptError{Slab: g.Slab, At: at, Ptr: p, Why: fmt.Sprintf("object %x beyond the %d objects", p, len(seen))}
		}
		if seen[i] {
			return out, &CorruptError{Slab: g.Slab, At: at, Ptr: p, Why: fmt.Sprintf("object %x is on the freelists twice (a cycle)", p)}
		}
		seen[i] = true
		out = append(out, i)
		at = p + g.Offset
		v, err := read(at)
		if err != nil {
			return out, &CorruptError{Slab: g.Slab, At: at, Ptr: p, Why: fmt.Sprintf("cannot read the free pointer of object %x: %v", p, err), Unreadable: true}
		}
		p = g.Decode(v, at)
	}
	return out, nil
}
