#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Calibration file of perc-capacity (docs/capacity.md, "Calibration file").

Reads the JSON report of perf/bench_pipeline.sh (fan-out rows only) and
writes the calibration: host facts, the per-core budget (the TSC rate:
bench_pipeline's cycles are TSC ticks) and one point per (payload,
fan-out) with cycles per ingress and per egress packet. The planner
interpolates cycles_per_ingress = a + b x fan-out between neighbouring
measured fan-outs, and linearly between payloads, from the points itself;
the segments (a, b) written here are for reading only.

bench_pipeline reports cycles per egress packet; every ingress packet of a
fanout-F row goes to exactly F receivers, so cycles per ingress packet =
F x cycles per egress packet.
"""
import argparse
import datetime
import json
import os
import re
import sys


def fail(msg):
    print("calibrate.py: " + msg, file=sys.stderr)
    sys.exit(1)


def cpuinfo():
    """model name and the kernel's current MHz of the first CPU; the nominal
    frequency where the model name states it (Intel: '@ 2.10GHz')"""
    model, mhz, nominal = None, None, None
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                k, _, v = line.partition(":")
                k, v = k.strip(), v.strip()
                if k == "model name" and model is None:
                    model = v
                elif k == "cpu MHz" and mhz is None:
                    mhz = float(v)
    except OSError:
        pass
    m = re.search(r"@\s*([0-9.]+)\s*GHz", model or "")
    if m:
        nominal = float(m.group(1)) * 1e9
    return model, mhz, nominal


def segments(points):
    """per payload, the line cycles = a + b x fan-out between each two
    neighbouring fan-outs: what perc-capacity interpolates (for reading)"""
    out = []
    for p in sorted({q["payload"] for q in points}):
        by = {}
        for q in points:
            if q["payload"] == p:
                by.setdefault(q["fanout"], []).append(q["cycles_per_ingress"])
        xs = sorted((f, sum(v) / len(v)) for f, v in by.items())
        for (f0, y0), (f1, y1) in zip(xs, xs[1:]):
            b = (y1 - y0) / (f1 - f0)
            out.append({"payload": p, "fanout_from": f0, "fanout_to": f1,
                        "a": y0 - b * f0, "b": b})
    return out


def compare(bench_path, pred_path, tol, label, stat, payload=None, fanout=None):
    """predicted against measured cycles per egress packet: PRED is the JSON
    of perc-capacity --point, or of a plan (--scenario --format json) whose
    cycles per egress packet are cycles_per_s / egress pps, for the bench
    row of payload and fan-out; 0 when within tol percent"""
    with open(bench_path) as f:
        bench = json.load(f)
    with open(pred_path) as f:
        pred_j = json.load(f)
    if "cycles_per_egress" in pred_j:
        p, fo = pred_j["payload"], pred_j["fanout"]
        pred, what = pred_j["cycles_per_egress"], "--point"
    else:
        p, fo = payload, fanout
        pred = pred_j["cycles_per_s"] / pred_j["egress"]["pps"]
        what = "scenario %s" % pred_j["scenario"]["name"]
    rows = [r for r in bench["rows"] if r["payload"] == p and r["fanout"] == fo]
    if not rows or rows[0].get("pipeline_cycles_per_egress") is None:
        fail("%s has no measured row at payload %s fan-out %s" % (bench_path, p, fo))
    row = rows[0]
    meas = row["pipeline_cycles_per_egress" + ("_p10" if stat == "p10" else "")]
    err = 100.0 * (pred - meas) / meas
    tsc = row["tsc_hz"]
    print("payload %g fan-out %g, %s: predicted %.0f cycles per egress packet (%.2f Mpps per "
          "core; calibration: %s), measured %.0f (%.2f Mpps; %s of %d chunks, spread "
          "%.0f%%): %+.1f%% (tolerance %g%%)" % (
              p, fo, what, pred, tsc / pred / 1e6, label, meas, tsc / meas / 1e6, stat,
              row["samples_used"], row["pipeline_spread_pct"], err, tol))
    ok = abs(err) <= tol
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bench", help="bench_pipeline.json to read")
    ap.add_argument("--out", help="calibration JSON to write")
    ap.add_argument("--stat", choices=("median", "p10"), default="median",
                    help="median (default: the cost on this machine as it runs) or p10 "
                         "(10th percentile: a quiet machine); with --compare, the "
                         "measured statistic compared")
    ap.add_argument("--exclude", action="append", default=[], metavar="P:F",
                    help="leave the row of payload P and fan-out F out (to predict it)")
    ap.add_argument("--command", default="")
    ap.add_argument("--compare", nargs=2, metavar=("BENCH", "PRED"),
                    help="instead: compare perc-capacity's JSON (PRED: --point, or a plan "
                         "with --point-of) with the measured row of bench_pipeline.json "
                         "(BENCH); exit 1 when outside --tolerance (perf/check_prediction.sh)")
    ap.add_argument("--point-of", metavar="P:F", help="the bench row a plan predicts (--compare)")
    ap.add_argument("--tolerance", type=float, default=15.0, help="percent (--compare)")
    ap.add_argument("--label", default="", help="where the prediction came from (--compare)")
    a = ap.parse_args()
    if a.compare:
        pf = [None, None]
        if a.point_of:
            m = re.fullmatch(r"(\d+):(\d+)", a.point_of)
            if not m:
                fail("--point-of %s: use PAYLOAD:FANOUT" % a.point_of)
            pf = [int(m.group(1)), int(m.group(2))]
        return compare(a.compare[0], a.compare[1], a.tolerance, a.label, a.stat, *pf)
    if not a.bench or not a.out:
        ap.error("--bench and --out are required")

    try:
        with open(a.bench) as f:
            bench = json.load(f)
    except (OSError, ValueError) as e:
        fail("cannot read %s: %s: run perf/bench_pipeline.sh first" % (a.bench, e))
    excluded = set()
    for e in a.exclude:
        m = re.fullmatch(r"(\d+):(\d+)", e)
        if not m:
            fail("--exclude %s: use PAYLOAD:FANOUT, e.g. 1200:5" % e)
        excluded.add((int(m.group(1)), int(m.group(2))))

    key = "pipeline_cycles_per_egress" + ("_p10" if a.stat == "p10" else "")
    points = []
    for r in bench.get("rows", []):
        if r.get("kind") != "fanout" or (r["payload"], r["fanout"]) in excluded:
            continue
        if not r.get("valid") or r.get(key) is None:
            fail("row %s is not valid (%s): rerun the calibration" %
                 (r.get("id"), "; ".join(r.get("problems", [])) or "no figure"))
        points.append({
            "payload": r["payload"], "fanout": r["fanout"], "streams": r.get("streams"),
            "cycles_per_ingress": r[key] * r["fanout"],
            "cycles_per_egress": r[key],
            "cycles_per_egress_p10": r.get("pipeline_cycles_per_egress_p10"),
            "spread_pct": r.get("pipeline_spread_pct"),
            "samples": r.get("samples_used"),
        })
    if not points:
        fail("%s has no fan-out rows: run perf/calibrate.sh" % a.bench)

    model, mhz, nominal = cpuinfo()
    arch = bench.get("arch")
    cal = {
        "format": 1,
        "kind": "perc-capacity calibration",
        "host": {
            "cpu_model": bench.get("cpu_model") or model or "unknown",
            "tsc_hz": bench["tsc_hz"],
            "nominal_hz": nominal,
            "cpu_mhz_now": mhz,
            "cpus": os.cpu_count(),
            "ipsec_mb": bench.get("ipsec_mb"),
            "arch": arch.get("used") if isinstance(arch, dict) else arch,
            "dpdk": bench.get("dpdk"),
            "git_commit": bench.get("git_commit"),
            "date": bench.get("date") or datetime.datetime.now(
                datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
        "budget_hz": bench["tsc_hz"],
        "cycles": "TSC ticks of perc-mdd's worker loop (busy cycles) per packet, %s over "
                  "the clean chunks of every repetition (perf/README.md, Pipeline "
                  "benchmark); budget_hz: TSC ticks one worker core has per second" % a.stat,
        "statistic": a.stat,
        "points": points,
        "segments": segments(points),
        "source": {"tool": "perf/calibrate.sh", "command": a.command,
                   "bench_command": bench.get("command"), "bench_date": bench.get("date"),
                   "excluded": sorted("%d:%d" % e for e in excluded)},
    }
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, "w") as f:
        json.dump(cal, f, indent=1)
        f.write("\n")
    print("calibration %s: %d points, %s, TSC %.4f GHz, ipsec-mb %s (%s)" % (
        a.out, len(points), cal["host"]["cpu_model"], cal["budget_hz"] / 1e9,
        cal["host"]["ipsec_mb"], cal["host"]["arch"]))
    for sg in cal["segments"]:
        print("  payload %5d, fan-out %2d to %2d: cycles per ingress packet = %5.0f + %4.0f x "
              "fan-out" % (sg["payload"], sg["fanout_from"], sg["fanout_to"], sg["a"], sg["b"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
