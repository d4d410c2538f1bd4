// Package search finds values and strings in a kernel's memory, page by
// page, as crash's search command does (memory.c: search_virtual,
// search_physical, search_ulong/uint/ushort/chars): pages are read
// straight from the dump by several goroutines, scanned, and the matches
// reported in address order, each page's after the previous page's. Pages
// that cannot be read (filtered out of the dump, not in it) are skipped
// silently, as crash skips them.
package search

import (
	"bytes"
	"encoding/binary"
	"runtime"
	"sort"
	"sync"
)

// PageSize is the x86-64 base page size.
const PageSize = 4096

// Mode is the size of the items searched for.
type Mode int

// Modes: unsigned longs (the default), ints (-w), shorts (-h), strings (-c).
const (
	Ulong  Mode = 8
	Uint   Mode = 4
	Ushort Mode = 2
	Chars  Mode = 1
)

// CharsContext is how many bytes a string match shows (crash's CHARS_CTX).
const CharsContext = 56

// Query is what to look for.
type Query struct {
	Mode Mode
	// Values (Ulong, Uint, Ushort), compared with the bits of Mask
	// ignored.
	Values []uint64
	Mask   uint64
	// Strings (Chars), each at least one byte long.
	Strings [][]byte
}

// Page is one page to scan: Addr is the address matches are reported at
// (virtual or physical) of the page's first byte, Phys the physical
// address of the page, and [Lo, Hi) the byte range of it to scan (a
// multiple of 8 bytes long, as crash scans whole longs).
type Page struct {
	Addr, Phys uint64
	Lo, Hi     int
}

// Match is one find.
type Match struct {
	Addr  uint64 // where the item (or string) starts
	Value uint64 // the item found (value modes)
	Index int    // which of Query.Values / Query.Strings matched
	// Text is what crash shows of a string match: up to CharsContext bytes
	// from the match (unprintable bytes are the caller's to replace).
	Text []byte
}

// ReadFunc reads a physical page (len(b) == PageSize, pa page-aligned).
type ReadFunc func(b []byte, pa uint64) error

// Stats counts the pages of a scan.
type Stats struct {
	Pages, Read int // pages offered, pages read and scanned
}

// result is one scanned page's output.
type result struct {
	ok      bool
	matches []Match
	// Chars: the string prefixes at the page's end (hits[j] = offsets in
	// the page where a prefix of string j runs to Hi), and the page's
	// first bytes from Lo, for matches that cross into the next page.
	hits [][]int
	head []byte
}

// Scanner scans pages; the state of string matches that cross a page
// boundary carries from one Scan call to the next, as crash's does across
// one command's ranges.
type Scanner struct {
	Q       *Query
	Read    ReadFunc
	Workers int // 0: GOMAXPROCS
	// Batch is how many pages are scanned between reports (0: 1024),
	// which bounds the matches held at once (search 0 matches every
	// word: 1024 pages hold at most 512Ki of them).
	Batch int

	stats    Stats
	prev     *Page
	prevRes  *result
	prevNext uint64 // address just past the previous page's scanned bytes
}

// Stats returns the counts so far.
func (s *Scanner) Stats() Stats { return s.stats }

