// Package fs reads a crashed kernel's view of files: a task's open files
// (task->files->fdt: the fd[] array and the open_fds bitmap), each struct
// file's path, inode and type, and the task's root and working directory
// (task->fs->root, pwd).
//
// Paths are built as the kernel's d_path builds them for /proc/PID/fd:
// dentry names up to the mount's root, then across each mount point
// (struct mount, from the vfsmount by container_of; mnt_mountpoint,
// mnt_parent) up to the task's root or the root of the mount tree.
// Dentries whose filesystem names them dynamically (d_op->d_dname) are
// named as the kernel names them: pipe:[ino], socket:[ino],
// anon_inode:[eventpoll], net:[ino] (nsfs), "/memfd:x (deleted)"; an
// unhashed dentry gets " (deleted)". Every walk is bounded.
package fs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"kdive/internal/kernel/kread"
)

// Source is what the reader needs; *program.Program satisfies it.
type Source interface {
	ReadAt(b []byte, addr uint64) (int, error)
	Symbol(name string) (uint64, error)
	MemberOffset(typ, member string) (uint64, error)
	MemberSize(typ, member string) (uint64, error)
}

// Caps.
const (
	MaxFDs       = 1 << 20
	maxDepth     = 4096 // path components and mount crossings
	maxNameLen   = 4096
	maxPathBytes = 1 << 16
)

// File mode types (S_IFMT bits of i_mode).
const (
	S_IFMT   = 0o170000
	S_IFSOCK = 0o140000
	S_IFLNK  = 0o120000
	S_IFREG  = 0o100000
	S_IFBLK  = 0o060000
	S_IFDIR  = 0o040000
	S_IFCHR  = 0o020000
	S_IFIFO  = 0o010000
)

// TypeName is crash's four-character type of an i_mode: "REG ", "DIR ",
// "CHR ", "BLK ", "FIFO", "SOCK", "LNK " or "UNKN".
func TypeName(mode uint32) string {
	switch mode & S_IFMT {
	case S_IFREG:
		return "REG "
	case S_IFLNK:
		return "LNK "
	case S_IFDIR:
		return "DIR "
	case S_IFCHR:
		return "CHR "
	case S_IFBLK:
		return "BLK "
	case S_IFIFO:
		return "FIFO"
	case S_IFSOCK:
		return "SOCK"
	}
	return "UNKN"
}

// File is one open file descriptor.
type File struct {
	FD     int
	Addr   uint64 // struct file *
	Dentry uint64 // f_path.dentry
	Mnt    uint64 // f_path.mnt (struct vfsmount *)
	Inode  uint64 // dentry->d_inode (0 for a negative dentry)
	Mode   uint32 // inode->i_mode
	Ino    uint64 // inode->i_ino
	Path   string // as readlink(/proc/PID/fd/FD) shows it
	// Mapping is inode->i_mapping, NrPages its nrpages (page cache pages).
	Mapping, NrPages uint64
}

// Type is crash's type column for the file ("" when there is no inode).
func (f *File) Type() string {
	if f.Inode == 0 {
		return ""
	}
	return TypeName(f.Mode)
}

// TaskFiles is what `files` shows of a task.
type TaskFiles struct {
	HasFS                 bool   // task->fs is set
	Root, Cwd             string // paths of fs->root and fs->pwd
	RootDentry, CwdDentry uint64
	RootInode, CwdInode   uint64
	// HasFiles is false when the task has no files_struct or fdtable (an
	// exited task or a kernel thread without one): crash's "No open files".
	HasFiles bool
	MaxFDs   int
	Files    []File
	Warnings []string
}

// Reader reads files and paths; make one with New.
type Reader struct {
	src Source
	o   offsets
	// dname maps the address of each d_dname function kdive knows to
	// its kind.
	dname map[uint64]string
	warns []string
	mem   *kread.Budget // this call's reads (reset at each entry point)
}

