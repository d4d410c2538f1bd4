package commands

// The SLUB answers of kmem (-s, -S, an address in a slab) and rd -S, in
// crash's formats (memory.c: dump_kmem_cache_slub, do_kmem_cache_slub,
// do_slab_slub, do_node_lists_slub). Object states come from the decoded
// freelists (internal/kernel/slub); a freelist that cannot be followed is
// reported, never turned into a verdict.

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"

	"kdive/internal/kernel/slub"
	"kdive/internal/kernel/tasks"
	"kdive/internal/program"
)

func init() {
	kmemSlab.Summary = kmemSlabSummary
	kmemSlab.Addr = kmemSlabAddr
	kmemSlab.CacheOf = kmemSlabCacheOf
}

const (
	kmemCacheHdr = "CACHE             OBJSIZE  ALLOCATED     TOTAL  SLABS  SSIZE  NAME\n"
	slabHdr      = "SLAB              MEMORY            NODE  TOTAL  ALLOCATED  FREE\n"
	freeInuseHdr = "FREE / [ALLOCATED]\n"
)

// slubSource is a program as the slub reader's source, with bitfield
// positions from the program's types.
type slubSource struct{ *program.Program }

func (s slubSource) Bitfield(typ, member string) (uint64, uint64, bool) {
	reg := s.Types()
	for _, kw := range []string{"struct ", "union "} {
		t, err := reg.LookupType(kw + typ)
		if err != nil || t == nil {
			continue
		}
		if f, ok := t.FindMember(member); ok && f.BitSize > 0 {
			return f.BitOffset, f.BitSize, true
		}
	}
	return 0, 0, false
}

// slubKey keys the program's slub reader in its memo (the dump does not
// change, so the cache list is read once per program).
type slubKey struct{}

type slubEntry struct {
	sync.Mutex
	r   *slub.Reader
	err error
}

// slubReader returns the program's reader, locked; call unlock when done.
func slubReader(p *program.Program) (r *slub.Reader, unlock func(), err error) {
	if p == nil {
		return nil, nil, errors.New("no dump is open")
	}
	e := p.Memo(slubKey{}, func() any {
		e := &slubEntry{}
		// crash's kt->cpus: CPUs 0 .. the highest possible one.
		n := 1
		if cpus := tasks.PossibleCPUs(p); len(cpus) > 0 {
			n = cpus[len(cpus)-1] + 1
		}
		e.r, e.err = slub.New(slubSource{p}, n)
		return e
	}).(*slubEntry)
	if e.err != nil {
		return nil, nil, e.err
	}
	e.Lock()
	return e.r, e.Unlock, nil
}

// slubOut carries one kmem run: the output, and whether a slab could not
// be shown (its error went to env.Err in place).
type slubOut struct {
	env    *Env
	w      io.Writer
	r      *slub.Reader
	failed bool
	ignore map[string]bool // -I caches
	cpus   map[int]bool    // -S=LIST: the CPUs shown (nil: all)
}

// ignored prints crash's line for a cache named by -I and reports it.
func (o *slubOut) ignored(c *slub.Cache) bool {
	if !o.ignore[c.Name] {
		return false
	}
	fmt.Fprintf(o.w, "%x %-43s  %s\n", c.Addr, "[IGNORED]", c.Name)
	return true
}

func (o *slubOut) warn(err error) {
	fmt.Fprintf(o.env.Err, "kmem: %v\n", err)
	o.failed = true
}

func (o *slubOut) result() error {
	if o.failed {
		return ErrShown
	}
	return nil
}

