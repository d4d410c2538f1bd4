package commands

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"kdive/internal/kernel/sysinfo"
	"kdive/internal/program"
)

func init() {
	Register(&Command{
		Name:    "sys",
		Summary: "system data",
		Usage:   "sys",
		Help: `  This command displays system-specific data: the vmlinux and dump file in
  use, the CPU count, the date of the crash, the uptime, the load average,
  the number of tasks, the utsname data, the processor speed, the memory
  size and the panic message, in the format of crash's "sys".

    KERNEL    the vmlinux given ("(none)" when symbols and types come from
              the dump itself), with "[TAINTED]" when tainted_mask is set
              and "[LIVEPATCH]" when a live patch is loaded
    DUMPFILE  the dump file as given, "[PARTIAL DUMP]" for a filtered
              kdump-compressed file
    CPUS      possible CPUs, "[OFFLINE: n]" when fewer were online
    DATE      wall-clock time of the crash in the local time zone (TZ)
    UPTIME    jiffies since boot over HZ
    TASKS     every thread of every process plus each CPU's idle task
    PANIC     the panic message found in the kernel log

  Example:
    crash> sys
          KERNEL: /usr/lib/debug/boot/vmlinux-6.1.0-53-cloud-amd64
        DUMPFILE: ./vmcore.lzo  [PARTIAL DUMP]
            CPUS: 2
            DATE: Sun Nov 22 10:50:36 UTC 2026
          UPTIME: 00:00:11
    LOAD AVERAGE: 0.15, 0.03, 0.01
           TASKS: 57
        NODENAME: rig-sysrq
         RELEASE: 6.1.0-53-cloud-amd64
         VERSION: #1 SMP PREEMPT_DYNAMIC Debian 6.1.187-1 (2026-09-07)
         MACHINE: x86_64  (2445 Mhz)
          MEMORY: 511.5 MB
           PANIC: "Kernel panic - not syncing: sysrq triggered crash"`,
		Run: runSys,
	})
}

func runSys(env *Env, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("option not supported: %s (usage: sys)", strings.Join(args, " "))
	}
	p := env.Prog
	if p == nil {
		return errors.New("no dump file")
	}
	o := sysinfo.Options{}
	var di *sysinfoDump
	if p.Dump != nil {
		di = dumpFacts(p)
		o.HeaderUts = di.uts
		o.HeaderTime = di.info.Timestamp
	}
	if mods, err := p.Modules(); err == nil {
		for _, m := range mods {
			o.Modules = append(o.Modules, m.Name)
		}
	}
	in, err := sysinfo.Gather(p, o)
	if err != nil {
		return err
	}
	if env.Err != nil {
		for _, w := range append(in.Warnings, in.TaskWarns...) {
			fmt.Fprintf(env.Err, "sys: %s\n", w)
		}
	}
	WriteSys(env.Out, in, p.VmlinuxPath, di.path(), di.annotation())
	return nil
}

type sysinfoDump struct {
	info *dumpInfo
	uts  sysinfo.Utsname
}

// dumpInfo is the part of dump.Info sys uses.
type dumpInfo struct {
	Path, Format string
	Partial      bool
	QEMU         bool
	Timestamp    time.Time
}

func dumpFacts(p *program.Program) *sysinfoDump {
	i := p.Dump.Info()
	return &sysinfoDump{
		info: &dumpInfo{Path: i.Path, Format: i.Format, Partial: i.Partial, QEMU: len(i.QEMUCPUState) > 0, Timestamp: i.Timestamp},
		uts:  sysinfo.Utsname{Sysname: i.Sysname, Nodename: i.Nodename, Release: i.Release, Version: i.Version, Machine: i.Machine, Domainname: i.Domainname},
	}
}

func (d *sysinfoDump) path() string {
	if d == nil {
		return ""
	}
	return d.info.Path
}

// annotation is what crash 8.0.2 appends to DUMPFILE. crash marks only
// kdump-compressed files, when the header's dump_level is above 0
// (is_partial_diskdump): makedumpfile -d N writes N, QEMU always writes 1.
// crash never marks ELF vmcores (its [PARTIAL DUMP] for ELF is for netdump
// files only), even makedumpfile -E output whose PT_LOADs leave pages out;
// kdive marks those too, since reading their missing pages fails the same
// way as in a filtered kdump file.
func (d *sysinfoDump) annotation() string {
	if d == nil {
		return ""
	}
	if d.info.Partial || d.info.Format == "kdump" && d.info.QEMU {
		return "  [PARTIAL DUMP]"
	}
	return ""
}

// WriteSys prints the sys lines in crash's layout (display_sys_stats).
func WriteSys(w io.Writer, in *sysinfo.Info, vmlinux, dumpPath, dumpNote string) {
	kernel := vmlinux
	if kernel == "" {
		kernel = "(none)"
	}
	if in.Livepatch {
		kernel += "  [LIVEPATCH]"
	}
	if in.Tainted {
		kernel += "  [TAINTED]"
	}
	fmt.Fprintf(w, "      KERNEL: %s\n", kernel)
	fmt.Fprintf(w, "    DUMPFILE: %s%s\n", dumpPath, dumpNote)
	fmt.Fprintf(w, "        CPUS: %d", in.CPUs)
	if off := in.Offline(); off != 0 {
		fmt.Fprintf(w, " [OFFLINE: %d]", off)
	}
	fmt.Fprintln(w)
	date := "(unknown)"
	if in.DateKnown {
		date = sysinfo.FormatDate(in.Date)
	}
	fmt.Fprintf(w, "        DATE: %s\n", date)
	uptime := "(unknown)"
	if in.JiffiesOK {
		uptime = sysinfo.FormatUptime(in.UptimeJiffies(), in.HZ)
	}
	fmt.Fprintf(w, "      UPTIME: %s\n", uptime)
	load := "(unknown)"
	if in.LoadAvgOK {
		load = sysinfo.FormatLoadAvg(in.LoadAvg)
	}
	fmt.Fprintf(w, "LOAD AVERAGE: %s\n", load)
	fmt.Fprintf(w, "       TASKS: %d\n", in.Tasks)
	fmt.Fprintf(w, "    NODENAME: %s\n", in.Uts.Nodename)
	fmt.Fprintf(w, "     RELEASE: %s\n", in.Uts.Release)
	fmt.Fprintf(w, "     VERSION: %s\n", in.Uts.Version)
	fmt.Fprintf(w, "     MACHINE: %s  ", in.Uts.Machine)
	if in.MHz != 0 {
		fmt.Fprintf(w, "(%d Mhz)\n", in.MHz)
	} else {
		fmt.Fprintf(w, "(unknown Mhz)\n")
	}
	mem := "(unknown)"
	if in.MemoryOK {
		mem = sysinfo.FormatMemory(in.MemoryBytes)
	}
	fmt.Fprintf(w, "      MEMORY: %s\n", mem)
	fmt.Fprintf(w, "       PANIC: %s\n", sysinfo.PanicLine(in.Panic))
}
