package program

import (
	"fmt"
	"strings"
)

// ModuleSection is one section of a loaded module and the address the
// kernel placed it at.
type ModuleSection struct {
	Name string
	Addr uint64
}

// maxModSections caps module_sect_attrs.nsections: an ELF file has at most
// 65535 sections, a module a few hundred.
const maxModSections = 1 << 12

// ModuleSections returns the sections of module m as the kernel recorded
// them for /sys/module/NAME/sections (struct module.sect_attrs, a
// struct module_sect_attrs *: nsections entries of struct
// module_sect_attr, each the section's name and address): every allocated,
// non-empty section. Sections of the module's init memory are left out
// once the kernel has freed it (init_layout.base, or mem[MOD_INIT_TEXT]
// from 6.4, is NULL); the per-CPU section, which the kernel does not list,
// is added at struct module.percpu.
//
// Layouts (by presence of members): since 5.8 (kernel commit ed66f991bb19
// "module: Refactor section attr into bin attribute") the name is
// battr.attr.name; before, module_sect_attr had its own name pointer.
func (p *Program) ModuleSections(m Module) ([]ModuleSection, error) {
	offAttrs, err := p.MemberOffset("module", "sect_attrs")
	if err != nil {
		return nil, fmt.Errorf("module %s: struct module has no sect_attrs: %w", m.Name, err)
	}
	offArr, err1 := p.MemberOffset("module_sect_attrs", "attrs")
	offN, err2 := p.MemberOffset("module_sect_attrs", "nsections")
	esz, err3 := p.TypeSize("module_sect_attr")
	offAddr, err4 := p.MemberOffset("module_sect_attr", "address")
	if err := firstErr(err1, err2, err3, err4); err != nil {
		return nil, fmt.Errorf("struct module_sect_attrs: %w", err)
	}
	offName, err := p.MemberOffset("module_sect_attr", "battr.attr.name")
	if err != nil {
		if offName, err = p.MemberOffset("module_sect_attr", "name"); err != nil {
			return nil, fmt.Errorf("struct module_sect_attr: no section name member: %w", err)
		}
	}
	if esz == 0 || esz > 4096 {
		return nil, fmt.Errorf("struct module_sect_attr: implausible size %d", esz)
	}
	sa, err := p.ReadU64(m.Addr + offAttrs)
	if err != nil {
		return nil, fmt.Errorf("module %s: sect_attrs at %#x: %w", m.Name, m.Addr+offAttrs, err)
	}
	if sa == 0 {
		return nil, fmt.Errorf("module %s: no section attributes (struct module %#x: sect_attrs is NULL; CONFIG_SYSFS off?)", m.Name, m.Addr)
	}
	n, err := p.ReadU32(sa + offN)
	if err != nil {
		return nil, fmt.Errorf("module %s: module_sect_attrs.nsections at %#x: %w", m.Name, sa+offN, err)
	}
	if n == 0 || n > maxModSections {
		return nil, fmt.Errorf("module %s: module_sect_attrs at %#x: implausible nsections %d", m.Name, sa, n)
	}
	initFreed := p.moduleInitFreed(m)
	var out []ModuleSection
	seen := map[string]bool{}
	for i := uint64(0); i < uint64(n); i++ {
		e := sa + offArr + i*esz
		np, err := p.ReadU64(e + offName)
		if err != nil {
			return nil, fmt.Errorf("module %s: section %d name at %#x: %w", m.Name, i, e+offName, err)
		}
		name, err := p.ReadCString(np, 128)
		if err != nil {
			return nil, fmt.Errorf("module %s: section %d name at %#x: %w", m.Name, i, np, err)
		}
		addr, err := p.ReadU64(e + offAddr)
		if err != nil {
			return nil, fmt.Errorf("module %s: section %s address at %#x: %w", m.Name, name, e+offAddr, err)
		}
		if name == "" || seen[name] {
			continue
		}
		seen[name] = true
		if initFreed && strings.HasPrefix(name, ".init") {
			continue
		}
		out = append(out, ModuleSection{Name: name, Addr: addr})
	}
	if off, err := p.MemberOffset("module", "percpu"); err == nil && !seen[".data..percpu"] {
		if pc, err := p.ReadU64(m.Addr + off); err == nil && pc != 0 {
			out = append(out, ModuleSection{Name: ".data..percpu", Addr: pc})
		}
	}
	return out, nil
}

// moduleInitFreed reports whether the kernel has freed module m's init
// sections (after its init function returned): struct module's
// init_layout.base (mem[MOD_INIT_TEXT].base from 6.4, kernel commit
// ac3b43283923) is NULL.
func (p *Program) moduleInitFreed(m Module) bool {
	if off, err := p.MemberOffset("module", "init_layout.base"); err == nil {
		b, err := p.ReadU64(m.Addr + off)
		return err == nil && b == 0
	}
	off, err := p.MemberOffset("module", "mem")
	if err != nil {
		return false
	}
	esz, err1 := p.TypeSize("module_memory")
	ob, err2 := p.MemberOffset("module_memory", "base")
	_, idx, err3 := p.Types().LookupEnumerator("MOD_INIT_TEXT")
	if firstErr(err1, err2, err3) != nil || idx < 0 || idx > 16 {
		return false
	}
	b, err := p.ReadU64(m.Addr + off + uint64(idx)*esz + ob)
	return err == nil && b == 0
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
