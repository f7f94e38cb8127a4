#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""NDR / PDR / MRR harness for perc-mdd driven by perc-loadgen over net_memif.

Each trial starts perc-mdd (memif server) and perc-loadgen (memif client) on
this machine, offers a fixed rate for --trial-s seconds after a priming
round, and takes the loss from perc-loadgen's receiver, which opens every
packet the MDD sends back. Per configuration:

  MRR  the generator offers as fast as it goes (--rate 0); the received
       rate is measured, --reps times (median, min, max);
  NDR  the highest offered rate with zero loss,
  PDR  the highest offered rate with at most --pdr loss (0.5 %),
       both by one bisection that narrows both intervals at once, between 0
       and the MRR offered rate, until each interval is within --precision
       of its lower bound or --max-trials ran; the search runs
       --search-reps times (median, min, max).

Loss is 1 - opened / (offered x fan-out): packets the generator's port did
not take count as lost, as do packets that failed any check. Results go to
OUT/perf_ndr.json and .csv; perf/report_perf.py turns them into plots and a
report (perf/run_report.sh runs everything). docs/performance.md.
"""
import argparse
import csv
import datetime
import json
import os
import signal
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHILDREN = []  # perc-mdd / perc-loadgen of the running trial


def on_signal(signum, frame):
    """Never leave DPDK processes behind: stop the trial's, then exit."""
    for p in list(CHILDREN):
        if p.poll() is None:
            p.kill()
            p.wait()
    sys.exit(128 + signum)


def host_facts(build):
    facts = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    model, mhz = None, []
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                k, _, v = line.partition(":")
                k = k.strip()
                if k == "model name" and model is None:
                    model = v.strip()
                elif k == "cpu MHz":
                    mhz.append(float(v))
    except OSError:
        pass
    facts["cpu_model"] = model
    facts["cpu_mhz"] = statistics.median(mhz) if mhz else None
    facts["cpus"] = os.cpu_count()
    facts["kernel"] = os.uname().release

    def out(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=20,
                                  cwd=ROOT).stdout.strip() or None
        except (OSError, subprocess.SubprocessError):
            return None
    facts["dpdk"] = out(["pkg-config", "--modversion", "libdpdk"])
    facts["ipsec_mb"] = out(["pkg-config", "--modversion", "libIPSec_MB"]) or \
        out(["sh", "-c", "dpkg-query -W -f='${Version}' libipsec-mb1 2>/dev/null"])
    commit = out(["git", "rev-parse", "--short", "HEAD"])
    dirty = out(["git", "status", "--porcelain", "--", "dataplane", "tools/loadgen", "perf"])
    facts["git_commit"] = (commit or "unknown") + ("+dirty" if dirty else "")
    facts["build"] = os.path.relpath(build, ROOT) if build.startswith(ROOT) else build
    return facts


def worker_sched(pid):
    """/proc schedstat of perc-mdd's worker threads (DPDK names them
    rte-worker-N, older releases lcore-worker-N): nanoseconds on a CPU and
    waiting on a run queue"""
    out = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                if not f.read().startswith(("rte-worker", "lcore-worker")):
                    continue
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                run, wait, _ = (int(x) for x in f.read().split())
            out.append({"tid": int(tid), "run_ns": run, "wait_ns": wait})
    except (OSError, ValueError):
        return None
    return out or None


