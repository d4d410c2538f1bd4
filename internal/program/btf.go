package program

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/cilium/ebpf/btf"

	"kdive/internal/btfx"
	"kdive/internal/types"
)

// SysBTFDir is where a running kernel exports its BTF (vmlinux, and one
// split BTF file per module; CONFIG_DEBUG_INFO_BTF, kernel/bpf/sysfs_btf.c
// and btf_module_notify). A variable for tests.
var SysBTFDir = "/sys/kernel/btf"

// openBTF loads types from the vmlinux's .BTF section; on a live system
// (/proc/kcore) from /sys/kernel/btf/vmlinux; else from the BTF the kernel
// keeps in memory between __start_BTF and __stop_BTF.
func (s *state) openBTF() (*btfx.Types, error) {
	if s.vml != nil {
		raw, err := s.vml.BTF()
		if err != nil {
			return nil, err
		}
		if raw != nil {
			return btfx.Load(raw, s.vml.Path+" .BTF section")
		}
	}
	if s.live() {
		if t, err := loadSysBTF(filepath.Join(SysBTFDir, "vmlinux")); err == nil {
			return t, nil
		}
	}
	start, ok1 := s.base.Lookup("__start_BTF")
	stop, ok2 := s.base.Lookup("__stop_BTF")
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("no type information: the kernel has no __start_BTF/__stop_BTF (CONFIG_DEBUG_INFO_BTF off?)")
	}
	if stop.Addr <= start.Addr || stop.Addr-start.Addr > btfx.MaxSize {
		return nil, fmt.Errorf("BTF in the dump: implausible range %#x..%#x", start.Addr, stop.Addr)
	}
	raw := make([]byte, stop.Addr-start.Addr)
	if _, err := s.mem.ReadAt(raw, start.Addr); err != nil {
		return nil, fmt.Errorf("reading the dump's BTF at %#x: %w", start.Addr, err)
	}
	return btfx.Load(raw, fmt.Sprintf("BTF in the dump's memory (__start_BTF %#x, %d bytes)", start.Addr, len(raw)))
}

// live reports a running kernel (/proc/kcore) rather than a dump.
func (s *state) live() bool { return s.d != nil && s.d.Info().Format == "kcore" }

// loadSysBTF reads a BTF file of /sys/kernel/btf, capped at btfx.MaxSize.
func loadSysBTF(path string) (*btfx.Types, error) {
	raw, err := readCapped(path)
	if err != nil {
		return nil, err
	}
	return btfx.Load(raw, path)
}

func readCapped(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(&limitReader{f: f, n: btfx.MaxSize + 1}); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if buf.Len() > btfx.MaxSize {
		return nil, fmt.Errorf("%s: larger than the %d-byte cap", path, btfx.MaxSize)
	}
	return buf.Bytes(), nil
}

type limitReader struct {
	f *os.File
	n int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, fmt.Errorf("too large")
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.f.Read(p)
	l.n -= int64(n)
	return n, err
}

// SysModuleBTF loads the split BTF of each module a running kernel
// exports in dir (/sys/kernel/btf/<module>, on top of base), sorted by
// module name; files that do not parse are skipped.
func SysModuleBTF(dir string, base *btf.Spec) []*types.BTF {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	sort.Slice(ents, func(i, j int) bool { return ents[i].Name() < ents[j].Name() })
	var out []*types.BTF
	for _, e := range ents {
		if e.Name() == "vmlinux" || e.IsDir() {
			continue
		}
		p := filepath.Join(dir, e.Name())
		raw, err := readCapped(p)
		if err != nil {
			continue
		}
		spec, err := btf.LoadSplitSpecFromReader(bytes.NewReader(raw), base)
		if err != nil {
			continue
		}
		out = append(out, types.NewBTF(spec, fmt.Sprintf("BTF of module %s (%s)", e.Name(), p)))
	}
	return out
}
