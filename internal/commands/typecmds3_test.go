package commands

import (
	"os"
	"path/filepath"
	"testing"

	"kdive/internal/program"
	"kdive/internal/testcorpus"
)

// typecmds3: whatis -r/-m, struct -p (pointer members dereferenced, and
// the value history numbers crash's gdb "p" takes for them), linux_banner's
// defining type; crash 8.0.2's output on the shared zstd dump
// (capture-typecmds.sh VMLINUX DUMP typecmds3).
func TestTypeCommands3Golden(t *testing.T) {
	if testing.Short() {
		t.Skip("indexes the vmlinux's DWARF")
	}
	typecmdsGolden(t, "typecmds3")
}

// Without the vmlinux, whatis -r / -m list the same types from the BTF
// in the dump's memory, and struct -p dereferences the same way.
func TestTypeCommands3NoVmlinux(t *testing.T) {
	golden, err := os.ReadFile("testdata/typecmds3.golden")
	if err != nil {
		t.Fatal(err)
	}
	_, want := rdsymParseGolden(t, string(golden))
	dir := testcorpus.Shared(t)
	prog, err := program.Open("", filepath.Join(dir, "vmcore.zstd"), program.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer prog.Close()
	for _, cmd := range []string{
		"whatis -r 192", "whatis -m mm_struct", "whatis -r 256-300 -m task_struct",
		"whatis -r 0x1000-5000", "whatis -m no_such_type_anywhere",
		"struct file_operations ext4_file_operations -p",
		"struct list_head modules -p", // (init_task.stack: kallsyms has no .data symbol)
	} {
		exp, ok := want[cmd]
		if !ok {
			t.Fatalf("%s: not in the golden file", cmd)
		}
		if got := typecmdsRun(t, prog, cmd); got != exp {
			t.Errorf("%s: differs from crash:\n%s", cmd, rdsymFirstDiff(exp, got))
		}
	}
}
