package search

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"

	"kdive/internal/arch/amd64"
)

// fakePhys is physical memory of n pages; missing pages fail to read.
type fakePhys struct {
	pages   map[uint64][]byte
	missing map[uint64]bool
}

func newFake(n int) *fakePhys {
	f := &fakePhys{pages: map[uint64][]byte{}, missing: map[uint64]bool{}}
	for i := 0; i < n; i++ {
		f.pages[uint64(i)*PageSize] = make([]byte, PageSize)
	}
	return f
}

func (f *fakePhys) read(b []byte, pa uint64) error {
	pg, ok := f.pages[pa]
	if !ok || f.missing[pa] {
		return errors.New("excluded")
	}
	copy(b, pg)
	return nil
}

func (f *fakePhys) put(addr uint64, b []byte) {
	for i, c := range b {
		a := addr + uint64(i)
		f.pages[a&^(PageSize-1)][a%PageSize] = c
	}
}

func (f *fakePhys) put64(addr, v uint64) {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], v)
	f.put(addr, b[:])
}

func run(t *testing.T, f *fakePhys, q *Query, start, end uint64, workers int) []string {
	t.Helper()
	var out []string
	s := &Scanner{Q: q, Read: f.read, Workers: workers, Batch: 3}
	s.Scan(Linear(start, end, 0), func(m Match) {
		if q.Mode == Chars {
			out = append(out, fmt.Sprintf("%x:%d:%s", m.Addr, m.Index, m.Text))
		} else {
			out = append(out, fmt.Sprintf("%x:%d:%x", m.Addr, m.Index, m.Value))
		}
	})
	return out
}

func TestValues(t *testing.T) {
	f := newFake(8)
	f.put64(0x10, 0xdeadbeef)
	f.put64(0x2ff8, 0x12345678deadbe00)
	f.put64(0x5000, 0xdeadbeef)
	f.put64(0x7ff8, 0xdeadbeef)
	f.missing[0x5000] = true // skipped silently
	for _, w := range []int{1, 4} {
		got := run(t, f, &Query{Mode: Ulong, Values: []uint64{0xdeadbeef}}, 0, 8*PageSize, w)
		if want := "10:0:deadbeef 7ff8:0:deadbeef"; strings.Join(got, " ") != want {
			t.Errorf("workers %d: %v, want %s", w, got, want)
		}
	}
	// Mask ignores the low byte; two values, reported by address then value.
	got := run(t, f, &Query{Mode: Ulong, Values: []uint64{0xdeadbeef, 0xdeadbe00}, Mask: 0xff}, 0, 8*PageSize, 2)
	if want := "10:0:deadbeef 10:1:deadbeef 7ff8:0:deadbeef 7ff8:1:deadbeef"; strings.Join(got, " ") != want {
		t.Errorf("mask: %v", got)
	}
	// 32-bit items: both halves of each long.
	got = run(t, f, &Query{Mode: Uint, Values: []uint64{0xdeadbe00}}, 0, 8*PageSize, 2)
	if want := "2ff8:0:deadbe00"; strings.Join(got, " ") != want {
		t.Errorf("uint: %v", got)
	}
	got = run(t, f, &Query{Mode: Ushort, Values: []uint64{0x1234}}, 0, 8*PageSize, 2)
	if want := "2ffe:0:1234"; strings.Join(got, " ") != want {
		t.Errorf("ushort: %v", got)
	}
	// A range that ends inside a page stops at the last whole long.
	got = run(t, f, &Query{Mode: Ulong, Values: []uint64{0xdeadbeef}}, 0x8, 0x17, 1)
	if len(got) != 0 {
		t.Errorf("partial long matched: %v", got)
	}
	got = run(t, f, &Query{Mode: Ulong, Values: []uint64{0xdeadbeef}}, 0x8, 0x18, 1)
	if strings.Join(got, " ") != "10:0:deadbeef" {
		t.Errorf("range: %v", got)
	}
}

func TestStrings(t *testing.T) {
	f := newFake(4)
	f.put(0x100, []byte("hello world"))
	f.put(0xffc, []byte("hello there")) // crosses into page 1
	f.put(0x2ffe, []byte("hello"))      // page 3 is missing: no cross match
	f.missing[0x3000] = true
	f.put(0x2000, []byte("worldhello"))
	got := run(t, f, &Query{Mode: Chars, Strings: [][]byte{[]byte("hello"), []byte("world")}}, 0, 4*PageSize, 3)
	want := []string{
		"100:0:hello world" + strings.Repeat("\x00", CharsContext-11),
		"106:1:world" + strings.Repeat("\x00", CharsContext-5),
		"ffc:0:hello there" + strings.Repeat("\x00", CharsContext-11),
		"2000:1:worldhello" + strings.Repeat("\x00", CharsContext-10),
		"2005:0:hello" + strings.Repeat("\x00", CharsContext-5),
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
	// A match near the end of the range shows only what is left of it.
	got = run(t, f, &Query{Mode: Chars, Strings: [][]byte{[]byte("hello")}}, 0x100, 0x110, 1)
	if len(got) != 1 || got[0] != "100:0:hello world\x00\x00\x00\x00\x00" {
		t.Errorf("short range: %q", got)
	}
}

// ReadPhysAt reads within one page (the page-table walker's 8-byte reads).
func (f *fakePhys) ReadPhysAt(b []byte, pa uint64) (int, error) {
	pg, ok := f.pages[pa&^(PageSize-1)]
	if !ok {
		return 0, errors.New("not present")
	}
	return copy(b, pg[pa%PageSize:]), nil
}

func TestWalkerHoles(t *testing.T) {
	// Page 0 is the top table; one PGD entry points at page 1 (a PUD
	// table) whose entry maps a 1 GiB page at physical 0x40000000.
	f := newFake(2)
	va := uint64(0xffff888000000000)
	pgdIdx := (va >> 39) & 511
	pudIdx := (va >> 30) & 511
	f.put64(pgdIdx*8, PageSize|1)
	f.put64(PageSize+pudIdx*8, 0x40000000|1<<7|1)
	w := Walker{W: &amd64.Walker{Mem: f, Root: 0}}
	next := w.Pages(0xffff800000000000, ^uint64(0)&^(PageSize-1))
	n := 0
	var first, last Page
	for {
		p, ok := next()
		if !ok {
			break
		}
		if n == 0 {
			first = p
		}
		last = p
		n++
	}
	if n != 1<<18 || first.Addr != va || first.Phys != 0x40000000 || last.Phys != 0x40000000+(1<<30)-PageSize {
		t.Errorf("%d pages, first %+v, last %+v", n, first, last)
	}
}
