package dwarfx

// Compressed object files: distributions ship kernel modules as
// NAME.ko.xz (Fedora, RHEL, Arch), NAME.ko.zst (Ubuntu 23.10+, Arch) or
// NAME.ko.gz (the kernel's CONFIG_MODULE_COMPRESS_{XZ,ZSTD,GZIP},
// scripts/Makefile.modinst). Such a file is decompressed into memory,
// the format told by its magic bytes, not its name.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// MaxDecompressed caps the size of a decompressed object file: the size
// is never taken from the file (gzip's trailer, zstd's frame header may
// say anything); what decompresses to more is refused. The largest debug
// module of a distribution kernel is a few hundred MiB. (A variable for
// tests.)
var MaxDecompressed int64 = 1 << 30

// Compression names the compression format data (a file's first bytes,
// 6 are enough) starts with: "xz", "zstd", "gzip", or "" for none of them.
func Compression(data []byte) string {
	switch {
	case bytes.HasPrefix(data, []byte("\xfd7zXZ\x00")):
		return "xz"
	case bytes.HasPrefix(data, []byte("\x28\xb5\x2f\xfd")):
		return "zstd"
	case bytes.HasPrefix(data, []byte("\x1f\x8b")):
		return "gzip"
	}
	return ""
}

// Dictionary and window limits. A stream names the memory its decoder
// needs (xz: the LZMA2 dictionary, allocated whole before the first byte
// is decoded; zstd: the window); more than these is refused, as the zstd
// tool refuses windows over 128 MiB without --memory. The kernel
// compresses modules with a 1 MiB xz dictionary (scripts/Makefile.modinst)
// and xz's largest preset uses 64 MiB. (Variables for fuzzing.)
var (
	maxXZDict     uint64 = 256 << 20
	maxZstdWindow uint64 = 128 << 20
)

// decompressFile decompresses data, compressed with format (see Compression);
// name is the file, for errors. At most limit bytes come out: more is an
// error, as is a corrupt or truncated stream.
func decompressFile(name, format string, data []byte, limit int64) ([]byte, error) {
	var dec io.Reader
	r := bytes.NewReader(data)
	switch format {
	case "xz":
		if err := xzCheckDicts(data, maxXZDict); err != nil {
			return nil, fmt.Errorf("%s: xz: %v", name, err)
		}
		x, err := xz.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("%s: xz: %v", name, err)
		}
		dec = x
	case "zstd":
		z, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderMaxWindow(maxZstdWindow))
		if err != nil {
			return nil, fmt.Errorf("%s: zstd: %v", name, err)
		}
		defer z.Close()
		dec = z
	case "gzip":
		g, err := gzip.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("%s: gzip: %v", name, truncated(err))
		}
		defer g.Close()
		dec = g
	default:
		return nil, fmt.Errorf("%s: unknown compression %q", name, format)
	}
	var buf bytes.Buffer
	buf.Grow(int(min(limit, 4*int64(len(data))+4096)))
	n, err := io.Copy(&buf, io.LimitReader(dec, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %v (after %d bytes decompressed)", name, format, truncated(err), n)
	}
	if n > limit {
		return nil, fmt.Errorf("%s: %s: decompresses to more than %s, the limit", name, format, sizeString(limit))
	}
	return buf.Bytes(), nil
}

// truncated words a decoder's error: "truncated" for an early end, the
// library's own name taken off the front.
func truncated(err error) error {
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		return fmt.Errorf("truncated")
	}
	for _, lib := range []string{"gzip: ", "xz: ", "zstd: ", "lzma: "} {
		if m := err.Error(); strings.HasPrefix(m, lib) {
			return errors.New(m[len(lib):])
		}
	}
	return err
}

// xzCheckDicts checks the LZMA2 dictionary size of every block of the xz
// file data against max, before a decoder allocates one. The blocks are
// found from the end (the xz file format, .xz 1.2.0: streams, each a
// header, blocks, an index of the blocks' sizes and a footer pointing back
// at the index; stream padding between streams): each block header's
// filter flags give the dictionary. A structure that does not add up is
// an error here (the decoder would refuse it too).
func xzCheckDicts(data []byte, max uint64) error {
	le := binary.LittleEndian
	end := uint64(len(data))
	streams := 0
	for end > 0 {
		for end >= 4 && le.Uint32(data[end-4:]) == 0 { // stream padding
			end -= 4
		}
		if end == 0 {
			break
		}
		if end < 24 || string(data[end-2:end]) != "YZ" {
			return fmt.Errorf("truncated or corrupt: no stream footer before offset %#x", end)
		}
		backward := (uint64(le.Uint32(data[end-8:])) + 1) * 4
		if backward > end-24 {
			return fmt.Errorf("index size %d at offset %#x out of range", backward, end-8)
		}
		idx := end - 12 - backward
		sizes, err := xzIndex(data[idx : end-12])
		if err != nil {
			return fmt.Errorf("index at offset %#x: %v", idx, err)
		}
		var total uint64
		for _, s := range sizes {
			if s > idx-12-total {
				return fmt.Errorf("index at offset %#x: blocks larger than the stream", idx)
			}
			total += s
		}
		start := idx - total - 12
		if Compression(data[start:]) != "xz" {
			return fmt.Errorf("no stream header at offset %#x", start)
		}
		pos := start + 12
		for _, s := range sizes {
			if err := xzBlockDict(data[pos:pos+s], max); err != nil {
				return fmt.Errorf("block at offset %#x: %v", pos, err)
			}
			pos += s
		}
		end = start
		if streams++; streams > 1<<16 {
			return fmt.Errorf("more than %d streams", 1<<16)
		}
	}
	if streams == 0 {
		return fmt.Errorf("no stream")
	}
	return nil
}

