package dwarfx

// Source lines of addresses: which unit holds an address (.debug_aranges,
// else each unit's DW_AT_low_pc/high_pc/ranges), that unit's line program
// decoded on first use into gdb's line tables (lineprog.go) and cached.
// Nothing is decoded at Open: the first lookup builds the address index
// (a pass over .debug_aranges), each unit's program is decoded when an
// address in it is first asked.

import (
	"bytes"
	"fmt"
	"sort"
	"sync"
)

// SourceLine is a position in the source: the file as crash prints it
// (the unit's directory, then the file's directory and name as the line
// table records them) and the line.
type SourceLine struct {
	File string
	Line int
	// Name is the file as gdb names it in messages ("fs/read_write.c":
	// the line table's directory and name, without the unit's
	// directory, which is Dir).
	Name, Dir string
}

func (s SourceLine) String() string { return fmt.Sprintf("%s: %d", s.File, s.Line) }

// lineState is the Index's lazily loaded line information.
type lineState struct {
	once                            sync.Once
	err                             error
	line, aranges, rnglists, ranges []byte
	cus                             []cuRange // sorted by lo

	mu     sync.Mutex
	tables map[uint64]*cuLines      // by unit offset
	chains map[uint64][]InlinedCall // by address (inline.go)

	// lazyBases: the names were not scanned (OpenLines), so each unit's
	// DW_AT_str_offsets_base and DW_AT_addr_base are read on first use.
	lazyBases bool
	basesMu   sync.Mutex
	basesDone map[uint64]bool
}

func (l *lineState) close() {
	l.mu.Lock()
	l.line, l.aranges, l.rnglists, l.ranges, l.cus, l.tables, l.chains = nil, nil, nil, nil, nil, nil, nil
	l.mu.Unlock()
}

// cuRange is one address range of a compile unit.
type cuRange struct {
	lo, hi uint64
	u      *unit
}

// cuInfo is what the unit DIE says about lines and addresses.
type cuInfo struct {
	name, compDir  string
	hasCompDir     bool
	stmtList       uint64
	hasStmt        bool
	base           uint64 // DW_AT_low_pc
	rnglistsBase   uint64
	ranges         []addrRange
	firstChild     uint64
	hasChildren    bool
	rangesDecodeOK bool
}

// cuLines is a unit's decoded line table (or the error decoding it).
type cuLines struct {
	u    *unit
	info *cuInfo
	t    *lineTable
	err  error
}

// maxCachedTables bounds the decoded line tables kept.
const maxCachedTables = 128

func (ix *Index) loadLines() error {
	l := &ix.ln
	l.once.Do(func() {
		get := func(name string) []byte {
			if l.err != nil {
				return nil
			}
			b, err := ix.ef.sectionData(name)
			if err != nil {
				l.err = err
			}
			return b
		}
		l.line = get(".debug_line")
		l.aranges = get(".debug_aranges")
		l.rnglists = get(".debug_rnglists")
		l.ranges = get(".debug_ranges")
		l.tables = map[uint64]*cuLines{}
		if l.err == nil {
			l.err = ix.buildCURanges()
		}
	})
	return l.err
}

// buildCURanges makes the address → unit index: .debug_aranges for the
// units it covers, the unit DIE's ranges for the others.
func (ix *Index) buildCURanges() error {
	l := &ix.ln
	covered := map[uint64]bool{}
	b := l.aranges
	for off := 0; off < len(b); {
		if len(b)-off < 4 {
			return fmt.Errorf(".debug_aranges+%#x: truncated header", off)
		}
		length := uint64(le.Uint32(b[off:]))
		pos := off + 4
		offSize := 4
		if length == 0xffffffff {
			if pos+8 > len(b) {
				return fmt.Errorf(".debug_aranges+%#x: truncated header", off)
			}
			length = le.Uint64(b[pos:])
			pos += 8
			offSize = 8
		}
		if length > uint64(len(b)-pos) || length < uint64(2+offSize+2) {
			return fmt.Errorf(".debug_aranges+%#x: set length %#x out of range", off, length)
		}
		end := pos + int(length)
		cuOff := readUint(b, pos+2, offSize)
		as := int(b[pos+2+offSize])
		seg := int(b[pos+3+offSize])
		pos += 4 + offSize
		if as != 4 && as != 8 {
			return fmt.Errorf(".debug_aranges+%#x: address size %d", off, as)
		}
		tuple := 2*as + seg
		if r := (pos - off) % tuple; r != 0 {
			pos += tuple - r
		}
		var u *unit
		if f := ix.findUnit(secInfo, cuOff); f != nil && f.off == cuOff {
			u = f
		} else if us := ix.units[secInfo]; true {
			// findUnit wants an offset inside the unit: its header
			// offset is before its first DIE.
			i := sort.Search(len(us), func(i int) bool { return us[i].off >= cuOff })
			if i < len(us) && us[i].off == cuOff {
				u = us[i]
			}
		}
		for ; pos+tuple <= end; pos += tuple {
			lo := readUint(b, pos+seg, as)
			n := readUint(b, pos+seg+as, as)
			if lo == 0 && n == 0 {
				break
			}
			if u != nil && n > 0 && lo+n > lo {
				l.cus = append(l.cus, cuRange{lo, lo + n, u})
			}
		}
		if u != nil {
			covered[u.off] = true
		}
		off = end
	}
	for _, u := range ix.units[secInfo] {
		if covered[u.off] || u.utype != utCompile {
			continue
		}
		info, err := ix.cuInfo(u)
		if err != nil {
			continue // a unit we cannot read has no lines
		}
		for _, r := range info.ranges {
			l.cus = append(l.cus, cuRange{r.lo, r.hi, u})
		}
	}
	sort.Slice(l.cus, func(i, j int) bool { return l.cus[i].lo < l.cus[j].lo })
	return nil
}

