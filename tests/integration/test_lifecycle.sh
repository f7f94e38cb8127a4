#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# perc-mdd's lifecycle (docs/operations.md), in a network namespace of the
# test's own with a DPDK tap port:
#   A. API only: admission limits (conferences, endpoints; bad values
#      refused), log levels, stats interval, then drain: new conferences
#      and endpoints refused with the reason, the running ones kept;
#      perc-mdd exits 0 by itself once the last endpoint is removed.
#      systemd notification: READY=1, WATCHDOG=1, STATUS, STOPPING=1 on
#      $NOTIFY_SOCKET.
#   B. provisioned conference with traffic, then drain with a deadline:
#      exits 0 at the deadline; the final counters (log and --stats-json)
#      count every frame sent.
#   C. the same traffic: the pps admission limit refuses endpoints while
#      the burst is counted, takes them when quiet; then SIGTERM: exits 0,
#      final counters equal what was sent.
#   B and C run on hugepages with --huge-unlink when the host has free
#   ones: no hugepage file of the run's file prefix is left.
#   D: hugepages without --huge-unlink: perc-mdd warns about the files left.
#   E: the busy_pct admission limit: taken idle, refused under a flood,
#      taken again once quiet.
# usage: test_lifecycle.sh PERC_MDD PERC_PCAPTEST MDDCTL WORKDIR
set -u
MDD=$1 PT=$2 CTL=$3 W=$4
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
t_begin lifecycle
ns=perc-life-$$
mdd_pid= nl_pid=
t_kill_on_exit mdd_pid nl_pid
# the EAL leaves its runtime directory (config, telemetry socket) behind
t_on_exit 'rm -rf /var/run/dpdk/"perc-life-$$-"*'
t_on_exit '[ -n "${hugedir:-}" ] && rm -f "$hugedir/perc-life-$$-"*'
t_netns "$ns"
in_ns() { ip netns exec "$ns" "$@"; }
ctl() { "$CTL" --socket "$W/api.sock" "$@"; }

rm -rf "$W" && mkdir -p "$W"
"$PT" gen --dir "$W" --conferences 1 --size 3 --packets 30 --rtcp >/dev/null || exit 1
in_ns ip link set lo up
in_ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1

