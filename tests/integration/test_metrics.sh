#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# perc-mdd's metrics while it forwards live traffic (a DPDK tap port in a
# network namespace of the test's own, as test_reload.sh): conference c1 is
# provisioned, c2 is not (its frames are dropped as unknown_endpoint on
# purpose). While perc-mdd runs, the test scrapes GET /metrics and checks:
#   - the exposition format (promtool check metrics when Debian's prometheus
#     package is installed; the test's own checker of HELP / TYPE / names /
#     counters' _total / duplicate series / values always);
#   - the counters equal the traffic sent: rx frames, packets accepted,
#     copies sent (2 receivers per c1 packet), drops by reason, port stats;
#   - 404 for another path, 405 for POST;
#   - the DPDK telemetry socket's /perc/stats and /perc/drops say the same;
#   - the API's "metrics" op (mddctl metrics) says the same;
#   - mddctl conference-stats c1 lists every endpoint with its packets;
#   - mddctl streams c1 [ENDPOINT]: each SSRC's packets, bytes, ROC / SEQ
#     equal what it sent; replayed and forged packets count on their stream;
#   - the drops come as one rate-limited summary line, not one per packet.
# usage: test_metrics.sh PERC_MDD PERC_PCAPTEST MDDCTL WORKDIR
set -u
MDD=$1 PT=$2 CTL=$3 W=$4
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
t_begin metrics
ns=perc-metrics-$$
prefix=perc-metrics-$$
mdd_pid=
t_kill_on_exit mdd_pid
# the EAL leaves its runtime directory (config, telemetry socket) behind
t_on_exit 'rm -rf /var/run/dpdk/"$prefix"'
t_netns "$ns"
in_ns() { ip netns exec "$ns" "$@"; }

rm -rf "$W" && mkdir -p "$W"
"$PT" gen --dir "$W" --conferences 2 --size 3 --packets 40 --rtcp >/dev/null || exit 1
python3 "$here/tapio.py" subset "$W/provision.json" "$W/live.json" c1
in_ns ip link set lo up
in_ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1

t_mdd_tap "$ns" "$W/api.sock" "$MDD" --no-huge -m 256 --no-pci -l 0-1 --file-prefix "$prefix" \
	--log-level=lib.eal:error --vdev net_tap0,iface=mddtap0 -- --addr 192.0.2.1 \
	--provision "$W/live.json" --api "$W/api.sock" --stats-interval 0 \
	--metrics 127.0.0.1:9464 >"$W/mdd.log" 2>&1
sleep 0.5
in_ns python3 "$here/tapio.py" send mddtap0 "$W/in.pcap" "$W/secrets.json" c1,c2 >/dev/null
sleep 1.5   # the telemetry snapshot is refreshed once a second

in_ns curl -sS -o "$W/metrics.txt" -w '%{http_code} %{content_type}\n' \
	http://127.0.0.1:9464/metrics >"$W/http.txt" 2>&1
grep -q '^200 text/plain; version=0.0.4' "$W/http.txt" && ok "GET /metrics: 200, text format 0.0.4" ||
	bad "GET /metrics: $(cat "$W/http.txt")"
