package program

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"kdive/internal/dwarfx"
	"kdive/internal/symtab"
	"kdive/internal/types"
)

// ModuleDebug is a module's object file loaded for its debugging data
// (crash's mod -s): its DWARF indexed with each section at the address
// the module's section has in the dump.
type ModuleDebug struct {
	Module   Module
	Path     string
	Sections []ModuleSection
	// Index is the module's relocated DWARF; nil when the object file
	// has none (a stripped .ko: crash loads its symbols only).
	Index *dwarfx.Index
	// Syms are the module's symbols once the file is loaded (crash's
	// store_load_module_symbols): the file's, with their types and sizes,
	// plus the kallsyms symbols the file lacks.
	Syms []symtab.Sym
	src  *dwarfx.Source
}

// modDebugs are a program's loaded module object files, by module name.
type modDebugs struct {
	mu     sync.RWMutex
	byName map[string]*ModuleDebug
	order  []string // load order: the order the type registry asks them
	// all is every file ever loaded: an unloaded module's mapping stays
	// until the program is closed (a lookup may still be reading it).
	all []*ModuleDebug
	// syms is the symbol table with the loaded modules' symbols in place
	// of their kallsyms ones (nil when none is loaded).
	syms atomic.Pointer[symtab.Table]
	// symsDirty is set when a file is loaded or unloaded: the table is
	// rebuilt on the next use (once after mod -S's many loads).
	symsDirty atomic.Bool
}

// ErrModuleDebugLoaded is returned by LoadModuleDebug when the module's
// debugging data is loaded already (crash keeps the first file).
var ErrModuleDebugLoaded = errors.New("module debugging data already loaded")

// LoadModuleDebug loads the object file path of the loaded module name:
// it checks the file is that module (its .modinfo name, the name in its
// .gnu.linkonce.this_module, its set of allocated sections against the
// sections the kernel lists for the module, and its build ID against the
// note in the module's memory), then indexes its DWARF relocated to the
// module's section addresses. From then on the module's types, global
// variables and functions are part of Types(). A file that is not the
// module is refused and nothing is loaded.
func (p *Program) LoadModuleDebug(name, path string) (*ModuleDebug, error) {
	m, err := p.findModule(name)
	if err != nil {
		return nil, err
	}
	d := &p.impl.dbg
	d.mu.RLock()
	old := d.byName[m.Name]
	d.mu.RUnlock()
	if old != nil {
		return old, ErrModuleDebugLoaded
	}
	secs, err := p.ModuleSections(m)
	if err != nil {
		return nil, err
	}
	obj, err := dwarfx.OpenObject(path)
	if err != nil {
		return nil, err
	}
	if err := p.matchObject(obj, m, secs); err != nil {
		obj.Close()
		return nil, err
	}
	md := &ModuleDebug{Module: m, Path: path, Sections: secs}
	osyms, err := obj.Symbols()
	if err != nil {
		obj.Close()
		return nil, err
	}
	md.Syms = p.moduleObjectSyms(m, osyms, secs)
	if obj.HasDWARF() {
		addrs := make(map[string]uint64, len(secs))
		for _, s := range secs {
			addrs[s.Name] = s.Addr
		}
		ix, err := obj.Index(addrs)
		if err != nil {
			obj.Close()
			return nil, err
		}
		md.Index = ix
		md.src = dwarfx.NewSource(ix, fmt.Sprintf("DWARF of module %s from %s", m.Name, path))
	} else {
		obj.Close()
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if old := d.byName[m.Name]; old != nil { // another goroutine was first
		if md.Index != nil {
			md.Index.Close()
		}
		return old, ErrModuleDebugLoaded
	}
	if d.byName == nil {
		d.byName = map[string]*ModuleDebug{}
	}
	d.byName[m.Name] = md
	d.order = append(d.order, m.Name)
	d.all = append(d.all, md)
	d.symsDirty.Store(true)
	return md, nil
}

// close unmaps every object file loaded, unloaded ones included (the
// program is closed: no lookups follow).
func (d *modDebugs) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, md := range d.all {
		if md.Index != nil {
			md.Index.Close()
		}
	}
	d.byName, d.order, d.all = nil, nil, nil
}

// UnloadModuleDebug forgets the loaded object file of module name (crash's
// mod -d); false when none was loaded.
func (p *Program) UnloadModuleDebug(name string) bool {
	d := &p.impl.dbg
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.byName[name] == nil {
		return false
	}
	// The mapping stays: types already converted may still be in use.
	delete(d.byName, name)
	for i, n := range d.order {
		if n == name {
			d.order = append(d.order[:i:i], d.order[i+1:]...)
			break
		}
	}
	d.symsDirty.Store(true)
	return true
}

// UnloadAllModuleDebug forgets every loaded module object file (mod -D).
func (p *Program) UnloadAllModuleDebug() {
	d := &p.impl.dbg
	d.mu.Lock()
	d.byName, d.order = nil, nil
	d.symsDirty.Store(true)
	d.mu.Unlock()
}

