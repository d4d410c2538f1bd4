package dwarfx

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// lineProg assembles a line program (unit header included).
type lineProg struct {
	version uint16
	dirs    []string
	files   []lineFile
	body    bytes.Buffer
}

func (p *lineProg) uleb(v uint64) {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			c |= 0x80
		}
		p.body.WriteByte(c)
		if v == 0 {
			return
		}
	}
}

func (p *lineProg) sleb(v int64) {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		done := v == 0 && c&0x40 == 0 || v == -1 && c&0x40 != 0
		if !done {
			c |= 0x80
		}
		p.body.WriteByte(c)
		if done {
			return
		}
	}
}

func (p *lineProg) setAddress(a uint64) {
	p.body.Write([]byte{0, 9, lneSetAddress})
	binary.Write(&p.body, binary.LittleEndian, a)
}
func (p *lineProg) advancePC(n uint64)  { p.body.WriteByte(lnsAdvancePC); p.uleb(n) }
func (p *lineProg) advanceLine(n int64) { p.body.WriteByte(lnsAdvanceLine); p.sleb(n) }
func (p *lineProg) setFile(n uint64)    { p.body.WriteByte(lnsSetFile); p.uleb(n) }
func (p *lineProg) copyRow()            { p.body.WriteByte(lnsCopy) }
func (p *lineProg) negateStmt()         { p.body.WriteByte(lnsNegateStmt) }
func (p *lineProg) endSequence()        { p.body.Write([]byte{0, 1, lneEndSequence}) }

// bytes returns the program: DWARF 4 (strings inline) or 5 (DW_FORM_string
// entries), opcode_base 13, line_base -5, line_range 14.
func (p *lineProg) bytes() []byte {
	var hdr bytes.Buffer
	hdr.Write([]byte{1})
	if p.version >= 4 {
		hdr.WriteByte(1) // maximum_operations_per_instruction
	}
	hdr.Write([]byte{1, 0xfb, 14, 13})
	hdr.Write([]byte{0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1})
	if p.version >= 5 {
		hdr.Write([]byte{1, lnctPath, formString})
		hdr.WriteByte(byte(len(p.dirs)))
		for _, d := range p.dirs {
			hdr.WriteString(d + "\x00")
		}
		hdr.Write([]byte{2, lnctPath, formString, lnctDirectoryIndex, formUdata})
		hdr.WriteByte(byte(len(p.files)))
		for _, f := range p.files {
			hdr.WriteString(f.name + "\x00")
			hdr.WriteByte(byte(f.dir))
		}
	} else {
		for _, d := range p.dirs {
			hdr.WriteString(d + "\x00")
		}
		hdr.WriteByte(0)
		for _, f := range p.files {
			hdr.WriteString(f.name + "\x00")
			hdr.Write([]byte{byte(f.dir), 0, 0})
		}
		hdr.WriteByte(0)
	}
	var out bytes.Buffer
	var rest bytes.Buffer
	binary.Write(&rest, binary.LittleEndian, p.version)
	if p.version >= 5 {
		rest.Write([]byte{8, 0})
	}
	binary.Write(&rest, binary.LittleEndian, uint32(hdr.Len()))
	rest.Write(hdr.Bytes())
	rest.Write(p.body.Bytes())
	binary.Write(&out, binary.LittleEndian, uint32(rest.Len()))
	out.Write(rest.Bytes())
	return out.Bytes()
}

func noStrs(form uint32, v uint64) (string, error) { return "", fmt.Errorf("no string sections") }

func decodeTest(t *testing.T, b []byte, unitName, compDir string) *lineTable {
	t.Helper()
	h, err := parseLineHeader(b, 0, noStrs)
	if err != nil {
		t.Fatal(err)
	}
	h.unitName, h.compDir, h.hasCompDir, h.lowPC = unitName, compDir, compDir != "", 0x1000
	lt, err := decodeLines(b, h)
	if err != nil {
		t.Fatal(err)
	}
	return lt
}

