package commands

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"kdive/internal/arch/amd64"
	"kdive/internal/kernel/stack"
	"kdive/internal/kernel/tasks"
	"kdive/internal/program"
	"kdive/internal/testcorpus"
)

// ptRegs is a struct pt_regs image with the given registers.
func ptRegs(rip, cs, fl, rsp, ss uint64) *amd64.Regs {
	r := &amd64.Regs{Valid: amd64.AllValid}
	r.R[amd64.RIP], r.R[amd64.CS], r.R[amd64.RFLAGS], r.R[amd64.RSP], r.R[amd64.SS] = rip, cs, fl, rsp, ss
	return r
}

// crash's x86_64_eframe_verify, check by check, with the sysrq dump's
// symbols, address ranges and page tables (with and without vmlinux) and
// synthetic registers: kernel text, the address ranges crash counts as
// vmalloc (vmalloc, vmemmap, modules, vsyscall, cpu_entry_area: a RIP
// there that translates is taken), a user RSP on the task stack (refused:
// crash's in_user_stack check is its frame walker's, not the search's)
// and on an exception stack (taken), user frames (and the vsyscall page,
// which crash 8.0.2 knows only on Xen), the checks for kernels before 5.8
// (return address into page_fault below the frame) and 4.2
// (ia32_sysenter_target) with those symbols simulated, 5-level
// USERSPACE_TOP, and RFLAGS' read-as-zero bits.
func TestEframeVerifyCorpus(t *testing.T) {
	for name, p := range openBoth(t, "sysrq") {
		t.Run(name, func(t *testing.T) {
			v := newEframeVerifier(p)
			k, err := stack.For(p)
			if err != nil {
				t.Fatal(err)
			}
			tl, err := tasks.List(p, tasks.Options{})
			if err != nil {
				t.Fatal(err)
			}
			st, err := k.Stacks(tl.Tasks[0].Addr)
			if err != nil {
				t.Fatal(err)
			}
			var nmi stack.Stack
			for _, s := range st {
				if s.Kind == stack.KindException && s.Name == "NMI" && s.CPU == 0 {
					nmi = s
				}
			}
			if nmi.Lo == 0 || !v.mapped(nmi.Lo) {
				t.Fatalf("CPU 0's NMI stack: %+v", nmi)
			}
			text, _ := p.Symbol("do_syscall_64")
			vmemmap := uint64(0)
			if a, err := p.Symbol("vmemmap_base"); err == nil {
				vmemmap, _ = p.ReadU64(a)
			}
			page := vmemmap + 0x1000*64 // struct page of pfn 0x1000
			if vmemmap == 0 || !v.mapped(page) {
				t.Fatalf("vmemmap_base %x: struct page %x not mapped", vmemmap, page)
			}
			const at = 0xffffd5bc40403c00 // a frame's address on a task stack
			const kstack = at + 0x200     // a kernel stack pointer
			const ustack = 0x00007ffe69f8b548
			const fl = 0x246
			cases := []struct {
				what       string
				r          *amd64.Regs
				exc        bool
				estack     int
				below      uint64
				belowKnown bool
				want       bool
			}{
				{"kernel text, kernel RSP", ptRegs(text, 0x10, fl, kstack, 0x18), false, -1, 0, false, true},
				{"RFLAGS bit 1 clear", ptRegs(text, 0x10, 0x244, kstack, 0x18), false, -1, 0, false, false},
				{"RFLAGS read-as-zero bit", ptRegs(text, 0x10, fl|8, kstack, 0x18), false, -1, 0, false, false},
				{"kernel text, user-stack RSP, task stack", ptRegs(text, 0x10, fl, ustack, 0x18), false, -1, 0, false, false},
				{"kernel text, user-stack RSP, MCE stack", ptRegs(text, 0x10, fl, ustack, 0x18), true, 3, 0, false, true},
				{"kernel text, RSP 0, NMI stack", ptRegs(text, 0x10, fl, 0, 0x18), true, 1, 0, false, true},
				{"kernel text, SS 0, RSP just above", ptRegs(text, 0x10, fl, at+amd64.PtRegsSize+8, 0), false, -1, 0, false, true},
				{"kernel text, SS 0, other RSP", ptRegs(text, 0x10, fl, kstack, 0), false, -1, 0, false, false},
				{"not text, RSP just above", ptRegs(0x1234, 0x10, fl, at+amd64.PtRegsSize, 0x18), false, -1, 0, false, true},
				{"cpu_entry_area RIP (mapped)", ptRegs(nmi.Lo, 0x10, fl, kstack, 0), false, -1, 0, false, true},
				{"cpu_entry_area RIP (not mapped)", ptRegs(0xfffffe7ffffff000, 0x10, fl, kstack, 0), false, -1, 0, false, false},
				{"vmemmap RIP (mapped)", ptRegs(page, 0x10, fl, kstack, 0), false, -1, 0, false, true},
				{"vmemmap RIP, user RSP", ptRegs(page, 0x10, fl, ustack, 0), false, -1, 0, false, false},
				{"user frame", ptRegs(0x47b7a0, 0x33, 0x202, ustack, 0x2b), false, -1, 0, false, true},
				{"32-bit user frame", ptRegs(0x8048000, 0x23, 0x202, 0xffffd000, 0x2b), false, -1, 0, false, true},
				{"user frame, kernel RSP", ptRegs(0x47b7a0, 0x33, 0x202, kstack, 0x2b), false, -1, 0, false, false},
				{"user frame above 47 bits (4-level)", ptRegs(0x47b7a0, 0x33, 0x202, 0x00ff000000001000, 0x2b), false, -1, 0, false, false},
				{"vsyscall page", ptRegs(0xffffffffff600400, 0x33, 0x202, ustack, 0x2b), false, -1, 0, false, true},
				{"no page_fault symbol on 6.1", ptRegs(0, 0x10, fl, ustack, 0x18), false, -1, text, true, false},
			}
			for _, c := range cases {
				if got := v.verify(at, c.r, c.exc, c.estack, c.below, c.belowKnown); got != c.want {
					t.Errorf("%s: verify = %v, want %v", c.what, got, c.want)
				}
			}
			// Symbols of older kernels, simulated.
			old := *v
			old.symName = func(x uint64) string {
				switch x {
				case 0xffffffff81a00010:
					return "page_fault"
				case 0xffffffff81a80020:
					return "ia32_sysenter_target"
				}
				return v.symName(x)
			}
			if !old.verify(at, ptRegs(0x400000, 0x10, fl, ustack, 0x18), false, -1, 0xffffffff81a00010, true) {
				t.Errorf("return address into page_fault below the frame: not taken")
			}
			if old.verify(at, ptRegs(0x400000, 0x10, fl, ustack, 0x18), false, -1, 0xffffffff81a00010, false) {
				t.Errorf("unreadable word below the frame taken as page_fault's")
			}
			if old.verify(at, ptRegs(0x400000, 0x10, fl, ustack, 0), false, -1, 0xffffffff81a00010, true) {
				t.Errorf("page_fault check without SS 0x18 taken")
			}
			if !old.verify(at, ptRegs(0xffffffff81a80020, 0x10, fl, 0, 0x18), false, -1, 0, false) {
				t.Errorf("ia32_sysenter_target with RSP 0: not taken")
			}
			l5 := *v
			l5.userTop = 0x0100000000000000
			if !l5.verify(at, ptRegs(0x47b7a0, 0x33, 0x202, 0x00ff000000001000, 0x2b), false, -1, 0, false) {
				t.Errorf("user frame above 47 bits with 5-level paging: not taken")
			}
		})
	}
}

