#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# systemd/perc-kd.service and systemd/perc-mdd.service under a real
# systemd: a container (systemd-nspawn --volatile=yes: this host's /usr,
# a fresh /etc and /var, its own network namespace) boots systemd, the
# units are installed as docs/operations.md says (users perc-kd / perc-mdd
# in group perc, /etc/perc/..., only ExecStart's path changed to this
# build's binaries), then:
#   - both start: Type=notify READY=1 (the unit is "active" only then),
#     STATUS= text, the watchdog fed (WatchdogTimestamp set), main PIDs
#     running as their users with exactly the unit's capabilities;
#   - perc-mdd's tunnel to perc-kd comes up inside the sandbox (TLS 1.3,
#     certificates under /etc/perc), its API socket is in /run/perc-mdd;
#   - the journal has perc-mdd's and perc-kd's lines;
#   - mddctl drain: perc-mdd leaves by itself, exit 0, no restart, final
#     counters in the journal, no hugepage file left; systemctl stop
#     perc-kd: STOPPING=1, exit 0.
# Skips (77) without root, systemd-nspawn (Debian package
# systemd-container) or a host where the container cannot boot.
# usage: test_systemd_boot.sh SOURCE_ROOT PERC_MDD PERC_KD MDDCTL WORKDIR
set -u
SRC=$(cd "$1" && pwd) MDD=$2 KD=$3 CTL=$4 W=$5
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
t_begin systemd_boot
abs() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
MDD=$(abs "$MDD") KD=$(abs "$KD") CTL=$(abs "$CTL")
build=$(cd "$(dirname "$MDD")/../.." && pwd)
[ "$(id -u)" = 0 ] || skip "needs root"
# sanitizer builds (tools/test --sanitize): LeakSanitizer needs ptrace at
# exit, which perc-kd's SystemCallFilter= refuses ("LeakSanitizer has
# encountered a fatal error"), and the units pass no ASAN_OPTIONS: the
# units are for release builds
[ "${PERC_SANITIZE:-0}" = 1 ] && skip "a sanitizer build: the units' seccomp filter stops LeakSanitizer"
command -v systemd-nspawn >/dev/null || skip "systemd-nspawn not installed (Debian package systemd-container)"
command -v openssl >/dev/null || skip "openssl(1) not found"
machine=perc-sd-$$
rm -rf "$W" && mkdir -p "$W/etc/kd"
W=$(cd "$W" && pwd)

# credentials, as an operator would make them
t_mkcert perc-kd "$W/etc/kd/kd.key" "$W/etc/kd/kd.crt" &&
	t_mkcert perc-mdd "$W/etc/mdd.key" "$W/etc/mdd.crt" || { bad "openssl"; t_end; exit 1; }
cp "$W/etc/mdd.crt" "$W/etc/kd/mdd-ca.crt"
t_mkeckey "$W/etc/kd/issuer.key" "$W/etc/kd/issuer.pub"

# the container mounts a hugetlbfs of its own on /dev/hugepages (the host's
# page pool)
free=$(awk '/^HugePages_Free/ {print $2}' /proc/meminfo)
huge=0
if [ "${free:-0}" -ge 96 ]; then
	mem="-m 128 --huge-unlink"
	huge=1
else
	mem="--no-huge -m 256"
	echo "note: fewer than 96 free hugepages: --no-huge (no hugepage check)"
fi
cat >"$W/etc/perc-mdd.conf" <<EOF
[eal]
args = -l 0-1 $mem --no-pci --file-prefix perc-mdd --vdev net_null0,no-rx=1
[dataplane]
addr = 192.0.2.1
[control]
api = /run/perc-mdd/api.sock
[kd]
kd = 127.0.0.1:4443
kd-cert = /etc/perc/mdd.crt
kd-key = /etc/perc/mdd.key
kd-ca = /etc/perc/kd/kd.crt
[metrics]
metrics = 127.0.0.1:9464
stats-interval = 0
EOF
# the binaries appear in the container under /opt/perc-test (bound in
# below): a build under /tmp or /root would be hidden from the units by
# their PrivateTmp= / ProtectHome=, as /usr/local/bin is not
sed "s#^ExecStart=/usr/local/bin/perc-mdd#ExecStart=/opt/perc-test/mdd/perc-mdd#" \
	"$SRC/systemd/perc-mdd.service" >"$W/perc-mdd.service"
sed "s#^ExecStart=/usr/local/bin/perc-kd#ExecStart=/opt/perc-test/kd/perc-kd#" \
	"$SRC/systemd/perc-kd.service" >"$W/perc-kd.service"
diff <(grep -v ^ExecStart "$SRC/systemd/perc-mdd.service") <(grep -v ^ExecStart "$W/perc-mdd.service") >/dev/null &&
	diff <(grep -v ^ExecStart "$SRC/systemd/perc-kd.service") <(grep -v ^ExecStart "$W/perc-kd.service") >/dev/null ||
	bad "the installed units differ from systemd/ in more than ExecStart"

