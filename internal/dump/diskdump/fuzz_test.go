package diskdump

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	lzo "github.com/anchore/go-lzo"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"

	"kdive/internal/dump"
	"kdive/internal/testcorpus"
)

// Fuzz targets. Seeds: synthetic dumps, slices of the real shared dumps when
// present (f.Add at run time), and testdata/fuzz/<target>/ (real compressed
// pages; see TestWriteFuzzSeeds).

// realSlice returns n bytes at off of a shared real dump, or nil.
func realSlice(name string, off int64, n int) []byte {
	p := sharedPath(name)
	if p == "" {
		return nil
	}
	f, err := os.Open(p)
	if err != nil {
		return nil
	}
	defer f.Close()
	b := make([]byte, n)
	m, _ := f.ReadAt(b, off)
	return b[:m]
}

// sharedPath finds a shared dump without a *testing.T (for fuzz seeding).
func sharedPath(name string) string {
	var dirs []string
	if s := os.Getenv(testcorpus.EnvShared); s != "" {
		dirs = append(dirs, filepath.Join(s, "dumps", "sysrq-zstd"), s)
	}
	wd, _ := os.Getwd()
	for d := wd; ; d = filepath.Dir(d) {
		dirs = append(dirs, filepath.Join(filepath.Dir(d), "shared", "dumps", "sysrq-zstd"))
		if filepath.Dir(d) == d {
			break
		}
	}
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, name)); err == nil {
			return filepath.Join(d, name)
		}
	}
	return ""
}

// realPages returns up to n compressed pages (data, flags) of a shared dump.
func realPages(name string, n int) (pages [][]byte, flags []uint32) {
	p := sharedPath(name)
	if p == "" {
		return nil, nil
	}
	d, err := Open(p, dump.Options{})
	if err != nil {
		return nil, nil
	}
	defer d.Close()
	return compressedPages(d.(*Reader), n)
}

// compressedPages returns up to n compressed pages of r, spread over the dump.
func compressedPages(r *Reader, n int) (pages [][]byte, flags []uint32) {
	step := max(1, r.nDumpable/uint64(16*n))
	for i := uint64(0); i < r.nDumpable && len(pages) < n; i += step {
		var db [pageDescSize]byte
		if _, err := r.src.ReadAt(db[:], r.descOff+int64(i)*pageDescSize); err != nil {
			break
		}
		pd := decodeDesc(db[:], r.order)
		if pd.flags&flagCompressed == 0 || pd.size == 0 || pd.size > 4096 {
			continue
		}
		b := make([]byte, pd.size)
		if _, err := r.src.ReadAt(b, pd.offset); err != nil {
			break
		}
		pages = append(pages, b)
		flags = append(flags, pd.flags)
	}
	return pages, flags
}

// tinySynth is a small dump for seeds: 512-byte blocks, 64 pfns.
func tinySynth(comp uint32) *built {
	s := newSynth()
	s.bs = 512
	s.maxPFN = 64
	s.comp = comp
	s.notes = testNotes(binary.LittleEndian)
	s.vmciNote = true
	return s.build()
}

func FuzzParseHeader(f *testing.F) {
	f.Add(tinySynth(flagZstd).file[:hdrSize64])
	if b := realSlice("vmcore.zstd", 0, hdrSize64); b != nil {
		f.Add(b)
	}
	s := newSynth()
	s.is32, s.order, s.machine = true, binary.BigEndian, "ppc"
	f.Add(s.build().file[:hdrSize64])
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := parseHeader(b)
		if err != nil {
			return
		}
		if h.blockSize < minBlockSize || h.blockSize > maxBlockSize || 1<<h.blockShift() != int(h.blockSize) {
			t.Fatalf("accepted block size %d", h.blockSize)
		}
		sub := parseSub(b[min(len(b), 16):], h)
		_ = sub
	})
}

// FuzzOpen opens arbitrary bytes as a dump (plain or flattened) and reads
// pages: no panic, no hang, only the documented error types from reads.
func FuzzOpen(f *testing.F) {
	for _, c := range []uint32{0, flagZlib, flagLZO, flagSnappy, flagZstd} {
		b := tinySynth(c)
		f.Add(b.file)
		f.Add(flatten(b, 700, true, int64(c)))
	}
	if b := realSlice("vmcore.zstd", 0, 3*4096); b != nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := newReader("fuzz", bytesSource(data), int64(len(data)), dump.Options{})
		if err != nil {
			if r != nil {
				t.Fatal("reader and error")
			}
			return
		}
		in := r.Info()
		if in.PageSize != r.blockSize || in.MaxPFN != r.maxPFN {
			t.Fatal("info")
		}
		readSome(t, r)
	})
}

