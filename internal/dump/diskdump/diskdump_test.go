package diskdump

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"kdive/internal/dump"
	"kdive/internal/dump/elfnote"
)

func openBytes(t testing.TB, data []byte, opts dump.Options) (*Reader, error) {
	t.Helper()
	return newReader("synth.kdump", bytesSource(data), int64(len(data)), opts)
}

func mustOpen(t testing.TB, data []byte, opts dump.Options) *Reader {
	t.Helper()
	r, err := openBytes(t, data, opts)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return r
}

// checkAll reads every pfn below maxPFN and compares with b.expected.
func checkAll(t *testing.T, r *Reader, s *synth, b *built) {
	t.Helper()
	bs := uint64(s.bs)
	buf := make([]byte, bs)
	for pfn := uint64(0); pfn < s.maxPFN+3; pfn++ {
		n, err := r.ReadPhysAt(buf, pfn*bs)
		want, ok := b.expected[pfn]
		switch {
		case ok:
			if err != nil || n != len(buf) {
				t.Fatalf("pfn %#x: n=%d err=%v", pfn, n, err)
			}
			if !bytes.Equal(buf, want) {
				t.Fatalf("pfn %#x: content differs", pfn)
			}
		case pfn < s.maxPFN && s.valid(pfn) && !s.qemu:
			var ee *dump.ExcludedError
			if !errors.As(err, &ee) || ee.Addr != pfn*bs || n != 0 {
				t.Fatalf("pfn %#x: want ExcludedError, got n=%d %v", pfn, n, err)
			}
		default:
			var ne *dump.NotPresentError
			if !errors.As(err, &ne) || ne.Addr != pfn*bs {
				t.Fatalf("pfn %#x: want NotPresentError, got %v", pfn, err)
			}
		}
	}
}

func testNotes(o binary.ByteOrder) []byte {
	prs := func(pid uint32) []byte {
		d := make([]byte, 336)
		o.PutUint32(d[32:], pid)
		return d
	}
	var n []byte
	n = append(n, mkNote(o, "CORE", elfnote.NT_PRSTATUS, prs(1))...)
	n = append(n, mkNote(o, "CORE", elfnote.NT_PRSTATUS, prs(2))...)
	n = append(n, mkNote(o, "QEMU", 0, bytes.Repeat([]byte{7}, 400))...)
	n = append(n, mkNote(o, "VMCOREINFO", 0, []byte("OSRELEASE=6.1.0-synth\nPAGESIZE=4096\n"))...)
	return n
}

func TestRoundTrip(t *testing.T) {
	type variant struct {
		name    string
		order   binary.ByteOrder
		is32    bool
		aligned bool
		machine string
	}
	variants := []variant{
		{"le64", binary.LittleEndian, false, false, "x86_64"},
		{"be64", binary.BigEndian, false, false, "s390x"},
		{"le32", binary.LittleEndian, true, false, "i686"},
		{"le32-arm", binary.LittleEndian, true, true, "armv7l"},
		{"le32-qemu-arm", binary.LittleEndian, true, false, "arm"},
		{"be32", binary.BigEndian, true, false, "ppc"},
		{"le64-nomachine", binary.LittleEndian, false, false, ""},
	}
	comps := []uint32{0, flagZlib, flagLZO, flagSnappy, flagZstd}
	for _, v := range variants {
		for _, c := range comps {
			for _, flat := range []bool{false, true} {
				name := fmt.Sprintf("%s/%s/flat=%v", v.name, compressionName(c), flat)
				t.Run(name, func(t *testing.T) {
					s := newSynth()
					s.order, s.is32, s.aligned, s.machine, s.comp = v.order, v.is32, v.aligned, v.machine, c
					s.notes = testNotes(v.order)
					s.vmciNote = true
					s.tvSec = 1795344636
					b := s.build()
					data := b.file
					if flat {
						data = flatten(b, 1000, true, 1)
					}
					r := mustOpen(t, data, dump.Options{})
					if r.hdr.order != v.order || r.hdr.is32 != v.is32 {
						t.Fatalf("layout: order %v is32 %v", r.hdr.order, r.hdr.is32)
					}
					if v.is32 && (r.sub.layout == "32-aligned") != v.aligned {
						t.Fatalf("sub layout %s", r.sub.layout)
					}
					in := r.Info()
					if in.Format != "kdump" || in.Flattened != flat || in.PageSize != 4096 || in.MaxPFN != s.maxPFN {
						t.Fatalf("info %+v", in)
					}
					if in.Compression != compressionName(c) {
						t.Fatalf("compression %q", in.Compression)
					}
					if !in.Partial || in.NrCPUs != 2 || in.Nodename != "synth-host" || in.Release != "6.1.0-synth" || in.Machine != v.machine {
						t.Fatalf("info %+v", in)
					}
					if in.Timestamp.Unix() != 1795344636 || in.Timestamp.Nanosecond() != 250000000 {
						t.Fatalf("timestamp %v", in.Timestamp)
					}
					if string(in.VMCOREINFO) != "OSRELEASE=6.1.0-synth\nPAGESIZE=4096\n" {
						t.Fatalf("vmcoreinfo %q", in.VMCOREINFO)
					}
					if len(in.PRStatus) != 2 || v.order.Uint32(in.PRStatus[1][32:]) != 2 || len(in.QEMUCPUState) != 1 {
						t.Fatalf("notes: %d prstatus, %d qemu", len(in.PRStatus), len(in.QEMUCPUState))
					}
					checkAll(t, r, s, b)
				})
			}
		}
	}
}

