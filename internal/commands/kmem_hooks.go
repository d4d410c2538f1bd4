package commands

// The kmem command is split between two files: kmem.go (options, pages,
// zones, memory summary, vmalloc, and the dispatch) and kmem_slab.go (the
// SLUB answers). kmem_slab.go fills these in from its init function, so
// either file can land first.
var kmemSlab struct {
	// Summary prints crash's `kmem -s [cache...]` (verbose=false) or
	// `kmem -S [cache...]` (verbose=true) output; names empty means all.
	Summary func(env *Env, verbose bool, names []string, opt SlabOptions) error
	// Addr prints the CACHE / SLAB / FREE-[ALLOCATED] lines of `kmem ADDR`
	// when addr lies in a slab page, and reports found=true; found=false
	// and no output otherwise. The caller prints the page block after it.
	Addr func(env *Env, addr uint64) (found bool, err error)
	// CacheOf names the slab cache an address belongs to ("" when none),
	// for `rd -S`.
	CacheOf func(env *Env, addr uint64) string
}

// SlabOptions are kmem's options for the slab summary.
type SlabOptions struct {
	Ignore []string // -I: caches shown as [IGNORED]
	CPUs   string   // -S=LIST: only these CPUs' sections (crash's cpu list), "" for all
}
