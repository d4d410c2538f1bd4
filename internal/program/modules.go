package program

import (
	"encoding/binary"
	"fmt"

	"kdive/internal/symtab"
)

const (
	maxModules    = 1 << 14
	maxModSymbols = 1 << 20
	elf64SymSize  = 24
	// maxModPerCPU caps struct module.percpu_size: a module's per-CPU
	// section comes from the per-CPU area's reserved chunk
	// (PERCPU_MODULE_RESERVE, 8 KiB in include/linux/percpu.h).
	maxModPerCPU = 1 << 24
)

// loadModules walks the kernel's `modules` list (struct module.list) and
// reads each module's kallsyms (struct mod_kallsyms).
func (s *state) loadModules() {
	s.mods, s.modSyms, s.modErr = s.walkModules()
}

func (s *state) off(typ, member string) (uint64, error) { return s.memberOffset(typ, member) }

func (s *state) walkModules() ([]Module, []symtab.Sym, error) {
	head, ok := s.base.Lookup("modules")
	if !ok {
		return nil, nil, fmt.Errorf("no `modules` symbol")
	}
	offList, err := s.off("module", "list")
	if err != nil {
		return nil, nil, err
	}
	offName, err := s.off("module", "name")
	if err != nil {
		return nil, nil, err
	}
	offState, _ := s.off("module", "state")
	// Module memory: struct module_layout core_layout up to 6.3; 6.4
	// (kernel commit ac3b43283923 "module: replace module_layout with
	// module_memory") has mem[MOD_TEXT..]. We read the text region.
	var offBase, offSize uint64
	layout := true
	if o, err := s.off("module", "core_layout.base"); err == nil {
		offBase = o
		offSize, _ = s.off("module", "core_layout.size")
	} else if o, err := s.off("module", "mem"); err == nil {
		layout = false
		offBase = o
		mb, _ := s.off("module_memory", "base")
		ms, _ := s.off("module_memory", "size")
		offSize = o + ms
		offBase += mb
	} else {
		return nil, nil, fmt.Errorf("struct module has neither core_layout nor mem")
	}
	_ = layout
	// Per-CPU variables (CONFIG_SMP; kernel/module/main.c:
	// percpu_modalloc).
	offPcpu, errPcpu := s.off("module", "percpu")
	offPcpuSize, errPcpuSize := s.off("module", "percpu_size")
	offKallsyms, errK := s.off("module", "kallsyms")
	offSymtab, _ := s.off("mod_kallsyms", "symtab")
	offNum, _ := s.off("mod_kallsyms", "num_symtab")
	offStrtab, _ := s.off("mod_kallsyms", "strtab")
	offTypetab, errT := s.off("mod_kallsyms", "typetab")

	var mods []Module
	var syms []symtab.Sym
	seen := map[uint64]bool{}
	next, err := s.readU64(head.Addr)
	if err != nil {
		return nil, nil, err
	}
	for next != head.Addr {
		if len(mods) >= maxModules || seen[next] {
			return mods, syms, fmt.Errorf("module list at %#x: loop or too long", head.Addr)
		}
		seen[next] = true
		maddr := next - offList
		m := Module{Addr: maddr}
		nb := make([]byte, 56)
		if _, err := s.mem.ReadAt(nb, maddr+offName); err != nil {
			return mods, syms, fmt.Errorf("module at %#x: %w", maddr, err)
		}
		m.Name = cstr(nb)
		if st, err := s.readU32(maddr + offState); err == nil && st == 3 { // MODULE_STATE_UNFORMED
			next, err = s.readU64(next)
			if err != nil {
				return mods, syms, err
			}
			continue
		}
		m.Base, _ = s.readU64(maddr + offBase)
		if sz, err := s.readU32(maddr + offSize); err == nil {
			m.Size = uint64(sz)
		}
		if errPcpu == nil && errPcpuSize == nil {
			if pc, err := s.readU64(maddr + offPcpu); err == nil && pc != 0 {
				if sz, err := s.readU32(maddr + offPcpuSize); err == nil && sz != 0 && sz <= maxModPerCPU {
					m.PerCPU, m.PerCPUSize = pc, uint64(sz)
				}
			}
		}
		if errK == nil {
			ms, err := s.moduleSyms(m, maddr+offKallsyms, offSymtab, offNum, offStrtab, offTypetab, errT == nil)
			if err != nil && s.warn != nil {
				s.warn(fmt.Sprintf("module %s: symbols: %v", m.Name, err))
			}
			m.NumSyms = len(ms)
			syms = append(syms, ms...)
		}
		mods = append(mods, m)
		next, err = s.readU64(next)
		if err != nil {
			return mods, syms, fmt.Errorf("module list: %w", err)
		}
	}
	return mods, syms, nil
}

func (s *state) moduleSyms(m Module, kptr, offSymtab, offNum, offStrtab, offTypetab uint64, haveTypes bool) ([]symtab.Sym, error) {
	ks, err := s.readU64(kptr)
	if err != nil || ks == 0 {
		return nil, err
	}
	symtabAddr, err := s.readU64(ks + offSymtab)
	if err != nil {
		return nil, err
	}
	num, err := s.readU64(ks + offNum)
	if err != nil {
		return nil, err
	}
	strtab, err := s.readU64(ks + offStrtab)
	if err != nil {
		return nil, err
	}
	if num > maxModSymbols {
		return nil, fmt.Errorf("implausible num_symtab %d", num)
	}
	raw := make([]byte, num*elf64SymSize)
	if _, err := s.mem.ReadAt(raw, symtabAddr); err != nil {
		return nil, err
	}
	var types []byte
	if haveTypes {
		if tt, err := s.readU64(ks + offTypetab); err == nil {
			types = make([]byte, num)
			if _, err := s.mem.ReadAt(types, tt); err != nil {
				types = nil
			}
		}
	}
	var out []symtab.Sym
	nameBuf := make([]byte, 128)
	for i := uint64(1); i < num; i++ {
		e := raw[i*elf64SymSize:]
		nameOff := binary.LittleEndian.Uint32(e)
		value := binary.LittleEndian.Uint64(e[8:])
		size := binary.LittleEndian.Uint64(e[16:])
		if value == 0 {
			continue
		}
		n, _ := s.mem.ReadAt(nameBuf, strtab+uint64(nameOff))
		name := cstr(nameBuf[:n])
		if name == "" {
			continue
		}
		typ := byte('t')
		if types != nil {
			typ = types[i]
		}
		// The kernel's typetab letter is lower case for module symbols;
		// crash shows the ELF binding: upper case for global and weak.
		if bind := e[4] >> 4; (bind == 1 || bind == 2) && typ >= 'a' && typ <= 'z' {
			typ -= 'a' - 'A'
		}
		out = append(out, symtab.Sym{Name: name, Addr: value, Size: size, Type: typ, Module: m.Name})
	}
	return out, nil
}

func (s *state) readU64(a uint64) (uint64, error) {
	var b [8]byte
	if _, err := s.mem.ReadAt(b[:], a); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b[:]), nil
}

func (s *state) readU32(a uint64) (uint32, error) {
	var b [4]byte
	if _, err := s.mem.ReadAt(b[:], a); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b[:]), nil
}

func cstr(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