// The search over a synthetic 16 KiB task stack (the sysrq dump's
// verifier): a kernel-mode frame, a decoy kernel-mode frame whose RSP is
// in the user stack (crash's search does not take it: in_user_stack is
// its walker's check), and the user-mode frame at the top; exactly the
// first and the last are found, at their addresses. On an exception
// stack the decoy is taken too.
func TestEframeSearchSyntheticStack(t *testing.T) {
	p := openProg(t, testcorpus.Vmlinux(t), testcorpus.File(t, "sysrq", testcorpus.KdumpELF))
	v := newEframeVerifier(p)
	text, err := p.Symbol("do_syscall_64")
	if err != nil {
		t.Fatal(err)
	}
	const lo = 0xffffd5bc40400000
	buf := make([]byte, 16<<10)
	put := func(off int, r *amd64.Regs) {
		for i := 0; i < amd64.NumPtRegs; i++ {
			binary.LittleEndian.PutUint64(buf[off+8*i:], r.R[i])
		}
	}
	kOff, decoyOff, uOff := 0x1c80, 0x2400, len(buf)-amd64.PtRegsSize
	put(kOff, ptRegs(text+0x1a, 0x10, 0x46, lo+0x1d40, 0x18))
	put(decoyOff, ptRegs(text+0x30, 0x10, 0x46, 0x00007ffe69f8b000, 0x18))
	put(uOff, ptRegs(0x47b7a0, 0x33, 0x202, 0x00007ffe69f8b548, 0x2b))
	noBelow := func(uint64) (uint64, bool) { return 0, false }
	var got []string
	for _, f := range eframeCandidates(buf, lo, v, false, -1, noBelow) {
		got = append(got, fmt.Sprintf("%x", f.at-lo))
	}
	if want := []string{fmt.Sprintf("%x", kOff), fmt.Sprintf("%x", uOff)}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("task stack: frames at offsets %v, want %v", got, want)
	}
	if n := len(eframeCandidates(buf, lo, v, true, 3, noBelow)); n != 3 {
		t.Errorf("exception stack: %d frames, want 3 (the decoy too)", n)
	}
}

