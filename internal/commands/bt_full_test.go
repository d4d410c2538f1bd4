package commands

import (
	"regexp"
	"strings"
	"testing"

	"kdive/internal/testcorpus"
)

// bt -f, -F and -FF of the panic task: byte for byte crash 8.0.2's over
// the frames both show (crash follows the real frames with stale return
// addresses, whose words differ from kdive's last frame's), with the
// vmlinux and with the dump's kallsyms and BTF alone; -F marks slab objects
// with their caches as rd -S does.
func TestBtFullGolden(t *testing.T) {
	cmds, outs := kmemGolden(t, "btfull-oops-proc.golden")
	if len(cmds) != 3 {
		t.Fatalf("%d commands in the golden file", len(cmds))
	}
	frame := regexp.MustCompile(`^ *#\d+ \[`)
	for _, v := range []string{testcorpus.Vmlinux(t), ""} {
		name := map[bool]string{true: "vmlinux", false: "btf"}[v != ""]
		t.Run(name, func(t *testing.T) {
			p := kmemOpen(t, v, "oops-proc", testcorpus.KdumpLZO)
			for i, cmd := range cmds {
				var got []string
				// crash shows no inlined frames.
				for _, l := range strings.Split(runBtOn(t, p, strings.Fields(cmd)[1:]...), "\n") {
					if !strings.Contains(l, " (inlined) at ") {
						got = append(got, l)
					}
				}
				want := strings.Split(outs[i], "\n")
				// The frame lines of kdive's trace but its last must all
				// lie in the common prefix.
				lastFrame, frames := -1, 0
				for j, l := range got {
					if frame.MatchString(l) {
						lastFrame, frames = j, frames+1
					}
				}
				if frames < 10 {
					t.Fatalf("%s: %d frames:\n%s", cmd, frames, strings.Join(got, "\n"))
				}
				prev := -1
				for j := 0; j < lastFrame; j++ {
					if frame.MatchString(got[j]) {
						prev = j
					}
				}
				n := prev + 1
				for n < len(got) && n < len(want) && !frame.MatchString(got[n]) && got[n] == want[n] {
					n++
				}
				for j := 0; j <= prev; j++ {
					if j >= len(want) || got[j] != want[j] {
						w := ""
						if j < len(want) {
							w = want[j]
						}
						t.Fatalf("%s: line %d:\n got %q\nwant %q", cmd, j+1, got[j], w)
					}
				}
				common := strings.Join(got[:n], "\n")
				switch cmd {
				case "bt -F":
					if !strings.Contains(common, "[kmalloc-") || !strings.Contains(common, ": __crash_kexec+119 ") {
						t.Errorf("%s: no slab or symbol marks:\n%s", cmd, common)
					}
				case "bt -FF":
					if !regexp.MustCompile(`\[ffff[0-9a-f]{12}:kmalloc-\w+\]`).MatchString(common) {
						t.Errorf("%s: no address:cache marks:\n%s", cmd, common)
					}
				}
			}
		})
	}
}
