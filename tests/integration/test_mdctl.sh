#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# perc-mdd's control plane end to end, in a network namespace of the test's
# own with a DPDK tap port (192.0.2.1 is the MDD, 192.0.2.2 the kernel side
# where the endpoints' UDP sockets live): the conference API through mddctl
# (and malformed requests), ICE-lite (STUN with MESSAGE-INTEGRITY and
# FINGERPRINT, latching, consent), the KD tunnel against fake_kd.py (TLS
# 1.3, SupportedProfiles first, TunneledDtls both ways, MediaKeys, KD
# restart with media flowing, EndpointDisconnect) and double SRTP re-sealed
# for the receiver (checked with perc-srtp). mdctl_driver.py does the checks.
# usage: test_mdctl.sh PERC_MDD MDDCTL PERC_SRTP WORKDIR
set -u
MDD=$1 CTL=$2 SRTP=$3 W=$4
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
t_begin mdctl
ns=perc-mdctl-$$
mdd_pid=
t_kill_on_exit mdd_pid
t_netns "$ns"
in_ns() { ip netns exec "$ns" "$@"; }

rm -rf "$W" && mkdir -p "$W"
# a CA, the KD's server certificate and the MDD's client certificate
cert() { # NAME CN
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/$1.key" \
		-subj "/CN=$2" -out "$W/$1.csr" 2>/dev/null &&
	openssl x509 -req -in "$W/$1.csr" -CA "$W/ca.crt" -CAkey "$W/ca.key" -CAcreateserial \
		-days 2 -out "$W/$1.crt" 2>/dev/null
}
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/ca.key" \
	-subj "/CN=perc test CA" -days 2 -out "$W/ca.crt" 2>/dev/null &&
	cert kd perc-kd && cert mdd perc-mdd || { echo "openssl cannot make certificates"; exit 1; }

in_ns ip link set lo up
in_ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
consent=4000 media=3000
t_mdd_tap "$ns" "$W/mdd.sock" "$MDD" --no-huge -m 256 --no-pci ${LCORES:--l 0-1} --file-prefix "perc-mdctl-$$" \
	--log-level=lib.eal:error --vdev net_tap0,iface=mddtap0 -- --addr 192.0.2.1 \
	--api "$W/mdd.sock" --kd 127.0.0.1:4443 --kd-cert "$W/mdd.crt" --kd-key "$W/mdd.key" \
	--kd-ca "$W/ca.crt" --consent-timeout $consent --media-timeout $media \
	--stats-interval 0 --stats-json "$W/stats.json" >"$W/mdd.log" 2>&1
in_ns ip addr add 192.0.2.2/24 dev mddtap0
[ -S "$W/mdd.sock" ] && ok "perc-mdd serves the API at $W/mdd.sock" || bad "no API socket: $(tail -3 "$W/mdd.log")"

in_ns timeout 120 python3 "$here/mdctl_driver.py" "$W" "$CTL" "$W/mdd.sock" "$SRTP" 4443 $consent $media \
	>"$W/driver.log" 2>&1
drc=$?
cat "$W/driver.log"
[ $drc -eq 0 ] && ok "driver checks" || bad "driver checks (exit $drc)"

kill "$mdd_pid"; wait "$mdd_pid"; rc=$?; mdd_pid=
[ $rc -eq 0 ] && ok "perc-mdd stopped cleanly on SIGTERM" || bad "perc-mdd exited $rc: $(tail -3 "$W/mdd.log")"
[ ! -e "$W/mdd.sock" ] && ok "API socket removed on exit" || bad "API socket left behind"
python3 - "$W/stats.json" <<'PY' && ok "stats.json: keys retired, no conference left, ICE and tunnel counters" || bad "stats.json"
import json, sys
st = json.load(open(sys.argv[1]))
c, ice, tun = st["control"], st["ice"], st["tunnel"]
print("keys_retired %d, conferences %d, endpoints %d; stun_answered %d, keys_installed %d, reconnects %d"
      % (c["keys_retired"], c["conferences"], c["endpoints"], ice["stun_answered"], ice["keys_installed"],
         tun["reconnects"]))
sys.exit(0 if c["keys_retired"] >= 4 and c["conferences"] == 0 and c["endpoints"] == 0 and
         ice["stun_answered"] >= 4 and ice["keys_installed"] >= 4 and tun["reconnects"] >= 1 else 1)
PY
t_end "driver: $(tail -1 "$W/driver.log")"
