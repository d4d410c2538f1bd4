#!/usr/bin/env python3
"""Cross-check an ext scenario's truth.txt against its vmcore.elf with drgn.

    drgn -c CORPUS-EXT/S/vmcore.elf -s CORPUS-EXT/vmlinux testdata/rig/check-ext-truth.py CORPUS-EXT/S/truth.txt

Checks (drgn 0.0.22 reads ELF dumps only): release and nodename, the thread
count (`tasks`) and every `task` line's pid and comm, the crashed thread
(`panic_pid`, `panic_comm`), the holder's open files (`holder_fd`), the
module's objects (magic values), and per scenario: the hung task in D state,
kdive-mt's threads, kdive-tcp's fds, the uaf objects' values (and C at the head
of a per-CPU kmalloc-1k freelist), the poisoned bytes, the leak list's length. Prints one line per check and exits non-zero on a mismatch.
"""
import sys

from drgn import Object
from drgn.helpers.linux.fs import d_path, for_each_file
from drgn.helpers.linux.list import list_for_each
from drgn.helpers.linux.percpu import per_cpu_ptr
from drgn.helpers.linux.pid import find_task, for_each_task
from drgn.helpers.linux.sched import task_state_to_char

MAGIC = 0x6B64697665657874  # "kdiveext"
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
    print("%-4s %-12s got %r want %r" % ("ok" if ok else "BAD", what, got, want))


def comm(t):
    return t.comm.string_().decode()


def fd_path(f):
    # drgn's d_path names a socket by its file system, /proc by socket:[INODE].
    p = d_path(f.f_path).decode()
    return "socket:[%d]" % f.f_inode.i_ino.value_() if p == "[sockfs]" else p


def same_comm(task, proc):
    # task->comm has 15 characters; /proc shows kthreads' full names and
    # workqueue workers with "-WORKQUEUE" appended.
    return task == proc or (len(task) == 15 and proc.startswith(task)) or proc.startswith(task + "-")


prog = globals()["prog"]
uts = prog["init_uts_ns"].name
check("release", uts.release.string_().decode(), truth["release"][0])
check("nodename", uts.nodename.string_().decode(), truth["nodename"][0])
tasks = {t.pid.value_(): t for t in for_each_task(prog)}
check("tasks", len(tasks), int(truth["tasks"][0]))
wrong = []
for v in truth["task"]:
    tgid, tid, ppid, st, c = v.split(None, 4)
    t = tasks.get(int(tid))
    if t is None or not same_comm(comm(t), c) or t.tgid.value_() != int(tgid):
        wrong.append(v)
check("task lines", wrong, [])
t = prog.crashed_thread()
check("panic_pid", t.tid, int(truth["panic_pid"][0]))
check("panic_comm", comm(t.object), truth["panic_comm"][0])
holder = find_task(prog, int(truth["holder_pid"][0]))
fds = ["%d %s" % (fd, d_path(f.f_path).decode()) for fd, f in for_each_file(holder)]
check("holder_fd", fds, truth["holder_fd"])
objs = {k: int(a, 16) for k, a in (o.split() for o in truth["object"])}
check("state", prog.read_u64(objs["state"]), MAGIC)
check("global", prog.read_u64(objs["global"]), MAGIC)

if "hung_pid" in truth:
    check("hung state", task_state_to_char(find_task(prog, int(truth["hung_pid"][0]))), "D")
if "mt_thread" in truth:
    got = sorted("%d %s" % (t.pid.value_(), comm(t)) for t in tasks.values() if t.tgid.value_() == int(truth["mt_tgid"][0]))
    check("mt threads", got, sorted(" ".join(v.split()[:2]) for v in truth["mt_thread"]))
if "tcp_fd" in truth:
    p = find_task(prog, int(truth["tcp_pid"][0]))
    got = sorted("%d %s" % (fd, fd_path(f)) for fd, f in for_each_file(p))
    check("tcp fds", got, sorted(truth["tcp_fd"]))
if "uaf_b" in objs:
    check("uaf_b magic", prog.read_u64(objs["uaf_b"]), int(truth["uaf_b_magic"][0], 16))
    check("uaf_b victim", prog.read_u64(objs["uaf_b"] + 16), int(truth["uaf_b_victim"][0], 16))
    # C was the last object freed: the head of its CPU's kmalloc-1k freelist.
    heads = []
    for row in prog["kmalloc_caches"]:
        for c in row:
            if c and c.name.string_() == b"kmalloc-1k":
                heads += [per_cpu_ptr(c.cpu_slab, cpu).freelist.value_() for cpu in range(int(truth["cpus"][0]))]
    check("uaf_c free", objs["uaf_c"] in heads, True)
if "poison_bad" in objs:
    off, n, byte = truth["poison_write"][0].split()
    check("poison bytes", prog.read(objs["poison_bad"] + int(off), int(n)), bytes([int(byte, 16)]) * int(n))
if "leak_count" in truth:
    # kdive_ext_global: magic, state, triggers, uaf_live, poison_cache,
    # poison_live, poison_bad, leak_cache, then leak_list (offset 64).
    head = Object(prog, "struct list_head", address=objs["global"] + 64).address_of_()
    check("leak list", sum(1 for _ in list_for_each(head)), int(truth["leak_count"][0]))
sys.exit(1 if bad else 0)
