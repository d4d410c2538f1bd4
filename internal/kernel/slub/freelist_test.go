package slub

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"strings"
	"testing"
)

// A slab of 8 objects of 64 bytes at 0x1000 with the free pointer at 32,
// hardened as 6.1 hardens it (the random value is kmalloc-64's on the
// corpus's oops-proc dump).
func testGeom() Geometry {
	return Geometry{Slab: 0xfffff6ce80645900, Base: 0x1000, Size: 64, Objects: 8, Offset: 32,
		Hardened: true, Random: 0x5fd0e3e1b5f8a2c4, Swab: true}
}

type memMap map[uint64]uint64

func (m memMap) read(a uint64) (uint64, error) {
	v, ok := m[a]
	if !ok {
		return 0, fmt.Errorf("no memory at %x", a)
	}
	return v, nil
}

// encode links objects idx (in order) into a hardened freelist and
// returns the head pointer; every object's slot is written.
func encode(g Geometry, m memMap, idx []int) uint64 {
	for i := 0; i < g.Objects; i++ {
		at := g.Object(i) + g.Offset
		if _, ok := m[at]; !ok {
			m[at] = 0 ^ g.Random ^ bits.ReverseBytes64(at) // NULL, encoded
		}
	}
	var head uint64
	for k := len(idx) - 1; k >= 0; k-- {
		at := g.Object(idx[k]) + g.Offset
		m[at] = head ^ g.Random ^ bits.ReverseBytes64(at)
		head = g.Object(idx[k])
	}
	return head
}

func TestWalkHardened(t *testing.T) {
	g := testGeom()
	m := memMap{}
	head := encode(g, m, []int{3, 0, 7, 5})
	seen := make([]bool, g.Objects)
	got, err := g.Walk(m.read, head, 0x9000, seen)
	if err != nil || fmt.Sprint(got) != "[3 0 7 5]" {
		t.Fatalf("walk = %v, %v", got, err)
	}
	// Without the byte swap (kernels before 5.7) the same slots decode to
	// garbage: the walk must say so, not follow it.
	g2 := g
	g2.Swab = false
	if _, err := g2.Walk(m.read, head, 0x9000, make([]bool, g.Objects)); err == nil {
		t.Fatal("wrong decoding followed")
	}
}

func TestWalkCorrupt(t *testing.T) {
	g := testGeom()
	slot := func(i int) uint64 { return g.Object(i) + g.Offset }
	enc := func(p, at uint64) uint64 { return p ^ g.Random ^ bits.ReverseBytes64(at) }
	for _, tc := range []struct {
		name   string
		mutate func(m memMap)
		at     uint64
		why    string
	}{
		{"outside", func(m memMap) { m[slot(0)] = enc(0x5000, slot(0)) }, slot(0), "outside the slab"},
		{"misaligned", func(m memMap) { m[slot(0)] = enc(g.Object(6)+8, slot(0)) }, slot(0), "not at the start of an object"},
		{"cycle", func(m memMap) { m[slot(5)] = enc(g.Object(3), slot(5)) }, slot(5), "twice (a cycle)"},
		{"unreadable", func(m memMap) { delete(m, slot(7)) }, slot(7), "cannot read the free pointer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := memMap{}
			head := encode(g, m, []int{3, 0, 7, 5})
			tc.mutate(m)
			_, err := g.Walk(m.read, head, 0x9000, make([]bool, g.Objects))
			var ce *CorruptError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v", err)
			}
			want := fmt.Sprintf("freelist of slab %x is corrupt at %x: ", g.Slab, tc.at)
			if tc.name == "unreadable" {
				want = fmt.Sprintf("freelist of slab %x cannot be followed at %x: ", g.Slab, tc.at)
			}
			if !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), tc.why) {
				t.Errorf("err = %q, want %q...%q", err, want, tc.why)
			}
		})
	}
	// A bad head is named at the head's address.
	m := memMap{}
	encode(g, m, nil)
	_, err := g.Walk(m.read, 0xdead, 0x9000, make([]bool, g.Objects))
	if err == nil || !strings.Contains(err.Error(), "corrupt at 9000: pointer dead") {
		t.Errorf("bad head: %v", err)
	}
	// An object on both lists of a slab (slab freelist and CPU freelist).
	m = memMap{}
	h1 := encode(g, m, []int{1, 2})
	seen := make([]bool, g.Objects)
	if _, err := g.Walk(m.read, h1, 0x9000, seen); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Walk(m.read, g.Object(2), 0x9100, seen); err == nil || !strings.Contains(err.Error(), "corrupt at 9100") {
		t.Errorf("object on two lists: %v", err)
	}
}

// Any memory and geometry: the walk ends within Objects steps, returns
// only distinct objects of the slab, and never panics.
func FuzzWalk(f *testing.F) {
	g := testGeom()
	m := memMap{}
	head := encode(g, m, []int{3, 0, 7, 5})
	seed := make([]byte, 8*64)
	for a, v := range m {
		if i := a - g.Base; i+8 <= uint64(len(seed)) {
			binary.LittleEndian.PutUint64(seed[i:], v)
		}
	}
	f.Add(seed, head, uint64(64), uint64(32), uint8(8), g.Random, true)
	f.Add([]byte{}, uint64(0), uint64(0), uint64(0), uint8(0), uint64(0), false)
	f.Fuzz(func(t *testing.T, mem []byte, head, size, offset uint64, objects uint8, random uint64, hardened bool) {
		g := Geometry{Slab: 1, Base: 0x1000, Size: size, Objects: int(objects), Offset: offset, Hardened: hardened, Random: random, Swab: true}
		read := func(a uint64) (uint64, error) {
			if a < g.Base || a-g.Base+8 > uint64(len(mem)) || a-g.Base > uint64(len(mem)) {
				return 0, errors.New("no memory")
			}
			return binary.LittleEndian.Uint64(mem[a-g.Base:]), nil
		}
		seen := make([]bool, g.Objects)
		got, _ := g.Walk(read, head, 0x9000, seen)
		if len(got) > g.Objects {
			t.Fatalf("%d objects of %d", len(got), g.Objects)
		}
		dup := map[int]bool{}
		for _, i := range got {
			if dup[i] || i < 0 || i >= g.Objects {
				t.Fatalf("object %d repeated or outside", i)
			}
			dup[i] = true
		}
	})
}
