#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# perc-mdd on an AF_XDP port (net_af_xdp) with perc's XDP program, on a veth
# pair between two network namespaces of the test's own (docs/afxdp.md):
#   - media (UDP to 192.0.2.1:3478) reaches perc-mdd and is forwarded: the
#     frames captured on the peer pass perc-pcaptest check;
#   - ping to the same address gets the kernel's replies, a TCP connection to
#     a listener on that address exchanges data, UDP to another port of that
#     address reaches a kernel socket;
#   - the XDP counters in the stats JSON match what was sent.
# Skips (77) without netns, veth, or a kernel that runs XDP / AF_XDP on veth.
# usage: test_afxdp.sh PERC_MDD PERC_PCAPTEST XDP_OBJ WORKDIR
set -u
MDD=$1 PT=$2 OBJ=$3 W=$4
here=$(cd "$(dirname "$0")" && pwd)
nm=perc-xdpm-$$ np=perc-xdpp-$$ vm=pxm$$ vp=pxp$$
skip() { echo "$1: skipped"; echo "afxdp: 0 passed, 0 failed"; exit 77; }
if ! ip netns add "$nm" 2>/dev/null; then
	skip "cannot create a network namespace (needs root and iproute2)"
fi
mdd_pid= cap_pid= srv_pid=
cleanup() {
	[ -n "$cap_pid" ] && kill "$cap_pid" 2>/dev/null
	[ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null
	[ -n "$mdd_pid" ] && kill "$mdd_pid" 2>/dev/null
	# nothing started in the namespaces outlives the test
	for n in "$nm" "$np"; do
		for p in $(ip netns pids "$n" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
	done
	wait 2>/dev/null
	ip netns del "$nm" 2>/dev/null
	ip netns del "$np" 2>/dev/null
}
trap cleanup EXIT
ip netns add "$np" || skip "cannot create a second namespace"
in_m() { ip netns exec "$nm" "$@"; }
in_p() { ip netns exec "$np" "$@"; }
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }

ip link add "$vm" netns "$nm" type veth peer name "$vp" netns "$np" 2>/dev/null ||
	skip "cannot create a veth pair"
for n in "$nm" "$np"; do
	ip netns exec "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
		net.ipv6.conf.default.disable_ipv6=1
	ip netns exec "$n" ip link set lo up
done
rm -rf "$W" && mkdir -p "$W"
"$PT" gen --dir "$W" --conferences 1 --size 3 --packets 20 >/dev/null || exit 1
# the generator's frames go to 02:00:00:00:00:01: the MDD side gets that MAC
in_m ip link set "$vm" address 02:00:00:00:00:01
in_m ip addr add 192.0.2.1/24 dev "$vm"
in_m ip link set "$vm" up
in_p ip addr add 192.0.2.2/24 dev "$vp"
in_p ip link set "$vp" up
# the endpoints' addresses are behind the peer (the MDD answers them there)
in_m ip route add 198.18.0.0/24 via 192.0.2.2

# the kernel must run XDP and AF_XDP here: ask the pre-flight check
if ! in_m "$MDD" --no-huge -m 512 --vdev "net_af_xdp0,iface=$vm,xdp_prog=$OBJ" -- \
	--preflight >"$W/preflight.log" 2>&1; then
	cat "$W/preflight.log"
	skip "XDP cannot be attached to a veth here"
fi

ip netns exec "$nm" "$MDD" --no-huge -m 512 --no-pci -l 0-1 --file-prefix "perc-afxdp-$$" \
	--log-level=lib.eal:error --vdev "net_af_xdp0,iface=$vm,start_queue=0,queue_count=1,xdp_prog=$OBJ" \
	-- --addr 192.0.2.1 --port 3478 --provision "$W/provision.json" --stats-interval 0 \
	--stats-json "$W/stats.json" >"$W/mdd.log" 2>&1 &
mdd_pid=$!
for _ in $(seq 100); do grep -q "worker(s)" "$W/mdd.log" 2>/dev/null && break; sleep 0.1; done
if ! grep -q "XDP program redirects UDP port 3478" "$W/mdd.log"; then
	if grep -qiE "xsk|af_xdp|AF_XDP" "$W/mdd.log" && ! kill -0 "$mdd_pid" 2>/dev/null; then
		cat "$W/mdd.log"
		skip "net_af_xdp cannot open an AF_XDP socket on the veth"
	fi
	bad "perc-mdd did not configure its XDP program: $(tail -5 "$W/mdd.log")"
	echo "afxdp: $pass passed, $fail failed"
	exit 1
fi
ok "perc-mdd runs on net_af_xdp with perc's XDP program"

# 1. media: the generated frames from the peer side, captured there
ip netns exec "$np" python3 "$here/tapio.py" capture "$vp" "$W/out.pcap" >"$W/cap.log" 2>&1 &
cap_pid=$!
for _ in $(seq 50); do grep -q ready "$W/cap.log" 2>/dev/null && break; sleep 0.1; done
media=$(in_p python3 "$here/tapio.py" send "$vp" "$W/in.pcap" "$W/secrets.json" c1 | awk '{print $2}')
sleep 1
kill "$cap_pid"; wait "$cap_pid"; cap_pid=
if "$PT" check --dir "$W" --out "$W/out.pcap" >"$W/check.log" 2>&1; then
	ok "media through AF_XDP: $(head -1 "$W/check.log")"
else
	bad "media through AF_XDP: $(head -4 "$W/check.log" | tr '\n' ' ')"
fi

# 2. the kernel keeps the address: ICMP, TCP, UDP to another port
# ICMP echo by hand (raw socket): no dependency on iputils-ping
if in_p python3 - >"$W/ping.log" 2>&1 <<'PY'; then
import os, socket, struct, sys, time
def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff); s += s >> 16
    return ~s & 0xffff
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.settimeout(2)
ident, got = os.getpid() & 0xffff, 0
for seq in range(3):
    body = b"perc-afxdp-ping!"
    hdr = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
    s.sendto(struct.pack("!BBHHH", 8, 0, csum(hdr + body), ident, seq) + body, ("192.0.2.1", 0))
    while True:
        pkt, addr = s.recvfrom(1500)
        ihl = (pkt[0] & 15) * 4
        t, _, _, i, q = struct.unpack("!BBHHH", pkt[ihl:ihl + 8])
        if t == 0 and i == ident and q == seq:
            got += 1
            break
