// Package dwarfx is a fast DWARF index for kernel images and modules: it
// memory-maps the ELF file, indexes the names of types, variables,
// functions and enumerators of every unit in parallel (skipping subtrees by
// DW_AT_sibling or by abbreviation), and decodes single types lazily.
//
// It reads DWARF 2-5 (.debug_info, .debug_types, .debug_abbrev,
// .debug_str, .debug_line_str, .debug_str_offsets, .debug_addr, all
// forms including strx*, addrx*, implicit_const, data16, ref_addr and
// ref_sig8), ET_EXEC images (relocations already applied, which a test
// checks for the kernel's --emit-relocs sections) and ET_REL modules
// (their .rela.debug_* relocations applied on a private copy),
// SHF_COMPRESSED sections (zlib, zstd).
//
// What is indexed: the children of each unit (compile or partial unit):
// struct, union, enum, typedef, base and unspecified types, variables and
// functions (a nameless definition is named through its
// DW_AT_specification / DW_AT_abstract_origin), and the enumerators of
// every enum definition. One entry per (kind, name): a complete
// definition before a declaration, a variable with a location (external
// first) before a declaration, a function with code before an abstract
// instance or declaration; among equals, the lowest DIE offset. Types
// local to a function body are not indexed (as in drgn); neither are
// names in a dwz supplementary file (DW_FORM_GNU_strp_alt/ref_alt).
//
// Keys are .debug_str offsets, not strings: the linker merges .debug_str,
// so a name has one offset; a lookup finds the offsets where the name
// starts (bytes.Index over the section, cached). The pages of
// .debug_info are released (MADV_DONTNEED) as the scan passes them, so
// the resident set stays near the size of the index.
//
// Use: Open, then LookupType ("struct task_struct", "task_struct", "u64"),
// LookupKind, Sizeof, MemberOffset(t, "a.b[2].c"), Variable, FuncType,
// Function, Enumerator; NewSource adapts an Index to internal/types;
// LineAt and InlineChain give an address's source line (as gdb and crash
// print it) and inlined calls, from line programs decoded per unit on
// first use (lines.go).
// Malformed debug information gives errors naming the section and offset.
// An Index is safe for concurrent use; Close must not race with lookups.
package dwarfx

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"kdive/internal/types"
)

// ErrNotFound is returned for unknown names (it is types.ErrNotFound).
var ErrNotFound = types.ErrNotFound

// Index kinds.
const (
	kNone uint8 = iota
	kStruct
	kUnion
	kEnum
	kTypedef
	kBase
	kVar
	kFunc
	kEnumerator
	kUnspec
	numKinds
)

func kindOfTag(tag uint32) uint8 {
	switch tag {
	case tagStructType:
		return kStruct
	case tagUnionType:
		return kUnion
	case tagEnumerationType:
		return kEnum
	case tagTypedef:
		return kTypedef
	case tagBaseType:
		return kBase
	case tagVariable:
		return kVar
	case tagSubprogram:
		return kFunc
	case tagEnumerator:
		return kEnumerator
	case tagUnspecType:
		return kUnspec
	}
	return kNone
}

// String sections a name key can point into.
const (
	strSecStr     = 0
	strSecLineStr = 1
)

// Packed entries: quality<<56 | types-section bit<<55 | offset.
const (
	offMask   = 1<<55 - 1
	typesBit  = 1 << 55
	qualShift = 56
)

func nameKey(kind uint8, sec uint8, off uint64) uint64 {
	return uint64(kind)<<48 | uint64(sec)<<40 | off
}

func better(n, o uint64) bool {
	if o == 0 {
		return true
	}
	qn, qo := n>>qualShift, o>>qualShift
	if qn != qo {
		return qn > qo
	}
	return n&(typesBit|offMask) < o&(typesBit|offMask)
}

