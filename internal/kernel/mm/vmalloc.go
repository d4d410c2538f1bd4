package mm

import (
	"fmt"

	"kdive/internal/kernel/klist"
)

// MaxVmapAreas caps the vmap_area_list walk.
const MaxVmapAreas = 1 << 22

// VmapArea is one struct vmap_area of vmap_area_list with a vm_struct.
type VmapArea struct {
	Addr       uint64 // struct vmap_area *
	VM         uint64 // va->vm (struct vm_struct *)
	Start, End uint64 // va_start, va_end
}

// VmapAreas walks vmap_area_list (struct vmap_area.list, sorted by
// address) and returns the areas that have a vm_struct, as crash's
// dump_vmap_area lists them (before 2.6.28's vmap_area, vmlist: not read).
// A corrupt list returns the areas before the fault and the error.
func VmapAreas(src Source) ([]VmapArea, error) {
	head, err := src.Symbol("vmap_area_list")
	if err != nil {
		return nil, fmt.Errorf("mm: no vmap_area_list: %w", err)
	}
	get := func(m string) (uint64, error) {
		o, err := src.MemberOffset("vmap_area", m)
		if err != nil {
			return 0, fmt.Errorf("mm: vmap_area.%s: %w", m, err)
		}
		return o, nil
	}
	oList, err := get("list")
	if err != nil {
		return nil, err
	}
	oStart, err := get("va_start")
	if err != nil {
		return nil, err
	}
	oEnd, err := get("va_end")
	if err != nil {
		return nil, err
	}
	oVM, err := get("vm")
	if err != nil {
		return nil, err
	}
	read := func(a uint64) (uint64, error) { return u64(src, a) }
	ents, werr := klist.Entries(read, head, oList, MaxVmapAreas)
	var out []VmapArea
	for _, a := range ents {
		vm, err := u64(src, a+oVM)
		if err != nil {
			return out, fmt.Errorf("mm: vmap_area %#x: %w", a, err)
		}
		if vm == 0 {
			continue
		}
		s, err1 := u64(src, a+oStart)
		e, err2 := u64(src, a+oEnd)
		if err1 != nil || err2 != nil {
			return out, fmt.Errorf("mm: vmap_area %#x: cannot read its range", a)
		}
		out = append(out, VmapArea{Addr: a, VM: vm, Start: s, End: e})
	}
	if werr != nil {
		werr = fmt.Errorf("mm: vmap_area_list: %w", werr)
	}
	return out, werr
}
