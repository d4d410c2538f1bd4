package commands

import (
	"bytes"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"testing"

	"kdive/internal/kernel/slub"
	"kdive/internal/program"
	"kdive/internal/testcorpus"
)

// kmemSlabRun runs one kmem or rd command line. Through the kmem command
// when it is registered; before that, kmem's slab hooks directly (then a
// `kmem ADDR` gives only its slab part, up to its blank line).
func kmemSlabRun(t *testing.T, p *program.Program, line string) (out string, full bool) {
	t.Helper()
	var o, e bytes.Buffer
	env := &Env{Prog: p, Out: &o, Err: &e}
	f := strings.Fields(line)
	if c := Lookup(f[0]); c != nil {
		if err := c.Run(env, f[1:]); err != nil && err != ErrShown {
			fmt.Fprintf(&o, "%s: %v\n", f[0], err)
		}
		return o.String() + e.String(), true
	}
	if f[0] != "kmem" {
		t.Fatalf("no command %s", f[0])
	}
	var err error
	switch {
	case f[1] == "-s" || f[1] == "-S":
		err = kmemSlab.Summary(env, f[1] == "-S", f[2:], SlabOptions{})
	default:
		a, perr := strconv.ParseUint(f[1], 16, 64)
		if perr != nil {
			t.Fatal(perr)
		}
		_, err = kmemSlab.Addr(env, a)
	}
	if err != nil && err != ErrShown {
		fmt.Fprintf(&o, "kmem: %v\n", err)
	}
	return o.String() + e.String(), false
}

// kmemGolden reads a golden transcript made by capture-kmem.sh: its
// commands and outputs, skipping the test when the corpus is not the one
// it was captured on.
func kmemGolden(t *testing.T, name string) (cmds, outs []string) {
	t.Helper()
	return kmemGoldenIn(t, testcorpus.Dir(t), name)
}

func kmemGoldenIn(t *testing.T, dir, name string) (cmds, outs []string) {
	t.Helper()
	_, rest := goldenFor(t, dir, name)
	if !strings.HasPrefix(rest, "@@@ ") {
		return nil, []string{rest}
	}
	for _, blk := range strings.Split(rest, "@@@ ")[1:] {
		cmd, out, _ := strings.Cut(blk, "\n")
		cmds = append(cmds, cmd)
		outs = append(outs, out)
	}
	return cmds, outs
}

func kmemOpen(t *testing.T, vmlinux, scenario, format string) *program.Program {
	t.Helper()
	p, err := program.Open(vmlinux, testcorpus.File(t, scenario, format), program.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// kmem -s, -S CACHE, -s/-S ADDR, kmem ADDR (rig objects allocated, free
// objects of a CPU slab and of a CPU partial slab, an inner address, a
// slab's struct page) and rd -S/-SS: byte for byte crash 8.0.2's on the
// oops-proc dump, with the vmlinux and with the dump's BTF alone.
func TestKmemSlabGolden(t *testing.T) {
	cmds, outs := kmemGolden(t, "kmem-slab-oops-proc.golden")
	if len(cmds) < 18 {
		t.Fatalf("%d commands in the golden file", len(cmds))
	}
	for _, v := range []string{testcorpus.Vmlinux(t), ""} {
		name := map[bool]string{true: "vmlinux", false: "btf"}[v != ""]
		t.Run(name, func(t *testing.T) {
			p := kmemOpen(t, v, "oops-proc", testcorpus.KdumpLZO)
			for i, cmd := range cmds {
				if strings.HasPrefix(cmd, "rd ") && Lookup("rd") == nil {
					continue
				}
				got, full := kmemSlabRun(t, p, cmd)
				want := outs[i]
				if !full && !strings.HasPrefix(cmd, "kmem -") {
					// Only the slab part: up to the first blank line.
					if k := strings.Index(want, "\n\n"); k >= 0 {
						want = want[:k+2]
					}
				}
				if got != want {
					t.Errorf("%s:\n%s", cmd, lineDiff(got, want))
				}
			}
		})
	}
}

// kmem -S: every cache's CPU slabs with each object's state, CPU partial
// and node lists: crash's 14,000 lines byte for byte.
func TestKmemSAllGolden(t *testing.T) {
	_, outs := kmemGolden(t, "kmem-S-oops-proc.golden.gz")
	p := kmemOpen(t, testcorpus.Vmlinux(t), "oops-proc", testcorpus.KdumpELF)
	got, _ := kmemSlabRun(t, p, "kmem -S")
	if got != outs[0] {
		t.Errorf("kmem -S:\n%s", lineDiff(got, outs[0]))
	}
}

// lineDiff shows the first differing lines of two outputs.
func lineDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var a, b string
		if i < len(g) {
			a = g[i]
		}
		if i < len(w) {
			b = w[i]
		}
		if a != b || i >= len(g) || i >= len(w) {
			return fmt.Sprintf("line %d (of %d, crash %d):\n got %q\nwant %q", i+1, len(g), len(w), a, b)
		}
	}
	return "(equal)"
}