// ModuleDebugOf returns the loaded object file of module name, nil when
// none is loaded.
func (p *Program) ModuleDebugOf(name string) *ModuleDebug {
	if p.impl == nil {
		return nil
	}
	d := &p.impl.dbg
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.byName[name]
}

// ModuleDebugAt returns the loaded object file of the module whose
// memory holds addr (one of its sections' ranges: the section starting
// at or before addr, in the module's core memory), nil when none.
func (p *Program) ModuleDebugAt(addr uint64) *ModuleDebug {
	for _, md := range p.loadedModuleDebug() {
		m := md.Module
		if addr >= m.Base && addr < m.Base+m.Size {
			return md
		}
	}
	return nil
}

func (p *Program) loadedModuleDebug() []*ModuleDebug {
	if p.impl == nil {
		return nil
	}
	return p.impl.loadedModuleDebug()
}

func (s *state) loadedModuleDebug() []*ModuleDebug {
	d := &s.dbg
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := make([]*ModuleDebug, 0, len(d.order))
	for _, n := range d.order {
		out = append(out, d.byName[n])
	}
	return out
}

// rebuildSymbols makes the symbol table with each loaded module's
// symbols from its object file instead of kallsyms (symbols() calls it
// when a load or unload made the table stale).
func (s *state) rebuildSymbols() {
	d := &s.dbg
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.symsDirty.Load() {
		return
	}
	d.symsDirty.Store(false)
	if len(d.byName) == 0 {
		d.syms.Store(nil)
		return
	}
	var mod []symtab.Sym
	for _, sym := range s.modSyms {
		if d.byName[sym.Module] == nil {
			mod = append(mod, sym)
		}
	}
	for _, n := range d.order {
		mod = append(mod, d.byName[n].Syms...)
	}
	d.syms.Store(s.base.With(mod))
}

// moduleObjectSyms is crash's store_load_module_symbols: the symbols of
// the object file in the sections it finds in the module (a section
// counts when one of its named symbols is in the module's kallsyms), at
// kallsyms' address when kallsyms has the name, else at their section's
// address plus their value; names starting with '.' are left out. The
// module's kallsyms symbols the file does not name stay (crash shows them
// with type '?'). Sorted by address, then name.
func (p *Program) moduleObjectSyms(m Module, osyms []dwarfx.ObjSym, secs []ModuleSection) []symtab.Sym {
	kall := map[string]symtab.Sym{}
	var kallList []symtab.Sym
	for _, s := range p.impl.modSyms {
		if s.Module == m.Name {
			kallList = append(kallList, s)
			if _, dup := kall[s.Name]; !dup {
				kall[s.Name] = s
			}
		}
	}
	secAddr := map[string]uint64{}
	for _, s := range secs {
		secAddr[s.Name] = s.Addr
	}
	found := map[string]bool{}
	if _, ok := secAddr[".data..percpu"]; ok {
		// crash places the per-CPU section at module.percpu whether
		// kallsyms names its symbols or not (symbols.c:
		// store_section_data; kallsyms has them only with
		// CONFIG_KALLSYMS_ALL, kernel/module/kallsyms.c: is_core_symbol).
		found[".data..percpu"] = true
	}
	for _, o := range osyms {
		if _, ok := kall[o.Name]; ok && o.Section != "" && o.Type != 3 && o.Type != 4 {
			found[o.Section] = true
		}
	}
	var out []symtab.Sym
	named := map[string]bool{}
	for _, o := range osyms {
		if o.Section == "" || !found[o.Section] || o.Type == 4 || o.Name == "" || o.Name[0] == '.' {
			continue
		}
		base, ok := secAddr[o.Section]
		if !ok {
			continue
		}
		s := symtab.Sym{Name: o.Name, Addr: base + o.Value, Size: o.Size, Type: o.Letter(), Module: m.Name, FromObject: true}
		if k, ok := kall[o.Name]; ok {
			s.Addr = k.Addr
		}
		named[o.Name] = true
		out = append(out, s)
	}
	for _, k := range kallList {
		if !named[k.Name] {
			out = append(out, k)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Addr != out[j].Addr {
			return out[i].Addr < out[j].Addr
		}
		return out[i].Name < out[j].Name
	})
	return out
}

func (p *Program) findModule(name string) (Module, error) {
	mods, err := p.Modules()
	for _, m := range mods {
		if m.Name == name {
			return m, nil
		}
	}
	if err != nil {
		return Module{}, fmt.Errorf("%s: not a loaded module (%v)", name, err)
	}
	return Module{}, fmt.Errorf("%s: not a loaded module", name)
}

// Sections of an object file that the kernel never lists as a module's
// sections: the loader clears SHF_ALLOC of __versions and .modinfo
// (kernel/module/main.c: layout_and_allocate, setup_load_info) and of the
// per-CPU section, which goes to per-CPU memory.
var unlistedSections = map[string]bool{"__versions": true, ".modinfo": true, ".data..percpu": true}

