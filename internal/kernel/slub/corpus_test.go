package slub_test

import (
	"errors"
	"fmt"
	"math/bits"
	"strings"
	"testing"

	"kdive/internal/kernel/slub"
	"kdive/internal/program"
	"kdive/internal/testcorpus"
)

func open(t *testing.T, vmlinux, scenario string) (*program.Program, *slub.Reader) {
	t.Helper()
	p, err := program.Open(vmlinux, testcorpus.File(t, scenario, testcorpus.KdumpLZO), program.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	r, err := slub.New(p, 2)
	if err != nil {
		t.Fatal(err)
	}
	return p, r
}

func variants(t *testing.T) map[string]string {
	return map[string]string{"vmlinux": testcorpus.Vmlinux(t), "btf": ""}
}

// Every slab of the memory map (PG_slab pages), each freelist decoded:
// per cache, the slabs, objects and allocated objects counted from the
// freelists equal the kernel's counters as kmem -s (and crash) read them.
func TestCorpusExactCounts(t *testing.T) {
	testcorpus.Dir(t)
	for _, sc := range testcorpus.Scenarios() {
		for name, v := range variants(t) {
			t.Run(sc+"/"+name, func(t *testing.T) {
				_, r := open(t, v, sc)
				exactCounts(t, r)
			})
		}
	}
}

// The same on the ext corpus: red-zoned, store-user caches (poison), a
// cache of 5000 live objects (leak), a reused use-after-free object.
func TestExtExactCounts(t *testing.T) {
	testcorpus.ExtDir(t)
	for _, sc := range testcorpus.ExtScenarios() {
		for name, v := range map[string]string{"vmlinux": testcorpus.ExtVmlinux(t), "btf": ""} {
			t.Run(sc+"/"+name, func(t *testing.T) {
				p, err := program.Open(v, testcorpus.ExtFile(t, sc, testcorpus.KdumpLZO), program.OpenOptions{})
				if err != nil {
					t.Fatal(err)
				}
				defer p.Close()
				r, err := slub.New(p, 2)
				if err != nil {
					t.Fatal(err)
				}
				exactCounts(t, r)
			})
		}
	}
}

func exactCounts(t *testing.T, r *slub.Reader) {
	t.Helper()
	caches, err := r.Caches()
	if err != nil || len(caches) < 100 {
		t.Fatalf("%d caches, %v", len(caches), err)
	}
	cpus := map[*slub.Cache][]slub.CPU{}
	type count struct{ slabs, objects, alloc uint64 }
	got := map[*slub.Cache]*count{}
	nslabs := 0
	r.ScanSlabs(func(a uint64) bool {
		nslabs++
		s, err := r.ReadSlab(a)
		if err != nil {
			t.Fatal(err)
		}
		c := r.CacheAt(s.Cache)
		if c == nil {
			t.Errorf("slab %x: slab_cache %x is no cache", a, s.Cache)
			return true
		}
		if cpus[c] == nil {
			cpus[c] = r.CPUs(c)
		}
		st := r.State(c, s, cpus[c])
		if st.Err != nil {
			t.Error(st.Err)
			return true
		}
		if got[c] == nil {
			got[c] = &count{}
		}
		got[c].slabs++
		got[c].objects += uint64(s.Objects)
		got[c].alloc += uint64(st.Allocated())
		return true
	})
	if nslabs < 1000 {
		t.Fatalf("%d slabs in the memory map", nslabs)
	}
	for _, c := range caches {
		st, err := r.Stats(c)
		if err != nil {
			t.Errorf("%s: %v", c.Name, err)
			continue
		}
		g := got[c]
		if g == nil {
			g = &count{}
		}
		if g.slabs != st.Slabs || g.objects != st.Total || g.alloc != st.Allocated {
			t.Errorf("%s: freelists: %d slabs %d objects %d allocated; counters: %d %d %d",
				c.Name, g.slabs, g.objects, g.alloc, st.Slabs, st.Total, st.Allocated)
		}
	}
}

// patched is a program whose memory reads see one 8-byte value replaced.
type patched struct {
	*program.Program
	at, val uint64
}

func (p patched) ReadAt(b []byte, a uint64) (int, error) {
	n, err := p.Program.ReadAt(b, a)
	for i := 0; i < 8; i++ {
		if x := p.at + uint64(i); x >= a && x < a+uint64(n) {
			b[x-a] = byte(p.val >> (8 * i))
		}
	}
	return n, err
}

// A CPU slab's lockless freelist made to point outside the slab, into the
// middle of an object, and back to itself: the slab's state is an error
// naming the slab and the corrupt slot, never a verdict.
func TestCorpusCorruptFreelist(t *testing.T) {
	testcorpus.Dir(t)
	p, r := open(t, testcorpus.Vmlinux(t), "oops-proc")
	c := r.CacheNamed("kmalloc-64")
	if c == nil {
		t.Fatal("no kmalloc-64")
	}
	cs, err := r.CPU(c, 0)
	if err != nil || cs.Slab == 0 || cs.Freelist == 0 {
		t.Fatalf("cpu 0: %+v %v", cs, err)
	}
	s, err := r.ReadSlab(cs.Slab)
	if err != nil {
		t.Fatal(err)
	}
	if st := r.State(c, s, nil); st.Err != nil || st.NFree < 3 {
		t.Fatalf("intact slab: %d free, %v", st.NFree, st.Err)
	}
	at := cs.Freelist + c.Offset
	enc := func(ptr uint64) uint64 { return ptr ^ c.Random ^ bits.ReverseBytes64(at) }
	for _, tc := range []struct {
		name string
		ptr  uint64
		why  string
	}{
		{"outside", s.Base + 0x10000, "outside the slab"},
		{"inner", s.Base + c.Size + 8, "not at the start of an object"},
		{"cycle", cs.Freelist, "twice (a cycle)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r2, err := slub.New(patched{p, at, enc(tc.ptr)}, 2)
			if err != nil {
				t.Fatal(err)
			}
			c2 := r2.CacheNamed("kmalloc-64")
			s2, _ := r2.ReadSlab(cs.Slab)
			st := r2.State(c2, s2, nil)
			var ce *slub.CorruptError
			if !errors.As(st.Err, &ce) {
				t.Fatalf("state error %v", st.Err)
			}
			want := fmt.Sprintf("freelist of slab %x is corrupt at %x: ", cs.Slab, at)
			if !strings.HasPrefix(st.Err.Error(), want) || !strings.Contains(st.Err.Error(), tc.why) {
				t.Errorf("%v\nwant %s...%s", st.Err, want, tc.why)
			}
			if _, err := r2.Stats(c2); err == nil {
				t.Error("kmem -s counted a corrupt CPU freelist")
			}
		})
	}
}

