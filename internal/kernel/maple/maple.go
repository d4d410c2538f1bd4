// Package maple walks the kernel's maple tree (lib/maple_tree.c), the
// range tree that holds a process's VMAs since 6.1 (kernel commit
// d4af56c5c7c6 "mm: start tracking VMAs with maple tree").
//
// A tree (struct maple_tree) has ma_root: either a single entry for
// index 0, or an encoded node pointer: the 256-byte-aligned struct
// maple_node address in the bits above MAPLE_NODE_MASK (0xff), the node
// type (enum maple_type) in bits 3-6, and bit 1 set (an xarray "internal"
// entry above 4096). Nodes are dense (31 slots, one index each), leaf_64
// and range_64 (15 pivots, 16 slots) or arange_64 (9 pivots, 10 slots and
// 10 gaps). Slot i of a range node covers the indexes from the previous
// pivot + 1 up to pivot[i]; the last slot ends at the node's maximum; a
// zero pivot after the first ends the node's data. Leaves (dense and
// leaf_64) hold the entries, the others child nodes.
//
// Every walk is bounded: a depth cap, a node count cap and a check that
// no node is visited twice (a loop in a corrupt tree is an error naming
// the node, never a hang).
package maple

import (
	"encoding/binary"
	"fmt"
)

// Node types (enum maple_type).
const (
	Dense    = 0
	Leaf64   = 1
	Range64  = 2
	ARange64 = 3
)

// Encoding of node pointers (include/linux/maple_tree.h).
const (
	NodeMask      = 0xff // MAPLE_NODE_MASK
	nodeTypeShift = 3    // MAPLE_NODE_TYPE_SHIFT
	nodeTypeMask  = 0x0f // MAPLE_NODE_TYPE_MASK
	reservedRange = 4096 // MAPLE_RESERVED_RANGE
)

// Caps.
const (
	MaxDepth = 32      // the kernel's trees are at most 31 high (MAPLE_HEIGHT_MAX)
	MaxNodes = 1 << 20 // nodes visited in one walk
)

// Reader reads memory; *program.Program satisfies it.
type Reader interface {
	ReadAt(b []byte, addr uint64) (int, error)
}

// Layout is where struct maple_node keeps its parts (from the dump's
// types: maple_node.slot, maple_range_64.pivot/slot, maple_arange_64
// .pivot/slot, each relative to the node's start).
type Layout struct {
	NodeSize            uint64 // sizeof(struct maple_node)
	DenseSlot           uint64 // offset of maple_node.slot
	DenseSlots          int    // MAPLE_NODE_SLOTS
	R64Pivot, R64Slot   uint64 // maple_range_64 (at mr64)
	R64Slots            int    // MAPLE_RANGE64_SLOTS
	AR64Pivot, AR64Slot uint64 // maple_arange_64 (at ma64)
	AR64Slots           int    // MAPLE_ARANGE64_SLOTS
}

// DefaultLayout is 6.1's on 64-bit machines.
var DefaultLayout = Layout{
	NodeSize: 256, DenseSlot: 8, DenseSlots: 31,
	R64Pivot: 8, R64Slot: 128, R64Slots: 16,
	AR64Pivot: 8, AR64Slot: 80, AR64Slots: 10,
}

// Entry is one stored value and the range of indexes it covers.
type Entry struct {
	First, Last uint64
	Value       uint64
}

// IsNode is xa_is_node: an internal entry above the reserved range.
func IsNode(e uint64) bool { return e&3 == 2 && e > reservedRange }

// NodeAddr is mte_to_node: the struct maple_node of an encoded pointer.
func NodeAddr(e uint64) uint64 { return e &^ NodeMask }

// NodeType is mte_node_type.
func NodeType(e uint64) int { return int(e>>nodeTypeShift) & nodeTypeMask }

// IsInternal reports a reserved internal entry (XA_ZERO_ENTRY, retry
// entries) that is not a stored pointer.
func IsInternal(e uint64) bool { return e&3 == 2 && e < reservedRange }

func maxOf(typ int, l Layout) uint64 {
	if typ == Dense {
		return uint64(l.DenseSlots)
	}
	return ^uint64(0)
}

