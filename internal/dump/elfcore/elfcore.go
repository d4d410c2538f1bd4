// Package elfcore reads ELF64 x86-64 core files that hold a kernel's
// physical memory:
//
//   - copies of /proc/vmcore (kexec/kdump): PT_LOADs carry kernel virtual
//     and physical addresses; one PT_NOTE holds a "CORE" NT_PRSTATUS note per
//     CPU and a "VMCOREINFO" note;
//   - makedumpfile -E output (filtered ELF): makedumpfile splits each
//     original PT_LOAD wherever 256 or more consecutive pages were excluded
//     (PFN_EXCLUDED). The excluded run is the tail of the preceding PT_LOAD:
//     its p_memsz covers it, its p_filesz stops before it (p_offset is 0 when
//     a PT_LOAD has no data at all). Shorter excluded runs are written out
//     with their real contents and cannot be told apart. With more than
//     65534 program headers e_phnum is PN_XNUM and section header 0's
//     sh_info holds the count. An ENOSPC-truncated dump has e_flags bit 0
//     (DUMP_ELF_INCOMPLETE) set and zeroed (PT_NULL) headers after the last
//     one written;
//   - QEMU dump-guest-memory ELF (paging:false): physical addresses only
//     (p_vaddr 0, or equal to p_paddr in newer QEMU), "CORE" NT_PRSTATUS
//     notes for every CPU, then a "QEMU" note (QEMUCPUState) for every CPU,
//     then the guest's own "VMCOREINFO" note, copied verbatim from guest
//     memory, only when QEMU ran with -device vmcoreinfo and the guest's
//     fw_cfg driver published it (etc/vmcoreinfo);
//   - live /proc/kcore: PT_LOADs by kernel virtual address, p_paddr set for
//     direct-map (KCORE_RAM) and kernel-text entries and -1 for the rest;
//     file offsets far past any real size (the file claims 128 TiB), so
//     nothing is checked against the file size and nothing is cached.
//
// Reads of the byte range p_filesz..p_memsz of a PT_LOAD fail with
// *dump.ExcludedError (zeros with Options.ZeroExcluded); crash silently
// zero-fills that range instead.
package elfcore

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync/atomic"

	"kdive/internal/dump"
	"kdive/internal/dump/elfnote"
)

// Core is an opened ELF core dump. It implements dump.Dump.
type Core struct {
	r      io.ReaderAt
	closer io.Closer
	path   string
	// size is the file size reads are checked against, -1 for none (kcore).
	size       int64
	zero       bool
	incomplete bool
	kcore      bool
	info       dump.Info
	phys       []extent // sorted, disjoint
	warnings   []string
	closed     atomic.Bool
}

// extent is a disjoint range of physical addresses and where its bytes are.
type extent struct {
	start, end uint64 // [start, end)
	off        uint64 // file offset of start (data extents)
	excluded   bool   // covered by p_memsz but not p_filesz
}

var _ dump.Dump = (*Core)(nil)

