package open

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kdive/internal/dump"
	ect "kdive/internal/dump/elfcore/elfcoretest"
)

func write(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func synthCore() ([]byte, *ect.Core) {
	c := &ect.Core{
		Notes: []ect.Note{
			ect.N("CORE", 1, ect.PRStatus(1, 2)),
			ect.N("VMCOREINFO", 0, []byte("OSRELEASE=6.1.0-test\n")),
		},
		Loads: []ect.Load{
			{VAddr: 0xffff888000100000, PAddr: 0x100000, Data: ect.Pattern(0x100000, 0x20000, 4)},
			{VAddr: 0xffff888000200000, PAddr: 0x200000, MemSize: 0x200000, Data: ect.Pattern(0x200000, 0x10000, 4)},
		},
	}
	b, _ := c.Bytes()
	return b, c
}

// flatten wraps b as a makedumpfile -F stream, in out-of-order records.
func flatten(b []byte) []byte {
	out := make([]byte, 4096)
	copy(out, "makedumpfile")
	binary.BigEndian.PutUint64(out[16:], 1)
	binary.BigEndian.PutUint64(out[24:], 1)
	rec := func(off, n int) {
		var h [16]byte
		binary.BigEndian.PutUint64(h[:], uint64(off))
		binary.BigEndian.PutUint64(h[8:], uint64(n))
		out = append(out, h[:]...)
		out = append(out, b[off:off+n]...)
	}
	// Headers last, data first, as makedumpfile -F -E does.
	const cut = 4096
	for off := cut; off < len(b); off += 5000 {
		rec(off, min(5000, len(b)-off))
	}
	rec(0, cut)
	var end [16]byte
	for i := range end {
		end[i] = 0xff
	}
	return append(out, end[:]...)
}

func TestOpenELF(t *testing.T) {
	b, _ := synthCore()
	d, err := Open(write(t, "vmcore", b), dump.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if d.Info().Format != "ELF" || d.Info().NrCPUs != 1 || !d.Info().Partial || d.Info().Flattened {
		t.Fatalf("info %+v", d.Info())
	}
	p := make([]byte, 0x100)
	if _, err := d.ReadPhysAt(p, 0x11ff00); err != nil || !bytes.Equal(p, ect.Pattern(0x11ff00, 0x100, 4)) {
		t.Fatalf("read: %v", err)
	}
	var ee *dump.ExcludedError
	if _, err := d.ReadPhysAt(p, 0x210000); !errors.As(err, &ee) {
		t.Fatalf("excluded: %v", err)
	}
	if !IsDump(write(t, "vmcore2", b)) {
		t.Fatal("IsDump false for an ELF core")
	}
}

func TestOpenFlattenedELF(t *testing.T) {
	b, _ := synthCore()
	path := write(t, "vmcore.flat", flatten(b))
	if !IsDump(path) {
		t.Fatal("IsDump false")
	}
	d, err := Open(path, dump.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if !d.Info().Flattened || d.Info().Format != "ELF" || string(d.Info().VMCOREINFO) != "OSRELEASE=6.1.0-test\n" {
		t.Fatalf("info %+v", d.Info())
	}
	p := make([]byte, 0x3000)
	if _, err := d.ReadPhysAt(p, 0x11e000); err == nil {
		t.Fatal("read past the end of a RAM range succeeded")
	}
	if _, err := d.ReadPhysAt(p, 0x100000); err != nil || !bytes.Equal(p, ect.Pattern(0x100000, len(p), 4)) {
		t.Fatalf("read: %v", err)
	}
}

func TestNotADump(t *testing.T) {
	cases := map[string][]byte{
		"text":  []byte("just some text, certainly not a crash dump\n"),
		"empty": {},
		"gzip":  {0x1f, 0x8b, 8, 0, 0, 0, 0, 0},
	}
	for name, b := range cases {
		path := write(t, name, b)
		_, err := Open(path, dump.Options{})
		want := path + ": not a supported dump file (neither ELF core nor kdump-compressed)"
		if name == "text" && err != nil && err.Error() != want {
			t.Errorf("%s: message %q, want %q", name, err, want)
		}
		if err == nil || !strings.HasPrefix(err.Error(), want) || !errors.Is(err, dump.ErrNotDump) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v", name, err)
		}
		if IsDump(path) || IsVmlinux(path) {
			t.Errorf("%s: IsDump/IsVmlinux true", name)
		}
	}
	if _, err := Open(write(t, "gz", cases["gzip"]), dump.Options{}); !strings.Contains(err.Error(), "gzip") {
		t.Errorf("no gzip hint: %v", err)
	}
	if _, err := Open(t.TempDir(), dump.Options{}); !errors.Is(err, dump.ErrNotDump) {
		t.Errorf("directory: %v", err)
	}
	if _, err := Open(filepath.Join(t.TempDir(), "nope"), dump.Options{}); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing: %v", err)
	}
	// A bzImage, when the host has one to look at.
	if m, _ := filepath.Glob("/boot/vmlinuz-*"); len(m) > 0 {
		if _, err := Open(m[0], dump.Options{}); err == nil || !errors.Is(err, dump.ErrNotDump) {
			t.Errorf("%s: %v", m[0], err)
		} else if !strings.Contains(err.Error(), "bzImage") && !errors.Is(err, os.ErrPermission) {
			t.Logf("%s: no bzImage hint: %v", m[0], err)
		}
		if IsVmlinux(m[0]) || IsDump(m[0]) {
			t.Errorf("%s: IsVmlinux/IsDump true", m[0])
		}
	}
}

func TestKdumpRouted(t *testing.T) {
	// A KDUMP signature goes to diskdump, whose error is not "neither".
	b := append([]byte("KDUMP   "), make([]byte, 100)...)
	path := write(t, "vmcore.kdump", b)
	if !IsDump(path) {
		t.Fatal("IsDump false for KDUMP")
	}
	_, err := Open(path, dump.Options{})
	if err == nil || strings.Contains(err.Error(), "neither ELF") {
		t.Fatalf("KDUMP: %v", err)
	}
	// A flattened stream that holds a kdump file likewise.
	fl := flatten(append([]byte("KDUMP   "), make([]byte, 8000)...))
	path = write(t, "vmcore.flatkdump", fl)
	if !IsDump(path) {
		t.Fatal("IsDump false for flattened")
	}
	if _, err := Open(path, dump.Options{}); err == nil || strings.Contains(err.Error(), "neither ELF") {
		t.Fatalf("flattened KDUMP: %v", err)
	}
}

// elfExec builds an ELF64 x86-64 ET_EXEC file with the named sections.
func elfExec(typ uint16, sections ...string) []byte {
	le := binary.LittleEndian
	strtab := []byte{0}
	var nameOff []uint32
	for _, s := range append(sections, ".shstrtab") {
		nameOff = append(nameOff, uint32(len(strtab)))
		strtab = append(strtab, s...)
		strtab = append(strtab, 0)
	}
	b := make([]byte, 64)
	copy(b, "\x7fELF")
	b[4], b[5], b[6] = 2, 1, 1
	le.PutUint16(b[16:], typ)
	le.PutUint16(b[18:], 62)
	strOff := len(b)
	b = append(b, strtab...)
	for len(b)%8 != 0 {
		b = append(b, 0)
	}
	shoff := len(b)
	n := len(sections) + 2
	le.PutUint64(b[40:], uint64(shoff))
	le.PutUint16(b[58:], 64)
	le.PutUint16(b[60:], uint16(n))
	le.PutUint16(b[62:], uint16(n-1))
	b = append(b, make([]byte, 64)...) // SHT_NULL
	for i := range n - 1 {
		sh := make([]byte, 64)
		le.PutUint32(sh, nameOff[i])
		le.PutUint32(sh[4:], 1) // PROGBITS
		if i == n-2 {
			le.PutUint32(sh[4:], 3) // STRTAB
			le.PutUint64(sh[24:], uint64(strOff))
			le.PutUint64(sh[32:], uint64(len(strtab)))
		}
		b = append(b, sh...)
	}
	return b
}

func TestIsVmlinux(t *testing.T) {
	vm := elfExec(2, ".text", ".rodata", ".data..percpu", ".init.text", ".symtab")
	if !IsVmlinux(write(t, "vmlinux", vm)) {
		t.Fatal("synthetic vmlinux not recognised")
	}
	if IsDump(write(t, "vmlinux2", vm)) {
		t.Fatal("vmlinux is a dump?")
	}
	_, err := Open(write(t, "vmlinux3", vm), dump.Options{})
	if err == nil || !strings.Contains(err.Error(), "vmlinux") || !errors.Is(err, dump.ErrNotDump) {
		t.Fatalf("Open(vmlinux): %v", err)
	}
	for name, b := range map[string][]byte{
		"user program": elfExec(2, ".text", ".data", ".bss"),
		"no text":      elfExec(2, ".data..percpu", ".init.text"),
		"ET_CORE":      elfExec(4, ".text", ".data..percpu"),
		"ET_DYN":       elfExec(3, ".text", ".data..percpu"),
	} {
		if IsVmlinux(write(t, "x", b)) {
			t.Errorf("%s: IsVmlinux true", name)
		}
	}
	for cut := 0; cut < len(vm); cut++ {
		if IsVmlinux(write(t, "cut", vm[:cut])) {
			t.Fatalf("truncated at %d: IsVmlinux true", cut)
		}
	}
	// The test binary is an x86-64 executable but not a kernel.
	if exe, err := os.Executable(); err == nil && IsVmlinux(exe) {
		t.Errorf("%s: IsVmlinux true", exe)
	}
}

func FuzzIsVmlinux(f *testing.F) {
	f.Add(elfExec(2, ".text", ".data..percpu"))
	b, _ := synthCore()
	f.Add(b[:512])
	f.Add(flatten(b)[:4200])
	p := filepath.Join(f.TempDir(), "f")
	f.Fuzz(func(t *testing.T, b []byte) {
		sectionNames(bytes.NewReader(b), int64(len(b)))
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		IsVmlinux(p)
		IsDump(p)
		if d, err := Open(p, dump.Options{}); err == nil {
			d.Close()
		} else if strings.Contains(err.Error(), "\n") {
			t.Fatalf("multi-line error %q", err)
		}
	})
}
