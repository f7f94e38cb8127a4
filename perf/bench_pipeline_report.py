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


def spread(v):
    """(90th - 10th percentile) / median of the samples, percent"""
    if not v:
        return None
    m = statistics.median(v)
    if len(v) < 3:
        return 100.0 * (max(v) - min(v)) / m if m else None
    q = statistics.quantiles(v, n=10, method="inclusive")
    return 100.0 * (q[8] - q[0]) / m if m else None


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
    """Medians over every timed chunk of every repetition."""
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
    lib_ratio, _ = pick([s for x in lib_runs for s in x["samples"] if "floor_over_pipeline" in s],
                        ("preempted", "floor_preempted"), "floor_over_pipeline")
    n_all = sum(len(x["samples"]) for x in runs)
    tsc = med([x["tsc_hz"] for x in runs + lib_runs])
    r.update({
        "runs": len(runs), "libsrtp_runs": len(lib_runs),
        "samples": n_all,
        "samples_used": len(pipe),
        "samples_clean_only": pipe_clean,
        "egress_timed": sum(x["timed"]["egress"] for x in runs),
        "ingress_timed": sum(x["timed"]["ingress"] for x in runs),
        "tsc_hz": tsc,
        "pipeline_cycles_per_egress": med(pipe),
        "pipeline_cycles_per_egress_min": min(pipe) if pipe else None,
        "pipeline_cycles_per_egress_max": max(pipe) if pipe else None,
        "pipeline_spread_pct": spread(pipe),
        "pipeline_cycles_per_egress_by_run": [x["timed"]["cycles_per_egress_median"] for x in runs],
        "floor_cycles_per_egress": med(floor),
        "floor_spread_pct": spread(floor),
        "pipeline_rate_over_floor_rate": med(ratio),
        "libsrtp2_cycles_per_egress": med(lib),
        "libsrtp2_spread_pct": spread(lib),
        "libsrtp2_floor_over_pipeline": med(lib_ratio),
        "problems": problems,
        "valid": bool(runs) and not problems,
    })
    p = r["pipeline_cycles_per_egress"]
    r["pipeline_mpps_per_core"] = tsc / p / 1e6 if p and tsc else None
    r["floor_mpps_per_core"] = tsc / r["floor_cycles_per_egress"] / 1e6 \
        if r["floor_cycles_per_egress"] and tsc else None
    lc = r["libsrtp2_cycles_per_egress"]
    # raw: the two medians; paired: each side against the floor measured
    # beside it, which cancels a change of machine speed between the runs
    r["speedup_vs_libsrtp2_raw"] = lc / p if lc and p else None
    r["speedup_vs_libsrtp2_paired"] = (r["pipeline_rate_over_floor_rate"] /
                                       r["libsrtp2_floor_over_pipeline"]) \
        if r["pipeline_rate_over_floor_rate"] and r["libsrtp2_floor_over_pipeline"] else None
    return r


def target(name, value, goal, higher_better, detail):
    if value is None:
        return {"target": name, "goal": goal, "value": None, "met": None, "missed_by": None,
                "text": "not measured (%s)" % detail}
    met = value >= goal if higher_better else value <= goal
    missed = None if met else (goal / value if higher_better else value / goal)
    text = ("met: %.3g %s %.3g" % (value, ">=" if higher_better else "<=", goal)) if met else \
        ("missed by %.2fx: %.3g %s %.3g" % (missed, value, "<" if higher_better else ">", goal))
    return {"target": name, "goal": goal, "value": value, "met": met, "missed_by": missed,
            "text": text + (" (%s)" % detail if detail else "")}


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
        f10["pipeline_rate_over_floor_rate"] if f10 else None, TARGET_FLOOR, True,
        "median over chunks of floor cycles / pipeline cycles, each chunk paired with its "
        "floor pass" if f10 else "row not run"))
    targets.append(target(
        "fan-out 10, 1200 B: pipeline rate >= 8 x libsrtp2 pipeline rate",
        f10["speedup_vs_libsrtp2_paired"] if f10 else None, TARGET_SPEEDUP, True,
        ("paired through the floor; the raw ratio of medians is %s" %
         fmt(f10["speedup_vs_libsrtp2_raw"], 2, "x")) if f10 else "row not run"))
    for p in sorted({r["payload"] for r in rows if r["kind"] == "streams"}):
        lo, hi = by_id.get("streams-10-%d" % p), by_id.get("streams-100000-%d" % p)
        v = None
        if lo and hi and lo["pipeline_cycles_per_egress"] and hi["pipeline_cycles_per_egress"]:
            v = hi["pipeline_cycles_per_egress"] / lo["pipeline_cycles_per_egress"]
        targets.append(target(
            "%d B: cycles per packet at 100,000 streams <= 1.5 x at 10" % p, v, TARGET_STREAMS,
            False, ("%s vs %s cycles per egress packet, fan-out 4" % (
                fmt(hi["pipeline_cycles_per_egress"]), fmt(lo["pipeline_cycles_per_egress"])))
            if v else "rows not run"))

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
            "figures": "medians over the timed chunks of all repetitions during which the "
                       "worker thread was not descheduled (nonvoluntary context switches); "
                       "over all chunks when fewer than a quarter were clean",
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
            "floor_mpps_per_core", "pipeline_rate_over_floor_rate", "libsrtp2_cycles_per_egress",
            "speedup_vs_libsrtp2_paired", "speedup_vs_libsrtp2_raw", "tsc_hz", "valid"]
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
    print("           the bare GCM calls (floor); medians over the timed chunks of every run")
    print("           that the scheduler did not interrupt (clean: used/all chunks)")
    print()
    hdr = ("%-22s %7s %4s %7s %9s %6s %8s %6s %7s %9s %8s %6s %9s %7s %7s" % (
        "configuration", "streams", "fan", "payload", "egress", "clean", "cyc/pkt", "spread",
        "Mpps/c", "floor cyc", "floor Mp", "f/pipe", "srtp2 cyc", "speedup", "raw"))
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        print("%-22s %7d %4d %7d %9d %6s %8s %6s %7s %9s %8s %6s %9s %7s %7s%s" % (
            r["id"], r["streams"], r["fanout"], r["payload"], r["egress_timed"],
            "%d/%d" % (r["samples_used"], r["samples"]) if r["samples_clean_only"] else "all",
            fmt(r["pipeline_cycles_per_egress"]), fmt(r["pipeline_spread_pct"], 0, "%"),
            fmt(r["pipeline_mpps_per_core"], 2), fmt(r["floor_cycles_per_egress"]),
            fmt(r["floor_mpps_per_core"], 2), fmt(r["pipeline_rate_over_floor_rate"], 2),
            fmt(r["libsrtp2_cycles_per_egress"]), fmt(r["speedup_vs_libsrtp2_paired"], 1, "x"),
            fmt(r["speedup_vs_libsrtp2_raw"], 1, "x"), "" if r["valid"] else "  INVALID"))
    print()
    print("targets (a report; the exit status does not depend on them):")
    for t in targets:
        print("  %-62s %s" % (t["target"], t["text"]))
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
