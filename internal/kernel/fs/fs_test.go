package fs_test

import (
	"encoding/binary"
	"fmt"
	"testing"

	"kdive/internal/kernel/fs"
)

type fake struct {
	mem  map[uint64]byte
	syms map[string]uint64
}

func (f *fake) ReadAt(b []byte, a uint64) (int, error) {
	for i := range b {
		v, ok := f.mem[a+uint64(i)]
		if !ok {
			return i, fmt.Errorf("no memory at %#x", a+uint64(i))
		}
		b[i] = v
	}
	return len(b), nil
}
func (f *fake) put(a uint64, b []byte) {
	for i, c := range b {
		f.mem[a+uint64(i)] = c
	}
}
func (f *fake) u64(a, v uint64) {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], v)
	f.put(a, b[:])
}
func (f *fake) u32(a uint64, v uint32) {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], v)
	f.put(a, b[:])
}
func (f *fake) Symbol(n string) (uint64, error) {
	if v, ok := f.syms[n]; ok {
		return v, nil
	}
	return 0, fmt.Errorf("no symbol %s", n)
}

var offs = map[string]uint64{
	"task_struct.files": 0x0, "task_struct.fs": 0x8,
	"files_struct.fdt": 0x0, "fdtable.max_fds": 0x0, "fdtable.fd": 0x8, "fdtable.open_fds": 0x18,
	"file.f_path.dentry": 0x8, "file.f_path.mnt": 0x0,
	"fs_struct.root": 0x10, "fs_struct.pwd": 0x20, "path.mnt": 0, "path.dentry": 8,
	"dentry.d_parent": 0x0, "dentry.d_name": 0x8, "qstr.len": 0x4, "qstr.name": 0x8,
	"dentry.d_inode": 0x18, "dentry.d_op": 0x20, "dentry.d_hash.pprev": 0x28, "dentry.d_fsdata": 0x30,
	"dentry_operations.d_dname": 0x10,
	"inode.i_mode":              0x0, "inode.i_ino": 0x8,
	"mount.mnt": 0x20, "mount.mnt_parent": 0x0, "mount.mnt_mountpoint": 0x8, "vfsmount.mnt_root": 0x0,
	"proc_ns_operations.name": 0,
}

func (f *fake) MemberOffset(t, m string) (uint64, error) {
	if v, ok := offs[t+"."+m]; ok {
		return v, nil
	}
	return 0, fmt.Errorf("no member %s.%s", t, m)
}
func (f *fake) MemberSize(t, m string) (uint64, error) { return 0, fmt.Errorf("no size") }

type kernel struct {
	*fake
	next uint64
}

func (k *kernel) alloc(n uint64) uint64 {
	a := k.next
	k.next += (n + 0xff) &^ 0xff
	for i := uint64(0); i < n; i++ {
		k.mem[a+i] = 0
	}
	return a
}

// dentry allocates a dentry named name under parent (0: its own root),
// with an inode of mode and ino (mode 0: negative), hashed.
func (k *kernel) dentry(name string, parent uint64, mode uint32, ino uint64) uint64 {
	d := k.alloc(0x40)
	if parent == 0 {
		parent = d
	}
	k.u64(d, parent)
	s := k.alloc(uint64(len(name)) + 1)
	k.put(s, []byte(name))
	k.u32(d+0xc, uint32(len(name)))
	k.u64(d+0x10, s)
	k.u64(d+0x28, 0xdead) // hashed
	if mode != 0 {
		in := k.alloc(0x10)
		k.put(in, []byte{byte(mode), byte(mode >> 8)})
		k.u64(in+8, ino)
		k.u64(d+0x18, in)
	}
	return d
}

// mount allocates a struct mount of root mounted on mountpoint in parent
// (parent 0: the root of the tree); it returns the vfsmount address.
func (k *kernel) mount(root, parent, mountpoint uint64) uint64 {
	m := k.alloc(0x40)
	if parent == 0 {
		k.u64(m, m)
	} else {
		k.u64(m, parent-0x20)
	}
	k.u64(m+8, mountpoint)
	k.u64(m+0x20, root)
	return m + 0x20
}

func (k *kernel) file(mnt, dentry uint64) uint64 {
	f := k.alloc(0x10)
	k.u64(f, mnt)
	k.u64(f+8, dentry)
	return f
}