type offsets struct {
	taskFiles, taskFS                     uint64
	filesFdt, fdtMaxFDs, fdtFd, fdtOpen   uint64
	fileDentry, fileMnt                   uint64
	fsRoot, fsPwd, pathDentry, pathMnt    uint64
	dParent, dName, qstrLen, qstrName     uint64
	dInode, dOp, dHashPprev, dFsdata      uint64
	dopDname                              uint64
	iMode, iIno, iMapping, asNrpages      uint64
	hasMapping                            bool
	mountMnt, mntParent, mntMountpoint    uint64
	vfsRoot                               uint64
	nsOpsName                             uint64
	hasNsOps, hasDOp, hasDHash, hasFsdata bool
}

// New resolves the offsets the reader needs.
func New(src Source) (*Reader, error) {
	r := &Reader{src: src}
	var err error
	get := func(typ, m string) uint64 {
		if err != nil {
			return 0
		}
		v, e := src.MemberOffset(typ, m)
		if e != nil {
			err = fmt.Errorf("fs: %s.%s: %w", typ, m, e)
		}
		return v
	}
	o := &r.o
	o.taskFiles = get("task_struct", "files")
	o.taskFS = get("task_struct", "fs")
	o.filesFdt = get("files_struct", "fdt")
	o.fdtMaxFDs = get("fdtable", "max_fds")
	o.fdtFd = get("fdtable", "fd")
	o.fdtOpen = get("fdtable", "open_fds")
	o.fileDentry = get("file", "f_path.dentry")
	o.fileMnt = get("file", "f_path.mnt")
	o.fsRoot = get("fs_struct", "root")
	o.fsPwd = get("fs_struct", "pwd")
	o.pathDentry = get("path", "dentry")
	o.pathMnt = get("path", "mnt")
	o.dParent = get("dentry", "d_parent")
	o.dName = get("dentry", "d_name")
	o.qstrLen = get("qstr", "len")
	o.qstrName = get("qstr", "name")
	o.dInode = get("dentry", "d_inode")
	o.iMode = get("inode", "i_mode")
	o.iIno = get("inode", "i_ino")
	o.mountMnt = get("mount", "mnt")
	o.mntParent = get("mount", "mnt_parent")
	o.mntMountpoint = get("mount", "mnt_mountpoint")
	o.vfsRoot = get("vfsmount", "mnt_root")
	if err != nil {
		return nil, err
	}
	opt := func(typ, m string, ok *bool) uint64 {
		v, e := src.MemberOffset(typ, m)
		*ok = e == nil
		return v
	}
	var ok1, ok2 bool
	o.dOp = opt("dentry", "d_op", &ok1)
	o.dopDname = opt("dentry_operations", "d_dname", &ok2)
	o.hasDOp = ok1 && ok2
	o.dHashPprev = opt("dentry", "d_hash.pprev", &o.hasDHash)
	o.dFsdata = opt("dentry", "d_fsdata", &o.hasFsdata)
	o.nsOpsName = opt("proc_ns_operations", "name", &o.hasNsOps)
	var okm1, okm2 bool
	o.iMapping = opt("inode", "i_mapping", &okm1)
	o.asNrpages = opt("address_space", "nrpages", &okm2)
	o.hasMapping = okm1 && okm2
	r.dname = map[uint64]string{}
	for _, n := range []string{"pipefs_dname", "sockfs_dname", "anon_inodefs_dname", "simple_dname", "ns_dname"} {
		if a, e := src.Symbol(n); e == nil && a != 0 {
			r.dname[a] = n
		}
	}
	return r, nil
}

// MaxReads bounds the memory reads of one Task, File, Path or DentryInfo
// call (a real task needs a few per path component). Tests may lower it.
var MaxReads = 1 << 22

// resetBudget starts a call's read budget: MaxReads reads, then a
// *kread.BudgetError (garbage that looks like an endless table or path).
func (r *Reader) resetBudget() { r.mem = kread.NewBudget(r.src, "fs", MaxReads) }