func readSome(t *testing.T, r *Reader) {
	buf := make([]byte, r.blockSize+3)
	bs := uint64(r.blockSize)
	for i, pfn := 0, uint64(0); i < 64 && pfn < r.maxPFN+2; i, pfn = i+1, pfn+1 {
		n, err := r.ReadPhysAt(buf, pfn*bs+1)
		if err == nil {
			if n != len(buf) {
				t.Fatalf("short read %d without error", n)
			}
			continue
		}
		var ee *dump.ExcludedError
		var ne *dump.NotPresentError
		var ce *dump.CorruptError
		if !errors.As(err, &ee) && !errors.As(err, &ne) && !errors.As(err, &ce) {
			t.Fatalf("pfn %#x: unexpected error type %T: %v", pfn, err, err)
		}
	}
}

// FuzzRank checks the rank index against a naive count.
func FuzzRank(f *testing.F) {
	f.Add([]byte{0xff, 0x0f, 0, 1}, uint16(30))
	if b := realSlice("vmcore.zstd", 3*4096+16384, 2048); b != nil {
		f.Add(b, uint16(len(b)*8-5))
	}
	f.Fuzz(func(t *testing.T, bm []byte, n uint16) {
		maxPFN := uint64(n)
		if maxPFN > uint64(len(bm))*8 {
			maxPFN = uint64(len(bm)) * 8
		}
		r := &Reader{maxPFN: maxPFN}
		words := make([]uint64, (maxPFN+63)/64)
		for i := uint64(0); i < maxPFN; i++ {
			if bm[i/8]&(1<<(i%8)) != 0 {
				words[i/64] |= 1 << (i % 64)
			}
		}
		r.dumpable, r.valid = words, words
		buildRank(r)
		var cnt uint64
		for pfn := uint64(0); pfn < maxPFN; pfn++ {
			if got := r.descIndex(pfn); got != cnt {
				t.Fatalf("pfn %d: rank %d want %d", pfn, got, cnt)
			}
			if bitSet(words, pfn) {
				cnt++
			}
		}
		if cnt != r.nDumpable {
			t.Fatalf("total %d want %d", r.nDumpable, cnt)
		}
	})
}

const pageDescFuzzData = 4*4096 + pageDescSize

// FuzzPageDesc puts an arbitrary descriptor and page data into a valid dump
// and reads the page: success or *dump.CorruptError, nothing else.
func FuzzPageDesc(f *testing.F) {
	for _, c := range []uint32{0, flagZlib, flagLZO, flagSnappy, flagZstd} {
		p := compress(c, defaultContent(5, 4096))
		d := make([]byte, pageDescSize)
		binary.LittleEndian.PutUint64(d, pageDescFuzzData)
		binary.LittleEndian.PutUint32(d[8:], uint32(len(p)))
		binary.LittleEndian.PutUint32(d[12:], c)
		f.Add(d, p, false)
	}
	f.Fuzz(func(t *testing.T, desc, data []byte, be bool) {
		s := newSynth()
		s.bs, s.maxPFN = 4096, 8 // page data at pageDescFuzzData
		s.dumpable = func(pfn uint64) bool { return pfn == 5 }
		s.valid = s.dumpable
		if be {
			s.order = binary.BigEndian
			s.machine = "s390x"
		}
		b := s.build()
		file := append([]byte{}, b.file[:b.dataOff]...)
		d := make([]byte, pageDescSize)
		copy(d, desc)
		copy(file[b.descOff:], d)
		file = append(file, data...)
		r, err := newReader("fuzz", bytesSource(file), int64(len(file)), dump.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if b.dataOff != pageDescFuzzData {
			t.Fatalf("data at %d", b.dataOff)
		}
		buf := make([]byte, 4096)
		_, err = r.ReadPhysAt(buf, 5*4096)
		var ce *dump.CorruptError
		if err != nil && !errors.As(err, &ce) {
			t.Fatalf("unexpected error %T %v", err, err)
		}
		if err != nil && (ce.Addr != 5*4096 || ce.Path != "fuzz") {
			t.Fatalf("error fields: %+v", ce)
		}
	})
}

// FuzzFlatIndex checks FlatFile against a replay of the records, the way
// makedumpfile -R rebuilds the file.
func FuzzFlatIndex(f *testing.F) {
	rec := func(lo, n int64, fill byte) []byte {
		var h [16]byte
		binary.BigEndian.PutUint64(h[:], uint64(lo))
		binary.BigEndian.PutUint64(h[8:], uint64(n))
		return append(h[:], bytes.Repeat([]byte{fill}, int(n))...)
	}
	end := bytes.Repeat([]byte{0xff}, 16)
	var seed []byte
	seed = append(seed, rec(0, 10, 1)...)
	seed = append(seed, rec(5, 10, 2)...)
	seed = append(seed, rec(30, 4, 3)...)
	seed = append(seed, rec(2, 3, 4)...)
	f.Add(append(seed, end...))
	f.Add(seed[:len(seed)-2])
	if b := realSlice("vmcore.zstd", 0, 600); b != nil {
		f.Add(append(rec(0, 0, 0)[:16:16], b...))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		stream := make([]byte, flatHeaderSize, flatHeaderSize+len(body))
		copy(stream, flatSignature)
		binary.BigEndian.PutUint64(stream[16:], 1)
		stream = append(stream, body...)
		ff, err := NewFlatReader(bytesSource(stream), int64(len(stream)))
		// Replay.
		var want []byte
		pos := int64(flatHeaderSize)
		nrec := 0
		for pos+16 <= int64(len(stream)) {
			lo := int64(binary.BigEndian.Uint64(stream[pos:]))
			n := int64(binary.BigEndian.Uint64(stream[pos+8:]))
			if lo < 0 || n <= 0 {
				break
			}
			if lo > 1<<20 || n > 1<<20 {
				return // too sparse to replay in memory
			}
			data := stream[pos+16:]
			if int64(len(data)) > n {
				data = data[:n]
			}
			if len(data) > 0 {
				if lo+int64(len(data)) > 1<<20 {
					return // too sparse to replay in memory
				}
				if need := lo + int64(len(data)); need > int64(len(want)) {
					want = append(want, make([]byte, need-int64(len(want)))...)
				}
				copy(want[lo:], data)
				nrec++
			}
			pos += 16 + n
		}
		if nrec == 0 {
			if err == nil {
				t.Fatal("index of a stream without data")
			}
			return
		}
		if err != nil {
			t.Fatalf("replayable stream refused: %v", err)
		}
		if ff.Size() != int64(len(want)) {
			t.Fatalf("size %d want %d", ff.Size(), len(want))
		}
		got := make([]byte, max(len(want)+1, 3))
		n, err := ff.ReadAt(got[:len(want)+1], 0)
		if n != len(want) || err == nil || !bytes.Equal(got[:n], want) {
			t.Fatalf("ReadAt: n=%d err=%v, content equal %v", n, err, bytes.Equal(got[:n], want))
		}
		// Reads at every offset of a small window agree too.
		for off := int64(0); off < int64(len(want)) && off < 64; off++ {
			k, err := ff.ReadAt(got[:3], off)
			if int64(k) != min(3, int64(len(want))-off) || !bytes.Equal(got[:k], want[off:off+int64(k)]) {
				t.Fatalf("ReadAt(3, %d): %d %v", off, k, err)
			}
		}
	})
}

