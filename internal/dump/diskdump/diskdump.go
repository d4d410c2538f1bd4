// Package diskdump reads kdump-compressed dump files: what makedumpfile
// writes with -c/-l/-p/-z (zlib, lzo, snappy, zstd pages) or without
// compression, either as a plain file or as a flattened stream (-F), and
// what QEMU's dump-guest-memory writes in its kdump-* formats.
//
// Open reads the headers, the note area and both bitmaps, and builds a rank
// index over the dumpable-page bitmap, so that finding a page's descriptor is
// O(1); each page read then costs one 24-byte descriptor read, one read of
// the page data and its decompression. A small LRU keeps decoded pages.
package diskdump

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"kdive/internal/dump"
	"kdive/internal/dump/elfnote"
)

// Limits on sizes read from the file.
const (
	maxNoteSize       = 16 << 20 // note area (PRSTATUS for ~40000 CPUs)
	maxVMCOREINFOSize = 1 << 20  // QEMU's limit for the guest note too
	maxNrCPUs         = 1 << 20
	compressionProbe  = 256 // descriptors read at open to name the compression
	rankBlockWords    = 8   // rank entry every 8 words = 512 pfns
	defaultCachePages = 256
)

// Reader is an open kdump-compressed dump. It implements dump.Dump.
type Reader struct {
	path   string
	src    source
	flat   *FlatFile // nil unless flattened
	closer io.Closer
	opts   dump.Options
	info   dump.Info

	hdr   *header
	sub   *subHeader
	order binary.ByteOrder

	blockSize  int
	blockShift uint
	maxPFN     uint64
	valid      []uint64 // 1st bitmap: pfns of RAM
	dumpable   []uint64 // 2nd bitmap: pfns with a page descriptor
	rank       []uint64 // rank[i]: dumpable pfns below i*512
	nDumpable  uint64
	descOff    int64  // first page descriptor
	pfnBase    uint64 // physical pfn of bitmap bit 0 (32-bit ARM)
	notes      []byte
	incomplete bool

	cache  *pageCache
	bufs   sync.Pool // *[]byte of blockSize, for compressed data
	closed atomic.Bool
}

// Open opens a kdump-compressed dump file (plain or flattened). It returns an
// error wrapping dump.ErrNotDump when the file is neither.
func Open(path string, opts dump.Options) (dump.Dump, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s: not a regular file: %w", path, dump.ErrNotDump)
	}
	r, err := newReader(path, f, st.Size(), opts)
	if err != nil {
		f.Close()
		return nil, err
	}
	r.closer = f
	return r, nil
}

