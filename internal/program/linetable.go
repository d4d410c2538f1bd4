package program

import "kdive/internal/dwarfx"

// UnitLines is a compile unit's per-file line tables (gdb's symtabs) for
// gdb's disassemble /m and /s and info line.
type UnitLines = dwarfx.UnitLines

// LineTable is the line tables of the unit that covers a kernel address,
// with the bias to subtract from a kernel address to get the tables' own
// addresses (the vmlinux's link-time addresses; 0 for a module's, which
// are relocated).
type LineTable struct {
	*dwarfx.UnitLines
	Bias uint64
	// Object is the file the DWARF comes from (the module's .ko or the
	// vmlinux; "" when unknown).
	Object string
}

// LineTableAt returns the line tables of the unit holding the kernel text
// address addr (the vmlinux's DWARF, or a module's once mod -s or
// add-symbol-file loaded it); ok is false when no DWARF covers addr.
func (p *Program) LineTableAt(addr uint64) (LineTable, bool) {
	for _, s := range p.lineSources(addr) {
		u, err := s.Index.UnitLinesAt(addr - s.Bias)
		if err != nil || u == nil {
			continue
		}
		if _, ok := u.Find(addr - s.Bias); ok {
			obj := ""
			if md := p.ModuleDebugAt(addr); md != nil && md.Index == s.Index {
				obj = md.Path
			} else if vl, _ := p.vmlinuxLines(); vl == s.Index {
				obj = p.VmlinuxPath
			}
			return LineTable{UnitLines: u, Bias: s.Bias, Object: obj}, true
		}
	}
	return LineTable{}, false
}

// FindLine is gdb's find_pc_line for a kernel address of the table: the
// file, line and the line's range [Start, End) in kernel addresses.
func (t LineTable) FindLine(addr uint64) (dwarfx.PCLine, bool) {
	if t.UnitLines == nil {
		return dwarfx.PCLine{}, false
	}
	l, ok := t.Find(addr - t.Bias)
	if !ok {
		return l, false
	}
	l.Start += t.Bias
	if l.End != 0 {
		l.End += t.Bias
	}
	return l, true
}

// FuncRanges is a function's code ranges from DWARF.
type FuncRanges = dwarfx.FuncRanges

// FunctionAt returns the DWARF function holding the kernel text address
// addr with its entry and ranges in kernel addresses; ok is false when
// no DWARF covers addr.
func (p *Program) FunctionAt(addr uint64) (FuncRanges, bool) {
	for _, s := range p.lineSources(addr) {
		f, ok, err := s.Index.FunctionAt(addr - s.Bias)
		if err != nil || !ok {
			continue
		}
		f.Entry += s.Bias
		rs := make([][2]uint64, len(f.Ranges))
		for i, r := range f.Ranges {
			rs[i] = [2]uint64{r[0] + s.Bias, r[1] + s.Bias}
		}
		f.Ranges = rs
		return f, true
	}
	return FuncRanges{}, false
}
