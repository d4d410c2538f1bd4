package mm

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
)

// VMCOREINFO is the dump's VMCOREINFO; *program.Program satisfies it.
type VMCOREINFO interface {
	VMCOREINFO(key string) (string, bool)
}

// Page is one struct page.
type Page struct {
	Addr    uint64 // struct page *
	PFN     uint64
	Flags   uint64 // page->flags
	Mapping uint64 // page->mapping (the slab cache for a slab page)
	Index   uint64 // page->index
	Count   int32  // page->_refcount
	// Err is set when the struct page could not be read (its vmemmap page
	// is excluded from the dump or not mapped); the other fields but Addr
	// and PFN are then zero.
	Err error
}

// Pages reads the struct page array of a SPARSEMEM_VMEMMAP kernel: the
// struct page of pfn n is at vmemmap_base + n * sizeof(struct page);
// which pfns have one is said by the mem_section table (a section's
// section_mem_map with SECTION_MARKED_PRESENT and SECTION_HAS_MEM_MAP).
type Pages struct {
	src                        Source
	Vmemmap                    uint64 // vmemmap_base
	Size                       uint64 // sizeof(struct page)
	MaxPFN                     uint64 // max_pfn
	oFlags, oMap, oIdx, oCount uint64
	// sections
	memSection         uint64 // the root array (SPARSEMEM_EXTREME) or the array
	extreme            bool
	secSize, secMapOff uint64
	sectionShift       uint // SECTION_SIZE_BITS - PAGE_SHIFT
	perRoot, nrRoots   uint64
}

// PageShift is x86-64's.
const PageShift = 12

// Section flags (include/linux/mmzone.h).
const (
	sectionMarkedPresent = 1 << 0
	sectionHasMemMap     = 1 << 1
)

func vmcoreNum(v VMCOREINFO, key string) (uint64, bool) {
	if v == nil {
		return 0, false
	}
	s, ok := v.VMCOREINFO(key)
	if !ok {
		return 0, false
	}
	if strings.HasPrefix(key, "SYMBOL(") {
		u, err := strconv.ParseUint(s, 16, 64)
		return u, err == nil
	}
	n, err := strconv.ParseInt(s, 0, 64)
	if err != nil {
		if u, err := strconv.ParseUint(s, 16, 64); err == nil {
			return u, true
		}
		return 0, false
	}
	return uint64(n), true
}

// NewPages resolves the memory map: vmemmap_base, sizeof(struct page) and
// its members from the types (VMCOREINFO's SIZE(page) and OFFSET(page.*)
// when the types lack them), max_pfn, and the mem_section table from
// VMCOREINFO (SYMBOL(mem_section), LENGTH, SIZE, SECTION_SIZE_BITS).
func NewPages(src Source, vi VMCOREINFO) (*Pages, error) {
	pg := &Pages{src: src}
	a, err := src.Symbol("vmemmap_base")
	if err != nil {
		return nil, fmt.Errorf("mm: no vmemmap_base: %w", err)
	}
	if pg.Vmemmap, err = u64(src, a); err != nil {
		return nil, fmt.Errorf("mm: vmemmap_base at %#x: %w", a, err)
	}
	pg.Size, err = src.TypeSize("page")
	if err != nil || pg.Size == 0 {
		if n, ok := vmcoreNum(vi, "SIZE(page)"); ok {
			pg.Size = n
		} else {
			pg.Size = 64
		}
	}
	off := func(m string, def uint64) uint64 {
		if o, err := src.MemberOffset("page", m); err == nil {
			return o
		}
		if n, ok := vmcoreNum(vi, "OFFSET(page."+m+")"); ok {
			return n
		}
		return def
	}
	pg.oFlags, pg.oMap, pg.oIdx, pg.oCount = off("flags", 0), off("mapping", 24), off("index", 32), off("_refcount", 52)
	if a, err := src.Symbol("max_pfn"); err == nil {
		pg.MaxPFN, _ = u64(src, a)
	}
	if ms, ok := vmcoreNum(vi, "SYMBOL(mem_section)"); ok {
		pg.memSection = ms
		pg.secSize, _ = vmcoreNum(vi, "SIZE(mem_section)")
		pg.secMapOff, _ = vmcoreNum(vi, "OFFSET(mem_section.section_mem_map)")
		bits, _ := vmcoreNum(vi, "NUMBER(SECTION_SIZE_BITS)")
		pg.nrRoots, _ = vmcoreNum(vi, "LENGTH(mem_section)")
		if pg.secSize == 0 || bits <= PageShift || bits > 40 || pg.nrRoots == 0 || pg.nrRoots > 1<<24 {
			pg.memSection = 0
		} else {
			pg.sectionShift = uint(bits - PageShift)
			// SPARSEMEM_EXTREME: mem_section is an array of
			// NR_SECTION_ROOTS pointers to pages of sections; else
			// an array of NR_MEM_SECTIONS sections. LENGTH tells.
			pg.perRoot = 4096 / pg.secSize
			physBits, _ := vmcoreNum(vi, "NUMBER(MAX_PHYSMEM_BITS)")
			nrSections := uint64(1) << (physBits - bits)
			pg.extreme = physBits <= bits || pg.nrRoots != nrSections
			if !pg.extreme {
				pg.perRoot = nrSections
				pg.nrRoots = 1
			}
		}
	}
	return pg, nil
}

