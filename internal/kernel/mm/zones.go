package mm

import (
	"encoding/binary"
	"fmt"
)

// Enumerator is one constant of an enum (name and value).
type Enumerator struct {
	Name  string
	Value int64
}

// Enums looks up an enum's constants in declaration order ("zone_stat_item",
// "node_stat_item", "pageflags"); nil when the types lack it.
type Enums func(name string) []Enumerator

// Zone is one struct zone of a node.
type Zone struct {
	Node, Index      int
	Addr             uint64 // struct zone *
	Name             string
	Spanned, Present uint64  // spanned_pages, present_pages
	Min, Low, High   uint64  // _watermark[WMARK_MIN/LOW/HIGH]
	VMStat           []int64 // vm_stat[], in zone_stat_item order
}

// Zones reads every zone of every online node: node_data[] (NUMA) or
// contig_page_data, nr_online_nodes nodes, MAX_NR_ZONES zones each
// (pglist_data.node_zones[]).
func Zones(src Source, enums Enums) ([]Zone, error) {
	zsize, err := src.TypeSize("zone")
	if err != nil || zsize == 0 {
		return nil, fmt.Errorf("mm: sizeof(struct zone): %v", err)
	}
	oZones, err := src.MemberOffset("pglist_data", "node_zones")
	if err != nil {
		return nil, fmt.Errorf("mm: pglist_data.node_zones: %w", err)
	}
	nz := uint64(0)
	if s, err := src.MemberSize("pglist_data", "node_zones"); err == nil {
		nz = s / zsize
	}
	if nz == 0 || nz > 8 {
		return nil, fmt.Errorf("mm: %d zones per node", nz)
	}
	var pgdats []uint64
	if nd, err := src.Symbol("node_data"); err == nil {
		n := 1
		if a, err := src.Symbol("nr_online_nodes"); err == nil {
			var b [4]byte
			if _, err := src.ReadAt(b[:], a); err == nil {
				n = int(binary.LittleEndian.Uint32(b[:]))
			}
		}
		if n < 1 || n > 1024 {
			return nil, fmt.Errorf("mm: nr_online_nodes %d", n)
		}
		for i := 0; i < n; i++ {
			p, err := u64(src, nd+uint64(i)*8)
			if err != nil {
				return nil, fmt.Errorf("mm: node_data[%d]: %w", i, err)
			}
			if p != 0 {
				pgdats = append(pgdats, p)
			}
		}
	} else if c, err := src.Symbol("contig_page_data"); err == nil {
		pgdats = []uint64{c}
	} else {
		return nil, fmt.Errorf("mm: neither node_data nor contig_page_data")
	}
	off := func(m string) (uint64, bool) {
		o, err := src.MemberOffset("zone", m)
		return o, err == nil
	}
	oName, _ := off("name")
	oSpanned, _ := off("spanned_pages")
	oPresent, _ := off("present_pages")
	oWmark, okW := off("_watermark")
	if !okW {
		oWmark, okW = off("watermark")
	}
	oStat, okStat := off("vm_stat")
	wmin, wlow, whigh := int64(0), int64(1), int64(2)
	if enums != nil {
		for _, e := range enums("zone_watermarks") {
			switch e.Name {
			case "WMARK_MIN":
				wmin = e.Value
			case "WMARK_LOW":
				wlow = e.Value
			case "WMARK_HIGH":
				whigh = e.Value
			}
		}
	}
	nstat := 0
	if enums != nil {
		for _, e := range enums("zone_stat_item") {
			if e.Name == "NR_VM_ZONE_STAT_ITEMS" {
				nstat = int(e.Value)
			}
		}
	}
	var out []Zone
	for n, pg := range pgdats {
		for i := uint64(0); i < nz; i++ {
			za := pg + oZones + i*zsize
			z := Zone{Node: n, Index: int(i), Addr: za}
			b := make([]byte, zsize)
			if _, err := src.ReadAt(b, za); err != nil {
				return out, fmt.Errorf("mm: struct zone %#x: %w", za, err)
			}
			at := func(o uint64) uint64 {
				if o+8 > zsize {
					return 0
				}
				return binary.LittleEndian.Uint64(b[o:])
			}
			if np := at(oName); np != 0 {
				nb := make([]byte, 32)
				k, _ := src.ReadAt(nb, np)
				nb = nb[:k]
				for j, c := range nb {
					if c == 0 {
						nb = nb[:j]
						break
					}
				}
				z.Name = string(nb)
			}
			z.Spanned, z.Present = at(oSpanned), at(oPresent)
			if okW {
				z.Min, z.Low, z.High = at(oWmark+8*uint64(wmin)), at(oWmark+8*uint64(wlow)), at(oWmark+8*uint64(whigh))
			}
			if okStat {
				for j := 0; j < nstat && j < 64; j++ {
					z.VMStat = append(z.VMStat, int64(at(oStat+8*uint64(j))))
				}
			}
			out = append(out, z)
		}
	}
	return out, nil
}
