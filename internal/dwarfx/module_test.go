package dwarfx

import (
	"debug/elf"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

func TestModuleKdiveRig(t *testing.T) {
	p := filepath.Join(corpusDir(), "modules", "kdive_rig.ko")
	if _, err := os.Stat(p); err != nil {
		t.Skipf("no %s", p)
	}
	ix, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	// testdata/rig/module/kdive_rig.c
	want := map[string]map[string]int64{
		"struct kdive_rig_item":   {"node": 0, "index": 16, "value": 20, "label": 24, "": 40},
		"struct kdive_rig_global": {"magic": 0, "state": 8, "triggers": 16, "": 24},
		"struct kdive_rig_state": {"magic": 0, "name": 8, "counter": 40, "items": 48, "crash_work": 64,
			"warm_work": 96, "crash_done": 128, "vbuf": 160, "": 168},
	}
	for name, ms := range want {
		typ, err := ix.LookupType(name)
		if err != nil {
			t.Fatal(err)
		}
		for m, off := range ms {
			if m == "" {
				if typ.Size != off {
					t.Errorf("sizeof(%s) = %d, want %d", name, typ.Size, off)
				}
				continue
			}
			got, _, err := MemberOffset(typ, m)
			if err != nil || got != off {
				t.Errorf("offsetof(%s, %s) = %d (%v), want %d", name, m, got, err, off)
			}
		}
	}
	// Addresses come from relocations against the module's sections:
	// kdive_rig_state is at .bss+8 (readelf -s), kdive_rig_global at .data+0.
	v, err := ix.Variable("kdive_rig_state")
	if err != nil {
		t.Fatal(err)
	}
	if !v.HasAddr || v.Addr != 8 || v.Type.String() != "struct kdive_rig_state *" {
		t.Errorf("kdive_rig_state: addr %#x (%v), type %s", v.Addr, v.HasAddr, v.Type)
	}
	if v, err := ix.Variable("kdive_rig_global"); err != nil || v.Type.String() != "struct kdive_rig_global" {
		t.Errorf("kdive_rig_global: %+v, %v", v, err)
	}
}

// TestVmlinuxRelocationsApplied checks that the vmlinux (ET_EXEC, linked
// with --emit-relocs) already holds the values its .rela.debug_info
// records, so the indexer need not apply them.
func TestVmlinuxRelocationsApplied(t *testing.T) {
	p := filepath.Join(corpusDir(), "vmlinux")
	ef, err := elf.Open(p)
	if err != nil {
		t.Skip(err)
	}
	defer ef.Close()
	if ef.Type != elf.ET_EXEC {
		t.Skip("not ET_EXEC")
	}
	syms, err := ef.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{".debug_info", ".debug_rnglists"} {
		rs := ef.Section(".rela" + target)
		ds := ef.Section(target)
		if rs == nil || ds == nil {
			t.Logf("no .rela%s", target)
			continue
		}
		n := int(rs.Size / 24)
		checked := 0
		r := make([]byte, 24)
		for i := 0; i < n; i += max(1, n/2000) {
			if _, err := rs.ReadAt(r, int64(i)*24); err != nil {
				t.Fatal(err)
			}
			off := binary.LittleEndian.Uint64(r)
			info := binary.LittleEndian.Uint64(r[8:])
			add := binary.LittleEndian.Uint64(r[16:])
			si := int(info >> 32)
			if si == 0 || si > len(syms) {
				continue
			}
			s := syms[si-1]
			want := s.Value + add
			var got uint64
			buf := make([]byte, 8)
			switch elf.R_X86_64(uint32(info)) {
			case elf.R_X86_64_64:
				ds.ReadAt(buf, int64(off))
				got = binary.LittleEndian.Uint64(buf)
			case elf.R_X86_64_32, elf.R_X86_64_32S:
				ds.ReadAt(buf[:4], int64(off))
				got, want = uint64(binary.LittleEndian.Uint32(buf)), want&0xffffffff
			default:
				continue
			}
			checked++
			if got != want {
				t.Errorf("%s+%#x: holds %#x, relocation says %#x (%s%+d)", target, off, got, want, s.Name, int64(add))
				break
			}
		}
		t.Logf("%s: %d of %d relocations checked, all applied", target, checked, n)
	}
}

// TestAllModules indexes every module of the corpus and checks a struct
// they share with the vmlinux has the same layout.
func TestAllModules(t *testing.T) {
	mods, _ := filepath.Glob(filepath.Join(corpusDir(), "modules", "*.ko"))
	if len(mods) == 0 {
		t.Skip("no modules in the corpus")
	}
	for _, p := range mods {
		ix, err := Open(p)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		lh, err := ix.LookupType("struct list_head")
		if err != nil || lh.Size != 16 || len(lh.Members) != 2 || lh.Members[1].Offset != 8 {
			t.Errorf("%s: struct list_head: %v %v", filepath.Base(p), lh, err)
		}
		t.Logf("%s: %+v", filepath.Base(p), ix.Stats)
		ix.Close()
	}
}

// TestConcurrentLookups runs lookups, pointer targets and conversions
// from several goroutines (run with -race).
func TestConcurrentLookups(t *testing.T) {
	p := filepath.Join(corpusDir(), "modules", "kdive_rig.ko")
	if _, err := os.Stat(p); err != nil {
		t.Skipf("no %s", p)
	}
	ix, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	src := NewSource(ix, "")
	done := make(chan error)
	for g := 0; g < 8; g++ {
		go func(g int) {
			var err error
			for i := 0; i < 20 && err == nil; i++ {
				var st *Type
				if st, err = ix.LookupType("struct kdive_rig_state"); err != nil {
					break
				}
				for _, m := range st.Members {
					if m.Type.Kind == Pointer {
						_, err = m.Type.Elem()
					}
				}
				if g%2 == 0 {
					_, err = src.LookupType("struct kdive_rig_global")
				} else {
					_, err = ix.Variable("kdive_rig_global")
				}
			}
			done <- err
		}(g)
	}
	for g := 0; g < 8; g++ {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
