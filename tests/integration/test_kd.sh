#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# perc-kd on loopback against kd_client, which plays the MDD (TLS 1.3
# tunnel) and PERC endpoints (DTLS through the tunnel):
#   joins (MediaKeys = outer exporter halves, EKT_KEY), the join step, leave
#   rekeys (BYE, revoke, EndpointDisconnect, keepalive timeout), refused
#   tokens (other conference, other certificate, other issuer), unknown
#   tls-id / certificate, no double profile, an MDD outside --mdd-ca, tunnel
#   version 1, no profile 0x0009, garbage on one tunnel; then the roster API
#   (list, rekeys, stats, bad requests), the events file and a clean SIGTERM.
# No network namespace is needed (127.0.0.1 only).
# usage: test_kd.sh PERC_KD KD_CLIENT WORKDIR
set -u
KD=$1 CL=$2 W=$3
ISS=https://as.example.com AUD=perc-kd
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
t_begin kd
kd_pid=
t_kill_on_exit kd_pid
command -v openssl >/dev/null || skip "openssl(1) not found"
rm -rf "$W" && mkdir -p "$W"
for n in kd mdd rogue alice bob carol mallory; do t_mkcert $n "$W/$n.key" "$W/$n.pem" || exit 1; done
for n in issuer stranger; do t_mkeckey "$W/$n.key" "$W/$n.pub"; done

# --- fingerprint and token helpers
fp_kd=$("$KD" fingerprint --cert "$W/kd.pem")
want=$(openssl x509 -in "$W/kd.pem" -noout -fingerprint -sha256 | sed 's/.*=//')
[ "$fp_kd" = "sha-256 $want" ] && ok "fingerprint matches openssl x509 -fingerprint -sha256" \
	|| bad "fingerprint: '$fp_kd' vs 'sha-256 $want'"
token() { # sub conf cert [issuer-key] -> file
	"$KD" token --issuer-key "$W/${4:-issuer}.key" --iss "$ISS" --aud "$AUD" --sub "$1" \
		--conf "$2" --cert "$W/$3.pem" >"$W/tok-$1-$2-$3-${4:-issuer}" || bad "token $*"
	echo "$W/tok-$1-$2-$3-${4:-issuer}"
}
"$KD" token --iss x 2>/dev/null && bad "token without its required options exits 0" \
	|| ok "token without its required options refused"

port=$((20000 + $$ % 20000))
sock="$W/kd.sock"
"$KD" --listen 127.0.0.1:$port --cert "$W/kd.pem" --key "$W/kd.key" --mdd-ca "$W/mdd.pem" \
	--api "$sock" --issuer-key "$W/issuer.pub" --issuer "$ISS" --audience "$AUD" \
	--keepalive-timeout 1500 --ekt-ttl 600 --events "$W/events.jsonl" 2>"$W/kd.log" &
kd_pid=$!
for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
[ -S "$sock" ] || { bad "perc-kd did not open its API socket"; cat "$W/kd.log"; exit 1; }

api() { "$CL" api "$sock" "$1"; }
declare -A TID
for p in alice bob carol; do
	TID[$p]=$(openssl rand -hex 20)
	r=$(api "{\"op\":\"authorize\",\"conference\":\"c1\",\"participant\":\"$p\",\"fingerprint\":\"$("$KD" fingerprint --cert "$W/$p.pem")\",\"tls_id\":\"${TID[$p]}\"}")
	case $r in *'"ok":true'*) ok "authorize $p";; *) bad "authorize $p: $r";; esac
done
TID[mallory]=$(openssl rand -hex 32)

ep() { # name cert tls-id-of token-file
	echo "--ep=$1,$W/$2.pem,$W/$2.key,${TID[$3]},$4"
}
run() { # expect-exit scenario args...
	local want=$1 sc=$2 out rc
	shift 2
	out=$("$CL" run --kd 127.0.0.1:$port --kd-fp "$fp_kd" --mdd-cert "$W/mdd.pem" \
		--mdd-key "$W/mdd.key" --api "$sock" --keys-out "$W/keys.txt" "$@" "$sc" 2>&1)
	rc=$?
	echo "$out" | sed 's/^/    /'
	if [ $rc -eq "$want" ]; then ok "scenario $sc"; else bad "scenario $sc (exit $rc)"; fi
}
A=$(ep alice alice alice "$(token alice c1 alice)")
B=$(ep bob bob bob "$(token bob c1 bob)")
C=$(ep carol carol carol "$(token carol c1 carol)")

run 0 join "$A"
run 0 two "$A" "$B"
run 0 refused "$(ep alice alice alice "$(token alice c2 alice)")" --expect-code 1 --expect-text perc_conf
run 0 refused "$(ep alice alice alice "$(token alice c1 bob)")" --expect-code 1 --expect-text thumbprint
run 0 refused "$(ep alice alice alice "$(token bob c1 alice)")" --expect-code 1 --expect-text sub
run 0 refused "$(ep alice alice alice "$(token alice c1 alice stranger)")" --expect-code 1 --expect-text signature
run 0 refused "$(ep mallory mallory mallory "$(token mallory c1 mallory)")" --expect-code 2
run 0 refused "$(ep alice carol alice "$(token alice c1 carol)")" --expect-code 2
run 0 nodouble "$A"
run 0 nocert "$A"
run 0 badmdd --mdd-cert "$W/rogue.pem" --mdd-key "$W/rogue.key"
run 0 version
run 0 noprofile
run 0 garbage "$A"
run 0 revoke "$A" "$C"
run 0 disconnect "$A" "$B"
run 0 timeout "$A" "$B"
run 0 close "$A" "$B"
run 0 loss "$A"
run 0 replace "$A" "$A"
# the client's own checks can fail: a wrong expectation must make it exit 1
run 1 refused "$(ep alice alice alice "$(token alice c2 alice)")" --expect-code 2