// kmemSlabSummary is `kmem -s [cache]` and `kmem -S [cache]`. A name that
// is hexadecimal is an address, as in crash: a kmem_cache's address
// selects that cache; any other address shows its slab (all of its
// objects with -S).
func kmemSlabSummary(env *Env, verbose bool, names []string, opt SlabOptions) error {
	r, unlock, err := slubReader(env.Prog)
	if err != nil {
		return err
	}
	defer unlock()
	o := &slubOut{env: env, w: env.Out, r: r, ignore: map[string]bool{}}
	for _, n := range opt.Ignore {
		o.ignore[n] = true
	}
	if opt.CPUs != "" {
		cpus, err := crashCPUMask(opt.CPUs, r.NrCPUs())
		if err != nil {
			return err
		}
		o.cpus = map[int]bool{}
		for _, c := range cpus {
			o.cpus[c] = true
		}
	}
	caches, lerr := r.Caches()
	if len(caches) == 0 && lerr != nil {
		return lerr
	}
	if lerr != nil {
		o.warn(lerr)
	}
	if len(names) == 0 {
		fmt.Fprint(o.w, kmemCacheHdr)
		for i, c := range caches {
			if o.ignored(c) {
				continue // crash prints no header after an ignored cache
			}
			o.cacheLine(c)
			if verbose {
				o.cacheDetail(c)
				if i+1 < len(caches) {
					fmt.Fprint(o.w, kmemCacheHdr)
				}
			}
		}
		return o.result()
	}
	for _, name := range names {
		if a, ok := hexArg(name); ok {
			if c := r.CacheAt(a); c != nil {
				o.cacheWithHeader(c, verbose)
				continue
			}
			found, err := o.addr(a, verbose)
			if err != nil {
				return err
			}
			if !found {
				fmt.Fprintf(o.w, "kmem: address is not allocated in slab subsystem: %x\n", a)
			}
			continue
		}
		if name == "list" && r.CacheNamed(name) == nil {
			// crash's kmem_cache_list: each cache's address and name.
			for _, c := range caches {
				fmt.Fprintf(o.w, "%x %s\n", c.Addr, c.Name)
			}
			continue
		}
		c := r.CacheNamed(name)
		if c == nil {
			return fmt.Errorf("no slab cache named %q", name)
		}
		o.cacheWithHeader(c, verbose)
	}
	return o.result()
}

func hexArg(s string) (uint64, bool) {
	t := strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	if t == "" {
		return 0, false
	}
	v, err := strconv.ParseUint(t, 16, 64)
	return v, err == nil
}

func (o *slubOut) cacheWithHeader(c *slub.Cache, verbose bool) {
	fmt.Fprint(o.w, kmemCacheHdr)
	if o.ignored(c) {
		return
	}
	o.cacheLine(c)
	if verbose {
		o.cacheDetail(c)
	}
}

// cacheLine is crash's dump_kmem_cache_info line.
func (o *slubOut) cacheLine(c *slub.Cache) {
	st, err := o.r.Stats(c)
	if err != nil {
		fmt.Fprintf(o.w, "%-16x %8d  %9s  %8s  %5s  %4dk  %s\n", c.Addr, c.ObjectSize, "?", "?", "?", c.SlabBytes()/1024, c.Name)
		o.warn(fmt.Errorf("%s: cannot gather relevant slab data: %v", c.Name, err))
		return
	}
	fmt.Fprintf(o.w, "%-16x %8d  %9d  %8d  %5d  %4dk  %s\n", c.Addr, c.ObjectSize, st.Allocated, st.Total, st.Slabs, c.SlabBytes()/1024, c.Name)
}

