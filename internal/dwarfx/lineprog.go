package dwarfx

// Line programs (.debug_line, DWARF 2-5) decoded into the line tables gdb
// builds from them, so that a lookup gives the file and line crash prints
// (crash asks gdb's find_pc_line). gdb keeps one table per source file of
// a unit ("subfile"), records rows with its own rules (an end marker of
// line 0 in the previous file when the file changes, rows of line 0
// dropped, a non-statement row at an address that already has a
// statement row in another file dropped, repeated lines with
// discriminators dropped, sequences starting at address 0 — functions
// the linker discarded — ignored), sorts each table by address, and picks
// for an address the file whose last row at or before it is the closest,
// ignoring end markers.

import (
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Standard and extended opcodes (DWARF 5, 6.2.5).
const (
	lnsCopy             = 1
	lnsAdvancePC        = 2
	lnsAdvanceLine      = 3
	lnsSetFile          = 4
	lnsSetColumn        = 5
	lnsNegateStmt       = 6
	lnsSetBasicBlock    = 7
	lnsConstAddPC       = 8
	lnsFixedAdvancePC   = 9
	lnsSetPrologueEnd   = 10
	lnsSetEpilogueBegin = 11
	lnsSetISA           = 12

	lneEndSequence      = 1
	lneSetAddress       = 2
	lneDefineFile       = 3
	lneSetDiscriminator = 4

	// DWARF 5 line table content types (6.2.4.1).
	lnctPath           = 1
	lnctDirectoryIndex = 2
)

// Bounds on what a line program may claim.
const (
	maxLineDirs  = 1 << 16
	maxLineFiles = 1 << 18
	maxLineRows  = 1 << 24
)

// lineFile is one entry of a line program's file table.
type lineFile struct {
	name string
	dir  uint64
}

// lineHeader is a parsed line program header.
type lineHeader struct {
	off          uint64 // offset of the program in .debug_line
	version      uint16
	addrSize     uint8
	minInstLen   uint8
	maxOps       uint8
	defaultStmt  bool
	lineBase     int8
	lineRange    uint8
	opcodeBase   uint8
	stdLens      []uint8
	dirs         []string
	files        []lineFile
	progStart    int // offsets in the section
	progEnd      int
	compDir      string
	hasCompDir   bool
	unitName     string
	unitAddrSize uint8
	lowPC        uint64 // the unit's lowest address
}

// lineRow is one entry of a gdb line table.
type lineRow struct {
	pc     uint64
	line   uint32
	isStmt bool
}

// subfile is a source file's line table within a unit.
type subfile struct {
	name string // as gdb names it: dir "/" name unless name is absolute
	rows []lineRow
}

// lineTable is the decoded line program of one unit.
type lineTable struct {
	version    uint16
	compDir    string
	hasCompDir bool
	subs       []*subfile // gdb's lookup order: the unit's own file first
	fileSub    []int      // file index -> subs index (-1: none)

	exportOnce sync.Once
	exported   *UnitLines // UnitLinesAt's copy
}

// parseLineHeader reads the header of the line program at off. strs
// resolves DW_FORM_strp / line_strp / strx forms of DWARF 5 entries.
func parseLineHeader(b []byte, off uint64, strs func(form uint32, v uint64) (string, error)) (*lineHeader, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf(".debug_line+%#x: %s", off, fmt.Sprintf(format, args...))
	}
	if off >= uint64(len(b)) || uint64(len(b))-off < 4 {
		return nil, bad("line program offset out of range (section size %#x)", len(b))
	}
	pos := int(off)
	length := uint64(le.Uint32(b[pos:]))
	pos += 4
	offSize := 4
	if length == 0xffffffff {
		if pos+8 > len(b) {
			return nil, bad("truncated header")
		}
		length = le.Uint64(b[pos:])
		pos += 8
		offSize = 8
	} else if length >= 0xfffffff0 {
		return nil, bad("reserved unit length %#x", length)
	}
	if length > uint64(len(b)-pos) {
		return nil, bad("unit length %#x runs past the end of the section", length)
	}
	end := pos + int(length)
	h := &lineHeader{off: off, progEnd: end}
	need := func(n int) error {
		if pos+n > end {
			return bad("truncated header")
		}
		return nil
	}
	if err := need(2); err != nil {
		return nil, err
	}
	h.version = le.Uint16(b[pos:])
	pos += 2
	if h.version < 2 || h.version > 5 {
		return nil, bad("unsupported line table version %d", h.version)
	}
	if h.version >= 5 {
		if err := need(2); err != nil {
			return nil, err
		}
		h.addrSize = b[pos]
		pos += 2 // address size, segment selector size
	}
	if err := need(offSize); err != nil {
		return nil, err
	}
	hlen := readUint(b, pos, offSize)
	pos += offSize
	if hlen > uint64(end-pos) {
		return nil, bad("header length %#x runs past the end of the program", hlen)
	}
	h.progStart = pos + int(hlen)
	n := 4
	if h.version >= 4 {
		n = 5
	}
	if err := need(n); err != nil {
		return nil, err
	}
	h.minInstLen = b[pos]
	pos++
	h.maxOps = 1
	if h.version >= 4 {
		h.maxOps = b[pos]
		pos++
	}
	h.defaultStmt = b[pos] != 0
	h.lineBase = int8(b[pos+1])
	h.lineRange = b[pos+2]
	h.opcodeBase = b[pos+3]
	pos += 4
	if h.lineRange == 0 {
		return nil, bad("line_range is 0")
	}
	if h.opcodeBase == 0 {
		return nil, bad("opcode_base is 0")
	}
	if h.maxOps == 0 {
		return nil, bad("maximum_operations_per_instruction is 0")
	}
	if err := need(int(h.opcodeBase) - 1); err != nil {
		return nil, err
	}
	h.stdLens = b[pos : pos+int(h.opcodeBase)-1]
	pos += int(h.opcodeBase) - 1
	hdrEnd := h.progStart
	if h.version >= 5 {
		dirs, np, err := readEntryTable(b, pos, hdrEnd, offSize, h, strs, maxLineDirs, "directory")
		if err != nil {
			return nil, bad("%v", err)
		}
		for _, d := range dirs {
			h.dirs = append(h.dirs, d.name)
		}
		files, _, err := readEntryTable(b, np, hdrEnd, offSize, h, strs, maxLineFiles, "file")
		if err != nil {
			return nil, bad("%v", err)
		}
		h.files = files
		return h, nil
	}
	// DWARF 2-4: NUL-terminated directory names, then file entries
	// (name, directory index, mtime, length), each list ended by "".
	for {
		s, np, ok := cstr(b, pos, hdrEnd)
		if !ok {
			return nil, bad("unterminated include directory")
		}
		pos = np
		if s == "" {
			break
		}
		if len(h.dirs) >= maxLineDirs {
			return nil, bad("more than %d directories", maxLineDirs)
		}
		h.dirs = append(h.dirs, s)
	}
	for {
		s, np, ok := cstr(b, pos, hdrEnd)
		if !ok {
			return nil, bad("unterminated file name")
		}
		pos = np
		if s == "" {
			break
		}
		d, np, ok := uleb(b[:hdrEnd], pos)
		if !ok {
			return nil, bad("truncated file entry")
		}
		if np, ok = skipLEB(b[:hdrEnd], np); !ok {
			return nil, bad("truncated file entry")
		}
		if np, ok = skipLEB(b[:hdrEnd], np); !ok {
			return nil, bad("truncated file entry")
		}
		pos = np
		if len(h.files) >= maxLineFiles {
			return nil, bad("more than %d files", maxLineFiles)
		}
		h.files = append(h.files, lineFile{name: s, dir: d})
	}
	return h, nil
}

