package search

import (
	"encoding/binary"
	"errors"
	"testing"

	"kdive/internal/arch/amd64"
)

// fuzzMem is kernel memory made of fuzzed bytes: a window at base, the
// symbols at fixed places in it, fixed member offsets.
type fuzzMem struct {
	base uint64
	data []byte
}

const fuzzBase = 0xffff888000000000

var fuzzSyms = map[string]uint64{
	"high_memory": fuzzBase, "vmalloc_base": fuzzBase + 8, "vmap_area_list": fuzzBase + 16,
	"vmemmap_base": fuzzBase + 32, "max_pfn": fuzzBase + 40, "_end": 0xffffffff82000000,
}

func (m *fuzzMem) ReadU64(a uint64) (uint64, error) {
	if a < m.base || a-m.base+8 > uint64(len(m.data)) {
		return 0, errors.New("fault")
	}
	return binary.LittleEndian.Uint64(m.data[a-m.base:]), nil
}

func (m *fuzzMem) Symbol(name string) (uint64, error) {
	if a, ok := fuzzSyms[name]; ok {
		return a, nil
	}
	return 0, errors.New("no symbol")
}

func (m *fuzzMem) MemberOffset(typ, member string) (uint64, error) {
	switch typ + "." + member {
	case "vmap_area.list":
		return 40, nil
	case "vmap_area.vm":
		return 48, nil
	case "vm_struct.addr":
		return 16, nil
	case "vm_struct.size":
		return 24, nil
	}
	return 0, errors.New("no member")
}

func (m *fuzzMem) TypeSize(string) (uint64, error) { return 64, nil }

// ReadPhysAt serves the page tables from the same bytes (physical 0 =
// the window's start).
func (m *fuzzMem) ReadPhysAt(b []byte, pa uint64) (int, error) {
	if pa+uint64(len(b)) > uint64(len(m.data)) || pa+uint64(len(b)) < pa {
		return 0, errors.New("not present")
	}
	return copy(b, m.data[pa:]), nil
}

// FuzzKernelRegions reads crash's kernel ranges (high_memory, the
// vmap_area list, vmemmap, _end) from fuzzed memory and walks a few
// thousand of their pages through fuzzed page tables: errors, never a
// panic or an endless walk.
func FuzzKernelRegions(f *testing.F) {
	seed := make([]byte, 256)
	binary.LittleEndian.PutUint64(seed[0:], fuzzBase+1<<30)          // high_memory
	binary.LittleEndian.PutUint64(seed[8:], 0xffffc90000000000)      // vmalloc_base
	binary.LittleEndian.PutUint64(seed[16:], fuzzBase+64+40)         // list head -> area.list
	binary.LittleEndian.PutUint64(seed[64+40:], fuzzBase+16)         // area.list.next -> head
	binary.LittleEndian.PutUint64(seed[64+48:], fuzzBase+128)        // area.vm
	binary.LittleEndian.PutUint64(seed[128+16:], 0xffffc90000000000) // vm.addr
	binary.LittleEndian.PutUint64(seed[128+24:], 3*PageSize)         // vm.size
	binary.LittleEndian.PutUint64(seed[32:], 0xffffea0000000000)     // vmemmap_base
	binary.LittleEndian.PutUint64(seed[40:], 1024)                   // max_pfn
	f.Add(seed)
	f.Fuzz(func(t *testing.T, data []byte) {
		m := &fuzzMem{base: fuzzBase, data: data}
		l := Layout{PageOffset: fuzzBase, Root: 0}
		regs, _ := KernelRegions(m, l)
		w := Walker{W: &amd64.Walker{Mem: m, Root: 0}}
		next := KernelPages(regs, l, w, 0xffff800000000000, ^uint64(0), nil)
		for i := 0; i < 4096; i++ {
			p, ok := next()
			if !ok {
				break
			}
			if p.Lo < 0 || p.Hi > PageSize || p.Lo >= p.Hi {
				t.Fatalf("bad page %+v", p)
			}
		}
	})
}
