// Package xarray walks the kernel's XArray (struct xarray, include/linux/
// xarray.h; since 4.20 also the storage of the radix tree and of the IDR,
// whose idr_rt is a struct radix_tree_root, i.e. a struct xarray) from
// dump memory: every present entry with its index, bounded and checked
// for cycles and inconsistent node shifts, so that a corrupt tree cannot
// make a walk loop or run long.
package xarray

import (
	"encoding/binary"
	"fmt"
)

// Memory is what the walker reads; *program.Program satisfies it.
type Memory interface {
	ReadAt(b []byte, addr uint64) (int, error)
}

// Types gives member offsets; *program.Program satisfies it.
type Types interface {
	MemberOffset(typ, member string) (uint64, error)
}

// Layout is where the walker finds the fields it reads.
type Layout struct {
	Head       uint64 // struct xarray.xa_head
	NodeShift  uint64 // struct xa_node.shift (an unsigned char)
	NodeSlots  uint64 // struct xa_node.slots[]
	ChunkShift uint   // XA_CHUNK_SHIFT: 6 (4 with CONFIG_BASE_SMALL)
}

// DefaultLayout is x86-64 Linux 4.20 and later: xa_head after the lock
// and flags, slots after shift/offset/count/nr_values, parent, array and
// the private_list/rcu_head union; 64 slots a node.
var DefaultLayout = Layout{Head: 8, NodeShift: 0, NodeSlots: 40, ChunkShift: 6}

// LayoutOf reads the layout from the kernel's types, falling back to
// DefaultLayout for a member the types lack.
func LayoutOf(t Types) Layout {
	l := DefaultLayout
	if v, err := t.MemberOffset("xarray", "xa_head"); err == nil {
		l.Head = v
	}
	if v, err := t.MemberOffset("xa_node", "shift"); err == nil {
		l.NodeShift = v
	}
	if v, err := t.MemberOffset("xa_node", "slots"); err == nil {
		l.NodeSlots = v
	}
	return l
}

// Entry encodings (include/linux/xarray.h): an internal entry has the low
// bits 10; a node pointer is an internal entry above 4096 (the node is at
// entry - 2); internal entries below 256 are sibling slots of a
// multi-index entry; 256 is the retry entry, 257 the zero entry.
func isInternal(e uint64) bool { return e&3 == 2 }
func isNode(e uint64) bool     { return isInternal(e) && e > 4096 }

// Limits of a walk.
const (
	MaxDepth = 12 // 64-bit indices, at least 6 bits a level
	maxNodes = 1 << 20
)

// Walk calls fn(index, entry) for each present entry of the struct
// xarray * at xa, in index order: entries that are neither NULL nor
// internal (pointers, and value entries with the low bit set). It stops
// with an error naming the address at a read failure, a node seen twice,
// a node whose shift does not fit its place, a tree deeper than MaxDepth,
// or after max entries; the entries before the error have been given to
// fn. An error returned by fn ends the walk and is returned.
func Walk(m Memory, l Layout, xa uint64, max int, fn func(index, entry uint64) error) error {
	if l.ChunkShift == 0 || l.ChunkShift > 8 {
		return fmt.Errorf("xarray: bad chunk shift %d", l.ChunkShift)
	}
	head, err := read64(m, xa+l.Head)
	if err != nil {
		return fmt.Errorf("xarray at %#x: cannot read xa_head: %v", xa, err)
	}
	w := &walker{m: m, l: l, max: max, fn: fn, seen: map[uint64]bool{}}
	switch {
	case head == 0:
		return nil
	case isNode(head):
		return w.node(head-2, 0, -1, 0)
	case isInternal(head):
		return fmt.Errorf("xarray at %#x: xa_head %#x is an internal entry, not a node", xa, head)
	}
	return w.entry(0, head)
}

type walker struct {
	m     Memory
	l     Layout
	max   int
	n     int
	fn    func(index, entry uint64) error
	seen  map[uint64]bool
	slots []byte
}

func (w *walker) entry(index, e uint64) error {
	if w.n >= w.max {
		return fmt.Errorf("xarray: more than %d entries", w.max)
	}
	w.n++
	return w.fn(index, e)
}

// node walks the xa_node at addr, whose first index is base; parentShift
// is its parent's shift (-1 for the root node).
func (w *walker) node(addr, base uint64, parentShift int, depth int) error {
	if depth >= MaxDepth {
		return fmt.Errorf("xarray: node %#x: deeper than %d levels", addr, MaxDepth)
	}
	if w.seen[addr] {
		return fmt.Errorf("xarray: node %#x seen twice (a cycle)", addr)
	}
	if len(w.seen) >= maxNodes {
		return fmt.Errorf("xarray: more than %d nodes", maxNodes)
	}
	w.seen[addr] = true
	var sb [1]byte
	if _, err := w.m.ReadAt(sb[:], addr+w.l.NodeShift); err != nil {
		return fmt.Errorf("xarray: cannot read node %#x: %v", addr, err)
	}
	shift := int(sb[0])
	cs := int(w.l.ChunkShift)
	if shift%cs != 0 || shift >= 64 || parentShift >= 0 && shift != parentShift-cs {
		return fmt.Errorf("xarray: node %#x has shift %d under a node of shift %d", addr, shift, parentShift)
	}
	n := 1 << w.l.ChunkShift
	buf := make([]byte, 8*n)
	if _, err := w.m.ReadAt(buf, addr+w.l.NodeSlots); err != nil {
		return fmt.Errorf("xarray: cannot read the slots of node %#x: %v", addr, err)
	}
	for i := 0; i < n; i++ {
		e := binary.LittleEndian.Uint64(buf[8*i:])
		if e == 0 {
			continue
		}
		index := base + uint64(i)<<uint(shift)
		if isNode(e) {
			if shift == 0 {
				return fmt.Errorf("xarray: node %#x (shift 0) slot %d points to a node", addr, i)
			}
			if err := w.node(e-2, index, shift, depth+1); err != nil {
				return err
			}
			continue
		}
		if isInternal(e) {
			continue // sibling, retry or zero entry
		}
		if err := w.entry(index, e); err != nil {
			return err
		}
	}
	return nil
}

func read64(m Memory, addr uint64) (uint64, error) {
	var b [8]byte
	if _, err := m.ReadAt(b[:], addr); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b[:]), nil
}
