#!/usr/bin/env python3
"""Tables and summary of a bench/run.sh run (Python standard library only).

    report.py OUTDIR [--scenario S --corpus DIR --vmlinux PATH --runs N
                      --crash-runs N --pages N --elapsed SECONDS --host TEXT
                      --versions TEXT]

Reads OUTDIR/results.tsv (one line per timed open + sys run) and
OUTDIR/pages.jsonl (one object per tool and format for the page reads),
prints the report and writes OUTDIR/summary.json. Exit status 0; the
targets' verdicts are in the text.
"""
import argparse
import csv
import json
import math
import os
import statistics
import sys

TOOLS = ["kdive", "kdive (no vmlinux)", "crash", "drgn"]
PAGE_TOOLS = ["kdive", "kdive CLI", "crash", "drgn"]
SPEEDUP_TARGET = 20.0
RSS_TARGET_MIB = 150.0


def fnum(v, fmt="%.2f", none="-"):
    return none if v is None else fmt % v


def short(s, n=70):
    return s if len(s) <= n else s[: n - 3] + "..."


def rx(v):
    """A ratio: 0.45x, 3.7x, 152x."""
    if v is None:
        return "-"
    return "%.2fx" % v if v < 1 else "%.1fx" % v if v < 10 else "%.0fx" % v


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def table(rows, header, aligns):
    w = [len(h) for h in header]
    for r in rows:
        for i, c in enumerate(r):
            w[i] = max(w[i], len(c))
    out = []

    def line(cells):
        s = []
        for i, c in enumerate(cells):
            s.append(c.ljust(w[i]) if aligns[i] == "l" else c.rjust(w[i]))
        return "  " + "  ".join(s).rstrip()

    out.append(line(header))
    out.append("  " + "  ".join("-" * x for x in w))
    out.extend(line(r) for r in rows)
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    for a in ("scenario", "corpus", "vmlinux", "host", "versions", "load"):
        ap.add_argument("--" + a, default="")
    for a in ("runs", "crash-runs", "pages", "elapsed", "ncpu"):
        ap.add_argument("--" + a, type=int, default=0)
    o = ap.parse_args()

    # --- open + sys -------------------------------------------------------
    runs = {}  # (format, tool) -> list of rows
    formats = []
    with open(os.path.join(o.out, "results.tsv")) as f:
        for r in csv.DictReader(f, delimiter="\t"):
            if r["kind"] != "open":
                continue
            if r["format"] not in formats:
                formats.append(r["format"])
            runs.setdefault((r["format"], r["tool"]), []).append(r)

    stats = {}  # (format, tool) -> dict
    for key, rs in runs.items():
        timed = [r for r in rs if r["wall_s"]]
        s = {"runs": len(timed), "ok": sum(r["ok"] == "1" for r in timed)}
        if timed:
            walls = [float(r["wall_s"]) for r in timed]
            s["median_s"] = statistics.median(walls)
            s["min_s"] = min(walls)
            s["rss_mib"] = max(int(r["rss_kb"] or 0) for r in timed) / 1024
            cpus = [float(r["cpu_s"]) for r in timed if r.get("cpu_s")]
            if cpus:
                s["cpu_s"] = statistics.median(cpus)
        notes = [r["note"] for r in rs if r["note"]]
        s["note"] = notes[0] if notes else ""
        stats[key] = s

    print("kdive benchmark: kdive vs crash vs drgn on the same dumps")
    print("  scenario %s (corpus %s)" % (o.scenario, o.corpus))
    print("  vmlinux  %s" % o.vmlinux)
    print("  %s" % o.versions)
    print("  host: %s" % o.host)
    busy = False
    if o.load:
        loads = [float(x) for x in o.load.split()]
        print("  load average: %.2f at start; %.2f %.2f %.2f (1, 5, 15 min) at end" % tuple((loads + [0] * 4)[:4]))
        if o.ncpu and max(loads[0], loads[-1] if len(loads) < 3 else loads[2]) > o.ncpu:
            busy = True
            print("  WARNING: the machine was busy (load above the CPU count): wall times and rates")
            print("           are inflated and noisy; the CPU columns are the steadier comparison.")
    print("  open + sys: median of %d runs (crash: %d), peak RSS = max over runs (GNU time %%M);"
          % (o.runs, o.crash_runs))
    print("  CPU s = median user + system time; ratios are tool / kdive (how many times slower or bigger)")
    print()
    print("== 1. open + sys ==")
    summary = {"open": {}, "pages": {}}
    for fmt in formats:
        print()
        print("-- %s --" % fmt)
        base = stats.get((fmt, "kdive"), {})
        rows = []
        for t in TOOLS:
            s = stats.get((fmt, t))
            if s is None:
                continue
            if s["runs"] == 0:
                rows.append([t, "-", "-", "-", "-", "-", "-", "-", s["note"]])
                continue
            status = "ok" if s["ok"] == s["runs"] else "FAILED %d/%d: %s" % (
                s["runs"] - s["ok"], s["runs"], short(s["note"]))
            rt = ratio(s.get("median_s"), base.get("median_s"))
            rm = ratio(s.get("rss_mib"), base.get("rss_mib"))
            # A tool that failed every run did not do the work: no ratio.
            fail = s["ok"] == 0 and not t.startswith("kdive")
            rc = ratio(s.get("cpu_s"), base.get("cpu_s"))
            rows.append([t, fnum(s.get("median_s"), "%.3f"), fnum(s.get("min_s"), "%.3f"),
                         fnum(s.get("cpu_s"), "%.2f"), fnum(s.get("rss_mib"), "%.1f"),
                         "failed" if fail else rx(rt),
                         "failed" if fail else rx(rc),
                         "failed" if fail else rx(rm), status])
            summary["open"].setdefault(fmt, {})[t] = s
        print(table(rows, ["tool", "median s", "min s", "CPU s", "peak RSS MiB", "time vs kdive",
                           "CPU vs kdive", "RSS vs kdive", "status"], "lrrrrrrrl"))

    # --- page reads -------------------------------------------------------
    pages = {}
    pformats = []
    pj = os.path.join(o.out, "pages.jsonl")
    if os.path.exists(pj):
        with open(pj) as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                try:
                    d = json.loads(line)
                except ValueError as e:
                    print("report: bad line in pages.jsonl: %s" % e, file=sys.stderr)
                    continue
                if d["format"] not in pformats:
                    pformats.append(d["format"])
                pages[(d["format"], d["tool"])] = d["r"]
    print()
    print("== 2. random physical page reads (%d distinct present pages a format, 4 KiB each) ==" % o.pages)
    print("  kdive: ReadPhysAt via kdive/internal/dump/open (bench/pagebench; median pass, fresh open each pass)")
    print("  kdive CLI / crash: `rd -p -r /dev/null ADDR 4096` per page in one -i batch of several passes,")
    print("    each timed between !date markers; median pass")
    print("  drgn: prog.read(ADDR, 4096, True) loop (bench/drgn_pages.py), median pass")
    print("  all read the same page list; tried/excl/absent = candidates drawn, left out by filtering, not in the dump")
    print()
    rows = []
    for fmt in pformats:
        k = pages.get((fmt, "kdive"), {})
        picked = "-"
        if "tried" in k:
            picked = "%d/%d/%d" % (k.get("tried", 0), k.get("excluded", 0), k.get("not_present", 0))
        row = [fmt, k.get("compression") or ("none" if k.get("format") else "-"), picked]
        rates = {}
        notes = []
        for t in PAGE_TOOLS:
            r = pages.get((fmt, t))
            if r is None:
                row.append("-")
                continue
            if r.get("error"):
                row.append("n/a" if r["error"].startswith("n/a") else "FAIL")
                notes.append("%s: %s" % (t, r["error"]))
                continue
            pps = r.get("pages_per_s")
            rates[t] = pps
            cell = fnum(pps, "%.0f")
            if r.get("errors"):
                cell += "*"
                notes.append("%s: %d of %d pages failed (%s)" % (
                    t, r["errors"], r["errors"] + r.get("pages", 0), r.get("first_error") or r.get("FirstError", "")))
            row.append(cell)
        row.append(rx(ratio(rates.get("kdive"), rates.get("crash"))))
        row.append(rx(ratio(rates.get("kdive"), rates.get("drgn"))))
        row.append(rx(ratio(rates.get("kdive CLI"), rates.get("crash"))))
        rows.append(row)
        summary["pages"][fmt] = {"rates": rates, "pick": k, "notes": notes}
    print(table(rows, ["format", "compr.", "tried/excl/absent", "kdive p/s", "kdive CLI p/s",
                       "crash p/s", "drgn p/s", "kdive/crash", "kdive/drgn", "CLI/crash"],
                "lllrrrrrrr"))
    for fmt in pformats:
        for n in summary["pages"][fmt]["notes"]:
            print("  note %s: %s" % (fmt, n))

    # --- tasks --------------------------------------------------------------
    truns = {}
    tlabels = []
    with open(os.path.join(o.out, "results.tsv")) as f:
        for r in csv.DictReader(f, delimiter="\t"):
            if r["kind"] != "tasks":
                continue
            if r["format"] not in tlabels:
                tlabels.append(r["format"])
            truns.setdefault((r["format"], r["tool"]), []).append(r)
    if tlabels:
        print()
        print("== 3. tasks: cold start + bt of the panic task, foreach bt, log (median wall) ==")
        print("  crash 8.0.2 sees only the running tasks of this kernel: its foreach bt walks 3 stacks, kdive's all")
        rows = []
        for lab in tlabels:
            med = {}
            for t in TOOLS:
                rs = [r for r in truns.get((lab, t), []) if r["wall_s"]]
                if not rs:
                    continue
                ok = sum(r["ok"] == "1" for r in rs)
                cpus = [float(r["cpu_s"]) for r in rs if r.get("cpu_s")]
                med[t] = (statistics.median(float(r["wall_s"]) for r in rs),
                          statistics.median(cpus) if cpus else None,
                          max(int(r["rss_kb"] or 0) for r in rs) / 1024, ok, len(rs),
                          next((r["note"] for r in rs if r["note"]), ""))
            base = med.get("kdive", (None, None))
            for t, (m, c, rss, ok, n, note) in med.items():
                rows.append([lab, t, fnum(m, "%.3f"), fnum(c, "%.2f"), fnum(rss, "%.1f"),
                             rx(ratio(m, base[0])) if t != "kdive" else "1.0x",
                             rx(ratio(c, base[1])) if t != "kdive" else "1.0x",
                             "ok" if ok == n else "FAILED %d/%d: %s" % (n - ok, n, short(note))])
        print(table(rows, ["what", "tool", "median s", "CPU s", "peak RSS MiB", "time vs kdive",
                           "CPU vs kdive", "status"], "llrrrrrl"))

    # --- summary ----------------------------------------------------------
    print()
    print("== 4. summary ==")
    speedups = []
    rows = []
    for fmt in formats:
        k = stats.get((fmt, "kdive"), {})
        kn = stats.get((fmt, "kdive (no vmlinux)"), {})
        c = stats.get((fmt, "crash"), {})
        d = stats.get((fmt, "drgn"), {})
        sc = ratio(c.get("median_s"), k.get("median_s"))
        sd = ratio(d.get("median_s"), k.get("median_s")) if d.get("ok") else None
        scc = ratio(c.get("cpu_s"), k.get("cpu_s")) if c.get("ok") else None
        k_ok = k.get("runs") and k.get("ok") == k.get("runs")
        c_ok = c.get("runs") and c.get("ok") == c.get("runs")
        verdict = "-"
        if sc is not None:
            if not c_ok:
                verdict = "n/a (crash failed)"
            else:
                verdict = ("PASS" if sc >= SPEEDUP_TARGET else "FAIL") + ("" if k_ok else " (kdive sys failed)")
                speedups.append(sc)
        rss = max([x for x in (k.get("rss_mib"), kn.get("rss_mib")) if x is not None], default=None)
        rv = "-" if rss is None else ("PASS" if rss < RSS_TARGET_MIB else "FAIL")
        pr = summary["pages"].get(fmt, {}).get("rates", {})
        rows.append([fmt, rx(sc), verdict, rx(scc), rx(sd),
                     fnum(rss, "%.1f"), rv,
                     rx(ratio(pr.get("kdive"), pr.get("crash"))),
                     rx(ratio(pr.get("kdive"), pr.get("drgn")))])
    print(table(rows, ["format", "crash/kdive wall", ">=20x", "crash/kdive CPU", "drgn/kdive wall",
                       "kdive peak RSS MiB", "<150 MiB", "reads kdive/crash", "reads kdive/drgn"],
                "lrlrrrlrr"))
    all_rss = [s["rss_mib"] for (f, t), s in stats.items() if t.startswith("kdive") and "rss_mib" in s]
    k_fail = [(f, t, s["note"]) for (f, t), s in stats.items() if t.startswith("kdive") and s["ok"] != s["runs"]]
    print()
    if speedups:
        gm = math.exp(sum(math.log(x) for x in speedups) / len(speedups))
        print("  open + sys vs crash: %.1fx to %.1fx faster, geometric mean %.1fx -> target >= %.0fx: %s"
              % (min(speedups), max(speedups), gm, SPEEDUP_TARGET,
                 "PASS" if min(speedups) >= SPEEDUP_TARGET else
                 "FAIL (%d of %d formats below)" % (sum(x < SPEEDUP_TARGET for x in speedups), len(speedups))))
        summary["speedup_vs_crash"] = {"min": min(speedups), "max": max(speedups), "geomean": gm}
    else:
        print("  open + sys vs crash: no comparison (crash not measured or failed everywhere)")
    if all_rss:
        m = max(all_rss)
        print("  kdive peak RSS: %.1f MiB at most -> target < %.0f MiB: %s"
              % (m, RSS_TARGET_MIB, "PASS" if m < RSS_TARGET_MIB else "FAIL"))
        summary["kdive_max_rss_mib"] = m
    if k_fail:
        print("  kdive failures (open was still timed):")
        for f, t, n in k_fail:
            print("    %s, %s: %s" % (f, t, n))
    other = [(f, t, s["note"]) for (f, t), s in stats.items()
             if not t.startswith("kdive") and s["ok"] != s["runs"]]
    for f, t, n in other:
        print("  %s on %s: %s" % (t, f, n))
    print("  total bench time: %dm%02ds; results in %s" % (o.elapsed // 60, o.elapsed % 60, o.out))
    with open(os.path.join(o.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1, default=str)


if __name__ == "__main__":
    main()