// The rig's objects (truth.txt) are in slab pages of the caches their
// sizes give, allocated; the module's global and vmalloc buffer are in
// no slab.
func TestCorpusRigObjects(t *testing.T) {
	testcorpus.Dir(t)
	for _, sc := range testcorpus.Scenarios() {
		for name, v := range variants(t) {
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
				_, r := open(t, v, sc)
				for k, cache := range map[string]string{"state": "kmalloc-192", "item0": "kmalloc-64", "item1": "kmalloc-64", "item2": "kmalloc-64", "wq": "kmalloc-512"} {
					a := obj[k]
					slab, err := r.SlabOf(a)
					if err != nil || slab == 0 {
						t.Fatalf("%s %x: slab %x, %v", k, a, slab, err)
					}
					s, _ := r.ReadSlab(slab)
					c := r.CacheAt(s.Cache)
					if c == nil || c.Name != cache {
						t.Errorf("%s %x: cache %v, want %s", k, a, c, cache)
						continue
					}
					st := r.State(c, s, nil)
					i, ok := st.Geom.Index(a)
					if st.Err != nil || !ok || st.Free[i] {
						t.Errorf("%s %x: index %d ok %v, free %v, %v", k, a, i, ok, ok && st.Free[i], st.Err)
					}
				}
				for _, k := range []string{"global", "vbuf"} {
					if slab, err := r.SlabOf(obj[k]); slab != 0 || err != nil {
						t.Errorf("%s %x: slab %x, %v", k, obj[k], slab, err)
					}
				}
			})
		}
	}
}
