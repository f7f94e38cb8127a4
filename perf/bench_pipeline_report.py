#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Report of the pipeline benchmark (perf/bench_pipeline.sh).

Reads the configurations and every perc-bench-pipeline JSON of one run,
prints the table and the targets, writes JSON and CSV. The targets are a
report: the exit status is 1 only when a run is missing or invalid.
"""
import argparse
import csv
import datetime
import glob
import json
import os
import platform
import statistics
import sys

TARGET_FLOOR = 0.6        # pipeline rate >= 0.6 x floor rate (fan-out 10, 1200 B)
TARGET_SPEEDUP = 8.0      # pipeline rate >= 8 x libsrtp2 pipeline (fan-out 10, 1200 B)
TARGET_STREAMS = 1.5      # cycles/pkt at 100,000 streams <= 1.5 x those at 10


def med(v):
    return statistics.median(v) if v else None


def p10(v):
    """10th percentile: the cost on a quiet machine (the lower envelope)"""
    if not v:
        return None
    if len(v) < 3:
        return min(v)
    return statistics.quantiles(v, n=10, method="inclusive")[0]


def spread(v):
    """(90th - 10th percentile) / median of the samples, percent"""
    if not v:
        return None
    m = statistics.median(v)
    if len(v) < 3:
        return 100.0 * (max(v) - min(v)) / m if m else None
    q = statistics.quantiles(v, n=10, method="inclusive")
    return 100.0 * (q[8] - q[0]) / m if m else None


def div(a, b):
    return a / b if a is not None and b else None


def pick(samples, flags, key):
    """The values of key over the samples the scheduler did not interrupt
    (none of flags moved), or over all of them when fewer than a quarter
    are clean. Returns (values, clean_only)."""
    clean = [s[key] for s in samples if all(s.get(f, 0) == 0 for f in flags)]
    if samples and 4 * len(clean) >= len(samples):
        return clean, True
    return [s[key] for s in samples], False


def load_configs(path):
    rows = []
    with open(path) as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            if len(p) < 8:
                continue
            rows.append({"id": p[0], "kind": p[1], "fanout": int(p[2]), "payload": int(p[3]),
                         "streams": int(p[4]), "conferences": int(p[5]),
                         "conference_size": int(p[6]), "rounds": int(p[7])})
    return rows


def load_runs(d, cid, arch):
    out = []
    for path in sorted(glob.glob(os.path.join(d, "%s-%s-*.json" % (cid, arch)))):
        with open(path) as f:
            out.append(json.load(f))
    return out


def row_figures(cfg, runs, lib_runs):
    """Medians and 10th percentiles over the timed chunks of every repetition."""
    r = dict(cfg)
    problems = []
    for x in runs + lib_runs:
        problems += ["%s: %s" % (x.get("label"), p) for p in x.get("problems", [])]
    pipe, pipe_clean = pick([s for x in runs for s in x["samples"]], ("preempted",),
                            "cycles_per_egress")
    floor, _ = pick([s for x in runs for s in x["samples"] if "floor_cycles_per_egress" in s],
                    ("floor_preempted",), "floor_cycles_per_egress")
    ratio, _ = pick([s for x in runs for s in x["samples"] if "floor_over_pipeline" in s],
                    ("preempted", "floor_preempted"), "floor_over_pipeline")
    lib, _ = pick([s for x in lib_runs for s in x["samples"]], ("preempted",),
                  "cycles_per_egress")
    tsc = med([x["tsc_hz"] for x in runs + lib_runs])
    r.update({
        "runs": len(runs), "libsrtp_runs": len(lib_runs),
        "samples": sum(len(x["samples"]) for x in runs),
        "samples_used": len(pipe),
        "samples_clean_only": pipe_clean,
        "egress_timed": sum(x["timed"]["egress"] for x in runs),
        "ingress_timed": sum(x["timed"]["ingress"] for x in runs),
        "tsc_hz": tsc,
        "pipeline_cycles_per_egress": med(pipe),
        "pipeline_cycles_per_egress_p10": p10(pipe),
        "pipeline_cycles_per_egress_min": min(pipe) if pipe else None,
        "pipeline_cycles_per_egress_max": max(pipe) if pipe else None,
        "pipeline_spread_pct": spread(pipe),
        "pipeline_cycles_per_egress_by_run": [x["timed"].get("cycles_per_egress_median")
                                              for x in runs],
        "floor_cycles_per_egress": med(floor),
        "floor_cycles_per_egress_p10": p10(floor),
        "floor_spread_pct": spread(floor),
        "pipeline_rate_over_floor_rate": med(ratio),
        "libsrtp2_cycles_per_egress": med(lib),
        "libsrtp2_cycles_per_egress_p10": p10(lib),
        "libsrtp2_spread_pct": spread(lib),
        "problems": problems,
        "valid": bool(runs) and not problems,
    })
    r["pipeline_rate_over_floor_rate_p10"] = div(r["floor_cycles_per_egress_p10"],
                                                 r["pipeline_cycles_per_egress_p10"])
    r["pipeline_mpps_per_core"] = div(tsc, r["pipeline_cycles_per_egress"])
    r["pipeline_mpps_per_core"] = r["pipeline_mpps_per_core"] / 1e6 \
        if r["pipeline_mpps_per_core"] else None
    r["floor_mpps_per_core"] = div(tsc, r["floor_cycles_per_egress"])
    r["floor_mpps_per_core"] = r["floor_mpps_per_core"] / 1e6 if r["floor_mpps_per_core"] else None
    r["speedup_vs_libsrtp2"] = div(r["libsrtp2_cycles_per_egress"],
                                   r["pipeline_cycles_per_egress"])
    r["speedup_vs_libsrtp2_p10"] = div(r["libsrtp2_cycles_per_egress_p10"],
                                       r["pipeline_cycles_per_egress_p10"])
    return r


def target(name, values, goal, higher_better, detail):
    """Met only when every value (median-based and quiet-machine) meets
    it; missed_by from the worse one."""
    vals = [v for v in values.values() if v is not None]
    if not vals:
        return {"target": name, "goal": goal, "values": values, "met": None,
                "missed_by": None, "text": "not measured (%s)" % detail}
    worst = min(vals) if higher_better else max(vals)
    met = worst >= goal if higher_better else worst <= goal
    missed = None if met else (goal / worst if higher_better else worst / goal)
    shown = ", ".join("%s %.3g" % (k, v) for k, v in values.items() if v is not None)
    text = ("met (%s %s %.3g)" % (shown, ">=" if higher_better else "<=", goal)) if met else \
        ("missed by %.2fx (%s; goal %s %.3g)" % (missed, shown, ">=" if higher_better else "<=",
                                                 goal))
    return {"target": name, "goal": goal, "values": values, "met": met, "missed_by": missed,
            "text": text, "detail": detail}


def fmt(v, nd=0, suffix=""):
    if v is None:
        return "-"
    return ("%." + str(nd) + "f%s") % (v, suffix)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--configs", required=True)
    ap.add_argument("--runs", required=True)
    ap.add_argument("--json", required=True)
    ap.add_argument("--csv", required=True)
    ap.add_argument("--command", default="")
    ap.add_argument("--git", default="unknown")
    a = ap.parse_args()

    configs = load_configs(a.configs)
    rows = []
    any_run = None
    for c in configs:
        runs = load_runs(a.runs, c["id"], "auto")
        lib = load_runs(a.runs, c["id"], "libsrtp")
        any_run = any_run or (runs[0] if runs else None)
        rows.append(row_figures(c, runs, lib))
    if any_run is None:
        print("bench_pipeline_report: no run produced a result", file=sys.stderr)
        return 1

    by_id = {r["id"]: r for r in rows}
    targets = []
    f10 = by_id.get("fanout-10-1200")
    targets.append(target(
        "fan-out 10, 1200 B: pipeline rate >= 0.6 x floor rate",
        {"paired median": f10["pipeline_rate_over_floor_rate"] if f10 else None,
         "p10": f10["pipeline_rate_over_floor_rate_p10"] if f10 else None},
        TARGET_FLOOR, True,
        "paired median: floor / pipeline cycles of each chunk and its own floor pass; "
        "p10: the two 10th percentiles"))
    targets.append(target(
        "fan-out 10, 1200 B: pipeline rate >= 8 x libsrtp2 pipeline rate",
        {"median": f10["speedup_vs_libsrtp2"] if f10 else None,
         "p10": f10["speedup_vs_libsrtp2_p10"] if f10 else None},
        TARGET_SPEEDUP, True, "libsrtp2 cycles / pipeline cycles"))
    for p in sorted({r["payload"] for r in rows if r["kind"] == "streams"}):
        lo, hi = by_id.get("streams-10-%d" % p), by_id.get("streams-100000-%d" % p)
        targets.append(target(
            "%d B: cycles/pkt at 100,000 streams <= 1.5 x at 10" % p,
            {"median": div(hi["pipeline_cycles_per_egress"], lo["pipeline_cycles_per_egress"])
             if lo and hi else None,
             "p10": div(hi["pipeline_cycles_per_egress_p10"],
                        lo["pipeline_cycles_per_egress_p10"]) if lo and hi else None},
            TARGET_STREAMS, False, "fan-out 4"))

    tsc = any_run["tsc_hz"]
    meta = {
        "tool": "perf/bench_pipeline.sh",
        "command": a.command,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "git_commit": a.git,
        "git_commit_built": any_run.get("git_commit"),
        "cpu_model": any_run.get("cpu_model"),
        "cpus": os.cpu_count(),
        "kernel": platform.release(),
        "tsc_hz": tsc,
        "tsc_invariant": any_run.get("tsc_invariant"),
        "dpdk": any_run.get("dpdk"),
        "ipsec_mb": any_run.get("ipsec_mb"),
        "arch": any_run.get("arch"),
        "floor_arch": any_run.get("floor_arch"),
        "method": {
            "pipeline": "perc-bench-pipeline: dataplane/mdd/worker.c's mdd_worker_main on one "
                        "worker lcore, net_ring RX preloaded chunk by chunk (4096 frames), "
                        "net_null TX; cycles = the worker's busy_cycles over a chunk, per "
                        "egress packet (tx_frames)",
            "floor": "IMB_AES128_GCM_DEC once per ingress packet + IMB_AES128_GCM_ENC once "
                     "per receiver, same keys, lengths and AAD, on the worker lcore beside "
                     "each chunk",
            "libsrtp2": "the same pipeline with --arch libsrtp (libsrtp2 per packet)",
            "figures": "medians and 10th percentiles (p10: the cost on a quiet machine) over "
                       "the timed chunks of all repetitions during which the worker thread "
                       "was not descheduled (nonvoluntary context switches); over all chunks "
                       "when fewer than a quarter were clean",
            "targets": "met only when met by both the median-based and the p10-based figure",
        },
        "targets": targets,
        "rows": rows,
    }
    os.makedirs(os.path.dirname(os.path.abspath(a.json)), exist_ok=True)
    with open(a.json, "w") as f:
        json.dump(meta, f, indent=1)
    with open(a.json) as f:
        json.load(f)   # it must parse
    cols = ["id", "kind", "fanout", "payload", "streams", "conferences", "conference_size",
            "runs", "samples", "samples_used", "egress_timed", "pipeline_cycles_per_egress",
            "pipeline_spread_pct", "pipeline_mpps_per_core", "floor_cycles_per_egress",
            "pipeline_cycles_per_egress_p10", "floor_mpps_per_core",
            "pipeline_rate_over_floor_rate", "pipeline_rate_over_floor_rate_p10",
            "libsrtp2_cycles_per_egress", "libsrtp2_cycles_per_egress_p10",
            "speedup_vs_libsrtp2", "speedup_vs_libsrtp2_p10", "tsc_hz", "valid"]
    with open(a.csv, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(cols)
        for r in rows:
            w.writerow([r[c] if r[c] is not None else "" for c in cols])

    print()
    print("cpu        %s, TSC %.4f GHz%s" % (meta["cpu_model"], tsc / 1e9,
                                             "" if meta["tsc_invariant"] else " (NOT invariant)"))
    print("software   %s, ipsec-mb %s (%s), git %s" % (
        meta["dpdk"], meta["ipsec_mb"], meta["arch"], meta["git_commit"]))
    print("cycles     TSC ticks per egress packet: the worker loop's busy cycles (pipeline),")
    print("           the bare GCM calls (floor), the libsrtp2 pipeline (srtp2); medians and")
    print("           10th percentiles (p10: quiet machine) over the timed chunks of every run")
    print("           that the scheduler did not interrupt (clean: used/all chunks)")
    print()
    hdr = ("%-19s %6s %3s %4s %8s %7s %7s %6s %5s %6s %6s %6s %5s %6s %6s %6s %6s" % (
        "configuration", "strms", "fan", "pay", "egress", "clean", "cyc/pkt", "p10", "sprd",
        "Mpps/c", "floor", "fl Mp", "f/p", "srtp2", "s2 p10", "speedup", "sp p10"))
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        print("%-19s %6d %3d %4d %8d %7s %7s %6s %5s %6s %6s %6s %5s %6s %6s %6s %6s%s" % (
            r["id"], r["streams"], r["fanout"], r["payload"], r["egress_timed"],
            "%d/%d" % (r["samples_used"], r["samples"]) if r["samples_clean_only"] else "all",
            fmt(r["pipeline_cycles_per_egress"]), fmt(r["pipeline_cycles_per_egress_p10"]),
            fmt(r["pipeline_spread_pct"], 0, "%"), fmt(r["pipeline_mpps_per_core"], 2),
            fmt(r["floor_cycles_per_egress"]), fmt(r["floor_mpps_per_core"], 2),
            fmt(r["pipeline_rate_over_floor_rate"], 2), fmt(r["libsrtp2_cycles_per_egress"]),
            fmt(r["libsrtp2_cycles_per_egress_p10"]), fmt(r["speedup_vs_libsrtp2"], 1, "x"),
            fmt(r["speedup_vs_libsrtp2_p10"], 1, "x"), "" if r["valid"] else "  INVALID"))
    print()
    print("targets (a report; the exit status does not depend on them):")
    for t in targets:
        print("  %s:\n      %s" % (t["target"], t["text"]))
    print()
    print("json       %s" % a.json)
    print("csv        %s" % a.csv)
    bad = [r for r in rows if not r["valid"]]
    for r in bad:
        print("INVALID %s: %s" % (r["id"], "; ".join(r["problems"]) or "no run"),
              file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
