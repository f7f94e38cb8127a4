#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# perc-capacity on the example scenarios of perf/scenarios/ with a fixed
# synthetic calibration (a(P) = 1000 + (P - 100), b(P) = 200 + 0.2 (P - 100)
# cycles, 2 GHz), checking numbers of the JSON against values computed by
# hand (docs/capacity.md, "The model"); then the exit statuses and messages
# of bad usage (2) and bad files (78).
#
#   test_capacity.sh PERC_CAPACITY SOURCE_ROOT WORKDIR
set -euo pipefail

cap=$1
root=$2
work=$3
rm -rf "$work"
mkdir -p "$work"
fail=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }

cat >"$work/synth.json" <<'EOF'
{"format": 1,
 "host": {"cpu_model": "synthetic", "tsc_hz": 2e9, "cpus": 16, "ipsec_mb": "1.3.0",
          "arch": "avx512", "dpdk": "DPDK 22.11", "git_commit": "test",
          "date": "2026-01-01T00:00:00Z"},
 "budget_hz": 2e9,
 "points": [{"payload": 100, "fanout": 1, "cycles_per_ingress": 1200},
            {"payload": 100, "fanout": 11, "cycles_per_ingress": 3200},
            {"payload": 1100, "fanout": 1, "cycles_per_egress": 2400},
            {"payload": 1100, "fanout": 11, "cycles_per_ingress": 6400}]}
EOF

# check FILE.json 'python expression over j' ... : every expression must hold
check() {
	local json=$1 name=$2
	shift 2
	if python3 - "$json" "$@" <<'EOF'; then ok "$name"; else bad "$name"; fi
import json, math, sys
j = json.load(open(sys.argv[1]))
flow = {f["name"]: f for f in j.get("flows", [])}
def near(x, want, rel=1e-6):
    return abs(x - want) <= rel * abs(want) + 1e-9
bad = [e for e in sys.argv[2:] if not eval(e)]
for e in bad:
    print("     does not hold: " + e, file=sys.stderr)
sys.exit(1 if bad else 0)
EOF
}

plan() {
	local out=$1
	shift
	if ! "$cap" --calibration "$work/synth.json" --format json "$@" >"$work/$out.json" \
		2>"$work/$out.err"; then
		bad "$out: perc-capacity failed: $(cat "$work/$out.err")"
		return 1
	fi
}

# ---- audio-small: 1000 x 3 parties, 80-byte audio at 50 pps ----
# wire 80 + 46 + 28 + 18 + 20 = 192 B; in 150,000 pps, out 300,000 pps;
# cycles 150,000 x 980 + 300,000 x 196 = 205.8 M/s on 2 cores of 2 GHz
if plan audio --scenario "$root/perf/scenarios/audio-small.json"; then
	check "$work/audio.json" "audio-small: rates, cycles, first out" \
		'near(flow["audio"]["wire_bytes"], 192)' \
		'near(j["ingress"]["pps"], 150000)' 'near(j["egress"]["pps"], 300000)' \
		'near(j["ingress"]["bps"], 150000 * 192 * 8)' \
		'near(j["egress"]["bps"], 300000 * 192 * 8)' \
		'near(j["cycles_per_s"], 205.8e6)' 'j["cores"] == 1' 'j["servers"] == 1' \
		'j["first_out"] == "cpu"' \
		'near(j["resources"]["cpu"]["headroom_left"], 1 - 205.8e6 / 4e9)' \
		'near(j["resources"]["nic_egress"]["utilisation"], 460.8e6 / 10e9)' \
		'j["host"]["cpu_model"] == "synthetic" and j["host"]["arch"] == "avx512"' \
		'j["host"]["dpdk"] and j["host"]["git_commit"] == "test" and j["git_commit"]' \
		'near(j["streams_per_server"], 3000) and j["calibrated_streams_max"] == 0'
fi

# ---- town-hall (JSON): 4 x 500, audio last 3, video last 1 at the top ----
# audio 120 B (232 on the wire): 100,000 in, 300,000 out; video L1 2 Mbit/s
# in 1200 B = 208.33 pps: 50 senders x 4 in, 500 x 4 out; screen 156.25 pps,
# 4 in, 4 x 499 out; NIC egress 8.2036 Gbit/s of 20 runs out first
if plan town --scenario "$root/perf/scenarios/town-hall.json"; then
	check "$work/town.json" "town-hall: rates, cycles, ports, first out" \
		'near(flow["audio"]["wire_bytes"], 232)' \
		'near(flow["audio"]["egress_pps"], 300000)' \
		'near(flow["video L1"]["ingress_pps"], 200 * 2e6 / 9600)' \
		'near(flow["video L1"]["egress_pps"], 2000 * 2e6 / 9600)' \
		'near(flow["video L0"]["egress_pps"], 0)' \
		'near(flow["screen"]["egress_pps"], 4 * 499 * 156.25)' \
		'near(j["egress"]["bps"], 300000 * 232 * 8 + (2000 * 2e6 / 9600 + 4 * 499 * 156.25) * 1312 * 8)' \
		'near(j["cycles_per_s"], 566.75e6)' \
		'j["nic_ports"] == 2 and j["servers"] == 1 and j["first_out"] == "nic_egress"' \
		'j["largest_conference"]["size"] == 500 and j["largest_conference"]["fits"]'
