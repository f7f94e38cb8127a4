#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The operator's walkthrough of docs/operations.md ("From start to stop on
# an AF_XDP port"), step by step as written there, on a veth pair between
# two network namespaces of the test's own; the kernel side of the MDD owns
# 192.0.2.1 (what SSH would use), perc-mdd takes only UDP 3478 to it:
#   1. a configuration file: --check-config accepts it, --preflight passes;
#   2. perc-mdd starts from it on net_af_xdp with perc's XDP program;
#   3. mddctl conferences lists the provisioned conference;
#   4. mddctl capture start c1 c1-ep1 captures that endpoint while media
#      flows; TCP to 192.0.2.1 still reaches the kernel meanwhile;
#   5. GET /metrics: promtool (when available) and the counters equal the
#      frames sent, XDP's redirected ones included; mddctl streams c1;
#   6. mddctl capture stop: the file holds every frame c1-ep1 sent;
#   7. mddctl drain --deadline 2: perc-mdd exits 0 by itself with its final
#      counters, the XDP program is gone from the interface, and (on
#      hugepages with --huge-unlink) no hugepage file is left.
# usage: test_operator.sh PERC_MDD PERC_PCAPTEST MDDCTL XDP_OBJ WORKDIR
set -u
MDD=$1 PT=$2 CTL=$3 OBJ=$4 W=$5
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
t_begin operator
nm=perc-opm-$$ np=perc-opp-$$ vm=pom$$ vp=pop$$ prefix=perc-op-$$
t_netns "$nm" "$np"
t_veth "$nm" "$vm" "$np" "$vp"
in_m() { ip netns exec "$nm" "$@"; }
in_p() { ip netns exec "$np" "$@"; }
mdd_pid= srv_pid=
t_kill_on_exit srv_pid mdd_pid
t_on_exit 'rm -rf /var/run/dpdk/"$prefix"'
in_m ip addr add 192.0.2.1/24 dev "$vm"
in_p ip addr add 192.0.2.2/24 dev "$vp"
rm -rf "$W" && mkdir -p "$W/cap"
"$PT" gen --dir "$W" --conferences 1 --size 3 --packets 40 --rtcp >/dev/null || exit 1

hugedir=$(awk '$3 == "hugetlbfs" {print $2; exit}' /proc/mounts)
free=$(awk '/^HugePages_Free/ {print $2}' /proc/meminfo)
if [ "${free:-0}" -ge 128 ] && [ -n "$hugedir" ]; then
	mem="-m 192 --huge-unlink"
	t_on_exit 'rm -f "$hugedir/$prefix"*'
else
	mem="--no-huge -m 512"
	hugedir=
	echo "note: fewer than 128 free hugepages: --no-huge (no hugepage file check)"
fi

# 1. the configuration file
cat >"$W/perc-mdd.conf" <<EOF
[eal]
args = -l 0-1 $mem --no-pci --file-prefix $prefix --vdev net_af_xdp0,iface=$vm,start_queue=0,queue_count=1,xdp_prog=$OBJ

[dataplane]
addr = 192.0.2.1
port = 3478
provision = $W/provision.json
capture-dir = $W/cap

[control]
api = $W/api.sock

[metrics]
metrics = 127.0.0.1:9464
stats-interval = 0
stats-json = $W/stats.json

[logging]
log-level = lib.eal:error
EOF
in_m "$MDD" --config "$W/perc-mdd.conf" --check-config >"$W/check.log" 2>&1 &&
	grep -q "is valid" "$W/check.log" && ok "--check-config: the file is valid" ||
	bad "--check-config: $(tail -3 "$W/check.log")"
in_m "$MDD" --config "$W/perc-mdd.conf" --preflight >"$W/preflight.log" 2>&1
rc=$?
if [ $rc -ne 0 ] && grep -q "FAIL xdp-attach" "$W/preflight.log"; then
	cat "$W/preflight.log"
	skip "XDP cannot be attached to a veth here"
