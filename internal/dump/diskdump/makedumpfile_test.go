package diskdump

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"kdive/internal/dump"
)

// writeELF writes r's memory as an ELF64 core like /proc/vmcore: a PT_NOTE
// with r's note area, and a PT_LOAD for each run of RAM pfns (1st bitmap);
// pages the dump left out are holes (zeros).
func writeELF(t *testing.T, r *Reader, path string) {
	t.Helper()
	bs := uint64(r.blockSize)
	type run struct{ lo, hi uint64 }
	var runs []run
	for pfn := uint64(0); pfn < r.maxPFN; pfn++ {
		if !bitSet(r.valid, pfn) {
			continue
		}
		if n := len(runs); n > 0 && runs[n-1].hi == pfn {
			runs[n-1].hi++
		} else {
			runs = append(runs, run{pfn, pfn + 1})
		}
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	le := binary.LittleEndian
	nph := 1 + len(runs)
	eh := make([]byte, 64)
	copy(eh, "\x7fELF\x02\x01\x01")
	le.PutUint16(eh[16:], 4)  // ET_CORE
	le.PutUint16(eh[18:], 62) // EM_X86_64
	le.PutUint32(eh[20:], 1)
	le.PutUint64(eh[32:], 64)
	le.PutUint16(eh[52:], 64)
	le.PutUint16(eh[54:], 56)
	le.PutUint16(eh[56:], uint16(nph))
	ph := make([]byte, 56*nph)
	noteOff := uint64(64 + len(ph))
	le.PutUint32(ph[0:], 4) // PT_NOTE
	le.PutUint64(ph[8:], noteOff)
	le.PutUint64(ph[32:], uint64(len(r.notes)))
	le.PutUint64(ph[40:], uint64(len(r.notes)))
	off := (noteOff + uint64(len(r.notes)) + bs - 1) / bs * bs
	const pageOffset = 0xffff888000000000
	page := make([]byte, bs)
	for i, rn := range runs {
		p := ph[56*(i+1):]
		le.PutUint32(p[0:], 1) // PT_LOAD
		le.PutUint32(p[4:], 7)
		le.PutUint64(p[8:], off)
		le.PutUint64(p[16:], pageOffset+rn.lo*bs)
		le.PutUint64(p[24:], rn.lo*bs)
		le.PutUint64(p[32:], (rn.hi-rn.lo)*bs)
		le.PutUint64(p[40:], (rn.hi-rn.lo)*bs)
		for pfn := rn.lo; pfn < rn.hi; pfn++ {
			if bitSet(r.dumpable, pfn) {
				if _, err := r.ReadPhysAt(page, pfn*bs); err != nil {
					t.Fatal(err)
				}
				if _, err := f.WriteAt(page, int64(off+(pfn-rn.lo)*bs)); err != nil {
					t.Fatal(err)
				}
			}
		}
		off += (rn.hi - rn.lo) * bs
	}
	if err := f.Truncate(int64(off)); err != nil {
		t.Fatal(err)
	}
	f.WriteAt(eh, 0)
	f.WriteAt(ph, 64)
	f.WriteAt(r.notes, int64(noteOff))
}

func runCmd(t *testing.T, stdin, stdout string, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	var out bytes.Buffer
	cmd.Stderr = &out
	if stdin != "" {
		f, err := os.Open(stdin)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		cmd.Stdin = f
	}
	if stdout != "" {
		f, err := os.Create(stdout)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		cmd.Stdout = f
	} else {
		cmd.Stdout = &out
	}
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out.String())
	}
}