fi

# ---- mixed (YAML): 2000 x 4 + 200 x 25, simulcast, last 9, top 1 ----
# audio: 13,000 senders x 50 in, (2000 x 4 x 3 + 200 x 25 x 24) x 50 out;
# video: 4-party rooms have 3 senders (0.8 x 4): 4 top copies, 5 at layer 0;
# 25-party rooms 20 senders: 25 top, 200 at layer 0
if plan mixed --scenario "$root/perf/scenarios/mixed.yaml"; then
	check "$work/mixed.json" "mixed: rates by layer" \
		'near(flow["audio"]["ingress_pps"], 650000)' \
		'near(flow["audio"]["egress_pps"], 7.2e6)' \
		'near(flow["video L2"]["egress_pps"], (2000 * 4 + 200 * 25) * 1.5e6 / 8800)' \
		'near(flow["video L0"]["egress_pps"], (2000 * 5 + 200 * 200) * 150e3 / 8800)' \
		'near(flow["video L1"]["egress_pps"], 0)' \
		'near(flow["video L1"]["ingress_pps"], (2000 * 3 + 200 * 20) * 500e3 / 8800)' \
		'near(flow["video L2"]["wire_bytes"], 1100 + 8 + 112)' \
		'near(flow["screen"]["egress_pps"], 0.2 * (2000 * 3 + 200 * 24) * 1e6 / 8800)' \
		'j["first_out"] == "nic_egress" and j["servers"] == 2'
fi

# ---- the plot ----
if "$cap" --calibration "$work/synth.json" --scenario "$root/perf/scenarios/mixed.yaml" \
	--plot "$work/mixed.svg" >/dev/null && grep -q '</svg>' "$work/mixed.svg" &&
	grep -q 'nic_egress' "$work/mixed.svg" && grep -q 'synthetic' "$work/mixed.svg"; then
	ok "plot: SVG written with resources and host"
else
	bad "plot: no complete SVG"
fi

# ---- --point: the cost model at one payload and fan-out ----
if "$cap" --calibration "$work/synth.json" --point 600:5 --format json >"$work/point.json"; then
	check "$work/point.json" "--point 600:5 = 1500 + 5 x 300" \
		'near(j["cycles_per_ingress"], 3000)' 'near(j["cycles_per_egress"], 600)'
else
	bad "--point failed"
fi

# ---- refusals: exit status and message ----
# expect STATUS 'text in stderr' args...
expect() {
	local want=$1 text=$2 rc=0
	shift 2
	"$cap" "$@" >"$work/out" 2>"$work/err" || rc=$?
	if [[ $rc == "$want" ]] && grep -qF -- "$text" "$work/err"; then
		ok "exit $want: $text"
	else
		bad "exit $rc (want $want) for $*: $(cat "$work/err")"
	fi
}
sc=$root/perf/scenarios/audio-small.json
expect 2 "give --scenario" --calibration "$work/synth.json"
expect 2 "unknown or incomplete option" --bogus
expect 2 "use table or json" --scenario "$sc" --format xml
expect 2 "only SVG" --scenario "$sc" --plot "$work/x.png"
expect 2 "use PAYLOAD:FANOUT" --point 1200
expect 78 "cannot open" --scenario "$work/none.json" --calibration "$work/synth.json"
expect 78 "calibration $work/none.json: cannot open" --scenario "$sc" \
	--calibration "$work/none.json"
printf 'conferences:\n  - {count: 1, size: 3}\nmedia:\n  audio: {bitrate_kbps: 32, packet_rate: fifty}\n' \
	>"$work/bad1.yaml"
expect 78 "line 4: field media.audio.packet_rate: must be a number" \
	--scenario "$work/bad1.yaml" --calibration "$work/synth.json"
printf '{"conferences": [{"count": 1, "size": 3}],\n "media": {"audio": {"bitrate_kbps": 32, "packet_rate": 50}},\n "server": {"nic_gbps": 10, "ports": 1, "worker_cores": 2}, "headroom": 1.5}\n' \
	>"$work/bad2.json"
expect 78 "field headroom: 1.5 is out of range" --scenario "$work/bad2.json" \
	--calibration "$work/synth.json"
printf '{"conferences": [{"count": 1, "size": 3}]\n "media": {}}\n' >"$work/bad3.json"
expect 78 "line 2 column 8: JSON syntax" --scenario "$work/bad3.json" \
	--calibration "$work/synth.json"
printf '{"format": 1, "host": {"cpu_model": "x"}, "budget_hz": 2e9, "points": [{"payload": 100, "fanout": 4, "cycles_per_ingress": 900}]}\n' \
	>"$work/cal1.json"
expect 78 "two distinct fan-outs" --scenario "$sc" --calibration "$work/cal1.json"
printf '{"host": {"cpu_model": "x"}, "budget_hz": 2e9, "points": []}\n' >"$work/cal2.json"
expect 78 "field format: missing" --scenario "$sc" --calibration "$work/cal2.json"
rc=0
"$cap" --help >"$work/help" || rc=$?
if [[ $rc == 0 ]] && grep -q -- '--scenario FILE' "$work/help"; then ok "--help"; else bad "--help"; fi

exit $fail