fi
[ $rc -eq 0 ] && ! grep -q "FAIL" "$W/preflight.log" &&
	ok "--preflight: $(grep -c '^preflight: ok' "$W/preflight.log") checks ok" ||
	bad "--preflight exit $rc: $(grep FAIL "$W/preflight.log")"

# 2. start
in_m "$MDD" --config "$W/perc-mdd.conf" >"$W/mdd.log" 2>&1 &
mdd_pid=$!
if t_wait_grep "XDP program redirects UDP port 3478 of 1 address" "$W/mdd.log" 150 &&
	t_wait_file "$W/api.sock"; then
	ok "perc-mdd runs from the file on net_af_xdp with perc's XDP program"
else
	bad "perc-mdd did not start: $(tail -5 "$W/mdd.log")"
	t_end
	exit
fi
ctl() { "$CTL" --socket "$W/api.sock" "$@"; }

# 3. what runs
ctl conferences >"$W/confs.json" 2>"$W/ctl.err" &&
	python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["conferences"]; sys.exit(0 if [(x["id"], len(x["endpoints"])) for x in c] == [("c1", 3)] else 1)' "$W/confs.json" &&
	ok "mddctl conferences: c1 with 3 endpoints" || bad "mddctl conferences: $(cat "$W/confs.json" "$W/ctl.err")"

# 4. capture one endpoint while media flows; the kernel keeps TCP
ctl capture start c1 c1-ep1 --file "$W/cap/c1-ep1.pcapng" >/dev/null 2>"$W/ctl.err" &&
	ok "mddctl capture start c1 c1-ep1" || bad "capture start: $(cat "$W/ctl.err")"