func TestZeroExcluded(t *testing.T) {
	s := newSynth()
	b := s.build()
	r := mustOpen(t, b.file, dump.Options{ZeroExcluded: true})
	// pfn 3 is valid but excluded, pfn 47 is not RAM.
	buf := bytes.Repeat([]byte{0xaa}, 4096*3)
	n, err := r.ReadPhysAt(buf, 2*4096)
	if err != nil || n != len(buf) {
		t.Fatalf("n=%d err=%v", n, err)
	}
	if !bytes.Equal(buf[:4096], b.expected[2]) || !bytes.Equal(buf[4096:8192], make([]byte, 4096)) || !bytes.Equal(buf[8192:], b.expected[4]) {
		t.Fatal("wrong content around an excluded page")
	}
	var ne *dump.NotPresentError
	if _, err := r.ReadPhysAt(buf[:8], 47*4096+8); !errors.As(err, &ne) || ne.Addr != 47*4096+8 {
		t.Fatalf("not-RAM pfn: %v", err)
	}
	// A read spanning pages stops at the first failing byte.
	r2 := mustOpen(t, b.file, dump.Options{})
	n, err = r2.ReadPhysAt(buf[:100], 3*4096-40)
	var ee *dump.ExcludedError
	if n != 40 || !errors.As(err, &ee) || ee.Addr != 3*4096 {
		t.Fatalf("spanning read: n=%d err=%v", n, err)
	}
	if !bytes.Equal(buf[:40], b.expected[2][4096-40:]) {
		t.Fatal("spanning read content")
	}
	// Unaligned reads inside a page, and at the last byte of the space.
	n, err = r2.ReadPhysAt(buf[:10], 5*4096+4090)
	if err != nil || n != 10 || !bytes.Equal(buf[:6], b.expected[5][4090:]) || !bytes.Equal(buf[6:10], b.expected[6][:4]) {
		t.Fatalf("unaligned read: n=%d err=%v", n, err)
	}
	if _, err := r2.ReadPhysAt(buf[:10], ^uint64(0)-3); !errors.As(err, &ne) {
		t.Fatalf("read at the top of the address space: %v", err)
	}
	if n, err := r2.ReadPhysAt(nil, 0); n != 0 || err != nil {
		t.Fatalf("empty read: %d %v", n, err)
	}
}

func TestQEMUStyle(t *testing.T) {
	for _, flat := range []bool{false, true} {
		s := newSynth()
		s.qemu = true
		s.comp = flagZlib
		s.dumpLevel = 1
		s.maxPFN = 70000 // two bitmap blocks: QEMU leaves none unwritten here
		s.dumpable = func(pfn uint64) bool { return pfn < 600 || (pfn >= 1000 && pfn < 1300) }
		s.content = func(pfn uint64, bs int) []byte {
			if pfn%3 == 0 {
				return make([]byte, bs)
			}
			return defaultContent(pfn, bs)
		}
		s.nrCPUs = 1
		s.notes = append(mkNote(binary.LittleEndian, "CORE", 1, make([]byte, 336)), mkNote(binary.LittleEndian, "QEMU", 0, make([]byte, 456))...)
		b := s.build()
		data := b.file
		if flat {
			data = flatten(b, 16384, false, 0)
		}
		r := mustOpen(t, data, dump.Options{})
		in := r.Info()
		if in.Partial || in.Compression != "zlib" || in.VMCOREINFO != nil || len(in.QEMUCPUState) != 1 || in.Flattened != flat {
			t.Fatalf("info %+v", in)
		}
		checkAll(t, r, s, b)
	}
}