// newReader opens the dump held by ra (size bytes); name is used in messages.
func newReader(name string, ra io.ReaderAt, size int64, opts dump.Options) (*Reader, error) {
	r := &Reader{path: name, opts: opts}
	var head [hdrSize64]byte
	n, err := ra.ReadAt(head[:], 0)
	if n < len(head) && err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	if n > int(size) {
		n = int(size)
	}
	switch {
	case IsFlattened(head[:n]):
		f, err := indexFlat(ra, size)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", name, err)
		}
		f.holeLimit = f.size // until the header says where page data starts
		r.flat = f
		r.src = f
		n, _ = f.ReadAt(head[:], 0)
	case n >= 8 && string(head[:8]) == kdumpSignature:
		r.src = &readerAtSource{r: ra, size: size}
	case n >= 8 && string(head[:8]) == diskdumpSignature:
		return nil, fmt.Errorf("%s: a dump of the old diskdump facility (DISKDUMP signature); only kdump-compressed (KDUMP) files are supported", name)
	default:
		return nil, fmt.Errorf("%s: no KDUMP or makedumpfile signature: %w", name, dump.ErrNotDump)
	}
	if n < 8 || string(head[:8]) != kdumpSignature {
		what := "unknown data"
		if n >= 4 && string(head[:4]) == "\x7fELF" {
			what = "an ELF core (makedumpfile -F -E); read it through diskdump.NewFlatReader or rebuild it with makedumpfile -R"
		}
		return nil, fmt.Errorf("%s: flattened makedumpfile stream does not hold a kdump-compressed file but %s", name, what)
	}
	if n < hdrSize32 {
		return nil, r.truncated("disk_dump_header", 0, hdrSize64)
	}
	h, err := parseHeader(head[:n])
	if err != nil {
		if n < hdrSize64 {
			return nil, r.truncated("disk_dump_header", 0, hdrSize64)
		}
		return nil, fmt.Errorf("%s: bad disk_dump_header: %v", name, err)
	}
	r.hdr = h
	r.order = h.order
	r.blockSize = int(h.blockSize)
	r.blockShift = h.blockShift()
	bs := int64(h.blockSize)

	// Sub header.
	if h.subHdrSize > 0 {
		var sb [maxSubHeaderSize]byte
		want := min(int64(len(sb)), int64(h.subHdrSize)*bs)
		if h.is32 {
			want = min(want, int64(subLayout32Aligned.size))
		}
		if err := r.readFull(sb[:want], bs, "kdump_sub_header"); err != nil {
			return nil, err
		}
		r.sub = parseSub(sb[:want], h)
	} else {
		r.sub = &subHeader{layout: "none"}
	}
	s := r.sub

	// Page frame count: 64-bit max_mapnr_64 from version 6 on.
	r.maxPFN = uint64(h.maxMapnr)
	if h.version >= 6 && s.maxMapnr64 != 0 {
		r.maxPFN = s.maxMapnr64
	}
	if r.maxPFN > math.MaxUint64>>r.blockShift {
		return nil, fmt.Errorf("%s: max_mapnr %d is too large for block size %d", name, r.maxPFN, bs)
	}

	// makedumpfile on 32-bit ARM numbers pfns from the start of RAM
	// (ARCH_PFN_OFFSET = phys_base >> PAGE_SHIFT), as crash assumes for ARM;
	// QEMU (packed sub header) numbers them from 0.
	if h.is32 && s.layout == subLayout32Aligned.name && strings.HasPrefix(h.uts[4], "arm") {
		r.pfnBase = s.physBase >> r.blockShift
	}

	if err := r.checkSplit(); err != nil {
		return nil, err
	}

	// Layout of the bitmaps and the page descriptors.
	bitmapOff := (1 + int64(h.subHdrSize)) * bs
	bitmapLen := int64(h.bitmapBlocks) * bs
	r.descOff = bitmapOff + bitmapLen
	if r.descOff < bitmapOff || bitmapOff/bs != 1+int64(h.subHdrSize) {
		return nil, fmt.Errorf("%s: sub_hdr_size %d and bitmap_blocks %d overflow", name, h.subHdrSize, h.bitmapBlocks)
	}
	r.incomplete = h.status&flagIncomplete != 0
	if r.flat != nil {
		// makedumpfile and QEMU leave holes only in the header and bitmap
		// blocks (padding; QEMU skips bitmap blocks past the last pfn).
		r.flat.holeLimit = r.descOff
	}
	if err := r.readBitmaps(bitmapOff, bitmapLen); err != nil {
		return nil, err
	}
	if err := r.readNotes(); err != nil {
		return nil, err
	}
	r.fillInfo()
	r.cache = newPageCache(defaultCachePages)
	r.bufs.New = func() any { b := make([]byte, r.blockSize); return &b }
	return r, nil
}

// checkSplit refuses one part of a makedumpfile --split dump.
func (r *Reader) checkSplit() error {
	s := r.sub
	if r.hdr.version < 2 {
		return nil
	}
	start, end := s.startPFN64, s.endPFN64
	if s.split == 0 && start == 0 && (end == 0 || end >= r.maxPFN) {
		return nil
	}
	if end == 0 || end > r.maxPFN {
		end = r.maxPFN
	}
	shift := r.blockShift
	var missing []string
	if start > 0 {
		missing = append(missing, fmt.Sprintf("pfns [%#x, %#x) (physical %#x-%#x)", 0, start, 0, start<<shift))
	}
	if end < r.maxPFN {
		missing = append(missing, fmt.Sprintf("pfns [%#x, %#x) (physical %#x-%#x)", end, r.maxPFN, end<<shift, r.maxPFN<<shift))
	}
	msg := fmt.Sprintf("%s: one part of a split dump (makedumpfile --split): it holds only pfns [%#x, %#x) (physical %#x-%#x) of %#x", r.path, start, end, start<<shift, end<<shift, r.maxPFN)
	if len(missing) > 0 {
		msg += "; the other part files hold " + joinAnd(missing)
	}
	return errors.New(msg + "; join all parts with: makedumpfile --reassemble PART1 PART2 ... OUTPUT, and open OUTPUT")
}

