package commands

// mod: the loaded kernel modules, as crash's cmd_mod / do_module_cmd
// (kernel.c) list them, and their taint flags (show_module_taint_4_10).

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"kdive/internal/program"
)

func init() {
	Register(&Command{
		Name:    "mod",
		Summary: "module information and loading of symbols and debugging data",
		Usage:   modSynopsis,
		Help: `  With no option, this command lists the loaded modules, sorted by base
  address as crash lists them:

    MODULE       the address of the module's struct module
    NAME         the module's name
    BASE         the start of the module's core (text) memory
    SIZE         the size of its core memory in bytes (what lsmod shows)
    OBJECT FILE  the module's object file once mod -s or -S loaded it;
                 else "(not loaded)  [CONFIG_KALLSYMS]": the module's
                 symbols come from its in-memory kallsyms

        -t  show the modules that taint the kernel, with their taint
            letters (as in /proc/modules: O out-of-tree, E unsigned, P
            proprietary, ...); "no tainted modules" when none does.
  -s module [objfile]
            load the module's object file (.ko, or its debug copy) for its
            debugging data: its DWARF (4 or 5) relocated to the addresses
            the kernel gave its sections (struct module.sect_attrs), so its
            own types, its global variables (with their types) and its
            functions work in p, struct, whatis, ptype, list as vmlinux's
            do. The module may be named by a 16-digit address inside it.
            Without objfile, or when objfile does not exist, it is looked
            for (NAME.o, NAME.ko, NAME.ko.debug; '-' and '_' alike) in
            /usr/lib/debug/lib/modules/RELEASE, $CRASH_MODULE_PATH,
            /lib/modules/RELEASE/updates, /lib/modules/RELEASE and the
            vmlinux's directory. A file that is not the module (another
            name in .modinfo or .gnu.linkonce.this_module, other sections,
            another build ID than the note in the module's memory) is
            refused and nothing is loaded. Shows the module's line.
        -S [directory]
            load the object file of every module found in the directory
            tree (default: the search path above) and list them; a module
            with no file found is named on stderr.
  -d module
            unload the module's object file (its types and variables go).
        -D  unload every module's object file.
        -g, -r  accepted and ignored (crash's section-symbol and readnow
            flags for gdb).

EXAMPLES
    kdive> mod
         MODULE       NAME          BASE         SIZE  OBJECT FILE
    ffffffffc02af2c0  virtio  ffffffffc02ad000  20480  (not loaded)  [CONFIG_KALLSYMS]
    kdive> mod -t
    NAME       TAINTS
    kdive_rig  OE
    kdive> mod -s kdive_rig /tmp/kdive_rig.ko
         MODULE       NAME                         BASE         SIZE  OBJECT FILE
    ffffffffc0522040  kdive_rig              ffffffffc0520000  16384  /tmp/kdive_rig.ko
    kdive> p kdive_rig_global.state->counter
    $1 = 1`,
		Run: runMod,
	})
}

const modSynopsis = "-s module [objfile] | -d module | -S [directory] [-D|-t|-r|-R|-o|-g]"

