package commands

// vtop: translate a kernel virtual address to its physical address and
// show the page-table walk, the PTE's flags and the page's struct page, as
// crash's cmd_vtop and do_vtop (memory.c), x86_64_kvtop and
// x86_64_translate_pte (x86_64.c) and dump_mem_map_SPARSEMEM print them.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"kdive/internal/arch/amd64"
	"kdive/internal/kernel/mm"
	"kdive/internal/kernel/tasks"
	"kdive/internal/program"
)

func init() {
	Register(&Command{
		Name:    "vtop",
		Summary: "virtual to physical",
		Usage:   vtopSynopsis,
		Help: `  Translates a virtual address to its physical address and shows how: the
  page tables' walk (each level's entry address and value), the PTE (or
  the 2 MiB / 1 GiB PMD / PUD entry) with its flags, and the page's struct
  page (address in the vmemmap, mapping, index, reference count and
  flags).  Kernel addresses of the direct map and the kernel image
  translate arithmetically (as the kernel does), the others through the
  kernel page tables.  A user address goes through the task's page tables
  (mm->pgd) and shows the VMA that holds it; a page not present shows its
  swap entry or the file offset it would be read from; an address in no
  VMA is "(not accessible)".  kdive also takes a symbol or symbol+offset.

        -k  the address is a kernel virtual address (the default for
            addresses in kernel space).
        -u  the address is a user virtual address (the default below
            the kernel space).
   -c pid | taskp  translate user addresses through that task's page
            tables (default: the current context).

EXAMPLES
    kdive> vtop -c 123 400000
    VIRTUAL     PHYSICAL        
    400000      1ec3c000        

       PGD: 18606000 => 191bd067
       PUD: 191bd000 => 19184067
       PMD: 19184010 => 19187067
       PTE: 19187000 => 800000001ec3c025
      PAGE: 1ec3c000  

          PTE         PHYSICAL  FLAGS
    800000001ec3c025  1ec3c000  (PRESENT|USER|ACCESSED|NX)

          VMA            START        END     FLAGS  FILE
    ffff8f3fd9196260      400000      401000 8000071  /bin/busybox

          PAGE       PHYSICAL      MAPPING       INDEX CNT FLAGS
    fffff6ce807b0f00 1ec3c000 ffff8f3fc1bb7618        0  3 fffffc008003e referenced,uptodate,dirty,lru,active,swapbacked

    kdive> vtop ffff8d14dff72300
    VIRTUAL           PHYSICAL        
    ffff8d14dff72300  1ff72300        

    PGD DIRECTORY: ffffffff86810000
    PAGE DIRECTORY: fe01067
       PUD: fe01298 => fe02067
       PMD: fe027f8 => fe05067
       PTE: fe05b90 => 800000001ff72163
      PAGE: 1ff72000

          PTE         PHYSICAL  FLAGS
    800000001ff72163  1ff72000  (PRESENT|RW|ACCESSED|DIRTY|GLOBAL|NX)

          PAGE       PHYSICAL      MAPPING       INDEX CNT FLAGS
    fffff37d807fdc80 1ff72000 ffff8d14c1042800        0  1 fffffc0000200 slab`,
		Run: runVtop,
	})
}

const vtopSynopsis = "[-c [pid | taskp]] [-u|-k] address ..."

// vtopHeader records, per open program, that the struct page header has
// been printed. crash prints dump_mem_map's header once (pc->curcmd_flags
// HEADER_PRINTED is not cleared between commands) until a command fails:
// the first vtop of a session has it, later ones do not.
var vtopHeader struct {
	sync.Mutex
	done map[*program.Program]bool
}

func runVtop(env *Env, args []string) error {
	err := vtopCommand(env, args)
	if err != nil {
		vtopHeader.Lock()
		delete(vtopHeader.done, env.Prog)
		vtopHeader.Unlock()
	}
	return err
}