code=$(in_ns curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:9464/other)
[ "$code" = 404 ] && ok "GET /other: 404" || bad "GET /other: $code"
code=$(in_ns curl -s -o /dev/null -w '%{http_code}' -X POST http://127.0.0.1:9464/metrics)
[ "$code" = 405 ] && ok "POST /metrics: 405" || bad "POST /metrics: $code"

# bounded request size, a few connections at a time, slow clients time out
in_ns python3 - >"$W/http-limits.log" 2>&1 <<'PY' || bad "HTTP limits: $(cat "$W/http-limits.log")"
import socket, time
def conn():
    s = socket.create_connection(("127.0.0.1", 9464), timeout=3)
    return s
s = conn(); s.sendall(b"GET /metrics HTTP/1.1\r\nX: " + b"a" * 5000 + b"\r\n\r\n")
r = s.recv(100); assert r.startswith(b"HTTP/1.1 431"), r
held = [conn() for _ in range(4)]          # 4 silent clients take every slot
time.sleep(0.3)
x = conn(); x.sendall(b"GET /metrics HTTP/1.1\r\n\r\n")
try:
    r = x.recv(100)
except ConnectionResetError:
    r = b""
assert r == b"", "a 5th connection was served"
time.sleep(5.5)                           # the silent ones time out (5 s)
y = conn(); y.sendall(b"GET /metrics HTTP/1.1\r\n\r\n")
assert y.recv(100).startswith(b"HTTP/1.1 200"), "not served after the timeout"
print("ok")
PY
grep -q '^ok' "$W/http-limits.log" && ok "HTTP: 431 beyond 4096 bytes, 4 connections at most, silent ones dropped after 5 s"

# promtool: installed, or $PERC_PROMTOOL (e.g. taken out of the package
# without installing the server: apt-get download prometheus &&
# dpkg-deb -x prometheus_*.deb DIR; PERC_PROMTOOL=DIR/usr/bin/promtool)
promtool=${PERC_PROMTOOL:-$(command -v promtool 2>/dev/null)}
if [ -n "$promtool" ] && [ -x "$promtool" ]; then
	if "$promtool" check metrics <"$W/metrics.txt" >"$W/promtool.log" 2>&1; then
		ok "promtool check metrics"
	else
		bad "promtool check metrics: $(head -5 "$W/promtool.log")"
	fi
else
	echo "note: promtool not installed (Debian package prometheus; or PERC_PROMTOOL): only the test's own format check"
fi
# the checker itself fails on broken expositions
sed 's/^perc_mdd_rx_frames_total/perc_mdd_rx_frames/' "$W/metrics.txt" >"$W/bad1.txt"
grep -v '^# HELP perc_mdd_endpoints ' "$W/metrics.txt" >"$W/bad2.txt"
{ cat "$W/metrics.txt"; grep '^perc_mdd_conferences ' "$W/metrics.txt"; } >"$W/bad3.txt"
n=0
for b in bad1 bad2 bad3; do python3 "$here/promcheck.py" "$W/$b.txt" >/dev/null || n=$((n + 1)); done
[ $n = 3 ] && ok "promcheck.py refuses a sample outside its family, a missing HELP, a series twice" ||
	bad "promcheck.py passed $((3 - n)) broken expositions"
python3 "$here/promcheck.py" "$W/metrics.txt" && ok "exposition format (HELP, TYPE, names, _total, series)" ||
	bad "exposition format"

# the telemetry socket of this run (EAL: /var/run/dpdk/<prefix>/)
sock=/var/run/dpdk/$prefix/dpdk_telemetry.v2
python3 "$here/../../tools/perc-telemetry.py" --socket "$sock" /perc/stats /perc/drops \
	/perc/state /perc/workers /perc/ports >"$W/telemetry.json" 2>"$W/telemetry.err"
[ -s "$W/telemetry.json" ] && ok "telemetry /perc/ commands answer" ||
	bad "telemetry: $(cat "$W/telemetry.err")"

"$CTL" --socket "$W/api.sock" metrics >"$W/api-metrics.json" 2>"$W/ctl.err" &&
	ok "mddctl metrics" || bad "mddctl metrics: $(cat "$W/ctl.err")"
"$CTL" --socket "$W/api.sock" conference-stats c1 >"$W/confstats.json" 2>"$W/ctl.err" &&
	ok "mddctl conference-stats c1" || bad "mddctl conference-stats: $(cat "$W/ctl.err")"
"$CTL" --socket "$W/api.sock" conference-stats nope >/dev/null 2>"$W/ctl.err"
[ $? -eq 1 ] && grep -q "no conference nope" "$W/ctl.err" && ok "conference-stats of an unknown conference refused" ||
	bad "conference-stats nope: $(cat "$W/ctl.err")"

python3 - "$W" "$here" <<'PY' && ok "counters equal the traffic sent (metrics, telemetry, API)" || bad "counters"
import json, re, socket, struct, sys
w = sys.argv[1]
sys.path.insert(0, sys.argv[2])
from tapio import read_metrics, read_pcap
sec = json.load(open(w + "/secrets.json"))
frames = read_pcap(w + "/in.pcap")
conf_of = {}
for ep in sec["endpoints"]:
    host, port = ep["addr"].rsplit(":", 1)
    conf_of[(socket.inet_aton(host), int(port))] = ep["conference"]
count = {"c1": 0, "c2": 0}
rtcp_c1 = 0
for f in frames:
    ihl = (f[14] & 15) * 4
    k = (f[26:30], struct.unpack("!H", f[14 + ihl:16 + ihl])[0])
    if k in conf_of:
        count[conf_of[k]] += 1
        # RFC 5761: RTCP packet types 192..223 in the second byte
        if conf_of[k] == "c1" and 192 <= f[14 + ihl + 8 + 1] <= 223:
            rtcp_c1 += 1
sent = count["c1"] + count["c2"]
m = read_metrics(w + "/metrics.txt")
def tot(fam):
    return sum(v for k, v in m.items() if k == fam or k.startswith(fam + "{"))
errs = []
def want(what, got, exp):
    print("%-40s %d (want %d)" % (what, got, exp))
    if got != exp:
        errs.append(what)
want("rx_frames", tot("perc_mdd_rx_frames_total"), sent)
want("port 0 rx packets", m['perc_mdd_port_rx_packets_total{port="0"}'], sent)
want("rx_rtp (c1)", tot("perc_mdd_rx_rtp_total"), count["c1"] - rtcp_c1)
want("rx_rtcp (c1)", tot("perc_mdd_rx_rtcp_total"), rtcp_c1)
# every RTP packet to the 2 other endpoints (RTCP feedback to its media
# sender only, so RTCP copies are only bounded)
# (a receiver whose MAC is not known yet when the first packets come misses
# its copy: no_nexthop, counted per copy)
nh = m['perc_mdd_drops_total{reason="no_nexthop"}']
txp = tot("perc_mdd_tx_rtp_total")
want("tx_rtp + no_nexthop >= 2 x rx_rtp >= tx_rtp", txp if txp <= 2 * (count["c1"] - rtcp_c1) <= txp + nh else -1, txp)
txr = tot("perc_mdd_tx_rtcp_total")
want("tx_rtcp within rx_rtcp..2 rx_rtcp", txr if rtcp_c1 - nh <= txr <= 2 * rtcp_c1 else -1, txr)
want("tx_frames = tx_rtp + tx_rtcp + ctl_tx", tot("perc_mdd_tx_frames_total"),
     tot("perc_mdd_tx_rtp_total") + txr + tot("perc_mdd_ctl_tx_total"))
want("port 0 tx packets", m['perc_mdd_port_tx_packets_total{port="0"}'], tot("perc_mdd_tx_frames_total"))
want("drops unknown_endpoint (c2)", m['perc_mdd_drops_total{reason="unknown_endpoint"}'], count["c2"])
want("all drops but no_nexthop", tot("perc_mdd_drops_total") - nh, count["c2"])
want("srtp failures", tot("perc_mdd_srtp_failures_total"), 0)
want("conferences", m["perc_mdd_conferences"], 1)
want("endpoints", m["perc_mdd_endpoints"], 3)
tel = json.load(open(w + "/telemetry.json"))
want("telemetry rx_frames", tel["/perc/stats"]["rx_frames"], sent)
want("telemetry drops unknown_endpoint", tel["/perc/drops"]["drops_unknown_endpoint"], count["c2"])
want("telemetry endpoints", tel["/perc/state"]["endpoints"], 3)
api = json.load(open(w + "/api-metrics.json"))["metrics"]
want("API rx_frames", sum(s["value"] for s in api["rx_frames_total"]["samples"]), sent)
cs = json.load(open(w + "/confstats.json"))
want("conference_stats endpoints", len(cs["endpoints"]), 3)
want("conference_stats packets_in", sum(e["packets_in"] for e in cs["endpoints"]), count["c1"])
want("conference_stats conference packets_in", cs["packets_in"], count["c1"])
want("conference_stats conference packets_out = sum of endpoints'", cs["packets_out"],
     sum(e["packets_out"] for e in cs["endpoints"]))
want("conference packets_out = tx_rtp + tx_rtcp", cs["packets_out"], txp + txr)
sys.exit(1 if errs else 0)
PY

# per-stream counters (mddctl streams): what each SSRC sent, then forged
# packets on one stream: 3 replays of its first packet, 2 with a SEQ changed
# (the tag no longer verifies); they count on that stream and no other
python3 - "$W" "$here" >"$W/extras.log" 2>&1 <<'PY' || bad "forged frames: $(cat "$W/extras.log")"
import json, struct, sys
w = sys.argv[1]
sys.path.insert(0, sys.argv[2])
from tapio import read_pcap, write_pcap
sec = json.load(open(w + "/secrets.json"))
ep = [e for e in sec["endpoints"] if e["conference"] == "c1"][0]
host, port = ep["addr"].rsplit(":", 1)
frames = read_pcap(w + "/in.pcap")
def udp(f):
    ihl = (f[14] & 15) * 4
    return 14 + ihl
mine = [f for f in frames if f[26:30] == bytes(map(int, host.split("."))) and
        struct.unpack("!H", f[udp(f):udp(f) + 2])[0] == int(port) and
        not 192 <= f[udp(f) + 9] <= 223]
out = [mine[0]] * 3
for d in (5, 6):
    f = bytearray(mine[-1]); u = udp(f)
    seq = (struct.unpack("!H", f[u + 10:u + 12])[0] + d) & 0xffff
    f[u + 10:u + 12] = struct.pack("!H", seq)
    f[u + 6:u + 8] = b"\0\0"   # no UDP checksum (IPv4): the tag is what fails
    out.append(bytes(f))
write_pcap(w + "/forged.pcap", out)
json.dump({"endpoint": ep["id"], "ssrc": struct.unpack("!I", mine[0][udp(mine[0]) + 16:udp(mine[0]) + 20])[0]},
          open(w + "/forged.json", "w"))
PY
in_ns python3 "$here/tapio.py" send mddtap0 "$W/forged.pcap" "$W/secrets.json" c1 >/dev/null
sleep 0.5
"$CTL" --socket "$W/api.sock" streams c1 >"$W/streams.json" 2>"$W/ctl.err" &&
	ok "mddctl streams c1" || bad "mddctl streams c1: $(cat "$W/ctl.err")"
fep=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["endpoint"])' "$W/forged.json")
"$CTL" --socket "$W/api.sock" streams c1 "$fep" >"$W/streams-ep.json" 2>"$W/ctl.err" &&
	ok "mddctl streams c1 $fep" || bad "mddctl streams c1 $fep: $(cat "$W/ctl.err")"