# --- roster API
pyj() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); $2" "$1"; }
l=$(api '{"op":"list"}')
pyj "$l" 'c=[x for x in d["conferences"] if x["conference"]=="c1"][0]; m={x["participant"]:x["joined"] for x in c["members"]}; sys.exit(0 if d["ok"] and m=={"alice":False,"bob":False} and c["spi"] is None else 1)' \
	&& ok "list: c1 with alice and bob, nobody joined, no key (carol revoked)" || bad "list: $l"
rk=$(api '{"op":"rekeys"}')
pyj "$rk" '
r=d["rekeys"]; j=[x for x in r if x["cause"]=="join"]; l=[x for x in r if x["cause"]=="leave"]
spis=[x["spi"] for x in r]; v=[x["roster_version"] for x in r]
assert len(j)==15 and len(l)==5, (len(j),len(l))
assert all(b==(a+1)&0xffff or (a==0xffff and b==1) for a,b in zip(spis,spis[1:])), spis
assert v==sorted(v) and len(set(v))==len(v), v
assert {x["participant"] for x in l}=={"bob","carol"}, l
assert all(x["time_ms"]>1600000000000 for x in r)' \
	&& ok "rekeys: 15 joins, 5 leaves (BYE, revoke, disconnect, timeout, close_notify), SPIs consecutive, versions rising" \
	|| bad "rekeys: $rk"
st=$(api '{"op":"stats"}')
pyj "$st" '
t=d["tokens_refused"]; e=d["errors"]
checks={"no tunnels left":d["tunnels"]==0,"no associations left":d["associations"]==0,
 "cert_mismatch":t["cert_mismatch"]==1,"wrong_conf":t["wrong_conf"]==2,"wrong_sub":t["wrong_sub"]==1,
 "bad_signature":t["bad_signature"]==1,"tunnel_malformed":e["tunnel_malformed"]==2,
 "tunnel_version":e["tunnel_version"]==1,"tunnel_profile":e["tunnel_profile"]==1,
 "tunnel_tls":e["tunnel_tls"]>=1,"not_authorized":e["not_authorized"]==2,
 "keepalive_timeout":e["keepalive_timeout"]==1,"dtls_garbage":e["dtls_garbage"]>=1,
 "handshakes_failed":d["handshakes_failed"]>=1,"rekeys":d["rekeys"]==20}
bad=[k for k,v in checks.items() if not v]
print("    stats mismatches:", bad) if bad else None
sys.exit(1 if bad else 0)' && ok "stats: every refusal counted under its name" || bad "stats: $st"
for req in 'not json' '{"op":"format_disk"}' '{"op":"authorize","conference":7}' \
	'{"op":"authorize","conference":"c1","participant":"x","fingerprint":"sha-256 00","tls_id":"00"}'; do
	r=$(api "$req")
	case $r in *'"ok":false'*'"error":'*) ok "api refuses: $req";; *) bad "api accepted $req: $r";; esac
done
big=$(python3 -c 'print("{\"op\":\"list\",\"x\":\"" + "a"*100000 + "\"}")')
r=$(api "$big")
case $r in *'"ok":false'*) ok "api refuses a 100 kB line";; *) bad "api 100 kB line: ${r:0:80}";; esac
kill -0 $kd_pid 2>/dev/null && ok "perc-kd still running after every bad input" || bad "perc-kd died"

# --- events file
python3 - "$W/events.jsonl" <<'EOF' && ok "events: JSON lines with join, leave, rekey, refused, every field present" || bad "events file"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
kinds = {e["event"] for e in ev}
need = {"join", "leave", "rekey", "refused", "authorize", "revoke"}
assert need <= kinds, need - kinds
for e in ev:
    assert set(e) >= {"time_ms", "event", "conference", "participant", "spi", "cause",
                      "roster_version", "reason"}, e
ref = {e["reason"] for e in ev if e["event"] == "refused"}
assert {"cert_mismatch", "wrong_conf", "bad_signature", "not_authorized"} <= ref, ref
EOF
# every EKT key, salt and MediaKeys half the clients received: none may be in
# perc-kd's log or events (uppercase too)
nk=$(sort -u "$W/keys.txt" | wc -l)
leaks=$(sort -u "$W/keys.txt" | while read -r k; do
	grep -qiF "$k" "$W/kd.log" "$W/events.jsonl" && echo "$k"; done | wc -l)
[ "$nk" -ge 20 ] && [ "$leaks" -eq 0 ] && ok "none of $nk keys/salts received appears in the log or events" \
	|| bad "$leaks of $nk received keys appear in the log or events"

# --- clean exit
kill -TERM $kd_pid
for _ in $(seq 30); do kill -0 $kd_pid 2>/dev/null || break; sleep 0.1; done
if kill -0 $kd_pid 2>/dev/null; then
	bad "perc-kd still running 3 s after SIGTERM"
else
	wait $kd_pid; rc=$?; kd_pid=
	[ $rc -eq 0 ] && ok "SIGTERM: exit 0" || bad "SIGTERM: exit $rc"
	[ -e "$sock" ] && bad "API socket left behind" || ok "API socket removed"
	grep -q "erasing keys" "$W/kd.log" && ok "exit erases keys (logged)" || bad "no exit log"
fi
"$KD" --help | grep -q -- "--mdd-ca" && ok "--help" || bad "--help"
"$KD" --cert x 2>/dev/null; [ $? -eq 2 ] && ok "missing options: exit 2" || bad "missing options"

t_end "log: $W/kd.log"
