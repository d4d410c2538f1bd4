package diskdump

import (
	"errors"
	"fmt"
	"io"
)

// source is the logical kdump file: the file itself, or the file a
// flattened stream describes (what makedumpfile -R would rebuild).
type source interface {
	// ReadAt reads len(p) bytes at logical offset off. It fails with
	// io.EOF/io.ErrUnexpectedEOF past the logical end, or with a *holeError
	// where a flattened stream has no data and makedumpfile leaves none.
	ReadAt(p []byte, off int64) (int, error)
	// Size is the logical size.
	Size() int64
	// FileOffset maps a logical offset to the physical file offset for
	// messages; it returns off itself when unknown.
	FileOffset(off int64) int64
}

// holeError is a read of a logical range no record of a flattened stream
// covers, outside the header area where makedumpfile leaves holes.
type holeError struct{ off int64 }

func (e *holeError) Error() string {
	return fmt.Sprintf("no data for logical offset %#x in the flattened stream", e.off)
}

// readerAtSource is a plain (not flattened) file.
type readerAtSource struct {
	r    io.ReaderAt
	size int64
}

func (s *readerAtSource) Size() int64                { return s.size }
func (s *readerAtSource) FileOffset(off int64) int64 { return off }

func (s *readerAtSource) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("negative offset")
	}
	if off >= s.size {
		if len(p) == 0 {
			return 0, nil
		}
		return 0, io.EOF
	}
	want := len(p)
	if int64(want) > s.size-off {
		p = p[:s.size-off]
	}
	n, err := s.r.ReadAt(p, off)
	if n == len(p) && n < want {
		return n, io.ErrUnexpectedEOF
	}
	if n == want {
		err = nil
	}
	if err == io.EOF && n < want {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// bytesSource is an in-memory file (tests and fuzzing).
type bytesSource []byte

func (b bytesSource) Size() int64                { return int64(len(b)) }
func (b bytesSource) FileOffset(off int64) int64 { return off }
func (b bytesSource) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("negative offset")
	}
	if off >= int64(len(b)) {
		if len(p) == 0 {
			return 0, nil
		}
		return 0, io.EOF
	}
	n := copy(p, b[off:])
	if n < len(p) {
		return n, io.ErrUnexpectedEOF
	}
	return n, nil
}