// kmem ADDR on every scenario, with and without vmlinux: the rig's
// objects (truth.txt) bracketed as allocated under their caches' lines;
// an object from a CPU's lockless freelist bare, "(cpu N cache)".
func TestKmemRigObjects(t *testing.T) {
	testcorpus.Dir(t)
	for _, sc := range testcorpus.Scenarios() {
		for _, v := range []string{testcorpus.Vmlinux(t), ""} {
			name := map[bool]string{true: "vmlinux", false: "btf"}[v != ""]
			t.Run(sc+"/"+name, func(t *testing.T) {
				truth := testcorpus.Truth(t, sc)
				obj := map[string]uint64{}
				for _, l := range truth["object"] {
					var k string
					var a uint64
					if _, err := fmt.Sscanf(l, "%s %x", &k, &a); err == nil {
						obj[k] = a
					}
				}
				p := kmemOpen(t, v, sc, testcorpus.KdumpELF)
				for _, tc := range []struct {
					name, cache string
					at          uint64
				}{
					{"state", "kmalloc-192", obj["state"]},
					{"state", "kmalloc-192", obj["crash_work"]}, // inside the state
					{"item0", "kmalloc-64", obj["item0"]},
					{"item1", "kmalloc-64", obj["item1"]},
					{"item2", "kmalloc-64", obj["item2"]},
				} {
					out, _ := kmemSlabRun(t, p, fmt.Sprintf("kmem %x", tc.at))
					want := fmt.Sprintf("  %s\n  FREE / [ALLOCATED]\n  [%x]\n", "", obj[tc.name])
					if !strings.Contains(out, "  "+tc.cache+"\n") || !strings.Contains(out, want[4:]) {
						t.Errorf("kmem %x (%s):\n%s", tc.at, tc.name, out)
					}
				}
				r, unlock, err := slubReader(p)
				if err != nil {
					t.Fatal(err)
				}
				c := r.CacheNamed("kmalloc-64")
				cs, err := r.CPU(c, 0)
				unlock()
				if err != nil || cs.Freelist == 0 {
					t.Skipf("no free object on cpu 0's kmalloc-64 freelist: %v", err)
				}
				out, _ := kmemSlabRun(t, p, fmt.Sprintf("kmem %x", cs.Freelist+8))
				if !strings.Contains(out, fmt.Sprintf("  FREE / [ALLOCATED]\n   %x  (cpu 0 cache)\n", cs.Freelist)) {
					t.Errorf("free object %x:\n%s", cs.Freelist, out)
				}
			})
		}
	}
}

// corruptSource is a program whose memory reads see one 8-byte value
// replaced.
type corruptSource struct {
	slubSource
	at, val uint64
}

func (p corruptSource) ReadAt(b []byte, a uint64) (int, error) {
	n, err := p.Program.ReadAt(b, a)
	for i := 0; i < 8; i++ {
		if x := p.at + uint64(i); x >= a && x < a+uint64(n) {
			b[x-a] = byte(p.val >> (8 * i))
		}
	}
	return n, err
}