// unitAt returns the compile unit whose code covers pc.
func (ix *Index) unitAt(pc uint64) *unit {
	cus := ix.ln.cus
	i := sort.Search(len(cus), func(i int) bool { return cus[i].lo > pc })
	// Ranges do not overlap in a linked image; look back a little in
	// case they do.
	for k := i - 1; k >= 0 && k >= i-8; k-- {
		if pc >= cus[k].lo && pc < cus[k].hi {
			return cus[k].u
		}
	}
	return nil
}

// unitBases sets u's string and address bases as the name scan does, for
// an index opened without it.
func (ix *Index) unitBases(u *unit) error {
	l := &ix.ln
	if !l.lazyBases {
		return nil
	}
	l.basesMu.Lock()
	defer l.basesMu.Unlock()
	if l.basesDone[u.off] {
		return nil
	}
	b := ix.secData(u.sec)[:u.end]
	tab, err := ix.table(u)
	if err != nil {
		return err
	}
	code, pos, ok := uleb(b, int(u.dieOff))
	if !ok || code == 0 {
		return fmt.Errorf("%s+%#x: bad unit DIE", secNames[u.sec], u.dieOff)
	}
	ab := tab.get(code)
	if ab == nil {
		return fmt.Errorf("%s+%#x: unknown abbreviation code %d", secNames[u.sec], u.dieOff, code)
	}
	for _, a := range ab.attrs {
		v, np, err := u.readValue(b, pos, a.form, a.ic)
		if err != nil {
			return err
		}
		pos = np
		switch a.at {
		case atStrOffsetsBase:
			u.strBase = v.u
		case atAddrBase, atGNUAddrBase:
			u.addrBase = v.u
		}
	}
	if u.version >= 5 && u.strBase == 0 && len(ix.strOffsets) > 0 {
		u.strBase = 8
	}
	if l.basesDone == nil {
		l.basesDone = map[uint64]bool{}
	}
	l.basesDone[u.off] = true
	return nil
}

// cuInfo reads the unit DIE of u.
func (ix *Index) cuInfo(u *unit) (*cuInfo, error) {
	if err := ix.unitBases(u); err != nil {
		return nil, err
	}
	b := ix.secData(u.sec)
	if u.end > uint64(len(b)) {
		return nil, fmt.Errorf("%s+%#x: unit out of range", secNames[u.sec], u.off)
	}
	b = b[:u.end]
	tab, err := ix.table(u)
	if err != nil {
		return nil, err
	}
	code, pos, ok := uleb(b, int(u.dieOff))
	if !ok || code == 0 {
		return nil, fmt.Errorf("%s+%#x: bad unit DIE", secNames[u.sec], u.dieOff)
	}
	ab := tab.get(code)
	if ab == nil {
		return nil, fmt.Errorf("%s+%#x: unknown abbreviation code %d", secNames[u.sec], u.dieOff, code)
	}
	info := &cuInfo{hasChildren: ab.children}
	var pa pcAttrs
	var nameV, dirV value
	hasName := false
	for _, a := range ab.attrs {
		v, np, err := u.readValue(b, pos, a.form, a.ic)
		if err != nil {
			return nil, err
		}
		pos = np
		switch a.at {
		case atName:
			nameV, hasName = v, true
		case atCompDir:
			dirV, info.hasCompDir = v, true
		case atStmtList:
			info.stmtList, info.hasStmt = v.u, true
		case atLowPC:
			pa.low, pa.hasLow = v, true
		case atHighPC:
			pa.high, pa.hasHigh = v, true
		case atRanges:
			pa.ranges, pa.hasRanges = v, true
		case atRnglistsBase:
			info.rnglistsBase = v.u
		}
	}
	info.firstChild = uint64(pos)
	if hasName {
		if info.name, err = ix.strValue(u, nameV); err != nil {
			return nil, err
		}
	}
	if info.hasCompDir {
		if info.compDir, err = ix.strValue(u, dirV); err != nil {
			return nil, err
		}
	}
	if pa.hasLow {
		if info.base, err = ix.address(u, pa.low); err != nil {
			return nil, err
		}
	}
	if info.ranges, err = ix.pcRanges(u, &pa, info.base, info.rnglistsBase); err != nil {
		return nil, err
	}
	if len(info.ranges) == 0 && pa.hasLow && !pa.hasHigh && !pa.hasRanges {
		info.ranges = []addrRange{{info.base, info.base + 1}}
	}
	return info, nil
}

