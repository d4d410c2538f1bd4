package kread

import (
	"errors"
	"fmt"
	"testing"
)

type mem map[uint64]byte

func (m mem) ReadAt(b []byte, addr uint64) (int, error) {
	for i := range b {
		v, ok := m[addr+uint64(i)]
		if !ok {
			return i, fmt.Errorf("%#x not present", addr+uint64(i))
		}
		b[i] = v
	}
	return len(b), nil
}

func TestIntegers(t *testing.T) {
	m := mem{}
	for i := 0; i < 8; i++ {
		m[0x1000+uint64(i)] = byte(i + 1)
	}
	if v, err := U64(m, 0x1000); err != nil || v != 0x0807060504030201 {
		t.Errorf("U64 %#x %v", v, err)
	}
	if v, err := U32(m, 0x1004); err != nil || v != 0x08070605 {
		t.Errorf("U32 %#x %v", v, err)
	}
	if v, err := U16(m, 0x1006); err != nil || v != 0x0807 {
		t.Errorf("U16 %#x %v", v, err)
	}
	if _, err := U64(m, 0x1004); err == nil {
		t.Error("U64 across the end of memory read")
	}
}

func TestBudget(t *testing.T) {
	m := mem{0: 1, 1: 0}
	b := NewBudget(m, "net", 3)
	for i := 0; i < 3; i++ {
		if v, err := U16(b, 0); err != nil || v != 1 {
			t.Fatalf("read %d: %v %v", i, v, err)
		}
	}
	_, err := U16(b, 0)
	var be *BudgetError
	if !errors.As(err, &be) || err.Error() != "net: more than 3 reads" || b.Used() != 3 {
		t.Errorf("4th read: %v (used %d)", err, b.Used())
	}
}

func TestWarningsCapped(t *testing.T) {
	var w Warnings
	for i := 0; i < 2*MaxWarnings; i++ {
		w.Add("w %d", i)
	}
	if len(w) != MaxWarnings || w[0] != "w 0" {
		t.Errorf("%d warnings, first %q", len(w), w[0])
	}
}

type members map[string]uint64

func (m members) MemberOffset(typ, member string) (uint64, error) {
	if v, ok := m[typ+"."+member]; ok {
		return v, nil
	}
	return 0, fmt.Errorf("no member %s in %s", member, typ)
}

func TestOffsets(t *testing.T) {
	r := NewOffsets(members{"task_struct.pid": 8}, "tasks")
	if v, ok := r.Opt("task_struct", "tgid"); ok || v != 0 {
		t.Errorf("Opt of a missing member: %d %v", v, ok)
	}
	if v := r.Must("task_struct", "pid"); v != 8 || r.Err != nil {
		t.Errorf("Must pid: %d %v", v, r.Err)
	}
	r.Must("task_struct", "comm")
	r.Must("task_struct", "mm")
	if r.Err == nil || r.Err.Error() != "tasks: task_struct.comm: no member comm in task_struct" {
		t.Errorf("Err %v, want the first failure", r.Err)
	}
}
