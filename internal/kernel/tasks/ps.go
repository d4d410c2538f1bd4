package tasks

// What crash's ps shows of a task beyond the list itself: its state
// letters, whether it is running on a CPU, and its memory usage.

import (
	"encoding/binary"
	"fmt"
)

// Task state bits of Linux 4.14 and later (include/linux/sched.h), as
// crash's initialize_task_state derives them from task_state_array[]:
// TASK_PARKED follows EXIT_ZOMBIE, then TASK_DEAD, TASK_WAKEKILL,
// TASK_WAKING, TASK_NOLOAD and TASK_NEW.
const (
	TaskRunning         = 0x0000
	TaskInterruptible   = 0x0001
	TaskUninterruptible = 0x0002
	TaskStopped         = 0x0004 // __TASK_STOPPED
	TaskTraced          = 0x0008 // __TASK_TRACED
	ExitDead            = 0x0010
	ExitZombie          = 0x0020
	TaskParked          = 0x0040
	TaskDead            = 0x0080
	TaskWakekill        = 0x0100
	TaskWaking          = 0x0200
	TaskNoload          = 0x0400
	TaskNew             = 0x0800
)

// PF_EXITING marks a task that is exiting (task_struct.flags).
const PF_EXITING = 0x00000004

// StateValue is crash's task_state(): __state (or state) | exit_state.
func (t *Task) StateValue() uint64 { return t.State | uint64(t.ExitState) }

// StateBits are the state bits that differ between kernels.
type StateBits struct {
	Dead, Wakekill, Waking, Parked, Noload, New uint64
}

// Modern is the layout of Linux 4.14 and later; Pre414 that of 2.6.33 to
// 4.13 (stat_nam "RSDTtXZxKWPNn": TASK_DEAD, TASK_WAKEKILL, TASK_WAKING,
// TASK_PARKED, TASK_NOLOAD, TASK_NEW from 0x40 up).
var (
	Modern = StateBits{Dead: ExitDead | TaskDead, Wakekill: TaskWakekill, Waking: TaskWaking, Parked: TaskParked, Noload: TaskNoload, New: TaskNew}
	Pre414 = StateBits{Dead: ExitDead | 0x40, Wakekill: 0x80, Waking: 0x100, Parked: 0x200, Noload: 0x400, New: 0x800}
)

// StateBitsFor returns the layout of a kernel release ("6.1.0-...").
func StateBitsFor(release string) StateBits {
	var major, minor int
	if _, err := fmt.Sscanf(release, "%d.%d", &major, &minor); err == nil && (major < 4 || major == 4 && minor < 14) {
		return Pre414
	}
	return Modern
}

// StateString is crash's two-letter state (task.c task_state_string) on
// a 4.14+ kernel; see StateBits.String.
func StateString(state uint64) string { return Modern.String(state) }

// String is crash's two-letter state (task.c task_state_string): RU, IN,
// UN, ID (uninterruptible and no-load: TASK_IDLE), ZO, ST, TR, DE, PA, WA,
// NE; "??" for a value none of these describes. As in crash, a later test
// overrides an earlier one (a zombie that is also stopped is ST).
func (b StateBits) String(state uint64) string {
	s, set := "??", false
	if state == TaskRunning {
		s = "RU"
	}
	if state&TaskInterruptible != 0 {
		s, set = "IN", true
	}
	if state&TaskUninterruptible != 0 {
		if state&b.Noload != 0 {
			s = "ID"
		} else {
			s = "UN"
		}
		set = true
	}
	if state&ExitZombie != 0 {
		s, set = "ZO", true
	}
	if state&TaskStopped != 0 {
		s, set = "ST", true
	}
	if state&TaskTraced != 0 {
		s, set = "TR", true
	}
	if state&b.Dead != 0 && !set {
		s = "DE"
	}
	switch state {
	case b.Parked:
		s = "PA"
	case b.Waking:
		s = "WA"
	case b.New:
		s = "NE"
	}
	return s
}

// IsKernelThread reports whether the task is a kernel thread (PF_KTHREAD,
// crash's is_kernel_thread on 2.6.27+).
func (t *Task) IsKernelThread() bool { return t.Flags&PF_KTHREAD != 0 }

// Running returns, for each CPU, the task its run queue was running at the
// crash (per-CPU runqueues.curr): crash's active tasks, marked ">" by ps.
func Running(src Source, cpus []int) (map[int]uint64, error) {
	rq, err := src.Symbol("runqueues")
	if err != nil {
		return nil, fmt.Errorf("tasks: runqueues: %w", err)
	}
	off, err := src.MemberOffset("rq", "curr")
	if err != nil {
		return nil, fmt.Errorf("tasks: rq.curr: %w", err)
	}
	if cpus == nil {
		cpus = PossibleCPUs(src)
	}
	out := map[int]uint64{}
	var b [8]byte
	for _, cpu := range cpus {
		pc, err := src.PerCPUOffset(cpu)
		if err != nil {
			continue
		}
		if _, err := src.ReadAt(b[:], rq+pc+off); err != nil {
			continue
		}
		if v := binary.LittleEndian.Uint64(b[:]); v != 0 {
			out[cpu] = v
		}
	}
	return out, nil
}

// RunQueueClock returns each CPU's runqueues.clock (nanoseconds), the
// clock sched_info.last_arrival is read against.
func RunQueueClock(src Source, cpus []int) map[int]uint64 {
	out := map[int]uint64{}
	rq, err := src.Symbol("runqueues")
	if err != nil {
		return out
	}
	off, err := src.MemberOffset("rq", "clock")
	if err != nil {
		return out
	}
	var b [8]byte
	for _, cpu := range cpus {
		pc, err := src.PerCPUOffset(cpu)
		if err != nil {
			continue
		}
		if _, err := src.ReadAt(b[:], rq+pc+off); err == nil {
			out[cpu] = binary.LittleEndian.Uint64(b[:])
		}
	}
	return out
}

