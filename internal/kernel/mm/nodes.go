package mm

import (
	"encoding/binary"
	"fmt"

	"kdive/internal/kernel/klist"
)

// Node is one memory node (struct pglist_data).
type Node struct {
	ID       int
	Pgdat    uint64
	StartPFN uint64 // node_start_pfn
	Spanned  uint64 // node_spanned_pages
}

// Nodes reads node_data[0..nr_online_nodes) or contig_page_data.
func Nodes(src Source) ([]Node, error) {
	var pgdats []uint64
	if nd, err := src.Symbol("node_data"); err == nil {
		n, _ := symU32(src, "nr_online_nodes")
		if n < 1 || n > 1024 {
			n = 1
		}
		for i := uint64(0); i < uint64(n); i++ {
			p, err := u64(src, nd+8*i)
			if err != nil {
				return nil, fmt.Errorf("mm: node_data[%d]: %w", i, err)
			}
			pgdats = append(pgdats, p)
		}
	} else if c, err := src.Symbol("contig_page_data"); err == nil {
		pgdats = []uint64{c}
	} else {
		return nil, fmt.Errorf("mm: neither node_data nor contig_page_data")
	}
	oStart, err1 := src.MemberOffset("pglist_data", "node_start_pfn")
	oSpan, err2 := src.MemberOffset("pglist_data", "node_spanned_pages")
	oID, err3 := src.MemberOffset("pglist_data", "node_id")
	if err1 != nil || err2 != nil || err3 != nil {
		return nil, fmt.Errorf("mm: pglist_data.node_start_pfn/node_spanned_pages/node_id missing")
	}
	var out []Node
	for i, p := range pgdats {
		if p == 0 {
			continue
		}
		n := Node{ID: i, Pgdat: p}
		n.StartPFN, _ = u64(src, p+oStart)
		n.Spanned, _ = u64(src, p+oSpan)
		var b [4]byte
		if _, err := src.ReadAt(b[:], p+oID); err == nil {
			n.ID = int(int32(binary.LittleEndian.Uint32(b[:])))
		}
		out = append(out, n)
	}
	return out, nil
}

// Section is one present mem_section.
type Section struct {
	Nr    uint64
	Addr  uint64 // struct mem_section *
	Coded uint64 // section_mem_map without its flag bits
	State uint64 // the flag bits (SECTION_MARKED_PRESENT ...)
}

// sectionFlagBits masks section_mem_map's flags (SECTION_MAP_LAST_BIT is
// 5 or 6 on 5.x/6.x; the encoded map is at least 2 MiB aligned).
const sectionFlagBits = 0x3f

// Sections lists the sections that have a memory map, up to max_pfn's.
func (pg *Pages) Sections() []Section {
	if pg.memSection == 0 {
		return nil
	}
	var out []Section
	last := (pg.MaxPFN + (1 << pg.sectionShift) - 1) >> pg.sectionShift
	for nr := uint64(0); nr < last && nr < 1<<24; nr++ {
		root := nr / pg.perRoot
		base := pg.memSection
		idx := nr
		if pg.extreme {
			r, err := u64(pg.src, pg.memSection+root*8)
			if err != nil || r == 0 {
				continue
			}
			base, idx = r, nr%pg.perRoot
		}
		a := base + idx*pg.secSize
		w, err := u64(pg.src, a+pg.secMapOff)
		if err != nil || w&(sectionMarkedPresent|sectionHasMemMap) != sectionMarkedPresent|sectionHasMemMap {
			continue
		}
		out = append(out, Section{Nr: nr, Addr: a, Coded: w &^ sectionFlagBits, State: w & sectionFlagBits})
	}
	return out
}

// SectionPFN is the first pfn of section nr.
func (pg *Pages) SectionPFN(nr uint64) uint64 { return nr << pg.sectionShift }

// MemoryBlock is one struct memory_block of the memory subsystem.
type MemoryBlock struct {
	Addr     uint64
	Name     string // its device's kobject name ("memory0")
	StartSec uint64
	State    uint64 // MEM_ONLINE ...
	Nid      int
	HasNid   bool
}

// MemoryBlocks walks memory_subsys's devices (bus_type.p ->
// subsys_private.klist_devices, device_private.knode_bus) as crash's
// dump_memory_blocks; size is memory_block_size_probed (0 if unknown).
func MemoryBlocks(src Source) (blocks []MemoryBlock, size uint64, err error) {
	sub, err := src.Symbol("memory_subsys")
	if err != nil {
		return nil, 0, fmt.Errorf("mm: no memory_subsys: %w", err)
	}
	get := func(typ, m string) uint64 {
		if err != nil {
			return 0
		}
		v, e := src.MemberOffset(typ, m)
		if e != nil {
			err = fmt.Errorf("mm: %s.%s: %w", typ, m, e)
		}
		return v
	}
	oP := get("bus_type", "p")
	oKlist := get("subsys_private", "klist_devices")
	oKList := get("klist", "k_list")
	oNNode := get("klist_node", "n_node")
	oKnode := get("device_private", "knode_bus")
	oDev := get("device_private", "device")
	oMbDev := get("memory_block", "dev")
	oStart := get("memory_block", "start_section_nr")
	oState := get("memory_block", "state")
	oName := get("device", "kobj") + get("kobject", "name")
	if err != nil {
		return nil, 0, err
	}
	oNid, nidErr := src.MemberOffset("memory_block", "nid")
	priv, err := u64(src, sub+oP)
	if err != nil {
		return nil, 0, fmt.Errorf("mm: memory_subsys.p: %w", err)
	}
	read := func(a uint64) (uint64, error) { return u64(src, a) }
	ents, werr := klist.Entries(read, priv+oKlist+oKList, oNNode+oKnode, 1<<20)
	for _, dp := range ents {
		dev, err := u64(src, dp+oDev)
		if err != nil {
			return blocks, size, fmt.Errorf("mm: device_private %#x: %w", dp, err)
		}
		mb := MemoryBlock{Addr: dev - oMbDev}
		mb.StartSec, _ = u64(src, mb.Addr+oStart)
		mb.State, _ = u64(src, mb.Addr+oState)
		if np, err := u64(src, dev+oName); err == nil && np != 0 {
			nb := make([]byte, 32)
			k, _ := src.ReadAt(nb, np)
			nb = nb[:k]
			for j, c := range nb {
				if c == 0 {
					nb = nb[:j]
					break
				}
			}
			mb.Name = string(nb)
		}
		if nidErr == nil {
			var b [4]byte
			if _, err := src.ReadAt(b[:], mb.Addr+oNid); err == nil {
				mb.Nid, mb.HasNid = int(int32(binary.LittleEndian.Uint32(b[:]))), true
			}
		}
		blocks = append(blocks, mb)
	}
	size, _ = symU64(src, "memory_block_size_probed")
	if werr != nil {
		werr = fmt.Errorf("mm: memory block list: %w", werr)
	}
	return blocks, size, werr
}
