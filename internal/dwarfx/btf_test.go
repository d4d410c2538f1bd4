package dwarfx

import (
	"debug/elf"
	"path/filepath"
	"sort"
	"testing"

	"github.com/cilium/ebpf/btf"

	"kdive/internal/btfx"
)

// TestAgainstBTF checks that every named struct and union that the
// vmlinux's .BTF describes once has the same size and member offsets in
// DWARF.
func TestAgainstBTF(t *testing.T) {
	ix := openVmlinux(t)
	defer ix.Close()
	ef, err := elf.Open(filepath.Join(corpusDir(), "vmlinux"))
	if err != nil {
		t.Fatal(err)
	}
	defer ef.Close()
	sec := ef.Section(".BTF")
	if sec == nil {
		t.Skip("no .BTF section")
	}
	raw, err := sec.Data()
	if err != nil {
		t.Fatal(err)
	}
	bt, err := btfx.Load(raw, "vmlinux .BTF")
	if err != nil {
		t.Fatal(err)
	}
	type comp struct {
		kind  string
		name  string
		size  uint32
		membs []btf.Member
	}
	byName := map[string][]comp{}
	for typ, err := range bt.Spec.All() {
		if err != nil {
			t.Fatal(err)
		}
		var c comp
		switch x := typ.(type) {
		case *btf.Struct:
			c = comp{"struct", x.Name, x.Size, x.Members}
		case *btf.Union:
			c = comp{"union", x.Name, x.Size, x.Members}
		default:
			continue
		}
		if c.name == "" {
			continue
		}
		byName[c.kind+" "+c.name] = append(byName[c.kind+" "+c.name], c)
	}
	names := make([]string, 0, len(byName))
	for n, cs := range byName {
		if len(cs) == 1 { // ambiguous names may pick another definition
			names = append(names, n)
		}
	}
	sort.Strings(names)
	if testing.Short() && len(names) > 200 {
		step := len(names) / 200
		var s []string
		for i := 0; i < len(names); i += step {
			s = append(s, names[i])
		}
		names = s
	}
	checked, members, missing := 0, 0, 0
	for _, n := range names {
		c := byName[n][0]
		dt, err := ix.LookupType(n)
		if err != nil {
			missing++
			t.Logf("%s: %v", n, err)
			continue
		}
		if dt.Declaration {
			missing++
			continue
		}
		checked++
		if dt.Size != int64(c.size) {
			t.Errorf("sizeof(%s): DWARF %d, BTF %d", n, dt.Size, c.size)
			continue
		}
		if len(dt.Members) != len(c.membs) {
			t.Errorf("%s: DWARF has %d members, BTF %d", n, len(dt.Members), len(c.membs))
			continue
		}
		for i, bm := range c.membs {
			dm := dt.Members[i]
			members++
			if dm.Name != bm.Name {
				t.Errorf("%s member %d: DWARF %q, BTF %q", n, i, dm.Name, bm.Name)
				continue
			}
			if dm.BitOffset != int64(bm.Offset) {
				t.Errorf("%s.%s: DWARF bit offset %d, BTF %d", n, dm.Name, dm.BitOffset, bm.Offset)
			}
			if dm.BitSize != int64(bm.BitfieldSize) {
				t.Errorf("%s.%s: DWARF bit size %d, BTF %d", n, dm.Name, dm.BitSize, bm.BitfieldSize)
			}
			if bs, err := btf.Sizeof(bm.Type); err == nil {
				if ds := sizeof(dm.Type, 0); ds != int64(bs) && !(ds == -1 && bs == 0) {
					t.Errorf("sizeof(%s.%s): DWARF %d (%s), BTF %d", n, dm.Name, ds, dm.Type, bs)
				}
			}
		}
	}
	t.Logf("compared %d structs/unions (%d members) with BTF; %d not in DWARF or only declared", checked, members, missing)

	// Named enums described once: the same enumerators and values.
	enums := map[string][]*btf.Enum{}
	for typ := range bt.Spec.All() {
		if e, ok := typ.(*btf.Enum); ok && e.Name != "" {
			enums[e.Name] = append(enums[e.Name], e)
		}
	}
	nenum, nval := 0, 0
	for name, es := range enums {
		if len(es) != 1 {
			continue
		}
		e := es[0]
		dt, err := ix.LookupType("enum " + name)
		if err != nil || dt.Declaration {
			continue
		}
		nenum++
		if len(dt.Enumerators) != len(e.Values) {
			t.Errorf("enum %s: DWARF %d enumerators, BTF %d", name, len(dt.Enumerators), len(e.Values))
			continue
		}
		for i, v := range e.Values {
			want := int64(v.Value)
			if e.Signed && e.Size == 4 {
				want = int64(int32(v.Value))
			}
			d := dt.Enumerators[i]
			nval++
			if d.Name != v.Name || d.Value != want {
				t.Errorf("enum %s: DWARF %s=%d, BTF %s=%d", name, d.Name, d.Value, v.Name, want)
			}
		}
	}
	t.Logf("compared %d enums (%d enumerators) with BTF", nenum, nval)
	if checked < 150 {
		t.Errorf("only %d types compared", checked)
	}
}