// Mem is a task's memory use, in pages, as crash's get_task_mem_usage
// computes it.
type Mem struct {
	TotalVM uint64 // mm->total_vm
	RSS     uint64 // file + anon + shmem pages (see MemUsage)
	// Shmem is the shmem part of RSS: crash 8.0.2 leaves it out (its
	// RSS is RSS - Shmem); crash 8.1 and later and the kernel's VmRSS
	// count it.
	Shmem uint64
}

// mm counter indexes (enum MM_FILEPAGES, MM_ANONPAGES, MM_SWAPENTS,
// MM_SHMEMPAGES).
const (
	mmFilePages  = 0
	mmAnonPages  = 1
	mmShmemPages = 3
)

type typeSizer interface {
	TypeSize(typ string) (uint64, error)
}

// MemUsage returns the memory use of each task of all (same order). As
// crash does: nothing for a zombie, an exiting task or a task without mm;
// the resident set is the positive file, anon and shmem counters of
// mm->rss_stat (atomic_long_t count[] up to 6.1, percpu_counter
// rss_stat[] from 6.2) plus, with SPLIT_RSS_COUNTING (task_struct.rss_stat,
// up to 6.1), the positive per-thread caches of every thread of the
// task's thread group.
func MemUsage(src Source, all []Task) ([]Mem, error) {
	out := make([]Mem, len(all))
	oTotal, err := src.MemberOffset("mm_struct", "total_vm")
	if err != nil {
		return out, fmt.Errorf("tasks: mm_struct.total_vm: %w", err)
	}
	oRss, err := src.MemberOffset("mm_struct", "rss_stat")
	if err != nil {
		return out, fmt.Errorf("tasks: mm_struct.rss_stat: %w", err)
	}
	// 6.1: struct mm_rss_stat { atomic_long_t count[NR_MM_COUNTERS]; }.
	oCount, atomicCounts := src.MemberOffset("mm_rss_stat", "count")
	percpu := atomicCounts != nil
	var pcSize, pcCount, pcCounters uint64
	if percpu {
		ts, ok := src.(typeSizer)
		if !ok {
			return out, fmt.Errorf("tasks: mm_struct.rss_stat: neither mm_rss_stat.count nor a sized percpu_counter")
		}
		if pcSize, err = ts.TypeSize("percpu_counter"); err != nil {
			return out, fmt.Errorf("tasks: percpu_counter: %w", err)
		}
		if pcCount, err = src.MemberOffset("percpu_counter", "count"); err != nil {
			return out, fmt.Errorf("tasks: percpu_counter.count: %w", err)
		}
		pcCounters, _ = src.MemberOffset("percpu_counter", "counters")
	}
	oTaskRss, splitRss := src.MemberOffset("task_struct", "rss_stat")
	oTaskCount, _ := src.MemberOffset("task_rss_stat", "count")
	cpus := PossibleCPUs(src)

	u64 := func(a uint64) (uint64, bool) {
		var b [8]byte
		if _, err := src.ReadAt(b[:], a); err != nil {
			return 0, false
		}
		return binary.LittleEndian.Uint64(b[:]), true
	}
	i32 := func(a uint64) int64 {
		var b [4]byte
		if _, err := src.ReadAt(b[:], a); err != nil {
			return 0
		}
		return int64(int32(binary.LittleEndian.Uint32(b[:])))
	}
	counter := func(mm uint64, idx uint64) int64 {
		if !percpu {
			v, _ := u64(mm + oRss + oCount + 8*idx)
			return int64(v)
		}
		fbc := mm + oRss + idx*pcSize
		v, _ := u64(fbc + pcCount)
		sum := int64(v)
		if ptr, ok := u64(fbc + pcCounters); ok && ptr != 0 {
			for _, cpu := range cpus {
				if off, err := src.PerCPUOffset(cpu); err == nil {
					sum += i32(ptr + off)
				}
			}
		}
		return sum
	}
	// Per-thread caches, summed once per thread group.
	groupCache := map[int32]int64{}
	groupShmem := map[int32]int64{}
	if splitRss == nil {
		for _, t := range all {
			if t.Mm == 0 {
				continue
			}
			for _, idx := range []uint64{mmFilePages, mmAnonPages, mmShmemPages} {
				if v := i32(t.Addr + oTaskRss + oTaskCount + 4*idx); v > 0 {
					groupCache[t.TGID] += v
					if idx == mmShmemPages {
						groupShmem[t.TGID] += v
					}
				}
			}
		}
	}
	for i, t := range all {
		if t.ExitState&(ExitZombie|ExitDead) != 0 || t.Flags&PF_EXITING != 0 || t.Mm == 0 {
			continue
		}
		var rss, shmem int64
		for _, idx := range []uint64{mmFilePages, mmAnonPages, mmShmemPages} {
			if v := counter(t.Mm, idx); v > 0 {
				rss += v
				if idx == mmShmemPages {
					shmem += v
				}
			}
		}
		rss += groupCache[t.TGID]
		shmem += groupShmem[t.TGID]
		tv, _ := u64(t.Mm + oTotal)
		out[i] = Mem{TotalVM: tv, RSS: uint64(rss), Shmem: uint64(shmem)}
	}
	return out, nil
}