func joinAnd(s []string) string {
	switch len(s) {
	case 0:
		return ""
	case 1:
		return s[0]
	}
	out := s[0]
	for _, x := range s[1 : len(s)-1] {
		out += ", " + x
	}
	return out + " and " + s[len(s)-1]
}

// readFull reads a header structure; a short read is a truncation error.
func (r *Reader) readFull(p []byte, off int64, what string) error {
	n, err := r.src.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	var he *holeError
	switch {
	case errors.As(err, &he):
		return fmt.Errorf("%s: %s at logical offset %#x (%d bytes): %v", r.path, what, off, len(p), err)
	case err == nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return r.truncated(what, off, int64(len(p)))
	}
	return fmt.Errorf("%s: reading %s at offset %#x: %v", r.path, what, off, err)
}

func (r *Reader) truncated(what string, off, n int64) error {
	if r.flat != nil {
		msg := fmt.Sprintf("%s: truncated: %s at logical offset %#x (%d bytes) is past the end of the data (%#x bytes) of the flattened stream", r.path, what, off, n, r.flat.size)
		if t := r.flat.Truncated(); t != "" {
			msg += "; " + t
		}
		return errors.New(msg)
	}
	return fmt.Errorf("%s: truncated: %s at offset %#x (%d bytes) runs past the end of the file (%#x bytes)", r.path, what, off, n, r.src.Size())
}

// physSize is the size of the file on disk, which bounds every allocation.
func (r *Reader) physSize() int64 {
	if r.flat != nil {
		return r.flat.fileSize
	}
	return r.src.Size()
}

func (r *Reader) readBitmaps(off, length int64) error {
	need := int64((r.maxPFN + 7) / 8) // bytes per bitmap
	bs := int64(r.blockSize)
	var off2 int64
	switch {
	case length/bs >= 2*((need+bs-1)/bs):
		off2 = off + length/2 // 1st bitmap, then the 2nd (crash's rule)
	case need <= length:
		off2 = -1 // a single bitmap (as crash accepts)
	default:
		return fmt.Errorf("%s: bitmap_blocks %d (%d bytes) cannot hold two bitmaps of max_mapnr %d pfns (%d bytes each)", r.path, r.hdr.bitmapBlocks, length, r.maxPFN, need)
	}
	if need > r.physSize() {
		return r.truncated("bitmap", off, need)
	}
	var err error
	if r.valid, err = r.readBitmap(off, need, "1st bitmap"); err != nil {
		return err
	}
	if off2 < 0 {
		r.dumpable = r.valid
	} else if r.dumpable, err = r.readBitmap(off2, need, "2nd bitmap"); err != nil {
		return err
	}
	buildRank(r)
	return nil
}

// buildRank builds the rank index over the 2nd bitmap: the count of
// dumpable pfns below every 512th pfn.
func buildRank(r *Reader) {
	nw := len(r.dumpable)
	r.rank = make([]uint64, nw/rankBlockWords+1)
	var total uint64
	for i, w := range r.dumpable {
		if i%rankBlockWords == 0 {
			r.rank[i/rankBlockWords] = total
		}
		total += uint64(bits.OnesCount64(w))
	}
	if nw%rankBlockWords == 0 {
		r.rank[nw/rankBlockWords] = total
	}
	r.nDumpable = total
}

// readBitmap reads need bytes at off into words (bit i of the bitmap is bit
// i%64 of word i/64) and clears the bits at or above max_mapnr.
func (r *Reader) readBitmap(off, need int64, what string) ([]uint64, error) {
	words := make([]uint64, (need+7)/8)
	buf := make([]byte, min(need, 1<<20))
	for done := int64(0); done < need; {
		k := min(int64(len(buf)), need-done)
		if err := r.readFull(buf[:k], off+done, what); err != nil {
			return nil, err
		}
		w := words[done/8:]
		i := 0
		for ; i+8 <= int(k); i += 8 {
			w[i/8] = uint64(buf[i]) | uint64(buf[i+1])<<8 | uint64(buf[i+2])<<16 | uint64(buf[i+3])<<24 |
				uint64(buf[i+4])<<32 | uint64(buf[i+5])<<40 | uint64(buf[i+6])<<48 | uint64(buf[i+7])<<56
		}
		if i < int(k) {
			var v uint64
			for j := i; j < int(k); j++ {
				v |= uint64(buf[j]) << (8 * (j - i))
			}
			w[i/8] = v
		}
		done += k
	}
	if rem := r.maxPFN % 64; rem != 0 && len(words) > 0 {
		words[len(words)-1] &= 1<<rem - 1
	}
	return words, nil
}