class Trials:
    def __init__(self, a):
        self.a = a
        self.mdd = os.path.join(a.build, "dataplane", "mdd", "perc-mdd")
        self.lg = os.path.join(a.build, "tools", "perc-loadgen")
        for p in (self.mdd, self.lg):
            if not os.access(p, os.X_OK):
                sys.exit(f"ndr.py: {p} missing: build first (ninja -C {a.build})")
        os.makedirs(a.work, exist_ok=True)
        self.n = 0
        self.tag = f"ndr{os.getpid()}"
        self.arch = None
        ncpu = os.cpu_count() or 1
        self.worker_cpus = list(range(1, ncpu)) or [0]
        self.rsize = f",rsize={a.memif_rsize}"

    def world_args(self, c):
        w = ["--conferences", str(c["conferences"]), "--size", str(c["size"]),
             "--media", c["media"], "--seed", str(self.a.seed)]
        if c.get("streams"):
            w += ["--streams", str(c["streams"])]
        if c.get("audio_ssrcs", 1) > 1:
            w += ["--audio-ssrcs", str(c["audio_ssrcs"])]
        if c["media"] == "audio":
            w += ["--audio-payload", str(c["payload"])]
        elif c["media"] == "video":
            w += ["--video-payload", str(c["payload"])]
        return w

    def provision(self, c):
        path = os.path.join(self.a.work, c["id"] + ".provision.json")
        subprocess.run([self.lg, "--write-provision", path] + self.world_args(c), check=True)
        return path

    def lcores(self, workers):
        cpus = self.worker_cpus
        return "0@0," + ",".join(f"{i + 1}@{cpus[i % len(cpus)]}" for i in range(workers))

    def trial(self, c, prov, rate, duration):
        """One trial; a trial that did not run (no result: the memif link
        did not come up on a loaded machine) is tried once more."""
        t = self.trial1(c, prov, rate, duration)
        if not t["ok"]:
            sys.stderr.write(f"ndr.py: trial at {rate:.0f} pps gave no result (rc {t['rc']}): again\n")
            t = self.trial1(c, prov, rate, duration)
        return t

    def trial1(self, c, prov, rate, duration):
        """One trial: a fresh perc-mdd and perc-loadgen; returns a dict."""
        self.n += 1
        n, w = self.n, self.a.work
        sock = os.path.join(w, f"memif{n}.sock")
        stats = os.path.join(w, f"mdd{n}.json")
        res = os.path.join(w, f"lg{n}.json")
        pm, pg = f"{self.tag}m{n}", f"{self.tag}g{n}"
        big = c.get("streams", 0) > 20000
        mem = ["--no-pci", "--no-huge", "-m", "1536" if big else "512", "--log-level=*:error"]
        # perc-mdd's start-up line (awaited below) is a perc.mdd.control
        # notice; before *:error, since DPDK 22.11 gives a type registered
        # after the EAL the first --log-level that matches it
        mcmd = [self.mdd, "--log-level=perc.mdd.control:notice"] + mem + [
                                   "--file-prefix", pm, "--lcores", self.lcores(c["workers"]),
                                   "--vdev", f"net_memif0,role=server,socket={sock},socket-abstract=no{self.rsize}",
                                   "--", "--addr", "192.0.2.1", "--provision", prov,
                                   "--stats-json", stats, "--mbufs", "16383",
                                   "--max-endpoints", str(max(16384, c.get("streams", 0)))]
        gcmd = [self.lg] + mem + ["--file-prefix", pg, "--lcores", "0@0",
                                  "--vdev", f"net_memif0,role=client,socket={sock},socket-abstract=no{self.rsize}",
                                  "--"] + self.world_args(c) + [
            "--rate", str(int(rate)), "--duration", str(duration), "--json", res,
            "--warmup-ms", "300", "--drain-ms", "300", "--queues", str(c["workers"])] + (
            ["--whole-bursts"] if getattr(self.a, "whole_bursts", False) else [])
        mlog = open(os.path.join(w, f"mdd{n}.log"), "w")
        mdd = subprocess.Popen(mcmd, stdout=mlog, stderr=subprocess.STDOUT)
        CHILDREN.append(mdd)
        rc = None
        try:
            # the memif socket exists from the vdev probe on, but a client
            # that connects before perc-mdd started its port can hang: wait
            # for perc-mdd's start-up line instead
            mlog.flush()
            for _ in range(300):
                if mdd.poll() is not None:
                    break
                with open(os.path.join(w, f"mdd{n}.log")) as f:
                    if "conference(s)" in f.read():
                        break
                time.sleep(0.1)
            if mdd.poll() is None:
                g = subprocess.Popen(gcmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True)
                CHILDREN.append(g)
                try:
                    # key set-up and priming of 100,000 streams take a while
                    _, err = g.communicate(timeout=45 + duration + c.get("streams", 0) / 1000)
                    rc = g.returncode
                    if rc not in (0, 1):
                        sys.stderr.write(err[-2000:])
                except subprocess.TimeoutExpired:
                    g.kill()
                    g.wait()
                    rc = "timeout"
                CHILDREN.remove(g)
        finally:
            if mdd in CHILDREN:
                CHILDREN.remove(mdd)
            sched = worker_sched(mdd.pid) if mdd.poll() is None else None
            if mdd.poll() is None:
                mdd.send_signal(signal.SIGINT)
                try:
                    mdd.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    mdd.kill()
                    mdd.wait()
            mlog.close()
            for p in (pm, pg):
                subprocess.run(["rm", "-rf", f"/var/run/dpdk/{p}"], check=False)
            if os.path.exists(sock):
                os.unlink(sock)
        # perc-mdd's own exit status (a crash on SIGINT would show here)
        t = {"rate": rate, "rc": rc, "mdd_rc": mdd.returncode}
        if sched:
            t["mdd_worker_sched"] = sched
        if mdd.returncode not in (0, None):
            sys.stderr.write(f"ndr.py: perc-mdd of trial {n} exited with {mdd.returncode}\n")
        try:
            with open(res) as f:
                j = json.load(f)
        except (OSError, ValueError):
            t.update(ok=False, loss=1.0)
            return t
        self.arch = j["config"]["arch"]
        t.update(ok=True, offered_pps=j["tx"]["offered_pps"], rx_pps=j["rx"]["ok_pps"],
                 loss=max(0.0, j["loss_ratio_offered"]), errors=j["errors"],
                 tx_full=j["tx"]["tx_full"], lat_p50_ns=j["latency_ns"]["p50"],
                 lat_p99_ns=j["latency_ns"]["p99"], lat_max_ns=j["latency_ns"]["max"])
        if j["errors"]:
            t["loss"] = max(t["loss"], 1e-9)  # a failed check is never "no loss"
        try:
            with open(stats) as f:
                s = json.load(f)
            tot = s["total"]
            busy = sum(x.get("busy_cycles", 0) for x in s["workers"])
            run = sum(x["run_ns"] for x in sched or [])
            wait = sum(x["wait_ns"] for x in sched or [])
            if run + wait > 0:
                # the busy-polling worker is always runnable: its wall time
                # is on-CPU + waiting for a CPU; busy cycles are wall-clock
                # TSC ticks and so include the waits of busy iterations
                t["mdd_worker_oncpu"] = run / (run + wait)
            t.update(mdd_rx=tot.get("rx_frames"), mdd_tx=tot.get("tx_frames"),
                     mdd_tx_full=tot.get("tx_full"), mdd_busy_cycles=busy,
                     mdd_cycles_per_egress=busy / tot["tx_frames"] if tot.get("tx_frames") else None)
        except (OSError, ValueError, KeyError):
            pass
        os.unlink(res)
        return t


