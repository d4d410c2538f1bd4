package tasks

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
)

type fake struct {
	mem     map[uint64][]byte // page-less flat regions
	syms    map[string]uint64
	offs    map[string]uint64
	percpu  map[int]uint64
	noReads map[uint64]bool
}

func (f *fake) ReadAt(b []byte, addr uint64) (int, error) {
	if f.noReads[addr] {
		return 0, errors.New("excluded")
	}
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
	return 0, errors.New("no symbol " + n)
}
func (f *fake) MemberOffset(t, m string) (uint64, error) {
	if v, ok := f.offs[t+"."+m]; ok {
		return v, nil
	}
	return 0, errors.New("no member " + t + "." + m)
}
func (f *fake) MemberSize(t, m string) (uint64, error) {
	if t == "task_struct" && m == "__state" {
		return 4, nil
	}
	return 0, errors.New("no member")
}
func (f *fake) PerCPUOffset(cpu int) (uint64, error) {
	if v, ok := f.percpu[cpu]; ok {
		return v, nil
	}
	return 0, errors.New("no cpu")
}

const tsz = 0x400

// kernel is a fake 6.1-like kernel with processes and threads.
type kernel struct {
	f     *fake
	next  uint64
	procs []uint64
}

func newKernel() *kernel {
	f := &fake{mem: map[uint64][]byte{}, syms: map[string]uint64{}, percpu: map[int]uint64{}, noReads: map[uint64]bool{},
		offs: map[string]uint64{
			"task_struct.tasks": 0x100, "task_struct.pid": 0x200, "task_struct.tgid": 0x204,
			"task_struct.comm": 0x300, "task_struct.__state": 0x18, "task_struct.exit_state": 0x1f0,
			"task_struct.flags": 0x2c, "task_struct.real_parent": 0x210, "task_struct.mm": 0x1e0,
			"task_struct.thread_info.cpu": 0x10, "task_struct.signal": 0x220,
			"signal_struct.thread_head": 0x10, "task_struct.thread_node": 0x230, "rq.idle": 0x40,
		}}
	k := &kernel{f: f, next: 0xffff888000100000}
	return k
}

func (k *kernel) task(pid, tgid int32, comm string, cpu uint32) uint64 {
	a := k.next
	k.next += 0x1000
	b := make([]byte, tsz)
	binary.LittleEndian.PutUint32(b[0x200:], uint32(pid))
	binary.LittleEndian.PutUint32(b[0x204:], uint32(tgid))
	copy(b[0x300:], comm)
	binary.LittleEndian.PutUint32(b[0x10:], cpu)
	binary.LittleEndian.PutUint32(b[0x18:], 1)
	k.f.mem[a] = b
	return a
}

func (k *kernel) put(addr, v uint64) {
	for base, r := range k.f.mem {
		if addr >= base && addr+8 <= base+uint64(len(r)) {
			binary.LittleEndian.PutUint64(r[addr-base:], v)
			return
		}
	}
	panic(fmt.Sprintf("put %#x", addr))
}

// link makes a circular list of the list_heads at the given addresses.
func (k *kernel) link(heads []uint64) {
	for i, h := range heads {
		k.put(h, heads[(i+1)%len(heads)])
		k.put(h+8, heads[(i+len(heads)-1)%len(heads)])
	}
}

// signal creates a signal_struct whose thread list holds the given tasks.
func (k *kernel) signal(threads ...uint64) {
	s := k.next
	k.next += 0x1000
	k.f.mem[s] = make([]byte, 0x100)
	heads := []uint64{s + 0x10}
	for _, t := range threads {
		k.put(t+0x220, s)
		heads = append(heads, t+0x230)
	}
	k.link(heads)
}

func build(t *testing.T) (*kernel, map[string]uint64) {
	k := newKernel()
	init := k.task(0, 0, "swapper/0", 0)
	k.f.syms["init_task"] = init
	k.signal(init)
	p1 := k.task(1, 1, "init", 0)
	k.signal(p1)
	p2 := k.task(2, 2, "kthreadd", 1)
	k.signal(p2)
	p3 := k.task(100, 100, "server", 1)
	t1 := k.task(101, 100, "worker1", 0)
	t2 := k.task(102, 100, "worker2", 1)
	k.signal(p3, t1, t2)
	for _, p := range []uint64{p1, p2, p3} {
		k.put(p+0x210, init)
	}
	k.put(t1+0x210, init)
	k.link([]uint64{init + 0x100, p1 + 0x100, p2 + 0x100, p3 + 0x100})
	// runqueues: per-CPU, CPU 1's idle task is not on any list.
	idle1 := k.task(0, 0, "swapper/1", 1)
	k.f.syms["runqueues"] = 0x30000
	k.f.percpu[0] = 0xffff88801f000000
	k.f.percpu[1] = 0xffff88801f100000
	k.f.mem[0xffff88801f030000] = make([]byte, 0x100)
	k.f.mem[0xffff88801f130000] = make([]byte, 0x100)
	k.put(0xffff88801f030040, init)
	k.put(0xffff88801f130040, idle1)
	// possible mask: CPUs 0 and 1
	k.f.syms["__cpu_possible_mask"] = 0xffffffff82000000
	k.f.syms["nr_cpu_ids"] = 0xffffffff82000400
	k.f.mem[0xffffffff82000000] = make([]byte, 1024)
	k.f.mem[0xffffffff82000000][0] = 3
	k.f.mem[0xffffffff82000400] = []byte{2, 0, 0, 0}
	return k, map[string]uint64{"init": init, "p1": p1, "p2": p2, "p3": p3, "t1": t1, "t2": t2, "idle1": idle1}
}

