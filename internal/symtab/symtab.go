// Package symtab holds a kernel's symbols (vmlinux ELF symbols or the dump's
// kallsyms, plus module symbols) with lookups by name and by address.
package symtab

import (
	"cmp"
	"slices"
	"sort"
	"strings"
)

// Sym is one symbol.
type Sym struct {
	Name   string
	Addr   uint64
	Size   uint64 // 0 when unknown (kallsyms)
	Type   byte   // nm-style type letter: T t D d B b R r A W ...
	Module string // "" for vmlinux
	// FromObject marks a module symbol read from the module's object
	// file (mod -s): Type and Size are the file's, not kallsyms'.
	FromObject bool
}

// Table is a symbol table sorted by address.
type Table struct {
	syms []Sym // sorted by Addr (stable: input order among equals)
	// byName maps a name to the index of one symbol of that name; next
	// chains the other symbols of the same name (-1 ends the chain).
	byName map[string]int32
	next   []int32
	Source string // "vmlinux ELF symbol table" or "kallsyms in the dump"
}

// New builds a table; syms is taken over and sorted.
func New(syms []Sym, source string) *Table {
	t := &Table{syms: sortByAddr(syms), Source: source}
	t.index()
	return t
}

// sortByAddr sorts stably by address. It sorts small (address, index) keys
// and permutes once: moving 64-byte Syms around in the sort costs 3x more.
func sortByAddr(syms []Sym) []Sym {
	type key struct {
		addr uint64
		i    int32
	}
	keys := make([]key, len(syms))
	sorted := true
	for i := range syms {
		keys[i] = key{syms[i].Addr, int32(i)}
		if i > 0 && syms[i].Addr < syms[i-1].Addr {
			sorted = false
		}
	}
	if sorted {
		return syms
	}
	slices.SortFunc(keys, func(a, b key) int {
		if c := cmp.Compare(a.addr, b.addr); c != 0 {
			return c
		}
		return cmp.Compare(a.i, b.i)
	})
	out := make([]Sym, len(syms))
	for j, k := range keys {
		out[j] = syms[k.i]
	}
	return out
}

func (t *Table) index() {
	t.byName = make(map[string]int32, len(t.syms))
	t.next = make([]int32, len(t.syms))
	for i := len(t.syms) - 1; i >= 0; i-- {
		n := t.syms[i].Name
		if j, ok := t.byName[n]; ok {
			t.next[i] = j
		} else {
			t.next[i] = -1
		}
		t.byName[n] = int32(i)
	}
}

// With returns a new table holding t's symbols and more (module symbols);
// t is unchanged.
func (t *Table) With(more []Sym) *Table {
	more = sortByAddr(slices.Clone(more))
	merged := make([]Sym, 0, len(t.syms)+len(more))
	i, j := 0, 0
	for i < len(t.syms) || j < len(more) {
		if j == len(more) || i < len(t.syms) && t.syms[i].Addr <= more[j].Addr {
			merged = append(merged, t.syms[i])
			i++
		} else {
			merged = append(merged, more[j])
			j++
		}
	}
	n := &Table{syms: merged, Source: t.Source}
	n.index()
	return n
}

// Len returns the number of symbols.
func (t *Table) Len() int { return len(t.syms) }

// All returns the symbols sorted by address (do not modify).
func (t *Table) All() []Sym { return t.syms }

// Lookup returns the symbol of that name, preferring a global one from vmlinux.
func (t *Table) Lookup(name string) (Sym, bool) {
	first, ok := t.byName[name]
	if !ok {
		return Sym{}, false
	}
	best := t.syms[first]
	for i := t.next[first]; i >= 0; i = t.next[i] {
		s := t.syms[i]
		if best.Module != "" && s.Module == "" || isLower(best.Type) && !isLower(s.Type) && (s.Module == "") == (best.Module == "") {
			best = s
		}
	}
	return best, true
}

// LookupAll returns every symbol of that name.
func (t *Table) LookupAll(name string) []Sym {
	var out []Sym
	first, ok := t.byName[name]
	if !ok {
		return nil
	}
	for i := first; i >= 0; i = t.next[i] {
		out = append(out, t.syms[i])
	}
	return out
}

func isLower(c byte) bool { return c >= 'a' && c <= 'z' }

// containing reports whether a symbol can "contain" an address after it:
// absolute symbols and the per-CPU offsets do not describe kernel addresses.
func containing(s *Sym) bool { return s.Type != 'A' && s.Type != 'a' }

// ByAddr returns the symbol at or before addr and the offset of addr in it.
// maxOff bounds how far past a symbol of unknown size an address may be.
func (t *Table) ByAddr(addr uint64) (Sym, uint64, bool) {
	i := sort.Search(len(t.syms), func(i int) bool { return t.syms[i].Addr > addr }) - 1
	for ; i >= 0; i-- {
		s := &t.syms[i]
		if !containing(s) {
			continue
		}
		// Among several symbols at one address prefer a global one
		// that is not a section marker.
		j := i
		for j > 0 && t.syms[j-1].Addr == s.Addr {
			j--
			if better(&t.syms[j], &t.syms[i]) {
				i = j
			}
		}
		s = &t.syms[i]
		if s.Size != 0 && addr-s.Addr >= s.Size {
			// Past the end of a sized symbol: still report it like crash does
			// when nothing else follows closely.
		}
		return *s, addr - s.Addr, true
	}
	return Sym{}, 0, false
}

func better(a, b *Sym) bool {
	if !containing(a) {
		return false
	}
	if !containing(b) {
		return true
	}
	return !isLower(a.Type) && isLower(b.Type)
}

// Search returns symbols whose name contains sub.
func (t *Table) Search(sub string) []Sym {
	var out []Sym
	for _, s := range t.syms {
		if strings.Contains(s.Name, sub) {
			out = append(out, s)
		}
	}
	return out
}

// Module returns a module's symbols, sorted by address.
func (t *Table) Module(mod string) []Sym {
	var out []Sym
	for _, s := range t.syms {
		if s.Module == mod {
			out = append(out, s)
		}
	}
	return out
}
