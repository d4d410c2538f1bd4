package open

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kdive/internal/dump"
)

func corpusDir() string {
	if d := os.Getenv("KDIVE_CORPUS"); d != "" {
		return d
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "kdive", "corpus")
}

// TestRealDetect opens every file of the rig's corpus by content.
func TestRealDetect(t *testing.T) {
	dirs, _ := filepath.Glob(filepath.Join(corpusDir(), "*"))
	want := map[string]string{
		"vmcore.elf":          "ELF",
		"vmcore.filtered.elf": "ELF",
		"qemu.elf":            "ELF",
		"vmcore.lzo":          "kdump",
	}
	seen := 0
	for _, dir := range dirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			path := filepath.Join(dir, e.Name())
			if e.IsDir() {
				continue
			}
			if format, ok := want[e.Name()]; ok {
				seen++
				if !IsDump(path) || IsVmlinux(path) {
					t.Errorf("%s: IsDump %v IsVmlinux %v", path, IsDump(path), IsVmlinux(path))
				}
				d, err := Open(path, dump.Options{})
				if err != nil {
					t.Errorf("%v", err)
					continue
				}
				info := d.Info()
				if info.Format != format {
					t.Errorf("%s: format %q, want %q", path, info.Format, format)
				}
				if info.VMCOREINFO != nil && !bytes.Contains(info.VMCOREINFO, []byte("OSRELEASE=6.1.0-53-cloud-amd64\n")) {
					t.Errorf("%s: VMCOREINFO has another OSRELEASE", path)
				}
				d.Close()
			}
			if strings.HasPrefix(e.Name(), "vmlinux") && !strings.HasSuffix(e.Name(), ".gz") {
				seen++
				if !IsVmlinux(path) || IsDump(path) {
					t.Errorf("%s: IsVmlinux %v IsDump %v", path, IsVmlinux(path), IsDump(path))
				}
				if _, err := Open(path, dump.Options{}); err == nil {
					t.Errorf("%s: opened as a dump", path)
				}
			}
		}
	}
	if seen == 0 {
		t.Skipf("no real dumps under %s (the test rig puts them there)", corpusDir())
	}
}
