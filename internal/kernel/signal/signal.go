// Package signal reads a task's signal state from dump memory: the
// thread group's dispositions (sighand_struct.action[]), the pending
// signals and their queues (task_struct.pending, signal_struct.
// shared_pending) and the blocked mask, as crash's sig command shows them.
package signal

import (
	"encoding/binary"
	"fmt"

	"kdive/internal/kernel/klist"
	"kdive/internal/kernel/kread"
)

// Source is what the reader needs; *program.Program satisfies it.
type Source interface {
	ReadAt(b []byte, addr uint64) (int, error)
	MemberOffset(typ, member string) (uint64, error)
	TypeSize(typ string) (uint64, error)
}

// NSIG is the number of signals on x86-64 (_NSIG): 1..64.
const NSIG = 64

// SIGRTMIN is the first real-time signal.
const SIGRTMIN = 32

// maxQueue caps a pending-signal queue walk (the kernel caps queued
// signals per user with RLIMIT_SIGPENDING; a corrupt list must not loop).
const maxQueue = 1 << 16

// tifSigpending is TIF_SIGPENDING, bit 2 of thread_info.flags on x86
// (arch/x86/include/asm/thread_info.h).
const tifSigpending = 2

// Action is one k_sigaction of sighand_struct.action[].
type Action struct {
	Addr    uint64 // struct k_sigaction *
	Handler uint64 // sa.sa_handler: 0 SIG_DFL, 1 SIG_IGN, ^0 SIG_ERR, else a user address
	Flags   uint64 // sa.sa_flags (SA_*)
	Mask    uint64 // sa.sa_mask
}

// Queued is one struct sigqueue on a pending list.
type Queued struct {
	Signo int32  // info.si_signo
	Info  uint64 // the address of its kernel_siginfo (sigqueue.info)
}

// Pending is a struct sigpending: the pending set and its queue.
type Pending struct {
	Addr   uint64 // struct sigpending *
	Signal uint64
	Queue  []Queued
	// Err is a problem met walking the queue (the entries before it are
	// in Queue).
	Err error
}

// Info is a task's signal state.
type Info struct {
	Task         uint64 // struct task_struct *
	SignalStruct uint64 // task->signal
	// NrThreads is signal_struct.nr_threads (HasNrThreads false when the
	// kernel has no such member).
	NrThreads    int32
	HasNrThreads bool
	Sighand      uint64   // task->sighand
	Actions      []Action // signals 1..NSIG; nil when sighand is NULL
	// SigPending is TIF_SIGPENDING in thread_info.flags (HasSigPending
	// false when the flags cannot be read).
	SigPending, HasSigPending bool
	Blocked                   uint64 // task->blocked
	Private                   Pending
	Shared                    Pending // signal->shared_pending
	HasShared                 bool
}

type offsets struct {
	signal, sighand, blocked, pending, tiFlags uint64
	hasTIFlags                                 bool
	nrThreads, sharedPending                   uint64
	hasNrThreads, hasShared                    bool
	pendList, pendSignal                       uint64
	action, kaSize, saHandler, saFlags, saMask uint64
	qList, qInfo, qSigno                       uint64
}

func resolve(src Source) (*offsets, error) {
	o := &offsets{}
	r := kread.NewOffsets(src, "signal")
	must, opt := r.Must, r.Opt
	o.signal = must("task_struct", "signal")
	o.sighand = must("task_struct", "sighand")
	o.blocked = must("task_struct", "blocked")
	o.pending = must("task_struct", "pending")
	o.pendList = must("sigpending", "list")
	o.pendSignal = must("sigpending", "signal")
	o.action = must("sighand_struct", "action")
	o.saHandler = must("k_sigaction", "sa.sa_handler")
	o.saFlags = must("k_sigaction", "sa.sa_flags")
	o.saMask = must("k_sigaction", "sa.sa_mask")
	o.qList = must("sigqueue", "list")
	o.qInfo = must("sigqueue", "info")
	if r.Err != nil {
		return nil, r.Err
	}
	sz, e := src.TypeSize("k_sigaction")
	if e != nil || sz == 0 || sz > 256 {
		return nil, fmt.Errorf("signal: size of struct k_sigaction: %v", e)
	}
	o.kaSize = sz
	// si_signo is the first member of siginfo in every kernel (inside an
	// anonymous struct since 4.20's kernel_siginfo, commit ae7795bc6187).
	if v, ok := opt("sigqueue", "info.si_signo"); ok {
		o.qSigno = v
	} else {
		o.qSigno = o.qInfo
	}
	// thread_info is in task_struct with THREAD_INFO_IN_TASK (x86 since
	// 4.9, commit 15f4eae70d36).
	o.tiFlags, o.hasTIFlags = opt("task_struct", "thread_info.flags")
	o.nrThreads, o.hasNrThreads = opt("signal_struct", "nr_threads")
	// shared_pending arrived in 2.5; detect it.
	o.sharedPending, o.hasShared = opt("signal_struct", "shared_pending")
	return o, nil
}

type reader struct {
	src Source
}

func (r reader) u64(addr uint64) (uint64, error) { return kread.U64(r.src, addr) }
func (r reader) u32(addr uint64) (uint32, error) { return kread.U32(r.src, addr) }

