package mem

import (
	"errors"
	"fmt"
	"testing"

	"kdive/internal/arch/amd64"
)

type physPages map[uint64][]byte

func (p physPages) ReadPhysAt(b []byte, a uint64) (int, error) {
	pg, ok := p[a&^0xfff]
	if !ok {
		return 0, fmt.Errorf("physical %#x absent", a)
	}
	return copy(b, pg[a&0xfff:]), nil
}

func TestDirectMapReadAcrossPages(t *testing.T) {
	phys := physPages{0x1000: make([]byte, 4096), 0x2000: make([]byte, 4096)}
	phys[0x1000][4095] = 0xaa
	phys[0x2000][0] = 0xbb
	const po = 0xffff888000000000
	m := New(phys, &amd64.Walker{Mem: phys}, po, 1<<46)
	b := make([]byte, 2)
	if _, err := m.ReadAt(b, po+0x1fff); err != nil || b[0] != 0xaa || b[1] != 0xbb {
		t.Fatalf("read across pages: %x %v", b, err)
	}
	// Past the end of what the dump holds: a FaultError naming the
	// first unreadable virtual address, after the bytes that were read.
	n, err := m.ReadAt(make([]byte, 8), po+0x2ffc)
	var fe *FaultError
	if !errors.As(err, &fe) || fe.Addr != po+0x3000 || n != 4 {
		t.Fatalf("n=%d err=%v", n, err)
	}
}

func TestPageWalkAndCache(t *testing.T) {
	phys := physPages{}
	set := func(table, idx, val uint64) {
		if phys[table] == nil {
			phys[table] = make([]byte, 4096)
		}
		for i := 0; i < 8; i++ {
			phys[table][idx*8+uint64(i)] = byte(val >> (8 * i))
		}
	}
	v := uint64(0xffffc90000001000)
	set(0x1000, v>>39&511, 0x2000|1)
	set(0x2000, v>>30&511, 0x3000|1)
	set(0x3000, v>>21&511, 0x4000|1)
	set(0x4000, v>>12&511, 0x9000|1)
	phys[0x9000] = make([]byte, 4096)
	phys[0x9000][8] = 42
	m := New(phys, &amd64.Walker{Mem: phys, Root: 0x1000}, 0xffff888000000000, 1<<46)
	b := make([]byte, 1)
	if _, err := m.ReadAt(b, v+8); err != nil || b[0] != 42 {
		t.Fatalf("%v %v", b, err)
	}
	// Cached: the page stays readable even if the table changes.
	phys[0x9000][8] = 43
	m.ReadAt(b, v+8)
	if b[0] != 42 {
		t.Fatal("page cache not used")
	}
	m.NoCache = true // live kernel: always re-read
	m.ReadAt(b, v+8)
	if b[0] != 43 {
		t.Fatal("NoCache read a stale page")
	}
	_, err := m.ReadAt(b, v+0x1000)
	var fe *FaultError
	if !errors.As(err, &fe) || fe.Addr != v+0x1000 {
		t.Fatalf("unmapped page: %v", err)
	}
}
