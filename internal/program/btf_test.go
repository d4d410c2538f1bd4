package program

import (
	"debug/elf"
	"os"
	"path/filepath"
	"testing"

	"kdive/internal/btfx"
	"kdive/internal/testcorpus"
	"kdive/internal/types"
	"kdive/internal/vmlinux"
)

// The running kernel's /sys/kernel/btf/vmlinux (this host's, when it has
// one) goes through the same path a live session takes.
func TestSysKernelBTF(t *testing.T) {
	p := filepath.Join(SysBTFDir, "vmlinux")
	if _, err := os.Stat(p); err != nil {
		t.Skipf("no %s on this host", p)
	}
	bt, err := loadSysBTF(p)
	if err != nil {
		t.Fatal(err)
	}
	b := types.NewBTF(bt.Spec, bt.Source)
	ts, err := b.LookupType("struct task_struct")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := ts.FindMember("pid"); !ok || ts.Size < 1000 {
		t.Errorf("struct task_struct from %s: size %d, pid member %v", p, ts.Size, ok)
	}
	if n := len(b.Named()); n < 1000 {
		t.Errorf("%d named types in %s", n, p)
	}
	t.Logf("%s: struct task_struct is %d bytes", p, ts.Size)
}

// Module BTF files in a /sys/kernel/btf-like directory load as split BTF
// on the vmlinux's: the .BTF section of Debian's dummy.ko (the debug
// package the corpus was built with) stands for /sys/kernel/btf/dummy.
func TestSysModuleBTF(t *testing.T) {
	vf, err := vmlinux.Open(testcorpus.Vmlinux(t))
	if err != nil {
		t.Fatal(err)
	}
	defer vf.Close()
	raw, err := vf.BTF()
	if err != nil || raw == nil {
		t.Fatalf("vmlinux .BTF: %v", err)
	}
	base, err := btfx.Load(raw, "vmlinux")
	if err != nil {
		t.Fatal(err)
	}
	kv := testcorpus.KernelVersion(t)
	ko, err := elf.Open(filepath.Join(os.Getenv("HOME"), ".cache/kdive/dbg-"+kv, "usr/lib/debug/lib/modules", kv, "kernel/drivers/net/dummy.ko"))
	if err != nil {
		t.Skipf("no debug dummy.ko: %v", err)
	}
	defer ko.Close()
	sec := ko.Section(".BTF")
	if sec == nil {
		t.Fatal("dummy.ko has no .BTF")
	}
	modRaw, err := sec.Data()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "vmlinux"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "dummy"), modRaw, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "junk"), []byte("not btf"), 0o644); err != nil {
		t.Fatal(err)
	}
	srcs := SysModuleBTF(dir, base.Spec)
	if len(srcs) != 1 {
		t.Fatalf("%d module BTFs, want 1 (junk skipped)", len(srcs))
	}
	// dummy.c's own type, and a kernel type through the base.
	ft, err := srcs[0].LookupVar("dummy_setup")
	if err != nil {
		t.Fatalf("dummy_setup: %v", err)
	}
	if len(ft.Params) != 1 || ft.Params[0].Type.Kind != types.Pointer || ft.Params[0].Type.Elem.Size == 0 {
		t.Errorf("dummy_setup: %v, want a function of a struct net_device * (from the base)", ft)
	}
}
