# Random physical page reads with drgn, for bench/run.sh:
#   /usr/bin/python3 bench/drgn_pages.py DUMP ADDRS
# ADDRS holds one hex physical address a line (what bench/pagebench picked).
# Reads 4096 bytes at each with prog.read(addr, 4096, True) and prints one
# JSON object: pages, errors, seconds of the read loop alone, pages/s.
import json
import sys
import time

import drgn

path, addrs_path = sys.argv[1], sys.argv[2]
addrs = [int(l, 16) for l in open(addrs_path) if l.strip()]
res = {"path": path, "pages": 0, "errors": 0}
try:
    t0 = time.perf_counter()
    prog = drgn.Program()
    prog.set_core_dump(path)
    res["open_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    for a in addrs:
        try:
            prog.read(a, 4096, True)
            res["pages"] += 1
        except drgn.FaultError as e:
            res["errors"] += 1
            res.setdefault("first_error", str(e))
    dt = time.perf_counter() - t0
    res["seconds"] = dt
    res["pages_per_s"] = res["pages"] / dt if dt > 0 else 0
except Exception as e:  # noqa: BLE001
    res["error"] = "%s: %s" % (type(e).__name__, e)
print(json.dumps(res))
sys.exit(1 if "error" in res else 0)
