package commands

// files: a task's open files, as crash's cmd_files / open_files_dump /
// file_dump (filesys.c) print them.

import (
	"errors"
	"fmt"
	"io"
	"strconv"

	"kdive/internal/kernel/fs"
	"kdive/internal/kernel/tasks"
	"kdive/internal/program"
)

func init() {
	Register(&Command{
		Name:    "files",
		Summary: "open files",
		Usage:   filesSynopsis,
		Help: `  This command displays the root directory, the current working directory
  and the open files of each task given, in the format of crash's "files":

    FD      the file descriptor (a bit set in fdtable.open_fds)
    FILE    the struct file
    DENTRY  its f_path.dentry
    INODE   the dentry's d_inode
    TYPE    REG, DIR, CHR, BLK, FIFO, SOCK, LNK (from i_mode)
    PATH    the path as readlink(2) of /proc/PID/fd/FD shows it: across
            mount points up to the task's root, pipe:[ino], socket:[ino],
            anon_inode:[eventpoll], " (deleted)" for an unlinked file

      pid  a process id (decimal); every thread with that pid.
     task  a task_struct address (hexadecimal).
 -d dentry the inode, super block, type and path of a dentry.

  With no argument the task is the panic task.

EXAMPLE
    kdive> files 105
    PID: 105      TASK: ffff8a8701b63000  CPU: 1    COMMAND: "sh"
    ROOT: /    CWD: /
     FD       FILE            DENTRY           INODE       TYPE PATH
      0 ffff8a87019c6900 ffff8a8701a3a9c0 ffff8a8701a2c1d0 CHR  /dev/null`,
		Run: runFiles,
	})
}

const filesSynopsis = "[-d dentry] | [pid | taskp] ..."

func runFiles(env *Env, args []string) error {
	p := env.Prog
	if p == nil {
		return errors.New("no dump file")
	}
	opts, rest, err := getopt("files", args, "d:")
	if err != nil {
		writeUsage(env, "files", filesSynopsis)
		return err
	}
	r, err := fs.New(p)
	if err != nil {
		return err
	}
	for _, o := range opts {
		if o.c == 'd' {
			d, err := parseCrashHex(o.arg)
			if err != nil {
				return err
			}
			info, err := r.DentryInfo(d)
			if err != nil {
				return err
			}
			WriteDentry(env.Out, info)
			return nil
		}
	}
	tl, err := tasks.List(p, tasks.Options{})
	if err != nil {
		return err
	}
	byAddr := map[uint64]tasks.Task{}
	for _, t := range tl.Tasks {
		byAddr[t.Addr] = t
	}
	if len(rest) == 0 {
		run, err := tasks.Running(p, nil)
		if err != nil {
			return err
		}
		t, ok := panicTask(p, tl.Tasks, run)
		if !ok {
			return errors.New("no panic task: give a pid or task")
		}
		return filesOf(env, r, t, false, false)
	}
	var failed error
	for i, a := range rest {
		ts, err := findTasks(tl.Tasks, byAddr, a)
		if err != nil {
			fmt.Fprintf(env.Err, "files: %v\n", err)
			failed = err
			continue
		}
		for _, t := range ts {
			if err := filesOf(env, r, t, isCrashDecimal(a), i > 0); err != nil {
				return err
			}
		}
	}
	return failed
}

// panicTask is crash's current context in a dump: the task running on
// the CPU that panicked (panic_cpu), else CPU 0's running task.
func panicTask(p *program.Program, all []tasks.Task, running map[int]uint64) (tasks.Task, bool) {
	byAddr := map[uint64]tasks.Task{}
	for _, t := range all {
		byAddr[t.Addr] = t
	}
	cpu := 0
	if a, err := p.Symbol("panic_cpu"); err == nil {
		if v, err := p.ReadU32(a); err == nil {
			if _, ok := running[int(int32(v))]; ok {
				cpu = int(int32(v))
			}
		}
	}
	t, ok := byAddr[running[cpu]]
	return t, ok
}

// filesOf prints one task's files as crash does: its header (after a
// blank line for the second and later arguments), the table, and a blank
// line when the task was given by pid.
func filesOf(env *Env, r *fs.Reader, t tasks.Task, byPID, subsequent bool) error {
	tf, err := r.Task(t.Addr)
	if err != nil {
		return err
	}
	warnAll(env, "files", tf.Warnings)
	taskHeader(env.Out, t, subsequent)
	WriteFiles(env.Out, tf)
	if byPID {
		fmt.Fprintln(env.Out)
	}
	return nil
}

// WriteFiles prints crash's ROOT/CWD line and file table.
func WriteFiles(w io.Writer, tf *fs.TaskFiles) {
	if tf.HasFS {
		fmt.Fprintf(w, "ROOT: %s    CWD: %s\n", tf.Root, tf.Cwd)
	}
	if !tf.HasFiles || len(tf.Files) == 0 {
		fmt.Fprintln(w, "No open files")
		return
	}
	fmt.Fprintf(w, " FD %s %s %s TYPE PATH\n", mkCenter("FILE", 16, false), mkCenter("DENTRY", 16, false), mkCenter("INODE", 16, false))
	for _, f := range tf.Files {
		switch {
		case f.Dentry == 0:
			fmt.Fprintf(w, "%3d %16x %s %s ?    ?\n", f.FD, f.Addr, "0000000000000000", mkCenter("?", 16, false))
		case f.Inode == 0:
			fmt.Fprintf(w, "%3d %16x %16x %s ?    ?\n", f.FD, f.Addr, f.Dentry, "0000000000000000")
		default:
			fmt.Fprintf(w, "%3d %16x %16x %16x %s %s\n", f.FD, f.Addr, f.Dentry, f.Inode, f.Type(), f.Path)
		}
	}
}

// WriteDentry prints crash's files -d table.
func WriteDentry(w io.Writer, d *fs.Dentry) {
	fmt.Fprintf(w, "%s %s %s TYPE PATH\n", mkCenter("DENTRY", 16, false), mkCenter("INODE", 16, false), mkCenter("SUPERBLK", 16, false))
	typ := "N/A"
	if d.Inode != 0 {
		typ = fs.TypeName(d.Mode)
	}
	fmt.Fprintf(w, "%16x %16x %s %s %s\n", d.Addr, d.Inode, mkCenter(strconv.FormatUint(d.SuperBlock, 16), 16, false), typ, d.Path)
}
