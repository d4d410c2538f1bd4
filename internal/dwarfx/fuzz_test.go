package dwarfx

import (
	"os"
	"path/filepath"
	"testing"
)

// moduleDebug returns the relocated .debug_abbrev, .debug_info and
// .debug_str of the corpus's kdive_rig.ko (nil when absent).
func moduleDebug(tb testing.TB) (abbrev, info, str []byte) {
	p := filepath.Join(corpusDir(), "modules", "kdive_rig.ko")
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, nil, nil
	}
	ef, err := parseELF(p, data)
	if err != nil {
		tb.Fatal(err)
	}
	abbrev, _ = ef.sectionData(".debug_abbrev")
	info, _ = ef.sectionData(".debug_info")
	str, _ = ef.sectionData(".debug_str")
	return abbrev, info, str
}

func synthCU() (abbrev, info []byte) {
	a := newAsm()
	c := stdAbbrevs(a)
	a.die("", c.cu, "t.c")
	a.die("int", c.base, "int", 4, EncSigned)
	a.die("node", c.st, "node", 32)
	a.die("", c.mem, "next", "@pnode", 0)
	a.die("", c.bfmem, "flag", "@int", 3, 97)
	a.die("", c.mem, "arr", "@arr", 16)
	a.end()
	a.die("pnode", c.ptr, 8, "@node")
	a.die("arr", c.arr, "@int")
	a.die("", c.sub, 3)
	a.end()
	a.die("", c.vr, "the_node", "@node", []byte{9, opAddr, 1, 2, 3, 4, 5, 6, 7, 8})
	a.die("", c.td, "node_t", "@node")
	a.end()
	data := a.elf()
	ef, _ := parseELF("synthetic", data)
	abbrev, _ = ef.sectionData(".debug_abbrev")
	info, _ = ef.sectionData(".debug_info")
	return abbrev, info
}

func FuzzAbbrev(f *testing.F) {
	ab, _ := synthCU()
	f.Add(ab)
	if mab, _, _ := moduleDebug(f); len(mab) > 0 {
		f.Add(mab)
		f.Add(mab[:len(mab)/2])
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, p := range []unitParams{{5, 8, 4}, {4, 8, 8}, {2, 4, 4}} {
			tab, err := parseAbbrevs(b, 0, p, nil)
			if err == nil {
				tab.get(1)
				tab.get(1 << 40)
			}
			var sc abbrevScratch
			_, _ = parseAbbrevs(b, 0, p, &sc)
		}
	})
}

// FuzzDIE indexes a fuzzed .debug_info with a fuzzed .debug_abbrev, and
// the other sections of either the corpus module (.debug_str) or the
// DWARF 5 test (string offsets, addresses, line strings), then decodes
// types from it.
func FuzzDIE(f *testing.F) {
	ab, in := synthCU()
	f.Add(false, ab, in)
	mab, min, str := moduleDebug(f)
	if len(min) > 0 {
		f.Add(false, mab, min)
	}
	v5 := dwarf5Sections()
	f.Add(true, v5[".debug_abbrev"], v5[".debug_info"])
	f.Fuzz(func(t *testing.T, five bool, abbrev, info []byte) {
		secs := map[string][]byte{}
		if five {
			for k, v := range v5 {
				secs[k] = v
			}
		} else if len(str) > 0 {
			secs[".debug_str"] = str
		}
		secs[".debug_info"], secs[".debug_abbrev"] = info, abbrev
		ix, err := OpenBytes("fuzz", buildELF(etExec, secs))
		if err != nil {
			return
		}
		for _, n := range []string{"node_t", "struct node", "struct s", "long", "struct kdive_rig_state", "struct list_head", "int"} {
			if typ, err := ix.LookupType(n); err == nil {
				_ = typ.String()
				_, _ = NewSource(ix, "").Convert(typ)
				_, _, _ = MemberOffset(typ, "next")
				sizeof(typ, 0)
			}
		}
		_, _ = ix.Variable("the_node")
		_, _ = ix.Variable("v")
		_, _ = ix.Variable("kdive_rig_global")
		ix.mu.Lock()
		for off := uint64(0); off < uint64(len(info)) && off < 256; off++ {
			if typ, err := ix.typeAt(off, 0, map[uint64]bool{}); err == nil {
				ix.mu.Unlock()
				_ = typ.String()
				ix.mu.Lock()
			}
		}
		ix.mu.Unlock()
	})
}
