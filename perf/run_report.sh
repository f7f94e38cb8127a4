#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The whole performance report in one command (docs/performance.md):
#   1. build;
#   2. perf/bench_pipeline.sh: perc-mdd's worker loop, the ipsec-mb floor and
#      the libsrtp2 pipeline on the same traffic (cycles per egress packet);
#   3. perf/ndr.py: NDR / PDR / MRR of perc-mdd driven by perc-loadgen over
#      net_memif (the sweep: fan-out, payload, streams, workers);
#   4. perf/report_perf.py: perf_report.md, JSON, CSV, gnuplot PNG + SVG.
#
#   perf/run_report.sh [--quick | --full] [--build DIR] [--out DIR] [--no-bench] [-- NDR.PY OPTIONS]
#
# Default: the short sweep (about 10 minutes on a 2-CPU VM). --quick: a
# smoke (about a minute). --full: every row of the issue, 3 repetitions
# (an hour or more).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
build=$root/build
out=$root/perf/results
mode=
bench=1
while [ $# -gt 0 ]; do
	case $1 in
	--quick) mode=--quick ;;
	--full) mode=--full ;;
	--build) build=$(cd "$2" && pwd); shift ;;
	--out) out=$2; shift ;;
	--no-bench) bench=0 ;;
	--) shift; break ;;
	-h|--help) sed -n '3,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "run_report.sh: unknown option '$1' (--help lists them)" >&2; exit 2 ;;
	esac
	shift
done
mkdir -p "$out"
out=$(cd "$out" && pwd)
ninja -C "$build" >/dev/null
if [ $bench = 1 ]; then
	case $mode in
	--quick) "$here/bench_pipeline.sh" --build "$build" --out "$out" --quick ;;
	--full) "$here/bench_pipeline.sh" --build "$build" --out "$out" \
		--payloads "160 1200" --stream-payloads "160" ;;
	*) "$here/bench_pipeline.sh" --build "$build" --out "$out" --reps 1 --egress 100000 \
		--fanouts "1 4 10" --payloads "160 1200" --streams "10 1000 10000" \
		--stream-payloads "160" ;;
	esac
fi
python3 "$here/ndr.py" --build "$build" --out "$out" $mode "$@"
python3 "$here/report_perf.py" --results "$out"
echo "report: $out/perf_report.md"
