package commands

// The "<symbol+offset>" of gdb's disassembly (printcmd.c:
// build_address_symbolic in gdb 10.2): the function of the debug
// information that holds the address (named by its DWARF name, the offset
// from its entry), unless a minimal symbol (the ELF or kallsyms symbol)
// starts exactly at the address and the function does not; without debug
// information, the minimal symbol (minsyms.c:
// lookup_minimal_symbol_by_pc_section: of several at one address one
// with a size, the last by name; none past the end of a sized one; a
// size-less label gives way to the sized symbol before it that holds the
// address).

import (
	"strconv"
	"strings"
)

// symbolic returns the name and offset gdb prints for addr; target is set
// for a branch target or rip-relative reference (dis's rule for
// size-less data labels applies, and a minimal symbol at the address
// wins over the function holding it: gdb's prefer_sym_over_minsym is set
// only for the instruction's own address).
func (g *gdbDis) symbolic(addr uint64, target bool) (string, uint64, bool) {
	mname, maddr, mok := g.minsym(addr, target)
	if f, ok := g.prog.FunctionAt(addr); ok && f.Name != "" {
		if target && mok && maddr == addr && f.Entry != addr {
			return mname, 0, true
		}
		return f.Name, addr - f.Entry, true
	}
	if !mok {
		return "", 0, false
	}
	return mname, addr - maddr, true
}

// targetSym formats symbolic for a branch target or a reference.
func (g *gdbDis) targetSym(addr uint64) string {
	name, off, ok := g.symbolic(addr, true)
	switch {
	case !ok:
		return ""
	case off == 0:
		return name
	}
	return name + "+" + strconv.FormatUint(off, 10)
}

// minsym is gdb's minimal symbol for addr: its name and address.
func (g *gdbDis) minsym(addr uint64, target bool) (string, uint64, bool) {
	v := g.v
	if target && g.d.targetSym(addr) == "" {
		return "", 0, false
	}
	sp, off, ok := v.valueSearch(addr)
	if !ok {
		return "", 0, false
	}
	if sp.pseudo == pseudoStart {
		return sp.mod.name, sp.Addr, true
	}
	if sp.pseudo != 0 || sp.mod == nil && strings.HasPrefix(sp.Name, ".L") {
		return "", 0, false
	}
	if sp.mod != nil {
		// crash's gdb names a module function's padding after it, but
		// nothing past a module variable.
		if sp.Size > 0 && off >= sp.Size && !v.isText(sp) {
			return "", 0, false
		}
		return sp.Name, sp.Addr, true
	}
	if sp.Size == 0 && (sp.Type == 't' || sp.Type == 'T') && sp.idx < len(v.kern) && v.kern[sp.idx] == sp {
		// A size-less label (an assembler entry such as
		// __x86_indirect_thunk_rdx): the sized symbol before it when
		// that one holds the address.
		for i := sp.idx - 1; i >= 0 && i >= sp.idx-64; i-- {
			k := v.kern[i]
			if k.Size == 0 {
				continue
			}
			if addr-k.Addr < k.Size {
				return gdbAlias(v, k, g.d.sized()), k.Addr, true
			}
			break
		}
	}
	if sp.Size > 0 && off >= sp.Size {
		return "", 0, false
	}
	return gdbAlias(v, sp, g.d.sized()), sp.Addr, true
}

// gdbAlias is the kernel symbol gdb names among those at sp's address:
// one with a size, the last by name. sized tells whether the kernel's
// symbols have sizes (a vmlinux): without, kdive keeps sp (gdb would have
// no symbols at all).
func gdbAlias(v *ksymView, sp *vsym, sized bool) string {
	if !sized {
		return sp.Name
	}
	lo, hi := sp.idx, sp.idx
	if lo >= len(v.kern) || v.kern[lo] != sp {
		return sp.Name
	}
	for lo > 0 && v.kern[lo-1].Addr == sp.Addr {
		lo--
	}
	for hi+1 < len(v.kern) && v.kern[hi+1].Addr == sp.Addr {
		hi++
	}
	best, bestSized := "", ""
	for _, s := range v.kern[lo : hi+1] {
		if s.Type == 'A' || s.Type == 'a' {
			continue
		}
		if s.Name > best {
			best = s.Name
		}
		if s.Size > 0 && s.Name > bestSized {
			bestSized = s.Name
		}
	}
	switch {
	case bestSized != "":
		return bestSized
	case best != "":
		return best
	}
	return sp.Name
}
