package dwarfx

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// compressAll returns data compressed as xz (the kernel's CRC32 check and
// 1 MiB dictionary, and the library's defaults), zstd and gzip.
func compressAll(tb testing.TB, data []byte) map[string][]byte {
	tb.Helper()
	out := map[string][]byte{}
	for name, cfg := range map[string]xz.WriterConfig{
		"xz-kernel": {CheckSum: xz.CRC32, DictCap: 1 << 20},
		"xz":        {},
	} {
		var b bytes.Buffer
		w, err := cfg.NewWriter(&b)
		if err != nil {
			tb.Fatal(err)
		}
		w.Write(data)
		w.Close()
		out[name] = b.Bytes()
	}
	var zb bytes.Buffer
	zw, _ := zstd.NewWriter(&zb)
	zw.Write(data)
	zw.Close()
	out["zstd"] = zb.Bytes()
	var gb bytes.Buffer
	gw := gzip.NewWriter(&gb)
	gw.Write(data)
	gw.Close()
	out["gzip"] = gb.Bytes()
	return out
}

func rigModule(tb testing.TB) []byte {
	data, err := os.ReadFile(filepath.Join(corpusDir(), "modules", "kdive_rig.ko"))
	if err != nil {
		if os.Getenv("KDIVE_REQUIRE_CORPUS") != "" {
			tb.Fatal(err)
		}
		tb.Skipf("no corpus module: %v", err)
	}
	return data
}

// kdive_rig.ko compressed every way opens (OpenObject, from a file) as the
// same object as the plain file: sections, symbols, .modinfo, build ID;
// a concatenation of two xz streams with padding too, and a plain file
// whose name says gzip (the file names here end in neither .xz nor .zst:
// the magic decides).
func TestOpenCompressedObject(t *testing.T) {
	data := rigModule(t)
	plain, err := ParseObject("plain", data)
	if err != nil {
		t.Fatal(err)
	}
	wantSyms, _ := plain.Symbols()
	wantID, _ := plain.BuildID()
	dir := t.TempDir()
	comp := compressAll(t, data)
	// xz allows streams one after another, with zero padding between.
	var half bytes.Buffer
	hw, _ := xz.NewWriter(&half)
	hw.Write(data[:len(data)/2])
	hw.Close()
	half.Write(make([]byte, 8))
	hw, _ = xz.NewWriter(&half)
	hw.Write(data[len(data)/2:])
	hw.Close()
	comp["xz-two-streams"] = half.Bytes()
	// The magic decides, not the name: a plain file named .gz.
	comp["plain-named.gz"] = data
	for name, b := range comp {
		path := filepath.Join(dir, "kdive_rig.ko."+name)
		os.WriteFile(path, b, 0o644)
		o, err := OpenObject(path)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if o.Path() != path || len(o.Sections()) != len(plain.Sections()) || !o.HasDWARF() {
			t.Errorf("%s: path %s, %d sections (want %d)", name, o.Path(), len(o.Sections()), len(plain.Sections()))
		}
		syms, err := o.Symbols()
		if err != nil || len(syms) != len(wantSyms) {
			t.Errorf("%s: %d symbols (want %d): %v", name, len(syms), len(wantSyms), err)
		}
		if n, _ := o.ModInfo("name"); n != "kdive_rig" {
			t.Errorf("%s: modinfo name %q", name, n)
		}
		if id, _ := o.BuildID(); !bytes.Equal(id, wantID) {
			t.Errorf("%s: build ID %x, want %x", name, id, wantID)
		}
		ix, err := o.Index(map[string]uint64{".text": 0xffffffffc0000000})
		if err != nil {
			t.Errorf("%s: index: %v", name, err)
		} else {
			if _, err := ix.LookupType("struct kdive_rig_item"); err != nil {
				t.Errorf("%s: %v", name, err)
			}
			ix.Close()
		}
	}
}

// Past MaxDecompressed, each format is refused with the file and the
// limit named; the size a header claims is not trusted.
func TestCompressedLimit(t *testing.T) {
	data := rigModule(t)
	old := MaxDecompressed
	MaxDecompressed = 100000
	defer func() { MaxDecompressed = old }()
	for name, b := range compressAll(t, data) {
		_, err := ParseCompressedObject("f.ko", b)
		if err == nil || !strings.HasPrefix(err.Error(), "f.ko: ") || !strings.Contains(err.Error(), "decompresses to more than 100000 bytes, the limit") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// FuzzCompressedObject decompresses and opens fuzzed compressed objects,
// seeded with kdive_rig.ko compressed every way (and a small ELF file), at
// a 4 MiB limit and 16 MiB dictionaries and windows.
func FuzzCompressedObject(f *testing.F) {
	small := buildELF(etRel, map[string][]byte{".modinfo": []byte("name=x\x00")})
	for _, b := range compressAll(f, small) {
		f.Add(b)
	}
	if data, err := os.ReadFile(filepath.Join(corpusDir(), "modules", "kdive_rig.ko")); err == nil {
		for _, b := range compressAll(f, data) {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		old, oldDict, oldWin := MaxDecompressed, maxXZDict, maxZstdWindow
		MaxDecompressed, maxXZDict, maxZstdWindow = 4<<20, 16<<20, 16<<20
		defer func() { MaxDecompressed, maxXZDict, maxZstdWindow = old, oldDict, oldWin }()
		o, err := ParseCompressedObject("fuzz", b)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz: ") || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q does not name the file on one line", err)
			}
			return
		}
		o.Sections()
		o.Symbols()
		o.ModInfo("name")
		o.BuildID()
	})
}
