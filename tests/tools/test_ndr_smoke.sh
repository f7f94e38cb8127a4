#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The NDR/PDR harness end to end, small: perf/ndr.py --quick (one
# configuration, perc-mdd + perc-loadgen over net_memif), then
# perf/report_perf.py; the results must hold a measured row, host facts,
# the report and the line rates.
# usage: test_ndr_smoke.sh SOURCE_ROOT BUILD_ROOT OUTDIR
set -u
S=$1 B=$2 O=$3
rm -rf "$O" && mkdir -p "$O" || exit 1
python3 "$S/perf/ndr.py" --quick --build "$B" --out "$O" || { echo "FAIL: ndr.py"; exit 1; }
python3 "$S/perf/report_perf.py" --results "$O" || { echo "FAIL: report_perf.py"; exit 1; }
python3 - "$O" <<'PY' || exit 1
import json, os, sys
o = sys.argv[1]
j = json.load(open(os.path.join(o, "perf_ndr.json")))
r = j["rows"][0]
assert r["mrr_rx_pps"]["median"] > 1000, r["mrr_rx_pps"]
assert r["ndr_pps"] is not None and r["pdr_pps"]["median"] >= r["ndr_pps"]["median"]
assert all(t["ok"] for t in r["trials"]), [t for t in r["trials"] if not t["ok"]]
h = j["host"]
for k in ("cpu_model", "dpdk", "ipsec_mb_arch", "git_commit"):
    assert h.get(k), k
rep = open(os.path.join(o, "perf_report.md")).read()
assert "| 160 | 272 | 4,595,588 |" in rep and "| 1200 | 1312 | 952,744 |" in rep
assert os.path.exists(os.path.join(o, "perf_ndr.csv"))
print("ndr smoke: MRR %.0f, NDR %.0f, PDR %.0f" % (r["mrr_rx_pps"]["median"], r["ndr_pps"]["median"], r["pdr_pps"]["median"]))
PY
