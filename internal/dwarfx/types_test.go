package dwarfx

import (
	"debug/elf"
	"errors"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/cilium/ebpf/btf"

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
	// A sample of other structs: member names, offsets, type spellings and sizes.
	var names []string
	for typ := range bt.Spec.All() {
		if st, ok := typ.(*btf.Struct); ok && st.Name != "" {
			names = append(names, st.Name)
		}
	}
	sort.Strings(names)
	compared := 0
	for i := 0; i < len(names); i += max(1, len(names)/200) {
		n := "struct " + names[i]
		if c, _ := bt.Spec.AnyTypesByName(names[i]); len(c) != 1 {
			continue
		}
		dt, err1 := dsrc.LookupType(n)
		bt, err2 := bsrc.LookupType(n)
		if err1 != nil || err2 != nil {
			continue
		}
		compared++
		if dt.Size != bt.Size || len(dt.Members) != len(bt.Members) {
			t.Errorf("%s: DWARF %d bytes/%d members, BTF %d/%d", n, dt.Size, len(dt.Members), bt.Size, len(bt.Members))
			continue
		}
		for j := range dt.Members {
			dm, bm := dt.Members[j], bt.Members[j]
			if dm.Name != bm.Name || dm.Offset != bm.Offset || dm.BitOffset != bm.BitOffset || dm.BitSize != bm.BitSize ||
				dm.Type.Size != bm.Type.Size || dm.Type.String() != bm.Type.String() && !flatEqual(dm.Type, bm.Type) {
				t.Errorf("%s member %d: DWARF %s %s (%d bytes) at %d/%d:%d, BTF %s %s (%d bytes) at %d/%d:%d", n, j,
					dm.Type, dm.Name, dm.Type.Size, dm.Offset, dm.BitOffset, dm.BitSize,
					bm.Type, bm.Name, bm.Type.Size, bm.Offset, bm.BitOffset, bm.BitSize)
			}
		}
	}
	t.Logf("compared %d converted structs with BTF's", compared)

	r := types.NewRegistry(dsrc, bsrc)
	if n, err := r.Sizeof("struct task_struct"); err != nil || n != 9728 {
		t.Errorf("registry sizeof: %d %v", n, err)
	}
}

// flatEqual: pahole writes int a[2][3] to BTF as int a[6].
func flatEqual(a, b *types.Type) bool {
	inner := func(t *types.Type) *types.Type {
		for t.Kind == types.Array {
			t = t.Elem
		}
		return t
	}
	return a.Kind == types.Array && b.Kind == types.Array && a.Size == b.Size && inner(a).String() == inner(b).String()
}
