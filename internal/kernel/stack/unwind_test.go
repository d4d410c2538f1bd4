package stack

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"kdive/internal/arch/amd64"
)

// fakeMem is a flat byte range of memory at base; other reads fault.
type fakeMem struct {
	base uint64
	b    []byte
}

func (m *fakeMem) ReadAt(p []byte, addr uint64) (int, error) {
	if addr < m.base || addr+uint64(len(p)) > m.base+uint64(len(m.b)) || addr+uint64(len(p)) < addr {
		return 0, fmt.Errorf("fault at %#x", addr)
	}
	return copy(p, m.b[addr-m.base:]), nil
}

func (m *fakeMem) put(addr, v uint64) { binary.LittleEndian.PutUint64(m.b[addr-m.base:], v) }

const (
	text     = uint64(0xffffffff81000000)
	fnA      = text + 0x100 // leaf: push; CFA = sp+16
	fnB      = text + 0x200 // CFA = sp+8
	fnEntry  = text + 0x300 // end of stack hint
	fnUndef  = text + 0x400 // undefined (no ORC data)
	fnRegs   = text + 0x500 // pt_regs at sp
	fnZero   = text + 0x600 // CFA = sp+0: a corrupt entry
	textEnd  = text + 0x700
	stackLo  = uint64(0xffffc90000000000)
	stackTop = stackLo + 0x4000
)

func orcEnt(spOff int16, spReg, typ uint8, end bool) []byte {
	b := make([]byte, 6)
	binary.LittleEndian.PutUint16(b, uint16(spOff))
	w := uint16(spReg) | uint16(typ)<<8
	if end {
		w |= 1 << 10
	}
	binary.LittleEndian.PutUint16(b[4:], w)
	return b
}

func testUnwinder(t *testing.T) (*Unwinder, *fakeMem) {
	addrs := []uint64{text, fnA, fnB, fnEntry, fnUndef, fnRegs, fnZero}
	ents := [][]byte{
		orcEnt(0, amd64.OrcRegUndefined, amd64.OrcTypeCall, false),
		orcEnt(16, amd64.OrcRegSP, amd64.OrcTypeCall, false),
		orcEnt(8, amd64.OrcRegSP, amd64.OrcTypeCall, false),
		orcEnt(0, amd64.OrcRegUndefined, amd64.OrcTypeCall, true),
		orcEnt(0, amd64.OrcRegUndefined, amd64.OrcTypeCall, false),
		orcEnt(0, amd64.OrcRegSP, amd64.OrcTypeRegs, false),
		orcEnt(0, amd64.OrcRegSP, amd64.OrcTypeCall, false),
	}
	ipAddr := text + 0x100000
	ip := make([]byte, 4*len(addrs))
	var orc []byte
	for i, a := range addrs {
		binary.LittleEndian.PutUint32(ip[4*i:], uint32(int32(int64(a)-int64(ipAddr+uint64(4*i)))))
		orc = append(orc, ents[i]...)
	}
	tb, err := amd64.NewOrcTable("vmlinux", ipAddr, ip, orc, amd64.OrcLayoutV1, text, textEnd)
	if err != nil {
		t.Fatal(err)
	}
	m := &fakeMem{base: stackLo, b: make([]byte, stackTop-stackLo)}
	return &Unwinder{Mem: m, ORC: &amd64.OrcSet{Tables: []*amd64.OrcTable{tb}},
		Stacks: StackList{{Kind: KindTask, Lo: stackLo, Hi: stackTop}}}, m
}

func TestUnwindChain(t *testing.T) {
	u, m := testUnwinder(t)
	sp := stackTop - 0x100
	// A (CFA sp+16) called from B+5 (CFA +8) called from entry+5.
	m.put(sp+8, fnB+5)
	m.put(sp+16, fnEntry+5)
	tr := u.Unwind(State{IP: fnA + 3, SP: sp, Signal: true})
	if tr.Err != nil || len(tr.Frames) != 3 {
		t.Fatalf("frames %+v err %v", tr.Frames, tr.Err)
	}
	if tr.Frames[1].IP != fnB+5 || tr.Frames[1].Addr != sp+8 || tr.Frames[2].Addr != sp+16 {
		t.Fatalf("frames %+v", tr.Frames)
	}
}