// TestMakedumpfileCrossCheck has the installed makedumpfile rewrite the real
// zstd dump (through an ELF core) as lzo, zlib, uncompressed, and a
// flattened stream plus its -R rebuild, and checks that every page reads the
// same from each.
func TestMakedumpfileCrossCheck(t *testing.T) {
	mdf, err := exec.LookPath("makedumpfile")
	if err != nil {
		t.Skip("makedumpfile not installed")
	}
	if testing.Short() {
		t.Skip("short")
	}
	src := openReal(t, sharedFile(t, "vmcore.zstd"), dump.Options{})
	dir := t.TempDir()
	if d := os.Getenv("KDIVE_KEEP_CROSSCHECK"); d != "" { // keep the outputs there
		dir = d
		os.MkdirAll(dir, 0o755)
	}
	elf := filepath.Join(dir, "vmcore.elf")
	writeELF(t, src, elf)
	type out struct {
		name, comp string
		flat       bool
		args       []string
	}
	outs := []out{
		{"d1.lzo", "lzo", false, []string{"-l", "-d", "1"}},
		{"d1.zlib", "zlib", false, []string{"-c", "-d", "1"}},
		{"d1.raw", "", false, []string{"-d", "1"}},
		{"d0.lzo", "lzo", false, []string{"-l", "-d", "0"}},
	}
	for _, o := range outs {
		runCmd(t, "", "", mdf, append(append([]string{}, o.args...), elf, filepath.Join(dir, o.name))...)
	}
	runCmd(t, elf, filepath.Join(dir, "d1.flat"), mdf, "-F", "-l", "-d", "1", elf)
	runCmd(t, filepath.Join(dir, "d1.flat"), "", mdf, "-R", filepath.Join(dir, "d1.rebuilt"))
	outs = append(outs, out{"d1.flat", "lzo", true, nil}, out{"d1.rebuilt", "lzo", false, nil})

	if os.Getenv("KDIVE_WRITE_FUZZ_SEEDS") == "1" {
		writeRealSeeds(t, src, dir)
	}

	bs := uint64(src.blockSize)
	zero := make([]byte, bs)
	for _, o := range outs {
		t.Run(o.name, func(t *testing.T) {
			r := openReal(t, filepath.Join(dir, o.name), dump.Options{})
			in := r.Info()
			if in.Compression != o.comp || in.Flattened != o.flat || in.Release != realRelease || in.NrCPUs != 2 || len(in.PRStatus) != 2 {
				t.Fatalf("info: compression %q flattened %v release %q cpus %d", in.Compression, in.Flattened, in.Release, in.NrCPUs)
			}
			if !bytes.Contains(in.VMCOREINFO, []byte("OSRELEASE="+realRelease)) {
				t.Fatal("VMCOREINFO")
			}
			n := samePages(t, src, r, 0)
			// Pages src left out are zeros in the ELF: -d 1 gives them the
			// shared zero-page descriptor, -d 0 stores them; neither
			// excludes anything, so the dump is not partial.
			if in.Partial {
				t.Fatal("partial")
			}
			buf := make([]byte, bs)
			zeros := 0
			for pfn := uint64(0); pfn < src.maxPFN; pfn++ {
				_, err := r.ReadPhysAt(buf, pfn*bs)
				var ne *dump.NotPresentError
				switch {
				case !bitSet(src.valid, pfn):
					if !errors.As(err, &ne) {
						t.Fatalf("non-RAM pfn %#x: %v", pfn, err)
					}
				case !bitSet(src.dumpable, pfn):
					if err != nil || !bytes.Equal(buf, zero) {
						t.Fatalf("pfn %#x: %v", pfn, err)
					}
					zeros++
				}
			}
			t.Logf("%d pages identical, %d zero pages", n, zeros)
		})
	}
	// The flattened stream and its rebuild give the same pages, all of them.
	flat := openReal(t, filepath.Join(dir, "d1.flat"), dump.Options{})
	reb := openReal(t, filepath.Join(dir, "d1.rebuilt"), dump.Options{})
	samePages(t, reb, flat, 0)
	t.Logf("flattened stream: %d extents", flat.flat.Records())
	// Byte for byte, the indexed stream is the rebuilt file.
	want, err := os.ReadFile(filepath.Join(dir, "d1.rebuilt"))
	if err != nil {
		t.Fatal(err)
	}
	sf, err := os.Open(filepath.Join(dir, "d1.flat"))
	if err != nil {
		t.Fatal(err)
	}
	defer sf.Close()
	st, _ := sf.Stat()
	ff, err := NewFlatReader(sf, st.Size())
	if err != nil || ff.Truncated() != "" {
		t.Fatalf("NewFlatReader: %v %q", err, ff.Truncated())
	}
	got := make([]byte, ff.Size())
	if n, err := ff.ReadAt(got, 0); err != nil || n != len(got) || !bytes.Equal(got, want) {
		t.Fatalf("flattened stream (%d bytes, n=%d, %v) differs from its rebuild (%d bytes)", len(got), n, err, len(want))
	}
}

// writeRealSeeds stores real compressed pages (makedumpfile's lzo and zlib,
// the shared zstd and snappy) and real header and descriptor bytes as fuzz
// seeds under testdata/fuzz (KDIVE_WRITE_FUZZ_SEEDS=1).
func writeRealSeeds(t *testing.T, src *Reader, dir string) {
	for _, c := range []struct {
		target, file string
	}{{"FuzzLZO", filepath.Join(dir, "d1.lzo")}, {"FuzzZlib", filepath.Join(dir, "d1.zlib")},
		{"FuzzZstd", sharedFile(t, "vmcore.zstd")}, {"FuzzSnappy", sharedFile(t, "vmcore.snappy")}} {
		r := openReal(t, c.file, dump.Options{})
		pages, _ := compressedPages(r, 3)
		for i, p := range pages {
			writeSeed(t, c.target, "real"+strconv.Itoa(i), p)
		}
	}
	hdr := make([]byte, 3*4096)
	src.src.ReadAt(hdr, 0)
	writeSeed(t, "FuzzParseHeader", "real", hdr[:hdrSize64])
	writeSeed(t, "FuzzOpen", "real-headers", hdr)
	d := make([]byte, 2*pageDescSize)
	src.src.ReadAt(d, src.descOff+100*pageDescSize)
	pd := decodeDesc(d, src.order)
	data := make([]byte, pd.size)
	src.src.ReadAt(data, pd.offset)
	binary.LittleEndian.PutUint64(d, pageDescFuzzData) // where FuzzPageDesc puts the data
	writeSeed(t, "FuzzPageDesc", "real", d[:pageDescSize], data, false)
	stream, _ := os.ReadFile(filepath.Join(dir, "d1.flat"))
	writeSeed(t, "FuzzFlatIndex", "real", stream[flatHeaderSize:flatHeaderSize+2048])
}
