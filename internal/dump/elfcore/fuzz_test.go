package elfcore

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kdive/internal/dump"
	ect "kdive/internal/dump/elfcore/elfcoretest"
	"kdive/internal/testcorpus"
)

// fuzzSeeds are header-sized prefixes of synthetic cores of every kind,
// plus the first KiBs of real dumps when the corpus is present.
func fuzzSeeds(f *testing.F) {
	small := func(c *ect.Core) {
		for i := range c.Loads {
			if len(c.Loads[i].Data) > 64 {
				c.Loads[i].Data = c.Loads[i].Data[:64]
			}
		}
		b, _ := c.Bytes()
		f.Add(b)
	}
	small(vmcoreLike())
	c := vmcoreLike()
	c.Loads[1].MemSize = 0x200000
	c.Loads[1].FileSize = ect.U64(0x1000)
	small(c)
	c = vmcoreLike()
	c.XNum = true
	small(c)
	c = vmcoreLike()
	c.Flags = dumpELFIncomplete
	small(c)
	k, _ := kcoreLike()
	_, chunks := k.Build()
	var hdr []byte
	for _, ch := range chunks {
		if ch.Off < 1<<20 {
			if end := int(ch.Off) + len(ch.Data); end > len(hdr) {
				hdr = append(hdr, make([]byte, end-len(hdr))...)
			}
			copy(hdr[ch.Off:], ch.Data)
		}
	}
	f.Add(hdr[:min(len(hdr), 0x3100)]) // header, notes, a little data
	for _, p := range realFiles() {
		fh, err := os.Open(p)
		if err != nil {
			continue
		}
		b := make([]byte, 8192)
		n, _ := io.ReadFull(fh, b)
		fh.Close()
		f.Add(b[:n])
	}
}

// realFiles lists the ELF dumps of the test corpus, if any.
func realFiles() []string {
	var out []string
	for _, name := range []string{"vmcore.elf", "vmcore.filtered.elf", "qemu.elf"} {
		m, _ := filepath.Glob(filepath.Join(corpusDir(), "*", name))
		out = append(out, m...)
	}
	return out
}

func corpusDir() string { return testcorpus.Path() }

// FuzzOpen parses arbitrary bytes as an ELF core (with the file size known
// and unknown) and reads around every segment: nothing may panic, hang or
// allocate wildly, and every error must be one line.
func FuzzOpen(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, size := range []int64{int64(len(b)), -1} {
			for _, opts := range []dump.Options{{}, {ZeroExcluded: true}} {
				d, err := newCore(bytes.NewReader(b), size, "fuzz", opts, false)
				if err != nil {
					if strings.Contains(err.Error(), "\n") {
						t.Fatalf("multi-line error %q", err)
					}
					continue
				}
				info := d.Info()
				if info.NrCPUs != len(info.PRStatus) {
					t.Fatalf("NrCPUs %d, %d PRSTATUS", info.NrCPUs, len(info.PRStatus))
				}
				p := make([]byte, 300)
				for i, s := range info.Segments {
					if i == 8 {
						break
					}
					for _, a := range []uint64{s.PAddr, s.PAddr + s.FileSize - 1, s.PAddr + s.MemSize - 7} {
						n, err := d.ReadPhysAt(p, a)
						if n < 0 || n > len(p) || (err == nil && n != len(p)) {
							t.Fatalf("read %#x: n %d err %v", a, n, err)
						}
						var ee *dump.ExcludedError
						if opts.ZeroExcluded && errors.As(err, &ee) {
							t.Fatalf("ExcludedError with ZeroExcluded")
						}
					}
				}
				d.Close()
			}
		}
	})
}

// FuzzExtents checks the physical index against a brute-force model: for
// random PT_LOAD sets, every probed address must resolve as the model says
// (data from the first-starting file-backed segment, else excluded, else
// not present).
func FuzzExtents(f *testing.F) {
	f.Add([]byte{0, 4, 2, 1, 3, 3, 3, 1, 0, 8, 8, 0})
	f.Fuzz(func(t *testing.T, spec []byte) {
		type seg struct{ pa, fs, ms uint64 }
		var segs []seg
		for i := 0; i+3 <= len(spec) && len(segs) < 12; i += 3 {
			pa := uint64(spec[i]%32) * 16
			ms := uint64(spec[i+1]%16) * 8
			fs := min(uint64(spec[i+2]%16)*8, ms)
			segs = append(segs, seg{pa, fs, ms})
		}
		c := &ect.Core{}
		for _, s := range segs {
			ld := ect.Load{PAddr: s.pa, MemSize: s.ms, FileSize: ect.U64(s.fs), Data: ect.Pattern(s.pa, int(s.fs), 0)}
			if s.ms == 0 {
				ld.MemSize, ld.FileSize = 0, ect.U64(0)
			}
			c.Loads = append(c.Loads, ld)
		}
		b, _ := c.Bytes()
		d, err := newCore(bytes.NewReader(b), int64(len(b)), "fuzz", dump.Options{}, false)
		if err != nil {
			t.Fatal(err)
		}
		p := make([]byte, 8)
		for a := uint64(0); a < 32*16+16*8; a += 8 {
			data, excl := false, false
			for _, s := range segs {
				if a >= s.pa && a < s.pa+s.fs {
					data = true
				}
				if a >= s.pa+s.fs && a < s.pa+s.ms {
					excl = true
				}
			}
			_, err := d.ReadPhysAt(p, a)
			var ee *dump.ExcludedError
			var np *dump.NotPresentError
			switch {
			case data:
				if err != nil || !bytes.Equal(p, ect.Pattern(a, 8, 0)) {
					t.Fatalf("%#x: want data, got %v %x", a, err, p)
				}
			case excl:
				if !errors.As(err, &ee) {
					t.Fatalf("%#x: want excluded, got %v", a, err)
				}
			default:
				if !errors.As(err, &np) {
					t.Fatalf("%#x: want not present, got %v", a, err)
				}
			}
		}
	})
}
