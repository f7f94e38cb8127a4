#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# perc-loadgen: the command line, the loopback run (generator -> reference
# hop -> receiver, every packet opened), the provisioning file, and an
# end-to-end smoke with perc-mdd over net_memif: low rate, every packet
# must come back opened, zero loss. The smoke is skipped (not failed) when
# this DPDK has no net_memif.
# usage: test_loadgen.sh PERC_LOADGEN PERC_MDD TMPDIR
set -u
LG=$1 MDD=$2 T=$3
pass=0 fail=0
rm -rf "$T" && mkdir -p "$T" || exit 1
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	rm -rf "/var/run/dpdk/lgmdd$$" "/var/run/dpdk/lggen$$" "/var/run/dpdk/lgchk$$" 2>/dev/null
}
trap cleanup EXIT

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
expect() { # expect RC SUBSTRING -- cmd...
	local rc=$1 want=$2 o r; shift 3
	o=$("$@" 2>&1); r=$?
	if [ "$r" != "$rc" ]; then bad "rc $r (want $rc): $*"; printf '%s\n' "$o" | tail -25; return 1; fi
	if [ -n "$want" ] && [[ "$o" != *"$want"* ]]; then
		bad "output lacks '$want': $*"; printf '%s\n' "$o" | tail -25; return 1
	fi
	ok
}
# jcheck FILE PYTHON-EXPRESSION-ON-j: the results JSON must satisfy it
jcheck() {
	if python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "$2"; then
		ok
	else
		bad "$1 does not satisfy: $2"; head -c 2000 "$1"
	fi
}

expect 0 "--write-provision" -- "$LG" --help
expect 2 "unknown option" -- "$LG" --loopback --bogus
expect 2 "--size" -- "$LG" --loopback --size 1
expect 2 "--media" -- "$LG" --loopback --media smell
expect 2 "--write-provision FILE or --loopback" -- "$LG" --rate 5
expect 2 "not a double GCM profile" -- "$LG" --loopback --profile SRTP_AEAD_AES_128_GCM

# loopback: every packet of every stream reaches every other member, opened
"$LG" --loopback --conferences 3 --size 4 --media mix --layers 2 --rate 20000 --duration 0.5 \
	--warmup-ms 0 --drain-ms 0 --ekt-full-every 7 --json "$T/loop.json" > "$T/loop.out"
r=$?; [ $r = 0 ] && ok || bad "loopback rc $r"
jcheck "$T/loop.json" 'j["tx"]["sent"] > 5000 and j["rx"]["ok"] == j["expected"] == j["tx"]["sent"] * 3 and j["errors"] == 0 and j["rx"]["ekt_full"] > 0 and j["config"]["streams"] == 36'
cmp -s "$T/loop.json" "$T/loop.out" && ok || bad "stdout and --json differ"
# --whole-bursts: paced, yet only whole bursts of 32 leave (480 of the 500
# due in 0.5 s at 1000 pps; fewer if the generator was descheduled)
"$LG" --loopback --rate 1000 --duration 0.5 --burst 32 --whole-bursts --warmup-ms 0 \
	--drain-ms 0 --json "$T/whole.json" > /dev/null
jcheck "$T/whole.json" 'j["config"]["whole_bursts"] and j["tx"]["offered"] % 32 == 0 and 256 <= j["tx"]["offered"] <= 500 and j["errors"] == 0'
"$LG" --loopback --rate 1000 --duration 0.5 --burst 32 --warmup-ms 0 --drain-ms 0 \
	--json "$T/part.json" > /dev/null
jcheck "$T/part.json" 'not j["config"]["whole_bursts"] and j["tx"]["offered"] > 0'

# the provisioning file: as many endpoints as asked, HBH keys only
expect 0 "" -- "$LG" --write-provision "$T/prov.json" --streams 100 --size 5 --media audio
python3 - "$T/prov.json" <<'PY' && ok || bad "provisioning file"
import json, sys
j = json.load(open(sys.argv[1]))
eps = [e for c in j["conferences"] for e in c["endpoints"]]
assert len(j["conferences"]) == 20 and len(eps) == 100, (len(j["conferences"]), len(eps))
assert all(set(e) == {"id", "addr", "profile", "rx_key", "rx_salt", "tx_key", "tx_salt", "ssrcs", "max_streams"} for e in eps)
assert len({s for e in eps for s in e["ssrcs"]}) == 100
PY

# end to end with perc-mdd over net_memif. Zero loss is asserted, so the
# rings are deep (16384 slots, 8 s at this rate) and the drain long: on a
# shared 2-CPU VM either process may be descheduled for half a second.
if ! "$MDD" --no-pci --no-huge -m 64 --file-prefix lgchk$$ -l 0 --vdev net_memif9,role=server,socket="$T/probe.sock",socket-abstract=no -- --help > /dev/null 2>&1 \
	|| ! ls /usr/lib/*/dpdk/pmds-*/librte_net_memif.so* > /dev/null 2>&1; then
	echo "SKIP: no net_memif in this DPDK: end-to-end smoke not run"