// cstr reads a NUL-terminated string in b[pos:end].
func cstr(b []byte, pos, end int) (string, int, bool) {
	for i := pos; i < end && i < len(b); i++ {
		if b[i] == 0 {
			return string(b[pos:i]), i + 1, true
		}
	}
	return "", pos, false
}

// readEntryTable reads a DWARF 5 directory or file name table.
func readEntryTable(b []byte, pos, end, offSize int, h *lineHeader, strs func(uint32, uint64) (string, error), max uint64, what string) ([]lineFile, int, error) {
	if pos >= end {
		return nil, pos, fmt.Errorf("truncated %s table", what)
	}
	nfmt := int(b[pos])
	pos++
	type pair struct{ ct, form uint64 }
	fmts := make([]pair, 0, nfmt)
	for i := 0; i < nfmt; i++ {
		ct, np, ok := uleb(b[:end], pos)
		if !ok {
			return nil, pos, fmt.Errorf("truncated %s entry format", what)
		}
		form, np, ok := uleb(b[:end], np)
		if !ok {
			return nil, pos, fmt.Errorf("truncated %s entry format", what)
		}
		pos = np
		fmts = append(fmts, pair{ct, form})
	}
	count, np, ok := uleb(b[:end], pos)
	if !ok {
		return nil, pos, fmt.Errorf("truncated %s count", what)
	}
	pos = np
	if count > max || count > uint64(end-pos) && nfmt > 0 {
		return nil, pos, fmt.Errorf("%s count %d too large", what, count)
	}
	if nfmt == 0 && count > 0 {
		return nil, pos, fmt.Errorf("%d %s entries without a format", count, what)
	}
	p := unitParams{version: 5, addrSize: h.addrSize, offSize: uint8(offSize)}
	if p.addrSize != 4 && p.addrSize != 8 {
		p.addrSize = 8
	}
	u := &unit{unitParams: p, sec: secInfo}
	out := make([]lineFile, 0, count)
	for i := uint64(0); i < count; i++ {
		var e lineFile
		for _, f := range fmts {
			if !knownForm(uint32(f.form)) || f.form == formIndirect || f.form == formImplicitConst {
				return nil, pos, fmt.Errorf("%s entry %d: unsupported form %#x", what, i, f.form)
			}
			v, np, err := u.readValue(b[:end], pos, uint32(f.form), 0)
			if err != nil {
				return nil, pos, fmt.Errorf("%s entry %d: bad value", what, i)
			}
			pos = np
			switch f.ct {
			case lnctPath:
				if v.form == formString {
					e.name = string(v.blk)
				} else {
					s, err := strs(v.form, v.u)
					if err != nil {
						return nil, pos, fmt.Errorf("%s entry %d: %v", what, i, err)
					}
					e.name = s
				}
			case lnctDirectoryIndex:
				e.dir = v.u
			}
		}
		out = append(out, e)
	}
	return out, pos, nil
}

