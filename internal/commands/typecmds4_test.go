package commands

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"kdive/internal/program"
	"kdive/internal/testcorpus"
)

// typecmds4: the seeds' type commands (issue 3's "done when" list) in
// their shapes on the shared dump: the NAME.member ADDR shorthand with
// options after the address (mlx5_core_dev.cmd ADDR -xo), struct -xo
// (struct request -xo), px sizeof (px sizeof(struct net_device)), list
// STRUCT.MEMBER -H ADDR -s STRUCT.m1,m2 (list dma_pool.page_list -H ...
// -s dma_page.offset,vaddr), NAME.member ADDR (skb_shared_info.frag_list
// ADDR), a cast's member (p ((struct alx_priv*)ADDR)->qnapi), eval ADDR +
// 704; crash 8.0.2's output (capture-typecmds.sh VMLINUX DUMP typecmds4),
// with the vmlinux and without it (the dump's BTF and kallsyms).
func TestTypeCommands4Golden(t *testing.T) {
	if testing.Short() {
		t.Skip("indexes the vmlinux's DWARF")
	}
	typecmdsGolden(t, "typecmds4")
	golden, err := os.ReadFile("testdata/typecmds4.golden")
	if err != nil {
		t.Fatal(err)
	}
	cmds, want := rdsymParseGolden(t, string(golden))
	prog, err := program.Open("", filepath.Join(testcorpus.Shared(t), "vmcore.zstd"), program.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer prog.Close()
	for _, cmd := range cmds {
		if got := typecmdsRun(t, prog, cmd); got != want[cmd] {
			t.Errorf("without vmlinux: %s: differs from crash:\n%s", cmd, rdsymFirstDiff(want[cmd], got))
		}
	}
}

// Under `set radix 16` struct -o and whatis show offsets and sizes in
// hexadecimal, as crash 8.0.2 does (checked on the corpus's sysrq dump).
func TestStructSessionRadix(t *testing.T) {
	prog, err := program.Open("", filepath.Join(testcorpus.Shared(t), "vmcore.zstd"), program.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer prog.Close()
	prog.SetOutputRadix(16)
	defer prog.SetOutputRadix(10)
	for cmd, want := range map[string]string{
		"struct kref -o": "struct kref {\n  [0x0] refcount_t refcount;\n}\nSIZE: 0x4\n",
		"struct kref":    "struct kref {\n    refcount_t refcount;\n}\nSIZE: 0x4\n",
		"whatis kref":    "struct kref {\n    refcount_t refcount;\n}\nSIZE: 0x4\n",
	} {
		if got := typecmdsRun(t, prog, cmd); got != want {
			t.Errorf("%s: %q, want %q", cmd, got, want)
		}
	}
}

// struct -f reads the dump file itself; a decimal offset is decimal, as
// crash's stoll (checked with crash on the corpus's sysrq/vmcore.elf).
func TestStructFileOffset(t *testing.T) {
	path := filepath.Join(testcorpus.Shared(t), "vmcore.zstd")
	prog, err := program.Open("", path, program.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer prog.Close()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	le := func(o int) uint64 {
		var v uint64
		for i := 7; i >= 0; i-- {
			v = v<<8 | uint64(raw[o+i])
		}
		return v
	}
	for cmd, off := range map[string]int{"struct list_head 0 -f": 0, "struct list_head 10 -f": 10, "struct list_head 10x -f": 16} {
		want := fmt.Sprintf("struct list_head {\n  next = %#x,\n  prev = %#x\n}\n", le(off), le(off+8))
		if got := typecmdsRun(t, prog, cmd); got != want {
			t.Errorf("%s: %q, want %q", cmd, got, want)
		}
	}
}