func lineString(lt *lineTable, pc uint64) string {
	s, line, ok := lt.lookup(pc)
	if !ok {
		return "-"
	}
	name, ok := lt.display(s)
	if !ok {
		return "?"
	}
	return fmt.Sprintf("%s: %d", name, line)
}

// A DWARF 4 and a DWARF 5 program with the same rows: lookups between
// rows, across a file change, at an end of sequence; a sequence at
// address 0 (a discarded function) is ignored.
func TestLineProgramSynthetic(t *testing.T) {
	for _, v := range []uint16{4, 5} {
		p := &lineProg{version: v}
		a, b := uint64(1), uint64(2)
		if v == 5 {
			p.dirs = []string{"/src", "inc"}
			p.files = []lineFile{{"a.c", 0}, {"a.c", 0}, {"b.h", 1}}
		} else {
			p.dirs = []string{"inc"}
			p.files = []lineFile{{"a.c", 0}, {"b.h", 1}}
		}
		if v == 5 {
			b = 2
		}
		p.setAddress(0)
		p.advanceLine(40)
		p.copyRow()
		p.advancePC(8)
		p.endSequence()
		p.setAddress(0x1000)
		p.setFile(a)
		p.advanceLine(9)
		p.copyRow() // a.c:10 @1000
		p.advancePC(4)
		p.setFile(b)
		p.advanceLine(90)
		p.copyRow() // b.h:100 @1004
		p.advancePC(4)
		p.setFile(a)
		p.advanceLine(-89)
		p.copyRow() // a.c:11 @1008
		p.advancePC(2)
		p.negateStmt()
		p.advanceLine(1)
		p.copyRow() // a.c:12 @100a (not a statement)
		p.advancePC(2)
		p.endSequence() // @100c
		aName := "/src/a.c"
		lt := decodeTest(t, p.bytes(), "a.c", "/src")
		for pc, want := range map[uint64]string{
			0x0: "-", 0x4: "-", 0xfff: "-",
			0x1000: aName + ": 10", 0x1003: aName + ": 10",
			0x1004: "/src/inc/b.h: 100", 0x1007: "/src/inc/b.h: 100",
			0x1008: aName + ": 11", 0x100a: aName + ": 12", 0x100b: aName + ": 12",
			0x100c: "-", 0x2000: "-",
		} {
			if got := lineString(lt, pc); got != want {
				t.Errorf("v%d: %#x: %q, want %q", v, pc, got, want)
			}
		}
		// No unit directory: gdb's symtab has no dirname and crash
		// prints nothing.
		if got := lineString(decodeTest(t, p.bytes(), "a.c", ""), 0x1000); got != "?" {
			t.Errorf("v%d without comp_dir: %q", v, got)
		}
	}
}

// Malformed programs are errors naming .debug_line and an offset, never
// panics or endless loops.
func TestLineProgramMalformed(t *testing.T) {
	p := &lineProg{version: 4, files: []lineFile{{"a.c", 0}}}
	p.setAddress(0x1000)
	p.copyRow()
	p.endSequence()
	good := p.bytes()
	hdrOff := 4 + 2 + 4 // length, version, header_length
	mut := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	for name, b := range map[string][]byte{
		"empty":           {},
		"length":          mut(func(b []byte) []byte { binary.LittleEndian.PutUint32(b, 0x7fffffff); return b }),
		"reserved length": mut(func(b []byte) []byte { binary.LittleEndian.PutUint32(b, 0xfffffff5); return b }),
		"version":         mut(func(b []byte) []byte { b[4] = 9; return b }),
		"header length":   mut(func(b []byte) []byte { binary.LittleEndian.PutUint32(b[6:], 0x10000); return b }),
		"opcode_base 0":   mut(func(b []byte) []byte { b[hdrOff+5] = 0; return b }),
		"line_range 0":    mut(func(b []byte) []byte { b[hdrOff+4] = 0; return b }),
		"truncated":       good[:12],
		"extended length": append(append([]byte(nil), good[:len(good)-3]...), 0, 0x7f, 1),
	} {
		h, err := parseLineHeader(b, 0, noStrs)
		if err == nil {
			h.unitName = "a.c"
			_, err = decodeLines(b, h)
		}
		if err == nil {
			t.Errorf("%s: no error", name)
		} else if !strings.Contains(err.Error(), ".debug_line+") {
			t.Errorf("%s: error %q does not name .debug_line", name, err)
		}
	}
	// A huge file count in a DWARF 5 header.
	p5 := &lineProg{version: 5, dirs: []string{"/"}, files: []lineFile{{"a.c", 0}}}
	b5 := p5.bytes()
	i := bytes.Index(b5, []byte("a.c\x00")) - 1
	b5[i] = 0xff
	b5 = append(b5[:i+1], append([]byte{0xff, 0xff, 0x7f}, b5[i+1:]...)...)
	binary.LittleEndian.PutUint32(b5, uint32(len(b5)-4))
	if _, err := parseLineHeader(b5, 0, noStrs); err == nil {
		t.Errorf("huge file count: no error")
	}
	// A huge file index is no row (gdb: a complaint), not a failure.
	p = &lineProg{version: 4, files: []lineFile{{"a.c", 0}}}
	p.setAddress(0x1000)
	p.setFile(1 << 40)
	p.copyRow()
	p.endSequence()
	if lt := decodeTest(t, p.bytes(), "a.c", "/"); lineString(lt, 0x1000) != "-" {
		t.Errorf("huge file index: %q", lineString(lt, 0x1000))
	}
}

