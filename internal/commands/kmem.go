package commands

// kmem: kernel memory, as crash's cmd_kmem (memory.c) parses and prints
// it. This file has the options and the dispatch; kmem_addr.go answers
// `kmem ADDR` (crash's kmem_search), kmem_pages.go -p and -g,
// kmem_info.go -i -z -V -o -h -n, kmem_free.go -f -F, kmem_vmalloc.go -v;
// kmem_slab.go fills the slab answers through the hooks of
// kmem_hooks.go. The data comes from internal/kernel/mm.

import (
	"errors"
	"fmt"
	"strings"

	"kdive/internal/kernel/mm"
	"kdive/internal/program"
)

func init() {
	Register(&Command{
		Name:    "kmem",
		Summary: "kernel memory",
		Usage:   kmemSynopsis,
		Help: `  This command displays information about the use of kernel memory.

        -i  the memory summary: TOTAL MEM, FREE, USED, SHARED, BUFFERS, CACHED,
            SLAB, TOTAL HUGE, HUGE FREE, TOTAL SWAP, SWAP USED, SWAP FREE,
            COMMIT LIMIT and COMMITTED, in pages, size and percentage.
            SLAB and COMMITTED are the kernel's /proc/meminfo Slab and
            Committed_AS (crash 8.0.2 counts PG_slab pages, missing the
            tail pages of multi-page slabs, and reads vm_committed_as
            without its per-CPU counters).
        -v  the vmalloc areas (vmap_area_list): VMAP_AREA, VM_STRUCT, the
            address range and its size.
        -z  each zone of each node: size, present pages, watermarks and the
            zone's vm_stat counters.
        -f  the free lists of every zone (order, migrate type, blocks,
            pages) and nr_free_pages checked against the zones' counters;
            with an address, the free block holding it.
        -F  the same with the struct page of every free block.
        -p  every struct page of the memory map: PAGE, PHYSICAL, MAPPING,
            INDEX, CNT (_refcount) and FLAGS with the names of the flags.
        -V  the global vm_zone_stat and vm_node_stat counters and the vm
            events summed over the CPUs.
        -o  each CPU's per-CPU offset.
        -n  the memory nodes and their zones, the memory sections and the
            memory blocks.
        -h  the huge page sizes (hstates): size, free and total pages.
        -m member[,member]  with -p or alone: those struct page members of
            each page (or of the page of each address) instead.
        -g  the kernel's page flags (enum pageflags); with a value, the
            flags set in it.
        -s  the slab caches, a line each: CACHE, OBJSIZE, ALLOCATED, TOTAL,
            SLABS, SSIZE, NAME (counted as the kernel's slabinfo counts
            them); "kmem -s list": each cache's address and name.
        -S  the same, and per cache each CPU's slab and partial slabs with
            every object (FREE bare, [ALLOCATED] bracketed, "(cpu N
            cache)" on a CPU's lockless freelist), each node's partial
            slabs (and full slabs when the cache tracks them).
  -S=cpus   only those CPUs' sections (e.g. -S=0,2-3).
  -I slab[,slab]  with -s/-S: those caches shown as [IGNORED].
      slab  with -s/-S: the cache of that name, or a cache's address.
        -P  the address arguments are physical.
   address  with -p: the struct page of a physical or kernel virtual
            address, or the struct page at that address; with -v: the area
            holding it; with -s/-S: the slab object; alone: everything kdive
            knows of it, as crash prints it: the symbol, the task whose
            stack or task_struct holds it, its vmalloc area, its slab cache
            and object, and its struct page. A slab object's state comes
            from its slab's freelist and its CPU's lockless freelist
            (hardened pointers decoded); a freelist that cannot be followed
            is named ("freelist of slab X is corrupt at Y: ...") instead of
            a verdict. With slub_debug=U the object's owner tracks follow
            ("Allocated in ...", "Freed in ..." with their stacks). Objects
            of red-zoned caches are shown at the object's address (crash's
            "set redzone off").

  An address outside the memory map, or whose struct page is excluded
  from the dump, is said so; kdive never prints a page it could not read.

EXAMPLES
    kdive> kmem -i
                     PAGES        TOTAL      PERCENTAGE
        TOTAL MEM    71106     277.8 MB         ----
             FREE    58594     228.9 MB   82% of TOTAL MEM
             USED    12512      48.9 MB   17% of TOTAL MEM
    ...
    kdive> kmem ffffd5228039d000
       VMAP_AREA         VM_STRUCT                 ADDRESS RANGE                SIZE
    ffff8f3fc1849a80  ffff8f3fd9164b40  ffffd5228039d000 - ffffd522803a2000    20480

          PAGE       PHYSICAL      MAPPING       INDEX CNT FLAGS
    fffff6ce8067f840 19fe1000                0        0  1 fffffc0000000`,
		Run: runKmem,
	})
}