// unitLines returns the decoded line table of the unit covering pc (nil
// when no unit covers it).
func (ix *Index) unitLines(pc uint64) (*cuLines, error) {
	if err := ix.loadLines(); err != nil {
		return nil, err
	}
	u := ix.unitAt(pc)
	if u == nil {
		return nil, nil
	}
	l := &ix.ln
	l.mu.Lock()
	c := l.tables[u.off]
	l.mu.Unlock()
	if c != nil {
		return c, c.err
	}
	c = &cuLines{u: u}
	c.info, c.err = ix.cuInfo(u)
	if c.err == nil && c.info.hasStmt {
		c.t, c.err = ix.decodeUnitLines(u, c.info)
	}
	l.mu.Lock()
	if len(l.tables) >= maxCachedTables {
		clear(l.tables)
	}
	l.tables[u.off] = c
	l.mu.Unlock()
	return c, c.err
}

func (ix *Index) decodeUnitLines(u *unit, info *cuInfo) (*lineTable, error) {
	l := &ix.ln
	strs := func(form uint32, v uint64) (string, error) {
		var sec []byte
		switch form {
		case formLineStrp:
			sec = ix.lineStr
		case formStrp:
			sec = ix.str
		case formStrx, formStrx1, formStrx2, formStrx3, formStrx4:
			return ix.strValue(u, value{form: form, u: v})
		default:
			return "", fmt.Errorf("unsupported string form %#x", form)
		}
		if v >= uint64(len(sec)) {
			return "", fmt.Errorf("string offset %#x out of range", v)
		}
		end := bytes.IndexByte(sec[v:], 0)
		if end < 0 {
			return "", fmt.Errorf("unterminated string at %#x", v)
		}
		return string(sec[v : v+uint64(end)]), nil
	}
	h, err := parseLineHeader(l.line, info.stmtList, strs)
	if err != nil {
		return nil, err
	}
	h.compDir, h.hasCompDir, h.unitName, h.unitAddrSize = info.compDir, info.hasCompDir, info.name, u.addrSize
	for i, r := range info.ranges {
		if i == 0 || r.lo < h.lowPC {
			h.lowPC = r.lo
		}
	}
	return decodeLines(l.line, h)
}

// LineAt returns the source file and line of pc, an address in the
// file's own address space, as gdb's find_pc_line gives them to crash.
// ok is false when the debug information has no line for pc.
func (ix *Index) LineAt(pc uint64) (SourceLine, bool, error) {
	c, err := ix.unitLines(pc)
	if err != nil || c == nil || c.t == nil {
		return SourceLine{}, false, err
	}
	s, line, ok := c.t.lookup(pc)
	if !ok {
		return SourceLine{}, false, nil
	}
	name, ok := c.t.display(s)
	if !ok {
		return SourceLine{}, false, nil
	}
	return SourceLine{File: name, Line: int(line), Name: s.name, Dir: c.t.compDir}, true, nil
}

// fileName is the name crash would print for file index n of the unit's
// line table (DW_AT_call_file), "" when unknown.
func (c *cuLines) fileName(n uint64) string {
	if c.t == nil {
		return ""
	}
	i := int64(n)
	if c.t.version < 5 {
		i--
	}
	if i < 0 || i >= int64(len(c.t.fileSub)) {
		return ""
	}
	name, _ := c.t.display(c.t.subs[c.t.fileSub[i]])
	return name
}