// includeDir is gdb's file_entry::include_dir: the directory of a file
// entry, 0-based in DWARF 5 and 1-based before (0: none, the unit's
// directory); "" and false when out of range.
func (h *lineHeader) includeDir(f lineFile) (string, bool) {
	i := int64(f.dir)
	if h.version < 5 {
		i--
	}
	if i < 0 || i >= int64(len(h.dirs)) {
		return "", false
	}
	return h.dirs[i], true
}

// fileAt returns the file entry of a file register value (0-based in
// DWARF 5, 1-based before).
func (h *lineHeader) fileAt(n uint64) (lineFile, bool) {
	i := int64(n)
	if h.version < 5 {
		i--
	}
	if i < 0 || i >= int64(len(h.files)) {
		return lineFile{}, false
	}
	return h.files[i], true
}

func isAbs(p string) bool { return strings.HasPrefix(p, "/") }

// subfileName is gdb's dwarf2_start_subfile name: dir/name unless the name
// is absolute or there is no directory.
func (h *lineHeader) subfileName(f lineFile) string {
	if d, ok := h.includeDir(f); ok && !isAbs(f.name) {
		return d + "/" + f.name
	}
	return f.name
}

// lineBuilder is gdb's buildsym: the subfiles of one unit.
type lineBuilder struct {
	t    *lineTable
	cur  int // current subfile
	rows int
}

// start is gdb's start_subfile: find or make the subfile of name.
func (lb *lineBuilder) start(name string) int {
	for i, s := range lb.t.subs {
		sn := s.name
		if isAbs(name) && !isAbs(sn) && lb.t.hasCompDir {
			sn = lb.t.compDir + "/" + sn
		}
		if sn == name {
			lb.cur = i
			return i
		}
	}
	lb.t.subs = append(lb.t.subs, &subfile{name: name})
	lb.cur = len(lb.t.subs) - 1
	return lb.cur
}

// record is gdb's buildsym_compunit::record_line.
func (lb *lineBuilder) record(sub int, line uint32, pc uint64, isStmt bool) error {
	if sub < 0 {
		return nil
	}
	s := lb.t.subs[sub]
	if line == 0 {
		for len(s.rows) > 0 && s.rows[len(s.rows)-1].pc == pc {
			s.rows = s.rows[:len(s.rows)-1]
		}
	}
	if lb.rows++; lb.rows > maxLineRows {
		return fmt.Errorf("more than %d line table rows", maxLineRows)
	}
	s.rows = append(s.rows, lineRow{pc: pc, line: line, isStmt: isStmt})
	return nil
}