// budget is the current call's budgeted reader.
func (r *Reader) budget() *kread.Budget {
	if r.mem == nil {
		r.resetBudget()
	}
	return r.mem
}

func (r *Reader) read(b []byte, addr uint64) (int, error) { return r.budget().ReadAt(b, addr) }
func (r *Reader) u64(addr uint64) (uint64, error)         { return kread.U64(r.budget(), addr) }
func (r *Reader) u32(addr uint64) (uint32, error)         { return kread.U32(r.budget(), addr) }

func (r *Reader) warn(format string, a ...any) {
	(*kread.Warnings)(&r.warns).Add(format, a...)
}

func (r *Reader) cstring(addr uint64, max int) (string, error) {
	var out []byte
	buf := make([]byte, 64)
	for len(out) < max {
		n := 64 - int(addr%64)
		if n > max-len(out) {
			n = max - len(out)
		}
		if _, err := r.read(buf[:n], addr); err != nil {
			return string(out), err
		}
		for i := 0; i < n; i++ {
			if buf[i] == 0 {
				return string(append(out, buf[:i]...)), nil
			}
		}
		out = append(out, buf[:n]...)
		addr += uint64(n)
	}
	return string(out), nil
}

// name returns a dentry's d_name.
func (r *Reader) name(dentry uint64) (string, error) {
	o := &r.o
	n, err := r.u32(dentry + o.dName + o.qstrLen)
	if err != nil {
		return "", err
	}
	p, err := r.u64(dentry + o.dName + o.qstrName)
	if err != nil {
		return "", err
	}
	if p == 0 {
		return "", fmt.Errorf("dentry %#x: NULL d_name", dentry)
	}
	if n > maxNameLen {
		return "", fmt.Errorf("dentry %#x: d_name length %d", dentry, n)
	}
	b := make([]byte, n)
	if n > 0 {
		if _, err := r.read(b, p); err != nil {
			return "", err
		}
	}
	return string(b), nil
}

// Root is a path walk's stopping point: a task's fs->root.
type Root struct{ Dentry, Mnt uint64 }

// Path returns the path of dentry in the mount vfsmnt, as d_path shows it
// to a task whose root is root (nil: the root of the mount tree).
func (r *Reader) Path(dentry, vfsmnt uint64, root *Root) (string, error) {
	r.resetBudget()
	return r.path(dentry, vfsmnt, root)
}

func (r *Reader) path(dentry, vfsmnt uint64, root *Root) (string, error) {
	o := &r.o
	if dentry == 0 {
		return "", errors.New("fs: NULL dentry")
	}
	parent, err := r.u64(dentry + o.dParent)
	if err != nil {
		return "", err
	}
	var mntRoot uint64
	if vfsmnt != 0 {
		if mntRoot, err = r.u64(vfsmnt + o.vfsRoot); err != nil {
			return "", err
		}
	}
	// Dynamic names (d_path: d_op->d_dname, unless the dentry is its
	// mount's root).
	if o.hasDOp && (parent != dentry || dentry != mntRoot) {
		if s, ok := r.dynName(dentry); ok {
			return s, nil
		}
	}
	var parts []string
	deleted := false
	if o.hasDHash && parent != dentry {
		if pp, err := r.u64(dentry + o.dHashPprev); err == nil && pp == 0 {
			deleted = true
		}
	}
	seen := map[[2]uint64]bool{}
	total := 0
	for i := 0; ; i++ {
		if i > maxDepth || seen[[2]uint64{dentry, vfsmnt}] {
			return "", fmt.Errorf("fs: path of %#x: loop or too deep", dentry)
		}
		seen[[2]uint64{dentry, vfsmnt}] = true
		if root != nil && dentry == root.Dentry && vfsmnt == root.Mnt {
			break
		}
		parent, err := r.u64(dentry + o.dParent)
		if err != nil {
			return "", err
		}
		if vfsmnt != 0 {
			if mntRoot, err = r.u64(vfsmnt + o.vfsRoot); err != nil {
				return "", err
			}
		}
		if (vfsmnt != 0 && dentry == mntRoot) || parent == dentry {
			if vfsmnt == 0 {
				break
			}
			mnt := vfsmnt - o.mountMnt
			mp, err := r.u64(mnt + o.mntParent)
			if err != nil {
				return "", err
			}
			if mp == mnt || mp == 0 {
				break // the root of the mount tree
			}
			if dentry, err = r.u64(mnt + o.mntMountpoint); err != nil {
				return "", err
			}
			vfsmnt = mp + o.mountMnt
			continue
		}
		n, err := r.name(dentry)
		if err != nil {
			return "", err
		}
		total += len(n) + 1
		if total > maxPathBytes {
			return "", fmt.Errorf("fs: path of %#x: too long", dentry)
		}
		parts = append(parts, n)
		dentry = parent
	}
	var sb strings.Builder
	for i := len(parts) - 1; i >= 0; i-- {
		sb.WriteByte('/')
		sb.WriteString(parts[i])
	}
	s := sb.String()
	if s == "" {
		s = "/"
	}
	if deleted {
		s += " (deleted)"
	}
	return s, nil
}