// FuzzLineProgram decodes arbitrary line programs and looks addresses up.
func FuzzLineProgram(f *testing.F) {
	p := &lineProg{version: 5, dirs: []string{"/src", "inc"}, files: []lineFile{{"a.c", 0}, {"b.h", 1}}}
	p.setAddress(0x1000)
	p.advanceLine(9)
	p.copyRow()
	p.body.Write([]byte{0x4b, 0x30, 0xd7})
	p.setFile(1)
	p.advancePC(3)
	p.copyRow()
	p.endSequence()
	f.Add(p.bytes())
	p.version = 4
	f.Add(p.bytes())
	// Strings of .debug_line_str/.debug_str are made up from their
	// offsets, so that real programs (testdata/fuzz/FuzzLineProgram/real-cu
	// is a unit's program from the corpus's vmlinux) decode.
	strs := func(form uint32, v uint64) (string, error) { return fmt.Sprintf("s%x", v), nil }
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := parseLineHeader(b, 0, strs)
		if err != nil {
			return
		}
		h.unitName, h.compDir, h.hasCompDir, h.unitAddrSize = "a.c", "/src", true, 8
		lt, err := decodeLines(b, h)
		if err != nil {
			return
		}
		for _, pc := range []uint64{0, 0x1000, 0x1004, 1 << 63} {
			if s, _, ok := lt.lookup(pc); ok {
				lt.display(s)
			}
		}
	})
}

// On the corpus's vmlinux: the lines crash 8.0.2 prints for these
// addresses (bt -l and sym on oops-proc, KASLR offset 0x3b800000
// subtracted), including an address past a noreturn call that has none,
// and the inlined calls at a return address.
func TestVmlinuxLines(t *testing.T) {
	ix := openVmlinux(t)
	defer ix.Close()
	checkVmlinuxLines(t, ix)
}

// OpenLines gives the same lines without the name index (and no names).
func TestVmlinuxOpenLines(t *testing.T) {
	p := filepath.Join(corpusDir(), "vmlinux")
	if _, err := os.Stat(p); err != nil {
		t.Skipf("no debug vmlinux at %s", p)
	}
	ix, err := OpenLines(p)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	checkVmlinuxLines(t, ix)
	if _, err := ix.LookupType("struct task_struct"); err == nil {
		t.Errorf("OpenLines: struct task_struct found without a name index")
	}
}