// decodeLines runs the line program of h into gdb's line tables. unitName
// is the unit's DW_AT_name (gdb's main subfile).
func decodeLines(b []byte, h *lineHeader) (*lineTable, error) {
	t := &lineTable{version: h.version, compDir: h.compDir, hasCompDir: h.hasCompDir}
	lb := &lineBuilder{t: t}
	lb.start(h.unitName) // the main subfile comes first
	addrSize := int(h.addrSize)
	if addrSize == 0 {
		addrSize = int(h.unitAddrSize)
	}
	if addrSize != 4 && addrSize != 8 {
		addrSize = 8
	}
	bad := func(pos int, format string, args ...any) error {
		return fmt.Errorf(".debug_line+%#x: %s", pos, fmt.Sprintf(format, args...))
	}
	prog := b[:h.progEnd]
	pos := h.progStart
	for pos < h.progEnd {
		// A fresh state machine per sequence (gdb's lnp_state_machine).
		var (
			address, lastAddress  uint64
			opIndex               uint64
			file                  uint64 = 1
			line                  int64  = 1
			lastLine              int64
			isStmt                = h.defaultStmt
			discriminator         uint64
			lineHasNonZeroDiscrim bool
			lastSub               = -1
			stmtAtAddress         bool
			recording             = true
			endSeq                bool
		)
		startFile := func() bool {
			f, ok := h.fileAt(file)
			if !ok {
				return false
			}
			lb.start(h.subfileName(f))
			return true
		}
		startFile()
		recordLine := func(end bool) error {
			_, fok := h.fileAt(file)
			if fok && (opIndex == 0 || end) {
				fileChanged := lastSub != lb.cur
				ignore := fileChanged && !end && lastAddress == address && !isStmt && stmtAtAddress ||
					!end && line == 0
				if fileChanged && !ignore || end {
					if recording && lastSub >= 0 {
						if err := lb.record(lastSub, 0, address, true); err != nil {
							return err
						}
					}
				}
				if !end && !ignore {
					if lb.cur != lastSub || line != lastLine || !lineHasNonZeroDiscrim {
						if recording {
							if err := lb.record(lb.cur, uint32(line), address, isStmt); err != nil {
								return err
							}
						}
					}
					lastSub = lb.cur
					lastLine = line
				}
			}
			if lastAddress != address {
				stmtAtAddress = false
				lastAddress = address
			}
			stmtAtAddress = stmtAtAddress || isStmt
			return nil
		}
		advanceLine := func(d int64) {
			line += d
			if d != 0 {
				lineHasNonZeroDiscrim = discriminator != 0
			}
		}
		advanceAddr := func(opAdv uint64) {
			if h.maxOps == 1 {
				address += opAdv * uint64(h.minInstLen)
				return
			}
			address += (opIndex + opAdv) / uint64(h.maxOps) * uint64(h.minInstLen)
			opIndex = (opIndex + opAdv) % uint64(h.maxOps)
		}
		for pos < h.progEnd && !endSeq {
			op := prog[pos]
			opPos := pos
			pos++
			switch {
			case op >= h.opcodeBase:
				adj := uint64(op - h.opcodeBase)
				advanceAddr(adj / uint64(h.lineRange))
				advanceLine(int64(h.lineBase) + int64(adj%uint64(h.lineRange)))
				if err := recordLine(false); err != nil {
					return nil, err
				}
				discriminator = 0
			case op == 0:
				n, np, ok := uleb(prog, pos)
				if !ok || n == 0 || n > uint64(h.progEnd-np) {
					return nil, bad(opPos, "bad extended opcode length")
				}
				pos = np
				next := pos + int(n)
				sub := prog[pos]
				pos++
				switch sub {
				case lneEndSequence:
					endSeq = true
				case lneSetAddress:
					if n-1 != uint64(addrSize) && n-1 != 4 && n-1 != 8 {
						return nil, bad(opPos, "DW_LNE_set_address of %d bytes", n-1)
					}
					a := readUint(prog, pos, int(n-1))
					if a == 0 && h.lowPC > 0 {
						// A function the linker discarded (gdb PR 12528).
						recording = false
					}
					opIndex = 0
					address = a
				case lneDefineFile:
					s, np, ok := cstr(prog, pos, next)
					if !ok {
						return nil, bad(opPos, "bad DW_LNE_define_file")
					}
					d, _, _ := uleb(prog[:next], np)
					if len(h.files) < maxLineFiles {
						h.files = append(h.files, lineFile{name: s, dir: d})
					}
				case lneSetDiscriminator:
					d, _, _ := uleb(prog[:next], pos)
					discriminator = d
					lineHasNonZeroDiscrim = lineHasNonZeroDiscrim || d != 0
				}
				pos = next
			case op == lnsCopy:
				if err := recordLine(false); err != nil {
					return nil, err
				}
				discriminator = 0
			case op == lnsAdvancePC:
				v, np, ok := uleb(prog, pos)
				if !ok {
					return nil, bad(opPos, "truncated DW_LNS_advance_pc")
				}
				pos = np
				advanceAddr(v)
			case op == lnsAdvanceLine:
				v, np, ok := sleb(prog, pos)
				if !ok {
					return nil, bad(opPos, "truncated DW_LNS_advance_line")
				}
				pos = np
				advanceLine(v)
			case op == lnsSetFile:
				v, np, ok := uleb(prog, pos)
				if !ok {
					return nil, bad(opPos, "truncated DW_LNS_set_file")
				}
				pos = np
				file = v
				if _, ok := h.fileAt(file); ok {
					prev := lb.cur
					lineHasNonZeroDiscrim = discriminator != 0
					startFile()
					lastSub = prev
				}
			case op == lnsNegateStmt:
				isStmt = !isStmt
			case op == lnsConstAddPC:
				advanceAddr(uint64(255-h.opcodeBase) / uint64(h.lineRange))
			case op == lnsFixedAdvancePC:
				if pos+2 > h.progEnd {
					return nil, bad(opPos, "truncated DW_LNS_fixed_advance_pc")
				}
				address += uint64(le.Uint16(prog[pos:]))
				opIndex = 0
				pos += 2
			default:
				// DW_LNS_set_column, set_basic_block, prologue_end,
				// epilogue_begin, set_isa and unknown opcodes: skip
				// their LEB128 operands.
				for i := 0; i < int(h.stdLens[op-1]); i++ {
					np, ok := skipLEB(prog, pos)
					if !ok {
						return nil, bad(opPos, "truncated operand of opcode %d", op)
					}
					pos = np
				}
			}
		}
		if err := recordLine(true); err != nil {
			return nil, err
		}
	}
	// gdb's symtabs: the main file first, then the file table's files in
	// order of first appearance; other subfiles (none in practice) last.
	order := make([]int, 0, len(t.subs))
	seen := make([]bool, len(t.subs))
	add := func(i int) {
		if i >= 0 && !seen[i] {
			seen[i] = true
			order = append(order, i)
		}
	}
	add(0)
	t.fileSub = make([]int, len(h.files))
	for i, f := range h.files {
		idx := -1
		name := h.subfileName(f)
		for j, s := range t.subs {
			if s.name == name {
				idx = j
				break
			}
		}
		if idx < 0 {
			// gdb would create the subfile here: same lookup rule.
			save := lb.cur
			idx = lb.start(name)
			lb.cur = save
			seen = append(seen, false)
		}
		t.fileSub[i] = idx
		add(idx)
	}
	for i := range t.subs {
		add(i)
	}
	subs := make([]*subfile, len(order))
	remap := make([]int, len(t.subs))
	for k, i := range order {
		subs[k] = t.subs[i]
		remap[i] = k
	}
	for i, s := range t.fileSub {
		t.fileSub[i] = remap[s]
	}
	t.subs = subs
	for _, s := range t.subs {
		sort.SliceStable(s.rows, func(i, j int) bool {
			a, b := s.rows[i], s.rows[j]
			if a.pc == b.pc && (a.line == 0) != (b.line == 0) {
				return a.line == 0
			}
			return a.pc < b.pc
		})
	}
	return t, nil
}

