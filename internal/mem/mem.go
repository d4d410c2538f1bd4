// Package mem reads a kernel's virtual memory from a physical-memory reader:
// direct-map arithmetic, page-table walks for everything else, a small
// translation cache and a physical page cache.
package mem

import (
	"errors"
	"fmt"
	"sync"

	"kdive/internal/arch/amd64"
)

// PhysReader reads physical memory (a dump.Dump).
type PhysReader interface {
	ReadPhysAt(p []byte, addr uint64) (int, error)
}

// FaultError is a virtual address that cannot be read.
type FaultError struct {
	Addr uint64
	Err  error // why: not mapped, excluded page, not in dump, corrupt page
}

func (e *FaultError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("invalid kernel virtual address: %x", e.Addr)
	}
	var te *amd64.TranslateError
	if errors.As(e.Err, &te) {
		return fmt.Sprintf("invalid kernel virtual address: %x (not mapped)", e.Addr)
	}
	return fmt.Sprintf("kernel virtual address %x: %v", e.Addr, e.Err)
}
func (e *FaultError) Unwrap() error { return e.Err }

const (
	pageSize  = 4096
	tlbMax    = 1 << 14
	pcacheMax = 2048 // 8 MiB of physical pages
)

// Mem is a kernel virtual address space.
type Mem struct {
	Phys   PhysReader
	Walker *amd64.Walker
	// PageOffset is the direct map's base (page_offset_base); 0 = unknown.
	PageOffset uint64
	// DirectMapSize is the span of the direct map (1 << MAX_PHYSMEM_BITS).
	DirectMapSize uint64

	// NoCache turns the physical page cache off (live /proc/kcore).
	NoCache bool

	mu     sync.Mutex
	tlb    map[uint64]uint64 // virtual page -> physical page
	pcache map[uint64][]byte // physical page -> contents
	pfifo  []uint64
}

// New returns a Mem.
func New(phys PhysReader, w *amd64.Walker, pageOffset, directMapSize uint64) *Mem {
	return &Mem{Phys: phys, Walker: w, PageOffset: pageOffset, DirectMapSize: directMapSize,
		tlb: map[uint64]uint64{}, pcache: map[uint64][]byte{}}
}

// Translate returns the physical address of a kernel virtual address.
func (m *Mem) Translate(vaddr uint64) (uint64, error) {
	if m.PageOffset != 0 && vaddr >= m.PageOffset && vaddr-m.PageOffset < m.DirectMapSize {
		return vaddr - m.PageOffset, nil
	}
	vp := vaddr &^ (pageSize - 1)
	m.mu.Lock()
	pp, ok := m.tlb[vp]
	m.mu.Unlock()
	if ok {
		return pp | vaddr&(pageSize-1), nil
	}
	if m.Walker == nil {
		return 0, &FaultError{Addr: vaddr, Err: errors.New("no page tables")}
	}
	pa, _, err := m.Walker.Translate(vaddr)
	if err != nil {
		return 0, &FaultError{Addr: vaddr, Err: err}
	}
	m.mu.Lock()
	if len(m.tlb) >= tlbMax {
		m.tlb = map[uint64]uint64{}
	}
	m.tlb[vp] = pa &^ (pageSize - 1)
	m.mu.Unlock()
	return pa, nil
}

// ReadAt reads kernel virtual memory; the error is a *FaultError naming the
// first address that could not be read.
func (m *Mem) ReadAt(b []byte, vaddr uint64) (int, error) {
	done := 0
	for done < len(b) {
		va := vaddr + uint64(done)
		n := pageSize - int(va%pageSize)
		if n > len(b)-done {
			n = len(b) - done
		}
		pa, err := m.Translate(va)
		if err != nil {
			return done, err
		}
		if err := m.readPhysCached(b[done:done+n], pa); err != nil {
			return done, &FaultError{Addr: va, Err: err}
		}
		done += n
	}
	return done, nil
}

// ReadPhysAt reads physical memory through the page cache. n stays within pages.
func (m *Mem) ReadPhysAt(b []byte, pa uint64) (int, error) {
	done := 0
	for done < len(b) {
		a := pa + uint64(done)
		n := pageSize - int(a%pageSize)
		if n > len(b)-done {
			n = len(b) - done
		}
		if err := m.readPhysCached(b[done:done+n], a); err != nil {
			return done, err
		}
		done += n
	}
	return done, nil
}

func (m *Mem) readPhysCached(b []byte, pa uint64) error {
	if m.NoCache {
		_, err := m.Phys.ReadPhysAt(b, pa)
		return err
	}
	pfn := pa / pageSize
	m.mu.Lock()
	pg, ok := m.pcache[pfn]
	m.mu.Unlock()
	if !ok {
		pg = make([]byte, pageSize)
		if _, err := m.Phys.ReadPhysAt(pg, pfn*pageSize); err != nil {
			return err
		}
		m.mu.Lock()
		if len(m.pfifo) >= pcacheMax {
			delete(m.pcache, m.pfifo[0])
			m.pfifo = m.pfifo[1:]
		}
		m.pcache[pfn] = pg
		m.pfifo = append(m.pfifo, pfn)
		m.mu.Unlock()
	}
	copy(b, pg[pa%pageSize:])
	return nil
}
