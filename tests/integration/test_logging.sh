#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# perc-mdd's logging (docs/operations.md "Logging"), in a network namespace
# of the test's own with a DPDK tap port (192.0.2.1 is the MDD, 192.0.2.2
# the kernel side that sends STUN):
#   A. default levels: the start-up line and the conference API's messages
#      (perc.mdd.api) appear, once each; a malformed STUN message leaves no
#      line at info; after "mddctl log-level perc.mdd.ice debug" a flood of
#      N unauthenticated Binding requests gives one debug line for the
#      first (with its source) and a summary whose count is N, never a
#      line per request; SIGHUP reload messages (perc.mdd.control); no
#      hop-by-hop key or salt of the provisioning file anywhere in the log;
#      the EAL's default: every line on stderr and a copy in syslog.
#   B. --log-level=perc.mdd.api:warning: the same API requests leave no
#      line (the start-up line still comes), and mddctl log-level says so.
#   C. stderr is the journal's stream ($JOURNAL_STREAM): every rte_log
#      line (the EAL's start-up lines too) once on stderr with its
#      sd-daemon priority prefix (<5> notice, <6> info), none in syslog.
#   A and C run in a private mount namespace whose /dev/log is the test's
#   own datagram socket (skipped when it cannot be made).
# usage: test_logging.sh PERC_MDD PERC_PCAPTEST MDDCTL WORKDIR
set -u
MDD=$1 PT=$2 CTL=$3 W=$4
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
t_begin logging
ns=perc-log-$$
mdd_pid= sl_pid=
t_kill_on_exit mdd_pid sl_pid
t_on_exit 'rm -rf /var/run/dpdk/"perc-log-$$-"*'
t_netns "$ns"
in_ns() { ip netns exec "$ns" "$@"; }
ctl() { "$CTL" --socket "$W/api.sock" "$@"; }

rm -rf "$W" && mkdir -p "$W/dev/net"
"$PT" gen --dir "$W" --conferences 2 --size 3 --packets 4 >/dev/null || exit 1
python3 "$here/tapio.py" subset "$W/provision.json" "$W/live.json" c1
in_ns ip link set lo up
in_ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1

# a syslog stand-in: every datagram sent to $W/dev/log, one line each
python3 - "$W/dev/log" "$W/syslog.txt" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
out = open(sys.argv[2], "a")
while True:
    out.write(s.recv(65536).decode(errors="replace").rstrip("\n") + "\n")
    out.flush()
PY
sl_pid=$!
t_wait_file "$W/dev/log" 50
# /dev for perc-mdd: the host's devices it needs, and the stand-in as /dev/log
devsetup="D=$W/dev
for d in null zero urandom random full; do touch \$D/\$d && mount --bind /dev/\$d \$D/\$d || exit 1; done
touch \$D/net/tun && mount --bind /dev/net/tun \$D/net/tun || exit 1
for d in shm pts hugepages; do [ -d /dev/\$d ] && mkdir -p \$D/\$d && mount --rbind /dev/\$d \$D/\$d; done
mount --rbind \$D /dev || exit 1"
syslog=yes
if ! in_ns unshare -m --propagation private bash -c "$devsetup && exec logger -u /dev/log perc-log-probe" ||
	! { sleep 0.3; grep -q perc-log-probe "$W/syslog.txt"; }; then
	syslog=no
	echo "note: no private /dev/log (mount namespace refused): the syslog checks are skipped"
fi

