#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Per-endpoint capture on demand (docs/operations.md, "Capture"): perc-mdd
# forwards live traffic through a DPDK tap port in a network namespace of
# the test's own (as test_metrics.sh) while mddctl captures:
#   - c1-ep1 raw: the pcapng holds exactly the frames c1-ep1 sent (byte for
#     byte, in order, flagged inbound) and one outbound frame per copy the
#     MDD sent it (conference-stats packets_out);
#   - c1-ep2 decrypted: one inbound packet per packet it sent, as UDP
#     payload of synthesized headers; the RTP header equals the one sent,
#     the payload is still E2E-sealed (differs from the plaintext and opens
#     with c1-ep2's E2E key, perc-srtp), the OHB is there; no hop-by-hop
#     key appears in any capture;
#   - c1-ep3 with --max-packets 3 ends by itself with 3 packets, and later
#     with --max-seconds 0.5 after that time;
#   - refused: a relative path, a path outside --capture-dir (also through
#     ".."), an existing file, an unknown endpoint, a second capture of the
#     same endpoint, stop of a capture that does not run;
#   - pdump: perc-mdd says whether dpdk-dumpcap can attach (not with
#     --no-huge: see docs/operations.md).
# usage: test_capture.sh PERC_MDD PERC_PCAPTEST MDDCTL PERC_SRTP WORKDIR
set -u
MDD=$1 PT=$2 CTL=$3 SRTP=$4 W=$5
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
t_begin capture
ns=perc-capture-$$
prefix=perc-capture-$$
mdd_pid=
t_kill_on_exit mdd_pid
t_on_exit 'rm -rf /var/run/dpdk/"$prefix"'
t_netns "$ns"
in_ns() { ip netns exec "$ns" "$@"; }
ctl() { "$CTL" --socket "$W/api.sock" "$@"; }

rm -rf "$W" && mkdir -p "$W/cap" "$W/other"
"$PT" gen --dir "$W" --conferences 1 --size 3 --packets 20 --rtcp >/dev/null || exit 1
in_ns ip link set lo up
in_ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1

t_mdd_tap "$ns" "$W/api.sock" "$MDD" --no-huge -m 256 --no-pci -l 0-1 --file-prefix "$prefix" \
	--log-level=lib.eal:error --vdev net_tap0,iface=mddtap0 -- --addr 192.0.2.1 \
	--provision "$W/provision.json" --api "$W/api.sock" --stats-interval 0 \
	--metrics off --capture-dir "$W/cap" --stats-json "$W/stats.json" >"$W/mdd.log" 2>&1
sleep 0.5

# refusals: each must fail (exit 1) with its reason, and create nothing
refused() { # WHAT EXPECTED-IN-MESSAGE ARGS...
	local what=$1 want=$2
	shift 2
	if ctl "$@" >"$W/r.out" 2>"$W/r.err"; then
		bad "$what accepted: $(cat "$W/r.out")"
	elif grep -q -- "$want" "$W/r.err"; then
		ok "$what refused: $(head -c 160 "$W/r.err")"
	else
		bad "$what: wrong reason: $(cat "$W/r.err" "$W/r.out")"
	fi
}
touch "$W/cap/exists.pcapng"
refused "relative path" "relative" capture start c1 c1-ep1 --file cap/x.pcapng
refused "path outside --capture-dir" "outside the capture directory" \
	capture start c1 c1-ep1 --file "$W/other/x.pcapng"
refused "path escaping with .." "outside the capture directory" \
	capture start c1 c1-ep1 --file "$W/cap/../other/y.pcapng"
refused "existing file" "never overwrite" capture start c1 c1-ep1 --file "$W/cap/exists.pcapng"
refused "unknown endpoint" "no endpoint 'nobody'" capture start c1 nobody --file "$W/cap/n.pcapng"
refused "unknown conference" "no endpoint" capture start c9 c1-ep1 --file "$W/cap/n.pcapng"
refused "stop of no capture" "no capture of c1/c1-ep1" capture stop c1 c1-ep1
[ -z "$(ls "$W/other")" ] && [ ! -e "$W/cap/n.pcapng" ] && ok "refusals created no file" ||
	bad "a refused request created a file: $(ls "$W/other" "$W/cap")"
if "$CTL" --socket "$W/api.sock" capture start c1 c1-ep1 >/dev/null 2>&1; then
	bad "mddctl capture start without --file accepted"
else
	ok "mddctl: capture start without --file is bad usage"
fi

