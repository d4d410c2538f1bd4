package dwarfx

import (
	"debug/elf"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"kdive/internal/btfx"
	"kdive/internal/types"
)

// TestTypesSource compares the DWARF types.Source with the BTF one on the
// same vmlinux.
func TestTypesSource(t *testing.T) {
	ix := openVmlinux(t)
	defer ix.Close()
	ef, err := elf.Open(filepath.Join(corpusDir(), "vmlinux"))
	if err != nil {
		t.Fatal(err)
	}
	defer ef.Close()
	raw, err := ef.Section(".BTF").Data()
	if err != nil {
		t.Fatal(err)
	}
	bt, err := btfx.Load(raw, "vmlinux .BTF")
	if err != nil {
		t.Fatal(err)
	}
	bsrc := types.NewBTF(bt.Spec, "BTF")
	dsrc := NewSource(ix, "")
	start := time.Now()
	dt, err := dsrc.LookupType("struct task_struct")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("task_struct and everything it reaches converted in %v", time.Since(start))
	btt, err := bsrc.LookupType("struct task_struct")
	if err != nil {
		t.Fatal(err)
	}
	if dt.Size != btt.Size || len(dt.Members) != len(btt.Members) {
		t.Fatalf("task_struct: DWARF size %d/%d members, BTF %d/%d", dt.Size, len(dt.Members), btt.Size, len(btt.Members))
	}
	for i := range dt.Members {
		dm, bm := dt.Members[i], btt.Members[i]
		if dm.Name != bm.Name || dm.Offset != bm.Offset || dm.BitOffset != bm.BitOffset || dm.BitSize != bm.BitSize {
			t.Errorf("member %d: DWARF %+v, BTF %+v", i, dm, bm)
		}
		if !types.Equal(dm.Type, bm.Type) && (dm.Type.String() != bm.Type.String() || dm.Type.Size != bm.Type.Size) {
			t.Errorf("member %s: DWARF type %s, BTF %s", dm.Name, dm.Type, bm.Type)
		}
	}
	for _, p := range []string{"comm", "se.vruntime", "thread.sp", "pids", "comm[2]"} {
		a, _, errA := dt.MemberPath(p)
		b, _, errB := btt.MemberPath(p)
		if a != b || (errA == nil) != (errB == nil) {
			t.Errorf("%s: DWARF %d %v, BTF %d %v", p, a, errA, b, errB)
		}
	}
	if v, err := dsrc.LookupVar("init_task"); err != nil || v.String() != "struct task_struct" {
		t.Errorf("init_task: %v %v", v, err)
	}
	if v, err := dsrc.LookupVar("schedule"); err != nil || v.Kind != types.Func {
		t.Errorf("schedule: %v %v", v, err)
	}
	if v, err := dsrc.LookupVar("find_task_by_vpid"); err != nil || len(v.Params) != 1 || v.Params[0].Name != "vnr" {
		t.Errorf("find_task_by_vpid: %v %+v", v, err)
	} else {
		t.Logf("find_task_by_vpid: %s", types.Decl(v, "find_task_by_vpid"))
	}
	if et, v, err := dsrc.LookupEnumerator("PIDTYPE_PID"); err != nil || v != 0 || et.Name != "pid_type" {
		t.Errorf("PIDTYPE_PID: %v %d %v", et, v, err)
	}
	if _, err := dsrc.LookupType("struct nonexistent_zz"); !errors.Is(err, types.ErrNotFound) {
		t.Errorf("missing type: %v", err)
	}
	r := types.NewRegistry(dsrc, bsrc)
	if n, err := r.Sizeof("struct task_struct"); err != nil || n != 9728 {
		t.Errorf("registry sizeof: %d %v", n, err)
	}
}
