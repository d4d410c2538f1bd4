package commands

// files: a task's open files, as crash's cmd_files / open_files_dump /
// file_dump (filesys.c) print them.

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

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
 -R ref    only the files that reference ref: a file descriptor, a file,
           dentry or inode address, a type (REG, DIR, ...) or a part of
           the path; the task is shown only when something matches.
       -c  the inode, its i_mapping and the number of pages it caches
           (address_space.nrpages) instead of FILE and DENTRY.

  With no argument the task is the current context (the panic task
  unless another was chosen with set).

EXAMPLE
    kdive> files 105
    PID: 105      TASK: ffff8a8702291800  CPU: 0    COMMAND: "sleep"
    ROOT: /    CWD: /
     FD       FILE            DENTRY           INODE       TYPE PATH
      0 ffff8a870212c700 ffff8a87015540c0 ffff8a87011e4090 CHR  /dev/null
      1 ffff8a870212c500 ffff8a8701fffe40 ffff8a87011e7190 CHR  /dev/console
      2 ffff8a870212c500 ffff8a8701fffe40 ffff8a87011e7190 CHR  /dev/console
      3 ffff8a870212c600 ffff8a8702536480 ffff8a87025313c0 REG  /proc/version
      4 ffff8a870212c000 ffff8a8702536900 ffff8a8702270fe0 REG  /tmp/holder/out.txt
      5 ffff8a870212cc00 ffff8a87024000c0 ffff8a87011e6e80 REG  /init`,
		Run: runFiles,
	})
}

const filesSynopsis = "[-d dentry] | [-R reference] [-c] [pid | taskp] ..."

func runFiles(env *Env, args []string) error {
	p := env.Prog
	if p == nil {
		return errors.New("no dump file")
	}
	opts, rest, err := getopt("files", args, "d:R:c")
	if err != nil {
		writeUsage(env, "files", filesSynopsis)
		return err
	}
	r, err := fs.New(p)
	if err != nil {
		return err
	}
	fo := &filesOpts{}
	for _, o := range opts {
		switch o.c {
		case 'd':
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
		case 'R':
			if fo.ref != nil {
				writeUsage(env, "files", filesSynopsis)
				return errors.New("only one -R option allowed")
			}
			fo.ref = &filesRef{str: o.arg}
		case 'c':
			fo.nrpages = true
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
		run, err := activeSet(p)
		if err != nil {
			return err
		}
		t, ok := currentTask(p, tl.Tasks, run)
		if !ok {
			return errors.New("no panic task: give a pid or task")
		}
		return filesOf(env, r, t, fo, false, false)
	}
	var failed error
	for i, a := range rest {
		ts, err := findTasks(tl.Tasks, byAddr, a)
		if err != nil {
			// Each bad argument is reported, the last as the command's
			// error (printed once by the caller), and the others go on.
			if failed != nil {
				fmt.Fprintf(env.Err, "files: %v\n", failed)
			}
			failed = err
			continue
		}
		for _, t := range ts {
			if err := filesOf(env, r, t, fo, isCrashDecimal(a), i > 0); err != nil {
				return err
			}
		}
	}
	return failed
}

// filesOpts are the options of a files run.
type filesOpts struct {
	ref     *filesRef // -R
	nrpages bool      // -c
}

// filesRef is crash's -R reference: a file descriptor number, a file,
// dentry or inode address, a type, or a part of a path.
type filesRef struct{ str string }

// component is crash's FILENAME_COMPONENT: path contains ref, or both
// are "/".
func (f *filesRef) component(path string) bool {
	return (path == "/" && f.str == "/") || (f.str != "/" && strings.Contains(path, f.str))
}

// matches is crash's open_file_reference on one file line.
func (f *filesRef) matches(fl *fs.File, maxFDs int) bool {
	s := f.str
	if isCrashDecimal(s) || isCrashHex(s) {
		var hexval, decval uint64
		hex, dec := false, false
		if crashHexOnly(s) {
			hexval, _ = parseCrashHex(s)
			hex = true
		} else if v, _ := parseCrashDecimal(s); v <= uint64(maxFDs) {
			decval, dec = v, true
		} else {
			hexval, _ = parseCrashHex(s)
			hex = true
		}
		fd := uint64(fl.FD)
		if (hex && fd == hexval) || (dec && fd == decval) {
			return true
		}
		if hex {
			for _, a := range []uint64{fl.Addr, fl.Dentry, fl.Inode} {
				if a != 0 && a == hexval {
					return true
				}
			}
		}
	}
	if fl.Inode == 0 {
		return s == "?"
	}
	return strings.TrimSpace(fl.Type()) == s || (fl.Path != "" && f.component(fl.Path))
}

// crashHexOnly is crash's hexadecimal_only: hex digits with at least one
// letter a-f or an x.
func crashHexOnly(s string) bool {
	letters := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
		case c >= 'a' && c <= 'f', c >= 'A' && c <= 'F', c == 'x', c == 'X':
			letters++
		case c == ' ' && i == len(s)-1:
		default:
			return false
		}
	}
	return letters > 0
}

// panicTask is crash's current context in a dump: the task running on
// the CPU that panicked (panic_cpu), else CPU 0's running task.
//
// The panic task is the dump's: running may be an active set with `set -a`
// marks in it, which do not change the panic task (crash keeps
// tt->panic_task), so with marks the run queues are read again.
func panicTask(p *program.Program, all []tasks.Task, running map[int]uint64) (tasks.Task, bool) {
	if p.ActiveTaskMarks() != nil {
		if r, err := tasks.Running(p, nil); err == nil {
			running = r
		}
	}
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
// line when the task was given by pid. With -R, only the matching lines,
// under the header, when anything matches.
func filesOf(env *Env, r *fs.Reader, t tasks.Task, fo *filesOpts, byPID, subsequent bool) error {
	tf, err := r.Task(t.Addr)
	if err != nil {
		return err
	}
	warnAll(env, "files", tf.Warnings)
	if fo.ref == nil {
		taskHeader(env.Out, t, subsequent)
		WriteFiles(env.Out, tf, fo.nrpages)
	} else {
		writeFilesRef(env.Out, t, tf, fo)
	}
	if byPID {
		fmt.Fprintln(env.Out)
	}
	return nil
}

// WriteFiles prints crash's ROOT/CWD line and file table (nrpages: the
// INODE, I_MAPPING and NRPAGES columns of files -c).
func WriteFiles(w io.Writer, tf *fs.TaskFiles, nrpages bool) {
	if tf.HasFS {
		fmt.Fprintf(w, "ROOT: %s    CWD: %s\n", tf.Root, tf.Cwd)
	}
	if !tf.HasFiles || len(tf.Files) == 0 {
		fmt.Fprintln(w, "No open files")
		return
	}
	fmt.Fprint(w, filesHeader(nrpages))
	for i := range tf.Files {
		fmt.Fprint(w, fileLine(&tf.Files[i], nrpages))
	}
}

func filesHeader(nrpages bool) string {
	if nrpages {
		return fmt.Sprintf(" FD %s %s NRPAGES TYPE PATH\n", mkCenter("INODE", 16, false), mkCenter("I_MAPPING", 16, false))
	}
	return fmt.Sprintf(" FD %s %s %s TYPE PATH\n", mkCenter("FILE", 16, false), mkCenter("DENTRY", 16, false), mkCenter("INODE", 16, false))
}

// fileLine is crash's file_dump line for one descriptor.
func fileLine(f *fs.File, nrpages bool) string {
	switch {
	case f.Dentry == 0:
		return fmt.Sprintf("%3d %16x %s %s ?    ?\n", f.FD, f.Addr, "0000000000000000", mkCenter("?", 16, false))
	case f.Inode == 0:
		return fmt.Sprintf("%3d %16x %16x %s ?    ?\n", f.FD, f.Addr, f.Dentry, "0000000000000000")
	case nrpages:
		return fmt.Sprintf("%3d %16x %16x %7d %s %s\n", f.FD, f.Inode, f.Mapping, f.NrPages, f.Type(), f.Path)
	}
	return fmt.Sprintf("%3d %16x %16x %16x %s %s\n", f.FD, f.Addr, f.Dentry, f.Inode, f.Type(), f.Path)
}

// writeFilesRef is open_files_dump with a reference: the task header and
// "ROOT: ...    CWD: ... " (crash's trailing blank) once something
// matches, the table header before the first matching file, and a blank
// line after it all.
func writeFilesRef(w io.Writer, t tasks.Task, tf *fs.TaskFiles, fo *filesOpts) {
	found, rootPrinted, headerPrinted := false, false, false
	rootPwd := fmt.Sprintf("ROOT: %s    CWD: %s \n", tf.Root, tf.Cwd)
	if tf.HasFS && (fo.ref.component(tf.Root) || fo.ref.component(tf.Cwd)) {
		taskHeader(w, t, false)
		fmt.Fprint(w, rootPwd)
		rootPrinted, found = true, true
	}
	for i := range tf.Files {
		f := &tf.Files[i]
		if !fo.ref.matches(f, tf.MaxFDs) {
			continue
		}
		if !rootPrinted {
			taskHeader(w, t, false)
			fmt.Fprint(w, rootPwd)
			rootPrinted = true
		}
		if !headerPrinted {
			fmt.Fprint(w, filesHeader(fo.nrpages))
			headerPrinted = true
		}
		fmt.Fprint(w, fileLine(f, fo.nrpages))
		found = true
	}
	if found {
		fmt.Fprintln(w)
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
