package fs_test

import (
	"fmt"
	"testing"

	"kdive/internal/kernel/fs"
)

// flat is memory as one slice at base, for fuzzing.
type flat struct {
	base uint64
	b    []byte
	syms map[string]uint64
}

func (f *flat) ReadAt(b []byte, a uint64) (int, error) {
	if a < f.base || a-f.base > uint64(len(f.b)) || uint64(len(f.b))-(a-f.base) < uint64(len(b)) {
		return 0, fmt.Errorf("no memory at %#x", a)
	}
	return copy(b, f.b[a-f.base:]), nil
}
func (f *flat) Symbol(n string) (uint64, error) {
	if v, ok := f.syms[n]; ok {
		return v, nil
	}
	return 0, fmt.Errorf("no symbol %s", n)
}
func (f *flat) MemberOffset(t, m string) (uint64, error) { return (&fake{}).MemberOffset(t, m) }
func (f *flat) MemberSize(t, m string) (uint64, error)   { return 0, fmt.Errorf("no size") }

// Any memory: Task and DentryInfo end, without panicking, and every path
// they return starts with a slash or names a pseudo file.
func FuzzTask(f *testing.F) {
	k, task, _, _, _, _, x, _ := buildKernel()
	img := make([]byte, k.next-0x10000)
	for a, v := range k.mem {
		if a >= 0x10000 && a < k.next {
			img[a-0x10000] = v
		}
	}
	f.Add(img, task-0x10000, x-0x10000)
	f.Add(img[:0x400], uint64(0), uint64(0x40))
	defer func(n int) { fs.MaxReads = n }(fs.MaxReads)
	fs.MaxReads = 1 << 14
	f.Fuzz(func(t *testing.T, mem []byte, taskOff, dentryOff uint64) {
		src := &flat{base: 0x10000, b: mem, syms: k.syms}
		r, err := fs.New(src)
		if err != nil {
			t.Fatal(err)
		}
		if tf, err := r.Task(0x10000 + taskOff%0x100000); err == nil {
			for _, fl := range tf.Files {
				if fl.FD < 0 || fl.FD >= tf.MaxFDs {
					t.Fatalf("fd %d of %d", fl.FD, tf.MaxFDs)
				}
			}
		}
		_, _ = r.DentryInfo(0x10000 + dentryOff%0x100000)
	})
}
