// Package sysinfo gathers what crash's `sys` command shows about a crashed
// kernel, computed the way crash 8.0.2 computes it (the crash function each
// field follows is named on the field), so the output can match crash's.
package sysinfo

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"kdive/internal/kernel/printk"
	"kdive/internal/kernel/tasks"
)

// Source is what sysinfo reads; *program.Program satisfies it.
type Source interface {
	ReadAt(b []byte, addr uint64) (int, error)
	Symbol(name string) (uint64, error)
	MemberOffset(typ, member string) (uint64, error)
	MemberSize(typ, member string) (uint64, error)
	TypeSize(typ string) (uint64, error)
	PerCPUOffset(cpu int) (uint64, error)
	VMCOREINFO(key string) (string, bool)
}

// Utsname is struct new_utsname.
type Utsname struct {
	Sysname, Nodename, Release, Version, Machine, Domainname string
}

// Info is the data of `sys`.
type Info struct {
	Uts       Utsname
	UtsSource string // "init_uts_ns" or "dump header"
	// CPUs is crash's kt->cpus (x86_64_per_cpu_init); Online the CPUs in
	// cpu_online_mask (0 when unknown).
	CPUs, Online int
	// Date is the wall-clock time of the crash (crash's get_xtime);
	// DateSource says where it came from.
	Date       time.Time
	DateKnown  bool
	DateSource string
	// Jiffies is jiffies_64 (or jiffies), JiffiesIs64 whether it came from
	// jiffies_64; HZ and where HZ came from.
	Jiffies     uint64
	JiffiesIs64 bool
	JiffiesOK   bool
	HZ          int
	HZSource    string
	LoadAvg     [3]uint64 // avenrun[], FSHIFT 11 fixed point
	LoadAvgOK   bool
	Tasks       int // every thread plus each CPU's idle task
	TaskWarns   []string
	MHz         uint64 // cpu_khz / 1000, 0 when unknown
	// MemoryBytes is crash's total_node_memory(): present pages (spanned
	// when present is 0) of the online nodes, in bytes.
	MemoryBytes uint64
	MemoryOK    bool
	// Panic is crash's get_panicmsg() result ("" when none found).
	Panic      string
	PanicFound bool
	// Tainted is tainted_mask != 0 (crash's is_kernel_tainted); Livepatch
	// is TAINT_LIVEPATCH or a "kpatch" module (is_livepatch).
	Tainted, Livepatch bool
	TaintMask          uint64
	// Warnings are problems met while gathering.
	Warnings []string
}

// Options give sysinfo what the dump file itself says.
type Options struct {
	// Header utsname and timestamp from a kdump header (fallbacks).
	HeaderUts  Utsname
	HeaderTime time.Time
	// Modules are the loaded module names (for the kpatch check).
	Modules []string
	// Log is the kernel log when the caller already has it; nil reads it.
	Log *printk.Log
	// Tasks is the task count when the caller already has it; nil counts.
	Tasks *int
}

// Gather computes every field. Fields it cannot compute are left zero with
// a warning; it fails only when nothing about the kernel can be read.
func Gather(src Source, o Options) (*Info, error) {
	in := &Info{}
	log := o.Log
	if log == nil {
		l, err := printk.Read(src)
		if err != nil {
			in.warn("log: %v", err)
		}
		log = l
	}
	in.utsname(src, o)
	in.cpus(src)
	in.date(src, o)
	in.jiffies(src)
	in.hz(src, log)
	in.loadavg(src)
	in.taint(src, o.Modules)
	in.memory(src)
	if v, err := readUint(src, "cpu_khz", 4); err == nil && v != 0 {
		in.MHz = v / 1000 // x86_64_processor_speed
	}
	if o.Tasks != nil {
		in.Tasks = *o.Tasks
	} else if r, err := tasks.List(src, tasks.Options{}); err == nil {
		in.Tasks = len(r.Tasks)
		in.TaskWarns = r.Warnings
	} else {
		in.warn("tasks: %v", err)
	}
	if log != nil {
		in.Panic, in.PanicFound = PanicMsg(printk.TextLines(log.Records), func() (int32, bool) {
			v, err := readUint(src, "sysrq_pressed", 4)
			return int32(v), err == nil
		})
	}
	if in.Uts.Release == "" && !in.DateKnown && !in.JiffiesOK {
		return in, errors.New("sysinfo: cannot read the kernel's utsname, time or jiffies")
	}
	return in, nil
}

