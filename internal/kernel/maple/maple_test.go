package maple

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
)

// mem is a sparse fake memory of 256-byte nodes.
type mem map[uint64][]byte

func (m mem) ReadAt(b []byte, addr uint64) (int, error) {
	base := addr &^ 0xff
	n, ok := m[base]
	if !ok || addr-base+uint64(len(b)) > uint64(len(n)) {
		return 0, fmt.Errorf("%#x: not mapped", addr)
	}
	copy(b, n[addr-base:])
	return len(b), nil
}

func (m mem) node(addr uint64) []byte {
	b := make([]byte, 256)
	m[addr] = b
	return b
}

// enc is mt_mk_node (a child pointer); root is mt_mk_root's.
func enc(addr uint64, typ int) uint64     { return addr | uint64(typ)<<3 | 4 }
func rootEnc(addr uint64, typ int) uint64 { return enc(addr, typ) | 2 }

func put(b []byte, off uint64, v uint64) { binary.LittleEndian.PutUint64(b[off:], v) }

// A two-level tree as the kernel builds it for an mm: an arange_64 root
// with two leaf_64 children covering [0, 0x5fff] and [0x6000, ULONG_MAX].
func twoLevel() (mem, uint64) {
	m := mem{}
	l := DefaultLayout
	root := m.node(0x10000)
	put(root, l.AR64Pivot, 0x5fff)
	put(root, l.AR64Slot, enc(0x20000, Leaf64))
	put(root, l.AR64Slot+8, enc(0x30000, Leaf64))
	put(root, l.AR64Pivot+8, ^uint64(0)) // the last used slot ends at the node's maximum
	a := m.node(0x20000)
	// [0,0xfff] empty, [0x1000,0x1fff] A, [0x2000,0x3fff] empty, [0x4000,0x5fff] B
	put(a, l.R64Pivot, 0xfff)
	put(a, l.R64Pivot+8, 0x1fff)
	put(a, l.R64Slot+8, 0xaaaa0000)
	put(a, l.R64Pivot+16, 0x3fff)
	put(a, l.R64Pivot+24, 0x5fff)
	put(a, l.R64Slot+24, 0xbbbb0000)
	b := m.node(0x30000)
	put(b, l.R64Pivot, 0x7fff)
	put(b, l.R64Slot, 0xcccc0000)
	put(b, l.R64Pivot+8, ^uint64(0))
	return m, rootEnc(0x10000, ARange64)
}

func TestWalkTwoLevels(t *testing.T) {
	m, root := twoLevel()
	got, err := Walk(m, DefaultLayout, root, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{{0x1000, 0x1fff, 0xaaaa0000}, {0x4000, 0x5fff, 0xbbbb0000}, {0x6000, 0x7fff, 0xcccc0000}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %x\nwant %x", got, want)
	}
	if got, _ := Walk(m, DefaultLayout, root, 2); len(got) != 2 {
		t.Errorf("limit 2: %d entries", len(got))
	}
}

func TestWalkRootEntry(t *testing.T) {
	got, err := Walk(mem{}, DefaultLayout, 0xffff888000001000, 0)
	if err != nil || len(got) != 1 || got[0].Value != 0xffff888000001000 {
		t.Errorf("%v %v", got, err)
	}
	if got, err := Walk(mem{}, DefaultLayout, 0, 0); err != nil || len(got) != 0 {
		t.Errorf("empty: %v %v", got, err)
	}
}

func TestWalkDense(t *testing.T) {
	m := mem{}
	n := m.node(0x40000)
	put(n, DefaultLayout.DenseSlot+3*8, 0x1234000)
	got, err := Walk(m, DefaultLayout, rootEnc(0x40000, Dense), 0)
	if err != nil || len(got) != 1 || got[0].First != 3 {
		t.Errorf("%v %v", got, err)
	}
}

// Corrupt trees: a child pointing back to the root, an unreadable node, an
// unknown node type, pivots out of order. Each is an error naming the node.
func TestWalkCorrupt(t *testing.T) {
	l := DefaultLayout
	for _, c := range []struct {
		name string
		fix  func(m mem)
		want string
	}{
		{"loop", func(m mem) { put(m[0x10000], l.AR64Slot+8, enc(0x10000, ARange64)) }, "0x10000 visited twice"},
		{"unreadable", func(m mem) { delete(m, 0x30000) }, "node 0x30000: 0x30000: not mapped"},
		{"type", func(m mem) { put(m[0x10000], l.AR64Slot, 0x20000|7<<3|4) }, "node 0x20000: unknown node type 7"},
		{"order", func(m mem) { put(m[0x20000], l.R64Pivot+8, 0x10) }, "node 0x20000: pivot 1 (0x10) below"},
		{"above", func(m mem) { put(m[0x20000], l.R64Pivot+24, 0x9000) }, "node 0x20000: pivot 3 (0x9000) above"},
		{"not a node", func(m mem) { put(m[0x10000], l.AR64Slot, 0xc) }, "slot 0 (0xc) is not a node pointer"},
	} {
		m, root := twoLevel()
		c.fix(m)
		_, err := Walk(m, l, root, 0)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

// FuzzWalk: any memory and root either walks or fails, within the caps.
func FuzzWalk(f *testing.F) {
	m, root := twoLevel()
	var seed []byte
	for _, a := range []uint64{0x10000, 0x20000, 0x30000} {
		seed = append(seed, m[a]...)
	}
	f.Add(seed, root, 0)
	f.Add(seed, uint64(0x10000|3<<3|6), 2)
	f.Fuzz(func(t *testing.T, data []byte, root uint64, limit int) {
		m := mem{}
		for i := 0; i*256 < len(data) && i < 64; i++ {
			b := make([]byte, 256)
			copy(b, data[i*256:])
			m[0x10000+uint64(i)*0x10000] = b
		}
		got, _ := Walk(m, DefaultLayout, root, limit)
		if limit > 0 && len(got) > limit {
			t.Fatalf("%d entries over limit %d", len(got), limit)
		}
		for i := 1; i < len(got); i++ {
			if got[i].First <= got[i-1].Last && got[i-1].First != got[i-1].Last {
				t.Fatalf("entries out of order: %x", got)
			}
		}
	})
}
