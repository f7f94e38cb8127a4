#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# perc-mdd started from a configuration file takes its [control] limits and
# [logging] log-level, and the settings that change at run time (limits, log
# levels, stats interval) change through the control API (mddctl).
# No NIC, no namespace: a net_null port that receives nothing.
# usage: test_config_runtime.sh PERC_MDD MDDCTL WORKDIR
set -u
MDD=$1 CTL=$2 W=$3
. "$(dirname "$0")/lib.sh"
t_begin config-runtime
pid=
t_kill_on_exit pid
rm -rf "$W" && mkdir -p "$W"

cat >"$W/rt.conf" <<CONF
[eal]
args = --no-huge -m 256 --no-pci -l 0-1 --file-prefix perc-cfgrt-$$ --vdev net_null0,no-rx=1
[dataplane]
addr = 192.0.2.1
no-preflight = true
[control]
api = $W/api.sock
limits = endpoints=100,conferences=7
[metrics]
metrics = off
stats-interval = 0
[logging]
log-level = perc.mdd.*:notice, lib.eal:error
CONF
"$MDD" --config "$W/rt.conf" >"$W/mdd.log" 2>&1 &
pid=$!
t_wait_file "$W/api.sock"
[ -S "$W/api.sock" ] || { bad "no API socket: $(cat "$W/mdd.log")"; exit 1; }
ctl() { "$CTL" --socket "$W/api.sock" "$@" | tr -d ' \n'; }

out=$(ctl limits)
case $out in
*'"limits":{"busy_pct":0,"conferences":7,"endpoints":100,"pps":0}'*) ok "limits from the file" ;;
*) bad "limits from the file: $out" ;;
esac
out=$(ctl log-level)
case $out in
*'"perc.mdd.api":"notice"'*'"perc.mdd.tunnel":"notice"'*) ok "log-level from the file" ;;
*) bad "log-level from the file: $out" ;;
esac
out=$(ctl limits --endpoints 5)
case $out in
*'"conferences":7,"endpoints":5'*) ok "limits changed through the API" ;;
*) bad "limits change: $out" ;;
esac
ctl log-level 'perc.mdd.ice' debug >/dev/null
out=$(ctl log-level)
case $out in
*'"perc.mdd.ice":"debug"'*'"perc.mdd.tunnel":"notice"'*) ok "log level changed through the API" ;;
*) bad "log-level change: $out" ;;
esac
out=$(ctl stats-interval 1)
case $out in
*'"seconds":1'*) ok "stats interval changed through the API" ;;
*) bad "stats-interval change: $out" ;;
esac
# the file said 0 (no summary lines): now they come
t_wait_grep "^rx .* pps" "$W/mdd.log" 30
grep -q "^rx .* pps" "$W/mdd.log" && ok "summary lines after the change" ||
	bad "no summary line: $(cat "$W/mdd.log")"
kill -TERM "$pid"
wait "$pid"
rc=$?
pid=
[ $rc -eq 0 ] && ok "SIGTERM: exit 0" || bad "exit $rc: $(tail -3 "$W/mdd.log")"

t_end