# start RUN PRIVATE-DEV(yes|no) ENV... -- EXTRA-EAL...: perc-mdd in the
# namespace, stdout to RUN.out, stderr to RUN.log, tap up
start() {
	local run=$1 priv=$2 envs=() eal=()
	shift 2
	while [ $# -gt 0 ] && [ "$1" != -- ]; do envs+=("$1"); shift; done
	[ $# -gt 0 ] && shift
	eal=("$@")
	rm -f "$W/api.sock"
	: >"$W/$run.log"
	local cmd=(env "${envs[@]}" "$MDD" --no-huge -m 256 --no-pci -l 0-1
		--file-prefix "perc-log-$$-$run" --log-level=lib.eal:error "${eal[@]}"
		--vdev net_tap0,iface=mddtap0 -- --addr 192.0.2.1 --provision "$W/live.json"
		--api "$W/api.sock" --metrics off --stats-interval 0)
	[ "$priv" = yes ] &&
		cmd=(unshare -m --propagation private bash -c "$devsetup && exec \"\$@\"" sh "${cmd[@]}")
	t_mdd_tap "$ns" "$W/api.sock" "${cmd[@]}" >"$W/$run.out" 2>>"$W/$run.log"
	in_ns ip addr add 192.0.2.2/24 dev mddtap0
}
stop() {
	kill "$mdd_pid" 2>/dev/null
	wait "$mdd_pid"
	local rc=$?
	mdd_pid=
	return $rc
}
# the conference API's four messages
api_round() {
	ctl conference create k1 >/dev/null 2>&1 && ctl endpoint add k1 e1 --remote-ufrag abcd >/dev/null 2>&1 &&
		ctl endpoint remove k1 e1 >/dev/null 2>&1 && ctl conference delete k1 >/dev/null 2>&1
}
api_msgs=("conference k1 created (API, up to" "endpoint k1/e1 added (API), waiting for ICE"
	"endpoint k1/e1 removed (API)" "conference k1 deleted (API, 0 endpoints)")
# stun KIND N: N STUN messages from 192.0.2.2 to the MDD's port 3478
stun() {
	in_ns python3 - "$1" "$2" <<'PY'
import hashlib, hmac, os, socket, struct, sys, time, zlib
kind, n = sys.argv[1], int(sys.argv[2])
def attr(t, v):
    return struct.pack("!HH", t, len(v)) + v + b"\0" * (-len(v) % 4)
def request():
    """A Binding request for ufrags no endpoint has: integrity and
    fingerprint well formed, the password is nobody's"""
    tid = os.urandom(12)
    attrs = attr(0x0006, b"nobody:nothing") + attr(0x0024, struct.pack("!I", 1))
    hdr = struct.pack("!HHI", 1, len(attrs) + 24, 0x2112A442) + tid
    body = attrs + attr(0x0008, hmac.new(b"wrong", hdr + attrs, hashlib.sha1).digest())
    hdr = struct.pack("!HHI", 1, len(body) + 8, 0x2112A442) + tid
    crc = (zlib.crc32(hdr + body) ^ 0x5354554E) & 0xffffffff
    return hdr + body + attr(0x8028, struct.pack("!I", crc))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("192.0.2.2", 0))
for i in range(n):
    # STUN's first byte (0..3), then something that does not parse
    s.sendto(request() if kind == "unknown" else b"\x00\x01\x00\x40garbage", ("192.0.2.1", 3478))
    if i % 50 == 49:
        time.sleep(0.005)
print(s.getsockname()[1])
PY
}
# lines LOG PATTERN: how many lines of LOG hold the fixed string PATTERN
lines() { grep -cF -- "$2" "$1"; }

# ---- A: default levels ------------------------------------------------------
start A "$syslog" --
sleep 0.3
lines "$W/A.log" "perc-mdd: 1 conference(s), 3 endpoint(s)" | grep -qx 1 &&
	lines "$W/A.log" "log lines go to stderr and syslog" | grep -qx 1 &&
	ok "A: start-up line and where the lines go, once each" ||
	bad "A: start-up lines: $(head -5 "$W/A.log")"
[ ! -s "$W/A.out" ] && ok "A: nothing of rte_log on stdout" || bad "A: stdout: $(head -3 "$W/A.out")"
api_round || bad "A: API requests refused"
sleep 0.2
miss=
for m in "${api_msgs[@]}"; do [ "$(lines "$W/A.log" "perc-mdd: $m")" = 1 ] || miss="$miss [$m]"; done
[ -z "$miss" ] && ok "A: the API's messages (perc.mdd.api, notice / info) once each" ||
	bad "A: API messages missing or repeated:$miss"
stun malformed 1 >/dev/null
sleep 0.5
[ "$(lines "$W/A.log" "STUN from")" = 0 ] && ok "A: a dropped STUN message leaves no line at info" ||
	bad "A: STUN line at info: $(grep -F "STUN from" "$W/A.log")"
ctl log-level perc.mdd.ice debug >"$W/ll.json" 2>&1 && grep -q '"perc.mdd.ice": "debug"' "$W/ll.json" &&
	ok "A: mddctl log-level perc.mdd.ice debug" || bad "A: log-level: $(cat "$W/ll.json")"
N=400
port=$(stun unknown $N)
sleep 0.5
n=$(lines "$W/A.log" "perc-mdd: STUN from 192.0.2.2:$port dropped: Binding requests for no known endpoint's ufrags")
[ "$n" -ge 1 ] && [ "$n" -le 2 ] &&
	ok "A: at debug: $n line(s) for $N unauthenticated Binding requests from 192.0.2.2:$port" ||
	bad "A: $n debug lines for $N requests: $(grep -F "STUN from" "$W/A.log" | head -3)"
# the summary comes every 10 s: wait for the one after the flood
t_wait_grep "stun_unknown_user in the last" "$W/A.log" 150
sleep 0.2
sum=$(sed -n 's/^perc-mdd: \([0-9]*\) stun_unknown_user in the last 1[0-9] s .*/\1/p' "$W/A.log" |
	awk '{s += $1} END {print s + 0}')
mal=$(sed -n 's/^perc-mdd: \([0-9]*\) stun_malformed in the last.*/\1/p' "$W/A.log" | awk '{s += $1} END {print s + 0}')
[ "$sum" = $N ] && [ "$mal" = 1 ] &&
	ok "A: rate-limited summaries: $sum stun_unknown_user (sent $N), $mal stun_malformed" ||
	bad "A: summaries: stun_unknown_user $sum (sent $N), stun_malformed $mal: $(grep -F " in the last" "$W/A.log")"
total=$(wc -l <"$W/A.log")
[ "$total" -lt 40 ] && ok "A: $total log lines in all for $((N + 1)) bad STUN messages and the rest" ||
	bad "A: $total log lines"
python3 "$here/tapio.py" subset "$W/provision.json" "$W/live.json" c1,c2
kill -HUP "$mdd_pid"
t_wait_grep "reload: 1 added" "$W/A.log" 30
grep -qF "perc-mdd: reload: conference c2 added (3 endpoints)" "$W/A.log" &&
	grep -qF "perc-mdd: reload: 1 added, 0 removed, 0 key changes, 0 refused; 2 conferences, 6 endpoints" "$W/A.log" &&
	ok "A: SIGHUP reload messages" || bad "A: reload: $(grep -F reload "$W/A.log")"
stop; rc=$?
[ $rc = 0 ] && grep -qF "perc-mdd: final counters:" "$W/A.log" && ok "A: SIGTERM: exit 0, final counters logged" ||
	bad "A: exit $rc: $(tail -3 "$W/A.log")"
if [ "$syslog" = yes ]; then
	n=$(grep -cF "perc-mdd: conference k1 created (API" "$W/syslog.txt")
	grep -qF "<29>" <(grep -F "perc-mdd: conference k1 created (API" "$W/syslog.txt") && [ "$n" = 1 ] &&
		ok "A: the EAL's default: syslog gets a copy too (notice: <29>, daemon.notice)" ||
		bad "A: syslog ($n copies): $(grep -F "k1 created" "$W/syslog.txt")"
fi
# no key material: every hop-by-hop key and salt of the file, in any case
leak=$(python3 - "$W/provision.json" "$W/A.log" "$W/A.out" "$W/syslog.txt" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
keys = [e[k].lower() for c in p["conferences"] for e in c["endpoints"]
        for k in ("rx_key", "rx_salt", "tx_key", "tx_salt")]
text = "".join(open(f, errors="replace").read().lower() for f in sys.argv[2:])
print(len(keys), sum(1 for k in keys if k in text))
PY
)
set -- $leak
[ "${1:-0}" -ge 24 ] && [ "${2:-1}" = 0 ] && ok "A: none of the $1 keys and salts of the provisioning file in the log" ||
	bad "A: key material in the log ($leak)"

# ---- B: --log-level=perc.mdd.api:warning --------------------------------------
python3 "$here/tapio.py" subset "$W/provision.json" "$W/live.json" c1
start B no -- --log-level=perc.mdd.api:warning
api_round || bad "B: API requests refused"
sleep 0.2
n=0
for m in "${api_msgs[@]}"; do n=$((n + $(lines "$W/B.log" "$m"))); done
[ $n = 0 ] && grep -qF "perc-mdd: 1 conference(s)" "$W/B.log" &&
	ok "B: --log-level=perc.mdd.api:warning: no API message, the start-up line still there" ||
	bad "B: $n API messages: $(cat "$W/B.log")"
ctl log-level >"$W/ll.json" 2>&1 && grep -q '"perc.mdd.api": "warning"' "$W/ll.json" &&
	grep -q '"perc.mdd.control": "info"' "$W/ll.json" &&
	ok "B: mddctl log-level: perc.mdd.api warning, the others info" || bad "B: log-level: $(cat "$W/ll.json")"
ctl log-level perc.mdd.api info >/dev/null 2>&1
api_round || bad "B: API requests refused"
sleep 0.2
[ "$(lines "$W/B.log" "perc-mdd: conference k1 created (API")" = 1 ] &&
	ok "B: back at info at run time: the API's messages again" || bad "B: after log-level info: $(tail -3 "$W/B.log")"
stop || bad "B: exit $?"

# ---- C: stderr is the journal ---------------------------------------------------
: >"$W/C.log"
js=$(stat -c '%d:%i' "$W/C.log")
: >"$W/syslog.txt"
start C "$syslog" JOURNAL_STREAM="$js" --
api_round || bad "C: API requests refused"
sleep 0.2
stop || bad "C: exit $?"
grep -qxF "<6>perc-mdd: log lines go to the journal (stderr with <priority> prefixes; no syslog copy)" "$W/C.log" &&
	grep -qF "<5>perc-mdd: 1 conference(s), 3 endpoint(s)" "$W/C.log" &&
	grep -qxF "<5>perc-mdd: conference k1 created (API, up to 32 endpoints)" "$W/C.log" &&
	grep -qxF "<6>perc-mdd: endpoint k1/e1 added (API), waiting for ICE" "$W/C.log" &&
	ok "C: JOURNAL_STREAM: lines with their priority (<5> notice, <6> info)" ||
	bad "C: journal lines: $(head -5 "$W/C.log")"
# the EAL's and the drivers' start-up lines too: the stream is set before
# rte_eal_init
bare=$(grep -vc '^<[0-7]>' "$W/C.log")
[ "$bare" = 0 ] && [ "$(grep -cF "conference k1 created" "$W/C.log")" = 1 ] &&
	ok "C: every line once, each with a priority (the EAL's start-up lines too)" ||
	bad "C: $bare lines without a priority: $(grep -v '^<[0-7]>' "$W/C.log" | head -3)"
if [ "$syslog" = yes ]; then
	n=$(grep -c . "$W/syslog.txt")
	[ "$n" = 0 ] && ok "C: nothing in syslog (the journal has each line once)" ||
		bad "C: $n lines in syslog: $(head -3 "$W/syslog.txt")"
fi

t_end
