#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# dpdk-dumpcap attached to a running perc-mdd (rte_pdump_init; docs/
# operations.md "Capture"): perc-mdd runs in a network namespace of the
# test's own with a net_tap port and HUGEPAGES (a secondary process maps the
# primary's memory through its hugepage files: with --no-huge it cannot
# attach at all, and --huge-unlink removes the files it needs), dpdk-dumpcap
# joins as a secondary (--file-prefix of that run) and must capture every
# media frame sent to perc-mdd and every copy it sent out.
# dpdk-dumpcap: $PERC_DUMPCAP, or dpdk-dumpcap on PATH (Debian package
# dpdk-dev); skipped (77) without it, without free hugepages, or without netns.
# usage: test_pdump.sh PERC_MDD PERC_PCAPTEST WORKDIR
set -u
MDD=$1 PT=$2 W=$3
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
t_begin pdump
dumpcap=${PERC_DUMPCAP:-$(command -v dpdk-dumpcap 2>/dev/null)}
if [ -z "$dumpcap" ] || [ ! -x "$dumpcap" ]; then
	skip "dpdk-dumpcap not found (Debian package dpdk-dev, or PERC_DUMPCAP=PATH)"
fi
free=$(awk '/^HugePages_Free/ {print $2}' /proc/meminfo)
if [ "${free:-0}" -lt 96 ] || ! mount | grep -q hugetlbfs; then
	skip "needs 96 free 2 MB hugepages and a hugetlbfs mount (tools/demo reserves them)"
fi
ns=perc-pdump-$$
prefix=perc-pdump-$$
mdd_pid= dc_pid=
t_kill_on_exit dc_pid mdd_pid
# no --huge-unlink (the secondary needs the files): remove them here
t_on_exit 'rm -f /dev/hugepages/"$prefix"map_* /dev/hugepages/"$prefix"-*'
t_on_exit 'rm -rf /var/run/dpdk/"$prefix"'
t_netns "$ns"
in_ns() { ip netns exec "$ns" "$@"; }

rm -rf "$W" && mkdir -p "$W"
"$PT" gen --dir "$W" --conferences 1 --size 3 --packets 20 >/dev/null || exit 1
in_ns ip link set lo up
in_ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1

t_mdd_tap "$ns" "" "$MDD" -m 128 --no-pci -l 0-1 --file-prefix "$prefix" \
	--log-level=lib.eal:error --vdev net_tap0,iface=mddtap0 -- --addr 192.0.2.1 \
	--provision "$W/provision.json" --stats-interval 0 --metrics off \
	--stats-json "$W/stats.json" >"$W/mdd.log" 2>&1
t_wait_grep "running:" "$W/mdd.log"
grep -q "pdump unavailable" "$W/mdd.log" && bad "perc-mdd: $(grep pdump "$W/mdd.log")"

ip netns exec "$ns" "$dumpcap" --file-prefix="$prefix" -i 0 -w "$W/dump.pcapng" \
	>"$W/dumpcap.log" 2>&1 &
dc_pid=$!
# "File:" on stderr once the capture is enabled ("Capturing on" is on
# stdout, buffered until exit)
t_wait_grep "^File: " "$W/dumpcap.log"
grep -q "^File: " "$W/dumpcap.log" && ok "dpdk-dumpcap attached to perc-mdd" ||
	bad "dpdk-dumpcap did not attach: $(head -5 "$W/dumpcap.log")"
in_ns python3 "$here/tapio.py" send mddtap0 "$W/in.pcap" "$W/secrets.json" c1 >/dev/null
sleep 1
kill -INT "$dc_pid"
wait "$dc_pid"
rc=$?
dc_pid=
[ $rc = 0 ] && ok "dpdk-dumpcap exited 0 on SIGINT" || bad "dpdk-dumpcap exit $rc"
kill -TERM "$mdd_pid"
wait "$mdd_pid"
rc=$?
mdd_pid=
[ $rc = 0 ] && ok "perc-mdd exited 0 (rte_pdump_uninit)" || bad "perc-mdd exit $rc"

python3 - "$W" >"$W/check.log" 2>&1 <<'PY'
import json, struct, sys
W = sys.argv[1]
sec = json.load(open(W + "/secrets.json"))
addrs = {e["addr"] for e in sec["endpoints"]}
d, off, frames = open(W + "/dump.pcapng", "rb").read(), 0, []
while off < len(d):
    t, ln = struct.unpack("<II", d[off:off + 8])
    if t == 6:
        cap = struct.unpack("<I", d[off + 20:off + 24])[0]
        frames.append(d[off + 28:off + 28 + cap])
    off += ln
def src(fr):
    return "%s:%d" % (".".join(map(str, fr[26:30])), struct.unpack("!H", fr[34:36])[0])
def dst(fr):
    return "%s:%d" % (".".join(map(str, fr[30:34])), struct.unpack("!H", fr[36:38])[0])
ip = [f for f in frames if len(f) >= 42 and f[12:14] == b"\x08\x00" and f[23] == 17]
rx = sum(1 for f in ip if src(f) in addrs)
tx = sum(1 for f in ip if dst(f) in addrs)
st = json.load(open(W + "/stats.json"))["total"]
print("dumpcap frames %d: from endpoints %d (rx_rtp %d), to endpoints %d (tx_rtp %d)" % (
    len(frames), rx, st["rx_rtp"], tx, st["tx_rtp"]))
sys.exit(0 if rx == st["rx_rtp"] > 0 and tx == st["tx_rtp"] > 0 else 1)
PY
r=$?
[ $r = 0 ] && ok "dumpcap pcapng: $(cat "$W/check.log")" || bad "dumpcap pcapng: $(cat "$W/check.log")"
t_end