// bt -e of the panic task and of each task crash 8.0.2 sees (foreach bt
// -e) byte for byte as crash printed them on every base scenario
// (capture-bt-e.sh), with and without vmlinux.
func TestBtEframeCrashCorpus(t *testing.T) {
	steps := crashTranscript(t, "crash-bt-e.txt", 8)
	for _, v := range []string{testcorpus.Vmlinux(t), ""} {
		progs := map[string]*program.Program{}
		for _, s := range steps {
			sc, cmd, _ := strings.Cut(s.cmd, ": ")
			p := progs[sc]
			if p == nil {
				p = openProg(t, v, testcorpus.File(t, sc, testcorpus.KdumpELF))
				progs[sc] = p
			}
			switch cmd {
			case "bt -e":
				if got := runCmd(t, p, "bt", "-e"); got != s.out {
					t.Errorf("vmlinux %q: %s: bt -e:\n%s\ncrash:\n%s", v, sc, got, s.out)
				}
			case "foreach bt -e":
				blocks := strings.Split(strings.TrimSuffix(s.out, "\n"), "\n\n")
				n := 0
				for i, b := range blocks {
					m := taskHdr.FindStringSubmatch(b)
					if m == nil {
						// A frame of the block before (frames are
						// separated by blank lines too).
						continue
					}
					j := i + 1
					for j < len(blocks) && !taskHdr.MatchString(blocks[j]) {
						j++
					}
					want := strings.Join(blocks[i:j], "\n\n") + "\n"
					if got := runCmd(t, p, "bt", "-e", m[2]); got != want {
						t.Errorf("vmlinux %q: %s: bt -e %s:\n%s\ncrash:\n%s", v, sc, m[2], got, want)
					}
					n++
				}
				if n != 3 {
					t.Errorf("%s: foreach bt -e: %d tasks in crash's output", sc, n)
				}
			}
		}
	}
}
