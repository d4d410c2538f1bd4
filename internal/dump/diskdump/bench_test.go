package diskdump

import (
	"math/rand"
	"os"
	"testing"
	"time"

	"kdive/internal/dump"
	"kdive/internal/testcorpus"
)

// dumpablePFNs lists the pfns with a page descriptor.
func dumpablePFNs(r *Reader) []uint64 {
	var pfns []uint64
	for pfn := uint64(0); pfn < r.maxPFN; pfn++ {
		if bitSet(r.dumpable, pfn) {
			pfns = append(pfns, pfn)
		}
	}
	return pfns
}

// benchRandomPages reads random dumpable pages with the page cache
// effectively off (pages/s of descriptor read + data read + decompression).
func benchRandomPages(b *testing.B, path string) {
	d, err := Open(path, dump.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	r := d.(*Reader)
	r.cache = newPageCache(1)
	// Pages with compressed data (zero pages share one raw descriptor and
	// would mostly measure the page cache of the OS); all pages of a dump
	// without compression.
	var pfns []uint64
	all := dumpablePFNs(r)
	for _, pfn := range all {
		var db [pageDescSize]byte
		r.src.ReadAt(db[:], r.descOff+int64(r.descIndex(pfn))*pageDescSize)
		if decodeDesc(db[:], r.order).flags&flagCompressed != 0 {
			pfns = append(pfns, pfn)
		}
	}
	if len(pfns) == 0 {
		pfns = all
	}
	rnd := rand.New(rand.NewSource(1))
	order := make([]uint64, 1<<16)
	for i := range order {
		order[i] = pfns[rnd.Intn(len(pfns))]
	}
	buf := make([]byte, r.blockSize)
	bs := uint64(r.blockSize)
	b.SetBytes(int64(bs))
	b.ResetTimer()
	t0 := time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := r.ReadPhysAt(buf, order[i&(len(order)-1)]*bs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(t0).Seconds(), "pages/s")
}

func BenchmarkRandomPageRead(b *testing.B) {
	benchRandomPages(b, sharedFile(b, "vmcore.zstd"))
}

func BenchmarkRandomPageReadSnappy(b *testing.B) {
	benchRandomPages(b, sharedFile(b, "vmcore.snappy"))
}

// BenchmarkCachedPageRead reads one page over and over (LRU hit path).
func BenchmarkCachedPageRead(b *testing.B) {
	r := openReal(b, sharedFile(b, "vmcore.zstd"), dump.Options{})
	pfn := dumpablePFNs(r)[100]
	buf := make([]byte, 8)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := r.ReadPhysAt(buf, pfn*4096+64); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	p := sharedFile(b, "vmcore.zstd")
	for i := 0; i < b.N; i++ {
		d, err := Open(p, dump.Options{})
		if err != nil {
			b.Fatal(err)
		}
		d.Close()
	}
}

// BenchmarkRandomPageReadFile benchmarks the dump named by KDIVE_BENCH_DUMP.
func BenchmarkRandomPageReadFile(b *testing.B) {
	p := os.Getenv("KDIVE_BENCH_DUMP")
	if p == "" {
		b.Skip("set KDIVE_BENCH_DUMP to a kdump file")
	}
	benchRandomPages(b, p)
}

// BenchmarkCorpus benchmarks the corpus's lzo, zlib, flattened and QEMU dumps.
func BenchmarkCorpus(b *testing.B) {
	for _, f := range []string{testcorpus.KdumpLZO, testcorpus.KdumpZlib, testcorpus.KdumpFlat, testcorpus.QEMUKdump} {
		b.Run(f, func(b *testing.B) { benchRandomPages(b, testcorpus.File(b, "sysrq", f)) })
	}
}
