package commands

// kmem ADDR: everything kdive knows of an address, in the order and
// format of crash's kmem_search.

import (
	"fmt"

	"kdive/internal/kernel/mm"
	"kdive/internal/kernel/tasks"
)

// --- kmem ADDR -----------------------------------------------------------

// kmem address ranges (x86-64, arch/x86/include/asm/pgtable_64_types.h).
const (
	modulesVaddr = 0xffffffffc0000000 // __START_KERNEL_map + KERNEL_IMAGE_SIZE
	modulesEnd   = 0xffffffffff000000
)

func (k *kmemCtx) symVal(name string) uint64 {
	a, err := k.p.Symbol(name)
	if err != nil {
		return 0
	}
	v, err := k.p.ReadU64(a)
	if err != nil {
		return 0
	}
	return v
}

// isVmalloc is crash's x86_64 IS_VMALLOC_ADDR: vmalloc space, the
// vmemmap and the module space.
func (k *kmemCtx) isVmalloc(a uint64) bool {
	vb := k.symVal("vmalloc_base")
	vsize := uint64(32) << 40
	if k.p.Info().Level5 {
		vsize = 12800 << 40
	}
	return (vb != 0 && a >= vb && a < vb+vsize) ||
		(k.pages.Vmemmap != 0 && a >= k.pages.Vmemmap && a < k.pages.Vmemmap+1<<40) ||
		(a >= modulesVaddr && a < modulesEnd)
}

type kmemTasks struct {
	all []tasks.Task
	run map[int]uint64
}

func (k *kmemCtx) taskList() *kmemTasks {
	tl, err := tasks.List(k.p, tasks.Options{})
	if err != nil {
		return &kmemTasks{}
	}
	run, _ := activeSet(k.p)
	return &kmemTasks{all: tl.Tasks, run: run}
}

// stackOwner is crash's stkptr_to_task: the task whose kernel stack
// (task->stack, THREAD_SIZE 16 KiB) holds a.
func (k *kmemCtx) stackOwner(ts *kmemTasks, a uint64) (tasks.Task, bool) {
	o, err := k.p.MemberOffset("task_struct", "stack")
	if err != nil {
		return tasks.Task{}, false
	}
	const threadSize = 16 << 10
	for _, t := range ts.all {
		s, err := k.p.ReadU64(t.Addr + o)
		if err == nil && s != 0 && a >= s && a < s+threadSize {
			return t, true
		}
	}
	return tasks.Task{}, false
}

// taskStructOwner is crash's vaddr_in_task_struct.
func (k *kmemCtx) taskStructOwner(ts *kmemTasks, a uint64) (tasks.Task, bool) {
	size, err := k.p.TypeSize("task_struct")
	if err != nil || size == 0 {
		return tasks.Task{}, false
	}
	for _, t := range ts.all {
		if a >= t.Addr && a < t.Addr+size {
			return t, true
		}
	}
	return tasks.Task{}, false
}

// search is crash's kmem_search: everything known of one address.
func (k *kmemCtx) search(addr uint64, phys bool) error {
	w := k.env.Out
	p := k.p
	info := p.Info()
	const bad = ^uint64(0)
	vaddr := addr
	if phys {
		vaddr = bad
		hm := k.symVal("high_memory")
		if hm > info.PageOffset && addr < hm-info.PageOffset {
			vaddr = addr + info.PageOffset
		}
	}
	v := viewOf(p)
	showSym := func(a uint64) {
		if sp, off, ok := v.valueSearch(a); ok {
			fl := showLine
			if sp.mod != nil {
				fl |= showModule
			}
			v.showSymbol(w, sp, off, fl)
			fmt.Fprintln(w)
		}
	}
	stext, _ := p.Symbol("_stext")
	end, _ := p.Symbol("_end")
	if (vaddr >= stext && vaddr <= end && stext != 0) || (!phys && addr >= modulesVaddr && addr < modulesEnd) {
		showSym(vaddr)
	}
	var ts *kmemTasks
	tl := func() *kmemTasks {
		if ts == nil {
			ts = k.taskList()
		}
		return ts
	}
	context := func(t tasks.Task) {
		showContext(w, p, t, tl().all, tl().run)
		fmt.Fprintln(w)
	}
	pageAddr, pagePhys := addr, phys
	done := false
	if !phys && k.isVmalloc(addr) {
		if t, ok := k.stackOwner(tl(), vaddr); ok {
			context(t)
		}
		if pa, ok := k.physOf(addr); ok {
			areas, _ := mm.VmapAreas(p)
			for _, a := range areas {
				if addr >= a.Start && addr < a.End {
					vmapHeader(w)
					vmapLine(w, a)
					fmt.Fprintln(w)
					pageAddr, pagePhys, done = pa, true, true
					break
				}
			}
		}
	}
	if !done && phys {
		areas, _ := mm.VmapAreas(p)
		if a, va, ok := k.vmapOfPhys(areas, addr); ok {
			if t, ok := k.stackOwner(tl(), va); ok {
				context(t)
			}
			if sp, off, ok := v.valueSearch(va); ok {
				v.showSymbol(w, sp, off, showLine)
				fmt.Fprintln(w)
			}
			vmapHeader(w)
			vmapLine(w, a)
			fmt.Fprintln(w)
			done = true
		}
	}
	if !done {
		if vaddr != bad && kmemSlab.Addr != nil {
			found, err := kmemSlab.Addr(k.env, vaddr)
			if err != nil {
				fmt.Fprintf(w, "kmem: %v\n", err)
			} else if found {
				fmt.Fprintln(w)
			}
		}
		if vaddr != bad {
			k.freeBlock(addr, phys, true)
			if t, ok := k.taskStructOwner(tl(), vaddr); ok {
				context(t)
			} else if t, ok := k.stackOwner(tl(), vaddr); ok {
				context(t)
			}
		}
	}
	// mem_map
	if vaddr == bad && !pagePhys {
		return k.notInMap(addr, phys)
	}
	if !pagePhys && k.isVmalloc(pageAddr) {
		if _, ok := k.pages.PFNOf(pageAddr); !ok {
			if _, ok := k.physOf(pageAddr); !ok {
				fmt.Fprintf(w, "WARNING: cannot make virtual-to-physical translation: %x\n", pageAddr)
				return k.notInMap(addr, phys)
			}
		}
	}
	pfn, ok := k.findPage(pageAddr, pagePhys)
	if !ok {
		if pagePhys {
			fmt.Fprintf(w, "kmem: cannot determine page for %x\n", pageAddr)
		}
		return k.notInMap(addr, phys)
	}
	pg := k.pages.Read(pfn)
	fmt.Fprint(w, kmemPageHeader)
	k.pageLine(w, pg)
	if pg.Err != nil {
		return fmt.Errorf("%x: %v", addr, pg.Err)
	}
	return nil
}

// notInMap is crash's last kmem_search line for an address without a
// struct page.
func (k *kmemCtx) notInMap(addr uint64, phys bool) error {
	kind := "kernel virtual"
	if phys {
		kind = "physical"
	}
	fmt.Fprintf(k.env.Out, "%x: %s address not found in mem map\n", addr, kind)
	return ErrShown
}
