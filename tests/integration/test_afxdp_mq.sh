#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# perc-mdd on net_af_xdp with two queues (queue_count=2, two workers) and
# perc's XDP program, on a veth pair with two RX and two TX queues between
# two network namespaces of the test's own (docs/afxdp.md, "Several queues"):
#   - pre-flight: without help the veth's queues do not count for DPDK
#     22.11 (it reads combined channels only): xdp-queues fails and says so;
#   - the media of conference c1 enters queue 0, that of c2 queue 1 (the
#     sender's queue is its CPU: AF_PACKET with PACKET_QDISC_BYPASS picks
#     TX queue = CPU % TX queues and a veth delivers on the peer's RX queue
#     of the same number); DPDK's per-queue counters rx_q0_packets /
#     rx_q1_packets (/metrics) must equal what was sent to each queue;
#   - legs alternate between the workers, so both workers hand frames to
#     each other; every frame perc-mdd forwards passes perc-pcaptest check;
#   - ICMP echo and TCP to the media address still reach the kernel;
#   - on SIGTERM nothing is lost: every frame perc-mdd counted as sent was
#     seen on the peer, no drop counter but no_nexthop / receiver_no_key
#     moved, and the PMD removes the program.
# DPDK 22.11 needs veth_channels.so (LD_PRELOAD) to count the veth's queues;
# see that file. Skips (77) without netns, a multi-queue veth, AF_XDP or a
# second CPU.
# usage: test_afxdp_mq.sh PERC_MDD PERC_PCAPTEST XDP_OBJ VETH_CHANNELS_SO WORKDIR
set -u
MDD=$1 PT=$2 OBJ=$3 SHIM=$4 W=$5
here=$(cd "$(dirname "$0")" && pwd)
nm=perc-mqm-$$ np=perc-mqp-$$ vm=pqm$$ vp=pqp$$
mport=$((20000 + $$ % 20000))
. "$here/lib.sh"
t_begin afxdp_mq
mdd_pid= cap_pid= srv_pid=
t_kill_on_exit cap_pid srv_pid mdd_pid
t_netns "$nm" "$np"
in_m() { ip netns exec "$nm" "$@"; }
in_p() { ip netns exec "$np" "$@"; }

python3 -c 'import os; os.sched_setaffinity(0, {1})' 2>/dev/null ||
	skip "no CPU 1 to send queue 1's frames from"
t_veth "$nm" "$vm" "$np" "$vp" 2
for n in "$nm" "$np"; do
	ip netns exec "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
done
rm -rf "$W" && mkdir -p "$W"
in_m ip addr add 192.0.2.1/24 dev "$vm"
in_p ip addr add 192.0.2.2/24 dev "$vp"
vdev="net_af_xdp0,iface=$vm,start_queue=0,queue_count=2,xdp_prog=$OBJ"
# the shim after AddressSanitizer's runtime in a sanitizer build (ASan
# insists on coming first among the preloaded libraries)
asan=$(ldd "$MDD" 2>/dev/null | awk '/libasan/ {print $3; exit}')
shim_env=(LD_PRELOAD="${asan:+$asan }$SHIM" PERC_TEST_COMBINED_IFACE="$vm")

# 1. pre-flight without the shim: the veth's two RX / TX channels are not
# combined channels, DPDK 22.11 would open one queue: a clear failure
in_m "$MDD" --no-huge -m 512 --vdev "$vdev" -- --preflight >"$W/pf-plain.log" 2>&1
rc=$?
if grep -q "FAIL xdp-attach" "$W/pf-plain.log"; then
	cat "$W/pf-plain.log"
	skip "XDP cannot be attached to a veth here"