func TestQEMUBitmapHoles(t *testing.T) {
	// With a bitmap of several blocks, QEMU skips the blocks past the last
	// pfn's: they must read as zeros from the flattened stream.
	s := newSynth()
	s.qemu = true
	s.maxPFN = 200000 // 25000 bytes: 7 bitmap blocks each
	s.dumpable = func(pfn uint64) bool { return pfn < 500 }
	s.maxPFN = 200000
	b := s.build()
	// Drop the bitmap extents past the first block.
	var ext [][2]int64
	bitmapOff := int64(2 * 4096)
	for _, e := range b.extents {
		if e[0] >= bitmapOff && e[0] < b.descOff && (e[0]-bitmapOff)%(7*4096) != 0 {
			continue
		}
		ext = append(ext, e)
	}
	b.extents = ext
	r := mustOpen(t, flatten(b, 1<<20, true, 3), dump.Options{})
	checkAll(t, r, s, b)
}

func TestFlatOverlapAndHoles(t *testing.T) {
	s := newSynth()
	s.comp = flagSnappy
	b := s.build()
	// Later records win: write garbage over the sub header and a page's data
	// first, then the real bytes (makedumpfile rewrites the sub header).
	garbage := bytes.Repeat([]byte{0x5a}, 300)
	stream := flatten(b, 512, true, 7)
	// Build: header + garbage records + real records.
	var g [16]byte
	head := append([]byte{}, stream[:flatHeaderSize]...)
	binary.BigEndian.PutUint64(g[:], 4096-100)
	binary.BigEndian.PutUint64(g[8:], uint64(len(garbage)))
	head = append(head, g[:]...)
	head = append(head, garbage...)
	pfn := uint64(11)
	at := b.dataAt[pfn]
	binary.BigEndian.PutUint64(g[:], uint64(at+5))
	binary.BigEndian.PutUint64(g[8:], 40)
	head = append(head, g[:]...)
	head = append(head, garbage[:40]...)
	stream = append(head, stream[flatHeaderSize:]...)
	r := mustOpen(t, stream, dump.Options{})
	checkAll(t, r, s, b)

	// A late garbage record over one page's data corrupts that page only.
	stream2 := flatRecord(stream, at+5, garbage[:40])
	r = mustOpen(t, stream2, dump.Options{})
	buf := make([]byte, 4096)
	_, err := r.ReadPhysAt(buf, pfn*4096)
	var ce *dump.CorruptError
	if !errors.As(err, &ce) || ce.Addr != pfn*4096 || ce.Offset < 0 {
		t.Fatalf("overwritten page: %v", err)
	}
	if _, err := r.ReadPhysAt(buf, (pfn+1)*4096); err != nil {
		t.Fatalf("next page: %v", err)
	}

	// A hole in the page data (a record missing) is an error, not zeros.
	var ext [][2]int64
	for _, e := range b.extents {
		if e[0] == b.dataOff {
			ext = append(ext, [2]int64{e[0], b.dataAt[20]}, [2]int64{b.dataAt[21], e[1]})
			continue
		}
		ext = append(ext, e)
	}
	b2 := *b
	b2.extents = ext
	r = mustOpen(t, flatten(&b2, 4096, false, 0), dump.Options{})
	_, err = r.ReadPhysAt(buf, 20*4096)
	if !errors.As(err, &ce) || !strings.Contains(ce.Msg, "no data for logical offset") {
		t.Fatalf("hole in page data: %v", err)
	}
	if _, err := r.ReadPhysAt(buf, 21*4096); err != nil {
		t.Fatalf("page after the hole: %v", err)
	}
}

