package signal

import (
	"encoding/binary"
	"fmt"
	"testing"
)

// fake is a flat memory at base with the 6.1 x86-64 member offsets.
type fake struct {
	base uint64
	mem  []byte
}

var fakeOffsets = map[string]uint64{
	"task_struct.signal": 0x10, "task_struct.sighand": 0x18, "task_struct.blocked": 0x20,
	"task_struct.pending": 0x28, "task_struct.thread_info.flags": 0,
	"sigpending.list": 0, "sigpending.signal": 0x10,
	"signal_struct.nr_threads": 0x4, "signal_struct.shared_pending": 0x8,
	"sighand_struct.action":     0x8,
	"k_sigaction.sa.sa_handler": 0, "k_sigaction.sa.sa_flags": 8, "k_sigaction.sa.sa_mask": 0x18,
	"sigqueue.list": 0, "sigqueue.info": 0x18, "sigqueue.info.si_signo": 0x18,
}

func (f *fake) ReadAt(b []byte, addr uint64) (int, error) {
	if addr < f.base || addr-f.base > uint64(len(f.mem)) || uint64(len(f.mem))-(addr-f.base) < uint64(len(b)) {
		return 0, fmt.Errorf("address %x not mapped", addr)
	}
	return copy(b, f.mem[addr-f.base:]), nil
}

func (f *fake) MemberOffset(typ, m string) (uint64, error) {
	if v, ok := fakeOffsets[typ+"."+m]; ok {
		return v, nil
	}
	return 0, fmt.Errorf("no member %s.%s", typ, m)
}

func (f *fake) TypeSize(typ string) (uint64, error) {
	if typ == "k_sigaction" {
		return 0x20, nil
	}
	return 0, fmt.Errorf("no type %s", typ)
}

const (
	fBase    = 0xffff888000000000
	fTask    = fBase
	fSignal  = fBase + 0x100
	fSighand = fBase + 0x200
	fQueue   = fBase + 0x1000
)

// newFake lays out a task with SIGPENDING, SIGUSR1 blocked, two queued
// private signals and a SIGCHLD handler.
func newFake() *fake {
	f := &fake{base: fBase, mem: make([]byte, 0x2000)}
	put := func(a, v uint64) { binary.LittleEndian.PutUint64(f.mem[a-fBase:], v) }
	put(fTask, 1<<tifSigpending)
	put(fTask+0x10, fSignal)
	put(fTask+0x18, fSighand)
	put(fTask+0x20, 1<<9)
	// private pending: list head at task+0x28 -> q1 -> q2 -> head
	head := uint64(fTask + 0x28)
	q1, q2 := uint64(fQueue), uint64(fQueue+0x100)
	put(head, q1)
	put(q1, q2)
	put(q2, head)
	put(head+0x10, 1<<9|1<<14)
	binary.LittleEndian.PutUint32(f.mem[q1+0x18-fBase:], 10)
	binary.LittleEndian.PutUint32(f.mem[q2+0x18-fBase:], 15)
	// signal_struct: nr_threads 3, empty shared pending
	binary.LittleEndian.PutUint32(f.mem[fSignal+4-fBase:], 3)
	put(fSignal+8, fSignal+8)
	// SIGCHLD (17): handler, SA_RESTORER|SA_RESTART
	a := uint64(fSighand + 8 + 16*0x20)
	put(a, 0x401234)
	put(a+8, 0x14000000)
	return f
}

func TestReadSynthetic(t *testing.T) {
	in, err := Read(newFake(), fTask)
	if err != nil {
		t.Fatal(err)
	}
	if !in.SigPending || in.Blocked != 1<<9 || in.NrThreads != 3 || !in.HasShared {
		t.Errorf("info %+v", in)
	}
	if q := in.Private.Queue; len(q) != 2 || q[0].Signo != 10 || q[1].Signo != 15 || q[0].Info != fQueue+0x18 {
		t.Errorf("private queue %+v", q)
	}
	if len(in.Shared.Queue) != 0 || in.Shared.Err != nil {
		t.Errorf("shared %+v", in.Shared)
	}
	if a := in.Actions[16]; a.Handler != 0x401234 || a.Flags != 0x14000000 || a.Addr != fSighand+8+16*0x20 {
		t.Errorf("SIGCHLD %+v", a)
	}
	// A queue that loops back on itself (not to the head) ends with an
	// error after the entries read.
	f := newFake()
	binary.LittleEndian.PutUint64(f.mem[fQueue+0x100-fBase:], fQueue)
	if in, err := Read(f, fTask); err != nil || in.Private.Err == nil || len(in.Private.Queue) < 2 {
		t.Errorf("cyclic queue: %v %+v", err, in)
	}
	// An unreadable task is an error naming it.
	if _, err := Read(f, 0xdead000); err == nil {
		t.Error("no error for an unmapped task")
	}
}

// FuzzRead: junk written over a real-shaped layout (task, signal_struct,
// sighand, a queue) never makes Read panic or loop.
func FuzzRead(f *testing.F) {
	f.Add([]byte{0x10, 0x20}, uint16(0x28))
	f.Add([]byte{0, 0x10, 0, 0, 0, 0x88, 0xff, 0xff}, uint16(0x1000))
	f.Fuzz(func(t *testing.T, junk []byte, at uint16) {
		m := newFake()
		for i, c := range junk {
			m.mem[(int(at)+i)%len(m.mem)] = c
		}
		Read(m, fTask)
	})
}