ctl capture start c1 c1-ep1 --file "$W/cap/raw.pcapng" >"$W/start1.json" &&
	ok "capture start c1 c1-ep1 (raw)" || bad "capture start raw: $(cat "$W/start1.json")"
ctl capture start c1 c1-ep2 --file "$W/cap/dec.pcapng" --decrypted >"$W/start2.json" &&
	ok "capture start c1 c1-ep2 --decrypted" || bad "capture start decrypted"
ctl capture start c1 c1-ep3 --file "$W/cap/max.pcapng" --max-packets 3 >/dev/null &&
	ok "capture start c1 c1-ep3 --max-packets 3" || bad "capture start --max-packets"
refused "second capture of c1-ep1" "already being captured" \
	capture start c1 c1-ep1 --file "$W/cap/again.pcapng"

in_ns python3 "$here/tapio.py" send mddtap0 "$W/in.pcap" "$W/secrets.json" c1 >/dev/null
sleep 1
ctl capture list >"$W/list.json" || bad "capture list"
ctl conference-stats c1 >"$W/cstats.json" || bad "conference-stats"
ctl capture stop c1 c1-ep1 >"$W/stop1.json" && ok "capture stop c1 c1-ep1" || bad "capture stop 1"
ctl capture stop c1 c1-ep2 >"$W/stop2.json" && ok "capture stop c1 c1-ep2" || bad "capture stop 2"
refused "stop of an ended capture" "no capture of c1/c1-ep3" capture stop c1 c1-ep3
ctl capture start c1 c1-ep3 --file "$W/cap/secs.pcapng" --max-seconds 0.5 >/dev/null ||
	bad "capture start --max-seconds"
sleep 1.5
ctl capture list >"$W/list2.json"
python3 -c '
import json, sys
c = [c for c in json.load(open(sys.argv[1]))["captures"] if c["file"].endswith("/secs.pcapng")][0]
sys.exit(0 if c["state"] == "done" and c["end"] == "max_seconds" else 1)' "$W/list2.json" &&
	ok "--max-seconds 0.5: ended by itself (max_seconds)" ||
	bad "--max-seconds: $(cat "$W/list2.json")"
# rte_pdump_init registers its request handler even under --no-huge (a
# secondary still cannot map this process's memory: docs/operations.md)
grep -q "pdump unavailable" "$W/mdd.log" && bad "rte_pdump_init failed: $(grep pdump "$W/mdd.log")" ||
	ok "rte_pdump_init: no failure logged"

kill -TERM "$mdd_pid"
wait "$mdd_pid"
rc=$?
mdd_pid=
[ $rc = 0 ] && ok "perc-mdd exited 0" || bad "perc-mdd exit $rc: $(tail -5 "$W/mdd.log")"

python3 - "$W" "$SRTP" "$here" >"$W/check.log" 2>&1 <<'PY'
import json, struct, subprocess, sys
W, SRTP = sys.argv[1], sys.argv[2]
sys.path.insert(0, sys.argv[3])
sec = json.load(open(W + "/secrets.json"))
eps = {e["id"]: e for e in sec["endpoints"]}
fails = []

def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        fails.append(what)

from tapio import read_pcap, read_pcapng as pcapng

def src(fr):
    return "%s:%d" % (".".join(str(b) for b in fr[26:30]), struct.unpack("!H", fr[34:36])[0])

frames = read_pcap(W + "/in.pcap")
sent = {i: [f for f in frames if src(f) == eps[i]["addr"]] for i in eps}
cs = {e["id"]: e for e in json.load(open(W + "/cstats.json"))["endpoints"]}

# raw capture of c1-ep1
types, pk = pcapng(W + "/cap/raw.pcapng")
check(types[:2] == [0x0A0D0D0A, 1] and set(types[2:]) == {6},
      "raw: SHB, one IDB, then EPBs only (%s)" % sorted(set(types)))
inb = [d for f, d in pk if f == 1]
out = [d for f, d in pk if f == 2]
check(len(inb) + len(out) == len(pk), "raw: every EPB has a direction")
check(inb == sent["c1-ep1"], "raw: %d inbound = the %d frames c1-ep1 sent, byte for byte" % (
    len(inb), len(sent["c1-ep1"])))
check(len(out) == cs["c1-ep1"]["packets_out"] and len(out) > 0,
      "raw: %d outbound = packets_out %d" % (len(out), cs["c1-ep1"]["packets_out"]))
