package diskdump

import (
	"bytes"
	"container/heap"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"sort"
)

// The flattened format (makedumpfile -F, and QEMU's dump-guest-memory
// kdump-* output before the "reassembled" option) is a 4096-byte
// makedumpfile_header {char signature[16] = "makedumpfile"; int64 type = 1;
// int64 version = 1}, all big-endian, then records {int64 offset; int64
// size; data[size]} that say "write data at offset of the real file", and an
// end marker record with offset = size = -1. makedumpfile -R replays the
// records in order with lseek+write; FlatFile indexes them instead.
const (
	flatHeaderSize = 4096
	flatSignature  = "makedumpfile"
	flatTypeFlat   = 1
	flatRecHdrSize = 16
)

// IsFlattened reports whether b (the first bytes of a file, at least 24)
// starts a makedumpfile flattened stream.
func IsFlattened(b []byte) bool {
	if len(b) < 24 {
		return false
	}
	sig := b[:16]
	if !bytes.HasPrefix(sig, []byte(flatSignature)) {
		return false
	}
	for _, c := range sig[len(flatSignature):] {
		if c != 0 {
			return false
		}
	}
	return binary.BigEndian.Uint64(b[16:24]) == flatTypeFlat
}

type flatRec struct {
	lo int64 // logical offset (in the rebuilt file)
	fo int64 // offset of the data in the stream file
	n  int64 // length
}

// FlatFile reads a makedumpfile flattened stream as the file makedumpfile -R
// would rebuild from it, without rewriting anything: the records are indexed
// once (sorted, overlaps resolved so that later records win, as a replay
// would), and each read is a binary search plus a ReadAt of the stream.
type FlatFile struct {
	r        io.ReaderAt
	fileSize int64
	recs     []flatRec // sorted by lo, disjoint
	size     int64     // logical size: end of the furthest record
	// holeLimit: logical gaps below it read as zeros (what the rebuilt file
	// holds there); gaps at or above it are an error.
	holeLimit int64
	// complete is set when the end marker was found; otherwise stop says
	// where and why indexing stopped.
	complete bool
	stop     string
	version  int64
}

// NewFlatReader indexes the flattened stream r (of size bytes). Gaps between
// records read as zeros, as in the rebuilt file. A stream cut short (no end
// marker) is accepted: the records before the cut are used, and Truncated
// says where the stream stopped.
func NewFlatReader(r io.ReaderAt, size int64) (*FlatFile, error) {
	f, err := indexFlat(r, size)
	if err != nil {
		return nil, err
	}
	f.holeLimit = f.size
	return f, nil
}

// Size is the size of the rebuilt file.
func (f *FlatFile) Size() int64 { return f.size }

// Truncated returns "" when the stream ended with its end marker, else a
// description of where the stream stops.
func (f *FlatFile) Truncated() string {
	if f.complete {
		return ""
	}
	return f.stop
}

// Records is the number of disjoint extents in the index.
func (f *FlatFile) Records() int { return len(f.recs) }

func indexFlat(r io.ReaderAt, fileSize int64) (*FlatFile, error) {
	var hdr [24]byte
	if n, _ := r.ReadAt(hdr[:], 0); n < len(hdr) || !IsFlattened(hdr[:]) {
		return nil, fmt.Errorf("not a makedumpfile flattened stream")
	}
	f := &FlatFile{r: r, fileSize: fileSize, version: int64(binary.BigEndian.Uint64(hdr[16:24]))}
	if fileSize < flatHeaderSize {
		return nil, fmt.Errorf("truncated: flattened stream header at offset 0 (%d bytes) runs past the end of the file (%#x bytes)", flatHeaderSize, fileSize)
	}
	var recs []flatRec
	pos := int64(flatHeaderSize)
	// Read record headers through a window so that small records (QEMU
	// writes 4 KiB bitmap pieces) do not cost one system call each.
	var win []byte
	var winOff int64
	const winSize = 64 << 10
	readHdr := func(at int64) ([]byte, error) {
		if at < winOff || at+flatRecHdrSize > winOff+int64(len(win)) {
			if win == nil {
				win = make([]byte, winSize)
			}
			win = win[:cap(win)]
			n, err := r.ReadAt(win, at)
			if n < flatRecHdrSize {
				if err == nil {
					err = io.ErrUnexpectedEOF
				}
				return nil, err
			}
			win = win[:n]
			winOff = at
		}
		return win[at-winOff : at-winOff+flatRecHdrSize], nil
	}
	for {
		if pos+flatRecHdrSize > fileSize {
			f.stop = fmt.Sprintf("flattened stream ends at file offset %#x without its end marker (truncated)", pos)
			break
		}
		h, err := readHdr(pos)
		if err != nil {
			f.stop = fmt.Sprintf("flattened stream unreadable at file offset %#x: %v", pos, err)
			break
		}
		off := int64(binary.BigEndian.Uint64(h[0:8]))
		n := int64(binary.BigEndian.Uint64(h[8:16]))
		if off == -1 && n == -1 {
			f.complete = true
			break
		}
		if off < 0 || n <= 0 || off > math.MaxInt64-n {
			f.stop = fmt.Sprintf("flattened stream has a bad record header at file offset %#x (offset %d, size %d)", pos, off, n)
			break
		}
		data := pos + flatRecHdrSize
		if avail := fileSize - data; n > avail {
			if avail > 0 {
				recs = append(recs, flatRec{lo: off, fo: data, n: avail})
			}
			f.stop = fmt.Sprintf("flattened stream truncated in the record at file offset %#x (%d of %d bytes present)", pos, max(avail, 0), n)
			break
		}
		recs = append(recs, flatRec{lo: off, fo: data, n: n})
		pos = data + n
	}
	if len(recs) == 0 {
		if f.stop == "" {
			f.stop = "flattened stream holds no data records"
		}
		return nil, fmt.Errorf("%s", f.stop)
	}
	f.recs = normalizeFlat(recs)
	for _, rc := range f.recs {
		f.size = max(f.size, rc.lo+rc.n)
	}
	return f, nil
}