func (in *Info) warn(f string, a ...any) { in.Warnings = append(in.Warnings, fmt.Sprintf(f, a...)) }

// vmciSym returns SYMBOL(name) from VMCOREINFO, else the symbol table.
func vmciSym(src Source, name string) (uint64, error) {
	if v, ok := src.VMCOREINFO("SYMBOL(" + name + ")"); ok {
		if x, err := strconv.ParseUint(v, 16, 64); err == nil {
			return x, nil
		}
	}
	return src.Symbol(name)
}

func vmciDec(src Source, key string) (int64, bool) {
	v, ok := src.VMCOREINFO(key)
	if !ok {
		return 0, false
	}
	x, err := strconv.ParseInt(v, 10, 64)
	return x, err == nil
}

// offset returns OFFSET(typ.member) from VMCOREINFO, else the types.
func offset(src Source, typ, member string) (uint64, bool) {
	if x, ok := vmciDec(src, "OFFSET("+typ+"."+member+")"); ok && x >= 0 {
		return uint64(x), true
	}
	x, err := src.MemberOffset(typ, member)
	return x, err == nil
}

func readN(src Source, addr uint64, n int) (uint64, error) {
	var b [8]byte
	if _, err := src.ReadAt(b[:n], addr); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b[:]), nil
}

func readUint(src Source, sym string, n int) (uint64, error) {
	a, err := src.Symbol(sym)
	if err != nil {
		return 0, err
	}
	return readN(src, a, n)
}

// utsname reads init_uts_ns.name (crash's kernel_init reads the same).
func (in *Info) utsname(src Source, o Options) {
	const fl = 65 // __NEW_UTS_LEN + 1
	addr, err := vmciSym(src, "init_uts_ns")
	if err == nil {
		off, ok := offset(src, "uts_namespace", "name")
		if !ok {
			off = 0 // name leads struct uts_namespace since 4.x... best guess
		}
		b := make([]byte, 6*fl)
		if _, err = src.ReadAt(b, addr+off); err == nil {
			f := func(i int) string {
				s := b[i*fl : (i+1)*fl]
				if j := strings.IndexByte(string(s), 0); j >= 0 {
					s = s[:j]
				}
				return string(s)
			}
			in.Uts = Utsname{f(0), f(1), f(2), f(3), f(4), f(5)}
			in.UtsSource = "init_uts_ns"
			return
		}
	}
	in.warn("utsname: init_uts_ns: %v; using the dump header", err)
	in.Uts = o.HeaderUts
	in.UtsSource = "dump header"
	if in.Uts.Release == "" {
		if v, ok := src.VMCOREINFO("OSRELEASE"); ok {
			in.Uts.Release = v
		}
	}
}

