package sysinfo

import (
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
	"time"

	"kdive/internal/kernel/printk"
)

type fake struct {
	mem    map[uint64][]byte
	syms   map[string]uint64
	offs   map[string]uint64
	vmci   map[string]string
	percpu []uint64
}

func newFake() *fake {
	return &fake{mem: map[uint64][]byte{}, syms: map[string]uint64{}, offs: map[string]uint64{}, vmci: map[string]string{}}
}

func (f *fake) ReadAt(b []byte, addr uint64) (int, error) {
	for base, r := range f.mem {
		if addr >= base && addr+uint64(len(b)) <= base+uint64(len(r)) {
			return copy(b, r[addr-base:]), nil
		}
	}
	return 0, fmt.Errorf("no memory at %#x", addr)
}
func (f *fake) Symbol(n string) (uint64, error) {
	if a, ok := f.syms[n]; ok {
		return a, nil
	}
	return 0, errors.New("no symbol")
}
func (f *fake) MemberOffset(t, m string) (uint64, error) {
	if v, ok := f.offs[t+"."+m]; ok {
		return v, nil
	}
	return 0, errors.New("no member")
}
func (f *fake) MemberSize(t, m string) (uint64, error) { return 0, errors.New("no member") }
func (f *fake) TypeSize(t string) (uint64, error)      { return 0, errors.New("no type") }
func (f *fake) PerCPUOffset(cpu int) (uint64, error) {
	if cpu < len(f.percpu) {
		return f.percpu[cpu], nil
	}
	return 0, errors.New("no cpu")
}
func (f *fake) VMCOREINFO(k string) (string, bool) { v, ok := f.vmci[k]; return v, ok }

var next uint64 = 0xffffffff81000000

// sym places a variable of n bytes holding v (little endian) at a new address.
func (f *fake) sym(name string, v uint64, n int) uint64 {
	a := next
	next += 0x1000
	b := make([]byte, 0x1000)
	binary.LittleEndian.PutUint64(b, v)
	_ = n
	f.mem[a] = b
	f.syms[name] = a
	return a
}

// cpuFake: nPossible CPUs with per-CPU areas, masks for present/online.
func cpuFake(nPossible int, present, online uint64) *fake {
	f := newFake()
	load := f.sym("__per_cpu_load", 0, 8)
	f.syms["cpu_number"] = 0x1f000
	for i := 0; i < 8; i++ {
		if i < nPossible {
			area := 0xffff888000000000 + uint64(i)*0x100000
			f.percpu = append(f.percpu, area)
			b := make([]byte, 0x100)
			binary.LittleEndian.PutUint32(b, uint32(i))
			f.mem[area+0x1f000] = b
		} else {
			f.percpu = append(f.percpu, load)
		}
	}
	f.sym("nr_cpu_ids", uint64(nPossible), 4)
	f.sym("__cpu_present_mask", present, 8)
	f.sym("__cpu_online_mask", online, 8)
	return f
}

func TestCPUs(t *testing.T) {
	for _, c := range []struct {
		possible        int
		present, online uint64
		cpus, offline   int
	}{
		{2, 3, 3, 2, 0},     // kdump: both CPUs online
		{2, 3, 1, 2, 1},     // QEMU dump after panic: CPU 1 stopped (set offline)
		{4, 0x5, 0x5, 3, 1}, // present {0,2} < 4 possible: highest present + 1; online 2 -> "[OFFLINE: 1]"
		{1, 1, 1, 1, 0},
	} {
		in := &Info{}
		in.cpus(cpuFake(c.possible, c.present, c.online))
		if in.CPUs != c.cpus || in.Offline() != c.offline {
			t.Errorf("%+v: cpus %d offline %d", c, in.CPUs, in.Offline())
		}
	}
	// cpu_number not matching the index stops the count.
	f := cpuFake(4, 0, 0)
	delete(f.syms, "__cpu_present_mask")
	binary.LittleEndian.PutUint32(f.mem[f.percpu[2]+0x1f000], 7)
	in := &Info{}
	in.cpus(f)
	if in.CPUs != 2 || in.Offline() != 0 {
		t.Errorf("cpu_number mismatch: %d %d", in.CPUs, in.Offline())
	}
}

func TestDateOrder(t *testing.T) {
	f := newFake()
	f.vmci["CRASHTIME"] = "1000"
	in := &Info{}
	in.date(f, Options{HeaderTime: time.Unix(2000, 0)})
	if in.Date.Unix() != 1000 || in.DateSource != "VMCOREINFO CRASHTIME" {
		t.Errorf("%v %s", in.Date, in.DateSource)
	}
	delete(f.vmci, "CRASHTIME")
	in = &Info{}
	in.date(f, Options{HeaderTime: time.Unix(2000, 0)})
	if in.Date.Unix() != 2000 || in.DateSource != "dump header" {
		t.Errorf("%v %s", in.Date, in.DateSource)
	}
	// shadow_timekeeper.xtime_sec beats both.
	f.vmci["CRASHTIME"] = "1000"
	f.offs["timekeeper.xtime_sec"] = 0x40
	a := f.sym("shadow_timekeeper", 0, 8)
	binary.LittleEndian.PutUint64(f.mem[a][0x40:], 3000)
	in = &Info{}
	in.date(f, Options{})
	if in.Date.Unix() != 3000 || in.DateSource != "shadow_timekeeper.xtime_sec" {
		t.Errorf("%v %s", in.Date, in.DateSource)
	}
	// A "timekeeper" symbol (before 3.17) is read first.
	a = f.sym("timekeeper", 0, 8)
	binary.LittleEndian.PutUint64(f.mem[a][0x40:], 4000)
	in = &Info{}
	in.date(f, Options{})
	if in.Date.Unix() != 4000 || in.DateSource != "timekeeper.xtime_sec" {
		t.Errorf("%v %s", in.Date, in.DateSource)
	}
}

