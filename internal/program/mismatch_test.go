package program

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"kdive/internal/testcorpus"
)

// A kernel image from another build must be refused, naming both build-ids.
func TestVmlinuxMismatch(t *testing.T) {
	dir := testcorpus.Shared(t)
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("gcc not installed: cannot make a foreign ET_EXEC image")
	}
	tmp := t.TempDir()
	src := filepath.Join(tmp, "x.c")
	os.WriteFile(src, []byte("int main(void){return 0;}\n"), 0o644)
	bin := filepath.Join(tmp, "vmlinux-other")
	if out, err := exec.Command(gcc, "-static", "-no-pie", "-Wl,--build-id", "-o", bin, src).CombinedOutput(); err != nil {
		t.Skipf("cannot build a static binary: %v %s", err, out)
	}
	_, err = Open(bin, filepath.Join(dir, "vmcore.zstd"), OpenOptions{})
	if err == nil || !strings.Contains(err.Error(), "does not match the dump") || !strings.Contains(err.Error(), "4409ab2b8a5a626c1ee41412e8e6189fb23ae77c") {
		t.Fatalf("want a mismatch error naming the dump's build-id, got %v", err)
	}
	var warned string
	p, err := Open(bin, filepath.Join(dir, "vmcore.zstd"), OpenOptions{Force: true, Warn: func(s string) { warned = s }})
	if err != nil {
		t.Fatalf("--force: %v", err)
	}
	p.Close()
	if !strings.Contains(warned, "does not match") {
		t.Fatalf("--force gave no warning: %q", warned)
	}
}

func TestNotADump(t *testing.T) {
	tmp := filepath.Join(t.TempDir(), "junk")
	os.WriteFile(tmp, []byte(strings.Repeat("junk", 2000)), 0o644)
	_, err := Open("", tmp, OpenOptions{})
	if err == nil || !strings.Contains(err.Error(), tmp) {
		t.Fatalf("want an error naming the file, got %v", err)
	}
}
