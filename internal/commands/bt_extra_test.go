package commands

import (
	"regexp"
	"strings"
	"testing"
)

// bt -e finds the Oops's pt_regs (the exception RIP the console names)
// and the user-mode frame at the syscall boundary; bt -r is the whole
// 16 KiB stack as rd -s; bt -v finds no overflow; bt -E searches each
// CPU's IRQ and exception stacks; bt -o is bt. With and without vmlinux.
func TestBtSearchOptionsCorpus(t *testing.T) {
	for name, p := range openBoth(t, "oops-proc") {
		t.Run(name, func(t *testing.T) {
			e := runCmd(t, p, "bt", "-e")
			if !strings.Contains(e, "\n  KERNEL-MODE EXCEPTION FRAME AT: ") || !strings.Contains(e, "    [exception RIP: kdive_rig_null_deref+12]\n") ||
				!regexp.MustCompile(`\n  USER-MODE EXCEPTION FRAME AT: [0-9a-f]{16}\n    RIP: 0000`).MatchString(e) {
				t.Errorf("bt -e:\n%s", e)
			}
			r := runCmd(t, p, "bt", "-r")
			lines := strings.Split(strings.TrimSuffix(r, "\n"), "\n")
			if len(lines) != 1+16384/16 || !strings.HasPrefix(lines[0], "PID: ") ||
				!regexp.MustCompile(`^[0-9a-f]{16}:  0000000057ac6e9d `).MatchString(lines[1]) {
				t.Errorf("bt -r: %d lines, %q %q", len(lines), lines[0], lines[1])
			}
			if !strings.Contains(r, " kdive_rig_write+") {
				t.Errorf("bt -r has no kdive_rig_write return address")
			}
			if got := runCmd(t, p, "bt", "-v"); got != "No stack overflows detected\n" {
				t.Errorf("bt -v: %q", got)
			}
			all := runCmd(t, p, "bt", "-E")
			for _, s := range []string{"CPU 0 IRQ STACK:\n", "CPU 1 IRQ STACK:\n", "CPU 0 NMI EXCEPTION STACK:\n", "CPU 1 DOUBLEFAULT EXCEPTION STACK:\n"} {
				if !strings.Contains(all, s) {
					t.Errorf("bt -E lacks %q:\n%s", s, all)
				}
			}
			// Under set radix 16 the exception RIP's offset is hexadecimal.
			p.SetOutputRadix(16)
			if got := runCmd(t, p, "bt", "-e"); !strings.Contains(got, "    [exception RIP: kdive_rig_null_deref+0xc]\n") {
				t.Errorf("bt -e under radix 16:\n%s", got)
			}
			p.SetOutputRadix(10)
			if got, want := runCmd(t, p, "bt", "-o"), runCmd(t, p, "bt"); got != want {
				t.Errorf("bt -o:\n%s\nbt:\n%s", got, want)
			}
		})
	}
}
