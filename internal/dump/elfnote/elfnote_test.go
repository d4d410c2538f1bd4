package elfnote

import (
	"encoding/binary"
	"testing"
)

func mk(name string, typ uint32, desc []byte) []byte {
	var b []byte
	h := make([]byte, 12)
	binary.LittleEndian.PutUint32(h, uint32(len(name)+1))
	binary.LittleEndian.PutUint32(h[4:], uint32(len(desc)))
	binary.LittleEndian.PutUint32(h[8:], typ)
	b = append(b, h...)
	n := append([]byte(name), 0)
	for len(n)%4 != 0 {
		n = append(n, 0)
	}
	b = append(b, n...)
	d := append([]byte{}, desc...)
	for len(d)%4 != 0 {
		d = append(d, 0)
	}
	return append(b, d...)
}

func TestParse(t *testing.T) {
	buf := append(mk("CORE", NT_PRSTATUS, make([]byte, 336)), mk("VMCOREINFO", 0, []byte("OSRELEASE=6.1\n"))...)
	notes, err := Parse(buf)
	if err != nil || len(notes) != 2 {
		t.Fatalf("notes %v err %v", len(notes), err)
	}
	if notes[1].Name != "VMCOREINFO" || string(notes[1].Desc) != "OSRELEASE=6.1\n" {
		t.Fatalf("bad note %+v", notes[1])
	}
	if _, err := Parse(buf[:len(buf)-8]); err == nil {
		t.Fatal("truncated note accepted")
	}
}

func FuzzParse(f *testing.F) {
	f.Add(mk("VMCOREINFO", 0, []byte("A=1\n")))
	f.Fuzz(func(t *testing.T, b []byte) { Parse(b) })
}