def med(xs):
    xs = [x for x in xs if x is not None]
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "samples": xs} if xs else None


def search(tr, c, prov, hi, a, log):
    """One bisection narrowing NDR and PDR together. Returns (ndr, pdr, trials)."""
    ndr_lo = pdr_lo = 0.0
    ndr_hi = pdr_hi = hi
    trials = []
    # first: the top; most configurations lose there, some do not
    rate = hi
    for _ in range(a.max_trials):
        t = tr.trial(c, prov, rate, a.trial_s)
        trials.append(t)
        log(f"    trial {rate:12.0f} pps offered: loss {t['loss']:.6f}")
        if t["loss"] <= 0:
            ndr_lo = max(ndr_lo, rate)
        else:
            ndr_hi = min(ndr_hi, rate)
        if t["loss"] <= a.pdr:
            pdr_lo = max(pdr_lo, rate)
        else:
            pdr_hi = min(pdr_hi, rate)
        ndr_ok = ndr_hi - ndr_lo <= a.precision * max(ndr_lo, 1) or ndr_lo >= hi
        pdr_ok = pdr_hi - pdr_lo <= a.precision * max(pdr_lo, 1) or pdr_lo >= hi
        if ndr_ok and pdr_ok:
            break
        rate = (ndr_lo + ndr_hi) / 2 if not ndr_ok else (pdr_lo + pdr_hi) / 2
    return ndr_lo, pdr_lo, trials


