// Package kread holds the small memory helpers every kernel helper package
// needs: little-endian integers at a kernel address, and a read budget that
// bounds one walk of dump data. Each helper package keeps its own narrow
// Source interface; anything with ReadAt works here.
package kread

import (
	"encoding/binary"
	"fmt"
)

// ReaderAt reads kernel virtual memory (program.Program satisfies it).
type ReaderAt interface {
	ReadAt(b []byte, addr uint64) (int, error)
}

// U64 reads the little-endian 64-bit value at addr.
func U64(r ReaderAt, addr uint64) (uint64, error) {
	var b [8]byte
	if _, err := r.ReadAt(b[:], addr); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b[:]), nil
}

// U32 reads the little-endian 32-bit value at addr.
func U32(r ReaderAt, addr uint64) (uint32, error) {
	var b [4]byte
	if _, err := r.ReadAt(b[:], addr); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b[:]), nil
}

// U16 reads the little-endian 16-bit value at addr.
func U16(r ReaderAt, addr uint64) (uint16, error) {
	var b [2]byte
	if _, err := r.ReadAt(b[:], addr); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint16(b[:]), nil
}

// BudgetError is the error of a read past a Budget's limit.
type BudgetError struct {
	What  string // the walk ("net", "fs")
	Limit int
}

func (e *BudgetError) Error() string {
	return fmt.Sprintf("%s: more than %d reads", e.What, e.Limit)
}

// Budget is a ReaderAt that allows at most Limit reads, so that one walk of
// corrupt dump data (a list that never ends, a tree that loops) stops.
type Budget struct {
	R     ReaderAt
	What  string
	Limit int
	used  int
}

// NewBudget wraps r with a budget of limit reads.
func NewBudget(r ReaderAt, what string, limit int) *Budget {
	return &Budget{R: r, What: what, Limit: limit}
}

// ReadAt reads through the wrapped reader, or fails with a *BudgetError
// once Limit reads were made.
func (b *Budget) ReadAt(p []byte, addr uint64) (int, error) {
	if b.used >= b.Limit {
		return 0, &BudgetError{b.What, b.Limit}
	}
	b.used++
	return b.R.ReadAt(p, addr)
}

// Used is the number of reads made so far.
func (b *Budget) Used() int { return b.used }

// Warnings collects a walk's warnings, at most 100 (the rest are dropped:
// a corrupt structure must not flood the output).
type Warnings []string

// MaxWarnings caps a Warnings list.
const MaxWarnings = 100

// Add appends a formatted warning unless the list is full.
func (w *Warnings) Add(format string, a ...any) {
	if len(*w) < MaxWarnings {
		*w = append(*w, fmt.Sprintf(format, a...))
	}
}

// MemberOffsetter resolves struct member offsets (program.Program
// satisfies it).
type MemberOffsetter interface {
	MemberOffset(typ, member string) (uint64, error)
}

// Offsets resolves a helper's member offsets in one go: Must records the
// first failure in Err (prefixed with the package's name), Opt reports
// whether the member exists (a kernel feature detected by its presence).
type Offsets struct {
	src MemberOffsetter
	pkg string
	Err error
}

// NewOffsets returns a resolver over src for package pkg's error messages.
func NewOffsets(src MemberOffsetter, pkg string) *Offsets {
	return &Offsets{src: src, pkg: pkg}
}

// Must returns typ.member's offset; a failure is kept in Err (the first).
func (o *Offsets) Must(typ, member string) uint64 {
	v, err := o.src.MemberOffset(typ, member)
	if err != nil && o.Err == nil {
		o.Err = fmt.Errorf("%s: %s.%s: %w", o.pkg, typ, member, err)
	}
	return v
}

// Opt returns typ.member's offset and whether it exists.
func (o *Offsets) Opt(typ, member string) (uint64, bool) {
	v, err := o.src.MemberOffset(typ, member)
	return v, err == nil
}
