package amd64

import (
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
)

// fakePhys is sparse physical memory made of 4 KiB tables.
type fakePhys map[uint64][]byte

func (f fakePhys) ReadPhysAt(p []byte, addr uint64) (int, error) {
	pg, ok := f[addr&^0xfff]
	if !ok {
		return 0, fmt.Errorf("no page %#x", addr)
	}
	return copy(p, pg[addr&0xfff:]), nil
}

func (f fakePhys) set(table, idx, val uint64) {
	if f[table] == nil {
		f[table] = make([]byte, 4096)
	}
	binary.LittleEndian.PutUint64(f[table][idx*8:], val)
}

func idx(v uint64, shift uint) uint64 { return v >> shift & 511 }

func TestWalk4Level(t *testing.T) {
	m := fakePhys{}
	const root, pud, pmd, pte = 0x1000, 0x2000, 0x3000, 0x4000
	v4k := uint64(0xffffc90000123456)
	m.set(root, idx(v4k, 39), pud|3)
	m.set(pud, idx(v4k, 30), pmd|3)
	m.set(pmd, idx(v4k, 21), pte|3)
	m.set(pte, idx(v4k, 12), 0x8000000000abc000|3) // NX bit set
	v2m := uint64(0xffffc90000423456)
	m.set(pmd, idx(v2m, 21), 0x40000000|ptePSE|3)
	v1g := uint64(0xffff888040000123)
	m.set(root, idx(v1g, 39), 0x5000|3)
	m.set(0x5000, idx(v1g, 30), 0x80000000|ptePSE|3)
	w := &Walker{Mem: m, Root: root}
	for _, c := range []struct{ v, pa, size uint64 }{
		{v4k, 0xabc456, 4096},
		{v2m, 0x40000000 | v2m&(1<<21-1), 1 << 21},
		{v1g, 0x80000123, 1 << 30},
	} {
		pa, size, err := w.Translate(c.v)
		if err != nil || pa != c.pa || size != c.size {
			t.Errorf("Translate(%#x) = %#x, %#x, %v; want %#x, %#x", c.v, pa, size, err, c.pa, c.size)
		}
	}
	_, _, err := w.Translate(0xffffc90000124000) // PTE not present
	var te *TranslateError
	if !errors.As(err, &te) || te.Level != "PTE" || te.Addr != 0xffffc90000124000 {
		t.Errorf("unmapped: %v", err)
	}
	if _, _, err := w.Translate(0xffffea0000000000); err == nil { // PGD entry absent
		t.Error("absent PGD entry translated")
	}
}

func TestWalk5Level(t *testing.T) {
	m := fakePhys{}
	v := uint64(0xff11000000201000)
	m.set(0x1000, idx(v, 48), 0x2000|3)
	m.set(0x2000, idx(v, 39), 0x3000|3)
	m.set(0x3000, idx(v, 30), 0x4000|3)
	m.set(0x4000, idx(v, 21), 0x5000|3)
	m.set(0x5000, idx(v, 12), 0x77000|3)
	w := &Walker{Mem: m, Root: 0x1000, Level5: true}
	pa, _, steps, err := w.Walk(v)
	if err != nil || pa != 0x77000 || len(steps) != 5 || steps[0].Level != "PML5" {
		t.Fatalf("5-level walk: %#x %v %+v", pa, err, steps)
	}
	w.Level5 = false
	if pa, _, err := w.Translate(v); err == nil && pa == 0x77000 {
		t.Fatal("4-level walk of a 5-level table gave the same answer")
	}
}

func TestUnreadableTable(t *testing.T) {
	w := &Walker{Mem: fakePhys{}, Root: 0x1000}
	if _, _, err := w.Translate(0xffffffff81000000); err == nil {
		t.Fatal("walk through missing memory succeeded")
	}
}

func TestCanonical(t *testing.T) {
	if !Canonical(0xffff888000000000, false) || Canonical(0x0000900000000000, false) || !Canonical(0xff11000000000000, true) {
		t.Fatal("canonical")
	}
}