// dynName names a dentry as its d_op->d_dname would.
func (r *Reader) dynName(dentry uint64) (string, bool) {
	o := &r.o
	op, err := r.u64(dentry + o.dOp)
	if err != nil || op == 0 {
		return "", false
	}
	fn, err := r.u64(op + o.dopDname)
	if err != nil || fn == 0 {
		return "", false
	}
	kind, ok := r.dname[fn]
	if !ok {
		return "", false
	}
	ino := func() (uint64, bool) {
		in, err := r.u64(dentry + o.dInode)
		if err != nil || in == 0 {
			return 0, false
		}
		v, err := r.u64(in + o.iIno)
		return v, err == nil
	}
	switch kind {
	case "pipefs_dname", "sockfs_dname":
		i, ok := ino()
		if !ok {
			return "", false
		}
		prefix := "pipe"
		if kind == "sockfs_dname" {
			prefix = "socket"
		}
		return fmt.Sprintf("%s:[%d]", prefix, i), true
	case "anon_inodefs_dname":
		n, err := r.name(dentry)
		if err != nil {
			return "", false
		}
		return "anon_inode:" + n, true
	case "simple_dname":
		n, err := r.name(dentry)
		if err != nil {
			return "", false
		}
		return "/" + n + " (deleted)", true
	case "ns_dname":
		if !o.hasFsdata || !o.hasNsOps {
			return "", false
		}
		ops, err := r.u64(dentry + o.dFsdata)
		if err != nil || ops == 0 {
			return "", false
		}
		np, err := r.u64(ops + o.nsOpsName)
		if err != nil {
			return "", false
		}
		n, err := r.cstring(np, 64)
		if err != nil {
			return "", false
		}
		i, ok := ino()
		if !ok {
			return "", false
		}
		return fmt.Sprintf("%s:[%d]", n, i), true
	}
	return "", false
}

// inode reads d_inode and, when set, its i_mode and i_ino.
func (r *Reader) inode(dentry uint64) (inode uint64, mode uint32, ino uint64, err error) {
	o := &r.o
	if inode, err = r.u64(dentry + o.dInode); err != nil || inode == 0 {
		return inode, 0, 0, err
	}
	var b [2]byte
	if _, err = r.read(b[:], inode+o.iMode); err != nil {
		return inode, 0, 0, err
	}
	mode = uint32(binary.LittleEndian.Uint16(b[:]))
	ino, err = r.u64(inode + o.iIno)
	return inode, mode, ino, err
}

// File reads one struct file; fd is only recorded. Its path is relative to
// root (nil: the mount tree's root).
func (r *Reader) File(file uint64, fd int, root *Root) (File, error) {
	r.resetBudget()
	return r.file(file, fd, root)
}

