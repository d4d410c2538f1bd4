package diskdump

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"math/rand"
	"sort"

	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
)

// synth builds small kdump-compressed files for tests, the way makedumpfile
// and QEMU lay them out.
type synth struct {
	order    binary.ByteOrder
	is32     bool
	aligned  bool // 32-bit sub header with 8-byte aligned off_t (ARM)
	version  int32
	bs       int
	maxPFN   uint64
	valid    func(pfn uint64) bool
	dumpable func(pfn uint64) bool
	content  func(pfn uint64, bs int) []byte
	comp     uint32 // flagZlib etc., 0 for none
	machine  string
	nrCPUs   int32
	notes    []byte // note area; VMCOREINFO note inside is pointed at
	vmciNote bool   // point offset_vmcoreinfo at the VMCOREINFO note's desc
	// qemu: zero pages share one raw descriptor, dump_level 1.
	qemu       bool
	dumpLevel  int32
	split      bool
	startPFN   uint64
	endPFN     uint64
	incomplete bool
	tvSec      int64
	physBase   uint64
}

// built is a synthetic dump and where its parts are.
type built struct {
	file     []byte
	extents  [][2]int64 // written ranges [lo, hi), in write order
	descOff  int64
	dataOff  int64
	noteOff  int64
	pageAt   map[uint64]int64 // pfn -> descriptor offset
	dataAt   map[uint64]int64 // pfn -> page data offset
	expected map[uint64][]byte
}

func defaultContent(pfn uint64, bs int) []byte {
	p := make([]byte, bs)
	r := rand.New(rand.NewSource(int64(pfn)))
	binary.LittleEndian.PutUint64(p, pfn)
	for i := 8; i < bs; i++ {
		if i%64 < 16 {
			p[i] = byte(r.Intn(256))
		} else {
			p[i] = byte(pfn)
		}
	}
	return p
}

func newSynth() *synth {
	return &synth{
		order:     binary.LittleEndian,
		version:   6,
		bs:        4096,
		maxPFN:    300,
		valid:     func(pfn uint64) bool { return pfn%50 < 45 },
		dumpable:  func(pfn uint64) bool { return pfn%50 < 45 && pfn%7 != 3 },
		content:   defaultContent,
		comp:      flagZstd,
		machine:   "x86_64",
		nrCPUs:    2,
		dumpLevel: 31,
	}
}

func lzoLiteral(src []byte) []byte {
	n := len(src)
	var out []byte
	if n <= 238 {
		out = append(out, byte(17+n))
	} else {
		out = append(out, 0)
		k := (n - 18 - 1) / 255
		for i := 0; i < k; i++ {
			out = append(out, 0)
		}
		out = append(out, byte(n-18-255*k))
	}
	out = append(out, src...)
	return append(out, 0x11, 0, 0)
}

var zstdEnc, _ = zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))

func compress(flag uint32, p []byte) []byte {
	switch flag {
	case flagZlib:
		var b bytes.Buffer
		w, _ := zlib.NewWriterLevel(&b, zlib.BestSpeed)
		w.Write(p)
		w.Close()
		return b.Bytes()
	case flagLZO:
		return lzoLiteral(p)
	case flagSnappy:
		return snappy.Encode(nil, p)
	case flagZstd:
		return zstdEnc.EncodeAll(p, nil)
	}
	return p
}

func put32(b []byte, o binary.ByteOrder, v uint32) { o.PutUint32(b, v) }

func putField(b []byte, o binary.ByteOrder, f field, v uint64) {
	if f.size == 4 {
		o.PutUint32(b[f.off:], uint32(v))
	} else {
		o.PutUint64(b[f.off:], v)
	}
}

