#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# systemd/perc-mdd.service and systemd/perc-kd.service: systemd-analyze
# verify accepts them with no complaint at all (it exits 0 on unknown keys
# and unparsable values, only printing them: any line naming the unit
# fails), with ExecStart pointed at this build's binaries; both are
# Type=notify with a watchdog, NotifyAccess=main, no core files, and keep
# to the capabilities docs/operations.md lists; perc-kd sends READY,
# WATCHDOG and STOPPING (perc-mdd's: test_lifecycle.sh).
# usage: test_systemd_units.sh SOURCE_ROOT PERC_MDD PERC_KD WORKDIR
set -u
SRC=$1 MDD=$2 KD=$3 W=$4
if ! command -v systemd-analyze >/dev/null 2>&1; then
	echo "systemd-analyze not installed (Debian package systemd): skipped"
	exit 77
fi
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
rm -rf "$W" && mkdir -p "$W"
MDD=$(cd "$(dirname "$MDD")" && pwd)/$(basename "$MDD")
KD=$(cd "$(dirname "$KD")" && pwd)/$(basename "$KD")
sed "s#/usr/local/bin/perc-mdd#$MDD#" "$SRC/systemd/perc-mdd.service" >"$W/perc-mdd.service"
sed "s#/usr/local/bin/perc-kd#$KD#" "$SRC/systemd/perc-kd.service" >"$W/perc-kd.service"
for u in perc-mdd perc-kd; do
	systemd-analyze verify "$W/$u.service" >"$W/$u.log" 2>&1
	rc=$?
	if [ $rc -eq 0 ] && ! grep -q "$u.service" "$W/$u.log"; then
		ok "systemd-analyze verify $u.service"
	else
		bad "systemd-analyze verify $u.service (exit $rc): $(head -5 "$W/$u.log")"
	fi
	f=$SRC/systemd/$u.service
	for kv in Type=notify NotifyAccess=main WatchdogSec= LimitCORE=0 NoNewPrivileges=yes \
		ProtectSystem=strict ProtectHome=yes PrivateTmp=yes CapabilityBoundingSet=; do
		grep -q "^$kv" "$f" || bad "$u.service lacks $kv"
	done
done
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$SRC/systemd/perc-mdd.service")
[ "$caps" = "CAP_IPC_LOCK CAP_NET_ADMIN CAP_NET_RAW" ] && ok "perc-mdd capabilities: $caps" ||
	bad "perc-mdd capabilities: '$caps' (docs/operations.md lists each; update both)"
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$SRC/systemd/perc-kd.service")
[ -z "$caps" ] && ok "perc-kd: no capability" || bad "perc-kd capabilities: '$caps'"
# the check itself can fail: a typo must be caught
sed 's/^NoNewPrivileges=/NoNewPrivilegs=/' "$W/perc-kd.service" >"$W/typo.service"
systemd-analyze verify "$W/typo.service" >"$W/typo.log" 2>&1
grep -q "typo.service" "$W/typo.log" && ok "a misspelt key is caught" || bad "a misspelt key went unnoticed"

# perc-kd's notifications (Type=notify): READY=1 once listening, WATCHDOG=1
# from its loop, STOPPING=1 on SIGTERM, on a socket of the test's own; in a
# network namespace of the test's own (perc-mdd's are in test_lifecycle.sh)
ns=perc-units-$$
if command -v openssl >/dev/null 2>&1 && ip netns add "$ns" 2>/dev/null; then
	kd_pid= nl_pid=
	trap '[ -n "$kd_pid" ] && kill $kd_pid 2>/dev/null; [ -n "$nl_pid" ] && kill $nl_pid 2>/dev/null;
	      for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done;
	      wait 2>/dev/null; ip netns del "$ns" 2>/dev/null' EXIT
	ip netns exec "$ns" ip link set lo up
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=kd \
		-keyout "$W/kd.key" -out "$W/kd.pem" 2>/dev/null
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$W/iss.key" 2>/dev/null
	openssl pkey -in "$W/iss.key" -pubout -out "$W/iss.pub" 2>/dev/null
	python3 - "$W/notify.sock" >"$W/notify.log" 2>&1 <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
while True:
    print(s.recv(4096).decode().replace("\n", " | "), flush=True)
PY
	nl_pid=$!
	for _ in $(seq 50); do [ -S "$W/notify.sock" ] && break; sleep 0.1; done
	NOTIFY_SOCKET=$W/notify.sock WATCHDOG_USEC=2000000 ip netns exec "$ns" "$KD" \
		--listen 127.0.0.1:4443 --cert "$W/kd.pem" --key "$W/kd.key" --mdd-ca "$W/kd.pem" \
		--api "$W/kd.sock" --issuer-key "$W/iss.pub" --issuer iss --audience aud \
		2>"$W/kd.log" &
	kd_pid=$!
	sleep 2.5
	kill -TERM "$kd_pid"; wait "$kd_pid"; rc=$?; kd_pid=
	sleep 0.2
	kill "$nl_pid" 2>/dev/null; wait "$nl_pid" 2>/dev/null; nl_pid=
	[ $rc -eq 0 ] || bad "perc-kd exited $rc: $(tail -2 "$W/kd.log")"
	for m in READY=1 "STATUS=listening on 127.0.0.1:4443" WATCHDOG=1 STOPPING=1; do
		grep -q "$m" "$W/notify.log" && ok "perc-kd sd_notify $m" ||
			bad "perc-kd sd_notify: no $m in $(head -c 300 "$W/notify.log")"
	done
else
	echo "note: no openssl or no network namespace: perc-kd's notifications not checked"
fi
echo "systemd units: $pass passed, $fail failed"
[ $fail -eq 0 ]