// PageAddr is the struct page of pfn.
func (pg *Pages) PageAddr(pfn uint64) uint64 { return pg.Vmemmap + pfn*pg.Size }

// PFNOf returns the pfn whose struct page is at addr, when addr is the
// start of one inside the memory map.
func (pg *Pages) PFNOf(addr uint64) (uint64, bool) {
	if addr < pg.Vmemmap || pg.Size == 0 {
		return 0, false
	}
	d := addr - pg.Vmemmap
	if d%pg.Size != 0 {
		return 0, false
	}
	pfn := d / pg.Size
	return pfn, pg.Valid(pfn)
}

// InMap reports whether addr lies in the vmemmap area of a valid pfn
// (maybe inside a struct page).
func (pg *Pages) InMap(addr uint64) (pfn uint64, ok bool) {
	if addr < pg.Vmemmap || pg.Size == 0 {
		return 0, false
	}
	pfn = (addr - pg.Vmemmap) / pg.Size
	return pfn, pg.Valid(pfn)
}

// Section returns the section_mem_map word of pfn's section, or false
// when the table does not have the section.
func (pg *Pages) section(pfn uint64) (uint64, bool) {
	if pg.memSection == 0 {
		return sectionMarkedPresent | sectionHasMemMap, true
	}
	nr := pfn >> pg.sectionShift
	root := nr / pg.perRoot
	if root >= pg.nrRoots {
		return 0, false
	}
	base := pg.memSection
	if pg.extreme {
		r, err := u64(pg.src, pg.memSection+root*8)
		if err != nil || r == 0 {
			return 0, false
		}
		base = r
		nr %= pg.perRoot
	}
	w, err := u64(pg.src, base+nr*pg.secSize+pg.secMapOff)
	if err != nil {
		return 0, false
	}
	return w, true
}

// Valid reports whether pfn has a struct page: below max_pfn (when known)
// in a present section with a memory map.
func (pg *Pages) Valid(pfn uint64) bool {
	if pg.MaxPFN != 0 && pfn >= pg.MaxPFN {
		return false
	}
	w, ok := pg.section(pfn)
	return ok && w&(sectionMarkedPresent|sectionHasMemMap) == sectionMarkedPresent|sectionHasMemMap
}

// SectionPFNs is the number of pfns per section.
func (pg *Pages) SectionPFNs() uint64 {
	if pg.memSection == 0 {
		return 1 << 15
	}
	return 1 << pg.sectionShift
}

// SectionValid reports whether the section starting at pfn start has a
// memory map (crash's valid_section_nr), regardless of max_pfn.
func (pg *Pages) SectionValid(start uint64) bool {
	w, ok := pg.section(start)
	return ok && w&(sectionMarkedPresent|sectionHasMemMap) == sectionMarkedPresent|sectionHasMemMap
}

