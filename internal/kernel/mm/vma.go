// Package mm reads a crashed kernel's memory management: a process's
// address space (struct mm_struct and its VMAs), the struct page array,
// zones, the memory summary behind /proc/meminfo and the vmalloc areas.
// It returns data; the commands format it.
package mm

import (
	"encoding/binary"
	"errors"
	"fmt"

	"kdive/internal/kernel/fs"
	"kdive/internal/kernel/kread"
	"kdive/internal/kernel/maple"
)

// Source is what the readers need; *program.Program satisfies it.
type Source interface {
	ReadAt(b []byte, addr uint64) (int, error)
	Symbol(name string) (uint64, error)
	MemberOffset(typ, member string) (uint64, error)
	MemberSize(typ, member string) (uint64, error)
	TypeSize(typ string) (uint64, error)
}

// MaxVMAs caps the VMAs read from one mm (the kernel's default
// vm.max_map_count is 65530).
const MaxVMAs = 1 << 20

// VMA is one struct vm_area_struct.
type VMA struct {
	Addr       uint64 // struct vm_area_struct *
	Start, End uint64 // vm_start, vm_end
	Flags      uint64 // vm_flags
	Mm         uint64 // vm_mm
	File       uint64 // vm_file (struct file *), 0 for anonymous memory
	Pgoff      uint64 // vm_pgoff
	Path       string // the file's path ("" when anonymous or unknown)
}

// AddressSpace is what `vm` shows of an mm_struct.
type AddressSpace struct {
	Mm       uint64 // struct mm_struct *
	PGD      uint64 // mm->pgd (a kernel virtual address)
	TotalVM  uint64 // mm->total_vm, pages
	MapCount int64  // mm->map_count
	VMAs     []VMA
	// Err is the problem that ended the VMA walk early (a loop in the
	// maple tree, an unreadable node or VMA); VMAs holds those before it.
	Err error
}

func u64(src kread.ReaderAt, a uint64) (uint64, error) { return kread.U64(src, a) }

// MapleLayout resolves struct maple_node's layout from the types, falling
// back on 6.1's for any member the types lack.
func MapleLayout(src Source) maple.Layout {
	l := maple.DefaultLayout
	if s, err := src.TypeSize("maple_node"); err == nil && s > 0 {
		l.NodeSize = s
	}
	off := func(typ, m string, dst *uint64) {
		if o, err := src.MemberOffset(typ, m); err == nil {
			*dst = o
		}
	}
	n := func(typ, m string, dst *int) {
		if s, err := src.MemberSize(typ, m); err == nil && s >= 8 && s <= 8*64 {
			*dst = int(s / 8)
		}
	}
	off("maple_node", "slot", &l.DenseSlot)
	n("maple_node", "slot", &l.DenseSlots)
	var mr64, ma64 uint64
	off("maple_node", "mr64", &mr64)
	off("maple_node", "ma64", &ma64)
	off("maple_range_64", "pivot", &l.R64Pivot)
	off("maple_range_64", "slot", &l.R64Slot)
	n("maple_range_64", "slot", &l.R64Slots)
	off("maple_arange_64", "pivot", &l.AR64Pivot)
	off("maple_arange_64", "slot", &l.AR64Slot)
	n("maple_arange_64", "slot", &l.AR64Slots)
	l.R64Pivot += mr64
	l.R64Slot += mr64
	l.AR64Pivot += ma64
	l.AR64Slot += ma64
	return l
}

// ReadAddressSpace reads mm (struct mm_struct *) and its VMAs in address
// order: from the maple tree mm->mm_mt (6.1+, kernel commit d4af56c5c7c6
// "mm: start tracking VMAs with maple tree") or the older mm->mmap list.
// Each VMA's file path is built across mount points when withPaths.
func ReadAddressSpace(src Source, mm uint64, withPaths bool) (*AddressSpace, error) {
	if mm == 0 {
		return nil, errors.New("mm: no mm_struct")
	}
	get := func(m string) (uint64, error) {
		o, err := src.MemberOffset("mm_struct", m)
		if err != nil {
			return 0, fmt.Errorf("mm: mm_struct.%s: %w", m, err)
		}
		return o, nil
	}
	as := &AddressSpace{Mm: mm}
	oPgd, err := get("pgd")
	if err != nil {
		return nil, err
	}
	if as.PGD, err = u64(src, mm+oPgd); err != nil {
		return nil, fmt.Errorf("mm: mm_struct %#x: %w", mm, err)
	}
	if o, err := get("total_vm"); err == nil {
		as.TotalVM, _ = u64(src, mm+o)
	}
	if o, err := get("map_count"); err == nil {
		var b [4]byte
		if _, err := src.ReadAt(b[:], mm+o); err == nil {
			as.MapCount = int64(int32(binary.LittleEndian.Uint32(b[:])))
		}
	}
	vmas, werr := VMAAddrs(src, mm)
	as.Err = werr
	if len(vmas) == 0 && werr != nil {
		return as, nil
	}
	var fr *fs.Reader
	if withPaths {
		fr, _ = fs.New(src)
	}
	vo, err := vmaOffsets(src)
	if err != nil {
		return nil, err
	}
	for _, a := range vmas {
		v, err := readVMA(src, vo, a)
		if err != nil {
			as.Err = err
			break
		}
		if v.File != 0 && fr != nil {
			if f, err := fr.File(v.File, -1, nil); err == nil {
				v.Path = f.Path
			}
		}
		as.VMAs = append(as.VMAs, v)
	}
	return as, nil
}

