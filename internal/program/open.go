package program

import (
	"errors"
	"fmt"
	"strings"

	"kdive/internal/arch/amd64"
	"kdive/internal/dump"
	dumpopen "kdive/internal/dump/open"
	"kdive/internal/kernel/kallsyms"
	"kdive/internal/mem"
	"kdive/internal/symtab"
	"kdive/internal/vmcoreinfo"
	"kdive/internal/vmlinux"
)

// OpenOptions tune Open.
type OpenOptions struct {
	// ZeroExcluded reads filtered-out pages as zeros (crash --zero_excluded).
	ZeroExcluded bool
	// Force goes on with a vmlinux that does not match the dump.
	Force bool
	// Warn receives non-fatal warnings (may be nil).
	Warn func(msg string)
}

// Open opens a dump, with an optional vmlinux ("" for none).
func Open(vmlinuxPath, dumpPath string, o OpenOptions) (_ *Program, err error) {
	d, err := dumpopen.Open(dumpPath, dump.Options{ZeroExcluded: o.ZeroExcluded})
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			d.Close()
		}
	}()
	s := &state{d: d, warn: o.Warn}
	info := d.Info()
	if len(info.VMCOREINFO) == 0 {
		return nil, fmt.Errorf("%s: the dump carries no VMCOREINFO (for QEMU dumps, run the guest with -device vmcoreinfo and load qemu_fw_cfg)", dumpPath)
	}
	s.vmci = vmcoreinfo.Parse(info.VMCOREINFO)
	s.src.OSRelease = s.vmci.OSRelease()
	s.src.BuildID = s.vmci.BuildID()
	s.src.DumpFormat = info.Format
	if info.Compression != "" {
		s.src.DumpFormat += " (" + info.Compression + ")"
	}
	if info.Flattened {
		s.src.DumpFormat = "flattened " + s.src.DumpFormat
	}
	if err := s.setupMemory(info); err != nil {
		return nil, fmt.Errorf("%s: %w", dumpPath, err)
	}
	if vmlinuxPath != "" {
		if err := s.loadVmlinux(vmlinuxPath, o.Force); err != nil {
			return nil, err
		}
	} else if err := s.loadKallsyms(); err != nil {
		return nil, fmt.Errorf("%s: %w", dumpPath, err)
	}
	s.src.Symbols = s.base.Source
	// Nearly every command needs types: parse them on the other core while
	// the caller goes on.
	go s.loadTypes()
	s.findPageOffset()
	p := &Program{Dump: d, VmlinuxPath: vmlinuxPath, impl: s}
	return p, nil
}

func (s *state) setupMemory(info *dump.Info) error {
	v := s.vmci
	s.src.KASLROffset, _ = v.KernelOffset()
	if pb, ok := v.Number("phys_base"); ok {
		s.src.PhysBase = uint64(pb)
	} else {
		// A /proc/vmcore copy maps the kernel image in one PT_LOAD.
		for _, seg := range info.Segments {
			if seg.VAddr >= amd64.StartKernelMap && seg.PAddr != ^uint64(0) {
				s.src.PhysBase = seg.PAddr - (seg.VAddr - amd64.StartKernelMap)
				break
			}
		}
	}
	root, ok := v.Symbol("init_top_pgt")
	if !ok {
		root, ok = v.Symbol("swapper_pg_dir")
	}
	if !ok {
		return fmt.Errorf("VMCOREINFO has neither SYMBOL(init_top_pgt) nor SYMBOL(swapper_pg_dir)")
	}
	if l5, ok := v.Number("pgtable_l5_enabled"); ok && l5 != 0 {
		s.src.Level5 = true
	}
	sme, _ := v.Number("sme_mask")
	w := &amd64.Walker{Mem: s.d, Root: amd64.KernelTextPhys(root, s.src.PhysBase), Level5: s.src.Level5, SMEMask: uint64(sme)}
	bits := int64(46)
	if s.src.Level5 {
		bits = 52
	}
	if b, ok := v.Number("MAX_PHYSMEM_BITS"); ok && b > 30 && b <= 52 {
		bits = b
	}
	s.mem = mem.New(s.d, w, 0, 1<<uint(bits))
	if info.Format == "kcore" {
		s.mem.NoCache = true
	}
	// Check the translation with a symbol VMCOREINFO gives: the page tables
	// must map _stext where phys_base says it is.
	if stext, ok := v.Symbol("_stext"); ok {
		pa, err := s.mem.Translate(stext)
		if err != nil {
			var fe *mem.FaultError
			if errors.As(err, &fe) && fe.Err != nil {
				err = fe.Err // the walker's error names the address already
			}
			return fmt.Errorf("kernel page tables (root at physical %#x): %v", w.Root, err)
		}
		if want := amd64.KernelTextPhys(stext, s.src.PhysBase); pa != want {
			return fmt.Errorf("_stext %#x translates to physical %#x, phys_base says %#x", stext, pa, want)
		}
	}
	return nil
}

