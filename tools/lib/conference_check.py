#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Assertions on a perc_conference.py report, one scenario at a time.

  conference_check.py SCENARIO REPORT.json [ID@S...]

Prints one 'ok'/'FAIL' line per check and exits 1 when any failed.
"""
import json
import sys

passed = failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
        print("ok   " + what)
    else:
        failed += 1
        print("FAIL " + what)


def eps(rep):
    return {e["id"]: e for e in rep.get("endpoints", [])}


def media_everywhere(rep, skip=()):
    """Every endpoint not in skip joined, sent, received and opened everything."""
    for i, e in sorted(eps(rep).items()):
        if i in skip:
            continue
        check(e.get("joined") is True and not e.get("failure"),
              "%s joined (%s)" % (i, e.get("failure") or e.get("state")))
        check(e.get("rtp_sent", 0) > 0 and e.get("rtp_received", 0) > 0,
              "%s sent %d, received %d" % (i, e.get("rtp_sent", 0), e.get("rtp_received", 0)))
        check(e.get("e2e_ok", 0) > 0 and e.get("e2e_fail", -1) == 0,
              "%s opened %d end to end, %d failures" % (i, e.get("e2e_ok", 0), e.get("e2e_fail", -1)))
        check(e.get("before_join_ok", -1) == 0,
              "%s opened nothing sealed under a key it never held (before_join_ok %s)"
              % (i, e.get("before_join_ok")))


def rekeys_ok(rep, want):
    rk = [r for r in rep.get("rekeys", []) if not r.get("at_end")]
    for conf, cause, n in want:
        got = [r for r in rk if r["conference"] == conf and r["cause"] == cause]
        check(len(got) >= n, "%s: %d %s rekeys (want >= %d)" % (conf, len(got), cause, n))
        for r in got:
            lat = r.get("latency_ms")
            check(lat is not None and 0 <= lat < 2000,
                  "%s %s rekey spi %s: every remaining sender switched after %s ms%s"
                  % (conf, cause, r.get("spi"), lat,
                     " (not: %s)" % r.get("not_switched") if r.get("not_switched") else ""))


def scenario_main(rep, args):
    leaver = late = None
    for x in args:
        i, _, t = x.partition("@")
        if x.startswith("leave="):
            leaver = i[6:]
        if x.startswith("late="):
            late = i[5:]
    check("error" not in rep, "the system ran (%s)" % rep.get("error", "no error"))
    media_everywhere(rep, skip=(leaver,))
    e = eps(rep)
    if leaver:
        l = e.get(leaver, {})
        check(l.get("joined") is True and l.get("e2e_ok", 0) > 0,
              "%s opened media before it left (%d)" % (leaver, l.get("e2e_ok", 0)))
        check(l.get("after_leave_ok") == 0,
              "%s opened nothing sent after the rekey that followed its departure "
              "(after_leave_ok %s)" % (leaver, l.get("after_leave_ok")))
        check(l.get("rtp_received_after_leave", 0) > 0,
              "%s kept receiving after it left (%d packets), so the check above means something"
              % (leaver, l.get("rtp_received_after_leave", 0)))
        conf = l.get("conference")
        rekeys_ok(rep, [(conf, "leave", 1)])
    if late:
        j = e.get(late, {})
        check(j.get("before_join_ok") == 0 and j.get("e2e_ok", 0) > 0,
              "late joiner %s opened %d packets, none sealed before it joined"
              % (late, j.get("e2e_ok", 0)))
        rekeys_ok(rep, [(j.get("conference"), "join", 1)])
    scan = rep.get("mdd_memory_scan")
    check(scan is not None and scan.get("keys", 0) > 0 and scan.get("bytes", 0) > 1 << 20,
          "perc-mdd's memory was read while media flowed (%s keys, %s MB)"
          % (scan and scan.get("keys"), scan and scan.get("bytes", 0) >> 20))
    check(scan is not None and not scan.get("found"),
          "no endpoint key in perc-mdd's memory (found: %s)" % (scan and scan.get("found")))
    check(rep.get("mdd_exit") == 0 and rep.get("kd_exit") == 0,
          "perc-mdd and perc-kd stopped cleanly (%s, %s)" % (rep.get("mdd_exit"), rep.get("kd_exit")))


def scenario_misuse(rep, args):
    e = eps(rep)
    good = [i for i in e if i not in ("c1-p2", "c1-p3", "c1-p4")]
    media_everywhere(rep, skip=("c1-p2", "c1-p3", "c1-p4"))
    for i, why, words in (("c1-p2", "token for another conference", ("token", "conf")),
                          ("c1-p3", "token bound to another certificate", ("token", "cert")),
                          ("c1-p4", "KD fingerprint not the pinned one", ("fingerprint",))):
        x = e.get(i, {})
        f = (x.get("failure") or "").lower()
        check(x.get("joined") is False and all(w in f for w in words),
              "%s refused: %s (failure: %s)" % (i, why, x.get("failure")))
        check(x.get("rtp_sent", -1) == 0 and x.get("e2e_ok", -1) == 0,
              "%s sent %s packets and opened %s" % (i, x.get("rtp_sent"), x.get("e2e_ok")))
    check(len(good) >= 2, "%d good endpoints ran beside them" % len(good))


def scenario_restart(rep, args):
    late = args[0].split("@")[0][5:] if args else None
    check("error" not in rep, "the system ran (%s)" % rep.get("error", "no error"))
    media_everywhere(rep)
    smp = rep.get("mdd_samples", [])
    stalls = [b["t"] for a, b in zip(smp, smp[1:]) if b["tx_rtp"] <= a["tx_rtp"]]
    check(len(smp) >= 5 and not stalls,
          "media through perc-mdd never stopped over %d one-second samples (stalled at %s)"
          % (len(smp), stalls))
    down = [x["t"] for x in smp if not x["tunnel"]]
    check(smp and smp[-1]["reconnects"] >= 1 and smp[-1]["tunnel"],
          "the tunnel came back after the restart (reconnects %s, down at %s)"
          % (smp and smp[-1]["reconnects"], down))
    if late:
        j = eps(rep).get(late, {})
        check(j.get("joined") and j.get("e2e_ok", 0) > 0,
              "%s joined after the KD restart and opened %d packets" % (late, j.get("e2e_ok", 0)))


def scenario_malformed(rep, args):
    check("error" not in rep, "the system ran (%s)" % rep.get("error", "no error"))
    bad = rep.get("malformed", [])
    check(len(bad) >= 15, "%d malformed inputs sent" % len(bad))
    for b in bad:
        if b.get("ok") is None:
            continue
        check(b["ok"], "%s: %s -> %s" % (b["target"], b["what"], b["answer"][:100]))
    media_everywhere(rep)
    check(rep.get("mdd_exit") == 0 and rep.get("kd_exit") == 0,
          "perc-mdd and perc-kd still stopped cleanly (%s, %s)"
          % (rep.get("mdd_exit"), rep.get("kd_exit")))


def main():
    scen, path = sys.argv[1], sys.argv[2]
    rep = json.load(open(path))
    {"main": scenario_main, "misuse": scenario_misuse, "restart": scenario_restart,
     "malformed": scenario_malformed}[scen](rep, sys.argv[3:])
    print("%s: %d passed, %d failed" % (scen, passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