// Read returns the signal state of the task_struct at task.
func Read(src Source, task uint64) (*Info, error) {
	o, err := resolve(src)
	if err != nil {
		return nil, err
	}
	r := reader{src}
	in := &Info{Task: task, HasShared: o.hasShared}
	if in.SignalStruct, err = r.u64(task + o.signal); err != nil {
		return nil, fmt.Errorf("task %x: reading signal: %v", task, err)
	}
	if in.Sighand, err = r.u64(task + o.sighand); err != nil {
		return nil, fmt.Errorf("task %x: reading sighand: %v", task, err)
	}
	if in.Blocked, err = r.u64(task + o.blocked); err != nil {
		return nil, fmt.Errorf("task %x: reading blocked: %v", task, err)
	}
	if o.hasTIFlags {
		if f, err := r.u64(task + o.tiFlags); err == nil {
			in.SigPending, in.HasSigPending = f&(1<<tifSigpending) != 0, true
		}
	}
	if in.Private, err = r.pending(o, task+o.pending); err != nil {
		return nil, fmt.Errorf("task %x: %v", task, err)
	}
	if in.SignalStruct != 0 {
		if o.hasNrThreads {
			n, err := r.u32(in.SignalStruct + o.nrThreads)
			if err != nil {
				return nil, fmt.Errorf("signal_struct %x: reading nr_threads: %v", in.SignalStruct, err)
			}
			in.NrThreads, in.HasNrThreads = int32(n), true
		}
		if o.hasShared {
			if in.Shared, err = r.pending(o, in.SignalStruct+o.sharedPending); err != nil {
				return nil, fmt.Errorf("signal_struct %x: %v", in.SignalStruct, err)
			}
		}
	}
	if in.Sighand != 0 {
		buf := make([]byte, NSIG*o.kaSize)
		base := in.Sighand + o.action
		if _, err := src.ReadAt(buf, base); err != nil {
			return nil, fmt.Errorf("sighand_struct %x: reading action[]: %v", in.Sighand, err)
		}
		in.Actions = make([]Action, NSIG)
		for i := range in.Actions {
			b := buf[uint64(i)*o.kaSize:]
			in.Actions[i] = Action{
				Addr:    base + uint64(i)*o.kaSize,
				Handler: binary.LittleEndian.Uint64(b[o.saHandler:]),
				Flags:   binary.LittleEndian.Uint64(b[o.saFlags:]),
				Mask:    binary.LittleEndian.Uint64(b[o.saMask:]),
			}
		}
	}
	return in, nil
}

// pending reads the struct sigpending at addr and walks its queue of
// struct sigqueue (linked through sigqueue.list).
func (r reader) pending(o *offsets, addr uint64) (Pending, error) {
	p := Pending{Addr: addr}
	var err error
	if p.Signal, err = r.u64(addr + o.pendSignal); err != nil {
		return p, fmt.Errorf("sigpending %x: reading signal: %v", addr, err)
	}
	qs, err := klist.Entries(r.u64, addr+o.pendList, o.qList, maxQueue)
	if err != nil {
		p.Err = fmt.Errorf("sigpending %x: queue: %v", addr, err)
	}
	for _, q := range qs {
		s, err := r.u32(q + o.qSigno)
		if err != nil {
			p.Err = fmt.Errorf("sigqueue %x: reading si_signo: %v", q, err)
			break
		}
		p.Queue = append(p.Queue, Queued{Signo: int32(s), Info: q + o.qInfo})
	}
	return p, nil
}

// names are the x86-64 signal names 1..31 (with the alternative name of
// the same number), as crash lists them.
var names = [SIGRTMIN][2]string{
	{}, {"SIGHUP"}, {"SIGINT"}, {"SIGQUIT"}, {"SIGILL"}, {"SIGTRAP"},
	{"SIGABRT", "SIGIOT"}, {"SIGBUS"}, {"SIGFPE"}, {"SIGKILL"}, {"SIGUSR1"},
	{"SIGSEGV"}, {"SIGUSR2"}, {"SIGPIPE"}, {"SIGALRM"}, {"SIGTERM"},
	{"SIGSTKFLT"}, {"SIGCHLD", "SIGCLD"}, {"SIGCONT"}, {"SIGSTOP"},
	{"SIGTSTP"}, {"SIGTTIN"}, {"SIGTTOU"}, {"SIGURG"}, {"SIGXCPU"},
	{"SIGXFSZ"}, {"SIGVTALRM"}, {"SIGPROF"}, {"SIGWINCH"},
	{"SIGIO", "SIGPOLL"}, {"SIGPWR"}, {"SIGSYS", "SIGUNUSED"},
}

// Name is signal sig's name (1..NSIG) and its alternative name ("" when
// none): real-time signals are SIGRTMIN, SIGRTMIN+n up to the middle of
// the range, then SIGRTMAX-n and SIGRTMAX, as glibc and crash number them.
func Name(sig int) (name, alt string) {
	switch {
	case sig < 1 || sig > NSIG:
		return "", ""
	case sig < SIGRTMIN:
		return names[sig][0], names[sig][1]
	case sig == SIGRTMIN:
		return "SIGRTMIN", ""
	case sig == NSIG:
		return "SIGRTMAX", ""
	}
	n := NSIG - SIGRTMIN - 1 // the 31 signals strictly between
	max := n / 2
	min := n - max
	if k := sig - SIGRTMIN; k <= min {
		return fmt.Sprintf("SIGRTMIN+%d", k), ""
	}
	return fmt.Sprintf("SIGRTMAX-%d", NSIG-sig), ""
}