// buildKernel makes a small kernel: / (rootfs) with /dev (devtmpfs) and
// /tmp (tmpfs), and a task whose fds hold files of each kind.
func buildKernel() (k *kernel, task, fsst, tmnt, troot, dmnt, x, gone uint64) {
	k = &kernel{fake: &fake{mem: map[uint64]byte{}, syms: map[string]uint64{
		"pipefs_dname": 0xf100, "sockfs_dname": 0xf200, "anon_inodefs_dname": 0xf300, "ns_dname": 0xf400,
	}}, next: 0x10000}
	// / (rootfs) with /dev (devtmpfs) and /tmp/x (tmpfs, its "x" a file
	// in the tmpfs root), /tmp/gone (unlinked), a pipe, a socket, an
	// eventpoll and a net namespace.
	rroot := k.dentry("/", 0, fs.S_IFDIR|0o755, 1)
	rmnt := k.mount(rroot, 0, rroot)
	dev := k.dentry("dev", rroot, fs.S_IFDIR|0o755, 2)
	tmp := k.dentry("tmp", rroot, fs.S_IFDIR|0o755, 3)
	droot := k.dentry("/", 0, fs.S_IFDIR|0o755, 1)
	dmnt = k.mount(droot, rmnt, dev)
	null := k.dentry("null", droot, fs.S_IFCHR|0o666, 4)
	troot = k.dentry("/", 0, fs.S_IFDIR|0o1777, 1)
	tmnt = k.mount(troot, rmnt, tmp)
	x = k.dentry("x", troot, fs.S_IFREG|0o644, 5)
	gone = k.dentry("gone", troot, fs.S_IFREG|0o644, 6)
	k.u64(gone+0x28, 0)
	ops := func(fn uint64) uint64 {
		o := k.alloc(0x20)
		k.u64(o+0x10, fn)
		return o
	}
	pipeRoot := k.dentry("pipe:", 0, fs.S_IFDIR|0o600, 1)
	pipeMnt := k.mount(pipeRoot, 0, pipeRoot)
	pipe := k.dentry("", 0, fs.S_IFIFO|0o600, 1234)
	k.u64(pipe+0x20, ops(0xf100))
	sockRoot := k.dentry("socket:", 0, fs.S_IFDIR|0o600, 1)
	sockMnt := k.mount(sockRoot, 0, sockRoot)
	sock := k.dentry("", 0, fs.S_IFSOCK|0o777, 5678)
	k.u64(sock+0x20, ops(0xf200))
	anonRoot := k.dentry("anon_inode:", 0, fs.S_IFDIR|0o600, 1)
	anonMnt := k.mount(anonRoot, 0, anonRoot)
	ep := k.dentry("[eventpoll]", 0, fs.S_IFREG|0o600, 1)
	k.u64(ep+0x20, ops(0xf300))
	nsRoot := k.dentry("nsfs", 0, fs.S_IFDIR|0o600, 1)
	nsMnt := k.mount(nsRoot, 0, nsRoot)
	nsd := k.dentry("net:[4026531840]", 0, fs.S_IFREG|0o444, 4026531840)
	nsops := k.alloc(8)
	nsname := k.alloc(64)
	k.put(nsname, []byte("net\x00"))
	k.u64(nsops, nsname)
	k.u64(nsd+0x20, ops(0xf400))
	k.u64(nsd+0x30, nsops)

	files := []uint64{
		k.file(dmnt, null), 0, k.file(tmnt, x), k.file(pipeMnt, pipe), k.file(sockMnt, sock),
		k.file(anonMnt, ep), k.file(nsMnt, nsd), k.file(tmnt, gone), k.file(rmnt, dev), k.file(tmnt, 0),
	}
	task = k.alloc(0x10)
	fsst = k.alloc(0x30)
	k.u64(task+8, fsst)
	k.u64(fsst+0x10, rmnt)
	k.u64(fsst+0x18, rroot)
	k.u64(fsst+0x20, tmnt)
	k.u64(fsst+0x28, troot)
	fstruct := k.alloc(8)
	k.u64(task, fstruct)
	fdt := k.alloc(0x20)
	k.u64(fstruct, fdt)
	k.u32(fdt, 64)
	fdarr := k.alloc(64 * 8)
	for i, f := range files {
		k.u64(fdarr+uint64(i)*8, f)
	}
	k.u64(fdt+8, fdarr)
	bm := k.alloc(8)
	k.u64(bm, 1<<len(files)-1-1<<1|1<<40) // fd 1 closed, fd 40 open but NULL
	k.u64(fdt+0x18, bm)

	return
}

func TestTask(t *testing.T) {
	k, task, fsst, tmnt, troot, dmnt, x, gone := buildKernel()
	r, err := fs.New(k)
	if err != nil {
		t.Fatal(err)
	}
	tf, err := r.Task(task)
	if err != nil {
		t.Fatal(err)
	}
	if len(tf.Warnings) != 0 || tf.Root != "/" || tf.Cwd != "/tmp" || !tf.HasFiles || !tf.HasFS {
		t.Fatalf("%+v", tf)
	}
	want := []string{
		"0 CHR  /dev/null", "2 REG  /tmp/x", "3 FIFO pipe:[1234]", "4 SOCK socket:[5678]",
		"5 REG  anon_inode:[eventpoll]", "6 REG  net:[4026531840]", "7 REG  /tmp/gone (deleted)", "8 DIR  /dev", "9  ",
	}
	var got []string
	for _, f := range tf.Files {
		got = append(got, fmt.Sprintf("%d %s %s", f.FD, f.Type(), f.Path))
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("files\n got %q\nwant %q", got, want)
	}

	// A task chrooted into /tmp sees /tmp/x as /x.
	k.u64(fsst+0x10, tmnt)
	k.u64(fsst+0x18, troot)
	tf, err = r.Task(task)
	if err != nil || tf.Root != "/tmp" || tf.Cwd != "/" || tf.Files[1].Path != "/x" {
		t.Errorf("chroot: %v %+v", err, tf)
	}

	// A dentry loop ends with an error.
	k.u64(x, gone)
	k.u64(gone, x)
	if _, err := r.Path(x, tmnt, nil); err == nil {
		t.Error("loop: no error")
	}
	// A mount loop too.
	k.u64(x, troot)
	k.u64(tmnt-0x20, dmnt-0x20)
	k.u64(dmnt-0x20, tmnt-0x20)
	k.u64(dmnt-0x20+8, x)
	if p, err := r.Path(x, tmnt, nil); err == nil {
		t.Errorf("mount loop: %q", p)
	}
}

func TestTypeName(t *testing.T) {
	for m, w := range map[uint32]string{fs.S_IFREG: "REG ", fs.S_IFDIR | 0o755: "DIR ", fs.S_IFLNK: "LNK ", fs.S_IFBLK: "BLK ",
		fs.S_IFCHR: "CHR ", fs.S_IFIFO: "FIFO", fs.S_IFSOCK: "SOCK", 0: "UNKN"} {
		if g := fs.TypeName(m); g != w {
			t.Errorf("%o: %q, want %q", m, g, w)
		}
	}
}
