#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""perc-mdd's worker cycles per ingress packet, measured through the harness.

Runs trials of perf/ndr.py (a fresh perc-mdd fed by perc-loadgen over
net_memif) at one offered ingress rate (--rate, default 250,000 pps; 0:
MRR), perc-loadgen sending whole bursts of 32 (--whole-bursts: the worker
sees full bursts, as at its limit), for a few points (conferences x size,
audio payload), interleaved round-robin so that a noisy minute of the
shared machine hits every point alike. Per trial: busy cycles of the
worker (perc-mdd --stats-json) x the share of the trial its thread was on
a CPU (/proc schedstat: a busy-polling thread is always runnable, and a
busy iteration that was descheduled counts its wait) / frames it received
= cycles per ingress packet, the quantity perc-capacity's model is made
of. Per point: the minimum, 25th percentile and median over the trials.
Other work on the machine mostly adds cycles (caches, the other
hyper-thread), so the low end of the trials is the estimate of what the
code costs (docs/capacity.md, "Checking the model against the harness").

Outputs (any of them):
  --json FILE         every trial and the statistics per point
  --calibration FILE  a perc-capacity calibration from the points (statistic
                      --stat), the file `perf/calibrate.sh --from harness`
                      writes; points named in --exclude are left out
"""
import argparse
import datetime
import json
import os
import re
import signal
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ndr  # noqa: E402  (perf/ndr.py: the trial runner)


def fail(msg):
    print("ndr_cycles.py: " + msg, file=sys.stderr)
    sys.exit(1)


def tsc_hz():
    """the TSC rate (the unit of perc-mdd's busy cycles): the kernel's
    tsc_khz where exposed, else its measured 'cpu MHz' (constant TSC)"""
    for p in ("/sys/devices/system/cpu/cpu0/tsc_freq_khz",):
        try:
            with open(p) as f:
                return float(f.read()) * 1e3
        except (OSError, ValueError):
            pass
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("cpu MHz"):
                    return float(line.split(":")[1]) * 1e6
    except (OSError, ValueError, IndexError):
        pass
    return None


def stats(xs):
    xs = sorted(xs)
    if not xs:
        return None
    q = statistics.quantiles(xs, n=4, method="inclusive")[0] if len(xs) > 1 else xs[0]
    return {"min": xs[0], "p25": q, "median": statistics.median(xs), "max": xs[-1],
            "spread_pct": 100.0 * (xs[-1] - xs[0]) / xs[0], "samples": xs}


def parse_point(s):
    """CONFERENCESxSIZE:PAYLOAD, e.g. 2x4:160 (audio only)"""
    m = re.fullmatch(r"(\d+)x(\d+):(\d+)", s)
    if not m or int(m.group(2)) < 2 or int(m.group(1)) < 1:
        raise argparse.ArgumentTypeError(
            "%r: use CONFERENCESxSIZE:PAYLOAD, e.g. 2x4:160 (size 2 or more)" % s)
    conf, size, pay = (int(g) for g in m.groups())
    return {"id": "c%dx%d-audio%d" % (conf, size, pay), "conferences": conf, "size": size,
            "fanout": size - 1, "media": "audio", "payload": pay, "streams": 0,
            "workers": 1, "audio_ssrcs": 1}


def measure(a, points, log):
    tr = ndr.Trials(a)
    provs = {c["id"]: tr.provision(c) for c in points}
    res = {c["id"]: [] for c in points}
    for rep in range(a.trials):
        for c in points:
            t = tr.trial(c, provs[c["id"]], a.rate, a.trial_s)
            cpi = raw = None
            # a trial whose traffic did not reach the MDD (the memif link
            # came up late) measures the start-up, not the forwarding
            short = a.rate and (t.get("mdd_rx") or 0) < 0.5 * a.rate * a.trial_s
            if t.get("mdd_busy_cycles") and t.get("mdd_rx") and not short:
                raw = t["mdd_busy_cycles"] / t["mdd_rx"]
                cpi = raw * (t.get("mdd_worker_oncpu", 1.0) if a.oncpu else 1.0)
            t["cycles_per_ingress"] = cpi
            t["cycles_per_ingress_raw"] = raw
            res[c["id"]].append(t)
            log("  trial %d %-16s rx %9s frames, tx %9s, worker on a CPU %s, %s cycles per "
                "ingress packet (raw %s)" % (
                    rep + 1, c["id"], t.get("mdd_rx"), t.get("mdd_tx"),
                    "%.0f%%" % (100 * t["mdd_worker_oncpu"]) if "mdd_worker_oncpu" in t else "?",
                    "%.0f" % cpi if cpi else "no figure (rc %s)" % t.get("rc"),
                    "%.0f" % raw if raw else "-"))
    out = []
    for c in points:
        ts = res[c["id"]]
        xs = [t["cycles_per_ingress"] for t in ts if t["cycles_per_ingress"]]
        if len(xs) < max(1, (a.trials + 1) // 2):
            fail("point %s: only %d of %d trials gave a figure: see %s" % (
                c["id"], len(xs), a.trials, a.work))
        row = dict(c)
        row.update(cycles_per_ingress=stats(xs),
                   ingress_per_s=stats([t["offered_pps"] for t in ts if t.get("ok")]),
                   trials=ts)
        out.append(row)
    return out, tr.arch


def point_name(r):
    return "%dx%d:%d" % (r["conferences"], r["size"], r["payload"])


def calibration(a, rows, arch, tsc, rnd=None):
    """from the statistic --stat of every point, or (rnd: a trial index)
    from that round of trials alone; None when a point has no figure"""
    keep = [r for r in rows if point_name(r) not in a.exclude]
    pts = []
    for r in keep:
        if rnd is None:
            cpi, n = r["cycles_per_ingress"][a.stat], len(r["cycles_per_ingress"]["samples"])
        else:
            cpi, n = r["trials"][rnd]["cycles_per_ingress"], 1
            if cpi is None:
                return None
        pts.append({"payload": r["payload"], "fanout": r["fanout"],
                    "streams": r["conferences"] * r["size"], "cycles_per_ingress": cpi,
                    "cycles_per_egress": cpi / r["fanout"],
                    "spread_pct": round(r["cycles_per_ingress"]["spread_pct"], 1),
                    "samples": n})
    by = {}
    for p in pts:
        by.setdefault(p["payload"], set()).add(p["fanout"])
    for p, fs in by.items():
        if len(fs) < 2:
            fail("payload %d has one fan-out: the model needs two; give more --point" % p)
    facts = ndr.host_facts(a.build)
    return {
        "format": 1,
        "kind": "perc-capacity calibration",
        "host": {"cpu_model": facts.get("cpu_model") or "unknown", "tsc_hz": tsc,
                 "nominal_hz": None, "cpu_mhz_now": facts.get("cpu_mhz"),
                 "cpus": facts.get("cpus"), "ipsec_mb": facts.get("ipsec_mb"), "arch": arch,
                 "dpdk": "DPDK " + facts["dpdk"] if facts.get("dpdk") else None,
                 "git_commit": facts.get("git_commit"),
                 "date": datetime.datetime.now(datetime.timezone.utc).strftime(
                     "%Y-%m-%dT%H:%M:%SZ")},
        "budget_hz": tsc,
        "cycles": "TSC ticks of perc-mdd's worker loop (busy cycles, --stats-json) per frame "
                  "received in perf/ndr.py trials over net_memif at %s (memif copies and the "
                  "poll loop included)%s; %s" % (
                      "%.0f ingress pps offered" % a.rate if a.rate else "MRR", "" if a.whole_bursts
                      else ", partial bursts", "scaled by the worker's share of time on a CPU"
                      if a.oncpu else "as counted"),
        "statistic": a.stat if rnd is None else "round %d of %d" % (rnd + 1, a.trials),
        "rate_pps": a.rate,
        "points": pts,
        "source": {"tool": "perf/ndr_cycles.py", "command": " ".join(sys.argv),
                   "harness": "perf/ndr.py MRR trials, %g s" % a.trial_s,
                   "excluded": sorted(a.exclude)},
    }


def per_core(path):
    with open(path) as f:
        return json.load(f)["per_core"]


def compare(a):
    """perc-capacity's per-core ingress rate for the scenario against the
    measured one (budget_hz / cycles per ingress packet): pooled (the
    calibration of --stat against the same statistic of the scenario's
    trials) and paired (each round's calibration against that round's
    scenario trial, which ran seconds apart); --decide says which one
    decides (paired falls back to pooled without rounds). 0 within
    --tolerance percent."""
    w = a.compare
    with open(os.path.join(w, "cycles.json")) as f:
        j = json.load(f)
    row = [r for r in j["rows"] if point_name(r) == a.scenario_point]
    if not row:
        fail("%s has no trials of %s" % (w, a.scenario_point))
    row = row[0]
    cyc = row["cycles_per_ingress"]
    pc = per_core(os.path.join(w, "plan.json"))
    m_pps = pc["budget_hz"] / cyc[a.stat]
    pooled = 100.0 * (pc["ingress_pps"] - m_pps) / m_pps
    print("scenario %s (fan-out %d), %s per trial" % (
        a.scenario_point, row["fanout"],
        "%.0f ingress pps offered" % j["rate"] if j.get("rate") else "MRR"))
    print("pooled (%s of %d trials per point; calibration: %s): predicted %.0f cycles per "
          "ingress packet = %.0f ingress pps per core, measured %.0f = %.0f: %+.1f%%" % (
              a.stat, len(cyc["samples"]), a.label, pc["cycles_per_ingress"],
              pc["ingress_pps"], cyc[a.stat], m_pps, pooled))
    errs = []
    for n, t in enumerate(row["trials"], 1):
        path = os.path.join(w, "plan-round-%d.json" % n)
        if not t.get("cycles_per_ingress") or not os.path.exists(path):
            continue
        p = per_core(path)
        mp = p["budget_hz"] / t["cycles_per_ingress"]
        e = 100.0 * (p["ingress_pps"] - mp) / mp
        errs.append((e, p["ingress_pps"], mp))
        print("  round %d: predicted %.0f cycles = %.0f ingress pps per core, measured %.0f "
              "= %.0f: %+.1f%%" % (n, p["cycles_per_ingress"], p["ingress_pps"],
                                   t["cycles_per_ingress"], mp, e))
    if errs:
        errs.sort()
        med = statistics.median(e for e, _, _ in errs)
        mid = errs[len(errs) // 2]
        print("paired (median of %d rounds): %+.1f%%%s" % (
            len(errs), med, " (the median round: predicted %.0f, measured %.0f ingress pps "
            "per core)" % mid[1:] if len(errs) % 2 else ""))
    decide, what = pooled, "pooled " + a.stat
    if errs and a.decide == "paired":
        decide, what = med, "paired median"
    ok = abs(decide) <= a.tolerance
    print("%s: %s %+.1f%% (tolerance %g%%)" % ("PASS" if ok else "FAIL", what, decide,
                                              a.tolerance))
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ndr.ROOT, "build"))
    ap.add_argument("--work", help="trial files (a folder)")
    ap.add_argument("--point", type=parse_point, action="append",
                    metavar="CxS:P", help="conferences x size : audio payload, e.g. 2x4:160")
    ap.add_argument("--trials", type=int, default=4, help="MRR trials per point (default 4)")
    ap.add_argument("--trial-s", type=float, default=0.5, help="seconds per trial (default 0.5)")
    ap.add_argument("--rate", type=float, default=250000,
                    help="ingress packets per second offered in every trial (default 250000; "
                         "0: MRR, the generator flat out)")
    ap.add_argument("--partial-bursts", dest="whole_bursts", action="store_false",
                    help="let perc-loadgen send what is due (default: --whole-bursts, so "
                         "that the worker sees full bursts as at its limit)")
    ap.add_argument("--raw", dest="oncpu", action="store_false",
                    help="busy cycles as counted; by default they are scaled by the share of "
                         "the trial the worker thread was on a CPU (/proc schedstat)")
    ap.add_argument("--stat", choices=("min", "p25", "median"), default="min",
                    help="statistic of the calibration (default min)")
    ap.add_argument("--exclude", action="append", default=[], metavar="CxS:P",
                    help="leave this point out of the calibration (to predict it)")
    ap.add_argument("--json", help="write every trial and the statistics here")
    ap.add_argument("--calibration", help="write a perc-capacity calibration here")
    ap.add_argument("--round-calibrations", metavar="PREFIX",
                    help="also one calibration per round of trials: PREFIX-N.json (N from 1; "
                         "rounds where a point gave no figure are left out)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--memif-rsize", type=int, default=14)
    ap.add_argument("--compare", metavar="DIR",
                    help="instead: compare the plans in DIR (plan.json, plan-round-N.json) with "
                         "DIR/cycles.json (perf/check_prediction_ndr.sh)")
    ap.add_argument("--scenario-point", metavar="CxS:P", help="the measured point (--compare)")
    ap.add_argument("--tolerance", type=float, default=15.0, help="percent (--compare)")
    ap.add_argument("--decide", choices=("pooled", "paired"), default="pooled",
                    help="which comparison decides (--compare; default pooled)")
    ap.add_argument("--label", default="", help="where the calibration came from (--compare)")
    a = ap.parse_args()
    if a.compare:
        if not a.scenario_point:
            ap.error("--compare needs --scenario-point")
        return compare(a)
    if not a.work or not a.point:
        ap.error("give --work DIR and at least one --point")
    if a.trials < 1 or a.trials > 50 or a.trial_s <= 0:
        ap.error("--trials 1 to 50 and --trial-s above 0")
    signal.signal(signal.SIGTERM, ndr.on_signal)
    signal.signal(signal.SIGINT, ndr.on_signal)
    a.build = os.path.abspath(a.build)
    a.work = os.path.abspath(a.work)
    tsc = tsc_hz()
    if not tsc:
        fail("cannot read the TSC rate (/proc/cpuinfo 'cpu MHz')")
    t0 = time.time()
    rows, arch = measure(a, a.point, lambda s: print(s, flush=True))
    for r in rows:
        s = r["cycles_per_ingress"]
        print("%-16s fan-out %2d: cycles per ingress packet min %.0f p25 %.0f median %.0f "
              "max %.0f (%d trials)" % (r["id"], r["fanout"], s["min"], s["p25"], s["median"],
                                         s["max"], len(s["samples"])))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"tool": "perf/ndr_cycles.py", "command": " ".join(sys.argv),
                       "rate": a.rate, "tsc_hz": tsc, "arch": arch, "trial_s": a.trial_s,
                       "elapsed_s": round(time.time() - t0, 1), "rows": rows}, f, indent=1)
    if a.calibration:
        cal = calibration(a, rows, arch, tsc)
        os.makedirs(os.path.dirname(os.path.abspath(a.calibration)), exist_ok=True)
        with open(a.calibration, "w") as f:
            json.dump(cal, f, indent=1)
            f.write("\n")
        print("calibration %s: %d points (%s), TSC %.4f GHz" % (
            a.calibration, len(cal["points"]), a.stat, tsc / 1e9))
    if a.round_calibrations:
        for i in range(a.trials):
            cal = calibration(a, rows, arch, tsc, i)
            if cal:
                with open("%s-%d.json" % (a.round_calibrations, i + 1), "w") as f:
                    json.dump(cal, f, indent=1)
                    f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