func TestList(t *testing.T) {
	k, a := build(t)
	res, err := List(k.f, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, x := range res.Tasks {
		got = append(got, fmt.Sprintf("%d/%d:%s:cpu%d:idle=%v", x.PID, x.TGID, x.Comm, x.CPU, x.Idle))
	}
	want := "0/0:swapper/0:cpu0:idle=true 0/0:swapper/1:cpu1:idle=true 1/1:init:cpu0:idle=false 2/2:kthreadd:cpu1:idle=false 100/100:server:cpu1:idle=false 101/100:worker1:cpu0:idle=false 102/100:worker2:cpu1:idle=false"
	if strings.Join(got, " ") != want {
		t.Fatalf("got  %s\nwant %s", strings.Join(got, " "), want)
	}
	if len(res.Warnings) != 0 {
		t.Errorf("warnings %q", res.Warnings)
	}
	if res.Tasks[1].Addr != a["idle1"] || res.Tasks[1].IdleCPU != 1 || res.Tasks[5].PPID != 0 || res.Tasks[5].Parent != a["init"] || res.Tasks[5].State != 1 {
		t.Errorf("fields: %+v %+v", res.Tasks[1], res.Tasks[5])
	}
	if !res.Tasks[4].Leader || res.Tasks[5].Leader {
		t.Error("leader flags")
	}
}

func TestListCycle(t *testing.T) {
	k, a := build(t)
	// p3.tasks.next points back to p1: a cycle that never reaches the head.
	k.put(a["p3"]+0x100, a["p1"]+0x100)
	res, err := List(k.f, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Tasks) != 7 || len(res.Warnings) == 0 || !strings.Contains(res.Warnings[0], "corrupt") {
		t.Fatalf("%d tasks, warnings %q", len(res.Tasks), res.Warnings)
	}
	// A thread list with an unreadable link stops there with a warning.
	k.f.noReads[a["t1"]+0x230] = true
	res, err = List(k.f, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Tasks) != 6 {
		t.Fatalf("%d tasks", len(res.Tasks))
	}
}

func TestListThreadGroupRing(t *testing.T) {
	k, a := build(t)
	// An older kernel: no thread_node/thread_head, threads on thread_group.
	delete(k.f.offs, "signal_struct.thread_head")
	delete(k.f.offs, "task_struct.thread_node")
	k.f.offs["task_struct.thread_group"] = 0x240
	k.f.offs["task_struct.cpu"] = 0x10
	delete(k.f.offs, "task_struct.thread_info.cpu")
	for _, p := range []string{"init", "p1", "p2"} {
		k.link([]uint64{a[p] + 0x240})
	}
	k.link([]uint64{a["p3"] + 0x240, a["t1"] + 0x240, a["t2"] + 0x240})
	res, err := List(k.f, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Tasks) != 7 || res.Tasks[6].Comm != "worker2" || res.Tasks[6].CPU != 1 {
		t.Fatalf("%+v", res.Tasks)
	}
}

func TestCPUMask(t *testing.T) {
	k, _ := build(t)
	k.f.syms["__cpu_online_mask"] = 0xffffffff82000800
	k.f.mem[0xffffffff82000800] = make([]byte, 1024)
	k.f.mem[0xffffffff82000800][0] = 1
	got, err := CPUMask(k.f, "online")
	if err != nil || len(got) != 1 || got[0] != 0 {
		t.Fatalf("online %v %v", got, err)
	}
	got, _ = CPUMask(k.f, "possible")
	if len(got) != 2 {
		t.Fatalf("possible %v", got)
	}
	// nr_cpu_ids bounds the mask.
	k.f.mem[0xffffffff82000000][0] = 0xff
	if got, _ = CPUMask(k.f, "possible"); len(got) != 2 {
		t.Fatalf("possible beyond nr_cpu_ids: %v", got)
	}
}

// Corrupt task lists and fields end walks with warnings, never a hang.
func FuzzList(f *testing.F) {
	f.Add([]byte{0x10, 0x20}, uint16(0x100))
	f.Fuzz(func(t *testing.T, junk []byte, at uint16) {
		k, a := build(t)
		targets := []uint64{a["init"], a["p1"], a["p3"], a["t1"]}
		for i, c := range junk {
			base := targets[i%len(targets)]
			off := (uint64(at) + uint64(i)) % tsz
			k.f.mem[base][off] ^= c
		}
		res, err := List(k.f, Options{})
		if err != nil {
			return
		}
		seen := map[uint64]bool{}
		for _, tk := range res.Tasks {
			if seen[tk.Addr] {
				t.Fatalf("task %#x listed twice", tk.Addr)
			}
			seen[tk.Addr] = true
		}
		if len(res.Tasks) > 64 {
			t.Fatalf("%d tasks from a few task_structs", len(res.Tasks))
		}
	})
}
