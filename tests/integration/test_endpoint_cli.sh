#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# perc-endpoint's CLI against a fake MDD + KD on 127.0.0.1
# (tests/unit/test_endpoint_fakekd.c): a conference of four with a late
# joiner and a leaver, one endpoint with a wrong KD pin, one with a refused
# token; the report's fields and leak checks, the key log, exit codes,
# SIGTERM. No network namespace needed.
# usage: test_endpoint_cli.sh PERC_ENDPOINT FAKEKD WORKDIR
set -u
EP=$(realpath "$1") FAKE=$(realpath "$2") W=$3
rm -rf "$W" && mkdir -p "$W" && cd "$W" || exit 1
fail=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }

cert() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-keyout "$1.key" -out "$1.pem" -subj "/CN=$1" 2>/dev/null
}
fp() {
	openssl x509 -in "$1.pem" -noout -fingerprint -sha256 | sed 's/.*=/sha-256 /'
}
for n in kd other p1 p2 p3 p4 p5 p6; do cert $n || { echo "openssl failed"; exit 1; }; done

# --help, usage errors
"$EP" --help | grep -q -- "--spec FILE" && ok "--help" || bad "--help"
"$EP" >/dev/null 2>&1; [ $? -eq 2 ] && ok "no --spec: exit 2" || bad "no --spec: exit 2"
echo '{"endpoints": [' >broken.json
"$EP" --spec broken.json 2>err.txt; rc=$?
[ $rc -eq 2 ] && grep -q "line" err.txt && ok "broken spec: exit 2, says where" ||
	bad "broken spec: rc $rc: $(cat err.txt)"
cat >dup.json <<EOF
{"mdd":"127.0.0.1:9","kd_fingerprint":"$(fp kd)","endpoints":[
 {"id":"a","cert":"p1.pem","key":"p1.key","token":"t","tls_id":"$(openssl rand -hex 20)",
  "ice":{"ufrag":"u","mdd_ufrag":"m","mdd_pwd":"p"}},
 {"id":"a","cert":"p1.pem","key":"p1.key","token":"t","tls_id":"$(openssl rand -hex 20)",
  "ice":{"ufrag":"u","mdd_ufrag":"m","mdd_pwd":"p"}}]}
EOF
"$EP" --spec dup.json 2>err.txt; rc=$?
[ $rc -eq 2 ] && grep -q "twice" err.txt && ok "duplicate id: exit 2" || bad "duplicate id: rc $rc $(cat err.txt)"

"$FAKE" port.txt kd.pem kd.key mdd-pass-0123456789abcd 30 >fake.out &
fake=$!
for _ in $(seq 50); do [ -s port.txt ] && break; sleep 0.1; done
port=$(cat port.txt)
KDFP=$(fp kd)
tlsid() { openssl rand -hex 20; }
ep() { # id media start leave [extra]
	printf '{"id":"%s","conference":"c1","cert":"%s.pem","key":"%s.key","token":"%s",
	 "tls_id":"%s","ice":{"ufrag":"u%s","mdd_ufrag":"mddu","mdd_pwd":"mdd-pass-0123456789abcd"},
	 "media":"%s","start_s":%s,"leave_s":%s%s}' "$1" "$1" "$1" "${6:-$1}" "$(tlsid)" "$1" "$2" "$3" "$4" "${5:-}"
}
echo "@p2" | sed 's/@//' >p2.token
cat >spec.json <<EOF
{"mdd":"127.0.0.1:$port","bind":"127.0.0.1","kd_fingerprint":"$KDFP","require_e2e":true,
 "endpoints":[$(ep p1 both 0 null), $(ep p2 audio 0 null "" @p2.token), $(ep p3 audio 0 2.5),
  $(ep p4 audio 1.5 null), $(ep p5 audio 0 null ",\"kd_fingerprint\":\"$(fp other)\""),
  $(ep p6 audio 0 null "" bad-p6)]}
EOF
"$EP" --spec spec.json --duration 5 --report report.json --keylog keys.txt --live \
	>live.txt 2>ep.err
rc=$?
kill $fake 2>/dev/null; wait $fake 2>/dev/null
[ $rc -eq 1 ] && ok "exit 1 when an endpoint failed" || bad "exit $rc (want 1): $(tail -3 ep.err)"
grep -qE "^ +[0-9.]+s c1 +[0-9]+/6 .*p3 left" live.txt && grep -q "e2e_ok" live.txt &&
	ok "--live table" || bad "--live table: $(tail -2 live.txt)"
[ "$(stat -c %a keys.txt)" = 600 ] && ok "key log mode 600" || bad "key log mode $(stat -c %a keys.txt)"
python3 - report.json keys.txt <<'EOF' || fail=1
import json, sys
rep = {e["id"]: e for e in json.load(open(sys.argv[1]))["endpoints"]}
keys = [l.split() for l in open(sys.argv[2])]
bad = 0
def check(c, what):
    global bad
    print(("ok   " if c else "FAIL ") + what)
    bad += not c