func (r *Reader) file(file uint64, fd int, root *Root) (File, error) {
	o := &r.o
	f := File{FD: fd, Addr: file}
	var err error
	if f.Dentry, err = r.u64(file + o.fileDentry); err != nil {
		return f, err
	}
	if f.Mnt, err = r.u64(file + o.fileMnt); err != nil {
		return f, err
	}
	if f.Dentry == 0 {
		return f, nil
	}
	if f.Inode, f.Mode, f.Ino, err = r.inode(f.Dentry); err != nil {
		return f, err
	}
	if f.Inode != 0 && o.hasMapping {
		if f.Mapping, err = r.u64(f.Inode + o.iMapping); err == nil && f.Mapping != 0 {
			f.NrPages, _ = r.u64(f.Mapping + o.asNrpages)
		}
	}
	f.Path, err = r.path(f.Dentry, f.Mnt, root)
	return f, err
}

// Dentry describes a dentry for `files -d`.
type Dentry struct {
	Addr, Inode, SuperBlock uint64
	Mode                    uint32
	Path                    string
}

// Task reads the root, working directory and open files of the task_struct
// at task.
func (r *Reader) Task(task uint64) (*TaskFiles, error) {
	o := &r.o
	r.warns = nil
	r.resetBudget()
	tf := &TaskFiles{}
	fsp, err := r.u64(task + o.taskFS)
	if err != nil {
		return nil, fmt.Errorf("fs: task %#x: fs: %w", task, err)
	}
	var root *Root
	if fsp != 0 {
		tf.HasFS = true
		rd, err1 := r.u64(fsp + o.fsRoot + o.pathDentry)
		rm, err2 := r.u64(fsp + o.fsRoot + o.pathMnt)
		pd, err3 := r.u64(fsp + o.fsPwd + o.pathDentry)
		pm, err4 := r.u64(fsp + o.fsPwd + o.pathMnt)
		if err := errors.Join(err1, err2, err3, err4); err != nil {
			return nil, fmt.Errorf("fs: task %#x: fs_struct %#x: %w", task, fsp, err)
		}
		tf.RootDentry, tf.CwdDentry = rd, pd
		if rd != 0 {
			root = &Root{rd, rm}
			if tf.Root, err = r.path(rd, rm, nil); err != nil {
				r.warn("fs: root of task %#x: %v", task, err)
			}
			tf.RootInode, _, _, _ = r.inode(rd)
		}
		if pd != 0 {
			if tf.Cwd, err = r.path(pd, pm, root); err != nil {
				r.warn("fs: cwd of task %#x: %v", task, err)
			}
			tf.CwdInode, _, _, _ = r.inode(pd)
		}
	}
	files, err := r.u64(task + o.taskFiles)
	if err != nil {
		return nil, fmt.Errorf("fs: task %#x: files: %w", task, err)
	}
	if files == 0 {
		tf.Warnings = r.warns
		return tf, nil
	}
	fdt, err := r.u64(files + o.filesFdt)
	if err != nil {
		return nil, fmt.Errorf("fs: files_struct %#x: fdt: %w", files, err)
	}
	if fdt == 0 {
		tf.Warnings = r.warns
		return tf, nil
	}
	max, err := r.u32(fdt + o.fdtMaxFDs)
	if err != nil {
		return nil, fmt.Errorf("fs: fdtable %#x: %w", fdt, err)
	}
	if max == 0 {
		tf.Warnings = r.warns
		return tf, nil
	}
	if max > MaxFDs {
		r.warn("fs: fdtable %#x: max_fds %d, reading the first %d", fdt, max, MaxFDs)
		max = MaxFDs
	}
	tf.HasFiles, tf.MaxFDs = true, int(max)
	fdArr, err1 := r.u64(fdt + o.fdtFd)
	openp, err2 := r.u64(fdt + o.fdtOpen)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("fs: fdtable %#x: %w", fdt, err)
	}
	if fdArr == 0 || openp == 0 {
		tf.Warnings = r.warns
		return tf, nil
	}
	words := (int(max) + 63) / 64
	bm := make([]byte, words*8)
	if _, err := r.read(bm, openp); err != nil {
		return nil, fmt.Errorf("fs: fdtable %#x: open_fds: %w", fdt, err)
	}
	for w := 0; w < words; w++ {
		set := binary.LittleEndian.Uint64(bm[w*8:])
		for b := 0; set != 0 && b < 64; b, set = b+1, set>>1 {
			if set&1 == 0 {
				continue
			}
			fd := w*64 + b
			if fd >= int(max) {
				break
			}
			file, err := r.u64(fdArr + uint64(fd)*8)
			if err != nil {
				r.warn("fs: fd %d: %v", fd, err)
				continue
			}
			if file == 0 {
				continue
			}
			f, err := r.file(file, fd, root)
			if err != nil {
				r.warn("fs: fd %d (file %#x): %v", fd, file, err)
			}
			tf.Files = append(tf.Files, f)
		}
	}
	tf.Warnings = r.warns
	return tf, nil
}