fi
want="preflight: FAIL xdp-queues: $vm has 1 combined queue(s) (at most 1), start_queue=0 queue_count=2 asks for more; its driver reports 2 RX / 2 TX channel(s) but no combined ones, and DPDK 22.11's net_af_xdp counts only combined channels — fix: start_queue=0,queue_count=1 (and -l with at most that many worker lcores)"
[ $rc -eq 1 ] && grep -qxF "$want" "$W/pf-plain.log" &&
	ok "pre-flight without the shim: xdp-queues names the veth's RX/TX channels and the fix" ||
	{ bad "pre-flight without the shim: exit $rc"; sed 's/^/     | /' "$W/pf-plain.log"; }
# with it: the queues check passes (and everything else)
in_m env "${shim_env[@]}" "$MDD" --no-huge -m 512 \
	--vdev "$vdev" -- --preflight >"$W/pf-shim.log" 2>&1
rc=$?
[ $rc -eq 0 ] && grep -qxF "preflight: ok   xdp-queues: $vm: queues 0..1 of 2" "$W/pf-shim.log" &&
	ok "pre-flight with the veth's channels counted: queues 0..1 of 2" ||
	{ bad "pre-flight with the shim: exit $rc"; sed 's/^/     | /' "$W/pf-shim.log"; }

# 2. perc-mdd: two workers (lcores 1 and 2 on CPUs 1 and 0), queue i -> worker i
"$PT" gen --dir "$W" --conferences 2 --size 3 --packets 20 >/dev/null || exit 1
# (ip netns exec, not in_m: $! must be perc-mdd itself, for SIGTERM)
ip netns exec "$nm" env "${shim_env[@]}" \
	"$MDD" --no-huge -m 512 --no-pci --lcores 0@0,1@1,2@0 --file-prefix "perc-afxdp-mq-$$" \
	--log-level=lib.eal:error --vdev "$vdev" -- --no-preflight \
	--addr 192.0.2.1 --port 3478 --provision "$W/provision.json" --stats-interval 0 \
	--metrics "127.0.0.1:$mport" --stats-json "$W/stats.json" >"$W/mdd.log" 2>&1 &
mdd_pid=$!
for _ in $(seq 100); do grep -q "running:" "$W/mdd.log" 2>/dev/null && break; sleep 0.1; done
if ! grep -q "2 worker(s), 1 port(s)" "$W/mdd.log" ||
   ! grep -q "XDP program redirects UDP port 3478" "$W/mdd.log"; then
	if ! kill -0 "$mdd_pid" 2>/dev/null && grep -qi "xsk\|af_xdp" "$W/mdd.log"; then
		cat "$W/mdd.log"
		skip "net_af_xdp cannot open two AF_XDP sockets on the veth"
	fi
	bad "perc-mdd did not start on two queues: $(tail -5 "$W/mdd.log" | tr '\n' ' ')"
	t_end
	exit 1
fi
ok "perc-mdd runs on net_af_xdp queues 0 and 1 with two workers"

ip netns exec "$np" python3 "$here/tapio.py" capture "$vp" "$W/all.pcap" >"$W/cap.log" 2>&1 &
cap_pid=$!
for _ in $(seq 50); do grep -q ready "$W/cap.log" 2>/dev/null && break; sleep 0.1; done
# c1 from CPU 0 (queue 0), c2 from CPU 1 (queue 1), interleaved by frame
cat >"$W/send.py" <<'PY'
import json, os, socket, sys, time
sys.path.insert(0, sys.argv[1])
import tapio
iface, pcap, secrets = sys.argv[2:5]
sec = json.load(open(secrets))
queue = {k: 0 for k in tapio.endpoints(sec, {"c1"})}
queue.update({k: 1 for k in tapio.endpoints(sec, {"c2"})})
SOL_PACKET, PACKET_QDISC_BYPASS = 263, 20
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
# straight to the driver: TX queue = this CPU % the veth's TX queues
s.setsockopt(SOL_PACKET, PACKET_QDISC_BYPASS, 1)
s.bind((iface, 0))
n = [0, 0]
for fr in tapio.read_pcap(pcap):
    q = queue.get(tapio.src_key(fr))
    if q is None:
        continue
    os.sched_setaffinity(0, {q})
    s.send(fr)
    n[q] += 1
    if sum(n) % 16 == 0:
        time.sleep(0.002)