func addRealPages(f *testing.F, name string, flag uint32) {
	pages, flags := realPages(name, 4)
	for i, p := range pages {
		if flags[i]&flagCompressed == flag {
			f.Add(p)
		}
	}
}

func fuzzDecompressor(f *testing.F, flag uint32, ref func(src []byte) ([]byte, error)) {
	f.Add(compress(flag, defaultContent(7, 4096)))
	f.Add(compress(flag, make([]byte, 4096)))
	f.Fuzz(func(t *testing.T, src []byte) {
		dst := make([]byte, 4096)
		err := decompressPage(dst, src, flag)
		if err != nil {
			return
		}
		want, rerr := ref(src)
		if rerr != nil || !bytes.Equal(want, dst) {
			t.Fatalf("accepted a page the reference rejects or decodes differently: %v", rerr)
		}
	})
}

func FuzzZlib(f *testing.F) {
	fuzzDecompressor(f, flagZlib, func(src []byte) ([]byte, error) {
		zr, err := zlib.NewReader(bytes.NewReader(src))
		if err != nil {
			return nil, err
		}
		return io.ReadAll(io.LimitReader(zr, 1<<20))
	})
}

func FuzzLZO(f *testing.F) {
	fuzzDecompressor(f, flagLZO, func(src []byte) ([]byte, error) {
		out := make([]byte, 1<<16)
		n, err := lzo.Decompress(src, out)
		return out[:n], err
	})
}

func FuzzSnappy(f *testing.F) {
	addRealPages(f, "vmcore.snappy", flagSnappy)
	fuzzDecompressor(f, flagSnappy, func(src []byte) ([]byte, error) { return snappy.Decode(nil, src) })
}

func FuzzZstd(f *testing.F) {
	addRealPages(f, "vmcore.zstd", flagZstd)
	dec, _ := zstd.NewReader(nil)
	fuzzDecompressor(f, flagZstd, func(src []byte) ([]byte, error) { return dec.DecodeAll(src, nil) })
}

// writeSeed writes one Go fuzz corpus file.
func writeSeed(t *testing.T, target, name string, args ...any) {
	t.Helper()
	dir := filepath.Join("testdata", "fuzz", target)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s := "go test fuzz v1\n"
	for _, a := range args {
		switch a := a.(type) {
		case []byte:
			s += "[]byte(" + strconv.Quote(string(a)) + ")\n"
		case bool:
			s += "bool(" + strconv.FormatBool(a) + ")\n"
		}
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}
