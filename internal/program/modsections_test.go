package program

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"kdive/internal/dwarfx"
	"kdive/internal/testcorpus"
)

// truthAddr returns the address of a kdive_rig symbol or object the guest
// printed (truth `kallsyms ADDR t NAME [kdive_rig]` or `object NAME ADDR`).
func truthAddr(t *testing.T, truth map[string][]string, name string) uint64 {
	t.Helper()
	for _, l := range truth["kallsyms"] {
		if f := strings.Fields(l); len(f) >= 3 && f[2] == name {
			v, err := strconv.ParseUint(f[0], 16, 64)
			if err == nil {
				return v
			}
		}
	}
	for _, l := range truth["object"] {
		if f := strings.Fields(l); len(f) == 2 && f[0] == name {
			v, err := strconv.ParseUint(f[1], 16, 64)
			if err == nil {
				return v
			}
		}
	}
	t.Fatalf("truth has no address for %s", name)
	return 0
}

// The kernel's section list of every corpus module: .text at the module's
// base, .gnu.linkonce.this_module at its struct module, the init sections
// gone (freed after init).
func TestModuleSections(t *testing.T) {
	p, err := Open("", testcorpus.File(t, "oops-proc", testcorpus.KdumpLZO), OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	mods, err := p.Modules()
	if err != nil || len(mods) == 0 {
		t.Fatal(mods, err)
	}
	for _, m := range mods {
		secs, err := p.ModuleSections(m)
		if err != nil {
			t.Errorf("%s: %v", m.Name, err)
			continue
		}
		got := map[string]uint64{}
		for _, s := range secs {
			got[s.Name] = s.Addr
			if strings.HasPrefix(s.Name, ".init") {
				t.Errorf("%s: init section %s listed after init", m.Name, s.Name)
			}
		}
		if got[".text"] != m.Base || got[".gnu.linkonce.this_module"] != m.Addr {
			t.Errorf("%s: .text %#x (base %#x), this_module %#x (struct module %#x)", m.Name, got[".text"], m.Base, got[".gnu.linkonce.this_module"], m.Addr)
		}
	}
}

// After LoadModuleDebug of kdive_rig.ko, with and without the vmlinux:
// its DWARF answers in runtime addresses (the guest's), its types and
// globals' types are in Types(), unloading removes them; another module's
// file is refused.
func TestLoadModuleDebug(t *testing.T) {
	ko := testcorpus.Module(t, "kdive_rig")
	for _, sc := range testcorpus.Scenarios() {
		for _, vml := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/vmlinux=%v", sc, vml), func(t *testing.T) {
				vmlinux := ""
				if vml {
					vmlinux = testcorpus.Vmlinux(t)
				}
				truth := testcorpus.Truth(t, sc)
				p, err := Open(vmlinux, testcorpus.File(t, sc, testcorpus.KdumpLZO), OpenOptions{})
				if err != nil {
					t.Fatal(err)
				}
				defer p.Close()
				if _, err := p.Types().LookupType("struct kdive_rig_state"); err == nil {
					t.Fatal("struct kdive_rig_state known before mod -s")
				}
				// Refused: another module's file, and kdive_rig's file for another module.
				virtio := filepath.Join(filepath.Dir(ko), "virtio.ko")
				if _, err := p.LoadModuleDebug("kdive_rig", virtio); err == nil || !strings.Contains(err.Error(), "not kdive_rig") {
					t.Errorf("virtio.ko as kdive_rig: %v", err)
				}
				if _, err := p.LoadModuleDebug("virtio", ko); err == nil {
					t.Errorf("kdive_rig.ko as virtio: accepted")
				}
				if p.ModuleDebugOf("kdive_rig") != nil || p.ModuleDebugOf("virtio") != nil {
					t.Fatal("a refused file was loaded")
				}
				md, err := p.LoadModuleDebug("kdive_rig", ko)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := p.LoadModuleDebug("kdive_rig", ko); !errors.Is(err, ErrModuleDebugLoaded) {
					t.Errorf("second load: %v", err)
				}
				v, err := md.Index.Variable("kdive_rig_global")
				if err != nil || !v.HasAddr || v.Addr != truthAddr(t, truth, "global") {
					t.Errorf("kdive_rig_global: %+v %v, guest %#x", v, err, truthAddr(t, truth, "global"))
				}
				for _, fn := range []string{"kdive_rig_null_deref", "kdive_rig_crash_work_fn"} {
					if a, err := md.Index.Function(fn); err != nil || a != truthAddr(t, truth, fn) {
						t.Errorf("%s at %#x (%v), guest %#x", fn, a, err, truthAddr(t, truth, fn))
					}
				}
				// Line tables relocated too (.rela.debug_line): crash's
				// "kdive_rig.c: 70" for the function's first address.
				if l, ok, err := md.Index.LineAt(truthAddr(t, truth, "kdive_rig_null_deref")); err != nil || !ok || !strings.HasSuffix(l.File, "/kdive_rig.c") || l.Line != 70 {
					t.Errorf("line of kdive_rig_null_deref: %v %v %v", l, ok, err)
				}
				st, err := p.Types().LookupType("struct kdive_rig_state")
				if err != nil || st.Size != 168 {
					t.Fatalf("struct kdive_rig_state: %v %v", st, err)
				}
				gt, err := p.Types().LookupVar("kdive_rig_global")
				if err != nil || gt.Name != "kdive_rig_global" || gt.Size != 24 {
					t.Errorf("type of kdive_rig_global: %+v %v", gt, err)
				}
				// A type both describe: the module's DWARF and the kernel's
				// BTF agree on its layout.
				for _, m := range st.Members {
					if m.Name == "crash_work" {
						k, err := p.Types().LookupType("struct work_struct")
						if err != nil || k.Size != m.Type.Size || len(k.Members) != len(m.Type.Members) {
							t.Errorf("struct work_struct: kernel %v, module %v", k, m.Type)
						}
					}
				}
				if md := p.ModuleDebugAt(truthAddr(t, truth, "kdive_rig_null_deref") + 4); md == nil || md.Module.Name != "kdive_rig" {
					t.Errorf("ModuleDebugAt: %v", md)
				}
				if !p.UnloadModuleDebug("kdive_rig") || p.UnloadModuleDebug("kdive_rig") {
					t.Error("unload")
				}
				if _, err := p.Types().LookupType("struct kdive_rig_state"); err == nil {
					t.Error("struct kdive_rig_state known after unload")
				}
			})
		}
	}
}