func (s *synth) build() *built {
	o := s.order
	bs := int64(s.bs)
	b := &built{pageAt: map[uint64]int64{}, dataAt: map[uint64]int64{}, expected: map[uint64][]byte{}}
	l := &subLayout64
	if s.is32 {
		l = &subLayout32
		if s.aligned {
			l = &subLayout32Aligned
		}
	}
	subHdrBlocks := (int64(l.size) + int64(len(s.notes)) + bs - 1) / bs
	bmEach := ((int64(s.maxPFN)+7)/8 + bs - 1) / bs * bs
	bitmapOff := (1 + subHdrBlocks) * bs
	b.descOff = bitmapOff + 2*bmEach
	var pfns []uint64
	for pfn := uint64(0); pfn < s.maxPFN; pfn++ {
		if s.dumpable(pfn) {
			pfns = append(pfns, pfn)
		}
	}
	b.dataOff = b.descOff + int64(len(pfns))*pageDescSize
	file := make([]byte, b.dataOff)

	// Header.
	h := file[:bs]
	copy(h, kdumpSignature)
	put32(h[8:], o, uint32(s.version))
	copy(h[utsOff:], "Linux")
	copy(h[utsOff+utsFieldLen:], "synth-host")
	copy(h[utsOff+2*utsFieldLen:], "6.1.0-synth")
	copy(h[utsOff+3*utsFieldLen:], "#1 SMP")
	copy(h[utsOff+4*utsFieldLen:], s.machine)
	tail := hdrTail64
	hsize := int64(hdrSize64)
	if s.is32 {
		tail, hsize = hdrTail32, hdrSize32
		put32(h[404:], o, uint32(s.tvSec))
		put32(h[408:], o, 250000)
	} else {
		o.PutUint64(h[408:], uint64(s.tvSec))
		o.PutUint64(h[416:], 250000)
	}
	status := s.comp
	if s.incomplete {
		status |= flagIncomplete
	}
	vals := []uint32{status, uint32(s.bs), uint32(subHdrBlocks), uint32(2 * bmEach / bs),
		uint32(min(s.maxPFN, 0xffffffff)), 0, 0, 0, 0, uint32(s.nrCPUs)}
	for i, v := range vals {
		put32(h[tail+4*i:], o, v)
	}
	b.extents = append(b.extents, [2]int64{0, hsize})

	// Sub header and notes.
	sub := file[bs : bs+int64(l.size)]
	putField(sub, o, l.physBase, s.physBase)
	putField(sub, o, l.dumpLevel, uint64(s.dumpLevel))
	if s.split {
		putField(sub, o, l.split, 1)
		putField(sub, o, l.startPFN, s.startPFN)
		putField(sub, o, l.endPFN, s.endPFN)
		putField(sub, o, l.startPFN64, s.startPFN)
		putField(sub, o, l.endPFN64, s.endPFN)
	}
	putField(sub, o, l.maxMapnr64, s.maxPFN)
	b.noteOff = bs + int64(l.size)
	if len(s.notes) > 0 {
		putField(sub, o, l.offNote, uint64(b.noteOff))
		putField(sub, o, l.sizeNote, uint64(len(s.notes)))
		copy(file[b.noteOff:], s.notes)
		if s.vmciNote {
			if off, size, ok := findNote(s.notes, "VMCOREINFO", o); ok {
				putField(sub, o, l.offVMCI, uint64(b.noteOff)+uint64(off))
				putField(sub, o, l.sizeVMCI, uint64(size))
			}
		}
	}
	b.extents = append(b.extents, [2]int64{bs, bs + int64(l.size)})
	if len(s.notes) > 0 {
		b.extents = append(b.extents, [2]int64{b.noteOff, b.noteOff + int64(len(s.notes))})
	}

	// Bitmaps, one block per extent.
	for pfn := uint64(0); pfn < s.maxPFN; pfn++ {
		v, d := s.valid(pfn), s.dumpable(pfn)
		if s.qemu {
			v = d
		}
		if v {
			file[bitmapOff+int64(pfn/8)] |= 1 << (pfn % 8)
		}
		if d {
			file[bitmapOff+bmEach+int64(pfn/8)] |= 1 << (pfn % 8)
		}
	}
	lastBlock := int64(s.maxPFN+7) / 8 / bs // QEMU writes no block past the last pfn's
	for blk := int64(0); blk < bmEach/bs; blk++ {
		if s.qemu && blk > lastBlock {
			break
		}
		b.extents = append(b.extents, [2]int64{bitmapOff + blk*bs, bitmapOff + (blk+1)*bs})
		b.extents = append(b.extents, [2]int64{bitmapOff + bmEach + blk*bs, bitmapOff + bmEach + (blk+1)*bs})
	}

	// Descriptors and data.
	var data []byte
	zeroAt := int64(-1)
	if s.qemu {
		zeroAt = b.dataOff
		data = append(data, make([]byte, s.bs)...)
	}
	for i, pfn := range pfns {
		p := s.content(pfn, s.bs)
		b.expected[pfn] = p
		dAt := b.descOff + int64(i)*pageDescSize
		b.pageAt[pfn] = dAt
		desc := file[dAt : dAt+pageDescSize]
		if s.qemu && bytes.Equal(p, make([]byte, s.bs)) {
			o.PutUint64(desc, uint64(zeroAt))
			put32(desc[8:], o, uint32(s.bs))
			b.dataAt[pfn] = zeroAt
			continue
		}
		c := compress(s.comp, p)
		flags := s.comp
		if len(c) >= s.bs {
			c, flags = p, 0
		}
		at := b.dataOff + int64(len(data))
		o.PutUint64(desc, uint64(at))
		put32(desc[8:], o, uint32(len(c)))
		put32(desc[12:], o, flags)
		b.dataAt[pfn] = at
		data = append(data, c...)
	}
	file = append(file, data...)
	b.file = file
	b.extents = append(b.extents, [2]int64{b.descOff, b.dataOff}, [2]int64{b.dataOff, int64(len(file))})
	return b
}