// Read reads the struct page of pfn (no validity check: see Valid).
func (pg *Pages) Read(pfn uint64) Page {
	p := Page{PFN: pfn, Addr: pg.PageAddr(pfn)}
	b := make([]byte, pg.Size)
	if _, err := pg.src.ReadAt(b, p.Addr); err != nil {
		p.Err = fmt.Errorf("struct page %#x (pfn %#x): %w", p.Addr, pfn, err)
		return p
	}
	pg.decode(&p, b)
	return p
}

func (pg *Pages) decode(p *Page, b []byte) {
	le := binary.LittleEndian
	at := func(o uint64) uint64 {
		if o+8 > uint64(len(b)) {
			return 0
		}
		return le.Uint64(b[o:])
	}
	p.Flags, p.Mapping, p.Index = at(pg.oFlags), at(pg.oMap), at(pg.oIdx)
	if pg.oCount+4 <= uint64(len(b)) {
		p.Count = int32(le.Uint32(b[pg.oCount:]))
	}
}

// ReadRange reads the struct pages of pfns [start, start+n) with one read
// per 4 KiB of the memory map; pages whose read fails carry Err.
func (pg *Pages) ReadRange(start, n uint64) []Page {
	out := make([]Page, 0, n)
	per := 4096 / pg.Size
	if per == 0 {
		per = 1
	}
	buf := make([]byte, per*pg.Size)
	for pfn := start; pfn < start+n; {
		cnt := min(per, start+n-pfn)
		b := buf[:cnt*pg.Size]
		if _, err := pg.src.ReadAt(b, pg.PageAddr(pfn)); err != nil {
			for i := uint64(0); i < cnt; i++ {
				out = append(out, pg.Read(pfn+i))
			}
		} else {
			for i := uint64(0); i < cnt; i++ {
				p := Page{PFN: pfn + i, Addr: pg.PageAddr(pfn + i)}
				pg.decode(&p, b[i*pg.Size:(i+1)*pg.Size])
				out = append(out, p)
			}
		}
		pfn += cnt
	}
	return out
}

// FlagName is one name of the kernel's pageflag_names[] (the names
// /proc/kpageflags tools and %pGp print) and its mask.
type FlagName struct {
	Mask uint64
	Name string
}

// PageflagNames reads the kernel's pageflag_names[] (struct trace_print_flags
// { unsigned long mask; const char *name; }, ended by a NULL name).
func PageflagNames(src Source) []FlagName {
	arr, err := src.Symbol("pageflag_names")
	if err != nil {
		return nil
	}
	var out []FlagName
	b := make([]byte, 16)
	for i := uint64(0); i < 64; i++ {
		if _, err := src.ReadAt(b, arr+i*16); err != nil {
			break
		}
		mask, namep := binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint64(b[8:])
		if namep == 0 {
			break
		}
		nb := make([]byte, 32)
		n, _ := src.ReadAt(nb, namep)
		nb = nb[:n]
		if j := strings.IndexByte(string(nb), 0); j >= 0 {
			nb = nb[:j]
		}
		out = append(out, FlagName{mask, string(nb)})
	}
	return out
}

// FlagNames names the flags set in flags, in pageflag_names[] order.
func FlagNames(names []FlagName, flags uint64) []string {
	var out []string
	for _, n := range names {
		if flags&n.Mask != 0 {
			out = append(out, n.Name)
		}
	}
	return out
}

// FlagNamesFromEnum builds page flag names from enum pageflags when the
// kernel has no pageflag_names[] (crash's page_flags_init_from_pageflags_enum):
// each bit below __NR_PAGEFLAGS named by its first PG_ constant, lower
// case without the prefix.
func FlagNamesFromEnum(enums Enums) []FlagName {
	ens := enums("pageflags")
	nr := int64(64)
	for _, e := range ens {
		if e.Name == "__NR_PAGEFLAGS" {
			nr = e.Value
		}
	}
	seen := map[int64]bool{}
	var out []FlagName
	for _, e := range ens {
		if !strings.HasPrefix(e.Name, "PG_") || e.Value < 0 || e.Value >= nr || e.Value > 63 || seen[e.Value] {
			continue
		}
		seen[e.Value] = true
		out = append(out, FlagName{Mask: 1 << uint(e.Value), Name: strings.ToLower(strings.TrimPrefix(e.Name, "PG_"))})
	}
	return out
}