func checkVmlinuxLines(t *testing.T, ix *Index) {
	const bd = "debian/build/build_amd64_none_cloud-amd64/"
	for pc, want := range map[uint64]string{
		0xffffffff8134b000: bd + "fs/read_write.c: 627",                             // sym ksys_write
		0xffffffff8134b06b: bd + "fs/read_write.c: 637",                             // bt -l ksys_write
		0xffffffff8106c57f: bd + "include/linux/ftrace.h: 922",                      // machine_kexec, inlined
		0xffffffff81163ff7: bd + "include/linux/atomic/atomic-arch-fallback.h: 243", // __crash_kexec
		0xffffffff819fbdc0: bd + "arch/x86/include/asm/jump_label.h: 27",            // sym do_syscall_64
		0xffffffff81000000: "/build/reproducible-path/linux-6.1.187/arch/x86/kernel/head_64.S: 65",
		0xffffffff81c00126: "/build/reproducible-path/linux-6.1.187/arch/x86/entry/entry_64.S: 121",
		0xffffffff81a09380: bd + "kernel/sched/core.c: 6633",
		0xffffffff819ff8fa: "-", // rest_init: after the call to cpu_startup_entry
	} {
		l, ok, err := ix.LineAt(pc)
		got := "-"
		if ok {
			got = l.String()
		}
		if err != nil || got != want {
			t.Errorf("%#x: %q (%v), want %q", pc, got, err, want)
		}
	}
	// __crash_kexec's call of machine_kexec is inside kexec_unlock's
	// caller; at the return address (the next instruction) three
	// functions are inlined.
	chain, err := ix.InlineChain(0xffffffff81163ff7)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range chain {
		got = append(got, fmt.Sprintf("%s@%s:%d", c.Name, c.CallFile[strings.LastIndex(c.CallFile, "/")+1:], c.CallLine))
	}
	want := "arch_atomic_set_release@atomic-instrumented.h:50 atomic_set_release@kexec_internal.h:28 kexec_unlock@kexec_core.c:979"
	if strings.Join(got, " ") != want {
		t.Errorf("inline chain %q, want %q", strings.Join(got, " "), want)
	}
	if chain, err := ix.InlineChain(0xffffffff8134b06b); err != nil || len(chain) != 0 {
		t.Errorf("ksys_write+107: %v %v", chain, err)
	}
	if l, ok, err := ix.LineAt(0x1234); ok || err != nil {
		t.Errorf("no code at 0x1234: %v %v %v", l, ok, err)
	}
}

// FuzzRangeLists decodes arbitrary .debug_rnglists, .debug_ranges and
// .debug_aranges contents: errors, never panics or endless loops.
func FuzzRangeLists(f *testing.F) {
	f.Add([]byte{rleOffsetPair, 0x10, 0x20, rleBaseAddress, 0, 0x10, 0, 0, 0, 0, 0, 0, rleStartLength, 1, 0, 0, 0, 0, 0, 0, 0, 8, rleEndOfList})
	f.Add([]byte{rleBaseAddressx, 0, rleStartxEndx, 0, 1, rleStartxLength, 1, 4, rleStartEnd, 1, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0})
	// An aranges set: length, version 2, unit offset 0, address size 8.
	ar := []byte{44, 0, 0, 0, 2, 0, 0, 0, 0, 0, 8, 0, 0, 0, 0, 0}
	ar = append(ar, 0, 0x10, 0, 0, 0, 0, 0, 0, 0x20, 0, 0, 0, 0, 0, 0, 0)
	ar = append(ar, make([]byte, 16)...)
	f.Add(ar)
	f.Fuzz(func(t *testing.T, b []byte) {
		addr := make([]byte, 32)
		for i := range addr {
			addr[i] = byte(i)
		}
		ix := &Index{addr: addr}
		ix.ln.rnglists, ix.ln.ranges, ix.ln.aranges = b, b, b
		u := &unit{unitParams: unitParams{version: 5, addrSize: 8, offSize: 4}, end: 100}
		ix.units[secInfo] = []*unit{u}
		for _, off := range []uint64{0, 1, 7} {
			ix.rnglist(u, off, 0x1000)
			ix.rangesV4(u, off, 0x1000)
			ix.pcRanges(u, &pcAttrs{ranges: value{form: formRnglistx, u: off}, hasRanges: true}, 0, 0)
		}
		ix.buildCURanges()
		ix.unitAt(0x1010)
	})
}