// findNote finds the desc of the note called name in a note area.
func findNote(buf []byte, name string, o binary.ByteOrder) (off, size int, ok bool) {
	p := 0
	for p+12 <= len(buf) {
		nn, dn := int(o.Uint32(buf[p:])), int(o.Uint32(buf[p+4:]))
		nameOff := p + 12
		descOff := nameOff + (nn+3)&^3
		if descOff+dn > len(buf) {
			return 0, 0, false
		}
		if string(bytes.TrimRight(buf[nameOff:nameOff+nn], "\x00")) == name {
			return descOff, dn, true
		}
		p = descOff + (dn+3)&^3
	}
	return 0, 0, false
}

func mkNote(o binary.ByteOrder, name string, typ uint32, desc []byte) []byte {
	h := make([]byte, 12)
	o.PutUint32(h, uint32(len(name)+1))
	o.PutUint32(h[4:], uint32(len(desc)))
	o.PutUint32(h[8:], typ)
	n := append([]byte(name), 0)
	for len(n)%4 != 0 {
		n = append(n, 0)
	}
	d := append([]byte{}, desc...)
	for len(d)%4 != 0 {
		d = append(d, 0)
	}
	return append(append(h, n...), d...)
}

// flatten writes b's extents as a flattened stream. chunk splits extents
// into records of at most chunk bytes; shuffle permutes the record order
// (except that overlapping rewrites stay after what they overwrite).
func flatten(b *built, chunk int64, shuffle bool, seed int64) []byte {
	type rec struct{ lo, hi int64 }
	var recs []rec
	for _, e := range b.extents {
		for lo := e[0]; lo < e[1]; lo += chunk {
			recs = append(recs, rec{lo, min(lo+chunk, e[1])})
		}
	}
	if shuffle {
		r := rand.New(rand.NewSource(seed))
		r.Shuffle(len(recs), func(i, j int) { recs[i], recs[j] = recs[j], recs[i] })
	}
	out := make([]byte, flatHeaderSize)
	copy(out, flatSignature)
	binary.BigEndian.PutUint64(out[16:], 1)
	binary.BigEndian.PutUint64(out[24:], 1)
	for _, rc := range recs {
		var h [16]byte
		binary.BigEndian.PutUint64(h[:], uint64(rc.lo))
		binary.BigEndian.PutUint64(h[8:], uint64(rc.hi-rc.lo))
		out = append(out, h[:]...)
		out = append(out, b.file[rc.lo:rc.hi]...)
	}
	var end [16]byte
	for i := range end {
		end[i] = 0xff
	}
	return append(out, end[:]...)
}

// flatRecord appends one record to a flattened stream (before its end
// marker, which it moves).
func flatRecord(stream []byte, lo int64, data []byte) []byte {
	out := append([]byte{}, stream[:len(stream)-16]...)
	var h [16]byte
	binary.BigEndian.PutUint64(h[:], uint64(lo))
	binary.BigEndian.PutUint64(h[8:], uint64(len(data)))
	out = append(out, h[:]...)
	out = append(out, data...)
	return append(out, stream[len(stream)-16:]...)
}

func sortedKeys(m map[uint64][]byte) []uint64 {
	var k []uint64
	for x := range m {
		k = append(k, x)
	}
	sort.Slice(k, func(i, j int) bool { return k[i] < k[j] })
	return k
}
