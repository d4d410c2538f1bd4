package commands

import (
	"strings"
	"testing"

	"kdive/internal/program"
	"kdive/internal/testcorpus"
)

// Byte for byte crash 8.0.2's set, set -c, task -R, bt -e, bt -r, bt -v,
// foreach (on the tasks crash 8.0.2 sees: the running ones; not bt, where
// crash shows stale frames and kdive inlined ones) and the set
// radix messages on the corpus's sysrq dump, recorded with the corpus
// whose rig-hash the golden transcript names (capture-tasks.sh), with and
// without vmlinux (bt -r and foreach RU task with it only: kallsyms
// names some addresses differently); each command on a fresh context, as each was captured
// in its own crash session.
func TestTasksCrashCorpus(t *testing.T) {
	steps := crashTranscript(t, "crash-tasks-sysrq.txt", 15)
	for _, v := range []string{testcorpus.Vmlinux(t), ""} {
		p, err := program.Open(v, testcorpus.File(t, "sysrq", testcorpus.KdumpELF), program.OpenOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range steps {
			p.ResetCurrentTask()
			p.SetOutputRadix(10)
			if v == "" && (s.cmd == "bt -r" || s.cmd == "foreach RU task") {
				// Symbol names from kallsyms: no .LC local labels for
				// rd -s; init_task's stack pointer is named
				// <init_thread_union> (gdb names no symbol there).
				continue
			}
			f := strings.Fields(s.cmd)
			if got := runCmd(t, p, f[0], f[1:]...); got != s.out {
				t.Errorf("vmlinux %q: %s:\n%s\ncrash:\n%s", v, s.cmd, got, s.out)
			}
		}
		p.Close()
	}
}

// bt -E equals crash's output for every stack crash 8.0.2 searched before
// it stopped at the first exception stack it has no name for (MCE):
// kdive goes on with CPU 0's MCE stack and CPU 1's stacks.
func TestBtECrashCorpus(t *testing.T) {
	dir := testcorpus.Dir(t)
	_, want := goldenFor(t, dir, "crash-bt-E-sysrq.txt")
	for _, v := range []string{testcorpus.Vmlinux(t), ""} {
		p := openProg(t, v, testcorpus.File(t, "sysrq", testcorpus.KdumpLZO))
		got := runCmd(t, p, "bt", "-E")
		if !strings.HasPrefix(got, want) {
			t.Errorf("vmlinux %q: bt -E:\n%s\ncrash:\n%s", v, got, want)
		}
		if rest := got[min(len(got), len(want)):]; !strings.HasPrefix(rest, "CPU 0 MCE EXCEPTION STACK:\n") || !strings.Contains(rest, "CPU 1 NMI EXCEPTION STACK:\n") {
			t.Errorf("vmlinux %q: bt -E after crash's part:\n%s", v, rest)
		}
	}
}
