package dwarfx

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func corpusDir() string {
	if d := os.Getenv("KDIVE_CORPUS"); d != "" {
		return d
	}
	c := os.Getenv("KDIVE_CACHE")
	if c == "" {
		h, _ := os.UserHomeDir()
		c = filepath.Join(h, ".cache", "kdive")
	}
	return filepath.Join(c, "corpus")
}

func openVmlinux(t testing.TB) *Index {
	t.Helper()
	p := filepath.Join(corpusDir(), "vmlinux")
	if _, err := os.Stat(p); err != nil {
		t.Skipf("no debug vmlinux at %s (build the corpus: testdata/rig/ensure-corpus.sh)", p)
	}
	start := time.Now()
	ix, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("indexed %s in %v: %+v", p, time.Since(start), ix.Stats)
	return ix
}

func TestVmlinuxTaskStruct(t *testing.T) {
	ix := openVmlinux(t)
	defer ix.Close()
	start := time.Now()
	ts, err := ix.LookupType("struct task_struct")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first lookup %v", time.Since(start))
	if ts.Size != 9728 {
		t.Errorf("sizeof(struct task_struct) = %d, want 9728", ts.Size)
	}
	for path, want := range map[string]int64{"comm": 2976} {
		off, _, err := MemberOffset(ts, path)
		if err != nil {
			t.Fatal(err)
		}
		if off != want {
			t.Errorf("offsetof(task_struct, %s) = %d, want %d", path, off, want)
		}
	}
}

func BenchmarkOpenVmlinux(b *testing.B) {
	p := filepath.Join(corpusDir(), "vmlinux")
	if _, err := os.Stat(p); err != nil {
		b.Skip("no vmlinux")
	}
	for i := 0; i < b.N; i++ {
		ix, err := Open(p)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ix.LookupType("struct task_struct"); err != nil {
			b.Fatal(err)
		}
		ix.Close()
	}
}

// TestVmlinuxVariableDefinition: linux_banner has two definitions in 6.1,
// init/version.c's __weak one keeping the declaration's "const char []"
// and init/version-timestamp.c's "const char [204]"; gdb (and crash) show
// the complete type, and so must Variable.
func TestVmlinuxVariableDefinition(t *testing.T) {
	ix := openVmlinux(t)
	defer ix.Close()
	v, err := ix.Variable("linux_banner")
	if err != nil {
		t.Fatal(err)
	}
	a := Strip(v.Type)
	if a.Kind != Array || a.Count != 204 || !v.HasAddr {
		t.Errorf("linux_banner: %v (kind %v, count %d, has address %v), want const char [204] with an address", v.Type, a.Kind, a.Count, v.HasAddr)
	}
}
