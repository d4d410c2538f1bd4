package kallsyms

import (
	"encoding/binary"
	"fmt"
	"testing"
)

type fakeMem struct {
	base uint64
	b    []byte
}

func (f *fakeMem) ReadAt(p []byte, a uint64) (int, error) {
	if a < f.base || a-f.base+uint64(len(p)) > uint64(len(f.b)) {
		return 0, fmt.Errorf("fault at %#x", a)
	}
	return copy(p, f.b[a-f.base:]), nil
}

// build lays out a tiny kallsyms table: every name is spelled with
// single-character tokens, except token 0x80 = "sys_".
func build(names []string, offs []int32, relBase uint64) (*fakeMem, Addrs) {
	const base = 0xffffffff81000000
	var mem []byte
	put := func(b []byte) uint64 {
		a := base + uint64(len(mem))
		mem = append(mem, b...)
		for len(mem)%8 != 0 {
			mem = append(mem, 0)
		}
		return a
	}
	var a Addrs
	nb := make([]byte, 4)
	binary.LittleEndian.PutUint32(nb, uint32(len(names)))
	a.NumSyms = put(nb)
	ob := make([]byte, 4*len(offs))
	for i, o := range offs {
		binary.LittleEndian.PutUint32(ob[4*i:], uint32(o))
	}
	a.Offsets = put(ob)
	rb := make([]byte, 8)
	binary.LittleEndian.PutUint64(rb, relBase)
	a.RelativeBase = put(rb)
	var enc []byte
	for _, n := range names {
		var toks []byte
		for i := 0; i < len(n); i++ {
			if i > 0 && len(n) >= i+4 && n[i:i+4] == "sys_" {
				toks = append(toks, 0x80)
				i += 3
				continue
			}
			toks = append(toks, n[i])
		}
		enc = append(enc, byte(len(toks)))
		enc = append(enc, toks...)
	}
	a.Names = put(enc)
	var table []byte
	idx := make([]byte, 512)
	for i := 0; i < 256; i++ {
		binary.LittleEndian.PutUint16(idx[2*i:], uint16(len(table)))
		if i == 0x80 {
			table = append(table, "sys_"...)
		} else {
			table = append(table, byte(i))
		}
		table = append(table, 0)
	}
	a.TokenTable = put(table)
	a.TokenIndex = put(idx)
	return &fakeMem{base: base, b: mem}, a
}

func TestDecodeAbsolutePercpu(t *testing.T) {
	rel := uint64(0xffffffffa8400000)
	// _stext at base (offset -1 → base-1-(-1) = base), a per-CPU symbol at 0x31980.
	m, a := build([]string{"T_stext", "Druncqueues", "Tsys_read"}, []int32{-1, 0x31980, -0x101}, rel)
	a.Stext = rel
	syms, err := Decode(m, a)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		name string
		typ  byte
		addr uint64
	}{{"_stext", 'T', rel}, {"runcqueues", 'D', 0x31980}, {"sys_read", 'T', rel + 0x100}}
	for i, w := range want {
		if syms[i].Name != w.name || syms[i].Type != w.typ || syms[i].Addr != w.addr {
			t.Errorf("sym %d = %+v, want %+v", i, syms[i], w)
		}
	}
}

func TestDecodeRelative(t *testing.T) {
	rel := uint64(0xffffffff81000000)
	m, a := build([]string{"T_stext", "tfoo"}, []int32{0x10, 0x20}, rel)
	a.Stext = rel + 0x10
	syms, err := Decode(m, a)
	if err != nil || syms[1].Addr != rel+0x20 {
		t.Fatalf("%+v %v", syms, err)
	}
}

func TestDecodeBadInput(t *testing.T) {
	m, a := build([]string{"T_stext"}, []int32{-1}, 0xffffffff81000000)
	binary.LittleEndian.PutUint32(m.b[a.NumSyms-m.base:], 1<<30)
	if _, err := Decode(m, a); err == nil {
		t.Fatal("huge count accepted")
	}
	m, a = build([]string{"T_stext"}, []int32{-1}, 0xffffffff81000000)
	m.b[a.Names-m.base] = 200 // length past the table
	if _, err := Decode(m, a); err == nil {
		t.Fatal("overlong name accepted")
	}
}

func FuzzDecode(f *testing.F) {
	m, a := build([]string{"T_stext", "Dfoo", "tsys_bar"}, []int32{-1, 5, -9}, 0xffffffff81000000)
	f.Add(m.b)
	f.Fuzz(func(t *testing.T, b []byte) {
		Decode(&fakeMem{base: m.base, b: b}, a)
	})
}