// Open opens the ELF core dump at path. It returns an error wrapping
// dump.ErrNotDump when the file is not an ELF64 little-endian x86-64
// ET_CORE file.
func Open(path string, opts dump.Options) (dump.Dump, error) {
	c, err := OpenCore(path, opts)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// OpenCore is Open returning the concrete type.
func OpenCore(path string, opts dump.Options) (*Core, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if fi.IsDir() {
		f.Close()
		return nil, fmt.Errorf("%s: is a directory: %w", path, dump.ErrNotDump)
	}
	size := fi.Size()
	if !fi.Mode().IsRegular() || size <= 0 {
		size = -1 // procfs and devices: sizes mean nothing; rely on short reads
	}
	isKcore := isProcKcore(path)
	c, err := newCore(f, size, path, opts, isKcore)
	if err != nil {
		f.Close()
		return nil, err
	}
	c.closer = f
	return c, nil
}

// Source is where NewReader finds an ELF core's bytes.
type Source struct {
	R io.ReaderAt
	// Size is the file size reads are checked against; -1 when unknown.
	Size int64
	// Closer, if set, is closed by Close.
	Closer io.Closer
	// Flattened marks a core read out of a makedumpfile -F stream
	// (Info.Flattened).
	Flattened bool
}

// NewReader opens the ELF core held by src; name is used in messages and
// as Info.Path.
func NewReader(name string, src Source, opts dump.Options) (*Core, error) {
	size := src.Size
	if size < 0 {
		size = -1
	}
	c, err := newCore(src.R, size, name, opts, false)
	if err != nil {
		return nil, err
	}
	c.closer = src.Closer
	c.info.Flattened = src.Flattened
	return c, nil
}

func isProcKcore(path string) bool {
	if p, err := filepath.EvalSymlinks(path); err == nil {
		path = p
	}
	if p, err := filepath.Abs(path); err == nil {
		path = p
	}
	return path == "/proc/kcore"
}

// newCore parses the headers of the ELF core readable through r. size is the
// file size (-1 when unknown); path is used in messages only.
func newCore(r io.ReaderAt, size int64, path string, opts dump.Options, isKcore bool) (*Core, error) {
	c := &Core{r: r, path: path, size: size, zero: opts.ZeroExcluded}

	var hb [ehdrSize]byte
	n, err := r.ReadAt(hb[:], 0)
	if n < 4 || !hasELFMagic(hb[:n]) {
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return nil, fmt.Errorf("%s: no ELF magic: %w", path, dump.ErrNotDump)
	}
	if n < ehdrSize {
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return nil, c.corrupt(int64(n), 0, "file ends inside the ELF header (truncated dump?)")
	}
	h := parseEhdr(hb[:])
	switch {
	case h.class != elfClass64:
		return nil, fmt.Errorf("%s: 32-bit ELF (class %d), only ELF64 x86-64 cores are supported: %w", path, h.class, dump.ErrNotDump)
	case h.data != elfDataLSB:
		return nil, fmt.Errorf("%s: big-endian ELF, only x86-64 cores are supported: %w", path, dump.ErrNotDump)
	case h.typ != etCore:
		return nil, fmt.Errorf("%s: ELF %s file, not a core (ET_CORE): %w", path, typeName(h.typ), dump.ErrNotDump)
	case h.machine != emX86_64:
		return nil, fmt.Errorf("%s: ELF core for machine %d, only x86-64 (62) is supported: %w", path, h.machine, dump.ErrNotDump)
	}
	c.incomplete = h.flags&dumpELFIncomplete != 0

	phnum := uint64(h.phnum)
	if h.phnum == pnXNum {
		// Extended numbering: the count is in section header 0's sh_info.
		if h.shoff == 0 || h.shentsize < shdrSize {
			return nil, c.corrupt(40, 0, fmt.Sprintf("e_phnum is PN_XNUM but e_shoff %#x / e_shentsize %d give no section header 0", h.shoff, h.shentsize))
		}
		sh, err := c.readFull(h.shoff, shdrSize, "section header 0")
		if err != nil {
			return nil, err
		}
		phnum = uint64(uint32(sh[44]) | uint32(sh[45])<<8 | uint32(sh[46])<<16 | uint32(sh[47])<<24)
	}
	if phnum == 0 {
		return nil, c.corrupt(56, 0, "ELF core has no program headers")
	}
	if h.phentsize != phdrSize {
		return nil, c.corrupt(54, 0, fmt.Sprintf("e_phentsize is %d, want %d", h.phentsize, phdrSize))
	}
	if h.phoff < ehdrSize {
		return nil, c.corrupt(32, 0, fmt.Sprintf("e_phoff %#x points into the ELF header", h.phoff))
	}
	if phnum > maxPhnum {
		return nil, c.corrupt(56, 0, fmt.Sprintf("%d program headers, more than the %d supported", phnum, maxPhnum))
	}
	phs, err := c.readPhdrs(h.phoff, phnum)
	if err != nil {
		return nil, err
	}

	// Notes.
	var notes []elfnote.Note
	var noteTotal uint64
	for i, ph := range phs {
		if ph.typ != ptNote || ph.filesz == 0 {
			continue
		}
		noteTotal += ph.filesz
		if ph.filesz > maxNoteBytes || noteTotal > maxNoteBytes {
			return nil, c.corrupt(int64(h.phoff)+int64(i)*phdrSize, 0, fmt.Sprintf("PT_NOTE segments total more than %d bytes", maxNoteBytes))
		}
		buf, err := c.readFull(ph.offset, ph.filesz, "the PT_NOTE segment")
		if err != nil {
			return nil, err
		}
		ns, perr := elfnote.Parse(buf)
		notes = append(notes, ns...)
		if perr != nil {
			c.warn(fmt.Sprintf("%s: PT_NOTE at file offset %#x: %v", path, ph.offset, perr))
		}
	}

	// Classify notes.
	var hasTask, hasPRPS, diskdumpPartial bool
	for _, n := range notes {
		switch {
		case n.Name == "CORE" && n.Type == ntPRStatus:
			c.info.PRStatus = append(c.info.PRStatus, n.Desc)
		case n.Name == "CORE" && n.Type == ntPRPSInfo:
			hasPRPS = true
		case n.Name == "CORE" && n.Type == ntTaskStrct:
			hasTask = true
		case n.Name == "QEMU":
			c.info.QEMUCPUState = append(c.info.QEMUCPUState, n.Desc)
		case n.Name == "VMCOREINFO":
			if c.info.VMCOREINFO == nil {
				c.info.VMCOREINFO = n.Desc
			}
		case n.Type == ntDiskdump:
			if len(n.Desc) >= 4 && (n.Desc[0]|n.Desc[1]|n.Desc[2]|n.Desc[3]) != 0 {
				diskdumpPartial = true
			}
		}
	}

	// Is this live /proc/kcore?
	var loads []phdr
	noPaddr := false
	for _, ph := range phs {
		if ph.typ == ptLoad {
			loads = append(loads, ph)
			if ph.paddr == math.MaxUint64 {
				noPaddr = true
			}
		}
	}
	c.kcore = isKcore || noPaddr || (hasTask && hasPRPS)
	c.info.Path = path
	c.info.Format = "ELF"
	c.info.PageSize = 4096
	if c.kcore {
		c.info.Format = "kcore"
		c.size = -1
		// kcore's lone NT_PRSTATUS is a zeroed placeholder, not a CPU.
		c.info.PRStatus = nil
	}
	c.info.NrCPUs = len(c.info.PRStatus)

	if err := c.buildExtents(h.phoff, phs); err != nil {
		return nil, err
	}

	physOnly := len(c.info.QEMUCPUState) > 0
	for _, ph := range loads {
		if ph.vaddr != 0 && ph.vaddr != ph.paddr {
			physOnly = false
		}
	}
	c.info.Segments = make([]dump.Segment, 0, len(loads))
	for _, ph := range loads {
		s := dump.Segment{VAddr: ph.vaddr, PAddr: ph.paddr, MemSize: ph.memsz, FileSize: ph.filesz, Offset: ph.offset}
		if physOnly {
			s.VAddr = 0
		}
		c.info.Segments = append(c.info.Segments, s)
	}
	if n := len(c.phys); n > 0 {
		end := c.phys[n-1].end
		c.info.MaxPFN = end / 4096
		if end%4096 != 0 {
			c.info.MaxPFN++
		}
	}
	if !c.kcore {
		for _, ph := range loads {
			if ph.filesz < ph.memsz {
				c.info.Partial = true
				break
			}
		}
	}
	c.info.Partial = c.info.Partial || diskdumpPartial
	if c.incomplete {
		c.warn(fmt.Sprintf("%s: dump is incomplete (e_flags DUMP_ELF_INCOMPLETE: makedumpfile ran out of space); memory past the last written segment is missing", path))
	}
	return c, nil
}

// readPhdrs reads phnum program headers at off, in chunks so that a lying
// e_phnum on a file of unknown size allocates only what is really there.
func (c *Core) readPhdrs(off, phnum uint64) ([]phdr, error) {
	total := phnum * phdrSize // phnum <= maxPhnum: no overflow
	if off > math.MaxInt64-total {
		return nil, c.corrupt(32, 0, fmt.Sprintf("program header offset %#x is out of range", off))
	}
	if c.size >= 0 && off+total > uint64(c.size) {
		return nil, c.corrupt(int64(min(off, uint64(c.size))), 0,
			fmt.Sprintf("file ends inside the program headers (%d headers at offset %#x need %d bytes, file has %d; truncated dump?)", phnum, off, total, c.size))
	}
	const chunk = 4096
	phs := make([]phdr, 0, min(phnum, chunk))
	buf := make([]byte, min(phnum, chunk)*phdrSize)
	for done := uint64(0); done < phnum; {
		k := min(phnum-done, chunk)
		b := buf[:k*phdrSize]
		at := off + done*phdrSize
		n, err := c.r.ReadAt(b, int64(at))
		if n < len(b) {
			if err != nil && !errors.Is(err, io.EOF) {
				return nil, fmt.Errorf("%s: reading program headers at offset %#x: %w", c.path, at, err)
			}
			return nil, c.corrupt(int64(at)+int64(n), 0, "file ends inside the program headers (truncated dump?)")
		}
		for i := uint64(0); i < k; i++ {
			phs = append(phs, parsePhdr(b[i*phdrSize:]))
		}
		done += k
	}
	return phs, nil
}

// readFull reads n bytes at off (n is already bounded by the caller).
func (c *Core) readFull(off, n uint64, what string) ([]byte, error) {
	if off > math.MaxInt64-n {
		return nil, c.corrupt(-1, 0, fmt.Sprintf("%s: offset %#x size %#x out of range", what, off, n))
	}
	if c.size >= 0 && off+n > uint64(c.size) {
		return nil, c.corrupt(int64(min(off, uint64(c.size))), 0,
			fmt.Sprintf("file ends inside %s (%d bytes at offset %#x, file has %d; truncated dump?)", what, n, off, c.size))
	}
	// With no size to check against, grow the buffer as data really
	// arrives so that a lying header cannot make us allocate much.
	const step = 1 << 20
	b := make([]byte, 0, min(n, step))
	for uint64(len(b)) < n {
		k := min(n-uint64(len(b)), step)
		b = slices.Grow(b, int(k))
		at := off + uint64(len(b))
		got, err := c.r.ReadAt(b[len(b):len(b)+int(k)], int64(at))
		b = b[:len(b)+got]
		if uint64(got) < k {
			if err != nil && !errors.Is(err, io.EOF) {
				return nil, fmt.Errorf("%s: reading %s at offset %#x: %w", c.path, what, at+uint64(got), err)
			}
			return nil, c.corrupt(int64(at)+int64(got), 0, fmt.Sprintf("file ends inside %s (truncated dump?)", what))
		}
	}
	return b, nil
}

// buildExtents turns the PT_LOADs into a sorted, disjoint list of physical
// ranges. Overlaps are normal (a vmcore's kernel-text PT_LOAD lies inside a
// RAM PT_LOAD; kcore has text and direct map): file-backed bytes win over
// excluded ones, and among file-backed ones the lower start address (then
// the earlier header) wins; overlapping copies hold the same memory.
func (c *Core) buildExtents(phoff uint64, phs []phdr) error {
	var data, excl []extent
	for i, ph := range phs {
		if ph.typ != ptLoad || ph.memsz == 0 {
			continue
		}
		at := int64(phoff) + int64(i)*phdrSize
		if c.kcore && ph.paddr == math.MaxUint64 {
			continue // vmalloc, modules, vmemmap...: no physical address
		}
		if ph.filesz > ph.memsz {
			if c.kcore {
				continue
			}
			return c.corrupt(at, 0, fmt.Sprintf("PT_LOAD %d: p_filesz %#x exceeds p_memsz %#x", i, ph.filesz, ph.memsz))
		}
		if ph.paddr > math.MaxUint64-ph.memsz {
			if c.kcore {
				continue
			}
			return c.corrupt(at, 0, fmt.Sprintf("PT_LOAD %d: p_paddr %#x + p_memsz %#x overflows", i, ph.paddr, ph.memsz))
		}
		if ph.filesz > 0 {
			if ph.offset > math.MaxInt64-ph.filesz {
				if c.kcore {
					continue
				}
				return c.corrupt(at, 0, fmt.Sprintf("PT_LOAD %d: p_offset %#x + p_filesz %#x is out of range", i, ph.offset, ph.filesz))
			}
			if c.size >= 0 && ph.offset+ph.filesz > uint64(c.size) {
				c.warn(fmt.Sprintf("%s: may be truncated: PT_LOAD %d at file offset %#x needs %d bytes up to %#x, file has %d",
					c.path, i, ph.offset, ph.filesz, ph.offset+ph.filesz, c.size))
			}
			data = append(data, extent{start: ph.paddr, end: ph.paddr + ph.filesz, off: ph.offset})
		}
		if ph.filesz < ph.memsz {
			excl = append(excl, extent{start: ph.paddr + ph.filesz, end: ph.paddr + ph.memsz, excluded: true})
		}
	}
	data = disjoint(data)
	excl = subtract(disjoint(excl), data)
	all := append(data, excl...)
	slices.SortFunc(all, func(a, b extent) int { return cmp.Compare(a.start, b.start) })
	c.phys = coalesce(all)
	return nil
}

// disjoint sorts ranges by start and trims each to the part no earlier
// range covers.
func disjoint(in []extent) []extent {
	slices.SortStableFunc(in, func(a, b extent) int { return cmp.Compare(a.start, b.start) })
	out := in[:0]
	var covered uint64
	have := false
	for _, e := range in {
		if have && e.end <= covered {
			continue
		}
		if have && e.start < covered {
			if !e.excluded {
				e.off += covered - e.start
			}
			e.start = covered
		}
		out = append(out, e)
		covered, have = e.end, true
	}
	return out
}

// subtract removes from a (sorted, disjoint) every range in b (likewise).
func subtract(a, b []extent) []extent {
	var out []extent
	j := 0
	for _, e := range a {
		for j < len(b) && b[j].end <= e.start {
			j++
		}
		cur := e.start
		for k := j; k < len(b) && b[k].start < e.end; k++ {
			if b[k].start > cur {
				out = append(out, extent{start: cur, end: b[k].start, excluded: true})
			}
			if b[k].end > cur {
				cur = b[k].end
			}
		}
		if cur < e.end {
			out = append(out, extent{start: cur, end: e.end, excluded: true})
		}
	}
	return out
}

// coalesce merges neighbours that continue each other.
func coalesce(in []extent) []extent {
	out := in[:0]
	for _, e := range in {
		if n := len(out); n > 0 {
			p := &out[n-1]
			if p.end == e.start && p.excluded == e.excluded && (e.excluded || p.off+(p.end-p.start) == e.off) {
				p.end = e.end
				continue
			}
		}
		out = append(out, e)
	}
	return out
}

func (c *Core) corrupt(off int64, addr uint64, msg string) error {
	return &dump.CorruptError{Path: c.path, Offset: off, Addr: addr, Msg: msg}
}

func (c *Core) warn(s string) {
	if len(c.warnings) < 16 {
		c.warnings = append(c.warnings, s)
	}
}

// Warnings lists what Open noticed but did not reject: a file shorter than
// its PT_LOADs say (truncated), makedumpfile's incomplete flag, malformed
// notes. Each is one line naming the file.
func (c *Core) Warnings() []string { return c.warnings }

// Info implements dump.Dump.
func (c *Core) Info() *dump.Info { return &c.info }

// Close implements dump.Dump.
func (c *Core) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	if c.closer != nil {
		return c.closer.Close()
	}
	return nil
}