// Scan reads the pages next yields until it yields false, and calls emit with each match in crash's
// order. next must yield pages in increasing address order.
func (s *Scanner) Scan(next func() (Page, bool), emit func(Match)) {
	batch := s.Batch
	if batch <= 0 {
		batch = 1024
	}
	workers := s.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	pages := make([]Page, 0, batch)
	res := make([]result, batch)
	bufs := make([][]byte, workers)
	for i := range bufs {
		bufs[i] = make([]byte, PageSize)
	}
	for {
		pages = pages[:0]
		for len(pages) < batch {
			p, ok := next()
			if !ok {
				break
			}
			pages = append(pages, p)
		}
		if len(pages) == 0 {
			return
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		idx := 0
		w := workers
		if w > len(pages) {
			w = len(pages)
		}
		for k := 0; k < w; k++ {
			wg.Add(1)
			go func(buf []byte) {
				defer wg.Done()
				for {
					mu.Lock()
					i := idx
					idx++
					mu.Unlock()
					if i >= len(pages) {
						return
					}
					res[i] = s.scanPage(buf, &pages[i])
				}
			}(bufs[k])
		}
		wg.Wait()
		for i := range pages {
			s.stats.Pages++
			r := &res[i]
			if !r.ok {
				continue
			}
			s.stats.Read++
			p := &pages[i]
			if s.Q.Mode == Chars {
				s.crossMatches(p, r, emit)
			}
			for _, m := range r.matches {
				emit(m)
			}
			if s.Q.Mode == Chars {
				pc, rc := *p, *r
				s.prev, s.prevRes = &pc, &rc
				s.prevNext = p.Addr + uint64(p.Lo+(p.Hi-p.Lo)&^7)
			}
			res[i] = result{}
		}
	}
}

// crossMatches reports the strings that began at the end of the previous
// page read and go on at the start of p, when p follows it directly
// (crash's cross_match zone).
func (s *Scanner) crossMatches(p *Page, r *result, emit func(Match)) {
	if s.prev == nil || s.prevNext != p.Addr+uint64(p.Lo) {
		return
	}
	for j, hits := range s.prevRes.hits {
		t := s.Q.Strings[j]
		n := len(t)
		for _, h := range hits {
			// h is the page offset where the prefix starts; k bytes of the
			// string lie in the previous page.
			k := s.prev.Lo + (s.prev.Hi-s.prev.Lo)&^7 - h
			rest := n - k
			if rest > len(r.head) || !bytes.Equal(t[k:], r.head[:rest]) {
				continue
			}
			text := append([]byte(nil), t...)
			more := CharsContext - n
			if more > 0 {
				end := rest + more
				if end > len(r.head) {
					end = len(r.head)
				}
				text = append(text, r.head[rest:end]...)
			}
			emit(Match{Addr: s.prev.Addr + uint64(h), Index: j, Text: text})
		}
	}
}

func (s *Scanner) scanPage(buf []byte, p *Page) result {
	if err := s.Read(buf, p.Phys); err != nil {
		return result{}
	}
	r := result{ok: true}
	// Whole longs only, as crash's wordcnt.
	data := buf[p.Lo : p.Lo+(p.Hi-p.Lo)&^7]
	q := s.Q
	switch q.Mode {
	case Ulong, Uint, Ushort:
		size := int(q.Mode)
		mask := q.Mask
		for off := 0; off+size <= len(data); off += size {
			var v uint64
			switch size {
			case 8:
				v = binary.LittleEndian.Uint64(data[off:])
			case 4:
				v = uint64(binary.LittleEndian.Uint32(data[off:]))
			case 2:
				v = uint64(binary.LittleEndian.Uint16(data[off:]))
			}
			for j, want := range q.Values {
				if v|mask == want|mask {
					r.matches = append(r.matches, Match{Addr: p.Addr + uint64(p.Lo+off), Value: v, Index: j})
				}
			}
		}
	case Chars:
		n := len(data)
		r.hits = make([][]int, len(q.Strings))
		for j, t := range q.Strings {
			for i := 0; i+len(t) <= n; {
				k := bytes.Index(data[i:], t)
				if k < 0 {
					break
				}
				i += k
				end := i + CharsContext
				if end > n {
					end = n
				}
				r.matches = append(r.matches, Match{Addr: p.Addr + uint64(p.Lo+i), Index: j,
					Text: append([]byte(nil), data[i:end]...)})
				i++
			}
			start := n - len(t) + 1
			if start < 0 {
				start = 0
			}
			for i := start; i < n; i++ {
				if bytes.Equal(t[:n-i], data[i:]) {
					r.hits[j] = append(r.hits[j], p.Lo+i)
				}
			}
		}
		if len(q.Strings) > 1 {
			// crash reports by offset, then by string.
			sort.SliceStable(r.matches, func(a, b int) bool { return r.matches[a].Addr < r.matches[b].Addr })
		}
		end := p.Lo + CharsContext
		if end > PageSize {
			end = PageSize
		}
		r.head = append([]byte(nil), buf[p.Lo:end]...)
	}
	return r
}