# start RUN EXTRA-EAL -- EXTRA-OPTS: perc-mdd in the namespace, tap up
start() {
	local run=$1
	shift
	local eal=() opts=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do eal+=("$1"); shift; done
	[ $# -gt 0 ] && shift
	opts=("$@")
	rm -f "$W/api.sock"
	t_mdd_tap "$ns" "$W/api.sock" "$MDD" "${eal[@]}" --no-pci -l 0-1 --file-prefix "perc-life-$$-$run" \
		--log-level=lib.eal:error --vdev net_tap0,iface=mddtap0 -- --addr 192.0.2.1 \
		"${opts[@]}" >"$W/$run.log" 2>&1
}
# wait_exit SECONDS: perc-mdd's exit status, or 124 when it is still running
wait_exit() {
	for _ in $(seq $(($1 * 10))); do
		kill -0 "$mdd_pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$mdd_pid" 2>/dev/null; then
		return 124
	fi
	wait "$mdd_pid"
	local rc=$?
	mdd_pid=
	return $rc
}

# ---- A: limits, log levels, stats interval, drain until empty ----
python3 - "$W/notify.sock" >"$W/notify.log" 2>&1 <<'PY' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
while True:
    print(s.recv(4096).decode().replace("\n", " | "), flush=True)
PY
nl_pid=$!
t_wait_file "$W/notify.sock" 50
# the default metrics address taken: a warning, no failure
in_ns python3 -c "
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', 9464)); s.listen(1); time.sleep(60)" &
for _ in $(seq 30); do in_ns ss -ltn 2>/dev/null | grep -q 127.0.0.1:9464 && break; sleep 0.1; done
NOTIFY_SOCKET=$W/notify.sock WATCHDOG_USEC=2000000 start A --no-huge -m 256 -- \
	--api "$W/api.sock" --stats-interval 0 --limits conferences=1,endpoints=2
grep -q "metrics: 127.0.0.1:9464 is in use: no /metrics" "$W/A.log" && kill -0 "$mdd_pid" &&
	ok "default metrics address taken: running, with a warning" || bad "metrics address taken: $(tail -3 "$W/A.log")"
ctl limits >"$W/limits.json" 2>&1 && python3 -c "
import json,sys; d=json.load(open('$W/limits.json'))
sys.exit(0 if d['limits']['conferences']==1 and d['limits']['endpoints']==2 else 1)" &&
	ok "--limits conferences=1,endpoints=2 shown by mddctl limits" || bad "limits: $(cat "$W/limits.json")"
ctl conference create k1 >/dev/null 2>&1 || bad "conference create k1"
ctl conference create k2 >/dev/null 2>"$W/err" ; rc=$?
[ $rc -eq 1 ] && grep -q "admission limit: 1 conferences" "$W/err" && ok "2nd conference refused: $(cat "$W/err")" ||
	bad "2nd conference (exit $rc): $(cat "$W/err")"
ctl endpoint add k1 e1 --remote-ufrag abcd >/dev/null 2>&1 || bad "endpoint add e1"
ctl endpoint add k1 e2 --remote-ufrag abce >/dev/null 2>&1 || bad "endpoint add e2"
ctl endpoint add k1 e3 --remote-ufrag abcf >/dev/null 2>"$W/err"; rc=$?
[ $rc -eq 1 ] && grep -q "admission limit: 2 endpoints" "$W/err" && ok "3rd endpoint refused: $(cat "$W/err")" ||
	bad "3rd endpoint (exit $rc): $(cat "$W/err")"
ctl limits --endpoints 3 --busy-pct 100 >/dev/null 2>&1 && ctl endpoint add k1 e3 --remote-ufrag abcf >/dev/null 2>&1 &&
	ok "limit raised at run time: 3rd endpoint taken" || bad "limits raised: 3rd endpoint still refused"
ctl raw '{"op":"limits","busy_pct":101}' >/dev/null 2>"$W/err"; rc=$?
[ $rc -eq 1 ] && grep -q "busy_pct" "$W/err" && ok "busy_pct 101 refused" || bad "busy_pct 101 (exit $rc)"
ctl raw '{"op":"limits","pps":-1}' >/dev/null 2>&1 && bad "pps -1 taken" || ok "pps -1 refused"
ctl limits --pps x >/dev/null 2>&1; [ $? -eq 2 ] && ok "mddctl limits --pps x: usage error" || bad "mddctl limits --pps x"
ctl log-level 'perc.mdd.*' debug >"$W/ll.json" 2>&1 && grep -q '"perc.mdd.api": "debug"' "$W/ll.json" &&
	ok "log-level perc.mdd.* debug" || bad "log-level: $(cat "$W/ll.json")"
ctl log-level perc.mdd.api loud >/dev/null 2>"$W/err"; [ $? -eq 1 ] && ok "log level 'loud' refused" ||
	bad "log level loud: $(cat "$W/err")"
ctl stats-interval 0.2 >/dev/null 2>&1 && sleep 0.6 && grep -q "^rx .* pps" "$W/A.log" &&
	ok "stats-interval 0.2 at run time: summary lines appear" || bad "stats-interval: $(tail -2 "$W/A.log")"
ctl stats-interval 0 >/dev/null 2>&1
ctl drain >"$W/drain.json" 2>&1 && grep -q '"draining": true' "$W/drain.json" && ok "drain" ||
	bad "drain: $(cat "$W/drain.json")"
ctl endpoint add k1 e4 --remote-ufrag abcg >/dev/null 2>"$W/err"; rc=$?
[ $rc -eq 1 ] && grep -q "^mddctl: draining" "$W/err" && ok "endpoint refused while draining: $(cat "$W/err")" ||
	bad "endpoint while draining (exit $rc): $(cat "$W/err")"
ctl conference create k3 >/dev/null 2>"$W/err"; rc=$?
[ $rc -eq 1 ] && grep -q "draining" "$W/err" && ok "conference refused while draining" ||
	bad "conference while draining (exit $rc): $(cat "$W/err")"
n=$(ctl list 2>/dev/null | grep -c '"ufrag"')
[ "$n" = 3 ] && ok "running endpoints kept while draining (3)" || bad "endpoints while draining: $n"
ctl endpoint remove k1 e1 >/dev/null 2>&1; ctl endpoint remove k1 e2 >/dev/null 2>&1
sleep 0.5
kill -0 "$mdd_pid" 2>/dev/null && ok "still running with 1 endpoint left" || bad "exited with an endpoint left"
ctl endpoint remove k1 e3 >/dev/null 2>&1
wait_exit 10; rc=$?
[ $rc -eq 0 ] && grep -q "drain: no endpoint left" "$W/A.log" && ok "drained: exited 0 when the last endpoint went" ||
	bad "drain exit $rc: $(tail -3 "$W/A.log")"
sleep 0.2
kill "$nl_pid" 2>/dev/null; wait "$nl_pid" 2>/dev/null; nl_pid=
for s in READY=1 WATCHDOG=1 "STATUS=draining" STOPPING=1; do
	grep -q "$s" "$W/notify.log" && ok "sd_notify $s" || bad "sd_notify: no $s in $(head -c 300 "$W/notify.log")"
done

# ---- B and C: traffic, then drain with a deadline / SIGTERM ----
free=$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)
hugedir=$(awk '$3 == "hugetlbfs" {print $2; exit}' /proc/mounts)
if [ "${free:-0}" -ge 96 ] && [ -n "$hugedir" ]; then
	mem=(-m 128 --huge-unlink)
	echo "note: runs B and C on hugepages ($hugedir) with --huge-unlink"