func (s *state) loadKallsyms() error {
	v := s.vmci
	need := func(n string) uint64 {
		a, _ := v.Symbol(n)
		return a
	}
	a := kallsyms.Addrs{
		NumSyms: need("kallsyms_num_syms"), Names: need("kallsyms_names"),
		TokenTable: need("kallsyms_token_table"), TokenIndex: need("kallsyms_token_index"),
		Offsets: need("kallsyms_offsets"), RelativeBase: need("kallsyms_relative_base"),
		Stext: need("_stext"),
	}
	if a.NumSyms == 0 || a.Names == 0 || a.TokenTable == 0 || a.TokenIndex == 0 || a.Offsets == 0 || a.RelativeBase == 0 {
		return fmt.Errorf("no vmlinux given and VMCOREINFO lacks the kallsyms_* symbols (kernels before 6.0): give the vmlinux")
	}
	syms, err := kallsyms.Decode(s.mem, a)
	if err != nil {
		return fmt.Errorf("decoding kallsyms: %w", err)
	}
	s.base = symtab.New(syms, "kallsyms in the dump")
	return nil
}

func (s *state) loadVmlinux(path string, force bool) error {
	vf, err := vmlinux.Open(path)
	if err != nil {
		return err
	}
	s.vml = vf
	if want, got := s.vmci.BuildID(), vf.BuildID(); want != "" && got != "" && !strings.EqualFold(want, got) {
		msg := fmt.Sprintf("%s does not match the dump: its build-id is %s, the dump's kernel (%s) has %s", path, got, s.vmci.OSRelease(), want)
		if !force {
			return fmt.Errorf("%s (use --force to go on anyway)", msg)
		}
		if s.warn != nil {
			s.warn("WARNING: " + msg)
		}
	}
	syms, err := vf.Symbols(s.src.KASLROffset)
	if err != nil {
		return err
	}
	s.base = symtab.New(syms, "vmlinux ELF symbol table")
	if sym, ok := s.base.Lookup("linux_banner"); ok && !force {
		if err := s.checkBanner(path, vf, sym.Addr); err != nil {
			return err
		}
	}
	return nil
}

func (s *state) checkBanner(path string, vf *vmlinux.File, addr uint64) error {
	file, err := vf.ReadVaddr(addr-s.src.KASLROffset, 96)
	if err != nil {
		return nil
	}
	live := make([]byte, 96)
	if _, err := s.mem.ReadAt(live, addr); err != nil {
		return nil // the banner page may be filtered out
	}
	cut := func(b []byte) string {
		for i, c := range b {
			if c == 0 || c == '\n' {
				return string(b[:i])
			}
		}
		return string(b)
	}
	if cut(file) != cut(live) {
		return fmt.Errorf("%s does not match the dump: its linux_banner is %q, the dump's is %q (use --force to go on anyway)", path, cut(file), cut(live))
	}
	return nil
}

func (s *state) findPageOffset() {
	s.src.PageOffset = amd64.DefaultPageOff4
	if s.src.Level5 {
		s.src.PageOffset = amd64.DefaultPageOff5
	}
	if sym, ok := s.base.Lookup("page_offset_base"); ok {
		var b [8]byte
		if _, err := s.mem.ReadAt(b[:], sym.Addr); err == nil {
			s.src.PageOffset = le64(b[:])
		}
	}
	s.mem.PageOffset = s.src.PageOffset
}

// Close releases the dump and the vmlinux.
func (p *Program) Close() error {
	if p == nil || p.Dump == nil {
		return nil
	}
	p.dropMemo()
	if p.impl != nil && p.impl.vml != nil {
		p.impl.vml.Close()
	}
	if p.impl != nil {
		p.impl.dbg.close()
	}
	return p.Dump.Close()
}
