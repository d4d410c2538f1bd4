package amd64

import (
	"encoding/binary"
	"testing"
)

func orcBytes(spOff, bpOff int16, spReg, bpReg, typ uint8, end bool) []byte {
	b := make([]byte, 6)
	binary.LittleEndian.PutUint16(b, uint16(spOff))
	binary.LittleEndian.PutUint16(b[2:], uint16(bpOff))
	w := uint16(spReg&15) | uint16(bpReg&15)<<4 | uint16(typ&3)<<8
	if end {
		w |= 1 << 10
	}
	binary.LittleEndian.PutUint16(b[4:], w)
	return b
}

func TestDecodeOrcEntryV1(t *testing.T) {
	e := DecodeOrcEntry(orcBytes(-8, 16, OrcRegSPIndirect, OrcRegPrevSP, OrcTypeRegsPartial, true), OrcLayoutV1)
	want := OrcEntry{SPOffset: -8, BPOffset: 16, SPReg: OrcRegSPIndirect, BPReg: OrcRegPrevSP, Type: OrcTypeRegsPartial, End: true}
	if e != want {
		t.Fatalf("got %+v want %+v", e, want)
	}
	// 6.4 layout: type 3 bits (2 = CALL), signal bit 11.
	b := orcBytes(8, 0, OrcRegSP, OrcRegUndefined, 0, false)
	binary.LittleEndian.PutUint16(b[4:], uint16(OrcRegSP)|2<<8|1<<11)
	e = DecodeOrcEntry(b, OrcLayoutV2)
	if e.Type != OrcTypeCall || !e.Signal || e.SPReg != OrcRegSP || e.SPOffset != 8 {
		t.Fatalf("v2 decode %+v", e)
	}
	binary.LittleEndian.PutUint16(b[4:], 1<<8)
	if e = DecodeOrcEntry(b, OrcLayoutV2); !e.End || e.Type != OrcTypeUndefined {
		t.Fatalf("v2 end of stack %+v", e)
	}
	if e = DecodeOrcEntry(b[:3], OrcLayoutV1); e.Type != OrcTypeUndefined {
		t.Fatalf("short entry decoded as %+v", e)
	}
}

// table builds a table at ipAddr for (address, entry) pairs, given in any
// order.
func table(t *testing.T, ipAddr uint64, addrs []uint64, ents [][]byte) *OrcTable {
	ip := make([]byte, 4*len(addrs))
	var orc []byte
	for i, a := range addrs {
		binary.LittleEndian.PutUint32(ip[4*i:], uint32(int32(int64(a)-int64(ipAddr+uint64(4*i)))))
		orc = append(orc, ents[i]...)
	}
	tb, err := NewOrcTable("test", ipAddr, ip, orc, OrcLayoutV1, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

func TestOrcTableFind(t *testing.T) {
	base := uint64(0xffffffff81000000)
	tb := table(t, base+0x100000,
		[]uint64{base + 0x30, base + 0x10, base + 0x20},
		[][]byte{
			orcBytes(24, 0, OrcRegSP, 0, OrcTypeCall, false),
			orcBytes(8, 0, OrcRegSP, 0, OrcTypeCall, false),
			orcBytes(16, -16, OrcRegSP, OrcRegPrevSP, OrcTypeCall, false),
		})
	tb.Hi = base + 0x100
	for _, c := range []struct {
		ip   uint64
		ok   bool
		spOf int16
	}{
		{base + 0xf, false, 0}, {base + 0x10, true, 8}, {base + 0x1f, true, 8},
		{base + 0x20, true, 16}, {base + 0x2f, true, 16}, {base + 0x30, true, 24},
		{base + 0xff, true, 24}, {base + 0x100, false, 0},
	} {
		e, _, ok := tb.Find(c.ip)
		if ok != c.ok || ok && e.SPOffset != c.spOf {
			t.Errorf("Find(%#x) = %+v %v, want sp offset %d %v", c.ip, e, ok, c.spOf, c.ok)
		}
	}
	set := &OrcSet{Tables: []*OrcTable{tb}}
	if _, _, ok := set.Find(base + 0x200); ok {
		t.Error("address outside every table found")
	}
	if _, err := NewOrcTable("x", 0, nil, nil, OrcLayoutV1, 0, 0); err == nil {
		t.Error("empty table accepted")
	}
	if _, err := NewOrcTable("x", 0, make([]byte, 8), make([]byte, 6), OrcLayoutV1, 0, 0); err == nil {
		t.Error("short .orc_unwind accepted")
	}
}

func TestParsePRStatus(t *testing.T) {
	d := make([]byte, PRStatusSize)
	binary.LittleEndian.PutUint32(d[PRStatusPIDOffset:], 123)
	for i := 0; i < NumPtRegs; i++ {
		binary.LittleEndian.PutUint64(d[PRStatusRegOffset+8*i:], uint64(i+1))
	}
	p, err := ParsePRStatus(d)
	if err != nil || p.PID != 123 || p.Regs.R[RIP] != RIP+1 || p.Regs.R[RSP] != RSP+1 || p.Regs.Valid != AllValid {
		t.Fatalf("%+v %v", p, err)
	}
	if _, err := ParsePRStatus(d[:100]); err == nil {
		t.Fatal("short note accepted")
	}
}

func FuzzOrcTable(f *testing.F) {
	f.Add(make([]byte, 8), make([]byte, 12), uint64(0x1000))
	f.Fuzz(func(t *testing.T, ip, orc []byte, at uint64) {
		for _, l := range []OrcLayout{OrcLayoutV1, OrcLayoutV2} {
			_ = DecodeOrcEntry(orc, l).String()
			tb, err := NewOrcTable("fuzz", 0xffffffff81000000, ip, orc, l, 0, 0)
			if err != nil {
				continue
			}
			e, start, ok := tb.Find(at)
			if ok && (start > at || e.SPReg > 15 || e.BPReg > 15) {
				t.Fatalf("Find(%#x) = %+v start %#x", at, e, start)
			}
			for i := 1; i < tb.Len(); i++ {
				if tb.ips[i] < tb.ips[i-1] {
					t.Fatal("table not sorted")
				}
			}
		}
	})
}