for i in ("p1", "p2", "p4"):
    e = rep[i]
    check(e["joined"] is True and e["failure"] is None, "%s joined (%s)" % (i, e["failure"]))
    check(e["rtp_sent"] > 0 and e["rtp_received"] > 0 and e["e2e_ok"] > 0,
          "%s sent %d, received %d, opened %d" % (i, e["rtp_sent"], e["rtp_received"], e["e2e_ok"]))
    check(e["e2e_fail"] == 0 and e["outer_fail"] == 0 and e["before_join_ok"] == 0,
          "%s e2e_fail %d outer_fail %d before_join_ok %d" % (i, e["e2e_fail"], e["outer_fail"], e["before_join_ok"]))
    check(e["latency_ms"]["p50"] is not None and e["latency_ms"]["max"] < 1000,
          "%s latency %s" % (i, e["latency_ms"]))
    check(all(s["received_ms"] >= e["joined_ms"] for s in e["spis"]), "%s spis after join" % i)
# p1 saw: the first key, the joins of p2, p3 (steps), p4's late join
# (step), p3's leave (new key)
s1 = [s["spi"] for s in rep["p1"]["spis"]]
check(s1 == [1, 2, 3, 4, 5], "p1 spis %s" % s1)
check(all(s["first_send_ms"] for s in rep["p1"]["spis"][-2:]),
      "p1 sent under the SPIs of the late join and the leave")
check(rep["p1"]["counters"]["ekt_full_tx"] > 0 and rep["p1"]["counters"]["ekt_full_rx"] > 0,
      "p1 Full EKT fields sent and received")
# the leaver: keys at leave time only, still receiving, nothing newer opened
l = rep["p3"]
check(l["state"] == "left" and l["left_ms"] is not None, "p3 left")
check(l.get("after_leave_ok") == 0, "p3 after_leave_ok %s" % l.get("after_leave_ok"))
check(l.get("rtp_received_after_leave", 0) > 20, "p3 kept receiving after leaving (%s)"
      % l.get("rtp_received_after_leave"))
check(l["no_key"] + l["counters"]["ekt_unknown_spi"] > 0, "p3 could not open new media")
check(5 not in [s["spi"] for s in l["spis"]], "p3 never got the SPI after its leave")
check(l["e2e_fail"] == 0, "p3: what it could not open counts as no_key (%d), not e2e_fail"
      % l["no_key"])
# the late joiner: nothing from before it joined
j = rep["p4"]
check([s["spi"] for s in j["spis"]] == [4, 5], "p4 held only SPIs 4, 5 (%s)" % j["spis"])
check("after_leave_ok" not in j, "no after_leave_ok for one that did not leave")
# refused ones
p5, p6 = rep["p5"], rep["p6"]
check(p5["joined"] is False and "fingerprint" in (p5["failure"] or ""), "p5 wrong pin: %s" % p5["failure"])
check(p6["joined"] is False and "token" in (p6["failure"] or ""), "p6 refused token: %s" % p6["failure"])
check(p5["rtp_sent"] == 0 and p6["rtp_sent"] == 0, "refused endpoints sent nothing")
# key log: EKT keys and E2E keys, per endpoint; none for the refused
ids = {k[1] for k in keys}
check({"p1", "p2", "p3", "p4"} <= ids and not {"p5", "p6"} & ids, "keylog endpoints %s" % sorted(ids))
ekt = [k for k in keys if k[2] == "EKT_KEY" and k[3].startswith("spi=") and len(k[4]) == 32]
e2e = [k for k in keys if k[2] == "E2E_KEY" and k[3].startswith("ssrc=") and k[4].startswith("spi=")
       and len(k[5]) == 32]
check(len(ekt) >= 9 and len(e2e) >= 12, "keylog: %d EKT keys, %d E2E keys" % (len(ekt), len(e2e)))
same = {k[4] for k in ekt if k[3] == "spi=4"}
who = {k[1] for k in ekt if k[3] == "spi=4"}
check(len(same) == 1 and who == {"p1", "p2", "p3", "p4"},
      "p1-p3 stepped to the EKT key p4 was given for SPI 4 (%s)" % sorted(who))
sys.exit(1 if bad else 0)
EOF
grep -q "relay_fail=0" fake.out && ok "fake MDD relayed everything ($(cat fake.out))" ||
	bad "fake MDD: $(cat fake.out)"

# SIGTERM ends cleanly and writes the report
rm -f port.txt
"$FAKE" port.txt kd.pem kd.key mdd-pass-0123456789abcd 30 >/dev/null &
fake=$!
for _ in $(seq 50); do [ -s port.txt ] && break; sleep 0.1; done
port=$(cat port.txt)
cat >spec2.json <<EOF
{"mdd":"127.0.0.1:$port","bind":"127.0.0.1","kd_fingerprint":"$KDFP",
 "endpoints":[$(ep p1 audio 0 null), $(ep p2 video 0 null)]}
EOF
"$EP" --spec spec2.json --report term.json 2>term.err &
pid=$!
sleep 2
kill -TERM $pid
wait $pid
rc=$?
kill $fake 2>/dev/null; wait $fake 2>/dev/null
[ $rc -eq 0 ] && ok "SIGTERM: exit 0" || bad "SIGTERM: exit $rc $(tail -2 term.err)"
python3 -c '
import json, sys
r = {e["id"]: e for e in json.load(open("term.json"))["endpoints"]}
sys.exit(0 if r["p1"]["e2e_ok"] > 0 and r["p2"]["e2e_ok"] > 0 else 1)' &&
	ok "SIGTERM: report written, both opened media" || bad "SIGTERM report: $(cat term.json | head -20)"
[ $fail -eq 0 ]