print("%d received" % got)
sys.exit(0 if got == 3 else 1)
PY
	ok "ping 192.0.2.1: $(cat "$W/ping.log") echo replies from the kernel"
else
	bad "ping 192.0.2.1: $(tail -2 "$W/ping.log" | tr '\n' ' ')"
fi
ip netns exec "$nm" python3 - "$W/srv.log" <<'PY' &
import socket, sys
log = open(sys.argv[1], "w", buffering=1)
t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("192.0.2.1", 8080)); t.listen(1)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("192.0.2.1", 5000))
log.write("ready\n")
c, _ = t.accept()
data = c.recv(100)
c.sendall(b"echo:" + data); c.close()
log.write("tcp %s\n" % data.decode())
u.settimeout(3)
n = 0
try:
    while n < 5:
        u.recv(100); n += 1
except socket.timeout:
    pass
log.write("udp %d\n" % n)
PY
srv_pid=$!
for _ in $(seq 50); do grep -q ready "$W/srv.log" 2>/dev/null && break; sleep 0.1; done
reply=$(in_p python3 - <<'PY'
import socket
s = socket.create_connection(("192.0.2.1", 8080), timeout=3)
s.sendall(b"hello-over-tcp")
print(s.recv(100).decode())
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(5):
    u.sendto(b"not media %d" % i, ("192.0.2.1", 5000))
PY
)
wait "$srv_pid"; srv_pid=
[ "$reply" = "echo:hello-over-tcp" ] && ok "TCP to 192.0.2.1:8080 reached the kernel's listener" ||
	bad "TCP to 192.0.2.1:8080: got '$reply'"
grep -q "^udp 5$" "$W/srv.log" && ok "UDP to 192.0.2.1:5000 (not the media port) reached the kernel" ||
	bad "UDP to port 5000: $(cat "$W/srv.log" | tr '\n' ' ')"

kill "$mdd_pid"; wait "$mdd_pid"; rc=$?; mdd_pid=
[ $rc -eq 0 ] && ok "perc-mdd stopped cleanly on SIGTERM" || bad "perc-mdd exited $rc: $(tail -3 "$W/mdd.log")"
in_m ip -d link show "$vm" | grep -q "prog/xdp" && bad "XDP program left on $vm" ||
	ok "the PMD removed the XDP program on exit"

# 3. the counters: every media frame redirected, exactly; the rest passed
python3 - "$W/stats.json" "$media" <<'PY' && ok "XDP counters match the traffic" || bad "XDP counters"
import json, sys
st = json.load(open(sys.argv[1]))
media = int(sys.argv[2])
x = st.get("xdp")
print("xdp:", json.dumps(x, sort_keys=True))
ok = x is not None and x["ports"] == 1
ok = ok and x["redirected"] == media and st["total"]["rx_frames"] == media
ok = ok and x["passed_other_port"] == 5           # UDP to port 5000
ok = ok and 3 + 4 <= x["passed_not_udp"] <= 3 + 16  # 3 pings, one TCP exchange
ok = ok and x["passed_not_ip"] >= 1               # ARP
ok = ok and x["passed_no_xsk"] == 0 and x["malformed"] == 0
sys.exit(0 if ok else 1)
PY
echo "afxdp: $pass passed, $fail failed"
[ $fail -eq 0 ]
