package tasks

import (
	"encoding/binary"
	"testing"
)

// sizedFake adds TypeSize (for percpu_counter) to the fake.
type sizedFake struct{ *fake }

func (s sizedFake) TypeSize(typ string) (uint64, error) {
	if typ == "percpu_counter" {
		return 40, nil
	}
	return 0, errNoType
}

type errString string

func (e errString) Error() string { return string(e) }

const errNoType = errString("no type")

// memKernel gives the fake kernel's "server" process (three threads) an mm.
func memKernel(t *testing.T, percpu bool) (Source, []Task, map[string]uint64) {
	k, a := build(t)
	o := k.f.offs
	o["mm_struct.total_vm"] = 0x20
	o["mm_struct.rss_stat"] = 0x40
	o["task_struct.rss_stat"] = 0x240
	o["task_rss_stat.count"] = 0
	mm := uint64(0xffff888000900000)
	k.f.mem[mm] = make([]byte, 0x200)
	k.put(mm+0x20, 1000) // total_vm
	var src Source = k.f
	if percpu {
		// 6.2: struct percpu_counter rss_stat[4] (count at 8, counters at 32).
		o["percpu_counter.count"] = 8
		o["percpu_counter.counters"] = 32
		for i, v := range []int64{10, 20, 0, 5} {
			k.put(mm+0x40+uint64(i)*40+8, uint64(v))
		}
		// per-CPU deltas of the anon counter: +3 on CPU 0, -1 on CPU 1
		pc := uint64(0x1000)
		k.put(mm+0x40+40+32, pc)
		k.f.mem[pc+k.f.percpu[0]] = []byte{3, 0, 0, 0}
		k.f.mem[pc+k.f.percpu[1]] = []byte{0xff, 0xff, 0xff, 0xff}
		src = sizedFake{k.f}
	} else {
		// 6.1: struct mm_rss_stat { atomic_long_t count[4]; }, plus the
		// threads' SPLIT_RSS_COUNTING caches.
		o["mm_rss_stat.count"] = 0
		for i, v := range []int64{10, 20, 7, 5} {
			k.put(mm+0x40+uint64(i)*8, uint64(v))
		}
		k.put(mm+0x40+8, uint64(0xffffffffffffff00))                          // a negative anon count is left out
		binary.LittleEndian.PutUint32(k.f.mem[a["t1"]][0x240:], 2)            // file +2
		binary.LittleEndian.PutUint32(k.f.mem[a["t2"]][0x240+12:], 1)         // shmem +1
		binary.LittleEndian.PutUint32(k.f.mem[a["t2"]][0x240+4:], 0xffffffff) // anon -1: left out
	}
	for _, n := range []string{"p3", "t1", "t2"} {
		k.put(a[n]+0x1e0, mm)
	}
	res, err := List(k.f, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return src, res.Tasks, a
}

func TestMemUsage(t *testing.T) {
	for _, percpu := range []bool{false, true} {
		src, all, a := memKernel(t, percpu)
		mem, err := MemUsage(src, all)
		if err != nil {
			t.Fatal(err)
		}
		// 6.1: file 10 + shmem 5 (anon negative) + caches 2 + 1 = 18,
		// shmem 5 + 1. 6.2: 10 + (20+3-1) + 5 = 37, shmem 5.
		want := Mem{TotalVM: 1000, RSS: 18, Shmem: 6}
		if percpu {
			want = Mem{TotalVM: 1000, RSS: 37, Shmem: 5}
		}
		for i, tk := range all {
			got := mem[i]
			switch tk.Addr {
			case a["p3"], a["t1"], a["t2"]:
				if got != want {
					t.Errorf("percpu=%v %s: %+v, want %+v", percpu, tk.Comm, got, want)
				}
			default:
				if got != (Mem{}) {
					t.Errorf("%s: %+v without mm", tk.Comm, got)
				}
			}
		}
	}
}

func TestMemUsageZombie(t *testing.T) {
	src, all, a := memKernel(t, false)
	for i := range all {
		if all[i].Addr == a["t1"] {
			all[i].ExitState = ExitZombie
		}
		if all[i].Addr == a["t2"] {
			all[i].Flags |= PF_EXITING
		}
	}
	mem, err := MemUsage(src, all)
	if err != nil {
		t.Fatal(err)
	}
	for i, tk := range all {
		if (tk.Addr == a["t1"] || tk.Addr == a["t2"]) && mem[i] != (Mem{}) {
			t.Errorf("%s: %+v, want nothing for a zombie or exiting task", tk.Comm, mem[i])
		}
	}
}
