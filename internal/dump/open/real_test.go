package open

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"kdive/internal/dump"
	"kdive/internal/testcorpus"
)

// TestRealDetect opens every dump of the rig's corpus by content.
func TestRealDetect(t *testing.T) {
	testcorpus.Dir(t)
	want := map[string]struct {
		format    string
		flattened int // 1 yes, 0 no, -1 either
	}{
		testcorpus.KdumpELF:     {"ELF", 0},
		testcorpus.KdumpFilterd: {"ELF", 0},
		testcorpus.QEMUELF:      {"ELF", 0},
		testcorpus.KdumpLZO:     {"kdump", 0},
		testcorpus.KdumpZlib:    {"kdump", 0},
		testcorpus.KdumpFlat:    {"kdump", 1},
		testcorpus.QEMUKdump:    {"kdump", -1},
	}
	for _, sc := range testcorpus.Scenarios() {
		for _, name := range testcorpus.Formats() {
			t.Run(sc+"/"+name, func(t *testing.T) {
				path := testcorpus.File(t, sc, name)
				w, ok := want[name]
				if !ok {
					t.Skipf("no expectation for %s", name)
				}
				if !IsDump(path) || IsVmlinux(path) {
					t.Errorf("IsDump %v IsVmlinux %v", IsDump(path), IsVmlinux(path))
				}
				d, err := Open(path, dump.Options{})
				if err != nil {
					t.Fatal(err)
				}
				defer d.Close()
				info := d.Info()
				if info.Format != w.format || (w.flattened >= 0 && info.Flattened != (w.flattened == 1)) {
					t.Errorf("format %q flattened %v, want %q %d", info.Format, info.Flattened, w.format, w.flattened)
				}
				if !bytes.Contains(info.VMCOREINFO, []byte("OSRELEASE=6.1.0-53-cloud-amd64\n")) {
					t.Errorf("VMCOREINFO lacks OSRELEASE=6.1.0-53-cloud-amd64")
				}
			})
		}
	}
}

// TestRealVmlinux tells the corpus's vmlinux and modules from dumps.
func TestRealVmlinux(t *testing.T) {
	vm := testcorpus.Vmlinux(t)
	if !IsVmlinux(vm) || IsDump(vm) {
		t.Errorf("%s: IsVmlinux %v IsDump %v", vm, IsVmlinux(vm), IsDump(vm))
	}
	if _, err := Open(vm, dump.Options{}); !errors.Is(err, dump.ErrNotDump) {
		t.Errorf("Open(vmlinux): %v", err)
	}
	kos, _ := filepath.Glob(filepath.Join(filepath.Dir(vm), "modules", "*.ko"))
	for _, ko := range kos {
		if IsVmlinux(ko) || IsDump(ko) {
			t.Errorf("%s: IsVmlinux %v IsDump %v", ko, IsVmlinux(ko), IsDump(ko))
		}
	}
	if _, err := os.Stat(vm); err != nil {
		t.Fatal(err)
	}
}