// ReadPhysAt implements dump.Dump. It is safe for concurrent use.
func (c *Core) ReadPhysAt(p []byte, addr uint64) (int, error) {
	if c.closed.Load() {
		return 0, fmt.Errorf("%s: %w", c.path, os.ErrClosed)
	}
	n := 0
	for n < len(p) {
		cur := addr + uint64(n)
		if cur < addr { // ran past the top of the address space
			return n, &dump.NotPresentError{Addr: cur}
		}
		i := sort.Search(len(c.phys), func(i int) bool { return c.phys[i].end > cur })
		if i == len(c.phys) || c.phys[i].start > cur {
			return n, &dump.NotPresentError{Addr: cur}
		}
		e := &c.phys[i]
		chunk := uint64(len(p) - n)
		if rem := e.end - cur; rem < chunk {
			chunk = rem
		}
		if e.excluded {
			if !c.zero {
				return n, &dump.ExcludedError{Addr: cur}
			}
			clear(p[n : n+int(chunk)])
			n += int(chunk)
			continue
		}
		m, err := c.readData(p[n:n+int(chunk)], e.off+(cur-e.start), cur)
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// readData reads b at file offset off, which backs physical address addr.
func (c *Core) readData(b []byte, off, addr uint64) (int, error) {
	want := uint64(len(b))
	if off > math.MaxInt64-want {
		return 0, c.corrupt(-1, addr, fmt.Sprintf("file offset %#x out of range", off))
	}
	avail := want
	if c.size >= 0 {
		if off >= uint64(c.size) {
			avail = 0
		} else if off+want > uint64(c.size) {
			avail = uint64(c.size) - off
		}
	}
	n := 0
	if avail > 0 {
		var err error
		n, err = c.r.ReadAt(b[:avail], int64(off))
		if n < int(avail) && err != nil && !errors.Is(err, io.EOF) {
			return n, fmt.Errorf("%s: reading file offset %#x (physical address %#x): %w", c.path, off+uint64(n), addr+uint64(n), err)
		}
	}
	if uint64(n) < want {
		msg := "dump data missing: file ends here (truncated dump?)"
		if c.incomplete {
			msg = "dump data missing: file ends here (dump marked incomplete by makedumpfile)"
		}
		return n, c.corrupt(int64(off)+int64(n), addr+uint64(n), msg)
	}
	return n, nil
}
