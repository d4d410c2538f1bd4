package diskdump

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"

	lzo "github.com/anchore/go-lzo"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"
)

// zstdDecoder is shared by every dump: DecodeAll is safe for concurrent use
// and, without a stream, the decoder runs no goroutines, so it is never
// closed. Output is capped at the largest block size.
var zstdDecoder = sync.OnceValues(func() (*zstd.Decoder, error) {
	return zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(0),
		zstd.WithDecoderMaxMemory(maxBlockSize),
		zstd.WithDecodeAllCapLimit(true),
	)
})

type zlibState struct {
	br bytes.Reader
	zr io.ReadCloser
}

var zlibPool sync.Pool // *zlibState

// decompressPage decodes src (flags from its page_desc) into dst, which has
// the block size as its length; the output must fill dst exactly.
func decompressPage(dst, src []byte, flags uint32) error {
	switch flags & flagCompressed {
	case 0:
		if len(src) != len(dst) {
			return fmt.Errorf("uncompressed page of %d bytes, block size is %d", len(src), len(dst))
		}
		copy(dst, src)
		return nil
	case flagZlib:
		return unzlib(dst, src)
	case flagLZO:
		n, err := lzo.Decompress(src, dst)
		if err != nil {
			return fmt.Errorf("lzo: %v", err)
		}
		if n != len(dst) {
			return fmt.Errorf("lzo: page decompressed to %d bytes, want %d", n, len(dst))
		}
		return nil
	case flagSnappy:
		n, err := snappy.DecodedLen(src)
		if err != nil {
			return fmt.Errorf("snappy: %v", err)
		}
		if n != len(dst) {
			return fmt.Errorf("snappy: page decodes to %d bytes, want %d", n, len(dst))
		}
		out, err := snappy.Decode(dst, src)
		if err != nil {
			return fmt.Errorf("snappy: %v", err)
		}
		if len(out) != len(dst) || &out[0] != &dst[0] {
			return fmt.Errorf("snappy: page decoded to %d bytes, want %d", len(out), len(dst))
		}
		return nil
	case flagZstd:
		dec, err := zstdDecoder()
		if err != nil {
			return fmt.Errorf("zstd: %v", err)
		}
		out, err := dec.DecodeAll(src, dst[:0])
		if err != nil {
			return fmt.Errorf("zstd: %v", err)
		}
		if len(out) != len(dst) {
			return fmt.Errorf("zstd: page decompressed to %d bytes, want %d", len(out), len(dst))
		}
		if &out[0] != &dst[0] {
			copy(dst, out)
		}
		return nil
	}
	return fmt.Errorf("page flags %#x name more than one compression", flags)
}

func unzlib(dst, src []byte) error {
	st, _ := zlibPool.Get().(*zlibState)
	if st == nil {
		st = new(zlibState)
	}
	st.br.Reset(src)
	var err error
	if st.zr == nil {
		st.zr, err = zlib.NewReader(&st.br)
	} else {
		err = st.zr.(zlib.Resetter).Reset(&st.br, nil)
	}
	if err != nil {
		st.zr = nil // a failed NewReader returns no reader
		zlibPool.Put(st)
		return fmt.Errorf("zlib: %v", err)
	}
	n, err := io.ReadFull(st.zr, dst)
	if err == nil {
		// The page must end the stream (this also checks the Adler-32).
		var one [1]byte
		_, err = io.ReadFull(st.zr, one[:])
		switch {
		case err == nil:
			err = fmt.Errorf("zlib: page decompresses to more than %d bytes", len(dst))
		case err == io.EOF:
			err = nil
		default:
			err = fmt.Errorf("zlib: %v", err)
		}
	} else if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		err = fmt.Errorf("zlib: page decompressed to %d bytes, want %d", n, len(dst))
	} else {
		err = fmt.Errorf("zlib: %v", err)
	}
	st.br.Reset(nil)
	zlibPool.Put(st)
	return err
}
