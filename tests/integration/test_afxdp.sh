#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# perc-mdd on an AF_XDP port (net_af_xdp) with perc's XDP program, on a veth
# pair between two network namespaces of the test's own (docs/afxdp.md).
# Once over IPv4 (192.0.2.1), once over IPv6 (2001:db8::1):
#   - media (UDP to the address, port 3478) reaches perc-mdd and is
#     forwarded: the frames captured on the peer pass perc-pcaptest check;
#   - ICMP echo to the same address gets the kernel's replies, a TCP
#     connection to a listener on that address exchanges data, UDP to
#     another port of that address reaches a kernel socket;
#   - the XDP counters in the stats JSON match what was sent.
# Skips (77) without netns, veth, or a kernel that runs XDP / AF_XDP on veth.
# usage: test_afxdp.sh PERC_MDD PERC_PCAPTEST XDP_OBJ WORKDIR
set -u
MDD=$1 PT=$2 OBJ=$3 W=$4
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
t_begin afxdp
nm=perc-xdpm-$$ np=perc-xdpp-$$ vm=pxm$$ vp=pxp$$
mdd_pid= cap_pid= srv_pid=
t_kill_on_exit cap_pid srv_pid mdd_pid
t_netns "$nm" "$np"
in_m() { ip netns exec "$nm" "$@"; }
in_p() { ip netns exec "$np" "$@"; }
t_veth "$nm" "$vm" "$np" "$vp"
rm -rf "$W" && mkdir -p "$W"
in_m ip addr add 192.0.2.1/24 dev "$vm"
in_m ip addr add 2001:db8::1/64 dev "$vm" nodad
in_p ip addr add 192.0.2.2/24 dev "$vp"
in_p ip addr add 2001:db8::2/64 dev "$vp" nodad

# the kernel must run XDP here: ask the pre-flight check
if ! in_m "$MDD" --no-huge -m 512 --vdev "net_af_xdp0,iface=$vm,xdp_prog=$OBJ" -- \
	--preflight >"$W/preflight.log" 2>&1; then
	cat "$W/preflight.log"
	skip "XDP cannot be attached to a veth here"
fi

# one phase: perc-mdd on ADDR, media + ICMP + TCP + UDP from the peer
phase() {
	local fam=$1 addr=$2 d=$W/$1 genopt=
	[ "$fam" = v6 ] && genopt=--ipv6
	mkdir -p "$d"
	"$PT" gen --dir "$d" --conferences 1 --size 3 --packets 20 $genopt >/dev/null || exit 1
	ip netns exec "$nm" "$MDD" --no-huge -m 512 --no-pci -l 0-1 --file-prefix "perc-afxdp-$$" \
		--log-level=lib.eal:error \
		--vdev "net_af_xdp0,iface=$vm,start_queue=0,queue_count=1,xdp_prog=$OBJ" \
		-- --addr "$addr" --port 3478 --provision "$d/provision.json" --stats-interval 0 \
		--stats-json "$d/stats.json" >"$d/mdd.log" 2>&1 &
	mdd_pid=$!
	for _ in $(seq 100); do grep -q "worker(s)" "$d/mdd.log" 2>/dev/null && break; sleep 0.1; done
	if ! grep -q "XDP program redirects UDP port 3478 of 1 address" "$d/mdd.log"; then
		if ! kill -0 "$mdd_pid" 2>/dev/null && grep -qi "xsk\|af_xdp" "$d/mdd.log"; then
			cat "$d/mdd.log"
			skip "net_af_xdp cannot open an AF_XDP socket on the veth"
		fi
		bad "$fam: perc-mdd did not configure its XDP program: $(tail -5 "$d/mdd.log")"
		return
	fi
	ok "$fam: perc-mdd runs on net_af_xdp with perc's XDP program"

	# 1. media: the generated frames from the peer side, captured there
	ip netns exec "$np" python3 "$here/tapio.py" capture "$vp" "$d/all.pcap" >"$d/cap.log" 2>&1 &
	cap_pid=$!
	for _ in $(seq 50); do grep -q ready "$d/cap.log" 2>/dev/null && break; sleep 0.1; done
	media=$(in_p python3 "$here/tapio.py" send "$vp" "$d/in.pcap" "$d/secrets.json" c1 | awk '{print $2}')
	sleep 1
	kill "$cap_pid"; wait "$cap_pid"; cap_pid=
	# perc-mdd's frames only (UDP from port 3478), not the kernel's ND / MLD
	python3 "$here/tapio.py" mdd-frames "$d/all.pcap" "$d/out.pcap" >/dev/null
	if "$PT" check --dir "$d" --out "$d/out.pcap" >"$d/check.log" 2>&1; then
		ok "$fam: media through AF_XDP: $(head -1 "$d/check.log")"
	else
		bad "$fam: media through AF_XDP: $(head -4 "$d/check.log" | tr '\n' ' ')"
	fi

	# 2. the kernel keeps the address: ICMP echo by hand (no iputils-ping
	# needed), TCP, UDP to another port
	if in_p python3 - "$addr" >"$d/ping.log" 2>&1 <<'PY'; then
import os, socket, struct, sys
addr = sys.argv[1]
v6 = ":" in addr
def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff); s += s >> 16
    return ~s & 0xffff
