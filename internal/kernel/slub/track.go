package slub

import (
	"encoding/binary"
	"fmt"
)

// Track is one struct track of an object of a SLAB_STORE_USER cache
// (slub_debug=U): who last allocated (or freed) it.
type Track struct {
	Addr   uint64 // the caller's return address (0: never)
	Handle uint32 // stackdepot handle (CONFIG_STACKDEPOT), 0 when none
	CPU    int
	PID    int
	When   uint64 // jiffies
	// Stack is the call stack from the stack depot, innermost first; nil
	// when there is no handle. StackErr says why it could not be read.
	Stack    []uint64
	StackErr error
}

// Track kinds (enum track_item).
const (
	TrackAlloc = 0
	TrackFree  = 1
)

// MaxStackDepth caps a stack depot record's frames.
const MaxStackDepth = 256

// Tracks returns the alloc and free tracks of object obj (its start
// address) of cache c. The tracks follow the object's data and the free
// pointer when that is stored outside the object (mm/slub.c
// get_info_end(): inuse, plus a pointer when offset >= inuse).
func (r *Reader) Tracks(c *Cache, obj uint64) (alloc, free Track, err error) {
	if c.Flags&SlabStoreUser == 0 {
		return alloc, free, fmt.Errorf("%s: no owner tracking (the cache is not SLAB_STORE_USER: boot with slub_debug=U)", c.Name)
	}
	if !r.o.hasTrack {
		return alloc, free, fmt.Errorf("struct track is unknown to the types")
	}
	end := c.Inuse
	if c.Offset >= c.Inuse {
		end += 8
	}
	if end+2*r.o.trackSize > c.Size {
		return alloc, free, fmt.Errorf("%s: tracks at %d+%d exceed the object size %d", c.Name, end, 2*r.o.trackSize, c.Size)
	}
	b := make([]byte, 2*r.o.trackSize)
	base := obj + end
	if _, err := r.src.ReadAt(b, base); err != nil {
		return alloc, free, fmt.Errorf("tracks of object %x at %x: %v", obj, base, err)
	}
	alloc = r.decodeTrack(b[:r.o.trackSize])
	free = r.decodeTrack(b[r.o.trackSize:])
	return alloc, free, nil
}

func (r *Reader) decodeTrack(b []byte) Track {
	o := &r.o
	t := Track{
		Addr: binary.LittleEndian.Uint64(b[o.tAddr:]),
		CPU:  int(int32(binary.LittleEndian.Uint32(b[o.tCPU:]))),
		PID:  int(int32(binary.LittleEndian.Uint32(b[o.tPid:]))),
		When: binary.LittleEndian.Uint64(b[o.tWhen:]),
	}
	if o.hasHandle {
		t.Handle = binary.LittleEndian.Uint32(b[o.tHandle:])
		if t.Handle != 0 {
			t.Stack, t.StackErr = r.DepotStack(t.Handle)
		}
	}
	return t
}

// DepotStack reads a stack depot record (lib/stackdepot.c of 5.8-6.2):
// the handle holds a slab index (the low bits), an offset in 16-byte
// units within that 4-page slab, and a valid bit; the record is struct
// stack_record {next, hash, size, handle, entries[]} at
// stack_slabs[index] + offset*16.
func (r *Reader) DepotStack(handle uint32) ([]uint64, error) {
	slabs, err := r.src.Symbol("stack_slabs")
	if err != nil {
		return nil, fmt.Errorf("stack depot handle %#x: no stack_slabs: %v", handle, err)
	}
	const (
		offsetBits = 2 + pageShift - 4 // STACK_ALLOC_ORDER + PAGE_SHIFT - STACK_ALLOC_ALIGN
		extraBits  = 5                 // STACK_DEPOT_EXTRA_BITS
		indexBits  = 32 - offsetBits - 1 - extraBits
	)
	var idxBit, idxN, offBit, offN, validBit uint64 = 0, indexBits, indexBits, offsetBits, indexBits + offsetBits
	if bf, ok := r.src.(BitfieldSource); ok {
		a, an, ok1 := bf.Bitfield("handle_parts", "slabindex")
		b, bn, ok2 := bf.Bitfield("handle_parts", "offset")
		v, _, ok3 := bf.Bitfield("handle_parts", "valid")
		if ok1 && ok2 && ok3 && a+an <= 32 && b+bn <= 32 && v < 32 && an > 0 && bn > 0 {
			idxBit, idxN, offBit, offN, validBit = a, an, b, bn, v
		}
	}
	h := uint64(handle)
	idx := h >> idxBit & (1<<idxN - 1)
	off := h >> offBit & (1<<offN - 1) << 4
	if h>>validBit&1 == 0 {
		return nil, fmt.Errorf("stack depot handle %#x: not valid", handle)
	}
	base, err := r.u64(slabs + idx*8)
	if err != nil || base == 0 {
		return nil, fmt.Errorf("stack depot handle %#x: stack_slabs[%d] at %x unreadable or NULL", handle, idx, slabs+idx*8)
	}
	rec := base + off
	var hdr [24]byte // next, hash, size, handle
	if _, err := r.src.ReadAt(hdr[:], rec); err != nil {
		return nil, fmt.Errorf("stack depot record %x: %v", rec, err)
	}
	size := binary.LittleEndian.Uint32(hdr[12:])
	if got := binary.LittleEndian.Uint32(hdr[16:]); got != handle {
		return nil, fmt.Errorf("stack depot record %x has handle %#x, not %#x", rec, got, handle)
	}
	if size == 0 || size > MaxStackDepth {
		return nil, fmt.Errorf("stack depot record %x: %d frames", rec, size)
	}
	b := make([]byte, 8*size)
	entries := uint64(24)
	if e, err := r.src.MemberOffset("stack_record", "entries"); err == nil && e >= 20 && e <= 64 {
		entries = e
	}
	if _, err := r.src.ReadAt(b, rec+entries); err != nil {
		return nil, fmt.Errorf("stack depot record %x: %v", rec, err)
	}
	out := make([]uint64, size)
	for i := range out {
		out[i] = binary.LittleEndian.Uint64(b[8*i:])
	}
	return out, nil
}
