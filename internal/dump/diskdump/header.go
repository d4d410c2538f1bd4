package diskdump

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"strings"
)

// The kdump-compressed layout (makedumpfile's diskdump_mod.h, QEMU's
// include/sysemu/dump.h), all in the dumped machine's byte order:
//
//	block 0                 struct disk_dump_header
//	block 1                 struct kdump_sub_header, then the ELF note area
//	block 1+sub_hdr_size    1st bitmap (valid RAM), 2nd bitmap (dumpable),
//	                        each bitmap_blocks*block_size/2 bytes
//	block 1+sub+bitmap      struct page_desc for each dumpable pfn, in order
//	...                     page data
//
// struct disk_dump_header (64-bit layout; the 32-bit one differs only in
// struct timeval being 8 bytes at 404 instead of 16 at 408):
//
//	0   char signature[8] "KDUMP   "
//	8   int header_version
//	12  struct new_utsname (6 x char[65])
//	408 struct timeval timestamp
//	424 unsigned status; int block_size; int sub_hdr_size;
//	    unsigned bitmap_blocks, max_mapnr, total_ram_blocks,
//	    device_blocks, written_blocks, current_cpu; int nr_cpus
//	464 end
const (
	kdumpSignature    = "KDUMP   "
	diskdumpSignature = "DISKDUMP"
	utsFieldLen       = 65
	utsOff            = 12
	hdrSize64         = 464
	hdrSize32         = 452
	hdrTail64         = 424 // status
	hdrTail32         = 412
	maxHeaderVersion  = 64
	minBlockSize      = 512
	maxBlockSize      = 64 << 10
	pageDescSize      = 24
)

// status and page_desc.flags bits.
const (
	flagZlib       = 0x1
	flagLZO        = 0x2
	flagSnappy     = 0x4
	flagIncomplete = 0x8
	flagExclVMEMap = 0x10
	flagZstd       = 0x20
	flagCompressed = flagZlib | flagLZO | flagSnappy | flagZstd
)

type header struct {
	order   binary.ByteOrder
	is32    bool // 32-bit machine layout
	version int32
	// sysname, nodename, release, version, machine, domainname
	uts                                                 [6]string
	tvSec, tvUsec                                       int64
	status                                              uint32
	blockSize                                           int32
	subHdrSize                                          int32
	bitmapBlocks                                        uint32
	maxMapnr                                            uint32
	totalRAMBlocks, deviceBlocks, writtenBlocks, curCPU uint32
	nrCPUs                                              int32
}

// subHeader is struct kdump_sub_header, widened to 64 bits.
type subHeader struct {
	layout                        string // "64", "32", "32-aligned"
	physBase                      uint64
	dumpLevel                     int32
	split                         int32
	startPFN, endPFN              uint64
	offVMCOREINFO, sizeVMCOREINFO uint64
	offNote, sizeNote             uint64
	offEraseInfo, sizeEraseInfo   uint64
	startPFN64, endPFN64          uint64
	maxMapnr64                    uint64
}

// field is the offset and width (4 or 8) of a sub header member.
type field struct{ off, size int }

type subLayout struct {
	name                                 string
	size                                 int
	physBase, dumpLevel, split           field
	startPFN, endPFN                     field
	offVMCI, sizeVMCI, offNote, sizeNote field
	offErase, sizeErase                  field
	startPFN64, endPFN64, maxMapnr64     field
}

var (
	// 64-bit machines: unsigned long and off_t are 8 bytes.
	subLayout64 = subLayout{"64", 104,
		field{0, 8}, field{8, 4}, field{12, 4}, field{16, 8}, field{24, 8},
		field{32, 8}, field{40, 8}, field{48, 8}, field{56, 8},
		field{64, 8}, field{72, 8}, field{80, 8}, field{88, 8}, field{96, 8}}
	// 32-bit, 64-bit members 4-byte aligned (i386 makedumpfile, and QEMU's
	// packed KdumpSubHeader32 for every 32-bit guest).
	subLayout32 = subLayout{"32", 80,
		field{0, 4}, field{4, 4}, field{8, 4}, field{12, 4}, field{16, 4},
		field{20, 8}, field{28, 4}, field{32, 8}, field{40, 4},
		field{44, 8}, field{52, 4}, field{56, 8}, field{64, 8}, field{72, 8}}
	// 32-bit, 64-bit members 8-byte aligned (makedumpfile built on ARM, MIPS).
	subLayout32Aligned = subLayout{"32-aligned", 96,
		field{0, 4}, field{4, 4}, field{8, 4}, field{12, 4}, field{16, 4},
		field{24, 8}, field{32, 4}, field{40, 8}, field{48, 4},
		field{56, 8}, field{64, 4}, field{72, 8}, field{80, 8}, field{88, 8}}
)