// cacheDetail is crash's do_kmem_cache_slub: each CPU's slab and partial
// slabs with their objects, then each node's lists.
func (o *slubOut) cacheDetail(c *slub.Cache) {
	r := o.r
	cpus := r.CPUs(c)
	perCPU := map[int]int{}
	for i := 0; i < r.NrCPUs(); i++ {
		if o.cpus != nil && !o.cpus[i] {
			continue
		}
		cs, err := r.CPU(c, i)
		fmt.Fprintf(o.w, "CPU %d KMEM_CACHE_CPU:\n  %x\n", i, cs.Addr)
		if err != nil {
			o.warn(err)
			continue
		}
		fmt.Fprintf(o.w, "CPU %d SLAB:\n", i)
		if cs.Slab == 0 {
			fmt.Fprint(o.w, "  (empty)\n")
		} else {
			if s, err := r.ReadSlab(cs.Slab); err == nil {
				perCPU[s.Node]++
			}
			if !o.slabOK(c, cs.Slab, cpus, true) {
				continue
			}
		}
		fmt.Fprintf(o.w, "CPU %d PARTIAL:\n", i)
		if cs.Partial == 0 {
			fmt.Fprint(o.w, "  (empty)\n")
		}
		partial, perr := r.CPUPartial(c, cs)
		for _, p := range partial {
			if !o.slabOK(c, p, cpus, true) {
				break
			}
		}
		if perr != nil {
			o.warn(perr)
		}
	}
	for n := range c.Nodes {
		nd, err := r.Node(c, n)
		if err != nil {
			o.warn(err)
			break
		}
		if nd.Addr == 0 && n > 0 {
			continue
		}
		fmt.Fprint(o.w, "KMEM_CACHE_NODE   NODE  SLABS  PARTIAL  PER-CPU\n")
		fmt.Fprintf(o.w, "%x  %4d  %5d  %7d  %7d\n", nd.Addr, n, nd.NrSlabs, nd.NrPartial, perCPU[n])
		if nd.Addr == 0 {
			continue
		}
		partial, perr := r.NodePartial(c, nd)
		fmt.Fprintf(o.w, "NODE %d PARTIAL:\n", n)
		if len(partial) == 0 && perr == nil {
			fmt.Fprint(o.w, "  (empty)\n")
		} else if len(partial) > 0 {
			fmt.Fprint(o.w, "  "+slabHdr)
		}
		ok := true
		for _, p := range partial {
			if ok = o.slabOK(c, p, cpus, false); !ok {
				break
			}
		}
		if perr != nil {
			o.warn(perr)
			continue
		}
		if !ok {
			continue
		}
		if !r.HasFullList(c) {
			fmt.Fprintf(o.w, "NODE %d FULL:\n  (not tracked)\n", n)
			continue
		}
		full, ferr := r.NodeFull(c, nd)
		fmt.Fprintf(o.w, "NODE %d FULL:\n", n)
		if len(full) == 0 && ferr == nil {
			fmt.Fprint(o.w, "  (empty)\n")
		} else if len(full) > 0 {
			fmt.Fprint(o.w, "  "+slabHdr)
		}
		for _, p := range full {
			if !o.slabOK(c, p, cpus, false) {
				break
			}
		}
		if ferr != nil {
			o.warn(ferr)
		}
	}
	fmt.Fprint(o.w, "\n")
}

// slab is crash's do_slab_slub: the slab's line and, when verbose, its
// objects (FREE bare, [ALLOCATED] bracketed, "(cpu N cache)" on the free
// objects of a CPU slab). With spec set only the object holding addr is
// listed (unless all). The error says why the slab could not be shown.
func (o *slubOut) slab(c *slub.Cache, addr uint64, cpus []slub.CPU, verbose, spec bool, specAddr uint64) error {
	r := o.r
	s, err := r.ReadSlab(addr)
	if err != nil {
		return fmt.Errorf("%s: %v", c.Name, err)
	}
	if s.Objects == 0 {
		return fmt.Errorf("%s: slab: %x invalid objects: 0", c.Name, addr)
	}
	line := func(inuse int) {
		fmt.Fprintf(o.w, "  %-16x  %-16x  %4d  %5d  %9d  %4d\n", s.Addr, s.Base, s.Node, s.Objects, inuse, s.Objects-inuse)
	}
	if verbose {
		fmt.Fprint(o.w, "  "+slabHdr)
	}
	if !verbose {
		line(s.Inuse)
		return nil
	}
	st := r.State(c, s, cpus)
	if st.Err != nil {
		return st.Err
	}
	line(st.Allocated())
	fmt.Fprint(o.w, "  "+freeInuseHdr)
	g := &st.Geom
	for i := 0; i < g.Objects; i++ {
		p := g.Base + uint64(i)*g.Size
		if spec && (specAddr < p || specAddr >= p+g.Size) {
			continue
		}
		obj := p + g.RedLeftPad
		if st.Free[i] {
			fmt.Fprintf(o.w, "   %x  ", obj)
			if st.CPU >= 0 {
				fmt.Fprintf(o.w, "(cpu %d cache)", st.CPU)
			}
			fmt.Fprint(o.w, "\n")
		} else {
			fmt.Fprintf(o.w, "  [%x]\n", obj)
		}
		if spec && c.Flags&slub.SlabStoreUser != 0 {
			o.tracks(c, obj)
		}
	}
	return nil
}

