#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""The performance report: perf_ndr.json (perf/ndr.py) and, when present,
bench_pipeline.json (perf/bench_pipeline.sh, same run) into
  OUT/perf_report.md     host facts, NDR / PDR / MRR table, line rates,
                         the libsrtp2 pipeline and ipsec-mb floor beside ours
  OUT/plot_fanout.{png,svg}    packets per second against fan-out
  OUT/plot_streams.{png,svg}   cycles per packet against streams
  OUT/plot_workers.{png,svg}   speed-up against workers
with gnuplot (gnuplot-nox). docs/performance.md explains every figure.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

# bytes per packet besides the RTP payload: Ethernet 14 + FCS 4 + preamble 8
# + IFG 12 = 38, IPv4 20, UDP 8, RTP 12, inner and outer GCM tags 16 + 16,
# OHB 1, EKT Short field 1
OVERHEAD = {"ethernet (with preamble, IFG, FCS)": 38, "ipv4": 20, "udp": 8, "rtp": 12,
            "gcm tags (inner + outer)": 32, "ohb": 1, "ekt short": 1}


def wire_bytes(payload):
    return payload + sum(OVERHEAD.values())


def line_rates(payloads=(160, 1200), speeds=(10, 25, 100)):
    out = []
    for p in payloads:
        b = wire_bytes(p)
        out.append({"payload": p, "wire_bytes": b,
                    **{f"{g}GbE_pps": g * 1e9 / (8 * b) for g in speeds}})
    return out


def gnuplot(script, out, points=2):
    if points < 1:
        print(f"report_perf.py: no data for {os.path.basename(out)}: plot skipped", file=sys.stderr)
        return False
    if shutil.which("gnuplot") is None:
        print("report_perf.py: no gnuplot (apt-get install gnuplot-nox): plots skipped",
              file=sys.stderr)
        return False
    for term, ext in (("png size 900,560", "png"), ("svg size 900,560", "svg")):
        s = f"set terminal {term} noenhanced\nset output '{out}.{ext}'\n" + script
        r = subprocess.run(["gnuplot"], input=s, text=True, capture_output=True)
        if r.returncode != 0:
            print(f"report_perf.py: gnuplot failed on {out}.{ext}: {r.stderr.strip()[-300:]}",
                  file=sys.stderr)
            return False
    return True