func runMod(env *Env, args []string) error {
	// crash strips -g and -r (section data, readnow) from any option word
	// before getopt; they only matter when symbols are loaded.
	var words []string
	for _, a := range args {
		if strings.HasPrefix(a, "-") && a != "-" && a != "--" {
			a = "-" + strings.NewReplacer("g", "", "r", "").Replace(a[1:])
			if a == "-" {
				continue
			}
		}
		words = append(words, a)
	}
	opts, rest, err := getopt("mod", words, "Rd:Ds:Sot")
	if err != nil {
		writeUsage(env, "mod", modSynopsis)
		return err
	}
	if len(opts) > 1 {
		writeUsage(env, "mod", modSynopsis)
		return errors.New("only one of -s, -S, -d, -D, -R, -o and -t at a time")
	}
	p := env.Prog
	if p == nil {
		return errors.New("no dump file")
	}
	mods, err := p.Modules()
	if err != nil && len(mods) == 0 {
		return err
	}
	if err != nil {
		fmt.Fprintf(env.Err, "mod: %v\n", err)
	}
	if len(opts) == 0 {
		if len(rest) > 0 {
			writeUsage(env, "mod", modSynopsis)
			return fmt.Errorf("unexpected argument: %s", rest[0])
		}
		if len(mods) == 0 {
			fmt.Fprintln(env.Out, "no modules installed")
			return nil
		}
		WriteModulesFiles(env.Out, SortModules(mods), objFileOf(p))
		return nil
	}
	switch o := opts[0]; o.c {
	case 't':
		if len(rest) > 0 {
			writeUsage(env, "mod", modSynopsis)
			return fmt.Errorf("unexpected argument: %s", rest[0])
		}
		taints, err := ModuleTaints(p, SortModules(mods))
		if err != nil {
			return err
		}
		WriteModuleTaints(env.Out, taints)
		return nil
	case 's':
		return modLoad(env, p, mods, o.arg, rest)
	case 'S':
		return modLoadAll(env, p, mods, rest)
	case 'd':
		if len(rest) > 0 {
			writeUsage(env, "mod", modSynopsis)
			return fmt.Errorf("unexpected argument: %s", rest[0])
		}
		m, ok := modRef(mods, o.arg)
		if !ok {
			writeUsage(env, "mod", modSynopsis)
			return fmt.Errorf("%s: not a loaded module", o.arg)
		}
		p.UnloadModuleDebug(m.Name)
		return nil
	case 'D':
		if len(rest) > 0 {
			writeUsage(env, "mod", modSynopsis)
			return fmt.Errorf("unexpected argument: %s", rest[0])
		}
		p.UnloadAllModuleDebug()
		return nil
	case 'R':
		return errors.New("-R: module data is read from the dump on each command; there is nothing to reinitialize")
	case 'o':
		return errors.New("-o: not applicable: kdive relocates module object files itself (no gdb add-symbol-file)")
	}
	return nil
}

// SortModules returns the modules sorted by base address, crash's order
// (compare_mods).
func SortModules(mods []program.Module) []program.Module {
	out := append([]program.Module(nil), mods...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Base < out[j].Base })
	return out
}

// WriteModules prints crash's `mod` table. The NAME and SIZE columns are
// as wide as the longest name and size; MODULE and BASE are centred over
// 16 columns.
func WriteModules(w io.Writer, mods []program.Module) {
	WriteModulesFiles(w, mods, nil)
}

// WriteModulesFiles is WriteModules with each module's loaded object file
// (objfile returns "" for none): crash prints its path and a blank in the
// OBJECT FILE column.
func WriteModulesFiles(w io.Writer, mods []program.Module, objfile func(program.Module) string) {
	writeModTable(w, mods, true, nil, objfile)
}

// writeModTable is crash's do_module_cmd LIST_MODULE(_HDR): the header
// (when hdr) and the rows of the modules show selects (all when nil), with
// the NAME and SIZE columns as wide as the longest of all modules.
func writeModTable(w io.Writer, mods []program.Module, hdr bool, show func(program.Module) bool, objfile func(program.Module) string) {
	nameW, sizeW := 0, 0
	for _, m := range mods {
		nameW = max(nameW, len(m.Name))
		sizeW = max(sizeW, len(fmt.Sprint(m.Size)))
	}
	if hdr {
		fmt.Fprintf(w, "%s  %-*s  %s  %*s  OBJECT FILE\n",
			mkCenter("MODULE", 16, false), nameW, "NAME", mkCenter("BASE", 16, false), sizeW, "SIZE")
	}
	for _, m := range mods {
		if show != nil && !show(m) {
			continue
		}
		file := ""
		if objfile != nil {
			file = objfile(m)
		}
		if file != "" {
			file += " "
		} else {
			file = "(not loaded)  [CONFIG_KALLSYMS]"
		}
		fmt.Fprintf(w, "%16x  %-*s  %16x  %*d  %s\n",
			m.Addr, nameW, m.Name, m.Base, sizeW, m.Size, file)
	}
}

// mkCenter is crash's mkstring with CENTER: s centred in width; when the
// padding is odd the extra space goes right, or left with rjust.
func mkCenter(s string, width int, rjust bool) string {
	extra := width - len(s)
	if extra <= 0 {
		return s
	}
	left, right := extra/2, extra/2
	if extra%2 != 0 {
		if rjust {
			left++
		} else {
			right++
		}
	}
	return strings.Repeat(" ", left) + s + strings.Repeat(" ", right)
}

// ModuleTaint is one tainting module and its taint letters.
type ModuleTaint struct {
	Name    string
	Mask    uint64 // struct module.taints
	Letters string
}