type vmaOffs struct{ start, end, flags, mm, file, pgoff uint64 }

func vmaOffsets(src Source) (vmaOffs, error) {
	var o vmaOffs
	var err error
	get := func(m string) uint64 {
		if err != nil {
			return 0
		}
		v, e := src.MemberOffset("vm_area_struct", m)
		if e != nil {
			err = fmt.Errorf("mm: vm_area_struct.%s: %w", m, e)
		}
		return v
	}
	o.start, o.end, o.flags = get("vm_start"), get("vm_end"), get("vm_flags")
	o.mm, o.file, o.pgoff = get("vm_mm"), get("vm_file"), get("vm_pgoff")
	return o, err
}

func readVMA(src Source, o vmaOffs, a uint64) (VMA, error) {
	end := max(o.start, o.end, o.flags, o.mm, o.file, o.pgoff) + 8
	b := make([]byte, end)
	if _, err := src.ReadAt(b, a); err != nil {
		return VMA{}, fmt.Errorf("mm: vm_area_struct %#x: %w", a, err)
	}
	le := binary.LittleEndian
	return VMA{Addr: a, Start: le.Uint64(b[o.start:]), End: le.Uint64(b[o.end:]), Flags: le.Uint64(b[o.flags:]),
		Mm: le.Uint64(b[o.mm:]), File: le.Uint64(b[o.file:]), Pgoff: le.Uint64(b[o.pgoff:])}, nil
}

// VMAAddrs returns the struct vm_area_struct addresses of mm in address
// order. A walk that stops early returns what it found and the reason.
func VMAAddrs(src Source, mm uint64) ([]uint64, error) {
	if oMT, err := src.MemberOffset("mm_struct", "mm_mt"); err == nil {
		oRoot, err := src.MemberOffset("maple_tree", "ma_root")
		if err != nil {
			return nil, fmt.Errorf("mm: maple_tree.ma_root: %w", err)
		}
		root, err := u64(src, mm+oMT+oRoot)
		if err != nil {
			return nil, fmt.Errorf("mm: mm_struct %#x mm_mt: %w", mm, err)
		}
		ents, werr := maple.Walk(src, MapleLayout(src), root, MaxVMAs)
		var out []uint64
		for _, e := range ents {
			if maple.IsInternal(e.Value) || e.Value&3 != 0 {
				continue // XA_ZERO_ENTRY and other markers are no VMAs
			}
			out = append(out, e.Value)
		}
		if werr != nil {
			werr = fmt.Errorf("VMAs of mm_struct %#x: %w", mm, werr)
		}
		return out, werr
	}
	// Before 6.1: the mm->mmap list linked by vm_next.
	oMmap, err := src.MemberOffset("mm_struct", "mmap")
	if err != nil {
		return nil, errors.New("mm: mm_struct has neither mm_mt nor mmap")
	}
	oNext, err := src.MemberOffset("vm_area_struct", "vm_next")
	if err != nil {
		return nil, fmt.Errorf("mm: vm_area_struct.vm_next: %w", err)
	}
	v, err := u64(src, mm+oMmap)
	if err != nil {
		return nil, fmt.Errorf("mm: mm_struct %#x mmap: %w", mm, err)
	}
	var out []uint64
	seen := map[uint64]bool{}
	for v != 0 {
		if seen[v] {
			return out, fmt.Errorf("mm: VMA list of mm_struct %#x loops at %#x", mm, v)
		}
		if len(out) >= MaxVMAs {
			return out, fmt.Errorf("mm: more than %d VMAs in mm_struct %#x", MaxVMAs, mm)
		}
		seen[v] = true
		out = append(out, v)
		if v, err = u64(src, v+oNext); err != nil {
			return out, fmt.Errorf("mm: vm_area_struct %#x vm_next: %w", out[len(out)-1], err)
		}
	}
	return out, nil
}