// Index is an opened, indexed DWARF file.
type Index struct {
	Path string
	ef   *elfFile

	info, types, abbrev, str, lineStr, strOffsets, addr []byte
	infoMapped                                          bool

	units  [2][]*unit // by section, sorted by offset
	names  *u64map
	inline map[string]uint64 // kind byte + name
	sigs   map[uint64]uint64 // type signature -> packed DIE ref

	abbrevMu sync.Mutex
	abbrevs  map[abbrevKey]*abbrevTable

	candMu sync.Mutex
	cands  map[string][2][]uint64

	mu    sync.Mutex
	cache map[uint64]*Type

	// Stats of the indexing pass.
	Stats Stats

	ln    lineState // line tables and inlined calls, loaded on first use (lines.go)
	funcs funcCache // functions of the units asked (funcranges.go)
}

// Stats describes the indexing pass.
type Stats struct {
	Units, Entries, Workers int
}

type abbrevKey struct {
	off uint64
	p   unitParams
}

// Open memory-maps path and indexes its DWARF.
func Open(path string) (*Index, error) {
	ef, err := mapFile(path)
	if err != nil {
		return nil, err
	}
	ix, err := newIndex(ef)
	if err != nil {
		ef.close()
		return nil, err
	}
	return ix, nil
}

// OpenLines memory-maps path for LineAt and InlineChain only: the unit
// headers are read but names are not indexed (a few milliseconds instead
// of the parallel scan), so name lookups (types, variables, functions)
// find nothing.
func OpenLines(path string) (*Index, error) {
	ef, err := mapFile(path)
	if err != nil {
		return nil, err
	}
	ix, err := newIndexScan(ef, false)
	if err != nil {
		ef.close()
		return nil, err
	}
	return ix, nil
}

// OpenBytes indexes an ELF image held in memory (tests, fuzzing).
func OpenBytes(name string, data []byte) (*Index, error) {
	ef, err := parseELF(name, data)
	if err != nil {
		return nil, err
	}
	return newIndex(ef)
}

// Close unmaps the file. Types already decoded stay usable; strings in
// them are copies.
func (ix *Index) Close() error {
	ix.ef.close()
	ix.ln.close()
	ix.info, ix.types, ix.abbrev, ix.str, ix.lineStr, ix.strOffsets, ix.addr = nil, nil, nil, nil, nil, nil, nil
	return nil
}

func newIndex(ef *elfFile) (*Index, error) { return newIndexScan(ef, true) }

// newIndexScan reads the unit headers and, with scan, indexes the names.
func newIndexScan(ef *elfFile, scan bool) (*Index, error) {
	ix := &Index{Path: ef.path, ef: ef, cache: map[uint64]*Type{}, abbrevs: map[abbrevKey]*abbrevTable{}, cands: map[string][2][]uint64{}}
	var err error
	get := func(name string) []byte {
		if err != nil {
			return nil
		}
		var b []byte
		b, err = ef.sectionData(name)
		return b
	}
	ix.info = get(".debug_info")
	ix.types = get(".debug_types")
	ix.abbrev = get(".debug_abbrev")
	ix.str = get(".debug_str")
	ix.lineStr = get(".debug_line_str")
	ix.strOffsets = get(".debug_str_offsets")
	ix.addr = get(".debug_addr")
	if err != nil {
		return nil, err
	}
	if ix.info == nil {
		return nil, fmt.Errorf("%s: no .debug_info section", ef.path)
	}
	ix.infoMapped = ef.mapped(ix.info) // only then may its pages be dropped
	for sec, b := range [][]byte{ix.info, ix.types} {
		var dropped uint64
		for off := uint64(0); off < uint64(len(b)); {
			u, err := parseUnitHeader(b, off, uint8(sec))
			if err != nil {
				return nil, fmt.Errorf("%s: %w", ef.path, err)
			}
			ix.units[sec] = append(ix.units[sec], u)
			off = u.end
			if sec == secInfo && ix.infoMapped && off-dropped > chunkBytes {
				// Reading a header faults in the pages around it
				// too (fault-around); let them go as we pass.
				ix.dropPages(ix.info, dropped, off)
				dropped = off
			}
		}
		if sec == secInfo && ix.infoMapped {
			ix.dropPages(ix.info, dropped, uint64(len(ix.info)))
		}
	}
	if !scan {
		ix.names = newU64map(0)
		ix.inline, ix.sigs = map[string]uint64{}, map[uint64]uint64{}
		ix.ln.lazyBases = true
		return ix, nil
	}
	if err := ix.scan(); err != nil {
		return nil, fmt.Errorf("%s: %w", ef.path, err)
	}
	return ix, nil
}