"$CTL" --socket "$W/api.sock" streams c1 nobody >/dev/null 2>"$W/ctl.err"
[ $? -eq 1 ] && grep -q "no endpoint nobody in conference c1" "$W/ctl.err" &&
	ok "streams of an unknown endpoint refused" || bad "streams c1 nobody: $(cat "$W/ctl.err")"
"$CTL" --socket "$W/api.sock" streams >/dev/null 2>&1
[ $? -eq 2 ] && ok "streams without a conference: usage error" || bad "streams without a conference"
python3 - "$W" "$here" <<'PY' && ok "per-stream counters equal each SSRC's traffic and the forgeries" || bad "per-stream counters"
import json, struct, sys
w = sys.argv[1]
sys.path.insert(0, sys.argv[2])
from tapio import read_metrics, read_pcap
sec = json.load(open(w + "/secrets.json"))
frames = read_pcap(w + "/in.pcap")
c1 = set()
for ep in sec["endpoints"]:
    if ep["conference"] == "c1":
        host, port = ep["addr"].rsplit(":", 1)
        c1.add((bytes(map(int, host.split("."))), int(port)))
want = {}
for f in frames:
    u = 14 + (f[14] & 15) * 4
    if (f[26:30], struct.unpack("!H", f[u:u + 2])[0]) not in c1:
        continue
    p = f[u + 8:14 + struct.unpack("!H", f[16:18])[0]]
    rtcp = 192 <= p[1] <= 223
    # the EKT field after an SRTP packet (RFC 8870 §4.1; SRTCP carries none)
    ekt = 0 if rtcp else 1 if p[-1] == 0 else struct.unpack("!H", p[-3:-1])[0]
    ssrc = struct.unpack("!I", p[4:8] if rtcp else p[8:12])[0]
    s = want.setdefault(ssrc, {"rtp_packets": 0, "rtcp_packets": 0, "bytes": 0, "index": None})
    s["rtcp_packets" if rtcp else "rtp_packets"] += 1
    s["bytes"] += len(p) - ekt
    if not rtcp:
        seq = struct.unpack("!H", p[2:4])[0]
        i = s["index"]
        if i is None:
            s["index"] = seq
        else:
            # RFC 3711 §3.3.1: the index nearest the highest so far
            cand = min((((i >> 16) + d) << 16 | seq for d in (-1, 0, 1) if (i >> 16) + d >= 0),
                       key=lambda x: abs(x - i))
            s["index"] = max(i, cand)