// matchObject checks that obj is the object file of module m, whose
// sections the kernel placed at secs.
func (p *Program) matchObject(obj *dwarfx.Object, m Module, secs []ModuleSection) error {
	path := obj.Path()
	if n, ok := obj.ModInfo("name"); ok && n != m.Name {
		return fmt.Errorf("%s is module %s (its .modinfo says name=%s), not %s", path, n, n, m.Name)
	}
	if tm, ok := obj.Contents(".gnu.linkonce.this_module"); ok {
		if off, err := p.MemberOffset("module", "name"); err == nil && off < uint64(len(tm)) {
			if n := cstr(tm[off:min(uint64(len(tm)), off+64)]); n != m.Name {
				return fmt.Errorf("%s is module %s (its .gnu.linkonce.this_module names it), not %s", path, n, m.Name)
			}
		}
	}
	if err := matchSections(obj, m, secs); err != nil {
		return err
	}
	// The build ID note is loaded with the module: it must be the file's.
	if id, note := obj.BuildID(); id != nil {
		for _, s := range secs {
			if s.Name != ".note.gnu.build-id" {
				continue
			}
			mem := make([]byte, len(note))
			if _, err := p.ReadAt(mem, s.Addr); err != nil {
				break // not in the dump: the other checks stand
			}
			if !bytes.Equal(mem, note) {
				return fmt.Errorf("%s: build ID %x is not module %s's (its note at %#x differs)", path, id, m.Name, s.Addr)
			}
		}
	}
	return nil
}

// matchSections compares the object's allocated, non-empty sections with
// the ones the kernel lists for the module (init sections, which the
// kernel may have freed, and its own .symtab/.strtab copies aside).
func matchSections(obj *dwarfx.Object, m Module, secs []ModuleSection) error {
	inMem := map[string]bool{}
	for _, s := range secs {
		if strings.HasPrefix(s.Name, ".init") || s.Name == ".symtab" || s.Name == ".strtab" || unlistedSections[s.Name] {
			continue
		}
		inMem[s.Name] = true
	}
	inFile := map[string]bool{}
	for _, s := range obj.Sections() {
		if !s.Alloc || s.Size == 0 || strings.HasPrefix(s.Name, ".init") || unlistedSections[s.Name] {
			continue
		}
		inFile[s.Name] = true
	}
	var onlyMem, onlyFile []string
	for n := range inMem {
		if !inFile[n] {
			onlyMem = append(onlyMem, n)
		}
	}
	for n := range inFile {
		if !inMem[n] {
			onlyFile = append(onlyFile, n)
		}
	}
	if len(onlyMem) == 0 && len(onlyFile) == 0 {
		return nil
	}
	sort.Strings(onlyMem)
	sort.Strings(onlyFile)
	var why []string
	if len(onlyMem) > 0 {
		why = append(why, "module "+m.Name+" has "+strings.Join(onlyMem, " ")+" and the file not")
	}
	if len(onlyFile) > 0 {
		why = append(why, "the file has "+strings.Join(onlyFile, " ")+" and module "+m.Name+" not")
	}
	return fmt.Errorf("%s does not match module %s's sections: %s", obj.Path(), m.Name, strings.Join(why, "; "))
}

// moduleDWARF is the type source over the loaded modules' DWARF, asked
// in load order; empty until mod -s loads one. (It holds the state, not
// the Program, so that the Program can still be collected.)
type moduleDWARF struct{ s *state }

func (s moduleDWARF) LookupType(name string) (*types.Type, error) {
	for _, md := range s.s.loadedModuleDebug() {
		if md.src == nil {
			continue
		}
		if t, err := md.src.LookupType(name); err == nil {
			return t, nil
		}
	}
	return nil, fmt.Errorf("type %q: %w", name, types.ErrNotFound)
}

func (s moduleDWARF) LookupVar(name string) (*types.Type, error) {
	for _, md := range s.s.loadedModuleDebug() {
		if md.src == nil {
			continue
		}
		if t, err := md.src.LookupVar(name); err == nil {
			return t, nil
		}
	}
	return nil, fmt.Errorf("variable %q: %w", name, types.ErrNotFound)
}

func (s moduleDWARF) LookupEnumerator(name string) (*types.Type, int64, error) {
	for _, md := range s.s.loadedModuleDebug() {
		if md.src == nil {
			continue
		}
		if t, v, err := md.src.LookupEnumerator(name); err == nil {
			return t, v, nil
		}
	}
	return nil, 0, fmt.Errorf("enumerator %q: %w", name, types.ErrNotFound)
}

func (s moduleDWARF) Describe() string {
	var names []string
	for _, md := range s.s.loadedModuleDebug() {
		names = append(names, md.Module.Name)
	}
	if len(names) == 0 {
		return "the DWARF of modules loaded with mod -s (none loaded)"
	}
	return "the DWARF of modules loaded with mod -s: " + strings.Join(names, ", ")
}
