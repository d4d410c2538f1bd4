package commands

// vm: a task's address space, as crash's cmd_vm and vm_area_dump
// (memory.c) print it: the task header, the MM/PGD/RSS/TOTAL_VM line and
// one line per VMA with its file, from the maple tree of 6.1 (crash
// 8.0.2 fails there: "invalid structure member offset: mm_struct_mmap").

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"kdive/internal/arch/amd64"
	"kdive/internal/kernel/mm"
	"kdive/internal/kernel/tasks"
	"kdive/internal/program"
)

func init() {
	Register(&Command{
		Name:    "vm",
		Summary: "virtual memory",
		Usage:   vmSynopsis,
		Help: `  This command displays basic virtual memory information of a context,
  consisting of a pointer to its mm_struct and page directory, its RSS and
  total virtual memory size; and a list of pointers to each vm_area_struct,
  its starting and ending address, vm_flags value, and file pathname.  If
  no arguments are entered, the current context is used.  Kernel threads
  have no mm_struct: their MM, PGD, RSS and TOTAL_VM are 0.

  The VMAs come from the mm's maple tree (mm->mm_mt, 6.1 and later) or
  the mm->mmap list of older kernels; a corrupt tree (a loop, an
  unreadable node) ends the list with a line naming the node.  RSS is the
  kernel's VmRSS (file, anonymous and shmem pages), as ps shows it.

       -p  translate each virtual page of each VMA to its physical address,
           or show "(not mapped)", the swap location or the file offset.
   -P vma  the VMA at that vm_area_struct address and its pages, as -p.
    -M mm  the VMAs of that mm_struct, for a task that has none.
       -m  dump the mm_struct.
       -v  dump each vm_area_struct.
  -R ref   only the VMAs that reference ref: a VMA address, a vm_flags
           value, a part of the file name, or a page's virtual or
           physical address; the mm_struct or PGD address shows the
           task's mm line.  Only tasks with a match are shown, each as
           its header, mm line and matches, then a blank line (also
           under foreach).  0 matches the mm of every kernel thread.
       -x  with -m or -v, hexadecimal; -d decimal.
   -f flags  translate a vm_flags value.
      pid  a process ID.
     task  a task_struct address (hexadecimal).

EXAMPLE
    kdive> vm 123
    PID: 123      TASK: ffff8f3fc25e3000  CPU: 1    COMMAND: "kdive-trigger"
           MM               PGD          RSS    TOTAL_VM
    ffff8f3fc247c900  ffff8f3fd8606000  1824k    2260k  
          VMA            START         END     FLAGS  FILE
    ffff8f3fd9196260      400000      401000 8000071  /bin/busybox
    ffff8f3fd9196e40      401000      585000 8000075  /bin/busybox
    ...
    ffff8f3fd9196b48     c780000     c7a2000 8100073  
    ffff8f3fd91967b8 7fffe78d9000 7fffe78fa000 100173  
    ffff8f3fd91965f0 7fffe796f000 7fffe7973000 c044411  
    ffff8f3fd91964c0 7fffe7973000 7fffe7975000 8040075  `,
		Run: runVm,
	})
}

const vmSynopsis = "[-p | -P vma | -M mm | -v | -m | -x | -d | [-R reference] [pid | task]] [-f vm_flags]"

type vmOpts struct {
	phys, mmStruct, vmas bool
	single               uint64 // -P vma
	hasSingle            bool
	forceMM              uint64 // -M mm
	radix                string // "", "-x" or "-d"
	ref                  string
	hasRef               bool
}