func vtopCommand(env *Env, args []string) error {
	opts, rest, err := getopt("vtop", args, "ukc:")
	if err != nil {
		writeUsage(env, "vtop", vtopSynopsis)
		return err
	}
	var user, kernel bool
	var ctxArg string
	for _, o := range opts {
		switch o.c {
		case 'u':
			user = true
		case 'k':
			kernel = true
		case 'c':
			ctxArg = o.arg
		}
	}
	if len(rest) == 0 {
		writeUsage(env, "vtop", vtopSynopsis)
		return nil
	}
	if user && kernel {
		return errors.New("-u and -k options are mutually exclusive")
	}
	p := env.Prog
	// The task whose page tables translate user addresses: -c pid|task,
	// else the current context.
	var task *tasks.Task
	ctxTask := func() (*tasks.Task, error) {
		if task != nil {
			return task, nil
		}
		cur, all, err := contextTask(p)
		if err != nil {
			return nil, err
		}
		if ctxArg != "" {
			ts, ok := taskArg(all, ctxArg)
			if !ok {
				return nil, fmt.Errorf("invalid task or pid value: %s", ctxArg)
			}
			cur = ts[0]
		}
		task = &cur
		return task, nil
	}
	var v *ksymView
	syms := lazySyms(func() *ksymView {
		if v == nil {
			v = viewOf(p)
		}
		return v
	})
	vt := &vtopper{env: env}
	for i, a := range rest {
		var addr uint64
		if isCrashHex(a) {
			addr, err = parseCrashHex(a)
		} else {
			addr, err = parseAddrArg(a, syms)
		}
		if err != nil {
			return fmt.Errorf("invalid input: \"%s\"", a)
		}
		kv := addr >= kvBaseOf(p)
		if i > 0 {
			fmt.Fprintf(env.Out, "\n")
		}
		if user || (!kv && !kernel) {
			t, err := ctxTask()
			if err != nil {
				return err
			}
			if err := vt.doUser(addr, *t); err != nil {
				return err
			}
			continue
		}
		if err := vt.do(addr); err != nil {
			return err
		}
	}
	return nil
}

type vtopper struct {
	env *Env
}

// do is crash's do_vtop for a kernel virtual address.
func (vt *vtopper) do(vaddr uint64) error {
	p := vt.env.Prog
	w := vt.env.Out
	info := p.Info()
	fmt.Fprintf(w, "%-16s  %-16s\n", "VIRTUAL", "PHYSICAL")
	if vaddr < kvBaseOf(p) {
		fmt.Fprintf(w, "%-8x  (not a kernel virtual address)\n\n", vaddr)
		return nil
	}
	root, err := p.Symbol("init_top_pgt")
	if err != nil {
		if root, err = p.Symbol("swapper_pg_dir"); err != nil {
			return errors.New("no init_top_pgt or swapper_pg_dir: cannot find the kernel page tables")
		}
	}
	walker := &amd64.Walker{Mem: p, Root: amd64.KernelTextPhys(root, info.PhysBase), Level5: info.Level5}
	if s, ok := p.VMCOREINFO("NUMBER(sme_mask)"); ok {
		if m, err := strconv.ParseUint(s, 0, 64); err == nil {
			walker.SMEMask = m
		}
	}
	walkPA, pageSize, steps, walkErr := walker.Walk(vaddr)
	var te *amd64.TranslateError
	if walkErr != nil && !errors.As(walkErr, &te) {
		return walkErr
	}

	// crash's x86_64_kvtop: outside the vmalloc-like regions the address
	// translates arithmetically (x86_64_VTOP), mapped or not.
	paddr, mapped := walkPA, walkErr == nil
	if pa, ok := arithVTOP(vaddr, info.PageOffset, info.PhysBase); ok {
		paddr, mapped = pa, true
	}
	if mapped {
		fmt.Fprintf(w, "%-16x  %-16x\n\n", vaddr, paddr)
	} else {
		fmt.Fprintf(w, "%-16x  %s\n\n", vaddr, "(not mapped)")
	}

	// The verbose walk.
	fmt.Fprintf(w, "PGD DIRECTORY: %x\n", root)
	for i, s := range steps {
		if i == 0 {
			fmt.Fprintf(w, "PAGE DIRECTORY: %x\n", s.Entry)
			continue
		}
		fmt.Fprintf(w, "   %s: %x => %x\n", s.Level, s.TableAddr, s.Entry)
	}
	if walkErr == nil && len(steps) > 0 {
		last := steps[len(steps)-1].Entry
		switch pageSize {
		case 1 << 30:
			fmt.Fprintf(w, "  PAGE: %x  (1GB)\n\n", last&0x000ffffffffff000)
		case 1 << 21:
			fmt.Fprintf(w, "  PAGE: %x  (2MB)\n\n", last&0x000ffffffffff000)
		default:
			fmt.Fprintf(w, "  PAGE: %x\n\n", walkPA&^0xfff)
		}
		translatePTE(w, last)
	} else if te != nil && te.Level == "PTE" && te.Entry != 0 {
		// A not-present PTE that is not zero: crash shows it as a swap
		// entry, which a kernel address does not have.
		fmt.Fprintf(w, "\n")
		translatePTE(w, te.Entry)
	}
	fmt.Fprintf(w, "\n")

	if mapped {
		vt.pageLine(paddr)
	}
	return nil
}

// arithVTOP is crash's x86_64_VTOP for the addresses x86_64_kvtop does not
// walk: the direct map and the kernel image.
func arithVTOP(vaddr, pageOffset, physBase uint64) (uint64, bool) {
	const modulesVaddr = amd64.StartKernelMap + 1<<30 // MODULES_VADDR
	switch {
	case vaddr >= amd64.StartKernelMap && vaddr < modulesVaddr:
		return amd64.KernelTextPhys(vaddr, physBase), true
	case pageOffset != 0 && vaddr >= pageOffset && vaddr < pageOffset+1<<46:
		return vaddr - pageOffset, true
	}
	return 0, false
}