in_m python3 -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("192.0.2.1", 2222)); s.listen(1); s.settimeout(20)
c, _ = s.accept(); c.sendall(c.recv(64)[::-1]); c.close()' &
srv_pid=$!
sleep 0.3
in_p python3 "$here/tapio.py" send "$vp" "$W/in.pcap" "$W/secrets.json" c1 >"$W/send.log"
got=$(in_p python3 -c '
import socket
c = socket.create_connection(("192.0.2.1", 2222), timeout=5)
c.sendall(b"perc-operator"); print(c.recv(64).decode())' 2>&1)
[ "$got" = "rotarepo-crep" ] && ok "TCP to 192.0.2.1 reaches the kernel while perc-mdd runs" ||
	bad "TCP to the kernel: $got"
wait "$srv_pid" 2>/dev/null
srv_pid=
sleep 1.5   # the telemetry / metrics snapshot is refreshed once a second

# 5. scrape, streams
in_m curl -sS -o "$W/metrics.txt" http://127.0.0.1:9464/metrics 2>"$W/curl.err" &&
	ok "GET /metrics" || bad "GET /metrics: $(cat "$W/curl.err")"
promtool=${PERC_PROMTOOL:-$(command -v promtool 2>/dev/null)}
if [ -n "$promtool" ] && [ -x "$promtool" ]; then
	"$promtool" check metrics <"$W/metrics.txt" >"$W/promtool.log" 2>&1 &&
		ok "promtool check metrics" || bad "promtool: $(head -3 "$W/promtool.log")"
else
	echo "note: no promtool (PERC_PROMTOOL): exposition checked by promcheck.py only"
fi
python3 "$here/promcheck.py" "$W/metrics.txt" >/dev/null && ok "exposition format" ||
	bad "exposition format"
ctl streams c1 >"$W/streams.json" 2>"$W/ctl.err" && ok "mddctl streams c1" ||
	bad "mddctl streams: $(cat "$W/ctl.err")"

# 6. the capture ends
ctl capture stop c1 c1-ep1 >/dev/null 2>"$W/ctl.err" && ok "mddctl capture stop c1 c1-ep1" ||
	bad "capture stop: $(cat "$W/ctl.err")"

python3 - "$W" "$here" >"$W/counts.log" 2>&1 <<'PY'
import json, struct, sys
w = sys.argv[1]
sys.path.insert(0, sys.argv[2])
from tapio import read_metrics, read_pcap, read_pcapng
sec = json.load(open(w + "/secrets.json"))
eps = {e["id"]: e["addr"] for e in sec["endpoints"]}
frames = read_pcap(w + "/in.pcap")
def src(f):
    return "%s:%d" % (".".join(str(b) for b in f[26:30]), struct.unpack("!H", f[34:36])[0])
m = read_metrics(w + "/metrics.txt")
tot = lambda fam: sum(v for k, v in m.items() if k == fam or k.startswith(fam + "{"))
errs = []
def want(what, got, exp):
    print("%-44s %s (want %s)" % (what, got, exp))
    if got != exp:
        errs.append(what)
sent = len(frames)
want("rx_frames", tot("perc_mdd_rx_frames_total"), sent)
want("xdp redirected", m.get('perc_mdd_xdp_frames_total{result="redirected"}'), sent)
want("drops (but no_nexthop)", tot("perc_mdd_drops_total") - m['perc_mdd_drops_total{reason="no_nexthop"}'], 0)
st = json.load(open(w + "/streams.json"))["streams"]
want("streams (SSRCs provisioned)", sorted(s["ssrc"] for s in st),
     sorted(x for e in sec["endpoints"] for x in e["ssrcs"]))
want("stream packets", sum(s["rtp_packets"] + s["rtcp_packets"] for s in st), sent)
# the capture: pcapng, inbound EPBs (flags 1) = what c1-ep1 sent, byte for byte
inb = [data for flags, data in read_pcapng(w + "/cap/c1-ep1.pcapng")[1] if flags == 1]
want("captured inbound frames = what c1-ep1 sent", inb == [f for f in frames if src(f) == eps["c1-ep1"]], True)
sys.exit(1 if errs else 0)
PY
rc=$?
sed 's/^/     /' "$W/counts.log"
[ $rc -eq 0 ] && ok "metrics, streams and capture equal the media sent" || bad "counts (above)"

# 7. drain with a deadline: perc-mdd leaves by itself
ctl drain --deadline 2 >/dev/null 2>"$W/ctl.err" && ok "mddctl drain --deadline 2" ||
	bad "drain: $(cat "$W/ctl.err")"
for _ in $(seq 100); do kill -0 "$mdd_pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$mdd_pid" 2>/dev/null; then
	bad "perc-mdd still runs 10 s after a drain with a 2 s deadline"
else
	wait "$mdd_pid"
	rc=$?
	mdd_pid=
	[ $rc -eq 0 ] && grep -q "final counters: rx_frames" "$W/mdd.log" &&
		ok "perc-mdd exited 0 after the deadline with its final counters" ||
		bad "perc-mdd exit $rc: $(tail -3 "$W/mdd.log")"
	python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
print(s["total"]["rx_frames"] if "total" in s else s["rx_frames"])' "$W/stats.json" >"$W/final.txt" 2>&1
	n=$(python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import tapio
print(len(tapio.read_pcap(sys.argv[2])))' "$here" "$W/in.pcap")
	[ "$(cat "$W/final.txt")" = "$n" ] && ok "--stats-json on exit: rx_frames $n, every frame sent" ||
		bad "--stats-json rx_frames $(cat "$W/final.txt"), sent $n"
fi
in_m ip -d link show "$vm" | grep -q "prog/xdp" && bad "the XDP program is still attached" ||
	ok "the XDP program is gone from $vm"
if [ -n "$hugedir" ]; then
	left=$(ls "$hugedir" | grep -c "^$prefix")
	[ "$left" = 0 ] && ok "no hugepage file of $prefix left in $hugedir" ||
		bad "$left hugepage files of $prefix left"
fi
t_end