check(all(d[30:34] == bytes(int(x) for x in eps["c1-ep1"]["addr"].split(":")[0].split("."))
          for d in out), "raw: outbound frames go to c1-ep1's address")

# decrypted capture of c1-ep2
types, pk = pcapng(W + "/cap/dec.pcapng")
check(types[:2] == [0x0A0D0D0A, 1] and set(types[2:]) == {6}, "decrypted: SHB, IDB, EPBs")
inb = [d for f, d in pk if f == 1]
out = [d for f, d in pk if f == 2]
s2 = sent["c1-ep2"]
check(len(inb) == len(s2), "decrypted: %d inbound = %d sent by c1-ep2" % (len(inb), len(s2)))
check(len(out) == cs["c1-ep2"]["packets_out"],
      "decrypted: %d outbound = packets_out %d" % (len(out), cs["c1-ep2"]["packets_out"]))
e = eps["c1-ep2"]
opened = rtp = 0
for d, f in zip(inb, s2):
    udp = d[34:]
    pl = udp[8:]
    orig = f[42:]
    assert d[12:14] == b"\x08\x00" and d[23] == 17
    assert d[26:30] == f[26:30] and udp[0:2] == f[34:36], "synthesized source is not the endpoint"
    assert struct.unpack("!H", udp[4:6])[0] == 8 + len(pl)
    if 192 <= orig[1] <= 223:   # SRTCP: compound RTCP in the clear (no E2E layer)
        assert pl[:8] == orig[:8], "RTCP header and sender SSRC"
        continue
    rtp += 1
    cc = orig[0] & 15
    hl = 12 + 4 * cc
    if orig[0] & 0x10:
        hl += 4 + 4 * struct.unpack("!H", orig[hl + 2:hl + 4])[0]
    assert pl[:hl] == orig[:hl], "RTP header changed"
    assert pl[-1] == 0, "OHB of an unchanged packet is one zero byte"
    inner = pl[:-1]
    assert inner != orig[:len(inner)], "outer layer not removed"
    seq = struct.unpack("!H", orig[2:4])[0]
    roc = 0 if seq >= sec["generator"]["seq_start"] else 1
    # RFC 8723 5.1: the inner (E2E) transform covers the header without
    # its extension (X bit cleared), which the endpoint rebuilds the same way
    base = 12 + 4 * cc
    e2e = bytes([inner[0] & 0xEF]) + inner[1:base] + inner[hl:]
    r = subprocess.run([SRTP, "unprotect", "--profile", "SRTP_AEAD_AES_128_GCM", "--key",
                        e["e2e_key"], "--salt", e["e2e_salt"], "--roc", str(roc), e2e.hex()],
                       capture_output=True, text=True)
    assert r.returncode == 0, "inner layer does not open with the E2E key: " + r.stderr
    plain = bytes.fromhex(r.stdout.split()[-1])
    assert plain[base:] != inner[hl:hl + len(plain) - base], "payload was not sealed"
    assert len(plain) == len(e2e) - 16, "E2E tag"
    opened += 1
check(rtp > 0 and opened == rtp,
      "decrypted: %d RTP packets: header as sent, OHB, payload E2E-sealed and opens with "
      "c1-ep2's E2E key" % opened)
blob = b"".join(open(W + "/cap/" + n, "rb").read() for n in ("raw.pcapng", "dec.pcapng", "max.pcapng"))
keys = [bytes.fromhex(x[k]) for x in eps.values() for k in ("rx_key", "tx_key", "e2e_key")]
check(not any(k in blob for k in keys), "no hop-by-hop or E2E key in any capture")

types, pk = pcapng(W + "/cap/max.pcapng")
check(len(pk) == 3, "--max-packets 3: %d packets" % len(pk))
lst = {c["id"]: c for c in json.load(open(W + "/list.json"))["captures"]}
check(lst["c1-ep3"]["state"] == "done" and lst["c1-ep3"]["end"] == "max_packets",
      "capture list: c1-ep3 done (max_packets) while the others run")
check(lst["c1-ep1"]["state"] == "running", "capture list: c1-ep1 running")
st = json.load(open(W + "/stats.json"))["total"]
check(st["captured"] > 0 and st["capture_ring_full"] == 0 and st["capture_no_buf"] == 0,
      "counters: captured %d, capture_ring_full 0, capture_no_buf 0" % st["captured"])
sys.exit(1 if fails else 0)
PY
r=$?
cat "$W/check.log"
[ $r = 0 ] && ok "pcapng checks" || bad "pcapng checks"
t_end
