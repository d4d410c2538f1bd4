package program

import "sync"

// memoStore holds per-dump caches of the helpers above the program (the
// unwinder's kernel context, the SLUB reader, ...). Keeping them on the
// Program, not in package maps keyed by it, lets a closed or dropped
// Program and everything derived from it be collected.
type memoStore struct {
	mu sync.Mutex
	m  map[any]*memoEntry
}

type memoEntry struct {
	once sync.Once
	v    any
}

// Memo returns the value kept under key, calling mk once to make it. key
// should be a value of an unexported type of the caller's package.
func (p *Program) Memo(key any, mk func() any) any {
	p.memo.mu.Lock()
	if p.memo.m == nil {
		p.memo.m = map[any]*memoEntry{}
	}
	e := p.memo.m[key]
	if e == nil {
		e = &memoEntry{}
		p.memo.m[key] = e
	}
	p.memo.mu.Unlock()
	e.once.Do(func() { e.v = mk() })
	return e.v
}

// dropMemo forgets every cached value (Close).
func (p *Program) dropMemo() {
	p.memo.mu.Lock()
	p.memo.m = nil
	p.memo.mu.Unlock()
}

// SetMemo replaces the value kept under key (tests inject broken readers
// this way).
func (p *Program) SetMemo(key, v any) {
	e := &memoEntry{v: v}
	e.once.Do(func() {})
	p.memo.mu.Lock()
	if p.memo.m == nil {
		p.memo.m = map[any]*memoEntry{}
	}
	p.memo.m[key] = e
	p.memo.mu.Unlock()
}
