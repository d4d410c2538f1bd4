package program

import (
	"fmt"

	"kdive/internal/btfx"
)

// openBTF loads types from the vmlinux's .BTF section, or from the BTF the
// kernel keeps in memory between __start_BTF and __stop_BTF
// (CONFIG_DEBUG_INFO_BTF, kernel/bpf/btf.c).
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
