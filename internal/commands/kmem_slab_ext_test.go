package commands

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"kdive/internal/program"
	"kdive/internal/testcorpus"
)

func extOpen(t *testing.T, vmlinux, scenario string) *program.Program {
	t.Helper()
	p, err := program.Open(vmlinux, testcorpus.ExtFile(t, scenario, testcorpus.KdumpLZO), program.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func extVariants(t *testing.T) map[string]string {
	return map[string]string{"vmlinux": testcorpus.ExtVmlinux(t), "btf": ""}
}

var kmemSLineRE = regexp.MustCompile(`(?m)^[0-9a-f]{16} +(\d+) +(\d+) +(\d+) +(\d+) +(\d+)k  (\S+)$`)

type kmemSLine struct{ objsize, alloc, total, slabs, ssize int64 }

func parseKmemS(out string) map[string]kmemSLine {
	m := map[string]kmemSLine{}
	for _, f := range kmemSLineRE.FindAllStringSubmatch(out, -1) {
		var n [5]int64
		for i := range n {
			n[i], _ = strconv.ParseInt(f[i+1], 10, 64)
		}
		m[f[6]] = kmemSLine{n[0], n[1], n[2], n[3], n[4]}
	}
	return m
}

// kmem -s against the guest's /proc/slabinfo, printed a moment before
// each ext crash: every cache slabinfo lists is there with the same
// object size, objects per slab and slab size; the slab and object totals
// equal the guest's for all but a few caches busy in between (at most
// 10%); allocated objects are at most slabinfo's active objects (SLUB
// counts the free objects of CPU slabs as active). The test module's
// caches are exact: kdive_leak has the 5000 leaked objects allocated,
// kdive_poison one.
func TestKmemExtSlabinfo(t *testing.T) {
	testcorpus.ExtDir(t)
	for _, sc := range testcorpus.ExtScenarios() {
		for name, v := range extVariants(t) {
			t.Run(sc+"/"+name, func(t *testing.T) {
				truth := testcorpus.ExtTruth(t, sc)
				si, err := testcorpus.ParseSlabinfo(truth)
				if err != nil || len(si) < 50 {
					t.Fatalf("%d slabinfo lines, %v", len(si), err)
				}
				p := extOpen(t, v, sc)
				out, _ := kmemSlabRun(t, p, "kmem -s")
				ks := parseKmemS(out)
				differ := 0
				for n, s := range si {
					k, ok := ks[n]
					if !ok {
						t.Errorf("%s: in slabinfo, not in kmem -s", n)
						continue
					}
					if k.ssize*1024 != s.PagesPerSlab*4096 {
						t.Errorf("%s: slab size %dk, slabinfo %d pages", n, k.ssize, s.PagesPerSlab)
					}
					if k.total != s.NumObjs || k.slabs != s.NumSlabs || k.alloc > s.ActiveObjs {
						differ++
						t.Logf("%s: kmem -s %d allocated %d objects %d slabs; slabinfo %d active %d objects %d slabs",
							n, k.alloc, k.total, k.slabs, s.ActiveObjs, s.NumObjs, s.NumSlabs)
					}
				}
				if differ > len(si)/10 {
					t.Errorf("%d of %d caches differ from slabinfo", differ, len(si))
				}
				switch sc {
				case "leak":
					if k := ks["kdive_leak"]; k.alloc != 5000 || k.total != si["kdive_leak"].NumObjs {
						t.Errorf("kdive_leak: %+v, slabinfo %+v", k, si["kdive_leak"])
					}
				case "poison":
					if k := ks["kdive_poison"]; k.alloc != 1 || k.total != si["kdive_poison"].NumObjs {
						t.Errorf("kdive_poison: %+v, slabinfo %+v", k, si["kdive_poison"])
					}
				}
			})
		}
	}
}

// kmemVerdict runs kmem ADDR and returns the cache's name and the object
// line ("[ADDR]" allocated, "ADDR" free).
func kmemVerdict(t *testing.T, p *program.Program, a uint64) (cache, obj, out string) {
	t.Helper()
	out, _ = kmemSlabRun(t, p, fmt.Sprintf("kmem %x", a))
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		if i > 0 && strings.HasPrefix(lines[i-1], "CACHE ") {
			if f := strings.Fields(l); len(f) > 0 {
				cache = f[len(f)-1]
			}
		}
		if strings.TrimSpace(l) == "FREE / [ALLOCATED]" && i+1 < len(lines) {
			obj = strings.Fields(lines[i+1] + " -")[0]
		}
	}
	return cache, obj, out
}

// kmem ADDR on the ext scenarios' objects as the guest left them: the
// use-after-free's B (A's memory, reused) allocated in kmalloc-1k and C
// free; the poison cache's live object allocated, the freed and the
// overwritten-after-free objects free (slub_debug=FZPU: red zones, the
// object address is past the left red zone); the leak's objects
// allocated in kdive_leak.
func TestKmemExtObjects(t *testing.T) {
	testcorpus.ExtDir(t)
	for _, tc := range []struct {
		sc    string
		objs  map[string]string // truth object -> "[cache" allocated or "cache" free
		leaks bool
	}{
		{"uaf", map[string]string{"uaf_a": "[kmalloc-1k", "uaf_b": "[kmalloc-1k", "uaf_c": "kmalloc-1k", "state": "[kmalloc-64"}, false},
		{"poison", map[string]string{"poison_live": "[kdive_poison", "poison_free": "kdive_poison", "poison_bad": "kdive_poison"}, false},
		{"leak", map[string]string{}, true},
	} {
		for name, v := range extVariants(t) {
			t.Run(tc.sc+"/"+name, func(t *testing.T) {
				truth := testcorpus.ExtTruth(t, tc.sc)
				objs, err := testcorpus.ParseObjects(truth)
				if err != nil {
					t.Fatal(err)
				}
				want := map[uint64]string{}
				for k, w := range tc.objs {
					if objs[k] == 0 {
						t.Fatalf("truth has no object %s", k)
					}
					want[objs[k]] = w
				}
				if tc.leaks {
					for _, l := range truth["leak_obj"] {
						var i int
						var a uint64
						if _, err := fmt.Sscanf(l, "%d %x", &i, &a); err == nil {
							want[a] = "[kdive_leak"
						}
					}
					if len(want) < 4 {
						t.Fatalf("%d leak objects in the truth", len(want))
					}
				}
				p := extOpen(t, v, tc.sc)
				for a, w := range want {
					cache, obj, out := kmemVerdict(t, p, a)
					alloc := strings.HasPrefix(w, "[")
					wantObj := fmt.Sprintf("%x", a)
					if alloc {
						wantObj = "[" + wantObj + "]"
					}
					if cache != strings.TrimPrefix(w, "[") || obj != wantObj {
						t.Errorf("kmem %x: cache %q object %q, want %q %q\n%s", a, cache, obj, strings.TrimPrefix(w, "["), wantObj, out)
					}
				}
			})
		}
	}
}

// The owner tracks of the object the poison scenario overwrote after
// freeing it (slub_debug=U): kmem ADDR's "Allocated in" and "Freed in"
// lines and their stacks are the kernel's own report of the same object
// in the dump's log ("Poison overwritten"), except the age (the kernel's
// is at the report, kdive's at the crash).
func TestKmemExtOwnerTracks(t *testing.T) {
	testcorpus.ExtDir(t)
	for name, v := range extVariants(t) {
		t.Run(name, func(t *testing.T) {
			truth := testcorpus.ExtTruth(t, "poison")
			objs, _ := testcorpus.ParseObjects(truth)
			bad := objs["poison_bad"]
			p := extOpen(t, v, "poison")
			log, _ := kmemSlabRun(t, p, "log -t")
			_, rest, ok := strings.Cut(log, "Poison overwritten\n")
			if !ok {
				t.Fatal("no Poison overwritten report in the log")
			}
			ageRE := regexp.MustCompile(` age=\d+ `)
			var kernel []string
			in := false
			for _, l := range strings.Split(rest, "\n") {
				if strings.HasPrefix(l, "Allocated in ") {
					in = true
				}
				if strings.HasPrefix(l, "Slab ") {
					break
				}
				if in {
					kernel = append(kernel, ageRE.ReplaceAllString(strings.TrimSpace(l), " "))
				}
			}
			if len(kernel) < 6 {
				t.Fatalf("kernel report: %q", kernel)
			}
			_, obj, out := kmemVerdict(t, p, bad)
			if obj != fmt.Sprintf("%x", bad) {
				t.Errorf("poison_bad %x: %q", bad, obj)
			}
			_, after, _ := strings.Cut(out, obj+"  \n")
			var got []string
			for _, l := range strings.Split(after, "\n") {
				if l == "" {
					break
				}
				got = append(got, ageRE.ReplaceAllString(strings.TrimSpace(l), " "))
			}
			if strings.Join(got, "\n") != strings.Join(kernel, "\n") {
				t.Errorf("kmem %x tracks:\n%s\nkernel:\n%s", bad, strings.Join(got, "\n"), strings.Join(kernel, "\n"))
			}
		})
	}
}

// kmem -s, -S and kmem ADDR on the ext corpus's uaf, leak and poison dumps:
// crash 8.0.2's output byte for byte (kmem-slab-ext.golden).
func TestKmemExtGolden(t *testing.T) {
	cmds, outs := kmemGoldenIn(t, testcorpus.ExtDir(t), "kmem-slab-ext.golden")
	if len(cmds) < 10 {
		t.Fatalf("%d commands in the golden file", len(cmds))
	}
	progs := map[string]*program.Program{}
	for i, line := range cmds {
		sc, cmd, _ := strings.Cut(line, " ")
		for name, v := range extVariants(t) {
			key := sc + "/" + name
			if progs[key] == nil {
				progs[key] = extOpen(t, v, sc)
			}
			if got, _ := kmemSlabRun(t, progs[key], cmd); got != outs[i] {
				t.Errorf("%s %s (%s):\n%s", sc, cmd, name, lineDiff(got, outs[i]))
			}
		}
	}
}