# the install steps of docs/operations.md, run inside the container
cat >"$W/install.sh" <<EOF
set -e
groupadd -r perc
useradd -r -g perc -d /nonexistent -s /usr/sbin/nologin perc-kd
useradd -r -g perc -d /nonexistent -s /usr/sbin/nologin perc-mdd
install -d -m 750 -g perc /etc/perc /etc/perc/kd
install -m 640 -g perc $W/etc/perc-mdd.conf /etc/perc/perc-mdd.conf
install -m 640 -g perc $W/etc/mdd.crt /etc/perc/mdd.crt
install -m 640 -o perc-mdd -g perc $W/etc/mdd.key /etc/perc/mdd.key
for f in kd.crt mdd-ca.crt issuer.pub; do install -m 640 -g perc $W/etc/kd/\$f /etc/perc/kd/\$f; done
install -m 640 -o perc-kd -g perc $W/etc/kd/kd.key /etc/perc/kd/kd.key
install -m 644 $W/perc-kd.service $W/perc-mdd.service /etc/systemd/system/
install -D -m 644 $SRC/systemd/perc-mdd.tmpfiles /etc/tmpfiles.d/perc-mdd.conf
systemd-tmpfiles --create /etc/tmpfiles.d/perc-mdd.conf
systemctl daemon-reload
EOF

# boot: this host's /usr, everything else fresh; own network namespace
buildbind=()
case $build/ in "$SRC"/*) ;; *) buildbind=(--bind-ro="$build") ;; esac
# systemd-nspawn's /sys has no /sys/module, which the EAL reads (VFIO
# probe; without it: "Cannot init VFIO"): the host's, read-only
[ -d /sys/module ] && buildbind+=(--bind-ro=/sys/module)
t_on_exit 'machinectl terminate "$machine" 2>/dev/null; [ -n "${ns_pid:-}" ] && kill "$ns_pid"'
systemd-nspawn --quiet --directory=/ --volatile=yes --boot --machine="$machine" \
	--register=no --private-users=no --keep-unit --private-network --capability=CAP_IPC_LOCK \
	--bind-ro="$SRC" "${buildbind[@]}" --bind="$W" \
	--bind-ro="$(dirname "$MDD")":/opt/perc-test/mdd --bind-ro="$(dirname "$KD")":/opt/perc-test/kd \
	systemd.firstboot=off >"$W/boot.log" 2>&1 </dev/null &
ns_pid=$!
leader=
for _ in $(seq 100); do
	leader=$(ps -o pid= --ppid "$ns_pid" 2>/dev/null | head -1 | tr -d ' ')
	[ -n "$leader" ] && break
	kill -0 "$ns_pid" 2>/dev/null || break
	sleep 0.1
done
[ -n "$leader" ] || { cat "$W/boot.log"; skip "systemd-nspawn could not start a container here"; }
in_c() { nsenter --target "$leader" --mount --uts --ipc --net --pid -- "$@"; }
state=
for _ in $(seq 150); do
	state=$(in_c systemctl is-system-running 2>/dev/null)
	case $state in running | degraded) break ;; esac
	sleep 0.2
done
case $state in
running | degraded) ok "systemd booted in the container ($state)" ;;
*) tail -20 "$W/boot.log"; skip "systemd did not boot in the container (state '$state')" ;;
esac

# the container's network is lo alone: network-online.target (both units
# are After= it) would wait for systemd-networkd-wait-online's 2 minutes
in_c systemctl mask --now systemd-networkd-wait-online.service >/dev/null 2>&1
in_c bash "$W/install.sh" >"$W/install.log" 2>&1 && ok "installed as docs/operations.md says" &&
	[ "$(in_c stat -c %A:%G /dev/hugepages)" = drwxrwx--T:perc ] &&
	ok "perc-mdd.tmpfiles: /dev/hugepages 1770 root:perc" ||
	{ bad "install: $(tail -3 "$W/install.log")"; t_end; exit 1; }

# start (Type=notify: systemctl start returns once READY=1 came)
for u in perc-kd perc-mdd; do
	in_c timeout 60 systemctl --no-ask-password start "$u" >"$W/$u.start.err" 2>&1
	rc=$?
	if [ $rc -eq 0 ]; then
		ok "systemctl start $u: READY=1"
	else
		bad "systemctl start $u: exit $rc $(cat "$W/$u.start.err")"
		in_c journalctl -u "$u" --no-pager | tail -20
	fi
done
sleep 2.5   # a few watchdog pings, the tunnel's handshake
for u in perc-kd perc-mdd; do
	in_c systemctl show "$u" -p ActiveState -p SubState -p StatusText -p WatchdogTimestampMonotonic \
		-p MainPID -p NRestarts >"$W/$u.show"
	grep -q '^ActiveState=active$' "$W/$u.show" && grep -q '^SubState=running$' "$W/$u.show" &&
		ok "$u active (running)" || bad "$u: $(tr '\n' ' ' <"$W/$u.show")"
	st=$(sed -n 's/^StatusText=//p' "$W/$u.show")
	[ -n "$st" ] && ok "$u STATUS: $st" || bad "$u sent no STATUS="
	wd=$(sed -n 's/^WatchdogTimestampMonotonic=//p' "$W/$u.show")
	[ "${wd:-0}" -gt 0 ] && ok "$u feeds the watchdog" || bad "$u: no WATCHDOG=1 seen"
	pid=$(sed -n 's/^MainPID=//p' "$W/$u.show")
	in_c cat "/proc/$pid/status" >"$W/$u.status" 2>/dev/null
	user=$(in_c ps -o user= -p "$pid" 2>/dev/null | tr -d ' ')
	[ "$user" = "$u" ] && ok "$u runs as user $u" || bad "$u runs as '$user'"
	capeff=$(sed -n 's/^CapEff:\t*//p' "$W/$u.status")
	case $u in
	perc-mdd) want=$(printf '%016x' $(((1 << 14) | (1 << 12) | (1 << 13)))) ;; # IPC_LOCK NET_ADMIN NET_RAW
	perc-kd) want=0000000000000000 ;;
	esac
	[ "$capeff" = "$want" ] && ok "$u effective capabilities $capeff as the unit says" ||
		bad "$u CapEff $capeff, want $want"