// translatePTE is crash's x86_64_translate_pte for a present entry.
func translatePTE(w io.Writer, pte uint64) {
	ptebuf := fmt.Sprintf("%x", pte)
	phys := fmt.Sprintf("%x", pte&0x000ffffffffff000)
	l1 := max(len(ptebuf), len("PTE"))
	l2 := max(len(phys), len("PHYSICAL"))
	fmt.Fprintf(w, "%s  %s  FLAGS\n", center(l1, "PTE", false), center(l2, "PHYSICAL", false))
	fmt.Fprintf(w, "%s  %s  (", center(l1, ptebuf, true), center(l2, phys, true))
	var names []string
	const (
		present  = 1 << 0
		rw       = 1 << 1
		user     = 1 << 2
		pwt      = 1 << 3
		pcd      = 1 << 4
		accessed = 1 << 5
		dirty    = 1 << 6
		pse      = 1 << 7
		global   = 1 << 8
		protnone = global
		nx       = 1 << 63
	)
	if pte == 0 {
		names = append(names, "no mapping")
	} else {
		for _, f := range []struct {
			bit  uint64
			name string
		}{{present, "PRESENT"}, {rw, "RW"}, {user, "USER"}, {pwt, "PWT"}, {pcd, "PCD"}, {accessed, "ACCESSED"}, {dirty, "DIRTY"}} {
			if pte&f.bit != 0 {
				names = append(names, f.name)
			}
		}
		if pte&pse != 0 && pte&present != 0 {
			names = append(names, "PSE")
		}
		if pte&protnone != 0 && pte&present == 0 {
			names = append(names, "PROTNONE")
		}
		if pte&global != 0 {
			names = append(names, "GLOBAL")
		}
		if pte&nx != 0 {
			names = append(names, "NX")
		}
	}
	fmt.Fprintf(w, "%s)\n", strings.Join(names, "|"))
}

// center is crash's mkstring(CENTER|LJUST or CENTER|RJUST): s centered in
// width columns, the odd blank before it when rjust.
func center(width int, s string, rjust bool) string {
	if len(s) >= width {
		return s
	}
	pad := width - len(s)
	lead := pad / 2
	if rjust {
		lead = (pad + 1) / 2
	}
	return strings.Repeat(" ", lead) + s + strings.Repeat(" ", pad-lead)
}

// pageLine prints the page's line of crash's dump_mem_map for a physical
// address (with its header): struct page at vmemmap_base + pfn * sizeof.
func (vt *vtopper) pageLine(paddr uint64) {
	p := vt.env.Prog
	w := vt.env.Out
	pfn := paddr >> 12
	if maxPFN, ok := vt.readULong("max_pfn"); ok && pfn >= maxPFN {
		return // crash's phys_to_page: no struct page
	}
	base, ok := vt.readULong("vmemmap_base")
	if !ok {
		return
	}
	size, err := p.TypeSize("struct page")
	if err != nil || size == 0 {
		size = 64
	}
	off := func(m string, def uint64) uint64 {
		if o, err := p.MemberOffset("struct page", m); err == nil {
			return o
		}
		return def
	}
	page := base + pfn*size
	buf := make([]byte, size)
	vtopHeader.Lock()
	if vtopHeader.done == nil {
		vtopHeader.done = map[*program.Program]bool{}
	}
	header := !vtopHeader.done[p]
	vtopHeader.done[p] = true
	vtopHeader.Unlock()
	if header {
		fmt.Fprintf(w, "%s %s %s %sCNT FLAGS\n", center(16, "PAGE", false), fmt.Sprintf("%8s", "PHYSICAL"),
			center(16, "MAPPING", true), center(8, "INDEX", true))
	}
	if _, err := p.ReadAt(buf, page); err != nil {
		// crash's style2: the page is not readable.
		fmt.Fprintf(w, "%-16x %8x %s %s    \n", page, pfn<<12, center(16, " ", true), center(8, " ", true))
		return
	}
	le := binary.LittleEndian
	flags := le.Uint64(buf[0:])
	mo, io_, co := off("mapping", 24), off("index", 32), off("_refcount", 52)
	mapping := le.Uint64(buf[mo:])
	index := le.Uint64(buf[io_:])
	count := int32(le.Uint32(buf[co:]))
	fmt.Fprintf(w, "%-16x %8x %16x %8x %2d %s\n", page, pfn<<12, mapping, index, count, vt.pageFlags(flags))
}

