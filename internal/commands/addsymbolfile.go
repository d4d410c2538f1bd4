package commands

// add-symbol-file: gdb's command, which crash users type to load a
// module's object file with its .text at an address (crash 8.0.2 prints
// gdb 10.2's messages: "add symbol table from file "FILE" at", one
// "\tSECTION_addr = 0x..." line per section given, "Reading symbols from
// FILE..."). kdive loads a loaded module's file as mod -s does: with the
// section addresses the kernel recorded in struct module, whatever
// addresses were typed (a disagreement is said in one line).

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"kdive/internal/dwarfx"
	"kdive/internal/program"
)

func init() {
	Register(&Command{
		Name:    "add-symbol-file",
		Summary: "gdb's add-symbol-file: load a module's object file",
		Usage:   addSymbolFileSynopsis,
		Help: `  gdb's add-symbol-file, as crash users type it to load a kernel
  module's object file (.ko) for its symbols, types and source lines: what
  "mod -s MODULE FILE" does.  The module is the one the file names (its
  .modinfo name); it must be loaded in the dump.  Its sections are placed
  where the kernel placed them (the addresses struct module records):
  address (.text) and the -s section addresses are checked against them,
  and a disagreement is reported in one line (the real layout is used).

     address  the address of the module's .text (0x hexadecimal).
  -s section address  the address of another section.

  Files that are not a loaded module's cannot be loaded.

EXAMPLE
    kdive> add-symbol-file modules/kdive_rig.ko 0xffffffffc0520000
    add symbol table from file "modules/kdive_rig.ko" at
    	.text_addr = 0xffffffffc0520000
    Reading symbols from modules/kdive_rig.ko...`,
		Run: runAddSymbolFile,
	})
}

const addSymbolFileSynopsis = "file [address] [-s section address]..."

// secAddr is one section address typed.
type secAddr struct {
	name string
	addr uint64
}

func runAddSymbolFile(env *Env, args []string) error {
	p := env.Prog
	var file string
	var secs []secAddr
	v := viewOf(p)
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-s":
			if i+2 >= len(args) {
				return errors.New("Missing section name after \"-s\"")
			}
			addr, err := gdbAddr(args[i+2], v)
			if err != nil {
				return err
			}
			secs = append(secs, secAddr{args[i+1], addr})
			i += 2
		case a == "-readnow" || a == "-readnever":
		case strings.HasPrefix(a, "-"):
			return fmt.Errorf("Unrecognized argument \"%s\"", a)
		case file == "":
			file = a
		case len(secs) == 0 || secs[0].name != ".text":
			addr, err := gdbAddr(a, v)
			if err != nil {
				return err
			}
			secs = append([]secAddr{{".text", addr}}, secs...)
		default:
			return fmt.Errorf("Unrecognized argument \"%s\"", a)
		}
	}
	if file == "" {
		return errors.New("add-symbol-file takes a file name and an address")
	}
	if strings.HasPrefix(file, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			file = filepath.Join(home, file[2:])
		}
	}
	if _, err := os.Stat(file); err != nil {
		return fmt.Errorf("%s: No such file or directory.", file)
	}
	if !program.IsObjectFile(file) {
		return fmt.Errorf("%s: not in executable format: file format not recognized", file)
	}
	name, err := objectModuleName(file)
	if err != nil {
		return err
	}
	mods, err := p.Modules()
	if err != nil {
		return err
	}
	m, ok := modRef(mods, name)
	if !ok {
		return fmt.Errorf("%s is module %s, which is not loaded in the dump: kdive places only loaded modules' sections", file, name)
	}
	real, err := p.ModuleSections(m)
	if err != nil {
		return err
	}
	at := map[string]uint64{}
	for _, s := range real {
		at[s.Name] = s.Addr
	}
	if len(secs) == 0 {
		if a, ok := at[".text"]; ok {
			secs = []secAddr{{".text", a}}
		}
	}
	md, err := p.LoadModuleDebug(m.Name, file)
	if err != nil && !errors.Is(err, program.ErrModuleDebugLoaded) {
		return err
	}
	if len(secs) == 0 {
		fmt.Fprintf(env.Out, "add symbol table from file \"%s\"\n", file)
	} else {
		fmt.Fprintf(env.Out, "add symbol table from file \"%s\" at\n", file)
		for _, s := range secs {
			fmt.Fprintf(env.Out, "\t%s_addr = 0x%x\n", s.name, s.addr)
		}
	}
	fmt.Fprintf(env.Out, "Reading symbols from %s...\n", file)
	if md != nil && md.Index == nil {
		fmt.Fprintf(env.Out, "(No debugging symbols found in %s)\n", file)
	}
	for _, s := range secs {
		r, ok := at[s.name]
		switch {
		case !ok:
			fmt.Fprintf(env.Err, "add-symbol-file: module %s has no section %s in memory: 0x%x ignored\n", m.Name, s.name, s.addr)
		case r != s.addr:
			fmt.Fprintf(env.Err, "add-symbol-file: module %s's %s is at 0x%x, not 0x%x: using the module's section addresses\n", m.Name, s.name, r, s.addr)
		}
	}
	if errors.Is(err, program.ErrModuleDebugLoaded) && md != nil && md.Path != file {
		fmt.Fprintf(env.Err, "add-symbol-file: module %s's object file is loaded already from %s\n", m.Name, md.Path)
	}
	return nil
}

// objectModuleName is the module an object file is: its .modinfo name,
// else its file name without .ko (dashes as underscores, as the kernel
// names modules).
func objectModuleName(file string) (string, error) {
	obj, err := dwarfx.OpenObject(file)
	if err != nil {
		return "", fmt.Errorf("%s: %v", file, err)
	}
	defer obj.Close()
	if n, ok := obj.ModInfo("name"); ok && n != "" {
		return n, nil
	}
	base := filepath.Base(file)
	for _, ext := range []string{".xz", ".zst", ".gz"} {
		base = strings.TrimSuffix(base, ext)
	}
	base = strings.TrimSuffix(base, ".ko")
	return strings.ReplaceAll(base, "-", "_"), nil
}