type walker struct {
	r     Reader
	l     Layout
	seen  map[uint64]bool
	out   []Entry
	limit int
}

// Walk returns the non-empty entries of the tree whose ma_root is root,
// in index order, at most limit of them (limit <= 0: no limit other than
// MaxNodes). A loop, a node that cannot be read, an unknown node type or
// pivots out of order end the walk with an error naming the node; the
// entries found before it are returned with it.
func Walk(r Reader, l Layout, root uint64, limit int) ([]Entry, error) {
	if l.NodeSize == 0 || l.NodeSize > 4096 {
		return nil, fmt.Errorf("maple: node size %d out of range", l.NodeSize)
	}
	w := &walker{r: r, l: l, seen: map[uint64]bool{}, limit: limit}
	if !IsNode(root) {
		if root != 0 {
			w.out = append(w.out, Entry{0, 0, root})
		}
		return w.out, nil
	}
	err := w.node(root, 0, maxOf(NodeType(root), l), 0)
	return w.out, err
}

func (w *walker) full() bool { return w.limit > 0 && len(w.out) >= w.limit }

func (w *walker) node(enode, min, max uint64, depth int) error {
	addr := NodeAddr(enode)
	typ := NodeType(enode)
	if depth >= MaxDepth {
		return fmt.Errorf("maple: node %#x: tree deeper than %d levels", addr, MaxDepth)
	}
	if w.seen[addr] {
		return fmt.Errorf("maple: node %#x visited twice: the tree has a loop", addr)
	}
	if len(w.seen) >= MaxNodes {
		return fmt.Errorf("maple: more than %d nodes at %#x", MaxNodes, addr)
	}
	w.seen[addr] = true
	buf := make([]byte, w.l.NodeSize)
	if _, err := w.r.ReadAt(buf, addr); err != nil {
		return fmt.Errorf("maple: node %#x: %w", addr, err)
	}
	u64 := func(off uint64) uint64 {
		if off+8 > uint64(len(buf)) {
			return 0
		}
		return binary.LittleEndian.Uint64(buf[off:])
	}
	switch typ {
	case Dense:
		for i := 0; i < w.l.DenseSlots && !w.full(); i++ {
			idx := min + uint64(i)
			if idx > max {
				break
			}
			if v := u64(w.l.DenseSlot + 8*uint64(i)); v != 0 {
				w.out = append(w.out, Entry{idx, idx, v})
			}
		}
		return nil
	case Leaf64, Range64, ARange64:
	default:
		return fmt.Errorf("maple: node %#x: unknown node type %d", addr, typ)
	}
	pivOff, slotOff, nslots := w.l.R64Pivot, w.l.R64Slot, w.l.R64Slots
	if typ == ARange64 {
		pivOff, slotOff, nslots = w.l.AR64Pivot, w.l.AR64Slot, w.l.AR64Slots
	}
	leaf := typ < Range64
	first := min
	for i := 0; i < nslots && !w.full(); i++ {
		slot := u64(slotOff + 8*uint64(i))
		last := max
		if i < nslots-1 {
			last = u64(pivOff + 8*uint64(i))
		} else if slot == 0 && (typ == ARange64 || max != maxOf(typ, w.l)) {
			break
		}
		if last == 0 && i > 0 {
			break
		}
		if last < first {
			return fmt.Errorf("maple: node %#x: pivot %d (%#x) below the range start %#x", addr, i, last, first)
		}
		if last > max {
			return fmt.Errorf("maple: node %#x: pivot %d (%#x) above the node's maximum %#x", addr, i, last, max)
		}
		if leaf {
			if slot != 0 {
				w.out = append(w.out, Entry{first, last, slot})
			}
		} else if slot != 0 {
			// A child is mt_mk_node's encoding: the node, its type
			// and MAPLE_ENODE_NULL (bit 2); only the root also has
			// the xarray internal bit (mt_mk_root).
			if NodeAddr(slot) < reservedRange {
				return fmt.Errorf("maple: node %#x: slot %d (%#x) is not a node pointer", addr, i, slot)
			}
			if err := w.node(slot, first, last, depth+1); err != nil {
				return err
			}
		}
		if last == max {
			break
		}
		first = last + 1
	}
	return nil
}