func runVm(env *Env, args []string) error {
	p := env.Prog
	if p == nil {
		return errors.New("no dump file")
	}
	opts, rest, err := getopt("vm", args, "f:pmvR:xdP:M:")
	if err != nil {
		writeUsage(env, "vm", vmSynopsis)
		return err
	}
	var o vmOpts
	nflag := 0
	for _, op := range opts {
		switch op.c {
		case 'f':
			v, err := parseCrashHex(op.arg)
			if err != nil {
				return fmt.Errorf("invalid vm_flags value: %s", op.arg)
			}
			fmt.Fprintf(env.Out, "%s\n", vmFlagsString(v, p))
			return nil
		case 'p':
			o.phys = true
			nflag++
		case 'm':
			o.mmStruct = true
			nflag++
		case 'v':
			o.vmas = true
			nflag++
		case 'R':
			if o.hasRef {
				writeUsage(env, "vm", vmSynopsis)
				return errors.New("only one -R option allowed")
			}
			o.ref, o.hasRef = op.arg, true
		case 'P':
			v, err := parseCrashHex(op.arg)
			if err != nil {
				return fmt.Errorf("invalid vm_area_struct address: %s", op.arg)
			}
			o.single, o.hasSingle = v, true
			nflag++
		case 'M':
			v, err := parseCrashHex(op.arg)
			if err != nil || v < kvBaseOf(p) {
				return fmt.Errorf("invalid mm_struct address: %s", op.arg)
			}
			o.forceMM = v
		case 'x', 'd':
			if o.radix != "" && o.radix != "-"+string(op.c) {
				return errors.New("-d and -x are mutually exclusive")
			}
			o.radix = "-" + string(op.c)
		}
	}
	if nflag > 1 || (o.hasRef && (o.mmStruct || o.vmas)) {
		writeUsage(env, "vm", vmSynopsis)
		return errors.New("options are mutually exclusive")
	}
	tl, err := tasks.List(p, tasks.Options{})
	if err != nil {
		return err
	}
	mem, _ := tasks.MemUsage(p, tl.Tasks)
	memOf := map[uint64]tasks.Mem{}
	byAddr := map[uint64]tasks.Task{}
	for i, t := range tl.Tasks {
		byAddr[t.Addr] = t
		if i < len(mem) {
			memOf[t.Addr] = mem[i]
		}
	}
	if len(rest) == 0 {
		run, err := activeSet(p)
		if err != nil {
			return err
		}
		t, ok := currentTask(p, tl.Tasks, run)
		if !ok {
			return errors.New("no current task: give a pid or task")
		}
		return vmOf(env, t, memOf[t.Addr], &o, false)
	}
	var failed error
	n := 0
	for _, a := range rest {
		ts, err := findTasks(tl.Tasks, byAddr, a)
		if err != nil {
			if failed != nil {
				fmt.Fprintf(env.Err, "vm: %v\n", failed)
			}
			failed = err
			continue
		}
		for _, t := range ts {
			if err := vmOf(env, t, memOf[t.Addr], &o, n > 0); err != nil {
				return err
			}
			n++
		}
	}
	return failed
}

// vmHeaderLine is crash's PRINT_VM_DATA.
func vmHeaderLine(w io.Writer, mmAddr, pgd, rssPages, totalPages uint64) {
	fmt.Fprintf(w, "%s  %s  %s  %s\n", center(16, "MM", false), center(16, "PGD", false), center(6, "RSS", false), center(8, "TOTAL_VM", false))
	fmt.Fprintf(w, "%s  %s  %s  %s\n", center(16, fmt.Sprintf("%x", mmAddr), false), center(16, fmt.Sprintf("%x", pgd), false),
		center(6, fmt.Sprintf("%dk", rssPages*4), false), center(8, fmt.Sprintf("%dk", totalPages*4), false))
}

// vmaHeader is crash's vma_header: VADDR_PRLEN 16 and UVADDR_PRLEN 10
// columns on x86-64.
var vmaHeader = center(16, "VMA", false) + "  " + center(10, "START", true) + "  " + center(10, "END", true) + "  FLAGS  FILE\n"

// vmaLine is crash's PRINT_VMA_DATA.
func vmaLine(w io.Writer, v *mm.VMA) {
	fmt.Fprintf(w, "%s  %10x  %10x %6x  %s\n", center(16, fmt.Sprintf("%x", v.Addr), false), v.Start, v.End, v.Flags, v.Path)
}

func vmOf(env *Env, t tasks.Task, m tasks.Mem, o *vmOpts, subsequent bool) error {
	p := env.Prog
	w := env.Out
	var as *mm.AddressSpace
	mmAddr := t.Mm
	if mmAddr == 0 {
		mmAddr = o.forceMM // -M: the mm of a task that has none
	}
	if mmAddr != 0 {
		var err error
		if as, err = mm.ReadAddressSpace(p, mmAddr, !o.mmStruct); err != nil {
			return err
		}
	}
	if o.hasRef {
		return vmRef(env, t, m, as, o, subsequent)
	}
	taskHeader(w, t, subsequent)
	if !o.mmStruct && !o.vmas && !o.hasSingle {
		// crash prints the task's own mm here, also with -M.
		var mmA, pgd, total uint64
		if as != nil && t.Mm != 0 {
			mmA, pgd, total = as.Mm, as.PGD, as.TotalVM
		}
		vmHeaderLine(w, mmA, pgd, m.RSS, total)
	}
	if as == nil {
		return nil
	}
	if o.mmStruct {
		return runStruct(env, "mm_struct", as.Mm, o.radix)
	}
	if !o.phys && !o.vmas && !o.hasSingle {
		fmt.Fprint(w, vmaHeader)
	}
	var walker *amd64.Walker
	if o.phys {
		walker = userWalker(p, as.PGD)
	}
	found := false
	for i := range as.VMAs {
		v := &as.VMAs[i]
		if o.hasSingle {
			if v.Addr != o.single {
				continue
			}
			found = true
			fmt.Fprint(w, vmaHeader)
			vmaLine(w, v)
			vmPages(env, w, userWalker(p, as.PGD), v, nil)
			continue
		}
		if o.vmas {
			if err := runStruct(env, "vm_area_struct", v.Addr, o.radix); err != nil {
				return err
			}
			continue
		}
		if o.phys {
			fmt.Fprint(w, vmaHeader)
		}
		vmaLine(w, v)
		if o.phys {
			vmPages(env, w, walker, v, nil)
		}
	}
	if o.hasSingle && !found {
		fmt.Fprintf(w, "(not found)\n")
	}
	if as.Err != nil {
		fmt.Fprintf(w, "vm: %v\n", as.Err)
	}
	return nil
}

