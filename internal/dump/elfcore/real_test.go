package elfcore

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"kdive/internal/dump"
	"kdive/internal/dump/diskdump"
	"kdive/internal/testcorpus"
)

// Real dumps from the test rig (see internal/testcorpus): per scenario
// vmcore.elf (a /proc/vmcore copy), vmcore.filtered.elf (makedumpfile -E -d
// 31 of it), qemu.elf (dump-guest-memory, paging:false, -device vmcoreinfo)
// and vmcore.lzo (kdump-compressed, same crash as vmcore.elf).

const wantRelease = "OSRELEASE=6.1.0-53-cloud-amd64\n"

// forScenarios runs f for each corpus scenario whose files are present.
func forScenarios(t *testing.T, f func(t *testing.T, sc string)) {
	testcorpus.Dir(t)
	for _, sc := range testcorpus.Scenarios() {
		t.Run(sc, func(t *testing.T) { f(t, sc) })
	}
}

func openReal(t *testing.T, path string) *Core {
	t.Helper()
	c, err := OpenCore(path, dump.Options{})
	if err != nil {
		t.Fatalf("%v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func checkCommon(t *testing.T, c *Core) {
	t.Helper()
	info := c.Info()
	if info.Format != "ELF" || info.PageSize != 4096 {
		t.Errorf("%s: format %q page size %d", info.Path, info.Format, info.PageSize)
	}
	if info.NrCPUs != 2 || len(info.PRStatus) != 2 {
		t.Errorf("%s: NrCPUs %d, %d PRSTATUS notes; want 2", info.Path, info.NrCPUs, len(info.PRStatus))
	}
	for i, p := range info.PRStatus {
		if len(p) != 336 {
			t.Errorf("%s: PRSTATUS %d is %d bytes, want 336", info.Path, i, len(p))
		}
	}
	if len(info.Segments) == 0 || info.MaxPFN == 0 {
		t.Errorf("%s: %d segments, MaxPFN %#x", info.Path, len(info.Segments), info.MaxPFN)
	}
	for _, w := range c.Warnings() {
		t.Errorf("warning: %s", w)
	}
}

func hasRelease(vmci []byte) bool { return bytes.Contains(vmci, []byte(wantRelease)) }

func TestRealVmcore(t *testing.T) {
	forScenarios(t, func(t *testing.T, sc string) {
		c := openReal(t, testcorpus.File(t, sc, testcorpus.KdumpELF))
		checkCommon(t, c)
		info := c.Info()
		if !hasRelease(info.VMCOREINFO) {
			t.Errorf("VMCOREINFO lacks %q: %.200q", wantRelease, info.VMCOREINFO)
		}
		if info.Partial {
			t.Errorf("a /proc/vmcore copy marked partial")
		}
		// kexec's headers: kernel virtual addresses on every PT_LOAD.
		for _, s := range info.Segments {
			if s.VAddr < 0xffff800000000000 || s.FileSize != s.MemSize {
				t.Errorf("segment %+v", s)
			}
		}
		// The first page of every segment is readable.
		p := make([]byte, 4096)
		for _, s := range info.Segments {
			if _, err := c.ReadPhysAt(p, s.PAddr); err != nil {
				t.Errorf("read %#x: %v", s.PAddr, err)
			}
		}
	})
}

func TestRealQEMU(t *testing.T) {
	forScenarios(t, func(t *testing.T, sc string) {
		c := openReal(t, testcorpus.File(t, sc, testcorpus.QEMUELF))
		checkCommon(t, c)
		info := c.Info()
		if len(info.QEMUCPUState) != 2 {
			t.Errorf("%d QEMU notes, want 2", len(info.QEMUCPUState))
		}
		// The rig runs QEMU with -device vmcoreinfo and the guest
		// loads qemu_fw_cfg, which publishes the note.
		if info.VMCOREINFO == nil {
			t.Errorf("no VMCOREINFO note")
		} else if !hasRelease(info.VMCOREINFO) {
			t.Errorf("VMCOREINFO lacks %q", wantRelease)
		}
		for _, s := range info.Segments {
			if s.VAddr != 0 {
				t.Errorf("segment %+v: paging:false dump with a virtual address", s)
			}
		}
	})
}

// samplePages picks whole pages across a dump's RAM: the first and last
// whole page of every extent plus random ones.
func samplePages(c *Core, n int) []uint64 {
	rng := rand.New(rand.NewPCG(42, 42))
	type span struct{ lo, hi uint64 } // page-aligned [lo, hi)
	var spans []span
	var out []uint64
	var total uint64
	for _, e := range c.phys {
		lo, hi := (e.start+4095)&^4095, e.end&^4095
		if hi <= lo {
			continue
		}
		spans = append(spans, span{lo, hi})
		out = append(out, lo, hi-4096)
		total += (hi - lo) / 4096
	}
	for range n {
		r := rng.Uint64N(total)
		for _, s := range spans {
			if np := (s.hi - s.lo) / 4096; r < np {
				out = append(out, s.lo+r*4096)
				break
			} else {
				r -= np
			}
		}
	}
	return out
}

func TestRealFiltered(t *testing.T) {
	forScenarios(t, func(t *testing.T, sc string) {
		fpath := testcorpus.File(t, sc, testcorpus.KdumpFilterd)
		upath := filepath.Join(filepath.Dir(fpath), testcorpus.KdumpELF)
		f := openReal(t, fpath)
		checkCommon(t, f)
		if !hasRelease(f.Info().VMCOREINFO) {
			t.Errorf("VMCOREINFO lacks %q", wantRelease)
		}
		zf, err := OpenCore(fpath, dump.Options{ZeroExcluded: true})
		if err != nil {
			t.Fatal(err)
		}
		defer zf.Close()
		var u *Core
		if _, err := os.Stat(upath); err == nil {
			u = openReal(t, upath)
			if f.Info().MaxPFN != u.Info().MaxPFN {
				t.Errorf("MaxPFN filtered %#x, full %#x", f.Info().MaxPFN, u.Info().MaxPFN)
			}
		}
		// Plus addresses outside RAM: the legacy VGA hole, past the end.
		pages := append(samplePages(f, 3000), 0xa0000, f.Info().MaxPFN*4096)
		if u != nil {
			pages = append(pages, samplePages(u, 1000)...)
		}
		pf, pu, pz := make([]byte, 4096), make([]byte, 4096), make([]byte, 4096)
		var have, excluded, absent int
		for _, a := range pages {
			_, ferr := f.ReadPhysAt(pf, a)
			_, zerr := zf.ReadPhysAt(pz, a)
			var ee *dump.ExcludedError
			var np *dump.NotPresentError
			switch {
			case ferr == nil:
				have++
				if zerr != nil || !bytes.Equal(pz, pf) {
					t.Fatalf("%#x: zero-excluded read differs: %v", a, zerr)
				}
			case errors.As(ferr, &ee):
				excluded++
				if zerr != nil || !bytes.Equal(pz, make([]byte, 4096)) {
					t.Fatalf("%#x: zero-excluded read: %v / not zero", a, zerr)
				}
			case errors.As(ferr, &np):
				absent++
			default:
				t.Fatalf("%#x: %v", a, ferr)
			}
			if u == nil {
				continue
			}
			_, uerr := u.ReadPhysAt(pu, a)
			switch {
			case ferr == nil:
				if uerr != nil || !bytes.Equal(pf, pu) {
					t.Fatalf("%#x: filtered has the page, full dump: %v / data differs", a, uerr)
				}
			case errors.As(ferr, &ee):
				if uerr != nil {
					t.Fatalf("%#x: excluded in the filtered dump, full dump: %v", a, uerr)
				}
			case errors.As(ferr, &np):
				if !errors.As(uerr, &np) {
					t.Fatalf("%#x: not present in the filtered dump, full dump: %v", a, uerr)
				}
			}
		}
		t.Logf("%d sampled pages: %d present, %d excluded, %d not in RAM", len(pages), have, excluded, absent)
		if have == 0 {
			t.Error("no page of the filtered dump is readable")
		}
		if f.Info().Partial != (excluded > 0) && excluded > 0 {
			t.Errorf("Partial %v with %d excluded pages", f.Info().Partial, excluded)
		}
		if !f.Info().Partial {
			t.Errorf("makedumpfile -E dump not marked partial")
		}
	})
}

// TestRealAgainstKdump reads the same pages from vmcore.elf and vmcore.lzo.
func TestRealAgainstKdump(t *testing.T) {
	forScenarios(t, func(t *testing.T, sc string) {
		upath := testcorpus.File(t, sc, testcorpus.KdumpELF)
		kpath := testcorpus.File(t, sc, testcorpus.KdumpLZO)
		dir := filepath.Dir(upath)
		u := openReal(t, upath)
		kd, err := diskdump.Open(kpath, dump.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer kd.Close()
		if ki := kd.Info(); !bytes.Equal(bytes.TrimRight(ki.VMCOREINFO, "\x00"), bytes.TrimRight(u.Info().VMCOREINFO, "\x00")) {
			t.Errorf("VMCOREINFO differs between vmcore.elf and vmcore.lzo")
		}
		fpath := filepath.Join(dir, "vmcore.filtered.elf")
		var f *Core
		if _, err := os.Stat(fpath); err == nil {
			f = openReal(t, fpath)
		}
		pu, pk, pf := make([]byte, 4096), make([]byte, 4096), make([]byte, 4096)
		var same, kexcl, fkept, kzero int
		zeroPage := make([]byte, 4096)
		for _, a := range samplePages(u, 3000) {
			if _, err := u.ReadPhysAt(pu, a); err != nil {
				t.Fatalf("vmcore.elf %#x: %v", a, err)
			}
			_, kerr := kd.ReadPhysAt(pk, a)
			var ee, fee *dump.ExcludedError
			var np *dump.NotPresentError
			var ferr error
			if f != nil {
				_, ferr = f.ReadPhysAt(pf, a)
			}
			switch {
			case kerr == nil:
				if !bytes.Equal(pu, pk) {
					t.Fatalf("%#x: vmcore.elf and vmcore.lzo differ", a)
				}
				same++
				// Both are makedumpfile -d 31 of this crash: a page
				// the kdump file keeps, the -E file keeps too, except
				// zero pages: in kdump-compressed output makedumpfile
				// writes them as the shared zero-page descriptor
				// (pd_zero), while -E leaves them out.
				switch {
				case f == nil:
				case ferr == nil:
					if !bytes.Equal(pf, pk) {
						t.Fatalf("%#x: vmcore.filtered.elf and vmcore.lzo differ", a)
					}
				case errors.As(ferr, &fee) && bytes.Equal(pk, zeroPage):
					kzero++
				default:
					t.Fatalf("%#x: in vmcore.lzo (not a zero page), vmcore.filtered.elf: %v", a, ferr)
				}
			case errors.As(kerr, &ee):
				kexcl++
				// -E writes excluded runs shorter than 256 pages
				// with their contents; longer ones are left out.
				if f != nil && ferr == nil {
					fkept++
					if !bytes.Equal(pf, pu) {
						t.Fatalf("%#x: vmcore.filtered.elf keeps an excluded page with other contents", a)
					}
				} else if f != nil && !errors.As(ferr, &fee) {
					t.Fatalf("%#x: excluded from vmcore.lzo, vmcore.filtered.elf: %v", a, ferr)
				}
			case errors.As(kerr, &np):
			default:
				t.Fatalf("vmcore.lzo %#x: %v", a, kerr)
			}
		}
		t.Logf("%d pages identical (%d zero pages only in vmcore.lzo), %d excluded from vmcore.lzo (%d of them kept by -E as short runs)", same, kzero, kexcl, fkept)
		if same == 0 {
			t.Error("no page compared")
		}
	})
}