func TestFlatTruncatedStream(t *testing.T) {
	s := newSynth()
	b := s.build()
	stream := flatten(b, 4096, false, 0)
	// Cut in the middle of the page data: open works, later pages fail.
	cut := stream[:len(stream)-16-3000]
	r := mustOpen(t, cut, dump.Options{})
	if r.flat.Truncated() == "" {
		t.Fatal("truncation not noticed")
	}
	last := sortedKeys(b.expected)
	buf := make([]byte, 4096)
	_, err := r.ReadPhysAt(buf, last[len(last)-1]*4096)
	var ce *dump.CorruptError
	if !errors.As(err, &ce) || !strings.Contains(ce.Error(), "truncated") {
		t.Fatalf("last page: %v", err)
	}
	if _, err := r.ReadPhysAt(buf, last[0]*4096); err != nil {
		t.Fatalf("first page: %v", err)
	}
	// Cut in the bitmap: open fails naming the offset.
	for _, n := range []int{flatHeaderSize - 1, flatHeaderSize + 10, flatHeaderSize + 16 + 464 + 30, flatHeaderSize + 16 + 464 + 16 + 104 + 16 + 100} {
		_, err := openBytes(t, stream[:n], dump.Options{})
		if err == nil || !strings.Contains(err.Error(), "synth.kdump") || !strings.Contains(err.Error(), "offset") {
			t.Fatalf("cut at %d: %v", n, err)
		}
	}
}

func TestFlatNotKdump(t *testing.T) {
	b := &built{file: append([]byte("\x7fELF"), make([]byte, 100)...), extents: [][2]int64{{0, 104}}}
	_, err := openBytes(t, flatten(b, 4096, false, 0), dump.Options{})
	if err == nil || errors.Is(err, dump.ErrNotDump) || !strings.Contains(err.Error(), "ELF") {
		t.Fatalf("flattened ELF: %v", err)
	}
	fs := flatten(b, 30, true, 1)
	f, err := NewFlatReader(bytesSource(fs), int64(len(fs)))
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 104)
	if n, err := f.ReadAt(got, 0); n != 104 || err != nil || !bytes.Equal(got, b.file) {
		t.Fatalf("flat reader: %d %v", n, err)
	}
}

func TestNotDump(t *testing.T) {
	for _, data := range [][]byte{nil, []byte("KDUM"), []byte("\x7fELF\x02\x01\x01"), make([]byte, 5000)} {
		_, err := openBytes(t, data, dump.Options{})
		if !errors.Is(err, dump.ErrNotDump) {
			t.Fatalf("%q: %v", data[:min(len(data), 8)], err)
		}
	}
	d := append([]byte(diskdumpSignature), make([]byte, 5000)...)
	if _, err := openBytes(t, d, dump.Options{}); err == nil || errors.Is(err, dump.ErrNotDump) {
		t.Fatalf("DISKDUMP: %v", err)
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "x")
	os.WriteFile(p, []byte("hello"), 0o644)
	if _, err := Open(p, dump.Options{}); !errors.Is(err, dump.ErrNotDump) {
		t.Fatalf("small file: %v", err)
	}
	if _, err := Open(dir, dump.Options{}); !errors.Is(err, dump.ErrNotDump) {
		t.Fatalf("directory: %v", err)
	}
}

func TestSplit(t *testing.T) {
	s := newSynth()
	s.split = true
	s.startPFN, s.endPFN = 100, 200
	b := s.build()
	_, err := openBytes(t, b.file, dump.Options{})
	if err == nil {
		t.Fatal("split dump opened")
	}
	msg := err.Error()
	for _, w := range []string{"split", "[0x64, 0xc8)", "[0x0, 0x64)", "[0xc8, 0x12c)", "--reassemble", "synth.kdump"} {
		if !strings.Contains(msg, w) {
			t.Fatalf("split error lacks %q: %s", w, msg)
		}
	}
}

func TestIncomplete(t *testing.T) {
	s := newSynth()
	s.incomplete = true
	b := s.build()
	keys := sortedKeys(b.expected)
	// Zero the last 5 descriptors, cut the file in the data of the 10th-last page.
	file := append([]byte{}, b.file...)
	for _, pfn := range keys[len(keys)-5:] {
		clear(file[b.pageAt[pfn] : b.pageAt[pfn]+pageDescSize])
	}
	file = file[:b.dataAt[keys[len(keys)-10]]+10]
	r := mustOpen(t, file, dump.Options{})
	if !r.Incomplete() {
		t.Fatal("incomplete flag")
	}
	buf := make([]byte, 4096)
	for _, pfn := range []uint64{keys[len(keys)-1], keys[len(keys)-10]} {
		_, err := r.ReadPhysAt(buf, pfn*4096)
		var ce *dump.CorruptError
		if !errors.As(err, &ce) || !strings.Contains(ce.Msg, "incomplete") {
			t.Fatalf("pfn %#x: %v", pfn, err)
		}
	}
	if _, err := r.ReadPhysAt(buf, keys[0]*4096); err != nil {
		t.Fatal(err)
	}
	rz := mustOpen(t, file, dump.Options{ZeroExcluded: true})
	if n, err := rz.ReadPhysAt(buf, keys[len(keys)-1]*4096); err != nil || n != 4096 || !bytes.Equal(buf, make([]byte, 4096)) {
		t.Fatalf("zero-excluded incomplete page: %v", err)
	}
}