def fmt(x, nd=0):
    return "-" if x is None else f"{x:,.{nd}f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--results", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                      "results"))
    a = ap.parse_args()
    R = a.results
    with open(os.path.join(R, "perf_ndr.json")) as f:
        nd = json.load(f)
    bp = None
    for name in ("bench_pipeline.json", "bench_pipeline_quick.json"):  # --quick writes the second
        if os.path.exists(os.path.join(R, name)):
            with open(os.path.join(R, name)) as f:
                bp = json.load(f)
            break
    rows = nd["rows"]
    h = nd["host"]

    def m(r, k):
        return r[k]["median"] if r.get(k) else None

    # ---- plots ----
    fan = sorted([r for r in rows if r["kind"] == "fanout"], key=lambda r: r["fanout"])
    with open(os.path.join(R, "plot_fanout.dat"), "w") as f:
        f.write("# fanout ndr_pps pdr_pps mrr_rx_pps ndr_egress_pps\n")
        for r in fan:
            f.write(f"{r['fanout']} {m(r, 'ndr_pps')} {m(r, 'pdr_pps')} "
                    f"{(m(r, 'mrr_rx_pps') or 0) / r['fanout']} {m(r, 'ndr_egress_pps')}\n")
    gnuplot(f"""set title "perc-mdd over net_memif, audio 160 B: packets per second against fan-out"
set xlabel "fan-out (receivers per packet)"
set ylabel "packets per second"
set logscale x
set grid
set key top right
plot '{R}/plot_fanout.dat' u 1:2 w lp t 'NDR ingress', '' u 1:3 w lp t 'PDR 0.5% ingress', \\
     '' u 1:4 w lp t 'MRR ingress (received / fan-out)', '' u 1:5 w lp t 'NDR egress'
""", os.path.join(R, "plot_fanout"), len(fan))

    st = sorted([r for r in rows if r["kind"] in ("streams", "fanout") and r["fanout"] == 4
                 and r["workers"] == 1 and r["media"] == "audio"],
                key=lambda r: r["streams"] or r["size"])
    with open(os.path.join(R, "plot_streams.dat"), "w") as f:
        f.write("# streams mdd_cycles_per_egress\n")
        for r in st:
            f.write(f"{r['streams'] or r['size']} {m(r, 'mdd_cycles_per_egress')}\n")
    extra = ""
    if bp:
        with open(os.path.join(R, "plot_streams_bench.dat"), "w") as f:
            f.write("# streams pipeline floor libsrtp2 (bench_pipeline, cycles per egress)\n")
            for b in sorted([b for b in bp["rows"] if b.get("kind") == "streams"],
                            key=lambda b: b["streams"]):
                f.write(f"{b['streams']} {b.get('pipeline_cycles_per_egress')} "
                        f"{b.get('floor_cycles_per_egress')} "
                        f"{b.get('libsrtp2_cycles_per_egress') or 'NaN'}\n")
        extra = (f", '{R}/plot_streams_bench.dat' u 1:2 w lp t 'worker loop (bench_pipeline)', "
                 f"'' u 1:3 w lp t 'ipsec-mb floor', '' u 1:4 w lp t 'libsrtp2 pipeline'")
    gnuplot(f"""set title "cycles per egress packet against streams (fan-out 4, 160 B)"
set xlabel "streams (sending SSRCs)"
set ylabel "TSC cycles per egress packet"
set logscale xy
set grid
plot '{R}/plot_streams.dat' u 1:2 w lp t 'perc-mdd busy cycles (memif run)'{extra}
""", os.path.join(R, "plot_streams"), len(st) + (1 if extra else 0))

    base = [r for r in rows if r["kind"] == "fanout" and r["fanout"] == 4 and r["workers"] == 1]
    wk = sorted(base[:1] + [r for r in rows if r["kind"] == "workers"], key=lambda r: r["workers"])
    with open(os.path.join(R, "plot_workers.dat"), "w") as f:
        f.write("# workers speedup_mrr speedup_ndr\n")
        b0 = base[0] if base else None
        for r in wk:
            s1 = (m(r, "mrr_rx_pps") or 0) / (m(b0, "mrr_rx_pps") or 1) if b0 else 0
            s2 = (m(r, "ndr_pps") or 0) / (m(b0, "ndr_pps") or 1) if b0 else 0
            f.write(f"{r['workers']} {s1} {s2}\n")
    gnuplot(f"""set title "speed-up against workers (fan-out 4, 160 B; this machine has {h.get('cpus')} CPUs)"
set xlabel "perc-mdd workers"
set ylabel "speed-up over 1 worker"
set xtics 1
set grid
plot '{R}/plot_workers.dat' u 1:2 w lp t 'MRR', '' u 1:3 w lp t 'NDR', x t 'linear'
""", os.path.join(R, "plot_workers"), len(wk))

    # ---- report ----
    L = []
    L.append("# perc-mdd performance report\n")
    L.append(f"Generated by `perf/report_perf.py` from `{nd['command']}` ({nd['elapsed_s']} s).\n")
    L.append("| host | |\n|---|---|")
    for k in ("date", "cpu_model", "cpu_mhz", "cpus", "kernel", "dpdk", "ipsec_mb", "ipsec_mb_arch",
              "git_commit"):
        L.append(f"| {k} | {h.get(k)} |")
    if bp:
        L.append(f"| tsc_hz (bench_pipeline) | {bp.get('tsc_hz'):.0f} |")
    meth = nd["method"]
    L.append(f"\nTrials of {meth['trial_s']} s; MRR {meth['reps']} trials; NDR/PDR "
             f"{meth['search_reps']} search(es) of at most {meth['max_trials']} trials to "
             f"{meth['precision'] * 100:.0f} %; PDR loss {meth['pdr_loss'] * 100:.1f} %; "
             f"memif rings of {2 ** meth.get('memif_rsize', 10)} slots. "
             f"{meth['topology']}.\n")
    L.append("## NDR, PDR (offered ingress packets per second), MRR (egress packets received per second); median [min, max]\n")
    L.append("| configuration | fan-out | media | streams | workers | NDR | PDR | MRR received (egress) | "
             "NDR egress | MDD cycles/egress | latency p50/p99 at NDR (us) |")
    L.append("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        def rng(k):
            x = r.get(k)
            return "-" if not x else f"{x['median']:,.0f} [{x['min']:,.0f}, {x['max']:,.0f}]"
        lat = r.get("latency_at_ndr_ns")
        L.append(f"| {r['id']} | {r['fanout']} | {r['media']} {r['payload'] or ''} | "
                 f"{r['streams'] or r['size'] * (2 if r['media'] == 'mix' else 1)} | {r['workers']} | "
                 f"{rng('ndr_pps')}{' (generator-bound)' if r.get('generator_limited') else ''} | "
                 f"{rng('pdr_pps')} | {rng('mrr_rx_pps')} | {fmt(m(r, 'ndr_egress_pps'))} | "
                 f"{fmt(m(r, 'mdd_cycles_per_egress'))} | "
                 f"{'-' if not lat else f'{lat[chr(112) + chr(53) + chr(48)] / 1e3:.0f} / {lat[chr(112) + chr(57) + chr(57)] / 1e3:.0f}'} |")
    L.append("\n## Line rates for the same packets\n")
    L.append("Bytes on the wire per packet: payload + " +
             " + ".join(f"{k} {v}" for k, v in OVERHEAD.items()) +
             f" = payload + {sum(OVERHEAD.values())}.\n")
    L.append("| payload | bytes on the wire | 10 GbE pps | 25 GbE pps | 100 GbE pps |")
    L.append("|---|---|---|---|---|")
    for x in line_rates():
        L.append(f"| {x['payload']} | {x['wire_bytes']} | {x['10GbE_pps']:,.0f} | "
                 f"{x['25GbE_pps']:,.0f} | {x['100GbE_pps']:,.0f} |")
    if bp:
        L.append("\n## The worker loop, the ipsec-mb floor and the libsrtp2 pipeline "
                 "(perf/bench_pipeline.sh, same run)\n")
        L.append("| row | fan-out | payload | streams | pipeline cyc/egress | floor cyc/egress | "
                 "libsrtp2 cyc/egress | pipeline Mpps/core | floor Mpps/core | speed-up vs libsrtp2 |")
        L.append("|---|---|---|---|---|---|---|---|---|---|")
        for b in bp["rows"]:
            L.append(f"| {b['id']} | {b.get('fanout')} | {b.get('payload')} | {b.get('streams')} | "
                     f"{fmt(b.get('pipeline_cycles_per_egress'))} | {fmt(b.get('floor_cycles_per_egress'))} | "
                     f"{fmt(b.get('libsrtp2_cycles_per_egress'))} | {fmt(b.get('pipeline_mpps_per_core'), 2)} | "
                     f"{fmt(b.get('floor_mpps_per_core'), 2)} | {fmt(b.get('speedup_vs_libsrtp2'), 1)} |")
    L.append("\n## Plots\n")
    for p in ("plot_fanout", "plot_streams", "plot_workers"):
        L.append(f"- `{p}.png`, `{p}.svg`")
    L.append("")
    with open(os.path.join(R, "perf_report.md"), "w") as f:
        f.write("\n".join(L))
    summary = {"host": h, "line_rates": line_rates(), "ndr": nd, "bench_pipeline": bp is not None}
    with open(os.path.join(R, "perf_report.json"), "w") as f:
        json.dump(summary, f, indent=1)
    print(f"wrote {R}/perf_report.md, perf_report.json and the plots")
    return 0


if __name__ == "__main__":
    sys.exit(main())
