package commands

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"kdive/internal/program"
	"kdive/internal/testcorpus"
)

// kdive_rig's objects (testdata/rig/module/kdive_rig.c) read back with
// p, struct and list, at the addresses the guest printed (truth `object`
// lines), with the values the module's source sets. The module's own
// types are not in the vmlinux, so the reads cast to kernel types.
const rigMagic = 0x6b64697665726967 // "kdiverig"

func TestRigObjects(t *testing.T) {
	vml := testcorpus.Vmlinux(t)
	for _, sc := range testcorpus.Scenarios() {
		t.Run(sc, func(t *testing.T) {
			truth := testcorpus.Truth(t, sc)
			obj := map[string]uint64{}
			for _, l := range truth["object"] {
				f := strings.Fields(l)
				if len(f) == 2 {
					v, err := strconv.ParseUint(f[1], 16, 64)
					if err == nil {
						obj[f[0]] = v
					}
				}
			}
			for _, k := range []string{"state", "global", "vbuf", "item0", "item1", "item2", "crash_work"} {
				if obj[k] == 0 {
					t.Fatalf("truth has no object %s", k)
				}
			}
			prog, err := program.Open(vml, testcorpus.File(t, sc, testcorpus.KdumpELF), program.OpenOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer prog.Close()
			run := func(line string) string { return typecmdsRun(t, prog, line) }
			n := 0
			check := func(line, want string) {
				t.Helper()
				n++
				got := run(line)
				if want = fmt.Sprintf("$%d = %s\n", n, want); got != want {
					t.Errorf("%s:\n got %q\nwant %q", line, got, want)
				}
			}
			st := obj["state"]
			check(fmt.Sprintf("px *(unsigned long long *)%#x", st), fmt.Sprintf("%#x", rigMagic))
			check(fmt.Sprintf("p (char *)%#x + 8", st), fmt.Sprintf("%#x \"kdive-rig-state\"", st+8))
			check(fmt.Sprintf("p *(u64 *)%#x == 0x6b64697665726967", obj["global"]), "1")
			check(fmt.Sprintf("p ((void **)%#x)[1]", obj["global"]), fmt.Sprintf("(void *) %#x", st))
			check(fmt.Sprintf("p ((unsigned long long *)%#x)[5] ^ 5", obj["vbuf"]), strconv.FormatUint(rigMagic, 10))
			// items: struct list_head at offset 48 of the state, items linked
			// in order by their node (offset 0).
			items := fmt.Sprintf("%x\n%x\n%x\n", obj["item0"], obj["item1"], obj["item2"])
			if got := run(fmt.Sprintf("list -H %x -o 0", st+48)); got != items {
				t.Errorf("items list:\n got %q\nwant %q", got, items)
			}
			for i := 0; i < 3; i++ {
				it := obj[fmt.Sprintf("item%d", i)]
				check(fmt.Sprintf("p ((unsigned int *)%#x)[4]", it), strconv.Itoa(i))
				check(fmt.Sprintf("px ((unsigned int *)%#x)[5]", it), fmt.Sprintf("%#x", 0x1000+i))
				check(fmt.Sprintf("p (char *)%#x + 24", it), fmt.Sprintf("%#x \"item-%d\"", it+24, i))
			}
			wantNext := fmt.Sprintf("  next = %#x,\n", obj["item1"])
			if got := run(fmt.Sprintf("struct list_head.next %x", obj["item0"])); got != wantNext {
				t.Errorf("struct list_head.next item0: got %q want %q", got, wantNext)
			}
			check(fmt.Sprintf("p ((struct work_struct *)%#x)->func == kdive_rig_crash_work_fn", obj["crash_work"]), "1")
		})
	}
}