else
	mem=(--no-huge -m 256)
	hugedir=
	echo "note: fewer than 96 free hugepages: runs B and C without them (no hugepage file check)"
fi
sent=$(python3 -c "
import struct; d=open('$W/in.pcap','rb').read(); o=24; n=0
while o+16<=len(d): o+=16+struct.unpack('<I',d[o+8:o+12])[0]; n+=1
print(n)")
# an address given with --metrics that cannot be bound: an error
ip netns exec "$ns" "$MDD" --no-huge -m 128 --no-pci -l 0-1 --file-prefix "perc-life-$$-M" \
	--log-level=lib.eal:error --vdev net_null0 -- --addr 192.0.2.1 --api "$W/m.sock" \
	--metrics 127.0.0.1:9464 >"$W/M.log" 2>&1
rc=$?
[ $rc -ne 0 ] && grep -q "metrics 127.0.0.1:9464: cannot listen" "$W/M.log" &&
	ok "--metrics on a taken address: exit $rc, $(grep -o 'cannot listen.*' "$W/M.log" | head -1)" ||
	bad "--metrics taken address: exit $rc: $(tail -2 "$W/M.log")"
for p in $(ip netns pids "$ns" 2>/dev/null); do kill "$p" 2>/dev/null; done  # the port holder

for run in B C; do
	start $run "${mem[@]}" -- --provision "$W/provision.json" --api "$W/api.sock" --metrics off \
		--stats-interval 0 --mbufs 4096 --stats-json "$W/$run.json"
	sleep 0.3
	in_ns python3 "$here/tapio.py" send mddtap0 "$W/in.pcap" "$W/secrets.json" c1 >/dev/null
	t0=$(date +%s%N)
	if [ $run = B ]; then
		ctl drain --deadline 2 >/dev/null 2>&1 || bad "drain --deadline 2"
		wait_exit 10; rc=$?
		ms=$((($(date +%s%N) - t0) / 1000000))
		[ $rc -eq 0 ] && [ $ms -ge 1500 ] && grep -q "drain: deadline reached" "$W/B.log" &&
			ok "drain --deadline 2 with provisioned endpoints: exited 0 after $ms ms" ||
			bad "drain deadline: exit $rc after $ms ms: $(tail -3 "$W/B.log")"
	else
		# pps limit: refused while the last full second saw more than 10
		# frames (the burst just sent), taken again once it is quiet
		ctl conference create k >/dev/null 2>&1 && ctl limits --pps 10 >/dev/null 2>&1 ||
			bad "conference create k / limits --pps 10"
		refused=0 taken=0
		for i in $(seq 40); do
			if ctl endpoint add k p$i --remote-ufrag abcd >/dev/null 2>"$W/err"; then
				[ $refused -gt 0 ] && { taken=1; break; }
				ctl endpoint remove k p$i >/dev/null 2>&1
			elif grep -q "ingress .* packets/s is above the limit 10" "$W/err"; then
				refused=$((refused + 1))
			fi
			sleep 0.1
		done
		[ $refused -gt 0 ] && [ $taken = 1 ] &&
			ok "pps limit 10: endpoint_add refused during the burst ($refused x), taken when quiet" ||
			bad "pps limit: refused $refused, taken after $taken: $(cat "$W/err")"
		ctl endpoint remove k "p$i" >/dev/null 2>&1
		sleep 0.3
		kill -TERM "$mdd_pid"
		wait_exit 10; rc=$?
		[ $rc -eq 0 ] && ok "SIGTERM: exited 0" || bad "SIGTERM: exit $rc: $(tail -3 "$W/C.log")"
	fi
	got=$(sed -n 's/.*final counters: rx_frames \([0-9]*\) .*/\1/p' "$W/$run.log")
	[ "$got" = "$sent" ] && ok "$run: final counters log rx_frames $got = frames sent" ||
		bad "$run: final rx_frames '$got', sent $sent"
	python3 - "$W/$run.json" "$sent" <<'PY' && ok "$run: --stats-json: every frame counted and accounted for" || bad "$run: stats-json"
import json, sys
t = json.load(open(sys.argv[1]))["total"]
sent = int(sys.argv[2])
# packet drops: every drop reason but the per-copy ones (a receiver whose
# MAC is not known yet when the first packets come: no_nexthop)
drops = sum(v for k, v in t.items() if k in (
    "eth_truncated ip_truncated ip_bad_version ip_bad_hdr ip_bad_len ip_fragment udp_bad_len "
    "udp_bad_csum not_ours not_media unknown_endpoint rtp_bad_version rtp_malformed oversized "
    "ekt_invalid stream_limit srtp_auth srtp_replay srtp_too_old srtcp_auth srtcp_replay "
    "ohb_invalid no_key seal_failed no_receivers no_mbuf handoff_full punt_full").split())
nh = t["no_nexthop"]
print("rx_frames %d rx_rtp %d rx_rtcp %d drops %d tx_rtp %d no_nexthop %d tx_frames %d, sent %d" % (
    t["rx_frames"], t["rx_rtp"], t["rx_rtcp"], drops, t["tx_rtp"], nh, t["tx_frames"], sent))
ok = t["rx_frames"] == sent and t["rx_rtp"] + t["rx_rtcp"] == sent and drops == 0 \
    and t["tx_rtp"] <= 2 * t["rx_rtp"] <= t["tx_rtp"] + nh \
    and t["tx_frames"] == t["tx_rtp"] + t["tx_rtcp"] + t["ctl_tx"]
sys.exit(0 if ok else 1)
PY
	if [ -n "$hugedir" ]; then
		left=$(ls "$hugedir" 2>/dev/null | grep -c "^perc-life-$$-$run")
		[ "$left" = 0 ] && ok "$run: no hugepage file of prefix perc-life-$$-$run left in $hugedir" ||
			bad "$run: $left hugepage files left: $(ls "$hugedir" | grep "perc-life-$$-$run" | head -3)"
	fi
done
# D: hugepages without --huge-unlink: the files stay (DPDK keeps them for
# secondary processes) and perc-mdd says so on exit, with the fix
if [ -n "$hugedir" ]; then
	start D -m 128 -- --provision "$W/provision.json" --api "$W/api.sock" --metrics off \
		--stats-interval 0 --mbufs 4096
	sleep 0.5
	kill -TERM "$mdd_pid"
	wait_exit 10; rc=$?
	[ $rc -eq 0 ] && grep -q "hugepage files $hugedir/perc-life-$$-Dmap_\* stay after exit: run with the EAL option --huge-unlink" "$W/D.log" &&
		ok "D: without --huge-unlink: exit 0 and the warning about the files left" ||
		bad "D: exit $rc: $(tail -2 "$W/D.log")"
	rm -f "$hugedir/perc-life-$$-D"map_*
fi
# E: the busy_pct limit (--limits at start): an endpoint is taken while
# the workers idle, refused while a flood keeps one busy, taken again once
# a quiet second has passed
start E --no-huge -m 256 -- --provision "$W/provision.json" --api "$W/api.sock" --metrics off \
	--stats-interval 0 --limits busy_pct=1
sleep 1.2
ctl conference create k >/dev/null 2>&1 || bad "E: conference create k"
ctl endpoint add k q1 --remote-ufrag abcd >/dev/null 2>"$W/err" &&
	ok "E: busy_pct 1: endpoint taken while the workers idle" ||
	bad "E: idle, endpoint refused: $(cat "$W/err")"
# the capture's frames again and again (replays after the first pass: each
# still costs the worker a lookup and an open) for 3 s
in_ns python3 - "$W/in.pcap" <<'PY' &
import socket, struct, sys, time
d, off, fr = open(sys.argv[1], "rb").read(), 24, []
while off + 16 <= len(d):
    n = struct.unpack("<I", d[off + 8:off + 12])[0]
    fr.append(d[off + 16:off + 16 + n]); off += 16 + n
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("mddtap0", 0))
end = time.time() + 3
while time.time() < end:
    for f in fr:
        s.send(f)