// table returns the abbreviation table of u (for lazy decoding; the
// indexing pass parses tables into reused scratch memory instead).
func (ix *Index) table(u *unit) (*abbrevTable, error) {
	k := abbrevKey{u.abbrevOff, u.unitParams}
	ix.abbrevMu.Lock()
	t := ix.abbrevs[k]
	ix.abbrevMu.Unlock()
	if t != nil {
		return t, nil
	}
	t, err := parseAbbrevs(ix.abbrev, u.abbrevOff, u.unitParams, nil)
	if err != nil {
		return nil, err
	}
	ix.abbrevMu.Lock()
	if len(ix.abbrevs) >= 64 {
		clear(ix.abbrevs)
	}
	ix.abbrevs[k] = t
	ix.abbrevMu.Unlock()
	return t, nil
}

const chunkBytes = 4 << 20

type chunk struct {
	sec    uint8
	lo, hi int // unit indexes
}

func (ix *Index) scan() error {
	var chunks []chunk
	for sec := range ix.units {
		us := ix.units[sec]
		for i := 0; i < len(us); {
			j, start := i, us[i].off
			for j < len(us) && (j == i || us[j].end-start <= chunkBytes) {
				j++
			}
			chunks = append(chunks, chunk{uint8(sec), i, j})
			i = j
		}
	}
	// runtime.NumCPU workers (GOMAXPROCS when lower), at most 8: each
	// has a done table the size of .debug_str.
	workers := min(runtime.NumCPU(), runtime.GOMAXPROCS(0), 8)
	if workers > len(chunks) {
		workers = len(chunks)
	}
	if workers < 1 {
		workers = 1
	}
	ix.Stats.Workers = workers
	ix.Stats.Units = len(ix.units[0]) + len(ix.units[1])
	// The name tables start at a size for the vmlinux; a module's
	// (tens of KiB of DWARF) start small and grow when needed.
	nameHint := min(1<<17, len(ix.info)/64+1024)
	scanners := make([]*scanner, workers)
	errs := make([]error, workers)
	var next atomic.Int64
	var failed atomic.Bool
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		s := &scanner{ix: ix, names: newU64map(nameHint), done: make([]uint8, len(ix.str)), inline: map[string]uint64{}, sigs: map[uint64]uint64{}}
		scanners[w] = s
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for !failed.Load() {
				c := int(next.Add(1) - 1)
				if c >= len(chunks) {
					return
				}
				ch := chunks[c]
				for _, u := range ix.units[ch.sec][ch.lo:ch.hi] {
					if err := s.scanUnit(u); err != nil {
						errs[w] = err
						failed.Store(true)
						return
					}
				}
				if ch.sec == secInfo && ix.infoMapped {
					us := ix.units[ch.sec]
					ix.dropPages(ix.info, us[ch.lo].off, us[ch.hi-1].end)
				}
			}
		}(w)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	// Merge into the biggest map.
	sort.Slice(scanners, func(i, j int) bool { return scanners[i].names.len() > scanners[j].names.len() })
	ix.names, ix.inline, ix.sigs = scanners[0].names, scanners[0].inline, scanners[0].sigs
	for _, s := range scanners[1:] {
		s.names.each(func(k, v uint64) {
			if p := ix.names.slot(k); better(v, *p) {
				*p = v
			}
		})
		for k, v := range s.inline {
			if better(v, ix.inline[k]) {
				ix.inline[k] = v
			}
		}
		for k, v := range s.sigs {
			ix.sigs[k] = v
		}
	}
	ix.Stats.Entries = ix.names.len() + len(ix.inline)
	if ix.ef.mapped(ix.abbrev) {
		ix.dropPages(ix.abbrev, 0, uint64(len(ix.abbrev)))
	}
	return nil
}

