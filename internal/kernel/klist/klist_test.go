package klist

import (
	"errors"
	"testing"
)

func TestEntries(t *testing.T) {
	mem := map[uint64]uint64{0x100: 0x210, 0x210: 0x310, 0x310: 0x100}
	read := func(a uint64) (uint64, error) {
		v, ok := mem[a]
		if !ok {
			return 0, errors.New("fault")
		}
		return v, nil
	}
	got, err := Entries(read, 0x100, 0x10, 10)
	if err != nil || len(got) != 2 || got[0] != 0x200 || got[1] != 0x300 {
		t.Fatalf("%x %v", got, err)
	}
	if got, err := Entries(read, 0x100, 0x10, 1); err == nil || len(got) != 1 {
		t.Fatalf("cap: %x %v", got, err)
	}
	mem[0x310] = 0x210 // cycle not through the head
	if _, err := Entries(read, 0x100, 0, 10); err == nil {
		t.Fatal("cycle not reported")
	}
	mem[0x310] = 0x999 // unreadable
	if got, err := Entries(read, 0x100, 0, 10); err == nil || len(got) != 3 {
		t.Fatalf("fault: %x %v", got, err)
	}
}