// xzIndex reads an xz index: the padded size of each block (its unpadded
// size rounded up to 4).
func xzIndex(b []byte) ([]uint64, error) {
	if len(b) < 8 || b[0] != 0 {
		return nil, fmt.Errorf("no index indicator")
	}
	off := 1
	n, ok := uvarint(b, &off)
	if !ok || n > uint64(len(b))/2 {
		return nil, fmt.Errorf("bad record count")
	}
	sizes := make([]uint64, 0, n)
	for i := uint64(0); i < n; i++ {
		unpadded, ok1 := uvarint(b, &off)
		_, ok2 := uvarint(b, &off)
		if !ok1 || !ok2 || unpadded < 5 || unpadded > 1<<62 {
			return nil, fmt.Errorf("bad record %d", i)
		}
		sizes = append(sizes, (unpadded+3)&^3)
	}
	return sizes, nil
}

// xzBlockDict checks the dictionary size in the block header b starts with.
func xzBlockDict(b []byte, max uint64) error {
	if len(b) < 2 || b[0] == 0 {
		return fmt.Errorf("no block header")
	}
	hsize := (int(b[0]) + 1) * 4
	if hsize > len(b) {
		return fmt.Errorf("header size %d past the block", hsize)
	}
	h := b[:hsize]
	flags := h[1]
	off := 2
	for _, bit := range []byte{0x40, 0x80} { // compressed, uncompressed size
		if flags&bit != 0 {
			if _, ok := uvarint(h, &off); !ok {
				return fmt.Errorf("bad header")
			}
		}
	}
	for f := 0; f <= int(flags&3); f++ {
		id, ok1 := uvarint(h, &off)
		psize, ok2 := uvarint(h, &off)
		if !ok1 || !ok2 || psize > uint64(len(h)-off) {
			return fmt.Errorf("bad filter flags")
		}
		props := h[off : off+int(psize)]
		off += int(psize)
		if id != 0x21 { // LZMA2
			continue
		}
		if len(props) != 1 || props[0] > 40 {
			return fmt.Errorf("bad LZMA2 properties")
		}
		dict := uint64(1)<<32 - 1
		if c := props[0]; c < 40 {
			dict = uint64(2|c&1) << (c/2 + 11)
		}
		if dict > max {
			return fmt.Errorf("a %s dictionary is over the %s limit", sizeString(int64(dict)), sizeString(int64(max)))
		}
	}
	return nil
}

// uvarint reads xz's multibyte integer (at most 9 bytes) at b[*off].
func uvarint(b []byte, off *int) (uint64, bool) {
	var v uint64
	for i := 0; i < 9; i++ {
		if *off >= len(b) {
			return 0, false
		}
		c := b[*off]
		*off++
		v |= uint64(c&0x7f) << (7 * i)
		if c&0x80 == 0 {
			return v, true
		}
	}
	return 0, false
}

func sizeString(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// readCompressed decompresses the file f (path) if its magic says it is
// compressed: the data and its format, or nil and "" for a file that is
// not.
func readCompressed(path string, f *os.File) ([]byte, string, error) {
	var magic [6]byte
	n, _ := f.ReadAt(magic[:], 0)
	format := Compression(magic[:n])
	if format == "" {
		return nil, "", nil
	}
	st, err := f.Stat()
	if err != nil {
		return nil, "", err
	}
	// Compressed data is smaller than what it holds, but for a few
	// header bytes.
	if st.Size() > MaxDecompressed+1<<20 {
		return nil, "", fmt.Errorf("%s: %s-compressed file of %d bytes is over the %s limit", path, format, st.Size(), sizeString(MaxDecompressed))
	}
	comp := make([]byte, st.Size())
	if _, err := io.ReadFull(f, comp); err != nil {
		return nil, "", fmt.Errorf("%s: %v", path, err)
	}
	data, err := decompressFile(path, format, comp, MaxDecompressed)
	return data, format, err
}

// ParseCompressedObject decompresses data (xz, zstd or gzip, told by its
// magic) and reads the relocatable object it holds (tests, fuzzing);
// data that is not compressed is read as it is.
func ParseCompressedObject(name string, data []byte) (*Object, error) {
	if format := Compression(data); format != "" {
		var err error
		if data, err = decompressFile(name, format, data, MaxDecompressed); err != nil {
			return nil, err
		}
		return parseDecompressed(name, format, data)
	}
	return ParseObject(name, data)
}

// parseDecompressed reads the object a compressed file held.
func parseDecompressed(name, format string, data []byte) (*Object, error) {
	if len(data) < 4 || string(data[:4]) != "\x7fELF" {
		return nil, fmt.Errorf("%s: %s-compressed, but not an ELF file inside", name, format)
	}
	ef, err := parseELF(name, data)
	if err != nil {
		return nil, err
	}
	return newObject(ef)
}