done

# the deployment works inside the sandbox: tunnel up, API in /run/perc-mdd
connected=
for _ in $(seq 50); do
	in_c "$CTL" --socket /run/perc-mdd/api.sock stats >"$W/stats.json" 2>"$W/ctl.err"
	connected=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["tunnel"]["connected"])' \
		"$W/stats.json" 2>/dev/null)
	[ "$connected" = True ] && break
	sleep 0.2
done
[ "$connected" = True ] && ok "perc-mdd's tunnel to perc-kd is up (TLS 1.3 between the two units)" ||
	bad "tunnel not up: $(cat "$W/ctl.err"; python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["tunnel"])' "$W/stats.json" 2>&1)"
in_c journalctl -u perc-mdd --no-pager -o cat >"$W/mdd.journal" 2>&1
in_c journalctl -u perc-kd --no-pager -o cat >"$W/kd.journal" 2>&1
grep -q "KD tunnel 127.0.0.1:4443 up" "$W/mdd.journal" && ok "journal: perc-mdd's lines (tunnel up)" ||
	bad "perc-mdd's journal: $(tail -3 "$W/mdd.journal")"
[ -s "$W/kd.journal" ] && ok "journal: perc-kd's lines ($(grep -c . "$W/kd.journal"))" ||
	bad "perc-kd's journal is empty"

# drain: perc-mdd exits by itself (no endpoint), exit 0, not restarted
in_c "$CTL" --socket /run/perc-mdd/api.sock drain >/dev/null 2>"$W/ctl.err" && ok "mddctl drain" ||
	bad "drain: $(cat "$W/ctl.err")"
for _ in $(seq 100); do
	s=$(in_c systemctl show perc-mdd -p ActiveState --value)
	[ "$s" = inactive ] && break
	sleep 0.1
done
in_c systemctl show perc-mdd -p ActiveState -p Result -p ExecMainStatus -p NRestarts >"$W/mdd.after"
grep -q '^ActiveState=inactive$' "$W/mdd.after" && grep -q '^Result=success$' "$W/mdd.after" &&
	grep -q '^ExecMainStatus=0$' "$W/mdd.after" && grep -q '^NRestarts=0$' "$W/mdd.after" &&
	ok "drained: perc-mdd exited 0 by itself, not restarted" || bad "after drain: $(tr '\n' ' ' <"$W/mdd.after")"
in_c journalctl -u perc-mdd --no-pager -o cat >"$W/mdd.journal" 2>&1
grep -q "final counters: rx_frames" "$W/mdd.journal" && ok "journal: perc-mdd's final counters" ||
	bad "no final counters in the journal"
if [ $huge = 1 ]; then
	left=$(in_c ls /dev/hugepages | grep -c '^perc-mddmap_')
	[ "$left" = 0 ] && ok "no hugepage file of perc-mdd left" || bad "$left hugepage files left"
fi
in_c timeout 30 systemctl --no-ask-password stop perc-kd
in_c systemctl show perc-kd -p ActiveState -p Result -p ExecMainStatus >"$W/kd.after"
if grep -q '^Result=success$' "$W/kd.after" && grep -q '^ExecMainStatus=0$' "$W/kd.after"; then
	ok "systemctl stop perc-kd: exit 0"
else
	bad "perc-kd stop: $(tr '\n' ' ' <"$W/kd.after")"
	in_c journalctl -u perc-kd --no-pager -o cat | tail -8
fi
t_end