func TestHZ(t *testing.T) {
	for _, c := range []struct {
		tick uint64
		hz   int
	}{{4000000, 250}, {1000000, 1000}, {10000000, 100}, {3333333, 300}, {4000012, 250}} {
		f := newFake()
		f.sym("tick_nsec", c.tick, 8)
		in := &Info{}
		in.hz(f, nil)
		if in.HZ != c.hz || in.HZSource != "tick_nsec" {
			t.Errorf("tick_nsec %d: HZ %d (%s)", c.tick, in.HZ, in.HZSource)
		}
	}
	// No tick_nsec: jiffies_64 against the last log time stamp. The shared
	// dump: jiffies_64 0xfffee678 at 12.072716 s.
	f := newFake()
	in := &Info{Jiffies: 0xfffee678, JiffiesIs64: true, JiffiesOK: true}
	in.hz(f, &printk.Log{Records: []printk.Record{{TsNsec: 12_072_716_000}}})
	if in.HZ != 250 {
		t.Errorf("from log: HZ %d (%s)", in.HZ, in.HZSource)
	}
	// HZ 1000, 100 s up.
	in = &Info{Jiffies: 0x1_0000_0000 - 300_000 + 100_000, JiffiesIs64: true, JiffiesOK: true}
	in.hz(f, &printk.Log{Records: []printk.Record{{TsNsec: 100_000_000_000}}})
	if in.HZ != 1000 {
		t.Errorf("from log: HZ %d (%s)", in.HZ, in.HZSource)
	}
	in = &Info{}
	in.hz(f, nil)
	if in.HZ != 1000 || in.HZSource != "default" || len(in.Warnings) != 1 {
		t.Errorf("default: %d %s %q", in.HZ, in.HZSource, in.Warnings)
	}
}

func TestMemoryNodes(t *testing.T) {
	f := newFake()
	f.vmci["OFFSET(pglist_data.node_start_pfn)"] = "100"
	f.vmci["OFFSET(pglist_data.node_spanned_pages)"] = "116"
	nd := f.sym("node_data", 0, 8)
	f.vmci["SYMBOL(node_data)"] = fmt.Sprintf("%x", nd)
	f.vmci["LENGTH(node_data)"] = "64"
	om := f.sym("node_states_online", 0b101, 8) // nodes 0 and 2 online
	f.vmci["SYMBOL(node_online_map)"] = fmt.Sprintf("%x", om)
	mk := func(present, spanned uint64) uint64 {
		a := next
		next += 0x1000
		b := make([]byte, 0x1000)
		binary.LittleEndian.PutUint64(b[108:], present) // spanned-8 when types are absent
		binary.LittleEndian.PutUint64(b[116:], spanned)
		f.mem[a] = b
		return a
	}
	binary.LittleEndian.PutUint64(f.mem[nd][0:], mk(1000, 1200))
	binary.LittleEndian.PutUint64(f.mem[nd][8:], mk(5000, 5000)) // node 1: offline, not counted
	binary.LittleEndian.PutUint64(f.mem[nd][16:], mk(0, 300))    // present 0: spanned counts
	in := &Info{}
	in.memory(f)
	if !in.MemoryOK || in.MemoryBytes != (1000+300)*4096 {
		t.Errorf("memory %d (%v) %q", in.MemoryBytes, in.MemoryOK, in.Warnings)
	}
	// With types, node_present_pages comes from them.
	f.offs["pglist_data.node_present_pages"] = 124
	binary.LittleEndian.PutUint64(f.mem[binary.LittleEndian.Uint64(f.mem[nd][0:])][124:], 10)
	in = &Info{}
	in.memory(f)
	if in.MemoryBytes != (10+300)*4096 {
		t.Errorf("memory with types %d", in.MemoryBytes)
	}
}

func TestTaint(t *testing.T) {
	f := newFake()
	f.sym("tainted_mask", 1<<12|1<<13, 8) // O and E: an out-of-tree unsigned module
	in := &Info{}
	in.taint(f, []string{"dummy"})
	if !in.Tainted || in.Livepatch {
		t.Errorf("%+v", in)
	}
	in = &Info{}
	in.taint(f, []string{"kpatch"})
	if !in.Livepatch {
		t.Error("kpatch module")
	}
	f.sym("tainted_mask", 1<<15, 8)
	in = &Info{}
	in.taint(f, nil)
	if !in.Livepatch || !in.Tainted {
		t.Error("TAINT_LIVEPATCH")
	}
}