// runStruct prints `struct TYPE ADDR` (crash's dump_struct).
func runStruct(env *Env, typ string, addr uint64, radix string) error {
	args := []string{typ, fmt.Sprintf("%x", addr)}
	if radix != "" {
		args = append(args, radix)
	}
	c := Lookup("struct")
	if c == nil {
		return errors.New("no struct command")
	}
	return c.Run(env, args)
}

// userWalker walks a process's page tables: pgd is mm->pgd, a direct-map
// address.
func userWalker(p *program.Program, pgd uint64) *amd64.Walker {
	root, err := p.Translate(pgd)
	if err != nil {
		root = pgd - p.Info().PageOffset
	}
	return &amd64.Walker{Mem: p, Root: root, Level5: p.Info().Level5}
}

// vmPages is crash's vm_area_page_dump: each page of the VMA, translated,
// "(not mapped)", a swap entry, or the file offset it would be read from.
// With match non-nil, only the lines it accepts.
func vmPages(env *Env, w io.Writer, walker *amd64.Walker, v *mm.VMA, match func(line string, va, pa uint64) bool) {
	if match == nil {
		fmt.Fprintf(w, "%-10s  %-8s\n", "VIRTUAL", "PHYSICAL")
	}
	const maxPages = 1 << 24
	n := 0
	for va := v.Start; va < v.End && n < maxPages; va += 4096 {
		n++
		var line string
		pa, _, err := walker.Translate(va)
		var te *amd64.TranslateError
		switch {
		case err == nil:
			line = fmt.Sprintf("%-10x  %8x\n", va, pa)
		case errors.As(err, &te) && te.Level == "PTE" && te.Entry != 0:
			typ, off := swapEntry(te.Entry)
			line = fmt.Sprintf("%-10x  SWAP: %s  OFFSET: %d\n", va, swapName(env, typ), off)
		case v.File != 0 && v.Path != "":
			off := ((va-v.Start)>>12 + v.Pgoff) << 12
			line = fmt.Sprintf("%-10x  FILE: %s  OFFSET: %x\n", va, v.Path, off)
		default:
			line = fmt.Sprintf("%-10x  (not mapped)\n", va)
		}
		if match == nil || match(line, va, pa) {
			fmt.Fprint(w, line)
		}
	}
}

// swapName is crash's get_swapdev: the swap file's path, or
// "(unknown swap location)".
func swapName(env *Env, typ uint64) string {
	if d, ok := swapDevice(env, typ); ok {
		return d
	}
	return "(unknown swap location)"
}

// swapEntry decodes an x86-64 swap PTE (arch/x86/include/asm/pgtable_64.h:
// the type in the top 5 bits, the offset inverted from bit 9 + 5 on).
func swapEntry(pte uint64) (typ, off uint64) {
	const typeBits, offShift = 5, 9 + 5
	return pte >> (64 - typeBits), (^pte << typeBits) >> offShift
}