func bitSet(words []uint64, pfn uint64) bool {
	return words[pfn/64]&(1<<(pfn%64)) != 0
}

// descIndex is the number of dumpable pfns below pfn: the index of pfn's
// page descriptor when pfn is dumpable.
func (r *Reader) descIndex(pfn uint64) uint64 {
	wi := pfn / 64
	blk := wi / rankBlockWords
	n := r.rank[blk]
	for i := blk * rankBlockWords; i < wi; i++ {
		n += uint64(bits.OnesCount64(r.dumpable[i]))
	}
	return n + uint64(bits.OnesCount64(r.dumpable[wi]&(1<<(pfn%64)-1)))
}

// readNotes reads the ELF note area and VMCOREINFO.
func (r *Reader) readNotes() error {
	s := r.sub
	if s.sizeNote != 0 && s.offNote != 0 {
		if s.sizeNote > maxNoteSize || s.sizeNote > uint64(r.physSize()) || s.offNote > math.MaxInt64 {
			return fmt.Errorf("%s: note area of %d bytes at offset %#x: implausible size", r.path, s.sizeNote, s.offNote)
		}
		buf := make([]byte, s.sizeNote)
		if err := r.readFull(buf, int64(s.offNote), "ELF note area"); err != nil {
			return err
		}
		r.notes = buf
		if r.order == binary.BigEndian {
			buf = swapNoteHeaders(buf)
		}
		notes, _ := elfnote.Parse(buf) // keep what parses
		for _, n := range notes {
			switch {
			case n.Name == "CORE" && n.Type == elfnote.NT_PRSTATUS:
				r.info.PRStatus = append(r.info.PRStatus, n.Desc)
			case n.Name == "QEMU":
				r.info.QEMUCPUState = append(r.info.QEMUCPUState, n.Desc)
			case n.Name == "VMCOREINFO" && r.info.VMCOREINFO == nil:
				r.info.VMCOREINFO = trimNUL(n.Desc)
			}
		}
	}
	if s.sizeVMCOREINFO != 0 && s.offVMCOREINFO != 0 {
		if s.sizeVMCOREINFO > maxVMCOREINFOSize || s.sizeVMCOREINFO > uint64(r.physSize()) || s.offVMCOREINFO > math.MaxInt64 {
			return fmt.Errorf("%s: VMCOREINFO of %d bytes at offset %#x: implausible size", r.path, s.sizeVMCOREINFO, s.offVMCOREINFO)
		}
		buf := make([]byte, s.sizeVMCOREINFO)
		if err := r.readFull(buf, int64(s.offVMCOREINFO), "VMCOREINFO"); err != nil {
			return err
		}
		r.info.VMCOREINFO = trimNUL(buf)
	}
	if len(r.info.VMCOREINFO) == 0 {
		r.info.VMCOREINFO = nil
	}
	return nil
}

func trimNUL(b []byte) []byte {
	for len(b) > 0 && b[len(b)-1] == 0 {
		b = b[:len(b)-1]
	}
	return b
}

// swapNoteHeaders returns a copy of a big-endian note area with the three
// header words of each note byte-swapped, for elfnote.Parse.
func swapNoteHeaders(b []byte) []byte {
	out := append([]byte(nil), b...)
	off := 0
	for off+12 <= len(out) {
		var w [3]uint32
		for i := range w {
			w[i] = binary.BigEndian.Uint32(out[off+4*i:])
			binary.LittleEndian.PutUint32(out[off+4*i:], w[i])
		}
		if w[0] == 0 && w[1] == 0 && w[2] == 0 {
			break
		}
		next := uint64(off) + 12 + (uint64(w[0])+3)&^3 + (uint64(w[1])+3)&^3
		if next > uint64(len(out)) {
			break
		}
		off = int(next)
	}
	return out
}