else
	"$LG" --write-provision "$T/e2e.json" --conferences 2 --size 3 --media mix --seed 5
	sock=$T/memif.sock
	cpu1=$(( $(nproc) > 1 ? 1 : 0 ))
	"$MDD" --no-pci --no-huge -m 512 --file-prefix lgmdd$$ --lcores "0@0,1@$cpu1" \
		--vdev "net_memif0,role=server,socket=$sock,socket-abstract=no,rsize=14" -- \
		--addr 192.0.2.1 --provision "$T/e2e.json" --stats-json "$T/mdd-stats.json" \
		> "$T/mdd.log" 2>&1 &
	mdd=$!; pids+=("$mdd")
	# a memif client that connects before perc-mdd started its port can
	# hang: wait for perc-mdd's start-up line
	up() { for _ in $(seq 300); do grep -q "conference(s)" "$1" && return 0; sleep 0.1; done; return 1; }
	up "$T/mdd.log" || bad "perc-mdd did not start: $(tail -3 "$T/mdd.log")"
	timeout 60 "$LG" --no-pci --no-huge -m 512 --file-prefix lggen$$ --lcores 0@0 \
		--vdev "net_memif0,role=client,socket=$sock,socket-abstract=no,rsize=14" -- \
		--conferences 2 --size 3 --media mix --seed 5 --rate 2000 --duration 1 \
		--rtcp-interval-ms 100 --drain-ms 1500 --max-loss 0 --json "$T/e2e-result.json" > "$T/lg.out" 2> "$T/lg.err"
	r=$?
	kill -INT "$mdd"; wait "$mdd"
	if [ $r = 0 ]; then ok; else bad "end-to-end rc $r"; tail -5 "$T/lg.err" "$T/mdd.log"; fi
	# priming copies reach only members the MDD has seen send already
	# (it learns next hops from their first frames): 12 to 24 of them
	[ -f "$T/e2e-result.json" ] && jcheck "$T/e2e-result.json" 'j["tx"]["sent"] >= 1500 and j["rx"]["ok"] == j["expected"] == j["tx"]["sent"] * 2 and j["errors"] == 0 and 12 <= j["rx"]["priming"] <= 24'
	# SRTCP (hop by hop, every 500 ms per endpoint, from the measured phase
	# on): perc-mdd sends SR + SDES to every other member and a compound
	# with a PLI / NACK to the media sender alone; every copy that routing
	# gives arrives, opens with the receiver's HBH key and is fresh
	[ -f "$T/e2e-result.json" ] && jcheck "$T/e2e-result.json" 'j["rtcp"]["sent"] >= 6 and j["rtcp"]["not_sent"] == 0 and j["rtcp"]["feedback"] > 0 and j["rtcp"]["received"] == j["rtcp"]["expected"] == 2 * j["rtcp"]["sent"] - j["rtcp"]["feedback"] and j["rtcp"]["lost"] == 0 and j["rtcp"]["fail"] == j["rtcp"]["replay"] == j["rtcp"]["misrouted"] == 0'
	# a second run against a MDD with other keys: nothing may open
	"$LG" --write-provision "$T/other.json" --conferences 2 --size 3 --media mix --seed 6
	# a fresh socket: a server that died leaves its socket file behind
	sock=$T/memif2.sock
	"$MDD" --no-pci --no-huge -m 512 --file-prefix lgmdd$$ --lcores "0@0,1@$cpu1" \
		--vdev "net_memif0,role=server,socket=$sock,socket-abstract=no,rsize=14" -- \
		--addr 192.0.2.1 --provision "$T/other.json" > "$T/mdd2.log" 2>&1 &
	mdd=$!; pids+=("$mdd")
	up "$T/mdd2.log" || bad "perc-mdd did not start: $(tail -3 "$T/mdd2.log")"
	timeout 60 "$LG" --no-pci --no-huge -m 512 --file-prefix lggen$$ --lcores 0@0 \
		--vdev "net_memif0,role=client,socket=$sock,socket-abstract=no,rsize=14" -- \
		--conferences 2 --size 3 --media mix --seed 5 --rate 2000 --duration 0.3 \
		--max-loss 0 --json "$T/e2e-wrong.json" > /dev/null 2>&1
	r=$?
	kill -INT "$mdd"; wait "$mdd"
	[ $r = 1 ] && ok || bad "wrong keys: rc $r, want 1 (all lost)"
fi

echo "loadgen: $pass passed, $fail failed"
[ $fail = 0 ]
