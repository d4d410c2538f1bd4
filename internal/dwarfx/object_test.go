package dwarfx

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
)

// kdive_rig.ko placed at the addresses its sections have in the corpus's
// oops-proc dump: the DWARF answers in those addresses.
func TestObjectRelocated(t *testing.T) {
	p := filepath.Join(corpusDir(), "modules", "kdive_rig.ko")
	o, err := OpenObject(p)
	if err != nil {
		t.Skip(err)
	}
	if n, ok := o.ModInfo("name"); !ok || n != "kdive_rig" {
		t.Errorf("modinfo name %q %v", n, ok)
	}
	if id, note := o.BuildID(); len(id) != 20 || len(note) != 0x24 {
		t.Errorf("build ID %x (note %d bytes)", id, len(note))
	} else {
		t.Logf("build ID %s", hex.EncodeToString(id))
	}
	if !o.HasDWARF() {
		t.Fatal("no DWARF")
	}
	alloc := 0
	for _, s := range o.Sections() {
		if s.Alloc {
			alloc++
		}
		if s.Name == ".bss" && (!s.NoBits || s.Size != 0x18) {
			t.Errorf(".bss: %+v", s)
		}
	}
	if alloc < 10 {
		t.Errorf("%d allocated sections", alloc)
	}
	// nm's letters (readelf -s: kdive_rig_global GLOBAL in .data,
	// kdive_rig_state LOCAL in .bss, kdive_rig_null_state in .rodata,
	// cleanup_module GLOBAL FUNC, a section symbol named after its section).
	syms, err := o.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]byte{"kdive_rig_global": 'D', "kdive_rig_state": 'b', "kdive_rig_null_state": 'r', "cleanup_module": 'T', "kdive_rig_exit": 't', "__ksymtab_gpl": 'r', "snprintf": 'U'}
	for _, s := range syms {
		if w, ok := want[s.Name]; ok {
			if s.Letter() != w {
				t.Errorf("%s: letter %c, want %c (%+v)", s.Name, s.Letter(), w, s)
			}
			delete(want, s.Name)
		}
	}
	if len(want) > 0 {
		t.Errorf("symbols not found: %v", want)
	}
	const text, data, bss = 0xffffffffc0520000, 0xffffffffc0522000, 0xffffffffc05223c0
	ix, err := o.Index(map[string]uint64{".text": text, ".text.unlikely": text + 0x29c, ".data": data, ".bss": bss, ".debug_info": 0x1000})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	if _, err := o.Index(nil); err == nil {
		t.Error("indexed twice")
	}
	// readelf -s: kdive_rig_global .data+0, kdive_rig_state .bss+8,
	// kdive_rig_null_deref .text+0, kdive_rig_crash_work_fn .text.unlikely+0
	// (placed after .text, as the kernel does).
	for name, want := range map[string]uint64{"kdive_rig_global": data, "kdive_rig_state": bss + 8} {
		if v, err := ix.Variable(name); err != nil || !v.HasAddr || v.Addr != want {
			t.Errorf("%s: %+v %v, want %#x", name, v, err, want)
		}
	}
	for name, want := range map[string]uint64{"kdive_rig_null_deref": text, "kdive_rig_crash_work_fn": text + 0x29c} {
		if a, err := ix.Function(name); err != nil || a != want {
			t.Errorf("%s at %#x (%v), want %#x", name, a, err, want)
		}
	}
	// A non-allocated section's address is ignored: DWARF offsets stay.
	if st, err := ix.LookupType("struct kdive_rig_state"); err != nil || st.Size != 168 {
		t.Errorf("struct kdive_rig_state: %v %v", st, err)
	}
}

func TestObjectRefusesNonRelocatable(t *testing.T) {
	if _, err := OpenObject(filepath.Join(corpusDir(), "vmlinux")); err == nil {
		t.Error("vmlinux opened as an object")
	} else if _, serr := os.Stat(filepath.Join(corpusDir(), "vmlinux")); serr == nil {
		t.Log(err)
	}
}

// FuzzObject: an object file's sections, .modinfo, build ID note, and its
// DWARF relocated to module addresses, then lookups; seeded with the
// corpus's kdive_rig.ko. Malformed input is an error, never a panic.
func FuzzObject(f *testing.F) {
	if b, err := os.ReadFile(filepath.Join(corpusDir(), "modules", "kdive_rig.ko")); err == nil {
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	f.Add(synthRel())
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := ParseObject("fuzz.ko", b)
		if err != nil {
			return
		}
		o.Sections()
		o.ModInfo("name")
		o.BuildID()
		o.Contents(".gnu.linkonce.this_module")
		if syms, err := o.Symbols(); err == nil {
			for _, s := range syms {
				s.Letter()
			}
		}
		if !o.HasDWARF() {
			return
		}
		ix, err := o.Index(map[string]uint64{".text": 0xffffffffc0520000, ".data": 0xffffffffc0522000, ".bss": 0xffffffffc05223c0, ".rodata": 0xffffffffc0521000})
		if err != nil {
			return
		}
		ix.LookupType("struct kdive_rig_state")
		ix.Variable("kdive_rig_global")
		ix.Function("kdive_rig_null_deref")
		ix.FuncType("kdive_rig_write")
	})
}

// synthRel is a small synthetic relocatable object with DWARF.
func synthRel() []byte {
	a := newAsm()
	c := stdAbbrevs(a)
	a.die("", c.cu, "t.c")
	a.die("int", c.base, "int", 4, EncSigned)
	a.die("", c.vr, "v", "@int", []byte{9, opAddr, 0, 0, 0, 0, 0, 0, 0, 0})
	a.end()
	b := a.elf()
	b[16] = etRel
	b[18] = emX8664
	return b
}
