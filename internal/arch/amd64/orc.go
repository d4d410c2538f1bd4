package amd64

// ORC unwind tables (x86-64, CONFIG_UNWINDER_ORC): decoding of struct
// orc_entry and lookup of the entry that covers an instruction address.
//
// Layout facts (arch/x86/include/asm/orc_types.h, Linux 4.14 to 6.3): an
// orc_entry is 6 packed bytes, s16 sp_offset, s16 bp_offset, then a 16-bit
// bitfield word: sp_reg:4, bp_reg:4, type:2, end:1 (little-endian bitfield
// order). Linux 6.4 changed the word to sp_reg:4, bp_reg:4, type:3,
// signal:1 with new type numbers (UNDEFINED 0, END_OF_STACK 1, CALL 2,
// REGS 3, REGS_PARTIAL 4); Layout selects between the two. The
// .orc_unwind_ip table holds one s32 per entry, relative to the address of
// that s32, sorted by the address it designates.

import (
	"encoding/binary"
	"fmt"
	"sort"
)

// ORC base registers (ORC_REG_*).
const (
	OrcRegUndefined  = 0
	OrcRegPrevSP     = 1
	OrcRegDX         = 2
	OrcRegDI         = 3
	OrcRegBP         = 4
	OrcRegSP         = 5
	OrcRegR10        = 6
	OrcRegR13        = 7
	OrcRegBPIndirect = 8
	OrcRegSPIndirect = 9
)

// ORC frame types, normalised to the pre-6.4 numbering.
const (
	OrcTypeCall        = 0
	OrcTypeRegs        = 1
	OrcTypeRegsPartial = 2
	// OrcTypeUndefined is 6.4's ORC_TYPE_UNDEFINED (no pre-6.4 equivalent:
	// there an undefined sp_reg without end meant the same).
	OrcTypeUndefined = 3
)

// OrcEntrySize is sizeof(struct orc_entry).
const OrcEntrySize = 6

// OrcLayout is the bitfield layout of struct orc_entry.
type OrcLayout int

const (
	// OrcLayoutV1 is Linux 4.14 to 6.3: type:2, end:1.
	OrcLayoutV1 OrcLayout = iota
	// OrcLayoutV2 is Linux 6.4 and later: type:3, signal:1.
	OrcLayoutV2
)

// OrcEntry is a decoded struct orc_entry.
type OrcEntry struct {
	SPOffset, BPOffset int16
	SPReg, BPReg       uint8
	Type               uint8 // OrcType*
	End                bool  // end of stack (V1 end bit, V2 ORC_TYPE_END_OF_STACK)
	Signal             bool  // V2 signal bit (the frame's ip is exact)
}

// DecodeOrcEntry decodes the 6 bytes of one struct orc_entry.
func DecodeOrcEntry(b []byte, layout OrcLayout) OrcEntry {
	var e OrcEntry
	if len(b) < OrcEntrySize {
		return OrcEntry{Type: OrcTypeUndefined}
	}
	e.SPOffset = int16(binary.LittleEndian.Uint16(b[0:]))
	e.BPOffset = int16(binary.LittleEndian.Uint16(b[2:]))
	w := binary.LittleEndian.Uint16(b[4:])
	e.SPReg = uint8(w & 0xf)
	e.BPReg = uint8(w >> 4 & 0xf)
	switch layout {
	case OrcLayoutV2:
		switch t := w >> 8 & 7; t {
		case 0:
			e.Type = OrcTypeUndefined
		case 1:
			e.Type, e.End = OrcTypeUndefined, true
		case 2:
			e.Type = OrcTypeCall
		case 3:
			e.Type = OrcTypeRegs
		case 4:
			e.Type = OrcTypeRegsPartial
		default:
			e.Type = OrcTypeUndefined
		}
		e.Signal = w>>11&1 != 0
	default:
		e.Type = uint8(w >> 8 & 3)
		e.End = w>>10&1 != 0
	}
	return e
}

// String is objtool's orc dump style, for messages.
func (e OrcEntry) String() string {
	return fmt.Sprintf("sp:%s%+d bp:%s%+d type:%s end:%v", orcRegName(e.SPReg), e.SPOffset,
		orcRegName(e.BPReg), e.BPOffset, orcTypeName(e.Type), e.End)
}

