package dwarfx

import (
	"os"
	"path/filepath"
	"testing"
)

// moduleSections are the rig module's DWARF sections (unrelocated: its
// code at 0), nil without the corpus.
func moduleSections(tb testing.TB) map[string][]byte {
	p := filepath.Join(corpusDir(), "modules", "kdive_rig.ko")
	data, err := os.ReadFile(p)
	if err != nil {
		return nil
	}
	ef, err := parseELF(p, data)
	if err != nil {
		tb.Fatal(err)
	}
	secs := map[string][]byte{}
	for _, n := range []string{".debug_abbrev", ".debug_info", ".debug_str", ".debug_line", ".debug_line_str", ".debug_rnglists", ".debug_aranges", ".debug_str_offsets", ".debug_addr"} {
		if b, err := ef.sectionData(n); err == nil && len(b) > 0 {
			secs[n] = b
		}
	}
	return secs
}

// FuzzFunctionAt looks up functions and line tables (gdb's disassemble
// ranges and find_pc_line) in the rig module's DWARF with a fuzzed
// .debug_info or .debug_line: errors, never a panic or a hang; a range
// found holds the address, a line's range starts at or before it.
func FuzzFunctionAt(f *testing.F) {
	secs := moduleSections(f)
	if secs == nil {
		f.Skip("no corpus module")
	}
	f.Add(false, secs[".debug_info"], uint64(0x65))
	f.Add(true, secs[".debug_line"], uint64(0x17))
	f.Add(false, secs[".debug_info"][:len(secs[".debug_info"])/3], uint64(0x100))
	f.Fuzz(func(t *testing.T, line bool, b []byte, pc uint64) {
		m := map[string][]byte{}
		for k, v := range secs {
			m[k] = v
		}
		if line {
			m[".debug_line"] = b
		} else {
			m[".debug_info"] = b
		}
		ix, err := OpenBytes("fuzz", buildELF(etExec, m))
		if err != nil {
			return
		}
		if fr, ok, err := ix.FunctionAt(pc); err == nil && ok {
			in := false
			for _, r := range fr.Ranges {
				in = in || pc >= r[0] && pc < r[1]
			}
			if !in {
				t.Errorf("FunctionAt(%#x) = %+v: no range holds it", pc, fr)
			}
		}
		if u, err := ix.UnitLinesAt(pc); err == nil && u != nil {
			if l, ok := u.Find(pc); ok && (l.Start > pc || l.End != 0 && l.End <= l.Start || l.File < 0 || l.File >= len(u.Files)) {
				t.Errorf("Find(%#x) = %+v", pc, l)
			}
		}
	})
}

// On the rig module relocated as the kernel placed it (.text at
// 0xffffffffc0520000, other sections apart): kdive_rig_write (0x60, 339
// bytes into .text) is one range; a line's range holds the address.
func TestFunctionAtModule(t *testing.T) {
	p := filepath.Join(corpusDir(), "modules", "kdive_rig.ko")
	if _, err := os.Stat(p); err != nil {
		t.Skip("no corpus module")
	}
	obj, err := OpenObject(p)
	if err != nil {
		t.Fatal(err)
	}
	addrs := map[string]uint64{}
	next := uint64(0xffffffffc0600000)
	for _, s := range obj.Sections() {
		addrs[s.Name] = next
		next += 0x10000
	}
	addrs[".text"] = 0xffffffffc0520000
	ix, err := obj.Index(addrs)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	const text = 0xffffffffc0520000
	fr, ok, err := ix.FunctionAt(text + 0x70)
	if err != nil || !ok || fr.Name != "kdive_rig_write" || fr.Entry != text+0x60 || len(fr.Ranges) != 1 || fr.Ranges[0] != [2]uint64{text + 0x60, text + 0x60 + 339} {
		t.Fatalf("FunctionAt(+0x70) = %+v %v %v", fr, ok, err)
	}
	u, err := ix.UnitLinesAt(text + 0x70)
	if err != nil || u == nil {
		t.Fatalf("UnitLinesAt: %v", err)
	}
	l, ok := u.Find(text + 0x65)
	if !ok || l.Start != text+0x65 || l.End <= l.Start || u.Files[l.File].Name != "testdata/rig/module/kdive_rig.c" {
		t.Errorf("Find(+0x65) = %+v %v", l, ok)
	}
}