// cpus computes crash's kt->cpus as x86_64_per_cpu_init does: count CPUs
// 0, 1, ... while __per_cpu_offset[i] differs from __per_cpu_load (the
// value of offsets of CPUs never set up) and the per-CPU cpu_number of CPU
// i reads back as i; then, if cpu_present_mask has fewer CPUs than that
// count, use the highest present CPU + 1. Online is cpu_online_mask's count
// (crash's get_cpus_online, shown as "[OFFLINE: n]" when it differs).
func (in *Info) cpus(src Source) {
	var load uint64
	if a, err := src.Symbol("__per_cpu_load"); err == nil {
		load = a
	}
	cpus := 0
	if cn, err := src.Symbol("cpu_number"); err == nil {
		for i := 0; i < 8192; i++ {
			off, err := src.PerCPUOffset(i)
			if err != nil || (load != 0 && off == load) {
				break
			}
			v, err := readN(src, cn+off, 4)
			if err != nil || int(int32(v)) != i {
				break
			}
			cpus++
		}
	}
	if present, err := tasks.CPUMask(src, "present"); err == nil && len(present) > 0 && (cpus == 0 || len(present) < cpus) {
		cpus = present[len(present)-1] + 1
	}
	if cpus == 0 {
		cpus = 1
		in.warn("cpus: cannot count CPUs (cpu_number, __per_cpu_offset, cpu_present_mask)")
	}
	in.CPUs = cpus
	if online, err := tasks.CPUMask(src, "online"); err == nil {
		in.Online = len(online)
	}
}

// Offline is crash's "[OFFLINE: n]" count: kt->cpus minus the online CPUs
// (when the online mask is readable and not empty).
func (in *Info) Offline() int {
	if in.Online == 0 {
		return 0
	}
	return in.CPUs - in.Online
}

// date follows crash's get_xtime: timekeeper.xtime (a timespec) or
// timekeeper.xtime_sec of the symbol "timekeeper", else
// shadow_timekeeper.xtime_sec, else the old "xtime" timespec. Linux 3.17+
// has no "timekeeper" symbol (it sits in tk_core), so crash reads
// shadow_timekeeper there. When none is readable (no types), VMCOREINFO
// CRASHTIME, then the kdump header's timestamp, stand in.
func (in *Info) date(src Source, o Options) {
	set := func(sec int64, from string) {
		in.Date, in.DateKnown, in.DateSource = time.Unix(sec, 0), true, from
	}
	if a, err := src.Symbol("timekeeper"); err == nil {
		if off, ok := offset(src, "timekeeper", "xtime"); ok {
			if v, err := readN(src, a+off, 8); err == nil {
				set(int64(v), "timekeeper.xtime")
				return
			}
		} else if off, ok := offset(src, "timekeeper", "xtime_sec"); ok {
			if v, err := readN(src, a+off, 8); err == nil {
				set(int64(v), "timekeeper.xtime_sec")
				return
			}
		}
	}
	if off, ok := offset(src, "timekeeper", "xtime_sec"); ok {
		if a, err := src.Symbol("shadow_timekeeper"); err == nil {
			if v, err := readN(src, a+off, 8); err == nil {
				set(int64(v), "shadow_timekeeper.xtime_sec")
				return
			}
		}
	}
	if v, err := readUint(src, "xtime", 8); err == nil {
		set(int64(v), "xtime")
		return
	}
	if v, ok := vmciDec(src, "CRASHTIME"); ok {
		set(v, "VMCOREINFO CRASHTIME")
		return
	}
	if !o.HeaderTime.IsZero() {
		set(o.HeaderTime.Unix(), "dump header")
		return
	}
	in.warn("date: no timekeeper, CRASHTIME or dump header time")
}

// FormatDate is crash's ctime_tz(): strftime "%a %b %e %T %Z %Y" in the
// local time zone (TZ).
func FormatDate(t time.Time) string {
	return t.Local().Format("Mon Jan _2 15:04:05 MST 2006")
}

// jiffies reads jiffies_64, else jiffies (crash's get_uptime).
func (in *Info) jiffies(src Source) {
	if v, err := readUint(src, "jiffies_64", 8); err == nil {
		in.Jiffies, in.JiffiesIs64, in.JiffiesOK = v, true, true
		return
	}
	if v, err := readUint(src, "jiffies", 8); err == nil {
		in.Jiffies, in.JiffiesOK = v, true
		return
	}
	in.warn("uptime: cannot read jiffies_64 or jiffies")
}

// Common CONFIG_HZ values.
var hzValues = []int{100, 250, 300, 1000, 24, 32, 48, 64, 128, 200, 256, 500, 512, 1024, 1200}