// lookup is gdb's find_pc_sect_line: the subfile and line of pc, or
// ok=false when no line is known.
func (t *lineTable) lookup(pc uint64) (sub *subfile, line uint32, ok bool) {
	var best *lineRow
	var bestSub *subfile
	for _, s := range t.subs {
		rows := s.rows
		i := sort.Search(len(rows), func(i int) bool { return rows[i].pc > pc })
		if i == 0 {
			continue
		}
		prev := &rows[i-1]
		if prev.line != 0 && (best == nil || prev.pc > best.pc) {
			best, bestSub = prev, s
			if !best.isStmt {
				k := i - 1
				for k > 0 && rows[k-1].pc == rows[k].pc && rows[k-1].line != 0 && !rows[k].isStmt {
					k--
				}
				if rows[k].isStmt {
					best = &rows[k]
				}
			}
		}
	}
	if best == nil || best.line == 0 {
		return nil, 0, false
	}
	return bestSub, best.line, true
}

// display is the file name crash prints for a subfile (gdb's symtab
// filename, after the unit's directory unless absolute; crash collapses
// "//"), and false when gdb would print nothing (no directory).
func (t *lineTable) display(s *subfile) (string, bool) {
	if !t.hasCompDir {
		return "", false
	}
	var p string
	switch {
	case isAbs(s.name):
		p = s.name
	case strings.HasSuffix(t.compDir, "/"):
		p = t.compDir + s.name
	default:
		p = t.compDir + "/" + s.name
	}
	for strings.Contains(p, "//") {
		p = strings.ReplaceAll(p, "//", "/")
	}
	return p, true
}