print("%d %d" % (n[0], n[1]))
PY
in_p python3 "$W/send.py" "$here" "$vp" "$W/in.pcap" "$W/secrets.json" >"$W/send.log" 2>&1
read -r sent0 sent1 <"$W/send.log"
sleep 1
kill "$cap_pid"; wait "$cap_pid"; cap_pid=
in_m python3 - "$mport" >"$W/metrics.txt" 2>&1 <<'PY'
import sys, urllib.request
print(urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1], timeout=5).read().decode())
PY
xs() { sed -n "s/^perc_mdd_port_xstats_total{port=\"0\",stat=\"$1\"} //p" "$W/metrics.txt"; }
rx0=$(xs rx_q0_packets) rx1=$(xs rx_q1_packets)
echo "sent to queue 0: $sent0, queue 1: $sent1; DPDK rx_q0_packets $rx0, rx_q1_packets $rx1"
[ "${sent0:-0}" -gt 0 ] && [ "${sent1:-0}" -gt 0 ] && [ "$rx0" = "$sent0" ] && [ "$rx1" = "$sent1" ] &&
	ok "media on both queues: rx_q0_packets $rx0 = sent to queue 0, rx_q1_packets $rx1 = sent to queue 1" ||
	bad "per-queue receive: sent $sent0 / $sent1, rx_q0_packets '$rx0', rx_q1_packets '$rx1'"

# perc-mdd's frames only (UDP from port 3478)
python3 "$here/tapio.py" mdd-frames "$W/all.pcap" "$W/out.pcap"
if "$PT" check --dir "$W" --out "$W/out.pcap" >"$W/check.log" 2>&1; then
	ok "media through two AF_XDP queues: $(head -1 "$W/check.log")"
else
	bad "media through two AF_XDP queues: $(head -4 "$W/check.log" | tr '\n' ' ')"
fi

# 3. the kernel keeps ICMP and TCP on the address
if in_p python3 - >"$W/ping.log" 2>&1 <<'PY'; then
import os, socket, struct, sys
def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff); s += s >> 16
    return ~s & 0xffff
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.settimeout(2)
ident, got = os.getpid() & 0xffff, 0
for seq in range(3):
    os.sched_setaffinity(0, {seq % 2})
    body = b"perc-afxdp-mq-ping"
    hdr = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
    s.sendto(struct.pack("!BBHHH", 8, 0, csum(hdr + body), ident, seq) + body, ("192.0.2.1", 0))
    while True:
        pkt = s.recvfrom(1500)[0]
        pkt = pkt[(pkt[0] & 15) * 4:]
        t, _, _, i, q = struct.unpack("!BBHHH", pkt[:8])
        if t == 0 and i == ident and q == seq:
            got += 1
            break
print(got)
sys.exit(0 if got == 3 else 1)
PY
	ok "ICMP echo to 192.0.2.1 from both CPUs: $(cat "$W/ping.log") replies from the kernel"
else
	bad "ICMP echo: $(tail -2 "$W/ping.log" | tr '\n' ' ')"
fi
ip netns exec "$nm" python3 - "$W/srv.log" <<'PY' &
import socket, sys
log = open(sys.argv[1], "w", buffering=1)
t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("192.0.2.1", 8080)); t.listen(2)
log.write("ready\n")
t.settimeout(5)
for _ in range(2):
    c, _ = t.accept()
    data = c.recv(100)
    c.sendall(b"echo:" + data); c.close()
    log.write("tcp %s\n" % data.decode())
PY
srv_pid=$!
for _ in $(seq 50); do grep -q ready "$W/srv.log" 2>/dev/null && break; sleep 0.1; done
reply=$(in_p python3 - <<'PY'
import os, socket
out = []
for cpu in (0, 1):
    os.sched_setaffinity(0, {cpu})
    s = socket.create_connection(("192.0.2.1", 8080), timeout=3)
    s.sendall(b"cpu%d" % cpu)
    out.append(s.recv(100).decode())
print(" ".join(out))
PY
)
wait "$srv_pid"; srv_pid=
[ "$reply" = "echo:cpu0 echo:cpu1" ] && ok "TCP to port 8080 from both CPUs reached the kernel's listener" ||
	bad "TCP to port 8080: got '$reply'"