const maxSubHeaderSize = 104

var errNotKdump = errors.New("no KDUMP signature")

// cstr returns b up to its first NUL.
func cstr(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// machineBits guesses the word size from utsname.machine: 64, 32, or 0.
func machineBits(m string) int {
	switch {
	case m == "":
		return 0
	case strings.Contains(m, "64"), m == "s390x", m == "alpha":
		return 64
	case len(m) == 4 && m[0] == 'i' && strings.HasSuffix(m, "86"),
		strings.HasPrefix(m, "arm"), m == "ppc", m == "ppcle", m == "mips", m == "mipsel",
		m == "s390", strings.HasPrefix(m, "riscv32"), strings.HasPrefix(m, "sh"),
		m == "parisc", m == "m68k", m == "microblaze", m == "or1k", m == "xtensa", m == "sparc":
		return 32
	}
	return 0
}

// parseHeader decodes struct disk_dump_header from b (the file's first
// bytes; at least hdrSize32, ideally hdrSize64). It finds the byte order and
// the 32/64-bit layout by plausibility: a small header_version and a
// power-of-two block_size between 512 and 64 KiB.
func parseHeader(b []byte) (*header, error) {
	if len(b) < 8 || string(b[:8]) != kdumpSignature {
		return nil, errNotKdump
	}
	if len(b) < hdrSize32 {
		return nil, fmt.Errorf("header truncated: %d bytes, need %d", len(b), hdrSize32)
	}
	machine := cstr(b[utsOff+4*utsFieldLen : utsOff+5*utsFieldLen])
	layouts := []bool{false, true} // is32
	if machineBits(machine) == 32 {
		layouts = []bool{true, false}
	}
	var firstErr error
	for _, is32 := range layouts {
		for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
			h, err := decodeHeader(b, order, is32)
			if err == nil {
				return h, nil
			}
			if firstErr == nil {
				firstErr = err
			}
		}
	}
	return nil, firstErr
}

func decodeHeader(b []byte, order binary.ByteOrder, is32 bool) (*header, error) {
	h := &header{order: order, is32: is32}
	tail := hdrTail64
	size := hdrSize64
	if is32 {
		tail, size = hdrTail32, hdrSize32
	}
	if len(b) < size {
		return nil, fmt.Errorf("header truncated: %d bytes, need %d", len(b), size)
	}
	h.version = int32(order.Uint32(b[8:]))
	for i := range h.uts {
		h.uts[i] = cstr(b[utsOff+i*utsFieldLen : utsOff+(i+1)*utsFieldLen])
	}
	if is32 {
		h.tvSec = int64(int32(order.Uint32(b[404:])))
		h.tvUsec = int64(int32(order.Uint32(b[408:])))
	} else {
		h.tvSec = int64(order.Uint64(b[408:]))
		h.tvUsec = int64(order.Uint64(b[416:]))
	}
	u := func(i int) uint32 { return order.Uint32(b[tail+4*i:]) }
	h.status = u(0)
	h.blockSize = int32(u(1))
	h.subHdrSize = int32(u(2))
	h.bitmapBlocks = u(3)
	h.maxMapnr = u(4)
	h.totalRAMBlocks = u(5)
	h.deviceBlocks = u(6)
	h.writtenBlocks = u(7)
	h.curCPU = u(8)
	h.nrCPUs = int32(u(9))

	if h.version < 0 || h.version > maxHeaderVersion {
		return nil, fmt.Errorf("implausible header_version %d", h.version)
	}
	bs := h.blockSize
	if bs < minBlockSize || bs > maxBlockSize || bits.OnesCount32(uint32(bs)) != 1 {
		return nil, fmt.Errorf("implausible block_size %d (want a power of two from %d to %d)", bs, minBlockSize, maxBlockSize)
	}
	if h.subHdrSize < 0 {
		return nil, fmt.Errorf("negative sub_hdr_size %d", h.subHdrSize)
	}
	if h.bitmapBlocks == 0 {
		return nil, fmt.Errorf("bitmap_blocks is 0")
	}
	return h, nil
}

