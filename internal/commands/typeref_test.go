package commands

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kdive/internal/program"
	"kdive/internal/testcorpus"
)

// crash 8.0.2's own session on the shared dump
// (shared/reference/crash-8.0.2-sysrq.txt) reproduced by kdive from the
// dump alone: types from the BTF in the dump's memory, symbols from its
// kallsyms.
func TestTypeCommandsReference(t *testing.T) {
	dir := testcorpus.Shared(t)
	ref, err := os.ReadFile(filepath.Join(dir, "..", "..", "reference", "crash-8.0.2-sysrq.txt"))
	if err != nil {
		if os.Getenv(testcorpus.EnvRequire) == "1" {
			t.Fatal(err)
		}
		t.Skipf("no crash reference session: %v", err)
	}
	blocks := map[string]string{}
	var cur string
	var sb strings.Builder
	flush := func() {
		if cur != "" {
			blocks[cur] = sb.String()
		}
		sb.Reset()
	}
	for _, l := range strings.SplitAfter(string(ref), "\n") {
		if strings.HasPrefix(l, "crash> ") {
			flush()
			cur = strings.TrimSpace(strings.TrimPrefix(l, "crash> "))
			continue
		}
		sb.WriteString(l)
	}
	flush()
	prog, err := program.Open("", filepath.Join(dir, "vmcore.zstd"), program.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer prog.Close()
	for _, cmd := range []string{
		"p sizeof(struct task_struct)",
		"struct task_struct.comm,pid init_task",
		"list task_struct.tasks -h init_task",
		"eval 0xffff9612a277cc00 + 704",
	} {
		want, ok := blocks[cmd]
		if !ok {
			t.Fatalf("the reference has no %q", cmd)
		}
		if got := typecmdsRun(t, prog, cmd); got != want {
			t.Errorf("%s: differs from crash:\n%s", cmd, rdsymFirstDiff(want, got))
		}
	}
	// A module's own type, from the module's BTF in the dump
	// (btf_modules): struct virtio_blk of virtio_blk.ko.
	got := typecmdsRun(t, prog, "struct -o virtio_blk")
	if !strings.Contains(got, "  [272] struct virtio_blk_vq *vqs;\n}\nSIZE: 280\n") {
		t.Errorf("struct -o virtio_blk:\n%s", got)
	}
	if n := strings.Count(blocks["list task_struct.tasks -h init_task"], "\n"); n != 54 {
		t.Errorf("the reference list has %d lines, want 54", n)
	}
}

func TestTypeShorthand(t *testing.T) {
	dir := testcorpus.Shared(t)
	prog, err := program.Open("", filepath.Join(dir, "vmcore.zstd"), program.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer prog.Close()
	var out strings.Builder
	env := &Env{Prog: prog, Out: &out, Err: &out}
	ok, err := RunTypeShorthand(env, "task_struct.pid,comm", []string{"init_task"})
	if !ok || err != nil || out.String() != "  pid = 0,\n  comm = \"swapper/0\\000\\000\\000\\000\\000\\000\",\n" {
		t.Errorf("task_struct.pid,comm init_task: %v %v %q", ok, err, out.String())
	}
	if ok, _ := RunTypeShorthand(env, "nosuchtype", nil); ok {
		t.Errorf("nosuchtype taken for a type")
	}
	if ok, _ := RunTypeShorthand(env, "jiffies", nil); ok {
		t.Errorf("jiffies taken for a type")
	}
}
