// Command pagebench measures kdive's random physical page reads on one dump
// and picks the page list the peers (crash, drgn) read in bench/run.sh.
//
//	pagebench [-n PAGES] [-seed S] [-ram ELFCORE] [-addrs OUT] [-min SECONDS] DUMP
//
// Candidates are random page frames of the machine's RAM: the PT_LOAD
// ranges of -ram (an unfiltered ELF core of the same crash, so every format
// of one crash draws the same candidates), else of DUMP itself when it is an
// ELF core, else frames 0..MaxPFN of a kdump file. A candidate the dump left
// out (ExcludedError) or does not cover (NotPresentError) is counted and
// skipped, until PAGES distinct present pages are found. Their addresses go
// to -addrs, one hex address a line.
//
// The timed passes then open the dump again (fresh caches; the OS page cache
// is warm from the pick) and read the list in order with ReadPhysAt, until
// -min seconds have passed (at least 3 passes, at most 200); the result is the median pass. It
// prints one JSON object.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"time"

	"kdive/internal/dump"
	"kdive/internal/dump/open"
)

const pageSize = 4096

type result struct {
	Path        string  `json:"path"`
	Format      string  `json:"format"`
	Compression string  `json:"compression"`
	Flattened   bool    `json:"flattened"`
	Pages       int     `json:"pages"`
	Tried       int     `json:"tried"`
	Excluded    int     `json:"excluded"`
	NotPresent  int     `json:"not_present"`
	Errors      int     `json:"errors"`
	FirstError  string  `json:"first_error,omitempty"`
	Passes      int     `json:"passes"`
	OpenSeconds float64 `json:"open_s"`
	PassSeconds float64 `json:"pass_s"`
	PagesPerSec float64 `json:"pages_per_s"`
	MiBPerSec   float64 `json:"mib_per_s"`
	Error       string  `json:"error,omitempty"`
}

type span struct{ start, end uint64 } // page-aligned physical range

func main() {
	n := flag.Int("n", 2000, "distinct present pages to read")
	seed := flag.Uint64("seed", 1, "random seed")
	ram := flag.String("ram", "", "ELF core whose PT_LOAD ranges are the RAM to draw from (default: the dump)")
	addrs := flag.String("addrs", "", "write the chosen physical addresses here")
	minSec := flag.Float64("min", 0.5, "time passes until this many seconds have passed")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: pagebench [-n PAGES] [-seed S] [-ram ELFCORE] [-addrs OUT] [-min SECONDS] DUMP")
		os.Exit(2)
	}
	path := flag.Arg(0)
	res := result{Path: path}
	if err := run(&res, path, *ram, *addrs, *n, *seed, *minSec); err != nil {
		res.Error = err.Error()
	}
	out, _ := json.Marshal(res)
	fmt.Println(string(out))
	if res.Error != "" {
		os.Exit(1)
	}
}

func ramSpans(info *dump.Info) []span {
	var s []span
	for _, seg := range info.Segments {
		if seg.PAddr == ^uint64(0) || seg.MemSize == 0 {
			continue
		}
		a := (seg.PAddr + pageSize - 1) &^ (pageSize - 1)
		b := (seg.PAddr + seg.MemSize) &^ (pageSize - 1)
		if b > a {
			s = append(s, span{a, b})
		}
	}
	if len(s) == 0 && info.MaxPFN > 0 {
		ps := uint64(info.PageSize)
		if ps == 0 {
			ps = pageSize
		}
		s = append(s, span{0, info.MaxPFN * ps})
	}
	return s
}

func run(res *result, path, ramPath, addrsPath string, n int, seed uint64, minSec float64) error {
	d, err := open.Open(path, dump.Options{})
	if err != nil {
		return err
	}
	info := d.Info()
	res.Format, res.Compression, res.Flattened = info.Format, info.Compression, info.Flattened

	spans := ramSpans(info)
	if ramPath != "" {
		rd, err := open.Open(ramPath, dump.Options{})
		if err != nil {
			d.Close()
			return fmt.Errorf("-ram: %w", err)
		}
		spans = ramSpans(rd.Info())
		rd.Close()
	}
	var total uint64
	for _, s := range spans {
		total += (s.end - s.start) / pageSize
	}
	if total == 0 {
		d.Close()
		return errors.New("no RAM ranges to draw pages from")
	}
	// Pages by index across the spans, so every RAM page is equally likely.
	pick := func(i uint64) uint64 {
		for _, s := range spans {
			np := (s.end - s.start) / pageSize
			if i < np {
				return s.start + i*pageSize
			}
			i -= np
		}
		panic("unreachable")
	}

	rng := rand.New(rand.NewPCG(seed, 0x6b64697665))
	buf := make([]byte, pageSize)
	seen := map[uint64]bool{}
	var list []uint64
	maxTries := n * 200
	for len(list) < n && res.Tried < maxTries && uint64(len(seen)) < total {
		a := pick(rng.Uint64N(total))
		if seen[a] {
			continue
		}
		seen[a] = true
		res.Tried++
		_, err := d.ReadPhysAt(buf, a)
		var ex *dump.ExcludedError
		var np *dump.NotPresentError
		switch {
		case err == nil:
			list = append(list, a)
		case errors.As(err, &ex):
			res.Excluded++
		case errors.As(err, &np):
			res.NotPresent++
		default:
			res.Errors++
			if res.FirstError == "" {
				res.FirstError = err.Error()
			}
		}
	}
	d.Close()
	res.Pages = len(list)
	if addrsPath != "" {
		f, err := os.Create(addrsPath)
		if err != nil {
			return err
		}
		for _, a := range list {
			fmt.Fprintf(f, "%#x\n", a)
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	if len(list) == 0 {
		return errors.New("no present page found")
	}

	var passes, opens []float64
	start := time.Now()
	for len(passes) < 200 && (len(passes) < 3 || time.Since(start).Seconds() < minSec) {
		t0 := time.Now()
		d, err := open.Open(path, dump.Options{})
		if err != nil {
			return err
		}
		t1 := time.Now()
		for _, a := range list {
			if _, err := d.ReadPhysAt(buf, a); err != nil {
				d.Close()
				return fmt.Errorf("timed pass: %w", err)
			}
		}
		t2 := time.Now()
		d.Close()
		opens = append(opens, t1.Sub(t0).Seconds())
		passes = append(passes, t2.Sub(t1).Seconds())
	}
	res.Passes = len(passes)
	res.OpenSeconds = median(opens)
	res.PassSeconds = median(passes)
	res.PagesPerSec = float64(len(list)) / res.PassSeconds
	res.MiBPerSec = res.PagesPerSec * pageSize / (1 << 20)
	return nil
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