// blockShift is log2(block_size).
func (h *header) blockShift() uint { return uint(bits.TrailingZeros32(uint32(h.blockSize))) }

func getField(b []byte, order binary.ByteOrder, f field) uint64 {
	if f.off+f.size > len(b) {
		return 0
	}
	if f.size == 4 {
		return uint64(order.Uint32(b[f.off:]))
	}
	return order.Uint64(b[f.off:])
}

func decodeSub(b []byte, order binary.ByteOrder, l *subLayout, version int32) *subHeader {
	g := func(f field) uint64 { return getField(b, order, f) }
	s := &subHeader{layout: l.name}
	s.physBase = g(l.physBase)
	if version >= 1 {
		s.dumpLevel = int32(g(l.dumpLevel))
	}
	if version >= 2 {
		s.split = int32(g(l.split))
		s.startPFN = g(l.startPFN)
		s.endPFN = g(l.endPFN)
	}
	if version >= 3 {
		s.offVMCOREINFO = g(l.offVMCI)
		s.sizeVMCOREINFO = g(l.sizeVMCI)
	}
	if version >= 4 {
		s.offNote = g(l.offNote)
		s.sizeNote = g(l.sizeNote)
	}
	if version >= 5 {
		s.offEraseInfo = g(l.offErase)
		s.sizeEraseInfo = g(l.sizeErase)
	}
	if version >= 6 {
		s.startPFN64 = g(l.startPFN64)
		s.endPFN64 = g(l.endPFN64)
		s.maxMapnr64 = g(l.maxMapnr64)
	} else {
		s.startPFN64, s.endPFN64 = s.startPFN, s.endPFN
	}
	return s
}

// parseSub decodes the sub header (b: the bytes at offset block_size, up to
// maxSubHeaderSize). For 32-bit dumps it picks between the packed and the
// 8-byte-aligned layout by which one puts the note area right after itself,
// where makedumpfile and QEMU both write it.
func parseSub(b []byte, h *header) *subHeader {
	if !h.is32 {
		return decodeSub(b, h.order, &subLayout64, h.version)
	}
	cands := []*subLayout{&subLayout32, &subLayout32Aligned}
	if m := h.uts[4]; strings.HasPrefix(m, "arm") || m == "mips" || m == "mipsel" {
		cands = []*subLayout{&subLayout32Aligned, &subLayout32}
	}
	for _, l := range cands {
		s := decodeSub(b, h.order, l, h.version)
		if h.version >= 4 && s.offNote == uint64(h.blockSize)+uint64(l.size) {
			return s
		}
	}
	for _, l := range cands {
		s := decodeSub(b, h.order, l, h.version)
		if h.version >= 6 && s.maxMapnr64 != 0 && (s.maxMapnr64 == uint64(h.maxMapnr) ||
			(h.maxMapnr == ^uint32(0) && s.maxMapnr64 > uint64(h.maxMapnr))) {
			return s
		}
	}
	return decodeSub(b, h.order, cands[0], h.version)
}

// pageDesc is struct page_desc: {off_t offset; unsigned size; unsigned
// flags; unsigned long long page_flags}, 24 bytes on every architecture.
type pageDesc struct {
	offset    int64
	size      uint32
	flags     uint32
	pageFlags uint64
}

func decodeDesc(b []byte, order binary.ByteOrder) pageDesc {
	return pageDesc{
		offset:    int64(order.Uint64(b[0:])),
		size:      order.Uint32(b[8:]),
		flags:     order.Uint32(b[12:]),
		pageFlags: order.Uint64(b[16:]),
	}
}

// compressionName names the compression of page_desc/status flags: one of
// "zlib", "lzo", "snappy", "zstd", "mixed" (several bits), "" (none).
func compressionName(flags uint32) string {
	switch flags & flagCompressed {
	case 0:
		return ""
	case flagZlib:
		return "zlib"
	case flagLZO:
		return "lzo"
	case flagSnappy:
		return "snappy"
	case flagZstd:
		return "zstd"
	}
	return "mixed"
}
