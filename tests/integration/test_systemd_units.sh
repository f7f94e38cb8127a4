#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# systemd/perc-mdd.service and systemd/perc-kd.service: systemd-analyze
# verify accepts them with no complaint at all (it exits 0 on unknown keys
# and unparsable values, only printing them: any line naming the unit
# fails), with ExecStart pointed at this build's binaries; both are
# Type=notify with a watchdog, NotifyAccess=main, no core files, and keep
# to the capabilities docs/operations.md lists.
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
echo "systemd units: $pass passed, $fail failed"
[ $fail -eq 0 ]