func TestVmlinuxMembers(t *testing.T) {
	ix := openVmlinux(t)
	defer ix.Close()
	ts, err := ix.LookupType("task_struct")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"comm", "tasks", "pid", "tgid", "mm", "thread", "thread.sp", "se.vruntime", "comm[3]"} {
		off, mt, err := MemberOffset(ts, p)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		t.Logf("task_struct.%s at %d: %s", p, off, mt)
	}
	if off, _, _ := MemberOffset(ts, "comm[3]"); off != 2979 {
		t.Errorf("offsetof(comm[3]) = %d", off)
	}
	n, err := ix.Sizeof("struct list_head")
	if err != nil || n != 16 {
		t.Errorf("sizeof(struct list_head) = %d, %v", n, err)
	}
	if n, err := ix.Sizeof("pid_t"); err != nil || n != 4 {
		t.Errorf("sizeof(pid_t) = %d, %v", n, err)
	}
	v, err := ix.Variable("init_task")
	if err != nil {
		t.Fatal(err)
	}
	if !v.HasAddr || v.Addr < 0xffffffff80000000 || v.Type.String() != "struct task_struct" {
		t.Errorf("init_task: %#x %v %s", v.Addr, v.HasAddr, v.Type)
	}
	t.Logf("init_task at %#x: %s", v.Addr, v.Type)
	if v, err := ix.Variable("jiffies_64"); err != nil || !v.HasAddr {
		t.Errorf("jiffies_64: %+v %v", v, err)
	}
	if x, _, err := ix.Enumerator("TASK_COMM_LEN"); err != nil || x != 16 {
		t.Errorf("TASK_COMM_LEN = %d, %v", x, err)
	}
	if x, et, err := ix.Enumerator("PIDTYPE_TGID"); err != nil || x != 1 || et.String() != "enum pid_type" {
		t.Errorf("PIDTYPE_TGID = %d, %v, %v", x, et, err)
	}
	if ft, err := ix.FuncType("schedule"); err != nil || ft.Kind != Func {
		t.Errorf("schedule: %v %v", ft, err)
	} else {
		t.Logf("schedule: %s", ft)
	}
	if ft, err := ix.FuncType("find_task_by_vpid"); err != nil || ft.String() != "struct task_struct * (pid_t)" {
		t.Errorf("find_task_by_vpid: %v %v", ft, err)
	}
	if pc, err := ix.Function("schedule"); err != nil || pc < 0xffffffff80000000 {
		t.Errorf("schedule: %#x %v", pc, err)
	}
	if ts2, err := ix.LookupKind("task_struct", Struct); err != nil || ts2 != ts {
		t.Errorf("LookupKind(task_struct, Struct) = %v, %v", ts2, err)
	}
	if u64, err := ix.LookupKind("u64", Typedef); err != nil || sizeof(u64, 0) != 8 {
		t.Errorf("LookupKind(u64, Typedef) = %v, %v", u64, err)
	}
	for name, size := range map[string]int64{"long unsigned int": 8, "char": 1, "_Bool": 1, "int": 4, "u8": 1, "union sigval": 8, "enum pid_type": 4} {
		if n, err := ix.Sizeof(name); n != size || err != nil {
			t.Errorf("sizeof(%s) = %d, %v; want %d", name, n, err, size)
		}
	}
	if _, err := ix.LookupType("struct no_such_struct_xyz"); err == nil {
		t.Error("found a type that does not exist")
	}
}