def configs(a):
    out = []

    def add(kind, size, media, payload, streams=0, workers=1, audio_ssrcs=1):
        cid = f"{kind}-s{size}-{media}{payload}-st{streams}-w{workers}"
        out.append({"id": cid, "kind": kind, "conferences": 1, "size": size, "fanout": size - 1,
                    "media": media, "payload": payload, "streams": streams, "workers": workers,
                    "audio_ssrcs": audio_ssrcs})
    for f in a.fanouts:
        add("fanout", f + 1, "audio", 160)
    for p in a.payloads:
        add("payload", 5, p if p == "mix" else ("audio" if int(p) < 600 else "video"),
            0 if p == "mix" else int(p))
    for s in a.streams:
        # conferences of 5 endpoints x 2 SSRCs, as perf/bench_pipeline.sh
        add("streams", 5, "audio", 160, streams=s, audio_ssrcs=2)
    for w in a.workers:
        add("workers", 5, "audio", 160, workers=w)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--out", default=os.path.join(ROOT, "perf", "results"))
    ap.add_argument("--work", default=None, help="trial files (default OUT/ndr-work)")
    ap.add_argument("--full", action="store_true",
                    help="the full sweep: fan-out 1 4 10 50, streams to 100000, workers 1 2, 3 reps")
    ap.add_argument("--quick", action="store_true", help="one configuration, short trials (smoke)")
    ap.add_argument("--trial-s", type=float, default=1.0, help="seconds per trial (default 1)")
    ap.add_argument("--reps", type=int, default=3, help="MRR trials per configuration (default 3)")
    ap.add_argument("--search-reps", type=int, default=1, help="NDR/PDR searches per configuration")
    ap.add_argument("--max-trials", type=int, default=8, help="trials per search (default 8)")
    ap.add_argument("--precision", type=float, default=0.1, help="search interval / lower bound (0.1)")
    ap.add_argument("--pdr", type=float, default=0.005, help="PDR loss ratio (default 0.005)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--memif-rsize", type=int, default=14,
                    help="log2 of the memif ring size (default 14: 16384 slots, which rides out "
                         "the scheduler's pauses on a shared VM; DPDK's default is 10)")
    ap.add_argument("--fanouts", type=int, nargs="*")
    ap.add_argument("--payloads", nargs="*", help="payload rows at fan-out 4: bytes or 'mix'")
    ap.add_argument("--streams", type=int, nargs="*")
    ap.add_argument("--workers", type=int, nargs="*")
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if a.full:
        dflt = dict(fanouts=[1, 4, 10, 50], payloads=["1200", "mix"], streams=[1000, 10000, 100000],
                    workers=[2])
        a.reps = max(a.reps, 3)
        a.search_reps = max(a.search_reps, 3)
        a.trial_s = max(a.trial_s, 2.0)
    elif a.quick:
        dflt = dict(fanouts=[2], payloads=[], streams=[], workers=[])
        a.reps, a.max_trials, a.trial_s = 1, 3, 0.5
    else:
        dflt = dict(fanouts=[1, 4, 10], payloads=["1200", "mix"], streams=[1000, 10000], workers=[2])
    for k, v in dflt.items():
        if getattr(a, k) is None:
            setattr(a, k, v)
    a.build = os.path.abspath(a.build)
    a.out = os.path.abspath(a.out)
    a.work = os.path.abspath(a.work or os.path.join(a.out, "ndr-work"))
    os.makedirs(a.out, exist_ok=True)
    tr = Trials(a)

    def log(s):
        print(s, flush=True)
    rows = []
    t0 = time.time()
    for c in configs(a):
        prov = tr.provision(c)
        log(f"{c['id']}: fan-out {c['fanout']}, {c['media']} {c['payload'] or 'mix'}, "
            f"streams {c['streams'] or c['size']}, workers {c['workers']}")
        mrr = [tr.trial(c, prov, 0, a.trial_s) for _ in range(a.reps)]
        for t in mrr:
            log(f"    MRR offered {t.get('offered_pps', 0):12.0f} pps, received "
                f"{t.get('rx_pps', 0):12.0f} pps, loss {t['loss']:.6f}")
        # the search's top: what the generator offered flat out, but no more
        # than 1.25 x the ingress rate the MDD delivered (received / fan-out)
        hi = max(t.get("offered_pps", 0) for t in mrr)
        rx = max(t.get("rx_pps", 0) for t in mrr) / c["fanout"]
        if rx > 0:
            hi = min(hi, 1.25 * rx)
        ndrs, pdrs, strials = [], [], []
        for _ in range(a.search_reps if hi > 0 else 0):
            n, p, ts = search(tr, c, prov, hi, a, log)
            ndrs.append(n)
            pdrs.append(p)
            strials += ts
        row = dict(c)
        row.update(
            mrr_rx_pps=med([t.get("rx_pps") for t in mrr]),
            mrr_offered_pps=med([t.get("offered_pps") for t in mrr]),
            mrr_loss=med([t["loss"] for t in mrr]),
            ndr_pps=med(ndrs) or med([0]), pdr_pps=med(pdrs) or med([0]),
            ndr_egress_pps=med([x * c["fanout"] for x in ndrs] or [0]),
            pdr_egress_pps=med([x * c["fanout"] for x in pdrs] or [0]),
            mdd_cycles_per_egress=med([t.get("mdd_cycles_per_egress") for t in mrr]),
            generator_limited=bool(ndrs) and all(x >= hi for x in ndrs),
            trials=mrr + strials)
        ok_at_ndr = [t for t in strials if t["loss"] <= 0 and t.get("lat_p50_ns")]
        if ok_at_ndr:
            best = max(ok_at_ndr, key=lambda t: t["rate"])
            row["latency_at_ndr_ns"] = {"p50": best["lat_p50_ns"], "p99": best["lat_p99_ns"],
                                        "max": best["lat_max_ns"]}
        rows.append(row)
        log(f"  => NDR {row['ndr_pps']['median']:.0f} pps, PDR {row['pdr_pps']['median']:.0f} pps, "
            f"MRR {row['mrr_rx_pps']['median'] if row['mrr_rx_pps'] else 0:.0f} pps received")
    facts = host_facts(a.build)
    facts["ipsec_mb_arch"] = tr.arch
    doc = {"tool": "perf/ndr.py", "command": " ".join(sys.argv), "host": facts,
           "method": {"memif_rsize": a.memif_rsize, "trial_s": a.trial_s, "reps": a.reps, "search_reps": a.search_reps,
                      "max_trials": a.max_trials, "precision": a.precision, "pdr_loss": a.pdr,
                      "topology": "perc-loadgen (lcore 0 on CPU 0) <-> net_memif <-> perc-mdd "
                                  "(control on CPU 0, workers on CPU 1..)"},
           "elapsed_s": round(time.time() - t0, 1), "rows": rows}
    path = os.path.join(a.out, "perf_ndr.json")
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
    with open(os.path.join(a.out, "perf_ndr.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "kind", "fanout", "media", "payload", "streams", "workers",
                    "ndr_pps", "ndr_min", "ndr_max", "pdr_pps", "pdr_min", "pdr_max",
                    "mrr_rx_pps", "mrr_min", "mrr_max", "ndr_egress_pps", "mdd_cycles_per_egress",
                    "generator_limited", "cpu_model", "dpdk", "ipsec_mb_arch", "git_commit"])
        for r in rows:
            def g(k, s="median"):
                return round(r[k][s], 1) if r.get(k) else ""
            w.writerow([r["id"], r["kind"], r["fanout"], r["media"], r["payload"], r["streams"] or r["size"],
                        r["workers"], g("ndr_pps"), g("ndr_pps", "min"), g("ndr_pps", "max"),
                        g("pdr_pps"), g("pdr_pps", "min"), g("pdr_pps", "max"),
                        g("mrr_rx_pps"), g("mrr_rx_pps", "min"), g("mrr_rx_pps", "max"),
                        g("ndr_egress_pps"), g("mdd_cycles_per_egress"), r["generator_limited"],
                        facts["cpu_model"], facts["dpdk"], facts["ipsec_mb_arch"], facts["git_commit"]])
    log(f"wrote {path} and perf_ndr.csv ({doc['elapsed_s']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
