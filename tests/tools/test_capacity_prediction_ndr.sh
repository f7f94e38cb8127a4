#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# perc-capacity against the harness (docs/capacity.md, "Checking the model
# against the harness"):
#  1. perf/check_prediction_ndr.sh: a calibration from harness trials at
#     fan-out 2 and 5 predicts 2 conferences x 4 (fan-out 3) within 15 % of
#     what the harness measures in the same run;
#  2. the check can fail: the same measurement against a calibration whose
#     cycles are 1.5 x too high (a 33 % too low per-core rate) is refused,
#     and so is one whose cycles are 0.7 x (43 % too high a rate).
# A timing check: noise on a shared machine only adds cycles, and one
# measurement in 12 came out of tolerance on this 2-CPU VM under another
# engineer's load average of 5 to 8, so a second measurement is taken when
# the first is outside 15 %; a wrong model fails both (step 2 shows the
# check refuses a calibration 1.5 x or 0.7 x off).
#
#   test_capacity_prediction_ndr.sh SOURCE_ROOT BUILD_ROOT WORK_DIR
set -euo pipefail

src=$1 build=$2 work=$3
if [[ ${PERC_SANITIZE:-0} == 1 ]]; then
	echo "skipped: a timing check means nothing in a sanitizer build (tools/test --sanitize)"
	exit 77
fi
rm -rf "$work"
mkdir -p "$work"
check=$src/perf/check_prediction_ndr.sh

echo "== 1. prediction against the harness"
for attempt in 1 2; do
	rc=0
	rm -rf "$work/run"
	"$check" --build "$build" --keep "$work/run" || rc=$?
	[[ $rc == 77 ]] && exit 77
	[[ $rc == 0 ]] && break
	echo "attempt $attempt: perf/check_prediction_ndr.sh exited $rc"
done
if [[ $rc != 0 ]]; then
	echo "FAIL: perf/check_prediction_ndr.sh exited $rc twice (trials in $work/run)"
	exit 1
fi

echo "== 2. a wrong calibration fails against the same measurement"
for factor in 1.5 0.7; do
	python3 - "$work/run/calibration.json" "$work/wrong.json" "$factor" <<'EOF'
import json, sys
src, dst, k = sys.argv[1], sys.argv[2], float(sys.argv[3])
with open(src) as f:
    cal = json.load(f)
for p in cal["points"]:
    p["cycles_per_ingress"] *= k
    p["cycles_per_egress"] *= k
with open(dst, "w") as f:
    json.dump(cal, f)
EOF
	"$build/tools/perc-capacity" --calibration "$work/wrong.json" \
		--scenario "$work/run/scenario.json" --format json >"$work/run/plan.json"
	rm -f "$work"/run/plan-round-*.json
	rc=0
	python3 "$src/perf/ndr_cycles.py" --compare "$work/run" --scenario-point 2x4:160 \
		--label "calibration x $factor" || rc=$?
	if [[ $rc != 1 ]]; then
		echo "FAIL: a calibration x $factor passed (exit $rc): the check cannot fail"
		exit 1
	fi
	echo "ok: calibration x $factor refused"
done
echo "PASS"
