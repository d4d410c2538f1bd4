package amd64

import (
	"encoding/binary"
	"testing"
)

func TestParseQEMUCPUState(t *testing.T) {
	d := make([]byte, 8+18*8+10*24+6*8)
	binary.LittleEndian.PutUint32(d, 1)
	binary.LittleEndian.PutUint32(d[4:], uint32(len(d)))
	for i := 0; i < 18; i++ {
		binary.LittleEndian.PutUint64(d[8+8*i:], uint64(100+i))
	}
	binary.LittleEndian.PutUint32(d[8+18*8:], 0x10)      // cs selector
	binary.LittleEndian.PutUint32(d[8+18*8+5*24:], 0x18) // ss selector
	q, err := ParseQEMUCPUState(d)
	if err != nil {
		t.Fatal(err)
	}
	r := q.Regs
	if r.R[RAX] != 100 || r.R[RSP] != 106 || r.R[RBP] != 107 || r.R[R15] != 115 || r.R[RIP] != 116 || r.R[RFLAGS] != 117 {
		t.Fatalf("regs %+v", r.R)
	}
	if r.R[CS] != 0x10 || r.R[SS] != 0x18 || r.UserMode() {
		t.Fatalf("segments cs %#x ss %#x", r.R[CS], r.R[SS])
	}
	if v, ok := r.Get(OrigRAX); ok {
		t.Fatalf("orig_ax known (%#x) in a QEMU note", v)
	}
	if _, err := ParseQEMUCPUState(d[:100]); err == nil {
		t.Fatal("short note accepted")
	}
}

func FuzzParseNotes(f *testing.F) {
	f.Add(make([]byte, PRStatusSize))
	f.Add(make([]byte, 8+18*8+10*24+6*8))
	f.Fuzz(func(t *testing.T, b []byte) {
		if p, err := ParsePRStatus(b); err == nil && p.Regs == nil {
			t.Fatal("nil regs")
		}
		if q, err := ParseQEMUCPUState(b); err == nil && q.Regs == nil {
			t.Fatal("nil regs")
		}
		ParsePtRegs(b)
	})
}
