package program

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"kdive/internal/dwarfx"
)

// ModuleSearchDirs is where crash looks for a module's object file when
// none is named (kernel.c: module_objfile_search), in order: the debug
// tree /usr/lib/debug/lib/modules/RELEASE, $CRASH_MODULE_PATH,
// /lib/modules/RELEASE/updates, /lib/modules/RELEASE, and the directory
// of the vmlinux (its real path).
func (p *Program) ModuleSearchDirs() []string {
	rel := ""
	if p.impl != nil {
		rel = p.impl.src.OSRelease
	}
	var dirs []string
	if rel != "" {
		dirs = append(dirs, filepath.Join(debugModulesRoot, rel))
	}
	if env := os.Getenv("CRASH_MODULE_PATH"); env != "" {
		dirs = append(dirs, env)
	}
	if rel != "" {
		dirs = append(dirs, filepath.Join(modulesRoot, rel, "updates"), filepath.Join(modulesRoot, rel))
	}
	if p.VmlinuxPath != "" {
		if real, err := filepath.EvalSymlinks(p.VmlinuxPath); err == nil {
			dirs = append(dirs, filepath.Dir(real))
		}
	}
	return dirs
}

// The roots of the default search (variables for tests).
var (
	debugModulesRoot = "/usr/lib/debug/lib/modules"
	modulesRoot      = "/lib/modules"
)

// maxSearchFiles bounds a directory walk.
const maxSearchFiles = 1 << 20

// ModuleFinder finds modules' object files in directory trees.
type ModuleFinder struct {
	dirs []string
	// index of each tree: normalized module name → first path found
	// (lexical walk order), per suffix rank.
	trees []map[string][len(moduleSuffixes)]string
}

// NewModuleFinder walks each directory tree once (symbolic links to
// directories are not followed).
func NewModuleFinder(dirs ...string) *ModuleFinder {
	f := &ModuleFinder{dirs: dirs}
	for _, d := range dirs {
		idx := map[string][len(moduleSuffixes)]string{}
		n := 0
		filepath.WalkDir(d, func(path string, e fs.DirEntry, err error) error {
			if err != nil {
				if e != nil && e.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			if n++; n > maxSearchFiles {
				return fs.SkipAll
			}
			if e.IsDir() {
				return nil
			}
			name, rank, ok := moduleFileName(e.Name())
			if !ok {
				return nil
			}
			v := idx[name]
			if v[rank] == "" {
				v[rank] = path
				idx[name] = v
			}
			return nil
		})
		f.trees = append(f.trees, idx)
	}
	return f
}

// moduleSuffixes are the object file names of a module NAME, in order of
// preference: crash's NAME.o, NAME.ko, NAME.ko.debug, each followed by
// its compressed copies (distributions ship NAME.ko.xz, .ko.zst, .ko.gz:
// the kernel's CONFIG_MODULE_COMPRESS_*; dwarfx.OpenObject decompresses
// them).
var moduleSuffixes = [...]string{
	".o",
	".ko", ".ko.xz", ".ko.zst", ".ko.gz",
	".ko.debug", ".ko.debug.xz", ".ko.debug.zst", ".ko.debug.gz",
}

// moduleFileName returns the module name a file name stands for
// ("dm-mod.ko" → "dm_mod": the kernel names modules with '_' for '-') and
// its rank in moduleSuffixes.
func moduleFileName(base string) (string, int, bool) {
	for rank, suf := range moduleSuffixes {
		if strings.HasSuffix(base, suf) && len(base) > len(suf) {
			return strings.ReplaceAll(base[:len(base)-len(suf)], "-", "_"), rank, true
		}
	}
	return "", 0, false
}

// Find returns the object file of module name: the first directory tree
// that has one, and in it NAME.o, NAME.ko, then NAME.ko.debug, each
// before its compressed copies (.xz, .zst, .gz), with '-' and '_'
// equivalent; "" when none.
func (f *ModuleFinder) Find(name string) string {
	key := strings.ReplaceAll(name, "-", "_")
	for _, idx := range f.trees {
		for _, p := range idx[key] {
			if p != "" {
				return p
			}
		}
	}
	return ""
}

// FindFile returns the first file with base name base in the trees (crash
// looks up a named object file that does not exist as given there).
func (f *ModuleFinder) FindFile(base string) string {
	for _, d := range f.dirs {
		found := ""
		n := 0
		filepath.WalkDir(d, func(path string, e fs.DirEntry, err error) error {
			if err != nil {
				if e != nil && e.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			if n++; n > maxSearchFiles {
				return fs.SkipAll
			}
			if !e.IsDir() && e.Name() == base {
				found = path
				return fs.SkipAll
			}
			return nil
		})
		if found != "" {
			return found
		}
	}
	return ""
}

// IsObjectFile reports whether path starts with the ELF magic, or with
// the magic of a compression LoadModuleDebug undoes (xz, zstd, gzip:
// what the file holds is checked when it is loaded).
func IsObjectFile(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var b [6]byte
	n, _ := f.ReadAt(b[:], 0)
	return string(b[:min(n, 4)]) == "\x7fELF" || dwarfx.Compression(b[:n]) != ""
}

// SetModuleSearchRoots replaces /usr/lib/debug/lib/modules and
// /lib/modules in ModuleSearchDirs (tests).
func SetModuleSearchRoots(debugRoot, modRoot string) {
	debugModulesRoot, modulesRoot = debugRoot, modRoot
}
