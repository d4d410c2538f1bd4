package xarray

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
)

// fakeMem is sparse memory: 8-byte words at addresses.
type fakeMem map[uint64]byte

func (f fakeMem) ReadAt(b []byte, addr uint64) (int, error) {
	for i := range b {
		v, ok := f[addr+uint64(i)]
		if !ok {
			return i, fmt.Errorf("unmapped %#x", addr+uint64(i))
		}
		b[i] = v
	}
	return len(b), nil
}

func (f fakeMem) put64(addr, v uint64) {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], v)
	for i := range b {
		f[addr+uint64(i)] = b[i]
	}
}

// node lays out an empty xa_node at addr with shift.
func (f fakeMem) node(addr uint64, shift byte) {
	for i := uint64(0); i < DefaultLayout.NodeSlots+8*64; i++ {
		f[addr+i] = 0
	}
	f[addr] = shift
}

func (f fakeMem) slot(node uint64, i int, v uint64) {
	f.put64(node+DefaultLayout.NodeSlots+8*uint64(i), v)
}

func collect(t *testing.T, m fakeMem, xa uint64, max int) (map[uint64]uint64, error) {
	t.Helper()
	got := map[uint64]uint64{}
	var last uint64
	first := true
	err := Walk(m, DefaultLayout, xa, max, func(i, e uint64) error {
		if !first && i <= last {
			t.Errorf("index %d after %d: not in order", i, last)
		}
		first, last = false, i
		got[i] = e
		return nil
	})
	return got, err
}

func TestWalk(t *testing.T) {
	const xa = 0x1000
	// Empty.
	m := fakeMem{}
	m.put64(xa, 0)
	m.put64(xa+8, 0)
	if got, err := collect(t, m, xa, 10); err != nil || len(got) != 0 {
		t.Errorf("empty: %v %v", got, err)
	}
	// A single entry at index 0 lives in xa_head.
	m.put64(xa+8, 0xffff888000001000)
	if got, err := collect(t, m, xa, 10); err != nil || len(got) != 1 || got[0] != 0xffff888000001000 {
		t.Errorf("head entry: %v %v", got, err)
	}
	// Two levels: root shift 6, children shift 0; a value entry, a
	// sibling and a retry entry (skipped).
	root, c0, c2 := uint64(0x10000), uint64(0x20000), uint64(0x30000)
	m.node(root, 6)
	m.node(c0, 0)
	m.node(c2, 0)
	m.put64(xa+8, root|2)
	m.slot(root, 0, c0|2)
	m.slot(root, 2, c2|2)
	m.slot(c0, 1, 0xffff888000002000)
	m.slot(c0, 63, 0x15) // value entry 10
	m.slot(c0, 5, 2)     // sibling of slot 0
	m.slot(c2, 3, 0xffff888000003000)
	m.slot(c2, 4, 256<<2|2) // retry
	got, err := collect(t, m, xa, 100)
	want := map[uint64]uint64{1: 0xffff888000002000, 63: 0x15, 2*64 + 3: 0xffff888000003000}
	if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("two levels: %v %v, want %v", got, err, want)
	}
	// The cap.
	if _, err := collect(t, m, xa, 2); err == nil || !strings.Contains(err.Error(), "more than 2 entries") {
		t.Errorf("cap: %v", err)
	}
	// A cycle: a child pointing back to the root.
	m.node(c2, 0)
	m[c2] = 0
	m.slot(root, 2, root|2)
	if _, err := collect(t, m, xa, 100); err == nil || !strings.Contains(err.Error(), "seen twice") {
		t.Errorf("cycle: %v", err)
	}
	// A wrong shift.
	m.slot(root, 2, c2|2)
	m[c2] = 12
	if _, err := collect(t, m, xa, 100); err == nil || !strings.Contains(err.Error(), "has shift 12 under a node of shift 6") {
		t.Errorf("shift: %v", err)
	}
	// An unreadable node.
	m.slot(root, 2, 0x990000|2)
	if _, err := collect(t, m, xa, 100); err == nil || !strings.Contains(err.Error(), "cannot read node 0x990000") {
		t.Errorf("unreadable: %v", err)
	}
}

// FuzzWalk: any bytes as the xarray and its nodes never make Walk panic
// or loop; seeded with a two-level tree like the pid IDR's.
func FuzzWalk(f *testing.F) {
	seed := make([]byte, 0x3000)
	binary.LittleEndian.PutUint64(seed[8:], 0x1000|2)
	seed[0x1000] = 6
	binary.LittleEndian.PutUint64(seed[0x1000+40:], 0x2000|2)
	binary.LittleEndian.PutUint64(seed[0x1000+48:], 0xffff888000001000)
	binary.LittleEndian.PutUint64(seed[0x2000+40+8:], 0xffff888000002000)
	f.Add(seed)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		m := sliceMem(data)
		n := 0
		Walk(m, DefaultLayout, 0, 1000, func(i, e uint64) error { n++; return nil })
		if n > 1000 {
			t.Fatalf("%d entries past the cap", n)
		}
	})
}

// sliceMem is memory at address 0.
type sliceMem []byte

func (s sliceMem) ReadAt(b []byte, addr uint64) (int, error) {
	if addr >= uint64(len(s)) || uint64(len(b)) > uint64(len(s))-addr {
		return 0, fmt.Errorf("unmapped %#x", addr)
	}
	return copy(b, s[addr:]), nil
}
