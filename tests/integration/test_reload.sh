#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# perc-mdd changes its conferences while running (SIGHUP re-reads the
# provisioning file), with live traffic through a DPDK tap port in a network
# namespace of the test's own:
#   1. provisioned with c1 only: c1 is forwarded, c2's frames are unknown;
#   2. SIGHUP with c1 and c2: c2's frames (sent again) are forwarded;
#   3. SIGHUP with c2 only: c1's frames (sent again) are unknown now.
# Every delivery is verified by perc-pcaptest check, the unknown_endpoint
# counter must equal the frames sent to missing conferences, and the reload
# counters must show two reloads.
# usage: test_reload.sh PERC_MDD PERC_PCAPTEST WORKDIR
set -u
MDD=$1 PT=$2 W=$3
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
t_begin reload
ns=perc-reload-$$
mdd_pid= cap_pid=
t_kill_on_exit cap_pid mdd_pid
t_netns "$ns"
in_ns() { ip netns exec "$ns" "$@"; }

rm -rf "$W" && mkdir -p "$W"
"$PT" gen --dir "$W" --conferences 2 --size 3 --packets 40 --rtcp >/dev/null || exit 1
python3 "$here/tapio.py" subset "$W/provision.json" "$W/live.json" c1
in_ns ip link set lo up
in_ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1

t_mdd_tap "$ns" "" "$MDD" --no-huge -m 256 --no-pci -l 0-1 --file-prefix "perc-reload-$$" \
	--log-level=lib.eal:error --vdev net_tap0,iface=mddtap0 -- --addr 192.0.2.1 \
	--provision "$W/live.json" --stats-interval 0 --stats-json "$W/stats.json" \
	>"$W/mdd.log" 2>&1
# not through in_ns: $! must be the process itself (ip netns exec execs it)
ip netns exec "$ns" python3 "$here/tapio.py" capture mddtap0 "$W/out.pcap" >"$W/cap.log" 2>&1 &
cap_pid=$!
t_wait_grep ready "$W/cap.log" 50
sleep 0.5

send() { in_ns python3 "$here/tapio.py" send mddtap0 "$W/in.pcap" "$W/secrets.json" "$1" >/dev/null; sleep 0.5; }
send c1,c2                                             # phase 1: c2 unknown
python3 "$here/tapio.py" subset "$W/provision.json" "$W/live.json" c1,c2
kill -HUP "$mdd_pid"; sleep 1
send c2                                                # phase 2: c2 added
python3 "$here/tapio.py" subset "$W/provision.json" "$W/live.json" c2
kill -HUP "$mdd_pid"; sleep 1
send c1                                                # phase 3: c1 removed
sleep 0.5
kill "$cap_pid"; wait "$cap_pid"; cap_pid=
kill "$mdd_pid"; wait "$mdd_pid"; rc=$?; mdd_pid=
[ $rc -eq 0 ] && ok "perc-mdd stopped cleanly on SIGTERM" || bad "perc-mdd exited $rc: $(tail -3 "$W/mdd.log")"
grep -q "conference c2 added" "$W/mdd.log" && ok "reload 1: c2 added" || bad "reload 1: $(grep reload "$W/mdd.log")"
grep -q "conference c1 removed" "$W/mdd.log" && ok "reload 2: c1 removed" || bad "reload 2: $(grep reload "$W/mdd.log")"

if "$PT" check --dir "$W" --out "$W/out.pcap" >"$W/check.log" 2>&1; then
	ok "$(head -1 "$W/check.log")"
else
	bad "$(head -4 "$W/check.log" | tr '\n' ' ')"
fi
python3 - "$W" <<'PY' && ok "unknown_endpoint counts the frames of missing conferences; 2 reloads" || bad "counters"
import json, socket, struct, sys
sys.path.insert(0, __import__("os").path.dirname(sys.argv[0]) or ".")
w = sys.argv[1]
st = json.load(open(w + "/stats.json"))
sec = json.load(open(w + "/secrets.json"))
data = open(w + "/in.pcap", "rb").read()
off, frames = 24, []
while off + 16 <= len(data):
    n = struct.unpack("<I", data[off + 8:off + 12])[0]
    frames.append(data[off + 16:off + 16 + n]); off += 16 + n
conf_of = {}
for ep in sec["endpoints"]:
    host, port = ep["addr"].rsplit(":", 1)
    conf_of[(socket.inet_aton(host), int(port))] = ep["conference"]
count = {"c1": 0, "c2": 0}
for f in frames:
    ihl = (f[14] & 15) * 4
    k = (f[26:30], struct.unpack("!H", f[14 + ihl:16 + ihl])[0])
    if k in conf_of:
        count[conf_of[k]] += 1
want = count["c2"] + count["c1"]      # c2 in phase 1, c1 in phase 3
got = st["total"]["unknown_endpoint"]
print("unknown_endpoint %d, want %d; reloads %d" % (got, want, st["control"]["reloads"]))
sys.exit(0 if got == want and st["control"]["reloads"] == 2 else 1)
PY
t_end