// pageFlags is crash's translate_page_flags: the flags in hexadecimal and
// the names of the set bits from the kernel's pageflag_names[].
func (vt *vtopper) pageFlags(flags uint64) string {
	s := fmt.Sprintf("%x", flags)
	if flags == 0 {
		return s
	}
	p := vt.env.Prog
	arr, err := p.Symbol("pageflag_names")
	if err != nil {
		return s
	}
	var names []string
	b := make([]byte, 16)
	for i := uint64(0); i < 64; i++ {
		if _, err := p.ReadAt(b, arr+i*16); err != nil {
			break
		}
		mask, namep := binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint64(b[8:])
		if namep == 0 {
			break
		}
		if flags&mask != 0 {
			if n := vt.readString(namep); n != "" {
				names = append(names, n)
			}
		}
	}
	if len(names) > 0 {
		s += " " + strings.Join(names, ",")
	}
	return s
}

func (vt *vtopper) readULong(sym string) (uint64, bool) {
	p := vt.env.Prog
	a, err := p.Symbol(sym)
	if err != nil {
		return 0, false
	}
	var b [8]byte
	if _, err := p.ReadAt(b[:], a); err != nil {
		return 0, false
	}
	return binary.LittleEndian.Uint64(b[:]), true
}

func (vt *vtopper) readString(addr uint64) string {
	b := make([]byte, 32)
	n, _ := vt.env.Prog.ReadAt(b, addr)
	b = b[:n]
	if i := strings.IndexByte(string(b), 0); i >= 0 {
		return string(b[:i])
	}
	return string(b)
}

// doUser is crash's do_vtop for a user virtual address: the walk of the
// task's page tables (x86_64_uvtop_level4), the VMA that holds the
// address, the swap entry or file offset of a page not present, and the
// page's struct page.
func (vt *vtopper) doUser(vaddr uint64, t tasks.Task) error {
	p := vt.env.Prog
	w := vt.env.Out
	fmt.Fprintf(w, "%-10s  %-16s\n", "VIRTUAL", "PHYSICAL")
	if t.Mm == 0 {
		fmt.Fprintf(w, "%-10x  (not accessible)\n\n", vaddr)
		return nil
	}
	as, err := mm.ReadAddressSpace(p, t.Mm, true)
	if err != nil {
		return err
	}
	var vma *mm.VMA
	for i := range as.VMAs {
		if v := &as.VMAs[i]; vaddr >= v.Start && vaddr < v.End {
			vma = v
		}
	}
	if vma == nil {
		if as.Err != nil {
			return fmt.Errorf("%x: %v", vaddr, as.Err)
		}
		fmt.Fprintf(w, "%-10x  (not accessible)\n\n", vaddr)
		return nil
	}
	walker := userWalker(p, as.PGD)
	if pa, err := p.Translate(as.PGD); err == nil {
		walker.Root = pa
	}
	pa, size, steps, werr := walker.Walk(vaddr)
	var te *amd64.TranslateError
	if werr != nil && !errors.As(werr, &te) {
		return werr
	}
	if werr == nil {
		fmt.Fprintf(w, "%-10x  %-16x\n\n", vaddr, pa)
	} else {
		fmt.Fprintf(w, "%-10x  %s\n\n", vaddr, "(not mapped)")
	}
	for _, s := range steps {
		fmt.Fprintf(w, "   %s: %x => %x\n", s.Level, s.TableAddr, s.Entry)
	}
	if werr == nil {
		last := steps[len(steps)-1].Entry
		switch size {
		case 1 << 30:
			fmt.Fprintf(w, "  PAGE: %x  (1GB)\n\n", last&0x000fffffc0000000)
		case 1 << 21:
			fmt.Fprintf(w, "  PAGE: %x  (2MB)\n\n", last&0x000fffffffe00000)
		default:
			fmt.Fprintf(w, "  PAGE: %x  \n\n", pa&^0xfff)
		}
		translatePTE(w, last)
	} else if te.Level == "PTE" && te.Entry != 0 {
		fmt.Fprintf(w, "\n")
		translatePTE(w, te.Entry)
	}
	fmt.Fprintf(w, "\n")
	fmt.Fprint(w, vmaHeader)
	vmaLine(w, vma)
	if werr != nil {
		if te.Level == "PTE" && te.Entry != 0 {
			typ, off := swapEntry(te.Entry)
			fmt.Fprintf(w, "\nSWAP: %s  OFFSET: %d\n", swapName(vt.env, typ), off)
		} else if vma.File != 0 && vma.Path != "" {
			off := ((vaddr-vma.Start)>>12 + vma.Pgoff) << 12
			fmt.Fprintf(w, "\nFILE: %s  OFFSET: %x\n", vma.Path, off)
		}
		fmt.Fprintf(w, "\n")
		return nil
	}
	fmt.Fprintf(w, "\n")
	vt.pageLine(pa)
	return nil
}