const kmemSynopsis = "[-f|-F|-c|-C|-i|-v|-V|-n|-z|-o|-h] [-p | -m member[,member]]\n       [[-s|-S|-S=cpu[s]|-r] [slab] [-I slab[,slab]]] [-g [flags]] [[-P] address]]"

type kmemCtx struct {
	env   *Env
	p     *program.Program
	pages *mm.Pages
	names []mm.FlagName
}

func newKmemCtx(env *Env) (*kmemCtx, error) {
	k := &kmemCtx{env: env, p: env.Prog}
	pg, err := mm.NewPages(env.Prog, env.Prog)
	if err != nil {
		return nil, err
	}
	k.pages = pg
	k.names = mm.PageflagNames(env.Prog)
	if len(k.names) == 0 {
		k.names = mm.FlagNamesFromEnum(kmemEnums(env.Prog))
	}
	return k, nil
}

// kmemEnums looks an enum's constants up in the program's types.
func kmemEnums(p *program.Program) mm.Enums {
	return func(name string) []mm.Enumerator {
		t, err := p.Types().LookupType("enum " + name)
		if err != nil {
			return nil
		}
		for t != nil && t.Elem != nil && len(t.Enumerators) == 0 {
			t = t.Elem
		}
		var out []mm.Enumerator
		for _, e := range t.Enumerators {
			out = append(out, mm.Enumerator{Name: e.Name, Value: e.Value})
		}
		return out
	}
}

