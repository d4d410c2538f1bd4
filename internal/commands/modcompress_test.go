package commands

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"

	"kdive/internal/program"
	"kdive/internal/testcorpus"
)

// compressedModules writes data compressed every way a distribution ships
// a module into dir: with the Go libraries (name.ko.xz, .ko.zst, .ko.gz)
// and, when the host has them, with the xz and zstd tools as the kernel's
// scripts/Makefile.modinst runs them (xz --check=crc32 --lzma2=dict=1MiB,
// zstd -T0); returns the files by a label.
func compressedModules(t *testing.T, dir, name string, data []byte) map[string]string {
	t.Helper()
	out := map[string]string{}
	write := func(label, file string, b []byte) {
		p := filepath.Join(dir, label, file)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		out[label] = p
	}
	var xb bytes.Buffer
	xw, err := xz.NewWriter(&xb)
	if err != nil {
		t.Fatal(err)
	}
	xw.Write(data)
	xw.Close()
	write("go-xz", name+".ko.xz", xb.Bytes())
	var zb bytes.Buffer
	zw, _ := zstd.NewWriter(&zb)
	zw.Write(data)
	zw.Close()
	write("go-zstd", name+".ko.zst", zb.Bytes())
	var gb bytes.Buffer
	gw := gzip.NewWriter(&gb)
	gw.Write(data)
	gw.Close()
	write("go-gzip", name+".ko.gz", gb.Bytes())
	for _, tool := range []struct {
		label, ext string
		argv       []string
	}{
		{"tool-xz", ".ko.xz", []string{"xz", "--check=crc32", "--lzma2=dict=1MiB", "-c"}},
		{"tool-zstd", ".ko.zst", []string{"zstd", "-T0", "-q", "-c"}},
		{"tool-gzip", ".ko.gz", []string{"gzip", "-9", "-c"}},
	} {
		if _, err := exec.LookPath(tool.argv[0]); err != nil {
			continue
		}
		cmd := exec.Command(tool.argv[0], tool.argv[1:]...)
		cmd.Stdin = bytes.NewReader(data)
		b, err := cmd.Output()
		if err != nil {
			t.Fatalf("%v: %v", tool.argv, err)
		}
		write(tool.label, name+tool.ext, b)
	}
	return out
}

var historyRef = regexp.MustCompile(`\$[0-9]+ = `)

// modCompareCmds are what a loaded module file gives: its symbols (with
// sizes and source lines), types, typed globals, source lines in dis.
var modCompareCmds = []string{
	"sym kdive_rig_null_deref",
	"sym kdive_rig_global",
	"dis -l kdive_rig_null_deref",
	"p kdive_rig_global",
	"p kdive_rig_state->name",
	"whatis struct kdive_rig_item",
	"ptype struct kdive_rig_state",
	"sym -m kdive_rig",
}

