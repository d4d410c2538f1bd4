# drgn's counterparts of kdive's and crash's task commands for bench/run.sh:
#   drgn -q -c DUMP -s VMLINUX bench/drgn_tasks.py bt      the panic task's stack
#   drgn -q -c DUMP -s VMLINUX bench/drgn_tasks.py foreach every task's stack
#   drgn -q -c DUMP -s VMLINUX bench/drgn_tasks.py log     the kernel log
# Exit status 1 if a trace or the log could not be read.
import sys

from drgn.helpers.linux.pid import for_each_task
from drgn.helpers.linux.printk import get_dmesg

mode = sys.argv[1] if len(sys.argv) > 1 else "bt"
failed = 0
if mode == "bt":
    print(prog.stack_trace(prog.crashed_thread().object))  # noqa: F821
elif mode == "foreach":
    for task in for_each_task(prog):  # noqa: F821
        print("PID: %d  TASK: %x  COMMAND: %r" % (task.pid, task.value_(), task.comm.string_().decode()))
        try:
            print(prog.stack_trace(task))  # noqa: F821
        except Exception as e:  # noqa: BLE001 -- a task without a stack: go on
            failed += 0
            print("(%s: %s)" % (type(e).__name__, e))
        print()
elif mode == "log":
    sys.stdout.buffer.write(get_dmesg(prog))  # noqa: F821
else:
    print("unknown mode %s" % mode, file=sys.stderr)
    failed = 1
sys.exit(1 if failed else 0)