PY
flood=$!
sleep 1.3
refused=0
for i in $(seq 15); do
	if ctl endpoint add k b$i --remote-ufrag abcd >/dev/null 2>"$W/err"; then
		ctl endpoint remove k b$i >/dev/null 2>&1
	elif grep -q "busiest worker [0-9]* % busy, above the limit 1 %" "$W/err"; then
		refused=$((refused + 1))
		break
	fi
	sleep 0.1
done
wait "$flood"
[ $refused = 1 ] && ok "E: refused during the flood: $(grep -o 'busiest worker.*%' "$W/err" | head -1)" ||
	bad "E: never refused during the flood: $(cat "$W/err")"
# the worker may still drain the tap's backlog after the sender stopped
# (a loaded machine): quiet is a full second without work, within 15 s
taken=0
for i in $(seq 30); do
	sleep 0.5
	if ctl endpoint add k q2 --remote-ufrag abcd >/dev/null 2>"$W/err"; then
		taken=1
		break
	fi
done
[ $taken = 1 ] && ok "E: taken again once quiet ($((i * 5 / 10)) s after the flood)" ||
	bad "E: 15 s after the flood, still refused: $(cat "$W/err")"
kill -TERM "$mdd_pid"
wait_exit 10; rc=$?
[ $rc -eq 0 ] && ok "E: SIGTERM: exited 0" || bad "E: exit $rc: $(tail -3 "$W/E.log")"
t_end
