#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Calibration for perc-capacity (docs/capacity.md, "Calibrating"): runs the
# pipeline benchmark (perf/bench_pipeline.sh: perc-mdd's worker loop on
# fresh double-encrypted traffic) over a small sweep, payload 160 and 1200
# bytes x fan-out 1, 3, 10, 30, and writes perf/results/calibration.json
# (calibrate.py) with the host facts and cycles per ingress packet.
#
# With --from harness the points come from perf/ndr_cycles.py instead: real
# perc-mdd fed by perc-loadgen over net_memif (perf/ndr.py trials), the
# worker's busy cycles per frame received at one offered rate.
#
#   perf/calibrate.sh [--from bench|harness] [--build DIR] [--out FILE] ...
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
build=$root/build
out=$root/perf/results/calibration.json
reps=3
egress=100000
fanouts="1 3 10 30"
payloads="160 1200"
stat=median
keep=
from=bench
rate=250000
fanouts_set=
reps_set=

usage() {
	cat <<'EOF'
usage: perf/calibrate.sh [options]

Measures perc-mdd's worker loop (perf/bench_pipeline.sh, ipsec-mb engine,
no libsrtp2) for payload 160 and 1200 bytes at fan-out 1, 3, 10 and 30, and
writes the calibration file that perc-capacity reads: host facts (CPU,
TSC rate, ipsec-mb version and architecture, DPDK version, git commit,
date) and cycles per ingress and per egress packet at each point. About
30 s on a 2-core machine with the defaults.

options:
  --build DIR       meson build folder (default: build/ beside perf/)
  --out FILE        calibration to write (default perf/results/calibration.json)
  --reps N          bench_pipeline repetitions per point (default 3)
  --egress N        timed egress packets per repetition (default 100000)
  --fanouts "L"     fan-outs (default "1 3 10 30")
  --payloads "L"    RTP payload bytes (default "160 1200")
  --stat S          median (default) or p10 (10th percentile: a quiet machine);
                    with --from harness min (default), p25 or median
  --from SRC        bench (default): perf/bench_pipeline.sh, the worker loop
                    alone; harness: perf/ndr_cycles.py, perc-mdd end to end
                    over net_memif (one conference of fan-out + 1 endpoints
                    per point, audio; default fan-outs "1 2 5 10", payload
                    160, --reps 5 trials per point, about 2 minutes)
  --rate PPS        with --from harness: ingress packets per second offered
                    in every trial (default 250000; compare only with runs
                    at the same rate)
  --keep DIR        keep bench_pipeline's report (JSON, CSV) in DIR
  -h, --help        this text

Exit status: 0 written, 1 a run or the report failed, 2 bad usage.
EOF
}

cmdline="perf/calibrate.sh $*"
while [[ $# -gt 0 ]]; do
	case $1 in
	--build) build=$2; shift ;;
	--out) out=$2; shift ;;
	--reps) reps=$2; reps_set=1; shift ;;
	--from) from=$2; shift ;;
	--rate) rate=$2; shift ;;
	--egress) egress=$2; shift ;;
	--fanouts) fanouts=$2; fanouts_set=1; shift ;;
	--payloads) payloads=$2; shift ;;
	--stat) stat=$2; shift ;;
	--keep) keep=$2; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "calibrate.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done
for n in "$reps" "$egress"; do
	[[ $n =~ ^[1-9][0-9]*$ ]] || { echo "calibrate.sh: '$n' is not a positive number" >&2; exit 2; }
done
[[ $from == bench || $from == harness ]] ||
	{ echo "calibrate.sh: --from bench or harness" >&2; exit 2; }
if [[ $from == harness ]]; then
	[[ -n $fanouts_set ]] || fanouts="1 2 5 10"
	[[ -n $reps_set ]] || reps=5
	[[ $payloads == "160 1200" ]] && payloads=160
	[[ $stat == median ]] && stat=min
	[[ $stat == min || $stat == p25 || $stat == median ]] ||
		{ echo "calibrate.sh: --from harness: --stat min, p25 or median" >&2; exit 2; }
	[[ $rate =~ ^[1-9][0-9]*$ ]] || { echo "calibrate.sh: --rate PPS, e.g. 250000" >&2; exit 2; }
else
	[[ $stat == median || $stat == p10 ]] ||
		{ echo "calibrate.sh: --stat median or p10" >&2; exit 2; }
fi
[[ $(wc -w <<<"$fanouts") -ge 2 ]] ||
	{ echo "calibrate.sh: give at least two fan-outs: the model interpolates between them" >&2; exit 2; }

if [[ -n $keep ]]; then
	res=$keep
	mkdir -p "$res"
else
	res=$(mktemp -d "${TMPDIR:-/tmp}/calibrate.XXXXXX")
	# shellcheck disable=SC2317 # called by the trap
	cleanup() { rm -rf "$res"; }
	trap cleanup EXIT
fi

if [[ $from == harness ]]; then
	args=()
	for p in $payloads; do
		for f in $fanouts; do
			[[ $f =~ ^[1-9][0-9]*$ && $f -le 63 ]] ||
				{ echo "calibrate.sh: --from harness: fan-out '$f': use 1 to 63" >&2; exit 2; }
			args+=(--point "1x$((f + 1)):$p")
		done
	done
	python3 "$here/ndr_cycles.py" --build "$build" --work "$res/trials" --trials "$reps" \
		--rate "$rate" --stat "$stat" --json "$res/cycles.json" --calibration "$out" \
		"${args[@]}" >"$res/harness.log" 2>&1 || rc=$?
	grep -E 'cycles per ingress packet min|^calibration' "$res/harness.log" || true
	[[ ${rc:-0} == 0 ]] ||
		{ echo "calibrate.sh: perf/ndr_cycles.py failed (exit $rc): $(tail -3 "$res/harness.log")" >&2; exit 1; }
	exit 0
fi
"$here/bench_pipeline.sh" --build "$build" --out "$res" --no-libsrtp --reps "$reps" \
	--egress "$egress" --fanouts "$fanouts" --payloads "$payloads" --streams "" \
	--stream-payloads "" >"$res/bench.log" 2>&1 || rc=$?
grep -E '^(cpu|software|fanout-|INVALID|FAIL)' "$res/bench.log" || true
[[ ${rc:-0} == 0 ]] ||
	{ echo "calibrate.sh: bench_pipeline.sh failed (exit $rc): $(tail -3 "$res/bench.log")" >&2; exit 1; }
python3 "$here/calibrate.py" --bench "$res/bench_pipeline.json" --out "$out" --stat "$stat" \
	--command "$cmdline"