// A corrupt CPU freelist: kmem ADDR for an object of that slab states the
// corruption ("freelist of slab X is corrupt at Y") and gives no
// FREE/[ALLOCATED] verdict; kmem -s marks the cache's counts unknown.
func TestKmemCorruptFreelist(t *testing.T) {
	testcorpus.Dir(t)
	p := kmemOpen(t, testcorpus.Vmlinux(t), "oops-proc", testcorpus.KdumpELF)
	r, unlock, err := slubReader(p)
	if err != nil {
		t.Fatal(err)
	}
	c := r.CacheNamed("kmalloc-64")
	cs, err := r.CPU(c, 0)
	unlock()
	if err != nil || cs.Slab == 0 || cs.Freelist == 0 {
		t.Fatalf("cpu 0: %+v %v", cs, err)
	}
	at := cs.Freelist + c.Offset
	bad := uint64(0xffff8f3f00001000)
	src := corruptSource{slubSource{p}, at, bad ^ c.Random ^ bits.ReverseBytes64(at)}
	r2, err := slub.New(src, 2)
	if err != nil {
		t.Fatal(err)
	}
	saved := p.Memo(slubKey{}, func() any { return nil })
	p.SetMemo(slubKey{}, &slubEntry{r: r2})
	defer p.SetMemo(slubKey{}, saved)
	out, _ := kmemSlabRun(t, p, fmt.Sprintf("kmem %x", cs.Freelist))
	want := fmt.Sprintf("freelist of slab %x is corrupt at %x: pointer %x is outside", cs.Slab, at, bad)
	if !strings.Contains(out, want) || strings.Contains(out, "FREE / [ALLOCATED]") {
		t.Errorf("kmem %x:\n%s\nwant %q and no verdict", cs.Freelist, out, want)
	}
	out, _ = kmemSlabRun(t, p, "kmem -s kmalloc-64")
	if !strings.Contains(out, "        ?         ?      ?     4k  kmalloc-64\n") || !strings.Contains(out, want) {
		t.Errorf("kmem -s kmalloc-64:\n%s", out)
	}
}

// A slab whose struct slab names no cache on slab_caches: kmem ADDR says
// so, naming the slab and the bad pointer, and gives no verdict.
func TestKmemSlabWithoutCache(t *testing.T) {
	testcorpus.Dir(t)
	p := kmemOpen(t, testcorpus.Vmlinux(t), "oops-proc", testcorpus.KdumpELF)
	obj := testcorpus.Truth(t, "oops-proc")["object"]
	var item0 uint64
	for _, l := range obj {
		fmt.Sscanf(l, "item0 %x", &item0)
	}
	r, unlock, err := slubReader(p)
	if err != nil || item0 == 0 {
		t.Fatal(err, item0)
	}
	slab, err := r.SlabOf(item0)
	unlock()
	if err != nil || slab == 0 {
		t.Fatalf("item0 %x: slab %x %v", item0, slab, err)
	}
	off, err := p.MemberOffset("slab", "slab_cache")
	if err != nil {
		t.Fatal(err)
	}
	const bogus = 0xffff8f3f12345600
	r2, err := slub.New(corruptSource{slubSource{p}, slab + off, bogus}, 2)
	if err != nil {
		t.Fatal(err)
	}
	saved := p.Memo(slubKey{}, func() any { return nil })
	p.SetMemo(slubKey{}, &slubEntry{r: r2})
	defer p.SetMemo(slubKey{}, saved)
	out, _ := kmemSlabRun(t, p, fmt.Sprintf("kmem %x", item0))
	want := fmt.Sprintf("kmem: %x: slab %x points to no slab cache (slab_cache %x)\n", item0, slab, uint64(bogus))
	if !strings.Contains(out, want) || strings.Contains(out, "FREE / [ALLOCATED]") {
		t.Errorf("kmem %x:\n%s\nwant %q", item0, out, want)
	}
}
