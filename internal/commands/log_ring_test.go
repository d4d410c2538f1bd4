package commands

import (
	"strings"
	"testing"
	"time"

	"kdive/internal/testcorpus"
)

// On the ext corpus's logring dump (4,500 KERN_DEBUG flood records wrapped
// the 128 KiB data ring and its 4,096 descriptors), `log`, `log -m`,
// `log -t` and `log -T` (TZ=UTC) are crash 8.0.2's output byte for byte
// (log-logring-crash.txt.gz, captured by capture-log-logring.sh), from
// the kdump file with and without the vmlinux and from the ELF file.
func TestLogringMatchesCrash(t *testing.T) {
	steps := crashTranscriptIn(t, testcorpus.ExtDir(t), "log-logring-crash.txt.gz", 4)
	if !strings.Contains(steps[0].out, "kdive-flood ") || strings.Contains(steps[0].out, "Linux version") {
		t.Fatalf("the golden's log is not a wrapped ring's: %.200q", steps[0].out)
	}
	for _, d := range []struct{ name, vmlinux, format string }{
		{"lzo", testcorpus.ExtVmlinux(t), testcorpus.KdumpLZO},
		{"lzo-no-vmlinux", "", testcorpus.KdumpLZO},
		{"elf", testcorpus.ExtVmlinux(t), testcorpus.KdumpELF},
	} {
		t.Run(d.name, func(t *testing.T) {
			p := openProg(t, d.vmlinux, testcorpus.ExtFile(t, "logring", d.format))
			for _, s := range steps {
				f := strings.Fields(s.cmd)
				var got string
				inZone(time.UTC, func() { got = runCmd(t, p, f[0], f[1:]...) })
				sameText(t, s.cmd, got, s.out)
			}
		})
	}
}