// dropPages tells the kernel we no longer need the whole pages of
// b[lo:hi] (a read-only private file mapping: they stay in the page cache
// and fault back in when read again), which keeps the resident set small.
func (ix *Index) dropPages(b []byte, lo, hi uint64) {
	ix.advise(b, lo, hi, unix.MADV_DONTNEED)
}

// advise applies madvise to the whole pages inside b[lo:hi].
func (ix *Index) advise(b []byte, lo, hi uint64, advice int) {
	if len(b) == 0 || hi <= lo {
		return
	}
	base := addrOf(b)
	ps := uint64(os.Getpagesize())
	start := (base+lo+ps-1)&^(ps-1) - base
	end := (base+hi)&^(ps-1) - base
	if end <= start || end > uint64(len(b)) {
		return
	}
	_ = unix.Madvise(b[start:end], advice)
}

type scanner struct {
	ix     *Index
	names  *u64map
	inline map[string]uint64
	sigs   map[uint64]uint64

	sib                uint64
	walkEnum, stopEnum bool
	scratch            abbrevScratch
	tab                *abbrevTable
	curEnum            uint64 // offset of the enum whose enumerators are being indexed
	// done[stroff] remembers, for the first kind indexed under that
	// .debug_str offset (bits 0-3), whether this worker holds an entry
	// (doneAny) and one of the best quality (doneMax): later DIEs that
	// cannot win skip the hash table (a worker sees its units in
	// increasing offset order, so a later DIE of the same quality never
	// wins). Other kinds of the same name always use the hash table.
	done []uint8
}

// done byte layout.
const (
	doneKind = 0x0f
	doneAny  = 0x10
	doneMax  = 0x20
)

// maxQuality is the best entry quality of each index kind.
var maxQuality = [numKinds]uint64{kStruct: 2, kUnion: 2, kEnum: 2, kTypedef: 2, kBase: 2, kVar: 3, kFunc: 3, kEnumerator: 2, kUnspec: 2}

func (ix *Index) secData(sec uint8) []byte {
	if sec == secTypes {
		return ix.types
	}
	return ix.info
}

