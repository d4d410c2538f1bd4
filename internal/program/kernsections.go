package program

import (
	"debug/elf"
	"sort"
)

// KernelSection is an allocated section of the vmlinux at its runtime
// address.
type KernelSection struct {
	Name       string
	Addr, Size uint64
}

type kernSectionsKey struct{}

// KernelSections returns the vmlinux's allocated sections at their
// runtime addresses (the KASLR offset added), sorted by address; none
// without a vmlinux.
func (p *Program) KernelSections() []KernelSection {
	if p.impl == nil || p.VmlinuxPath == "" {
		return nil
	}
	return p.Memo(kernSectionsKey{}, func() any {
		f, err := elf.Open(p.VmlinuxPath)
		if err != nil {
			return []KernelSection(nil)
		}
		defer f.Close()
		var out []KernelSection
		off := p.impl.src.KASLROffset
		for _, s := range f.Sections {
			if s.Flags&elf.SHF_ALLOC == 0 || s.Size == 0 || s.Addr == 0 {
				continue
			}
			a := s.Addr
			if a >= 0xffffffff80000000 {
				a += off // per-CPU sections are zero-based: not relocated
			}
			out = append(out, KernelSection{Name: s.Name, Addr: a, Size: s.Size})
		}
		sort.SliceStable(out, func(i, j int) bool { return out[i].Addr < out[j].Addr })
		return out
	}).([]KernelSection)
}

// KernelSectionAt returns the vmlinux section holding addr.
func (p *Program) KernelSectionAt(addr uint64) (KernelSection, bool) {
	for _, s := range p.KernelSections() {
		if addr >= s.Addr && addr-s.Addr < s.Size {
			return s, true
		}
	}
	return KernelSection{}, false
}