# 4. shutdown: clean exit, program removed, nothing lost
kill "$mdd_pid"; wait "$mdd_pid"; rc=$?; mdd_pid=
[ $rc -eq 0 ] && ok "perc-mdd stopped cleanly on SIGTERM" ||
	bad "perc-mdd exited $rc: $(tail -3 "$W/mdd.log")"
in_m ip -d link show "$vm" | grep -q "prog/xdp" && bad "XDP program left on $vm" ||
	ok "the PMD removed the XDP program on exit"
out_n=$(python3 -c 'import sys; d=open(sys.argv[1],"rb").read(); o,n=24,0
while o+16<=len(d): import struct; n+=1; o+=16+struct.unpack("<I",d[o+8:o+12])[0]
print(n)' "$W/out.pcap")
python3 - "$W/stats.json" "$sent0" "$sent1" "$out_n" <<'PY' && ok "counters: every frame received, handed off and sent" || bad "counters"
import json, sys
st = json.load(open(sys.argv[1]))
s0, s1, out_n = (int(a) for a in sys.argv[2:5])
x, t, ws = st.get("xdp"), st["total"], st["workers"]
print("xdp: %s" % json.dumps(x, sort_keys=True))
for w in ws:
    print("worker %d: rx_frames %d handoff_out %d handoff_in %d tx_frames %d ctl_tx %d" % (
        w["worker"], w["rx_frames"], w["handoff_out"], w["handoff_in"], w["tx_frames"], w["ctl_tx"]))
print("media frames seen on the peer: %d" % out_n)
ok = x is not None and x["redirected"] == s0 + s1 and t["rx_frames"] == s0 + s1
ok = ok and x["passed_no_xsk"] == 0 and x["malformed"] == 0
ok = ok and x["passed_not_udp"] >= 3 + 2 * 4     # echoes, two TCP exchanges
# worker i polls queue i; legs alternate, so each hands frames to the other
ok = ok and len(ws) == 2 and ws[0]["rx_frames"] == s0 and ws[1]["rx_frames"] == s1
ok = ok and all(w["handoff_out"] > 0 for w in ws)
ok = ok and sum(w["handoff_out"] for w in ws) == sum(w["handoff_in"] for w in ws)
# every media copy perc-mdd sent arrived on the peer
ok = ok and t["tx_rtp"] + t["tx_rtcp"] == out_n and t["tx_rtp"] > 0
allowed = {"no_nexthop", "receiver_no_key"}     # before a receiver's first frame
drops = {k: v for k, v in t.items() if v and k not in allowed and k in (
    "handoff_full", "tx_full", "no_mbuf", "punt_full", "srtp_auth", "srtp_replay",
    "srtp_too_old", "unknown_endpoint", "not_ours", "seal_failed", "no_key")}
if drops:
    print("drops: %s" % drops)
sys.exit(0 if ok and not drops else 1)
PY
# 5. the same with one worker: queue 1 has no socket, its media goes to the
# kernel (the per-queue checks above would fail); perc-mdd warns at start
mkdir -p "$W/one"
ip netns exec "$nm" env "${shim_env[@]}" \
	"$MDD" --no-huge -m 512 --no-pci -l 0-1 --file-prefix "perc-afxdp-mq1-$$" \
	--log-level=lib.eal:error --vdev "$vdev" -- --no-preflight \
	--addr 192.0.2.1 --port 3478 --provision "$W/provision.json" --stats-interval 0 \
	--metrics off --stats-json "$W/one/stats.json" >"$W/one/mdd.log" 2>&1 &
mdd_pid=$!
for _ in $(seq 100); do grep -q "running:" "$W/one/mdd.log" 2>/dev/null && break; sleep 0.1; done
grep -qF "warning: queue_count=2 but 1 worker(s): media arriving on the last 1 queue(s) goes to the kernel (passed_no_xsk); use 2 worker lcores (-l 0-2)" "$W/one/mdd.log" &&
	ok "one worker on two queues: perc-mdd warns that queue 1's media goes to the kernel" ||
	bad "one worker on two queues: no warning: $(tail -3 "$W/one/mdd.log" | tr '\n' ' ')"
in_p python3 "$W/send.py" "$here" "$vp" "$W/in.pcap" "$W/secrets.json" >"$W/one/send.log" 2>&1
read -r one0 one1 <"$W/one/send.log"
sleep 1
kill "$mdd_pid"; wait "$mdd_pid"; mdd_pid=
python3 - "$W/one/stats.json" "$one0" "$one1" <<'PY' &&
import json, sys
st = json.load(open(sys.argv[1]))
s0, s1 = int(sys.argv[2]), int(sys.argv[3])
x = st["xdp"]
print("one worker: xdp redirected %d passed_no_xsk %d, rx_frames %d" % (
    x["redirected"], x["passed_no_xsk"], st["total"]["rx_frames"]))
sys.exit(0 if s1 > 0 and x["redirected"] == s0 == st["total"]["rx_frames"] and
         x["passed_no_xsk"] == s1 else 1)
PY
	ok "one worker: queue 0's media redirected, queue 1's passed to the kernel (passed_no_xsk)" ||
	bad "one worker: counters"

# 6. start_queue=1,queue_count=1: the PMD's queue 0 is the veth's queue 1
# (its socket at xsks_map key 1); the veth's queue 0 keeps the kernel's
mkdir -p "$W/sq1"
ip netns exec "$nm" env "${shim_env[@]}" \
	"$MDD" --no-huge -m 512 --no-pci -l 0-1 --file-prefix "perc-afxdp-mqs-$$" \
	--log-level=lib.eal:error --vdev "net_af_xdp0,iface=$vm,start_queue=1,queue_count=1,xdp_prog=$OBJ" \
	-- --no-preflight --addr 192.0.2.1 --port 3478 --provision "$W/provision.json" \
	--stats-interval 0 --metrics "127.0.0.1:$mport" --stats-json "$W/sq1/stats.json" \
	>"$W/sq1/mdd.log" 2>&1 &
mdd_pid=$!
for _ in $(seq 100); do grep -q "running:" "$W/sq1/mdd.log" 2>/dev/null && break; sleep 0.1; done
in_p python3 "$W/send.py" "$here" "$vp" "$W/in.pcap" "$W/secrets.json" >"$W/sq1/send.log" 2>&1
read -r sq0 sq1 <"$W/sq1/send.log"
sleep 1
in_m python3 - "$mport" >"$W/sq1/metrics.txt" 2>&1 <<'PY'
import sys, urllib.request
print(urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1], timeout=5).read().decode())
PY
kill "$mdd_pid"; wait "$mdd_pid"; mdd_pid=''
rxq=$(sed -n 's/^perc_mdd_port_xstats_total{port="0",stat="rx_q0_packets"} //p' "$W/sq1/metrics.txt")
python3 - "$W/sq1/stats.json" "$sq0" "$sq1" "$rxq" <<'PY' &&
import json, sys
st = json.load(open(sys.argv[1]))
s0, s1, rxq = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4] or -1)
x = st["xdp"]
print("start_queue=1: rx_q0_packets %d, xdp redirected %d passed_no_xsk %d" % (
    rxq, x["redirected"], x["passed_no_xsk"]))
sys.exit(0 if s0 > 0 and rxq == s1 == x["redirected"] == st["total"]["rx_frames"] and
         x["passed_no_xsk"] == s0 else 1)
PY
	ok "start_queue=1: the veth's queue 1 reaches perc-mdd, its queue 0 the kernel" ||
	bad "start_queue=1: counters"

t_end