// normalizeFlat sorts records (given in stream order) by logical offset and
// resolves overlaps so that the later record wins, as replaying them does
// (makedumpfile rewrites the sub header when it appends erase info).
func normalizeFlat(recs []flatRec) []flatRec {
	sorted := true
	for i := 1; i < len(recs); i++ {
		if recs[i].lo < recs[i-1].lo+recs[i-1].n {
			sorted = false
			break
		}
	}
	if sorted {
		return mergeFlat(recs)
	}
	order := make([]int32, len(recs))
	for i := range order {
		order[i] = int32(i)
	}
	sort.SliceStable(order, func(a, b int) bool { return recs[order[a]].lo < recs[order[b]].lo })
	overlap := false
	for i := 1; i < len(order); i++ {
		p, c := recs[order[i-1]], recs[order[i]]
		if c.lo < p.lo+p.n {
			overlap = true
			break
		}
	}
	if !overlap {
		out := make([]flatRec, len(recs))
		for i, k := range order {
			out[i] = recs[k]
		}
		return mergeFlat(out)
	}
	// Sweep the elementary intervals between all boundaries, keeping the
	// covering records in a heap ordered by stream position (latest first).
	bounds := make([]int64, 0, 2*len(recs))
	for _, r := range recs {
		bounds = append(bounds, r.lo, r.lo+r.n)
	}
	sort.Slice(bounds, func(a, b int) bool { return bounds[a] < bounds[b] })
	uniq := bounds[:1]
	for _, b := range bounds[1:] {
		if b != uniq[len(uniq)-1] {
			uniq = append(uniq, b)
		}
	}
	h := &seqHeap{recs: recs}
	var out []flatRec
	j := 0
	for i := 0; i+1 < len(uniq); i++ {
		x := uniq[i]
		for j < len(order) && recs[order[j]].lo <= x {
			heap.Push(h, order[j])
			j++
		}
		for h.Len() > 0 && recs[h.idx[0]].lo+recs[h.idx[0]].n <= x {
			heap.Pop(h)
		}
		if h.Len() == 0 {
			continue
		}
		t := recs[h.idx[0]]
		out = append(out, flatRec{lo: x, fo: t.fo + (x - t.lo), n: uniq[i+1] - x})
	}
	return mergeFlat(out)
}

// mergeFlat joins neighbours that are contiguous both logically and in the
// stream (only possible after overlap resolution split a record).
func mergeFlat(recs []flatRec) []flatRec {
	if len(recs) == 0 {
		return recs
	}
	out := recs[:1]
	for _, r := range recs[1:] {
		p := &out[len(out)-1]
		if p.lo+p.n == r.lo && p.fo+p.n == r.fo {
			p.n += r.n
			continue
		}
		out = append(out, r)
	}
	return out
}

type seqHeap struct {
	recs []flatRec
	idx  []int32
}

func (h *seqHeap) Len() int           { return len(h.idx) }
func (h *seqHeap) Less(a, b int) bool { return h.idx[a] > h.idx[b] }
func (h *seqHeap) Swap(a, b int)      { h.idx[a], h.idx[b] = h.idx[b], h.idx[a] }
func (h *seqHeap) Push(x any)         { h.idx = append(h.idx, x.(int32)) }
func (h *seqHeap) Pop() any {
	x := h.idx[len(h.idx)-1]
	h.idx = h.idx[:len(h.idx)-1]
	return x
}

// find returns the index of the record holding logical offset off, or -1 and
// the index of the first record after off.
func (f *FlatFile) find(off int64) (int, int) {
	i := sort.Search(len(f.recs), func(i int) bool { return f.recs[i].lo > off }) - 1
	if i >= 0 && off < f.recs[i].lo+f.recs[i].n {
		return i, i + 1
	}
	return -1, i + 1
}

// FileOffset maps a logical offset to the stream file offset holding it, or
// -1 when no record holds it.
func (f *FlatFile) FileOffset(off int64) int64 {
	if i, _ := f.find(off); i >= 0 {
		return f.recs[i].fo + off - f.recs[i].lo
	}
	return -1
}

// ReadAt reads the rebuilt file's bytes at logical offset off.
func (f *FlatFile) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("negative offset %d", off)
	}
	n := 0
	for n < len(p) {
		cur := off + int64(n)
		if cur >= f.size {
			if n == 0 {
				return 0, io.EOF
			}
			return n, io.ErrUnexpectedEOF
		}
		i, next := f.find(cur)
		if i >= 0 {
			r := f.recs[i]
			k := min(int64(len(p)-n), r.lo+r.n-cur)
			m, err := f.r.ReadAt(p[n:n+int(k)], r.fo+cur-r.lo)
			n += m
			if int64(m) < k {
				if err == nil || err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				return n, err
			}
			continue
		}
		if cur >= f.holeLimit {
			return n, &holeError{off: cur}
		}
		end := f.size
		if next < len(f.recs) {
			end = f.recs[next].lo
		}
		end = min(end, f.holeLimit)
		k := min(int64(len(p)-n), end-cur)
		clear(p[n : n+int(k)])
		n += int(k)
	}
	return n, nil
}
