package fs_test

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"

	"kdive/internal/kernel/fs"
	"kdive/internal/kernel/tasks"
	"kdive/internal/program"
	"kdive/internal/testcorpus"
)

// The holder process of every scenario (kdump-compressed dump, vmlinux
// types and the dump's BTF): its fds and paths are the guest's readlink
// of /proc/PID/fd/*, each with an inode of the right type whose i_mapping
// is its own i_data, and every dentry names back the same path.
func TestCorpusHolder(t *testing.T) {
	testcorpus.Dir(t)
	vml := testcorpus.Vmlinux(t)
	for _, sc := range testcorpus.Scenarios() {
		for _, v := range []string{vml, ""} {
			name := sc + "/vmlinux"
			if v == "" {
				name = sc + "/btf"
			}
			t.Run(name, func(t *testing.T) {
				truth := testcorpus.Truth(t, sc)
				pid, err := strconv.Atoi(first(truth["holder_pid"]))
				if err != nil {
					t.Fatal(err)
				}
				p, err := program.Open(v, testcorpus.File(t, sc, testcorpus.KdumpLZO), program.OpenOptions{})
				if err != nil {
					t.Fatal(err)
				}
				defer p.Close()
				tl, err := tasks.List(p, tasks.Options{})
				if err != nil {
					t.Fatal(err)
				}
				var task uint64
				for _, tk := range tl.Tasks {
					if int(tk.PID) == pid {
						task = tk.Addr
					}
				}
				if task == 0 {
					t.Fatalf("no task %d", pid)
				}
				r, err := fs.New(p)
				if err != nil {
					t.Fatal(err)
				}
				tf, err := r.Task(task)
				if err != nil {
					t.Fatal(err)
				}
				if len(tf.Warnings) > 0 || tf.Root != "/" || tf.Cwd != "/" || !tf.HasFiles || tf.MaxFDs < 64 {
					t.Fatalf("%+v", tf)
				}
				idata, err := p.MemberOffset("inode", "i_data")
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, f := range tf.Files {
					got = append(got, fmt.Sprintf("%d %s", f.FD, f.Path))
					want := map[string]uint32{"/dev/null": fs.S_IFCHR, "/dev/console": fs.S_IFCHR, "/tmp/holder/fifo": fs.S_IFIFO,
						"/tmp/holder/out.txt": fs.S_IFREG, "/holder.sh": fs.S_IFREG}[f.Path]
					if (want != 0 && f.Mode&fs.S_IFMT != want) || f.Ino == 0 || f.Mapping != f.Inode+idata {
						t.Errorf("%+v", f)
					}
					if f.Path == "/holder.sh" && f.NrPages == 0 {
						t.Errorf("%s: no page cached", f.Path)
					}
					d, err := r.DentryInfo(f.Dentry)
					if err != nil || d.Path != f.Path || d.Inode != f.Inode || d.SuperBlock == 0 {
						t.Errorf("DentryInfo(%#x) = %+v, %v; file %s", f.Dentry, d, err, f.Path)
					}
				}
				want := append([]string(nil), truth["holder_fd"]...)
				sort.Strings(got)
				sort.Strings(want)
				if strings.Join(got, "|") != strings.Join(want, "|") {
					t.Errorf("fds\n got %q\nwant %q", got, want)
				}
			})
		}
	}
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}
