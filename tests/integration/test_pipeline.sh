#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# perc-mdd end to end on net_pcap ports: perc-pcaptest generates a
# multi-conference capture (double and single profiles, IPv4 and IPv6, RTCP,
# bad input), perc-mdd forwards it, perc-pcaptest check verifies every
# output frame with the receivers' and senders' keys, and the drop counters
# in --stats-json must be exactly the bad frames' reasons.
# usage: test_pipeline.sh PERC_MDD PERC_PCAPTEST WORKDIR
set -u
MDD=$1 PT=$2 WORK=$3
. "$(dirname "$0")/lib.sh"
t_begin pipeline
rm -rf "$WORK"
mkdir -p "$WORK"

# run NAME "GEN ARGS" [workers] ["MDD ARGS"]: gen, forward, check, counters
run() {
	local name=$1 gargs=$2 workers=${3:-1} margs=${4:-} d="$WORK/$1" addr=192.0.2.1 lcores vdev outs=()
	mkdir -p "$d"
	# shellcheck disable=SC2086
	if ! "$PT" gen --dir "$d" $gargs >"$d/gen.log" 2>&1; then
		bad "$name: gen failed: $(tail -1 "$d/gen.log")"; return
	fi
	[[ " $gargs " == *" --ipv6 "* ]] && addr=2001:db8::1
	vdev="net_pcap0,rx_pcap=$d/in.pcap"
	for ((q = 0; q < workers; q++)); do
		vdev+=",tx_pcap=$d/out$q.pcap"
		outs+=(--out "$d/out$q.pcap")
	done
	# two cores here: extra worker lcores share them (--lcores maps them)
	lcores="0@0"
	for ((q = 1; q <= workers; q++)); do lcores+=",$q@$((q % 2))"; done
	if ! timeout 60 "$MDD" --no-huge --no-pci -m 256 --lcores "$lcores" \
		--file-prefix "perc-test-$$-$name" --log-level=lib.eal:error --vdev "$vdev" -- \
		--addr "$addr" --port 3478 --provision "$d/provision.json" --exit-when-idle 300 \
		--stats-interval 0 --stats-json "$d/stats.json" $margs >"$d/mdd.log" 2>&1; then
		bad "$name: perc-mdd failed: $(tail -2 "$d/mdd.log" | tr '\n' ' ')"; return
	fi
	if "$PT" check --dir "$d" "${outs[@]}" >"$d/check.log" 2>&1; then
		ok "$name: $(head -1 "$d/check.log")"
	else
		bad "$name: $(head -3 "$d/check.log" | tr '\n' ' ')"
	fi
	# every bad frame hit its counter; no other drop counter moved
	if python3 - "$d/secrets.json" "$d/stats.json" <<'PY'
import json, sys
sec = json.load(open(sys.argv[1])); st = json.load(open(sys.argv[2]))
want = {}
for b in sec.get("bad", []):
    want[b["counter"]] = want.get(b["counter"], 0) + 1
drops = [k for k in st["total"] if k in (
    "eth_truncated ip_truncated ip_bad_version ip_bad_hdr ip_bad_len ip_fragment "
    "udp_bad_len udp_bad_csum not_ours not_media unknown_endpoint rtp_bad_version "
    "rtp_malformed oversized ekt_invalid stream_limit srtp_auth srtp_replay srtp_too_old "
    "srtcp_auth srtcp_replay ohb_invalid no_key seal_failed no_mbuf handoff_full "
    "punt_full tx_full no_nexthop").split()]
errs = [f"{k}: {st['total'][k]} (want {want.get(k, 0)})" for k in drops
        if st["total"][k] != want.get(k, 0)]
if errs:
    print("; ".join(errs)); sys.exit(1)
PY
	then
		ok "$name: drop counters match the bad frames"
	else
		bad "$name: drop counters"
	fi
}

run double128 "--rtcp --bad --conferences 3"
run ipv6 "--rtcp --bad --ipv6"
run double256 "--rtcp --profile DOUBLE_AEAD_AES_256_GCM_AEAD_AES_256_GCM"
run single_cm80 "--rtcp --profile SRTP_AES128_CM_HMAC_SHA1_80"
run single_cm32 "--profile SRTP_AES128_CM_HMAC_SHA1_32 --ipv6"
run single_gcm256 "--rtcp --bad --profile SRTP_AEAD_AES_256_GCM"
run fanout "--size 8 --conferences 1 --packets 30"
run two_workers "--rtcp --bad --conferences 4" 2
run one_worker "--rtcp --bad --conferences 4" 1
# the same pipeline on libsrtp2 per packet (the benchmark baseline), and on
# the SSE code path of ipsec-mb
run libsrtp "--rtcp --bad" 1 "--arch libsrtp"
run sse "--rtcp --bad --ipv6" 1 "--arch sse"
# a hop-by-hop rekey halfway: nothing lost across the key change, and
# perc-mdd says it opened packets with the alternative (next) rx key
# stay 1.2 s after the capture: the previous keys' 500 ms grace runs out and
# every endpoint's old rx key must be retired (zeroized and freed)
run rekey "--rtcp --rekey" 1 "--exit-when-idle 1200"
run rekey_bad "--rtcp --bad --rekey --ipv6"
# per-receiver rewrite (pt_map, seq_offset, marker; RFC 8723 §5.2 OHB)
run rewrite "--rtcp --rewrite"
run rewrite_single "--rewrite --profile SRTP_AEAD_AES_128_GCM"
run rewrite_seqwrap "--rewrite --size 3 --seq-start 64900 --packets 200"
for n in rekey rekey_bad; do
	k=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["total"].get("rekey_next", 0))' \
		"$WORK/$n/stats.json" 2>/dev/null)
	[ "${k:-0}" -gt 0 ] 2>/dev/null && ok "$n: rekey_next $k" || bad "$n: rekey_next '${k}' (want > 0)"
done
r=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["control"]["keys_retired"])' \
	"$WORK/rekey/stats.json" 2>/dev/null)
e=$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["conferences"][0]["endpoints"]) * len(json.load(open(sys.argv[1]))["conferences"]))' \
	"$WORK/rekey/provision.json" 2>/dev/null)
[ -n "$r" ] && [ "$r" = "$e" ] && ok "rekey: $r previous rx keys retired after the grace period" ||
	bad "rekey: keys_retired '$r', endpoints '$e'"
# two workers give the same deliveries as one
a=$(grep -o '[0-9]* delivered' "$WORK/two_workers/check.log")
b=$(grep -o '[0-9]* delivered' "$WORK/one_worker/check.log")
[ -n "$a" ] && [ "$a" = "$b" ] && ok "two workers deliver what one does ($a)" ||
	bad "two workers: '$a', one worker: '$b'"

t_end