func runKmem(env *Env, args []string) error {
	p := env.Prog
	if p == nil {
		return errors.New("no dump file")
	}
	// crash's -S=CPU-LIST (GNU optional argument): CPU sections of -S.
	var slabCPUs string
	args = append([]string(nil), args...)
	for i, a := range args {
		if strings.HasPrefix(a, "-S=") {
			if slabCPUs != "" {
				return errors.New("only one -S option allowed")
			}
			if slabCPUs = a[3:]; slabCPUs == "" {
				return errors.New("CPU-specific slab data to be displayed must be written as expected only e.g. -S=1,45.")
			}
			args[i] = "-S"
		}
	}
	opts, rest, err := getopt("kmem", args, "gI:sSrFfm:pvczCinl:L:PVoh")
	if err != nil {
		writeUsage(env, "kmem", kmemSynopsis)
		return ErrShown
	}
	flags := map[byte]bool{}
	var phys bool
	var ignore []string
	nflags := 0
	var memberList string
	for _, o := range opts {
		switch o.c {
		case 'm':
			memberList = o.arg
			if !flags['p'] {
				nflags++
			}
			flags['p'] = true
		case 'P':
			phys = true
		case 'I':
			// crash's -I: caches shown as [IGNORED] by -s/-S.
			ignore = append(ignore, strings.Split(o.arg, ",")...)
		default:
			if !flags[o.c] {
				nflags++
			}
			flags[o.c] = true
		}
	}
	if flags['s'] && flags['S'] {
		nflags--
		delete(flags, 's')
	}
	if nflags > 1 {
		fmt.Fprintf(env.Out, "kmem: only one flag allowed!\n")
		writeUsage(env, "kmem", kmemSynopsis)
		return ErrShown
	}
	// Options of older kernels: crash's words when this kernel lacks what
	// they read (page_hash_table, the global LRU lists, slab_root_caches).
	for _, c := range []byte{'c', 'C', 'r'} {
		if flags[c] {
			sym := map[byte]string{'c': "page_hash_table", 'C': "page_hash_table", 'r': "slab_root_caches"}[c]
			if _, err := p.Symbol(sym); err != nil {
				return fmt.Errorf("-%c option not supported or applicable on this architecture or kernel", c)
			}
			return fmt.Errorf("-%c: not supported by kdive", c)
		}
	}
	for _, o := range opts {
		if o.c == 'l' || o.c == 'L' {
			list := map[string]string{"a": "active_list", "i": "inactive_list", "ic": "inactive_clean_list", "id": "inactive_dirty_list"}[o.arg]
			if list == "" {
				writeUsage(env, "kmem", kmemSynopsis)
				return ErrShown
			}
			if _, err := p.Symbol(list); err != nil {
				return fmt.Errorf("%s does not exist in this kernel", list)
			}
			return fmt.Errorf("-%c: not supported by kdive", o.c)
		}
	}
	var addrs []uint64
	var names []string
	for _, a := range rest {
		if isCrashHex(a) {
			v, err := parseCrashHex(a)
			if err != nil {
				return fmt.Errorf("invalid address: %s", a)
			}
			addrs = append(addrs, v)
			continue
		}
		if !flags['s'] && !flags['S'] {
			writeUsage(env, "kmem", kmemSynopsis)
			return ErrShown
		}
		names = append(names, strings.TrimPrefix(a, "\\"))
	}
	if flags['s'] || flags['S'] {
		if kmemSlab.Summary == nil {
			opt := "-s"
			if flags['S'] {
				opt = "-S"
			}
			return fmt.Errorf("kmem %s: slab support not available", opt)
		}
		// An address is a cache's (that cache) or an object's (its
		// slab: with -S every object); the slab hook tells them apart.
		for _, a := range addrs {
			names = append(names, fmt.Sprintf("%x", a))
		}
		return kmemSlab.Summary(env, flags['S'], names, SlabOptions{Ignore: ignore, CPUs: slabCPUs})
	}
	if len(addrs) > 0 && (flags['z'] || flags['i'] || flags['V'] || flags['o'] || flags['h'] || flags['F'] || flags['n']) {
		fmt.Fprintf(env.Out, "kmem: no address arguments allowed with this option\n")
		writeUsage(env, "kmem", kmemSynopsis)
		return ErrShown
	}
	switch {
	case flags['g']:
		if len(addrs) == 0 {
			return kmemFlags(env, 0)
		}
		for i, a := range addrs {
			if i > 0 {
				fmt.Fprintln(env.Out)
			}
			if err := kmemFlags(env, a); err != nil {
				return err
			}
		}
		return nil
	case flags['i']:
		return kmemInfo(env)
	case flags['z']:
		return kmemZones(env)
	case flags['V']:
		return kmemVMStat(env)
	case flags['o']:
		return kmemOffsets(env)
	case flags['h']:
		return kmemHstates(env)
	}
	k, err := newKmemCtx(env)
	if err != nil {
		return err
	}
	switch {
	case flags['F']:
		return k.freeAreas(true)
	case flags['n']:
		return k.memoryNodes()
	case flags['f']:
		if len(addrs) == 0 {
			return k.freeAreas(false)
		}
		for i, a := range addrs {
			if i > 0 {
				fmt.Fprintln(env.Out)
			}
			k.freeBlock(a, phys || a < kvBaseOf(p), false)
		}
		return nil
	case flags['p'] && memberList != "":
		return k.membersOf(memberList, addrs, phys)
	case flags['p']:
		if len(addrs) == 0 {
			return k.allPages()
		}
		var failed error
		for _, a := range addrs {
			if err := k.pageOf(a, phys || a < kvBaseOf(p), true); err != nil {
				if failed != nil {
					fmt.Fprintf(env.Err, "kmem: %v\n", failed)
				}
				failed = err
			}
		}
		return failed
	case flags['v']:
		return k.vmalloc(addrs, phys)
	}
	if len(addrs) == 0 {
		writeUsage(env, "kmem", kmemSynopsis)
		return ErrShown
	}
	var failed error
	for i, a := range addrs {
		if i > 0 {
			fmt.Fprintln(env.Out)
		}
		if err := k.search(a, phys || a < kvBaseOf(p)); err != nil {
			failed = err
		}
	}
	return failed
}
