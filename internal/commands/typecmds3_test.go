package commands

import "testing"

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
