#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Does perc-capacity predict a scenario it was not calibrated on?
# (docs/capacity.md, "Checking the model"). Measures perc-mdd's worker loop
# (perf/bench_pipeline.sh) at payload 1200 for fan-out 1, 3, 10, 30 and at
# fan-out 5, interleaved in one run so that the machine's drift hits all
# of them alike; builds a calibration from every point but fan-out 5
# (calibrate.py --exclude); writes the fan-out 5 row's traffic as a
# scenario (one conference of 6, everyone sends 1200-byte audio, every
# second one also video with its header extension) and compares
# perc-capacity's cycles per egress packet for it (cycles/s over egress
# pps) with the measured one: 10th percentile (decides by default) and
# median, each from a calibration of the same statistic.
#
#   perf/check_prediction.sh [--build DIR] [--calibration FILE] [--tolerance PCT]
#
# With --calibration FILE only the point is measured, and the prediction
# comes from that file (a calibration made earlier on this machine, of the
# statistic --stat names).
# Exit status: 0 within the tolerance, 1 outside it or a run failed,
# 2 bad usage, 77 skipped (the benchmark is not built; with --opt-in: not
# asked for, or the machine is busy).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
build=$root/build
calibration=
tolerance=15
reps=3
egress=60000
payload=1200
fanout=5
attempts=1
stat=p10
opt_in=0

usage() {
	sed -n '3,/^set -euo/p' "${BASH_SOURCE[0]}" | grep '^#' | sed 's/^# \{0,1\}//'
	cat <<'EOF'

options:
  --build DIR         meson build folder (default: build/ beside perf/)
  --calibration FILE  predict from this calibration; measure only the point
  --point P:F         the point to predict (default 1200:5)
  --tolerance PCT     allowed |predicted - measured| / measured (default 15)
  --reps N            bench_pipeline repetitions (default 3)
  --egress N          timed egress packets per repetition (default 60000)
  --stat S            the statistic that decides, p10 (default) or median; both
                      are printed. The machine is shared: other work only
                      adds cycles, so the 10th percentile is the code's cost
                      and the median adds the neighbours' (docs/capacity.md)
  --opt-in            as a test (meson test capacity_prediction): skip (77)
                      unless PERC_PERF_CHECKS=1, and skip when the machine is
                      busy (1-minute load above the CPU count)
  --attempts N        measure again, up to N times in all, while the point is
                      outside the tolerance (default 1): a wrong model fails
                      every time, a noisy minute of a shared machine rarely
                      twice in a row
  -h, --help          this text
EOF
}

while [[ $# -gt 0 ]]; do
	case $1 in
	--build) build=$2; shift ;;
	--calibration) calibration=$2; shift ;;
	--tolerance) tolerance=$2; shift ;;
	--reps) reps=$2; shift ;;
	--egress) egress=$2; shift ;;
	--attempts) attempts=$2; shift ;;
	--stat) stat=$2; shift ;;
	--opt-in) opt_in=1 ;;
	--point)
		[[ $2 =~ ^([0-9]+):([0-9]+)$ ]] ||
			{ echo "check_prediction.sh: --point P:F, e.g. 1200:5" >&2; exit 2; }
		payload=${BASH_REMATCH[1]} fanout=${BASH_REMATCH[2]}
		shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "check_prediction.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done
[[ $tolerance =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "check_prediction.sh: --tolerance PCT" >&2; exit 2; }
[[ $stat == median || $stat == p10 ]] || { echo "check_prediction.sh: --stat median or p10" >&2; exit 2; }
[[ $attempts =~ ^[1-9]$ ]] || { echo "check_prediction.sh: --attempts 1 to 9" >&2; exit 2; }
for n in "$reps" "$egress"; do
	[[ $n =~ ^[1-9][0-9]*$ ]] || { echo "check_prediction.sh: '$n' is not a positive number" >&2; exit 2; }
done
# a timing check is only meaningful on a machine that is not busy with
# other work; as a test it runs when asked for
load=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo 0)
busy=$(python3 -c "import os,sys; print(int(float(sys.argv[1]) > os.cpu_count()))" "$load")
if [[ $opt_in == 1 ]]; then
	if [[ ${PERC_PERF_CHECKS:-0} != 1 ]]; then
		echo "check_prediction.sh: skipped: a timing check; run it on a quiet machine with" \
			"PERC_PERF_CHECKS=1 meson test -C build capacity_prediction"
		exit 77
	fi
	if [[ $busy == 1 ]]; then
		echo "check_prediction.sh: skipped: the machine is busy (load $load on $(nproc) CPUs)"
		exit 77
	fi