// hz finds HZ. crash takes CONFIG_HZ from the in-kernel config
// (IKCONFIG) or deadline's write_expire (5*HZ) through gdb; kdive derives
// it from tick_nsec ((NSEC_PER_SEC + HZ/2) / HZ, NTP-adjusted by parts per
// million at most), else from jiffies against the last log time stamp
// (jiffies started at INITIAL_JIFFIES = -300*HZ), else 1000 (crash's
// x86_64 default).
func (in *Info) hz(src Source, log *printk.Log) {
	if v, err := readUint(src, "tick_nsec", 8); err == nil && v > 0 {
		hz := int((1e9 + v/2) / v)
		for _, h := range hzValues {
			if diff := int64(h) * int64(v); h == hz || (diff > 999e6 && diff < 1001e6 && abs(h-hz) <= 1) {
				in.HZ, in.HZSource = h, "tick_nsec"
				return
			}
		}
		if hz >= 10 && hz <= 10000 {
			in.HZ, in.HZSource = hz, "tick_nsec"
			return
		}
	}
	if in.JiffiesOK && in.JiffiesIs64 {
		if log != nil && len(log.Records) > 0 {
			up := float64(log.Records[len(log.Records)-1].TsNsec) / 1e9
			// jiffies_64 = 2^32 - 300*HZ + HZ*up  =>  HZ = (jiffies_64 - 2^32) / (up - 300)
			if up > 0 && up != 300 {
				hz := (float64(in.Jiffies) - 4294967296) / (up - 300)
				best, bestErr := 0, 1e18
				for _, h := range hzValues {
					if e := abs64(hz - float64(h)); e < bestErr {
						best, bestErr = h, e
					}
				}
				if best > 0 && bestErr < 0.02*float64(best) {
					in.HZ, in.HZSource = best, "jiffies against the last log time stamp"
					return
				}
			}
		}
	}
	in.HZ, in.HZSource = 1000, "default"
	in.warn("HZ: unknown; assuming 1000")
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func abs64(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// UptimeJiffies is crash's get_uptime(): jiffies_64 minus INITIAL_JIFFIES
// ((unsigned)(-300*HZ)), computed as crash does for the wrapped and
// unwrapped cases; plain jiffies (no jiffies_64 symbol) are used as is.
func (in *Info) UptimeJiffies() uint64 {
	j := in.Jiffies
	if !in.JiffiesIs64 {
		return j
	}
	hz := uint64(in.HZ)
	if wrapped := j & 0xffffffff00000000; wrapped != 0 {
		wrapped -= 0x100000000
		j &= 0xffffffff
		j |= wrapped
		return j + 300*hz
	}
	tmp1 := uint64(uint32(-300 * int32(in.HZ)))
	return j - tmp1
}

// FormatUptime is crash's convert_time(): "[D days, ]HH:MM:SS".
func FormatUptime(jiffies uint64, hz int) string {
	if hz == 0 {
		return "(cannot calculate: unknown HZ value)"
	}
	total := jiffies / uint64(hz)
	days := total / 86400
	total %= 86400
	s := ""
	if days != 0 {
		s = fmt.Sprintf("%d days, ", days)
	}
	return s + fmt.Sprintf("%02d:%02d:%02d", total/3600, total%3600/60, total%60)
}

func (in *Info) loadavg(src Source) {
	a, err := src.Symbol("avenrun")
	if err != nil {
		in.warn("load average: %v", err)
		return
	}
	for i := 0; i < 3; i++ {
		v, err := readN(src, a+uint64(8*i), 8)
		if err != nil {
			in.warn("load average: %v", err)
			return
		}
		in.LoadAvg[i] = v
	}
	in.LoadAvgOK = true
}

// FormatLoadAvg is crash's get_loadavg(): each avenrun value plus
// FIXED_1/200, then integer part and two decimals (LOAD_INT, LOAD_FRAC).
func FormatLoadAvg(av [3]uint64) string {
	const fshift = 11
	const fixed1 = 1 << fshift
	var parts []string
	for _, v := range av {
		// crash adds in long and formats as int.
		x := int32(int64(v) + fixed1/200)
		parts = append(parts, fmt.Sprintf("%d.%02d", x>>fshift, ((x&(fixed1-1))*100)>>fshift))
	}
	return strings.Join(parts, ", ")
}

// taint: crash's is_kernel_tainted (the int "tainted" of old kernels, else
// the unsigned long tainted_mask) and is_livepatch (taint flag K,
// TAINT_LIVEPATCH = bit 15, or a module named kpatch).
func (in *Info) taint(src Source, modules []string) {
	if _, err := src.Symbol("tainted"); err == nil {
		v, _ := readUint(src, "tainted", 4)
		in.TaintMask = v
	} else if v, err := readUint(src, "tainted_mask", 8); err == nil {
		in.TaintMask = v
	}
	in.Tainted = in.TaintMask != 0
	in.Livepatch = in.TaintMask&(1<<15) != 0
	for _, m := range modules {
		if m == "kpatch" {
			in.Livepatch = true
		}
	}
}

// memory is crash's total_node_memory() over the online nodes
// (node_online_map / node_states[N_ONLINE]; node_data[] or
// contig_page_data): node_present_pages pages, or node_spanned_pages when
// present is 0.
func (in *Info) memory(src Source) {
	spanOff, okSpan := offset(src, "pglist_data", "node_spanned_pages")
	presOff, okPres := offset(src, "pglist_data", "node_present_pages")
	if !okPres && okSpan {
		// struct pglist_data has had node_start_pfn, node_present_pages,
		// node_spanned_pages in that order since 2.6.
		if start, ok := offset(src, "pglist_data", "node_start_pfn"); ok && start+16 == spanOff {
			presOff, okPres = spanOff-8, true
		}
	}
	if !okSpan && !okPres {
		in.warn("memory: no pglist_data node_present_pages/node_spanned_pages offsets")
		return
	}
	var pgdats []uint64
	if nd, err := vmciSym(src, "node_data"); err == nil {
		n := 1024
		if l, ok := vmciDec(src, "LENGTH(node_data)"); ok && l > 0 && l <= 1<<16 {
			n = int(l)
		}
		for _, node := range onlineNodes(src, n) {
			if p, err := readN(src, nd+uint64(8*node), 8); err == nil && p != 0 {
				pgdats = append(pgdats, p)
			}
		}
	} else if c, err := vmciSym(src, "contig_page_data"); err == nil {
		pgdats = []uint64{c}
	}
	if len(pgdats) == 0 {
		in.warn("memory: no pglist_data found")
		return
	}
	var total uint64
	for _, p := range pgdats {
		var present, spanned uint64
		if okPres {
			present, _ = readN(src, p+presOff, 8)
		}
		if okSpan {
			spanned, _ = readN(src, p+spanOff, 8)
		}
		if present != 0 {
			total += present * 4096
		} else {
			total += spanned * 4096
		}
	}
	in.MemoryBytes, in.MemoryOK = total, true
}

// onlineNodes returns the nodes set in node_online_map (VMCOREINFO's
// SYMBOL(node_online_map) is &node_states[N_ONLINE] on current kernels);
// node 0 alone when the map cannot be read.
func onlineNodes(src Source, max int) []int {
	a, err := vmciSym(src, "node_online_map")
	if err != nil {
		if ns, err2 := src.Symbol("node_states"); err2 == nil {
			sz := uint64(128)
			if s, ok := vmciDec(src, "SIZE(nodemask_t)"); ok && s > 0 {
				sz = uint64(s)
			}
			a, err = ns+sz*1, nil // N_ONLINE == 1
		}
	}
	if err != nil {
		return []int{0}
	}
	words := (max + 63) / 64
	b := make([]byte, 8*words)
	if _, err := src.ReadAt(b, a); err != nil {
		return []int{0}
	}
	var out []int
	for i := 0; i < words; i++ {
		w := binary.LittleEndian.Uint64(b[8*i:])
		for bit := 0; bit < 64; bit++ {
			if w&(1<<bit) != 0 && 64*i+bit < max {
				out = append(out, 64*i+bit)
			}
		}
	}
	if len(out) == 0 {
		return []int{0}
	}
	return out
}

// FormatMemory is crash's get_memory_size(): round up to the next GiB when
// within 64 MiB of it, then pages_to_size(): "%.1f GB" / "%.1f MB" /
// "%ld KB" with ".0" dropped, "0" for nothing.
func FormatMemory(total uint64) string {
	const gib, mib = 1 << 30, 1 << 20
	if next := (total + gib - 1) / gib * gib; next != 0 && next-total <= 64*mib {
		total = next
	}
	pages := total / 4096
	if pages == 0 {
		return "0"
	}
	t := float64(pages) * 4096
	var s string
	switch {
	case t >= gib:
		s = fmt.Sprintf("%.1f GB", t/gib)
	case t >= mib:
		s = fmt.Sprintf("%.1f MB", t/mib)
	default:
		s = fmt.Sprintf("%d KB", uint64(t/1024))
	}
	return strings.Replace(s, ".0 ", " ", 1)
}

// PanicMsg is crash's get_panicmsg() (task.c) over the log's text lines (as
// `log -t` prints them): the first line matching, in this order of passes,
//  1. "general protection fault: ", "double fault: ", "divide error: ",
//     "stack segment: "
//  2. "SysRq : Netdump", "SysRq : Crash", "SysRq : Trigger a crash"
//  3. "Oops: ", "Kernel BUG at", "kernel BUG at", "Unable to handle kernel
//     paging request", "Unable to handle kernel NULL pointer dereference",
//     "BUG: unable to handle kernel "
//  4. a line containing "sysrq" when the kernel has sysrq_pressed (its
//     value decides)
//  5. "Kernel panic: ", "Kernel panic - "
//  6. "[Hardware Error]: "
//  7. "Bad mode in "
//
// sysrqPressed reads sysrq_pressed; ok false when the symbol is absent.
func PanicMsg(lines []string, sysrqPressed func() (int32, bool)) (string, bool) {
	passes := [][]string{
		{"general protection fault: ", "double fault: ", "divide error: ", "stack segment: "},
		{"SysRq : Netdump", "SysRq : Crash", "SysRq : Trigger a crash"},
		{"Oops: ", "Kernel BUG at", "kernel BUG at", "Unable to handle kernel paging request",
			"Unable to handle kernel NULL pointer dereference", "BUG: unable to handle kernel "},
	}
	find := func(pats []string) (string, bool) {
		for _, l := range lines {
			for _, p := range pats {
				if strings.Contains(l, p) {
					return l, true
				}
			}
		}
		return "", false
	}
	for _, p := range passes {
		if l, ok := find(p); ok {
			return l, true
		}
	}
	for _, l := range lines {
		if strings.Contains(l, "sysrq") {
			if v, ok := sysrqPressed(); ok {
				if v != 0 {
					return l, true
				}
				break
			}
		}
	}
	for _, p := range [][]string{{"Kernel panic: ", "Kernel panic - "}, {"[Hardware Error]: "}, {"Bad mode in "}} {
		if l, ok := find(p); ok {
			return l, true
		}
	}
	return "", false
}

// PanicLine is the text after "PANIC: " as crash's display_sys_stats
// prints it: the message in double quotes, followed by
// " (check log for details)" when it contains "Oops: "; "\"\"" when none.
func PanicLine(msg string) string {
	msg = strings.TrimRight(msg, "\n")
	s := "\"" + msg + "\""
	if strings.Contains(msg, "Oops: ") {
		s += " (check log for details)"
	}
	return s
}