func TestCorruptPages(t *testing.T) {
	s := newSynth()
	s.comp = flagZlib
	b := s.build()
	keys := sortedKeys(b.expected)
	type mod struct {
		name string
		f    func(file []byte, pfn uint64)
		want string
	}
	o := binary.LittleEndian
	mods := []mod{
		{"size0", func(f []byte, pfn uint64) { o.PutUint32(f[b.pageAt[pfn]+8:], 0) }, "page size 0"},
		{"size-big", func(f []byte, pfn uint64) { o.PutUint32(f[b.pageAt[pfn]+8:], 4097) }, "page size 4097"},
		{"offset-header", func(f []byte, pfn uint64) { o.PutUint64(f[b.pageAt[pfn]:], 100) }, "before the page data"},
		{"offset-negative", func(f []byte, pfn uint64) { o.PutUint64(f[b.pageAt[pfn]:], 1<<63) }, "before the page data"},
		{"offset-eof", func(f []byte, pfn uint64) { o.PutUint64(f[b.pageAt[pfn]:], uint64(len(f))-10) }, "past the end"},
		{"offset-huge", func(f []byte, pfn uint64) { o.PutUint64(f[b.pageAt[pfn]:], 1<<62) }, "past the end"},
		{"data", func(f []byte, pfn uint64) { f[b.dataAt[pfn]+3] ^= 0xff }, "zlib"},
		{"two-flags", func(f []byte, pfn uint64) { o.PutUint32(f[b.pageAt[pfn]+12:], flagZlib|flagLZO) }, "more than one"},
		{"raw-short", func(f []byte, pfn uint64) { o.PutUint32(f[b.pageAt[pfn]+12:], 0) }, "uncompressed page"},
		{"as-lzo", func(f []byte, pfn uint64) { o.PutUint32(f[b.pageAt[pfn]+12:], flagLZO) }, "lzo"},
		{"as-snappy", func(f []byte, pfn uint64) { o.PutUint32(f[b.pageAt[pfn]+12:], flagSnappy) }, "snappy"},
		{"as-zstd", func(f []byte, pfn uint64) { o.PutUint32(f[b.pageAt[pfn]+12:], flagZstd) }, "zstd"},
	}
	pfn := keys[5]
	for _, m := range mods {
		t.Run(m.name, func(t *testing.T) {
			file := append([]byte{}, b.file...)
			m.f(file, pfn)
			r := mustOpen(t, file, dump.Options{ZeroExcluded: true})
			buf := make([]byte, 4096)
			_, err := r.ReadPhysAt(buf, pfn*4096+8)
			var ce *dump.CorruptError
			if !errors.As(err, &ce) || ce.Addr != pfn*4096+8 || ce.Path != "synth.kdump" || ce.Offset < 0 || !strings.Contains(ce.Msg, m.want) {
				t.Fatalf("got %v", err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
			// The rest stays readable.
			for _, q := range []uint64{keys[4], keys[6], keys[len(keys)-1]} {
				if _, err := r.ReadPhysAt(buf, q*4096); err != nil {
					t.Fatalf("pfn %#x: %v", q, err)
				}
			}
		})
	}
}

// TestTruncatedEverywhere cuts a dump at many points: open either fails with
// a one-line error naming the file and an offset, or the pages past the cut
// fail the same way and the others read.
func TestTruncatedEverywhere(t *testing.T) {
	for _, flat := range []bool{false, true} {
		s := newSynth()
		s.notes = testNotes(binary.LittleEndian)
		s.vmciNote = true
		b := s.build()
		data := b.file
		if flat {
			data = flatten(b, 2048, false, 0)
		}
		var cuts []int
		for c := 0; c < len(data); c += 1 + c/64 {
			cuts = append(cuts, c)
		}
		buf := make([]byte, 4096)
		for _, c := range cuts {
			r, err := openBytes(t, data[:c], dump.Options{})
			if err != nil {
				msg := err.Error()
				if errors.Is(err, dump.ErrNotDump) && c < 24 {
					continue
				}
				if !strings.Contains(msg, "synth.kdump") || !strings.Contains(msg, "offset") || strings.Contains(msg, "\n") {
					t.Fatalf("flat=%v cut %d: %q", flat, c, msg)
				}
				continue
			}
			for pfn := range b.expected {
				_, err := r.ReadPhysAt(buf, pfn*4096)
				if err == nil {
					if !bytes.Equal(buf, b.expected[pfn]) {
						t.Fatalf("flat=%v cut %d pfn %#x: wrong data", flat, c, pfn)
					}
					continue
				}
				var ce *dump.CorruptError
				if !errors.As(err, &ce) || !strings.Contains(ce.Msg, "truncated") && !strings.Contains(ce.Msg, "no data") {
					t.Fatalf("flat=%v cut %d pfn %#x: %v", flat, c, pfn, err)
				}
			}
		}
	}
}

func TestBadHeaders(t *testing.T) {
	s := newSynth()
	b := s.build()
	o := binary.LittleEndian
	cases := []struct {
		name string
		f    func([]byte)
		want string
	}{
		{"blocksize-odd", func(f []byte) { o.PutUint32(f[428:], 4095) }, "block_size"},
		{"blocksize-huge", func(f []byte) { o.PutUint32(f[428:], 1<<20) }, "block_size"},
		{"version", func(f []byte) { o.PutUint32(f[8:], 1000) }, "header_version"},
		{"bitmap-zero", func(f []byte) { o.PutUint32(f[436:], 0) }, "bitmap_blocks"},
		{"bitmap-small", func(f []byte) { o.PutUint64(f[4096+96:], 1<<40) }, "cannot hold"},
		{"bitmap-huge", func(f []byte) { o.PutUint32(f[436:], 0xffffffff); o.PutUint64(f[4096+96:], 1<<40) }, "truncated"},
		{"mapnr-overflow", func(f []byte) { o.PutUint64(f[4096+96:], 1<<60) }, "too large"},
		{"subhdr-huge", func(f []byte) { o.PutUint32(f[432:], 0x7fffffff) }, "truncated"},
		{"note-huge", func(f []byte) { o.PutUint64(f[4096+48:], 4200); o.PutUint64(f[4096+56:], 1<<40) }, "note area"},
		{"note-eof", func(f []byte) { o.PutUint64(f[4096+48:], 1<<40); o.PutUint64(f[4096+56:], 100) }, "truncated"},
		{"vmci-huge", func(f []byte) { o.PutUint64(f[4096+32:], 4200); o.PutUint64(f[4096+40:], 1<<30) }, "VMCOREINFO"},
		{"vmci-neg", func(f []byte) { o.PutUint64(f[4096+32:], 1<<63); o.PutUint64(f[4096+40:], 10) }, "VMCOREINFO"},
	}
	for _, c := range cases {
		file := append([]byte{}, b.file...)
		c.f(file)
		_, err := openBytes(t, file, dump.Options{})
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "synth.kdump") {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

func TestVersions(t *testing.T) {
	// Old header versions: no 64-bit max_mapnr (v<6), no notes (v<4), no
	// VMCOREINFO (v<3).
	for v := int32(0); v <= 6; v++ {
		s := newSynth()
		s.version = v
		s.notes = testNotes(binary.LittleEndian)
		s.vmciNote = true
		b := s.build()
		r := mustOpen(t, b.file, dump.Options{})
		in := r.Info()
		if (v >= 4) != (len(in.PRStatus) == 2) || (v >= 3) != (in.VMCOREINFO != nil) {
			t.Fatalf("v%d: %d prstatus, vmcoreinfo %q", v, len(in.PRStatus), in.VMCOREINFO)
		}
		checkAll(t, r, s, b)
	}
}

func TestSingleBitmap(t *testing.T) {
	// bitmap_blocks too small for two bitmaps but enough for one: crash
	// treats it as a single bitmap.
	s := newSynth()
	s.valid = s.dumpable
	b := s.build()
	file := append([]byte{}, b.file...)
	o := binary.LittleEndian
	// Move descriptors: simplest is to claim 1 bitmap block and shift data.
	bitmapOff := int64(2 * 4096)
	file = append(file[:bitmapOff+4096], file[bitmapOff+8192:]...)
	o.PutUint32(file[436:], 1)
	for pfn := range b.expected {
		at := b.pageAt[pfn] - 4096
		o.PutUint64(file[at:], o.Uint64(file[at:])-4096)
	}
	r := mustOpen(t, file, dump.Options{})
	checkAll(t, r, s, b)
}

func TestConcurrentReads(t *testing.T) {
	s := newSynth()
	s.maxPFN = 3000
	s.comp = flagZlib
	b := s.build()
	r := mustOpen(t, b.file, dump.Options{})
	r.cache = newPageCache(8)
	keys := sortedKeys(b.expected)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(seed int64) {
			defer wg.Done()
			rnd := rand.New(rand.NewSource(seed))
			buf := make([]byte, 4096)
			for i := 0; i < 2000; i++ {
				pfn := keys[rnd.Intn(len(keys))]
				if _, err := r.ReadPhysAt(buf, pfn*4096); err != nil {
					errs <- err
					return
				}
				if !bytes.Equal(buf, b.expected[pfn]) {
					errs <- fmt.Errorf("pfn %#x differs", pfn)
					return
				}
			}
		}(int64(g))
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestCloseThenRead(t *testing.T) {
	s := newSynth()
	b := s.build()
	p := filepath.Join(t.TempDir(), "vmcore")
	if err := os.WriteFile(p, b.file, 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := Open(p, dump.Options{})
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	if _, err := d.ReadPhysAt(buf, 4096); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := d.ReadPhysAt(buf, 4096); err == nil {
		t.Fatal("read after close")
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestPageCacheLRU(t *testing.T) {
	c := newPageCache(2)
	c.put(1, []byte{1})
	c.put(2, []byte{2})
	c.get(1)
	c.put(3, []byte{3})
	if c.get(2) != nil || c.get(1) == nil || c.get(3) == nil {
		t.Fatal("LRU order")
	}
}

func TestRankIndex(t *testing.T) {
	rnd := rand.New(rand.NewSource(1))
	for _, n := range []uint64{1, 63, 64, 65, 511, 512, 513, 5000} {
		r := &Reader{maxPFN: n}
		words := make([]uint64, (n+63)/64)
		for i := range words {
			words[i] = rnd.Uint64() & rnd.Uint64()
		}
		if n%64 != 0 {
			words[len(words)-1] &= 1<<(n%64) - 1
		}
		r.dumpable = words
		r.valid = words
		buildRank(r)
		var cnt uint64
		for pfn := uint64(0); pfn < n; pfn++ {
			if got := r.descIndex(pfn); got != cnt {
				t.Fatalf("n=%d pfn %d: rank %d want %d", n, pfn, got, cnt)
			}
			if bitSet(words, pfn) {
				cnt++
			}
		}
		if r.nDumpable != cnt {
			t.Fatalf("n=%d: total %d want %d", n, r.nDumpable, cnt)
		}
	}
}

func TestARMPhysOffset(t *testing.T) {
	// makedumpfile on 32-bit ARM: bitmap bit 0 is the pfn of phys_base.
	s := newSynth()
	s.order, s.is32, s.aligned, s.machine = binary.LittleEndian, true, true, "armv7l"
	s.physBase = 0x60000000
	s.notes = testNotes(binary.LittleEndian)
	b := s.build()
	r := mustOpen(t, b.file, dump.Options{})
	if r.Info().MaxPFN != 0x60000+s.maxPFN {
		t.Fatalf("MaxPFN %#x", r.Info().MaxPFN)
	}
	buf := make([]byte, 4096)
	for _, pfn := range sortedKeys(b.expected)[:20] {
		if _, err := r.ReadPhysAt(buf, 0x60000000+pfn*4096); err != nil || !bytes.Equal(buf, b.expected[pfn]) {
			t.Fatalf("pfn %#x: %v", pfn, err)
		}
	}
	var ne *dump.NotPresentError
	if _, err := r.ReadPhysAt(buf, 0x1000); !errors.As(err, &ne) {
		t.Fatalf("below RAM: %v", err)
	}
	// The same layout from QEMU (packed sub header) numbers pfns from 0.
	s.aligned = false
	b = s.build()
	r = mustOpen(t, b.file, dump.Options{})
	if r.pfnBase != 0 {
		t.Fatal("QEMU layout got a pfn offset")
	}
}
