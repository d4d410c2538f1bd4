package mm

import (
	"encoding/binary"
	"errors"
	"hash/fnv"
	"testing"

	"kdive/internal/kernel/fs"
)

// fakeMem is one region of memory at base, symbols at fixed places in
// it, and members at offsets hashed from their names (small, 8-aligned).
type fakeMem struct {
	base uint64
	data []byte
}

func (m *fakeMem) ReadAt(b []byte, addr uint64) (int, error) {
	if addr < m.base || addr-m.base > uint64(len(m.data)) || addr-m.base+uint64(len(b)) > uint64(len(m.data)) {
		return 0, errors.New("not mapped")
	}
	copy(b, m.data[addr-m.base:])
	return len(b), nil
}

func h(s string, mod uint64) uint64 {
	f := fnv.New64a()
	f.Write([]byte(s))
	return f.Sum64() % mod
}

func (m *fakeMem) Symbol(name string) (uint64, error) { return m.base + h(name, 64)*8, nil }
func (m *fakeMem) MemberOffset(typ, member string) (uint64, error) {
	return h(typ+"."+member, 32) * 8, nil
}
func (m *fakeMem) MemberSize(typ, member string) (uint64, error) { return 8 * (1 + h(member, 16)), nil }
func (m *fakeMem) TypeSize(typ string) (uint64, error)           { return 64 * (1 + h(typ, 8)), nil }
func (m *fakeMem) VMCOREINFO(key string) (string, bool)          { return "", false }

func fuzzSeeds(f *testing.F) {
	seed := make([]byte, 4096)
	for i := 0; i < len(seed); i += 8 {
		binary.LittleEndian.PutUint64(seed[i:], 0x10000+uint64(i*7%4096))
	}
	f.Add(seed, uint64(0x10100))
	f.Add(make([]byte, 512), uint64(0x10000))
}

func fakeEnums(string) []Enumerator {
	return []Enumerator{{"NR_FREE_PAGES", 0}, {"NR_VM_ZONE_STAT_ITEMS", 3}, {"NR_FILE_PAGES", 1}, {"WMARK_LOW", 1}}
}

// FuzzAddressSpace: an mm_struct, its maple tree, VMAs and their files on
// garbage memory: an answer or an error, bounded, never a panic.
func FuzzAddressSpace(f *testing.F) {
	fuzzSeeds(f)
	old := fs.MaxReads
	fs.MaxReads = 1 << 12 // a path on garbage: bounded, but not by 4M reads per VMA
	defer func() { fs.MaxReads = old }()
	f.Fuzz(func(t *testing.T, data []byte, mm uint64) {
		if len(data) > 1<<16 {
			return
		}
		ReadAddressSpace(&fakeMem{base: 0x10000, data: data}, mm, true)
	})
}

// FuzzMemory: zones, the memory summary, vmalloc areas and the memory map
// on garbage memory.
func FuzzMemory(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte, _ uint64) {
		if len(data) > 1<<16 {
			return
		}
		src := &fakeMem{base: 0x10000, data: data}
		zones, _ := Zones(src, fakeEnums)
		ReadMeminfo(src, fakeEnums, zones)
		VmapAreas(src)
		Nodes(src)
		MemoryBlocks(src)
		FreeAreas(src, zones)
		Hstates(src)
		if pg, err := NewPages(src, src); err == nil {
			pg.MaxPFN %= 1 << 12
			for pfn := uint64(0); pfn < 8; pfn++ {
				pg.Valid(pfn)
			}
			pg.ReadRange(0, 70)
			pg.Sections()
			FreeBlockOf(src, src, pg, zones, 5)
		}
	})
}
