package commands

// mod -s / -S: load modules' object files for their debugging data, as
// crash's cmd_mod (kernel.c: LOAD_SPECIFIED_MODULE_SYMBOLS,
// LOAD_ALL_MODULE_SYMBOLS, find_module_objfile) does; the loading itself
// (checks, relocation, types) is program.LoadModuleDebug.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"kdive/internal/program"
)

// objFileOf returns the path of each module's loaded object file.
func objFileOf(p *program.Program) func(program.Module) string {
	return func(m program.Module) string {
		if md := p.ModuleDebugOf(m.Name); md != nil {
			return md.Path
		}
		return ""
	}
}

// modRef resolves crash's module reference: a module name, or a
// 16-digit hexadecimal address inside a module's memory or of its struct
// module.
func modRef(mods []program.Module, ref string) (program.Module, bool) {
	for _, m := range mods {
		if m.Name == ref {
			return m, true
		}
	}
	if len(ref) == 16 {
		if a, err := strconv.ParseUint(ref, 16, 64); err == nil {
			for _, m := range mods {
				if a == m.Addr || a >= m.Base && a < m.Base+m.Size {
					return m, true
				}
			}
		}
	}
	return program.Module{}, false
}

// modLoad is mod -s MODULE [OBJFILE].
func modLoad(env *Env, p *program.Program, mods []program.Module, ref string, rest []string) error {
	m, ok := modRef(mods, ref)
	if !ok || len(rest) > 1 {
		writeUsage(env, "mod", modSynopsis)
		if !ok {
			return fmt.Errorf("%s: not a loaded module", ref)
		}
		return fmt.Errorf("unexpected argument: %s", rest[1])
	}
	var file string
	if len(rest) == 1 {
		file = rest[0]
		if _, err := os.Stat(file); err != nil {
			if file = program.NewModuleFinder(p.ModuleSearchDirs()...).FindFile(filepath.Base(rest[0])); file == "" {
				return fmt.Errorf("%s: cannot find or load object file: %s", m.Name, rest[0])
			}
		}
	} else if file = program.NewModuleFinder(p.ModuleSearchDirs()...).Find(m.Name); file == "" {
		return fmt.Errorf("cannot find or load object file for %s module (searched %s)", m.Name, joinDirs(p.ModuleSearchDirs()))
	}
	if !program.IsObjectFile(file) {
		writeUsage(env, "mod", modSynopsis)
		return fmt.Errorf("%s: not an ELF format object file", file)
	}
	if _, err := p.LoadModuleDebug(m.Name, file); err != nil && !errors.Is(err, program.ErrModuleDebugLoaded) {
		return err
	}
	writeModTable(env.Out, mods, true, func(x program.Module) bool { return x.Addr == m.Addr }, objFileOf(p))
	return nil
}

// modLoadAll is mod -S [DIRECTORY]: each module's object file found in
// the directory tree (by default crash's search path) is loaded; the table
// lists the modules that have one. What cannot be found or loaded is said
// on stderr, one line each, and the command goes on.
func modLoadAll(env *Env, p *program.Program, mods []program.Module, rest []string) error {
	if len(rest) > 1 {
		writeUsage(env, "mod", modSynopsis)
		return fmt.Errorf("unexpected argument: %s", rest[1])
	}
	dirs := p.ModuleSearchDirs()
	if len(rest) == 1 {
		if st, err := os.Stat(rest[0]); err != nil || !st.IsDir() {
			writeUsage(env, "mod", modSynopsis)
			return fmt.Errorf("%s is not a directory", rest[0])
		}
		dirs = []string{rest[0]}
	}
	finder := program.NewModuleFinder(dirs...)
	sorted := SortModules(mods)
	hdr := true
	for _, m := range sorted {
		row := func() {
			writeModTable(env.Out, sorted, hdr, func(x program.Module) bool { return x.Addr == m.Addr }, objFileOf(p))
			hdr = false
		}
		file := finder.Find(m.Name)
		switch {
		case file != "":
			if !program.IsObjectFile(file) {
				fmt.Fprintf(env.Err, "mod: %s: not an ELF format object file\n", file)
			} else if _, err := p.LoadModuleDebug(m.Name, file); err != nil && !errors.Is(err, program.ErrModuleDebugLoaded) {
				fmt.Fprintf(env.Err, "mod: %v\n", err)
			}
			row()
		case p.ModuleDebugOf(m.Name) != nil:
			row()
		default:
			fmt.Fprintf(env.Err, "mod: cannot find or load object file for %s module\n", m.Name)
		}
	}
	return nil
}

func joinDirs(dirs []string) string {
	if len(dirs) == 0 {
		return "no directory"
	}
	s := ""
	for i, d := range dirs {
		if i > 0 {
			s += ", "
		}
		s += d
	}
	return s
}
