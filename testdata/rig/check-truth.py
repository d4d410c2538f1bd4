#!/usr/bin/env python3
"""Cross-check a scenario's truth.txt against its vmcore.elf with drgn.

    drgn -c CORPUS/S/vmcore.elf -s CORPUS/vmlinux testdata/rig/check-truth.py CORPUS/S/truth.txt

Checks (drgn 0.0.22 reads ELF dumps only): the thread count (`tasks`), the
crashed thread (`panic_pid`, `panic_comm`), the holder's open files
(`holder_fd`), the release and nodename, and the module's objects (magic
values). Prints one line per check and exits non-zero on a mismatch.
"""
import sys

from drgn.helpers.linux.fs import d_path, for_each_file
from drgn.helpers.linux.pid import find_task, for_each_task

MAGIC = 0x6B64697665726967
truth = {}
for line in open(sys.argv[1]):
    f = line.split(None, 2)
    if len(f) >= 2 and f[0] == "TRUTH":
        truth.setdefault(f[1], []).append(f[2].strip() if len(f) > 2 else "")

bad = 0


def check(what, got, want):
    global bad
    ok = got == want
    bad += not ok
    print("%-4s %-10s got %r want %r" % ("ok" if ok else "BAD", what, got, want))


prog = globals()["prog"]
uts = prog["init_uts_ns"].name
check("release", uts.release.string_().decode(), truth["release"][0])
check("nodename", uts.nodename.string_().decode(), truth["nodename"][0])
check("tasks", sum(1 for _ in for_each_task(prog)), int(truth["tasks"][0]))
t = prog.crashed_thread()
check("panic_pid", t.tid, int(truth["panic_pid"][0]))
check("panic_comm", t.object.comm.string_().decode(), truth["panic_comm"][0])
holder = find_task(prog, int(truth["holder_pid"][0]))
fds = ["%d %s" % (fd, d_path(f.f_path).decode()) for fd, f in for_each_file(holder)]
check("holder_fd", fds, truth["holder_fd"])
objs = dict(o.split() for o in truth["object"])
check("state", prog.read_u64(int(objs["state"], 16)), MAGIC)
check("global", prog.read_u64(int(objs["global"], 16)), MAGIC)
check("vbuf[3]", prog.read_u64(int(objs["vbuf"], 16) + 24), MAGIC ^ 3)
sys.exit(1 if bad else 0)