// ModuleTaints reads struct module.taints of each module and spells the
// set bits with the kernel's taint_flags[] table (the c_true letter of
// each flag whose .module is true), as crash's show_module_taint_4_10
// does. Modules with no taint are left out.
func ModuleTaints(p *program.Program, mods []program.Module) ([]ModuleTaint, error) {
	off, err := p.MemberOffset("module", "taints")
	if err != nil {
		return nil, fmt.Errorf("-t: %w", err)
	}
	size, err := p.MemberSize("module", "taints")
	if err != nil || size == 0 || size > 8 {
		size = 8
	}
	flags, err := taintFlags(p)
	if err != nil {
		return nil, err
	}
	var out []ModuleTaint
	for _, m := range mods {
		b := make([]byte, 8)
		if _, err := p.ReadAt(b[:size], m.Addr+off); err != nil {
			return out, fmt.Errorf("module %s: taints: %w", m.Name, err)
		}
		var mask uint64
		for i := int(size) - 1; i >= 0; i-- {
			mask = mask<<8 | uint64(b[i])
		}
		if mask == 0 {
			continue
		}
		var letters []byte
		for i, f := range flags {
			if i < 64 && f.module && mask&(1<<i) != 0 {
				letters = append(letters, f.cTrue)
			}
		}
		out = append(out, ModuleTaint{Name: m.Name, Mask: mask, Letters: string(letters)})
	}
	return out, nil
}

type taintFlag struct {
	cTrue, cFalse byte
	module        bool
}

// taintFlags reads the kernel's taint_flags[] (struct taint_flag: char
// c_true, char c_false, bool module). Its length is the symbol's size when
// the vmlinux gives it; from kallsyms alone, the entries up to the next
// symbol, stopping at the first that is not a letter.
func taintFlags(p *program.Program) ([]taintFlag, error) {
	addr, err := p.Symbol("taint_flags")
	if err != nil {
		return nil, fmt.Errorf("-t: taint_flags: %w", err)
	}
	esz, err := p.TypeSize("taint_flag")
	if err != nil || esz < 3 {
		esz = 3
	}
	oTrue, e1 := p.MemberOffset("taint_flag", "c_true")
	if e1 != nil {
		oTrue, e1 = p.MemberOffset("taint_flag", "true")
	}
	oFalse, e2 := p.MemberOffset("taint_flag", "c_false")
	if e2 != nil {
		oFalse, e2 = p.MemberOffset("taint_flag", "false")
	}
	oMod, e3 := p.MemberOffset("taint_flag", "module")
	if e1 != nil || e2 != nil || e3 != nil {
		oTrue, oFalse, oMod = 0, 1, 2
	}
	n := uint64(0)
	exact := false
	if s, ok := p.Symbols().Lookup("taint_flags"); ok && s.Size > 0 {
		n, exact = s.Size/esz, true
	} else {
		n = 64
		all := p.Symbols().All()
		i := sort.Search(len(all), func(i int) bool { return all[i].Addr > addr })
		if i < len(all) && (all[i].Addr-addr)/esz < n {
			n = (all[i].Addr - addr) / esz
		}
	}
	buf := make([]byte, n*esz)
	if _, err := p.ReadAt(buf, addr); err != nil {
		return nil, fmt.Errorf("-t: taint_flags at %#x: %w", addr, err)
	}
	var out []taintFlag
	for i := uint64(0); i < n; i++ {
		e := buf[i*esz:]
		f := taintFlag{cTrue: e[oTrue], cFalse: e[oFalse], module: e[oMod] != 0}
		if !exact && (f.cTrue < 'A' || f.cTrue > 'Z') {
			break
		}
		out = append(out, f)
	}
	return out, nil
}

// WriteModuleTaints prints crash's `mod -t`.
func WriteModuleTaints(w io.Writer, taints []ModuleTaint) {
	if len(taints) == 0 {
		fmt.Fprintln(w, "no tainted modules")
		return
	}
	nameW := 0
	for _, t := range taints {
		nameW = max(nameW, len(t.Name))
	}
	fmt.Fprintf(w, "%-*s  TAINTS\n", nameW, "NAME")
	for _, t := range taints {
		fmt.Fprintf(w, "%-*s  %s\n", nameW, t.Name, t.Letters)
	}
}