if v6:  # the kernel fills in the ICMPv6 checksum
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.settimeout(2)
req, rep = (128, 129) if v6 else (8, 0)
ident, got = os.getpid() & 0xffff, 0
for seq in range(3):
    body = b"perc-afxdp-ping!"
    hdr = struct.pack("!BBHHH", req, 0, 0, ident, seq)
    c = 0 if v6 else csum(hdr + body)
    s.sendto(struct.pack("!BBHHH", req, 0, c, ident, seq) + body, (addr, 0))
    while True:
        pkt = s.recvfrom(1500)[0]
        if not v6:
            pkt = pkt[(pkt[0] & 15) * 4:]
        t, _, _, i, q = struct.unpack("!BBHHH", pkt[:8])
        if t == rep and i == ident and q == seq:
            got += 1
            break
print("%d" % got)
sys.exit(0 if got == 3 else 1)
PY
		ok "$fam: ICMP echo to $addr: $(cat "$d/ping.log") replies from the kernel"
	else
		bad "$fam: ICMP echo to $addr: $(tail -2 "$d/ping.log" | tr '\n' ' ')"
	fi
	ip netns exec "$nm" python3 - "$d/srv.log" "$addr" <<'PY' &
import socket, sys
log = open(sys.argv[1], "w", buffering=1)
fam = socket.AF_INET6 if ":" in sys.argv[2] else socket.AF_INET
t = socket.socket(fam); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind((sys.argv[2], 8080)); t.listen(1)
u = socket.socket(fam, socket.SOCK_DGRAM); u.bind((sys.argv[2], 5000))
log.write("ready\n")
t.settimeout(5)
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
	for _ in $(seq 50); do grep -q ready "$d/srv.log" 2>/dev/null && break; sleep 0.1; done
	reply=$(in_p python3 - "$addr" <<'PY'
import socket, sys
addr = sys.argv[1]
s = socket.create_connection((addr, 8080), timeout=3)
s.sendall(b"hello-over-tcp")
print(s.recv(100).decode())
u = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET, socket.SOCK_DGRAM)
for i in range(5):
    u.sendto(b"not media %d" % i, (addr, 5000))
PY
)
	wait "$srv_pid"; srv_pid=
	[ "$reply" = "echo:hello-over-tcp" ] && ok "$fam: TCP to port 8080 reached the kernel's listener" ||
		bad "$fam: TCP to port 8080: got '$reply'"
	grep -q "^udp 5$" "$d/srv.log" && ok "$fam: UDP to port 5000 (not the media port) reached the kernel" ||
		bad "$fam: UDP to port 5000: $(tr '\n' ' ' <"$d/srv.log")"

	kill "$mdd_pid"; wait "$mdd_pid"; rc=$?; mdd_pid=
	[ $rc -eq 0 ] && ok "$fam: perc-mdd stopped cleanly on SIGTERM" ||
		bad "$fam: perc-mdd exited $rc: $(tail -3 "$d/mdd.log")"
	in_m ip -d link show "$vm" | grep -q "prog/xdp" && bad "$fam: XDP program left on $vm" ||
		ok "$fam: the PMD removed the XDP program on exit"

	# 3. the counters: every media frame redirected, exactly; the rest passed
	python3 - "$d/stats.json" "$media" "$fam" <<'PY' && ok "$fam: XDP counters match the traffic" || bad "$fam: XDP counters"
import json, sys
st = json.load(open(sys.argv[1]))
media, fam = int(sys.argv[2]), sys.argv[3]
x = st.get("xdp")
print("%s xdp: %s" % (fam, json.dumps(x, sort_keys=True)))
ok = x is not None and x["ports"] == 1 and media > 0
ok = ok and x["redirected"] == media and st["total"]["rx_frames"] == media
ok = ok and x["passed_other_port"] == 5           # UDP to port 5000
# 3 echo requests and one TCP exchange (IPv6: and ND, MLD, all ICMPv6)
ok = ok and 3 + 4 <= x["passed_not_udp"] <= 3 + 16 + (40 if fam == "v6" else 0)
if fam == "v4":
    ok = ok and x["passed_not_ip"] >= 1           # ARP
ok = ok and x["passed_no_xsk"] == 0 and x["malformed"] == 0
sys.exit(0 if ok else 1)
PY
}

phase v4 192.0.2.1
phase v6 2001:db8::1
t_end