func TestUnwindUserRegs(t *testing.T) {
	u, m := testUnwinder(t)
	sp := stackTop - amd64.PtRegsSize - 8
	m.put(sp, fnRegs+5) // B's return into the entry code
	regs := sp + 8
	m.put(regs+amd64.RIP*8, 0x401000)
	m.put(regs+amd64.CS*8, 0x33)
	m.put(regs+amd64.RSP*8, 0x7ffc0000)
	tr := u.Unwind(State{IP: fnB + 1, SP: sp, Signal: true})
	if tr.Err != nil || tr.User == nil || tr.User.R[amd64.RIP] != 0x401000 || tr.UserAddr != regs {
		t.Fatalf("user %+v err %v frames %+v", tr.User, tr.Err, tr.Frames)
	}
}

func TestUnwindStops(t *testing.T) {
	for _, c := range []struct {
		name  string
		setup func(m *fakeMem, sp uint64) State
		want  string
	}{
		{"missing ORC entry", func(m *fakeMem, sp uint64) State {
			return State{IP: textEnd + 0x10, SP: sp, Signal: true}
		}, "no ORC entry for 0xffffffff81000710"},
		{"stack pointer off the stack", func(m *fakeMem, sp uint64) State {
			return State{IP: fnA + 1, SP: 0xdead0000, Signal: true}
		}, "reading the return address: stack address 0xdead0008: not on a known stack"},
		{"return into nowhere", func(m *fakeMem, sp uint64) State {
			m.put(sp+8, 0x1234)
			return State{IP: fnA + 1, SP: sp, Signal: true}
		}, "no ORC entry for 0x1234"},
		{"undefined entry, no caller", func(m *fakeMem, sp uint64) State {
			return State{IP: fnUndef + 1, SP: sp, Signal: true}
		}, "is undefined"},
		{"stack going the wrong way", func(m *fakeMem, sp uint64) State {
			m.put(sp-8, fnZero+5)
			return State{IP: fnZero + 1, SP: sp, Signal: true}
		}, "goes the wrong way"},
		{"loop of return addresses", func(m *fakeMem, sp uint64) State {
			for a := stackLo; a < stackTop; a += 8 {
				m.put(a, fnB+5)
			}
			return State{IP: fnB + 1, SP: stackLo, Signal: true}
		}, "stopped after 256 frames"},
	} {
		t.Run(c.name, func(t *testing.T) {
			u, m := testUnwinder(t)
			tr := u.Unwind(c.setup(m, stackTop-0x100))
			if tr.Err == nil || !strings.Contains(tr.Err.Error(), c.want) {
				t.Fatalf("err %v, want %q (frames %d)", tr.Err, c.want, len(tr.Frames))
			}
			if len(tr.Frames) > MaxFrames {
				t.Fatalf("%d frames", len(tr.Frames))
			}
		})
	}
}

// FuzzUnwind: arbitrary stack contents and starting registers never make
// the walk panic, loop or exceed MaxFrames.
func FuzzUnwind(f *testing.F) {
	f.Add([]byte{}, uint64(fnA+1), uint64(0x3f00), uint64(0), true)
	f.Add(make([]byte, 64), uint64(fnRegs), uint64(0x3000), uint64(0), false)
	f.Fuzz(func(t *testing.T, stackBytes []byte, ip, spOff, bp uint64, signal bool) {
		u, m := testUnwinder(t)
		copy(m.b[0x3000:], stackBytes)
		// Make some words return addresses into the test functions.
		for i := 0; i+8 <= len(stackBytes) && i < 0x1000; i += 8 {
			v := binary.LittleEndian.Uint64(stackBytes[i:])
			if v&0xff00 == 0x8100 {
				m.put(stackLo+0x3000+uint64(i), text+(v&0x7ff))
			}
		}
		ip = text + ip%0x800
		tr := u.Unwind(State{IP: ip, SP: stackLo + spOff%0x5000, BP: bp, Signal: signal})
		if len(tr.Frames) > MaxFrames {
			t.Fatalf("%d frames", len(tr.Frames))
		}
	})
}