// FuzzMatchSections: an object file's section set compared with a
// module's (the check that refuses another module's file); seeded with
// kdive_rig.ko and the sections the kernel listed for it on oops-proc.
func FuzzMatchSections(f *testing.F) {
	if b, err := os.ReadFile(filepath.Join(testcorpus.Path(), "modules", "kdive_rig.ko")); err == nil {
		f.Add(b)
	}
	f.Add([]byte("\x7fELF"))
	secs := []ModuleSection{{".note.gnu.build-id", 0}, {".note.Linux", 0}, {".text", 0}, {".text.unlikely", 0},
		{".exit.text", 0}, {"__ksymtab_gpl", 0}, {"__kcrctab_gpl", 0}, {"__ksymtab_strings", 0}, {"__mcount_loc", 0},
		{".rodata.str1.8", 0}, {".rodata.str1.1", 0}, {".rodata", 0}, {".return_sites", 0}, {".orc_unwind", 0},
		{".orc_unwind_ip", 0}, {"__bug_table", 0}, {".data", 0}, {".exit.data", 0}, {".gnu.linkonce.this_module", 0},
		{".bss", 0}, {".symtab", 0}, {".strtab", 0}}
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := dwarfx.ParseObject("fuzz.ko", b)
		if err != nil {
			return
		}
		err = matchSections(o, Module{Name: "kdive_rig"}, secs)
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("multi-line error %q", err)
		}
	})
}
