# Random physical page reads with drgn, for bench/run.sh:
#   /usr/bin/python3 bench/drgn_pages.py DUMP ADDRS [PASSES]
# ADDRS holds one hex physical address a line (what bench/pagebench picked).
# Each pass opens the dump afresh (drgn.Program + set_core_dump, not timed)
# and reads 4096 bytes at each address with prog.read(addr, 4096, True).
# Prints one JSON object: pages, errors, the median pass's seconds, pages/s.
import json
import statistics
import sys
import time

import drgn

path, addrs_path = sys.argv[1], sys.argv[2]
passes = int(sys.argv[3]) if len(sys.argv) > 3 else 3
addrs = [int(l, 16) for l in open(addrs_path) if l.strip()]
res = {"path": path, "pages": 0, "errors": 0, "passes": passes}
try:
    times, opens = [], []
    for _ in range(passes):
        t0 = time.perf_counter()
        prog = drgn.Program()
        prog.set_core_dump(path)
        t1 = time.perf_counter()
        good = bad = 0
        for a in addrs:
            try:
                prog.read(a, 4096, True)
                good += 1
            except drgn.FaultError as e:
                bad += 1
                res.setdefault("first_error", str(e))
        times.append(time.perf_counter() - t1)
        opens.append(t1 - t0)
        res["pages"], res["errors"] = good, bad
        del prog
    dt = statistics.median(times)
    res["open_s"] = statistics.median(opens)
    res["seconds"] = dt
    res["pages_per_s"] = res["pages"] / dt if dt > 0 else 0
except Exception as e:  # noqa: BLE001
    res["error"] = "%s: %s" % (type(e).__name__, e)
print(json.dumps(res))
sys.exit(1 if "error" in res else 0)
