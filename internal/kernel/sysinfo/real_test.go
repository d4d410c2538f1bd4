package sysinfo_test

import (
	"path/filepath"
	"testing"

	"kdive/internal/kernel/sysinfo"
	"kdive/internal/program"
	"kdive/internal/testcorpus"
)

// The sources of each field on the shared dump (no vmlinux: types from
// the dump's BTF, symbols from its kallsyms).
func TestSharedSources(t *testing.T) {
	dir := testcorpus.Shared(t)
	p, err := program.Open("", filepath.Join(dir, "vmcore.zstd"), program.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	in, err := sysinfo.Gather(p, sysinfo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Warnings) != 0 || len(in.TaskWarns) != 0 {
		t.Errorf("warnings %q %q", in.Warnings, in.TaskWarns)
	}
	check := func(name string, got, want any) {
		t.Helper()
		if got != want {
			t.Errorf("%s: got %v, want %v", name, got, want)
		}
	}
	check("HZ", in.HZ, 250)
	check("HZ source", in.HZSource, "tick_nsec")
	check("date source", in.DateSource, "shadow_timekeeper.xtime_sec")
	// xtime_sec agrees with VMCOREINFO's CRASHTIME.
	check("date", in.Date.Unix(), int64(1795344636))
	check("uts source", in.UtsSource, "init_uts_ns")
	check("nodename", in.Uts.Nodename, "rig-sysrq")
	check("sysname", in.Uts.Sysname, "Linux")
	check("cpus", in.CPUs, 2)
	check("online", in.Online, 2)
	check("jiffies", in.Jiffies, uint64(0xfffee678)) // crash: rd -64 jiffies
	check("uptime jiffies", in.UptimeJiffies(), uint64(2928))
	check("memory", in.MemoryBytes, uint64(130936*4096)) // node 0: 158 + 130778 present pages (e820 usable)
	check("MHz", in.MHz, uint64(2445))                   // "tsc: Detected 2445.432 MHz processor"
	check("tainted", in.Tainted, false)
	check("tasks", in.Tasks, 55)
	check("panic", in.Panic, "Kernel panic - not syncing: sysrq triggered crash")
}