func (r *Reader) fillInfo() {
	h := r.hdr
	in := &r.info
	in.Path = r.path
	in.Format = "kdump"
	in.Flattened = r.flat != nil
	in.Sysname, in.Nodename, in.Release, in.Version, in.Machine, in.Domainname =
		h.uts[0], h.uts[1], h.uts[2], h.uts[3], h.uts[4], h.uts[5]
	if h.tvSec != 0 || h.tvUsec != 0 {
		usec := h.tvUsec
		if usec < 0 || usec >= 1e6 {
			usec = 0
		}
		in.Timestamp = time.Unix(h.tvSec, usec*1000).UTC()
	}
	in.MaxPFN = r.maxPFN + r.pfnBase
	in.PageSize = r.blockSize
	if h.nrCPUs > 0 && h.nrCPUs <= maxNrCPUs {
		in.NrCPUs = int(h.nrCPUs)
	} else {
		in.NrCPUs = len(in.PRStatus)
	}
	// Partial: some RAM page has no descriptor (makedumpfile -d filtering;
	// QEMU writes dump_level 1 but keeps every page).
	for i, w := range r.valid {
		if w&^r.dumpable[i] != 0 {
			in.Partial = true
			break
		}
	}
	in.Compression = r.probeCompression()
}

// probeCompression names the compression from the first page descriptors
// and the header's status flags.
func (r *Reader) probeCompression() string {
	var seen uint32
	n := min(r.nDumpable, compressionProbe)
	if n > 0 {
		buf := make([]byte, n*pageDescSize)
		m, _ := r.src.ReadAt(buf, r.descOff)
		for i := 0; i+pageDescSize <= m; i += pageDescSize {
			d := decodeDesc(buf[i:], r.order)
			if d.size > 0 && int(d.size) <= r.blockSize {
				seen |= d.flags & flagCompressed
			}
		}
	}
	if seen == 0 {
		seen = r.hdr.status & flagCompressed
	}
	return compressionName(seen)
}

// Info returns the dump's metadata.
func (r *Reader) Info() *dump.Info { return &r.info }

// Close releases the file.
func (r *Reader) Close() error {
	if r.closed.Swap(true) {
		return nil
	}
	r.cache.clear()
	if r.closer != nil {
		return r.closer.Close()
	}
	return nil
}

// PhysBase is the x86_64 kernel's physical relocation: VMCOREINFO's
// NUMBER(phys_base) when present (the kernel prints it in decimal; QEMU, up
// to at least 9.x, parses that as hex and writes the wrong value into the
// sub header), else the sub header's phys_base.
func (r *Reader) PhysBase() uint64 {
	if v, ok := vmcoreinfoNumber(r.info.VMCOREINFO, "NUMBER(phys_base)"); ok {
		return uint64(v)
	}
	return r.sub.physBase
}

// SubHeaderPhysBase is the sub header's phys_base field as written.
func (r *Reader) SubHeaderPhysBase() uint64 { return r.sub.physBase }