// vmRef is vm -R: the task header, the mm line and each VMA whose
// address, flags or file name matches the reference.
func vmRef(env *Env, t tasks.Task, m tasks.Mem, as *mm.AddressSpace, o *vmOpts, subsequent bool) error {
	w := env.Out
	var num uint64
	isNum := isCrashHex(o.ref)
	if isNum {
		num, _ = parseCrashHex(o.ref)
	}
	// crash prints the header of a matching task without the blank line
	// that separates the tasks of a plain vm (print_task_header(fp, tc, 0)),
	// and a blank line after the block. A task without an mm has MM and
	// PGD 0: crash's vm_area_dump compares the reference with them before
	// it gives up on the task, so "vm -R 0" shows the kernel threads.
	if as == nil {
		if isNum && num == 0 && t.Mm == 0 {
			taskHeader(w, t, false)
			vmHeaderLine(w, 0, 0, 0, 0)
			fmt.Fprintln(w)
		}
		return nil
	}
	if isNum && (num == as.Mm || num == as.PGD) {
		taskHeader(w, t, false)
		vmHeaderLine(w, as.Mm, as.PGD, m.RSS, as.TotalVM)
		fmt.Fprintln(w)
		return nil
	}
	// crash's handle_each_vm_area and vm_area_page_dump in reference
	// mode: the VMA table header again only before the first VMA and after
	// a page listing; a number also matches the virtual or physical
	// address of each page.
	header, vmaShown, pageShown := false, false, false
	var lastVMA uint64
	ensureHeader := func() {
		if !header {
			taskHeader(w, t, false)
			vmHeaderLine(w, as.Mm, as.PGD, m.RSS, as.TotalVM)
			header = true
		}
	}
	var walker *amd64.Walker
	for i := range as.VMAs {
		v := &as.VMAs[i]
		if (isNum && (num == v.Addr || num == v.Flags)) || vmPathMatch(v.Path, o.ref) {
			ensureHeader()
			if !vmaShown || pageShown {
				fmt.Fprint(w, vmaHeader)
			}
			vmaShown, pageShown, lastVMA = true, false, v.Addr
			vmaLine(w, v)
		}
		if !isNum {
			continue
		}
		if walker == nil {
			walker = userWalker(env.Prog, as.PGD)
		}
		var lines bytes.Buffer
		vmPages(env, &lines, walker, v, func(line string, va, pa uint64) bool {
			return va == num || (pa == num && !strings.Contains(line, "  SWAP: ") && !strings.Contains(line, "  FILE: ") && !strings.HasSuffix(line, "(not mapped)\n"))
		})
		if lines.Len() == 0 {
			continue
		}
		ensureHeader()
		if !vmaShown || lastVMA != v.Addr {
			fmt.Fprint(w, vmaHeader)
			vmaLine(w, v)
			vmaShown, lastVMA = true, v.Addr
		}
		fmt.Fprintf(w, "%-10s  %-8s\n", "VIRTUAL", "PHYSICAL")
		w.Write(lines.Bytes())
		pageShown = true
	}
	if header {
		fmt.Fprintln(w)
	}
	return nil
}

// vmPathMatch is crash's FILENAME_COMPONENT.
func vmPathMatch(path, ref string) bool {
	if path == "" {
		return false
	}
	if path == "/" && ref == "/" {
		return true
	}
	return ref != "/" && strings.Contains(path, ref)
}

// vmFlagsString is crash's do_vm_flags.
func vmFlagsString(flags uint64, p *program.Program) string {
	type f struct {
		bit  uint64
		name string
	}
	list := []f{{0x1, "READ"}, {0x2, "WRITE"}, {0x4, "EXEC"}, {0x8, "SHARED"}, {0x10, "MAYREAD"}, {0x20, "MAYWRITE"},
		{0x40, "MAYEXEC"}, {0x80, "MAYSHARE"}, {0x100, "GROWSDOWN"}}
	if _, err := p.Symbol("expand_upwards"); err == nil {
		list = append(list, f{0x200, "GROWSUP"})
	} else {
		list = append(list, f{0x200, "NOHUGEPAGE"})
	}
	list = append(list, f{0x400, "PFNMAP"}, f{0x800, "DENYWRITE"}, f{0x1000, "EXECUTABLE"}, f{0x2000, "LOCKED"},
		f{0x4000, "IO"}, f{0x8000, "SEQ_READ"}, f{0x10000, "RAND_READ"}, f{0x20000, "DONTCOPY"}, f{0x40000, "DONTEXPAND"},
		f{0x80000, "RESERVED"}, f{0x400000, "HUGETLB"}, f{0x100000, "ACCOUNT"},
		f{0x800000, "NONLINEAR"})
	if p.HasMember("mm_struct", "pmd_huge_pte") {
		list = append(list, f{0x1000000, "HUGEPAGE"})
	} else {
		list = append(list, f{0x1000000, "MAPPED_COPY"})
	}
	list = append(list, f{0x2000000, "INSERTPAGE"}, f{0x4000000, "ALWAYSDUMP"},
		f{0x8000000, "CAN_NONLINEAR"}, f{0x10000000, "MIXEDMAP"}, f{0x20000000, "SAO"}, f{0x40000000, "PFN_AT_MMAP"},
		f{0x80000000, "MERGEABLE"})
	var names []string
	for _, x := range list {
		if flags&x.bit != 0 {
			names = append(names, x.name)
		}
	}
	return fmt.Sprintf("%x: (%s)", flags, strings.Join(names, "|"))
}
