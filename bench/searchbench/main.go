// Command searchbench measures kdive's search over all of memory: the
// pages `search -p VALUE` (every physical page up to max_pfn) and
// `search -k VALUE` (crash's kernel ranges) read and scan, per second.
//
//	searchbench [-workers N] [-value HEX] [VMLINUX] DUMP
//
// It prints one JSON object per space: pages offered and read, matches,
// seconds, pages read per second and MiB/s. Compare pages_per_s with
// bench/pagebench's random page reads per second on the same dump (the
// format's decompression bound) and with crash's `search -p` time.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"time"

	"kdive/internal/arch/amd64"
	"kdive/internal/kernel/search"
	"kdive/internal/program"
)

type result struct {
	Path     string  `json:"path"`
	Space    string  `json:"space"`
	Workers  int     `json:"workers"`
	Pages    int     `json:"pages"`
	Read     int     `json:"read"`
	Matches  int     `json:"matches"`
	Seconds  float64 `json:"seconds"`
	PagesSec float64 `json:"pages_per_s"`
	MiBSec   float64 `json:"mib_per_s"`
}

func main() {
	workers := flag.Int("workers", runtime.GOMAXPROCS(0), "goroutines reading pages")
	value := flag.String("value", "deadbeef", "hexadecimal value to search for")
	prof := flag.String("cpuprofile", "", "write a CPU profile here")
	flag.Parse()
	if *prof != "" {
		f, err := os.Create(*prof)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	var vml, dump string
	switch flag.NArg() {
	case 1:
		dump = flag.Arg(0)
	case 2:
		vml, dump = flag.Arg(0), flag.Arg(1)
	default:
		fmt.Fprintln(os.Stderr, "usage: searchbench [-workers N] [-value HEX] [VMLINUX] DUMP")
		os.Exit(2)
	}
	v, err := strconv.ParseUint(*value, 16, 64)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	p, err := program.Open(vml, dump, program.OpenOptions{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer p.Close()
	q := &search.Query{Mode: search.Ulong, Values: []uint64{v}}
	read := func(b []byte, pa uint64) error { _, err := p.ReadPhysDirect(b, pa); return err }

	maxPhys := uint64(1 << 46)
	if a, err := p.Symbol("max_pfn"); err == nil {
		if n, err := p.ReadU64(a); err == nil {
			maxPhys = n * search.PageSize
		}
	}
	run := func(space string, pages func() (search.Page, bool)) {
		sc := &search.Scanner{Q: q, Read: read, Workers: *workers}
		n := 0
		t0 := time.Now()
		sc.Scan(pages, func(search.Match) { n++ })
		s := time.Since(t0).Seconds()
		st := sc.Stats()
		r := result{Path: dump, Space: space, Workers: *workers, Pages: st.Pages, Read: st.Read, Matches: n, Seconds: s,
			PagesSec: float64(st.Read) / s, MiBSec: float64(st.Read) * search.PageSize / s / (1 << 20)}
		out, _ := json.Marshal(r)
		fmt.Println(string(out))
	}
	run("physical", search.Linear(0, maxPhys, 0))

	info := p.Info()
	vi := p.VmcoreInfo()
	root, ok := vi.Symbol("init_top_pgt")
	if !ok {
		return
	}
	sme, _ := vi.Number("sme_mask")
	l := search.Layout{PageOffset: info.PageOffset, Level5: info.Level5, SMEMask: uint64(sme), Root: amd64.KernelTextPhys(root, info.PhysBase)}
	w := search.Walker{W: &amd64.Walker{Mem: p, Root: l.Root, Level5: l.Level5, SMEMask: l.SMEMask}}
	regs, _ := search.KernelRegions(p, l)
	run("kernel", search.KernelPages(regs, l, w, 0xffff800000000000, ^uint64(0), nil))
}
