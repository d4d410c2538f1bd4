package commands

import (
	"testing"

	"kdive/internal/program"
	"kdive/internal/testcorpus"
)

// Types defined inside a function body (no global type of that name
// exists) are found by struct, ptype and whatis: the BTF (pahole's, in
// the vmlinux and in the dump) carries every unit's types without scope,
// and the registry asks it first. crash (gdb without a block scope) says
// "invalid data structure reference" for these.
func TestFunctionLocalTypes(t *testing.T) {
	vml := testcorpus.Vmlinux(t)
	want := map[string]string{
		// arch/x86/events/intel/ds.c, intel_pmu_drain_bts_buffer()
		"struct bts_record": "struct bts_record {\n    u64 from;\n    u64 to;\n    u64 flags;\n}\nSIZE: 24\n",
		// drivers/firmware/dmi-id.c (a table type local to a function)
		"struct mafield": "struct mafield {\n    const char *prefix;\n    int field;\n}\nSIZE: 16\n",
		// mm/slub.c, deactivate_slab()
		"ptype enum slab_modes": "type = enum slab_modes {M_NONE, M_PARTIAL, M_FULL, M_FREE, M_FULL_NOLIST}\n",
		"whatis bts_record":     "struct bts_record {\n    u64 from;\n    u64 to;\n    u64 flags;\n}\nSIZE: 24\n",
	}
	for _, v := range []string{vml, ""} {
		prog, err := program.Open(v, testcorpus.File(t, "sysrq", testcorpus.KdumpELF), program.OpenOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for cmd, exp := range want {
			if got := typecmdsRun(t, prog, cmd); got != exp {
				t.Errorf("vmlinux %q: %s:\n got %q\nwant %q", v, cmd, got, exp)
			}
		}
		prog.Close()
	}
}