func orcRegName(r uint8) string {
	switch r {
	case OrcRegUndefined:
		return "undef"
	case OrcRegPrevSP:
		return "prevsp"
	case OrcRegDX:
		return "dx"
	case OrcRegDI:
		return "di"
	case OrcRegBP:
		return "bp"
	case OrcRegSP:
		return "sp"
	case OrcRegR10:
		return "r10"
	case OrcRegR13:
		return "r13"
	case OrcRegBPIndirect:
		return "bp(ind)"
	case OrcRegSPIndirect:
		return "sp(ind)"
	}
	return fmt.Sprintf("reg%d", r)
}

func orcTypeName(t uint8) string {
	switch t {
	case OrcTypeCall:
		return "call"
	case OrcTypeRegs:
		return "regs"
	case OrcTypeRegsPartial:
		return "regs_partial"
	}
	return "undefined"
}

// OrcTable is one ORC table: the kernel's or one module's.
type OrcTable struct {
	Name   string // "vmlinux" or the module's name
	Lo, Hi uint64 // text range the table answers for ([Lo, Hi))
	Layout OrcLayout
	ips    []uint64 // absolute addresses, sorted
	orcs   []byte   // len(ips) * OrcEntrySize
}

// MaxOrcEntries bounds a table read from untrusted data.
const MaxOrcEntries = 1 << 22

// NewOrcTable builds a table from the raw .orc_unwind_ip bytes (ipRaw, which
// lived at virtual address ipAddr) and the raw .orc_unwind bytes. Entries
// are sorted by address if they are not already (the kernel sorts module
// tables at load time, vmlinux's at build time).
func NewOrcTable(name string, ipAddr uint64, ipRaw, orcRaw []byte, layout OrcLayout, lo, hi uint64) (*OrcTable, error) {
	n := len(ipRaw) / 4
	if n == 0 {
		return nil, fmt.Errorf("orc %s: empty .orc_unwind_ip", name)
	}
	if n > MaxOrcEntries {
		return nil, fmt.Errorf("orc %s: %d entries is too many", name, n)
	}
	if len(orcRaw) < n*OrcEntrySize {
		return nil, fmt.Errorf("orc %s: %d ip entries but .orc_unwind has only %d bytes", name, n, len(orcRaw))
	}
	t := &OrcTable{Name: name, Lo: lo, Hi: hi, Layout: layout, ips: make([]uint64, n), orcs: orcRaw[:n*OrcEntrySize]}
	sorted := true
	for i := 0; i < n; i++ {
		rel := int32(binary.LittleEndian.Uint32(ipRaw[4*i:]))
		t.ips[i] = ipAddr + uint64(4*i) + uint64(int64(rel))
		if i > 0 && t.ips[i] < t.ips[i-1] {
			sorted = false
		}
	}
	if !sorted {
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(a, b int) bool { return t.ips[idx[a]] < t.ips[idx[b]] })
		ips := make([]uint64, n)
		orcs := make([]byte, n*OrcEntrySize)
		for k, i := range idx {
			ips[k] = t.ips[i]
			copy(orcs[k*OrcEntrySize:], t.orcs[i*OrcEntrySize:(i+1)*OrcEntrySize])
		}
		t.ips, t.orcs = ips, orcs
	}
	if t.Lo == 0 && t.Hi == 0 {
		t.Lo, t.Hi = t.ips[0], t.ips[n-1]+1
	}
	return t, nil
}

// Len is the number of entries.
func (t *OrcTable) Len() int { return len(t.ips) }

// Find returns the entry covering ip: the last entry whose address is <= ip,
// as the kernel's __orc_find does. ok is false when ip is outside the
// table's range or before its first entry.
func (t *OrcTable) Find(ip uint64) (e OrcEntry, start uint64, ok bool) {
	if t == nil || ip < t.Lo || ip >= t.Hi || len(t.ips) == 0 {
		return OrcEntry{}, 0, false
	}
	i := sort.Search(len(t.ips), func(i int) bool { return t.ips[i] > ip }) - 1
	if i < 0 {
		return OrcEntry{}, 0, false
	}
	return DecodeOrcEntry(t.orcs[i*OrcEntrySize:(i+1)*OrcEntrySize], t.Layout), t.ips[i], true
}

// OrcSet is the kernel's table plus the modules'.
type OrcSet struct {
	Tables []*OrcTable
}

// Find looks ip up in the table whose range holds it.
func (s *OrcSet) Find(ip uint64) (OrcEntry, *OrcTable, bool) {
	if s == nil {
		return OrcEntry{}, nil, false
	}
	for _, t := range s.Tables {
		if ip >= t.Lo && ip < t.Hi {
			e, _, ok := t.Find(ip)
			return e, t, ok
		}
	}
	return OrcEntry{}, nil, false
}