// tracks prints an object's owner tracks (slub_debug=U), as the kernel's
// print_tracking words them: "Allocated in FUNC+off/size [mod] age=J
// cpu=C pid=P", the stack depot's frames below, then the same for "Freed
// in"; age is in jiffies before the crash. kdive's addition: crash shows
// no tracks.
func (o *slubOut) tracks(c *slub.Cache, obj uint64) {
	alloc, free, err := o.r.Tracks(c, obj)
	if err != nil {
		fmt.Fprintf(o.w, "  (owner tracks: %v)\n", err)
		return
	}
	var now uint64
	if a, err := o.env.Prog.Symbol("jiffies"); err == nil {
		now, _ = o.env.Prog.ReadU64(a)
	}
	for _, t := range []struct {
		what string
		t    slub.Track
	}{{"Allocated", alloc}, {"Freed", free}} {
		if t.t.Addr == 0 {
			continue
		}
		fmt.Fprintf(o.w, "  %s in %s age=%d cpu=%d pid=%d\n", t.what, symPS(o.env.Prog, t.t.Addr), now-t.t.When, t.t.CPU, t.t.PID)
		for _, pc := range t.t.Stack {
			fmt.Fprintf(o.w, "    %s\n", symPS(o.env.Prog, pc))
		}
		if t.t.StackErr != nil {
			fmt.Fprintf(o.w, "    (stack: %v)\n", t.t.StackErr)
		}
	}
}

// symPS is the kernel's %pS: FUNC+0xoff/0xsize [module], the bare
// address when no symbol holds it.
func symPS(p *program.Program, addr uint64) string {
	s, off, ok := p.SymbolAt(addr)
	if !ok {
		return fmt.Sprintf("%#x", addr)
	}
	// The size as kallsyms gives it (to the next symbol's address), as
	// the kernel printed it, not the ELF symbol's size.
	size := s.Size
	all := p.Symbols().All()
	if i := sort.Search(len(all), func(i int) bool { return all[i].Addr > s.Addr }); i < len(all) {
		size = all[i].Addr - s.Addr
	}
	out := fmt.Sprintf("%s+%#x/%#x", s.Name, off, size)
	if s.Module != "" {
		out += " [" + s.Module + "]"
	}
	return out
}

// slabOK is slab for a listing: an error goes to env.Err in place and
// the listing goes on.
func (o *slubOut) slabOK(c *slub.Cache, addr uint64, cpus []slub.CPU, verbose bool) bool {
	if err := o.slab(c, addr, cpus, verbose, false, 0); err != nil {
		o.warn(err)
		return false
	}
	return true
}

// kmemSlabAddr is the slab part of `kmem ADDR`.
func kmemSlabAddr(env *Env, addr uint64) (bool, error) {
	r, unlock, err := slubReader(env.Prog)
	if err != nil {
		return false, err
	}
	defer unlock()
	o := &slubOut{env: env, w: env.Out, r: r}
	found, err := o.addr(addr, false)
	if err != nil {
		return found, err
	}
	return found, o.result()
}

// addr prints the cache line, slab line and object of an address in a
// slab, or (addr being a slab's struct page) the slab with all its
// objects; all lists every object of the slab in either case.
func (o *slubOut) addr(addr uint64, all bool) (bool, error) {
	r := o.r
	slab, err := r.SlabOf(addr)
	if err != nil {
		slab = 0
	}
	spec := true
	if slab == 0 {
		if page, perr := r.SlabOfPage(addr); perr == nil && page == addr && page != 0 {
			slab, all = page, true
		}
	}
	if slab == 0 {
		return false, nil
	}
	s, err := r.ReadSlab(slab)
	if err != nil {
		return true, err
	}
	c := r.CacheAt(s.Cache)
	if c == nil {
		return true, fmt.Errorf("%x: slab %x points to no slab cache (slab_cache %x)", addr, slab, s.Cache)
	}
	fmt.Fprint(o.w, kmemCacheHdr)
	o.cacheLine(c)
	if all {
		spec = false
	}
	return true, o.slab(c, slab, r.CPUs(c), true, spec, addr)
}

// kmemSlabCacheOf names the cache of the slab holding addr, for rd -S.
func kmemSlabCacheOf(env *Env, addr uint64) string {
	r, unlock, err := slubReader(env.Prog)
	if err != nil {
		return ""
	}
	defer unlock()
	slab, err := r.SlabOf(addr)
	if err != nil || slab == 0 {
		return ""
	}
	s, err := r.ReadSlab(slab)
	if err != nil {
		return ""
	}
	if c := r.CacheAt(s.Cache); c != nil {
		return c.Name
	}
	return ""
}
