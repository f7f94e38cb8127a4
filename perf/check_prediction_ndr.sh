#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Does perc-capacity predict what the harness then measures on this machine?
# (docs/capacity.md, "Checking the model against the harness"). Runs
# perf/ndr_cycles.py: trials of perf/ndr.py (real perc-mdd fed by
# perc-loadgen over net_memif) at one offered ingress rate (250,000 pps,
# whole bursts), interleaved round-robin, for the calibration points (one
# conference of 3 and one of 6, audio 160 B: fan-out 2 and 5) and for the
# scenario (2 conferences x 4, audio 160 B: fan-out 3, which the
# calibration did not measure). The calibration is made from the
# calibration points only; perc-capacity plans the scenario from it, and
# its per-core ingress rate (budget_hz / predicted cycles per ingress
# packet, JSON per_core.ingress_pps) is compared with the one measured
# (budget_hz / the worker's busy cycles per frame received, scaled by the
# share of the trial the worker thread was on a CPU). Statistic: the
# minimum over the trials, for both the calibration and the measurement:
# other work on the shared machine adds cycles, so the lowest trial is the
# closest to what the code costs. About 40 s.
#
#   perf/check_prediction_ndr.sh [--build DIR] [--calibration FILE] [options]
#
# With --calibration FILE only the scenario is measured and the prediction
# comes from that file (perf/calibrate.sh --from harness, made earlier at
# the same --rate).
# Exit status: 0 within the tolerance, 1 outside it or a run failed,
# 2 bad usage, 77 skipped (not built; with --opt-in: not asked for).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
build=$root/build
calibration=
tolerance=15
trials=5
trial_s=1
rate=250000
stat=min
cal_points="1x3:160 1x6:160"
decide=pooled
scenario_point=2x4:160
opt_in=0
keep=

usage() {
	sed -n '3,/^set -euo/p' "${BASH_SOURCE[0]}" | grep '^#' | sed 's/^# \{0,1\}//'
	cat <<'EOF'

options:
  --build DIR         meson build folder (default: build/ beside perf/)
  --calibration FILE  predict from this calibration; measure only the scenario
  --scenario CxS:P    the scenario: C conferences of S endpoints, audio P bytes
                      (default 2x4:160)
  --cal-points "L"    calibration points, CxS:P each (default "1x3:160 1x6:160":
                      fan-out 2 and 5, the neighbours of the scenario's 3)
  --rate PPS          ingress packets per second offered in every trial
                      (default 250000; the calibration must be made at the
                      same rate: the worker's cost per packet falls as its
                      bursts fill)
  --trials N          trials per point (default 5)
  --trial-s S         seconds of traffic per trial (default 1)
  --stat S            min (default), p25 or median of the trials
  --decide D          pooled (default): the --stat of each point's trials;
                      paired: the median over rounds of each round's own
                      calibration against its scenario trial (both printed)
  --tolerance PCT     allowed |predicted - measured| / measured (default 15)
  --keep DIR          keep the trials, calibration, scenario and plan in DIR
  --opt-in            as a test: skip (77) unless PERC_PERF_CHECKS=1
  -h, --help          this text
EOF
}

while [[ $# -gt 0 ]]; do
	case $1 in
	--build) build=$2; shift ;;
	--calibration) calibration=$2; shift ;;
	--scenario) scenario_point=$2; shift ;;
	--cal-points) cal_points=$2; shift ;;
	--rate) rate=$2; shift ;;
	--trials) trials=$2; shift ;;
	--trial-s) trial_s=$2; shift ;;
	--stat) stat=$2; shift ;;
	--decide) decide=$2; shift ;;
	--tolerance) tolerance=$2; shift ;;
	--keep) keep=$2; shift ;;
	--opt-in) opt_in=1 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "check_prediction_ndr.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done
[[ $tolerance =~ ^[0-9]+(\.[0-9]+)?$ ]] ||
	{ echo "check_prediction_ndr.sh: --tolerance PCT, e.g. 15" >&2; exit 2; }
