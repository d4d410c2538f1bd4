package dwarfx

// Exported line tables: a unit's per-file tables as gdb keeps them (the
// subfiles of lineprog.go), for gdb's "disassemble /m" and "/s" and
// "info line", which walk a file's table and need the end of an address's
// line range (gdb's find_pc_line: symtab_and_line.end).

import "sort"

// LineRow is one entry of a file's line table: the first address of a
// line's code (Line 0: the end of a range, gdb's end-of-sequence or
// file-switch marker).
type LineRow struct {
	PC     uint64
	Line   int
	IsStmt bool
}

// FileLines is one source file's line table within a unit (gdb's symtab).
type FileLines struct {
	// Name is the file as gdb names it in messages (the line table's
	// directory and name, without the unit's directory).
	Name string
	// Path is the file with the unit's directory, as crash prints it.
	Path string
	Rows []LineRow // sorted by PC
}

// UnitLines is a compile unit's line tables, the unit's own file first.
type UnitLines struct {
	// Key identifies the unit (its offset in .debug_info).
	Key   uint64
	Dir   string // the unit's directory (DW_AT_comp_dir)
	Files []*FileLines
}

// PCLine is gdb's symtab_and_line for an address: the file (index into
// Files), the line, the start of the line's range at or before the
// address and its end (0 when unknown).
type PCLine struct {
	File       int
	Line       int
	Start, End uint64
}

// UnitLinesAt returns the line tables of the unit covering pc (an
// address in the index's own space), nil when no unit covers it or it has
// no line program.
func (ix *Index) UnitLinesAt(pc uint64) (*UnitLines, error) {
	c, err := ix.unitLines(pc)
	if err != nil || c == nil || c.t == nil {
		return nil, err
	}
	c.t.exportOnce.Do(func() {
		u := &UnitLines{Key: c.u.off, Dir: c.t.compDir}
		for _, s := range c.t.subs {
			f := &FileLines{Name: s.name, Rows: make([]LineRow, len(s.rows))}
			f.Path, _ = c.t.display(s)
			for i, r := range s.rows {
				f.Rows[i] = LineRow{PC: r.pc, Line: int(r.line), IsStmt: r.isStmt}
			}
			u.Files = append(u.Files, f)
		}
		c.t.exported = u
	})
	return c.t.exported, nil
}

// Find is gdb's find_pc_line on the unit's tables: the file whose last
// row at or before pc is the closest (end markers ignored, as
// lineTable.lookup), the line, the row's address, and the end of its
// range: the first row after pc in any file (gdb 10.2, which crash 8.0.2
// embeds, does not skip the non-statement rows of the same line as gdb
// 13 does). ok is false when no line is known.
func (u *UnitLines) Find(pc uint64) (PCLine, bool) {
	var best *LineRow
	bestFile := -1
	var bestEnd uint64
	for fi, f := range u.Files {
		rows := f.Rows
		i := sort.Search(len(rows), func(i int) bool { return rows[i].PC > pc })
		if i > 0 {
			prev := &rows[i-1]
			if prev.Line != 0 && (best == nil || prev.PC > best.PC) {
				best, bestFile = prev, fi
				if !best.IsStmt {
					k := i - 1
					for k > 0 && rows[k-1].PC == rows[k].PC && rows[k-1].Line != 0 && !rows[k].IsStmt {
						k--
					}
					if rows[k].IsStmt {
						best = &rows[k]
					}
				}
				if bestEnd <= best.PC {
					bestEnd = 0
				}
			}
		}
		if best != nil && i < len(rows) && rows[i].PC > best.PC && (bestEnd == 0 || bestEnd > rows[i].PC) {
			bestEnd = rows[i].PC
		}
	}
	if best == nil || best.Line == 0 {
		return PCLine{}, false
	}
	return PCLine{File: bestFile, Line: best.Line, Start: best.PC, End: bestEnd}, true
}