forged = json.load(open(w + "/forged.json"))
got = {s["ssrc"]: s for s in json.load(open(w + "/streams.json"))["streams"]}
m = read_metrics(w + "/metrics.txt")
errs = []
def check(what, g, e):
    print("%-44s %s (want %s)" % (what, g, e))
    if g != e:
        errs.append(what)
check("streams listed", sorted(got), sorted(want))
for ssrc, e in want.items():
    g = got.get(ssrc, {})
    for k in ("rtp_packets", "rtcp_packets", "bytes"):
        check("ssrc %d %s" % (ssrc, k), g.get(k), e[k])
    check("ssrc %d roc:seq" % ssrc, (g.get("roc"), g.get("seq")), (e["index"] >> 16, e["index"] & 0xffff))
    f = ssrc == forged["ssrc"]
    check("ssrc %d replay" % ssrc, g.get("replay"), 3 if f else 0)
    check("ssrc %d auth_fail" % ssrc, g.get("auth_fail"), 2 if f else 0)
    check("ssrc %d ohb_invalid" % ssrc, g.get("ohb_invalid"), 0)
    check("ssrc %d idle_ms is a recent time" % ssrc, isinstance(g.get("idle_ms"), int) and g["idle_ms"] < 60000, True)
tx = sum(v for k, v in m.items() if k.startswith(("perc_mdd_tx_rtp_total", "perc_mdd_tx_rtcp_total")))
check("sum of copies_out = tx_rtp + tx_rtcp", sum(s["copies_out"] for s in got.values()), tx)
one = json.load(open(w + "/streams-ep.json"))["streams"]
check("streams of one endpoint", [(s["endpoint"], s["ssrc"]) for s in one],
      [(forged["endpoint"], s) for s in sorted(got) if got[s]["endpoint"] == forged["endpoint"]])
sys.exit(1 if errs else 0)
PY

# rate-limited error summary: one line for the reason per 10 s, not one per packet
c2=$(sed -n 's/^perc_mdd_drops_total{reason="unknown_endpoint"} //p' "$W/metrics.txt")
t_wait_grep "dropped for reason unknown_endpoint" "$W/mdd.log" 120
n=$(grep -c "dropped for reason unknown_endpoint" "$W/mdd.log")
[ "$n" = 1 ] && grep -q "perc-mdd: $c2 packets dropped for reason unknown_endpoint in the last 1[0-9] s" "$W/mdd.log" &&
	ok "one summary line for $c2 unknown_endpoint drops" ||
	bad "drop summary ($n lines): $(grep "dropped for reason" "$W/mdd.log" | head -3)"

kill "$mdd_pid"; wait "$mdd_pid"; rc=$?; mdd_pid=
[ $rc -eq 0 ] && ok "perc-mdd stopped cleanly on SIGTERM" || bad "perc-mdd exited $rc: $(tail -3 "$W/mdd.log")"
t_end
