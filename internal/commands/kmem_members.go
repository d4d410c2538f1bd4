package commands

// kmem -m member[,member]: chosen members of each struct page, as crash's
// collect_page_member_data and show_page_member_data print them.

import (
	"fmt"
	"strings"

	"kdive/internal/kernel/mm"
	"kdive/internal/types"
)

// pageMember is one member of struct page to show.
type pageMember struct {
	name            string
	kind            types.Kind
	off, size       uint64
	signed          bool
	bitOff, bitSize uint64 // a bitfield: bits from off*8+bitOff
}

// pageMembers resolves a crash member list ("flags,_refcount,lru.next").
func (k *kmemCtx) pageMembers(list string) ([]pageMember, error) {
	if strings.HasSuffix(list, ",") || strings.HasSuffix(list, ".") {
		return nil, fmt.Errorf("invalid format: %s", list)
	}
	page, err := k.p.Types().LookupType("struct page")
	if err != nil {
		return nil, fmt.Errorf("struct page: %v", err)
	}
	var out []pageMember
	for _, name := range strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r == ' ' }) {
		base, last := uint64(0), name
		cur := page
		if i := strings.LastIndexByte(name, '.'); i >= 0 {
			o, t, err := page.MemberPath(name[:i])
			if err != nil {
				return nil, fmt.Errorf("invalid page struct member: %s", name)
			}
			base, cur, last = o, t, name[i+1:]
		}
		f, ok := cur.FindMember(last)
		if !ok {
			return nil, fmt.Errorf("invalid page struct member: %s", name)
		}
		t := f.Type.Strip()
		m := pageMember{name: name, kind: t.Kind, off: base + f.Offset, size: t.Size, signed: t.Signed}
		if f.IsBitfield() {
			m.bitOff, m.bitSize = f.BitOffset-f.Offset*8, f.BitSize
		}
		switch m.kind {
		case types.Pointer, types.Int, types.Bool, types.Struct:
		default:
			return nil, fmt.Errorf("unsupported page member reference: page.%s", name)
		}
		out = append(out, m)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("invalid page struct member list format: %s", list)
	}
	return out, nil
}

func memberHeader(ms []pageMember) string {
	h := center(16, "PAGE", false)
	for _, m := range ms {
		h += "  " + m.name
	}
	return h + "\n"
}

// pageMemberLine is show_page_member_data for one struct page (whose bytes
// are b; nil when it could not be read).
func pageMemberLine(pg mm.Page, b []byte, ms []pageMember) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%x  ", pg.Addr)
	get := func(off, n uint64) uint64 {
		if b == nil || off+n > uint64(len(b)) {
			return 0
		}
		var v uint64
		for i := n; i > 0; i-- {
			v = v<<8 | uint64(b[off+i-1])
		}
		return v
	}
	for _, m := range ms {
		switch m.kind {
		case types.Pointer:
			fmt.Fprintf(&sb, "%016x  ", get(m.off, 8))
		case types.Bool:
			v := get(m.off, 1)
			switch v {
			case 0:
				sb.WriteString("false  ")
			case 1:
				sb.WriteString("true  ")
			default:
				fmt.Fprintf(&sb, "%d", v)
			}
		case types.Int:
			v := get(m.off, m.size)
			if m.bitSize != 0 {
				v = v >> m.bitOff & (1<<m.bitSize - 1)
			}
			radix := 10
			if m.name == "flags" {
				radix = 16
			}
			digits := int(m.size * 2)
			if radix == 16 {
				if !m.signed || m.size != 8 {
					fmt.Fprintf(&sb, "%0*x  ", digits, v)
				} else {
					fmt.Fprintf(&sb, "%016x", v) // crash: no separator here
				}
				continue
			}
			if m.signed {
				shift := 64 - 8*m.size
				fmt.Fprintf(&sb, "%d  ", int64(v<<shift)>>shift)
			} else {
				fmt.Fprintf(&sb, "%d  ", v)
			}
		case types.Struct:
			base := m.name[strings.LastIndexByte(m.name, '.')+1:]
			switch {
			case strings.HasPrefix(base, "_count") || strings.HasPrefix(base, "_mapcount"):
				fmt.Fprintf(&sb, "%d  ", int32(get(m.off, 4)))
			case m.size%8 == 0 && m.size > 0:
				var parts []string
				for i := uint64(0); i < m.size/8 && i < 10; i++ {
					parts = append(parts, fmt.Sprintf("%016x", get(m.off+8*i, 8)))
				}
				sb.WriteString(strings.Join(parts, ",") + "  ")
			case m.size%4 == 0 && m.size > 0:
				var parts []string
				for i := uint64(0); i < m.size/4 && i < 10; i++ {
					parts = append(parts, fmt.Sprintf("%08x", get(m.off+4*i, 4)))
				}
				sb.WriteString(strings.Join(parts, ",")) // crash: no separator here
			case m.size == 2:
				fmt.Fprintf(&sb, "%04x  ", get(m.off, 2))
			}
		}
	}
	sb.WriteString("\n")
	return sb.String()
}

// membersOf is `kmem -m LIST [ADDR...]`.
func (k *kmemCtx) membersOf(list string, addrs []uint64, phys bool) error {
	ms, err := k.pageMembers(list)
	if err != nil {
		return err
	}
	w := k.env.Out
	fmt.Fprint(w, memberHeader(ms))
	size := k.pages.Size
	if len(addrs) > 0 {
		for _, a := range addrs {
			pfn, ok := k.findPage(a, phys || a < kvBaseOf(k.p))
			if !ok {
				return fmt.Errorf("%x: address not found in mem map", a)
			}
			b := make([]byte, size)
			pg := mm.Page{PFN: pfn, Addr: k.pages.PageAddr(pfn)}
			if _, err := k.p.ReadAt(b, pg.Addr); err != nil {
				return fmt.Errorf("struct page %x: %v", pg.Addr, err)
			}
			fmt.Fprint(w, pageMemberLine(pg, b, ms))
		}
		return nil
	}
	per := k.pages.SectionPFNs()
	for s := uint64(0); s < (k.pages.MaxPFN+per-1)/per && s < 1<<20; s++ {
		start := s * per
		if !k.pages.SectionValid(start) {
			continue
		}
		buf := make([]byte, 64*size)
		for pfn := start; pfn < start+per; pfn += 64 {
			if _, err := k.p.ReadAt(buf, k.pages.PageAddr(pfn)); err != nil {
				for i := uint64(0); i < 64; i++ {
					fmt.Fprintf(w, "%x  (struct page not in the dump)\n", k.pages.PageAddr(pfn+i))
				}
				continue
			}
			for i := uint64(0); i < 64; i++ {
				pg := mm.Page{PFN: pfn + i, Addr: k.pages.PageAddr(pfn + i)}
				fmt.Fprint(w, pageMemberLine(pg, buf[i*size:(i+1)*size], ms))
			}
		}
	}
	return nil
}