[[ $stat == min || $stat == p25 || $stat == median ]] ||
	{ echo "check_prediction_ndr.sh: --stat min, p25 or median" >&2; exit 2; }
[[ $decide == pooled || $decide == paired ]] ||
	{ echo "check_prediction_ndr.sh: --decide pooled or paired" >&2; exit 2; }
for n in "$trials" "$rate"; do
	[[ $n =~ ^[1-9][0-9]*$ ]] ||
		{ echo "check_prediction_ndr.sh: '$n' is not a positive whole number" >&2; exit 2; }
done
[[ $scenario_point =~ ^([1-9][0-9]*)x([0-9]+):([0-9]+)$ ]] ||
	{ echo "check_prediction_ndr.sh: --scenario CxS:P, e.g. 2x4:160" >&2; exit 2; }
conf=${BASH_REMATCH[1]} size=${BASH_REMATCH[2]} payload=${BASH_REMATCH[3]}
if [[ $opt_in == 1 && ${PERC_PERF_CHECKS:-0} != 1 ]]; then
	echo "check_prediction_ndr.sh: skipped: a timing check; run it with" \
		"PERC_PERF_CHECKS=1 meson test -C build capacity_prediction_ndr"
	exit 77
fi
cap=$build/tools/perc-capacity
for b in "$cap" "$build/tools/perc-loadgen" "$build/dataplane/mdd/perc-mdd"; do
	[[ -x $b ]] || { echo "check_prediction_ndr.sh: $b not built: skipped"; exit 77; }
done
if [[ -n $calibration && ! -r $calibration ]]; then
	echo "check_prediction_ndr.sh: cannot read $calibration: make it with" \
		"perf/calibrate.sh --from harness" >&2
	exit 2
fi

if [[ -n $keep ]]; then
	work=$keep
	mkdir -p "$work"
else
	work=$(mktemp -d "${TMPDIR:-/tmp}/check_prediction_ndr.XXXXXX")
	# shellcheck disable=SC2317 # called by the trap
	cleanup() { rm -rf "$work"; }
	trap cleanup EXIT
fi

args=(--build "$build" --work "$work/trials" --trials "$trials" --trial-s "$trial_s"
	--rate "$rate" --stat "$stat" --json "$work/cycles.json" --point "$scenario_point")
if [[ -z $calibration ]]; then
	for p in $cal_points; do
		args+=(--point "$p")
	done
	calibration=$work/calibration.json
	args+=(--calibration "$calibration" --exclude "$scenario_point"
		--round-calibrations "$work/calibration-round")
	label="same run, $scenario_point left out"
else
	label=$calibration
fi
echo "load average $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"
if ! python3 "$here/ndr_cycles.py" "${args[@]}" >"$work/cycles.log" 2>&1; then
	tail -5 "$work/cycles.log"
	echo "check_prediction_ndr.sh: the harness failed (trials in $work)"
	exit 1
fi
grep -E 'cycles per ingress packet min|^calibration' "$work/cycles.log" || true

cat >"$work/scenario.json" <<EOF
{"format": 1, "name": "$conf conferences x $size, audio $payload B",
 "conferences": [{"count": $conf, "size": $size}],
 "media": {"audio": {"payload_bytes": $payload, "packet_rate": 50}},
 "server": {"nic_gbps": 100, "ports": 1, "worker_cores": 1}, "headroom": 0}
EOF
plan() {
	"$cap" --calibration "$1" --scenario "$work/scenario.json" --format json >"$2" ||
		{ echo "check_prediction_ndr.sh: perc-capacity --calibration $1 failed"; exit 1; }
}
plan "$calibration" "$work/plan.json"
for c in "$work"/calibration-round-*.json; do
	[[ -e $c ]] || continue
	n=${c##*-}
	plan "$c" "$work/plan-round-${n%.json}.json"
done
python3 "$here/ndr_cycles.py" --compare "$work" --scenario-point "$scenario_point" \
	--stat "$stat" --tolerance "$tolerance" --label "$label" --decide "$decide"
