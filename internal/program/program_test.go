package program

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"kdive/internal/dump"
	"kdive/internal/testcorpus"
)

// checkAgainstTruth opens a dump and compares symbols, modules and utsname
// with what the guest printed before it crashed.
func checkAgainstTruth(t *testing.T, vmlinux, path string, truth map[string][]string) *Program {
	t.Helper()
	p, err := Open(vmlinux, path, OpenOptions{Warn: func(s string) { t.Log(s) }})
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	t.Cleanup(func() { p.Close() })
	for _, kv := range truth["kallsyms"] {
		// "ADDR TYPE NAME" or "ADDR TYPE NAME [module]"
		f := strings.Fields(kv)
		if len(f) < 3 {
			continue
		}
		want, _ := strconv.ParseUint(f[0], 16, 64)
		got, err := p.Symbol(f[2])
		if err != nil || got != want {
			t.Errorf("%s: symbol %s = %#x, %v; guest says %#x", path, f[2], got, err, want)
		}
		if f[1] == "A" || f[1] == "a" {
			continue // absolute (per-CPU offsets): no address lies "in" them
		}
		s, off, ok := p.SymbolAt(want + 1)
		if !ok || off != 1 || s.Addr != want {
			t.Errorf("%s: SymbolAt(%#x+1) = %+v+%d", path, want, s, off)
		}
		if len(f) == 4 && "["+s.Module+"]" != f[3] {
			t.Errorf("%s: %s is in module %q, guest says %s", path, f[2], s.Module, f[3])
		}
	}
	mods, err := p.Modules()
	if err != nil {
		t.Errorf("%s: modules: %v", path, err)
	}
	got := map[string]uint64{}
	for _, m := range mods {
		got[m.Name] = m.Size
		if m.NumSyms == 0 {
			t.Errorf("%s: module %s has no symbols", path, m.Name)
		}
	}
	for _, kv := range truth["module"] {
		f := strings.Fields(kv)
		if len(f) != 2 {
			continue
		}
		want, _ := strconv.ParseUint(f[1], 10, 64)
		if got[f[0]] != want {
			t.Errorf("%s: module %s size %d, guest says %d", path, f[0], got[f[0]], want)
		}
	}
	if len(mods) != len(truth["module"]) {
		t.Errorf("%s: %d modules, guest lists %d", path, len(mods), len(truth["module"]))
	}
	uts, err := p.Symbol("init_uts_ns")
	if err != nil {
		t.Fatal(err)
	}
	off, err := p.MemberOffset("uts_namespace", "name.nodename")
	if err != nil {
		t.Fatal(err)
	}
	node, err := p.ReadCString(uts+off, 65)
	if want := truth["nodename"]; err != nil || len(want) == 0 || node != want[0] {
		t.Errorf("%s: nodename %q (%v), guest says %v", path, node, err, want)
	}
	return p
}

func TestSharedZstdWithoutVmlinux(t *testing.T) {
	dir := testcorpus.Shared(t)
	truth := testcorpus.ParseTruth(mustRead(t, filepath.Join(dir, "truth.txt")))
	for _, f := range []string{"vmcore.zstd", "vmcore.snappy"} {
		p := checkAgainstTruth(t, "", filepath.Join(dir, f), truth)
		if p.Info().Symbols != "kallsyms in the dump" || !strings.Contains(p.Info().Types, "BTF in the dump") {
			t.Errorf("sources: %+v", p.Info())
		}
	}
}

func TestCorpusEveryFormat(t *testing.T) {
	dir := testcorpus.Dir(t)
	vml := testcorpus.Vmlinux(t)
	for _, sc := range testcorpus.Scenarios() {
		for _, f := range testcorpus.Formats() {
			truth := testcorpus.TruthOf(t, sc, testcorpus.TruthFor(f))
			path := filepath.Join(dir, sc, f)
			t.Run(sc+"/"+f+"/kallsyms", func(t *testing.T) { checkAgainstTruth(t, "", path, truth) })
			t.Run(sc+"/"+f+"/vmlinux", func(t *testing.T) { checkAgainstTruth(t, vml, path, truth) })
		}
	}
}

func TestExcludedPageIsAnError(t *testing.T) {
	dir := testcorpus.Shared(t)
	p, err := Open("", filepath.Join(dir, "vmcore.zstd"), OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	// -d 31 drops free pages: scan the direct map for one.
	var b [8]byte
	for pfn := uint64(0x1000); pfn < 0x20000; pfn++ {
		_, err := p.ReadAt(b[:], p.Info().PageOffset+pfn<<12)
		var ex *dump.ExcludedError
		if errors.As(err, &ex) {
			if !strings.Contains(err.Error(), "excluded") {
				t.Fatalf("error does not say excluded: %v", err)
			}
			return
		}
	}
	t.Fatal("no excluded page found in a -d 31 dump")
}

func TestUnmappedAddress(t *testing.T) {
	dir := testcorpus.Shared(t)
	p, err := Open("", filepath.Join(dir, "vmcore.zstd"), OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	_, err = p.ReadU64(0xffffc90000000000 - 0x1000) // hole below vmalloc
	var fe *FaultError
	if !errors.As(err, &fe) || fe.Addr != 0xffffc90000000000-0x1000 {
		t.Fatalf("want FaultError naming the address, got %v", err)
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