func (s *scanner) scanUnit(u *unit) error {
	ix := s.ix
	b := ix.secData(u.sec)[:u.end]
	name := secNames[u.sec]
	tab, err := parseAbbrevs(ix.abbrev, u.abbrevOff, u.unitParams, &s.scratch)
	if err != nil {
		return err
	}
	s.tab = tab
	pos := int(u.dieOff)
	code, pos, ok := uleb(b, pos)
	if !ok {
		return fmt.Errorf("%s+%#x: truncated DIE", name, u.dieOff)
	}
	if code == 0 {
		return nil
	}
	ab := tab.get(code)
	if ab == nil {
		return fmt.Errorf("%s+%#x: unknown abbreviation code %d", name, u.dieOff, code)
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
	if u.utype == utType || u.utype == utSplitType {
		ref := u.typeOff
		if u.sec == secTypes {
			ref |= typesBit
		}
		s.sigs[u.sig] = ref
	}
	if !ab.children {
		return nil
	}
	depth := 1
	inEnum := false
	var enumSib uint64
	for pos < len(b) {
		dieOff := pos
		var code uint64
		if c := b[pos]; c < 0x80 {
			code, pos = uint64(c), pos+1
		} else {
			code, pos, ok = uleb(b, pos)
			if !ok {
				return fmt.Errorf("%s+%#x: truncated DIE", name, dieOff)
			}
		}
		if code == 0 {
			depth--
			inEnum = false
			if depth <= 0 {
				break
			}
			continue
		}
		ab := tab.get(code)
		if ab == nil {
			return fmt.Errorf("%s+%#x: unknown abbreviation code %d", name, dieOff, code)
		}
		if k := ab.kind; ab.index && (depth == 1 && k != kEnumerator || depth == 2 && inEnum && k == kEnumerator) {
			pos, err = s.record(u, b, dieOff, pos, ab)
			if err != nil {
				return err
			}
			if s.stopEnum {
				s.stopEnum = false
				inEnum = false
				if enumSib != 0 {
					pos = int(enumSib)
					depth--
				}
				continue
			}
			if ab.children {
				if k == kEnum && s.walkEnum {
					depth++
					inEnum = true
					enumSib = s.sib
					s.curEnum = uint64(dieOff)
					continue
				}
				if s.sib != 0 {
					pos = int(s.sib)
					continue
				}
				depth++
			}
			continue
		}
		if ab.fixed >= 0 {
			if ab.children && ab.sibAt >= 0 {
				p := pos + int(ab.sibAt)
				n := fixedFormSize(ab.sibForm, u.unitParams)
				if p+n > len(b) {
					return fmt.Errorf("%s+%#x: DIE runs past the end of the unit", name, dieOff)
				}
				t := readUint(b, p, n)
				if ab.sibForm != formRefAddr {
					t += u.off
				}
				if t <= uint64(dieOff) || t > uint64(len(b)) {
					return fmt.Errorf("%s+%#x: DW_AT_sibling %#x out of range", name, dieOff, t)
				}
				pos = int(t)
				continue
			}
			pos += int(ab.fixed)
			if pos > len(b) {
				return fmt.Errorf("%s+%#x: DIE runs past the end of the unit", name, dieOff)
			}
		} else {
			var sib uint64
			for i := range ab.attrs {
				a := &ab.attrs[i]
				if a.at == atSibling {
					v, np, err := u.readValue(b, pos, a.form, a.ic)
					if err != nil {
						return err
					}
					sib, pos = v.u, np
					continue
				}
				if a.size >= 0 {
					pos += int(a.size)
					continue
				}
				if pos, ok = u.skipValue(b, pos, a.form); !ok {
					return fmt.Errorf("%s+%#x: DIE runs past the end of the unit", name, dieOff)
				}
			}
			if ab.children && sib != 0 {
				if sib <= uint64(dieOff) || sib > uint64(len(b)) {
					return fmt.Errorf("%s+%#x: DW_AT_sibling %#x out of range", name, dieOff, sib)
				}
				pos = int(sib)
				continue
			}
		}
		if ab.children {
			depth++
		}
	}
	return nil
}

// record indexes one DIE whose abbreviation has an indexed tag; it
// returns the offset after its attributes and sets s.sib, s.walkEnum,
// s.stopEnum.
func (s *scanner) record(u *unit, b []byte, dieOff, pos int, ab *abbrev) (int, error) {
	s.sib, s.walkEnum, s.stopEnum = 0, false, false
	var nameV value
	hasName, decl, loc, ext, code := false, false, false, false, false
	var spec uint64
	for i := range ab.attrs {
		a := &ab.attrs[i]
		if n := int(a.size); n >= 0 {
			// Fixed size: no call to readValue.
			if pos+n > len(b) {
				return pos, fmt.Errorf("%s+%#x: DIE runs past the end of the unit", secNames[u.sec], dieOff)
			}
			switch a.at {
			case atName, atSibling, atDeclaration, atLocation, atExternal, atLowPC, atRanges, atSpecification, atAbstractOrigin:
			default:
				pos += n
				continue
			}
			x := readUint(b, pos, n)
			pos += n
			switch a.form {
			case formFlagPresent:
				x = 1
			case formImplicitConst:
				x = uint64(a.ic)
			case formRef1, formRef2, formRef4, formRef8:
				x += u.off
			}
			switch a.at {
			case atName:
				nameV, hasName = value{form: a.form, u: x}, true
			case atSibling:
				if x <= uint64(dieOff) || x > uint64(len(b)) || a.form == formRefSig8 {
					return pos, fmt.Errorf("%s+%#x: DW_AT_sibling %#x out of range", secNames[u.sec], dieOff, x)
				}
				s.sib = x
			case atDeclaration:
				decl = x != 0
			case atLocation:
				loc = true
			case atExternal:
				ext = x != 0
			case atLowPC, atRanges:
				code = true
			case atSpecification, atAbstractOrigin:
				if a.form != formRefSig8 && a.form != formGNURefAlt && a.form != formRefSup4 && a.form != formRefSup8 {
					spec = x
				}
			}
			continue
		}
		switch a.at {
		case atName, atSibling, atDeclaration, atLocation, atExternal, atLowPC, atRanges, atSpecification, atAbstractOrigin:
		default:
			np, ok := u.skipValue(b, pos, a.form)
			if !ok {
				return pos, fmt.Errorf("%s+%#x: DIE runs past the end of the unit", secNames[u.sec], dieOff)
			}
			pos = np
			continue
		}
		v, np, err := u.readValue(b, pos, a.form, a.ic)
		if err != nil {
			return pos, err
		}
		pos = np
		switch a.at {
		case atName:
			nameV, hasName = v, true
		case atSibling:
			if v.u <= uint64(dieOff) || v.u > uint64(len(b)) {
				return pos, fmt.Errorf("%s+%#x: DW_AT_sibling %#x out of range", secNames[u.sec], dieOff, v.u)
			}
			s.sib = v.u
		case atDeclaration:
			decl = v.u != 0
		case atLocation:
			loc = v.form != formExprloc || len(v.blk) > 0
		case atExternal:
			ext = v.u != 0
		case atLowPC, atRanges:
			code = true
		case atSpecification, atAbstractOrigin:
			if v.form != formRefSig8 && v.form != formGNURefAlt && v.form != formRefSup4 && v.form != formRefSup8 {
				spec = v.u
			}
		}
	}
	k := ab.kind
	if !hasName && spec != 0 && (k == kVar || k == kFunc) {
		var v value
		var ok bool
		var err error
		if spec > uint64(dieOff) || spec < u.dieOff {
			v, ok, err = s.ix.dieName(u, spec, 0)
		} else {
			v, ok, err = s.nameInUnit(u, b, spec)
		}
		if err != nil {
			return pos, err
		}
		nameV, hasName = v, ok
	}
	if !hasName {
		if k == kEnum && ab.children && !decl {
			s.walkEnum = true // anonymous enum: index its enumerators
		}
		return pos, nil
	}
	var q uint64 = 1
	switch k {
	case kStruct, kUnion, kEnum:
		if !decl {
			q = 2
		}
	case kTypedef, kBase, kEnumerator, kUnspec:
		q = 2
	case kVar:
		if loc {
			q = 2
			if ext || spec != 0 && ab.hasAttr(atType) {
				// External, or a definition that completes its
				// declaration's type (const char linux_banner[] declared,
				// [204] defined: init/version-timestamp.c, while
				// init/version.c's __weak definition keeps the
				// declaration's incomplete type).
				q = 3
			}
		}
	case kFunc:
		if code {
			q = 2
			if ext {
				q = 3
			}
		}
	}
	ref := uint64(dieOff)
	if k == kEnumerator {
		ref = s.curEnum // enumerators lead to their enum
	}
	if u.sec == secTypes {
		ref |= typesBit
	}
	ent := q<<qualShift | ref
	var old uint64
	switch nameV.form {
	case formString:
		var kb [65]byte
		kb[0] = k
		if len(nameV.blk) < 64 {
			n := copy(kb[1:], nameV.blk)
			old = s.inline[string(kb[:1+n])]
		} else {
			old = s.inline[string(rune(k))+string(nameV.blk)]
		}
		if better(ent, old) {
			s.inline[string(rune(k))+string(nameV.blk)] = ent
		}
	default:
		sec, off, ok, err := s.ix.strOffset(u, nameV)
		if err != nil {
			return pos, err
		}
		if !ok {
			return pos, nil
		}
		var d uint8
		if sec == strSecStr {
			d = s.done[off]
			if d&doneKind == k {
				if d&doneMax != 0 {
					old = maxQuality[k] << qualShift
					break
				}
				if q == 1 && d&doneAny != 0 {
					old = 1 << qualShift
					break
				}
			}
		}
		p := s.names.slot(nameKey(k, sec, off))
		old = *p
		if better(ent, old) {
			*p = ent
		}
		if sec == strSecStr {
			if d&doneKind == 0 {
				d = k
			}
			if d&doneKind == k {
				d |= doneAny
				if q == maxQuality[k] {
					d |= doneMax
				}
				s.done[off] = d
			}
		}
	}
	if k == kEnum && ab.children && !decl {
		// Every definition's enumerators: two enums may share a tag or
		// a first enumerator and still differ (static enums of two
		// drivers); repeated enumerators cost one done-bit test each.
		s.walkEnum = true
	}
	return pos, nil
}

// nameInUnit reads DW_AT_name of an earlier DIE of the unit being scanned
// (with the scanner's abbreviation table).
func (s *scanner) nameInUnit(u *unit, b []byte, off uint64) (value, bool, error) {
	code, pos, ok := uleb(b, int(off))
	if !ok || code == 0 {
		return value{}, false, fmt.Errorf("%s+%#x: bad DIE reference", secNames[u.sec], off)
	}
	ab := s.tab.get(code)
	if ab == nil {
		return value{}, false, fmt.Errorf("%s+%#x: unknown abbreviation code %d", secNames[u.sec], off, code)
	}
	var spec uint64
	for i := range ab.attrs {
		a := &ab.attrs[i]
		switch a.at {
		case atName, atSpecification, atAbstractOrigin:
			v, np, err := u.readValue(b, pos, a.form, a.ic)
			if err != nil {
				return value{}, false, err
			}
			if a.at == atName {
				return v, true, nil
			}
			if v.form != formRefSig8 && v.form != formGNURefAlt && v.form != formRefSup4 && v.form != formRefSup8 {
				spec = v.u
			}
			pos = np
		default:
			if pos, ok = u.skipValue(b, pos, a.form); !ok {
				return value{}, false, fmt.Errorf("%s+%#x: DIE runs past the end of the unit", secNames[u.sec], off)
			}
		}
	}
	if spec != 0 && spec < off && spec >= u.dieOff {
		return s.nameInUnit(u, b, spec)
	}
	if spec != 0 {
		return s.ix.dieName(u, spec, 1)
	}
	return value{}, false, nil
}

// strOffset resolves a string-valued attribute to (section, offset).
func (ix *Index) strOffset(u *unit, v value) (uint8, uint64, bool, error) {
	switch v.form {
	case formStrp:
		if v.u >= uint64(len(ix.str)) {
			return 0, 0, false, fmt.Errorf(".debug_str offset %#x out of range", v.u)
		}
		return strSecStr, v.u, true, nil
	case formLineStrp:
		if v.u >= uint64(len(ix.lineStr)) {
			return 0, 0, false, fmt.Errorf(".debug_line_str offset %#x out of range", v.u)
		}
		return strSecLineStr, v.u, true, nil
	case formStrx, formStrx1, formStrx2, formStrx3, formStrx4, formGNUStrIndex:
		n := uint64(u.offSize)
		p := u.strBase + v.u*n
		if v.u > uint64(len(ix.strOffsets)) || p+n > uint64(len(ix.strOffsets)) || p < u.strBase {
			return 0, 0, false, fmt.Errorf(".debug_str_offsets+%#x: string index %d out of range", u.strBase, v.u)
		}
		off := readUint(ix.strOffsets, int(p), int(n))
		if off >= uint64(len(ix.str)) {
			return 0, 0, false, fmt.Errorf(".debug_str_offsets+%#x: .debug_str offset %#x out of range", p, off)
		}
		return strSecStr, off, true, nil
	}
	return 0, 0, false, nil // supplementary/alternate files are not read
}

// str returns the string value of a string-form attribute.
func (ix *Index) strValue(u *unit, v value) (string, error) {
	if v.form == formString {
		return string(v.blk), nil
	}
	sec, off, ok, err := ix.strOffset(u, v)
	if err != nil || !ok {
		return "", err
	}
	b := ix.str
	if sec == strSecLineStr {
		b = ix.lineStr
	}
	end := bytes.IndexByte(b[off:], 0)
	if end < 0 {
		return "", fmt.Errorf(".debug_str+%#x: unterminated string", off)
	}
	return string(b[off : off+uint64(end)]), nil
}

// findUnit returns the unit of section sec containing off.
func (ix *Index) findUnit(sec uint8, off uint64) *unit {
	us := ix.units[sec]
	i := sort.Search(len(us), func(i int) bool { return us[i].end > off })
	if i < len(us) && us[i].dieOff <= off {
		return us[i]
	}
	return nil
}

// dieName reads DW_AT_name of the DIE at off (following one more
// specification/abstract origin level, up to depth 4).
func (ix *Index) dieName(from *unit, off uint64, depth int) (value, bool, error) {
	if depth > 4 {
		return value{}, false, nil
	}
	u := from
	if off < u.dieOff || off >= u.end {
		u = ix.findUnit(from.sec, off)
		if u == nil {
			return value{}, false, fmt.Errorf("%s+%#x: reference out of range", secNames[from.sec], off)
		}
	}
	d, err := ix.readDIE(u, off)
	if err != nil {
		return value{}, false, err
	}
	if d.hasName {
		return d.nameV, true, nil
	}
	if d.spec != 0 {
		return ix.dieName(u, d.spec, depth+1)
	}
	return value{}, false, nil
}

// candidates returns the offsets in .debug_str and .debug_line_str where
// the string name starts (string merging can put it inside a longer one).
func (ix *Index) candidates(name string) [2][]uint64 {
	ix.candMu.Lock()
	c, ok := ix.cands[name]
	ix.candMu.Unlock()
	if ok {
		return c
	}
	pat := []byte(name + "\x00")
	for sec, b := range [][]byte{ix.str, ix.lineStr} {
		for base := 0; base < len(b); {
			i := bytes.Index(b[base:], pat)
			if i < 0 {
				break
			}
			c[sec] = append(c[sec], uint64(base+i))
			base += i + 1
		}
	}
	ix.candMu.Lock()
	if len(ix.cands) > 4096 {
		ix.cands = map[string][2][]uint64{}
	}
	ix.cands[name] = c
	ix.candMu.Unlock()
	return c
}

// find returns the best entry of kind for name (0 when none).
func (ix *Index) find(kind uint8, name string) uint64 {
	var best uint64
	if name == "" {
		return 0
	}
	c := ix.candidates(name)
	for sec := range c {
		for _, off := range c[sec] {
			if v := ix.names.get(nameKey(kind, uint8(sec), off)); v != 0 && better(v, best) {
				best = v
			}
		}
	}
	if v := ix.inline[string(rune(kind))+name]; v != 0 && better(v, best) {
		best = v
	}
	return best
}

// splitKind parses "struct x", "union x", "enum x" or a bare name.
func splitKind(name string) (kinds []uint8, bare string) {
	name = strings.TrimSpace(name)
	for _, p := range []struct {
		pre string
		k   uint8
	}{{"struct ", kStruct}, {"union ", kUnion}, {"enum ", kEnum}} {
		if strings.HasPrefix(name, p.pre) {
			return []uint8{p.k}, strings.TrimSpace(name[len(p.pre):])
		}
	}
	// A complete struct or union first (as internal/types asks), then
	// typedefs and base types, enums.
	return []uint8{kStruct, kUnion, kTypedef, kBase, kEnum, kUnspec}, name
}