elif [[ $busy == 1 ]]; then
	echo "check_prediction.sh: warning: the machine is busy (load $load on $(nproc) CPUs):" \
		"expect noise"
fi
cap=$build/tools/perc-capacity
for b in "$cap" "$build/perf/perc-bench-pipeline" "$build/tools/perc-pcaptest"; do
	[[ -x $b ]] || { echo "check_prediction.sh: $b not built: skipped"; exit 77; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/check_prediction.XXXXXX")
# shellcheck disable=SC2317 # called by the trap
cleanup() { rm -rf "$work"; }
trap cleanup EXIT

fanouts="1 3 10 30 $fanout"
[[ -n $calibration ]] && fanouts=$fanout

# the fan-out row's traffic as a scenario (perf/README.md): 1 conference of
# F+1 endpoints, each sends P-byte audio, odd positions also video with an
# 8-byte header extension and 0-16 more bytes (16 counted); all SSRCs at
# one packet rate
write_scenario() {
	local size=$((fanout + 1))
	cat >"$1" <<EOF
{"format": 1, "name": "bench_pipeline fanout-$fanout-$payload traffic",
 "conferences": [{"count": 1, "size": $size}],
 "media": {"audio": {"payload_bytes": $payload, "packet_rate": 100},
           "video": {"senders": $(python3 -c "print($size // 2 / $size)"),
                     "header_extension_bytes": 16,
                     "layers": [{"payload_bytes": $payload, "packet_rate": 100}]}},
 "server": {"nic_gbps": 100, "ports": 1, "worker_cores": 1}, "headroom": 0}
EOF
}

# prediction of statistic $2 (median, p10) against the measurement in $1
compare() {
	local dir=$1 st=$2 cal=$calibration label=$calibration
	if [[ -z $cal ]]; then
		cal=$dir/calibration-$st.json
		label="same run, $payload:$fanout left out, $st"
		python3 "$here/calibrate.py" --bench "$dir/bench_pipeline.json" --out "$cal" \
			--stat "$st" --exclude "$payload:$fanout" >/dev/null || return 1
	fi
	"$cap" --calibration "$cal" --scenario "$dir/scenario.json" --format json \
		>"$dir/plan-$st.json" || return 1
	python3 "$here/calibrate.py" --compare "$dir/bench_pipeline.json" "$dir/plan-$st.json" \
		--point-of "$payload:$fanout" --stat "$st" --tolerance "$tolerance" --label "$label"
}

# one measurement in $work/$1; 0 when the --stat comparison is within the
# tolerance (both statistics are printed)
attempt() {
	local dir=$work/$1 rc=0 st verdict=1
	mkdir -p "$dir"
	"$here/bench_pipeline.sh" --build "$build" --out "$dir" --no-libsrtp --reps "$reps" \
		--egress "$egress" --fanouts "$fanouts" --payloads "$payload" --streams "" \
		--stream-payloads "" >"$dir/bench.log" 2>&1 || rc=$?
	grep -E '^(cpu|software|fanout-)' "$dir/bench.log" || true
	if [[ $rc != 0 ]]; then
		echo "check_prediction.sh: bench_pipeline.sh failed: $(tail -3 "$dir/bench.log")"
		return 1
	fi
	write_scenario "$dir/scenario.json"
	for st in median p10; do
		[[ -n $calibration && $st != "$stat" ]] && continue
		rc=0
		compare "$dir" "$st" >"$dir/compare-$st.txt" || rc=$?
		sed "s/^/$st: /" "$dir/compare-$st.txt"
		[[ $st == "$stat" ]] && verdict=$rc
	done
	return "$verdict"
}

for ((i = 1; i <= attempts; i++)); do
	attempt "$i" && exit 0
	if ((i < attempts)); then
		echo "attempt $i: outside the tolerance or failed; measuring again"
	fi
done
exit 1