// kdive_rig.ko compressed with xz, zstd and gzip (the Go libraries' and
// the tools' streams) loads with mod -s MODULE FILE and is found by mod
// -S DIR and by mod -s MODULE in $CRASH_MODULE_PATH (as kdive-rig.ko.xz,
// and as a debug copy kdive_rig.ko.debug.zst), with and without the
// vmlinux: every command gives what it gives with the plain .ko, the file
// named as given.
func TestModSymCompressed(t *testing.T) {
	ko := testcorpus.Module(t, "kdive_rig")
	data, err := os.ReadFile(ko)
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	files := compressedModules(t, tmp, "kdive_rig", data)
	for _, withVmlinux := range []bool{false, true} {
		t.Run(fmt.Sprintf("vmlinux=%v", withVmlinux), func(t *testing.T) {
			vml := ""
			if withVmlinux {
				vml = testcorpus.Vmlinux(t)
			}
			p := openProg(t, vml, testcorpus.File(t, "oops-proc", testcorpus.KdumpLZO))
			run := modRun(t, p, true)
			// The plain .ko's outputs.
			wantLoad := strings.ReplaceAll(run("mod -s kdive_rig "+ko), ko, "FILE")
			want := map[string]string{}
			for _, c := range modCompareCmds {
				want[c] = run(c)
			}
			if !strings.Contains(want["dis -l kdive_rig_null_deref"], "kdive_rig.c: 70") || !strings.Contains(want["p kdive_rig_global"], "magic = ") {
				t.Fatalf("plain .ko: no source lines or types:\n%s\n%s", want["dis -l kdive_rig_null_deref"], want["p kdive_rig_global"])
			}
			run("mod -d kdive_rig")
			wantAll := strings.ReplaceAll(run("mod -S "+filepath.Dir(ko)), ko, "FILE")
			run("mod -d kdive_rig")
			same := func(what, got string) {
				t.Helper()
				if got != want[what] {
					t.Errorf("%s differs from the plain .ko's:\n%s", what, rdsymFirstDiff(want[what], got))
				}
			}
			for _, label := range sortedKeys(files) {
				file := files[label]
				t.Run(label, func(t *testing.T) {
					if got := strings.ReplaceAll(run("mod -s kdive_rig "+file), file, "FILE"); got != wantLoad {
						t.Errorf("mod -s: %q, want %q", got, wantLoad)
					}
					if md := p.ModuleDebugOf("kdive_rig"); md == nil || md.Path != file || md.Index == nil {
						t.Fatalf("loaded: %+v", md)
					}
					for _, c := range modCompareCmds {
						same(c, run(c))
					}
					run("mod -d kdive_rig")
					if got := strings.ReplaceAll(run("mod -S "+filepath.Dir(file)), file, "FILE"); got != wantAll {
						t.Errorf("mod -S: %q, want %q", got, wantAll)
					}
					if md := p.ModuleDebugOf("kdive_rig"); md == nil || md.Path != file {
						t.Errorf("mod -S loaded %+v", md)
					}
					same("dis -l kdive_rig_null_deref", run("dis -l kdive_rig_null_deref"))
					run("mod -d kdive_rig")
				})
			}
			// The search path: '-' for '_', a debug copy, and the plain .ko
			// before its compressed copy in the same tree.
			dir := t.TempDir()
			t.Setenv("CRASH_MODULE_PATH", dir)
			program.SetModuleSearchRoots(filepath.Join(dir, "no-debug"), filepath.Join(dir, "no-lib-modules"))
			defer program.SetModuleSearchRoots("/usr/lib/debug/lib/modules", "/lib/modules")
			for _, c := range []struct{ src, name string }{
				{files["go-xz"], "kdive-rig.ko.xz"},
				{files["go-zstd"], "kdive_rig.ko.debug.zst"},
				{files["go-gzip"], "kdive_rig.ko.gz"},
				{ko, "kdive_rig.ko"},
			} {
				b, _ := os.ReadFile(c.src)
				sub := filepath.Join(dir, strings.Split(c.name, ".")[0]+"-"+strings.ReplaceAll(c.name, ".", "-"))
				os.MkdirAll(sub, 0o755)
				dst := filepath.Join(sub, c.name)
				os.WriteFile(dst, b, 0o644)
				t.Setenv("CRASH_MODULE_PATH", sub)
				run("mod -s kdive_rig")
				if md := p.ModuleDebugOf("kdive_rig"); md == nil || md.Path != dst {
					t.Errorf("mod -s kdive_rig in %s: %+v", sub, md)
				}
				same("sym kdive_rig_null_deref", run("sym kdive_rig_null_deref"))
				run("mod -d kdive_rig")
				if c.name == "kdive_rig.ko" { // .ko before .ko.gz in one tree
					g, _ := os.ReadFile(files["go-gzip"])
					os.WriteFile(filepath.Join(sub, "kdive_rig.ko.gz"), g, 0o644)
					run("mod -s kdive_rig")
					if md := p.ModuleDebugOf("kdive_rig"); md == nil || md.Path != dst {
						t.Errorf("kdive_rig.ko and .ko.gz: loaded %+v", md)
					}
					run("mod -d kdive_rig")
				}
			}
		})
	}
}

func sortedKeys(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }

// A corrupt or truncated compressed file, a compressed file that is not an
// ELF file, one decompressing past the limit: one line naming the file and
// the problem, nothing loaded.
func TestModSymCompressedRefused(t *testing.T) {
	ko := testcorpus.Module(t, "kdive_rig")
	data, err := os.ReadFile(ko)
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	files := compressedModules(t, tmp, "kdive_rig", data)
	p := openProg(t, "", testcorpus.File(t, "oops-proc", testcorpus.KdumpLZO))
	type bad struct{ file, err string }
	var cases []bad
	for _, label := range sortedKeys(files) {
		b, _ := os.ReadFile(files[label])
		ext := filepath.Ext(files[label])
		trunc := filepath.Join(tmp, label+"-truncated.ko"+ext)
		os.WriteFile(trunc, b[:len(b)/2], 0o644)
		flipped := append([]byte(nil), b...)
		flipped[len(b)/2] ^= 0x55
		corrupt := filepath.Join(tmp, label+"-corrupt.ko"+ext)
		os.WriteFile(corrupt, flipped, 0o644)
		cases = append(cases, bad{trunc, ""}, bad{corrupt, ""})
	}
	var nb bytes.Buffer
	gw := gzip.NewWriter(&nb)
	gw.Write([]byte("not an object file\n"))
	gw.Close()
	notELF := filepath.Join(tmp, "notelf.ko.gz")
	os.WriteFile(notELF, nb.Bytes(), 0o644)
	cases = append(cases, bad{notELF, "gzip-compressed, but not an ELF file inside"})
	// An xz file whose stream header says a 1.5 GiB dictionary.
	var xb bytes.Buffer
	xw, _ := xz.WriterConfig{DictCap: 1536 << 20}.NewWriter(&xb)
	xw.Write([]byte("small"))
	xw.Close()
	bigDict := filepath.Join(tmp, "bigdict.ko.xz")
	os.WriteFile(bigDict, xb.Bytes(), 0o644)
	cases = append(cases, bad{bigDict, "a 1536 MiB dictionary is over the 256 MiB limit"})
	for _, c := range cases {
		out, errs, err := runModLine(p, "mod -s kdive_rig "+c.file)
		if err == nil || !strings.Contains(err.Error(), c.file+": ") || !strings.Contains(err.Error(), c.err) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %v, want one line naming the file (%q)", filepath.Base(c.file), err, c.err)
		} else {
			t.Logf("%s: %v", filepath.Base(c.file), err)
		}
		if out != "" || errs != "" || p.ModuleDebugOf("kdive_rig") != nil {
			t.Fatalf("%s: printed %q %q, loaded %v", c.file, out, errs, p.ModuleDebugOf("kdive_rig") != nil)
		}
	}
}
