# drgn script: one line per task, "TASKADDR PC PC ...", the program counters
# of drgn's stack trace without inline frames (used by drgn_test.go).
import sys
from drgn.helpers.linux.pid import for_each_task
from drgn.helpers.linux.cpumask import for_each_online_cpu
from drgn.helpers.linux.percpu import per_cpu

out = open(sys.argv[1], "w")
tasks = list(for_each_task(prog))
seen = {t.value_() for t in tasks}
for cpu in for_each_online_cpu(prog):
    idle = per_cpu(prog["runqueues"], cpu).idle
    if idle.value_() not in seen:
        tasks.append(idle)
for t in tasks:
    try:
        pcs = ["%x" % f.pc for f in prog.stack_trace(t) if not f.is_inline]
        out.write("%x %s\n" % (t.value_(), " ".join(pcs)))
    except Exception as e:
        out.write("%x ERROR %s\n" % (t.value_(), str(e).replace("\n", " ")))
out.close()