// vmcoreinfoNumber parses the decimal value of a KEY=value VMCOREINFO line.
func vmcoreinfoNumber(vmci []byte, key string) (int64, bool) {
	for _, line := range strings.Split(string(vmci), "\n") {
		if v, ok := strings.CutPrefix(line, key+"="); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

// DumpLevel is makedumpfile's -d level (QEMU writes 1).
func (r *Reader) DumpLevel() int { return int(r.sub.dumpLevel) }

// HeaderVersion is the disk_dump_header version (6 for current writers).
func (r *Reader) HeaderVersion() int { return int(r.hdr.version) }

// Incomplete reports the DUMP_DH_COMPRESSED_INCOMPLETE status flag:
// makedumpfile ran out of space and some pages were not written.
func (r *Reader) Incomplete() bool { return r.incomplete }

// Notes is the raw ELF note area of the sub header (in the dump's byte
// order), or nil.
func (r *Reader) Notes() []byte { return r.notes }

// DumpablePages is the number of page descriptors.
func (r *Reader) DumpablePages() uint64 { return r.nDumpable }

// ReadPhysAt reads physical memory at addr.
func (r *Reader) ReadPhysAt(p []byte, addr uint64) (int, error) {
	if r.closed.Load() {
		return 0, fmt.Errorf("%s: read after Close", r.path)
	}
	n := 0
	for n < len(p) {
		a := addr + uint64(n)
		if a < addr { // wrapped past 2^64
			return n, &dump.NotPresentError{Addr: a}
		}
		pfn := a >> r.blockShift
		off := int(a & uint64(r.blockSize-1))
		if pfn < r.pfnBase {
			return n, &dump.NotPresentError{Addr: a}
		}
		page, err := r.page(pfn-r.pfnBase, a)
		if err != nil {
			var ee *dump.ExcludedError
			if r.opts.ZeroExcluded && (errors.As(err, &ee) || err == errNotWritten) {
				k := min(len(p)-n, r.blockSize-off)
				clear(p[n : n+k])
				n += k
				continue
			}
			if err == errNotWritten {
				err = &dump.CorruptError{Path: r.path, Offset: -1, Addr: a,
					Msg: "page not written: the dump is incomplete (makedumpfile stopped early and set DUMP_DH_COMPRESSED_INCOMPLETE)"}
			}
			return n, err
		}
		n += copy(p[n:], page[off:])
	}
	return n, nil
}

var errNotWritten = errors.New("page not written (incomplete dump)")

// page returns the decoded page pfn (shared; do not modify). a is the
// address reported in errors.
func (r *Reader) page(pfn, a uint64) ([]byte, error) {
	if pfn >= r.maxPFN {
		return nil, &dump.NotPresentError{Addr: a}
	}
	if !bitSet(r.dumpable, pfn) {
		if bitSet(r.valid, pfn) {
			return nil, &dump.ExcludedError{Addr: a}
		}
		return nil, &dump.NotPresentError{Addr: a}
	}
	if pg := r.cache.get(pfn); pg != nil {
		return pg, nil
	}
	pg, err := r.loadPage(pfn, a)
	if err != nil {
		return nil, err
	}
	r.cache.put(pfn, pg)
	return pg, nil
}

func (r *Reader) corrupt(off int64, a uint64, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	fo := off
	if r.flat != nil && off >= 0 {
		msg = fmt.Sprintf("logical offset %#x: %s", off, msg)
		fo = r.flat.FileOffset(off)
	}
	return &dump.CorruptError{Path: r.path, Offset: fo, Addr: a, Msg: msg}
}

// loadPage reads and decodes the page of dumpable pfn.
func (r *Reader) loadPage(pfn, a uint64) ([]byte, error) {
	idx := r.descIndex(pfn)
	descAt := r.descOff + int64(idx)*pageDescSize
	var db [pageDescSize]byte
	n, err := r.src.ReadAt(db[:], descAt)
	if n < len(db) {
		if r.incomplete && (err == io.EOF || err == io.ErrUnexpectedEOF) {
			return nil, errNotWritten
		}
		return nil, r.readErr(err, descAt, a, "page descriptor", len(db))
	}
	d := decodeDesc(db[:], r.order)
	if d.offset == 0 && r.incomplete {
		return nil, errNotWritten
	}
	switch {
	case d.size == 0 || int(d.size) > r.blockSize:
		return nil, r.corrupt(descAt, a, "page descriptor %d gives page size %d (block size %d)", idx, d.size, r.blockSize)
	case d.offset < r.descOff:
		return nil, r.corrupt(descAt, a, "page descriptor %d points at offset %#x, before the page data", idx, d.offset)
	case d.offset > r.src.Size()-int64(d.size):
		if r.incomplete {
			return nil, errNotWritten
		}
		return nil, r.corrupt(descAt, a, "page descriptor %d points at %d bytes at offset %#x, past the end of the file (%#x bytes): truncated", idx, d.size, d.offset, r.src.Size())
	}
	bp := r.bufs.Get().(*[]byte)
	defer r.bufs.Put(bp)
	cbuf := (*bp)[:d.size]
	if n, err := r.src.ReadAt(cbuf, d.offset); n < len(cbuf) {
		if r.incomplete && (err == io.EOF || err == io.ErrUnexpectedEOF) {
			return nil, errNotWritten
		}
		return nil, r.readErr(err, d.offset, a, "page data", len(cbuf))
	}
	page := make([]byte, r.blockSize)
	if err := decompressPage(page, cbuf, d.flags); err != nil {
		return nil, r.corrupt(d.offset, a, "page data (%d bytes, flags %#x): %v", d.size, d.flags, err)
	}
	return page, nil
}

func (r *Reader) readErr(err error, off int64, a uint64, what string, size int) error {
	var he *holeError
	switch {
	case errors.As(err, &he):
		return r.corrupt(off, a, "%s: %v", what, err)
	case err == nil || err == io.EOF || err == io.ErrUnexpectedEOF:
		return r.corrupt(off, a, "%s (%d bytes) past the end of the file (%#x bytes): truncated", what, size, r.src.Size())
	}
	return r.corrupt(off, a, "reading %s: %v", what, err)
}
