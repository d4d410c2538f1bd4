# drgn's counterpart of `crash -s VMLINUX DUMP` + `sys` for bench/run.sh:
#   drgn -q -c DUMP -s VMLINUX bench/drgn_sys.py
# It reads what sys shows (utsname, CPUs, uptime, load average, task count,
# memory, date) from the dump through the vmlinux's types. Exit status 1 if
# anything could not be read.
import sys

from drgn.helpers.linux.cpumask import for_each_online_cpu
from drgn.helpers.linux.pid import for_each_task

failed = []


def show(label, fn):
    try:
        v = fn()
    except Exception as e:  # noqa: BLE001 -- report and go on, as sys does
        failed.append(label)
        v = "(error: %s: %s)" % (type(e).__name__, e)
    print("%12s: %s" % (label, v))


uts = lambda f: prog["init_uts_ns"].name.member_(f).string_().decode()  # noqa: E731,F821
show("CPUS", lambda: len(list(for_each_online_cpu(prog))))  # noqa: F821
show("DATE", lambda: int(prog["tk_core"].timekeeper.xtime_sec))  # noqa: F821
show("UPTIME (s)", lambda: (int(prog["jiffies_64"]) + 300 * 250) // 250 % (1 << 32))  # noqa: F821
show("LOAD AVERAGE", lambda: ", ".join("%.2f" % (int(x) / 2048) for x in prog["avenrun"]))  # noqa: F821
show("TASKS", lambda: sum(1 for _ in for_each_task(prog)))  # noqa: F821
show("NODENAME", lambda: uts("nodename"))
show("RELEASE", lambda: uts("release"))
show("VERSION", lambda: uts("version"))
show("MACHINE", lambda: uts("machine"))
show("MEMORY (pages)", lambda: int(prog["_totalram_pages"].counter))  # noqa: F821
if failed:
    print("drgn_sys: failed: " + ", ".join(failed), file=sys.stderr)
    sys.exit(1)