// DentryInfo describes a dentry: its inode, super block, type and path.
// The path is taken in the first mount of the super block (s_mounts),
// from the root of the mount tree.
func (r *Reader) DentryInfo(dentry uint64) (*Dentry, error) {
	o := &r.o
	r.resetBudget()
	d := &Dentry{Addr: dentry}
	var err error
	if d.Inode, d.Mode, _, err = r.inode(dentry); err != nil {
		return nil, fmt.Errorf("fs: dentry %#x: %w", dentry, err)
	}
	if d.Inode != 0 {
		off, err := r.src.MemberOffset("inode", "i_sb")
		if err != nil {
			return nil, err
		}
		if d.SuperBlock, err = r.u64(d.Inode + off); err != nil {
			return nil, err
		}
	} else {
		off, err := r.src.MemberOffset("dentry", "d_sb")
		if err != nil {
			return nil, err
		}
		if d.SuperBlock, err = r.u64(dentry + off); err != nil {
			return nil, err
		}
	}
	if d.SuperBlock == 0 {
		return d, nil
	}
	var vfsmnt uint64
	sm, e1 := r.src.MemberOffset("super_block", "s_mounts")
	mi, e2 := r.src.MemberOffset("mount", "mnt_instance")
	if e1 == nil && e2 == nil {
		// As crash, a mount in init's mount namespace (init_nsproxy's
		// mnt_ns; devtmpfs, say, is also mounted in kdevtmpfs's own
		// namespace and internally), else one attached to a parent, else
		// the first.
		var initNS uint64
		if ip, err := r.src.Symbol("init_nsproxy"); err == nil {
			if off, err := r.src.MemberOffset("nsproxy", "mnt_ns"); err == nil {
				initNS, _ = r.u64(ip + off)
			}
		}
		nsOff, nsErr := r.src.MemberOffset("mount", "mnt_ns")
		var first, attached, inInit uint64
		head := d.SuperBlock + sm
		seen := map[uint64]bool{head: true}
		for node, i := head, 0; i < 1024 && inInit == 0; i++ {
			next, err := r.u64(node)
			if err != nil || next == 0 || seen[next] {
				break
			}
			seen[next] = true
			mnt := next - mi
			if first == 0 {
				first = mnt + o.mountMnt
			}
			if par, err := r.u64(mnt + o.mntParent); attached == 0 && err == nil && par != mnt && par != 0 {
				attached = mnt + o.mountMnt
			}
			if nsErr == nil && initNS != 0 {
				if ns, err := r.u64(mnt + nsOff); err == nil && ns == initNS {
					inInit = mnt + o.mountMnt
				}
			}
			node = next
		}
		switch {
		case inInit != 0:
			vfsmnt = inInit
		case attached != 0:
			vfsmnt = attached
		default:
			vfsmnt = first
		}
	}
	if d.Path, err = r.path(dentry, vfsmnt, nil); err != nil {
		return nil, err
	}
	return d, nil
}
